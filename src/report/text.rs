//! The summary for people: an aligned table for the terminal, or the same as Markdown.

use super::format::{group, measure, ms, percent, replicas, req_per_s, seconds, sig, usd};
use crate::metrics::recorder::Counts;
use crate::metrics::run::OverloadReason;
use crate::metrics::summary::{Confidence, OverloadSummary, Summary, Verdict};
use crate::scenario::model::Measure;
use std::fmt::Write;

fn objective_name(m: Measure) -> &'static str {
    match m {
        Measure::P999 => "p99.9",
        m => m.key(),
    }
}

/// One SLO verdict, each part formatted for people.
struct VerdictText {
    mark: &'static str,
    name: &'static str,
    observed: String,
    /// `<= 50.00 ms` or `>= 99.900%`.
    bound: String,
    /// `95% CI low .. high`, or empty with one replication.
    ci: String,
}

fn verdict_text(v: &Verdict) -> VerdictText {
    let format = |x: f64| measure(v.measure, x);
    let relation = if v.measure.is_lower_bound() {
        ">="
    } else {
        "<="
    };
    let judged = match v.confidence {
        None => "",
        Some(Confidence::Met) => ", met with confidence",
        Some(Confidence::Missed) => ", missed with confidence",
        Some(Confidence::Unsure) if v.thin && v.measure.is_share() => ", too few requests to judge",
        Some(Confidence::Unsure) if v.thin => ", too few requests in the tail to judge",
        Some(Confidence::Unsure) => ", too close to call",
    };
    VerdictText {
        mark: if v.met { "PASS" } else { "FAIL" },
        name: objective_name(v.measure),
        observed: format(v.observed),
        bound: format!("{relation} {}", format(v.target)),
        ci: v.ci95.map_or_else(String::new, |[lo, hi]| {
            format!("95% CI {} .. {}{judged}", format(lo), format(hi))
        }),
    }
}

/// Left-aligns the first column and right-aligns the rest, two spaces apart.
pub(crate) fn aligned(rows: &[Vec<String>], indent: &str) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::from(indent);
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            if c == 0 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str("  ");
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn theory_or_dash(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "-".to_string(), f)
}

/// "10 arrived, 9 succeeded (2 degraded), 1 failed, 0 rejected, 0 timed out".
fn endings(r: &Counts) -> String {
    let degraded = if r.degraded > 0 {
        format!(" ({} degraded)", group(r.degraded))
    } else {
        String::new()
    };
    format!(
        "{} arrived, {} succeeded{degraded}, {} failed, {} rejected, {} timed out",
        group(r.arrived),
        group(r.succeeded),
        group(r.failed),
        group(r.rejected),
        group(r.timed_out)
    )
}

/// One line per service whose calls, cache, batches or breaker did something worth seeing.
fn path_lines(s: &Summary) -> Vec<String> {
    let mut lines = Vec::new();
    for svc in &s.services {
        let p = &svc.paths;
        let mut parts = Vec::new();
        if let Some(hit) = p.hit_ratio {
            let theory = svc
                .theory
                .hit_ratio
                .map_or_else(String::new, |t| format!(" (theory {})", percent(t)));
            parts.push(format!("hit ratio {}{theory}", percent(hit)));
        }
        if p.retry_amplification != 1.0 {
            parts.push(format!(
                "{:.3} visits per call ({} retries, {} hedges)",
                p.retry_amplification,
                group(p.retries),
                group(p.hedges)
            ));
        }
        if let Some(size) = p.mean_batch_size {
            parts.push(format!("mean batch {size:.2}"));
        }
        if p.breaker_opened > 0 || p.short_circuited > 0 {
            parts.push(format!(
                "breaker opened {} times, {} calls failed fast",
                group(p.breaker_opened),
                group(p.short_circuited)
            ));
        }
        if p.wasted_work_s > 0.0 {
            parts.push(format!("{} of wasted work", seconds(p.wasted_work_s)));
        }
        if svc.requests.cancelled > 0 {
            parts.push(format!(
                "{} visits cancelled",
                group(svc.requests.cancelled)
            ));
        }
        if !parts.is_empty() {
            lines.push(format!("  {}: {}", svc.name, parts.join("; ")));
        }
    }
    lines
}

/// Notes under the latency figures: percentiles read off too few requests.
fn latency_notes(s: &Summary) -> Vec<String> {
    let timed = s.requests.succeeded;
    let mut notes = Vec::new();
    if timed == 0 {
        notes.push("  no request succeeded, so there is no latency to show".to_string());
        return notes;
    }
    let starved: Vec<&str> = [(0.9, "p90"), (0.95, "p95"), (0.99, "p99"), (0.999, "p99.9")]
        .into_iter()
        .filter(|(q, _)| (timed as f64) * (1.0 - q) < 1.0)
        .map(|(_, name)| name)
        .collect();
    if let Some(first) = starved.first() {
        notes.push(format!(
            "  * {} from {} requests {} just the largest of them; run longer for real figures",
            starved.join(", "),
            group(timed),
            if starved.len() == 1 { "is" } else { "are" }
        ));
        let _ = first;
    }
    if let Some(ci) = &s.ci95 {
        if !ci.thin.is_empty() {
            let names: Vec<&str> = ci.thin.iter().map(|&m| objective_name(m)).collect();
            notes.push(format!(
                "  ~ too few requests per replication beyond {} (fewer than {}) for their intervals to mean much; run longer replications",
                names.join(", "),
                crate::metrics::summary::MIN_TAIL_SAMPLES
            ));
        }
    }
    notes
}

/// The terminal table.
pub fn table(s: &Summary) -> String {
    let mut out = String::new();
    let reps = if s.replications == 1 {
        "1 replication".to_string()
    } else {
        format!("{} replications", s.replications)
    };
    let _ = writeln!(
        out,
        "capsim: {}  (seed {}, {}, {} simulated, {} warmup)\n",
        s.scenario,
        s.seed,
        reps,
        seconds(s.duration_s),
        seconds(s.warmup_s)
    );
    let r = &s.requests;
    let _ = writeln!(out, "requests     {}", endings(r));
    let _ = writeln!(
        out,
        "throughput   {} (succeeded, measured window)",
        req_per_s(s.throughput_rps)
    );
    let _ = writeln!(out, "availability {}", percent(s.availability));
    let l = &s.latency;
    let timed = s.requests.succeeded;
    // A percentile from fewer requests than it needs is just the largest of them (*); with
    // no request timed there is no figure at all (-).
    let figure = |v: f64, q: Option<f64>| -> String {
        if timed == 0 {
            "-".into()
        } else if q.is_some_and(|q| (timed as f64) * (1.0 - q) < 1.0) {
            format!("{}*", ms(v))
        } else {
            ms(v)
        }
    };
    let mut rows = vec![
        [
            "latency", "mean", "p50", "p90", "p95", "p99", "p99.9", "max",
        ]
        .map(String::from)
        .to_vec(),
        vec![
            "".into(),
            figure(l.mean, None),
            figure(l.p50, Some(0.5)),
            figure(l.p90, Some(0.9)),
            figure(l.p95, Some(0.95)),
            figure(l.p99, Some(0.99)),
            figure(l.p999, Some(0.999)),
            figure(l.max, None),
        ],
    ];
    if let Some(ci) = &s.ci95 {
        let c = &ci.latency;
        // A percentile's interval is longer above than below (a latency's tail is long):
        // the two arms, or one when they print alike, as the mean's does.
        let half = |[lo, hi]: [f64; 2], center: f64, m: Measure| {
            let mark = if ci.thin.contains(&m) { "~" } else { "" };
            let (below, above) = (ms(center - lo), ms(hi - center));
            match (below.split_once(' '), above.split_once(' ')) {
                _ if below == above => format!("+-{above}{mark}"),
                // One unit for both: -0.295/+0.332 ms.
                (Some((b, unit)), Some((_, same))) if unit == same => {
                    format!("-{b}/+{above}{mark}")
                }
                _ => format!("-{below}/+{above}{mark}"),
            }
        };
        rows.push(vec![
            "95% CI".into(),
            half(c.mean, l.mean, Measure::Mean),
            half(c.p50, l.p50, Measure::P50),
            half(c.p90, l.p90, Measure::P90),
            half(c.p95, l.p95, Measure::P95),
            half(c.p99, l.p99, Measure::P99),
            half(c.p999, l.p999, Measure::P999),
            "-".into(),
        ]);
    }
    out.push('\n');
    out.push_str(&aligned(&rows, ""));
    for line in latency_notes(s) {
        let _ = writeln!(out, "{line}");
    }

    out.push('\n');
    let mut rows = vec![[
        "service",
        "arrived",
        "ok",
        "util",
        "theory",
        "wait mean",
        "theory",
        "p99 wait",
        "p99 latency",
        "replicas",
        "model",
    ]
    .map(String::from)
    .to_vec()];
    for svc in &s.services {
        let t = &svc.theory;
        let ok = if svc.requests.arrived == 0 {
            1.0
        } else {
            svc.requests.succeeded as f64 / svc.requests.arrived as f64
        };
        rows.push(vec![
            svc.name.clone(),
            group(svc.requests.arrived),
            percent(ok),
            percent(svc.utilization),
            theory_or_dash(t.utilization, percent),
            ms(svc.queue_wait_mean_ms),
            theory_or_dash(t.mean_queue_wait_ns, |ns| ms(ns / 1e6)),
            ms(svc.queue_wait_p99_ms),
            ms(svc.latency.p99),
            replicas(svc.mean_replicas),
            t.queueing_model.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    out.push_str(&aligned(&rows, ""));
    let notes: Vec<String> = s
        .services
        .iter()
        .filter_map(|svc| {
            svc.theory
                .note
                .as_ref()
                .map(|n| format!("  {}: {}", svc.name, n))
        })
        .collect();
    if !notes.is_empty() {
        out.push_str("theory notes:\n");
        for n in notes {
            out.push_str(&n);
            out.push('\n');
        }
    }
    let paths = path_lines(s);
    if !paths.is_empty() {
        out.push_str("request paths:\n");
        for line in paths {
            out.push_str(&line);
            out.push('\n');
        }
    }
    if s.classes.len() > 1 {
        out.push('\n');
        let mut rows = vec![[
            "class",
            "arrived",
            "availability",
            "degraded",
            "p50",
            "p99",
            "p99.9",
            "SLO",
        ]
        .map(String::from)
        .to_vec()];
        for c in &s.classes {
            let slo = if c.slo.is_empty() {
                "-".to_string()
            } else if c.slo_met {
                "met".to_string()
            } else {
                "MISSED".to_string()
            };
            rows.push(vec![
                c.name.clone(),
                group(c.requests.arrived),
                percent(c.availability),
                group(c.requests.degraded),
                ms(c.latency.p50),
                ms(c.latency.p99),
                ms(c.latency.p999),
                slo,
            ]);
        }
        out.push_str(&aligned(&rows, ""));
    }

    let _ = writeln!(
        out,
        "\ncost         {}/h ({} a month), {} for the run, {} per million requests",
        usd(s.cost.per_hour_usd),
        usd(s.cost.per_month_usd),
        usd(s.cost.total_usd),
        usd(s.cost.per_million_requests_usd)
    );
    out.push_str(&world_lines(s));
    out.push('\n');
    let class_verdicts: Vec<(String, &Verdict)> = s
        .classes
        .iter()
        .flat_map(|c| c.slo.iter().map(move |v| (c.name.clone(), v)))
        .collect();
    if s.slo.is_empty() && class_verdicts.is_empty() {
        out.push_str("SLO          none defined\n");
    } else {
        let all: Vec<(String, &Verdict)> = s
            .slo
            .iter()
            .map(|v| (String::new(), v))
            .chain(class_verdicts)
            .collect();
        let rows: Vec<Vec<String>> = all
            .iter()
            .map(|(class, v)| {
                let t = verdict_text(v);
                let name = if class.is_empty() {
                    t.name.to_string()
                } else {
                    format!("{class}: {}", t.name)
                };
                vec![
                    t.mark.into(),
                    name,
                    format!("{} {}", t.observed, t.bound),
                    t.ci,
                ]
            })
            .collect();
        out.push_str("SLO\n");
        out.push_str(&aligned(&rows, "  "));
        let missed = all.iter().filter(|(_, v)| !v.met).count();
        if missed == 0 {
            out.push_str("verdict      every SLO met\n");
        } else {
            let _ = writeln!(out, "verdict      {missed} of {} SLOs missed", all.len());
        }
    }
    out
}

/// At most this many event lines in the terminal summary.
const MAX_EVENT_LINES: usize = 25;

/// The headline happenings as (seconds, text), with the replicas one fault crashes at one
/// instant (a region outage takes every replica in its region down at once) on one line
/// with their count per service; the JSON keeps each crash.
fn event_lines(s: &Summary) -> Vec<(f64, String)> {
    use crate::metrics::run::Happening;
    // (at, the fault and the services of a run of crashes, the line of its first happening)
    let mut runs: Vec<(u64, Option<usize>, Vec<usize>, String)> = Vec::new();
    for h in &s.events.entries {
        let d = super::events::describe(s, &h.what);
        if !d.headline {
            continue;
        }
        if let Happening::Crash { fault, service, .. } = h.what {
            if let Some((at, Some(f), services, _)) = runs.last_mut() {
                if *at == h.at_ns && *f == fault {
                    services.push(service);
                    continue;
                }
            }
            runs.push((h.at_ns, Some(fault), vec![service], d.text));
        } else {
            runs.push((h.at_ns, None, Vec::new(), d.text));
        }
    }
    runs.into_iter()
        .map(|(at_ns, fault, services, text)| {
            let at = at_ns as f64 / 1e9;
            let Some(f) = fault.filter(|_| services.len() > 1) else {
                return (at, text);
            };
            // Counts per service, in the order services first crashed.
            let mut counts: Vec<(usize, u64)> = Vec::new();
            for id in services.iter().copied() {
                match counts.iter_mut().find(|(x, _)| *x == id) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((id, 1)),
                }
            }
            let each: Vec<String> = counts
                .iter()
                .map(|&(id, n)| {
                    let name = s.services.get(id).map_or("?", |x| x.name.as_str());
                    format!("{name} {n}")
                })
                .collect();
            let label = s.fault_labels.get(f).map_or("?", String::as_str);
            let text = format!(
                "{} replicas crashed ({label}): {}",
                services.len(),
                each.join(", ")
            );
            (at, text)
        })
        .collect()
}

/// The compact event lines (replication 0), the error budget and the recoveries; empty when
/// nothing changed during the run.
fn world_lines(s: &Summary) -> String {
    let mut out = String::new();
    let lines = event_lines(s);
    if !lines.is_empty() {
        let reps = if s.replications > 1 {
            " (replication 0)"
        } else {
            ""
        };
        let _ = writeln!(out, "\nevents{reps}");
        for (at, text) in lines.iter().take(MAX_EVENT_LINES) {
            let _ = writeln!(out, "  {:>9}  {text}", seconds(*at));
        }
        let more = lines.len().saturating_sub(MAX_EVENT_LINES) as u64 + s.events.dropped;
        if more > 0 {
            let _ = writeln!(
                out,
                "  ... and {} more (all in the JSON summary)",
                group(more)
            );
        }
    }
    if let Some(b) = &s.error_budget {
        let alerts: Vec<String> = b
            .alerts
            .iter()
            .map(|a| {
                format!(
                    "{} alert ({}/{} burn >= {}) at {}",
                    a.tier.severity,
                    seconds(a.tier.long_s),
                    seconds(a.tier.short_s),
                    a.tier.threshold,
                    seconds(a.first_at_s)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "error budget {} failures of {:.0} allowed by {} ({:.0}% used); worst window burns {:.1}x{}",
            group(b.failures),
            b.allowed_failures,
            percent(b.slo),
            b.consumed * 100.0,
            b.max_burn_rate,
            if alerts.is_empty() {
                String::new()
            } else {
                format!("; {}", alerts.join("; "))
            }
        );
    }
    for r in &s.rollouts {
        let outcomes: Vec<String> = r
            .outcomes
            .iter()
            .map(|(k, n)| {
                if s.replications > 1 {
                    format!("{} in {n} of {}", k.replace('_', " "), s.replications)
                } else {
                    k.replace('_', " ")
                }
            })
            .collect();
        let decided = r
            .decided_at_s
            .map(|t| format!(", decided at {}", seconds(t)))
            .unwrap_or_default();
        let took = match r.rollout_s {
            Some(t) => format!("; the rollout took {}", seconds(t)),
            None => "; the rollout was still under way at the end".to_string(),
        };
        let _ = writeln!(
            out,
            "rollout      {} {}: {}{decided}{took}",
            r.service,
            r.strategy,
            outcomes.join(", ")
        );
    }
    for r in &s.recoveries {
        let what = match (r.breached, r.time_to_recover_s) {
            (false, _) => "the SLO held in every window".to_string(),
            (true, Some(t)) => format!("back within the SLO after {}", seconds(t)),
            (true, None) => "not back within the SLO by the end of the run".to_string(),
        };
        let _ = writeln!(
            out,
            "recovery     {} at {}: {what}",
            r.fault,
            seconds(r.at_s)
        );
    }
    out
}

/// User text (a scenario's name) made literal in Markdown: every character Markdown or HTML
/// could read as markup is escaped with a backslash, and a line break becomes a space, so a
/// name renders as itself and cannot open a link, an image, a table cell or an HTML tag.
pub fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            // Not `-`, `.` or `(`: they are markup only at a line's start or after `]`.
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The same content as Markdown, for pasting into a design doc.
pub fn markdown(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## capsim: {}\n", markdown_text(&s.scenario));
    let _ = writeln!(
        out,
        "Seed {}, {} replication(s), {} simulated after {} warmup.\n",
        s.seed,
        s.replications,
        seconds(s.duration_s),
        seconds(s.warmup_s)
    );
    let r = &s.requests;
    out.push_str("| arrived | succeeded | failed | rejected | timed out | throughput | availability |\n|---:|---:|---:|---:|---:|---:|---:|\n");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} |\n",
        group(r.arrived),
        group(r.succeeded),
        group(r.failed),
        group(r.rejected),
        group(r.timed_out),
        req_per_s(s.throughput_rps),
        percent(s.availability)
    );
    let l = &s.latency;
    out.push_str("| latency | mean | p50 | p90 | p95 | p99 | p99.9 | max |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    let _ = writeln!(
        out,
        "| end to end | {} | {} | {} | {} | {} | {} | {} |\n",
        ms(l.mean),
        ms(l.p50),
        ms(l.p90),
        ms(l.p95),
        ms(l.p99),
        ms(l.p999),
        ms(l.max)
    );
    out.push_str("| service | arrived | utilization | theory | mean queue wait | theory | p99 latency | model |\n|---|---:|---:|---:|---:|---:|---:|---|\n");
    for svc in &s.services {
        let t = &svc.theory;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            svc.name,
            group(svc.requests.arrived),
            percent(svc.utilization),
            theory_or_dash(t.utilization, percent),
            ms(svc.queue_wait_mean_ms),
            theory_or_dash(t.mean_queue_wait_ns, |ns| ms(ns / 1e6)),
            ms(svc.latency.p99),
            t.queueing_model.as_deref().unwrap_or("-")
        );
    }
    let _ = writeln!(
        out,
        "\nCost: {}/h, {} for the run, {} per million requests.\n",
        usd(s.cost.per_hour_usd),
        usd(s.cost.total_usd),
        usd(s.cost.per_million_requests_usd)
    );
    if s.classes.len() > 1 {
        out.push_str("| class | arrived | availability | degraded | p50 | p99 | p99.9 |\n|---|---:|---:|---:|---:|---:|---:|\n");
        for c in &s.classes {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                c.name,
                group(c.requests.arrived),
                percent(c.availability),
                group(c.requests.degraded),
                ms(c.latency.p50),
                ms(c.latency.p99),
                ms(c.latency.p999)
            );
        }
        out.push('\n');
    }
    let verdicts: Vec<(String, &Verdict)> = s
        .slo
        .iter()
        .map(|v| (String::new(), v))
        .chain(
            s.classes
                .iter()
                .flat_map(|c| c.slo.iter().map(move |v| (format!("{}: ", c.name), v))),
        )
        .collect();
    if verdicts.is_empty() {
        out.push_str("**Verdict: no SLO defined.**\n");
    } else {
        out.push_str("| SLO | observed | target | 95% CI | verdict |\n|---|---:|---:|---|---|\n");
        let missed = verdicts.iter().filter(|(_, v)| !v.met).count();
        let total = verdicts.len();
        for (class, v) in verdicts {
            let t = verdict_text(v);
            let _ = writeln!(
                out,
                "| {class}{} | {} | {} | {} | {} |",
                t.name, t.observed, t.bound, t.ci, t.mark
            );
        }
        if missed == 0 {
            out.push_str("\n**Verdict: every SLO met.**\n");
        } else {
            let _ = writeln!(out, "\n**Verdict: {missed} of {total} SLOs missed.**");
        }
    }
    out
}

/// The overload report as Markdown, for `summary.md` and `--format markdown`.
pub fn overload_markdown(o: &OverloadSummary) -> String {
    format!(
        "## capsim: {}\n\nSeed {}. **Overloaded: the run stopped.**\n\n{}\n\n**Verdict: SLOs not met (the design cannot carry its load).**\n",
        markdown_text(&o.scenario),
        o.seed,
        overload_message(o).replace('\n', "\n\n")
    )
}

/// Why an overloaded run stopped, and what to do about it.
pub fn overload_message(o: &OverloadSummary) -> String {
    let hold_ms = o.theory.mean_hold_ns / 1e6;
    let hold = if let Some(b) = o.theory.batch_size {
        format!("{} of work per visit in batches of {b}", ms(hold_ms))
    } else if hold_ms > o.mean_service_ms * (1.0 + 1e-9) {
        format!(
            "{} mean worker time ({} own work + at least {} waiting on blocking calls)",
            ms(hold_ms),
            ms(o.mean_service_ms),
            ms(hold_ms - o.mean_service_ms)
        )
    } else {
        format!("{} mean service time", ms(o.mean_service_ms))
    };
    let stopped = match o.reason {
        OverloadReason::InFlight => format!(
            "the run (replication {}) stopped at {} of simulated time with {} requests in flight, above scenario.max_in_flight = {} ({} waiting at \"{}\")",
            o.replication,
            seconds(o.at_s),
            group(o.in_flight as u64),
            o.max_in_flight,
            group(o.queued as u64),
            o.service
        ),
        OverloadReason::Visits => format!(
            "the run (replication {}) stopped at {} of simulated time with more than {} visits in flight ({} x scenario.max_in_flight = {}, or at least 100,000), with {} requests in flight ({} waiting at \"{}\")",
            o.replication,
            seconds(o.at_s),
            group(crate::metrics::run::max_visits_in_flight(o.max_in_flight) as u64),
            crate::metrics::run::MAX_VISITS_PER_REQUEST_IN_FLIGHT,
            o.max_in_flight,
            group(o.in_flight as u64),
            group(o.queued as u64),
            o.service
        ),
        OverloadReason::ClockLimit => format!(
            "the run (replication {}) stopped at {} of simulated time: the backlog would take the clock past 292 years ({} waiting at \"{}\")",
            o.replication,
            seconds(o.at_s),
            group(o.queued as u64),
            o.service
        ),
    };
    format!(
        "overloaded: service \"{}\" cannot keep up: offered load {:.2} ({} x {} / {} workers); \
         it can finish at most {}\n{stopped}\n\
         add replicas or concurrency, make the service faster, or bound its queue with queue_capacity so that excess requests are rejected",
        o.service,
        o.theory.offered_load,
        req_per_s(o.theory.arrival_rate_per_s),
        hold,
        o.workers,
        req_per_s(o.capacity_rps()),
    )
}

/// A large count for a message: grouped digits below 10^9 (`42,000,000`), else in powers of
/// ten (`3.2e14`).
fn big(v: f64) -> String {
    if v < 1e9 {
        group(v.round() as u64)
    } else {
        format!("{v:.1e}")
    }
}

/// Bytes as `512 MiB`, `8.0 GiB`, `5.1 TiB`.
pub fn bytes(v: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = v;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 || v >= 100.0 {
        format!("{v:.0} {}", UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// A wall time from seconds: `45s`, `2h 30m`, `3.2 days`, `120 years`.
fn wall_time(s: f64) -> String {
    const DAY: f64 = 86_400.0;
    if s < 1.0 {
        "under a second".into()
    } else if s < DAY {
        super::format::duration(s)
    } else if s < 365.0 * DAY {
        format!("{:.1} days", s / DAY)
    } else {
        format!("{} years", big(s / (365.0 * DAY)))
    }
}

/// Why a command was refused before it started: its estimated events above `--max-events`.
/// `what` is "this run", "this sweep" (with the points left, for a resumed one), "this plan"
/// or "this comparison".
pub fn too_many_events(
    e: &crate::metrics::budget::Estimate,
    limit: u64,
    threads: usize,
    what: &str,
) -> String {
    use crate::metrics::budget::{EVENTS_PER_SECOND_PER_CORE, EVENTS_PER_VISIT};
    format!(
        "error: {what} is too large to start: about {} events ({} requests per replication x \
         {} visits per request x about {EVENTS_PER_VISIT} events per visit, and {} for each \
         replication's set-up and record, over {} replication{}), about {} at {} events/s per \
         core on {threads} cores; the limit is {} \
         events (--max-events).\nThe estimate follows traffic.rate (its mean, shapes included), \
         scenario.duration, scenario.replications (or --replications), the visits per request \
         of the call graph (calls, fan-out, retries){}. Shorten scenario.duration, lower \
         traffic.rate or the replications, or raise the limit with --max-events N \
         (--max-events 0 lifts it).",
        big(e.events),
        big(e.arrivals_per_replication),
        match e.visits_per_request {
            v if v >= 100.0 => big(v),
            v => sig(v),
        },
        big(e.overhead_per_replication),
        big(e.replications),
        if e.replications == 1.0 { "" } else { "s" },
        wall_time(e.seconds(threads)),
        big(EVENTS_PER_SECOND_PER_CORE),
        big(limit as f64),
        if what.starts_with("this sweep") {
            " and the points of the grid"
        } else {
            ""
        },
    )
}

/// The work budget's estimate of a run, as `capsim validate` prints it after `ok`: the
/// events, the memory held at once, and the time at the measured rate on `threads` cores.
pub fn estimate_line(e: &crate::metrics::budget::Estimate, threads: usize) -> String {
    use crate::metrics::budget::EVENTS_PER_SECOND_PER_CORE;
    format!(
        "estimate: about {} events ({} requests per replication, {} replication{}), {} of \
         memory at most, {} at {} events/s per core on {threads} core{}\n",
        big(e.events),
        big(e.arrivals_per_replication),
        big(e.replications),
        if e.replications == 1.0 { "" } else { "s" },
        bytes(e.memory_bytes),
        wall_time(e.seconds(threads)),
        big(EVENTS_PER_SECOND_PER_CORE),
        if threads == 1 { "" } else { "s" },
    )
}

/// Warnings of one kind shown in full; the rest of the kind are counted on one line.
pub const WARNINGS_SHOWN_PER_KIND: usize = 10;

/// The lines of standard error that warn of `warnings`: each kind's first
/// [`WARNINGS_SHOWN_PER_KIND`] in full, then one line counting the rest of the kind (`warning:
/// ... and 999,990 more services are never visited`), so that a design of 10^6 services
/// never visited prints a dozen lines, not 90 MB. Kinds in the order they first appear.
pub fn warnings(warnings: &[crate::metrics::theory::Warning]) -> Vec<String> {
    let mut kinds: Vec<&str> = Vec::new();
    for w in warnings {
        if !kinds.contains(&w.kind) {
            kinds.push(w.kind);
        }
    }
    let mut lines = Vec::new();
    for kind in kinds {
        let mut of_kind = warnings.iter().filter(|w| w.kind == kind);
        for w in of_kind.by_ref().take(WARNINGS_SHOWN_PER_KIND) {
            lines.push(format!("warning: {}", w.text));
        }
        let rest = of_kind.count();
        if rest > 0 {
            lines.push(format!(
                "warning: ... and {} more {kind}",
                group(rest as u64)
            ));
        }
    }
    lines
}

/// The memory part of loading a scenario's text, for [`too_much_memory`].
pub fn loading_part(l: &crate::metrics::budget::Loading) -> String {
    format!(
        "loading the scenario ({} of text, {} values, tables and keys, {} lines)",
        bytes(l.text_bytes as f64),
        big(l.marks as f64),
        big(l.lines as f64)
    )
}

/// Why a command was refused before it started: its estimated memory above `--max-memory`.
pub fn too_much_memory(e: &crate::metrics::budget::Estimate, limit: u64, what: &str) -> String {
    let parts: Vec<String> = e
        .memory_parts
        .iter()
        .map(|(name, b)| format!("{name} {}", bytes(*b)))
        .collect();
    format!(
        "error: {what} would hold about {} of memory at once, more than the limit of {} \
         (--max-memory): {}.\nLower the keys that drive it (a keyed cache's capacity or \
         replicas, scenario.max_in_flight, scenario.window against scenario.duration, the \
         points of a sweep, the services and lists of the scenario itself), run fewer \
         replications at once, or raise the limit with --max-memory SIZE (e.g. 32GiB; --max-memory 0 lifts it).",
        bytes(e.memory_bytes),
        bytes(limit as f64),
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::theory::Warning;

    #[test]
    fn warnings_show_ten_of_a_kind_and_count_the_rest_kind_by_kind() {
        // 25 of kind "a" around 2 of kind "b": a's first 10, "... and 15 more a", then b's 2.
        let w = |kind: &'static str, i: usize| Warning {
            kind,
            text: format!("{kind}{i}"),
        };
        let mut all: Vec<Warning> = (0..12).map(|i| w("a", i)).collect();
        all.extend((0..2).map(|i| w("b", i)));
        all.extend((12..25).map(|i| w("a", i)));
        let mut expected: Vec<String> = (0..10).map(|i| format!("warning: a{i}")).collect();
        expected.push("warning: ... and 15 more a".into());
        expected.extend(["warning: b0".to_string(), "warning: b1".to_string()]);
        assert_eq!(warnings(&all), expected);
        // Ten of a kind are shown whole, with no count line.
        assert_eq!(warnings(&all[..10]).len(), 10);
    }
}
