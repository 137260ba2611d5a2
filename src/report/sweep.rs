//! A sweep's results: one row per point, as a JSON object whose keys are the columns of
//! docs/contract.md in order, then a few more; the same row as a CSV record; and
//! the rows as a terminal table, Markdown or one JSON document.
//!
//! A row is built once, from the point's outcome, and every format is rendered from it, so a
//! row read back from `results.jsonl` renders to the same bytes as the row first written.

use super::format::{ms, percent, rate, usd};
use super::text::aligned;
use crate::metrics::summary::{nominal_cost_per_hour_usd, Outcome};
use crate::scenario::grid::label;
use crate::scenario::Model;
use serde_json::{json, Map, Value};
use std::fmt::Write;

/// One row: column name -> value, in column order.
pub type Row = Map<String, Value>;

/// The columns after the swept key paths: the contract's, then capsim's own (`point`, the grid
/// number; `replications`; `overloaded`, the service that could not keep up; `missed`, the
/// objectives missed; `degraded_share`, degraded of finished requests; `hit_ratio`, hits per
/// lookup over every cache, empty without one).
pub const FIGURES: [&str; 9] = [
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "p99_ms_low",
    "p99_ms_high",
    "availability",
    "throughput_rps",
    "cost_per_hour_usd",
    "slo_met",
];
pub const EXTRAS: [&str; 6] = [
    "point",
    "replications",
    "overloaded",
    "missed",
    "degraded_share",
    "hit_ratio",
];

/// Every column of a sweep over `paths`.
pub fn columns(paths: &[&str]) -> Vec<String> {
    paths
        .iter()
        .copied()
        .chain(FIGURES)
        .chain(EXTRAS)
        .map(String::from)
        .collect()
}

/// An axis value as a JSON value: numbers, booleans and strings as themselves, anything
/// else (a distribution table, a bundle) by its label.
pub fn value(v: &toml::Value) -> Value {
    match v {
        toml::Value::Integer(i) => json!(i),
        toml::Value::Float(f) if f.is_finite() => json!(f),
        toml::Value::Boolean(b) => json!(b),
        other => json!(label(other)),
    }
}

/// The row of point `index`, set to `settings`. Its cost is what the run billed, or, for a
/// point that stopped overloaded, the nominal cost of its configured replicas.
pub fn row(
    index: usize,
    settings: &[(&str, &toml::Value)],
    model: &Model,
    outcome: &Outcome,
) -> Row {
    let mut m = Map::new();
    for (path, v) in settings {
        m.insert(path.to_string(), value(v));
    }
    match outcome {
        Outcome::Completed(s) => {
            let ci = s.ci95.as_ref().map(|c| c.latency.p99);
            m.insert("p50_ms".into(), json!(s.latency.p50));
            m.insert("p95_ms".into(), json!(s.latency.p95));
            m.insert("p99_ms".into(), json!(s.latency.p99));
            m.insert("p99_ms_low".into(), json!(ci.map(|c| c[0])));
            m.insert("p99_ms_high".into(), json!(ci.map(|c| c[1])));
            m.insert("availability".into(), json!(s.availability));
            m.insert("throughput_rps".into(), json!(s.throughput_rps));
            m.insert("cost_per_hour_usd".into(), json!(s.cost.per_hour_usd));
            m.insert("slo_met".into(), json!(s.slo_met));
            m.insert("point".into(), json!(index));
            m.insert("replications".into(), json!(s.replications));
            m.insert("overloaded".into(), Value::Null);
            // The classes' objectives as CLASS.OBJECTIVE.
            let missed: Vec<String> = s
                .slo
                .iter()
                .filter(|v| !v.met)
                .map(|v| v.measure.key().to_string())
                .chain(s.classes.iter().flat_map(|c| {
                    c.slo
                        .iter()
                        .filter(|v| !v.met)
                        .map(move |v| format!("{}.{}", c.name, v.measure.key()))
                }))
                .collect();
            m.insert("missed".into(), json!(missed.join(" ")));
            m.insert("degraded_share".into(), json!(s.degraded_share));
            m.insert("hit_ratio".into(), json!(s.cache_hit_ratio));
        }
        Outcome::Overloaded(o) => {
            for key in &FIGURES[..7] {
                m.insert(key.to_string(), Value::Null);
            }
            let nominal = nominal_cost_per_hour_usd(model);
            m.insert("cost_per_hour_usd".into(), json!(nominal));
            m.insert("slo_met".into(), json!(false));
            m.insert("point".into(), json!(index));
            m.insert("replications".into(), Value::Null);
            m.insert("overloaded".into(), json!(o.service));
            m.insert("missed".into(), json!("overloaded"));
            m.insert("degraded_share".into(), Value::Null);
            m.insert("hit_ratio".into(), Value::Null);
        }
    }
    m
}

/// The row as one line of `results.jsonl` (with its newline).
pub fn jsonl_line(row: &Row) -> String {
    let mut line = serde_json::to_string(row).expect("a JSON object always serializes");
    line.push('\n');
    line
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// One CSV record (with its newline), quoted where needed.
pub fn csv_record(fields: impl IntoIterator<Item = String>) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(fields)
        .expect("writing CSV into memory cannot fail");
    String::from_utf8(writer.into_inner().expect("an in-memory writer flushes"))
        .expect("CSV of UTF-8 fields is UTF-8")
}

/// The CSV header line.
pub fn csv_header(columns: &[String]) -> String {
    csv_record(columns.iter().cloned())
}

/// A row as a CSV line: numbers as in the JSON, strings as they are, null as empty.
pub fn csv_line(row: &Row, columns: &[String]) -> String {
    csv_record(columns.iter().map(|c| cell(row.get(c))))
}

/// Whether a row met every SLO.
pub fn met(row: &Row) -> bool {
    row.get("slo_met").and_then(Value::as_bool) == Some(true)
}

fn number(row: &Row, key: &str) -> Option<f64> {
    row.get(key).and_then(Value::as_f64)
}

fn cells(row: &Row, paths: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = paths.iter().map(|p| cell(row.get(*p))).collect();
    let p99 = match (
        number(row, "p99_ms"),
        number(row, "p99_ms_low"),
        number(row, "p99_ms_high"),
    ) {
        (Some(p), Some(lo), Some(hi)) => format!("{} ({} .. {})", ms(p), ms(lo), ms(hi)),
        (Some(p), _, _) => ms(p),
        _ => "-".into(),
    };
    let or_dash = |key: &str, f: &dyn Fn(f64) -> String| number(row, key).map_or("-".into(), f);
    out.push(or_dash("p50_ms", &ms));
    out.push(p99);
    out.push(or_dash("availability", &percent));
    out.push(or_dash("throughput_rps", &rate));
    out.push(or_dash("cost_per_hour_usd", &usd));
    out.push(match row.get("overloaded") {
        Some(Value::String(service)) => format!("OVERLOADED ({service})"),
        _ if met(row) => "PASS".into(),
        _ => format!("FAIL ({})", cell(row.get("missed"))),
    });
    out
}

const HEADINGS: [&str; 6] = [
    "p50",
    "p99 (95% CI)",
    "availability",
    "req/s",
    "cost/h",
    "SLO",
];

/// The terminal table: one line per point, verdicts marked, and a closing count.
pub fn table(name: &str, paths: &[&str], rows: &[Row], total: usize) -> String {
    let mut lines = vec![paths
        .iter()
        .map(|p| p.to_string())
        .chain(HEADINGS.map(String::from))
        .collect::<Vec<_>>()];
    lines.extend(rows.iter().map(|r| cells(r, paths)));
    let mut out = format!(
        "capsim sweep: {name}  ({} of {total} points)\n\n",
        rows.len()
    );
    out.push_str(&aligned(&lines, ""));
    let _ = writeln!(out, "\n{}", verdict_line(rows));
    out
}

fn verdict_line(rows: &[Row]) -> String {
    let met = rows.iter().filter(|r| met(r)).count();
    match met {
        0 => "verdict      no point meets every SLO".to_string(),
        n => format!("verdict      {n} of {} points meet every SLO", rows.len()),
    }
}

/// The same as Markdown.
pub fn markdown(name: &str, paths: &[&str], rows: &[Row], total: usize) -> String {
    let mut out = format!(
        "## capsim sweep: {}\n\n{} of {total} points.\n\n",
        super::text::markdown_text(name),
        rows.len()
    );
    let headings: Vec<String> = paths
        .iter()
        .map(|p| format!("`{p}`"))
        .chain(HEADINGS.map(String::from))
        .collect();
    let _ = writeln!(out, "| {} |", headings.join(" | "));
    let _ = writeln!(out, "|{}", "---:|".repeat(headings.len()));
    for r in rows {
        let _ = writeln!(out, "| {} |", cells(r, paths).join(" | "));
    }
    let _ = writeln!(
        out,
        "\n{}",
        verdict_line(rows).trim_start_matches("verdict").trim()
    );
    out
}

/// Every row as one JSON document.
pub fn json(name: &str, rows: &[Row], total: usize) -> String {
    let value = json!({
        "scenario": name,
        "points": total,
        "done": rows.len(),
        "meeting_slo": rows.iter().filter(|r| met(r)).count(),
        "rows": rows,
    });
    let mut text = serde_json::to_string_pretty(&value).expect("a JSON value always serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_quote_what_needs_it_and_leave_nulls_empty() {
        let columns: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let mut row = Row::new();
        row.insert("a".into(), json!(1.5));
        row.insert("b".into(), json!("x,y"));
        row.insert("c".into(), Value::Null);
        row.insert("d".into(), json!(true));
        assert_eq!(csv_line(&row, &columns), "1.5,\"x,y\",,true\n");
        assert_eq!(csv_header(&columns), "a,b,c,d\n");
    }
}
