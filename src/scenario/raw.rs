//! The scenario as written: serde structs that mirror the TOML, one per table.
//!
//! Values stay close to what was typed (durations as strings, counts as signed integers) so
//! that validation, not serde, judges them and can report every problem at once with a
//! message that says what would be valid. Unknown keys are refused (`deny_unknown_fields`);
//! the loader checks keys against these structs' field lists first, so that all unknown keys
//! are reported together, each with the nearest valid key.

use serde::Deserialize;

/// The top-level tables of a scenario file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub scenario: Option<toml::Value>,
    pub slo: Option<toml::Value>,
    pub traffic: Option<toml::Value>,
    pub service: Option<toml::Value>,
    pub class: Option<toml::Value>,
    /// `[[region]]`, `[network]`, `[[fault]]`, `[cost]`: read by `fleet.rs`.
    pub region: Option<toml::Value>,
    pub network: Option<toml::Value>,
    pub fault: Option<toml::Value>,
    pub cost: Option<toml::Value>,
    /// `[[deployment]]`: read by `deploy.rs`.
    pub deployment: Option<toml::Value>,
    /// `[sweep]` and `[plan]`: axes of key paths, checked by [`super::grid`].
    pub sweep: Option<toml::Value>,
    pub plan: Option<toml::Value>,
}

/// `[scenario]`: name, clock and repetition.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRun {
    pub name: Option<String>,
    pub duration: Option<String>,
    pub warmup: Option<String>,
    pub seed: Option<i64>,
    pub replications: Option<i64>,
    /// Requests in flight (all services together) above which the run stops as overloaded.
    pub max_in_flight: Option<i64>,
    /// The time-series window.
    pub window: Option<String>,
}

/// `[slo]`: latency targets (durations) and an availability target (0..1).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    pub mean: Option<String>,
    pub p50: Option<String>,
    pub p90: Option<String>,
    pub p95: Option<String>,
    pub p99: Option<String>,
    pub p999: Option<String>,
    pub availability: Option<f64>,
    pub degraded: Option<f64>,
}

/// `[traffic]`: open-loop Poisson arrivals into one entry service.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTraffic {
    pub rate: Option<f64>,
    pub entry: Option<String>,
    /// Traffic shapes and closed-loop users: read by `world.rs`.
    pub diurnal: Option<toml::Value>,
    pub spikes: Option<toml::Value>,
    pub steps: Option<toml::Value>,
    pub bursts: Option<toml::Value>,
    pub trace: Option<toml::Value>,
    pub users: Option<toml::Value>,
    pub think_time: Option<toml::Value>,
    /// Per-class keys, on the default class until `[[class]]` exists.
    pub residency: Option<bool>,
    /// Read by `fleet::backlog`.
    pub backlog: Option<toml::Value>,
    pub payload_kb: Option<f64>,
    /// Per-request outcome probability (A/B tests).
    pub conversion: Option<f64>,
}

/// One `[[service]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub name: Option<String>,
    pub replicas: Option<i64>,
    pub concurrency: Option<i64>,
    pub queue_capacity: Option<i64>,
    /// Parsed by [`super::distribution::parse`].
    pub service_time: Option<toml::Value>,
    /// Names and call tables, parsed by [`super::paths::plan`].
    pub calls: Option<toml::Value>,
    pub blocking_calls: Option<bool>,
    pub error_rate: Option<f64>,
    pub price_per_hour: Option<f64>,
    pub kind: Option<String>,
    pub balancer: Option<toml::Value>,
    pub hit_ratio: Option<f64>,
    pub capacity: Option<i64>,
    pub keys: Option<i64>,
    pub popularity: Option<toml::Value>,
    pub policy: Option<String>,
    /// `policy = "redis_lru"`: keys sampled per eviction, and the LRU clock's tick.
    pub samples: Option<i64>,
    pub clock: Option<String>,
    pub ttl: Option<String>,
    pub on_miss: Option<toml::Value>,
    pub batch: Option<toml::Value>,
    pub rate_limit: Option<toml::Value>,
    pub queue_timeout: Option<String>,
    pub circuit_breaker: Option<toml::Value>,
    /// Fleet keys: read by `fleet.rs`.
    pub autoscale: Option<toml::Value>,
    pub regions: Option<toml::Value>,
    pub health: Option<toml::Value>,
    pub spot_discount: Option<f64>,
    pub price_per_request: Option<f64>,
}

/// One `[[class]]`: a kind of request.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClass {
    pub name: Option<String>,
    pub weight: Option<f64>,
    pub entry: Option<String>,
    /// The same keys as `[slo]`.
    pub slo: Option<toml::Value>,
    pub residency: Option<bool>,
    /// Read by `fleet::backlog`.
    pub backlog: Option<toml::Value>,
    pub payload_kb: Option<f64>,
    /// Per-request outcome probability (A/B tests).
    pub conversion: Option<f64>,
}

/// Which table of the key table (`keys.rs`) each struct reads.
macro_rules! keyed {
    ($($raw:ty => $path:literal),* $(,)?) => {
        $(impl super::keys::Keyed for $raw {
            const PATH: &'static str = $path;
        })*
    };
}
keyed! {
    RawScenario => "",
    RawRun => "scenario",
    RawSlo => "slo",
    RawTraffic => "traffic",
    RawService => "service",
    RawClass => "class",
}
