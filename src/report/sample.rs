//! Synthetic report inputs in the contract's formats, for tests and benches of the charts
//! whose data other commands write (a time series, a sweep's results). The numbers are made
//! up, shaped like a real run's (a daily cycle, a spike, an autoscaler catching up, a fault),
//! and the same every time.

use super::data::Event;
use std::fmt::Write;

/// A `timeseries.csv` of `windows` windows of `window_s` seconds with the contract's columns
/// and, per service, `NAME.replicas_ready`, `NAME.replicas_starting`, `NAME.utilization`,
/// `NAME.queue_length`. The first service autoscales (its replicas follow the load, a little
/// late); the others keep theirs. Traffic follows a daily cycle, triples for a tenth of the
/// run from its middle, and a fault from 70% to 72% of the run fails a tenth of requests.
pub fn timeseries_csv(windows: usize, window_s: f64, services: &[&str]) -> String {
    let mut out = String::from(
        "window_start_s,arrived,succeeded,failed,rejected,timed_out,degraded,throughput_rps,\
         p50_ms,p95_ms,p99_ms,availability,cost_per_hour_usd",
    );
    for s in services {
        let _ = write!(
            out,
            ",{s}.replicas_ready,{s}.replicas_starting,{s}.utilization,{s}.queue_length"
        );
    }
    out.push('\n');
    let span = windows as f64 * window_s;
    let mut ready = 4.0f64;
    let mut starting = 0.0f64;
    for w in 0..windows {
        let t = w as f64 * window_s;
        let phase = t / span;
        let daily = 300.0 + 200.0 * (std::f64::consts::TAU * (phase - 0.25)).sin();
        let spike = if (0.5..0.6).contains(&phase) {
            3.0
        } else {
            1.0
        };
        let rate = daily * spike;
        let fault = (0.70..0.72).contains(&phase);
        // The autoscaler wants one replica per 100 req/s; new ones take a while to start.
        let wanted = (rate / 100.0).ceil().max(2.0);
        if wanted > ready + starting {
            starting += wanted - ready - starting;
        }
        let arriving = (starting * 0.2).min(starting);
        ready += arriving;
        starting -= arriving;
        if wanted < ready - 1.0 {
            ready -= 1.0;
        }
        let utilization = (rate / (ready * 120.0)).min(1.0);
        let queueing = 1.0 / (1.0 - utilization.min(0.97));
        let arrived = (rate * window_s).round();
        let failed = if fault { (arrived * 0.1).round() } else { 0.0 };
        let rejected = if utilization >= 0.97 {
            (arrived * 0.02).round()
        } else {
            0.0
        };
        let succeeded = arrived - failed - rejected;
        let p50 = 4.0 * queueing.sqrt();
        let _ = write!(
            out,
            "{t},{arrived},{succeeded},{failed},{rejected},0,0,{},{p50:.3},{:.3},{:.3},{:.6},{:.4}",
            succeeded / window_s,
            p50 * 2.5,
            p50 * 4.0,
            succeeded / arrived.max(1.0),
            (ready + starting) * 0.1 + 0.4,
        );
        for (i, _) in services.iter().enumerate() {
            if i == 0 {
                let _ = write!(
                    out,
                    ",{ready:.3},{starting:.3},{utilization:.4},{:.3}",
                    queueing - 1.0
                );
            } else {
                let _ = write!(out, ",4,0,{:.4},0.1", 0.3 + 0.2 * phase);
            }
        }
        out.push('\n');
    }
    out
}

/// The events of [`timeseries_csv`]'s run: the spike and the fault (each a start and an
/// end), a scale-up and a crash, as the summary's `events` carry them.
pub fn events(windows: usize, window_s: f64) -> Vec<Event> {
    let span = windows as f64 * window_s;
    let event = |at: f64, kind: &str, text: &str, end: Option<f64>| Event {
        at_s: at * span,
        kind: kind.into(),
        text: text.into(),
        end_s: end.map(|e| e * span),
    };
    vec![
        event(0.5, "spike", "traffic spike 0 begins (x3)", None),
        event(0.55, "scale_up", "scale up api 4 -> 12", None),
        event(0.6, "spike_end", "traffic spike 0 ends", None),
        event(0.70, "fault_start", "fault db-errors begins", None),
        event(0.72, "fault_end", "fault db-errors ends", None),
        event(0.85, "crash", "api replica 2 crashed (chaos)", None),
    ]
}

/// A `results.csv` of a two-axis sweep (`service.api.replicas` 2..=2+n-1 by
/// `traffic.rate` in `rates`), with intervals from 3 replications and the points where
/// replicas cannot keep up marked overloaded.
pub fn results_csv(replicas: std::ops::RangeInclusive<u32>, rates: &[f64]) -> String {
    let mut out = String::from(
        "service.api.replicas,traffic.rate,p50_ms,p95_ms,p99_ms,p99_ms_low,p99_ms_high,\
         availability,throughput_rps,cost_per_hour_usd,slo_met,point,replications,overloaded,missed\n",
    );
    let mut point = 0;
    for r in replicas {
        for &rate in rates {
            let rho = rate / (f64::from(r) * 100.0);
            let cost = f64::from(r) * 0.1;
            if rho >= 1.0 {
                let _ = writeln!(
                    out,
                    "{r},{rate},,,,,,,,{cost},false,{point},,api,overloaded"
                );
            } else {
                let p99 = 10.0 / (1.0 - rho);
                let met = p99 <= 40.0;
                let _ = writeln!(
                    out,
                    "{r},{rate},{:.3},{:.3},{p99:.3},{:.3},{:.3},1,{rate},{cost},{met},{point},3,,{}",
                    p99 / 4.0,
                    p99 / 2.0,
                    p99 * 0.95,
                    p99 * 1.05,
                    if met { "" } else { "p99" }
                );
            }
            point += 1;
        }
    }
    out
}
