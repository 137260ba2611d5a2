//! The teaching set and the seed designs say what they print: every `# expect:` marker in the
//! comments of `scenarios/teaching/*.toml` and `scenarios/*.toml` is checked against the JSON
//! summary the file gives today, and every file carries at least one; the output pasted in
//! docs/tutorial.md and the README is what their commands print.
//!
//! A marker is one comment line:
//!
//! ```text
//! # expect: PATH OP VALUE [(TOLERANCE)]
//! # expect ARGS: PATH OP VALUE [(TOLERANCE)]
//! ```
//!
//! ARGS (optional, no colon) are the command and its options after the file: the first word
//! may be `sweep`, `plan` or `compare` (default `run`), the rest are passed as they are, split at spaces,
//! after `--format json` (so `--set service.web.replicas=4`; a `--set` value must hold no
//! space). PATH walks the JSON summary: object keys and array indices separated by dots; a key
//! that itself holds dots (`traffic.rate` in a sweep row) is matched whole. OP is `~` (within
//! TOLERANCE, `(2%)` relative or `(+-0.5)` absolute, required), `==` (a number, `true`,
//! `false`, `null` or a string in quotes), `<=`, `>=`, `<` or `>`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// One check: the figure at `path` against `op value`.
#[derive(Debug, Clone, PartialEq)]
struct Marker {
    line: usize,
    args: Vec<String>,
    path: String,
    check: Check,
}

#[derive(Debug, Clone, PartialEq)]
enum Check {
    Near { value: f64, tolerance: Tolerance },
    Equal(Value),
    Compare { op: &'static str, value: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tolerance {
    Relative(f64),
    Absolute(f64),
}

/// The markers of a scenario's text, or the first malformed one as `line: why`.
fn markers(text: &str) -> Result<Vec<Marker>, String> {
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("# expect") else {
            continue;
        };
        // `# expected ...` is prose; `# expect:` and `# expect ARGS:` are markers.
        if !(rest.starts_with(':') || rest.starts_with(' ')) {
            continue;
        }
        let line = index + 1;
        let bad = |why: &str| Err(format!("line {line}: {why}"));
        let Some((args, check)) = rest.split_once(':') else {
            return bad("no `:` after `# expect`");
        };
        let args: Vec<String> = args.split_whitespace().map(str::to_string).collect();
        let mut words = check.split_whitespace();
        let (Some(path), Some(op)) = (words.next(), words.next()) else {
            return bad("expected `PATH OP VALUE`");
        };
        let value_and_tolerance: Vec<&str> = words.collect();
        let parsed = parse_check(op, &value_and_tolerance);
        match parsed {
            Ok(check) => found.push(Marker {
                line,
                args,
                path: path.to_string(),
                check,
            }),
            Err(why) => return bad(&why),
        }
    }
    Ok(found)
}

fn parse_check(op: &str, words: &[&str]) -> Result<Check, String> {
    let number = |word: &str| {
        word.parse::<f64>()
            .map_err(|_| format!("`{word}` is not a number"))
    };
    match (op, words) {
        ("~", [value, tolerance]) => {
            let inner = tolerance
                .strip_prefix('(')
                .and_then(|t| t.strip_suffix(')'))
                .ok_or("the tolerance must be in parentheses: (2%) or (+-0.5)")?;
            let tolerance = if let Some(percent) = inner.strip_suffix('%') {
                Tolerance::Relative(number(percent)? / 100.0)
            } else if let Some(absolute) = inner.strip_prefix("+-") {
                Tolerance::Absolute(number(absolute)?)
            } else {
                return Err(format!("tolerance `{inner}` is neither N% nor +-N"));
            };
            Ok(Check::Near {
                value: number(value)?,
                tolerance,
            })
        }
        ("~", _) => Err("`~` takes a value and a tolerance: ~ 41.3 (2%)".into()),
        ("==", [value]) => {
            let value = match *value {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                text if text.starts_with('"') => serde_json::from_str(text)
                    .map_err(|e| format!("`{text}` is not a quoted string: {e}"))?,
                text => serde_json::json!(number(text)?),
            };
            Ok(Check::Equal(value))
        }
        ("<=" | ">=" | "<" | ">", [value]) => {
            let op = match op {
                "<=" => "<=",
                ">=" => ">=",
                "<" => "<",
                _ => ">",
            };
            Ok(Check::Compare {
                op,
                value: number(value)?,
            })
        }
        _ => Err(format!(
            "expected `~ VALUE (TOL)`, `== VALUE` or a comparison, not `{op} {}`",
            words.join(" ")
        )),
    }
}

/// The value at a dotted path; a key holding dots is matched whole (the longest first).
fn lookup<'a>(json: &'a Value, path: &str) -> Option<&'a Value> {
    let parts: Vec<&str> = path.split('.').collect();
    let mut here = json;
    let mut at = 0;
    while at < parts.len() {
        match here {
            Value::Array(items) => {
                here = items.get(parts[at].parse::<usize>().ok()?)?;
                at += 1;
            }
            Value::Object(map) => {
                let (end, value) = (at + 1..=parts.len())
                    .rev()
                    .find_map(|end| map.get(&parts[at..end].join(".")).map(|v| (end, v)))?;
                here = value;
                at = end;
            }
            _ => return None,
        }
    }
    Some(here)
}

/// Why `figure` fails `check`, or `None` when it holds.
fn judge(figure: &Value, check: &Check) -> Option<String> {
    match check {
        Check::Equal(expected) => {
            let same = match (figure.as_f64(), expected.as_f64()) {
                (Some(a), Some(b)) => a == b,
                _ => figure == expected,
            };
            (!same).then(|| format!("is {figure}, not {expected}"))
        }
        Check::Near { value, tolerance } => {
            let Some(x) = figure.as_f64() else {
                return Some(format!("is {figure}, not a number"));
            };
            let allowed = match tolerance {
                Tolerance::Relative(r) => r * value.abs(),
                Tolerance::Absolute(a) => *a,
            };
            ((x - value).abs() > allowed).then(|| format!("is {x}, not {value} +- {allowed}"))
        }
        Check::Compare { op, value } => {
            let Some(x) = figure.as_f64() else {
                return Some(format!("is {figure}, not a number"));
            };
            let holds = match *op {
                "<=" => x <= *value,
                ">=" => x >= *value,
                "<" => x < *value,
                _ => x > *value,
            };
            (!holds).then(|| format!("is {x}, not {op} {value}"))
        }
    }
}

/// The files whose markers are checked: the teaching set (`scenarios/teaching/`) and the
/// seed designs (`scenarios/*.toml`).
fn teaching_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = ["scenarios/teaching", "scenarios"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).expect("read a scenario directory"))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// Runs `capsim COMMAND FILE --format json OPTIONS` from the repository root, as the comments'
/// commands are written; exit 0 or 1 (an SLO missed is a lesson, not a failure).
fn summary(file: &Path, args: &[String]) -> Value {
    let (command, options) = match args.first().map(String::as_str) {
        Some(c @ ("run" | "sweep" | "plan" | "compare")) => (c, &args[1..]),
        _ => ("run", args),
    };
    let out = Command::new(env!("CARGO_BIN_EXE_capsim"))
        .arg(command)
        .arg(file)
        .args(["--format", "json"])
        .args(options)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("start capsim");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "capsim {command} {} {options:?} exited {:?}: {}",
        file.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// The marked figures of one teaching file that are not what capsim prints, each as
/// `file:line: path why`.
fn wrong_figures(file: &Path) -> Vec<String> {
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    let text = std::fs::read_to_string(file).expect("read a teaching scenario");
    let found = markers(&text).unwrap_or_else(|why| panic!("{name}: {why}"));
    if found.is_empty() {
        return vec![format!(
            "{name} has no `# expect:` marker: quote at least one figure it prints"
        )];
    }
    let mut by_command: BTreeMap<Vec<String>, Vec<Marker>> = BTreeMap::new();
    for marker in found {
        by_command
            .entry(marker.args.clone())
            .or_default()
            .push(marker);
    }
    let mut wrong = Vec::new();
    for (args, checks) in by_command {
        let json = summary(file, &args);
        for marker in checks {
            let why = match lookup(&json, &marker.path) {
                None => Some("is not in the JSON summary".to_string()),
                Some(figure) => judge(figure, &marker.check),
            };
            if let Some(why) = why {
                wrong.push(format!("{name}:{}: {} {why}", marker.line, marker.path));
            }
        }
    }
    wrong
}

/// Every teaching file and seed design carries at least one marker, and every figure its
/// comments mark is what capsim prints for it today (each distinct command run once, at the file's own
/// settings; the files side by side, since many of their runs use one core).
#[test]
fn every_teaching_file_prints_the_figures_its_comments_quote() {
    let files = teaching_files();
    let wrong: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = files
            .iter()
            .map(|file| scope.spawn(|| wrong_figures(file)))
            .collect();
        runs.into_iter()
            .flat_map(|run| run.join().expect("a file's checks ran"))
            .collect()
    });
    assert!(
        wrong.is_empty(),
        "teaching comments no longer match what capsim prints:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn markers_are_read_strictly_so_a_typo_is_not_a_silent_pass() {
    let text = "# expect: latency_ms.p99 ~ 41.3 (5%)\n\
                # expect --set traffic.rate=9: availability >= 0.999\n\
                # expect plan: best.settings.service.agents.concurrency == 14\n\
                # expected to be unrelated prose is not a marker: it is `# expected`\n";
    let found = markers(text).unwrap();
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(
        found[0].check,
        Check::Near {
            value: 41.3,
            tolerance: Tolerance::Relative(0.05)
        }
    );
    assert_eq!(found[1].args, ["--set", "traffic.rate=9"]);
    assert_eq!(found[2].args, ["plan"]);
    for bad in [
        "# expect: latency_ms.p99 ~ 41.3",
        "# expect: latency_ms.p99 ~ 41.3 5%",
        "# expect: latency_ms.p99 = 41.3",
        "# expect latency_ms.p99 >= 1",
        "# expect: slo_met",
    ] {
        assert!(markers(bad).is_err(), "{bad} should be refused");
    }
}

#[test]
fn a_path_walks_arrays_and_keys_that_hold_dots() {
    let json = serde_json::json!({
        "rows": [{ "traffic.rate": 500, "p99_ms": 9.2 }],
        "best": { "settings": { "service.agents.concurrency": 14 } }
    });
    assert_eq!(
        lookup(&json, "rows.0.traffic.rate"),
        Some(&serde_json::json!(500))
    );
    assert_eq!(
        lookup(&json, "best.settings.service.agents.concurrency"),
        Some(&serde_json::json!(14))
    );
    assert_eq!(lookup(&json, "rows.1.p99_ms"), None);
    let near = Check::Near {
        value: 9.0,
        tolerance: Tolerance::Relative(0.05),
    };
    assert_eq!(judge(&serde_json::json!(9.2), &near), None);
    assert!(judge(&serde_json::json!(9.6), &near).is_some());
}

/// docs/tutorial.md and the README paste what their commands print: each ```console block
/// opens with `$ capsim ARGS` (no quotes in ARGS) and holds that command's standard output,
/// byte for byte, or its first lines when the block's last line is `[...]`.
#[test]
fn tutorial_and_readme_show_what_their_commands_print() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (doc, at_least) in [("docs/tutorial.md", 3), ("README.md", 2)] {
        let text = std::fs::read_to_string(root.join(doc)).expect("read it");
        let blocks: Vec<&str> = text
            .split("```console\n")
            .skip(1)
            .map(|block| block.split("```").next().expect("a closed block"))
            .collect();
        assert!(
            blocks.len() >= at_least,
            "{doc} should show its commands' output"
        );
        for block in blocks {
            let (command, shown) = block.split_once('\n').expect("a command line");
            let args: Vec<&str> = command
                .strip_prefix("$ capsim ")
                .unwrap_or_else(|| panic!("a console block opens with `$ capsim`: {command}"))
                .split_whitespace()
                .collect();
            let out = Command::new(env!("CARGO_BIN_EXE_capsim"))
                .args(&args)
                .current_dir(root)
                .output()
                .expect("start capsim");
            let printed = String::from_utf8(out.stdout).expect("UTF-8");
            let shown = shown.trim_end();
            let (shown, printed) = match shown.strip_suffix("[...]") {
                // The block's lines are the output's first lines.
                Some(head) => {
                    let head = head.trim_end();
                    let lines = head.lines().count();
                    (
                        head,
                        printed.lines().take(lines).collect::<Vec<_>>().join("\n"),
                    )
                }
                None => (shown, printed.trim_end().to_string()),
            };
            assert_eq!(shown, printed, "{doc}'s output of `{command}` is stale");
        }
    }
}
