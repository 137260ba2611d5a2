//! A world that changes over time, against independent expectations: arrivals of shaped
//! traffic against the integral of the rate (written out here, not taken from capsim),
//! exponential gaps by a Kolmogorov-Smirnov test, Kubernetes' HPA algorithm by hand, MTBF / (MTBF + MTTR), and costs by hand.
//!
//! Arrival counts are Poisson: a window expecting `m` arrivals has a standard deviation of
//! `sqrt(m)`; each check allows 4.5 of them (a false alarm about once in 150,000 windows).

use crate::support::simulate;
use capsim::metrics::run::Happening;
use capsim::metrics::summary::Summary;

/// Checks every window's arrivals against `expected(start_s, end_s)` within 4.5 Poisson
/// standard deviations, and the total within 4.5 of its own.
#[track_caller]
fn assert_arrivals_follow(s: &Summary, expected: &dyn Fn(f64, f64) -> f64) {
    let (mut total, mut total_expected) = (0.0, 0.0);
    for row in &s.series {
        let m = expected(row.start_s, row.start_s + row.length_s);
        let n = row.counts.arrived as f64;
        assert!(
            (n - m).abs() <= 4.5 * m.sqrt().max(1.0),
            "window at {} s: {n} arrivals, expected {m:.1} (sd {:.1})",
            row.start_s,
            m.sqrt()
        );
        total += n;
        total_expected += m;
    }
    assert!(
        (total - total_expected).abs() <= 4.5 * total_expected.sqrt(),
        "total {total}, expected {total_expected:.1}"
    );
    assert_eq!(total as u64, s.requests.arrived);
}

/// A run of `duration` with one fast service and the given `[traffic]` lines.
fn traffic(duration: &str, window: &str, lines: &str) -> String {
    format!(
        r#"
        [scenario]
        duration = "{duration}"
        window = "{window}"
        seed = 11
        [traffic]
        {lines}
        [[service]]
        name = "s"
        concurrency = 100000
        service_time = {{ dist = "constant", value = "1ms" }}
        "#
    )
}

/// Diurnal, rate 200/s, period 1 h, peak-to-trough 3 (a = 0.5), peak at 20 min:
/// rate(t) = 200 (1 + 0.5 cos(2 pi (t - 1200) / 3600)), whose integral over [t0, t1] is
/// 200 ((t1 - t0) + 0.5 x 3600 / (2 pi) (sin(2 pi (t1 - 1200) / 3600) - sin(...t0...))).
/// Run: 1 h, 720,000 arrivals in 12 windows of 5 min (about 60,000 each, sd 0.4%).
#[test]
fn diurnal_arrivals_integrate_to_the_expected_count() {
    let s = simulate(&traffic(
        "1h",
        "5m",
        r#"rate = 200
        diurnal = { period = "1h", peak_to_trough = 3.0, peak_at = "20m" }"#,
    ));
    let tau = std::f64::consts::TAU;
    let integral = |t: f64| 200.0 * (t + 0.5 * 3600.0 / tau * (tau * (t - 1200.0) / 3600.0).sin());
    assert_arrivals_follow(&s, &|t0, t1| integral(t1) - integral(t0));
    // The shape shows: the window around the peak has about 3 times the trough's.
    let peak = s.series[4].counts.arrived as f64; // [20m, 25m)
    let trough = s.series[10].counts.arrived as f64; // [50m, 55m)
    assert!(peak / trough > 2.5, "peak {peak}, trough {trough}");
}

/// A daily cycle far shorter than a day: period 1 s (the shortest allowed), peak-to-trough 3
/// (a = 0.5), peak at 0.25 s, rate 5,000/s over 4 s in windows of 0.25 s:
/// rate(t) = 5000 (1 + 0.5 cos(2 pi (t - 0.25))), integral 5000 ((t1 - t0) + 0.5 / (2 pi)
/// (sin(2 pi (t1 - 0.25)) - sin(2 pi (t0 - 0.25)))): 20,000 arrivals, 16 windows of 500 to
/// 1,900 (sd 22 to 44). Found by the `designs` fuzz target's generator (run over every combination of the
/// mechanisms it gained): the grid of such a cycle (48
/// cells of 20.8 ms) is not whole nanoseconds, and at its 7th point the arrival process
/// stopped advancing, so the run never ended.
#[test]
fn a_diurnal_cycle_of_one_second_runs_and_integrates() {
    let s = simulate(&traffic(
        "4s",
        "250ms",
        r#"rate = 5000
        diurnal = { period = "1s", peak_to_trough = 3.0, peak_at = "250ms" }"#,
    ));
    let tau = std::f64::consts::TAU;
    let integral = |t: f64| 5000.0 * (t + 0.5 / tau * (tau * (t - 0.25)).sin());
    assert_arrivals_follow(&s, &|t0, t1| integral(t1) - integral(t0));
}

/// Regions in two time zones: 3/4 of the clients at `utc_offset = "-6h"`, 1/4 at `"+6h"`,
/// rate 20/s, diurnal peak-to-trough 3 (a = 0.5) at 20:30 local time, over 24 h. Each
/// region's clients arrive at `20 w_r (1 + a cos(w (t + o_r - 20.5 h)))`; the traffic is their
/// sum, integrated here region by region (not through capsim's one-cosine form):
/// `20 w_r ((t1 - t0) + a / w (sin(w (t1 + o_r - p)) - sin(w (t0 + o_r - p))))`. By hand the
/// sum is `20 (1 + 0.25 cos(w (t - 2.5 h)))`: the 3/4 in the west set its peak, at 02:30
/// (a 1.67:1 day). Run: 1.73 million arrivals in 24 windows of 1 h (about 72,000 each, sd
/// 0.4%); the per-region split is checked in `components::region`'s tests.
#[test]
fn regions_in_time_zones_sum_their_shifted_diurnal_curves() {
    let s = simulate(&format!(
        "{}{}",
        traffic(
            "24h",
            "1h",
            r#"rate = 20
        diurnal = { peak_to_trough = 3, peak_at = "20.5h" }"#,
        ),
        r#"
        [[region]]
        name = "west"
        weight = 3
        utc_offset = "-6h"
        [[region]]
        name = "east"
        weight = 1
        utc_offset = "+6h"
        "#
    ));
    let omega = std::f64::consts::TAU / 86_400.0;
    let peak = 20.5 * 3_600.0;
    let region = |w: f64, o: f64, t0: f64, t1: f64| {
        20.0 * w
            * ((t1 - t0)
                + 0.5 / omega * ((omega * (t1 + o - peak)).sin() - (omega * (t0 + o - peak)).sin()))
    };
    assert_arrivals_follow(&s, &|t0, t1| {
        region(0.75, -21_600.0, t0, t1) + region(0.25, 21_600.0, t0, t1)
    });
    // The peak hour [02:00, 03:00) against the trough hour [14:00, 15:00): about 1.25 / 0.75.
    let ratio = s.series[2].counts.arrived as f64 / s.series[14].counts.arrived as f64;
    assert!((ratio - 1.25 / 0.75).abs() < 0.05, "peak / trough {ratio}");
}

/// The rate as written in the scenario below, by hand: base 100/s, a step to 300/s ramping
/// over [40m, 42m), and a 10x spike at 10m for 10 min with 2-minute ramps (x1 -> x10 over
/// [10m, 12m), x10 until 18m, back to x1 by 20m).
fn spike_and_step_rate(t: f64) -> f64 {
    let base = if t < 2400.0 {
        100.0
    } else if t < 2520.0 {
        100.0 + 200.0 * (t - 2400.0) / 120.0
    } else {
        300.0
    };
    let spike = if !(600.0..1200.0).contains(&t) {
        1.0
    } else {
        let up = ((t - 600.0) / 120.0).min((1200.0 - t) / 120.0).min(1.0);
        1.0 + 9.0 * up
    };
    base * spike
}

/// A 10x spike with ramps and a ramped step, each window's arrivals against the integral of
/// the rate above (Simpson's rule on 1 s slices: the rate is piecewise linear with corners on
/// whole seconds, so this is exact). Run: 1 h, about 780,000 arrivals in 60 windows of 1 min.
#[test]
fn a_ramped_10x_spike_and_a_step_integrate_to_the_expected_count() {
    let s = simulate(&traffic(
        "1h",
        "1m",
        r#"rate = 100
        spikes = [ { at = "10m", duration = "10m", multiplier = 10, ramp = "2m" } ]
        steps = [ { at = "40m", rate = 300, ramp = "2m" } ]"#,
    ));
    let integral = |t0: f64, t1: f64| -> f64 {
        let slices = (t1 - t0).round() as usize;
        (0..slices)
            .map(|i| {
                let a = t0 + i as f64;
                (spike_and_step_rate(a)
                    + 4.0 * spike_and_step_rate(a + 0.5)
                    + spike_and_step_rate(a + 1.0))
                    / 6.0
            })
            .sum()
    };
    assert_arrivals_follow(&s, &integral);
    let kinds: Vec<&Happening> = s.events.entries.iter().map(|h| &h.what).collect();
    assert!(matches!(kinds[0], Happening::SpikeStart { multiplier, .. } if *multiplier == 10.0));
    // The spike ends at 20 m, its ramp down included; the step begins at 40 m.
    assert!(matches!(kinds[1], Happening::SpikeEnd { spike: 0 }));
    assert_eq!(s.events.entries[1].at_ns, 20 * 60 * 1_000_000_000);
    assert!(matches!(kinds[2], Happening::StepStart { rate_per_s, .. } if *rate_per_s == 300.0));
}

/// A 10x spike over [10m, 20m) and a step to 300/s at 40m, neither with a ramp: the rate
/// jumps, and each window's arrivals match the rate's integral (100/s, 1000/s inside the
/// spike, 300/s after the step). Thinning bounds each stretch by its own rate, not by the
/// next one's (issue 17), which this checks leaves the process as it was. Run: 1 h, 1,140,000
/// arrivals in 60 windows of 1 min.
#[test]
fn a_spike_and_a_step_without_ramps_integrate_to_the_expected_count() {
    let s = simulate(&traffic(
        "1h",
        "1m",
        r#"rate = 100
        spikes = [ { at = "10m", duration = "10m", multiplier = 10 } ]
        steps = [ { at = "40m", rate = 300 } ]"#,
    ));
    let rate = |t: f64| match t {
        t if (600.0..1200.0).contains(&t) => 1000.0,
        t if t >= 2400.0 => 300.0,
        _ => 100.0,
    };
    // Every window lies wholly inside one level.
    assert_arrivals_follow(&s, &|t0, t1| rate(t0) * (t1 - t0));
}

/// Bursts (a two-state Markov-modulated Poisson process): on for 30 s and off for 90 s on
/// average, x5 when on, so the long-run rate is 100 (0.75 + 0.25 x 5) = 200/s. Over 10 h the
/// count's sd is dominated by the modulation: about sqrt(2 x 400^2 x 0.25 x 0.75 x 22.5 s x
/// 36,000 s) = 31,000 arrivals, 4.3% of 7.2 million; the check allows 15%.
#[test]
fn bursts_raise_the_long_run_rate_by_their_share_of_time() {
    let s = simulate(&traffic(
        "10h",
        "1h",
        r#"rate = 100
        bursts = { on = "30s", off = "90s", multiplier = 5 }"#,
    ));
    let expected = 200.0 * 36_000.0;
    let ratio = s.requests.arrived as f64 / expected;
    assert!(
        (ratio - 1.0).abs() < 0.15,
        "arrived {} vs {expected}",
        s.requests.arrived
    );
}

/// Kolmogorov-Smirnov: inside the spike's flat top (x10 of 100/s over [12m, 18m)) and on the
/// flat base before it, gaps between arrivals are exponential with mean 1 / rate. With n
/// gaps, the statistic D exceeds 1.95 / sqrt(n) with probability 0.001 for a true law.
#[test]
fn interarrival_gaps_inside_a_constant_stretch_are_exponential() {
    use capsim::components::shape::ShapedSource;
    use capsim::scenario::world::Arrivals;
    let model = capsim::scenario::load(
        &traffic(
            "20m",
            "1m",
            r#"rate = 100
            spikes = [ { at = "10m", duration = "10m", multiplier = 10, ramp = "2m" } ]"#,
        ),
        "t.toml",
        &[],
    )
    .unwrap();
    let Arrivals::Shaped(shape) = &model.traffic.arrivals else {
        panic!("a shaped arrival process")
    };
    let mut source = ShapedSource::new(shape, model.duration_ns, 5, 0);
    let mut times = Vec::new();
    while let Some(t) = source.next_arrival_ns() {
        times.push(t as f64 / 1e9);
    }
    for (from, to, rate) in [(0.0, 600.0, 100.0), (720.0, 1080.0, 1000.0)] {
        let inside: Vec<f64> = times
            .iter()
            .copied()
            .filter(|&t| t >= from && t < to)
            .collect();
        let mut gaps: Vec<f64> = inside.windows(2).map(|w| w[1] - w[0]).collect();
        gaps.sort_by(f64::total_cmp);
        let n = gaps.len() as f64;
        let d = gaps
            .iter()
            .enumerate()
            .map(|(i, &g)| {
                let f = 1.0 - (-rate * g).exp();
                (f - i as f64 / n).abs().max((i as f64 + 1.0) / n - f)
            })
            .fold(0.0, f64::max);
        assert!(
            d < 1.95 / n.sqrt(),
            "rate {rate}: KS statistic {d:.5} over {n} gaps, critical {:.5}",
            1.95 / n.sqrt()
        );
    }
}

/// A trace of arrival times is replayed as written: every window holds exactly the times of
/// the trace that fall in it (times at or past the end are dropped).
#[test]
fn a_replayed_trace_arrives_exactly_as_written() {
    let times: Vec<f64> = (0..2000).map(|i| (i as f64 * 0.0371).powf(1.3)).collect();
    let trace: String = times.iter().map(|t| format!("{t}\n")).collect();
    let toml = traffic("60s", "10s", r#"trace = "arrivals.csv""#);
    let model = capsim::scenario::load_with_files(&toml, "t.toml", &[], &|name| {
        assert_eq!(name, "arrivals.csv");
        Ok(trace.clone())
    })
    .unwrap();
    let capsim::metrics::summary::Outcome::Completed(s) = capsim::sweep::run(&model) else {
        panic!("completes")
    };
    for row in &s.series {
        let expected = times
            .iter()
            .filter(|&&t| t >= row.start_s && t < row.start_s + row.length_s)
            .count() as u64;
        assert_eq!(row.counts.arrived, expected, "window at {}", row.start_s);
    }
    assert_eq!(
        s.requests.arrived,
        times.iter().filter(|&&t| t < 60.0).count() as u64
    );
}

/// A trace of rates (`time_s,rate`): 50/s for 20 s, 500/s for 10 s, 0 for 10 s, 120/s to the
/// end; each window against the rate's integral.
#[test]
fn a_rate_trace_sets_the_rate_over_time() {
    let trace = "time_s,rate\n0,50\n20,500\n30,0\n40,120\n";
    let toml = traffic("60s", "5s", r#"trace = "rates.csv""#);
    let model =
        capsim::scenario::load_with_files(&toml, "t.toml", &[], &|_| Ok(trace.into())).unwrap();
    let capsim::metrics::summary::Outcome::Completed(s) = capsim::sweep::run(&model) else {
        panic!("completes")
    };
    let rate = |t: f64| match t {
        t if t < 20.0 => 50.0,
        t if t < 30.0 => 500.0,
        t if t < 40.0 => 0.0,
        _ => 120.0,
    };
    assert_arrivals_follow(&s, &|t0, t1| rate(t0) * (t1 - t0));
}

/// Closed loop: 50 users, each thinking an exponential 1 s between requests of 10 ms (no
/// queueing: workers to spare), cycle 1.01 s: throughput 50 / 1.01 = 49.5/s. Over 2,000 s,
/// 99,000 requests; the count's sd is about 0.3%; the check allows 2%.
#[test]
fn closed_loop_users_send_one_request_per_think_and_response_cycle() {
    let s = simulate(
        r#"
        [scenario]
        duration = "2000s"
        [traffic]
        users = 50
        think_time = { dist = "exponential", mean = "1s" }
        [[service]]
        name = "s"
        concurrency = 1000
        service_time = { dist = "constant", value = "10ms" }
        "#,
    );
    let expected = 50.0 / 1.01;
    assert!(
        (s.throughput_rps / expected - 1.0).abs() < 0.02,
        "throughput {} vs {expected}",
        s.throughput_rps
    );
}

/// The autoscaling scenario: 20 requests/s of 100 ms work (2 busy workers on average) into
/// replicas of 4 workers, `min = 2` (utilization 0.25, below target, so the count rests at
/// the minimum), a 10x spike over [15m, 45m) aligned to the 15 s sync, target utilization
/// 0.5, provisioning a constant 60 s; windows of 15 s, aligned with the syncs.
const AUTOSCALED: &str = r#"
    [scenario]
    duration = "1h"
    window = "15s"
    seed = 4
    [traffic]
    rate = 20
    spikes = [ { at = "15m", duration = "30m", multiplier = 10 } ]
    [[service]]
    name = "api"
    concurrency = 4
    service_time = { dist = "exponential", mean = "100ms" }
    price_per_hour = 0.25
    autoscale = { min = 2, max = 40, metric = "utilization", target = 0.5, provisioning = { dist = "constant", value = "60s" } }
"#;

/// The scale events of service 0: `(time s, from, to, observed)`, ups and downs apart.
type Scales = Vec<(f64, u32, u32, f64)>;
fn scale_events(s: &Summary) -> (Scales, Scales) {
    let (mut ups, mut downs) = (Vec::new(), Vec::new());
    for h in &s.events.entries {
        let t = h.at_ns as f64 / 1e9;
        match h.what {
            Happening::ScaleUp {
                from, to, observed, ..
            } => ups.push((t, from, to, observed)),
            Happening::ScaleDown {
                from, to, observed, ..
            } => downs.push((t, from, to, observed)),
            _ => {}
        }
    }
    (ups, downs)
}

/// Kubernetes' HPA (`replica_calculator.go`) by hand, on the scenario above. Replicas take
/// requests round-robin, each with its own queue; a replica started at `t` is ready at
/// `t + 60` (and, ready at the same instant as the sync at `t + 60`, it has a sample only
/// from the sync at `t + 75`, the first whose window it was ready through).
/// - 915 s: the window [900, 915) is saturated (200/s on 2 x 4 workers of 10/s): ratio
///   about 1 / 0.5 = 2, no pod unready: `ceil(2 x 2) = 4`, within `max(2 + 4, 2 x 2) = 6`:
///   2 -> 4.
/// - 930 to 975 s: 2 pods with a sample at ratio 2 (saturated), 2 unready at 0:
///   `2 x 2 / 4 = 1.0`, within the tolerance: 4 stays (no event).
/// - 990 s: 4 pods with a sample, each taking 200 / 4 = 50/s on 40/s: saturated, ratio 2:
///   `ceil(4 x 2) = 8`, within `max(4 + 4, 2 x 4) = 8`: 4 -> 8; then 8 stays to 1050 s.
/// - 1065 s: the 4 old replicas hold backlogs (saturated), the 4 new take 25/s on 40/s
///   (utilization 0.625): ratio (4 + 4 x 0.625) / 8 / 0.5 = 1.625, `ceil(8 x 1.625) = 13`
///   (13 or 14: 8 x ratio sits on 13 and the 15 s mean has a sd of about 0.1 in it), checked
///   against `ceil(8 x observed / 0.5)` with the metric the event reports.
/// - Over the spike's last 5 minutes the count rests at an HPA fixed point: the offered 20
///   busy workers over `4 N` workers within 10% of the 0.5 target: N = 10 or 11, and the
///   measured utilization too (sd of a 5-minute mean about 1.5%).
/// - No scale-down comes less than the 300 s stabilization window after a scale-up. The
///   last window wholly in the spike ends at 2700 s; its recommendation (at least 10, the
///   smaller fixed point) holds the count until it leaves the window at 3000 s, when the
///   count falls to `min` = 2 (every later window sees 20/s: `ceil(N x 0.05 x 4 / 4 / 0.5)`
///   is at most 2).
#[test]
fn a_10x_spike_scales_as_the_hpa_algorithm_says() {
    let s = simulate(AUTOSCALED);
    let api = 0;
    let (ups, downs) = scale_events(&s);
    assert_eq!(
        (ups[0].0, ups[0].1, ups[0].2),
        (915.0, 2, 4),
        "first scale-up {:?}",
        ups[0]
    );
    assert!(ups[0].3 > 0.95, "saturated: {}", ups[0].3);
    assert_eq!(
        (ups[1].0, ups[1].1, ups[1].2),
        (990.0, 4, 8),
        "{:?}",
        ups[1]
    );
    assert!(ups[1].3 > 0.95, "saturated: {}", ups[1].3);
    let (t, from, to, observed) = ups[2];
    assert_eq!((t, from), (1065.0, 8), "{:?}", ups[2]);
    assert!((observed - 0.8125).abs() < 0.05, "observed {observed}");
    assert_eq!(to, (8.0 * observed / 0.5).ceil() as u32);
    assert!(to == 13 || to == 14, "to {to}");
    assert!(
        downs.iter().all(|d| d.0 > 1065.0),
        "no scale-down while replicas start: {downs:?}"
    );

    let first_ready = s
        .events
        .entries
        .iter()
        .find_map(|h| match h.what {
            Happening::ReplicaReady { .. } => Some(h.at_ns as f64 / 1e9),
            _ => None,
        })
        .unwrap();
    assert_eq!(first_ready, 915.0 + 60.0);

    for &(down, ..) in &downs {
        let last_up = ups
            .iter()
            .map(|u| u.0)
            .filter(|&u| u < down)
            .fold(0.0, f64::max);
        assert!(
            down - last_up >= 300.0,
            "scale-down at {down}, scale-up at {last_up}"
        );
    }
    let last = s
        .series
        .iter()
        .filter(|r| r.start_s >= 2400.0 && r.start_s < 2700.0)
        .collect::<Vec<_>>();
    let n = last[0].services[api].replicas_ready;
    assert!(
        last.iter().all(|r| r.services[api].replicas_ready == n),
        "a steady count"
    );
    assert!(n == 10.0 || n == 11.0, "{n} replicas is no fixed point");
    let utilization = last
        .iter()
        .map(|r| r.services[api].utilization)
        .sum::<f64>()
        / last.len() as f64;
    assert!(
        (utilization / 0.5 - 1.0).abs() <= 0.1 + 0.045,
        "utilization {utilization}"
    );
    assert!(s.services[api].peak_replicas >= n as u64);
    for row in s
        .series
        .iter()
        .filter(|r| r.start_s >= 2700.0 && r.start_s < 2985.0)
    {
        let billed = row.services[api].replicas_billed;
        assert!(
            billed >= 10.0,
            "{billed} replicas at {} s, within 300 s of the spike's end",
            row.start_s
        );
    }
    let last_down = downs.last().expect("the count comes down after the spike");
    assert_eq!((last_down.0, last_down.2), (3000.0, 2), "{last_down:?}");
    assert_eq!(s.series.last().unwrap().services[api].replicas_ready, 2.0);
}

/// The direction guard of `replica_calculator.go`: 4 replicas at 40/s of 100 ms work
/// (utilization 0.25, the count rests at `min` = 4), a burst of 200/s over [900, 915) s,
/// then 110/s; provisioning 600 s, no stabilization on the way down.
/// - 915 s: the burst saturates the pool: ratio about 2, `ceil(4 x 2) = 8`: 4 -> 8.
/// - 930 to 1515 s: 4 replicas with a sample, each taking 110 / 4 = 27.5/s on 40/s
///   (utilization 0.6875, ratio 1.375: over target, outside the tolerance), 4 starting at 0:
///   `4 x 1.375 / 8 = 0.69 < 1`, the direction would flip: 8 stays. (`ceil(4 x 1.375) = 6`
///   alone would scale down at once while 37% over target.)
/// - 1530 s (the first window the new replicas were ready through, 915 + 600 + 15): 8 at
///   13.75/s each, utilization 0.34, ratio 0.69: `ceil(8 x 0.69) = ceil(5.5)`, 5 to 7 with
///   the 15 s mean's noise (sd about 0.15 in 8 x ratio).
#[test]
fn replicas_still_starting_never_make_the_hpa_scale_down_while_over_target() {
    let s = simulate(
        r#"
    [scenario]
    duration = "30m"
    window = "15s"
    seed = 4
    [traffic]
    rate = 40
    steps = [ { at = "15m", rate = 200 }, { at = "915s", rate = 110 } ]
    [[service]]
    name = "api"
    concurrency = 4
    service_time = { dist = "exponential", mean = "100ms" }
    autoscale = { min = 4, max = 40, metric = "utilization", target = 0.5, scale_down_window = "0s", provisioning = { dist = "constant", value = "600s" } }
"#,
    );
    let (ups, downs) = scale_events(&s);
    assert_eq!(ups.len(), 1, "{ups:?}");
    assert_eq!((ups[0].0, ups[0].1, ups[0].2), (915.0, 4, 8));
    // Over target by more than the tolerance all the while the new replicas start.
    for row in s
        .series
        .iter()
        .filter(|r| r.start_s >= 930.0 && r.start_s < 1515.0)
    {
        let ratio = row.services[0].utilization / 0.5;
        assert!(ratio > 1.1, "ratio {ratio} at {} s", row.start_s);
    }
    assert_eq!(downs.len(), 1, "{downs:?}");
    let (t, from, to, observed) = downs[0];
    assert_eq!((t, from), (1530.0, 8));
    assert_eq!(to, (8.0 * observed / 0.5).ceil() as u32);
    assert!((5..=7).contains(&to), "to {to}");
}

/// The bill of an autoscaled pool is the integral of its billed replica count: summed from
/// the series (time-average billed replicas x window x price), it equals the run's cost; and
/// the cost column integrates to it too.
#[test]
fn an_autoscaled_pool_costs_the_integral_of_its_billed_replicas() {
    let s = simulate(AUTOSCALED);
    let from_replicas: f64 = s
        .series
        .iter()
        .map(|r| r.services[0].replicas_billed * r.length_s / 3600.0 * 0.25)
        .sum();
    let from_cost_column: f64 = s
        .series
        .iter()
        .map(|r| r.cost_per_hour_usd * r.length_s / 3600.0)
        .sum();
    assert!(
        (from_replicas / s.cost.total_usd - 1.0).abs() < 1e-9,
        "{from_replicas} vs {}",
        s.cost.total_usd
    );
    assert!((from_cost_column / s.cost.total_usd - 1.0).abs() < 1e-9);
    // More than the minimum's 2 x 0.25 x 1 h, less than the peak's.
    assert!(s.cost.total_usd > 0.5 && s.cost.total_usd < s.services[0].peak_replicas as f64 * 0.25);
    assert!((s.cost.per_month_usd - s.cost.per_hour_usd * 730.0).abs() < 1e-9);
}

/// A fixed pool costs replicas x hours x price exactly: 3 x $0.40 over 2 h = $2.40, $1.20 an
/// hour, $876 a month; with a 25% spot discount on the second service's 2 x $1.00, a price of
/// $0.0001 per request there, and $730 a month of fixed items ($1 an hour), by hand.
#[test]
fn a_fixed_pool_and_the_other_prices_cost_what_a_hand_calculation_says() {
    let s = simulate(
        r#"
        [scenario]
        duration = "2h"
        warmup = "30m"
        window = "10m"          # the series counts every request of the run, warmup included
        [traffic]
        rate = 5
        [[service]]
        name = "a"
        replicas = 3
        concurrency = 4
        service_time = { dist = "exponential", mean = "10ms" }
        price_per_hour = 0.4
        calls = ["b"]
        [[service]]
        name = "b"
        replicas = 2
        service_time = { dist = "exponential", mean = "10ms" }
        price_per_hour = 1.0
        spot_discount = 0.25
        price_per_request = 0.0001
        [cost]
        fixed_monthly = { support = 500, storage = 230 }
        "#,
    );
    let a = &s.services[0];
    let b = &s.services[1];
    assert!((a.cost_per_hour_usd - 1.2).abs() < 1e-12);
    assert_eq!(a.mean_replicas, 3.0);
    let b_requests_per_hour = b.requests.arrived as f64 / 1.5;
    let b_hourly = 2.0 * 0.75 + b_requests_per_hour * 0.0001;
    assert!((b.cost_per_hour_usd - b_hourly).abs() < 1e-9);
    assert!((s.cost.per_hour_usd - (1.2 + b_hourly + 1.0)).abs() < 1e-9);
    // The run: 2 h of replicas, every request of the run (warmup included), 2 h of fixed.
    let b_visits = s.series.iter().map(|r| r.counts.arrived).sum::<u64>() as f64;
    let total = 2.0 * 1.2 + 2.0 * 1.5 + b_visits * 0.0001 + 2.0;
    assert!(
        (s.cost.total_usd - total).abs() < 1e-6,
        "{} vs {total}",
        s.cost.total_usd
    );
    assert!((s.cost.per_month_usd - s.cost.per_hour_usd * 730.0).abs() < 1e-9);
}

/// Recurring crashes: each of 20 replicas fails after an exponential time with mean 1 h and
/// is repaired after an exponential time with mean 20 min, so (alternating renewal) it is up
/// MTBF / (MTBF + MTTR) = 60 / 80 = 0.75 of the time. Run: 2,000 h, about 30,000 failures;
/// the sd of the up fraction is sqrt((mu_d^2 s_u^2 + mu_u^2 s_d^2) / ((mu_u + mu_d)^3 T) / 20)
/// = 0.0015; the check allows 0.006 (4 sd).
#[test]
fn recurring_crashes_leave_replicas_up_mtbf_over_mtbf_plus_mttr_of_the_time() {
    let s = simulate(
        r#"
        [scenario]
        duration = "2000h"
        window = "10h"
        [traffic]
        rate = 0.001
        [[service]]
        name = "s"
        replicas = 20
        service_time = { dist = "constant", value = "1ms" }
        [[fault]]
        kind = "crash"
        target = "s"
        mtbf = "1h"
        mttr = { dist = "exponential", mean = "20m" }
        "#,
    );
    let up = s.services[0].mean_replicas / 20.0;
    assert!((up - 0.75).abs() < 0.006, "up fraction {up}");
    // Billing goes on while a replica restarts: 20 replicas billed throughout.
    assert_eq!(s.services[0].peak_replicas, 20);
}

/// A crash fails the requests its replica holds; health checks decide how long the balancer
/// keeps sending it more. Two replicas of 100 workers, 100 requests/s of 50 ms; one replica
/// crashes at 31 s for 20 s.
#[test]
fn a_crash_fails_the_requests_on_the_replica_and_health_checks_eject_it_later() {
    let toml = |health: &str| {
        format!(
            r#"
            [scenario]
            duration = "2m"
            window = "1s"
            [traffic]
            rate = 100
            [[service]]
            name = "s"
            replicas = 2
            concurrency = 100
            service_time = {{ dist = "constant", value = "50ms" }}
            {health}
            [[fault]]
            kind = "crash"
            target = "s"
            at = "31s"
            duration = "20s"
            "#
        )
    };
    // Without health checks the balancer hears of the crash at once: only the requests the
    // replica held fail (about 100/s x 50 ms / 2 = 2.5 of them).
    let quick = simulate(&toml(""));
    assert!(
        quick.requests.failed < 20,
        "failed {}",
        quick.requests.failed
    );
    // With probes every 5 s, 2 failures in a row: the crash at 31 s is detected at the second
    // failed probe, at 40 s; until then half the arrivals (round-robin) go to the dead
    // replica and fail: 100/s / 2 x 9 s = 450 (the alternation makes it nearly exact).
    let probed = simulate(&toml(r#"health = { interval = "5s", failures = 2 }"#));
    let failed = probed.requests.failed as f64;
    assert!((failed - 450.0).abs() < 5.0 * 21.0, "failed {failed}");
    let ejected = probed
        .events
        .entries
        .iter()
        .find(|h| matches!(h.what, Happening::Ejected { .. }))
        .unwrap();
    assert_eq!(ejected.at_ns, 40_000_000_000);
    for row in &probed.series {
        if row.start_s >= 41.0 {
            assert_eq!(
                row.counts.failed, 0,
                "after ejection, nothing fails (at {} s)",
                row.start_s
            );
        }
    }
}

/// Two regions, 60% of clients in `us` and 40% in `eu`, 80 ms apart one way; 200 requests/s
/// of 10 ms; probes every 5 s, 3 failures to eject; DNS TTL 30 s. `eu` is out over
/// [60.5 s, 180.5 s).
fn regions(residency: bool) -> String {
    format!(
        r#"
        [scenario]
        duration = "5m"
        window = "5s"
        seed = 8
        [traffic]
        rate = 200
        residency = {residency}
        [[region]]
        name = "us"
        weight = 0.6
        [[region]]
        name = "eu"
        weight = 0.4
        [network]
        latency = {{ "us-eu" = "80ms" }}
        failover = {{ dns_ttl = "30s" }}
        [[service]]
        name = "api"
        regions = {{ us = 2, eu = 2 }}
        concurrency = 50
        service_time = {{ dist = "constant", value = "10ms" }}
        health = {{ interval = "5s", failures = 3 }}
        [[fault]]
        kind = "region_outage"
        target = "eu"
        at = "60.5s"
        duration = "2m"
        "#
    )
}

/// Failed requests in the windows starting in `[from, to)` s.
fn failed_within(s: &Summary, from: f64, to: f64) -> f64 {
    s.series
        .iter()
        .filter(|r| r.start_s >= from && r.start_s < to)
        .map(|r| r.counts.failed as f64)
        .sum()
}

/// A region outage: the probes at 65, 70 and 75 s fail, so `eu` is detected down at 75 s
/// (14.5 s after it went). Its clients' cached answers expire spread over the 30 s TTL: a
/// request at `75 + u` goes to `us` with probability `u / 30`, all from 105 s (the failover
/// event's time). Until 75 s every `eu` request fails, then on average half of those in the
/// TTL: 0.4 x 200/s x (14.5 s + 30 s / 2) = 2,360 failures (Poisson, sd 49; the check allows
/// 5 sd). Within the TTL, [75, 90) s expects 80/s x (15 - 15^2 / 60) = 900 (sd 30) and
/// [90, 105) s 80/s x (15 - (30^2 - 15^2) / 60) = 300 (sd 17): the ramp is linear.
/// After failover the moved clients' latency is 10 ms + 2 x 80 ms = 170 ms: with 40% of the
/// requests at 170 ms and 60% at 10 ms, each window's p95 is 170 ms and p50 10 ms (within
/// the series' 1%). With residency they never move: they fail until `eu` is back, which is
/// at the first probe after the repair (185 s): 0.4 x 200 x 124.5 s = 9,960 (sd 100).
#[test]
fn a_region_outage_fails_its_clients_until_failover_then_they_pay_the_round_trip() {
    let s = simulate(&regions(false));
    let failed = s.requests.failed as f64;
    assert!((failed - 2360.0).abs() < 5.0 * 49.0, "failed {failed}");
    let failed_within = |from: f64, to: f64| failed_within(&s, from, to);
    let early = failed_within(75.0, 90.0);
    let late = failed_within(90.0, 105.0);
    assert!((early - 900.0).abs() < 5.0 * 30.0, "[75, 90): {early}");
    assert!((late - 300.0).abs() < 5.0 * 17.3, "[90, 105): {late}");
    assert_eq!(failed_within(105.0, 300.0), 0.0);
    let moved: Vec<_> = s
        .events
        .entries
        .iter()
        .filter(|h| matches!(h.what, Happening::Failover { region: 1, to: 0 }))
        .collect();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].at_ns, 105_000_000_000);
    for row in &s.series {
        let during = row.start_s >= 110.0 && row.start_s < 180.0;
        let before = row.start_s + row.length_s <= 60.0;
        if during {
            assert!(
                (row.p95_ms / 170.0 - 1.0).abs() < 0.011,
                "p95 {} at {}",
                row.p95_ms,
                row.start_s
            );
            assert!(
                (row.p50_ms / 10.0 - 1.0).abs() < 0.011,
                "p50 {} at {}",
                row.p50_ms,
                row.start_s
            );
            assert_eq!(row.counts.failed, 0);
        }
        if before {
            assert!(
                (row.p95_ms / 10.0 - 1.0).abs() < 0.011,
                "p95 {} at {}",
                row.p95_ms,
                row.start_s
            );
        }
    }

    let resident = simulate(&regions(true));
    let failed = resident.requests.failed as f64;
    assert!((failed - 9960.0).abs() < 5.0 * 100.0, "failed {failed}");
    assert!(
        resident.series.iter().all(|r| r.p95_ms < 10.2),
        "nobody is served away from home"
    );
}

/// Residency is per class: in the outage above, with half the requests of a `records` class
/// whose data must stay home and half of a `catalog` class that may fail over, the catalog's
/// `eu` clients fail only until failover (0.5 x 2,360 = 1,180) while the records' fail for the
/// whole outage (0.5 x 9,960 = 4,980); Poisson sd 34 and 71, the checks allow 5 sd.
#[test]
fn residency_is_per_class() {
    let text = regions(false).replace(
        "[[region]]\n        name = \"us\"",
        "[[class]]\n        name = \"records\"\n        residency = true\n        [[class]]\n        name = \"catalog\"\n        [[region]]\n        name = \"us\"",
    );
    let s = simulate(&text);
    let (records, catalog) = (&s.classes[0], &s.classes[1]);
    assert_eq!(
        (records.name.as_str(), catalog.name.as_str()),
        ("records", "catalog")
    );
    let failed = |c: &capsim::metrics::summary::ClassSummary| c.requests.failed as f64;
    assert!(
        (failed(catalog) - 1180.0).abs() < 5.0 * 34.0,
        "catalog {}",
        failed(catalog)
    );
    assert!(
        (failed(records) - 4980.0).abs() < 5.0 * 71.0,
        "records {}",
        failed(records)
    );
}

/// Three regions, 200 requests/s of 10 ms from clients 50% in `us`, 25% in `eu` and 25% in
/// `ap`; one-way latencies us-eu 80 ms, us-ap 150 ms, eu-ap 200 ms; DNS TTL 30 s; no health
/// checks, so a region is detected down the moment its outage begins. `outages` are
/// `[[fault]]` tables appended.
fn three_regions(outages: &str) -> String {
    format!(
        r#"
        [scenario]
        duration = "6m"
        window = "5s"
        seed = 9
        [traffic]
        rate = 200
        [[region]]
        name = "us"
        weight = 0.5
        [[region]]
        name = "eu"
        weight = 0.25
        [[region]]
        name = "ap"
        weight = 0.25
        [network]
        latency = {{ "us-eu" = "80ms", "us-ap" = "150ms", "eu-ap" = "200ms" }}
        failover = {{ dns_ttl = "30s" }}
        [[service]]
        name = "api"
        regions = {{ us = 2, eu = 2, ap = 2 }}
        concurrency = 50
        service_time = {{ dist = "constant", value = "10ms" }}
        {outages}
        "#
    )
}

/// A failover target that fails is replaced. `us` is out over [60, 300) s, `eu` over
/// [150, 210) s. At 60 s `us` clients move to `eu` (the nearest), spread over [60, 90): half
/// of them fail, 0.5 x 200 x 30 / 2 = 1,500. At 150 s `eu` goes too: DNS now answers `ap` for
/// both; over [150, 180) half of the `us` clients (all on `eu` by then) and half of `eu`'s
/// fail, 100 x 15 + 50 x 15 = 2,250. At 210 s `eu` is back and nearer to `us` than `ap`: both
/// move back to `eu` with nothing failing (ap serves them meanwhile). Poisson sd 39 and 47;
/// the checks allow 5 sd. Over [185, 210) s, `us` clients (50%) are served in `ap` at 10 +
/// 2 x 150 = 310 ms and `eu`'s (25%) at 10 + 2 x 200 = 410 ms: each window's p50 is 310 ms
/// and its p95 410 ms (within the series' 1%). The events: us -> eu at 90 s, us -> ap and
/// eu -> ap at 180 s, us -> eu and eu home at 240 s, us home at 330 s.
#[test]
fn clients_whose_failover_region_fails_move_on_to_the_nearest_region_still_up() {
    let s = simulate(&three_regions(
        r#"[[fault]]
        kind = "region_outage"
        target = "us"
        at = "60s"
        duration = "4m"
        [[fault]]
        kind = "region_outage"
        target = "eu"
        at = "150s"
        duration = "1m""#,
    ));
    let failed_within = |from: f64, to: f64| failed_within(&s, from, to);
    let first = failed_within(60.0, 90.0);
    let second = failed_within(150.0, 180.0);
    assert!((first - 1500.0).abs() < 5.0 * 39.0, "[60, 90): {first}");
    assert!((second - 2250.0).abs() < 5.0 * 47.0, "[150, 180): {second}");
    // Besides these, only the visits in service when a region crashed (about 150/s x 10 ms
    // = 1.5 each time, counted in the window they arrived in).
    let other = s.requests.failed as f64 - first - second;
    assert!((0.0..=10.0).contains(&other), "{other} other failures");
    for row in s
        .series
        .iter()
        .filter(|r| r.start_s >= 185.0 && r.start_s < 210.0)
    {
        assert!(
            (row.p50_ms / 310.0 - 1.0).abs() < 0.011,
            "p50 {}",
            row.p50_ms
        );
        assert!(
            (row.p95_ms / 410.0 - 1.0).abs() < 0.011,
            "p95 {}",
            row.p95_ms
        );
    }
    let moves: Vec<(u64, String)> = s
        .events
        .entries
        .iter()
        .filter_map(|h| match h.what {
            Happening::Failover { region, to } => {
                Some((h.at_ns / 1_000_000_000, format!("{region}->{to}")))
            }
            Happening::Failback { region } => {
                Some((h.at_ns / 1_000_000_000, format!("{region} home")))
            }
            _ => None,
        })
        .collect();
    let expected: Vec<(u64, String)> = [
        (90, "0->1"),
        (180, "0->2"),
        (180, "1->2"),
        (240, "0->1"),
        (240, "1 home"),
        (330, "0 home"),
    ]
    .iter()
    .map(|&(t, m)| (t, m.to_string()))
    .collect();
    let mut sorted = moves.clone();
    sorted.sort();
    assert_eq!(sorted, expected);
}

/// Every region down: `ap` out from 1 s to the end, `us` over [60, 120) s, `eu` over
/// [90, 150) s. Failed requests, by hand (half of a region's requests fail over a TTL ramp
/// away from a region that is down):
/// - [1, 31): `ap` clients (50/s) move to `us` (nearer than `eu`): 50 x 15 = 750;
/// - [60, 90): `us` (100/s) and `ap` clients move to `eu`: 100 x 15 + 50 x 15 = 2,250;
/// - [90, 120): nothing is up; DNS answers each region with itself; all fail: 200 x 30 = 6,000;
/// - [120, 150): `us` is back; its clients, holding answers from 90 s on (`us`), are served
///   at once; `eu`'s and `ap`'s move to `us`: 50 x 15 + 50 x 15 = 1,500;
/// - from 150 s: none (`eu` is back; `ap`'s clients stay on `us`, nearer).
///
/// In all 10,500 (Poisson sd 102; the check allows 5 sd). No failover to `ap` is logged.
#[test]
fn with_every_region_down_requests_fail_where_they_are_until_one_is_back() {
    let s = simulate(&three_regions(
        r#"[[fault]]
        kind = "region_outage"
        target = "us"
        at = "60s"
        duration = "1m"
        [[fault]]
        kind = "region_outage"
        target = "eu"
        at = "90s"
        duration = "1m"
        [[fault]]
        kind = "region_outage"
        target = "ap"
        at = "1s"
        duration = "359s""#,
    ));
    let failed = s.requests.failed as f64;
    assert!((failed - 10_500.0).abs() < 5.0 * 102.0, "failed {failed}");
    let after = s
        .series
        .iter()
        .filter(|r| r.start_s >= 150.0)
        .map(|r| r.counts.failed)
        .sum::<u64>();
    assert_eq!(after, 0);
    for h in &s.events.entries {
        if let Happening::Failover { to, .. } = h.what {
            assert_ne!(to, 2, "ap is never up");
        }
    }
}

/// A regional service autoscaled: one HPA per region. 290 requests/s of constant 100 ms
/// work, 200/s from `us` (weight 20) and 90/s from `eu` (weight 9), served where they come
/// from; concurrency 4, target utilization 0.5, so a replica takes 20/s at the target and a
/// region with `N` replicas rests where `|lambda / (20 N) - 1| <= 0.1` (the tolerance).
/// `eu` is out over [1500.5 s, 2400.5 s), detected by probes (5 s, 3 failures), DNS TTL 30 s.
fn regional_hpa() -> String {
    r#"
    [scenario]
    duration = "50m"
    window = "15s"
    seed = 11
    [traffic]
    rate = 290
    [[region]]
    name = "us"
    weight = 20
    [[region]]
    name = "eu"
    weight = 9
    [network]
    latency = { "us-eu" = "40ms" }
    failover = { dns_ttl = "30s" }
    [[service]]
    name = "api"
    regions = { us = 2, eu = 3 }
    concurrency = 4
    service_time = { dist = "constant", value = "100ms" }
    health = { interval = "5s", failures = 3 }
    autoscale = { min = 2, max = 40, metric = "utilization", target = 0.5, provisioning = { dist = "constant", value = "60s" } }
    [[fault]]
    kind = "region_outage"
    target = "eu"
    at = "1500.5s"
    duration = "15m"
    "#
    .to_string()
}

/// Each region's HPA by hand (`ceil(current x utilization / target)`), on the scenario above:
/// - 15 s, `us` (synced first): 200/s of 0.1 s on 2 x 4 workers is saturated, utilization
///   about 1 (the workers fill within the first 40 ms): `ceil(2 x 1 / 0.5) = 4`, within the
///   rate limit `max(2 + 4, 2 x 2)`: 2 -> 4. The log shows the service's total, 5 -> 7.
/// - 15 s, `eu`: 90/s on 3 x 4 workers, utilization 9 / 12 = 0.75 (the window's 1,350
///   arrivals have a Poisson sd of 37: sd 0.02; the check allows 0.08):
///   `ceil(3 x 0.75 / 0.5) = ceil(4.5) = 5`: 3 -> 5, total 7 -> 9 (checked with the
///   utilization the event reports).
/// - Steady before the outage: `us` rests at N in [200/22, 200/18] = 10 or 11, `eu` at 5
///   (`N = 4`: ratio 1.125, ceil(4.5) = 5; `N = 5`: ratio 0.9, within the tolerance): 15 or
///   16 ready in every window of [1200, 1500) s.
/// - During the outage `eu`'s replicas are ejected (not ready: its HPA has no sample and
///   does nothing) and its clients fail over: `us` takes 290/s and its own HPA scales it up to
///   N in [290/22, 290/18] = 14 to 16, all the ready replicas of the windows of
///   [1800, 2400) s; the scale-up reports `us`'s utilization over target (above 0.55).
#[test]
fn each_region_of_a_regional_service_scales_on_its_own_utilization() {
    let s = simulate(&regional_hpa());
    let (ups, _) = scale_events(&s);
    let first: Vec<_> = ups.iter().filter(|u| u.0 == 15.0).collect();
    assert_eq!(first.len(), 2, "one scale-up per region at 15 s: {ups:?}");
    let (_, from, to, observed) = *first[0];
    assert_eq!((from, to), (5, 7), "us 2 -> 4");
    assert!(observed > 0.99, "us saturated: {observed}");
    let (_, from, to, observed) = *first[1];
    assert!((observed - 0.75).abs() < 0.08, "eu utilization {observed}");
    assert_eq!(to - from, (3.0 * observed / 0.5).ceil() as u32 - 3);
    assert_eq!((from, to), (7, 9), "eu 3 -> 5");
    let ready = |from: f64, to: f64| -> Vec<f64> {
        s.series
            .iter()
            .filter(|r| r.start_s >= from && r.start_s < to)
            .map(|r| r.services[0].replicas_ready)
            .collect()
    };
    let before = ready(1200.0, 1500.0);
    assert_eq!(before.len(), 20);
    assert!(
        before.iter().all(|&n| n == 15.0 || n == 16.0),
        "us 10 or 11 and eu 5: {before:?}"
    );
    let during = ready(1800.0, 2400.0);
    assert_eq!(during.len(), 40);
    assert!(
        during.iter().all(|&n| (14.0..=16.0).contains(&n)),
        "us alone, scaled for 290/s: {during:?}"
    );
    assert!(
        ups.iter()
            .any(|u| u.0 > 1500.0 && u.0 < 1800.0 && u.3 > 0.55),
        "us scales up after failover: {ups:?}"
    );
}

/// A payload's transfer between regions: in the outage of `regions` above, with
/// `payload_kb = 100` and `network.bandwidth_mbps = 100`, a request served away carries
/// 100 kB there and back over 100 Mb/s: `2 x 100 x 8,000 bits / 10^8 bits/s = 16 ms` on top
/// of the round trip. The run is otherwise the same (the transfer is added to a request's
/// latency as it ends), so the exact mean latency grows by 16 ms x (requests served away /
/// requests succeeded): that count must come out a whole number, between the eu requests of
/// the 75 s from failover to the outage's end at the least (0.4 x 200/s x 75 s = 6,000, less
/// 5 sd) and of the whole 120 s outage at most. After failover a window's p95 is the moved
/// clients' 10 + 160 + 16 = 186 ms (170 ms without), within the series' 1%; requests at home
/// pay nothing (p95 10 ms before the outage), and with residency nobody moves: no change.
#[test]
fn a_payload_served_away_adds_its_size_over_the_bandwidth_both_ways() {
    let with = |text: String| {
        text.replace("rate = 200", "rate = 200\n        payload_kb = 100")
            .replace(
                "failover = { dns_ttl = \"30s\" }",
                "failover = { dns_ttl = \"30s\" }\n        bandwidth_mbps = 100",
            )
    };
    let plain = simulate(&regions(false));
    let sized = simulate(&with(regions(false)));
    assert!(with(regions(false)).contains("bandwidth_mbps = 100"));
    assert_eq!(sized.requests, plain.requests, "the same run");
    let succeeded = sized.requests.succeeded as f64;
    let away = (sized.latency.mean - plain.latency.mean) * succeeded / 16.0;
    assert!((away - away.round()).abs() < 1e-3, "{away} requests away");
    assert!(
        (6000.0 - 5.0 * 77.0..=0.4 * 200.0 * 120.0).contains(&away),
        "{away} requests served away"
    );
    for row in &sized.series {
        if row.start_s >= 110.0 && row.start_s < 180.0 {
            assert!(
                (row.p95_ms / 186.0 - 1.0).abs() < 0.011,
                "p95 {} at {}",
                row.p95_ms,
                row.start_s
            );
        }
        if row.start_s + row.length_s <= 60.0 {
            assert!(
                (row.p95_ms / 10.0 - 1.0).abs() < 0.011,
                "p95 {}",
                row.p95_ms
            );
        }
    }
    let resident = simulate(&regions(true));
    let resident_sized = simulate(&with(regions(true)));
    assert_eq!(resident_sized.latency.mean, resident.latency.mean);
}

/// One region `eu` whose data must stay there (imaging studies under data residency), 100
/// requests/s of 5 ms on one replica of 4 workers (800/s), out over [100 s, 160 s): its
/// replicas crash at 100 s, so it is detected down at once and back at 160 s.
fn backlogged(backlog: &str) -> String {
    format!(
        r#"
        [scenario]
        duration = "5m"
        window = "5s"
        seed = 4
        [traffic]
        rate = 100
        residency = true
        backlog = {backlog}
        [[region]]
        name = "eu"
        [[service]]
        name = "pacs"
        regions = {{ eu = 1 }}
        concurrency = 4
        service_time = {{ dist = "constant", value = "5ms" }}
        [[fault]]
        kind = "region_outage"
        target = "eu"
        at = "100s"
        duration = "60s"
        "#
    )
}

/// The requests sent from backlogs, by the `backlog_sent` events.
fn backlog_sent(s: &Summary) -> Vec<u64> {
    s.events
        .entries
        .iter()
        .filter_map(|h| match h.what {
            Happening::BacklogSent { requests, .. } => Some(requests),
            _ => None,
        })
        .collect()
}

/// The outage above with a backlog of 10,000 (more than lambda T = 100/s x 60 s = 6,000):
/// - nothing is lost: every request arriving during the outage waits and succeeds; only the
///   requests on the replica when it crashed fail (at most its 4 workers' worth; on average
///   100/s x 5 ms = 0.5), none is rejected or times out;
/// - the backlog sent at 160 s holds the outage's arrivals, Poisson(6,000): within 4.5 sd
///   (sd 77);
/// - the oldest waited the whole outage: the longest latency is 60 s (the first arrival after
///   100 s comes within a few 10 ms gaps; the histogram's 0.1%);
/// - it drains by hand: the backlog N and the newcomers at 100/s leave at 800/s, so the
///   queue is empty about N / (800 - 100) = 8.6 s after recovery: the 5 s windows starting
///   at 160 s and 165 s still have waits of seconds (p99 above 1 s), the one at 175 s none
///   (4 workers at load 0.125: p99 = the 5 ms of work, within the series' 1%).
///
/// With a backlog of 2,000 (less than lambda T) the backlog sends exactly 2,000 and rejects
/// the rest of the outage's arrivals: 6,000 - 2,000 = 4,000 within 4.5 sd (sd 77).
#[test]
fn a_backlog_holds_a_resident_class_through_its_region_outage_and_drains_after() {
    let s = simulate(&backlogged("{ max = 10000, timeout = \"12h\" }"));
    assert!(s.requests.failed <= 4, "failed {}", s.requests.failed);
    assert_eq!((s.requests.rejected, s.requests.timed_out), (0, 0));
    assert_eq!(s.requests.succeeded + s.requests.failed, s.requests.arrived);
    let sent = backlog_sent(&s);
    assert_eq!(sent.len(), 1, "one backlog sent, at recovery");
    assert!(
        (sent[0] as f64 - 6000.0).abs() < 4.5 * 77.5,
        "backlog of {}",
        sent[0]
    );
    assert!(
        (s.latency.max / 60_000.0 - 1.0).abs() < 0.002,
        "max latency {} ms",
        s.latency.max
    );
    let window = |start: f64| {
        s.series
            .iter()
            .find(|r| r.start_s == start)
            .expect("a window")
    };
    assert!(window(160.0).p99_ms > 1_000.0 && window(165.0).p99_ms > 1_000.0);
    assert!(
        (window(175.0).p99_ms / 5.0 - 1.0).abs() < 0.011,
        "p99 after the drain {}",
        window(175.0).p99_ms
    );

    let small = simulate(&backlogged("{ max = 2000 }"));
    assert_eq!(backlog_sent(&small), vec![2000]);
    let rejected = small.requests.rejected as f64;
    assert!(
        (rejected - 4000.0).abs() < 4.5 * 77.5,
        "rejected {rejected}"
    );
    assert_eq!(small.requests.timed_out, 0);
}

/// The outage above with `timeout = "30s"`: the requests arriving over [100 s, 130 s) time
/// out 30 s later, before the region is back (100/s x 30 s = 3,000, sd 55); those arriving
/// over [130 s, 160 s) are sent at 160 s (3,000, sd 55), the oldest having waited 30 s, the
/// longest latency (within the histogram's 0.1% and an arrival gap). Checks within 4.5 sd.
/// The run is also checked event by event (`simulate_checked`).
#[test]
fn backlogged_requests_time_out_after_the_backlog_timeout() {
    let s = simulate(&backlogged("{ max = 10000, timeout = \"30s\" }"));
    // Every event keeps the books: the requests in flight are the root frames plus the
    // requests waiting (`System::invariants`).
    let model = capsim::scenario::load(
        &backlogged("{ max = 10000, timeout = \"30s\" }"),
        "t.toml",
        &[],
    )
    .expect("valid");
    capsim::components::system::simulate_checked(&model, 0).expect("the invariants hold");
    let timed_out = s.requests.timed_out as f64;
    assert!(
        (timed_out - 3000.0).abs() < 4.5 * 55.0,
        "timed out {timed_out}"
    );
    let sent = backlog_sent(&s);
    assert!(
        (sent[0] as f64 - 3000.0).abs() < 4.5 * 55.0,
        "sent {sent:?}"
    );
    assert_eq!(s.requests.rejected, 0);
    assert!(
        (s.latency.max / 30_000.0 - 1.0).abs() < 0.002,
        "max latency {} ms",
        s.latency.max
    );
    // The series counts each timeout in the window it happened: none before 130 s.
    let before: u64 = s
        .series
        .iter()
        .filter(|r| r.start_s < 130.0)
        .map(|r| r.counts.timed_out)
        .sum();
    assert_eq!(before, 0);
}
