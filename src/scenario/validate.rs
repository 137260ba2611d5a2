//! Raw scenario -> [`Model`], collecting every problem rather than stopping at the first.

use super::duration::parse_duration_ns;
use super::graph;
use super::model::{Measure, Model, Objective, Service, ServiceId, Step, Traffic};
use super::problem::{join, unknown_key_message, Problem};
use super::raw::{RawRun, RawScenario, RawService, RawSlo, RawTraffic};
use serde::de::DeserializeOwned;
use serde_aux::serde_introspection::serde_introspect;

/// Default for `scenario.max_in_flight`: about 100 MB of requests in flight at the most.
pub const DEFAULT_MAX_IN_FLIGHT: i64 = 1_000_000;
/// Upper bounds that keep a typo (an extra zero or three) from exhausting memory or time.
const MAX_REPLICATIONS: i64 = 100_000;
const MAX_WORKERS: i64 = 1_000_000;

/// Checks a parsed scenario. `default_name` names the scenario when `scenario.name` is absent.
pub fn validate(
    table: &toml::Table,
    default_name: &str,
    files: super::world::FileReader,
) -> Result<Model, Vec<Problem>> {
    let mut problems = Vec::new();
    let top: RawScenario =
        typed(&toml::Value::Table(table.clone()), "", &mut problems).unwrap_or_default();

    let run: RawRun = top
        .scenario
        .as_ref()
        .and_then(|v| typed(v, "scenario", &mut problems))
        .unwrap_or_default();
    let slo: RawSlo = top
        .slo
        .as_ref()
        .and_then(|v| typed(v, "slo", &mut problems))
        .unwrap_or_default();
    let traffic: Option<RawTraffic> = match &top.traffic {
        Some(v) => typed(v, "traffic", &mut problems),
        None => {
            problems.push(Problem::new(
                "traffic",
                "missing [traffic]; add e.g. `[traffic]` with `rate = 100` and `entry = \"api\"`",
            ));
            None
        }
    };
    let raw_services = services(top.service.as_ref(), &mut problems);

    let (duration_ns, warmup_ns) = clock(&run, &mut problems);
    let seed = match run.seed {
        Some(s) if s < 0 => {
            problems.push(Problem::new(
                "scenario.seed",
                format!("seed {s} is negative; use a whole number from 0"),
            ));
            0
        }
        Some(s) => s as u64,
        None => 1,
    };
    let replications = count(
        run.replications,
        "scenario.replications",
        1,
        1,
        MAX_REPLICATIONS,
        &mut problems,
    );
    let max_in_flight = count(
        run.max_in_flight,
        "scenario.max_in_flight",
        DEFAULT_MAX_IN_FLIGHT,
        1,
        i64::from(u32::MAX),
        &mut problems,
    );
    let objectives = objectives(&slo, &mut problems);

    let names: Vec<String> = raw_services
        .iter()
        .map(|(path, s)| s.name.clone().unwrap_or_else(|| path.clone()))
        .collect();
    let services: Vec<Option<Service>> = raw_services
        .iter()
        .map(|(path, raw)| service(raw, path, &names, &mut problems))
        .collect();

    let mut traffic = traffic.and_then(|t| traffic_model(&t, &names, &mut problems));
    let world = super::world_keys::world(
        &top,
        &run,
        traffic.as_mut(),
        &raw_services,
        &names,
        duration_ns,
        files,
        &mut problems,
    );
    check_call_graph(
        &raw_services,
        &names,
        traffic.as_ref().map(|t| t.entry),
        &mut problems,
    );

    // A key whose value had the wrong type was set aside; it is not also "missing".
    let mut reported = std::collections::HashSet::new();
    problems.retain(|p| reported.insert(p.path.clone()) || !p.message.starts_with("missing"));
    let services: Option<Vec<Service>> = services.into_iter().collect();
    match (traffic, services, world) {
        (Some(traffic), Some(mut services), Some(world)) if problems.is_empty() => Ok(Model {
            name: run.name.unwrap_or_else(|| default_name.to_string()),
            duration_ns,
            warmup_ns,
            seed,
            replications: replications as u32,
            max_in_flight: max_in_flight as usize,
            slo: objectives,
            traffic,
            services: {
                for (service, fleet) in services.iter_mut().zip(world.services) {
                    service.replicas = fleet.initial_replicas.unwrap_or(service.replicas);
                    service.fleet = fleet.fleet;
                }
                services
            },
            series_window_ns: world.window_ns,
            record_series: true,
            fleet: world.fleet,
        }),
        // Every part that failed to resolve reported why, so `problems` is not empty here;
        // should that ever not hold, say so rather than panic or run a broken model.
        _ if problems.is_empty() => Err(vec![Problem::new(
            "",
            "the scenario could not be resolved, though no problem was found; please report this as a bug",
        )]),
        _ => Err(problems),
    }
}

/// Checks a table's keys against `T`'s fields (every unknown key, with the nearest valid
/// one), then deserializes the known keys.
fn typed<T: DeserializeOwned>(
    value: &toml::Value,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let Some(table) = value.as_table() else {
        let what = if path.is_empty() { "the file" } else { path };
        problems.push(Problem::new(
            path,
            format!("{what} must be a table, found {}", value.type_str()),
        ));
        return None;
    };
    let fields = serde_introspect::<T>();
    let mut known = table.clone();
    for key in table.keys() {
        if !fields.contains(&key.as_str()) {
            problems.push(Problem::new(
                join(path, key),
                unknown_key_message(key, fields),
            ));
            known.remove(key);
        }
    }
    if let Ok(raw) = toml::Value::Table(known.clone()).try_into::<T>() {
        return Some(raw);
    }
    // Some value has the wrong type. Every raw field is optional, so each key can be tried on
    // its own: report each bad key at its own path, and go on with the rest.
    let candidates: Vec<(&String, &toml::Value)> = table
        .iter()
        .filter(|(k, _)| known.contains_key(*k))
        .collect();
    for (key, value) in candidates {
        let single = toml::Table::from_iter([(key.clone(), value.clone())]);
        if let Err(e) = toml::Value::Table(single).try_into::<T>() {
            let message = e.message().trim().replace('\n', " ");
            problems.push(Problem::new(
                join(path, key),
                format!("{message} (found {})", describe(value)),
            ));
            known.remove(key);
        }
    }
    toml::Value::Table(known).try_into::<T>().ok()
}

/// A TOML value as a person would name it in a message.
fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("the string \"{s}\""),
        toml::Value::Table(_) => "a table".into(),
        toml::Value::Array(_) => "a list".into(),
        other => format!("{} {other}", other.type_str()),
    }
}

/// The `[[service]]` array, each element with its display path (`service.api`).
fn services(value: Option<&toml::Value>, problems: &mut Vec<Problem>) -> Vec<(String, RawService)> {
    let Some(value) = value else {
        problems.push(Problem::new(
            "service",
            "no [[service]] defined; a scenario needs at least one",
        ));
        return Vec::new();
    };
    let Some(array) = value.as_array() else {
        problems.push(Problem::new(
            "service",
            "services are written as [[service]] tables",
        ));
        return Vec::new();
    };
    array
        .iter()
        .enumerate()
        .filter_map(|(i, element)| {
            let path = match element.get("name").and_then(|n| n.as_str()) {
                Some(name) => format!("service.{name}"),
                None => format!("service[{i}]"),
            };
            typed::<RawService>(element, &path, problems).map(|raw| (path, raw))
        })
        .collect()
}

fn clock(run: &RawRun, problems: &mut Vec<Problem>) -> (u64, u64) {
    let duration_ns = match &run.duration {
        None => {
            problems.push(Problem::new(
                "scenario.duration",
                "missing scenario.duration, the simulated time; add e.g. duration = \"10m\"",
            ));
            None
        }
        Some(text) => match parse_duration_ns(text) {
            Ok(0) => {
                problems.push(Problem::new(
                    "scenario.duration",
                    "duration must be longer than 0",
                ));
                None
            }
            Ok(ns) => Some(ns),
            Err(e) => {
                problems.push(Problem::new("scenario.duration", e));
                None
            }
        },
    };
    let warmup_ns = match &run.warmup {
        None => Some(0),
        Some(text) => match parse_duration_ns(text) {
            Ok(ns) => Some(ns),
            Err(e) => {
                problems.push(Problem::new("scenario.warmup", e));
                None
            }
        },
    };
    if let (Some(d), Some(w)) = (duration_ns, warmup_ns) {
        if w >= d {
            problems.push(Problem::new(
                "scenario.warmup",
                format!(
                    "warmup \"{}\" is not shorter than duration \"{}\"; statistics cover [warmup, duration), so warmup must be less",
                    run.warmup.as_deref().unwrap_or_default(),
                    run.duration.as_deref().unwrap_or_default()
                ),
            ));
        }
    }
    (duration_ns.unwrap_or(1), warmup_ns.unwrap_or(0))
}

/// A whole number in `[min, max]`, or `default` when absent.
fn count(
    value: Option<i64>,
    path: &str,
    default: i64,
    min: i64,
    max: i64,
    problems: &mut Vec<Problem>,
) -> i64 {
    let v = value.unwrap_or(default);
    if v < min || v > max {
        problems.push(Problem::new(
            path,
            format!("{v} is out of range; use a whole number from {min} to {max}"),
        ));
        return default;
    }
    v
}

fn objectives(slo: &RawSlo, problems: &mut Vec<Problem>) -> Vec<Objective> {
    let mut out = Vec::new();
    let latency = [
        (Measure::Mean, &slo.mean),
        (Measure::P50, &slo.p50),
        (Measure::P90, &slo.p90),
        (Measure::P95, &slo.p95),
        (Measure::P99, &slo.p99),
        (Measure::P999, &slo.p999),
    ];
    for (measure, text) in latency {
        let Some(text) = text else { continue };
        match parse_duration_ns(text) {
            Ok(ns) => out.push(Objective {
                measure,
                target: ns as f64,
            }),
            Err(e) => problems.push(Problem::new(join("slo", measure.key()), e)),
        }
    }
    if let Some(a) = slo.availability {
        if (0.0..=1.0).contains(&a) {
            out.push(Objective {
                measure: Measure::Availability,
                target: a,
            });
        } else {
            problems.push(Problem::new(
                "slo.availability",
                format!(
                    "availability {a} is not a probability; use a ratio from 0 to 1, e.g. 0.999"
                ),
            ));
        }
    }
    out
}

fn probability(value: Option<f64>, path: &str, problems: &mut Vec<Problem>) -> f64 {
    match value {
        None => 0.0,
        Some(p) if (0.0..=1.0).contains(&p) => p,
        Some(p) => {
            problems.push(Problem::new(
                path,
                format!("{p} is not a probability; use a number from 0 to 1"),
            ));
            0.0
        }
    }
}

fn service(
    raw: &RawService,
    path: &str,
    names: &[String],
    problems: &mut Vec<Problem>,
) -> Option<Service> {
    let before = problems.len();
    let name = match &raw.name {
        Some(n) if !n.trim().is_empty() => n.clone(),
        _ => {
            problems.push(Problem::new(
                join(path, "name"),
                "every service needs a non-empty name",
            ));
            String::new()
        }
    };
    if names.iter().filter(|n| **n == name).count() > 1 && !name.is_empty() {
        problems.push(Problem::new(
            join(path, "name"),
            format!("service name \"{name}\" is used more than once; names must be unique"),
        ));
    }
    let replicas = count(
        raw.replicas,
        &join(path, "replicas"),
        1,
        1,
        MAX_WORKERS,
        problems,
    );
    let concurrency = count(
        raw.concurrency,
        &join(path, "concurrency"),
        1,
        1,
        MAX_WORKERS,
        problems,
    );
    if replicas * concurrency > MAX_WORKERS {
        problems.push(Problem::new(
            join(path, "replicas"),
            format!(
                "{replicas} replicas x {concurrency} workers is more than {MAX_WORKERS} workers"
            ),
        ));
    }
    let queue_capacity = raw.queue_capacity.map(|q| {
        count(
            Some(q),
            &join(path, "queue_capacity"),
            0,
            0,
            i64::from(u32::MAX),
            problems,
        ) as u32
    });
    let service_time = match &raw.service_time {
        Some(v) => super::distribution::parse(v, &join(path, "service_time"), problems),
        None => {
            problems.push(Problem::new(
                join(path, "service_time"),
                "missing service_time; add e.g. service_time = { dist = \"exponential\", mean = \"5ms\" }",
            ));
            None
        }
    };
    let mut calls = Vec::new();
    for (i, callee) in raw.calls.iter().flatten().enumerate() {
        match names.iter().position(|n| n == callee) {
            Some(id) => calls.push(Step::single(id as ServiceId)),
            None => problems.push(Problem::new(
                format!("{}[{i}]", join(path, "calls")),
                format!(
                    "unknown service \"{callee}\" in calls; defined services: {}",
                    names.join(", ")
                ),
            )),
        }
    }
    let error_rate = probability(raw.error_rate, &join(path, "error_rate"), problems);
    let price_per_hour_usd = match raw.price_per_hour {
        Some(p) if !(p >= 0.0 && p.is_finite()) => {
            problems.push(Problem::new(
                join(path, "price_per_hour"),
                format!("price {p} must be zero or more (USD per replica-hour)"),
            ));
            0.0
        }
        p => p.unwrap_or(0.0),
    };
    if problems.len() > before {
        return None;
    }
    Some(Service {
        name,
        replicas: replicas as u32,
        concurrency: concurrency as u32,
        queue_capacity,
        service_time: service_time?,
        plan: calls,
        blocking_calls: raw.blocking_calls.unwrap_or(false),
        error_rate,
        price_per_hour_usd,
        fleet: Default::default(),
    })
}

/// The most service visits one request may make: more is a call graph that fans out
/// combinatorially (each service calling several that call several ...), which no real
/// request does and which would take unbounded time to simulate.
const MAX_VISITS_PER_REQUEST: u64 = 100_000;
/// The deepest chain of calls a request may make. Real call chains are a handful deep; the
/// bound keeps every walk of the call tree (here, in theory and in the engine) shallow.
const MAX_CALL_DEPTH: u32 = 100;

/// The call graph's edges, by service index (unknown callees are reported elsewhere).
fn call_edges(raw: &[(String, RawService)], names: &[String]) -> Vec<Vec<usize>> {
    raw.iter()
        .map(|(_, s)| {
            s.calls
                .iter()
                .flatten()
                .filter_map(|c| names.iter().position(|n| n == c))
                .collect()
        })
        .collect()
}

/// Calls must form a directed acyclic graph (a cycle would make a request call itself
/// forever), and a request from the entry must stay within the visit and depth bounds.
fn check_call_graph(
    raw: &[(String, RawService)],
    names: &[String],
    entry: Option<usize>,
    problems: &mut Vec<Problem>,
) {
    let edges = call_edges(raw, names);
    if let Some(cycle) = graph::find_cycle(&edges) {
        let path: Vec<&str> = cycle.iter().map(|&n| names[n].as_str()).collect();
        problems.push(Problem::new(
            join(&raw[cycle[cycle.len() - 2]].0, "calls"),
            format!(
                "calls form a cycle: {}; a request would call itself forever",
                path.join(" -> ")
            ),
        ));
        return;
    }
    let Some(entry) = entry else { return };
    let (visits, depth) = graph::visits_and_depth(&edges)[entry];
    if visits > MAX_VISITS_PER_REQUEST {
        problems.push(Problem::new(
            join(&raw[entry].0, "calls"),
            format!("one request would make {visits} service visits through these calls; the limit is {MAX_VISITS_PER_REQUEST}"),
        ));
    }
    if depth > MAX_CALL_DEPTH {
        problems.push(Problem::new(
            join(&raw[entry].0, "calls"),
            format!("calls nest {depth} services deep; the limit is {MAX_CALL_DEPTH}"),
        ));
    }
}

fn traffic_model(
    raw: &RawTraffic,
    names: &[String],
    problems: &mut Vec<Problem>,
) -> Option<Traffic> {
    let paced_elsewhere = raw.trace.is_some() || raw.users.is_some() || raw.think_time.is_some();
    let rate_per_s = match raw.rate {
        // A trace or a closed loop sets the pace; `world_keys` fills in the mean rate.
        None if paced_elsewhere => Some(1.0),
        None => {
            problems.push(Problem::new(
                "traffic.rate",
                "missing traffic.rate, arrivals per second; add e.g. rate = 100",
            ));
            None
        }
        // Time has nanosecond resolution: a faster rate would make every gap zero.
        Some(r) if r > 0.0 && r <= 1e9 => Some(r),
        Some(r) => {
            problems.push(Problem::new(
                "traffic.rate",
                format!("rate {r} must be more than 0 and at most 1e9 requests per second"),
            ));
            None
        }
    };
    // Without `entry`, requests enter at the first service listed, as a one-service file expects.
    let entry = match &raw.entry {
        None => (!names.is_empty()).then_some(0),
        Some(e) => match names.iter().position(|n| n == e) {
            Some(id) => Some(id),
            None => {
                problems.push(Problem::new(
                    "traffic.entry",
                    format!(
                        "unknown service \"{e}\"; defined services: {}",
                        names.join(", ")
                    ),
                ));
                None
            }
        },
    };
    Some(Traffic {
        rate_per_s: rate_per_s?,
        entry: entry?,
        arrivals: super::world::Arrivals::Poisson,
        residency: raw.residency.unwrap_or(false),
        payload_kb: match raw.payload_kb {
            Some(kb) if !(kb >= 0.0 && kb.is_finite()) => {
                problems.push(Problem::new(
                    "traffic.payload_kb",
                    format!("payload_kb {kb} must be zero or more"),
                ));
                0.0
            }
            kb => kb.unwrap_or(0.0),
        },
    })
}
