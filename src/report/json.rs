//! The JSON summary of docs/contract.md: durations in milliseconds, ratios 0..1, keys in the
//! order the contract shows them.

use crate::metrics::recorder::Counts;
use crate::metrics::run::OverloadReason;
use crate::metrics::summary::{Ci95, Latency, Outcome, OverloadSummary, Summary};
use crate::metrics::theory::ServiceTheory;
use serde_json::{json, Map, Value};

/// The whole outcome as one JSON document (pretty-printed, with a final newline).
pub fn render(outcome: &Outcome) -> String {
    let value = match outcome {
        Outcome::Completed(s) => summary(s),
        Outcome::Overloaded(o) => overload(o),
    };
    let mut text = serde_json::to_string_pretty(&value).expect("a JSON value always serializes");
    text.push('\n');
    text
}

/// A request's endings: every arrival ends as exactly one of succeeded, failed, rejected or
/// timed out; `degraded` is a part of `succeeded`.
fn counts(c: &Counts) -> Value {
    json!({
        "arrived": c.arrived, "succeeded": c.succeeded, "failed": c.failed,
        "rejected": c.rejected, "timed_out": c.timed_out, "degraded": c.degraded,
    })
}

/// A service's visits end the same ways, or `cancelled` (their caller gave up on them).
fn visit_counts(c: &Counts) -> Value {
    let mut value = counts(c);
    value["cancelled"] = json!(c.cancelled);
    value
}

fn verdicts(slo: &[crate::metrics::summary::Verdict]) -> Value {
    slo.iter()
        .map(|v| {
            let mut m = Map::new();
            m.insert("objective".into(), json!(v.measure.key()));
            m.insert("target".into(), json!(v.target));
            m.insert("observed".into(), json!(v.observed));
            m.insert("met".into(), json!(v.met));
            if let Some(ci) = v.ci95 {
                m.insert("ci95".into(), json!(ci));
            }
            Value::Object(m)
        })
        .collect()
}

fn latency(l: &Latency) -> Value {
    json!({
        "mean": l.mean, "p50": l.p50, "p90": l.p90, "p95": l.p95,
        "p99": l.p99, "p999": l.p999, "max": l.max,
    })
}

/// `[[q, ms], ...]`.
fn cdf(points: &[(f64, f64)]) -> Value {
    points.iter().map(|&(q, ms)| json!([q, ms])).collect()
}

fn theory(t: &ServiceTheory) -> Value {
    let mut m = Map::new();
    m.insert("arrival_rate_rps".into(), json!(t.arrival_rate_per_s));
    m.insert("mean_hold_ms".into(), json!(t.mean_hold_ns / 1e6));
    m.insert("offered_load".into(), json!(t.offered_load));
    m.insert("model".into(), json!(t.queueing_model));
    m.insert("utilization".into(), json!(t.utilization));
    m.insert(
        "queue_wait_mean_ms".into(),
        json!(t.mean_queue_wait_ns.map(|ns| ns / 1e6)),
    );
    m.insert("blocking_probability".into(), json!(t.blocking_probability));
    if t.hit_ratio.is_some() {
        m.insert("hit_ratio".into(), json!(t.hit_ratio));
    }
    m.insert("note".into(), json!(t.note));
    Value::Object(m)
}

fn ci95(c: &Ci95) -> Value {
    let l = &c.latency;
    json!({
        "latency_ms": {
            "mean": l.mean, "p50": l.p50, "p90": l.p90, "p95": l.p95,
            "p99": l.p99, "p999": l.p999, "max": l.max,
        },
        "availability": c.availability,
        "throughput_rps": c.throughput_rps,
    })
}

fn summary(s: &Summary) -> Value {
    let mut services = Map::new();
    for svc in &s.services {
        let p = &svc.paths;
        let mut value = json!({
            "requests": visit_counts(&svc.requests),
            "latency_ms": {
                "mean": svc.latency.mean, "p50": svc.latency.p50,
                "p95": svc.latency.p95, "p99": svc.latency.p99,
            },
            "queue_wait_ms": { "mean": svc.queue_wait_mean_ms, "p99": svc.queue_wait_p99_ms },
            "utilization": svc.utilization,
            "mean_replicas": svc.mean_replicas,
            "mean_queue_length": svc.mean_queue_length,
            "mean_in_system": svc.mean_in_system,
            "cost_per_hour_usd": svc.cost_per_hour_usd,
            "retry_amplification": p.retry_amplification,
            "retries": p.retries,
            "hedges": p.hedges,
            "short_circuited": p.short_circuited,
            "breaker_opened": p.breaker_opened,
            "wasted_work_s": p.wasted_work_s,
            "theory": theory(&svc.theory),
        });
        if let Some(hit_ratio) = p.hit_ratio {
            value["hit_ratio"] = json!(hit_ratio);
        }
        if let Some(size) = p.mean_batch_size {
            value["mean_batch_size"] = json!(size);
        }
        services.insert(svc.name.clone(), value);
    }
    let mut classes = Map::new();
    for c in &s.classes {
        classes.insert(
            c.name.clone(),
            json!({
                "requests": counts(&c.requests),
                "throughput_rps": c.throughput_rps,
                "availability": c.availability,
                "latency_ms": latency(&c.latency),
                "latency_cdf_ms": cdf(&c.latency_cdf),
                "slo": verdicts(&c.slo),
                "slo_met": c.slo_met,
            }),
        );
    }
    let mut m = Map::new();
    m.insert("scenario".into(), json!(s.scenario));
    m.insert("seed".into(), json!(s.seed));
    m.insert("replications".into(), json!(s.replications));
    m.insert("duration_s".into(), json!(s.duration_s));
    m.insert("warmup_s".into(), json!(s.warmup_s));
    m.insert("requests".into(), counts(&s.requests));
    m.insert("throughput_rps".into(), json!(s.throughput_rps));
    m.insert("availability".into(), json!(s.availability));
    m.insert("latency_ms".into(), latency(&s.latency));
    m.insert("latency_cdf_ms".into(), cdf(&s.latency_cdf));
    m.insert(
        "cost".into(),
        json!({
            "total_usd": s.cost.total_usd, "per_hour_usd": s.cost.per_hour_usd,
            "per_million_requests_usd": s.cost.per_million_requests_usd,
        }),
    );
    m.insert("retry_amplification".into(), json!(s.retry_amplification));
    m.insert("services".into(), Value::Object(services));
    m.insert("classes".into(), Value::Object(classes));
    m.insert("slo".into(), verdicts(&s.slo));
    m.insert("slo_met".into(), json!(s.slo_met));
    if let Some(c) = &s.ci95 {
        m.insert("ci95".into(), ci95(c));
    }
    Value::Object(m)
}

fn overload(o: &OverloadSummary) -> Value {
    json!({
        "scenario": o.scenario,
        "seed": o.seed,
        "overloaded": {
            "service": o.service,
            "reason": match o.reason {
                OverloadReason::InFlight => "max_in_flight",
                OverloadReason::ClockLimit => "clock_limit",
            },
            "replication": o.replication,
            "at_s": o.at_s,
            "in_flight": o.in_flight,
            "max_in_flight": o.max_in_flight,
            "queued": o.queued,
            "arrival_rate_rps": o.theory.arrival_rate_per_s,
            "offered_load": o.theory.offered_load,
            "capacity_rps": o.capacity_rps(),
            "workers": o.workers,
            "mean_service_ms": o.mean_service_ms,
        },
        "slo_met": false,
    })
}
