//! `timeseries.csv`: one row per window, with SPEC.md's columns (and `window_s`,
//! `burn_rate` and `cost_usd` after them), then per service `NAME.replicas_ready`,
//! `NAME.replicas_starting`, `NAME.utilization`, `NAME.queue_length` (and
//! `NAME.replicas_billed`).

use crate::metrics::summary::Summary;
use serde_json::{json, Value};

/// The header and the rows of the time series, as JSON values (numbers, or null where a
/// figure does not exist).
pub fn table(s: &Summary) -> (Vec<String>, Vec<Vec<Value>>) {
    let mut header: Vec<String> = [
        "window_start_s",
        "arrived",
        "succeeded",
        "failed",
        "rejected",
        "timed_out",
        "degraded",
        "throughput_rps",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "availability",
        "cost_per_hour_usd",
        "window_s",
        "burn_rate",
    ]
    .map(String::from)
    .to_vec();
    for svc in &s.services {
        for column in [
            "replicas_ready",
            "replicas_starting",
            "utilization",
            "queue_length",
            "replicas_billed",
        ] {
            header.push(format!("{}.{column}", svc.name));
        }
    }
    for name in &s.deployed {
        for column in [
            "weight_new",
            "replicas_new_ready",
            "replicas_old_ready",
            "phase",
        ] {
            header.push(format!("{name}.{column}"));
        }
    }
    let rows = s
        .series
        .iter()
        .map(|r| {
            let mut row = vec![
                json!(r.start_s),
                json!(r.counts.arrived),
                json!(r.counts.succeeded),
                json!(r.counts.failed),
                json!(r.counts.rejected),
                json!(r.counts.timed_out),
                json!(r.counts.degraded),
                json!(r.throughput_rps),
                json!(r.p50_ms),
                json!(r.p95_ms),
                json!(r.p99_ms),
                json!(r.availability),
                json!(r.cost_per_hour_usd),
                json!(r.length_s),
                json!(r.burn_rate),
            ];
            for svc in &r.services {
                row.extend([
                    json!(svc.replicas_ready),
                    json!(svc.replicas_starting),
                    json!(svc.utilization),
                    json!(svc.queue_length),
                    json!(svc.replicas_billed),
                ]);
            }
            for r in &r.rollouts {
                row.extend([
                    json!(r.weight_new),
                    json!(r.replicas_new_ready),
                    json!(r.replicas_old_ready),
                    json!(r.phase),
                ]);
            }
            row
        })
        .collect();
    (header, rows)
}

/// The time series as CSV text (null figures as empty fields).
pub fn render(s: &Summary) -> String {
    let (header, rows) = table(s);
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(&header)
        .expect("writing to memory cannot fail");
    for row in rows {
        let fields: Vec<String> = row
            .iter()
            .map(|v| match v {
                Value::Null => String::new(),
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect();
        writer
            .write_record(&fields)
            .expect("writing to memory cannot fail");
    }
    String::from_utf8(writer.into_inner().expect("writing to memory cannot fail"))
        .expect("CSV of numbers and service names is UTF-8")
}
