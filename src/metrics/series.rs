//! The time series: one row per window of `[0, duration)`, from per-window counters and one
//! compact histogram that is read and cleared at each window's end (so memory grows with the
//! number of windows, never with requests); pooled over replications; and what is read off
//! it: availability per window, the error-budget burn rate and its multi-window alerts, and
//! the time to recover after each fault.

use super::recorder::Counts;
use crate::engine::time::Nanos;

/// One service in one window: time averages over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ServiceRow {
    pub replicas_ready: f64,
    pub replicas_starting: f64,
    /// Starting, ready or draining: what is paid for.
    pub replicas_billed: f64,
    /// Busy worker-time over ready worker-time (0 when no replica was ready).
    pub utilization: f64,
    pub queue_length: f64,
}

/// One window of one replication (or the sum over replications, once pooled).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub start_ns: Nanos,
    pub length_ns: Nanos,
    /// `arrived` counts requests arriving in the window; the endings count requests ending in
    /// it (whenever they arrived), as a dashboard of finished requests does.
    pub counts: Counts,
    /// Latency percentiles of the requests that succeeded in the window (2 significant
    /// digits); 0 when none did.
    pub p50_ns: f64,
    pub p95_ns: f64,
    pub p99_ns: f64,
    /// Replications whose window had a succeeded request (what the percentiles average over).
    pub latency_runs: u32,
    /// Money spent in the window: billed replica-time and requests.
    pub cost_usd: f64,
    pub services: Vec<ServiceRow>,
}

impl Row {
    /// Adds another replication's row for the same window: counts and money add, and the
    /// other figures add up to be divided by the number of replications (percentiles by the
    /// number that had any).
    pub fn add(&mut self, other: &Row) {
        self.counts.add(&other.counts);
        self.p50_ns += other.p50_ns;
        self.p95_ns += other.p95_ns;
        self.p99_ns += other.p99_ns;
        self.latency_runs += other.latency_runs;
        self.cost_usd += other.cost_usd;
        for (mine, theirs) in self.services.iter_mut().zip(&other.services) {
            mine.replicas_ready += theirs.replicas_ready;
            mine.replicas_starting += theirs.replicas_starting;
            mine.replicas_billed += theirs.replicas_billed;
            mine.utilization += theirs.utilization;
            mine.queue_length += theirs.queue_length;
        }
    }

    /// Succeeded / finished in the window; 1 when nothing finished.
    pub fn availability(&self) -> f64 {
        let c = &self.counts;
        let finished = c.succeeded + c.failed + c.rejected + c.timed_out;
        if finished == 0 {
            1.0
        } else {
            c.succeeded as f64 / finished as f64
        }
    }
}

/// A window of the pooled series, as reported.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRow {
    pub start_s: f64,
    pub length_s: f64,
    /// Summed over replications, like the summary's `requests`.
    pub counts: Counts,
    pub throughput_rps: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub availability: f64,
    /// The error-budget burn rate, `(1 - availability) / (1 - SLO)`, when there is an
    /// availability objective below 1.
    pub burn_rate: Option<f64>,
    pub cost_per_hour_usd: f64,
    /// Means over replications.
    pub services: Vec<ServiceRow>,
}

/// Turns pooled rows (sums over `replications`) into reported rows.
pub fn report_rows(
    rows: &[Row],
    replications: u32,
    availability_slo: Option<f64>,
) -> Vec<SeriesRow> {
    let n = f64::from(replications.max(1));
    rows.iter()
        .map(|row| {
            let length_s = row.length_ns as f64 / 1e9;
            let runs = f64::from(row.latency_runs.max(1));
            let availability = row.availability();
            SeriesRow {
                start_s: row.start_ns as f64 / 1e9,
                length_s,
                counts: row.counts,
                throughput_rps: row.counts.succeeded as f64 / (length_s * n),
                p50_ms: row.p50_ns / runs / 1e6,
                p95_ms: row.p95_ns / runs / 1e6,
                p99_ms: row.p99_ns / runs / 1e6,
                availability,
                burn_rate: burn_rate(availability, availability_slo),
                cost_per_hour_usd: row.cost_usd / n / (length_s / 3600.0),
                services: row
                    .services
                    .iter()
                    .map(|s| ServiceRow {
                        replicas_ready: s.replicas_ready / n,
                        replicas_starting: s.replicas_starting / n,
                        replicas_billed: s.replicas_billed / n,
                        utilization: s.utilization / n,
                        queue_length: s.queue_length / n,
                    })
                    .collect(),
            }
        })
        .collect()
}

fn burn_rate(availability: f64, slo: Option<f64>) -> Option<f64> {
    let slo = slo.filter(|&a| a < 1.0)?;
    Some((1.0 - availability) / (1.0 - slo))
}

/// One tier of the Google SRE workbook's multi-window, multi-burn-rate alerts (for a 30-day
/// SLO period): it fires when the burn rate over both the long and the short window is at or
/// above `threshold`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertTier {
    pub severity: &'static str,
    pub long_s: f64,
    pub short_s: f64,
    pub threshold: f64,
}

/// The workbook's recommended tiers: 2% of a 30-day budget in 1 h, 5% in 6 h (pages), 10% in
/// 3 days (a ticket).
pub const ALERT_TIERS: [AlertTier; 3] = [
    AlertTier {
        severity: "page",
        long_s: 3_600.0,
        short_s: 300.0,
        threshold: 14.4,
    },
    AlertTier {
        severity: "page",
        long_s: 21_600.0,
        short_s: 1_800.0,
        threshold: 6.0,
    },
    AlertTier {
        severity: "ticket",
        long_s: 259_200.0,
        short_s: 21_600.0,
        threshold: 1.0,
    },
];

/// When an alert tier first fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub tier: AlertTier,
    /// The end of the window at which both burn rates first reached the threshold.
    pub first_at_s: f64,
}

/// The error budget over the measured window, and the alerts its burn would have fired.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorBudget {
    pub slo: f64,
    /// Failed, rejected and timed-out requests the SLO allows: `(1 - slo) x finished`.
    pub allowed_failures: f64,
    pub failures: u64,
    /// `failures / allowed_failures` (above 1: the budget is overspent).
    pub consumed: f64,
    /// The worst window's burn rate.
    pub max_burn_rate: f64,
    pub alerts: Vec<Alert>,
}

/// The error budget for an availability objective `slo` (below 1), from the measured counts
/// and the pooled rows. A trailing window of the alert tiers is the last whole rows covering
/// it (at least one).
pub fn error_budget(slo: f64, measured: &Counts, rows: &[Row]) -> Option<ErrorBudget> {
    if slo >= 1.0 {
        return None;
    }
    let finished = measured.succeeded + measured.failed + measured.rejected + measured.timed_out;
    let failures = finished - measured.succeeded;
    let allowed_failures = (1.0 - slo) * finished as f64;
    let max_burn_rate = rows
        .iter()
        .map(|r| (1.0 - r.availability()) / (1.0 - slo))
        .fold(0.0, f64::max);
    let mut alerts = Vec::new();
    for tier in ALERT_TIERS {
        let burn_over = |end: usize, span_s: f64| -> f64 {
            let length_s = rows[0].length_ns as f64 / 1e9;
            let take = ((span_s / length_s).round() as usize).max(1);
            let mut c = Counts::default();
            for r in &rows[end.saturating_sub(take - 1)..=end] {
                c.add(&r.counts);
            }
            let finished = c.succeeded + c.failed + c.rejected + c.timed_out;
            if finished == 0 {
                0.0
            } else {
                (finished - c.succeeded) as f64 / finished as f64 / (1.0 - slo)
            }
        };
        if let Some(end) = (0..rows.len()).find(|&i| {
            burn_over(i, tier.long_s) >= tier.threshold
                && burn_over(i, tier.short_s) >= tier.threshold
        }) {
            alerts.push(Alert {
                tier,
                first_at_s: (rows[end].start_ns + rows[end].length_ns) as f64 / 1e9,
            });
        }
    }
    Some(ErrorBudget {
        slo,
        allowed_failures,
        failures,
        consumed: if allowed_failures > 0.0 {
            failures as f64 / allowed_failures
        } else {
            0.0
        },
        max_burn_rate,
        alerts,
    })
}

/// How the SLO fared after a fault began.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    pub fault: String,
    pub at_s: f64,
    /// Whether some window from the fault's start on missed the SLO.
    pub breached: bool,
    /// The start of the first window after the breach that met the SLO again; `None` when
    /// none did before the run ended.
    pub recovered_at_s: Option<f64>,
    /// `recovered_at - at` (0 when the SLO was never breached).
    pub time_to_recover_s: Option<f64>,
}

/// For each fault starting at `at_ns`, the first window back within the SLO after it broke.
/// A window meets the SLO when `meets` says so (availability and the per-window
/// percentiles).
pub fn recoveries(
    faults: &[(String, Nanos)],
    rows: &[SeriesRow],
    meets: &dyn Fn(&SeriesRow) -> bool,
) -> Vec<Recovery> {
    faults
        .iter()
        .map(|(fault, at_ns)| {
            let at_s = *at_ns as f64 / 1e9;
            // Windows that end after the fault starts.
            let after: Vec<&SeriesRow> = rows
                .iter()
                .filter(|r| r.start_s + r.length_s > at_s)
                .collect();
            let breach = after.iter().position(|r| !meets(r));
            match breach {
                None => Recovery {
                    fault: fault.clone(),
                    at_s,
                    breached: false,
                    recovered_at_s: Some(at_s),
                    time_to_recover_s: Some(0.0),
                },
                Some(b) => {
                    let back = after[b..].iter().find(|r| meets(r)).map(|r| r.start_s);
                    Recovery {
                        fault: fault.clone(),
                        at_s,
                        breached: true,
                        recovered_at_s: back,
                        time_to_recover_s: back.map(|t| (t - at_s).max(0.0)),
                    }
                }
            }
        })
        .collect()
}
