//! `capsim sweep`, `plan` and `merge`: results that do not depend on the thread count, the
//! shard cut or a crash; common random numbers across points; plans checked against Erlang C
//! staffing and against an exhaustive sweep; bad input refused with exit 2, naming the key.

use crate::support::{Output, Scratch};
use capsim::scenario::Source;
use capsim::sweep::grid::Grid;
use capsim::sweep::plan::{self, Options};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Two tiers and a 3 x 4 grid: 12 points of 2 replications, a few thousand requests each.
const GRID: &str = r#"[scenario]
name = "grid"
duration = "20s"
warmup = "1s"
seed = 11
replications = 2

[slo]
p99 = "15ms"

[traffic]
rate = 300
entry = "web"

[[service]]
name = "web"
replicas = 2
concurrency = 2
service_time = { dist = "lognormal", median = "2ms", p99 = "12ms" }
calls = ["db"]
price_per_hour = 0.1

[[service]]
name = "db"
concurrency = 2
service_time = { dist = "exponential", mean = "1ms" }
price_per_hour = 0.5

[sweep]
"service.web.replicas" = [1, 2, 3]
"traffic.rate" = { from = 200, to = 500, step = 100 }
"#;

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn ran(out: Output) -> Output {
    assert!(
        matches!(out.code, Some(0 | 1)),
        "capsim ran to the end: {out:#?}"
    );
    out
}

/// The `point` numbers of a results.jsonl, in file order.
fn points_of(jsonl: &str) -> Vec<u64> {
    jsonl
        .lines()
        .map(|l| {
            let row: Value = serde_json::from_str(l).expect("a row is JSON");
            row["point"].as_u64().expect("a row has its point")
        })
        .collect()
}

#[test]
fn one_job_and_two_jobs_write_the_same_bytes() {
    let s = Scratch::new("jobs");
    s.write("grid.toml", GRID);
    ran(s.capsim(&["sweep", "grid.toml", "--jobs", "1", "--out", "one"]));
    ran(s.capsim(&["sweep", "grid.toml", "--jobs", "2", "--out", "two"]));
    for file in ["results.csv", "results.jsonl", "manifest.json"] {
        let (a, b) = (
            read(s.dir.join("one").join(file)),
            read(s.dir.join("two").join(file)),
        );
        assert_eq!(a, b, "{file} differs between --jobs 1 and --jobs 2");
    }
    let csv = read(s.dir.join("one/results.csv"));
    assert_eq!(
        csv.lines().count(),
        1 + 12,
        "a header and a row per point:\n{csv}"
    );
    // The scenario as swept loads on its own, and `capsim report` draws the same page again.
    let swept = read(s.dir.join("one/scenario.toml"));
    capsim::scenario::load(&swept, "scenario.toml", &[]).unwrap_or_else(|e| panic!("{e}"));
    let page = read(s.dir.join("one/index.html"));
    assert!(
        page.contains("sweep_p99"),
        "the page shows the sweep's charts"
    );
    let again = s.capsim(&["report", "one"]);
    assert_eq!(again.code, Some(0), "capsim report: {again:#?}");
    assert_eq!(read(s.dir.join("one/index.html")), page);
    assert!(csv.starts_with(
        "service.web.replicas,traffic.rate,p50_ms,p95_ms,p99_ms,p99_ms_low,p99_ms_high,availability,throughput_rps,cost_per_hour_usd,slo_met,"
    ));
    // Grid order: the first axis slowest.
    assert_eq!(
        points_of(&read(s.dir.join("one/results.jsonl"))),
        (0..12).collect::<Vec<_>>()
    );
    let second: Vec<&str> = csv.lines().nth(2).unwrap().split(',').collect();
    assert_eq!(&second[..2], ["1", "300"]);
    // Cost: 1 web replica at $0.10 and 1 db replica at $0.50.
    assert_eq!(second[9], "0.6");
}

#[test]
fn three_shards_merged_equal_the_whole_sweep() {
    let s = Scratch::new("shards");
    s.write("grid.toml", GRID);
    ran(s.capsim(&["sweep", "grid.toml", "--out", "whole"]));
    for i in 0..3 {
        let shard = format!("{i}/3");
        let out = format!("shard{i}");
        ran(s.capsim(&["sweep", "grid.toml", "--shard", &shard, "--out", &out]));
        let rows = points_of(&read(s.dir.join(&out).join("results.jsonl")));
        assert_eq!(
            rows,
            (i..12).step_by(3).collect::<Vec<_>>(),
            "shard {shard}"
        );
    }
    // Given in any order.
    ran(s.capsim(&["merge", "shard2", "shard0", "shard1", "--out", "merged"]));
    // The data files, and the scenario and page drawn from them.
    let drawn = [
        "scenario.toml",
        "index.html",
        "sweep_p99.svg",
        "sweep_heatmap.svg",
    ];
    for file in ["results.csv", "results.jsonl", "manifest.json"]
        .into_iter()
        .chain(drawn)
    {
        assert_eq!(
            read(s.dir.join("whole").join(file)),
            read(s.dir.join("merged").join(file)),
            "{file}: merged shards differ from the whole sweep"
        );
    }

    // A missing slice, a slice given twice, and a shard of another scenario are refused.
    let missing = s.capsim(&["merge", "shard0", "shard2", "--out", "m2"]);
    assert!(missing.bad_input().contains("1/3 missing"), "{missing:#?}");
    let twice = s.capsim(&["merge", "shard0", "shard0", "shard1", "--out", "m3"]);
    assert!(twice.bad_input().contains("both shard 0/3"), "{twice:#?}");
    ran(s.capsim(&[
        "sweep",
        "grid.toml",
        "--shard",
        "1/3",
        "--out",
        "other",
        "--set",
        "scenario.seed=12",
    ]));
    let other = s.capsim(&["merge", "shard0", "other", "shard2", "--out", "m4"]);
    assert!(other.bad_input().contains("different sweeps"), "{other:#?}");
    assert!(
        !s.dir.join("m2").exists() && !s.dir.join("m4").exists(),
        "no partial output"
    );
}

/// Heavier points (about 100,000 requests each per replication), one at a time, so that a
/// sweep is still running when its first row appears.
const HEAVY: [&str; 4] = ["--set", "scenario.duration=400s", "--jobs", "1"];

/// Starts `capsim sweep grid.toml --out DIR` with `HEAVY` and waits (polling the journal)
/// until its first row is on disk.
fn start_and_wait_for_a_row(s: &Scratch, dir: &str) -> std::process::Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_capsim"))
        .args(["sweep", "grid.toml", "--out", dir])
        .args(HEAVY)
        .current_dir(&s.dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start capsim");
    let journal = s.dir.join(dir).join("results.jsonl");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let rows = std::fs::read_to_string(&journal).map_or(0, |t| t.matches('\n').count());
        if rows > 0 {
            return child;
        }
        assert!(Instant::now() < deadline, "no row appeared within 120 s");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sweep ended before a row appeared"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_sweep_killed_partway_and_resumed_equals_an_uninterrupted_one() {
    let s = Scratch::new("resume");
    s.write("grid.toml", GRID);
    let mut child = start_and_wait_for_a_row(&s, "killed");
    child.kill().expect("SIGKILL the sweep");
    child.wait().unwrap();
    let journal = s.dir.join("killed/results.jsonl");
    let before = points_of(&read(&journal));
    assert!(
        !before.is_empty() && before.len() < 12,
        "killed partway: {} of 12 points were done",
        before.len()
    );
    // A torn last line, as a machine that stops mid-write leaves, is dropped on resume.
    let mut torn = read(&journal);
    torn.push_str("{\"service.web.replicas\":3,\"traffic.r");
    std::fs::write(&journal, torn).unwrap();

    let resume = [
        &["sweep", "grid.toml", "--out", "killed", "--resume"][..],
        &HEAVY,
    ]
    .concat();
    let resumed = ran(s.capsim(&resume));
    assert!(resumed.stdout.contains("(12 of 12 points)"), "{resumed:#?}");
    ran(s.capsim(&[&["sweep", "grid.toml", "--out", "whole"][..], &HEAVY].concat()));
    let points = points_of(&read(&journal));
    assert_eq!(
        points,
        (0..12).collect::<Vec<_>>(),
        "every point exactly once, in order"
    );
    for file in ["results.csv", "results.jsonl", "manifest.json"] {
        assert_eq!(
            read(s.dir.join("killed").join(file)),
            read(s.dir.join("whole").join(file)),
            "{file}: the resumed sweep differs from the uninterrupted one"
        );
    }
}

#[test]
fn ctrl_c_stops_cleanly_keeping_what_finished_in_grid_order() {
    let s = Scratch::new("ctrl-c");
    s.write("grid.toml", GRID);
    let child = start_and_wait_for_a_row(&s, "stopped");
    // SAFETY: kill(2) with the pid of a child this test started and has not yet waited for.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0, "SIGINT sent");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "Ctrl-C exits 130: {stderr}");
    assert!(
        stderr.contains("interrupted") && stderr.contains("--resume"),
        "{stderr}"
    );
    let points = points_of(&read(s.dir.join("stopped/results.jsonl")));
    assert!(points.len() < 12, "stopped partway: {points:?}");
    let mut sorted = points.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(points, sorted, "whole rows, each once, in grid order");
    let csv = read(s.dir.join("stopped/results.csv"));
    assert_eq!(
        csv.lines().count(),
        1 + points.len(),
        "the CSV holds the same rows:\n{csv}"
    );
    let resume = [
        &["sweep", "grid.toml", "--out", "stopped", "--resume"][..],
        &HEAVY,
    ]
    .concat();
    let resumed = ran(s.capsim(&resume));
    assert!(resumed.stdout.contains("(12 of 12 points)"), "{resumed:#?}");
    assert_eq!(
        points_of(&read(s.dir.join("stopped/results.jsonl"))).len(),
        12
    );
}

#[test]
fn p99_falls_with_every_replica_added_for_the_same_seed() {
    // One replica at utilization 0.9, then 2 to 8: with the same seed every request keeps its
    // arrival time and service time at every point (common random numbers), so the curve is
    // smooth: p99 falls at each step, down to the p99 of service alone (ln(100) x 2 ms = 9.2 ms).
    let s = Scratch::new("crn");
    s.write(
        "crn.toml",
        r#"[scenario]
duration = "60s"
warmup = "5s"
seed = 5
[traffic]
rate = 450
[[service]]
name = "api"
service_time = { dist = "exponential", mean = "2ms" }
[sweep]
"service.api.replicas" = { from = 1, to = 8 }
"#,
    );
    let out = ran(s.capsim(&["sweep", "crn.toml", "--format", "json"]));
    let rows = out.json()["rows"].as_array().unwrap().clone();
    let p99: Vec<f64> = rows.iter().map(|r| r["p99_ms"].as_f64().unwrap()).collect();
    assert_eq!(p99.len(), 8);
    for pair in p99.windows(2) {
        assert!(
            pair[1] < pair[0],
            "p99 must fall with each replica added: {p99:?}"
        );
    }
    // M/M/1 at rho 0.9: p99 of the time in system = ln(100) x 2 ms / (1 - 0.9) = 92 ms.
    assert!(
        (p99[0] - 92.1).abs() < 0.25 * 92.1,
        "p99 at 1 replica: {}",
        p99[0]
    );
    assert!(
        p99[7] > 9.2 && p99[7] < 1.3 * 9.2,
        "p99 at 8 replicas: {}",
        p99[7]
    );
}

/// Erlang C by its defining sum, in logs (independent of `metrics::theory`, which uses the
/// Erlang B recurrence): the mean wait in queue of M/M/c with offered load `a` and mean
/// service time 1.
fn erlang_c_wait(c: u32, a: f64) -> f64 {
    let ln_term = |k: u32| f64::from(k) * a.ln() - (1..=k).map(|i| f64::from(i).ln()).sum::<f64>();
    let below: f64 = (0..c).map(|k| ln_term(k).exp()).sum();
    let top = ln_term(c).exp() * f64::from(c) / (f64::from(c) - a);
    let p_wait = top / (below + top);
    p_wait / (f64::from(c) - a)
}

#[test]
fn plan_staffs_an_mmc_queue_as_erlang_c_does_at_several_loads() {
    // For each load a (Erlangs), the staffing c* is the fewest servers whose mean wait is at
    // most 10% of the service time; the SLO puts the target halfway (geometrically) between
    // the waits at c* - 1 and c*, so the answer is decidable from a simulation. Service is
    // exponential with mean 10 ms; each replication has about 60,000 arrivals.
    for a in [2.0, 8.0, 20.0, 45.0] {
        let staffed = (1..200)
            .find(|&c| f64::from(c) > a && erlang_c_wait(c, a) <= 0.1)
            .unwrap();
        // Erlang C staffing for this target is c*: the wait at c* - 1 is above it (or c* - 1
        // servers cannot keep up at all).
        let target_wait = if f64::from(staffed - 1) > a {
            (erlang_c_wait(staffed - 1, a) * erlang_c_wait(staffed, a)).sqrt()
        } else {
            2.0 * erlang_c_wait(staffed, a)
        };
        let rate = a * 100.0;
        let mean_ms = 10.0 * (1.0 + target_wait);
        let text = format!(
            r#"[scenario]
duration = "{duration}s"
warmup = "{warmup}s"
seed = 3
replications = 4
[slo]
mean = "{mean_ms}ms"
[traffic]
rate = {rate}
[[service]]
name = "agents"
concurrency = 1
service_time = {{ dist = "exponential", mean = "10ms" }}
[plan]
"service.agents.concurrency" = {{ from = 1, to = 80 }}
"#,
            duration = 60_000.0 / rate + 2.0,
            warmup = 2.0,
        );
        let mut source = Source::parse(&text, "mmc.toml").unwrap();
        source.set(&[]);
        source.model().unwrap_or_else(|e| panic!("{e}"));
        let grid = Grid::new(source.axes("plan"));
        let load = |c: &[usize]| source.point(&grid.settings_at(c));
        let options = Options {
            replications: 4,
            max_replications: 32,
        };
        let result = plan::search(&grid, &load, options).unwrap();
        let best = result
            .best
            .as_ref()
            .expect("a staffing level meets the SLO");
        let found = grid.settings_at(&best.coordinates)[0]
            .1
            .as_integer()
            .unwrap();
        assert_eq!(
            found,
            i64::from(staffed),
            "load {a} Erlangs: Erlang C staffs {staffed} (wait {:.4} at {staffed}, {:.4} at {}; target {target_wait:.4} service times)",
            erlang_c_wait(staffed, a),
            erlang_c_wait(staffed - 1, a),
            staffed - 1
        );
        // Bisection over 80 values: a handful of designs, not 80.
        assert!(
            result.evaluated.len() <= 8,
            "{} designs evaluated",
            result.evaluated.len()
        );
        assert_eq!(
            result.binding.as_ref().unwrap().verdict.measure.key(),
            "mean"
        );
    }
}

/// Two tiers priced differently, each with 1 to 6 replicas.
const TWO_TIERS: &str = r#"[scenario]
name = "tiers"
duration = "30s"
warmup = "2s"
seed = 8
replications = 3

[slo]
p99 = "25ms"

[traffic]
rate = 900

[[service]]
name = "web"
service_time = { dist = "exponential", mean = "2ms" }
calls = ["db"]
price_per_hour = 0.10

[[service]]
name = "db"
service_time = { dist = "exponential", mean = "1.5ms" }
price_per_hour = 0.35

[sweep]
"service.web.replicas" = { from = 1, to = 6 }
"service.db.replicas" = { from = 1, to = 6 }

[plan]
"service.web.replicas" = { from = 1, to = 6 }
"service.db.replicas" = { from = 1, to = 6 }
"#;

#[test]
fn plan_on_two_tiers_finds_the_cheapest_pair_of_an_exhaustive_sweep() {
    let s = Scratch::new("two-tiers");
    s.write("tiers.toml", TWO_TIERS);
    // The plan's evidence per design is exactly 3 replications (no more are added), so each
    // design it simulates is the same simulation as the sweep's point.
    let plan = s.capsim(&[
        "plan",
        "tiers.toml",
        "--format",
        "json",
        "--max-replications",
        "3",
    ]);
    assert_eq!(plan.code, Some(0), "{plan:#?}");
    // The search visits the same designs on any number of threads: the same bytes.
    let one_job = s.capsim(&[
        "plan",
        "tiers.toml",
        "--format",
        "json",
        "--max-replications",
        "3",
        "--jobs",
        "1",
    ]);
    assert_eq!(
        one_job.stdout, plan.stdout,
        "--jobs 1 and the default give the same plan"
    );
    let plan = plan.json();
    let out = ran(s.capsim(&["sweep", "tiers.toml", "--format", "json"]));
    let rows = out.json()["rows"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 36);
    // Feasible with confidence: the pooled p99 and the upper end of its interval within 25 ms.
    let feasible = |r: &Value| {
        r["p99_ms"].as_f64().is_some_and(|p| p <= 25.0)
            && r["p99_ms_high"].as_f64().is_some_and(|h| h <= 25.0)
    };
    let cheapest = rows
        .iter()
        .filter(|r| feasible(r))
        .min_by(|a, b| {
            let cost = |r: &Value| r["cost_per_hour_usd"].as_f64().unwrap();
            let size = |r: &Value| {
                r["service.web.replicas"].as_i64().unwrap()
                    + r["service.db.replicas"].as_i64().unwrap()
            };
            cost(a).total_cmp(&cost(b)).then(size(a).cmp(&size(b)))
        })
        .expect("some pair is feasible");
    let settings = &plan["best"]["settings"];
    assert_eq!(
        settings["service.web.replicas"], cheapest["service.web.replicas"],
        "plan {plan:#}"
    );
    assert_eq!(
        settings["service.db.replicas"], cheapest["service.db.replicas"],
        "plan {plan:#}"
    );
    assert_eq!(
        plan["best"]["cost_per_hour_usd"],
        cheapest["cost_per_hour_usd"]
    );
    assert_eq!(plan["best"]["p99_ms"], cheapest["p99_ms"]);
    // The frontier starts at the cheapest design simulated and its p99 only falls.
    let frontier = plan["frontier"].as_array().unwrap();
    assert!(!frontier.is_empty());
    for pair in frontier.windows(2) {
        assert!(pair[0]["cost_per_hour_usd"].as_f64() <= pair[1]["cost_per_hour_usd"].as_f64());
        assert!(pair[0]["p99_ms"].as_f64() > pair[1]["p99_ms"].as_f64());
    }
    assert!(
        plan["evaluated"].as_u64().unwrap() < 36,
        "the search did not try every pair"
    );
}

#[test]
fn plan_picks_an_instance_type_and_its_replicas_as_an_exhaustive_sweep_does() {
    // Instance types are bundles of a price and a speed; the knob is a list (scanned), the
    // replicas a range (bisected for each type). Small: $0.05/h, 4 ms; large: $0.12/h, 2 ms.
    // At 1,000 requests/s small needs at least 5 replicas to keep up, large at least 3.
    let s = Scratch::new("instances");
    let knobs = r#""service.api" = [
  { name = "small", set = { price_per_hour = 0.05, service_time = { dist = "exponential", mean = "4ms" } } },
  { name = "large", set = { price_per_hour = 0.12, service_time = { dist = "exponential", mean = "2ms" } } },
]
"service.api.replicas" = { from = 1, to = 12 }"#;
    let text = format!(
        r#"[scenario]
name = "instances"
duration = "20s"
warmup = "2s"
seed = 21
replications = 3
[slo]
p99 = "30ms"
[traffic]
rate = 1000
[[service]]
name = "api"
service_time = {{ dist = "exponential", mean = "4ms" }}
[sweep]
{knobs}
[plan]
{knobs}
"#
    );
    s.write("instances.toml", &text);
    let plan = s.capsim(&[
        "plan",
        "instances.toml",
        "--format",
        "json",
        "--max-replications",
        "3",
    ]);
    assert_eq!(plan.code, Some(0), "{plan:#?}");
    let plan = plan.json();
    let out = ran(s.capsim(&["sweep", "instances.toml", "--format", "json"]));
    let rows = out.json()["rows"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 24);
    assert_eq!(
        rows[12]["service.api"], "large",
        "a bundle is shown by its name"
    );
    let feasible = |r: &&Value| {
        r["p99_ms"].as_f64().is_some_and(|p| p <= 30.0)
            && r["p99_ms_high"].as_f64().is_some_and(|h| h <= 30.0)
    };
    let cost = |r: &Value| r["cost_per_hour_usd"].as_f64().unwrap();
    let cheapest = rows
        .iter()
        .filter(feasible)
        .min_by(|a, b| cost(a).total_cmp(&cost(b)))
        .expect("some design is feasible");
    let best = &plan["best"];
    assert_eq!(
        best["settings"]["service.api"], cheapest["service.api"],
        "{plan:#}"
    );
    assert_eq!(
        best["settings"]["service.api.replicas"], cheapest["service.api.replicas"],
        "{plan:#}"
    );
    assert_eq!(best["cost_per_hour_usd"], cheapest["cost_per_hour_usd"]);
}

#[test]
fn exit_codes_say_whether_any_point_meets_every_slo() {
    let s = Scratch::new("exit");
    s.write("grid.toml", GRID);
    let some = s.capsim(&["sweep", "grid.toml"]);
    assert_eq!(some.code, Some(0), "{some:#?}");
    assert_eq!(
        some.stderr, "",
        "no progress bar when stderr is not a terminal"
    );
    assert!(
        some.stdout.contains("PASS") && some.stdout.contains("FAIL"),
        "{some:#?}"
    );
    let none = s.capsim(&["sweep", "grid.toml", "--set", "slo.p99=\"1us\""]);
    assert_eq!(none.code, Some(1), "{none:#?}");
    assert!(
        none.stdout.contains("no point meets every SLO"),
        "{none:#?}"
    );
    let markdown = s.capsim(&["sweep", "grid.toml", "--format", "markdown"]);
    assert!(
        markdown.stdout.contains("| `service.web.replicas` |"),
        "{markdown:#?}"
    );

    // An overloaded point is a row too: no figures, the service named, the SLO missed.
    let overloaded = [
        "sweep",
        "grid.toml",
        "--sweep",
        "traffic.rate=300,5000",
        "--sweep",
        "service.web.replicas=1",
        "--set",
        "scenario.max_in_flight=200",
        "--out",
        "o",
    ];
    let out = s.capsim(&overloaded);
    assert_eq!(out.code, Some(0), "the 300/s point meets the SLO: {out:#?}");
    assert!(out.stdout.contains("OVERLOADED (web)"), "{out:#?}");
    let csv = read(s.dir.join("o/results.csv"));
    let row: Vec<&str> = csv.lines().nth(2).unwrap().split(',').collect();
    assert_eq!(row[..2], ["5000", "1"]);
    assert!(
        row[2..9].iter().all(|cell| cell.is_empty()),
        "no figures: {row:?}"
    );
    // Then the degraded share and the hit ratio, empty as the other figures.
    assert_eq!(
        row[9..],
        ["0.6", "false", "1", "", "web", "overloaded", "", ""]
    );
}

#[test]
fn axes_keep_the_order_written_and_sweep_adds_after_them() {
    // Not alphabetical: traffic.rate first, then the web replicas; --sweep's axis last, and a
    // --sweep of a path the file sweeps replaces the file's axis.
    let s = Scratch::new("order");
    s.write(
        "grid.toml",
        &with_grid(
            "sweep",
            "\"traffic.rate\" = [200, 300]\n\"service.web.replicas\" = [1, 2]",
        ),
    );
    let args = [
        "sweep",
        "grid.toml",
        "--sweep",
        "service.db.concurrency=2,4",
        "--sweep",
        "traffic.rate=250",
        "--out",
        "r",
    ];
    ran(s.capsim(&args));
    let csv = read(s.dir.join("r/results.csv"));
    assert!(
        csv.starts_with("service.web.replicas,service.db.concurrency,traffic.rate,p50_ms,"),
        "{csv}"
    );
    let first: Vec<&str> = csv.lines().nth(1).unwrap().split(',').take(3).collect();
    assert_eq!(first, ["1", "2", "250"]);
    assert_eq!(csv.lines().count(), 1 + 4);
    // In the file's order when nothing comes from the command line.
    ran(s.capsim(&["sweep", "grid.toml", "--out", "r2"]));
    assert!(read(s.dir.join("r2/results.csv")).starts_with("traffic.rate,service.web.replicas,"));
}

#[test]
fn the_teaching_scenarios_answer_as_their_comments_say() {
    // erlang-staffing.toml: 14 agents, as Erlang C staffs them, in 7 designs looked at.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/teaching");
    let text = read(root.join("erlang-staffing.toml"));
    let mut source = Source::parse(&text, "erlang-staffing.toml").unwrap();
    source.set(&[]);
    source.model().unwrap_or_else(|e| panic!("{e}"));
    let grid = Grid::new(source.axes("plan"));
    let load = |c: &[usize]| source.point(&grid.settings_at(c));
    let options = Options {
        replications: 4,
        max_replications: 24,
    };
    let result = plan::search(&grid, &load, options).unwrap();
    let best = result.best.expect("a staffing level");
    assert_eq!(
        grid.settings_at(&best.coordinates)[0].1.as_integer(),
        Some(14)
    );
    assert_eq!(result.evaluated.len(), 7);
    // utilization-hockey-stick.toml: a valid sweep of 10 rates, 0.5 to 0.98 of 1000/s.
    let text = read(root.join("utilization-hockey-stick.toml"));
    let mut source = Source::parse(&text, "utilization-hockey-stick.toml").unwrap();
    source.set(&[]);
    source.model().unwrap_or_else(|e| panic!("{e}"));
    let axes = source.axes("sweep");
    let rates: Vec<i64> = axes[0]
        .values
        .iter()
        .map(|v| v.as_integer().unwrap())
        .collect();
    assert_eq!(rates, [500, 600, 700, 800, 850, 900, 925, 950, 965, 980]);
}

/// A scenario with `[sweep]` (or `[plan]`) lines appended to GRID's first part.
fn with_grid(table: &str, lines: &str) -> String {
    let base = GRID.split("[sweep]").next().unwrap();
    format!("{base}[{table}]\n{lines}\n")
}

#[test]
fn bad_sweeps_and_plans_exit_2_naming_the_key() {
    let cases: &[(&str, &str, &[&str])] = &[
        // A path that names no key: unknown key, unknown service, a key under a number.
        (
            "\"service.web.replicaz\" = [1, 2]",
            "sweep.service.web.replicaz",
            &["names no key", "did you mean `replicas`"],
        ),
        (
            "\"service.cache.replicas\" = [1, 2]",
            "sweep.service.cache.replicas",
            &["no service named \"cache\""],
        ),
        (
            "\"traffic.rate.x\" = [1, 2]",
            "sweep.traffic.rate.x",
            &["not a table"],
        ),
        // Empty lists and ranges, zero and wrongly signed steps.
        (
            "\"traffic.rate\" = []",
            "sweep.traffic.rate",
            &["empty list"],
        ),
        (
            "\"traffic.rate\" = { from = 500, to = 100 }",
            "sweep.traffic.rate",
            &["empty range"],
        ),
        (
            "\"traffic.rate\" = { from = 100, to = 500, step = 0 }",
            "sweep.traffic.rate.step",
            &["step 0"],
        ),
        (
            "\"traffic.rate\" = { from = 100, to = 500, step = -100 }",
            "sweep.traffic.rate.step",
            &["wrong sign", "use 100"],
        ),
        (
            "\"traffic.rate\" = { from = 100, to = 500, factor = 0.5 }",
            "sweep.traffic.rate.factor",
            &["wrong direction"],
        ),
        // A value the key does not take.
        (
            "\"service.web.replicas\" = [2, 0]",
            "sweep.service.web.replicas",
            &["at 0", "out of range"],
        ),
    ];
    for (line, path, words) in cases {
        let s = Scratch::new("bad-sweep");
        let text = with_grid("sweep", line);
        s.write("bad.toml", &text);
        let out = s.capsim(&["sweep", "bad.toml", "--out", "results"]);
        let stderr = out.bad_input();
        let at = text.lines().position(|l| l == *line).unwrap() + 1;
        let message = stderr
            .lines()
            .find(|l| l.contains(&format!("bad.toml:{at}:")) && l.contains(path))
            .unwrap_or_else(|| panic!("{line}: no message names {path} at line {at}:\n{stderr}"));
        for word in *words {
            assert!(message.contains(word), "{line}: {message:?} lacks {word:?}");
        }
        assert!(
            !s.dir.join("results").exists(),
            "{line}: nothing is written"
        );
        // `capsim validate` checks the grid too.
        assert_eq!(s.capsim(&["validate", "bad.toml"]).code, Some(2), "{line}");
    }

    // Every problem at once, from the file and from --sweep.
    let s = Scratch::new("bad-sweep-all");
    s.write(
        "bad.toml",
        &with_grid(
            "sweep",
            "\"service.web.replicaz\" = [1]\n\"traffic.rate\" = []",
        ),
    );
    let out = s.capsim(&[
        "sweep",
        "bad.toml",
        "--sweep",
        "service.db.concurrency=1,-1",
    ]);
    let stderr = out.bad_input();
    for expected in [
        "sweep.service.web.replicaz",
        "sweep.traffic.rate",
        "--sweep service.db.concurrency=1,-1",
        "3 problems",
    ] {
        assert!(stderr.contains(expected), "{expected:?} missing:\n{stderr}");
    }

    // A plan with no SLO to meet, and a plan without knobs.
    let s = Scratch::new("bad-plan");
    let no_slo = with_grid("plan", "\"service.web.replicas\" = { from = 1, to = 4 }")
        .replace("[slo]\np99 = \"15ms\"\n", "");
    s.write("bad.toml", &no_slo);
    let out = s.capsim(&["plan", "bad.toml"]);
    assert!(
        out.bad_input().contains(
            "plan: a plan searches for the cheapest design that meets every SLO, and there is none"
        ),
        "{out:#?}"
    );
    s.write("empty.toml", GRID);
    let out = s.capsim(&["plan", "empty.toml"]);
    assert!(out.bad_input().contains("nothing to plan"), "{out:#?}");

    // Malformed --shard.
    let s = Scratch::new("bad-shard");
    s.write("grid.toml", GRID);
    for shard in ["3/3", "1", "a/3", "1/0", "-1/2", "auto"] {
        let out = s.capsim(&["sweep", "grid.toml", "--shard", shard, "--out", "r"]);
        assert!(
            out.bad_input().contains("--shard"),
            "--shard {shard}: {out:#?}"
        );
        assert!(
            !s.dir.join("r").exists(),
            "--shard {shard}: nothing is written"
        );
    }
}

#[test]
fn resume_refuses_the_results_of_another_scenario() {
    let s = Scratch::new("resume-other");
    s.write("grid.toml", GRID);
    ran(s.capsim(&["sweep", "grid.toml", "--out", "r"]));
    let before = read(s.dir.join("r/results.csv"));
    s.write("other.toml", &GRID.replace("rate = 300", "rate = 301"));
    // The same file with another seed is another sweep too; so is another shard.
    for args in [
        vec!["sweep", "other.toml", "--out", "r", "--resume"],
        vec![
            "sweep",
            "grid.toml",
            "--out",
            "r",
            "--resume",
            "--seed",
            "2",
        ],
    ] {
        let out = s.capsim(&args);
        let stderr = out.bad_input();
        assert!(
            stderr.contains("--resume r") && stderr.contains("another scenario"),
            "{stderr}"
        );
    }
    let out = s.capsim(&[
        "sweep",
        "grid.toml",
        "--out",
        "r",
        "--resume",
        "--shard",
        "0/2",
    ]);
    assert!(out.bad_input().contains("shard"), "{out:#?}");
    // Without --resume, a directory with results is not overwritten.
    let out = s.capsim(&["sweep", "grid.toml", "--out", "r"]);
    assert!(out.bad_input().contains("--resume"), "{out:#?}");
    assert_eq!(
        read(s.dir.join("r/results.csv")),
        before,
        "the results are untouched"
    );
    // A layout-only change (comments, spacing) is the same sweep: resuming finds it done.
    s.write(
        "commented.toml",
        &format!(
            "# a comment\n{}",
            GRID.replace("rate = 300", "rate =   300")
        ),
    );
    let out = ran(s.capsim(&["sweep", "commented.toml", "--out", "r", "--resume"]));
    assert!(out.stdout.contains("(12 of 12 points)"), "{out:#?}");
    assert_eq!(read(s.dir.join("r/results.csv")), before);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, failure_persistence: None, ..Default::default() })]

    /// Any axis, however odd its numbers (huge, tiny, negative, zero, mixed types), is either
    /// checked and expanded or refused with problems; never a panic, never a runaway.
    #[test]
    fn arbitrary_axes_never_panic(
        path in proptest::sample::select(vec!["traffic.rate", "service.web.replicas", "scenario.seed", "service.db.service_time.mean", "x", "service..y"]),
        from in "-?[0-9]{1,20}(\\.[0-9]{1,3})?|inf|nan|\"1ms\"",
        to in "-?[0-9]{1,20}(\\.[0-9]{1,3})?|-?inf",
        key in proptest::sample::select(vec!["step", "factor", "monotone", "values", "stp"]),
        by in "-?[0-9]{1,20}(\\.[0-9]{1,6})?(e-?[0-9]{1,3})?|true|\\[\\]",
        section in proptest::sample::select(vec!["sweep", "plan"]),
    ) {
        let text = with_grid(section, &format!("\"{path}\" = {{ from = {from}, to = {to}, {key} = {by} }}"));
        if let Ok(mut source) = Source::parse(&text, "fuzz.toml") {
            source.set(&[]);
            if source.model().is_ok() {
                let axes = source.axes(section);
                let grid = Grid::new(axes);
                proptest::prop_assert!(grid.len() as u128 <= capsim::scenario::grid::MAX_GRID_POINTS);
            }
        }
    }
}

#[test]
fn a_reader_that_goes_away_is_not_a_panic() {
    // `capsim sweep ... | head -1`: standard output closed before capsim writes its table.
    let s = Scratch::new("pipe");
    s.write("grid.toml", GRID);
    let mut child = Command::new(env!("CARGO_BIN_EXE_capsim"))
        .args(["sweep", "grid.toml"])
        .current_dir(&s.dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_plan_meets_the_objectives_of_every_class() {
    // No [slo]: the objective is a class's own. Checkout's p99 binds; browse has none. The run
    // is long enough for every replication to have over 100 checkout requests beyond the p99
    // (11,400 checkouts), or no interval on it could be trusted.
    let s = Scratch::new("classes");
    s.write(
        "classes.toml",
        r#"[scenario]
duration = "100s"
warmup = "5s"
seed = 2
replications = 3
[traffic]
rate = 600
[[class]]
name = "browse"
weight = 0.8
entry = "web"
[[class]]
name = "checkout"
weight = 0.2
entry = "web"
slo = { p99 = "15ms" }
[[service]]
name = "web"
service_time = { dist = "exponential", mean = "2ms" }
price_per_hour = 0.1
[plan]
"service.web.replicas" = { from = 1, to = 8 }
"#,
    );
    let out = s.capsim(&["plan", "classes.toml", "--format", "json"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let plan = out.json();
    assert_eq!(plan["binding"]["class"], "checkout", "{plan:#}");
    assert_eq!(plan["binding"]["objective"], "p99");
    // Round robin over n replicas at 600/s x 2 ms (mu = 500/s): 1 replica cannot keep up
    // (offered load 1.2). Each of n replicas is an E_n/M/1 queue, whose time in system is
    // exponential with rate mu (1 - s), s the root of s = (n lambda / (n lambda + mu (1 - s)))^n
    // for lambda = 600/n: 2 replicas give s = 0.496 and p99 = ln(100) / 252 = 18.3 ms (over
    // 15 ms), 3 give s = 0.224 and p99 = ln(100) / 388 = 11.9 ms (under).
    let replicas = plan["best"]["settings"]["service.web.replicas"]
        .as_i64()
        .unwrap();
    assert_eq!(replicas, 3, "{plan:#}");
    assert!(plan["best"]["p99_ms_high"].as_f64().unwrap() <= 15.0);
}

#[test]
fn keys_of_caches_and_autoscalers_sweep_like_any_other() {
    // The keyed LRU cache of cache-zipf.toml, its capacity from 10 to 100,000 items: with one
    // seed every point sees the same keys in the same order, and an LRU cache's contents at
    // capacity c are contained in its contents at a larger one (the inclusion property), so
    // fewer requests go on to the database at each step and p99 falls at each step.
    let s = Scratch::new("new-keys");
    let text =
        read(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/teaching/cache-zipf.toml"));
    s.write("cache.toml", &text);
    let out = ran(s.capsim(&[
        "sweep",
        "cache.toml",
        "--set",
        "scenario.duration=40s",
        "--set",
        "scenario.warmup=10s",
        "--sweep",
        "service.cache.capacity={ from = 10, to = 100000, factor = 10 }",
        "--format",
        "json",
    ]));
    let rows = out.json()["rows"].as_array().unwrap().clone();
    let p99: Vec<f64> = rows.iter().map(|r| r["p99_ms"].as_f64().unwrap()).collect();
    assert_eq!(p99.len(), 5);
    for pair in p99.windows(2) {
        assert!(pair[1] < pair[0], "p99 falls as the cache grows: {p99:?}");
    }
    // A key inside an inline table (an autoscaler's bound) is reached like any other, and
    // refused like any other when the table it would complete is not valid.
    let autoscaled = text.replace(
        "concurrency = 32",
        "concurrency = 32\nautoscale = { min = 1, max = 4, metric = \"utilization\", target = 0.6 }",
    );
    s.write("autoscaled.toml", &autoscaled);
    let out = ran(s.capsim(&[
        "sweep",
        "autoscaled.toml",
        "--set",
        "scenario.duration=20s",
        "--set",
        "scenario.warmup=5s",
        "--sweep",
        "service.db.autoscale.max=2,8",
        "--out",
        "a",
    ]));
    assert!(out.stdout.contains("(2 of 2 points)"), "{out:#?}");
    let out = s.capsim(&[
        "sweep",
        "cache.toml",
        "--sweep",
        "service.db.autoscale.max=2,8",
    ]);
    assert!(
        out.bad_input()
            .contains("sweep.service.db.autoscale.max: at 2: service.db.autoscale: missing"),
        "{out:#?}"
    );
}

/// A plan of a batching service simulates its designs, and says why it refuses each.
/// Capacity per replica at full batches of 32 is 32 / (10 ms + 32 ms) = 761.9/s; at
/// 1,200/s one replica cannot keep up even so (offered load 1,200 x 42 ms / 32 = 1.575), and
/// theory refuses it; two and three replicas keep up (600/s each: b > 6 / 0.4 = 15, load
/// 600 x 26 ms / 16 = 0.975; 400/s each: b > 4 / 0.6 = 6.7, load 400 x 17 ms / 7 = 0.971),
/// so they are simulated, where the p99 objective decides. Before batching counted, a batch of one (11 ms a visit, load 13.2 / replicas)
/// made theory refuse all three unsimulated.
#[test]
fn plan_simulates_a_batching_service_and_says_why_each_design_is_refused() {
    let s = Scratch::new("batching-plan");
    s.write(
        "gpu.toml",
        r#"[scenario]
name = "gpu"
duration = "60s"
warmup = "5s"
seed = 3
[slo]
p99 = "1ms"
[traffic]
rate = 1200
[[service]]
name = "gpu"
service_time = { dist = "exponential", mean = "10ms" }
batch = { max_size = 32, timeout = "5ms", per_item = "1ms" }
price_per_hour = 2.0
[plan]
"service.gpu.replicas" = [1, 2, 3]
"#,
    );
    let plan = ran(s.capsim(&["plan", "gpu.toml", "--format", "json"])).json();
    assert_eq!(plan["simulated"], 2, "{plan:#}");
    assert_eq!(plan["best"], Value::Null, "a 1 ms p99 is out of reach");
    let refused = plan["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 3, "{plan:#}");
    let theory = &refused[0]["reasons"][0];
    assert_eq!(theory["by"], "theory");
    assert_eq!(theory["service"], "gpu");
    assert!((theory["offered_load"].as_f64().unwrap() - 1.575).abs() < 1e-9);
    for design in &refused[1..] {
        let why = &design["reasons"][0];
        assert_eq!(why["by"], "simulation", "{design:#}");
        assert_eq!(why["objective"], "p99", "{design:#}");
        assert_eq!(why["class"], Value::Null, "{design:#}");
    }
    let text = ran(s.capsim(&["plan", "gpu.toml"])).stdout;
    assert!(
        text.contains("(3 designs looked at, 2 simulated, of 3 on the grid)"),
        "{text}"
    );
    assert!(
        text.contains("refused designs (3 of 3 looked at), and why:\n  service.gpu.replicas = 1: theory: \"gpu\" is offered load 1.575 >= 1, its queue grows without limit (not simulated)\n  service.gpu.replicas = 2: simulation: p99 missed: "),
        "{text}"
    );
}
