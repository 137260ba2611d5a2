//! Every key a scenario file may hold, in one declarative table: its type, unit, default,
//! range and an example, table by table.
//!
//! Three things read this table, so they cannot drift apart: the reader's unknown-key
//! messages (the valid keys and the "did you mean" come from [`names_at`]),
//! `docs/scenario-reference.md` (its key tables are [`markdown_table`]'s output, checked byte
//! for byte by a test), and `capsim schema` (a JSON Schema of the scenario, `super::schema`).
//! `tests/integration/reference.rs` checks the table against the reader: every key here
//! parses, and every key the reader accepts is here.

/// What a key's value is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Type {
    /// A string with a unit, `"250ms"` (see `duration.rs`).
    Duration,
    /// A duration with an optional sign, `"-5h"`, `"+9h"` (a region's `utc_offset`).
    SignedDuration,
    Number,
    /// An integer without a fraction.
    Whole,
    Bool,
    /// Any string (a name, a label, a file path).
    Text,
    /// One string of these.
    Choice(&'static [&'static str]),
    /// A percentage written as a string, `"25%"`.
    Percent,
    /// A table whose keys are those of the sections at this path.
    Table(&'static str),
    /// A list of such tables.
    Tables(&'static str),
    /// A table whose keys the user names (regions, pairs, items), each value of this type.
    Map(&'static Type),
    /// A list of strings.
    Strings,
    /// A list of numbers.
    Numbers,
    /// A list of steps: service names, call tables and parallel steps (`calls`, `on_miss`).
    Steps,
    /// A list of service names and call tables (a parallel step's `parallel`).
    Calls,
    /// A call table (`service.calls`).
    Call,
    /// A list of any values (a sweep axis).
    Values,
    /// An inline distribution table with `dist`.
    Distribution,
    /// A mixture's parts: distribution tables with a `weight`.
    Parts,
    /// Sweep or plan axes: key paths to a list of values or an axis table.
    Axes,
    /// Any of these.
    Either(&'static [Type]),
}

use Type::*;

/// One end of a number's range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    pub value: f64,
    /// The end itself is outside the range.
    pub exclusive: bool,
}

/// One key of a table.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub name: &'static str,
    pub ty: Type,
    /// The unit or meaning of the value (`requests per second`), or "".
    pub unit: &'static str,
    /// The default in words; a value alone in backticks (`` `"10s"` ``) is the value itself.
    pub default: &'static str,
    /// The range in words beyond what [`Key::min`], [`Key::max`] and a `Choice` say, which
    /// [`range_words`] puts first.
    pub range: &'static str,
    /// The body of an inline table that sets the key (`rate = 400`), with any keys it needs.
    pub example: &'static str,
    pub min: Option<Bound>,
    pub max: Option<Bound>,
}

impl Key {
    const fn at_least(self, value: f64) -> Key {
        Key {
            min: Some(Bound {
                value,
                exclusive: false,
            }),
            ..self
        }
    }
    const fn above(self, value: f64) -> Key {
        Key {
            min: Some(Bound {
                value,
                exclusive: true,
            }),
            ..self
        }
    }
    const fn at_most(self, value: f64) -> Key {
        Key {
            max: Some(Bound {
                value,
                exclusive: false,
            }),
            ..self
        }
    }
    const fn below(self, value: f64) -> Key {
        Key {
            max: Some(Bound {
                value,
                exclusive: true,
            }),
            ..self
        }
    }
}

const fn key(
    name: &'static str,
    ty: Type,
    unit: &'static str,
    default: &'static str,
    range: &'static str,
    example: &'static str,
) -> Key {
    Key {
        name,
        ty,
        unit,
        default,
        range,
        example,
        min: None,
        max: None,
    }
}

/// One table of keys, or one form of a table (the keys that belong to one kind of it).
#[derive(Debug)]
pub struct Section {
    /// The reference's heading: the table's path, with the form in parentheses.
    pub id: &'static str,
    /// Where the keys go: the key path of the table with services, list elements and
    /// distributions' places left out (`service.calls.retries`); what [`Type::Table`] names.
    pub path: &'static str,
    pub keys: &'static [Key],
}

/// The top-level tables, in the order the reader lists them.
pub const TOP_LEVEL: &[Key] = &[
    key("scenario", Table("scenario"), "", "", "", ""),
    key("slo", Table("slo"), "", "", "", ""),
    key("traffic", Table("traffic"), "", "", "", ""),
    key("service", Tables("service"), "", "", "", ""),
    key("class", Tables("class"), "", "", "", ""),
    key("region", Tables("region"), "", "", "", ""),
    key("network", Table("network"), "", "", "", ""),
    key("fault", Tables("fault"), "", "", "", ""),
    key("cost", Table("cost"), "", "", "", ""),
    key("deployment", Tables("deployment"), "", "", "", ""),
    key("sweep", Axes, "", "", "", ""),
    key("plan", Axes, "", "", "", ""),
];

/// The name of the keys of an empirical distribution, `p50`, `p999`: `p` and digits.
pub const PERCENTILE_KEYS: &str = "pNNN";

/// Every table of keys, in the reference's order.
#[rustfmt::skip]
pub const SECTIONS: &[Section] = &[
    Section { id: "scenario", path: "scenario", keys: &[
        key("name", Text, "", "the file name without `.toml`", "letters, digits, `-`, `_`", r#"name = "checkout""#),
        key("duration", Duration, "", "required", "more than 0, at most 100 years", r#"duration = "1h""#),
        key("warmup", Duration, "", r#"`"0s"`"#, "less than `duration`", r#"warmup = "5m""#),
        key("seed", Whole, "", "`1`", "", "seed = 7").at_least(0.0),
        key("replications", Whole, "runs", "`1`", "", "replications = 4").at_least(1.0).at_most(100000.0),
        key("max_in_flight", Whole, "requests", "`1000000`", "", "max_in_flight = 100000").at_least(1.0).at_most(4294967295.0),
        key("window", Duration, "", r#"`"10s"` (or the duration, if shorter)"#, "at most the duration; at most 1,000,000 windows", r#"window = "1m""#),
    ]},
    Section { id: "slo", path: "slo", keys: &[
        key("mean", Duration, "", "none", "at least 0", r#"mean = "20ms""#),
        key("p50", Duration, "", "none", "at least 0", r#"p50 = "10ms""#),
        key("p90", Duration, "", "none", "at least 0", r#"p90 = "30ms""#),
        key("p95", Duration, "", "none", "at least 0", r#"p95 = "40ms""#),
        key("p99", Duration, "", "none", "at least 0", r#"p99 = "50ms""#),
        key("p999", Duration, "", "none", "at least 0 (the 99.9th percentile)", r#"p999 = "200ms""#),
        key("availability", Number, "ratio", "none", "", "availability = 0.999").at_least(0.0).at_most(1.0),
        key("degraded", Number, "ratio", "none", " (an upper bound on degraded / finished)", "degraded = 0.01").at_least(0.0).at_most(1.0),
    ]},
    Section { id: "traffic", path: "traffic", keys: &[
        key("rate", Number, "requests per second", "required (unless `trace` or `users`)", "", "rate = 400").above(0.0).at_most(1000000000.0),
        key("entry", Text, "service name", "the first service listed", "a service of the file", r#"entry = "a""#),
        key("diurnal", Table("traffic.diurnal"), "", "none", "", r#"diurnal = { period = "24h", peak_to_trough = 3.0 }"#),
        key("spikes", Tables("traffic.spikes"), "", "none", "", r#"spikes = [{ at = "5s", duration = "2s", multiplier = 10 }]"#),
        key("steps", Tables("traffic.steps"), "", "none", "in time order; see `traffic.steps`", r#"steps = [{ at = "5s", rate = 20 }]"#),
        key("bursts", Table("traffic.bursts"), "", "none", "", r#"bursts = { on = "1s", off = "5s", multiplier = 4 }"#),
        key("residency", Bool, "", "`false`", "", "residency = true"),
        key("backlog", Table("traffic.backlog"), "", "none (a resident request fails while its region is down)", "the default of the resident classes (others ignore it)", r#"residency = true, backlog = { max = 5000, timeout = "12h" }"#),
        key("payload_kb", Number, "KB each way", "`0`", "", "payload_kb = 16").at_least(0.0).at_most(1e9),
        key("conversion", Number, "probability", "`0`", "", "conversion = 0.03").at_least(0.0).at_most(1.0),
    ]},
    Section { id: "traffic (trace)", path: "traffic", keys: &[
        key("trace", Text, "file path, relative to the scenario file", "none", "a CSV of `time_s,rate` rows or one arrival time per line; not with `rate` or `steps`", r#"trace = "arrivals.csv""#),
    ]},
    Section { id: "traffic (closed loop)", path: "traffic", keys: &[
        key("users", Whole, "users", "none (open loop)", "; not with `rate`", r#"users = 100, think_time = { dist = "exponential", mean = "5s" }"#).at_least(1.0).at_most(10000000.0),
        key("think_time", Distribution, "", "required with `users`", "", r#"think_time = { dist = "constant", value = "1s" }"#),
    ]},
    Section { id: "traffic.diurnal", path: "traffic.diurnal", keys: &[
        key("period", Duration, "", r#"`"24h"`"#, "at least 1 s", r#"period = "1h""#),
        key("peak_to_trough", Number, "ratio R", "required", "", "peak_to_trough = 4.0").at_least(1.0).at_most(1000000.0),
        key("peak_at", Duration, "", r#"`"0s"`"#, "", r#"peak_at = "20h""#),
    ]},
    Section { id: "traffic.backlog", path: "traffic.backlog", keys: &[
        key("max", Whole, "requests waiting per region (and class)", "required", "; one more is rejected", "max = 5000").at_least(1.0).at_most(10000000.0),
        key("timeout", Duration, "", "none (waits until the region is back)", "more than 0; a request waiting this long times out", r#"max = 5000, timeout = "12h""#),
    ]},
    Section { id: "traffic.spikes", path: "traffic.spikes", keys: &[
        key("at", Duration, "", "required", "inside the run", r#"at = "2s""#),
        key("duration", Duration, "", "required", "more than 0; at least `2 ramp`", r#"duration = "3s""#),
        key("multiplier", Number, "factor on the rate", "required", "", "multiplier = 5").at_least(0.0).at_most(1000000.0),
        key("ramp", Duration, "", r#"`"0s"`"#, "at most half of `duration`", r#"ramp = "500ms""#),
    ]},
    Section { id: "traffic.steps", path: "traffic.steps", keys: &[
        key("at", Duration, "", "required", "after the previous step's ramp", r#"at = "3s""#),
        key("rate", Number, "requests per second", "required", "", "rate = 50").at_least(0.0).at_most(1000000000.0),
        key("ramp", Duration, "", r#"`"0s"`"#, "", r#"ramp = "1s""#),
    ]},
    Section { id: "traffic.bursts", path: "traffic.bursts", keys: &[
        key("on", Duration, "mean of an exponential", "required", "more than 0", r#"on = "30s""#),
        key("off", Duration, "mean of an exponential", "required", "more than 0", r#"off = "5m""#),
        key("multiplier", Number, "factor on the rate while on", "required", "", "multiplier = 3").at_least(0.0).at_most(1000000.0),
    ]},
    Section { id: "class", path: "class", keys: &[
        key("name", Text, "", "required", "unique; letters, digits, `-`, `_`", r#"name = "checkout""#),
        key("weight", Number, "share of arrivals", "`1`", " (normalized by the sum)", "weight = 3").above(0.0),
        key("entry", Text, "service name", "`traffic.entry`", "a service of the file", r#"entry = "b""#),
        key("slo", Table("slo"), "", "none", "the keys of `slo`", r#"slo = { p99 = "100ms" }"#),
        key("residency", Bool, "", "`traffic.residency`", "", "residency = true"),
        key("backlog", Table("traffic.backlog"), "", "`traffic.backlog` if resident", "with `residency` (its own or `traffic.residency`)", "residency = true, backlog = { max = 500 }"),
        key("payload_kb", Number, "KB each way", "`traffic.payload_kb`", "", "payload_kb = 64").at_least(0.0).at_most(1e9),
        key("conversion", Number, "probability per request (A/B tests)", "`traffic.conversion`", "", "conversion = 0.031").at_least(0.0).at_most(1.0),
    ]},
    Section { id: "service", path: "service", keys: &[
        key("name", Text, "", "required", "unique; letters, digits, `-`, `_`", r#"name = "a""#),
        key("replicas", Whole, "replicas", "`1`", "", "replicas = 4").at_least(1.0).at_most(1000000.0),
        key("concurrency", Whole, "workers per replica", "`1`", " workers in all", "concurrency = 8").at_least(1.0).at_most(1000000.0),
        key("queue_capacity", Whole, "waiting places per replica", "unbounded", "", "queue_capacity = 100").at_least(0.0),
        key("service_time", Distribution, "", "required", "", r#"service_time = { dist = "exponential", mean = "4ms" }"#),
        key("calls", Steps, "steps", "`[]`", "service names, call tables (`service.calls`), parallel steps (`service.calls (parallel)`); no cycle", r#"calls = ["b"]"#),
        key("blocking_calls", Bool, "", "`false`", "not with `batch`", "blocking_calls = true"),
        key("error_rate", Number, "probability", "`0`", "", "error_rate = 0.001").at_least(0.0).at_most(1.0),
        key("price_per_hour", Number, "USD per replica-hour", "`0`", "", "price_per_hour = 0.096").at_least(0.0).at_most(1e6),
        key("kind", Choice(&["service", "cache"]), "", r#"`"service"`"#, "", r#"kind = "service""#),
        key("balancer", Either(&[Choice(&["round_robin", "random", "least_outstanding", "power_of_two", "consistent_hash"]), Table("service.balancer")]), "", r#"`"round_robin"` (`"consistent_hash"` for a keyed cache)"#, r#"`"round_robin"`, `"random"`, `"least_outstanding"`, `"power_of_two"`, `"consistent_hash"`, or a table (`service.balancer (round_robin, random, least_outstanding, power_of_two)`, `service.balancer (weighted)`, `service.balancer (consistent_hash)`)"#, r#"balancer = "least_outstanding""#),
        key("batch", Table("service.batch"), "", "none", "", r#"batch = { max_size = 8, timeout = "5ms" }"#),
        key("rate_limit", Table("service.rate_limit"), "", "none", "", "rate_limit = { rate = 100, burst = 20 }"),
        key("queue_timeout", Duration, "", "none", "more than 0", r#"queue_timeout = "100ms""#),
        key("circuit_breaker", Table("service.circuit_breaker"), "", "none", "", r#"circuit_breaker = { failures = 5, open_for = "30s" }"#),
        key("autoscale", Table("service.autoscale"), "", "none", "", "autoscale = { min = 1, max = 10, target = 0.6 }"),
        key("health", Table("service.health"), "", "none", "", r#"health = { interval = "10s", failures = 3 }"#),
        key("spot_discount", Number, "fraction off `price_per_hour`", "`0`", "", "spot_discount = 0.7").at_least(0.0).at_most(1.0),
        key("price_per_request", Number, "USD per visit", "`0`", "", "price_per_request = 0.0000002").at_least(0.0).at_most(1e6),
    ]},
    Section { id: "service (cache, fixed ratio)", path: "service", keys: &[
        key("hit_ratio", Number, "probability per lookup", "none", "; not with `capacity`", "hit_ratio = 0.8").at_least(0.0).at_most(1.0),
        key("on_miss", Steps, "steps", "`[]`", "as `calls`", r#"on_miss = ["c"]"#),
    ]},
    Section { id: "service (cache, keyed)", path: "service", keys: &[
        key("capacity", Whole, "keys per replica", "none", "", "capacity = 10000").at_least(1.0).at_most(1000000000.0),
        key("keys", Whole, "distinct keys", "none", "", "keys = 1000000").at_least(1.0).at_most(1000000000.0),
        key("popularity", Either(&[Choice(&["uniform"]), Table("service.popularity")]), "", r#"`"uniform"`"#, r#"`"uniform"` or `{ zipf = a }`, a in (0, 10]"#, "popularity = { zipf = 0.9 }"),
        key("policy", Choice(&["lru", "lfu", "fifo", "random", "redis_lru"]), "", r#"`"lru"`"#, "", r#"policy = "lfu""#),
        key("samples", Whole, "keys per eviction", "`5`", "; `redis_lru` only", r#"policy = "redis_lru", samples = 10"#).at_least(1.0).at_most(64.0),
        key("clock", Duration, "LRU clock tick", r#"`"1s"`"#, "more than 0; `redis_lru` only", r#"policy = "redis_lru", clock = "100ms""#),
        key("ttl", Duration, "", "none", "more than 0", r#"ttl = "30s""#),
    ]},
    Section { id: "service.popularity", path: "service.popularity", keys: &[
        key("zipf", Number, "exponent of a Zipf law", "required", "", "zipf = 0.9").above(0.0).at_most(10.0),
    ]},
    Section { id: "service (regional)", path: "service", keys: &[
        key("regions", Map(&Whole), "replicas per region", "none (a global service)", r#"region names of `[[region]]` to whole numbers; instead of `replicas`; with `autoscale`, each within `[min, max]` (one HPA per region, `metric = "utilization"` only)"#, "regions = { us = 3, eu = 2 }"),
    ]},
    Section { id: "service.calls", path: "service.calls", keys: &[
        key("service", Text, "service name", "required", "a service of the file", r#"service = "b""#),
        key("timeout", Duration, "per attempt", "none", "more than 0", r#"timeout = "50ms""#),
        key("retries", Table("service.calls.retries"), "", "none", "", r#"retries = { attempts = 3, backoff = "10ms" }"#),
        key("hedge", Either(&[Duration, Table("service.calls.hedge")]), "", "none", "a delay, or see `service.calls.hedge`", r#"hedge = "5ms""#),
        key("probability", Number, "", "`1`", "", "probability = 0.3").at_least(0.0).at_most(1.0),
        key("latency", Distribution, "network time each way", "none", "", r#"latency = { dist = "constant", value = "1ms" }"#),
        key("optional", Bool, "", "`false`", "", "optional = true"),
        key("classes", Strings, "class names", "every class", "classes of `[[class]]`", r#"classes = ["checkout"]"#),
        key("fallback", Either(&[Text, Call]), "", "none", "a service, or a call table without `probability`, `classes`, `optional`, `fire_and_forget`", r#"fallback = "c""#),
        key("fire_and_forget", Bool, "", "`false`", "not with `timeout`, `retries`, `hedge`, `optional`, `fallback`, `latency`", "fire_and_forget = true"),
    ]},
    Section { id: "service.calls (parallel)", path: "service.calls", keys: &[
        key("parallel", Calls, "calls", "required", "names or call tables", r#"parallel = ["b", { service = "b", timeout = "30ms" }]"#),
        key("join", Either(&[Choice(&["all", "any"]), Whole]), "", r#"`"all"`"#, r#"`"all"`, `"any"`, or 1 to the number of calls"#, r#"join = "any""#),
        key("deadline", Duration, "", "none", "more than 0", r#"deadline = "30ms""#),
        key("fallback", Either(&[Text, Call]), "", "none", "made when the step fails", r#"fallback = "c""#),
    ]},
    Section { id: "service.calls.retries", path: "service.calls.retries", keys: &[
        key("attempts", Whole, "attempts, the first included", "required", "", "attempts = 4").at_least(1.0).at_most(100.0),
        key("backoff", Duration, "base of exponential backoff, full jitter", r#"`"0s"`"#, "at least 0", r#"backoff = "10ms""#),
        key("max_backoff", Duration, "", r#"`"20s"`"#, "at least 0", r#"max_backoff = "1s""#),
        key("budget", Number, "retries per first attempt in the window", "none (unbudgeted)", "", "budget = 0.1").at_least(0.0),
        key("budget_window", Duration, "", r#"`"10s"`"#, "more than 0", r#"budget = 0.1, budget_window = "30s""#),
        key("min_retries_per_s", Number, "retries per second", "`10`", "", "budget = 0.1, min_retries_per_s = 5").at_least(0.0),
        key("budget_scope", Choice(&["caller", "service"]), "", r#"`"caller"`"#, "", r#"budget = 0.1, budget_scope = "service""#),
    ]},
    Section { id: "service.calls.hedge", path: "service.calls.hedge", keys: &[
        key("after", Duration, "", "required", "more than 0", r#"after = "5ms""#),
        key("max_extra_load", Number, "hedges per attempt in the window", "none (unbudgeted)", "", "max_extra_load = 0.05").at_least(0.0).at_most(1.0),
        key("budget_window", Duration, "", r#"`"10s"`"#, "more than 0", r#"max_extra_load = 0.05, budget_window = "30s""#),
        key("min_hedges_per_s", Number, "hedges per second", "`10`", "", "max_extra_load = 0.05, min_hedges_per_s = 2").at_least(0.0),
    ]},
    Section { id: "service.balancer (round_robin, random, least_outstanding, power_of_two)", path: "service.balancer", keys: &[
        key("kind", Choice(&["round_robin", "random", "least_outstanding", "power_of_two"]), "", "required", "", r#"kind = "least_outstanding""#),
        key("instances", Whole, "independent balancers, each taking a share of the visits", "`1` (one shared balancer)", "", "instances = 2").at_least(1.0).at_most(1024.0),
    ]},
    Section { id: "service.balancer (weighted)", path: "service.balancer", keys: &[
        key("kind", Choice(&["weighted"]), "", "required", "", r#"kind = "weighted""#),
        key("weights", Numbers, "share per replica slot", "required", "more than 0 each; replica i takes `weights[i mod len]`", "weights = [3, 1]"),
        key("instances", Whole, "independent balancers, each taking a share of the visits", "`1` (one shared balancer)", "", "instances = 2").at_least(1.0).at_most(1024.0),
    ]},
    Section { id: "service.balancer (consistent_hash)", path: "service.balancer", keys: &[
        key("kind", Choice(&["consistent_hash"]), "", "required", "; needs a keyed cache in the scenario", r#"kind = "consistent_hash""#),
        key("virtual_nodes", Whole, "ring points per replica", "`64`", "", "virtual_nodes = 160").at_least(1.0).at_most(1000.0),
        key("instances", Whole, "independent balancers (all pick alike: no effect)", "`1` (one shared balancer)", "", "instances = 2").at_least(1.0).at_most(1024.0),
    ]},
    Section { id: "service.batch", path: "service.batch", keys: &[
        key("max_size", Whole, "visits per batch", "required", "", "max_size = 32").at_least(1.0).at_most(1000000.0),
        key("timeout", Duration, "oldest visit's longest wait before a partial batch", "required", "at least 0", r#"timeout = "5ms""#),
        key("per_item", Duration, "added per visit in the batch", r#"`"0s"`"#, "at least 0", r#"per_item = "1ms""#),
    ]},
    Section { id: "service.rate_limit", path: "service.rate_limit", keys: &[
        key("rate", Number, "tokens per second", "required", "", "rate = 500").above(0.0),
        key("burst", Number, "tokens", "required", "", "burst = 50").at_least(1.0),
    ]},
    Section { id: "service.circuit_breaker", path: "service.circuit_breaker", keys: &[
        key("failures", Whole, "failures in a row", "none", "", r#"failures = 10, open_for = "30s""#).at_least(1.0).at_most(1000000.0),
        key("error_rate", Number, "failed share of calls in `window`", "none", "", r#"error_rate = 0.5, window = "10s", open_for = "30s""#).at_least(0.0).at_most(1.0),
        key("window", Duration, "", "required with `error_rate`", "more than 0", r#"error_rate = 0.5, window = "30s", open_for = "30s""#),
        key("min_requests", Whole, "calls in the window", "`1`", "", r#"error_rate = 0.5, window = "10s", min_requests = 20, open_for = "30s""#).at_least(1.0).at_most(1000000.0),
        key("open_for", Duration, "", "required", "more than 0", r#"open_for = "30s", failures = 5"#),
        key("scope", Choice(&["caller", "service"]), "", r#"`"caller"`"#, "", r#"scope = "service", failures = 5, open_for = "30s""#),
    ]},
    Section { id: "service.autoscale", path: "service.autoscale", keys: &[
        key("min", Whole, "replicas", "required", "; at most `max`", "min = 2").at_least(1.0).at_most(1000000.0),
        key("max", Whole, "replicas", "required", "", "max = 20").at_least(1.0).at_most(1000000.0),
        key("metric", Choice(&["utilization", "in_flight", "rps", "queue_length"]), "", r#"`"utilization"`"#, "", r#"metric = "rps", target = 100"#),
        key("target", Number, "the metric per replica", "required", "; a utilization at most 1", "target = 0.7").above(0.0),
        key("tolerance", Number, "ratio", "`0.1`", "", "tolerance = 0.2").at_least(0.0).at_most(10.0),
        key("sync", Duration, "controller period", r#"`"15s"`"#, "more than 0", r#"sync = "30s""#),
        key("metric_delay", Duration, "age of the metric read", r#"`"0s"`"#, "at least 0", r#"metric_delay = "30s""#),
        key("scale_up_window", Duration, "stabilization", r#"`"0s"`"#, "at least 0", r#"scale_up_window = "1m""#),
        key("scale_down_window", Duration, "stabilization", r#"`"5m"`"#, "at least 0", r#"scale_down_window = "10m""#),
        key("max_scale_up", Table("service.autoscale.max_scale_up"), "", r#"`{ pods = 4, percent = 100, per = "15s" }`"#, "", r#"max_scale_up = { pods = 10, per = "1m" }"#),
        key("max_scale_down", Table("service.autoscale.max_scale_up"), "", r#"`{ percent = 100, per = "15s" }`"#, "", "max_scale_down = { percent = 50 }"),
        key("provisioning", Either(&[Distribution, Duration]), "start to first request", r#"`"0s"`"#, "", r#"provisioning = "90s""#),
        key("schedule", Tables("service.autoscale.schedule"), "", "none", "", r#"schedule = [{ from = "8h", to = "20h", min = 5 }]"#),
    ]},
    Section { id: "service.autoscale.max_scale_up", path: "service.autoscale.max_scale_up", keys: &[
        key("pods", Whole, "replicas per `per`", "`0` when the table is given", "", "pods = 8").at_least(0.0).at_most(100000.0),
        key("percent", Number, "percent of the count per `per`", "`0` when the table is given", "", "percent = 200").at_least(0.0).at_most(100000.0),
        key("per", Duration, "", r#"`"15s"`"#, "more than 0", r#"per = "30s""#),
    ]},
    Section { id: "service.autoscale.schedule", path: "service.autoscale.schedule", keys: &[
        key("from", Duration, "time of day", "required", "`from > to` wraps past midnight", r#"from = "22h""#),
        key("to", Duration, "time of day", "required", "", r#"to = "6h""#),
        key("min", Whole, "replicas", "required", "", "min = 4").at_least(0.0).at_most(1000000.0),
    ]},
    Section { id: "service.health", path: "service.health", keys: &[
        key("interval", Duration, "between probes", "required", "more than 0", r#"interval = "5s""#),
        key("failures", Whole, "failed probes in a row to eject", "`3`", "", "failures = 2").at_least(1.0).at_most(1000.0),
    ]},
    Section { id: "region", path: "region", keys: &[
        key("name", Text, "", "required", "unique", r#"name = "eu""#),
        key("weight", Number, "share of clients", "`1`", " (normalized)", "weight = 0.4").above(0.0),
        key("price_factor", Number, "factor on replica-hour prices", "`1`", "", "price_factor = 1.2").at_least(0.0).at_most(1e3),
        key("utc_offset", SignedDuration, "the region's clients' time of day minus the scenario clock", r#"`"0h"`"#, r#"`"-24h"` to `"+24h"`; needs `traffic.diurnal` (its curve reaches the region's clients at `t + utc_offset`: with `peak_at = "20h"`, `"+9h"` peaks at 11:00 of the scenario clock)"#, r#"utc_offset = "-5h""#),
    ]},
    Section { id: "network", path: "network", keys: &[
        key("latency", Map(&Duration), "one-way, per pair", "`{}`", r#"`"A-B" = duration` for regions A and B, symmetric"#, "latency = {}"),
        key("local", Duration, "one-way within a region", r#"`"0s"`"#, "at least 0", r#"local = "1ms""#),
        key("failover", Table("network.failover"), "", r#"`{ dns_ttl = "60s" }`"#, "", r#"failover = { dns_ttl = "30s" }"#),
        key("bandwidth_mbps", Number, "megabits per second", "none (no transfer time)", "", "bandwidth_mbps = 1000").above(0.0),
    ]},
    Section { id: "network.failover", path: "network.failover", keys: &[
        key("dns_ttl", Duration, "", r#"`"60s"`"#, "at least 0", r#"dns_ttl = "10s""#),
    ]},
    Section { id: "fault (crash)", path: "fault", keys: &[
        key("kind", Choice(&["crash", "spot", "slow", "errors", "outage", "region_outage"]), "", "required", "", r#"kind = "crash""#),
        key("target", Text, "service (or region) name", "required", "a service of the file", r#"target = "b""#),
        key("at", Duration, "", "required (unless recurring)", "inside the run", r#"at = "2s""#),
        key("duration", Duration, "", "required (unless recurring)", "more than 0", r#"duration = "3s""#),
        key("replicas", Whole, "replicas that crash", "`1`", "", "replicas = 1").at_least(1.0).at_most(1000000.0),
    ]},
    Section { id: "fault (crash, recurring)", path: "fault", keys: &[
        key("mtbf", Duration, "mean time between failures, per replica", "none", "more than 0", r#"mtbf = "2h""#),
        key("mttr", Either(&[Distribution, Duration]), "time to repair", "required with `mtbf`", "more than 0", r#"mttr = { dist = "exponential", mean = "5m" }"#),
    ]},
    Section { id: "fault (spot)", path: "fault", keys: &[
        key("rate", Number, "interruptions per replica-hour", "required", "", "rate = 0.5").above(0.0),
        key("notice", Duration, "", r#"`"2m"`"#, "at least 0", r#"notice = "30s""#),
        key("provisioning", Either(&[Distribution, Duration]), "replacement's start", "the service's autoscale provisioning, else 0", "", r#"provisioning = "1m""#),
    ]},
    Section { id: "fault (slow)", path: "fault", keys: &[
        key("factor", Number, "factor on service times", "required", "", "factor = 10").above(0.0),
    ]},
    Section { id: "fault (errors)", path: "fault", keys: &[
        key("rate", Number, "extra error probability", "required", "", "rate = 0.2").at_least(0.0).at_most(1.0),
    ]},
    Section { id: "deployment", path: "deployment", keys: &[
        key("service", Text, "service name", "required", "a service of the file", r#"service = "b""#),
        key("at", Duration, "from the run's start", "required", "before the run's end", r#"at = "10m""#),
        key("strategy", Choice(&["recreate", "rolling", "blue_green", "canary", "ab_test", "shadow"]), "", "required", "", r#"strategy = "canary""#),
        key("min_ready", Duration, "", r#"`"0s"`"#, "at least 0", r#"min_ready = "10s""#),
        key("autoscale", Choice(&["blended", "separate"]), "", r#"`"blended"`"#, " (utilization metric only)", r#"autoscale = "separate""#),
        key("new", Table("deployment.new"), "", "none (the service's keys)", "", "new = { error_rate = 0.01 }"),
        key("rolling", Table("deployment.rolling"), "", "each key's own", "", "rolling = { max_surge = 2 }"),
        key("blue_green", Table("deployment.blue_green"), "", "each key's own", "", r#"blue_green = { switch = "dns" }"#),
        key("canary", Table("deployment.canary"), "", "each key's own", "", "canary = { traffic_router = false }"),
        key("ab_test", Table("deployment.ab_test"), "", "each key's own", "", "ab_test = { split = 0.2 }"),
        key("shadow", Table("deployment.shadow"), "", "each key's own", "", "shadow = { mirror = 0.5 }"),
        key("name", Text, "", "none", "a label", r#"name = "ranker v2""#),
        key("description", Text, "", "none", "a note", r#"description = "new model""#),
    ]},
    Section { id: "deployment.new", path: "deployment.new", keys: &[
        key("service_time", Distribution, "", "the service's", "", r#"service_time = { dist = "exponential", mean = "2ms" }"#),
        key("error_rate", Number, "probability", "the service's", "", "error_rate = 0.002").at_least(0.0).at_most(1.0),
        key("price_per_hour", Number, "USD per replica-hour", "the service's", "", "price_per_hour = 0.5").at_least(0.0).at_most(1e6),
        key("provisioning", Either(&[Duration, Distribution]), "start to ready", "the autoscaler's, else 0", "at least 0", r#"provisioning = "60s""#),
        key("conversion", Number, "probability per request", "the class's", "", "conversion = 0.033").at_least(0.0).at_most(1.0),
    ]},
    Section { id: "deployment.rolling", path: "deployment.rolling", keys: &[
        key("max_surge", Either(&[Percent, Whole]), "percent of desired (rounded up), or replicas", r#"`"25%"`"#, r#"`"0%"` to `"100%"`, 0 to 1000000; not both 0"#, r#"max_surge = "50%""#),
        key("max_unavailable", Either(&[Percent, Whole]), "percent of desired (rounded down), or replicas", r#"`"25%"`"#, "as `max_surge`", "max_unavailable = 0"),
    ]},
    Section { id: "deployment.blue_green", path: "deployment.blue_green", keys: &[
        key("preview_for", Duration, "green available, before the switch", r#"`"0s"`"#, "at least 0", r#"preview_for = "5m""#),
        key("switch", Choice(&["instant", "dns"]), "", r#"`"instant"`"#, "", r#"switch = "dns""#),
        key("dns_ttl", Duration, "", r#"`"60s"`"#, "more than 0", r#"dns_ttl = "30s""#),
        key("scale_down_delay", Duration, "blue kept after the switch (after the TTL with `dns`)", r#"`"30s"`"#, "at least 0", r#"scale_down_delay = "0s""#),
    ]},
    Section { id: "deployment.canary", path: "deployment.canary", keys: &[
        key("traffic_router", Bool, "", "`true`", "", "traffic_router = false"),
        key("steps", Tables("deployment.canary.steps"), "", "20% then 50%, 1 min each", "weights rising; see `deployment.canary.steps`", r#"steps = [{ weight = 5, pause = "5m" }]"#),
        key("analysis", Table("deployment.canary.analysis"), "", "none (no checks)", "", r#"analysis = { interval = "1m" }"#),
        key("scale_down_delay", Duration, "the old (or, rolled back, the new) set kept", r#"`"30s"`"#, "at least 0", r#"scale_down_delay = "0s""#),
    ]},
    Section { id: "deployment.canary.steps", path: "deployment.canary.steps", keys: &[
        key("weight", Number, "percent of requests", "required", ", above the step before", "weight = 25").above(0.0).at_most(100.0),
        key("pause", Duration, "", r#"`"0s"`"#, "at least 0", r#"pause = "10m""#),
    ]},
    Section { id: "deployment.canary.analysis", path: "deployment.canary.analysis", keys: &[
        key("interval", Duration, "", r#"`"1m"`"#, "more than 0", r#"interval = "30s""#),
        key("max_error_rate", Number, "ratio of the canary's visits", "`0.01`", "", "max_error_rate = 0.02").at_least(0.0).at_most(1.0),
        key("max_p99", Duration, "of the canary's visits", "none", "more than 0", r#"max_p99 = "80ms""#),
        key("min_requests", Whole, "per interval", "`0`", "", "min_requests = 100").at_least(0.0).at_most(1000000000.0),
        key("failure_limit", Whole, "failed checks allowed", "`0`", "", "failure_limit = 2").at_least(0.0).at_most(1000000.0),
        key("no_data", Choice(&["fail", "inconclusive"]), "", r#"`"fail"`"#, "", r#"no_data = "inconclusive""#),
    ]},
    Section { id: "deployment.ab_test", path: "deployment.ab_test", keys: &[
        key("split", Number, "the new version's share of requests", "`0.5`", "", "split = 0.1").above(0.0).below(1.0),
        key("duration", Duration, "", r#"`"1h"`"#, "more than 0", r#"duration = "2h""#),
        key("alpha", Number, "false-positive rate", "`0.05`", "", "alpha = 0.01").above(0.0).below(1.0),
        key("power", Number, "", "`0.8`", "", "power = 0.9").above(0.0).below(1.0),
        key("min_effect", Number, "relative lift", "`0.05`", "", "min_effect = 0.1").above(0.0),
        key("sequential", Bool, "", "`false`", "", "sequential = true"),
    ]},
    Section { id: "deployment.shadow", path: "deployment.shadow", keys: &[
        key("mirror", Number, "share of requests copied", "`1`", "", "mirror = 0.25").above(0.0).at_most(1.0),
        key("duration", Duration, "", r#"`"10m"`"#, "more than 0", r#"duration = "30m""#),
    ]},
    Section { id: "cost", path: "cost", keys: &[
        key("per_gb_cross_region", Number, "USD per GB", "`0`", "", "per_gb_cross_region = 0.02").at_least(0.0).at_most(1e6),
        key("fixed_monthly", Map(&Number), "USD a month per item", "`{}`", "item names to numbers from 0 to 1e12", "fixed_monthly = { support = 500 }"),
    ]},
    Section { id: "distribution", path: "distribution", keys: &[
        key("dist", Choice(DIST_KINDS), "", "required", "", r#"dist = "exponential", mean = "2ms""#),
    ]},
    Section { id: "distribution (constant)", path: "distribution", keys: &[
        key("value", Duration, "", "required", "at least 0", r#"value = "3ms""#),
    ]},
    Section { id: "distribution (exponential)", path: "distribution", keys: &[
        key("mean", Duration, "", "required", "more than 0", r#"mean = "5ms""#),
    ]},
    Section { id: "distribution (uniform)", path: "distribution", keys: &[
        key("min", Duration, "", "required", "at most `max`", r#"min = "1ms""#),
        key("max", Duration, "", "required", "", r#"max = "3ms""#),
    ]},
    Section { id: "distribution (normal)", path: "distribution", keys: &[
        key("mean", Duration, "", "required", "at least 0", r#"mean = "10ms""#),
        key("stddev", Duration, "", "required", "at least 0", r#"stddev = "2ms""#),
    ]},
    Section { id: "distribution (lognormal)", path: "distribution", keys: &[
        key("median", Duration, "", "with `p99`", "more than 0", r#"median = "4ms", p99 = "30ms""#),
        key("p99", Duration, "", "with `median`", "more than `median`", r#"median = "2ms", p99 = "20ms""#),
        key("mean", Duration, "", "with `cv`", "more than 0", r#"mean = "5ms", cv = 1.5"#),
        key("cv", Number, "coefficient of variation", "with `mean`", "", r#"mean = "5ms", cv = 2"#).at_least(0.001).at_most(100.0),
    ]},
    Section { id: "distribution (gamma)", path: "distribution", keys: &[
        key("mean", Duration, "", "required", "more than 0", r#"mean = "8ms""#),
        key("cv", Number, "coefficient of variation", "required", "", "cv = 0.5").at_least(0.001).at_most(100.0),
    ]},
    Section { id: "distribution (erlang)", path: "distribution", keys: &[
        key("k", Whole, "phases", "required", "", "k = 4").at_least(1.0),
        key("mean", Duration, "", "required", "more than 0", r#"mean = "8ms""#),
    ]},
    Section { id: "distribution (weibull)", path: "distribution", keys: &[
        key("shape", Number, "", "required", "", "shape = 1.5").above(0.0),
        key("scale", Duration, "", "required", "more than 0", r#"scale = "5ms""#),
    ]},
    Section { id: "distribution (pareto)", path: "distribution", keys: &[
        key("scale", Duration, "the minimum", "required", "more than 0", r#"scale = "1ms""#),
        key("shape", Number, "", "required", "", "shape = 2.5").above(1.0),
    ]},
    Section { id: "distribution (empirical)", path: "distribution", keys: &[
        key(PERCENTILE_KEYS, Duration, "", "at least one percentile", "not decreasing with the percentile", r#"p50 = "10ms", p99 = "80ms""#),
        key("min", Duration, "the 0th percentile", r#"`"0s"`"#, "", r#"min = "1ms", p50 = "5ms""#),
        key("max", Duration, "the 100th percentile", "the last segment's slope extended", "", r#"p50 = "5ms", max = "100ms""#),
    ]},
    Section { id: "distribution (mixture)", path: "distribution", keys: &[
        key("parts", Parts, "", "required", "each a distribution with a `weight`", r#"parts = [{ weight = 0.9, dist = "constant", value = "1ms" }, { weight = 0.1, dist = "constant", value = "50ms" }]"#),
    ]},
    Section { id: "distribution (mixture part)", path: "distribution", keys: &[
        key("weight", Number, "share", "required", " (normalized by the sum)", "weight = 2").above(0.0),
    ]},
    Section { id: "sweep (axis)", path: "axis", keys: &[
        key("from", Number, "", "required in a range", "", "from = 10, to = 30"),
        key("to", Number, "", "required in a range", "", "from = 10, to = 30"),
        key("step", Number, "", "`1` for whole-number ends", "not 0; its sign points from `from` to `to`", "from = 10, to = 30, step = 10"),
        key("factor", Number, "", "none", "above 0 and not 1; not with `step`", "from = 10, to = 40, factor = 2"),
        key("values", Values, "", "none", "not empty", "values = [10, 20]"),
        key("monotone", Bool, "", "`true` for ranges, `false` for lists (`[plan]` only)", "", "values = [10, 20], monotone = false"),
    ]},
];

/// The kinds of distribution, the values of `dist`.
pub const DIST_KINDS: &[&str] = &[
    "constant",
    "exponential",
    "uniform",
    "normal",
    "lognormal",
    "gamma",
    "erlang",
    "weibull",
    "pareto",
    "empirical",
    "mixture",
];

/// The sections whose keys go in tables at `path`, every form of it.
pub fn sections_at(path: &str) -> impl Iterator<Item = &'static Section> + '_ {
    SECTIONS.iter().filter(move |s| s.path == path)
}

/// The section with this heading.
pub fn section(id: &str) -> Option<&'static Section> {
    SECTIONS.iter().find(|s| s.id == id)
}

/// Every key a table at `path` takes, in any of its forms, each once, in the table's order:
/// the valid keys of an unknown-key message.
pub fn names_at(path: &str) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for key in sections_at(path).flat_map(|s| s.keys) {
        if !names.contains(&key.name) {
            names.push(key.name);
        }
    }
    names
}

/// The keys of one section (one form of a table), by its heading.
pub fn names_in(id: &str) -> Vec<&'static str> {
    section(id).map_or_else(Vec::new, |s| s.keys.iter().map(|k| k.name).collect())
}

/// A raw struct of `raw.rs` that reads the tables at a path of the key table.
pub trait Keyed {
    /// The path (`""` for the file's top level).
    const PATH: &'static str;
}

/// The keys a raw struct's table takes, from the key table: what its unknown-key messages
/// list.
pub fn names_of<T: Keyed>() -> Vec<&'static str> {
    if T::PATH.is_empty() {
        TOP_LEVEL.iter().map(|k| k.name).collect()
    } else {
        names_at(T::PATH)
    }
}

/// The type in words, as the reference writes it.
pub fn type_words(ty: &Type) -> String {
    match ty {
        Duration => "duration".into(),
        SignedDuration => "signed duration".into(),
        Number => "number".into(),
        Whole => "whole".into(),
        Bool => "boolean".into(),
        Text | Choice(_) | Percent => "string".into(),
        Table(_) | Map(_) | Axes => "table".into(),
        Tables(_) | Parts => "list of tables".into(),
        Strings => "list of strings".into(),
        Numbers => "list of numbers".into(),
        Steps | Calls | Values => "list".into(),
        Call => "call table".into(),
        Distribution => "distribution".into(),
        Either(types) => types
            .iter()
            .map(type_words)
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

/// A bound as the reference writes numbers: `1,000,000`, `1e9`, `0.001`.
pub fn number_words(value: f64) -> String {
    if value.fract() != 0.0 || value.abs() >= 1e15 {
        return value.to_string();
    }
    let whole = value as i64;
    if whole >= 1_000_000_000
        && whole
            .to_string()
            .trim_start_matches('1')
            .bytes()
            .all(|b| b == b'0')
    {
        return format!("1e{}", whole.to_string().len() - 1);
    }
    let digits = whole.unsigned_abs().to_string();
    if digits.len() < 5 {
        return whole.to_string();
    }
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if whole < 0 {
        grouped.insert(0, '-');
    }
    grouped
}

/// The range in words: the bounds or the choices, then [`Key::range`].
pub fn range_words(key: &Key) -> String {
    let n = |b: Bound| number_words(b.value);
    let head = match (key.min, key.max, &key.ty) {
        (Some(lo), Some(hi), _) if lo.exclusive && hi.exclusive => {
            format!("between {} and {}", n(lo), n(hi))
        }
        (Some(lo), Some(hi), _) if lo.exclusive => {
            format!("more than {}, at most {}", n(lo), n(hi))
        }
        (Some(lo), Some(hi), _) if hi.exclusive => format!("{} to less than {}", n(lo), n(hi)),
        (Some(lo), Some(hi), _) => format!("{} to {}", n(lo), n(hi)),
        (Some(lo), None, _) if lo.exclusive => format!("more than {}", n(lo)),
        (Some(lo), None, _) => format!("at least {}", n(lo)),
        (None, Some(hi), _) if hi.exclusive => format!("less than {}", n(hi)),
        (None, Some(hi), _) => format!("at most {}", n(hi)),
        (None, None, Choice(values)) => values
            .iter()
            .map(|v| format!("`\"{v}\"`"))
            .collect::<Vec<_>>()
            .join(", "),
        (None, None, Table(path) | Tables(path)) if key.range.is_empty() => {
            format!("see `{path}`")
        }
        (None, None, _) => String::new(),
    };
    format!("{head}{}", key.range)
}

/// The default as a value, when [`Key::default`] is one value in backticks (`` `"10s"` ``,
/// `` `{ dns_ttl = "60s" }` ``); `None` for a default in words ("required", "the service's").
pub fn default_value(key: &Key) -> Option<toml::Value> {
    let inner = key.default.strip_prefix('`')?.strip_suffix('`')?;
    if inner.contains('`') {
        return None;
    }
    let table: toml::Table = toml::from_str(&format!("v = {inner}")).ok()?;
    table.get("v").cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_the_reference_writes_them() {
        assert_eq!(number_words(0.0), "0");
        assert_eq!(number_words(1000.0), "1000");
        assert_eq!(number_words(100_000.0), "100,000");
        assert_eq!(number_words(4_294_967_295.0), "4,294,967,295");
        assert_eq!(number_words(1e9), "1e9");
        assert_eq!(number_words(0.001), "0.001");
    }

    #[test]
    fn every_default_in_backticks_is_a_toml_value_of_the_keys_type() {
        for section in SECTIONS {
            for key in section.keys {
                let Some(value) = default_value(key) else {
                    continue;
                };
                let fits = match key.ty {
                    Duration => value
                        .as_str()
                        .is_some_and(|t| super::super::duration::parse_duration_ns(t).is_ok()),
                    Number => value.is_float() || value.is_integer(),
                    Whole => value.is_integer(),
                    Bool => value.is_bool(),
                    _ => true,
                };
                assert!(
                    fits,
                    "{}.{}: default {value} is not a {:?}",
                    section.id, key.name, key.ty
                );
            }
        }
    }

    #[test]
    fn every_table_a_key_names_has_a_section() {
        let mut named = Vec::new();
        fn walk(ty: &Type, named: &mut Vec<&'static str>) {
            match ty {
                Table(p) | Tables(p) => named.push(p),
                Either(types) => types.iter().for_each(|t| walk(t, named)),
                _ => {}
            }
        }
        for key in TOP_LEVEL.iter().chain(SECTIONS.iter().flat_map(|s| s.keys)) {
            walk(&key.ty, &mut named);
        }
        for path in named {
            assert!(sections_at(path).next().is_some(), "no section at `{path}`");
        }
    }
}
