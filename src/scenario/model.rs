//! The validated scenario: ids instead of names, nanoseconds instead of strings, defaults
//! filled in. Everything downstream of the loader reads only this.

pub use super::deploy::Deployment;
use super::fleet::Backlog;
pub use super::fleet::{Fleet, ServiceFleet};
pub use super::ids::ServiceId;
pub use super::world::Arrivals;
use crate::distribution::Distribution;
use crate::engine::time::Nanos;

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
    /// Kinds of request, at least one: without `[[class]]`, one class named "default" whose
    /// entry is `traffic.entry`.
    pub classes: Vec<Class>,
    /// The time-series window (`scenario.window`).
    pub series_window_ns: Nanos,
    /// Whether runs record the time series (on unless a caller turns it off, e.g. to measure
    /// what it costs).
    pub record_series: bool,
    /// Regions, network, faults and fixed costs.
    pub fleet: Fleet,
    /// New versions rolled out during the run (at most one per service).
    pub deployments: Vec<Deployment>,
}

impl Model {
    /// Length of the measured window `[warmup, duration)`.
    pub fn window_ns(&self) -> Nanos {
        self.duration_ns - self.warmup_ns
    }
}

/// Arrivals, split between the classes by weight.
#[derive(Debug, Clone)]
pub struct Traffic {
    pub rate_per_s: f64,
    /// How requests arrive: Poisson at `rate_per_s` unless shaped, replayed or closed-loop
    /// (then `rate_per_s` is the mean rate, for the theory's offered load).
    pub arrivals: Arrivals,
    /// The default of every class's `residency`, `backlog` and `payload_kb`.
    pub residency: bool,
    pub backlog: Option<Backlog>,
    pub payload_kb: f64,
    /// The default class's `conversion`.
    pub conversion: f64,
}

/// Index of a class in [`Model::classes`].
pub type ClassId = u16;

/// One kind of request: its share of arrivals, where it enters, and its own objectives.
#[derive(Debug, Clone)]
pub struct Class {
    pub name: String,
    /// Share of arrivals, normalized so that the classes' shares sum to 1.
    pub share: f64,
    pub entry: ServiceId,
    pub slo: Vec<Objective>,
    /// Its requests' data must stay in their client's region: they never fail over.
    pub residency: bool,
    /// With residency: its requests wait while their region is down, instead of failing.
    pub backlog: Option<Backlog>,
    /// KB each request carries each way, for the price of traffic between regions.
    pub payload_kb: f64,
    /// Probability that a request of the class converts (an A/B test's outcome), on the
    /// service's own version.
    pub conversion: f64,
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
    /// How a visit picks a replica.
    pub balancer: BalancerKind,
    /// Independent instances of the balancer, each taking a share of the visits and keeping
    /// its own state (1: one shared balancer).
    pub balancer_instances: u32,
    /// A cache (`kind = "cache"`): a lookup after the service's own work; a miss takes the
    /// steps of `Cache::on_miss` (and fills a keyed cache), a hit answers at once.
    pub cache: Option<Cache>,
    /// Dynamic batching of the service's work.
    pub batch: Option<Batch>,
    /// A token bucket in front of the service: a visit finding no token is rejected.
    pub rate_limit: Option<RateLimit>,
    /// A visit that waited longer than this for a worker is dropped (timed out).
    pub queue_timeout_ns: Option<Nanos>,
    /// A breaker on calls into the service, shared by every caller.
    pub circuit_breaker: Option<CircuitBreaker>,
    /// Autoscaling, health checks, regions and the extra prices.
    pub fleet: ServiceFleet,
    /// Versions of the service that a run may hold side by side (a rollout's old and new):
    /// version 0 is the keys above; each later one changes some of them. A replica carries
    /// its version, and what a version changes is read through it.
    pub versions: Vec<Version>,
}

/// What a version of a service changes; `None` keeps the service's own key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Version {
    pub name: String,
    pub service_time: Option<Distribution>,
    pub error_rate: Option<f64>,
    pub price_per_hour_usd: Option<f64>,
}

impl Version {
    /// Version 0: the service's own keys, unchanged.
    pub fn base() -> Version {
        Version {
            name: "base".into(),
            ..Version::default()
        }
    }
}

impl Service {
    /// The service time of a replica of `version`.
    #[inline]
    pub fn service_time_of(&self, version: u8) -> &Distribution {
        match self.versions.get(usize::from(version)) {
            Some(Version {
                service_time: Some(d),
                ..
            }) => d,
            _ => &self.service_time,
        }
    }

    /// The error rate of a replica of `version`.
    #[inline]
    pub fn error_rate_of(&self, version: u8) -> f64 {
        self.versions
            .get(usize::from(version))
            .and_then(|v| v.error_rate)
            .unwrap_or(self.error_rate)
    }

    /// The price per replica-hour of a replica of `version`.
    pub fn price_per_hour_of(&self, version: u8) -> f64 {
        self.versions
            .get(usize::from(version))
            .and_then(|v| v.price_per_hour_usd)
            .unwrap_or(self.price_per_hour_usd)
    }

    pub fn workers(&self) -> u64 {
        u64::from(self.replicas) * u64::from(self.concurrency)
    }

    /// Every service this one calls, in plan order (with repeats), cache misses and
    /// fallbacks included.
    pub fn callees(&self) -> impl Iterator<Item = ServiceId> + '_ {
        self.call_specs().into_iter().map(|call| call.service)
    }

    /// Every call this service can make, in plan order: each step's calls, each followed by
    /// its chain of fallbacks, then the step's own fallback (and its chain); cache misses
    /// included. What setting up per-callee state (breakers, budgets) walks.
    pub fn call_specs(&self) -> Vec<&Call> {
        let mut out = Vec::new();
        for step in self
            .plan
            .iter()
            .chain(self.cache.iter().flat_map(|c| c.on_miss.iter()))
        {
            for call in step.calls.iter().chain(step.fallback.as_deref()) {
                let mut next = Some(call);
                while let Some(call) = next {
                    out.push(call);
                    next = call.fallback.as_deref();
                }
            }
        }
        out
    }

    /// Whether any call leaves the plain "call and wait, fail fast" of `calls = ["a"]`.
    pub fn has_call_options(&self) -> bool {
        self.plan
            .iter()
            .chain(self.cache.iter().flat_map(|c| c.on_miss.iter()))
            .any(|step| {
                step.join != Join::All
                    || step.deadline_ns.is_some()
                    || step.fallback.is_some()
                    || step.calls.len() > 1
                    || step.calls.iter().any(|c| !c.is_plain())
            })
    }
}

/// The balancing policies (state lives in `components::balancer`).
#[derive(Debug, Clone, PartialEq)]
pub enum BalancerKind {
    RoundRobin,
    Random,
    LeastOutstanding,
    PowerOfTwo,
    /// Replica `i` gets `weights[i % weights.len()]` of the traffic.
    Weighted(Vec<f64>),
    /// A ring of `virtual_nodes` points per replica slot.
    ConsistentHash {
        virtual_nodes: u32,
    },
}

/// The most balancer instances a service may run (`instances` in a balancer table).
pub const MAX_BALANCER_INSTANCES: u32 = 1024;

/// Virtual nodes per replica on a consistent-hash ring unless `virtual_nodes` is given.
pub const DEFAULT_VIRTUAL_NODES: u32 = 64;
/// The most virtual nodes per replica allowed (the ring holds 16 bytes per point).
pub const MAX_VIRTUAL_NODES: u32 = 1000;

/// A cache's lookup and what a miss does.
#[derive(Debug, Clone, PartialEq)]
pub struct Cache {
    pub lookup: Lookup,
    pub on_miss: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// Each lookup hits with this probability, independently.
    Fixed { hit_ratio: f64 },
    /// Requests carry keys drawn from `popularity` over `keys` items; each replica holds up
    /// to `capacity` of them, evicting by `policy`, each for at most `ttl_ns`.
    Keyed(KeySpace, Store),
}

/// The keys requests carry at a keyed cache.
#[derive(Debug, Clone, PartialEq)]
pub struct KeySpace {
    pub keys: u64,
    pub popularity: Popularity,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Popularity {
    /// P(key of rank k) proportional to k^-exponent.
    Zipf(f64),
    Uniform,
}

/// What one cache replica holds and how it evicts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Store {
    pub capacity: u64,
    pub policy: Policy,
    pub ttl_ns: Option<Nanos>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Lru,
    Lfu,
    Fifo,
    /// Evicts a held key drawn uniformly (Redis's `allkeys-random`).
    Random,
    /// Redis's approximated LRU (`allkeys-lru`): the key idle longest by an LRU clock that
    /// ticks once per `clock_ns`, among `samples` keys drawn per eviction and a pool of 16
    /// candidates kept across evictions.
    RedisLru {
        samples: u32,
        clock_ns: Nanos,
    },
}

/// Dynamic batching: a batch starts when `max_size` visits wait or the oldest has waited
/// `timeout_ns`; it takes the service time plus `per_item_ns` per visit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Batch {
    pub max_size: u32,
    pub timeout_ns: Nanos,
    pub per_item_ns: Nanos,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub rate_per_s: f64,
    pub burst: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CircuitBreaker {
    pub trip: Trip,
    /// How long the breaker stays open before letting a probe through.
    pub open_ns: Nanos,
    /// Who keeps the breaker's state: each calling replica, or the service for all callers.
    pub scope: Scope,
}

/// Where the state of a breaker or a retry budget lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// In each calling replica, as Hystrix, resilience4j and Finagle keep them in each client
    /// process: a caller's breaker hears only its own calls.
    #[default]
    Caller,
    /// One state shared by every caller (a breaker per callee service; a budget per caller
    /// service and callee), as a service mesh's central policy would keep it.
    Service,
}

impl Scope {
    pub fn key(self) -> &'static str {
        match self {
            Scope::Caller => "caller",
            Scope::Service => "service",
        }
    }
}

/// When a closed breaker opens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trip {
    /// After this many failures in a row.
    ConsecutiveFailures(u32),
    /// When at least `min_requests` calls ended in the last `window_ns` and this share of
    /// them failed.
    ErrorRate {
        ratio: f64,
        window_ns: Nanos,
        min_requests: u32,
    },
}

/// One step of a call plan: calls made at the same time, judged together by `join`.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub calls: Vec<Call>,
    pub join: Join,
    /// With a deadline the step waits for every call it made, up to this long after it
    /// started, and is then judged by its join on what has answered (a join met early does
    /// not end it); the calls still running are cancelled.
    pub deadline_ns: Option<Nanos>,
    /// A call made when the step fails (fail-fast, or its deadline): its success lets the
    /// frame go on, degraded.
    pub fallback: Option<Box<Call>>,
}

impl Step {
    /// A step of one plain call: call and wait (what a name in `calls` means).
    pub fn single(service: ServiceId) -> Step {
        Step {
            calls: vec![Call::to(service)],
            join: Join::All,
            deadline_ns: None,
            fallback: None,
        }
    }
}

/// When a step is over: once `needed` of its calls succeeded (the calls still running are
/// cancelled), or once so many failed that `needed` cannot be reached (fail-fast).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// Every call must succeed.
    All,
    /// The first success is enough.
    Any,
    /// This many successes are enough.
    AtLeast(u16),
}

impl Join {
    /// Successes the step needs out of `made` calls (calls skipped by probability or class
    /// are not made, so a step of 3 with `k = 2` and one skipped needs 2 of 2).
    pub fn needed(self, made: u16) -> u16 {
        match self {
            Join::All => made,
            Join::Any => made.min(1),
            Join::AtLeast(k) => made.min(k),
        }
    }
}

/// One downstream call of a step.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub service: ServiceId,
    /// Per attempt: the caller gives up after this long, and the attempt ends `timed_out`;
    /// the callee's work is cancelled if it has not started (else it finishes, as wasted work).
    pub timeout_ns: Option<Nanos>,
    pub retries: Option<Retries>,
    /// A second copy goes out if the first has not answered after this long.
    pub hedge_ns: Option<Nanos>,
    /// Hedges allowed, as Finagle's backup-request filter budgets them (`maxExtraLoad`):
    /// `ratio` x the attempts over the window, plus `min_per_s` x the window; `None`:
    /// unlimited (one hedge per attempt at most).
    pub hedge_budget: Option<RetryBudget>,
    /// The call is made with this probability (else skipped, as if it succeeded).
    pub probability: f64,
    /// Network time each way.
    pub latency: Option<Distribution>,
    /// A failure of this call does not fail the caller: the request goes on, degraded.
    pub optional: bool,
    /// Only requests of these classes make the call (`None`: every class).
    pub classes: Option<Vec<ClassId>>,
    /// Made when this call has failed (after its retries): its success counts for the call,
    /// and degrades the answer.
    pub fallback: Option<Box<Call>>,
    /// Made and never waited for: the callee is visited, the step does not count the call,
    /// and nothing it does reaches the caller.
    pub fire_and_forget: bool,
}

impl Call {
    pub fn to(service: ServiceId) -> Call {
        Call {
            service,
            timeout_ns: None,
            retries: None,
            hedge_ns: None,
            hedge_budget: None,
            probability: 1.0,
            latency: None,
            optional: false,
            classes: None,
            fallback: None,
            fire_and_forget: false,
        }
    }

    /// Whether it is a plain "call and wait".
    pub fn is_plain(&self) -> bool {
        *self == Call::to(self.service)
    }
}

/// Retrying a failed attempt (an error, a timeout, a rejection): up to `attempts` in all,
/// after an exponential backoff with full jitter, within a retry budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retries {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Before retry n (from 1) the caller waits a uniform time in
    /// `[0, min(max_backoff, backoff x 2^(n-1))]`.
    pub backoff_ns: Nanos,
    pub max_backoff_ns: Nanos,
    pub budget: Option<RetryBudget>,
}

/// Retries allowed over the last `window_ns`: at most `ratio` x first attempts, plus
/// `min_per_s` x the window (Finagle's RetryBudget).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryBudget {
    pub ratio: f64,
    pub window_ns: Nanos,
    pub min_per_s: f64,
    /// Each calling replica's own budget, or one per caller service (`budget_scope`).
    pub scope: Scope,
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
    /// The share of finished requests answered degraded (an upper bound).
    Degraded,
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
            Measure::Degraded => "degraded",
        }
    }

    /// Whether the target is a ratio of requests (availability, degraded share), not a
    /// latency.
    pub fn is_share(self) -> bool {
        matches!(self, Measure::Availability | Measure::Degraded)
    }

    /// Whether the target is a lower bound (availability); every other one is an upper bound.
    pub fn is_lower_bound(self) -> bool {
        self == Measure::Availability
    }

    /// The quantile a percentile objective reads, `None` for mean and availability.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Measure::P50 => Some(0.50),
            Measure::P90 => Some(0.90),
            Measure::P95 => Some(0.95),
            Measure::P99 => Some(0.99),
            Measure::P999 => Some(0.999),
            Measure::Mean | Measure::Availability | Measure::Degraded => None,
        }
    }
}

/// One service-level objective: latency objectives are upper bounds in nanoseconds, the
/// availability objective a lower bound on the success ratio, the degraded objective an
/// upper bound on the share of finished requests answered degraded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Objective {
    pub measure: Measure,
    pub target: f64,
}
