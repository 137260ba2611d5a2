//! `capsim schema`: the JSON Schema of the scenario format, checked with a JSON Schema
//! validator (boon, Draft 2020-12). Every shipped scenario validates; an unknown key, a value
//! out of range, a wrong type and a malformed duration are refused; the duration pattern
//! takes what the reader's duration parser takes and refuses what it refuses.

use std::path::{Path, PathBuf};

use crate::support::Scratch;
use capsim::scenario::schema::json_schema;

const URL: &str = "file:///capsim.schema.json";

/// The schema, compiled.
fn validator() -> (boon::Schemas, boon::SchemaIndex) {
    let schema: serde_json::Value =
        serde_json::from_str(&json_schema()).expect("the schema is JSON");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(URL, schema).expect("add the schema");
    let index = compiler
        .compile(URL, &mut schemas)
        .unwrap_or_else(|e| panic!("the schema does not compile: {e:#}"));
    (schemas, index)
}

/// A TOML document as the JSON an editor validates.
fn json_of(toml_text: &str) -> serde_json::Value {
    let table: toml::Table = toml::from_str(toml_text).expect("TOML");
    serde_json::to_value(table).expect("TOML as JSON")
}

/// The validator's verdict: `Err` with its message when the document is refused.
fn check(document: &serde_json::Value) -> Result<(), String> {
    let (schemas, index) = validator();
    schemas
        .validate(document, index)
        .map_err(|e| format!("{e:#}"))
}

fn scenario_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read scenarios/") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            scenario_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "toml") {
            found.push(path);
        }
    }
}

const SMALL: &str = r#"
[scenario]
duration = "1m"

[traffic]
rate = 10

[[service]]
name = "api"
service_time = { dist = "exponential", mean = "5ms" }
"#;

#[test]
fn every_shipped_scenario_validates_against_the_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files = Vec::new();
    scenario_files(&root, &mut files);
    files.sort();
    assert!(files.len() > 10, "the scenarios: {files:?}");
    let mut wrong = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read a scenario");
        if let Err(e) = check(&json_of(&text)) {
            wrong.push(format!("{}: {e}", file.display()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn the_schema_refuses_an_unknown_key_a_value_out_of_range_and_a_wrong_type() {
    assert_eq!(check(&json_of(SMALL)), Ok(()));
    let refused = [
        // An unknown key in a service, at the top level, and in a nested table.
        ("replicaz = 3", "service"),
        ("[servics]\nx = 1", "top"),
        (
            "batch = { max_size = 4, timeout = \"1ms\", per_itme = \"1ms\" }",
            "service",
        ),
        // Out of range: error_rate is a probability, replicas at least 1.
        ("error_rate = 1.5", "service"),
        ("replicas = 0", "service"),
        // The wrong type, an unknown choice, a duration without a unit, a bad distribution.
        ("replicas = 2.5", "service"),
        ("kind = \"cash\"", "service"),
        ("queue_timeout = \"100\"", "service"),
        ("queue_timeout = 100", "service"),
        (
            "service_time = { dist = \"gamma\", mean = \"5ms\" }",
            "replace",
        ),
        (
            "service_time = { dist = \"exponential\", mean = \"5ms\", cv = 1 }",
            "replace",
        ),
        ("service_time = \"5ms\"", "replace"),
    ];
    for (line, place) in refused {
        let text = match place {
            "top" => format!("{SMALL}\n{line}\n"),
            "replace" => SMALL.replace(
                "service_time = { dist = \"exponential\", mean = \"5ms\" }",
                line,
            ),
            _ => format!("{SMALL}{line}\n"),
        };
        assert!(
            check(&json_of(&text)).is_err(),
            "the schema accepts `{line}`"
        );
        // The reader refuses it too.
        assert!(
            capsim::scenario::load(&text, "x.toml", &[]).is_err(),
            "the reader accepts `{line}`"
        );
    }
}

/// The schema's duration pattern and `parse_duration_ns` agree on every sample.
#[test]
fn the_duration_pattern_takes_what_the_duration_parser_takes() {
    let samples = [
        "1ms",
        "1.5s",
        "0s",
        ".5h",
        "5.s",
        "2d",
        "250µs",
        "250us",
        "7ns",
        " 3 m ",
        "1e3ms",
        "+4us",
        "50",
        "ms",
        "-5ms",
        "5 parsecs",
        "5y",
        "1E3ms",
        "",
        "s5",
        "1.2.3s",
        "e5ms",
    ];
    for text in samples {
        let parsed = capsim::scenario::duration::parse_duration_ns(text).is_ok();
        let document = serde_json::json!({ "scenario": { "duration": text } });
        let valid = check(&document).is_ok();
        assert_eq!(
            valid, parsed,
            "{text:?}: the schema says {valid}, the parser {parsed}"
        );
    }
}

#[test]
fn capsim_schema_prints_the_schema_and_exits_0() {
    let scratch = Scratch::new("schema");
    let out = scratch.capsim(&["schema"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, json_schema());
    let value: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(
        value["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    // The same bytes every time (no map in hash order).
    assert_eq!(scratch.capsim(&["schema"]).stdout, out.stdout);
    // `--markdown FILE` prints the reference as it is (its tables are the key table's).
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario-reference.md");
    let reference_arg = reference.to_str().expect("a UTF-8 path");
    let out = scratch.capsim(&["schema", "--markdown", reference_arg]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        out.stdout,
        std::fs::read_to_string(&reference).expect("read the reference")
    );
}
