//! Replications -> one summary: pooled figures, confidence intervals across replications,
//! SLO verdicts, cost, and the theory beside each service.

use super::recorder::{Counts, Durations, Record};
use super::run::{Log, Overload, OverloadReason, RunResult};
use super::series::{self, ErrorBudget, Recovery, Series, SeriesRow};
use super::theory::{self, ServiceTheory};
use crate::engine::time::{ns_to_ms, ns_to_s, NS_PER_MS};

/// Hours in a month, as cloud price sheets count them.
pub const HOURS_PER_MONTH: f64 = 730.0;
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
        // One pass over the counts for the five (each replication's figures read them).
        let [p50, p90, p95, p99, p999] = d.quantiles_ns([0.50, 0.90, 0.95, 0.99, 0.999]);
        Latency {
            mean: ns_to_ms(d.mean_ns()),
            p50: ns_to_ms(p50),
            p90: ns_to_ms(p90),
            p95: ns_to_ms(p95),
            p99: ns_to_ms(p99),
            p999: ns_to_ms(p999),
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
            Measure::Availability | Measure::Degraded => f64::NAN,
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

/// 95% intervals from the spread across replications (Student t, n - 1 degrees of freedom),
/// each around the pooled figure it belongs to (see [`interval_around`]); availability's
/// widened to the binomial interval of the pooled counts ([`availability_interval`]);
/// percentiles' taken on the probability scale ([`percentile_interval`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ci95 {
    pub latency: LatencyIntervals,
    pub availability: Interval,
    pub throughput_rps: Interval,
    /// Percentiles whose intervals mean little: some replication had fewer than
    /// [`MIN_TAIL_SAMPLES`] requests beyond the percentile.
    pub thin: Vec<Measure>,
}

/// Requests beyond a percentile each replication needs for that percentile's interval to
/// mean what it says: with fewer, a replication's percentile is biased low (it is read off a
/// handful of the largest values) and the spread across replications understates the error.
/// Measured on M/M/1 at rho 0.8 with 10 replications: the p99 interval covered the truth for
/// 98 of 100 seeds at 10,000 requests per replication (100 beyond the p99), 60 of 100 at 800
/// (8 beyond); with [`percentile_interval`], 94.5% of 1,000 seeds at 10,000 and 95.1% at
/// 5,000 on M/M/1, but 91.8% at 5,000 on M/M/4 (docs/scenarios.md). The coverage test in
/// `tests/integration/summary.rs` runs at about 100 beyond.
pub const MIN_TAIL_SAMPLES: f64 = 100.0;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatencyIntervals {
    pub mean: Interval,
    pub p50: Interval,
    pub p90: Interval,
    pub p95: Interval,
    pub p99: Interval,
    pub p999: Interval,
    /// None: the largest of n draws grows with n, so no interval says where "the" maximum is.
    pub max: Option<Interval>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    pub total_usd: f64,
    pub per_hour_usd: f64,
    pub per_million_requests_usd: f64,
    /// `per_hour_usd` x 730 hours.
    pub per_month_usd: f64,
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
    /// The most replicas billed at once (starting, ready or draining).
    pub peak_replicas: u64,
    pub paths: PathFigures,
    /// With several replications: intervals for the figures above.
    pub ci95: Option<ServiceIntervals>,
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
    /// With several replications: whether the whole interval lies on one side of the target.
    pub confidence: Option<Confidence>,
    /// Some replication had too few requests beyond the percentile for its interval to be
    /// judged by (so `confidence` is `Unsure` whatever the interval says).
    pub thin: bool,
}

/// A verdict judged on its interval rather than its point figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confidence {
    /// The whole interval meets the target.
    Met,
    /// The whole interval misses it.
    Missed,
    /// The interval straddles the target, or is too thin to judge by (see [`Ci95::thin`]).
    Unsure,
}

impl Confidence {
    pub fn key(self) -> &'static str {
        match self {
            Confidence::Met => "met",
            Confidence::Missed => "missed",
            Confidence::Unsure => "unsure",
        }
    }
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
    /// Degraded / finished requests (0 when none finished).
    pub degraded_share: f64,
    /// Hits per lookup over every cache together; `None` without a cache or a lookup.
    pub cache_hit_ratio: Option<f64>,
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
    /// One row per time-series window (empty when the series was not recorded).
    pub series: Vec<SeriesRow>,
    /// What happened in replication 0, in time order, and how many more were not kept.
    pub events: Log,
    /// Names the events refer to by index: faults (their labels) and regions.
    pub fault_labels: Vec<String>,
    pub region_names: Vec<String>,
    /// With an availability objective below 1: the error budget and its burn.
    pub error_budget: Option<ErrorBudget>,
    /// For each fault at a fixed time, the time back within the SLO.
    pub recoveries: Vec<Recovery>,
    /// The deployed services' names (the time series' rollout columns), and how each
    /// rollout went.
    pub deployed: Vec<String>,
    pub rollouts: Vec<RolloutSummary>,
}

/// How a deployment's rollout went over the replications.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutSummary {
    pub service: String,
    pub strategy: &'static str,
    /// Each outcome and the replications that reached it, most common first
    /// (`undecided` when the run ended first).
    pub outcomes: Vec<(&'static str, u32)>,
    /// Means over the replications that decided, and that finished the rollout.
    pub decided_at_s: Option<f64>,
    pub rollout_s: Option<f64>,
    /// A/B tests: per arm (old, new), requests counted and converted, summed.
    pub arms: [(u64, u64); 2],
}

/// The rollouts' summaries from each replication's results.
fn rollout_summaries(model: &Model, runs: &[RunFigures]) -> Vec<RolloutSummary> {
    let mean = |values: Vec<f64>| {
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    model
        .deployments
        .iter()
        .enumerate()
        .map(|(d, spec)| {
            let results: Vec<_> = runs.iter().filter_map(|r| r.rollouts.get(d)).collect();
            let mut outcomes: Vec<(&'static str, u32)> = Vec::new();
            for r in &results {
                let key = r.outcome.unwrap_or("undecided");
                match outcomes.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, n)) => *n += 1,
                    None => outcomes.push((key, 1)),
                }
            }
            outcomes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let mut arms = [(0, 0); 2];
            for r in &results {
                for (mine, theirs) in arms.iter_mut().zip(r.arms) {
                    mine.0 += theirs.0;
                    mine.1 += theirs.1;
                }
            }
            RolloutSummary {
                service: model.services[spec.service].name.clone(),
                strategy: spec.strategy.key(),
                outcomes,
                decided_at_s: mean(
                    results
                        .iter()
                        .filter_map(|r| r.decided_ns.map(|t| ns_to_s(t as f64)))
                        .collect(),
                ),
                rollout_s: mean(
                    results
                        .iter()
                        .filter_map(|r| Some(ns_to_s((r.ended_ns? - r.started_ns?) as f64)))
                        .collect(),
                ),
                arms,
            }
        })
        .collect()
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
    /// Degraded / finished.
    pub degraded_share: f64,
    pub throughput_rps: f64,
    /// Requests timed (succeeded): how far into the tail the percentiles can see.
    pub succeeded: u64,
    /// Requests finished (succeeded or not): how small a failure ratio can be seen.
    pub finished: u64,
}

impl Figures {
    fn of(requests: &Counts, latency: &Durations, window_s: f64) -> Figures {
        Figures {
            latency: Latency::of(latency),
            availability: availability_of(requests),
            degraded_share: degraded_share_of(requests),
            throughput_rps: requests.succeeded as f64 / window_s,
            succeeded: requests.succeeded,
            finished: requests.finished(),
        }
    }
}

/// One replication's figures of one service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceFigures {
    pub latency: Latency,
    pub queue_wait_mean_ms: f64,
    pub queue_wait_p99_ms: f64,
    pub utilization: f64,
}

/// Intervals for a service's figures, as [`Ci95`]'s.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceIntervals {
    pub latency_mean: Interval,
    pub latency_p50: Interval,
    pub latency_p95: Interval,
    pub latency_p99: Interval,
    pub queue_wait_mean: Interval,
    pub queue_wait_p99: Interval,
    pub utilization: Interval,
}

/// Busy worker-time over ready worker-time.
fn utilization_of(rec: &super::recorder::ServiceRecord, concurrency: u32) -> f64 {
    let worker_time = rec.ready.area() as f64 * f64::from(concurrency);
    if worker_time > 0.0 {
        rec.busy_workers.area() as f64 / worker_time
    } else {
        0.0
    }
}

/// One replication's figures, overall and per class.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFigures {
    pub replication: u32,
    pub overall: Figures,
    pub services: Vec<ServiceFigures>,
    pub classes: Vec<Figures>,
    pub rollouts: Vec<crate::metrics::run::RolloutResult>,
}

/// Replications pooled as they finish, in any order: one merged record and one merged time
/// series (counts, histograms and integrals, which merge exactly, so the order cannot change
/// a bit of them) plus a few figures per replication, kept in replication order. Memory stays
/// flat in the number of replications: a finished replication's record and series are merged
/// and dropped at once.
#[derive(Debug, Clone)]
pub struct Pool {
    pub record: Record,
    /// Sorted by replication.
    pub runs: Vec<RunFigures>,
    /// The overload of the lowest-numbered replication that overloaded, if any.
    pub overload: Option<(u32, Overload)>,
    window_s: f64,
    /// Workers per replica of each service, for each replication's utilization.
    concurrency: Vec<u32>,
    /// The time series, summed over replications window by window (integers and
    /// histograms, read as figures only at summary time).
    pub series: Series,
    /// Replication 0's log of happenings.
    pub log: Log,
}

impl Pool {
    pub fn new(model: &Model) -> Pool {
        Pool {
            record: Record::new(model.services.len(), model.classes.len()),
            runs: Vec::new(),
            overload: None,
            window_s: ns_to_s(model.window_ns() as f64),
            concurrency: model.services.iter().map(|s| s.concurrency).collect(),
            series: Series::default(),
            log: Log::default(),
        }
    }

    /// Adds one finished replication.
    pub fn add(&mut self, run: RunResult) {
        let record = &run.record;
        let figures = RunFigures {
            replication: run.replication,
            overall: Figures::of(&record.requests, &record.latency, self.window_s),
            services: record
                .services
                .iter()
                .zip(&self.concurrency)
                .map(|(rec, &concurrency)| ServiceFigures {
                    latency: Latency::of(&rec.latency),
                    queue_wait_mean_ms: ns_to_ms(rec.queue_wait.mean_ns()),
                    queue_wait_p99_ms: ns_to_ms(rec.queue_wait.quantile_ns(0.99)),
                    utilization: utilization_of(rec, concurrency),
                })
                .collect(),
            classes: record
                .classes
                .iter()
                .map(|c| Figures::of(&c.requests, &c.latency, self.window_s))
                .collect(),
            rollouts: run.rollouts.clone(),
        };
        self.record.add(&run.record);
        self.series.add(run.series);
        if run.replication == 0 {
            self.log = run.log;
        }
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
    // Money: billed replica-time at each region's price (the integral of the billed count,
    // which is replicas x time for a fixed pool), requests at their price, fixed items.
    let window_hours = window_s * n / 3600.0;
    let fixed_per_hour_usd = fixed_per_hour_usd(model);
    let service_costs: Vec<(f64, f64)> = model
        .services
        .iter()
        .zip(&pooled.services)
        .map(|(spec, rec)| {
            let hourly = replica_hour_usd(spec);
            let factor = |region: usize| region_price_factor(model, spec, region);
            let (mut per_hour, mut total) = (0.0, 0.0);
            for (region, billed) in rec.billed.iter().enumerate() {
                per_hour +=
                    billed.area() as f64 / (model.window_ns() as f64 * n) * hourly * factor(region);
                total += billed.run_area() as f64 / n / 3.6e12 * hourly * factor(region);
            }
            // A deployment's new version at its own price (deployed services are not
            // regional): its replica-time moves from the old price to the new.
            if spec.versions.len() > 1 {
                let extra = spec.price_per_hour_of(1) - spec.price_per_hour_usd;
                let extra = extra * (1.0 - spec.fleet.spot_discount);
                per_hour += rec.billed_new.area() as f64 / (model.window_ns() as f64 * n) * extra;
                total += rec.billed_new.run_area() as f64 / n / 3.6e12 * extra;
            }
            let price = spec.fleet.price_per_request_usd;
            per_hour += rec.requests.arrived as f64 * price / window_hours;
            total += rec.visits as f64 * price / n;
            (per_hour, total)
        })
        .collect();
    // Traffic between regions: a failed-over request carries its payload there and back.
    // Each class's payload, there and back, for each of its requests served away from home.
    let cross_region_gb: f64 = model
        .classes
        .iter()
        .zip(&pooled.classes)
        .map(|(class, rec)| rec.cross_region as f64 * 2.0 * class.payload_kb / 1e6)
        .sum();
    let cross_region_per_hour_usd =
        cross_region_gb * model.fleet.price_per_gb_cross_region_usd / window_hours;
    let per_hour_usd: f64 = service_costs.iter().map(|c| c.0).sum::<f64>()
        + fixed_per_hour_usd
        + cross_region_per_hour_usd;
    let throughput_rps = pooled.requests.succeeded as f64 / (window_s * n);
    let availability = availability_of(&pooled.requests);
    let latency = Latency::of(&pooled.latency);
    let cost = Cost {
        total_usd: service_costs.iter().map(|c| c.1).sum::<f64>()
            + (fixed_per_hour_usd + cross_region_per_hour_usd) * duration_s / 3600.0,
        per_hour_usd,
        per_million_requests_usd: if throughput_rps > 0.0 {
            per_hour_usd / (throughput_rps * 3600.0) * 1e6
        } else {
            0.0
        },
        per_month_usd: per_hour_usd * HOURS_PER_MONTH,
    };
    let window_ns = model.window_ns() as f64 * n;
    let several = runs.len() > 1;
    let services = model
        .services
        .iter()
        .zip(&pooled.services)
        .zip(theories)
        .zip(&service_costs)
        .enumerate()
        .map(
            |(index, (((spec, rec), theory), &(cost_per_hour_usd, _)))| ServiceSummary {
                name: spec.name.clone(),
                requests: rec.requests,
                latency: Latency::of(&rec.latency),
                queue_wait_mean_ms: ns_to_ms(rec.queue_wait.mean_ns()),
                queue_wait_p99_ms: ns_to_ms(rec.queue_wait.quantile_ns(0.99)),
                // Busy worker-time over ready worker-time: with a changing fleet the workers are
                // those of the replicas ready at each moment.
                utilization: {
                    let worker_time = rec.ready.area() as f64 * f64::from(spec.concurrency);
                    if worker_time > 0.0 {
                        rec.busy_workers.area() as f64 / worker_time
                    } else {
                        0.0
                    }
                },
                mean_replicas: rec.ready.area() as f64 / window_ns,
                mean_queue_length: rec.queued.area() as f64 / window_ns,
                mean_in_system: rec.in_system.area() as f64 / window_ns,
                cost_per_hour_usd,
                theory,
                peak_replicas: rec.peak_replicas,
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
                ci95: several.then(|| {
                    let values = |f: &dyn Fn(&ServiceFigures) -> f64| -> Vec<f64> {
                        runs.iter().map(|r| f(&r.services[index])).collect()
                    };
                    let of = |f: &dyn Fn(&ServiceFigures) -> f64, center: f64| {
                        interval_around(center, &values(f))
                    };
                    let latency = Latency::of(&rec.latency);
                    let percentile = |q: f64, f: &dyn Fn(&ServiceFigures) -> f64, center: f64| {
                        percentile_interval(&rec.latency, q, center, &values(f))
                    };
                    ServiceIntervals {
                        latency_mean: of(&|f| f.latency.mean, latency.mean),
                        latency_p50: percentile(0.50, &|f| f.latency.p50, latency.p50),
                        latency_p95: percentile(0.95, &|f| f.latency.p95, latency.p95),
                        latency_p99: percentile(0.99, &|f| f.latency.p99, latency.p99),
                        queue_wait_mean: of(
                            &|f| f.queue_wait_mean_ms,
                            ns_to_ms(rec.queue_wait.mean_ns()),
                        ),
                        queue_wait_p99: percentile_interval(
                            &rec.queue_wait,
                            0.99,
                            ns_to_ms(rec.queue_wait.quantile_ns(0.99)),
                            &values(&|f| f.queue_wait_p99_ms),
                        ),
                        utilization: interval_around(
                            utilization_of(rec, spec.concurrency),
                            &values(&|f| f.utilization),
                        ),
                    }
                }),
            },
        )
        .collect();
    let visits: u64 = pooled.services.iter().map(|r| r.requests.arrived).sum();
    let calls: u64 = pooled.services.iter().map(|r| r.calls).sum();

    let interval = |center: f64, f: &dyn Fn(&RunFigures) -> f64| -> Interval {
        let values: Vec<f64> = runs.iter().map(f).collect();
        interval_around(center, &values)
    };
    let fewest_timed = |f: &dyn Fn(&RunFigures) -> u64| runs.iter().map(f).min().unwrap_or(0);
    let thin = |fewest: u64| -> Vec<Measure> {
        [
            Measure::P50,
            Measure::P90,
            Measure::P95,
            Measure::P99,
            Measure::P999,
        ]
        .into_iter()
        .filter(|m| {
            let q = m.quantile().expect("a percentile");
            (fewest as f64) * (1.0 - q) < MIN_TAIL_SAMPLES
        })
        .collect()
    };
    let overall_thin = thin(fewest_timed(&|r| r.overall.succeeded));
    let percentile = |m: Measure| -> Interval {
        let values: Vec<f64> = runs.iter().map(|r| r.overall.latency.get(m)).collect();
        let q = m.quantile().expect("a percentile");
        percentile_interval(&pooled.latency, q, latency.get(m), &values)
    };
    let ci95 = several.then(|| Ci95 {
        latency: LatencyIntervals {
            mean: interval(latency.mean, &|r| r.overall.latency.mean),
            p50: percentile(Measure::P50),
            p90: percentile(Measure::P90),
            p95: percentile(Measure::P95),
            p99: percentile(Measure::P99),
            p999: percentile(Measure::P999),
            max: None,
        },
        availability: {
            let values: Vec<f64> = runs.iter().map(|r| r.overall.availability).collect();
            availability_interval(&pooled.requests, availability, &values)
        },
        throughput_rps: interval(throughput_rps, &|r| r.overall.throughput_rps),
        thin: overall_thin.clone(),
    });
    let overall = Figures {
        latency,
        availability,
        degraded_share: degraded_share_of(&pooled.requests),
        throughput_rps,
        succeeded: pooled.requests.succeeded,
        finished: pooled.requests.finished(),
    };
    let slo = verdicts(
        &model.slo,
        &overall,
        &Thin {
            percentiles: &overall_thin,
            fewest_finished: fewest_timed(&|r| r.overall.finished),
        },
        &|m, center| {
            several.then(|| {
                let values: Vec<f64> = runs.iter().map(|r| r.overall.get(m)).collect();
                objective_interval(m, center, &values, pooled.requests, &pooled.latency)
            })
        },
    );
    let classes: Vec<ClassSummary> = model
        .classes
        .iter()
        .zip(&pooled.classes)
        .enumerate()
        .map(|(i, (class, rec))| {
            let figures = Figures::of(&rec.requests, &rec.latency, window_s * n);
            let class_thin = thin(fewest_timed(&|r| r.classes[i].succeeded));
            let thin = Thin {
                percentiles: &class_thin,
                fewest_finished: fewest_timed(&|r| r.classes[i].finished),
            };
            let slo = verdicts(&class.slo, &figures, &thin, &|m, center| {
                several.then(|| {
                    let values: Vec<f64> = runs.iter().map(|r| r.classes[i].get(m)).collect();
                    objective_interval(m, center, &values, rec.requests, &rec.latency)
                })
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

    let availability_slo = model
        .slo
        .iter()
        .find(|o| o.measure == Measure::Availability)
        .map(|o| o.target);
    let series = series::report_rows(&pool.series, model, runs.len() as u32, availability_slo);
    let error_budget =
        availability_slo.and_then(|a| series::error_budget(a, &pooled.requests, &pool.series));
    // A window meets the SLO on availability and on the percentiles a window has.
    let meets = |row: &SeriesRow| {
        model.slo.iter().all(|o| match o.measure {
            Measure::Availability => row.availability >= o.target,
            Measure::P50 => row.p50_ms <= ns_to_ms(o.target),
            Measure::P95 => row.p95_ms <= ns_to_ms(o.target),
            Measure::P99 => row.p99_ms <= ns_to_ms(o.target),
            _ => true,
        })
    };
    let timed_faults: Vec<(String, u64)> = model
        .fleet
        .faults
        .iter()
        .filter_map(|f| f.kind.window().map(|(at, _)| (f.label.clone(), at)))
        .collect();
    let recoveries = if series.is_empty() || model.slo.is_empty() {
        Vec::new()
    } else {
        series::recoveries(&timed_faults, &series, &meets)
    };
    Outcome::Completed(Box::new(Summary {
        scenario: model.name.clone(),
        seed: model.seed,
        replications: runs.len() as u32,
        duration_s,
        warmup_s: ns_to_s(model.warmup_ns as f64),
        requests: pooled.requests,
        throughput_rps,
        availability,
        degraded_share: degraded_share_of(&pooled.requests),
        cache_hit_ratio: {
            let caches = model
                .services
                .iter()
                .zip(&pooled.services)
                .filter(|(spec, _)| spec.cache.is_some());
            let (hits, lookups) = caches.fold((0, 0), |(h, l), (_, rec)| {
                (h + rec.cache_hits, l + rec.cache_lookups)
            });
            (lookups > 0).then(|| ratio(hits, lookups))
        },
        latency,
        latency_cdf: cdf_ms(&pooled.latency),
        cost,
        services,
        retry_amplification: ratio(visits, calls),
        slo,
        slo_met,
        ci95,
        classes,
        series,
        events: pool.log.clone(),
        fault_labels: model.fleet.faults.iter().map(|f| f.label.clone()).collect(),
        region_names: model.fleet.regions.iter().map(|r| r.name.clone()).collect(),
        error_budget,
        recoveries,
        deployed: model
            .deployments
            .iter()
            .map(|d| model.services[d.service].name.clone())
            .collect(),
        rollouts: rollout_summaries(model, runs),
    }))
}

impl Figures {
    /// The figure an objective reads (availability as a ratio, latency in ms).
    fn get(&self, measure: Measure) -> f64 {
        match measure {
            Measure::Availability => self.availability,
            Measure::Degraded => self.degraded_share,
            m => self.latency.get(m),
        }
    }
}

/// What a set of replications has too little of to judge an objective by its interval.
struct Thin<'a> {
    /// Percentiles with too few requests beyond them in some replication (see
    /// [`MIN_TAIL_SAMPLES`]).
    percentiles: &'a [Measure],
    /// The fewest requests any replication finished (see [`MIN_FAILURES_TO_JUDGE`]).
    fewest_finished: u64,
}

impl Thin<'_> {
    /// Whether objective `o` is too thin to judge.
    fn judges_out(&self, o: &Objective) -> bool {
        match o.measure {
            Measure::Availability => {
                (self.fewest_finished as f64) * (1.0 - o.target) < MIN_FAILURES_TO_JUDGE
            }
            // The same rule of three, for the degraded answers the target allows.
            Measure::Degraded => (self.fewest_finished as f64) * o.target < MIN_FAILURES_TO_JUDGE,
            m => self.percentiles.contains(&m),
        }
    }
}

/// Failures a replication must be able to show for an availability target `a` to be judged:
/// it needs at least `3 / (1 - a)` finished requests. With no failure among n requests the
/// 95% upper bound on the failure ratio is about 3 / n (the "rule of three"), so with fewer
/// requests even a flawless replication cannot show the target met; and a replication that
/// expects under 3 failures mostly sees 0 or 1, so the spread across replications says
/// little. Per replication rather than pooled because failures come in bursts within a
/// replication (faults, overload) that only the spread across replications measures, and,
/// as with [`MIN_TAIL_SAMPLES`], more replications of the same length do not help; longer
/// ones do.
pub const MIN_FAILURES_TO_JUDGE: f64 = 3.0;

/// The verdict on each objective, from pooled figures; `interval` gives the 95% interval
/// when there are several replications.
fn verdicts(
    objectives: &[Objective],
    figures: &Figures,
    thin: &Thin,
    interval: &dyn Fn(Measure, f64) -> Option<Interval>,
) -> Vec<Verdict> {
    objectives
        .iter()
        .map(|objective| {
            let m = objective.measure;
            let observed = figures.get(m);
            let (target, met) = match m {
                Measure::Availability => (objective.target, observed >= objective.target),
                Measure::Degraded => (objective.target, observed <= objective.target),
                // With no successful request there is no latency to meet a target with.
                _ => {
                    let target_ms = ns_to_ms(objective.target);
                    (target_ms, figures.succeeded > 0 && observed <= target_ms)
                }
            };
            let ci95 = interval(m, observed);
            let thin = ci95.is_some() && thin.judges_out(objective);
            let confidence = ci95.map(|[low, high]| {
                let (surely_met, surely_missed) = match m {
                    Measure::Availability => (low >= target, high < target),
                    Measure::Degraded => (high <= target, low > target),
                    _ => (high <= target && figures.succeeded > 0, low > target),
                };
                if thin {
                    Confidence::Unsure
                } else if surely_met {
                    Confidence::Met
                } else if surely_missed {
                    Confidence::Missed
                } else {
                    Confidence::Unsure
                }
            });
            Verdict {
                measure: m,
                target,
                observed,
                met,
                ci95,
                confidence,
                thin,
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

/// Degraded / finished: the share of finished requests answered degraded; 0 when nothing
/// finished.
pub fn degraded_share_of(c: &Counts) -> f64 {
    if c.finished() == 0 {
        0.0
    } else {
        c.degraded as f64 / c.finished() as f64
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

/// `interval` widened, if need be, to the 0.1% precision of the histograms percentiles are
/// read from (half of it on each side): however alike the replications' figures, a
/// percentile is known no better than that.
fn widen_to_precision([low, high]: Interval, center: f64) -> Interval {
    let half = center.abs() * 0.0005;
    [low.min(center - half), high.max(center + half)]
}

/// The interval of objective `m`'s figure, `center` pooled from `counts` and `latency`,
/// `values` the replications' own.
fn objective_interval(
    m: Measure,
    center: f64,
    values: &[f64],
    counts: Counts,
    latency: &Durations,
) -> Interval {
    match (m, m.quantile()) {
        (Measure::Availability, _) => availability_interval(&counts, center, values),
        (Measure::Degraded, _) => {
            share_interval(counts.degraded, counts.finished(), center, values)
        }
        (_, Some(q)) => percentile_interval(latency, q, center, values),
        _ => interval_around(center, values),
    }
}

/// z with 2.5% of the standard normal above it.
const Z_975: f64 = 1.959_963_984_540_054;

/// The 95% Wilson score interval of a success ratio: `succeeded` of `finished` trials.
/// Chosen over the normal approximation, which collapses to a point when no trial failed
/// and can pass 1, and over Clopper-Pearson, which is exact but conservative (it covers
/// more than 95%, often 97-99%, so it calls fewer verdicts); Wilson's coverage stays close
/// to 95% for failure ratios down to a few over n, which [`MIN_FAILURES_TO_JUDGE`] ensures
/// for any judged verdict. Always within [0, 1]; [1, 1] when nothing finished.
pub fn wilson_interval(succeeded: u64, finished: u64) -> Interval {
    if finished == 0 {
        return [1.0, 1.0];
    }
    let n = finished as f64;
    let p = succeeded as f64 / n;
    let z2 = Z_975 * Z_975;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z_975 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    [(centre - half).max(0.0), (centre + half).min(1.0)]
}

/// The 95% interval of an availability: the wider of the Wilson interval of the pooled
/// counts (every request an independent trial) and the t-interval across the replications'
/// own availabilities ([`interval_around`]), clipped to [0, 1]. Failures are often
/// correlated within a replication (a fault fails a burst of requests), which makes the
/// binomial interval too narrow; the spread across replications sees that, but collapses to
/// a point when no replication saw a failure, where the binomial interval does not.
pub fn availability_interval(pooled: &Counts, center: f64, values: &[f64]) -> Interval {
    share_interval(pooled.succeeded, pooled.finished(), center, values)
}

/// The 95% interval of a share of requests, `count` of `finished` pooled (`center`, and
/// `values` the replications' own), as [`availability_interval`] makes it: what the degraded
/// share's interval is too.
pub fn share_interval(count: u64, finished: u64, center: f64, values: &[f64]) -> Interval {
    let [w_low, w_high] = wilson_interval(count, finished);
    let [t_low, t_high] = interval_around(center, values);
    [w_low.min(t_low).max(0.0), w_high.max(t_high).min(1.0)]
}

/// A 95% interval around `center`, the pooled figure: `center +- t(0.975, n - 1) x s /
/// sqrt(n)`, where s is the standard deviation of the n replications' own figures. The pooled
/// figure comes from all n replications' requests at once, so its standard error is about
/// that of the average of n independent replication figures; centring the interval on it (and
/// not on that average) keeps the printed figure inside its own interval, and keeps the
/// small-sample bias of per-replication percentiles out of the centre. A point interval for
/// fewer than two values.
pub fn interval_around(center: f64, values: &[f64]) -> Interval {
    if values.len() < 2 {
        return [center, center];
    }
    let half = t_half_width(values);
    [center - half, center + half]
}

/// `t(0.975, n - 1) x s / sqrt(n)` of n >= 2 values: the half-width of their mean's 95%
/// Student t-interval.
fn t_half_width(values: &[f64]) -> f64 {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
        .expect("n - 1 >= 1 degrees of freedom")
        .inverse_cdf(0.975);
    t * (variance / n as f64).sqrt()
}

/// The 95% interval of percentile `q` (0..1) of a latency, `center` ms read off `pooled` (the
/// replications' histograms merged), from the replications' own percentiles `values` (ms).
/// Each replication's percentile is carried to the probability scale through the pooled
/// distribution, `u_i = F(v_i)`; the t-interval is taken there, `q +- h` with `h = t(0.975,
/// n - 1) x s_u / sqrt(n)`; and its ends are carried back, `[Q(q - h), Q(q + h)]`, F and Q
/// being the pooled distribution and its quantile function (Woodruff's 1952 interval for a
/// quantile, with the spread on the probability scale measured across replications).
///
/// Why not the t-interval of the `v_i` themselves: a latency's tail is long, so a
/// percentile is spread much more above than below, and a replication that drew a long
/// busy period both raises the figure and widens the spread; the symmetric interval then
/// misses above far more often than below. On the probability scale the replications'
/// figures are nearly symmetric, and Q's curvature gives the interval its longer upper arm
/// (1.4 to 3 times the lower on M/M/c at rho 0.8). Measured coverage (M/M/1 and M/M/4 at
/// rho 0.8, 10 replications, 1,000 to 2,000 seeds): docs/scenarios.md, "Confidence
/// intervals". Never narrower than the histogram's precision ([`widen_to_precision`]); it
/// contains `center`, since `Q(q)` is `center`.
pub fn percentile_interval(pooled: &Durations, q: f64, center: f64, values: &[f64]) -> Interval {
    if values.len() < 2 {
        return widen_to_precision([center, center], center);
    }
    let values_ns: Vec<f64> = values.iter().map(|v| v * NS_PER_MS).collect();
    let u = pooled.fractions_at_most_ns(&values_ns);
    let half = t_half_width(&u);
    let at = |p: f64| ns_to_ms(pooled.quantile_ns(p.clamp(0.0, 1.0)));
    widen_to_precision([at(q - half).min(center), at(q + half).max(center)], center)
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

/// A replica-hour of `spec` at its price, less any spot discount (before its region's price
/// factor).
pub fn replica_hour_usd(spec: &crate::scenario::model::Service) -> f64 {
    spec.price_per_hour_usd * (1.0 - spec.fleet.spot_discount)
}

/// The price factor of `region` for `spec`: the region's for a regional service, else 1.
pub fn region_price_factor(
    model: &Model,
    spec: &crate::scenario::model::Service,
    region: usize,
) -> f64 {
    match &spec.fleet.regions {
        Some(_) => model
            .fleet
            .regions
            .get(region)
            .map_or(1.0, |r| r.price_factor),
        None => 1.0,
    }
}

/// The fixed monthly items, per hour.
pub fn fixed_per_hour_usd(model: &Model) -> f64 {
    model
        .fleet
        .fixed_monthly_usd
        .iter()
        .map(|(_, usd)| usd)
        .sum::<f64>()
        / HOURS_PER_MONTH
}

/// What a design costs per hour before it runs: its configured replicas (per region, at the
/// region's price factor) at their replica-hour price less any spot discount, plus the fixed
/// monthly items. What a run measures (`Cost::per_hour_usd`) also counts autoscaling, prices
/// per request and traffic between regions; this is for designs that are not run (a plan's
/// unstable designs) or that stopped overloaded.
pub fn nominal_cost_per_hour_usd(model: &Model) -> f64 {
    let replicas: f64 = model
        .services
        .iter()
        .map(|spec| {
            let hourly = spec.price_per_hour_usd * (1.0 - spec.fleet.spot_discount);
            match &spec.fleet.regions {
                Some(per_region) => per_region
                    .iter()
                    .enumerate()
                    .map(|(region, &n)| {
                        let factor = model
                            .fleet
                            .regions
                            .get(region)
                            .map_or(1.0, |r| r.price_factor);
                        f64::from(n) * hourly * factor
                    })
                    .sum(),
                None => f64::from(spec.replicas) * hourly,
            }
        })
        .sum();
    let fixed: f64 = model
        .fleet
        .fixed_monthly_usd
        .iter()
        .map(|(_, usd)| usd)
        .sum();
    replicas + fixed / HOURS_PER_MONTH
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_matches_a_hand_calculation() {
        // values 1..=5: s = sqrt(2.5), t(0.975, 4) = 2.776445, half = 2.776445 x sqrt(0.5),
        // around the pooled figure 3.2 (not the values' mean, 3).
        let [low, high] = interval_around(3.2, &[1.0, 2.0, 3.0, 4.0, 5.0]);
        let half = 2.776_445_105 * 0.5f64.sqrt();
        assert!((low - (3.2 - half)).abs() < 1e-6 && (high - (3.2 + half)).abs() < 1e-6);
        assert_eq!(interval_around(7.0, &[7.5]), [7.0, 7.0]);
    }

    #[test]
    fn percentile_interval_is_the_t_interval_on_the_probability_scale_carried_back() {
        // Pooled: 100,000 exponential durations of mean 1 ms at their quantiles, so
        // Q(p) = -ln(1 - p) ms. Replications' p99s at the pooled quantiles 0.988, 0.990 and
        // 0.992: u = those, s_u = 0.002, t(0.975, 2) = 4.302653, h = 4.302653 x 0.002 /
        // sqrt(3) = 0.0049683. The interval is [Q(0.9850317), Q(0.9949683)] =
        // [-ln(0.0149683), -ln(0.0050317)] = [4.20182, 5.29199] ms around Q(0.99) = 4.60517:
        // arms 0.40335 below and 0.68682 above, where the t-interval of the three p99s
        // themselves (4.42285, 4.60517, 4.82831 ms) would be symmetric.
        let n = 100_000;
        let mut pooled = Durations::default();
        for k in 0..n {
            let p = (f64::from(k) + 0.5) / f64::from(n);
            pooled.record((-(1.0 - p).ln() * 1e6).round() as u64);
        }
        let q = |p: f64| -(1.0 - p).ln();
        let values = [q(0.988), q(0.990), q(0.992)];
        let center = ns_to_ms(pooled.quantile_ns(0.99));
        let [low, high] = percentile_interval(&pooled, 0.99, center, &values);
        // The histogram keeps 3 significant digits: 0.1%.
        let close = |a: f64, b: f64| (a / b - 1.0).abs() < 1e-3;
        assert!(close(center, 4.60517), "{center}");
        assert!(close(low, 4.20182), "{low}");
        assert!(close(high, 5.29199), "{high}");
        assert!(high - center > 1.6 * (center - low));
        // One replication: no spread to measure, the histogram's precision only.
        let [low, high] = percentile_interval(&pooled, 0.99, center, &values[..1]);
        assert!(close(low, center) && close(high, center) && low < center && center < high);
    }

    #[test]
    fn wilson_intervals_match_a_hand_calculation_and_stay_within_0_and_1() {
        // 0 failures in 3,000: [n / (n + z^2), 1] = [3000 / 3003.8415, 1].
        let [low, high] = wilson_interval(3000, 3000);
        assert!((low - 3000.0 / (3000.0 + Z_975 * Z_975)).abs() < 1e-12 && high == 1.0);
        // 90 of 100: centre (0.9 + 1.9208 / 100) / 1.038415 = 0.885212, half 1.959964 /
        // 1.038415 x sqrt(0.0009 + 0.000096) = 0.059568: [0.825634, 0.944771].
        let [low, high] = wilson_interval(90, 100);
        assert!((low - 0.825_634).abs() < 1e-5 && (high - 0.944_771).abs() < 1e-5);
        assert_eq!(wilson_interval(0, 0), [1.0, 1.0]);
        assert_eq!(wilson_interval(0, 5)[0], 0.0);
    }
}
