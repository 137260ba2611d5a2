//! The JSON summary of docs/contract.md: durations in milliseconds, ratios 0..1, keys in the
//! order the contract shows them.

use crate::metrics::recorder::Counts;
use crate::metrics::run::OverloadReason;
use crate::metrics::summary::{Ci95, Latency, Outcome, OverloadSummary, Summary};
use crate::metrics::theory::ServiceTheory;
use serde_json::{json, Map, Value};

/// The whole outcome as one JSON document (pretty-printed, with a final newline).
pub fn render(outcome: &Outcome) -> String {
    render_with(outcome, false)
}

/// [`render`], with the time series under `timeseries` when `with_series` (what
/// `summary.json` carries; standard output leaves the rows out).
pub fn render_with(outcome: &Outcome, with_series: bool) -> String {
    let value = match outcome {
        Outcome::Completed(s) => {
            let mut v = summary(s);
            if with_series {
                v.as_object_mut()
                    .expect("a summary is an object")
                    .insert("timeseries".into(), timeseries(s));
            }
            v
        }
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
            if let Some(confidence) = v.confidence {
                m.insert("confidence".into(), json!(confidence.key()));
            }
            if v.thin {
                m.insert("thin".into(), json!(true));
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
    if t.batch_size.is_some() {
        m.insert("batch_size".into(), json!(t.batch_size));
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
        "thin": c.thin.iter().map(|m| m.key()).collect::<Vec<_>>(),
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
            "peak_replicas": svc.peak_replicas,
            "retry_amplification": p.retry_amplification,
            "retries": p.retries,
            "hedges": p.hedges,
            "short_circuited": p.short_circuited,
            "breaker_opened": p.breaker_opened,
            "wasted_work_s": p.wasted_work_s,
            "theory": theory(&svc.theory),
        });
        if let Some(ci) = &svc.ci95 {
            value["ci95"] = json!({
                "latency_ms": {
                    "mean": ci.latency_mean, "p50": ci.latency_p50,
                    "p95": ci.latency_p95, "p99": ci.latency_p99,
                },
                "queue_wait_ms": { "mean": ci.queue_wait_mean, "p99": ci.queue_wait_p99 },
                "utilization": ci.utilization,
            });
        }
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
            "per_month_usd": s.cost.per_month_usd,
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
    m.insert("events".into(), events(s));
    if s.events.dropped > 0 {
        m.insert("events_not_kept".into(), json!(s.events.dropped));
    }
    if let Some(b) = &s.error_budget {
        let alerts: Vec<Value> = b
            .alerts
            .iter()
            .map(|a| {
                json!({
                    "severity": a.tier.severity, "long_window_s": a.tier.long_s,
                    "short_window_s": a.tier.short_s, "burn_rate": a.tier.threshold,
                    "first_at_s": a.first_at_s,
                })
            })
            .collect();
        m.insert(
            "error_budget".into(),
            json!({
                "slo": b.slo, "allowed_failures": b.allowed_failures, "failures": b.failures,
                "consumed": b.consumed, "max_burn_rate": b.max_burn_rate, "alerts": alerts,
            }),
        );
    }
    if !s.recoveries.is_empty() {
        let r: Vec<Value> = s
            .recoveries
            .iter()
            .map(|r| {
                json!({
                    "fault": r.fault, "at_s": r.at_s, "breached": r.breached,
                    "recovered_at_s": r.recovered_at_s, "time_to_recover_s": r.time_to_recover_s,
                })
            })
            .collect();
        m.insert("recovery".into(), Value::Array(r));
    }
    if !s.rollouts.is_empty() {
        let r: Vec<Value> = s
            .rollouts
            .iter()
            .map(|r| {
                let outcomes: serde_json::Map<String, Value> = r
                    .outcomes
                    .iter()
                    .map(|(k, n)| ((*k).to_string(), json!(n)))
                    .collect();
                json!({
                    "service": r.service, "strategy": r.strategy, "outcomes": outcomes,
                    "decided_at_s": r.decided_at_s, "rollout_s": r.rollout_s,
                })
            })
            .collect();
        m.insert("deployments".into(), Value::Array(r));
    }
    Value::Object(m)
}

/// Replication 0's happenings: time, kind, a sentence, and the figures behind it.
fn events(s: &Summary) -> Value {
    use crate::metrics::run::Happening;
    let list: Vec<Value> = s
        .events
        .entries
        .iter()
        .map(|h| {
            let d = super::events::describe(s, &h.what);
            let mut m = Map::new();
            m.insert("at_s".into(), json!(h.at_ns as f64 / 1e9));
            m.insert("kind".into(), json!(d.kind));
            m.insert("text".into(), json!(d.text));
            let name = |id: usize| json!(s.services.get(id).map(|x| x.name.clone()));
            match h.what {
                Happening::ScaleUp {
                    service,
                    from,
                    to,
                    observed,
                }
                | Happening::ScaleDown {
                    service,
                    from,
                    to,
                    observed,
                } => {
                    m.insert("service".into(), name(service));
                    m.insert("from".into(), json!(from));
                    m.insert("to".into(), json!(to));
                    m.insert("observed".into(), json!(observed));
                }
                Happening::Rollout {
                    service,
                    kind,
                    value,
                } => {
                    use crate::metrics::run::RolloutKind as K;
                    m.insert("service".into(), name(service));
                    match kind {
                        K::Step => {
                            m.insert("weight".into(), json!(value));
                        }
                        K::AnalysisPass | K::AnalysisFail => {
                            m.insert("error_rate".into(), json!(value));
                        }
                        K::AnalysisNoData => {
                            m.insert("requests".into(), json!(value));
                        }
                        _ => {}
                    }
                }
                Happening::ReplicaReady {
                    service,
                    replica,
                    ready,
                } => {
                    m.insert("service".into(), name(service));
                    m.insert("replica".into(), json!(replica));
                    m.insert("ready".into(), json!(ready));
                }
                Happening::Crash {
                    service, replica, ..
                }
                | Happening::SpotNotice {
                    service, replica, ..
                }
                | Happening::Ejected { service, replica }
                | Happening::Restored { service, replica } => {
                    m.insert("service".into(), name(service));
                    m.insert("replica".into(), json!(replica));
                }
                Happening::BacklogSent { requests, .. } => {
                    m.insert("requests".into(), json!(requests));
                }
                _ => {}
            }
            Value::Object(m)
        })
        .collect();
    Value::Array(list)
}

/// The time series as a list of rows with the columns of `timeseries.csv`.
fn timeseries(s: &Summary) -> Value {
    let (header, rows) = super::csv::table(s);
    Value::Array(
        rows.into_iter()
            .map(|row| {
                Value::Object(
                    header
                        .iter()
                        .zip(row)
                        .map(|(k, v)| (k.clone(), v))
                        .collect(),
                )
            })
            .collect(),
    )
}

fn overload(o: &OverloadSummary) -> Value {
    json!({
        "scenario": o.scenario,
        "seed": o.seed,
        "overloaded": {
            "service": o.service,
            "reason": match o.reason {
                OverloadReason::InFlight => "max_in_flight",
                OverloadReason::Visits => "max_visits_in_flight",
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
