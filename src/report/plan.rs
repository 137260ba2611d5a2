//! A plan's answer for people (the winner, the binding objective, the cost/latency
//! frontier) and as JSON (`{"best": {...}, "frontier": [...]}` of docs/contract.md, plus more keys).

use super::format::{measure, ms, percent, usd};
use super::sweep::value;
use super::text::aligned;
use crate::scenario::grid::label;
use crate::scenario::model::Measure;
use crate::sweep::grid::Grid;
use crate::sweep::plan::{refusals, Binding, Confidence, Design, PlanResult, Refusal};
use serde_json::{json, Map, Value};
use std::fmt::Write;

fn settings_json(grid: &Grid, d: &Design) -> Value {
    let mut m = Map::new();
    for (path, v) in grid.settings_at(&d.coordinates) {
        m.insert(path.to_string(), value(v));
    }
    Value::Object(m)
}

/// One design as JSON.
pub fn design_json(grid: &Grid, d: &Design) -> Value {
    let mut m = Map::new();
    m.insert("settings".into(), settings_json(grid, d));
    m.insert("cost_per_hour_usd".into(), json!(d.cost_per_hour_usd));
    let s = d.summary();
    let ci = s.and_then(|s| s.ci95.as_ref()).map(|c| c.latency.p99);
    m.insert("p99_ms".into(), json!(s.map(|s| s.latency.p99)));
    m.insert("p99_ms_low".into(), json!(ci.map(|c| c[0])));
    m.insert("p99_ms_high".into(), json!(ci.map(|c| c[1])));
    m.insert("availability".into(), json!(s.map(|s| s.availability)));
    m.insert("degraded_share".into(), json!(s.map(|s| s.degraded_share)));
    m.insert("hit_ratio".into(), json!(s.and_then(|s| s.cache_hit_ratio)));
    m.insert("replications".into(), json!(s.map(|s| s.replications)));
    m.insert("slo_met".into(), json!(d.feasible));
    m.insert("note".into(), json!(note(d)));
    Value::Object(m)
}

/// Why a design is not feasible, every reason in one line (`None` for a feasible design).
fn note(d: &Design) -> Option<String> {
    let reasons: Vec<String> = refusals(d).iter().map(reason).collect();
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// An objective as people name it: `p99`, or `class batch's p99`.
fn objective_name(class: Option<&str>, measure: Measure) -> String {
    match class {
        Some(class) => format!("class {class}'s {}", measure.key()),
        None => measure.key().to_string(),
    }
}

/// One reason, saying whether theory or a simulation gave it, and which service or
/// objective.
fn reason(r: &Refusal) -> String {
    match r {
        Refusal::Unstable {
            service,
            offered_load,
        } => format!(
            "theory: \"{service}\" is offered load {offered_load:.3} >= 1, its queue grows without limit (not simulated)"
        ),
        Refusal::Overloaded { service } => {
            format!("simulation: the run overloaded at \"{service}\"")
        }
        Refusal::NothingSucceeded => "simulation: no request succeeded".into(),
        Refusal::Objective { verdict: v, why, .. } => {
            let short = short_reason(r);
            let target = measure(v.measure, v.target);
            let observed = measure(v.measure, v.observed);
            let interval = v.ci95.map_or(String::new(), |[low, high]| {
                format!(" (95% CI {} .. {})", measure(v.measure, low), measure(v.measure, high))
            });
            let relation = match v.measure {
                Measure::Availability => "<",
                _ => ">",
            };
            match why {
                _ if v.thin => format!("simulation: {short} in a replication (lengthen the run)"),
                Confidence::TooClose => format!(
                    "simulation: {short} at the most replications: {observed}{interval} against {target}"
                ),
                _ => format!("simulation: {short}: {observed}{interval} {relation} {target}"),
            }
        }
    }
}

/// One reason in a few words, for a table's cell (the refused designs' list says more).
fn short_reason(r: &Refusal) -> String {
    match r {
        Refusal::Objective {
            class,
            verdict: v,
            why,
        } => {
            let name = objective_name(*class, v.measure);
            match why {
                _ if v.thin => format!("{name} unjudged: too few requests"),
                Confidence::TooClose => format!("{name} too close to call"),
                _ => format!("{name} missed"),
            }
        }
        other => reason(other),
    }
}

/// One refusal as JSON: what gave it (`theory` or `simulation`), the service or objective.
fn refusal_json(r: &Refusal) -> Value {
    let mut m = Map::new();
    let by = match r {
        Refusal::Unstable { .. } => "theory",
        _ => "simulation",
    };
    m.insert("by".into(), json!(by));
    match r {
        Refusal::Unstable {
            service,
            offered_load,
        } => {
            m.insert("service".into(), json!(service));
            m.insert("offered_load".into(), json!(offered_load));
        }
        Refusal::Overloaded { service } => {
            m.insert("service".into(), json!(service));
        }
        Refusal::NothingSucceeded => {}
        Refusal::Objective { class, verdict, .. } => {
            m.insert("class".into(), json!(class));
            m.insert("objective".into(), json!(verdict.measure.key()));
            m.insert("target".into(), json!(verdict.target));
            m.insert("observed".into(), json!(verdict.observed));
            m.insert("ci95".into(), json!(verdict.ci95));
        }
    }
    m.insert("reason".into(), json!(reason(r)));
    Value::Object(m)
}

/// Every design looked at that does not meet every SLO, with each reason.
fn refused_json(grid: &Grid, plan: &PlanResult) -> Value {
    plan.evaluated
        .iter()
        .filter(|d| !d.feasible)
        .map(|d| {
            json!({
                "settings": settings_json(grid, d),
                "reasons": refusals(d).iter().map(refusal_json).collect::<Vec<_>>(),
            })
        })
        .collect()
}

fn binding_json(b: &Binding) -> Value {
    json!({
        "class": b.class,
        "objective": b.verdict.measure.key(),
        "target": b.verdict.target,
        "observed": b.verdict.observed,
        "ci95": b.verdict.ci95,
        "margin": b.margin,
    })
}

/// The plan as one JSON document.
pub fn json(grid: &Grid, plan: &PlanResult) -> String {
    let value = json!({
        "best": plan.best.as_ref().map(|d| design_json(grid, d)),
        "frontier": plan.frontier.iter().map(|d| design_json(grid, d)).collect::<Vec<_>>(),
        "binding": plan.binding.as_ref().map(binding_json),
        "knobs": grid.axes.iter().map(|a| a.path.clone()).collect::<Vec<_>>(),
        "evaluated": plan.evaluated.len(),
        "simulated": plan.evaluated.iter().filter(|d| d.summary().is_some()).count(),
        "refused": refused_json(grid, plan),
    });
    let mut text = serde_json::to_string_pretty(&value).expect("a JSON value always serializes");
    text.push('\n');
    text
}

fn p99_text(d: &Design) -> String {
    match d.summary() {
        None => "-".into(),
        Some(s) => match s.ci95.as_ref().map(|c| c.latency.p99) {
            Some([lo, hi]) => format!("{} ({} .. {})", ms(s.latency.p99), ms(lo), ms(hi)),
            None => ms(s.latency.p99),
        },
    }
}

/// The plan for the terminal (`markdown` wraps the tables for a document).
pub fn text(name: &str, grid: &Grid, plan: &PlanResult, markdown: bool) -> String {
    let mut out = String::new();
    let simulated = plan
        .evaluated
        .iter()
        .filter(|d| d.summary().is_some())
        .count();
    let heading = if markdown { "## " } else { "" };
    let _ = writeln!(
        out,
        "{heading}capsim plan: {name}  ({} designs looked at, {simulated} simulated, of {} on the grid)\n",
        plan.evaluated.len(),
        grid.len()
    );
    match &plan.best {
        None => out.push_str("no design on the grid meets every SLO with confidence\n"),
        Some(best) => {
            out.push_str("cheapest design that meets every SLO with confidence:\n");
            let settings = grid.settings_at(&best.coordinates);
            let width = settings.iter().map(|(p, _)| p.len()).max().unwrap_or(0);
            let block: String = settings
                .iter()
                .map(|(path, v)| format!("  {path:<width$} = {}\n", label(v)))
                .collect();
            if markdown {
                let _ = write!(out, "\n```text\n{block}```\n\n");
            } else {
                out.push_str(&block);
            }
            let (availability, replications) = best.summary().map_or(("-".into(), 0), |s| {
                (percent(s.availability), s.replications)
            });
            let _ = writeln!(
                out,
                "  cost {}/h, p99 {}, availability {}, {} replications",
                usd(best.cost_per_hour_usd),
                p99_text(best),
                availability,
                replications
            );
            if let Some(b) = &plan.binding {
                let v = &b.verdict;
                let (relation, end) = if v.measure.is_lower_bound() {
                    (">=", v.ci95.map_or(v.observed, |c| c[0]))
                } else {
                    ("<=", v.ci95.map_or(v.observed, |c| c[1]))
                };
                let name = objective_name(b.class.as_deref(), v.measure);
                let _ = writeln!(
                    out,
                    "binding SLO: {name} (interval end {} {relation} {}, {:.0}% of the room left)",
                    measure(v.measure, end),
                    measure(v.measure, v.target),
                    b.margin * 100.0
                );
            }
        }
    }
    out.push_str(
        "\ncost/latency frontier (simulated designs that no other beats on both cost and p99):\n",
    );
    let mut rows = vec![grid
        .axes
        .iter()
        .map(|a| a.path.clone())
        .chain(["cost/h", "p99 (95% CI)", "availability", "SLO"].map(String::from))
        .collect::<Vec<_>>()];
    for d in &plan.frontier {
        let mut row: Vec<String> = grid
            .settings_at(&d.coordinates)
            .iter()
            .map(|(_, v)| label(v))
            .collect();
        row.push(usd(d.cost_per_hour_usd));
        row.push(p99_text(d));
        row.push(d.summary().map_or("-".into(), |s| percent(s.availability)));
        row.push(if d.feasible {
            "PASS".into()
        } else {
            let reasons: Vec<String> = refusals(d).iter().map(short_reason).collect();
            format!("FAIL ({})", reasons.join(", "))
        });
        rows.push(row);
    }
    let table = aligned(&rows, "  ");
    if markdown {
        let _ = write!(out, "\n```text\n{table}```\n");
    } else {
        out.push_str(&table);
    }
    out.push_str(&refused_text(grid, plan, markdown));
    out
}

/// Refused designs the text lists before it only counts the rest (JSON lists them all).
const REFUSED_LISTED: usize = 20;

/// Every design looked at that does not meet every SLO, with why, in grid order.
fn refused_text(grid: &Grid, plan: &PlanResult, markdown: bool) -> String {
    let refused: Vec<&Design> = plan.evaluated.iter().filter(|d| !d.feasible).collect();
    if refused.is_empty() {
        return String::new();
    }
    let mut block = String::new();
    for d in refused.iter().take(REFUSED_LISTED) {
        let settings: Vec<String> = grid
            .settings_at(&d.coordinates)
            .iter()
            .map(|(path, v)| format!("{path} = {}", label(v)))
            .collect();
        let _ = writeln!(
            block,
            "  {}: {}",
            settings.join(", "),
            note(d).unwrap_or_default()
        );
    }
    if refused.len() > REFUSED_LISTED {
        let _ = writeln!(
            block,
            "  and {} more (--format json lists every one)",
            refused.len() - REFUSED_LISTED
        );
    }
    let heading = format!(
        "\nrefused designs ({} of {} looked at), and why:\n",
        refused.len(),
        plan.evaluated.len()
    );
    if markdown {
        format!("{heading}\n```text\n{block}```\n")
    } else {
        heading + &block
    }
}
