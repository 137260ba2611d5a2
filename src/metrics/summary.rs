//! Replications -> one summary: pooled figures, confidence intervals across replications,
//! SLO verdicts, cost, and the theory beside each service.

use super::recorder::{Counts, Durations, Record};
use super::run::{Overload, OverloadReason, RunResult};
use super::theory::{self, ServiceTheory};
use crate::engine::time::{ns_to_ms, ns_to_s};
use crate::scenario::model::{Measure, Model, Objective};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Latency figures in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Latency {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Latency {
    fn of(d: &Durations) -> Self {
        Latency {
            mean: ns_to_ms(d.mean_ns()),
            p50: ns_to_ms(d.quantile_ns(0.50)),
            p90: ns_to_ms(d.quantile_ns(0.90)),
            p95: ns_to_ms(d.quantile_ns(0.95)),
            p99: ns_to_ms(d.quantile_ns(0.99)),
            p999: ns_to_ms(d.quantile_ns(0.999)),
            max: ns_to_ms(d.max_ns()),
        }
    }

    /// The figure an objective reads.
    pub fn get(&self, measure: Measure) -> f64 {
        match measure {
            Measure::Mean => self.mean,
            Measure::P50 => self.p50,
            Measure::P90 => self.p90,
            Measure::P95 => self.p95,
            Measure::P99 => self.p99,
            Measure::P999 => self.p999,
            Measure::Availability => f64::NAN,
        }
    }
}

/// A latency distribution as `(q, ms)` points, `1 - q` log-spaced so that the tail is
/// resolved to p99.999 (see `Durations::cdf_points`); empty when no request succeeded.
pub type Cdf = Vec<(f64, f64)>;

fn cdf_ms(d: &Durations) -> Cdf {
    d.cdf_points()
        .into_iter()
        .map(|(q, ns)| (q, ns_to_ms(ns)))
        .collect()
}

/// A 95% confidence interval `[low, high]`.
pub type Interval = [f64; 2];

/// Intervals across replications (Student t, n - 1 degrees of freedom).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ci95 {
    pub latency: LatencyIntervals,
    pub availability: Interval,
    pub throughput_rps: Interval,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatencyIntervals {
    pub mean: Interval,
    pub p50: Interval,
    pub p90: Interval,
    pub p95: Interval,
    pub p99: Interval,
    pub p999: Interval,
    pub max: Interval,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    pub total_usd: f64,
    pub per_hour_usd: f64,
    pub per_million_requests_usd: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSummary {
    pub name: String,
    pub requests: Counts,
    pub latency: Latency,
    pub queue_wait_mean_ms: f64,
    pub queue_wait_p99_ms: f64,
    pub utilization: f64,
    pub mean_replicas: f64,
    pub mean_queue_length: f64,
    pub mean_in_system: f64,
    pub cost_per_hour_usd: f64,
    pub theory: ServiceTheory,
    pub paths: PathFigures,
}

/// What the request-path mechanisms did at one service.
#[derive(Debug, Clone, PartialEq)]
pub struct PathFigures {
    /// Calls made to the service (first attempts, and requests entering here).
    pub calls: u64,
    /// Visits per call: 1 without retries or hedges.
    pub retry_amplification: f64,
    pub retries: u64,
    pub hedges: u64,
    /// Calls failed fast by the service's open circuit breaker, and how often it opened.
    pub short_circuited: u64,
    pub breaker_opened: u64,
    /// Service time spent on visits whose caller had gone, in seconds.
    pub wasted_work_s: f64,
    /// Hits per lookup, for caches.
    pub hit_ratio: Option<f64>,
    /// Visits per batch, for batching services.
    pub mean_batch_size: Option<f64>,
}

/// The figures of one class of request, in the shape of the top level's.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassSummary {
    pub name: String,
    pub requests: Counts,
    pub throughput_rps: f64,
    pub availability: f64,
    pub latency: Latency,
    pub latency_cdf: Cdf,
    pub slo: Vec<Verdict>,
    pub slo_met: bool,
}

/// One SLO objective's verdict. Latency figures in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub measure: Measure,
    pub target: f64,
    pub observed: f64,
    pub met: bool,
    /// Across replications, when there are several.
    pub ci95: Option<Interval>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub replications: u32,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub requests: Counts,
    pub throughput_rps: f64,
    pub availability: f64,
    pub latency: Latency,
    /// The end-to-end latency distribution, for plots.
    pub latency_cdf: Cdf,
    pub cost: Cost,
    pub services: Vec<ServiceSummary>,
    /// Visits per call over every service (1 without retries or hedges).
    pub retry_amplification: f64,
    pub slo: Vec<Verdict>,
    /// Every objective met, the classes' included.
    pub slo_met: bool,
    pub ci95: Option<Ci95>,
    /// One per class; a scenario without `[[class]]` has one, "default".
    pub classes: Vec<ClassSummary>,
}

/// An overloaded run, explained.
#[derive(Debug, Clone, PartialEq)]
pub struct OverloadSummary {
    pub reason: OverloadReason,
    pub scenario: String,
    pub seed: u64,
    pub replication: u32,
    pub at_s: f64,
    pub in_flight: usize,
    pub max_in_flight: usize,
    pub service: String,
    pub queued: usize,
    pub theory: ServiceTheory,
    pub workers: u64,
    pub mean_service_ms: f64,
}

/// What a set of replications says.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Completed(Box<Summary>),
    Overloaded(Box<OverloadSummary>),
}

/// The figures of one replication (or of one class in it) that intervals across
/// replications need.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub latency: Latency,
    pub availability: f64,
    pub throughput_rps: f64,
}

impl Figures {
    fn of(requests: &Counts, latency: &Durations, window_s: f64) -> Figures {
        Figures {
            latency: Latency::of(latency),
            availability: availability_of(requests),
            throughput_rps: requests.succeeded as f64 / window_s,
        }
    }
}

/// One replication's figures, overall and per class.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFigures {
    pub replication: u32,
    pub overall: Figures,
    pub classes: Vec<Figures>,
}

/// Replications pooled as they finish, in any order: one merged record (counts, histograms
/// and integrals, which merge exactly, so the order cannot change a bit of it) plus a few
/// figures per replication, kept in replication order. Memory stays flat in the number of
/// replications: a finished replication's record is merged and dropped at once.
#[derive(Debug, Clone)]
pub struct Pool {
    pub record: Record,
    /// Sorted by replication.
    pub runs: Vec<RunFigures>,
    /// The overload of the lowest-numbered replication that overloaded, if any.
    pub overload: Option<(u32, Overload)>,
    window_s: f64,
}

impl Pool {
    pub fn new(model: &Model) -> Pool {
        Pool {
            record: Record::new(model.services.len(), model.classes.len()),
            runs: Vec::new(),
            overload: None,
            window_s: ns_to_s(model.window_ns() as f64),
        }
    }

    /// Adds one finished replication.
    pub fn add(&mut self, run: RunResult) {
        let record = &run.record;
        let figures = RunFigures {
            replication: run.replication,
            overall: Figures::of(&record.requests, &record.latency, self.window_s),
            classes: record
                .classes
                .iter()
                .map(|c| Figures::of(&c.requests, &c.latency, self.window_s))
                .collect(),
        };
        self.record.add(&run.record);
        self.insert_figures(figures);
        if let Some(overload) = run.overload {
            self.note_overload(run.replication, overload);
        }
    }

    fn insert_figures(&mut self, figures: RunFigures) {
        let at = self
            .runs
            .partition_point(|r| r.replication < figures.replication);
        self.runs.insert(at, figures);
    }

    fn note_overload(&mut self, replication: u32, overload: Overload) {
        if self.overload.as_ref().is_none_or(|(r, _)| replication < *r) {
            self.overload = Some((replication, overload));
        }
    }
}

/// Sums up pooled replications.
pub fn summarize(model: &Model, pool: &Pool) -> Outcome {
    let theories = theory::theory(model);
    if let Some((replication, overload)) = &pool.overload {
        return Outcome::Overloaded(Box::new(overloaded(
            model,
            *replication,
            overload,
            &theories,
        )));
    }
    let pooled = &pool.record;
    let runs = &pool.runs;
    let n = runs.len().max(1) as f64;
    let window_s = ns_to_s(model.window_ns() as f64);
    let duration_s = ns_to_s(model.duration_ns as f64);
    let per_hour_usd: f64 = model
        .services
        .iter()
        .map(|s| f64::from(s.replicas) * s.price_per_hour_usd)
        .sum();
    let throughput_rps = pooled.requests.succeeded as f64 / (window_s * n);
    let availability = availability_of(&pooled.requests);
    let latency = Latency::of(&pooled.latency);
    let cost = Cost {
        total_usd: per_hour_usd * duration_s / 3600.0,
        per_hour_usd,
        per_million_requests_usd: if throughput_rps > 0.0 {
            per_hour_usd / (throughput_rps * 3600.0) * 1e6
        } else {
            0.0
        },
    };
    let window_ns = model.window_ns() as f64 * n;
    let services = model
        .services
        .iter()
        .zip(&pooled.services)
        .zip(theories)
        .map(|((spec, rec), theory)| ServiceSummary {
            name: spec.name.clone(),
            requests: rec.requests,
            latency: Latency::of(&rec.latency),
            queue_wait_mean_ms: ns_to_ms(rec.queue_wait.mean_ns()),
            queue_wait_p99_ms: ns_to_ms(rec.queue_wait.quantile_ns(0.99)),
            utilization: rec.busy_workers.area() as f64 / (window_ns * spec.workers() as f64),
            mean_replicas: f64::from(spec.replicas),
            mean_queue_length: rec.queued.area() as f64 / window_ns,
            mean_in_system: rec.in_system.area() as f64 / window_ns,
            cost_per_hour_usd: f64::from(spec.replicas) * spec.price_per_hour_usd,
            theory,
            paths: PathFigures {
                calls: rec.calls,
                retry_amplification: ratio(rec.requests.arrived, rec.calls),
                retries: rec.retries,
                hedges: rec.hedges,
                short_circuited: rec.short_circuited,
                breaker_opened: rec.breaker_opened,
                wasted_work_s: ns_to_s(rec.wasted_work_ns as f64),
                hit_ratio: (spec.cache.is_some() && rec.cache_lookups > 0)
                    .then(|| ratio(rec.cache_hits, rec.cache_lookups)),
                mean_batch_size: spec
                    .batch
                    .is_some()
                    .then(|| ratio(rec.batched_visits, rec.batches)),
            },
        })
        .collect();
    let visits: u64 = pooled.services.iter().map(|r| r.requests.arrived).sum();
    let calls: u64 = pooled.services.iter().map(|r| r.calls).sum();

    let several = runs.len() > 1;
    let interval = |f: &dyn Fn(&RunFigures) -> f64| -> Interval {
        let values: Vec<f64> = runs.iter().map(f).collect();
        student_t_interval(&values)
    };
    let ci95 = several.then(|| Ci95 {
        latency: LatencyIntervals {
            mean: interval(&|r| r.overall.latency.mean),
            p50: interval(&|r| r.overall.latency.p50),
            p90: interval(&|r| r.overall.latency.p90),
            p95: interval(&|r| r.overall.latency.p95),
            p99: interval(&|r| r.overall.latency.p99),
            p999: interval(&|r| r.overall.latency.p999),
            max: interval(&|r| r.overall.latency.max),
        },
        availability: interval(&|r| r.overall.availability),
        throughput_rps: interval(&|r| r.overall.throughput_rps),
    });
    let overall = Figures {
        latency,
        availability,
        throughput_rps,
    };
    let slo = verdicts(&model.slo, &overall, pooled.requests.succeeded, &|m| {
        several.then(|| interval(&|r| r.overall.get(m)))
    });
    let classes: Vec<ClassSummary> = model
        .classes
        .iter()
        .zip(&pooled.classes)
        .enumerate()
        .map(|(i, (class, rec))| {
            let figures = Figures::of(&rec.requests, &rec.latency, window_s * n);
            let slo = verdicts(&class.slo, &figures, rec.requests.succeeded, &|m| {
                several.then(|| interval(&|r| r.classes[i].get(m)))
            });
            ClassSummary {
                name: class.name.clone(),
                requests: rec.requests,
                throughput_rps: figures.throughput_rps,
                availability: figures.availability,
                latency: figures.latency,
                latency_cdf: cdf_ms(&rec.latency),
                slo_met: slo.iter().all(|v| v.met),
                slo,
            }
        })
        .collect();
    let slo_met = slo.iter().all(|v| v.met) && classes.iter().all(|c| c.slo_met);
    Outcome::Completed(Box::new(Summary {
        scenario: model.name.clone(),
        seed: model.seed,
        replications: runs.len() as u32,
        duration_s,
        warmup_s: ns_to_s(model.warmup_ns as f64),
        requests: pooled.requests,
        throughput_rps,
        availability,
        latency,
        latency_cdf: cdf_ms(&pooled.latency),
        cost,
        services,
        retry_amplification: ratio(visits, calls),
        slo,
        slo_met,
        ci95,
        classes,
    }))
}

impl Figures {
    /// The figure an objective reads (availability as a ratio, latency in ms).
    fn get(&self, measure: Measure) -> f64 {
        match measure {
            Measure::Availability => self.availability,
            m => self.latency.get(m),
        }
    }
}

/// The verdict on each objective, from pooled figures; `interval` gives the 95% interval
/// across replications when there are several.
fn verdicts(
    objectives: &[Objective],
    figures: &Figures,
    succeeded: u64,
    interval: &dyn Fn(Measure) -> Option<Interval>,
) -> Vec<Verdict> {
    objectives
        .iter()
        .map(|objective| {
            let m = objective.measure;
            let observed = figures.get(m);
            let (target, met) = match m {
                Measure::Availability => (objective.target, observed >= objective.target),
                // With no successful request there is no latency to meet a target with.
                _ => {
                    let target_ms = ns_to_ms(objective.target);
                    (target_ms, succeeded > 0 && observed <= target_ms)
                }
            };
            Verdict {
                measure: m,
                target,
                observed,
                met,
                ci95: interval(m),
            }
        })
        .collect()
}

/// `a / b`, or 1 when `b` is 0 (no calls: no amplification; no lookups: nothing missed).
fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// Succeeded / finished; 1 when nothing finished (no request, no failure).
fn availability_of(c: &Counts) -> f64 {
    if c.finished() == 0 {
        1.0
    } else {
        c.succeeded as f64 / c.finished() as f64
    }
}

/// Mean +- t(0.975, n - 1) x standard error; a point interval for fewer than two values.
pub fn student_t_interval(values: &[f64]) -> Interval {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n.max(1) as f64;
    if n < 2 {
        return [mean, mean];
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
        .expect("n - 1 >= 1 degrees of freedom")
        .inverse_cdf(0.975);
    let half = t * (variance / n as f64).sqrt();
    [mean - half, mean + half]
}

fn overloaded(
    model: &Model,
    replication: u32,
    o: &Overload,
    theories: &[ServiceTheory],
) -> OverloadSummary {
    let spec = &model.services[o.service];
    OverloadSummary {
        reason: o.reason,
        scenario: model.name.clone(),
        seed: model.seed,
        replication,
        at_s: ns_to_s(o.at_ns as f64),
        in_flight: o.in_flight,
        max_in_flight: model.max_in_flight,
        service: spec.name.clone(),
        queued: o.queued,
        theory: theories[o.service].clone(),
        workers: spec.workers(),
        mean_service_ms: ns_to_ms(spec.service_time.mean_ns()),
    }
}

impl OverloadSummary {
    /// Requests per second the service's workers can finish at most, each held for the mean
    /// hold time (own work, plus downstream calls when they block the worker).
    pub fn capacity_rps(&self) -> f64 {
        self.workers as f64 / (self.theory.mean_hold_ns / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_t_interval_matches_a_hand_calculation() {
        // values 1..=5: mean 3, s = sqrt(2.5), t(0.975, 4) = 2.776445, half = 2.776445 * sqrt(0.5).
        let [low, high] = student_t_interval(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        let half = 2.776_445_105 * 0.5f64.sqrt();
        assert!((low - (3.0 - half)).abs() < 1e-6 && (high - (3.0 + half)).abs() < 1e-6);
        assert_eq!(student_t_interval(&[7.0]), [7.0, 7.0]);
    }
}
