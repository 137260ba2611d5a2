//! The command line as a user meets it: bad input is a conversation, not a crash.
//!
//! Every bad input must end with exit code 2, nothing on standard output, and a message on
//! standard error that names the place (`file:line:column` of the key, or the `--set` that
//! caused it) and what is wrong. Simulations end with 0 (every SLO met, or none) or 1 (an SLO
//! missed, or the design overloaded). No input, however mangled, may make capsim panic.
//!
//! Most bad-input tests are one call of `check_bad_input`: a scenario (`VALID` with one line
//! replaced or inserted, or a whole text), the command, and the message expected for it.

use crate::support::{Output, Scratch};
use proptest::prelude::*;
use std::path::Path;
use std::time::Duration;

/// The 1-based line of the first line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} is not in the scenario"))
        + 1
}

/// The stderr line that reports `path` at `file:line:COLUMN`, with a column that is a number.
fn diagnostic<'a>(stderr: &'a str, file: &str, line: usize, path: &str) -> &'a str {
    let place = format!("{file}:{line}:");
    stderr
        .lines()
        .find(|l| {
            l.contains(path)
                && l.find(&place).is_some_and(|at| {
                    l[at + place.len()..]
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_digit())
                })
        })
        .unwrap_or_else(|| {
            panic!("no message reports `{path}` at {place}COLUMN; stderr:\n{stderr}")
        })
}

/// A small valid scenario, about 200 requests.
const VALID: &str = r#"[scenario]
name = "shop"
duration = "2s"
seed = 3

[traffic]
rate = 100
entry = "api"

[[service]]
name = "api"
concurrency = 2
service_time = { dist = "exponential", mean = "1ms" }
calls = ["db"]

[[service]]
name = "db"
service_time = { dist = "exponential", mean = "500us" }
"#;

/// `VALID` with one line (found by `needle`) replaced by `line`.
fn with_line(needle: &str, line: &str) -> String {
    let mut found = false;
    let text: Vec<&str> = VALID
        .lines()
        .map(|l| {
            if !found && l.contains(needle) {
                found = true;
                line
            } else {
                l
            }
        })
        .collect();
    assert!(found, "{needle:?} is not in VALID");
    text.join("\n") + "\n"
}

/// `VALID` with `extra` inserted right after the line containing `after`.
fn with_inserted(after: &str, extra: &str) -> String {
    let at = line_of(VALID, after);
    let mut lines: Vec<&str> = VALID.lines().collect();
    lines.insert(at, extra);
    lines.join("\n") + "\n"
}

/// A bad scenario for `check_bad_input`.
enum Bad<'a> {
    /// `VALID` with the line containing `.0` replaced by `.1`.
    Replace(&'a str, &'a str),
    /// `VALID` with `.1` inserted right after the line containing `.0`.
    Insert(&'a str, &'a str),
    /// A whole scenario.
    Text(String),
}

impl Bad<'_> {
    fn text(&self) -> String {
        match self {
            Bad::Replace(needle, line) => with_line(needle, line),
            Bad::Insert(after, extra) => with_inserted(after, extra),
            Bad::Text(text) => text.clone(),
        }
    }

    fn describe(&self) -> String {
        match self {
            Bad::Replace(needle, line) => format!("VALID with the line of {needle:?} as {line:?}"),
            Bad::Insert(after, extra) => format!("VALID with {extra:?} after {after:?}"),
            Bad::Text(_) => "the scenario below".to_string(),
        }
    }
}

/// A scenario that capsim refused as bad input. While it lives, a failing check names the
/// case and prints the scenario, so that a failure inside a loop of cases says which one.
struct Refused {
    case: String,
    text: String,
    out: Output,
}

impl Refused {
    fn stderr(&self) -> &str {
        &self.out.stderr
    }

    /// The message that reports `path` at `bad.toml:LINE:COLUMN`, where LINE is the first line
    /// of the scenario that contains `at`; it must contain each of `words`.
    fn reports(&self, at: &str, path: &str, words: &[&str]) -> &str {
        let line = line_of(&self.text, at);
        let message = diagnostic(self.stderr(), "bad.toml", line, path);
        for word in words {
            assert!(
                message.contains(word),
                "the message about `{path}` at bad.toml:{line} must contain {word:?}: {message}"
            );
        }
        message
    }
}

impl Drop for Refused {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("case: {}\nbad.toml:\n{}", self.case, self.text);
        }
    }
}

/// Writes `input` as `bad.toml`, runs `capsim COMMAND bad.toml`, and checks it is refused as
/// bad input: exit code 2, nothing on stdout, an explanation on stderr, no panic.
fn refuse(input: Bad, command: &str) -> Refused {
    let s = Scratch::new("bad-input");
    let text = input.text();
    s.write("bad.toml", &text);
    let refused = Refused {
        case: format!("capsim {command} bad.toml, {}", input.describe()),
        text,
        out: s.capsim(&[command, "bad.toml"]),
    };
    refused.out.bad_input();
    refused
}

/// `refuse`, then the message about `path` at the line of `at`, containing each of `words`
/// (see `Refused::reports`). Returns the refusal for further checks.
fn check_bad_input(input: Bad, command: &str, at: &str, path: &str, words: &[&str]) -> Refused {
    let refused = refuse(input, command);
    refused.reports(at, path, words);
    refused
}

#[test]
fn the_valid_fixture_runs() {
    let s = Scratch::new("fixture");
    s.write("ok.toml", VALID);
    let out = s.capsim(&["run", "ok.toml", "--format", "json"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(out.json()["requests"]["arrived"].as_u64().unwrap() > 100);
}

#[test]
fn toml_syntax_error_names_file_line_and_column() {
    for broken in ["rate = = 100", "rate = 100 100", "rate = \"100", "rate 100"] {
        let refused = check_bad_input(Bad::Replace("rate = 100", broken), "run", broken, "", &[]);
        let stderr = refused.stderr();
        assert!(
            stderr.to_lowercase().contains("toml"),
            "the message says the TOML is invalid:\n{stderr}"
        );
    }
}

#[test]
fn unknown_key_in_a_service_is_named_with_a_suggestion() {
    let input = Bad::Insert("name = \"api\"", "replicaz = 2");
    let suggestion = ["did you mean", "`replicas`"];
    check_bad_input(
        input,
        "run",
        "replicaz",
        "service.api.replicaz",
        &suggestion,
    );
}

#[test]
fn unknown_top_level_tables_are_named_at_their_lines() {
    let text = format!("{VALID}\n[trafic]\nburst = 3\n\n[database]\nurl = \"x\"\n");
    let refused = refuse(Bad::Text(text), "validate");
    refused.reports("[trafic]", "trafic", &["did you mean", "`traffic`"]);
    refused.reports("[database]", "database", &["unknown"]);
}

#[test]
fn traffic_rate_must_be_positive() {
    for rate in ["0", "0.0", "-5", "-0.001"] {
        let line = format!("rate = {rate}");
        // The message quotes the rate.
        let shown = rate.trim_end_matches(".0");
        check_bad_input(
            Bad::Replace("rate = 100", &line),
            "run",
            &line,
            "traffic.rate",
            &[shown],
        );
    }
}

#[test]
fn probabilities_must_be_between_0_and_1() {
    for (input, at, path) in [
        (
            Bad::Insert("name = \"db\"", "error_rate = 1.5"),
            "error_rate",
            "service.db.error_rate",
        ),
        (
            Bad::Insert("name = \"api\"", "error_rate = -0.1"),
            "error_rate",
            "service.api.error_rate",
        ),
        (
            Bad::Text(format!("{VALID}\n[slo]\navailability = 2\n")),
            "availability",
            "slo.availability",
        ),
    ] {
        check_bad_input(input, "run", at, path, &["probability"]);
    }
}

#[test]
fn calls_to_an_unknown_service_are_named() {
    // Names the unknown service and lists the defined ones.
    let input = Bad::Replace("calls = [\"db\"]", "calls = [\"db\", \"payments\"]");
    let words = ["\"payments\"", "api", "db"];
    check_bad_input(input, "run", "payments", "service.api.calls", &words);
}

#[test]
fn a_cycle_in_calls_is_refused() {
    let refused = refuse(Bad::Insert("name = \"db\"", "calls = [\"api\"]"), "run");
    let stderr = refused.stderr();
    assert!(stderr.contains("cycle"), "{stderr}");
    assert!(
        stderr.contains("api -> db -> api") || stderr.contains("db -> api -> db"),
        "shows the cycle: {stderr}"
    );
    // It is reported at one of the two `calls` lines of the cycle.
    let api_calls = line_of(&refused.text, "calls = [\"db\"]");
    let db_calls = line_of(&refused.text, "calls = [\"api\"]");
    assert!(
        stderr.contains(&format!("bad.toml:{api_calls}:"))
            || stderr.contains(&format!("bad.toml:{db_calls}:")),
        "points at a `calls` of the cycle: {stderr}"
    );
}

#[test]
fn a_service_calling_itself_is_refused() {
    let line = "calls = [\"api\"]";
    let input = Bad::Replace("calls = [\"db\"]", line);
    check_bad_input(
        input,
        "validate",
        line,
        "service.api.calls",
        &["cycle", "api -> api"],
    );
}

#[test]
fn warmup_must_be_shorter_than_duration() {
    for warmup in ["2s", "3s", "1h"] {
        let line = format!("warmup = \"{warmup}\"");
        let input = Bad::Insert("duration = \"2s\"", &line);
        check_bad_input(input, "run", &line, "scenario.warmup", &[warmup, "2s"]);
    }
}

#[test]
fn a_distribution_missing_a_parameter_names_it() {
    let line = "service_time = { dist = \"uniform\", min = \"1ms\" }";
    let input = Bad::Replace("mean = \"500us\"", line);
    check_bad_input(input, "run", line, "service.db.service_time", &["max"]);
}

#[test]
fn a_contradictory_distribution_is_refused() {
    // Names both clashing parameters.
    let line = "service_time = { dist = \"lognormal\", median = \"4ms\", cv = 1.5 }";
    let input = Bad::Replace("mean = \"1ms\"", line);
    check_bad_input(
        input,
        "run",
        line,
        "service.api.service_time",
        &["median", "cv"],
    );
}

#[test]
fn several_mistakes_are_reported_together() {
    let text = r#"[scenario]
name = "many"
duration = "2s"
warmup = "5s"

[traffic]
rate = -3
entry = "api"

[[service]]
name = "api"
replicaz = 2
error_rate = 7
service_time = { dist = "exponential" }
"#;
    let refused = refuse(Bad::Text(text.to_string()), "run");
    let expected = [
        ("warmup", "scenario.warmup"),
        ("rate = -3", "traffic.rate"),
        ("replicaz", "service.api.replicaz"),
        ("error_rate", "service.api.error_rate"),
        ("service_time", "service.api.service_time"),
    ];
    let mut reported = Vec::new();
    for (needle, path) in expected {
        reported.push(refused.reports(needle, path, &[]));
    }
    reported.sort();
    reported.dedup();
    assert_eq!(
        reported.len(),
        expected.len(),
        "one message each:\n{}",
        refused.stderr()
    );
}

#[test]
fn a_wrongly_typed_value_is_reported_at_its_key() {
    // A string where a number belongs: the message names the key and its line, and the one
    // mistake does not make the rest of the table look missing.
    let input = Bad::Insert("seed = 3", "replications = \"two\"");
    let refused = check_bad_input(
        input,
        "validate",
        "replications =",
        "scenario.replications",
        &[],
    );
    let stderr = refused.stderr();
    assert!(
        !stderr.contains("missing scenario.duration"),
        "duration is in the file; only replications is wrong:\n{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error")).count(),
        1,
        "one mistake, one message:\n{stderr}"
    );
}

#[test]
fn set_with_an_unknown_service_names_it_and_points_at_the_set() {
    let s = Scratch::new("set-unknown");
    s.write("ok.toml", VALID);
    let out = s.capsim(&["run", "ok.toml", "--set", "service.cache.replicas=2"]);
    let stderr = out.bad_input();
    assert!(stderr.contains("\"cache\""), "names the service: {stderr}");
    assert!(
        stderr.contains("api") && stderr.contains("db"),
        "lists the defined services: {stderr}"
    );
    // The mistake is on the command line, not at a line of the file.
    assert!(
        stderr.contains("--set service.cache.replicas=2"),
        "points at the --set: {stderr}"
    );
}

#[test]
fn set_without_a_value_points_at_the_set() {
    let s = Scratch::new("set-no-value");
    s.write("ok.toml", VALID);
    let out = s.capsim(&["run", "ok.toml", "--set", "traffic.rate"]);
    let stderr = out.bad_input();
    assert!(stderr.contains("PATH=VALUE"), "{stderr}");
    // The hint quotes `--set traffic.rate=250`; the place must quote the --set as typed.
    assert!(
        stderr
            .match_indices("--set traffic.rate")
            .any(|(at, m)| !stderr[at + m.len()..].starts_with('=')),
        "points at the --set, not at the file: {stderr}"
    );
    assert!(
        !stderr.contains(&format!("ok.toml:{}:", line_of(VALID, "rate = 100"))),
        "the file's traffic.rate is fine: {stderr}"
    );
}

#[test]
fn set_that_makes_a_value_invalid_points_at_the_set() {
    let s = Scratch::new("set-invalid");
    s.write("ok.toml", VALID);
    for (assignment, path) in [
        ("traffic.rate=-1", "traffic.rate"),
        ("service.db.replicas=0", "service.db.replicas"),
        ("service.api.error_rate=3", "service.api.error_rate"),
    ] {
        let out = s.capsim(&["run", "ok.toml", "--set", assignment]);
        let stderr = out.bad_input();
        let message = stderr
            .lines()
            .find(|l| l.contains(&format!("--set {assignment}")))
            .unwrap_or_else(|| panic!("no message points at --set {assignment}:\n{stderr}"));
        assert!(message.contains(path), "{message}");
    }
}

/// `ok`, then the work budget's estimate of running it: VALID's 100 requests a second for
/// 2 s are 200 requests in its one replication; the events, memory and time are what the
/// budget `run` checks estimates (on 1 thread here).
#[test]
fn validate_prints_ok_and_the_estimate_of_a_run() {
    let s = Scratch::new("validate-ok");
    s.write("ok.toml", VALID);
    let out = s.capsim_on_threads(Some(1), &["validate", "ok.toml"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "ok", "{out:#?}");
    let model = capsim::scenario::load(VALID, "ok.toml", &[]).unwrap();
    let estimate = capsim::metrics::budget::estimate(&model, 1);
    assert_eq!(
        out.stdout,
        format!("ok\n{}", capsim::report::text::estimate_line(&estimate, 1))
    );
    assert!(
        lines[1].starts_with("estimate: about ")
            && lines[1].contains("events (200 requests per replication, 1 replication)")
            && lines[1].contains(" of memory at most, ")
            && lines[1].ends_with("events/s per core on 1 core"),
        "{out:#?}"
    );
    assert!(out.stderr.is_empty(), "{out:#?}");
}

/// A scenario file that is not there is named as the user wrote it, in words, not as the
/// system's "No such file or directory (os error 2)"; so is a trace file it names (relative
/// to the scenario's directory).
#[test]
fn a_missing_file_says_no_such_file() {
    let s = Scratch::new("missing");
    for args in [
        &["validate", "nope.toml"][..],
        &["run", "nope.toml"],
        &["sweep", "nope.toml"],
        &["plan", "nope.toml"],
        &["compare", "nope.toml", "--strategies", "rolling"],
    ] {
        let out = s.capsim(args);
        assert_eq!(
            out.bad_input(),
            "error: no such file: nope.toml\n",
            "{args:?}"
        );
    }
    s.write("t.toml", &VALID.replace("rate = 100", "trace = \"t.csv\""));
    let out = s.capsim(&["validate", "t.toml"]);
    assert!(
        out.bad_input()
            .contains("traffic.trace: cannot read trace file t.csv: no such file: t.csv"),
        "{out:#?}"
    );
}

#[test]
fn validate_warns_of_a_service_that_cannot_keep_up() {
    let s = Scratch::new("validate-unstable");
    // VALID runs at 100 requests a second; a million a second is more than its services do.
    s.write("busy.toml", &VALID.replace("rate = 100", "rate = 1000000"));
    let out = s.capsim(&["validate", "busy.toml"]);
    assert_eq!(out.code, Some(0), "valid, so exit 0: {out:#?}");
    assert_eq!(out.stdout.lines().next(), Some("ok"), "{out:#?}");
    assert!(
        out.stderr.contains("warning") && out.stderr.contains("offered load"),
        "{out:#?}"
    );
}

#[test]
fn an_autoscaled_service_is_judged_by_its_ceiling() {
    let s = Scratch::new("validate-autoscaled");
    // 100 req/s x 50 ms = 5 busy workers. Two replicas of 2 workers are short (offered
    // load 1.25) but the autoscaler may add replicas: with max = 4 there are 8 workers
    // (load 0.625), so no warning; with max = 2 there are 4 (1.25), so a warning naming max.
    let scenario = |max: u32| {
        format!(
            "[scenario]\nname = \"a\"\nduration = \"1m\"\n[traffic]\nrate = 100\n\
             [[service]]\nname = \"api\"\nreplicas = 2\nconcurrency = 2\n\
             service_time = {{ dist = \"exponential\", mean = \"50ms\" }}\n\
             autoscale = {{ min = 2, max = {max}, target = 0.6 }}\n"
        )
    };
    s.write("roomy.toml", &scenario(4));
    let out = s.capsim(&["validate", "roomy.toml"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(out.stderr.is_empty(), "{out:#?}");
    s.write("capped.toml", &scenario(2));
    let out = s.capsim(&["validate", "capped.toml"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(
        out.stderr.contains("autoscale.max = 2") && out.stderr.contains("offered load 1.25"),
        "{out:#?}"
    );
}

#[test]
fn validate_reports_the_problems_of_an_invalid_file() {
    let input = Bad::Replace("rate = 100", "rate = 0");
    check_bad_input(input, "validate", "rate = 0", "traffic.rate", &[]);
}

#[test]
fn a_missing_file_is_named() {
    let s = Scratch::new("missing-file");
    for command in ["validate", "run"] {
        let out = s.capsim(&[command, "no-such-scenario.toml"]);
        let stderr = out.bad_input();
        assert!(stderr.contains("no-such-scenario.toml"), "{stderr}");
    }
}

#[test]
fn an_slo_that_is_met_exits_0() {
    let s = Scratch::new("slo-met");
    s.write(
        "ok.toml",
        &format!("{VALID}\n[slo]\np99 = \"1s\"\navailability = 0.5\n"),
    );
    let out = s.capsim(&["run", "ok.toml", "--format", "json"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let json = out.json();
    assert_eq!(json["slo_met"], true);
    assert_eq!(json["slo"].as_array().unwrap().len(), 2);
}

#[test]
fn a_p99_that_cannot_be_met_exits_1() {
    let s = Scratch::new("slo-missed");
    // Every request takes at least 1ms of service at api; a p99 of 10us is out of reach.
    s.write("ok.toml", &format!("{VALID}\n[slo]\np99 = \"10us\"\n"));
    let out = s.capsim(&["run", "ok.toml", "--format", "json"]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    let json = out.json();
    assert_eq!(json["slo_met"], false);
    let p99 = &json["slo"][0];
    assert_eq!(p99["objective"], "p99");
    assert_eq!(p99["met"], false);
    assert!(p99["observed"].as_f64().unwrap() > 0.01);
    // The table says so too, with the same exit code.
    let table = s.capsim(&["run", "ok.toml"]);
    assert_eq!(table.code, Some(1), "{table:#?}");
}

#[test]
fn a_scenario_without_slo_exits_0() {
    let s = Scratch::new("no-slo");
    s.write("ok.toml", VALID);
    for format in ["table", "json", "markdown"] {
        let out = s.capsim(&["run", "ok.toml", "--format", format]);
        assert_eq!(out.code, Some(0), "{format}: {out:#?}");
    }
}

#[test]
fn an_overloaded_design_exits_1_and_names_the_service() {
    let s = Scratch::new("overload");
    // db is offered 1000 req/s x 5ms = 5 times what it can serve, with an unbounded queue.
    let text = r#"[scenario]
name = "boom"
duration = "10s"
max_in_flight = 1000

[traffic]
rate = 1000
entry = "api"

[[service]]
name = "api"
concurrency = 4
service_time = { dist = "exponential", mean = "1ms" }
calls = ["db"]

[[service]]
name = "db"
service_time = { dist = "exponential", mean = "5ms" }
"#;
    s.write("boom.toml", text);
    let out = s.capsim(&["run", "boom.toml", "--format", "json"]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(out.stderr.contains("overloaded"), "{out:#?}");
    assert!(out.stderr.contains("db"), "names the service: {out:#?}");
    let json = out.json();
    assert_eq!(json["overloaded"]["service"], "db", "{json:#}");
    assert_eq!(json["slo_met"], false);

    let table = s.capsim(&["run", "boom.toml"]);
    assert_eq!(table.code, Some(1), "{table:#?}");
    assert!(table.stderr.contains("overloaded") && table.stderr.contains("db"));
}

#[test]
fn markdown_and_table_name_the_scenario() {
    let s = Scratch::new("formats");
    s.write("ok.toml", VALID);
    for format in ["markdown", "table"] {
        let out = s.capsim(&["run", "ok.toml", "--format", format]);
        assert_eq!(out.code, Some(0), "{format}: {out:#?}");
        assert!(out.stdout.contains("shop"), "{format}: {out:#?}");
        assert!(out.stdout.lines().count() > 3, "{format}: {out:#?}");
    }
    let default = s.capsim(&["run", "ok.toml"]);
    let table = s.capsim(&["run", "ok.toml", "--format", "table"]);
    assert_eq!(default.stdout, table.stdout, "table is the default");
    let markdown = s.capsim(&["run", "ok.toml", "--format", "markdown"]);
    assert!(markdown.stdout.contains('|'), "markdown has tables");
}

#[test]
fn an_unknown_format_is_a_usage_error() {
    let s = Scratch::new("bad-format");
    s.write("ok.toml", VALID);
    let out = s.capsim(&["run", "ok.toml", "--format", "yaml"]);
    let stderr = out.bad_input();
    assert!(stderr.contains("yaml"), "{stderr}");
}

#[test]
fn out_writes_a_summary_json_and_no_partial_file() {
    let s = Scratch::new("out");
    s.write("ok.toml", VALID);
    let dir = s.dir.join("report").join("nested");
    let out = s.capsim(&[
        "run",
        "ok.toml",
        "--format",
        "json",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let written = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    let mut json: serde_json::Value = serde_json::from_str(&written).expect("summary.json parses");
    assert_eq!(json["scenario"], "shop");
    // The file adds the time series (one row per 10 s window: the run is 2 s, so one row)
    // to the summary on stdout.
    let series = json
        .as_object_mut()
        .unwrap()
        .remove("timeseries")
        .expect("summary.json carries the time series");
    assert_eq!(series.as_array().unwrap().len(), 1);
    assert_eq!(
        json,
        out.json(),
        "the file holds the same summary as stdout"
    );
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).expect("timeseries.csv");
    assert!(
        csv.starts_with("window_start_s,arrived,succeeded,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 2, "a header and one window");
    assert_no_partial_files(&dir);
}

fn assert_no_partial_files(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("read the report directory") {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains("partial"), "left behind: {name}");
    }
}

#[test]
fn seed_takes_any_value_the_flag_accepts() {
    // `--seed` is a u64 on the command line and in the model; a seed above i64::MAX must
    // either run with that seed or be refused by a message about the seed, not about
    // the scenario file's other keys.
    let s = Scratch::new("big-seed");
    s.write("ok.toml", VALID);
    let out = s.capsim(&[
        "run",
        "ok.toml",
        "--format",
        "json",
        "--seed",
        &u64::MAX.to_string(),
    ]);
    match out.code {
        Some(0) => assert_eq!(out.json()["seed"].as_u64(), Some(u64::MAX)),
        _ => {
            let stderr = out.bad_input();
            assert!(
                stderr.contains("--seed") || stderr.contains("scenario.seed"),
                "the message is about the seed:\n{stderr}"
            );
            assert!(
                !stderr.contains("missing scenario.duration"),
                "duration is in the file:\n{stderr}"
            );
        }
    }
}

#[test]
fn a_duration_too_large_for_a_float_is_not_called_negative() {
    let refused = refuse(
        Bad::Replace("duration = \"2s\"", "duration = \"1e400s\""),
        "validate",
    );
    let message = refused.reports("1e400s", "scenario.duration", &[]);
    assert!(!message.contains("negative"), "{message}");
}

#[test]
fn extreme_distribution_parameters_are_refused_not_a_crash() {
    // Parameters that pass the "positive number" checks but leave no valid distribution
    // (a gamma shape of 1/cv^2 that is infinite or 0, a lognormal sigma that is infinite).
    for dist in [
        "{ dist = \"gamma\", mean = \"1ms\", cv = 1e-300 }",
        "{ dist = \"gamma\", mean = \"1ms\", cv = 1e300 }",
        "{ dist = \"lognormal\", mean = \"1ms\", cv = 1e300 }",
    ] {
        let line = format!("service_time = {dist}");
        for command in ["validate", "run"] {
            let input = Bad::Replace("mean = \"500us\"", &line);
            let refused = check_bad_input(input, command, &line, "service.db.service_time", &[]);
            let stderr = refused.stderr();
            assert!(stderr.contains("cv"), "names the parameter: {stderr}");
        }
    }
}

#[test]
fn a_run_longer_than_the_clock_can_count_is_not_reported_as_finished() {
    // 20 requests of 100 years each queue for one worker: the last ends after ~2000 years,
    // past the 584 years that u64 nanoseconds hold. capsim must say so (exit 2, or an
    // overload on exit 1), or report the true latencies; not clamp the clock and print
    // figures that stop at 584 years.
    let s = Scratch::new("clock-overflow");
    let text = r#"[scenario]
name = "centuries"
duration = "1s"

[traffic]
rate = 20

[[service]]
name = "api"
service_time = { dist = "constant", value = "36500d" }
"#;
    s.write("long.toml", text);
    let out = s.capsim(&["run", "long.toml", "--format", "json"]);
    assert!(!out.stderr.contains("panicked"), "{out:#?}");
    match out.code {
        Some(2) => {
            out.bad_input();
        }
        Some(1) if out.stderr.contains("overload") => {}
        _ => {
            let json = out.json();
            let arrived = json["requests"]["arrived"].as_u64().unwrap();
            assert!(arrived > 6, "{json:#}");
            let century_ms = 36_500.0 * 86_400e3;
            let max_ms = json["latency_ms"]["max"].as_f64().unwrap();
            // FIFO, one worker: the last request waits for every one before it.
            assert!(
                max_ms >= 0.999 * arrived as f64 * century_ms,
                "the last of {arrived} requests of 100 years each took only {:.0} years",
                max_ms / century_ms * 100.0
            );
        }
    }
}

#[test]
fn zero_time_work_at_an_extreme_rate_does_not_hang() {
    // At 1e15 req/s the gap between arrivals rounds to 0ns; with zero-time work nothing else
    // moves the clock either. capsim must refuse the rate or finish, not loop at t = 0.
    let s = Scratch::new("no-hang");
    let text = r#"[scenario]
duration = "1us"

[traffic]
rate = 1e15

[[service]]
name = "api"
service_time = { dist = "constant", value = "0ms" }
"#;
    s.write("fast.toml", text);
    let out = s
        .capsim_within(&["run", "fast.toml"], Duration::from_secs(5))
        .expect("capsim did not finish within 5s (simulated time stuck at 0)");
    assert!(
        matches!(out.code, Some(0..=2)),
        "ends with a documented exit code: {out:#?}"
    );
    assert!(!out.stderr.contains("panicked"), "{out:#?}");
}

// ---------------------------------------------------------------------------------------
// No input makes capsim panic (library level, so that thousands of inputs stay fast).

/// A scenario that uses most keys, for mutation.
const RICH: &str = r#"[scenario]
name = "fuzz"
duration = "200ms"
warmup = "20ms"
seed = 11
replications = 2
max_in_flight = 5000

[slo]
p99 = "50ms"
mean = "10ms"
availability = 0.99

[traffic]
rate = 300
entry = "api"

[[service]]
name = "api"
replicas = 2
concurrency = 4
queue_capacity = 10
service_time = { dist = "lognormal", median = "2ms", p99 = "10ms" }
calls = ["cache", "db"]
error_rate = 0.01
price_per_hour = 0.1

[[service]]
name = "cache"
service_time = { dist = "mixture", parts = [{ weight = 0.9, dist = "constant", value = "100us" }, { weight = 0.1, dist = "exponential", mean = "1ms" }] }

[[service]]
name = "db"
concurrency = 8
blocking_calls = true
service_time = { dist = "empirical", p50 = "1ms", p90 = "3ms", p99 = "9ms" }
calls = ["disk"]

[[service]]
name = "disk"
service_time = { dist = "gamma", mean = "1ms", cv = 0.5 }
queue_capacity = 0
"#;

/// Values that a mutation writes after a key's `=`.
const VALUES: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "1.5",
    "0.5",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "-inf",
    "9223372036854775807",
    "-9223372036854775808",
    "4294967296",
    "true",
    "\"\"",
    "\"0ns\"",
    "\"0ms\"",
    "\"-5s\"",
    "\"1x\"",
    "\"100y\"",
    "\"36500d\"",
    "\"1e400s\"",
    "\"api\"",
    "\"nope\"",
    "[]",
    "[\"api\"]",
    "[\"db\", \"db\"]",
    "[1, 2]",
    "{}",
    "{ dist = \"constant\", value = \"0ns\" }",
    "{ dist = \"exponential\", mean = \"0ns\" }",
    "{ dist = \"uniform\", min = \"5ms\", max = \"1ms\" }",
    "{ dist = \"normal\", mean = \"-5ms\", stddev = \"0ms\" }",
    "{ dist = \"lognormal\", median = \"5ms\", p99 = \"1ms\" }",
    "{ dist = \"lognormal\", mean = \"1ms\", cv = 0 }",
    "{ dist = \"gamma\", mean = \"1ms\", cv = 1e-300 }",
    "{ dist = \"gamma\", mean = \"1ms\", cv = 1e300 }",
    "{ dist = \"lognormal\", mean = \"1ms\", cv = 1e300 }",
    "{ dist = \"lognormal\", median = \"1ns\", p99 = \"36500d\" }",
    "{ dist = \"normal\", mean = \"1ms\", stddev = \"36500d\" }",
    "{ dist = \"weibull\", shape = 0.01, scale = \"36500d\" }",
    "{ dist = \"erlang\", k = 0, mean = \"1ms\" }",
    "{ dist = \"erlang\", k = 4294967296, mean = \"1ms\" }",
    "{ dist = \"weibull\", shape = 1e-300, scale = \"1ms\" }",
    "{ dist = \"pareto\", scale = \"1ms\", shape = 1.0 }",
    "{ dist = \"pareto\", scale = \"0ms\", shape = 1e300 }",
    "{ dist = \"empirical\", p50 = \"5ms\", p90 = \"1ms\" }",
    "{ dist = \"empirical\", p50 = \"1ms\", p50 = \"2ms\" }",
    "{ dist = \"empirical\" }",
    "{ dist = \"empirical\", p100 = \"1ms\", min = \"1ms\" }",
    "{ dist = \"mixture\", parts = [] }",
    "{ dist = \"mixture\", parts = [{ weight = 0, dist = \"constant\", value = \"1ms\" }] }",
    "{ dist = \"mixture\", parts = [{ weight = -1, dist = \"constant\", value = \"1ms\" }, { weight = 2, dist = \"constant\", value = \"1ms\" }] }",
    "{ dist = \"mixture\", parts = [{ weight = 1, dist = \"mixture\", parts = [{ weight = 1, dist = \"constant\", value = \"1ms\" }] }] }",
    "{ dist = \"mixture\", parts = [{ dist = \"constant\", value = \"1ms\" }] }",
    "{ dist = 3 }",
    "{ dist = \"zipf\" }",
];

/// `--set` assignments mixed into some cases.
const OVERRIDES: &[&str] = &[
    "traffic.rate=0",
    "traffic.rate=50",
    "traffic.entry=db",
    "service.api.replicas=0",
    "service.db.calls=[\"api\"]",
    "service.disk.calls=[\"disk\"]",
    "service.0.name=\"db\"",
    "service.9.name=x",
    "service.nope.replicas=1",
    "service=3",
    "service.api=3",
    "scenario=1",
    "scenario.duration=10m",
    "scenario.warmup=1s",
    "scenario.seed=-1",
    "scenario.replications=1",
    "slo.p99=1ns",
    "traffic.rate.x=1",
    "a..b=1",
    "=",
    "",
    "service.api.service_time={ dist = \"constant\", value = \"0ns\" }",
    "service.api.service_time=5ms",
    "service.api.queue_capacity=0",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize),
    Replace(usize, usize),
    Duplicate(usize),
    Swap(usize, usize),
    Truncate(usize),
    Insert(usize, char),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), 0..VALUES.len()).prop_map(|(l, v)| Mutation::Replace(l, v)),
        any::<usize>().prop_map(Mutation::Duplicate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (
            any::<usize>(),
            prop::sample::select(vec!['[', ']', '"', '=', '{', '\n', 'é', '\0'])
        )
            .prop_map(|(at, c)| Mutation::Insert(at, c)),
    ]
}

/// Deletions and value replacements only: more of these still load, so they reach the engine.
fn gentle_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => any::<usize>().prop_map(Mutation::Delete),
        4 => (any::<usize>(), 0..VALUES.len()).prop_map(|(l, v)| Mutation::Replace(l, v)),
    ]
}

fn mutate(base: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = base.lines().map(str::to_string).collect();
    for m in mutations {
        if lines.is_empty() {
            break;
        }
        let n = lines.len();
        match *m {
            Mutation::Delete(i) => {
                lines.remove(i % n);
            }
            Mutation::Replace(i, v) => {
                let line = &mut lines[i % n];
                if let Some(eq) = line.find('=') {
                    line.truncate(eq + 1);
                    line.push(' ');
                    line.push_str(VALUES[v]);
                }
            }
            Mutation::Duplicate(i) => {
                let line = lines[i % n].clone();
                lines.insert(i % n, line);
            }
            Mutation::Swap(a, b) => lines.swap(a % n, b % n),
            Mutation::Truncate(i) => {
                let line = &mut lines[i % n];
                let cut = (i / n) % (line.len() + 1);
                let cut = (0..=cut)
                    .rev()
                    .find(|&c| line.is_char_boundary(c))
                    .unwrap_or(0);
                line.truncate(cut);
            }
            Mutation::Insert(i, c) => {
                let line = &mut lines[i % n];
                let at = (i / n) % (line.len() + 1);
                let at = (0..=at)
                    .rev()
                    .find(|&c| line.is_char_boundary(c))
                    .unwrap_or(0);
                line.insert(at, c);
            }
        }
    }
    lines.join("\n")
}

/// Loads `text`; if it is a valid and small scenario, runs it and renders every report.
/// Returns whether it ran.
fn load_and_maybe_run(text: &str, overrides: &[String]) -> bool {
    let Ok(model) = capsim::scenario::load(text, "fuzz.toml", overrides) else {
        // The error must render (and say where) without panicking.
        let error = capsim::scenario::load(text, "fuzz.toml", overrides).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("fuzz.toml"), "{message}");
        assert!(!error.diagnostics.is_empty(), "an error has a diagnostic");
        return false;
    };
    let seconds = model.duration_ns as f64 / 1e9;
    let requests = seconds * model.traffic.rate_per_s * f64::from(model.replications);
    if requests >= 10_000.0 || model.traffic.rate_per_s > 1e6 {
        return false;
    }
    let outcome = capsim::sweep::run(&model);
    let json = capsim::report::json::render(&outcome);
    serde_json::from_str::<serde_json::Value>(&json).expect("the JSON summary parses");
    if let capsim::metrics::summary::Outcome::Completed(summary) = &outcome {
        let _ = capsim::report::text::table(summary);
        let _ = capsim::report::text::markdown(summary);
    }
    true
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        let _ = load_and_maybe_run(&text, &[]);
    }

    #[test]
    fn toml_like_text_never_panics(
        text in "(\\[{1,2}[a-z_.]{0,10}\\]{1,2}\n|[a-z_]{1,12} = (-?[0-9.e]{1,6}|\"[0-9a-z. ]{0,6}\"|\\[\"[a-z]{1,5}\"\\]|\\{ dist = \"[a-z]{1,11}\" \\}|true)\n){0,20}"
    ) {
        let _ = load_and_maybe_run(&text, &[]);
    }

    #[test]
    fn mutated_scenarios_never_panic(
        mutations in prop::collection::vec(mutation(), 1..5),
        assignment in prop::option::weighted(0.3, prop::sample::select(OVERRIDES)),
    ) {
        let text = mutate(RICH, &mutations);
        let overrides: Vec<String> = assignment.iter().map(|s| s.to_string()).collect();
        let _ = load_and_maybe_run(&text, &overrides);
    }

    #[test]
    fn scenarios_with_replaced_values_never_panic(
        mutations in prop::collection::vec(gentle_mutation(), 1..4),
    ) {
        let _ = load_and_maybe_run(&mutate(RICH, &mutations), &[]);
    }
}

#[test]
fn the_fuzz_base_scenario_is_valid_and_runs() {
    // Otherwise the mutation test would only ever see errors.
    let model = capsim::scenario::load(RICH, "fuzz.toml", &[]).expect("RICH is valid");
    assert_eq!(model.services.len(), 4);
    assert!(load_and_maybe_run(RICH, &[]), "RICH is small enough to run");
    for value in VALUES {
        // Every value is at least valid TOML after `key = `.
        let line = format!("key = {value}");
        assert!(
            line.parse::<toml::Table>().is_ok() || value.contains("p50 = \"1ms\", p50"),
            "{line}"
        );
    }
}

/// The request-path keys refuse what cannot be meant, each at its key path and line.
#[test]
fn request_path_mistakes_are_named_at_their_keys() {
    let cases: [(Bad, &str, &str, &[&str]); 25] = [
        (
            Bad::Replace(
                "calls = [\"db\"]",
                r#"calls = [{ service = "dbb", timeout = "5ms" }]"#,
            ),
            "calls",
            "service.api.calls[0].service",
            &["unknown service \"dbb\"", "did you mean \"db\"", "api, db"],
        ),
        (
            Bad::Replace(
                "calls = [\"db\"]",
                r#"calls = [{ parallel = ["db", "db"], join = 3 }]"#,
            ),
            "calls",
            "service.api.calls[0].join",
            &["3 successes out of 2 calls", "from 1 to 2"],
        ),
        (
            Bad::Replace(
                "calls = [\"db\"]",
                r#"calls = [{ service = "db", probability = 1.5 }]"#,
            ),
            "calls",
            "service.api.calls[0].probability",
            &["1.5", "from 0 to 1"],
        ),
        (
            Bad::Insert("name = \"db\"", "kind = \"cache\""),
            "kind = \"cache\"",
            "service.db.kind",
            &["hit_ratio", "capacity"],
        ),
        (
            Bad::Replace(
                "calls = [\"db\"]",
                r#"calls = [{ service = "db", timeout = "-5ms" }]"#,
            ),
            "calls",
            "service.api.calls[0].timeout",
            &["negative"],
        ),
        (
            Bad::Insert(
                "name = \"db\"",
                r#"batch = { max_size = 0, timeout = "5ms" }"#,
            ),
            "batch",
            "service.db.batch.max_size",
            &["at least 1"],
        ),
        (
            Bad::Insert("name = \"db\"", "balancer = \"consistent_hash\""),
            "balancer",
            "service.db.balancer",
            &["key", "keyed cache"],
        ),
        (
            Bad::Replace(
                "calls = [\"db\"]",
                r#"calls = [{ service = "db", retries = { attempts = 3, budget = -0.1 } }]"#,
            ),
            "calls",
            "service.api.calls[0].retries.budget",
            &["-0.1", "0 or more"],
        ),
        (
            Bad::Insert(
                "name = \"db\"",
                r#"balancer = { kind = "consistent_hash", virtual_nodes = 0 }"#,
            ),
            "balancer",
            "service.db.balancer.virtual_nodes",
            &["from 1 to 1000"],
        ),
        (
            Bad::Insert(
                "name = \"db\"",
                r#"balancer = { kind = "consistent_hash", vnodes = 160 }"#,
            ),
            "balancer",
            "service.db.balancer.vnodes",
            &["virtual_nodes"],
        ),
        (
            Bad::Insert(
                "name = \"db\"",
                r#"balancer = { kind = "least_outstanding", instances = 0 }"#,
            ),
            "balancer",
            "service.db.balancer.instances",
            &["instances = 0", "from 1 to 1024"],
        ),
        (
            Bad::Insert(
                "name = \"db\"",
                r#"balancer = { kind = "power_of_two", instances = 5000 }"#,
            ),
            "balancer",
            "service.db.balancer.instances",
            &["instances = 5000", "from 1 to 1024"],
        ),
        (
            Bad::Insert(
                "name = \"db\"",
                r#"balancer = { kind = "weighted", weights = [1], instances = "two" }"#,
            ),
            "balancer",
            "service.db.balancer.instances",
            &["whole number from 1 to 1024", "\"two\""],
        ),
        (
            Bad::Insert(
                "name = \"db\"",
                r#"balancer = { kind = "random", instance = 2 }"#,
            ),
            "balancer",
            "service.db.balancer.instance",
            &["did you mean \"instances\"", "it takes kind, instances"],
        ),
        (
            Bad::Insert("name = \"db\"", "balancer = \"least_loaded\""),
            "balancer",
            "service.db.balancer",
            &["unknown balancer", "least_outstanding"],
        ),
        (
            Bad::Insert("name = \"db\"", "circuit_breaker = { failures = 5 }"),
            "circuit_breaker",
            "service.db.circuit_breaker",
            &["open_for"],
        ),
        (
            Bad::Text(format!(
                "{VALID}\n[[class]]\nname = \"checkout\"\nentry = \"payments\"\nweight = 0\n"
            )),
            "entry = \"payments\"",
            "class.checkout.entry",
            &["unknown service \"payments\""],
        ),
        (
            Bad::Replace(
                "calls = [\"db\"]",
                r#"calls = [{ service = "db", fallback = "rulez" }]"#,
            ),
            "calls",
            "service.api.calls[0].fallback",
            &["unknown service \"rulez\"", "api, db"],
        ),
        (
            Bad::Replace(
                "calls = [\"db\"]",
                r#"calls = [{ parallel = ["db"], fallback = { service = "rulez" } }]"#,
            ),
            "calls",
            "service.api.calls[0].fallback.service",
            &["unknown service \"rulez\""],
        ),
        (
            Bad::Replace(
                "calls = [\"db\"]",
                r#"calls = [{ parallel = ["db"], deadline = "0ms" }]"#,
            ),
            "calls",
            "service.api.calls[0].deadline",
            &["deadline must be longer than 0"],
        ),
        (
            Bad::Replace(
                "calls = [\"db\"]",
                r#"calls = [{ parallel = ["db"], deadline = "-5ms" }]"#,
            ),
            "calls",
            "service.api.calls[0].deadline",
            &["negative"],
        ),
        (
            Bad::Replace(
                "calls = [\"db\"]",
                r#"calls = [{ service = "db", fire_and_forget = true, retries = { attempts = 2 } }]"#,
            ),
            "calls",
            "service.api.calls[0].retries",
            &["fire_and_forget", "waiting for the answer"],
        ),
        (
            Bad::Replace(
                "calls = [\"db\"]",
                r#"calls = [{ service = "db", async = true }]"#,
            ),
            "calls",
            "service.api.calls[0].async",
            &["fire_and_forget = true"],
        ),
        (
            Bad::Replace(
                "calls = [\"db\"]",
                r#"calls = [{ service = "db", fallback = { service = "db", fire_and_forget = true } }]"#,
            ),
            "calls",
            "service.api.calls[0].fallback.fire_and_forget",
            &["waited for"],
        ),
        (
            Bad::Text(format!("{VALID}\n[slo]\ndegraded = 1.5\n")),
            "degraded",
            "slo.degraded",
            &["1.5", "not a share", "0.01"],
        ),
    ];
    for (input, at, path, words) in cases {
        check_bad_input(input, "validate", at, path, words);
    }
}
/// The keys of a world that changes over time, each mistake named at its key and line.
#[test]
fn world_keys_that_cannot_be_simulated_are_refused_at_their_key() {
    let spike = r#"spikes = [ { at = "5s", duration = "1s", multiplier = 10 } ]"#;
    let autoscale = r#"autoscale = { min = 5, max = 2, target = 0.5 }"#;
    let mttr = "[[fault]]\nkind = \"crash\"\ntarget = \"api\"\nmtbf = \"1h\"\nmttr = \"0s\"\n";
    let negative_mttr =
        "[[fault]]\nkind = \"crash\"\ntarget = \"api\"\nmtbf = \"1h\"\nmttr = \"-5m\"\n";
    let unknown_target =
        "[[fault]]\nkind = \"slow\"\ntarget = \"apii\"\nat = \"1s\"\nduration = \"1s\"\nfactor = 2\n";
    let unknown_region = "[[region]]\nname = \"us\"\n[[fault]]\nkind = \"region_outage\"\ntarget = \"mars\"\nat = \"1s\"\nduration = \"1s\"\n";
    let weight = "[[region]]\nname = \"us\"\nweight = 0\n";
    let service_region = "[[region]]\nname = \"us\"\n";
    for (input, at, path, words) in [
        (
            Bad::Insert("rate = 100", spike),
            "spikes",
            "traffic.spikes[0].at",
            &["outside the run"][..],
        ),
        (
            Bad::Insert("name = \"api\"", autoscale),
            "autoscale",
            "service.api.autoscale.min",
            &["above max"][..],
        ),
        (
            Bad::Text(format!("{VALID}{mttr}")),
            "mttr",
            "fault[0].mttr",
            &["longer than 0"][..],
        ),
        (
            Bad::Text(format!("{VALID}{negative_mttr}")),
            "mttr",
            "fault[0].mttr",
            &["negative"][..],
        ),
        (
            Bad::Text(format!("{VALID}{unknown_target}")),
            "apii",
            "fault[0].target",
            &["unknown service \"apii\"", "did you mean \"api\""][..],
        ),
        (
            Bad::Text(format!("{VALID}{unknown_region}")),
            "mars",
            "fault[0].target",
            &["unknown region \"mars\"", "us"][..],
        ),
        (
            Bad::Text(format!("{VALID}{weight}")),
            "weight",
            "region.us.weight",
            &["greater than 0"][..],
        ),
        (
            Bad::Text(format!("{VALID}[network]\nbandwidth_mbps = 0\n")),
            "bandwidth_mbps",
            "network.bandwidth_mbps",
            &["greater than 0"][..],
        ),
        (
            Bad::Text(
                with_inserted("name = \"db\"", "regions = { us = 1, eu = 2 }").replace(
                    "[[service]]\nname = \"api\"",
                    &format!("{service_region}[[service]]\nname = \"api\""),
                ),
            ),
            "regions",
            "service.db.regions.eu",
            &["unknown region \"eu\""][..],
        ),
        (
            Bad::Text(
                with_inserted(
                    "name = \"db\"",
                    "regions = { us = 1 }\nautoscale = { min = 2, max = 4, target = 0.5 }",
                )
                .replace(
                    "[[service]]\nname = \"api\"",
                    &format!("{service_region}[[service]]\nname = \"api\""),
                ),
            ),
            "regions",
            "service.db.regions.us",
            &["between autoscale.min 2 and autoscale.max 4"][..],
        ),
        (
            Bad::Text(
                with_inserted(
                    "name = \"db\"",
                    "regions = { us = 2 }\nautoscale = { min = 2, max = 4, metric = \"in_flight\", target = 2 }",
                )
                .replace(
                    "[[service]]\nname = \"api\"",
                    &format!("{service_region}[[service]]\nname = \"api\""),
                ),
            ),
            "autoscale",
            "service.db.autoscale.metric",
            &["utilization"][..],
        ),
        (
            Bad::Insert("seed = 3", "window = \"1m\""),
            "window",
            "scenario.window",
            &["longer than the run"][..],
        ),
    ] {
        check_bad_input(input, "run", at, path, words);
    }
}

/// A trace file that is missing, or that does not parse, is named with the key that names
/// it, and a bad line with its number.
#[test]
fn a_trace_file_that_is_missing_or_broken_is_named_with_its_line() {
    let text = with_line("rate = 100", "trace = \"traces/load.csv\"");
    let s = Scratch::new("trace");
    s.write("bad.toml", &text);
    let out = s.capsim(&["run", "bad.toml"]);
    let stderr = out.bad_input();
    let message = diagnostic(stderr, "bad.toml", line_of(&text, "trace"), "traffic.trace");
    assert!(
        message.contains("cannot read trace file traces/load.csv"),
        "{message}"
    );

    std::fs::create_dir_all(s.dir.join("traces")).unwrap();
    s.write("traces/load.csv", "time_s,rate\n0,100\n60,lots\n");
    let out = s.capsim(&["run", "bad.toml"]);
    let stderr = out.bad_input();
    let message = diagnostic(stderr, "bad.toml", line_of(&text, "trace"), "traffic.trace");
    assert!(message.contains("traces/load.csv:3"), "{message}");
    assert!(message.contains("\"lots\""), "{message}");

    // Fixed, it runs (relative to the scenario's directory, wherever capsim runs from).
    s.write("traces/load.csv", "time_s,rate\n0,100\n1,50\n");
    let out = s.capsim(&["run", "bad.toml", "--format", "json"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
}

/// Every mistake gets exactly this message: in the user's words (no Rust or serde type
/// names), naming its key path (or, for a TOML syntax error, its place), with the line and
/// column, and nothing else (no echo, no cascade). The whole error output is compared, line by
/// line, with the snippet lines of syntax errors left out.
#[test]
fn bad_inputs_get_exactly_these_messages() {
    let cases: Vec<(Bad, &[&str])> = vec![
        (
            Bad::Insert("name = \"api\"", "replicas = 1.5"),
            &[
                r#"error: bad.toml:12:1: service.api.replicas: replicas must be a whole number, e.g. replicas = 2, not the number 1.5"#,
            ],
        ),
        (
            Bad::Replace("rate = 100", "rate = \"fast\""),
            &[
                r#"error: bad.toml:7:1: traffic.rate: rate must be a number, e.g. rate = 0.5, not the string "fast""#,
            ],
        ),
        (
            Bad::Text(format!("{VALID}\n[slo]\np99 = 50\n")),
            &[
                r#"error: bad.toml:21:1: slo.p99: p99 needs a unit: write e.g. p99 = "50ms" (units: ns, us, ms, s, m, h, d), not the bare number 50"#,
            ],
        ),
        (
            Bad::Replace(
                "mean = \"1ms\"",
                r#"service_time = { dist = "exponential", mean = "2" }"#,
            ),
            &[
                r#"error: bad.toml:13:40: service.api.service_time.mean: duration "2" has no unit; write it with one, e.g. "2ms" (units: ns, us, ms, s, m, h, d)"#,
            ],
        ),
        (
            Bad::Replace("calls = [\"db\"]", "calls = \"db\""),
            &[
                r#"error: bad.toml:14:1: service.api.calls: must be a list of calls, e.g. ["db"] or [{ service = "db", timeout = "50ms" }], not the string "db""#,
            ],
        ),
        (
            Bad::Insert("name = \"api\"", "blocking_calls = 1"),
            &[
                r#"error: bad.toml:12:1: service.api.blocking_calls: blocking_calls must be true or false, e.g. blocking_calls = true, not the whole number 1"#,
            ],
        ),
        (
            Bad::Insert("name = \"db\"", "error_rate = \"high\""),
            &[
                r#"error: bad.toml:18:1: service.db.error_rate: error_rate must be a number, e.g. error_rate = 0.5, not the string "high""#,
            ],
        ),
        (
            Bad::Replace("duration = \"2s\"", "duration = 10"),
            &[
                r#"error: bad.toml:3:1: scenario.duration: duration needs a unit: write e.g. duration = "10ms" (units: ns, us, ms, s, m, h, d), not the bare number 10"#,
            ],
        ),
        (
            Bad::Replace("seed = 3", "seed = -1"),
            &[
                r#"error: bad.toml:4:1: scenario.seed: seed -1 is negative; use a whole number from 0"#,
            ],
        ),
        (
            Bad::Replace("concurrency = 2", "concurrency = 0"),
            &[
                r#"error: bad.toml:12:1: service.api.concurrency: 0 is out of range; use a whole number from 1 to 1000000"#,
            ],
        ),
        (
            Bad::Replace(
                "mean = \"1ms\"",
                r#"service_time = { dist = "exponential", mean = "1ms""#,
            ),
            &[
                r#"error: bad.toml:13:16: invalid TOML: the inline table opened here is not closed: a `}` is missing (the parser stopped at line 14: missing comma between key-value pairs, expected `,`)"#,
            ],
        ),
        (
            Bad::Insert("rate = 100", "rate = 200"),
            &[
                r#"error: bad.toml:8:1: invalid TOML: the key `rate` is set twice in the same table; keep one"#,
            ],
        ),
        (
            Bad::Text(VALID.replace("[traffic]", "[[traffic]]") + "\n[[traffic]]\nrate = 5\n"),
            &[
                r#"error: bad.toml:6:3: traffic: a scenario has one traffic source: one [traffic] table with its rate; to mix kinds of request, give [traffic] the total rate and add [[class]] tables (name, weight, entry, slo)"#,
            ],
        ),
        (
            Bad::Text(VALID.replace("[[service]]", "[[services]]")),
            &[
                r#"error: bad.toml:10:3: services: unknown key `services`; did you mean `service`? valid keys: `scenario`, `slo`, `traffic`, `service`, `class`, `region`, `network`, `fault`, `cost`, `deployment`, `sweep`, `plan`"#,
            ],
        ),
        (
            Bad::Text(VALID.replace("[traffic]", "[trafic]")),
            &[
                r#"error: bad.toml:6:2: trafic: unknown key `trafic`; did you mean `traffic`? valid keys: `scenario`, `slo`, `traffic`, `service`, `class`, `region`, `network`, `fault`, `cost`, `deployment`, `sweep`, `plan`"#,
            ],
        ),
        (
            Bad::Replace("name = \"db\"", "name = \"api\""),
            &[
                r#"error: bad.toml:14:10: service.api.calls[0]: unknown service "db" in calls; defined services: api"#,
                r#"error: bad.toml:17:1: service.api.name: service name "api" is used more than once; names must be unique"#,
            ],
        ),
        (
            Bad::Text(
                with_line("name = \"db\"", "name = \"db.primary\"")
                    .replace("calls = [\"db\"]", "calls = [\"db.primary\"]"),
            ),
            &[
                r#"error: bad.toml:17:1: service.db.primary.name: service name "db.primary" can hold only letters, digits, - and _ (starting with a letter or digit), so that --set service.NAME.KEY can reach it; e.g. "db-primary""#,
            ],
        ),
        (
            Bad::Replace(
                "mean = \"500us\"",
                r#"service_time = { dist = "expo", mean = "500us" }"#,
            ),
            &[
                r#"error: bad.toml:18:18: service.db.service_time.dist: unknown distribution "expo"; valid distributions: constant, exponential, uniform, normal, lognormal, gamma, erlang, weibull, pareto, empirical, mixture"#,
            ],
        ),
        (
            Bad::Replace("calls = [\"db\"]", "calls = [\"dbb\"]"),
            &[
                r#"error: bad.toml:14:10: service.api.calls[0]: unknown service "dbb" in calls; did you mean "db"? defined services: api, db"#,
            ],
        ),
        (
            Bad::Text(format!("{VALID}\n[slo]\navailability = 2\n")),
            &[
                r#"error: bad.toml:21:1: slo.availability: availability 2 is not a probability; use a ratio from 0 to 1, e.g. 0.999"#,
            ],
        ),
        (
            Bad::Insert("duration = \"2s\"", "warmup = \"3s\""),
            &[
                r#"error: bad.toml:4:1: scenario.warmup: warmup "3s" is not shorter than duration "2s"; statistics cover [warmup, duration), so warmup must be less"#,
            ],
        ),
        (
            Bad::Insert("name = \"api\"", "replicaz = 2"),
            &[
                r#"error: bad.toml:12:1: service.api.replicaz: unknown key `replicaz`; did you mean `replicas`? valid keys: `name`, `replicas`, `concurrency`, `queue_capacity`, `service_time`, `calls`, `blocking_calls`, `error_rate`, `price_per_hour`, `kind`, `balancer`, `batch`, `rate_limit`, `queue_timeout`, `circuit_breaker`, `autoscale`, `health`, `spot_discount`, `price_per_request`, `hit_ratio`, `on_miss`, `capacity`, `keys`, `popularity`, `policy`, `samples`, `clock`, `ttl`, `regions`"#,
            ],
        ),
        (
            Bad::Insert("name = \"db\"", "queue_capacity = -1"),
            &[
                r#"error: bad.toml:18:1: service.db.queue_capacity: -1 is out of range; use a whole number from 0 to 4294967295"#,
            ],
        ),
        (
            Bad::Replace("duration = \"2s\"", "duration = \"-2s\""),
            &[
                r#"error: bad.toml:3:1: scenario.duration: duration "-2s" is negative; durations are zero or more"#,
            ],
        ),
        (
            Bad::Replace("seed = 3", "seed = 99999999999999999999999"),
            &[
                r##"error: bad.toml:4:1: scenario.seed: 99999999999999999999999 is too large a number: whole numbers go from -9223372036854775808 to 9223372036854775807 (docs/scenarios.md gives each key's range)"##,
            ],
        ),
        (
            Bad::Replace("seed = 3", "seed = 9223372036854775808"),
            &[
                r##"error: bad.toml:4:1: scenario.seed: 9223372036854775808 is too large a number: whole numbers go from -9223372036854775808 to 9223372036854775807 (docs/scenarios.md gives each key's range)"##,
            ],
        ),
        (
            Bad::Replace("rate = 100", "rate = 1e400"),
            &[
                r##"error: bad.toml:7:1: traffic.rate: 1e400 is too large a number: numbers go up to about 1.8e308 (docs/scenarios.md gives each key's range)"##,
            ],
        ),
        (
            Bad::Replace("rate = 100", "rate = -5"),
            &[
                r##"error: bad.toml:7:1: traffic.rate: rate -5 must be more than 0 and at most 1e9 requests per second"##,
            ],
        ),
        (
            Bad::Replace("rate = 100", "rate = nan"),
            &[
                r##"error: bad.toml:7:1: traffic.rate: rate NaN must be more than 0 and at most 1e9 requests per second"##,
            ],
        ),
        (
            Bad::Replace("concurrency = 2", "concurrency = 2.5"),
            &[
                r##"error: bad.toml:12:1: service.api.concurrency: concurrency must be a whole number, e.g. concurrency = 2, not the number 2.5"##,
            ],
        ),
        (
            Bad::Replace("concurrency = 2", "concurrency = 99999999999999999999"),
            &[
                r##"error: bad.toml:12:1: service.api.concurrency: 99999999999999999999 is too large a number: whole numbers go from -9223372036854775808 to 9223372036854775807 (docs/scenarios.md gives each key's range)"##,
            ],
        ),
        (
            Bad::Replace("name = \"shop\"", "name = 5"),
            &[
                r##"error: bad.toml:2:1: scenario.name: name must be text in quotes, e.g. name = "text", not the whole number 5"##,
            ],
        ),
        (
            Bad::Insert("seed = 3", "warmup = \"5s\""),
            &[
                r##"error: bad.toml:5:1: scenario.warmup: warmup "5s" is not shorter than duration "2s"; statistics cover [warmup, duration), so warmup must be less"##,
            ],
        ),
        (
            Bad::Insert("seed = 3", "replications = 0"),
            &[
                r##"error: bad.toml:5:1: scenario.replications: 0 is out of range; use a whole number from 1 to 100000"##,
            ],
        ),
        (
            Bad::Insert("seed = 3", "max_in_flight = -1"),
            &[
                r##"error: bad.toml:5:1: scenario.max_in_flight: -1 is out of range; use a whole number from 1 to 4294967295"##,
            ],
        ),
        (
            Bad::Insert("seed = 3", "window = \"0s\""),
            &[
                r##"error: bad.toml:5:1: scenario.window: window must be longer than 0"##,
            ],
        ),
        (
            Bad::Insert("entry = \"api\"", "diurnal = { period = \"24h\", peak_to_trough = 0.5, peak_at = \"20h\" }"),
            &[
                r##"error: bad.toml:9:29: traffic.diurnal.peak_to_trough: peak_to_trough 0.5 must be from 1 (flat) to 1000000"##,
            ],
        ),
        (
            Bad::Insert("entry = \"api\"", "spikes = [ { at = \"1s\", duration = \"1s\", multiplier = -2 } ]"),
            &[
                r##"error: bad.toml:9:42: traffic.spikes[0].multiplier: multiplier -2 must be from 0 to 1000000"##,
            ],
        ),
        (
            Bad::Insert("entry = \"api\"", "steps = [ { at = \"1s\", rate = \"x\" } ]"),
            &[
                r##"error: bad.toml:9:24: traffic.steps[0].rate: rate must be a number without quotes or unit, such as rate = 1.5, not the string "x""##,
            ],
        ),
        (
            Bad::Insert("entry = \"api\"", "payload_kb = -1"),
            &[
                r##"error: bad.toml:9:1: traffic.payload_kb: payload_kb -1 must be from 0 to 1e9 (KB, a terabyte)"##,
            ],
        ),
        (
            Bad::Insert("entry = \"api\"", "payload_kb = 1e308"),
            &[
                r##"error: bad.toml:9:1: traffic.payload_kb: payload_kb 1e308 must be from 0 to 1e9 (KB, a terabyte)"##,
            ],
        ),
        (
            Bad::Insert("entry = \"api\"", "residency = \"yes\""),
            &[
                r##"error: bad.toml:9:1: traffic.residency: residency must be true or false, e.g. residency = true, not the string "yes""##,
            ],
        ),
        (
            Bad::Insert("name = \"api\"", "replicas = 0"),
            &[
                r##"error: bad.toml:12:1: service.api.replicas: 0 is out of range; use a whole number from 1 to 1000000"##,
            ],
        ),
        (
            Bad::Insert("name = \"api\"", "queue_capacity = 1.5"),
            &[
                r##"error: bad.toml:12:1: service.api.queue_capacity: queue_capacity must be a whole number, e.g. queue_capacity = 2, not the number 1.5"##,
            ],
        ),
        (
            Bad::Insert("name = \"api\"", "balancer = \"fastest\""),
            &[
                r##"error: bad.toml:12:1: service.api.balancer: unknown balancer "fastest"; valid balancers: round_robin, random, least_outstanding, power_of_two, weighted, consistent_hash"##,
            ],
        ),
        (
            Bad::Insert("name = \"api\"", "kind = \"queue\""),
            &[
                r##"error: bad.toml:12:1: service.api.kind: unknown kind "queue"; a service is kind = "service" (the default) or "cache""##,
            ],
        ),
        (
            Bad::Insert("name = \"api\"", "queue_timeout = \"-1s\""),
            &[
                r##"error: bad.toml:12:1: service.api.queue_timeout: duration "-1s" is negative; durations are zero or more"##,
            ],
        ),
        (
            Bad::Insert("name = \"api\"", "spot_discount = 2"),
            &[
                r##"error: bad.toml:12:1: service.api.spot_discount: spot_discount 2 must be from 0 to 1 (a fraction off the replica-hour price)"##,
            ],
        ),
        (
            Bad::Insert("name = \"api\"", "price_per_request = \"cheap\""),
            &[
                r##"error: bad.toml:12:1: service.api.price_per_request: price_per_request must be a number, e.g. price_per_request = 0.5, not the string "cheap""##,
            ],
        ),
        (
            Bad::Insert("name = \"api\"", "price_per_hour = inf"),
            &[
                r##"error: bad.toml:12:1: service.api.price_per_hour: price inf must be from 0 to 1e6 (USD per replica-hour)"##,
            ],
        ),
        // Every money input is bounded, so that no cost figure can be infinite (issue 17:
        // 1e308 printed "$inf a month").
        (
            Bad::Insert("name = \"api\"", "price_per_hour = 1e308"),
            &[
                r##"error: bad.toml:12:1: service.api.price_per_hour: price 1e308 must be from 0 to 1e6 (USD per replica-hour)"##,
            ],
        ),
        (
            Bad::Insert("name = \"api\"", "price_per_request = 1e7"),
            &[
                r##"error: bad.toml:12:1: service.api.price_per_request: price_per_request 1e7 must be from 0 to 1e6 (USD per request)"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[cost]\nfixed_monthly = { support = 1e13 }\nper_gb_cross_region = nan\n"),
            &[
                r##"error: bad.toml:21:19: cost.fixed_monthly.support: a monthly cost is USD, from 0 to 1e12, not the number 1e13"##,
                r##"error: bad.toml:22:1: cost.per_gb_cross_region: per_gb_cross_region must be a finite number, not NaN"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[[region]]\nname = \"us\"\nprice_factor = 1e4\n"),
            &[
                r##"error: bad.toml:22:1: region.us.price_factor: price_factor 10000 must be from 0 to 1e3 (a multiple of the replica-hour price)"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[[deployment]]\nservice = \"api\"\nat = \"1s\"\nstrategy = \"recreate\"\nnew = { price_per_hour = 2e6 }\n"),
            &[
                r##"error: bad.toml:24:9: deployment[0].new.price_per_hour: price_per_hour 2e6 must be from 0 to 1e6 (USD per replica-hour)"##,
            ],
        ),
        (
            Bad::Replace("calls = [\"db\"]", "calls = [{ service = \"db\", timeout = \"0ms\" }]"),
            &[
                r##"error: bad.toml:14:28: service.api.calls[0].timeout: timeout must be longer than 0"##,
            ],
        ),
        (
            Bad::Replace("calls = [\"db\"]", "calls = [{ service = \"db\", retries = { attempts = 99999999999999999999 } }]"),
            &[
                r##"error: bad.toml:14:40: service.api.calls[0].retries.attempts: 99999999999999999999 is too large a number: whole numbers go from -9223372036854775808 to 9223372036854775807 (docs/scenarios.md gives each key's range)"##,
            ],
        ),
        (
            Bad::Replace("calls = [\"db\"]", "calls = [{ service = \"db\", retries = { attempts = -1 } }]"),
            &[
                r##"error: bad.toml:14:40: service.api.calls[0].retries.attempts: attempts = -1 is out of range; use a whole number from 1 to 100"##,
            ],
        ),
        (
            Bad::Replace("calls = [\"db\"]", "calls = [{ service = \"db\", hedge = 5 }]"),
            &[
                r##"error: bad.toml:14:28: service.api.calls[0].hedge: hedge must be a duration with a unit such as "5ms", not the bare number 5"##,
            ],
        ),
        (
            Bad::Replace("calls = [\"db\"]", "calls = [{ service = \"db\", probability = 1.5 }]"),
            &[
                r##"error: bad.toml:14:28: service.api.calls[0].probability: probability 1.5 is not a probability; use a number from 0 to 1"##,
            ],
        ),
        (
            Bad::Replace("calls = [\"db\"]", "calls = [{ parallel = [\"db\"], join = \"some\" }]"),
            &[
                r##"error: bad.toml:14:31: service.api.calls[0].join: join must be "all", "any" or a whole number of calls from 1 to 1, not the string "some""##,
            ],
        ),
        (
            Bad::Replace("calls = [\"db\"]", "calls = [{ service = \"db\", optional = 1 }]"),
            &[
                r##"error: bad.toml:14:28: service.api.calls[0].optional: optional must be true or false, not 1"##,
            ],
        ),
        (
            Bad::Insert("name = \"db\"", "kind = \"cache\"\nhit_ratio = 1.2\non_miss = []"),
            &[
                r##"error: bad.toml:19:1: service.db.hit_ratio: hit_ratio 1.2 is not a probability; use a number from 0 to 1"##,
            ],
        ),
        (
            Bad::Insert("name = \"db\"", "kind = \"cache\"\ncapacity = 0\nkeys = 10\non_miss = []"),
            &[
                r##"error: bad.toml:19:1: service.db.capacity: capacity = 0 is out of range; use a whole number from 1 to 1000000000"##,
            ],
        ),
        (
            Bad::Insert("name = \"db\"", "kind = \"cache\"\ncapacity = 10\nkeys = 10\npolicy = \"mru\"\non_miss = []"),
            &[
                r##"error: bad.toml:21:1: service.db.policy: unknown policy "mru"; valid policies: lru, lfu, fifo, random, redis_lru"##,
            ],
        ),
        (
            Bad::Insert("name = \"db\"", "batch = { max_size = 0, timeout = \"1ms\" }"),
            &[
                r##"error: bad.toml:18:11: service.db.batch.max_size: max_size must be at least 1 (a batch of 0 never starts)"##,
            ],
        ),
        (
            Bad::Insert("name = \"db\"", "rate_limit = { rate = 0, burst = 10 }"),
            &[
                r##"error: bad.toml:18:16: service.db.rate_limit.rate: rate must be greater than 0, not 0"##,
            ],
        ),
        (
            Bad::Insert("name = \"db\"", "rate_limit = { rate = 10, burst = 1e400 }"),
            &[
                r##"error: bad.toml:18:27: service.db.rate_limit.burst: 1e400 is too large a number: numbers go up to about 1.8e308 (docs/scenarios.md gives each key's range)"##,
            ],
        ),
        (
            Bad::Insert("name = \"db\"", "circuit_breaker = { failure_ratio = 2 }"),
            &[
                r##"error: bad.toml:18:21: service.db.circuit_breaker.failure_ratio: unknown key "failure_ratio" in circuit_breaker; it takes failures, error_rate, window, min_requests, open_for, scope"##,
                r##"error: bad.toml:18:1: service.db.circuit_breaker: missing "open_for"; write e.g. { failures = 5, open_for = "30s" } or { error_rate = 0.5, window = "10s", min_requests = 20, open_for = "30s" }"##,
                r##"error: bad.toml:18:1: service.db.circuit_breaker: a breaker needs failures or error_rate; e.g. { failures = 5, open_for = "30s" } or { error_rate = 0.5, window = "10s", min_requests = 20, open_for = "30s" }"##,
            ],
        ),
        (
            Bad::Insert(
                "name = \"db\"",
                "circuit_breaker = { failures = 5, open_for = \"1s\", scope = \"global\" }",
            ),
            &[
                r##"error: bad.toml:18:52: service.db.circuit_breaker.scope: scope must be "caller" (state in each calling replica) or "service" (one state shared by every caller), not "global""##,
            ],
        ),
        (
            Bad::Insert("name = \"db\"", "autoscale = { min = 5, max = 2, target = 0.5 }"),
            &[
                r##"error: bad.toml:18:15: service.db.autoscale.min: min 5 is above max 2"##,
            ],
        ),
        (
            Bad::Insert("name = \"db\"", "autoscale = { min = 1, max = 2, target = 1.5 }"),
            &[
                r##"error: bad.toml:18:33: service.db.autoscale.target: a utilization target is a fraction of the workers; 1.5 is above 1"##,
            ],
        ),
        (
            Bad::Insert("name = \"db\"", "autoscale = { min = 1, max = 2, target = 0.5, metric = \"cpu\" }"),
            &[
                r##"error: bad.toml:18:47: service.db.autoscale.metric: unknown metric "cpu"; did you mean "rps"? valid metrics: utilization, in_flight, rps, queue_length"##,
            ],
        ),
        (
            Bad::Insert("name = \"db\"", "health = { interval = \"0s\", failures = 3 }"),
            &[
                r##"error: bad.toml:18:12: service.db.health.interval: interval must be longer than 0"##,
            ],
        ),
        (
            Bad::Insert("name = \"db\"", "health = { interval = \"10s\", failures = 0 }"),
            &[
                r##"error: bad.toml:18:30: service.db.health.failures: failures must be a whole number from 1 to 1000, not 0"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[slo]\np99 = \"-1ms\"\n"),
            &[
                r##"error: bad.toml:21:1: slo.p99: duration "-1ms" is negative; durations are zero or more"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[slo]\navailability = 1.5\n"),
            &[
                r##"error: bad.toml:21:1: slo.availability: availability 1.5 is not a probability; use a ratio from 0 to 1, e.g. 0.999"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[slo]\np42 = \"1ms\"\n"),
            &[
                r##"error: bad.toml:21:1: slo.p42: unknown key `p42`; did you mean `p50`? valid keys: `mean`, `p50`, `p90`, `p95`, `p99`, `p999`, `availability`, `degraded`"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[[fault]]\nkind = \"meteor\"\ntarget = \"db\"\nat = \"1s\"\nduration = \"1s\"\n"),
            &[
                r##"error: bad.toml:21:1: fault[0].kind: unknown fault kind "meteor"; valid fault kinds: crash, spot, slow, errors, outage, region_outage"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[[fault]]\nkind = \"crash\"\ntarget = \"db\"\nat = \"1s\"\nduration = \"1s\"\nreplicas = 0\n"),
            &[
                r##"error: bad.toml:25:1: fault[0].replicas: replicas must be a whole number from 1 to 1000000, not 0"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[[fault]]\nkind = \"slow\"\ntarget = \"db\"\nat = \"1s\"\nduration = \"1s\"\nfactor = -2\n"),
            &[
                r##"error: bad.toml:25:1: fault[0].factor: factor must be greater than 0, not -2"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[[fault]]\nkind = \"errors\"\ntarget = \"db\"\nat = \"1s\"\nduration = \"1s\"\nrate = 2\n"),
            &[
                r##"error: bad.toml:25:1: fault[0].rate: 2 is not a probability; use a number from 0 to 1"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[[fault]]\nkind = \"outage\"\ntarget = \"nope\"\nat = \"1s\"\nduration = \"1s\"\n"),
            &[
                r##"error: bad.toml:22:1: fault[0].target: unknown service "nope"; defined services: api, db"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[[fault]]\nkind = \"spot\"\ntarget = \"db\"\nrate = -1\n"),
            &[
                r##"error: bad.toml:23:1: fault[0].rate: rate must be greater than 0, not -1"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[[region]]\nname = \"us\"\nweight = -1\n"),
            &[
                r##"error: bad.toml:22:1: region.us.weight: weight -1 must be greater than 0 (a share of clients)"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[[region]]\nname = \"us\"\nutc_offset = \"-25h\"\n"),
            &[
                r##"error: bad.toml:22:1: region.us.utc_offset: utc_offset "-25h" is more than a day either way; write one from "-24h" to "+24h" (e.g. "-5h" for New York, "+9h" for Tokyo)"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[[region]]\nname = \"jp\"\nutc_offset = \"+9h\"\n"),
            &[
                r##"error: bad.toml:22:1: region.jp.utc_offset: utc_offset shifts the traffic's diurnal curve for the region's clients, and [traffic] has none; add traffic.diurnal (e.g. diurnal = { peak_at = "20h", peak_to_trough = 3 }) or remove utc_offset"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[[class]]\nname = \"x\"\nbacklog = { max = 3 }\n"),
            &[
                r##"error: bad.toml:22:1: class.x.backlog: a backlog holds requests whose data must stay in their region while it is down; set class.x.residency = true or remove backlog (requests without residency fail over instead)"##,
            ],
        ),
        (
            Bad::Replace("rate = 100", "rate = 100\nresidency = true\nbacklog = { timeout = \"1h\" }"),
            &[
                r##"error: bad.toml:9:1: traffic.backlog.max: missing max, the requests a region's backlog holds; add e.g. max = 5000"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[network]\nlocal = 5\n"),
            &[
                r##"error: bad.toml:21:1: network.local: local must be a duration with a unit such as "5ms", not the bare number 5"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[cost]\nfoo = 1\n"),
            &[
                r##"error: bad.toml:21:1: cost.foo: unknown key "foo" in [cost]; it takes per_gb_cross_region, fixed_monthly"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[[class]]\nname = \"a\"\nweight = 0\n"),
            &[
                r##"error: bad.toml:22:1: class.a.weight: weight 0 must be more than 0 (weights are shares of arrivals, normalized by their sum)"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[[class]]\nname = \"a\"\nentry = \"nope\"\n"),
            &[
                r##"error: bad.toml:22:1: class.a.entry: unknown service "nope"; defined services: api, db"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[sweep]\n\"traffic.rate\" = []\n"),
            &[
                r##"error: bad.toml:21:1: sweep.traffic.rate: empty list of values; give at least one, e.g. [2, 4, 8]"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[sweep]\n\"traffic.rate\" = { from = 1, to = 10, step = 0 }\n"),
            &[
                r##"error: bad.toml:21:39: sweep.traffic.rate.step: step 0 never gets anywhere; use a step above 0 (or below 0 for a falling range)"##,
            ],
        ),
        (
            // Found by the `overrides` fuzzer: this range used to spin for hours.
            Bad::Text(VALID.to_string() + "\n" + "[sweep]\n\"traffic.rate\" = { from = 1, to = 1000000000, factor = 1.0000000001 }\n"),
            &[
                r##"error: bad.toml:21:47: sweep.traffic.rate.factor: factor 1.0000000001 takes 207232641234 steps from 1 to 1000000000, more than the 100000 values an axis may have; use a larger factor"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[sweep]\n\"nope.x\" = [1, 2]\n"),
            &[
                r##"error: bad.toml:21:1: sweep.nope.x: `nope` names no key: unknown key `nope`; valid keys: `scenario`, `slo`, `traffic`, `service`, `class`, `region`, `network`, `fault`, `cost`, `deployment`, `sweep`, `plan`"##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[plan]\n\"service.api.replicas\" = { from = 1, to = 0, step = 1 }\n"),
            &[
                r##"error: bad.toml:21:46: plan.service.api.replicas.step: step 1 has the wrong sign: it never gets from 1 to 0; use -1"##,
                r##"error: bad.toml:20:2: plan: a plan searches for the cheapest design that meets every SLO, and there is none; add an [slo] table (or a class's slo), e.g. p99 = "50ms""##,
            ],
        ),
        (
            Bad::Text(VALID.to_string() + "\n" + "[plan]\nfoo = 1\n"),
            &[
                r##"error: bad.toml:20:2: plan: a plan searches for the cheapest design that meets every SLO, and there is none; add an [slo] table (or a class's slo), e.g. p99 = "50ms""##,
                r##"error: bad.toml:21:1: plan.foo: `foo` names no key: unknown key `foo`; did you mean `slo`? valid keys: `scenario`, `slo`, `traffic`, `service`, `class`, `region`, `network`, `fault`, `cost`, `deployment`, `sweep`, `plan`"##,
            ],
        ),
    ];
    assert!(cases.len() >= 80);
    let scenario_cases = cases.len();
    let rust_words = [
        "f64",
        "f32",
        "i64",
        "i32",
        "u32",
        "u64",
        "usize",
        "sequence",
        "invalid type",
        "struct",
        "Option",
        "a map",
    ];
    for (input, expected) in cases {
        let refused = refuse(input, "validate");
        let errors: Vec<&str> = refused
            .stderr()
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(errors, expected, "{}", refused.case);
        for line in errors {
            for word in rust_words {
                assert!(!line.contains(word), "a Rust type name in: {line}");
            }
            assert!(
                line.starts_with("error: bad.toml:"),
                "names file and line: {line}"
            );
        }
    }

    // Flags: the first line of the message, with `bad.toml` the valid scenario. Each names
    // the flag (or the scenario and the option applied to it), what is wrong and what is valid.
    let flag_cases: &[(&[&str], &str)] = &[
        (
            &["run", "bad.toml", "--seed", "x"],
            r##"error: invalid value 'x' for '--seed <SEED>': "x" is not a whole number; use a whole number from 0 to 9223372036854775807"##,
        ),
        (
            &["run", "bad.toml", "--seed", "-1"],
            r##"error: invalid value '-1' for '--seed <SEED>': -1 is negative; use a whole number from 0 to 9223372036854775807"##,
        ),
        (
            &["run", "bad.toml", "--seed", "99999999999999999999"],
            r##"error: invalid value '99999999999999999999' for '--seed <SEED>': 99999999999999999999 is out of range; use a whole number from 0 to 9223372036854775807"##,
        ),
        (
            &["run", "bad.toml", "--seed", "1.5"],
            r##"error: invalid value '1.5' for '--seed <SEED>': "1.5" is not a whole number; use a whole number from 0 to 9223372036854775807"##,
        ),
        (
            &["run", "bad.toml", "--replications", "0"],
            r##"error: invalid value '0' for '--replications <REPLICATIONS>': 0 is out of range; use a whole number from 1 to 100000"##,
        ),
        (
            &["run", "bad.toml", "--replications", "two"],
            r##"error: invalid value 'two' for '--replications <REPLICATIONS>': "two" is not a whole number; use a whole number from 1 to 100000"##,
        ),
        (
            &[
                "sweep",
                "bad.toml",
                "--sweep",
                "traffic.rate=1,2",
                "--jobs",
                "0",
            ],
            r##"error: invalid value '0' for '--jobs <N>': 0 is out of range; use a whole number from 1 to 4096"##,
        ),
        (
            &[
                "sweep",
                "bad.toml",
                "--sweep",
                "traffic.rate=1,2",
                "--jobs",
                "-2",
            ],
            r##"error: invalid value '-2' for '--jobs <N>': -2 is negative; use a whole number from 1 to 4096"##,
        ),
        (
            &["plan", "bad.toml", "--max-replications", "1"],
            r##"error: invalid value '1' for '--max-replications <N>': 1 is out of range; use a whole number from 2 to 100000"##,
        ),
        (
            &[
                "sweep",
                "bad.toml",
                "--sweep",
                "traffic.rate=1,2",
                "--shard",
                "3/2",
            ],
            r##"error: --shard 3/2: shard 3 does not exist among 2 (they are numbered 0 to 1)"##,
        ),
        (
            &[
                "sweep",
                "bad.toml",
                "--sweep",
                "traffic.rate=1,2",
                "--shard",
                "x",
            ],
            r##"error: --shard x: expected i/n with 0 <= i < n (e.g. 0/3, 1/3, 2/3), or auto"##,
        ),
        (
            &[
                "sweep",
                "bad.toml",
                "--sweep",
                "traffic.rate=1,2",
                "--shard",
                "1/0",
            ],
            r##"error: --shard 1/0: the count must be from 1 to 100000, found 0"##,
        ),
        (
            &["sweep", "bad.toml", "--sweep", "traffic.rate="],
            r##"error: bad.toml (--sweep traffic.rate=): sweep.traffic.rate: empty list of values; give at least one, e.g. [2, 4, 8]"##,
        ),
        (
            &["sweep", "bad.toml", "--sweep", "traffic.rate=1,-2"],
            r##"error: bad.toml (--sweep traffic.rate=1,-2): sweep.traffic.rate: at -2: traffic.rate: rate -2 must be more than 0 and at most 1e9 requests per second"##,
        ),
        (
            &["sweep", "bad.toml"],
            r##"error: bad.toml: nothing to sweep: add a [sweep] table (e.g. "service.api.replicas" = [2, 4, 8]) or --sweep PATH=V1,V2,..."##,
        ),
        (
            &[
                "sweep",
                "bad.toml",
                "--resume",
                "--sweep",
                "traffic.rate=1,2",
            ],
            r##"error: --resume continues the sweep in an --out directory; give --out DIR"##,
        ),
        (
            &["run", "bad.toml", "--set", "x"],
            r##"error: bad.toml (--set x): x: --set takes PATH=VALUE, e.g. --set traffic.rate=250 or --set service.api.replicas=8"##,
        ),
        (
            &["run", "bad.toml", "--set", "service.nope.replicas=2"],
            r##"error: bad.toml (--set service.nope.replicas=2): service.nope.replicas: no service named "nope"; defined: api, db"##,
        ),
        (
            &[
                "run",
                "bad.toml",
                "--set",
                "service.api.replicas=99999999999999999999",
            ],
            r##"error: bad.toml (--set service.api.replicas=99999999999999999999): service.api.replicas: 99999999999999999999 is too large a number: whole numbers go from -9223372036854775808 to 9223372036854775807 (docs/scenarios.md gives each key's range)"##,
        ),
        (
            &["run", "bad.toml", "--set", "traffic.rate=1e400"],
            r##"error: bad.toml (--set traffic.rate=1e400): traffic.rate: 1e400 is too large a number: numbers go up to about 1.8e308 (docs/scenarios.md gives each key's range)"##,
        ),
        (
            &["run", "bad.toml", "--format", "xml"],
            r##"error: invalid value 'xml' for '--format <FORMAT>'"##,
        ),
        (
            &["run", "bad.toml", "--out"],
            r##"error: a value is required for '--out <DIR>' but none was supplied"##,
        ),
        (
            &["merge", "nothere", "--out", "m"],
            r##"error: nothere is not a sweep result directory (no manifest.json)"##,
        ),
        (
            &["report", "nothere"],
            r##"error: nothere is not a directory"##,
        ),
    ];
    assert!(scenario_cases + flag_cases.len() >= 100);
    let s = Scratch::new("bad-flags");
    s.write("bad.toml", VALID);
    for (args, expected) in flag_cases {
        let out = s.capsim(args);
        let first = out.bad_input().lines().next().unwrap_or("");
        assert_eq!(first, *expected, "capsim {}", args.join(" "));
        for word in rust_words {
            assert!(!first.contains(word), "a Rust type name in: {first}");
        }
    }
}

/// A reader that has gone before capsim writes (`capsim validate x.toml | true`) is no
/// reason to panic: every command that prints to standard output exits as it would have,
/// with nothing on standard error about the pipe. The pipe's read end is closed before
/// capsim starts, so every write fails with EPIPE.
#[test]
fn a_closed_standard_output_is_not_a_panic() {
    let s = Scratch::new("closed-stdout");
    s.write("ok.toml", VALID);
    for args in [
        &["validate", "ok.toml"][..],
        &["run", "ok.toml"],
        &["run", "ok.toml", "--format", "json"],
        &["run", "ok.toml", "--out", "report"],
        &["report", "report"],
    ] {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_capsim"))
            .args(args)
            .current_dir(&s.dir)
            .stdout(writer)
            .output()
            .expect("start capsim");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// A file with 20,000 services written as empty tables has 40,001 problems (each service
/// lacks a name and a service time; the entry names none of them). The first 100 are
/// listed with their places and the rest counted, and the message naming the services
/// defined lists 20 and counts the rest: placing every problem and listing every name, each
/// deduplicated by a linear search, took 1.5 s here and 40 s at 100,000 services (hours at
/// a million), and printed each of the 40,001 lines.
#[test]
fn a_file_with_forty_thousand_problems_lists_a_hundred_and_counts_the_rest() {
    let s = Scratch::new("many-problems");
    let text = format!(
        "service = [{}]\n[scenario]\nduration = \"1s\"\n[traffic]\nrate = 1\nentry = \"s0\"\n",
        "{},".repeat(20_000)
    );
    s.write("empty.toml", &text);
    let out = s.capsim(&["validate", "empty.toml"]);
    let stderr = out.bad_input();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 102, "{}", &stderr[..stderr.len().min(2000)]);
    assert_eq!(
        lines[0],
        "error: empty.toml:1:12: service[0].name: every service needs a non-empty name"
    );
    assert_eq!(
        lines[100],
        "... and 39901 more problems (the first 100 are listed)"
    );
    assert_eq!(lines[101], "40001 problems found in empty.toml");
    // The entry's message is among those counted; its listing alone is checked by
    // `problem::tests`. Every line stays short.
    assert!(lines.iter().all(|l| l.len() < 400), "{lines:?}");
}

/// A warning per item folds past ten of a kind: 10,000 services of which only the entry is
/// visited would print 9,999 "never visited" lines (a million services, 90 MB); it prints
/// the first ten (s1 to s10) and one line counting the other 9,989.
#[test]
fn warnings_of_one_kind_past_ten_fold_into_one_line_with_their_count() {
    let s = Scratch::new("warnings-fold");
    let mut text =
        String::from("[scenario]\nduration = \"1s\"\n[traffic]\nrate = 1\nentry = \"s0\"\n");
    for i in 0..10_000 {
        text.push_str(&format!(
            "[[service]]\nname = \"s{i}\"\nservice_time = {{ dist = \"constant\", value = \"1ms\" }}\n"
        ));
    }
    s.write("wide.toml", &text);
    let validate = s.capsim(&["validate", "wide.toml"]);
    assert_eq!(validate.code, Some(0), "{validate:#?}");
    let lines: Vec<&str> = validate.stderr.lines().collect();
    let mut expected: Vec<String> = (1..=10)
        .map(|i| format!("warning: service \"s{i}\" is never visited: no class enters there and no call reaches it"))
        .collect();
    expected.push("warning: ... and 9,989 more services are never visited".into());
    assert_eq!(lines, expected);
}

/// Valid, but it cannot be what was meant: a service nothing reaches, a p99 of 0, an
/// availability above what the error rates allow (1% errors on the only path: at most 99%
/// can succeed), and a mean objective of 20 ms that a 20 ms call timeout on the path can
/// meet by construction (a timed-out request is a failure, not a latency). Each gets its
/// own warning, from `validate` and from `run`, and the file is still valid (exit 0 from
/// validate).
#[test]
fn warnings_name_what_cannot_be_meant() {
    let s = Scratch::new("warnings");
    s.write(
        "w.toml",
        r#"[scenario]
name = "w"
duration = "2s"
[slo]
p99 = "0ms"
availability = 0.999
mean = "20ms"
[traffic]
rate = 100
entry = "api"
[[service]]
name = "api"
service_time = { dist = "exponential", mean = "1ms" }
error_rate = 0.01
calls = [{ service = "db", timeout = "20ms" }]
[[service]]
name = "db"
service_time = { dist = "exponential", mean = "1ms" }
[[service]]
name = "orphan"
service_time = { dist = "exponential", mean = "1ms" }
"#,
    );
    let expected = [
        r#"warning: service "orphan" is never visited: no class enters there and no call reaches it"#,
        "warning: slo.p99 = 0 cannot be met unless requests take no time at all",
        "warning: slo.availability = 0.999 cannot be met: with the error rates given, at most 99.0000% of requests can succeed (add retries, fallbacks or lower error rates)",
        r#"warning: slo.mean = 20ms can pass by construction: the call from "api" to "db" times out after 20ms, and a timed-out request is a failure, not a latency (latency objectives cover successful requests only)"#,
    ];
    let validate = s.capsim(&["validate", "w.toml"]);
    assert_eq!(validate.code, Some(0), "{validate:#?}");
    assert_eq!(validate.stderr.lines().collect::<Vec<_>>(), expected);
    let run = s.capsim(&["run", "w.toml"]);
    assert_eq!(run.code, Some(1), "the p99 of 0 is missed: {run:#?}");
    for line in expected {
        assert!(run.stderr.contains(line), "{run:#?}");
    }
    // Without the mistakes, no warning.
    s.write(
        "fine.toml",
        &std::fs::read_to_string(s.dir.join("w.toml"))
            .unwrap()
            .replace("p99 = \"0ms\"", "p99 = \"50ms\"")
            .replace("availability = 0.999", "availability = 0.98")
            .replace("timeout = \"20ms\"", "timeout = \"60ms\"")
            .replace("entry = \"api\"", "entry = \"api\"\n[[class]]\nname = \"a\"\n[[class]]\nname = \"b\"\nentry = \"orphan\""),
    );
    let fine = s.capsim(&["validate", "fine.toml"]);
    assert_eq!(
        (fine.code, fine.stderr.as_str()),
        (Some(0), ""),
        "{fine:#?}"
    );
}

/// The availability warning weighs each class's path by its share. Both classes enter at
/// "api"; only "admin" (weight 1 of 20: 5%) calls "audit", which fails 10% of visits. So
/// "browse" can reach 100%, "admin" 90%, and all requests 0.95 x 1 + 0.05 x 0.9 = 99.5%:
/// `slo.availability = 0.99` can be met (no warning), 0.999 cannot (at most 99.5%), and the
/// admin class's own 0.95 cannot (at most 90%). Charging the audit call to every request
/// would have said 90% of all requests.
#[test]
fn availability_warnings_weigh_each_class_by_its_share() {
    let s = Scratch::new("class-availability");
    let scenario = |target: &str| {
        format!(
            r#"[scenario]
name = "classes"
duration = "2s"
[slo]
availability = {target}
[traffic]
rate = 100
entry = "api"
[[class]]
name = "browse"
weight = 19
[[class]]
name = "admin"
weight = 1
slo = {{ availability = 0.95 }}
[[service]]
name = "api"
service_time = {{ dist = "exponential", mean = "1ms" }}
calls = [{{ service = "audit", classes = ["admin"] }}]
[[service]]
name = "audit"
service_time = {{ dist = "exponential", mean = "1ms" }}
error_rate = 0.1
"#
        )
    };
    let admin = "warning: class.admin.slo.availability = 0.95 cannot be met: with the error rates given, at most 90.0000% of class admin's requests can succeed (add retries, fallbacks or lower error rates)";
    s.write("met.toml", &scenario("0.99"));
    let met = s.capsim(&["validate", "met.toml"]);
    assert_eq!(
        (met.code, met.stderr.lines().collect::<Vec<_>>()),
        (Some(0), vec![admin]),
        "{met:#?}"
    );
    s.write("missed.toml", &scenario("0.999"));
    let missed = s.capsim(&["validate", "missed.toml"]);
    assert_eq!(
        missed.stderr.lines().collect::<Vec<_>>(),
        [
            "warning: slo.availability = 0.999 cannot be met: with the error rates given, at most 99.5000% of requests can succeed (add retries, fallbacks or lower error rates)",
            admin
        ],
        "{missed:#?}"
    );
}

/// `--out` never leaves a stale file: a full report, then an overloaded run into the same
/// directory, leaves only the overloaded run's files (its summary.md the overload report),
/// and no file that capsim did not write is touched. `--format markdown` prints the same
/// overload report.
#[test]
fn an_overloaded_run_replaces_the_report_it_overwrites() {
    let s = Scratch::new("stale");
    s.write("ok.toml", VALID);
    let ok = s.capsim(&["run", "ok.toml", "--out", "report"]);
    assert_eq!(ok.code, Some(0), "{ok:#?}");
    let dir = s.dir.join("report");
    assert!(dir.join("latency_cdf.png").exists() && dir.join("timeseries.csv").exists());
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let overload = [
        "run",
        "ok.toml",
        "--set",
        "traffic.rate=1000000",
        "--set",
        "scenario.max_in_flight=100",
    ];
    let out = s.capsim(&[&overload[..], &["--out", "report"]].concat());
    assert_eq!(out.code, Some(1), "{out:#?}");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".capsim-files",
            "index.html",
            "notes.txt",
            "scenario.toml",
            "summary.json",
            "summary.md"
        ]
    );
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains("**Overloaded: the run stopped.**"), "{md}");
    let printed = s.capsim(&[&overload[..], &["--format", "markdown"]].concat());
    assert_eq!(printed.code, Some(1));
    assert_eq!(printed.stdout, md);
}

/// This machine's name as capsim's lock file records it.
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Symbolic links planted in `--out` (as a temporary `.NAME.partial`, and as an output name)
/// are replaced, never written through: the files they point at keep their bytes.
#[test]
fn out_replaces_symbolic_links_and_never_writes_through_them() {
    let s = Scratch::new("links");
    s.write("ok.toml", VALID);
    let victim = s.write("victim.txt", "keep me\n");
    let dir = s.dir.join("report");
    std::fs::create_dir(&dir).unwrap();
    for name in [".summary.json.partial", ".index.html.partial", "index.html"] {
        std::os::unix::fs::symlink(&victim, dir.join(name)).unwrap();
    }
    let out = s.capsim(&["run", "ok.toml", "--out", "report"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
    for name in ["summary.json", "index.html"] {
        assert!(!is_link(&dir.join(name)), "{name} is a file of its own");
    }
    assert!(std::fs::read_to_string(dir.join("index.html"))
        .unwrap()
        .starts_with("<!DOCTYPE html>"));
    assert_no_partial_files(&dir);
}

/// One command at a time writes into a directory: a live lock (this test's own process) makes
/// run, sweep, merge, plan and report refuse with exit 2 and say what to do; a stale one (its
/// process gone) is taken over; the lock is removed when the command ends.
#[test]
fn a_second_command_into_the_same_out_is_refused_while_a_stale_lock_is_taken_over() {
    let s = Scratch::new("lock");
    s.write("ok.toml", VALID);
    let shard = s.capsim(&[
        "sweep",
        "ok.toml",
        "--sweep",
        "traffic.rate=50,100",
        "--shard",
        "0/1",
        "--out",
        "shard",
    ]);
    assert_eq!(shard.code, Some(0), "{shard:#?}");
    let dir = s.dir.join("busy");
    std::fs::create_dir(&dir).unwrap();
    let lock = dir.join(".capsim-lock");
    std::fs::write(&lock, format!("{} {}\n", std::process::id(), host())).unwrap();
    let expected = format!(
        "error: busy is in use: another capsim (process {} on {}) is writing there, and two \
         commands writing into one directory would mix their files; wait for it to finish or \
         give another directory. If no capsim is running there (one was killed on another \
         machine), remove busy/.capsim-lock\n",
        std::process::id(),
        host()
    );
    for args in [
        &["run", "ok.toml", "--out", "busy"][..],
        &[
            "sweep",
            "ok.toml",
            "--sweep",
            "traffic.rate=50,100",
            "--out",
            "busy",
        ],
        &["merge", "shard", "--out", "busy"],
        &["report", "busy"],
    ] {
        let out = s.capsim(args);
        assert_eq!(out.bad_input(), expected, "{args:?}");
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "only the lock");

    // A process that has ended holds no lock.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    std::fs::write(&lock, format!("{pid} {}\n", host())).unwrap();
    let out = s.capsim(&["run", "ok.toml", "--out", "busy"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(dir.join("summary.json").exists());
    assert!(!lock.exists(), "the lock is removed when the run ends");

    // A command refused before it writes leaves no directory behind.
    let bad = s.capsim(&["merge", "nothing-here", "--out", "never"]);
    bad.bad_input();
    assert!(!s.dir.join("never").exists());
}

/// A run killed while it replaces a report leaves `.capsim-writing`; `capsim report` refuses
/// such a directory (its files may mix two runs) until a command finishes writing it.
#[test]
fn a_report_left_half_written_is_refused_until_written_again() {
    let s = Scratch::new("torn");
    s.write("ok.toml", VALID);
    let out = s.capsim(&["run", "ok.toml", "--out", "report"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let marker = s.dir.join("report/.capsim-writing");
    assert!(!marker.exists(), "a finished run leaves no marker");
    std::fs::write(&marker, "").unwrap();
    let refused = s.capsim(&["report", "report"]);
    assert_eq!(
        refused.bad_input(),
        "error: report is incomplete: the capsim that wrote it stopped before it finished \
         (.capsim-writing is there), so its files may mix two runs; run that command again\n"
    );
    let again = s.capsim(&["run", "ok.toml", "--out", "report"]);
    assert_eq!(again.code, Some(0), "{again:#?}");
    assert!(!marker.exists());
    let report = s.capsim(&["report", "report"]);
    assert_eq!(report.code, Some(0), "{report:#?}");
}

/// What a killed merge (or sweep) leaves, temporary files of any kind, is no obstacle to the
/// next one, which leaves none.
#[test]
fn partial_files_left_by_a_killed_merge_do_not_trip_the_next() {
    let s = Scratch::new("merge-partial");
    s.write("ok.toml", VALID);
    for i in 0..2 {
        let shard = format!("{i}/2");
        let dir = format!("s{i}");
        let out = s.capsim(&[
            "sweep",
            "ok.toml",
            "--sweep",
            "traffic.rate=50,100,150",
            "--shard",
            &shard,
            "--out",
            &dir,
        ]);
        assert_eq!(out.code, Some(0), "{out:#?}");
    }
    let merged = s.dir.join("merged");
    std::fs::create_dir(&merged).unwrap();
    let victim = s.write("victim.txt", "keep me\n");
    std::fs::write(merged.join(".results.csv.partial"), "half a fil").unwrap();
    std::fs::write(merged.join(".results.jsonl.partial"), "{\"poi").unwrap();
    std::os::unix::fs::symlink(&victim, merged.join(".manifest.json.partial")).unwrap();
    let out = s.capsim(&["merge", "s0", "s1", "--out", "merged"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_no_partial_files(&merged);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
    let csv = std::fs::read_to_string(merged.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "a header and 3 points: {csv}");
}

/// A scenario name with Markdown and HTML markup lands in summary.md and `--format markdown`
/// as literal text (escaped), never as a link, an image, emphasis or a tag.
#[test]
fn markdown_shows_a_scenario_name_as_text() {
    let s = Scratch::new("markdown-name");
    s.write(
        "ok.toml",
        &VALID.replace(
            "name = \"shop\"",
            r#"name = "*bold* [link](http://x) <img src=x> a|b `code` _it_ #""#,
        ),
    );
    let out = s.capsim(&["run", "ok.toml", "--format", "markdown", "--out", "report"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let heading = r"## capsim: \*bold\* \[link\](http://x) \<img src=x\> a\|b \`code\` \_it\_ \#";
    assert_eq!(out.stdout.lines().next(), Some(heading));
    let md = std::fs::read_to_string(s.dir.join("report/summary.md")).unwrap();
    assert_eq!(md.lines().next(), Some(heading));
}

/// A region outage takes every replica in the region down at once: the terminal's event
/// lines say so once, with the count per service (region-failover.toml: api has 3 replicas
/// in eu, db 2), instead of a line per replica; the JSON keeps each crash.
#[test]
fn a_region_outage_is_one_event_line_with_its_count_of_crashed_replicas() {
    let s = Scratch::new("outage-lines");
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/teaching/region-failover.toml"
    );
    let run = s.capsim(&["run", scenario]);
    assert!(
        run.stdout
            .contains("        20m  fault region_outage eu begins\n        20m  5 replicas crashed (region_outage eu): api 3, db 2\n"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("replica 4 crashed"), "{}", run.stdout);
    let json = s.capsim(&["run", scenario, "--format", "json"]).json();
    let crashes = json["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "crash")
        .count();
    assert_eq!(crashes, 5, "the JSON keeps each crash");
}

/// A slow rate keeps its significant digits: 0.005 requests a second for 4 hours (about 72
/// requests; 66 expected in the measured 3h 50m, Poisson sd 8, so between 0.003 and 0.007
/// a second by 3.5 sd; the seed is fixed, so the run is the same every time) prints with
/// three significant digits (0.00xxx req/s), not as 0.0.
#[test]
fn a_slow_throughput_is_printed_with_significant_digits() {
    let s = Scratch::new("slow-rate");
    s.write(
        "slow.toml",
        r#"[scenario]
name = "slow"
duration = "4h"
warmup = "10m"
[traffic]
rate = 0.005
[[service]]
name = "api"
service_time = { dist = "exponential", mean = "10ms" }
"#,
    );
    let run = s.capsim(&["run", "slow.toml"]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("throughput"))
        .expect("a throughput line");
    assert!(
        line.starts_with("throughput   0.00") && !line.contains(" 0.0 req/s"),
        "{line}"
    );
    let digits = line["throughput   ".len()..].split(' ').next().unwrap();
    let rate: f64 = digits.parse().unwrap();
    assert!(rate > 0.003 && rate < 0.007, "{line}");
    assert_eq!(digits.trim_start_matches(['0', '.']).len(), 3, "{line}");
}
