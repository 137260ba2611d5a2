//! The request-path keys: `[[class]]`, the entries of `calls` (plain names, call tables with
//! timeouts, retries, hedges, probabilities, network latency and fallbacks, `parallel`
//! steps with a join), balancers, caches, batching, rate limits, queue timeouts and circuit
//! breakers. Every mistake becomes a [`Problem`] at its key path.

use super::distribution;
use super::ids::NameIndex;
use super::keys;
use super::model::{
    BalancerKind, Batch, Cache, Call, CircuitBreaker, ClassId, Join, KeySpace, Lookup, Policy,
    Popularity, RateLimit, Retries, RetryBudget, Scope, ServiceId, Step, Store, Trip,
    DEFAULT_VIRTUAL_NODES, MAX_BALANCER_INSTANCES, MAX_VIRTUAL_NODES,
};
use super::problem::{join, nearest, Problem};
use super::raw::RawService;
use super::reader::{a_value, TableReader};

/// The names a call can refer to.
pub struct Names<'a> {
    pub services: &'a NameIndex,
    pub classes: &'a NameIndex,
}

impl Names<'_> {
    fn service(&self, name: &str, path: &str, problems: &mut Vec<Problem>) -> Option<ServiceId> {
        let found = self.services.position(name);
        if found.is_none() {
            let hint = nearest(
                name,
                &self.services.iter().map(String::as_str).collect::<Vec<_>>(),
            )
            .map(|near| format!("did you mean \"{near}\"? "))
            .unwrap_or_default();
            problems.push(Problem::new(
                path,
                format!(
                    "unknown service \"{name}\" in calls; {hint}defined services: {}",
                    super::problem::listing(self.services)
                ),
            ));
        }
        found
    }
}

/// Every example a message may show.
const CALL_EXAMPLE: &str = r#"{ service = "db", timeout = "50ms" }"#;
const PARALLEL_EXAMPLE: &str = r#"{ parallel = ["m1", "m2", "m3"], join = "all" }"#;
/// The call keys that are about waiting for the answer, which a fire-and-forget call never
/// does.
const WAITING_KEYS: [&str; 6] = [
    "timeout", "retries", "hedge", "optional", "fallback", "latency",
];

/// A list of call entries (`calls` or `on_miss`) at `path`: each a step.
pub fn plan(
    value: &toml::Value,
    path: &str,
    names: &Names,
    problems: &mut Vec<Problem>,
) -> Vec<Step> {
    let Some(entries) = value.as_array() else {
        problems.push(Problem::new(
            path,
            format!(
                "must be a list of calls, e.g. [\"db\"] or [{CALL_EXAMPLE}], not {}",
                a_value(value)
            ),
        ));
        return Vec::new();
    };
    entries
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| step(entry, &format!("{path}[{i}]"), names, problems))
        .collect()
}

fn step(
    value: &toml::Value,
    path: &str,
    names: &Names,
    problems: &mut Vec<Problem>,
) -> Option<Step> {
    if let Some(table) = value.as_table() {
        if table.contains_key("parallel") {
            return parallel(value, path, names, problems);
        }
    }
    call(value, path, names, problems).map(|call| Step {
        calls: vec![call],
        join: Join::All,
        deadline_ns: None,
        fallback: None,
    })
}

/// `{ parallel = [...], join = "all" | "any" | k }`.
fn parallel(
    value: &toml::Value,
    path: &str,
    names: &Names,
    problems: &mut Vec<Problem>,
) -> Option<Step> {
    let mut reader = TableReader::new(value, path, problems, "a parallel step")?;
    reader.example = PARALLEL_EXAMPLE;
    reader.check_keys(
        &keys::names_in("service.calls (parallel)"),
        |_| false,
        "in a parallel step",
    );
    let deadline_ns = positive_duration(&mut reader, "deadline");
    let fallback = reader
        .table
        .get("fallback")
        .and_then(|v| fallback(v, &join(path, "fallback"), names, reader.problems));
    let entries = reader.required("parallel")?;
    let Some(list) = entries.as_array().filter(|l| !l.is_empty()) else {
        reader.problem(
            "parallel",
            format!("parallel must be a non-empty list of calls, e.g. {PARALLEL_EXAMPLE}"),
        );
        return None;
    };
    let before = reader.problems.len();
    let calls: Vec<Call> = list
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| {
            call(
                entry,
                &format!("{}[{i}]", join(path, "parallel")),
                names,
                reader.problems,
            )
        })
        .collect();
    let n = list.len();
    let join_policy = match reader.table.get("join") {
        None => Some(Join::All),
        Some(toml::Value::String(s)) if s == "all" => Some(Join::All),
        Some(toml::Value::String(s)) if s == "any" => Some(Join::Any),
        Some(toml::Value::Integer(k)) if (1..=n as i64).contains(k) => {
            Some(Join::AtLeast(*k as u16))
        }
        Some(toml::Value::Integer(k)) => {
            reader.problem(
                "join",
                format!("join = {k} needs {k} successes out of {n} calls; use a whole number from 1 to {n}, \"all\" or \"any\""),
            );
            None
        }
        Some(other) => {
            reader.problem(
                "join",
                format!("join must be \"all\", \"any\" or a whole number of calls from 1 to {n}, not {}", a_value(other)),
            );
            None
        }
    };
    if reader.problems.len() > before || calls.len() < n {
        return None;
    }
    Some(Step {
        calls,
        join: join_policy?,
        deadline_ns,
        fallback,
    })
}

/// A fallback (of a call or of a step): a call, by name or as a table, that is waited for.
fn fallback(
    value: &toml::Value,
    path: &str,
    names: &Names,
    problems: &mut Vec<Problem>,
) -> Option<Box<Call>> {
    if let Some(table) = value.as_table() {
        for key in ["probability", "classes", "optional"] {
            if table.contains_key(key) {
                problems.push(Problem::new(
                    join(path, key),
                    format!("{key} does not apply to a fallback: it is made whenever what it stands in for failed, and its failure is the call's"),
                ));
            }
        }
    }
    let call = call(value, path, names, problems)?;
    if call.fire_and_forget {
        problems.push(Problem::new(
            join(path, "fire_and_forget"),
            "a fallback is made to be waited for; it cannot be fire_and_forget",
        ));
        return None;
    }
    Some(Box::new(call))
}

/// A plain name, or a call table.
fn call(
    value: &toml::Value,
    path: &str,
    names: &Names,
    problems: &mut Vec<Problem>,
) -> Option<Call> {
    if let toml::Value::String(name) = value {
        return names.service(name, path, problems).map(Call::to);
    }
    let expected = format!("a service name or a call table such as {CALL_EXAMPLE}");
    let mut reader = TableReader::new(value, path, problems, &expected)?;
    reader.example = CALL_EXAMPLE;
    let before = reader.problems.len();
    if reader.table.contains_key("async") {
        reader.problem(
            "async",
            "async is not a key: every call already frees the worker (blocking_calls = false) while the caller waits for the answer; for a call made and never waited for, write fire_and_forget = true",
        );
    }
    reader.check_keys(
        &keys::names_in("service.calls"),
        |k| k == "async",
        "in a call",
    );
    let service = match reader.required("service") {
        Some(toml::Value::String(name)) => {
            let at = join(path, "service");
            names.service(name, &at, reader.problems)
        }
        Some(other) => {
            let message = format!("service must name a service, not {}", a_value(other));
            reader.problem("service", message);
            None
        }
        None => None,
    };
    let timeout_ns = positive_duration(&mut reader, "timeout");
    let (hedge_ns, hedge_budget) = match reader.table.get("hedge") {
        Some(value @ toml::Value::Table(_)) => {
            hedge(value, &join(path, "hedge"), reader.problems).unwrap_or((None, None))
        }
        _ => (positive_duration(&mut reader, "hedge"), None),
    };
    let probability = match reader.opt_number("probability") {
        Some(p) if !(0.0..=1.0).contains(&p) => {
            reader.problem(
                "probability",
                format!("probability {p} is not a probability; use a number from 0 to 1"),
            );
            1.0
        }
        Some(p) => p,
        None => 1.0,
    };
    let latency = reader.table.get("latency").and_then(|v| {
        let at = join(path, "latency");
        distribution::parse(v, &at, reader.problems)
    });
    let optional = reader.opt_bool("optional").unwrap_or(false);
    let classes = reader
        .table
        .get("classes")
        .and_then(|v| class_list(v, &join(path, "classes"), names, reader.problems));
    let retries = reader
        .table
        .get("retries")
        .and_then(|v| retries(v, &join(path, "retries"), reader.problems));
    let fallback = reader
        .table
        .get("fallback")
        .and_then(|v| fallback(v, &join(path, "fallback"), names, reader.problems));
    let fire_and_forget = reader.opt_bool("fire_and_forget").unwrap_or(false);
    if fire_and_forget {
        for key in WAITING_KEYS {
            if reader.table.contains_key(key) {
                reader.problem(
                    key,
                    format!("{key} is about waiting for the answer, which a fire_and_forget call never does; drop {key} or fire_and_forget"),
                );
            }
        }
    }
    if reader.problems.len() > before {
        return None;
    }
    Some(Call {
        service: service?,
        timeout_ns,
        retries,
        hedge_ns,
        hedge_budget,
        probability,
        latency,
        optional,
        classes,
        fallback,
        fire_and_forget,
    })
}

/// An optional duration that must be more than 0 (a zero timeout or hedge would fire at once).
fn positive_duration(reader: &mut TableReader, key: &str) -> Option<u64> {
    let ns = reader.opt_duration_ns(key)?;
    if ns > 0.0 {
        Some(ns as u64)
    } else {
        reader.problem(key, format!("{key} must be longer than 0"));
        None
    }
}

fn class_list(
    value: &toml::Value,
    path: &str,
    names: &Names,
    problems: &mut Vec<Problem>,
) -> Option<Vec<ClassId>> {
    let Some(list) = value.as_array() else {
        problems.push(Problem::new(
            path,
            format!(
                "classes must be a list of class names, e.g. classes = [\"checkout\"], not {}",
                a_value(value)
            ),
        ));
        return None;
    };
    let mut ids = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let at = format!("{path}[{i}]");
        match item.as_str().and_then(|n| names.classes.position(n)) {
            Some(id) => ids.push(id as ClassId),
            None => problems.push(Problem::new(
                at,
                format!(
                    "{} is not a class; defined classes: {}",
                    a_value(item),
                    names.classes.join(", ")
                ),
            )),
        }
    }
    (ids.len() == list.len()).then_some(ids)
}

/// `{ attempts = 3, backoff = "10ms", max_backoff = "1s", budget = 0.1, budget_window = "10s",
/// min_retries_per_s = 10 }`.
fn retries(value: &toml::Value, path: &str, problems: &mut Vec<Problem>) -> Option<Retries> {
    let example = r#"{ attempts = 3, backoff = "10ms", budget = 0.1 }"#;
    let mut reader = TableReader::new(
        value,
        path,
        problems,
        &format!("a retry table such as {example}"),
    )?;
    reader.example = example;
    let before = reader.problems.len();
    reader.check_keys(
        &keys::names_at("service.calls.retries"),
        |_| false,
        "in retries",
    );
    let attempts = match reader.table.get("attempts") {
        None => {
            reader.required("attempts");
            None
        }
        Some(_) => reader.opt_whole("attempts", 1, 100),
    };
    let backoff_ns = reader.opt_duration_ns("backoff").unwrap_or(0.0) as u64;
    let max_backoff_ns = reader
        .opt_duration_ns("max_backoff")
        .map_or(DEFAULT_MAX_BACKOFF_NS, |ns| ns as u64);
    let ratio = match reader.opt_number("budget") {
        Some(b) if !(b >= 0.0 && b.is_finite()) => {
            reader.problem(
                "budget",
                format!(
                    "budget {b} must be 0 or more: retries allowed per first attempt, e.g. 0.1"
                ),
            );
            None
        }
        other => other,
    };
    let (window_ns, min_per_s) = budget_window_and_floor(&mut reader, "min_retries_per_s");
    let budget_scope = scope(&mut reader, "budget_scope");
    let has_budget_keys = ["budget_window", "min_retries_per_s", "budget_scope"]
        .iter()
        .any(|k| reader.table.contains_key(*k));
    if has_budget_keys && ratio.is_none() && !reader.table.contains_key("budget") {
        reader.problem_here("budget_window, min_retries_per_s and budget_scope shape a retry budget; give the budget too, e.g. budget = 0.1");
    }
    if reader.problems.len() > before {
        return None;
    }
    let budget = match ratio {
        Some(ratio) => Some(RetryBudget {
            ratio,
            window_ns: window_ns?,
            min_per_s: min_per_s?,
            scope: budget_scope?,
        }),
        None => None,
    };
    Some(Retries {
        attempts: attempts? as u32,
        backoff_ns,
        max_backoff_ns,
        budget,
    })
}

/// `scope = "caller"` (the default) or `"service"`: where a breaker's or a budget's state
/// lives.
fn scope(reader: &mut TableReader, key: &str) -> Option<Scope> {
    let text = reader.opt_string(key).map(str::to_owned);
    match text.as_deref() {
        None if reader.table.contains_key(key) => None,
        None => Some(Scope::default()),
        Some("caller") => Some(Scope::Caller),
        Some("service") => Some(Scope::Service),
        Some(other) => {
            let message = format!(
                "{key} must be \"caller\" (state in each calling replica) or \"service\" (one state shared by every caller), not \"{other}\""
            );
            reader.problem(key, message);
            None
        }
    }
}

/// `hedge = { after = "5ms", max_extra_load = 0.05, budget_window = "10s",
/// min_hedges_per_s = 10 }`: the delay, and a budget for the hedges (Finagle's
/// `BackupRequestFilter`); without `max_extra_load`, hedges are not budgeted, as with
/// `hedge = "5ms"`.
fn hedge(
    value: &toml::Value,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Option<(Option<u64>, Option<RetryBudget>)> {
    let example = r#"{ after = "5ms", max_extra_load = 0.05 }"#;
    let mut reader = TableReader::new(value, path, problems, "")?;
    reader.example = example;
    let before = reader.problems.len();
    reader.check_keys(
        &keys::names_at("service.calls.hedge"),
        |_| false,
        "in a hedge",
    );
    let after_ns = match reader.duration_ns("after") {
        Some(ns) if ns <= 0.0 => {
            reader.problem("after", "after must be longer than 0");
            None
        }
        other => other.map(|ns| ns as u64),
    };
    let ratio = match reader.opt_number("max_extra_load") {
        Some(x) if !(0.0..=1.0).contains(&x) => {
            reader.problem(
                "max_extra_load",
                format!(
                    "max_extra_load {x} must be from 0 to 1: hedges allowed per attempt, e.g. 0.05"
                ),
            );
            None
        }
        other => other,
    };
    let (window_ns, min_per_s) = budget_window_and_floor(&mut reader, "min_hedges_per_s");
    let has_budget_keys = ["budget_window", "min_hedges_per_s"]
        .iter()
        .any(|k| reader.table.contains_key(*k));
    if has_budget_keys && !reader.table.contains_key("max_extra_load") {
        reader.problem_here("budget_window and min_hedges_per_s shape a hedge budget; give max_extra_load too, e.g. max_extra_load = 0.05");
    }
    if reader.problems.len() > before {
        return None;
    }
    let budget = match ratio {
        Some(ratio) => Some(RetryBudget {
            ratio,
            window_ns: window_ns?,
            min_per_s: min_per_s?,
            // One per caller service and callee, as retry budgets with that scope.
            scope: Scope::Service,
        }),
        None => None,
    };
    Some((after_ns, budget))
}

/// A budget's `budget_window` (default 10 s) and its floor `floor_key` per second (default
/// 10), as Finagle's RetryBudget takes them: what retry and hedge budgets share.
fn budget_window_and_floor(
    reader: &mut TableReader,
    floor_key: &str,
) -> (Option<u64>, Option<f64>) {
    let window_ns = match reader.opt_duration_ns("budget_window") {
        Some(ns) if ns <= 0.0 => {
            reader.problem("budget_window", "budget_window must be longer than 0");
            None
        }
        Some(ns) => Some(ns as u64),
        None => Some(DEFAULT_BUDGET_WINDOW_NS),
    };
    let min_per_s = match reader.opt_number(floor_key) {
        Some(m) if !(m >= 0.0 && m.is_finite()) => {
            reader.problem(floor_key, format!("{floor_key} {m} must be 0 or more"));
            None
        }
        Some(m) => Some(m),
        None => Some(DEFAULT_MIN_RETRIES_PER_S),
    };
    (window_ns, min_per_s)
}

/// The cap on a backoff when `max_backoff` is not given (the AWS SDKs' default cap is 20 s).
pub const DEFAULT_MAX_BACKOFF_NS: u64 = 20_000_000_000;
/// Finagle's RetryBudget defaults: a 10 s window and 10 retries a second allowed regardless.
pub const DEFAULT_BUDGET_WINDOW_NS: u64 = 10_000_000_000;
pub const DEFAULT_MIN_RETRIES_PER_S: f64 = 10.0;

const BALANCERS: [(&str, &str); 7] = [
    ("round_robin", r#"balancer = "round_robin""#),
    ("random", r#"balancer = "random""#),
    ("least_outstanding", r#"balancer = "least_outstanding""#),
    ("power_of_two", r#"balancer = "power_of_two""#),
    (
        "weighted",
        r#"balancer = { kind = "weighted", weights = [3, 1] }"#,
    ),
    ("consistent_hash", r#"balancer = "consistent_hash""#),
    (
        "consistent_hash",
        r#"balancer = { kind = "consistent_hash", virtual_nodes = 160 }"#,
    ),
];

/// A balancer table of a kind without options of its own, as the problems show it.
const INSTANCES_EXAMPLE: &str = r#"balancer = { kind = "least_outstanding", instances = 2 }"#;

/// `balancer = "random"`, `{ kind = "weighted", weights = [...] }`,
/// `{ kind = "consistent_hash", virtual_nodes = 160 }`, or any kind's table with
/// `instances = N`: the policy and its number of independent instances (1 unless given).
pub fn balancer(
    value: &toml::Value,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Option<(BalancerKind, u32)> {
    let mut names: Vec<&str> = BALANCERS.iter().map(|(n, _)| *n).collect();
    names.dedup();
    let (kind, table) = match value {
        toml::Value::String(name) => (name.as_str(), None),
        toml::Value::Table(table) => match table.get("kind") {
            Some(toml::Value::String(name)) => (name.as_str(), Some(value)),
            _ => {
                problems.push(Problem::new(
                    join(path, "kind"),
                    format!("a balancer table names its kind, e.g. {}", BALANCERS[4].1),
                ));
                return None;
            }
        },
        other => {
            problems.push(Problem::new(
                path,
                format!(
                    "balancer must be one of {}, not {}",
                    names.join(", "),
                    a_value(other)
                ),
            ));
            return None;
        }
    };
    let at = if table.is_some() {
        join(path, "kind")
    } else {
        path.to_string()
    };
    let plain = |kind: BalancerKind, problems: &mut Vec<Problem>| {
        let Some(table) = table else {
            return Some((kind, 1));
        };
        let mut reader = TableReader::new(table, path, problems, "a balancer table")?;
        reader.example = INSTANCES_EXAMPLE;
        reader.check_keys(
            &keys::names_in(
                "service.balancer (round_robin, random, least_outstanding, power_of_two)",
            ),
            |_| false,
            "in this balancer",
        );
        Some((kind, instances(&mut reader)?))
    };
    match kind {
        "round_robin" => plain(BalancerKind::RoundRobin, problems),
        "random" => plain(BalancerKind::Random, problems),
        "least_outstanding" => plain(BalancerKind::LeastOutstanding, problems),
        "power_of_two" => plain(BalancerKind::PowerOfTwo, problems),
        "consistent_hash" => {
            let Some(table) = table else {
                return Some((
                    BalancerKind::ConsistentHash {
                        virtual_nodes: DEFAULT_VIRTUAL_NODES,
                    },
                    1,
                ));
            };
            let mut reader = TableReader::new(table, path, problems, "a balancer table")?;
            reader.example = BALANCERS[6].1;
            reader.check_keys(
                &keys::names_in("service.balancer (consistent_hash)"),
                |_| false,
                "in a consistent_hash balancer",
            );
            let before = reader.problems.len();
            let given = reader.opt_whole("virtual_nodes", 1, i64::from(MAX_VIRTUAL_NODES));
            let instances = instances(&mut reader);
            if reader.problems.len() > before {
                return None;
            }
            let virtual_nodes = given.map_or(DEFAULT_VIRTUAL_NODES, |n| n as u32);
            Some((BalancerKind::ConsistentHash { virtual_nodes }, instances?))
        }
        "weighted" => {
            let Some(table) = table else {
                problems.push(Problem::new(
                    path,
                    format!("a weighted balancer needs weights, e.g. {}", BALANCERS[4].1),
                ));
                return None;
            };
            let mut reader = TableReader::new(table, path, problems, "a balancer table")?;
            reader.example = BALANCERS[4].1;
            reader.check_keys(
                &keys::names_in("service.balancer (weighted)"),
                |_| false,
                "in a weighted balancer",
            );
            let instances = instances(&mut reader);
            let weights = reader.required("weights")?;
            let parsed: Option<Vec<f64>> = weights.as_array().and_then(|list| {
                list.iter()
                    .map(|w| w.as_float().or_else(|| w.as_integer().map(|i| i as f64)))
                    .map(|w| w.filter(|w| *w > 0.0 && w.is_finite()))
                    .collect()
            });
            match parsed {
                Some(weights) if !weights.is_empty() => {
                    Some((BalancerKind::Weighted(weights), instances?))
                }
                _ => {
                    reader.problem("weights", "weights must be a non-empty list of positive numbers, one per replica, e.g. weights = [3, 1]");
                    None
                }
            }
        }
        other => {
            let hint = nearest(other, &names)
                .map(|near| format!("did you mean \"{near}\"? "))
                .unwrap_or_default();
            problems.push(Problem::new(
                at,
                format!(
                    "unknown balancer \"{other}\"; {hint}valid balancers: {}",
                    names.join(", ")
                ),
            ));
            None
        }
    }
}

/// A balancer table's `instances`: 1 unless given, else a whole number from 1 to
/// [`MAX_BALANCER_INSTANCES`] (`None` with a problem otherwise).
fn instances(reader: &mut TableReader) -> Option<u32> {
    let before = reader.problems.len();
    let given = reader.opt_whole("instances", 1, i64::from(MAX_BALANCER_INSTANCES));
    if reader.problems.len() > before {
        return None;
    }
    Some(given.map_or(1, |n| n as u32))
}

/// The cache keys of a `[[service]]` with `kind = "cache"`: `hit_ratio`, or `capacity`,
/// `keys`, `popularity`, `policy` and `ttl`; `on_miss` is parsed by the caller.
pub fn cache_lookup(raw: &RawService, path: &str, problems: &mut Vec<Problem>) -> Option<Lookup> {
    let keyed_given: Vec<&str> = keyed_keys_given(raw)
        .into_iter()
        .filter_map(|(key, given)| given.then_some(key))
        .collect();
    match (raw.hit_ratio, keyed_given.is_empty()) {
        (Some(_), false) => {
            problems.push(Problem::new(
                join(path, "hit_ratio"),
                format!(
                    "a cache has either a fixed hit_ratio or a keyed store, not both; found hit_ratio and {}",
                    keyed_given.join(", ")
                ),
            ));
            None
        }
        (Some(h), true) if (0.0..=1.0).contains(&h) => Some(Lookup::Fixed { hit_ratio: h }),
        (Some(h), true) => {
            problems.push(Problem::new(
                join(path, "hit_ratio"),
                format!("hit_ratio {h} is not a probability; use a number from 0 to 1"),
            ));
            None
        }
        (None, true) => {
            problems.push(Problem::new(
                join(path, "kind"),
                "a cache needs either hit_ratio (e.g. hit_ratio = 0.9) or a keyed store (capacity, keys and popularity, e.g. capacity = 10000, keys = 1000000, popularity = { zipf = 0.8 })",
            ));
            None
        }
        (None, false) => keyed(raw, path, problems),
    }
}

fn keyed(raw: &RawService, path: &str, problems: &mut Vec<Problem>) -> Option<Lookup> {
    let before = problems.len();
    let whole = |value: Option<i64>, key: &str, problems: &mut Vec<Problem>| match value {
        None => {
            problems.push(Problem::new(
                join(path, key),
                format!("a keyed cache needs {key}; e.g. capacity = 10000 (items per replica) and keys = 1000000 (items requests ask for)"),
            ));
            None
        }
        Some(n) if (1..=MAX_KEYS).contains(&n) => Some(n as u64),
        Some(n) => {
            problems.push(Problem::new(
                join(path, key),
                format!("{key} = {n} is out of range; use a whole number from 1 to {MAX_KEYS}"),
            ));
            None
        }
    };
    let capacity = whole(raw.capacity, "capacity", problems);
    let keys = whole(raw.keys, "keys", problems);
    let popularity = match &raw.popularity {
        None => Some(Popularity::Uniform),
        Some(value) => popularity(value, &join(path, "popularity"), problems),
    };
    let policy = match raw.policy.as_deref() {
        None | Some("lru") => Some(Policy::Lru),
        Some("lfu") => Some(Policy::Lfu),
        Some("fifo") => Some(Policy::Fifo),
        Some("random") => Some(Policy::Random),
        Some("redis_lru") => redis_lru(raw, path, problems),
        Some(other) => {
            problems.push(Problem::new(
                join(path, "policy"),
                format!(
                    "unknown policy \"{other}\"; valid policies: lru, lfu, fifo, random, redis_lru"
                ),
            ));
            None
        }
    };
    if raw.policy.as_deref() != Some("redis_lru") {
        for (key, given) in [
            ("samples", raw.samples.is_some()),
            ("clock", raw.clock.is_some()),
        ] {
            if given {
                problems.push(Problem::new(
                    join(path, key),
                    format!(
                        "{key} applies only to policy = \"redis_lru\" (Redis's sampled LRU), not to policy = \"{}\"",
                        raw.policy.as_deref().unwrap_or("lru")
                    ),
                ));
            }
        }
    }
    let ttl_ns = match &raw.ttl {
        None => Some(None),
        Some(text) => positive_duration_ns(text, &join(path, "ttl"), "", problems).map(Some),
    };
    if problems.len() > before {
        return None;
    }
    Some(Lookup::Keyed(
        KeySpace {
            keys: keys?,
            popularity: popularity?,
        },
        Store {
            capacity: capacity?,
            policy: policy?,
            ttl_ns: ttl_ns?,
        },
    ))
}

/// The largest key space or capacity: a billion keys (200 million users with a few keys
/// each). A Zipf law draws a key in O(1) time and memory whatever the number of keys
/// (rejection-inversion), and Che's approximation sums its first ranks and integrates the
/// rest (`metrics::theory`), so neither grows with the key space.
const MAX_KEYS: i64 = 1_000_000_000;

/// Redis's bounds of `maxmemory-samples`.
const MAX_SAMPLES: i64 = 64;

/// `policy = "redis_lru"`, its `samples` (default 5, as Redis's `maxmemory-samples`) and
/// `clock` (default 1 s, Redis's `LRU_CLOCK_RESOLUTION`).
fn redis_lru(raw: &RawService, path: &str, problems: &mut Vec<Problem>) -> Option<Policy> {
    let samples = match raw.samples {
        None => Some(5),
        Some(n) if (1..=MAX_SAMPLES).contains(&n) => Some(n as u32),
        Some(n) => {
            problems.push(Problem::new(
                join(path, "samples"),
                format!("samples = {n} is out of range; use a whole number from 1 to {MAX_SAMPLES} (keys sampled per eviction, as Redis's maxmemory-samples; default 5)"),
            ));
            None
        }
    };
    let clock_ns = match &raw.clock {
        None => Some(1_000_000_000),
        Some(text) => positive_duration_ns(
            text,
            &join(path, "clock"),
            " (the tick of the LRU clock; Redis's is \"1s\")",
            problems,
        ),
    };
    Some(Policy::RedisLru {
        samples: samples?,
        clock_ns: clock_ns?,
    })
}

/// A duration longer than 0 at `path` (`ttl`, `clock`); `hint` follows the message for 0.
fn positive_duration_ns(
    text: &str,
    path: &str,
    hint: &str,
    problems: &mut Vec<Problem>,
) -> Option<u64> {
    match super::duration::parse_duration_ns(text) {
        Ok(0) => {
            let key = path.rsplit('.').next().unwrap_or(path);
            problems.push(Problem::new(
                path,
                format!("{key} must be longer than 0{hint}"),
            ));
            None
        }
        Ok(ns) => Some(ns),
        Err(e) => {
            problems.push(Problem::new(path, e));
            None
        }
    }
}

/// The keys of a keyed cache, and whether each is given.
fn keyed_keys_given(raw: &RawService) -> [(&'static str, bool); 7] {
    [
        ("capacity", raw.capacity.is_some()),
        ("keys", raw.keys.is_some()),
        ("popularity", raw.popularity.is_some()),
        ("policy", raw.policy.is_some()),
        ("samples", raw.samples.is_some()),
        ("clock", raw.clock.is_some()),
        ("ttl", raw.ttl.is_some()),
    ]
}

/// `popularity = { zipf = 0.8 }` or `"uniform"`.
fn popularity(value: &toml::Value, path: &str, problems: &mut Vec<Problem>) -> Option<Popularity> {
    match value {
        toml::Value::String(s) if s == "uniform" => return Some(Popularity::Uniform),
        toml::Value::Table(t) if t.len() == 1 => {
            if let Some(exponent) = t.get("zipf") {
                let exponent = exponent
                    .as_float()
                    .or_else(|| exponent.as_integer().map(|i| i as f64));
                match exponent {
                    Some(a) if a > 0.0 && a <= 10.0 => return Some(Popularity::Zipf(a)),
                    _ => {
                        problems.push(Problem::new(
                            join(path, "zipf"),
                            "the zipf exponent must be a number above 0 and at most 10, e.g. { zipf = 0.8 }",
                        ));
                        return None;
                    }
                }
            }
        }
        _ => {}
    }
    problems.push(Problem::new(
        path,
        format!("popularity must be {{ zipf = EXPONENT }} (e.g. {{ zipf = 0.8 }}) or \"uniform\", not {}", a_value(value)),
    ));
    None
}

/// `batch = { max_size = 32, timeout = "5ms", per_item = "1ms" }`.
pub fn batch(value: &toml::Value, path: &str, problems: &mut Vec<Problem>) -> Option<Batch> {
    let example = r#"{ max_size = 32, timeout = "5ms", per_item = "1ms" }"#;
    let mut reader = TableReader::new(
        value,
        path,
        problems,
        &format!("a batch table such as {example}"),
    )?;
    reader.example = example;
    let before = reader.problems.len();
    reader.check_keys(&keys::names_at("service.batch"), |_| false, "in batch");
    let max_size = match reader.table.get("max_size") {
        None => {
            reader.required("max_size");
            None
        }
        Some(toml::Value::Integer(0)) => {
            reader.problem(
                "max_size",
                "max_size must be at least 1 (a batch of 0 never starts)",
            );
            None
        }
        Some(_) => reader.opt_whole("max_size", 1, 1_000_000),
    };
    let timeout_ns = match reader.table.get("timeout") {
        None => {
            reader.required("timeout");
            None
        }
        Some(_) => reader.opt_duration_ns("timeout"),
    };
    let per_item_ns = reader.opt_duration_ns("per_item").unwrap_or(0.0);
    if reader.problems.len() > before {
        return None;
    }
    Some(Batch {
        max_size: max_size? as u32,
        timeout_ns: timeout_ns? as u64,
        per_item_ns: per_item_ns as u64,
    })
}

/// `rate_limit = { rate = 1000, burst = 100 }`.
pub fn rate_limit(
    value: &toml::Value,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Option<RateLimit> {
    let example = r#"{ rate = 1000, burst = 100 }"#;
    let mut reader = TableReader::new(
        value,
        path,
        problems,
        &format!("a token bucket such as {example}"),
    )?;
    reader.example = example;
    let before = reader.problems.len();
    reader.check_keys(
        &keys::names_at("service.rate_limit"),
        |_| false,
        "in rate_limit",
    );
    let rate = reader.positive_number("rate");
    let burst = match reader.opt_number("burst") {
        Some(b) if b < 1.0 => {
            reader.problem(
                "burst",
                format!("burst {b} must be at least 1 (tokens the bucket holds)"),
            );
            None
        }
        Some(b) => Some(b),
        None => rate.map(|r| r.max(1.0)),
    };
    if reader.problems.len() > before {
        return None;
    }
    Some(RateLimit {
        rate_per_s: rate?,
        burst: burst?,
    })
}

/// `circuit_breaker = { failures = 5, open_for = "30s" }` or
/// `{ error_rate = 0.5, window = "10s", min_requests = 20, open_for = "30s" }`.
pub fn circuit_breaker(
    value: &toml::Value,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Option<CircuitBreaker> {
    let example = r#"{ failures = 5, open_for = "30s" } or { error_rate = 0.5, window = "10s", min_requests = 20, open_for = "30s" }"#;
    let mut reader = TableReader::new(
        value,
        path,
        problems,
        &format!("a circuit breaker such as {example}"),
    )?;
    reader.example = example;
    let before = reader.problems.len();
    reader.check_keys(
        &keys::names_at("service.circuit_breaker"),
        |_| false,
        "in circuit_breaker",
    );
    let scope = scope(&mut reader, "scope");
    let open_ns = match reader.table.get("open_for") {
        None => {
            reader.required("open_for");
            None
        }
        Some(_) => positive_duration(&mut reader, "open_for"),
    };
    let trip = match (
        reader.table.contains_key("failures"),
        reader.table.contains_key("error_rate"),
    ) {
        (true, false) => reader
            .opt_whole("failures", 1, 1_000_000)
            .map(|n| Trip::ConsecutiveFailures(n as u32)),
        (false, true) => {
            let ratio = match reader.opt_number("error_rate") {
                Some(r) if r > 0.0 && r <= 1.0 => Some(r),
                Some(r) => {
                    reader.problem(
                        "error_rate",
                        format!("error_rate {r} must be above 0 and at most 1"),
                    );
                    None
                }
                None => None,
            };
            let window_ns = positive_duration(&mut reader, "window").or_else(|| {
                if !reader.table.contains_key("window") {
                    reader.problem_here(
                        "an error-rate breaker needs its window, e.g. window = \"10s\"",
                    );
                }
                None
            });
            let min_requests = reader.opt_whole("min_requests", 1, 1_000_000).unwrap_or(1);
            match (ratio, window_ns) {
                (Some(ratio), Some(window_ns)) => Some(Trip::ErrorRate {
                    ratio,
                    window_ns,
                    min_requests: min_requests as u32,
                }),
                _ => None,
            }
        }
        (true, true) => {
            reader.problem_here(
                "a breaker trips on consecutive failures or on an error rate, not both",
            );
            None
        }
        (false, false) => {
            reader.problem_here(format!(
                "a breaker needs failures or error_rate; e.g. {example}"
            ));
            None
        }
    };
    if reader.problems.len() > before {
        return None;
    }
    Some(CircuitBreaker {
        trip: trip?,
        open_ns: open_ns?,
        scope: scope?,
    })
}

/// `kind` of a service: a plain service (absent or "service") or "cache".
pub fn is_cache(raw: &RawService, path: &str, problems: &mut Vec<Problem>) -> bool {
    match raw.kind.as_deref() {
        None | Some("service") => false,
        Some("cache") => true,
        Some(other) => {
            problems.push(Problem::new(
                join(path, "kind"),
                format!("unknown kind \"{other}\"; a service is kind = \"service\" (the default) or \"cache\""),
            ));
            false
        }
    }
}

/// Whether any cache key was given to a service that is not a cache.
pub fn stray_cache_keys(raw: &RawService, path: &str, problems: &mut Vec<Problem>) {
    let given = [("hit_ratio", raw.hit_ratio.is_some())]
        .into_iter()
        .chain(keyed_keys_given(raw))
        .chain([("on_miss", raw.on_miss.is_some())]);
    for (key, present) in given {
        if present {
            problems.push(Problem::new(
                join(path, key),
                format!("{key} is a cache key; add kind = \"cache\" to make this service a cache"),
            ));
        }
    }
}

/// The cache part of a service: its lookup and its miss plan.
pub fn cache(
    raw: &RawService,
    path: &str,
    names: &Names,
    problems: &mut Vec<Problem>,
) -> Option<Cache> {
    let lookup = cache_lookup(raw, path, problems);
    let on_miss = raw
        .on_miss
        .as_ref()
        .map(|v| plan(v, &join(path, "on_miss"), names, problems))
        .unwrap_or_default();
    Some(Cache {
        lookup: lookup?,
        on_miss,
    })
}

/// The services a `calls` (or `on_miss`) value names, each with the most visits one call to
/// it can make (attempts, doubled by a hedge), whatever else is wrong with the entries: what
/// the call-graph checks need even when some entry fails to parse.
pub fn callee_names(value: &toml::Value) -> Vec<(String, usize)> {
    fn one(entry: &toml::Value, out: &mut Vec<(String, usize)>) {
        match entry {
            toml::Value::String(name) => out.push((name.clone(), 1)),
            toml::Value::Table(table) => {
                // A fallback (of a call or a step) is one more call.
                if let Some(fallback) = table.get("fallback") {
                    one(fallback, out);
                }
                if let Some(list) = table.get("parallel").and_then(|p| p.as_array()) {
                    for item in list {
                        one(item, out);
                    }
                } else if let Some(name) = table.get("service").and_then(|s| s.as_str()) {
                    let attempts = table
                        .get("retries")
                        .and_then(|r| r.get("attempts"))
                        .and_then(|a| a.as_integer())
                        .map_or(1, |a| a.clamp(1, 100) as usize);
                    let copies = if table.contains_key("hedge") { 2 } else { 1 };
                    out.push((name.to_string(), attempts * copies));
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for entry in value.as_array().into_iter().flatten() {
        one(entry, &mut out);
    }
    out
}
