//! A world that changes over time, against independent expectations: arrivals of shaped
//! traffic against the integral of the rate (written out here, not taken from capsim),
//! exponential gaps by a Kolmogorov-Smirnov test, Kubernetes' HPA formula applied to the
//! recorded series, MTBF / (MTBF + MTTR), and costs by hand.
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
    assert!(matches!(kinds[1], Happening::StepStart { rate_per_s, .. } if *rate_per_s == 300.0));
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
