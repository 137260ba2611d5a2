//! The validated scenario: ids instead of names, nanoseconds instead of strings, defaults
//! filled in. Everything downstream of the loader reads only this.

pub use super::fleet::{Fleet, ServiceFleet};
pub use super::world::Arrivals;
use crate::distribution::Distribution;
use crate::engine::time::Nanos;

/// Index of a service in [`Model::services`].
pub type ServiceId = usize;

#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    pub duration_ns: Nanos,
    pub warmup_ns: Nanos,
    pub seed: u64,
    pub replications: u32,
    /// Requests in flight above which a run stops as overloaded (see `Outcome::Overloaded`).
    pub max_in_flight: usize,
    pub slo: Vec<Objective>,
    pub traffic: Traffic,
    pub services: Vec<Service>,
    /// The time-series window (`scenario.window`).
    pub series_window_ns: Nanos,
    /// Whether runs record the time series (on unless a caller turns it off, e.g. to measure
    /// what it costs).
    pub record_series: bool,
    /// Regions, network, faults and fixed costs.
    pub fleet: Fleet,
}

impl Model {
    /// Length of the measured window `[warmup, duration)`.
    pub fn window_ns(&self) -> Nanos {
        self.duration_ns - self.warmup_ns
    }
}

/// Open-loop Poisson arrivals into one service.
#[derive(Debug, Clone)]
pub struct Traffic {
    pub rate_per_s: f64,
    pub entry: ServiceId,
    /// How requests arrive: Poisson at `rate_per_s` unless shaped, replayed or closed-loop
    /// (then `rate_per_s` is the mean rate, for the theory's offered load).
    pub arrivals: Arrivals,
    /// The default class's data must stay in its region: no failover (`traffic.residency`).
    pub residency: bool,
    /// KB each way per request, for the price of traffic crossing regions.
    pub payload_kb: f64,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub replicas: u32,
    /// Workers per replica.
    pub concurrency: u32,
    /// Waiting room per replica; `None` is unbounded.
    pub queue_capacity: Option<u32>,
    pub service_time: Distribution,
    /// Downstream calls after the service's own work: steps taken in order, each making its
    /// calls together and ending when its join is satisfied.
    pub plan: Vec<Step>,
    /// Whether a worker stays busy until the downstream calls return.
    pub blocking_calls: bool,
    /// Probability that the service's own work ends in an error.
    pub error_rate: f64,
    pub price_per_hour_usd: f64,
    /// Autoscaling, health checks, regions and the extra prices.
    pub fleet: ServiceFleet,
}

impl Service {
    pub fn workers(&self) -> u64 {
        u64::from(self.replicas) * u64::from(self.concurrency)
    }

    /// Every service this one calls, in plan order (with repeats).
    pub fn callees(&self) -> impl Iterator<Item = ServiceId> + '_ {
        self.plan
            .iter()
            .flat_map(|step| step.calls.iter().map(|call| call.service))
    }
}

/// One step of a call plan: calls made at the same time, judged together by `join`.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub calls: Vec<Call>,
    pub join: Join,
}

impl Step {
    /// A step of one plain call: call and wait (what a name in `calls` means).
    pub fn single(service: ServiceId) -> Step {
        Step {
            calls: vec![Call::to(service)],
            join: Join::All,
        }
    }
}

/// When a step is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// Every call must succeed; the first failure fails the step at once (fail-fast) and the
    /// calls still running are cancelled.
    All,
}

/// One downstream call of a step.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub service: ServiceId,
    /// The caller gives up after this long: the call ends `timed_out`, and the callee's work
    /// is cancelled if it has not started (else it finishes, as wasted work).
    pub timeout_ns: Option<Nanos>,
}

impl Call {
    pub fn to(service: ServiceId) -> Call {
        Call {
            service,
            timeout_ns: None,
        }
    }
}

/// What an objective measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Mean,
    P50,
    P90,
    P95,
    P99,
    P999,
    Availability,
}

impl Measure {
    /// The key in `[slo]` and the `objective` name in the JSON summary.
    pub fn key(self) -> &'static str {
        match self {
            Measure::Mean => "mean",
            Measure::P50 => "p50",
            Measure::P90 => "p90",
            Measure::P95 => "p95",
            Measure::P99 => "p99",
            Measure::P999 => "p999",
            Measure::Availability => "availability",
        }
    }

    /// The quantile a percentile objective reads, `None` for mean and availability.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Measure::P50 => Some(0.50),
            Measure::P90 => Some(0.90),
            Measure::P95 => Some(0.95),
            Measure::P99 => Some(0.99),
            Measure::P999 => Some(0.999),
            Measure::Mean | Measure::Availability => None,
        }
    }
}

/// One service-level objective: latency objectives are upper bounds in nanoseconds, the
/// availability objective a lower bound on the success ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Objective {
    pub measure: Measure,
    pub target: f64,
}
