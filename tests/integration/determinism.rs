//! Same scenario and seed give the same bytes, on any thread count; every component draws
//! from its own random streams; every request that arrives ends exactly one way.

use crate::support::{files_under, Scratch};
use capsim::metrics::recorder::Counts;
use capsim::metrics::summary::Outcome;
use proptest::prelude::*;
use serde_json::Value;

/// A scratch directory holding one scenario, `s.toml`.
struct Scenario {
    scratch: Scratch,
}

impl Scenario {
    fn new(tag: &str, scenario: &str) -> Scenario {
        let scratch = Scratch::new(tag);
        scratch.write("s.toml", scenario);
        Scenario { scratch }
    }

    /// `capsim run s.toml --format json ARGS...` with `RAYON_NUM_THREADS=threads`: stdout.
    fn run_json(&self, threads: Option<usize>, args: &[&str]) -> String {
        let args = [&["run", "s.toml", "--format", "json"], args].concat();
        let out = self.scratch.capsim_on_threads(threads, &args);
        assert!(matches!(out.code, Some(0 | 1)), "capsim ran: {out:#?}");
        out.stdout
    }
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// The exact text of a JSON value, for byte-for-byte comparisons of one figure.
fn bytes(v: &Value) -> String {
    assert!(!v.is_null(), "the figure is in the summary");
    serde_json::to_string(v).unwrap()
}

/// A chain with errors, bounded queues and several distributions: it exercises every stream.
const CHAIN: &str = r#"[scenario]
name = "chain"
duration = "3s"
warmup = "300ms"
seed = 42

[slo]
p99 = "100ms"

[traffic]
rate = 400
entry = "a"

[[service]]
name = "a"
replicas = 2
concurrency = 2
queue_capacity = 20
service_time = { dist = "lognormal", median = "2ms", p99 = "12ms" }
calls = ["b", "c"]
error_rate = 0.01

[[service]]
name = "b"
concurrency = 2
queue_capacity = 2
service_time = { dist = "gamma", mean = "4ms", cv = 1.5 }
error_rate = 0.02

[[service]]
name = "c"
concurrency = 2
service_time = { dist = "mixture", parts = [{ weight = 0.8, dist = "exponential", mean = "1ms" }, { weight = 0.2, dist = "uniform", min = "2ms", max = "6ms" }] }
"#;

#[test]
fn same_seed_gives_the_same_bytes_on_any_thread_count() {
    let s = Scenario::new("threads", CHAIN);
    let args = ["--replications", "4"];
    let one = s.run_json(Some(1), &args);
    let two = s.run_json(Some(2), &args);
    let four = s.run_json(Some(4), &args);
    let again = s.run_json(Some(2), &args);
    let default = s.run_json(None, &args);

    let json = parse(&one);
    assert_eq!(json["replications"], 4);
    assert!(
        json["requests"]["arrived"].as_u64().unwrap() > 3_000,
        "{json:#}"
    );
    assert!(json["ci95"].is_object(), "4 replications give intervals");
    assert!(one == two, "1 vs 2 threads:\n{one}\n---\n{two}");
    assert!(one == four, "1 vs 4 threads:\n{one}\n---\n{four}");
    assert!(
        two == again,
        "two runs with 2 threads:\n{two}\n---\n{again}"
    );
    assert!(one == default, "1 thread vs the default pool");
}

/// Every request-path mechanism at once: classes, a keyed cache, fan-out with a join,
/// timeouts, retries with backoff and a budget, a hedge, network latency, an optional call,
/// random and power-of-two balancers, batching, a breaker, a rate limit, a queue timeout.
const PATHS: &str = r#"[scenario]
name = "paths"
duration = "3s"
warmup = "300ms"
seed = 9

[traffic]
rate = 800

[[class]]
name = "browse"
weight = 3
entry = "api"

[[class]]
name = "buy"
entry = "api"
slo = { p99 = "80ms" }

[[service]]
name = "api"
concurrency = 16
rate_limit = { rate = 750, burst = 50 }
service_time = { dist = "exponential", mean = "1ms" }
calls = [
  "cache",
  { parallel = [{ service = "model", timeout = "20ms", retries = { attempts = 3, backoff = "2ms", budget = 0.2 } }, { service = "model", hedge = "8ms", optional = true }, { service = "pay", classes = ["buy"], latency = { dist = "exponential", mean = "1ms" } }], join = 2 },
]

[[service]]
name = "cache"
kind = "cache"
replicas = 2
capacity = 200
keys = 5000
popularity = { zipf = 0.9 }
concurrency = 8
service_time = { dist = "constant", value = "200us" }
on_miss = ["db"]

[[service]]
name = "db"
replicas = 3
balancer = "random"
concurrency = 2
queue_timeout = "30ms"
service_time = { dist = "lognormal", median = "3ms", p99 = "20ms" }

[[service]]
name = "model"
replicas = 3
balancer = "power_of_two"
concurrency = 2
batch = { max_size = 4, timeout = "2ms", per_item = "500us" }
error_rate = 0.05
service_time = { dist = "gamma", mean = "3ms", cv = 0.8 }

[[service]]
name = "pay"
concurrency = 2
circuit_breaker = { failures = 3, open_for = "200ms" }
error_rate = 0.3
service_time = { dist = "exponential", mean = "4ms" }
"#;

#[test]
fn every_request_path_mechanism_gives_the_same_bytes_on_any_thread_count() {
    let s = Scenario::new("paths-threads", PATHS);
    let args = ["--replications", "3"];
    let one = s.run_json(Some(1), &args);
    let two = s.run_json(Some(2), &args);
    let json = parse(&one);
    assert!(
        json["requests"]["arrived"].as_u64().unwrap() > 5_000,
        "{json:#}"
    );
    for figure in ["hedges", "retries", "short_circuited"] {
        let total: u64 = ["model", "pay", "db"]
            .iter()
            .map(|s| json["services"][s][figure].as_u64().unwrap())
            .sum();
        assert!(total > 0, "{figure} happen in this scenario");
    }
    assert!(one == two, "1 vs 2 threads:\n{one}\n---\n{two}");
}

#[test]
fn same_seed_gives_the_same_bytes_run_after_run() {
    let s = Scenario::new("repeat", CHAIN);
    let first = s.run_json(None, &[]);
    let second = s.run_json(None, &[]);
    assert!(first == second, "{first}\n---\n{second}");
    // --seed equal to the file's seed is the same run.
    assert!(first == s.run_json(None, &["--seed", "42"]));
}

#[test]
fn another_seed_gives_other_figures() {
    let s = Scenario::new("seed", CHAIN);
    let base = parse(&s.run_json(None, &[]));
    let other = parse(&s.run_json(None, &["--seed", "43"]));
    assert_eq!(base["seed"], 42);
    assert_eq!(other["seed"], 43);
    assert_ne!(
        bytes(&base["latency_ms"]["mean"]),
        bytes(&other["latency_ms"]["mean"])
    );
    for service in ["a", "b", "c"] {
        assert_ne!(
            bytes(&base["services"][service]["latency_ms"]["mean"]),
            bytes(&other["services"][service]["latency_ms"]["mean"]),
            "{service}"
        );
    }
    // Replications are seeded apart too: 2 replications are not one run counted twice.
    let two = parse(&s.run_json(None, &["--replications", "2"]));
    let arrived = |v: &Value| v["requests"]["arrived"].as_u64().unwrap();
    assert_ne!(arrived(&two), 2 * arrived(&base));
}

/// `a -> b`, one worker at `a`: `a`'s queue depends only on the arrivals and `a`'s own draws.
const TANDEM: &str = r#"[scenario]
name = "tandem"
duration = "4s"
warmup = "400ms"
seed = 9

[traffic]
rate = 300
entry = "a"

[[service]]
name = "a"
replicas = 1
concurrency = 1
service_time = { dist = "exponential", mean = "2ms" }
calls = ["b"]

[[service]]
name = "b"
service_time = { dist = "exponential", mean = "2ms" }
"#;

/// The figures of service `a` that nothing downstream may change.
fn upstream_figures(json: &Value) -> Vec<(String, String)> {
    let a = &json["services"]["a"];
    vec![
        ("arrived".into(), bytes(&a["requests"]["arrived"])),
        ("queue_wait_ms".into(), bytes(&a["queue_wait_ms"])),
        ("utilization".into(), bytes(&a["utilization"])),
        ("mean_queue_length".into(), bytes(&a["mean_queue_length"])),
    ]
}

#[test]
fn changing_a_downstream_service_time_leaves_upstream_figures_unchanged() {
    let s = Scenario::new("streams-time", TANDEM);
    let base = parse(&s.run_json(None, &[]));
    let slower = parse(&s.run_json(
        None,
        &[
            "--set",
            r#"service.b.service_time={ dist = "exponential", mean = "2.5ms" }"#,
        ],
    ));
    let other_dist = parse(&s.run_json(
        None,
        &[
            "--set",
            r#"service.b.service_time={ dist = "lognormal", median = "1ms", p99 = "9ms" }"#,
        ],
    ));
    assert!(
        base["services"]["a"]["queue_wait_ms"]["mean"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    for changed in [&slower, &other_dist] {
        assert_eq!(upstream_figures(&base), upstream_figures(changed));
        let b = |j: &Value| bytes(&j["services"]["b"]["utilization"]);
        assert_ne!(b(&base), b(changed), "b's own figures do change");
        let b_wait = |j: &Value| bytes(&j["services"]["b"]["queue_wait_ms"]["mean"]);
        assert_ne!(b_wait(&base), b_wait(changed));
        assert_ne!(
            bytes(&base["latency_ms"]["mean"]),
            bytes(&changed["latency_ms"]["mean"]),
            "end-to-end latency includes b"
        );
    }
}

#[test]
fn errors_downstream_leave_upstream_queueing_unchanged() {
    let s = Scenario::new("streams-error", TANDEM);
    let base = parse(&s.run_json(None, &[]));
    let failing = parse(&s.run_json(None, &["--set", "service.b.error_rate=0.2"]));
    let more_b = parse(&s.run_json(None, &["--set", "service.b.replicas=3"]));
    assert_eq!(upstream_figures(&base), upstream_figures(&failing));
    assert_eq!(upstream_figures(&base), upstream_figures(&more_b));
    assert_eq!(base["requests"]["failed"], 0);
    let failed = failing["requests"]["failed"].as_u64().unwrap();
    let arrived = failing["requests"]["arrived"].as_u64().unwrap();
    assert!(
        failed > arrived / 10 && failed < arrived * 3 / 10,
        "about 20% fail: {failed} of {arrived}"
    );
    assert_eq!(failing["services"]["a"]["requests"]["failed"], failed);
    // b's own work is drawn from b's stream: the error draws do not shift its service times,
    // so b's queue (which errors do not shorten; they end after the work) is unchanged too.
    assert_eq!(
        bytes(&base["services"]["b"]["queue_wait_ms"]),
        bytes(&failing["services"]["b"]["queue_wait_ms"])
    );
}

#[test]
fn changing_upstream_traffic_changes_upstream_figures() {
    // The control for the two tests above: the figures compared there are sensitive.
    let s = Scenario::new("streams-control", TANDEM);
    let base = parse(&s.run_json(None, &[]));
    let slower_a = parse(&s.run_json(
        None,
        &[
            "--set",
            r#"service.a.service_time={ dist = "exponential", mean = "2.5ms" }"#,
        ],
    ));
    let base_a = upstream_figures(&base);
    let changed_a = upstream_figures(&slower_a);
    assert_eq!(base_a[0], changed_a[0], "same arrivals");
    assert_ne!(base_a[1], changed_a[1], "queue wait changes");
    assert_ne!(base_a[2], changed_a[2], "utilization changes");
}

fn counts(v: &Value) -> [u64; 5] {
    ["arrived", "succeeded", "failed", "rejected", "timed_out"].map(|k| {
        v[k].as_u64()
            .unwrap_or_else(|| panic!("requests.{k} in {v}"))
    })
}

fn assert_conserved(json: &Value) {
    let [arrived, ok, failed, rejected, timed_out] = counts(&json["requests"]);
    assert_eq!(
        arrived,
        ok + failed + rejected + timed_out,
        "top level: {}",
        json["requests"]
    );
    let services = json["services"].as_object().expect("services");
    assert!(!services.is_empty());
    for (name, service) in services {
        let [arrived, ok, failed, rejected, timed_out] = counts(&service["requests"]);
        assert_eq!(
            arrived,
            ok + failed + rejected + timed_out,
            "service {name}: {}",
            service["requests"]
        );
    }
}

#[test]
fn every_request_ends_exactly_one_way() {
    let s = Scenario::new("conservation", CHAIN);
    for args in [
        vec![],
        vec!["--replications", "3"],
        vec!["--set", "service.a.blocking_calls=true"],
        vec![
            "--set",
            "traffic.rate=900",
            "--set",
            "service.c.queue_capacity=1",
        ],
    ] {
        let json = parse(&s.run_json(None, &args));
        assert_conserved(&json);
        let [arrived, _, failed, rejected, _] = counts(&json["requests"]);
        assert!(failed > 0 && rejected > 0, "{args:?}: {}", json["requests"]);
        // The entry service sees every request; every `a` visit calls b first.
        assert_eq!(json["services"]["a"]["requests"]["arrived"], arrived);
        let [_, a_ok, a_failed, _, _] = counts(&json["services"]["a"]["requests"]);
        assert!(a_ok + a_failed > 0);
        assert!(
            json["services"]["b"]["requests"]["arrived"]
                .as_u64()
                .unwrap()
                <= arrived,
            "{args:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Conservation for random designs, run in-process: errors, tiny queues, blocking calls.
    #[test]
    fn requests_are_conserved_in_random_designs(
        rate in 50.0f64..2_000.0,
        warmup_ms in 0u32..100,
        services in prop::collection::vec(
            (1u32..3, 1u32..4, prop::option::of(0u32..4), 0.0f64..0.3, 0.1f64..5.0, any::<bool>()),
            1..5,
        ),
        fan_out in prop::collection::vec(any::<bool>(), 10),
    ) {
        let mut text = format!(
            "[scenario]\nduration = \"300ms\"\nwarmup = \"{warmup_ms}ms\"\nreplications = 2\n\
             [traffic]\nrate = {rate}\n"
        );
        let n = services.len();
        let mut edge = fan_out.iter().cycle();
        for (i, (replicas, concurrency, capacity, error_rate, mean_ms, blocking)) in
            services.iter().enumerate()
        {
            // Calls only go to later services, so the graph has no cycle.
            let calls: Vec<String> = (i + 1..n)
                .filter(|_| *edge.next().unwrap())
                .map(|j| format!("\"s{j}\""))
                .collect();
            text += &format!(
                "[[service]]\nname = \"s{i}\"\nreplicas = {replicas}\nconcurrency = {concurrency}\n\
                 error_rate = {error_rate}\nblocking_calls = {blocking}\ncalls = [{}]\n\
                 service_time = {{ dist = \"exponential\", mean = \"{mean_ms}ms\" }}\n",
                calls.join(", ")
            );
            if let Some(q) = capacity {
                text += &format!("queue_capacity = {q}\n");
            }
        }
        let model = capsim::scenario::load(&text, "random.toml", &[])
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let Outcome::Completed(summary) = capsim::sweep::run(&model) else {
            // Every queue that is unbounded can grow, but not to a million in 0.3s.
            panic!("no run of this size overloads:\n{text}");
        };
        let conserved = |c: &Counts| c.arrived == c.succeeded + c.failed + c.rejected + c.timed_out;
        prop_assert!(conserved(&summary.requests), "top: {:?}\n{}", summary.requests, text);
        for service in &summary.services {
            prop_assert!(conserved(&service.requests), "{}: {:?}\n{}", service.name, service.requests, text);
        }
        prop_assert_eq!(summary.services[0].requests.arrived, summary.requests.arrived);
    }
}

/// Every mechanism of a changing world at once: a shaped rate (diurnal, a ramped spike, a
/// step, bursts), an autoscaled service with provisioning draws, regions with an outage,
/// failover and health checks, crashes at a time and recurring, spot interruptions, slow
/// and erroring windows, a dependency's outage.
const CHANGING: &str = r#"[scenario]
name = "changing"
duration = "20m"
window = "30s"
seed = 5

[slo]
availability = 0.99
p99 = "500ms"

[traffic]
rate = 60
diurnal = { period = "10m", peak_to_trough = 2.0, peak_at = "3m" }
spikes = [ { at = "5m", duration = "4m", multiplier = 6, ramp = "30s" } ]
steps = [ { at = "12m", rate = 90, ramp = "1m" } ]
bursts = { on = "20s", off = "2m", multiplier = 2 }

[[region]]
name = "us"
weight = 0.7
[[region]]
name = "eu"
weight = 0.3

[network]
latency = { "us-eu" = "70ms" }
failover = { dns_ttl = "20s" }

[[service]]
name = "edge"
regions = { us = 2, eu = 2 }
concurrency = 20
service_time = { dist = "lognormal", median = "2ms", p99 = "20ms" }
health = { interval = "5s", failures = 2 }
calls = ["api"]

[[service]]
name = "api"
concurrency = 4
service_time = { dist = "exponential", mean = "20ms" }
autoscale = { min = 2, max = 30, target = 0.6, provisioning = { dist = "uniform", min = "20s", max = "60s" } }
calls = ["db"]
price_per_hour = 0.3

[[service]]
name = "db"
replicas = 3
concurrency = 16
service_time = { dist = "gamma", mean = "5ms", cv = 1.2 }

[[fault]]
kind = "region_outage"
target = "eu"
at = "7m"
duration = "3m"

[[fault]]
kind = "crash"
target = "db"
at = "2m"
duration = "30s"

[[fault]]
kind = "crash"
target = "api"
mtbf = "10m"
mttr = { dist = "exponential", mean = "30s" }

[[fault]]
kind = "spot"
target = "api"
rate = 2
notice = "30s"

[[fault]]
kind = "slow"
target = "db"
at = "14m"
duration = "1m"
factor = 3

[[fault]]
kind = "errors"
target = "api"
at = "16m"
duration = "1m"
rate = 0.2

[[fault]]
kind = "outage"
target = "db"
at = "18m"
duration = "20s"
"#;

/// Same bytes on stdout and in every `--out` file, on 1, 2 and 4 threads.
#[test]
fn a_changing_world_gives_the_same_bytes_on_any_thread_count() {
    let s = Scenario::new("changing", CHANGING);
    let run = |threads: usize| -> (String, String, String) {
        let dir = format!("out{threads}");
        let stdout = s.run_json(Some(threads), &["--replications", "3", "--out", &dir]);
        let read =
            |name: &str| std::fs::read_to_string(s.scratch.dir.join(&dir).join(name)).unwrap();
        (stdout, read("summary.json"), read("timeseries.csv"))
    };
    let one = run(1);
    let json = parse(&one.0);
    let kinds: Vec<&str> = json["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "spike",
        "step",
        "scale_up",
        "crash",
        "spot_notice",
        "fault_start",
        "failover",
        "ejected",
    ] {
        assert!(kinds.contains(&kind), "no {kind} event: {kinds:?}");
    }
    assert_eq!(
        one.2.lines().count(),
        1 + 40,
        "a header and 40 windows of 30 s"
    );
    for threads in [2, 4] {
        let other = run(threads);
        assert!(one.0 == other.0, "stdout, 1 vs {threads} threads");
        assert!(one.1 == other.1, "summary.json, 1 vs {threads} threads");
        assert!(one.2 == other.2, "timeseries.csv, 1 vs {threads} threads");
    }
}

/// A closed loop of users and a replayed trace are deterministic too.
#[test]
fn closed_loops_and_traces_give_the_same_bytes_on_any_thread_count() {
    let closed = CHAIN.replace(
        "rate = 400",
        "users = 40\nthink_time = { dist = \"exponential\", mean = \"100ms\" }",
    );
    let s = Scenario::new("closed", &closed);
    let one = s.run_json(Some(1), &["--replications", "3"]);
    assert!(one == s.run_json(Some(4), &["--replications", "3"]));
    let traced = CHAIN.replace("rate = 400", "trace = \"t.csv\"");
    let s = Scenario::new("traced", &traced);
    s.scratch
        .write("t.csv", "time_s,rate\n0,300\n1,500\n2,100\n");
    let one = s.run_json(Some(1), &["--replications", "3"]);
    assert!(parse(&one)["requests"]["arrived"].as_u64().unwrap() > 2000);
    assert!(one == s.run_json(Some(4), &["--replications", "3"]));
}

/// How each shipped scenario is shortened for [`every_shipped_scenario_gives_the_same_bytes_on_one_and_two_threads`]:
/// every fault, spike and deployment still happens (each run ends after the last one starts),
/// only the quiet stretches around them go, and the busiest runs get less traffic. The whole
/// test spends about 20 s of CPU (10 s on 2 idle cores). A file not listed runs as shipped.
const SHORTENED: &[(&str, &[&str])] = &[
    (
        "ecommerce-personalization",
        &["scenario.duration=570s", "traffic.rate=100"],
    ),
    ("fraud-detection", &["scenario.duration=3m"]),
    (
        "netflix-recommendations",
        &["scenario.duration=630s", "traffic.rate=200"],
    ),
    ("teaching/autoscaler-spike", &["scenario.duration=12m"]),
    ("teaching/balancers", &["scenario.duration=10m"]),
    ("teaching/bounded-queue", &["scenario.duration=10m"]),
    ("teaching/cache-zipf", &["scenario.duration=2m"]),
    ("teaching/canary-bad-version", &["scenario.duration=20m"]),
    ("teaching/deploy-strategies", &["scenario.duration=11m"]),
    ("teaching/erlang-staffing", &["scenario.duration=2h"]),
    (
        "teaching/failover-headroom",
        &["scenario.duration=630s", "traffic.rate=1000"],
    ),
    ("teaching/mg1-heavy-tail", &["scenario.duration=20m"]),
    ("teaching/mm1", &["scenario.duration=5m"]),
    ("teaching/open-closed-loop", &["scenario.duration=5m"]),
    ("teaching/peak-vs-mean", &["scenario.duration=15m"]),
    (
        "teaching/region-failover",
        &["scenario.duration=21m", "traffic.rate=100"],
    ),
    (
        "teaching/retry-storm",
        &["scenario.warmup=30s", "scenario.duration=1m"],
    ),
    ("teaching/shared-queue", &["scenario.duration=20m"]),
    ("teaching/tail-at-scale", &["scenario.duration=2m"]),
    (
        "teaching/timeouts-breaker",
        &["scenario.duration=6m", "traffic.rate=300"],
    ),
    ("teaching/two-tier", &["scenario.duration=5m"]),
    (
        "teaching/utilization-hockey-stick",
        &["scenario.duration=10m"],
    ),
];

/// Every `.toml` under `scenarios/`, as its path without `scenarios/` and `.toml`, sorted.
fn shipped_scenarios() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let names = files_under(&root).into_iter();
    names
        .filter_map(|f| Some(f.strip_suffix(".toml")?.replace('\\', "/")))
        .collect()
}

/// `--set` arguments shortening `name` (see [`SHORTENED`]).
fn shortened(name: &str) -> Vec<String> {
    SHORTENED
        .iter()
        .filter(|(n, _)| *n == name)
        .flat_map(|(_, sets)| {
            sets.iter()
                .flat_map(|s| ["--set".to_string(), s.to_string()])
        })
        .collect()
}

/// What a command printed and the files it wrote, by name, to compare byte for byte.
type Written = (String, Vec<(String, String)>);

/// Runs `capsim ARGS --out DIR` (on `threads` rayon threads, or the default pool for `None`)
/// and reads back `files` from DIR.
fn written(
    s: &Scratch,
    threads: Option<usize>,
    args: &[String],
    dir: &str,
    files: &[&str],
) -> Written {
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .chain(["--out", dir])
        .collect();
    let out = s.capsim_on_threads(threads, &args);
    assert!(matches!(out.code, Some(0 | 1)), "capsim ran: {out:#?}");
    let files = files
        .iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(s.dir.join(dir).join(f)).ok()?;
            Some((f.to_string(), text))
        })
        .collect();
    (out.stdout, files)
}

/// Item 6 of issue 17: every scenario the repository ships, run with two replications on 1
/// and on 2 rayon threads (`run` has no `--jobs`: RAYON_NUM_THREADS sizes its pool), prints
/// the same JSON and writes the same summary.json and timeseries.csv; every shipped sweep and
/// plan gives the same JSON and files with `--jobs 1` and `--jobs 2`. The two runs of a file
/// go side by side, so the test's wall time is about that of the 2-thread runs.
#[test]
fn every_shipped_scenario_gives_the_same_bytes_on_one_and_two_threads() {
    let names = shipped_scenarios();
    for (name, _) in SHORTENED {
        assert!(
            names.iter().any(|n| n == name),
            "{name} is not shipped any more"
        );
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let s = Scratch::new("shipped");
    let mut grids = 0;
    for (i, name) in names.iter().enumerate() {
        let path = root.join(format!("{name}.toml"));
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path.to_str().unwrap().to_string();
        let two_replications = ["--replications", "2"];
        let mut runs = vec![(
            "run",
            two_replications,
            &["summary.json", "timeseries.csv"][..],
        )];
        if text.lines().any(|l| l.trim() == "[sweep]") {
            let files = &["results.jsonl", "results.csv", "manifest.json"][..];
            runs.push(("sweep", two_replications, files));
        }
        if text.lines().any(|l| l.trim() == "[plan]") {
            runs.push((
                "plan",
                ["--max-replications", "4"],
                &["plan.json", "plan.md"][..],
            ));
        }
        grids += runs.len() - 1;
        for (command, extra, files) in runs {
            let mut args: Vec<String> = [command, file.as_str(), "--format", "json"]
                .iter()
                .chain(&extra)
                .map(|a| a.to_string())
                .collect();
            args.extend(shortened(name));
            if command == "plan" && name == "fraud-detection" {
                // Its plan simulates 8 designs up to 4 times each: a lighter load.
                args.extend(["--set".to_string(), "traffic.rate=50".to_string()]);
            }
            let on = |jobs: usize| -> Written {
                let dir = format!("{command}-{i}-{jobs}");
                if command == "run" {
                    written(&s, Some(jobs), &args, &dir, files)
                } else {
                    let args =
                        [args.clone(), vec!["--jobs".to_string(), jobs.to_string()]].concat();
                    written(&s, None, &args, &dir, files)
                }
            };
            let (one, two) = std::thread::scope(|scope| {
                let one = scope.spawn(|| on(1));
                let two = on(2);
                (one.join().unwrap(), two)
            });
            assert!(!one.0.is_empty(), "{command} {name} printed its JSON");
            assert!(
                one.0 == two.0,
                "{command} {name}: stdout differs between 1 and 2 threads"
            );
            let wrote = |w: &Written| w.1.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
            assert_eq!(wrote(&one), files, "{command} {name} wrote every file");
            assert_eq!(wrote(&two), files, "{command} {name} wrote every file");
            for ((file, a), (_, b)) in one.1.iter().zip(&two.1) {
                assert!(
                    a == b,
                    "{command} {name}: {file} differs between 1 and 2 threads"
                );
            }
        }
    }
    assert!(grids >= 4, "the shipped sweeps and plans were run: {grids}");
}
