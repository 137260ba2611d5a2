//! `capsim compare`'s output: deployment strategies side by side, as JSON (the contract's
//! shape), a terminal table or Markdown, each rendered from one `metrics::compare::Comparison`.
//!
//! JSON: `{"baseline", "strategies": [...]}`, one object per strategy in the order compared,
//! its pooled figures, then `vs_baseline` (each figure's paired difference `{diff, low,
//! high}`; left out of the baseline's own row) and, for a strategy that ran an A/B test,
//! `ab`. Counts and their differences are whole numbers; the interval bounds of a count's
//! difference need not be.

use super::format::{change, duration, group, ms, p_value, replicas, signed, usd};
use super::text::{aligned, markdown_text};
use crate::metrics::compare::{AbSummary, Comparison, Figure, Paired, Row};
use serde_json::{json, Map, Value};
use std::fmt::Write;

/// The comparison as one JSON document (pretty-printed, with a final newline).
pub fn json(c: &Comparison) -> String {
    let mut text = serde_json::to_string_pretty(&value(c)).expect("a JSON value always serializes");
    text.push('\n');
    text
}

/// The comparison as a JSON value, keys in the contract's order.
pub fn value(c: &Comparison) -> Value {
    json!({
        "baseline": c.baseline,
        "strategies": c.strategies.iter().map(row).collect::<Vec<_>>(),
    })
}

fn row(r: &Row) -> Value {
    let f = &r.pooled.figures;
    let mut m = Map::new();
    m.insert("strategy".into(), json!(r.strategy));
    m.insert("outcome".into(), json!(f.ending.key()));
    m.insert("decided_at_s".into(), json!(f.decided_at_s));
    m.insert("rollout_s".into(), json!(f.rollout_s));
    m.insert("p99_ms".into(), json!(f.p99_ms));
    m.insert("worst_window_p99_ms".into(), json!(f.worst_window_p99_ms));
    m.insert("failed_requests".into(), json!(f.failed_requests));
    m.insert("degraded_requests".into(), json!(f.degraded_requests));
    m.insert("extra_cost_usd".into(), json!(f.extra_cost_usd));
    m.insert("peak_replicas".into(), json!(f.peak_replicas));
    m.insert("slo_met".into(), json!(f.slo_met));
    let outcomes: Map<String, Value> = r
        .pooled
        .endings
        .iter()
        .map(|&(ending, n)| (ending.key().to_string(), json!(n)))
        .collect();
    m.insert("outcomes".into(), Value::Object(outcomes));
    if let Some(vs) = &r.vs_baseline {
        let diffs: Map<String, Value> = vs
            .iter()
            .map(|&(figure, p)| {
                let diff = if figure.is_count() {
                    json!(p.diff as i64)
                } else {
                    json!(p.diff)
                };
                (
                    figure.key().to_string(),
                    json!({"diff": diff, "low": p.low, "high": p.high}),
                )
            })
            .collect();
        m.insert("vs_baseline".into(), Value::Object(diffs));
    }
    if let Some(ab) = &r.ab {
        m.insert(
            "ab".into(),
            json!({
                "lift": ab.lift, "lift_low": ab.lift_low, "lift_high": ab.lift_high,
                "p_value": ab.p_value, "significant": ab.significant,
                "needed_per_arm": ab.needed_per_arm, "served_per_arm": ab.served_per_arm,
            }),
        );
    }
    Value::Object(m)
}

/// A figure's value (or difference, signed) in its unit.
fn amount(figure: Figure, v: f64, sign: bool) -> String {
    let unsigned = |x: f64| match figure {
        Figure::FailedRequests | Figure::DegradedRequests => group(x.round() as u64),
        Figure::P99Ms | Figure::WorstWindowP99Ms => ms(x),
        Figure::ExtraCostUsd => usd(x),
        Figure::RolloutS | Figure::DecidedAtS => duration(x),
        Figure::PeakReplicas => replicas(x),
    };
    if sign {
        signed(v, unsigned)
    } else {
        unsigned(v)
    }
}

/// A difference and its interval: `-310 (-350 .. -270)`, or the difference alone when the
/// interval is a point.
fn paired(figure: Figure, p: Paired) -> String {
    let d = amount(figure, p.diff, true);
    if p.low == p.high {
        d
    } else {
        format!(
            "{d} ({} .. {})",
            amount(figure, p.low, true),
            amount(figure, p.high, true)
        )
    }
}

const FIGURE_HEADINGS: [&str; 11] = [
    "strategy",
    "outcome",
    "decided",
    "rollout",
    "p99",
    "worst window p99",
    "failed",
    "degraded",
    "extra cost",
    "peak",
    "SLO",
];

fn figure_cells(r: &Row) -> Vec<String> {
    let f = &r.pooled.figures;
    let outcome = match r.pooled.endings.as_slice() {
        [_] | [] => f.ending.key().to_string(),
        endings => {
            let n: usize = endings.iter().map(|e| e.1).sum();
            let k = endings.iter().find(|e| e.0 == f.ending).map_or(0, |e| e.1);
            format!("{} ({k} of {n})", f.ending.key())
        }
    };
    vec![
        r.strategy.clone(),
        outcome,
        f.decided_at_s.map_or("-".into(), duration),
        duration(f.rollout_s),
        ms(f.p99_ms),
        ms(f.worst_window_p99_ms),
        group(f.failed_requests),
        group(f.degraded_requests),
        usd(f.extra_cost_usd),
        f.peak_replicas.to_string(),
        if f.slo_met { "PASS" } else { "FAIL" }.into(),
    ]
}

fn diff_headings() -> Vec<String> {
    std::iter::once("strategy".to_string())
        .chain(Figure::ALL.iter().map(|f| {
            match f {
                Figure::FailedRequests => "failed",
                Figure::DegradedRequests => "degraded",
                Figure::P99Ms => "p99",
                Figure::WorstWindowP99Ms => "worst window p99",
                Figure::ExtraCostUsd => "extra cost",
                Figure::RolloutS => "rollout",
                Figure::DecidedAtS => "decided",
                Figure::PeakReplicas => "peak",
            }
            .to_string()
        }))
        .collect()
}

fn diff_cells(r: &Row, vs: &[(Figure, Paired)]) -> Vec<String> {
    std::iter::once(r.strategy.clone())
        .chain(Figure::ALL.iter().map(|&figure| {
            vs.iter()
                .find(|(f, _)| *f == figure)
                .map_or("-".into(), |&(_, p)| paired(figure, p))
        }))
        .collect()
}

const AB_HEADINGS: [&str; 6] = [
    "strategy",
    "lift (CI)",
    "p-value",
    "significant",
    "served/arm",
    "needed/arm",
];

fn ab_cells(r: &Row, ab: &AbSummary) -> Vec<String> {
    let lift = match (ab.lift, ab.lift_low, ab.lift_high) {
        (Some(l), Some(lo), Some(hi)) => {
            format!("{} ({} .. {})", change(l), change(lo), change(hi))
        }
        _ => "-".into(),
    };
    vec![
        r.strategy.clone(),
        lift,
        p_value(ab.p_value),
        if ab.significant { "yes" } else { "no" }.into(),
        group(ab.served_per_arm),
        ab.needed_per_arm.map_or("-".into(), group),
    ]
}

/// The three tables of a comparison, each as heading rows then one row per strategy: the
/// pooled figures, the differences against the baseline, the A/B tests (the last two empty
/// when no row has any).
type Tables = [Vec<Vec<String>>; 3];

fn tables(c: &Comparison) -> Tables {
    let mut figures = vec![FIGURE_HEADINGS.map(String::from).to_vec()];
    let mut diffs = vec![diff_headings()];
    let mut abs = vec![AB_HEADINGS.map(String::from).to_vec()];
    for r in &c.strategies {
        figures.push(figure_cells(r));
        if let Some(vs) = &r.vs_baseline {
            diffs.push(diff_cells(r, vs));
        }
        if let Some(ab) = &r.ab {
            abs.push(ab_cells(r, ab));
        }
    }
    for t in [&mut diffs, &mut abs] {
        if t.len() == 1 {
            t.clear();
        }
    }
    [figures, diffs, abs]
}

fn diff_title(c: &Comparison) -> String {
    format!("against {}, paired 95% CI", c.baseline)
}

fn ab_title(c: &Comparison) -> String {
    let level = if c.replications == 1 {
        "one replication".to_string()
    } else {
        format!("arms summed over {} replications", c.replications)
    };
    format!("A/B tests ({level})")
}

/// The terminal tables: pooled figures, differences against the baseline, A/B tests.
pub fn table(scenario: &str, c: &Comparison) -> String {
    let [figures, diffs, abs] = tables(c);
    let mut out = format!(
        "capsim compare: {scenario}  ({} replication(s), paired; baseline {})\n\n",
        c.replications, c.baseline
    );
    out.push_str(&aligned(&figures, ""));
    for (title, t) in [(diff_title(c), diffs), (ab_title(c), abs)] {
        if !t.is_empty() {
            let _ = writeln!(out, "\n{title}");
            out.push_str(&aligned(&t, ""));
        }
    }
    out
}

/// The same as Markdown.
pub fn markdown(scenario: &str, c: &Comparison) -> String {
    let [figures, diffs, abs] = tables(c);
    let mut out = format!(
        "## capsim compare: {}\n\n{} replication(s), paired; baseline {}.\n",
        markdown_text(scenario),
        c.replications,
        markdown_text(&c.baseline)
    );
    for (title, t) in [
        (None, figures),
        (Some(diff_title(c)), diffs),
        (Some(ab_title(c)), abs),
    ] {
        let Some((head, body)) = t.split_first() else {
            continue;
        };
        if let Some(title) = title {
            let _ = write!(out, "\n{}:\n", markdown_text(&title));
        }
        let _ = writeln!(out, "\n| {} |", head.join(" | "));
        let _ = writeln!(out, "|---|{}", "---:|".repeat(head.len() - 1));
        for cells in body {
            let escaped: Vec<String> = cells.iter().map(|c| markdown_text(c)).collect();
            let _ = writeln!(out, "| {} |", escaped.join(" | "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::compare::{Ending, Figures, Pooled};

    fn figures(ending: Ending) -> Figures {
        Figures {
            failed_requests: 152,
            degraded_requests: 0,
            p99_ms: 41.2,
            worst_window_p99_ms: 88.0,
            extra_cost_usd: 0.8,
            rollout_s: 60.0,
            decided_at_s: (ending != Ending::Completed).then_some(1260.0),
            peak_replicas: 12,
            slo_met: true,
            ending,
            ab: None,
        }
    }

    /// The contract's example: rolling as baseline, a canary rolled back, an A/B test.
    fn sample() -> Comparison {
        let baseline = Row {
            strategy: "rolling".into(),
            pooled: Pooled {
                figures: Figures {
                    failed_requests: 462,
                    ..figures(Ending::Completed)
                },
                endings: vec![(Ending::Completed, 1)],
            },
            vs_baseline: None,
            ab: None,
        };
        let canary = Row {
            strategy: "canary".into(),
            pooled: Pooled {
                figures: figures(Ending::RolledBack),
                endings: vec![(Ending::RolledBack, 1)],
            },
            vs_baseline: Some(vec![
                (
                    Figure::FailedRequests,
                    Paired {
                        diff: -310.0,
                        low: -350.0,
                        high: -270.0,
                    },
                ),
                (
                    Figure::P99Ms,
                    Paired {
                        diff: -3.1,
                        low: -4.0,
                        high: -2.2,
                    },
                ),
                (
                    Figure::ExtraCostUsd,
                    Paired {
                        diff: -0.4,
                        low: -0.4,
                        high: -0.4,
                    },
                ),
            ]),
            ab: None,
        };
        let ab = Row {
            strategy: "ab".into(),
            pooled: Pooled {
                figures: figures(Ending::Promoted),
                endings: vec![(Ending::RolledBack, 1), (Ending::Promoted, 2)],
            },
            vs_baseline: Some(vec![]),
            ab: Some(AbSummary {
                lift: Some(0.031),
                lift_low: Some(-0.012),
                lift_high: Some(0.074),
                p_value: 0.16,
                significant: false,
                needed_per_arm: Some(14_751),
                served_per_arm: 12_000,
            }),
        };
        Comparison {
            baseline: "rolling".into(),
            replications: 3,
            strategies: vec![baseline, canary, ab],
        }
    }

    #[test]
    fn json_has_the_contract_shape() {
        let v: Value = serde_json::from_str(&json(&sample())).unwrap();
        assert_eq!(v["baseline"], "rolling");
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&v), ["baseline", "strategies"]);
        let rolling = &v["strategies"][0];
        assert!(rolling.get("vs_baseline").is_none() && rolling.get("ab").is_none());
        assert_eq!(rolling["decided_at_s"], Value::Null);
        let canary = &v["strategies"][1];
        assert_eq!(
            keys(canary),
            [
                "strategy",
                "outcome",
                "decided_at_s",
                "rollout_s",
                "p99_ms",
                "worst_window_p99_ms",
                "failed_requests",
                "degraded_requests",
                "extra_cost_usd",
                "peak_replicas",
                "slo_met",
                "outcomes",
                "vs_baseline"
            ]
        );
        assert_eq!(canary["outcome"], "rolled_back");
        assert_eq!(canary["outcomes"], json!({"rolled_back": 1}));
        assert_eq!(
            v["strategies"][2]["outcomes"],
            json!({"rolled_back": 1, "promoted": 2})
        );
        assert_eq!(canary["decided_at_s"], 1260.0);
        assert_eq!(canary["failed_requests"], 152);
        assert_eq!(canary["peak_replicas"], 12);
        let vs = &canary["vs_baseline"];
        assert_eq!(keys(vs), ["failed_requests", "p99_ms", "extra_cost_usd"]);
        // A count's difference is a whole number; its bounds are as computed.
        assert!(vs["failed_requests"]["diff"].is_i64());
        assert_eq!(vs["failed_requests"]["diff"], -310);
        assert_eq!(
            vs["p99_ms"],
            json!({"diff": -3.1, "low": -4.0, "high": -2.2})
        );
        let ab = &v["strategies"][2]["ab"];
        assert_eq!(
            keys(ab),
            [
                "lift",
                "lift_low",
                "lift_high",
                "p_value",
                "significant",
                "needed_per_arm",
                "served_per_arm"
            ]
        );
        assert_eq!(ab["needed_per_arm"], 14_751);
        assert_eq!(ab["significant"], false);
    }

    #[test]
    fn table_prints_figures_differences_and_ab_tests() {
        let text = table("deploy", &sample());
        let expected = "\
capsim compare: deploy  (3 replication(s), paired; baseline rolling)

strategy            outcome  decided  rollout       p99  worst window p99  failed  degraded  extra cost  peak   SLO
rolling           completed        -       1m  41.20 ms          88.00 ms     462         0       $0.80    12  PASS
canary          rolled_back      21m       1m  41.20 ms          88.00 ms     152         0       $0.80    12  PASS
ab        promoted (2 of 3)      21m       1m  41.20 ms          88.00 ms     152         0       $0.80    12  PASS

against rolling, paired 95% CI
strategy               failed  degraded                                 p99  worst window p99  extra cost  rollout  decided  peak
canary    -310 (-350 .. -270)         -  -3.100 ms (-4.000 ms .. -2.200 ms)                 -      -$0.40        -        -     -
ab                          -         -                                   -                 -           -        -        -     -

A/B tests (arms summed over 3 replications)
strategy               lift (CI)  p-value  significant  served/arm  needed/arm
ab        +3.1% (-1.2% .. +7.4%)   0.1600           no      12,000      14,751
";
        assert_eq!(text, expected, "{text}");
    }

    #[test]
    fn markdown_has_one_table_per_part_with_names_escaped() {
        let mut c = sample();
        c.strategies[1].strategy = "canary_v2".into();
        let md = markdown("deploy|a", &c);
        assert!(md.starts_with("## capsim compare: deploy\\|a\n"), "{md}");
        assert_eq!(md.matches("|---|").count(), 3, "{md}");
        assert!(md.contains("| canary\\_v2 | -310 (-350 .. -270) |"), "{md}");
        assert!(
            md.contains("A/B tests (arms summed over 3 replications):"),
            "{md}"
        );
        // No A/B row, no A/B table.
        c.strategies.truncate(2);
        assert_eq!(markdown("deploy", &c).matches("|---|").count(), 2);
    }
}
