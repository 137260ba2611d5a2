//! The keys that change a service's fleet during a run, checked and resolved: `autoscale`
//! (Kubernetes HPA semantics), `health` checks, `[[fault]]`s, `[[region]]`s with the
//! `[network]` between them, and the cost items beyond a replica-hour price.
//!
//! Like `world.rs`, each table is read with the shared [`TableReader`], every problem collected
//! with its key path.

use super::duration::parse_duration_ns;
use super::ids::{NameIndex, ServiceId};
use super::keys;
use super::problem::{join, nearest, shown, Problem};
use super::reader::{a_type, a_value, TableReader};
use crate::distribution::Distribution;
use crate::engine::time::{format_ns, Nanos};

/// Index of a region in [`Fleet::regions`].
pub type RegionId = usize;

/// What an autoscaler observes, per ready replica, averaged over the sync period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Busy workers / workers (a CPU-utilization target).
    Utilization,
    /// Visits at the service (waiting, worked on, or waiting on calls) per replica.
    InFlight,
    /// Visits arriving per second per replica.
    Rps,
    /// Visits waiting for a worker per replica.
    QueueLength,
}

impl Metric {
    pub fn key(self) -> &'static str {
        match self {
            Metric::Utilization => "utilization",
            Metric::InFlight => "in_flight",
            Metric::Rps => "rps",
            Metric::QueueLength => "queue_length",
        }
    }
}

/// A scaling rate limit (an HPA `behavior` policy pair, `selectPolicy: Max`): within any
/// `per`, the count may change by at most `max(pods, percent% of the count at the start of
/// that period)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub pods: u32,
    pub percent: f64,
    pub per_ns: Nanos,
}

/// A scheduled minimum: from `from` to `to` (times of day, modulo 24 h), at least `min`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScheduledMin {
    pub from_ns: Nanos,
    pub to_ns: Nanos,
    pub min: u32,
}

pub const DAY_NS: Nanos = 86_400_000_000_000;

impl ScheduledMin {
    pub fn active(&self, now_ns: Nanos) -> bool {
        let t = now_ns % DAY_NS;
        if self.from_ns <= self.to_ns {
            (self.from_ns..self.to_ns).contains(&t)
        } else {
            t >= self.from_ns || t < self.to_ns
        }
    }
}

/// `autoscale` on a service.
#[derive(Debug, Clone)]
pub struct Autoscale {
    pub min: u32,
    pub max: u32,
    pub metric: Metric,
    pub target: f64,
    pub tolerance: f64,
    pub sync_ns: Nanos,
    /// How old the observed metric is (the metrics pipeline's lag).
    pub metric_delay_ns: Nanos,
    pub scale_up_window_ns: Nanos,
    pub scale_down_window_ns: Nanos,
    pub max_scale_up: RateLimit,
    pub max_scale_down: RateLimit,
    /// Pod start plus model load, before a new replica takes traffic.
    pub provisioning: Distribution,
    pub schedule: Vec<ScheduledMin>,
}

/// `health` on a service: probes every `interval`; `failures` in a row take a replica out of
/// rotation, one success puts it back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Health {
    pub interval_ns: Nanos,
    pub failures: u32,
}

/// One `[[fault]]`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub kind: FaultKind,
    /// What the terminal's event line and the JSON call it: `crash api`, ...
    pub label: String,
}

#[derive(Debug, Clone)]
pub enum FaultKind {
    /// `replicas` replicas of `service` crash at `at`, each back (ready) `duration` later.
    CrashAt {
        service: ServiceId,
        at_ns: Nanos,
        duration_ns: Nanos,
        replicas: u32,
    },
    /// Every replica of `service` fails after an exponential time with mean `mtbf` and is
    /// repaired after a draw of `mttr`, again and again.
    CrashRecurring {
        service: ServiceId,
        mtbf_ns: f64,
        mttr: Distribution,
    },
    /// Spot interruptions: each replica is reclaimed at `rate_per_hour` (Poisson); it drains
    /// for `notice`, then goes; a replacement is provisioned from the notice on.
    Spot {
        service: ServiceId,
        rate_per_hour: f64,
        notice_ns: Nanos,
        provisioning: Distribution,
    },
    /// Service times of work starting in `[at, at + duration)` are multiplied by `factor`.
    Slow {
        service: ServiceId,
        at_ns: Nanos,
        duration_ns: Nanos,
        factor: f64,
    },
    /// An extra error probability over `[at, at + duration)`.
    Errors {
        service: ServiceId,
        at_ns: Nanos,
        duration_ns: Nanos,
        rate: f64,
    },
    /// The whole service is down over `[at, at + duration)`.
    Outage {
        service: ServiceId,
        at_ns: Nanos,
        duration_ns: Nanos,
    },
    /// Every replica in `region` is down over `[at, at + duration)`.
    RegionOutage {
        region: RegionId,
        at_ns: Nanos,
        duration_ns: Nanos,
    },
}

impl FaultKind {
    /// When the fault starts, for faults at a fixed time.
    pub fn window(&self) -> Option<(Nanos, Nanos)> {
        match *self {
            FaultKind::CrashAt {
                at_ns, duration_ns, ..
            }
            | FaultKind::Slow {
                at_ns, duration_ns, ..
            }
            | FaultKind::Errors {
                at_ns, duration_ns, ..
            }
            | FaultKind::Outage {
                at_ns, duration_ns, ..
            }
            | FaultKind::RegionOutage {
                at_ns, duration_ns, ..
            } => Some((at_ns, at_ns.saturating_add(duration_ns))),
            FaultKind::CrashRecurring { .. } | FaultKind::Spot { .. } => None,
        }
    }

    /// The service the fault acts on (none for a region outage).
    pub fn service(&self) -> Option<ServiceId> {
        match *self {
            FaultKind::CrashAt { service, .. }
            | FaultKind::CrashRecurring { service, .. }
            | FaultKind::Spot { service, .. }
            | FaultKind::Slow { service, .. }
            | FaultKind::Errors { service, .. }
            | FaultKind::Outage { service, .. } => Some(service),
            FaultKind::RegionOutage { .. } => None,
        }
    }
}

/// The most a price per unit may be, USD: a replica-hour, a request, a GB between regions.
/// With every money input bounded, and what multiplies them bounded too (at most 10^6
/// workers a service, a region's factor at most [`MAX_PRICE_FACTOR`], a payload at most
/// [`MAX_PAYLOAD_KB`], at most 10^9 requests a second), every cost figure a summary prints is
/// finite: a service's month at most 10^6 x 10^6 x 10^3 x 730 = 7.3e17 USD, far below the
/// 1.8e308 where a float becomes infinite (issue 17: `price_per_hour = 1e308` printed `$inf`).
pub const MAX_PRICE_USD: f64 = 1e6;
/// The most a fixed monthly item may be, USD.
pub const MAX_MONTHLY_USD: f64 = 1e12;
/// The most a region's `price_factor` may be.
pub const MAX_PRICE_FACTOR: f64 = 1e3;
/// The largest payload a request may carry each way, KB (a terabyte).
pub const MAX_PAYLOAD_KB: f64 = 1e9;

/// One `[[region]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub name: String,
    /// Share of clients (normalized by the sum of weights).
    pub weight: f64,
    pub price_factor: f64,
    /// `utc_offset`: the region's clients live this far ahead of the scenario clock, so
    /// the traffic's diurnal curve reaches them at `t + utc_offset_ns` (0 when not given).
    pub utc_offset_ns: i64,
}

/// A resident class's backlog (`backlog = { max, timeout }`): while its client's region is
/// detected down, a request waits in a FIFO of its region instead of failing, and is sent
/// when the region is detected up again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backlog {
    /// Requests a region's backlog holds; one arriving to a full backlog is rejected.
    pub max: u32,
    /// A request waiting this long times out (`None`: it waits until its region is back).
    pub timeout_ns: Option<Nanos>,
}

/// `backlog = { max = 5000, timeout = "12h" }` on `[traffic]` or a `[[class]]`.
pub fn backlog(value: &toml::Value, path: &str, problems: &mut Vec<Problem>) -> Option<Backlog> {
    let mut r = TableReader::new(
        value,
        path,
        problems,
        "a backlog such as { max = 5000, timeout = \"12h\" }",
    )?;
    r.example = r#"{ max = 5000, timeout = "12h" }"#;
    r.check_keys(&["max", "timeout"], |_| false, "in backlog");
    let max = if r.table.contains_key("max") {
        r.opt_whole("max", 1, 10_000_000)
    } else {
        r.problem(
            "max",
            "missing max, the requests a region's backlog holds; add e.g. max = 5000",
        );
        None
    };
    let timeout_ns = match r.table.get("timeout") {
        None => Some(None),
        Some(_) => r
            .positive_duration_ns("timeout")
            .map(|ns| Some(ns as Nanos)),
    };
    Some(Backlog {
        max: max? as u32,
        timeout_ns: timeout_ns?,
    })
}

/// Regions, the network between them, fixed costs: everything that is not one service's.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    pub regions: Vec<Region>,
    /// One-way latency between regions, symmetric; the diagonal is `network.local`.
    pub latency_ns: Vec<Vec<Nanos>>,
    /// How long clients keep sending to a region after it is detected down.
    pub dns_ttl_ns: Nanos,
    /// The bandwidth of the links between regions, megabits per second (`None`: unlimited,
    /// a payload crosses in no time).
    pub bandwidth_mbps: Option<f64>,
    /// The traffic's diurnal curve as each region's clients live it, shifted by their
    /// `utc_offset`: set only when some region has one (the traffic's own curve is then
    /// the weighted sum of the shifted ones, see [`super::world::Diurnal::shifted_sum`]).
    pub client_diurnal: Option<super::world::Diurnal>,
    pub faults: Vec<Fault>,
    /// Fixed monthly items, USD (a month is 730 hours).
    pub fixed_monthly_usd: Vec<(String, f64)>,
    /// USD per GB crossing regions.
    pub price_per_gb_cross_region_usd: f64,
}

/// Per-service keys of this module, resolved.
#[derive(Debug, Clone, Default)]
pub struct ServiceFleet {
    pub autoscale: Option<Autoscale>,
    pub health: Option<Health>,
    /// Replicas per region (by region id), when the service is regional.
    pub regions: Option<Vec<u32>>,
    /// Fraction off the replica-hour price (spot capacity).
    pub spot_discount: f64,
    pub price_per_request_usd: f64,
}

const METRICS: [(&str, &str); 4] = [
    ("utilization", ""),
    ("in_flight", ""),
    ("rps", ""),
    ("queue_length", ""),
];

fn whole(r: &mut TableReader, key: &str, min: i64, max: i64) -> Option<u32> {
    let value = r.required(key)?;
    match value {
        toml::Value::Integer(n) if (min..=max).contains(n) => Some(*n as u32),
        other => {
            r.problem(
                key,
                format!(
                    "{key} must be a whole number from {min} to {max}, not {}",
                    a_value(other)
                ),
            );
            None
        }
    }
}

fn optional_whole(r: &mut TableReader, key: &str, min: i64, max: i64, default: u32) -> Option<u32> {
    if r.table.contains_key(key) {
        whole(r, key, min, max)
    } else {
        Some(default)
    }
}

fn optional_duration(r: &mut TableReader, key: &str, default: Nanos) -> Option<Nanos> {
    match r.table.get(key) {
        None => Some(default),
        Some(v) => r.duration_value_ns(key, v).map(|ns| ns as Nanos),
    }
}

fn positive_duration(r: &mut TableReader, key: &str, default: Nanos) -> Option<Nanos> {
    let ns = optional_duration(r, key, default)?;
    if ns == 0 {
        r.problem(key, format!("{key} must be longer than 0"));
        return None;
    }
    Some(ns)
}

fn ratio(r: &mut TableReader, key: &str, default: f64, low: f64, high: f64) -> Option<f64> {
    if !r.table.contains_key(key) {
        return Some(default);
    }
    let v = r.number(key)?;
    if (low..=high).contains(&v) {
        Some(v)
    } else {
        r.problem(key, format!("{key} {v} must be from {low} to {high}"));
        None
    }
}

/// A distribution, or a duration string meaning that constant.
fn delay(value: &toml::Value, path: &str, problems: &mut Vec<Problem>) -> Option<Distribution> {
    if let Some(text) = value.as_str() {
        return match super::duration::parse_duration_ns(text) {
            Ok(ns) => Some(Distribution::constant(ns as f64)),
            Err(e) => {
                problems.push(Problem::new(path, e));
                None
            }
        };
    }
    super::distribution::parse(value, path, problems)
}

fn rate_limit(r: &mut TableReader, key: &str, default: RateLimit) -> Option<RateLimit> {
    let Some(value) = r.table.get(key) else {
        return Some(default);
    };
    let path = join(r.path, key);
    let mut inner = TableReader::new(
        value,
        &path,
        r.problems,
        "a limit such as { pods = 4, percent = 100, per = \"15s\" }",
    )?;
    inner.example = r#"{ pods = 4, percent = 100, per = "15s" }"#;
    inner.check_keys(
        &keys::names_at("service.autoscale.max_scale_up"),
        |_| false,
        "in a scaling limit",
    );
    let pods = optional_whole(&mut inner, "pods", 0, 100_000, 0);
    let percent = ratio(&mut inner, "percent", 0.0, 0.0, 100_000.0);
    let per_ns = positive_duration(&mut inner, "per", default.per_ns);
    let limit = RateLimit {
        pods: pods?,
        percent: percent?,
        per_ns: per_ns?,
    };
    if limit.pods == 0 && limit.percent == 0.0 {
        inner.problem_here("a limit of 0 pods and 0 percent would never let the count change; give pods or percent");
        return None;
    }
    Some(limit)
}

/// `service.NAME.autoscale`. `replicas` is the service's `replicas` key, if given (the count
/// at the start; it must lie in `[min, max]`).
pub fn autoscale(
    value: &toml::Value,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Option<Autoscale> {
    let mut r = TableReader::new(
        value,
        path,
        problems,
        "an autoscaler such as { min = 2, max = 40, metric = \"utilization\", target = 0.6 }",
    )?;
    r.example = r#"{ min = 2, max = 40, metric = "utilization", target = 0.6, provisioning = { dist = "constant", value = "60s" } }"#;
    r.check_keys(
        &keys::names_at("service.autoscale"),
        |_| false,
        "in autoscale",
    );
    let min = whole(&mut r, "min", 0, 1_000_000);
    let max = whole(&mut r, "max", 1, 1_000_000);
    let metric = match r.table.get("metric") {
        None => Some(Metric::Utilization),
        Some(_) => match r.tag("metric", "metric", &METRICS) {
            Some("utilization") => Some(Metric::Utilization),
            Some("in_flight") => Some(Metric::InFlight),
            Some("rps") => Some(Metric::Rps),
            Some(_) => Some(Metric::QueueLength),
            None => None,
        },
    };
    let target = r.positive_number("target");
    let tolerance = ratio(&mut r, "tolerance", 0.1, 0.0, 10.0);
    let sync_ns = positive_duration(&mut r, "sync", 15_000_000_000);
    let metric_delay_ns = optional_duration(&mut r, "metric_delay", 0);
    let up_window = optional_duration(&mut r, "scale_up_window", 0);
    let down_window = optional_duration(&mut r, "scale_down_window", 300_000_000_000);
    let up = rate_limit(
        &mut r,
        "max_scale_up",
        RateLimit {
            pods: 4,
            percent: 100.0,
            per_ns: 15_000_000_000,
        },
    );
    let down = rate_limit(
        &mut r,
        "max_scale_down",
        RateLimit {
            pods: 0,
            percent: 100.0,
            per_ns: 15_000_000_000,
        },
    );
    let provisioning = match r.table.get("provisioning") {
        None => Some(Distribution::constant(0.0)),
        Some(v) => {
            let p = join(r.path, "provisioning");
            delay(v, &p, r.problems)
        }
    };
    let schedule = match r.table.get("schedule") {
        None => Some(Vec::new()),
        Some(v) => {
            let p = join(r.path, "schedule");
            schedule(v, &p, r.problems)
        }
    };
    if let (Some(Metric::Utilization), Some(t)) = (metric, target) {
        if t > 1.0 {
            r.problem(
                "target",
                format!("a utilization target is a fraction of the workers; {t} is above 1"),
            );
        }
    }
    let (min, max) = (min?, max?);
    if min > max {
        r.problem("min", format!("min {min} is above max {max}"));
        return None;
    }
    Some(Autoscale {
        min,
        max,
        metric: metric?,
        target: target?,
        tolerance: tolerance?,
        sync_ns: sync_ns?,
        metric_delay_ns: metric_delay_ns?,
        scale_up_window_ns: up_window?,
        scale_down_window_ns: down_window?,
        max_scale_up: up?,
        max_scale_down: down?,
        provisioning: provisioning?,
        schedule: schedule?,
    })
}

fn schedule(
    value: &toml::Value,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Option<Vec<ScheduledMin>> {
    let Some(items) = value.as_array() else {
        problems.push(Problem::new(path, format!("schedule must be a list such as [{{ from = \"8h\", to = \"20h\", min = 10 }}], not {}", a_type(value))));
        return None;
    };
    let before = problems.len();
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let Some(mut r) = TableReader::new(
            item,
            &p,
            problems,
            "a scheduled minimum such as { from = \"8h\", to = \"20h\", min = 10 }",
        ) else {
            continue;
        };
        r.example = r#"{ from = "8h", to = "20h", min = 10 }"#;
        r.check_keys(
            &keys::names_at("service.autoscale.schedule"),
            |_| false,
            "in a scheduled minimum",
        );
        let from = r.duration_ns("from").map(|ns| ns as Nanos);
        let to = r.duration_ns("to").map(|ns| ns as Nanos);
        let min = whole(&mut r, "min", 0, 1_000_000);
        for (key, t) in [("from", from), ("to", to)] {
            if t.is_some_and(|t| t > DAY_NS) {
                r.problem(key, "a time of day is at most 24h");
            }
        }
        if let (Some(from_ns), Some(to_ns), Some(min)) = (from, to, min) {
            out.push(ScheduledMin {
                from_ns: from_ns % DAY_NS,
                to_ns: to_ns % DAY_NS,
                min,
            });
        }
    }
    (problems.len() == before).then_some(out)
}

/// `service.NAME.health`.
pub fn health(value: &toml::Value, path: &str, problems: &mut Vec<Problem>) -> Option<Health> {
    let mut r = TableReader::new(
        value,
        path,
        problems,
        "health checks such as { interval = \"5s\", failures = 3 }",
    )?;
    r.example = r#"{ interval = "5s", failures = 3 }"#;
    r.check_keys(&keys::names_at("service.health"), |_| false, "in health");
    let interval = positive_duration(&mut r, "interval", 10_000_000_000);
    let failures = optional_whole(&mut r, "failures", 1, 1000, 3);
    Some(Health {
        interval_ns: interval?,
        failures: failures?,
    })
}

/// `service.NAME.regions`: replicas per region, by region name.
pub fn service_regions(
    value: &toml::Value,
    path: &str,
    regions: &[String],
    problems: &mut Vec<Problem>,
) -> Option<Vec<u32>> {
    let Some(table) = value.as_table() else {
        problems.push(Problem::new(path, format!("regions must be a table of replicas per region such as {{ us = 6, eu = 4 }}, not {}", a_type(value))));
        return None;
    };
    let before = problems.len();
    let mut counts = vec![0; regions.len()];
    if regions.is_empty() {
        problems.push(Problem::new(
            path,
            "no [[region]] is defined; add [[region]] tables with a name and a weight",
        ));
        return None;
    }
    for (name, v) in table {
        let p = join(path, name);
        let Some(id) = regions.iter().position(|r| r == name) else {
            problems.push(Problem::new(&p, unknown_region(name, regions)));
            continue;
        };
        match v {
            toml::Value::Integer(n) if (0..=1_000_000).contains(n) => counts[id] = *n as u32,
            other => problems.push(Problem::new(
                &p,
                format!(
                    "replicas in a region must be a whole number from 0 to 1000000, not {}",
                    a_value(other)
                ),
            )),
        }
    }
    if problems.len() == before && counts.iter().all(|&c| c == 0) {
        problems.push(Problem::new(
            path,
            "a regional service needs at least one replica in some region",
        ));
    }
    (problems.len() == before).then_some(counts)
}

fn unknown_region(name: &str, regions: &[String]) -> String {
    let names: Vec<&str> = regions.iter().map(String::as_str).collect();
    let hint = nearest(name, &names)
        .map(|n| format!("did you mean \"{n}\"? "))
        .unwrap_or_default();
    format!(
        "unknown region \"{name}\"; {hint}defined regions: {}",
        names.join(", ")
    )
}

fn unknown_service(name: &str, services: &[String]) -> String {
    let names: Vec<&str> = services.iter().map(String::as_str).collect();
    let hint = nearest(name, &names)
        .map(|n| format!("did you mean \"{n}\"? "))
        .unwrap_or_default();
    format!(
        "unknown service \"{name}\"; {hint}defined services: {}",
        names.join(", ")
    )
}

/// The `[[region]]` array.
pub fn regions(value: Option<&toml::Value>, problems: &mut Vec<Problem>) -> Vec<Region> {
    let Some(value) = value else {
        return Vec::new();
    };
    let Some(items) = value.as_array() else {
        problems.push(Problem::new(
            "region",
            "regions are written as [[region]] tables",
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    if items.len() > 255 {
        problems.push(Problem::new("region", "at most 255 regions"));
        return out;
    }
    for (i, item) in items.iter().enumerate() {
        let path = match item.get("name").and_then(|n| n.as_str()) {
            Some(name) => format!("region.{name}"),
            None => format!("region[{i}]"),
        };
        let Some(mut r) = TableReader::new(item, &path, problems, "a [[region]] table") else {
            continue;
        };
        r.example = "[[region]] with name = \"us\", weight = 0.6";
        r.check_keys(&keys::names_at("region"), |_| false, "in [[region]]");
        let name = match r.table.get("name") {
            Some(toml::Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            _ => {
                r.problem("name", "every region needs a non-empty name");
                None
            }
        };
        let weight = match r.table.get("weight") {
            None => Some(1.0),
            Some(_) => r.number("weight").and_then(|w| {
                if w > 0.0 {
                    Some(w)
                } else {
                    r.problem(
                        "weight",
                        format!("weight {w} must be greater than 0 (a share of clients)"),
                    );
                    None
                }
            }),
        };
        let price_factor = match r.table.get("price_factor") {
            None => Some(1.0),
            Some(_) => r.number("price_factor").and_then(|f| {
                if (0.0..=MAX_PRICE_FACTOR).contains(&f) {
                    Some(f)
                } else {
                    r.problem(
                        "price_factor",
                        format!(
                            "price_factor {} must be from 0 to 1e3 (a multiple of the replica-hour price)",
                            shown(f)
                        ),
                    );
                    None
                }
            }),
        };
        let utc_offset_ns = match r.table.get("utc_offset") {
            None => Some(0),
            Some(v) => {
                let parsed = v
                    .as_str()
                    .ok_or_else(|| {
                        format!(
                            "utc_offset must be a string such as \"-5h\" or \"+9h\", not {}",
                            a_type(v)
                        )
                    })
                    .and_then(utc_offset_ns);
                match parsed {
                    Ok(ns) => Some(ns),
                    Err(why) => {
                        r.problem("utc_offset", why);
                        None
                    }
                }
            }
        };
        if let (Some(name), Some(weight), Some(price_factor), Some(utc_offset_ns)) =
            (name, weight, price_factor, utc_offset_ns)
        {
            if out.iter().any(|o: &Region| o.name == name) {
                problems.push(Problem::new(
                    join(&path, "name"),
                    format!("region name \"{name}\" is used more than once"),
                ));
                continue;
            }
            out.push(Region {
                name,
                weight,
                price_factor,
                utc_offset_ns,
            });
        }
    }
    out
}

/// The largest `utc_offset` either way: a day (real offsets run from -12h to +14h).
const MAX_UTC_OFFSET_NS: u64 = 86_400_000_000_000;

/// A region's `utc_offset`: a duration with an optional sign (`"-5h"`, `"+9h"`, `"5.5h"`),
/// from -24h to +24h.
fn utc_offset_ns(text: &str) -> Result<i64, String> {
    let trimmed = text.trim();
    let (sign, magnitude) = match trimmed.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    match parse_duration_ns(magnitude) {
        Ok(ns) if ns <= MAX_UTC_OFFSET_NS => Ok(sign * ns as i64),
        Ok(_) => Err(format!(
            "utc_offset \"{text}\" is more than a day either way; write one from \"-24h\" to \"+24h\" (e.g. \"-5h\" for New York, \"+9h\" for Tokyo)"
        )),
        Err(why) => Err(format!(
            "utc_offset \"{text}\" is not a signed duration ({why}); write one from \"-24h\" to \"+24h\", e.g. \"-5h\" or \"+9h\""
        )),
    }
}

/// `[network]`: the latency matrix, failover and the bandwidth between regions.
pub fn network(
    value: Option<&toml::Value>,
    regions: &[Region],
    problems: &mut Vec<Problem>,
) -> (Vec<Vec<Nanos>>, Nanos, Option<f64>) {
    let (matrix, ttl) = network_latency(value, regions, problems);
    let bandwidth_mbps = value
        .and_then(toml::Value::as_table)
        .filter(|t| t.contains_key("bandwidth_mbps"))
        .and_then(|_| {
            let mut r = TableReader::new(value?, "network", problems, "a [network] table")?;
            r.positive_number("bandwidth_mbps")
        });
    (matrix, ttl, bandwidth_mbps)
}

fn network_latency(
    value: Option<&toml::Value>,
    regions: &[Region],
    problems: &mut Vec<Problem>,
) -> (Vec<Vec<Nanos>>, Nanos) {
    let n = regions.len();
    let mut matrix = vec![vec![0; n]; n];
    let mut ttl = 60_000_000_000;
    let Some(value) = value else {
        return (matrix, ttl);
    };
    let Some(mut r) = TableReader::new(value, "network", problems, "a [network] table") else {
        return (matrix, ttl);
    };
    r.check_keys(&keys::names_at("network"), |_| false, "in [network]");
    let local = optional_duration(&mut r, "local", 0).unwrap_or(0);
    for (i, row) in matrix.iter_mut().enumerate() {
        row[i] = local;
    }
    let names: Vec<String> = regions.iter().map(|r| r.name.clone()).collect();
    if let Some(latency) = r.table.get("latency") {
        match latency.as_table() {
            None => r.problem(
                "latency",
                format!(
                    "latency must be a table such as {{ \"us-eu\" = \"80ms\" }}, not {}",
                    a_type(latency)
                ),
            ),
            Some(pairs) => {
                for (pair, v) in pairs {
                    let path = format!("network.latency.{pair}");
                    let ends = pair.split_once('-').map(|(a, b)| {
                        (
                            names.iter().position(|n| n == a),
                            names.iter().position(|n| n == b),
                            a,
                            b,
                        )
                    });
                    let ns = match v.as_str().map(super::duration::parse_duration_ns) {
                        Some(Ok(ns)) => Some(ns),
                        Some(Err(e)) => {
                            r.problems.push(Problem::new(&path, e));
                            None
                        }
                        None => {
                            r.problems.push(Problem::new(
                                &path,
                                format!(
                                    "a latency is a duration such as \"80ms\", not {}",
                                    a_value(v)
                                ),
                            ));
                            None
                        }
                    };
                    match ends {
                        Some((Some(a), Some(b), _, _)) if a != b => {
                            if let Some(ns) = ns {
                                matrix[a][b] = ns;
                                matrix[b][a] = ns;
                            }
                        }
                        Some((Some(_), Some(_), _, _)) => r.problems.push(Problem::new(&path, "a pair names two different regions; the latency within a region is network.local")),
                        Some((a, _, an, bn)) => {
                            let bad = if a.is_none() { an } else { bn };
                            r.problems.push(Problem::new(&path, unknown_region(bad, &names)));
                        }
                        None => r.problems.push(Problem::new(&path, "name a pair of regions as \"REGION-REGION\", e.g. \"us-eu\"")),
                    }
                }
            }
        }
    }
    if let Some(failover) = r.table.get("failover") {
        let mut f = match TableReader::new(
            failover,
            "network.failover",
            r.problems,
            "a table such as { dns_ttl = \"60s\" }",
        ) {
            Some(f) => f,
            None => return (matrix, ttl),
        };
        f.check_keys(
            &keys::names_at("network.failover"),
            |_| false,
            "in network.failover",
        );
        if let Some(t) = optional_duration(&mut f, "dns_ttl", ttl) {
            ttl = t;
        }
    }
    (matrix, ttl)
}

const FAULT_KINDS: [(&str, &str); 6] = [
    (
        "crash",
        r#"[[fault]] kind = "crash", target = "api", at = "30m", duration = "5m""#,
    ),
    (
        "spot",
        r#"[[fault]] kind = "spot", target = "api", rate = 0.5, notice = "2m""#,
    ),
    (
        "slow",
        r#"[[fault]] kind = "slow", target = "api", at = "30m", duration = "10m", factor = 3"#,
    ),
    (
        "errors",
        r#"[[fault]] kind = "errors", target = "api", at = "30m", duration = "10m", rate = 0.2"#,
    ),
    (
        "outage",
        r#"[[fault]] kind = "outage", target = "db", at = "30m", duration = "10m""#,
    ),
    (
        "region_outage",
        r#"[[fault]] kind = "region_outage", target = "eu", at = "30m", duration = "10m""#,
    ),
];

/// The `[[fault]]` array. Fault times must lie inside the run.
pub fn faults(
    value: Option<&toml::Value>,
    services: &NameIndex,
    regions: &[String],
    duration_ns: Nanos,
    provisioning: &dyn Fn(ServiceId) -> Distribution,
    problems: &mut Vec<Problem>,
) -> Vec<Fault> {
    let Some(value) = value else {
        return Vec::new();
    };
    let Some(items) = value.as_array() else {
        problems.push(Problem::new(
            "fault",
            "faults are written as [[fault]] tables",
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("fault[{i}]");
        if let Some(f) = fault(
            item,
            &path,
            services,
            regions,
            duration_ns,
            provisioning,
            problems,
        ) {
            out.push(f);
        }
    }
    out
}

fn fault(
    value: &toml::Value,
    path: &str,
    services: &NameIndex,
    regions: &[String],
    duration_ns: Nanos,
    provisioning: &dyn Fn(ServiceId) -> Distribution,
    problems: &mut Vec<Problem>,
) -> Option<Fault> {
    let mut r = TableReader::new(value, path, problems, "a [[fault]] table")?;
    let kind = r.tag("kind", "fault kind", &FAULT_KINDS)?;
    let valid: &[&str] = match kind {
        "crash" => &[
            "kind", "target", "at", "duration", "replicas", "mtbf", "mttr",
        ],
        "spot" => &["kind", "target", "rate", "notice", "provisioning"],
        "slow" => &["kind", "target", "at", "duration", "factor"],
        "errors" => &["kind", "target", "at", "duration", "rate"],
        _ => &["kind", "target", "at", "duration"],
    };
    r.check_keys(valid, |_| false, &format!("for a {kind} fault"));
    let target_name = match r.required("target") {
        Some(toml::Value::String(s)) => Some(s.clone()),
        Some(other) => {
            let m = format!(
                "target must name a {}, not {}",
                if kind == "region_outage" {
                    "region"
                } else {
                    "service"
                },
                a_type(other)
            );
            r.problem("target", m);
            None
        }
        None => None,
    };
    let (service, region) = match (&target_name, kind) {
        (None, _) => (None, None),
        (Some(name), "region_outage") => match regions.iter().position(|n| n == name) {
            Some(id) => (None, Some(id)),
            None => {
                r.problem("target", unknown_region(name, regions));
                (None, None)
            }
        },
        (Some(name), _) => match services.position(name) {
            Some(id) => (Some(id), None),
            None => {
                r.problem("target", unknown_service(name, services));
                (None, None)
            }
        },
    };
    let recurring = kind == "crash" && r.table.contains_key("mtbf");
    let window = if matches!(kind, "spot") || recurring {
        None
    } else {
        let at = r.duration_ns("at").map(|ns| ns as Nanos);
        if at.is_some_and(|at| at >= duration_ns) {
            r.problem(
                "at",
                format!(
                    "the fault at {} is outside the run, which lasts {}",
                    format_ns(at.unwrap_or(0) as f64),
                    format_ns(duration_ns as f64)
                ),
            );
        }
        let length = r.positive_duration_ns("duration").map(|ns| ns as Nanos);
        Some((at, length))
    };
    let label = format!("{kind} {}", target_name.clone().unwrap_or_default());
    let resolved = match kind {
        "crash" if recurring => {
            for key in ["at", "duration", "replicas"] {
                if r.table.contains_key(key) {
                    r.problem(key, "a recurring crash (mtbf, mttr) happens to every replica again and again; remove this key, or mtbf and mttr for one crash at a time");
                }
            }
            let mtbf = r.positive_duration_ns("mtbf");
            let mttr = match r.required("mttr") {
                Some(v) => {
                    let p = join(path, "mttr");
                    let d = delay(v, &p, r.problems);
                    match d {
                        Some(d) if d.mean_ns() <= 0.0 => {
                            r.problem("mttr", "mttr must be longer than 0: a repair takes time");
                            None
                        }
                        d => d,
                    }
                }
                None => None,
            };
            Some(FaultKind::CrashRecurring {
                service: service?,
                mtbf_ns: mtbf?,
                mttr: mttr?,
            })
        }
        "crash" => {
            if r.table.contains_key("mttr") {
                r.problem("mttr", "mttr goes with mtbf (recurring crashes); a crash at a time is back after its duration");
            }
            let replicas = if r.table.contains_key("replicas") {
                whole(&mut r, "replicas", 1, 1_000_000)
            } else {
                Some(1)
            };
            let (at, length) = window?;
            Some(FaultKind::CrashAt {
                service: service?,
                at_ns: at?,
                duration_ns: length?,
                replicas: replicas?,
            })
        }
        "spot" => {
            let rate = r.positive_number("rate");
            let notice = optional_duration(&mut r, "notice", 120_000_000_000);
            let prov = match r.table.get("provisioning") {
                Some(v) => {
                    let p = join(path, "provisioning");
                    delay(v, &p, r.problems)
                }
                None => service.map(provisioning),
            };
            Some(FaultKind::Spot {
                service: service?,
                rate_per_hour: rate?,
                notice_ns: notice?,
                provisioning: prov?,
            })
        }
        "slow" => {
            let factor = r.positive_number("factor");
            let (at, length) = window?;
            Some(FaultKind::Slow {
                service: service?,
                at_ns: at?,
                duration_ns: length?,
                factor: factor?,
            })
        }
        "errors" => {
            let rate = r.number("rate").and_then(|p| {
                if (0.0..=1.0).contains(&p) {
                    Some(p)
                } else {
                    r.problem(
                        "rate",
                        format!("{p} is not a probability; use a number from 0 to 1"),
                    );
                    None
                }
            });
            let (at, length) = window?;
            Some(FaultKind::Errors {
                service: service?,
                at_ns: at?,
                duration_ns: length?,
                rate: rate?,
            })
        }
        "outage" => {
            let (at, length) = window?;
            Some(FaultKind::Outage {
                service: service?,
                at_ns: at?,
                duration_ns: length?,
            })
        }
        _ => {
            let (at, length) = window?;
            Some(FaultKind::RegionOutage {
                region: region?,
                at_ns: at?,
                duration_ns: length?,
            })
        }
    };
    let kind = resolved?;
    if let Some((at, _)) = kind.window() {
        if at >= duration_ns {
            return None;
        }
    }
    Some(Fault { kind, label })
}

/// `[cost]`: fixed monthly items and the price of traffic between regions.
pub fn cost(value: Option<&toml::Value>, problems: &mut Vec<Problem>) -> (Vec<(String, f64)>, f64) {
    let Some(value) = value else {
        return (Vec::new(), 0.0);
    };
    let Some(mut r) = TableReader::new(value, "cost", problems, "a [cost] table") else {
        return (Vec::new(), 0.0);
    };
    r.check_keys(&keys::names_at("cost"), |_| false, "in [cost]");
    let mut fixed = Vec::new();
    if let Some(items) = r.table.get("fixed_monthly") {
        match items.as_table() {
            None => r.problem("fixed_monthly", format!("fixed_monthly must be a table of USD a month such as {{ support = 500 }}, not {}", a_type(items))),
            Some(items) => {
                for (name, v) in items {
                    let usd = match v {
                        toml::Value::Integer(n) => Some(*n as f64),
                        toml::Value::Float(f) => Some(*f),
                        _ => None,
                    };
                    match usd {
                        Some(usd) if (0.0..=MAX_MONTHLY_USD).contains(&usd) => fixed.push((name.clone(), usd)),
                        _ => r.problems.push(Problem::new(format!("cost.fixed_monthly.{name}"), format!("a monthly cost is USD, from 0 to 1e12, not {}", a_value(v)))),
                    }
                }
            }
        }
    }
    let per_gb = match r.table.get("per_gb_cross_region") {
        None => 0.0,
        Some(_) => match r.number("per_gb_cross_region") {
            Some(p) if (0.0..=MAX_PRICE_USD).contains(&p) => p,
            Some(p) => {
                r.problem(
                    "per_gb_cross_region",
                    format!("price {} must be from 0 to 1e6 (USD per GB)", shown(p)),
                );
                0.0
            }
            None => 0.0,
        },
    };
    (fixed, per_gb)
}

/// A price or discount key on a service: a number in `[low, high]`, `what` (its unit, in
/// words) named in the message.
pub fn service_number(
    value: Option<f64>,
    path: &str,
    (low, high): (f64, f64),
    what: &str,
    problems: &mut Vec<Problem>,
) -> f64 {
    match value {
        None => 0.0,
        Some(v) if v >= low && v <= high => v,
        Some(v) => {
            let key = path.rsplit('.').next().unwrap_or(path);
            problems.push(Problem::new(
                path,
                format!(
                    "{key} {} must be from {} to {} ({what})",
                    shown(v),
                    shown(low),
                    shown(high)
                ),
            ));
            0.0
        }
    }
}
