//! `index.html`: one self-contained page (inline CSS and SVG; no script, and nothing fetched
//! from anywhere): the verdicts first, then the key figures, the services with theory beside
//! simulation, the plots, and the scenario as it ran. Every piece of text that comes from the
//! scenario or the files is escaped.

use super::data::{Compared, Diff, Doc, Input, OverloadDoc, RunDoc, SweepResults, Verdict};
use super::figure::Figure;
use super::format::{
    duration, escape, group, ms, percent, rate, replicas, req_per_s, seconds, signed, usd,
};
use std::fmt::Write;

const STYLE: &str = r#"
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --pass: #1a7f37; --fail: #cf222e;
        --pass-bg: #dafbe1; --fail-bg: #ffebe9; --head: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1080px; padding: 24px 28px 48px; color: var(--ink);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
h1 { font-size: 26px; margin: 0 0 4px; word-break: break-word; }
h2 { font-size: 20px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.meta { color: var(--muted); margin: 0; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: right; vertical-align: top; }
th { background: var(--head); font-weight: 600; }
th:first-child, td:first-child { text-align: left; }
td.name { word-break: break-word; }
.verdicts { border: 2px solid var(--line); border-radius: 8px; padding: 4px 18px 14px; margin-top: 20px; }
.verdicts.pass { border-color: var(--pass); }
.verdicts.fail { border-color: var(--fail); }
.verdicts h2 { border: 0; margin-top: 12px; }
.verdicts.pass h2 { color: var(--pass); }
.verdicts.fail h2 { color: var(--fail); }
.badge { display: inline-block; min-width: 54px; text-align: center; font-weight: 700; border-radius: 4px; padding: 1px 8px; }
.badge.pass { color: var(--pass); background: var(--pass-bg); border: 1px solid var(--pass); }
.badge.fail { color: var(--fail); background: var(--fail-bg); border: 1px solid var(--fail); }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px; margin: 0; }
.figures div { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.figures dt { color: var(--muted); font-size: 13px; }
.figures dd { margin: 0; font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.theory { color: var(--muted); }
figure.plot { margin: 18px 0 28px; }
figure.plot svg { display: block; width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: 14px; margin-top: 6px; }
pre { background: var(--head); border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px;
      overflow-x: auto; font-size: 13px; line-height: 1.45; white-space: pre-wrap; word-break: break-word; }
.note { color: var(--muted); }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  h2 { break-after: avoid; }
  figure.plot, .verdicts, tr { break-inside: avoid; }
  figure.plot svg { border: 0; }
  a { color: inherit; text-decoration: none; }
  pre { white-space: pre-wrap; }
}
"#;

/// The page: `figures` in order, each with its SVG (`svgs[i]`) inline.
pub fn page(input: &Input, figures: &[Figure], svgs: &[String]) -> String {
    let name = match &input.summary {
        Some(Doc::Completed(s)) => s.scenario.clone(),
        Some(Doc::Overloaded(o)) => o.scenario.clone(),
        None => match &input.compare {
            Some(c) if !c.scenario.is_empty() => c.scenario.clone(),
            Some(_) => "compare".to_string(),
            None => "sweep".to_string(),
        },
    };
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <title>capsim: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&name)
    );
    let _ = writeln!(
        h,
        "<header>\n<h1>capsim report: <span id=\"scenario-name\">{}</span></h1>",
        escape(&name)
    );
    match &input.summary {
        Some(Doc::Completed(s)) => {
            let _ = writeln!(
                h,
                "<p class=\"meta\">seed {} · {} replication{} · {} simulated, {} warm-up</p>\n</header>",
                s.seed,
                s.replications,
                if s.replications == 1 { "" } else { "s" },
                seconds(s.duration_s),
                seconds(s.warmup_s)
            );
            verdicts(&mut h, s);
            key_figures(&mut h, s);
            services(&mut h, s);
        }
        Some(Doc::Overloaded(o)) => {
            let _ = writeln!(h, "<p class=\"meta\">seed {}</p>\n</header>", o.seed);
            overloaded(&mut h, o);
        }
        None => {
            h.push_str("</header>\n");
        }
    }
    if let Some(sweep) = &input.sweep {
        sweep_summary(&mut h, sweep, input.summary.is_none());
    }
    if let Some(c) = &input.compare {
        compare_summary(&mut h, c);
    }
    h.push_str("<section id=\"plots\">\n<h2>Plots</h2>\n");
    if figures.is_empty() {
        h.push_str(match &input.summary {
            Some(Doc::Overloaded(_)) => {
                "<p class=\"note\">No charts: the run stopped before its end.</p>\n"
            }
            _ => "<p class=\"note\">Nothing to plot: no request succeeded.</p>\n",
        });
    }
    for (fig, svg) in figures.iter().zip(svgs) {
        let _ = write!(
            h,
            "<figure class=\"plot\" id=\"plot-{n}\">\n{svg}<figcaption>{caption} \
             <a href=\"{n}.png\">PNG</a> · <a href=\"{n}.svg\">SVG</a></figcaption>\n</figure>\n",
            n = fig.name,
            caption = escape(&fig.caption),
        );
    }
    h.push_str("</section>\n");
    if let Some(text) = &input.scenario {
        let _ = write!(
            h,
            "<section id=\"scenario\">\n<h2>The scenario as it ran</h2>\n<pre>{}</pre>\n</section>\n",
            escape(text)
        );
    }
    let files = match &input.compare {
        Some(_) => "compare.json, and timeseries-STRATEGY.csv for each strategy",
        None => "summary.json, and timeseries.csv or results.csv where there are",
    };
    let _ = write!(
        h,
        "<footer>Written by capsim {}. Every figure on this page comes from the files beside \
         it ({files}); \
         <code>capsim report DIR</code> draws it again from them.</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    h
}

/// How an objective reads: `p99 latency`, `availability`.
fn objective_name(objective: &str) -> String {
    match objective {
        "availability" => "availability".into(),
        "degraded" => "degraded share".into(),
        "mean" => "mean latency".into(),
        "p999" => "p99.9 latency".into(),
        p => format!("{p} latency"),
    }
}

/// A target or observed figure in its unit, as the terminal prints it.
fn figure_value(objective: &str, v: f64) -> String {
    if objective == "availability" || objective == "degraded" {
        percent(v)
    } else {
        ms(v)
    }
}

fn verdict_row(h: &mut String, who: &str, v: &Verdict) {
    let bound = if v.objective == "availability" {
        "≥"
    } else {
        "≤"
    };
    let interval = v.ci95.map_or("—".to_string(), |[lo, hi]| {
        format!(
            "{} to {}",
            figure_value(&v.objective, lo),
            figure_value(&v.objective, hi)
        )
    });
    let judged = match v.confidence.as_deref() {
        Some("met") => "<br><span class=\"note\">met with confidence</span>",
        Some("missed") => "<br><span class=\"note\">missed with confidence</span>",
        Some("unsure")
            if v.thin && (v.objective == "availability" || v.objective == "degraded") =>
        {
            "<br><span class=\"note\">too few requests to judge</span>"
        }
        Some("unsure") if v.thin => {
            "<br><span class=\"note\">too few requests in the tail to judge</span>"
        }
        Some("unsure") => "<br><span class=\"note\">too close to call</span>",
        _ => "",
    };
    let (class, word) = if v.met {
        ("pass", "PASS")
    } else {
        ("fail", "FAIL")
    };
    let _ = writeln!(
        h,
        "<tr class=\"{class}\"><td class=\"name\">{who}{}</td><td>{bound} {}</td><td>{}</td><td>{interval}{judged}</td>\
         <td><span class=\"badge {class}\">{word}</span></td></tr>",
        escape(&objective_name(&v.objective)),
        figure_value(&v.objective, v.target),
        figure_value(&v.objective, v.observed),
    );
}

fn verdicts(h: &mut String, s: &RunDoc) {
    let class_verdicts: Vec<(&str, &Verdict)> = s
        .classes
        .iter()
        .flat_map(|c| c.slo.iter().map(move |v| (c.name.as_str(), v)))
        .collect();
    let total = s.slo.len() + class_verdicts.len();
    let missed = s.slo.iter().filter(|v| !v.met).count()
        + class_verdicts.iter().filter(|(_, v)| !v.met).count();
    let (class, headline) = if total == 0 {
        ("pass", "No SLO set: nothing to judge".to_string())
    } else if s.slo_met {
        ("pass", format!("PASS: every SLO met ({total} of {total})"))
    } else {
        ("fail", format!("FAIL: {missed} of {total} SLOs missed"))
    };
    let _ = writeln!(
        h,
        "<section id=\"verdicts\" class=\"verdicts {class}\">\n<h2>{headline}</h2>"
    );
    if total > 0 {
        h.push_str(
            "<table>\n<thead><tr><th>objective</th><th>target</th><th>observed</th>\
             <th>95% interval</th><th>verdict</th></tr></thead>\n<tbody>\n",
        );
        for v in &s.slo {
            verdict_row(h, "", v);
        }
        for (c, v) in class_verdicts {
            verdict_row(h, &format!("class {}: ", escape(c)), v);
        }
        h.push_str("</tbody>\n</table>\n");
        if s.replications < 2 {
            h.push_str(
                "<p class=\"note\">One replication: run with <code>--replications 5</code> or \
                 more for 95% intervals.</p>\n",
            );
        }
    }
    h.push_str("</section>\n");
}

fn key_figures(h: &mut String, s: &RunDoc) {
    let r = &s.requests;
    let items = [
        ("requests arrived", group(r.arrived)),
        ("throughput", req_per_s(s.throughput_rps)),
        ("availability", percent(s.availability)),
        ("p50 latency", ms(s.latency_ms.p50)),
        ("p99 latency", ms(s.latency_ms.p99)),
        ("p99.9 latency", ms(s.latency_ms.p999)),
        ("mean latency", ms(s.latency_ms.mean)),
        (
            "failed · rejected · timed out",
            format!(
                "{} · {} · {}",
                group(r.failed),
                group(r.rejected),
                group(r.timed_out)
            ),
        ),
        ("cost per hour", usd(s.cost.per_hour_usd)),
        (
            "cost per million requests",
            usd(s.cost.per_million_requests_usd),
        ),
    ];
    h.push_str("<section id=\"figures\">\n<h2>Key figures</h2>\n<dl class=\"figures\">\n");
    for (label, value) in items {
        let _ = writeln!(h, "<div><dt>{label}</dt><dd>{value}</dd></div>");
    }
    h.push_str("</dl>\n</section>\n");
}

fn services(h: &mut String, s: &RunDoc) {
    h.push_str(
        "<section id=\"services\">\n<h2>Services: simulation beside theory</h2>\n<table>\n<thead><tr>\
         <th>service</th><th>model</th><th>arrived</th><th>ok</th>\
         <th>utilization</th><th class=\"theory\">theory</th>\
         <th>mean wait</th><th class=\"theory\">theory</th>\
         <th>p99 latency</th><th>replicas</th><th>cost/h</th></tr></thead>\n<tbody>\n",
    );
    for svc in &s.services {
        let finished = svc.requests.succeeded
            + svc.requests.failed
            + svc.requests.rejected
            + svc.requests.timed_out
            + svc.requests.cancelled;
        let ok = if finished == 0 {
            "—".to_string()
        } else {
            percent(svc.requests.succeeded as f64 / finished as f64)
        };
        let t = &svc.theory;
        let model = t.model.clone().unwrap_or_else(|| "—".into());
        let _ = writeln!(
            h,
            "<tr><td class=\"name\">{}</td><td>{}</td><td>{}</td><td>{ok}</td><td>{}</td>\
             <td class=\"theory\">{}</td><td>{}</td><td class=\"theory\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&svc.name),
            escape(&model),
            group(svc.requests.arrived),
            percent(svc.utilization),
            t.utilization.map_or("—".into(), percent),
            ms(svc.queue_wait_ms.mean),
            t.queue_wait_mean_ms.map_or("—".into(), ms),
            ms(svc.latency_ms.p99),
            replicas(svc.mean_replicas),
            usd(svc.cost_per_hour_usd),
        );
    }
    h.push_str("</tbody>\n</table>\n");
    let notes: Vec<String> = s
        .services
        .iter()
        .filter_map(|svc| {
            svc.theory
                .note
                .as_ref()
                .map(|n| format!("<li>{}: {}</li>", escape(&svc.name), escape(n)))
        })
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"note\">Where theory has no closed form:</p>\n<ul class=\"note\">{}</ul>",
            notes.join("")
        );
    }
    h.push_str("</section>\n");
}

fn overloaded(h: &mut String, o: &OverloadDoc) {
    let x = &o.overloaded;
    let _ = writeln!(
        h,
        "<section id=\"verdicts\" class=\"verdicts fail\">\n<h2>FAIL: overloaded, the design has no steady state</h2>\n\
         <p>Service <strong>{}</strong> is offered {} of its capacity ({} req/s arriving, {} req/s at most with {} workers). \
         Replication {} stopped at {} of simulated time with {} requests in flight ({} queued at {}).</p>\n</section>",
        escape(&x.service),
        percent(x.offered_load),
        rate(x.arrival_rate_rps),
        rate(x.capacity_rps),
        x.workers,
        x.replication,
        seconds(x.at_s),
        group(x.in_flight),
        group(x.queued),
        escape(&x.service),
    );
}

fn sweep_summary(h: &mut String, r: &SweepResults, as_verdict: bool) {
    let met: Vec<_> = r.points.iter().filter(|p| p.slo_met).collect();
    let cheapest = met
        .iter()
        .filter(|p| p.cost_per_hour_usd.is_some())
        .min_by(|a, b| {
            a.cost_per_hour_usd
                .unwrap()
                .total_cmp(&b.cost_per_hour_usd.unwrap())
        });
    let class = if met.is_empty() { "fail" } else { "pass" };
    let (id, attrs) = if as_verdict {
        ("verdicts", format!(" class=\"verdicts {class}\""))
    } else {
        ("sweep", String::new())
    };
    let _ = writeln!(
        h,
        "<section id=\"{id}\"{attrs}>\n<h2>Sweep: {} of {} points meet every SLO</h2>",
        met.len(),
        r.points.len()
    );
    if let Some(p) = cheapest {
        let settings: Vec<String> = r
            .axes
            .iter()
            .zip(&p.values)
            .map(|(a, v)| format!("{} = {}", escape(a), escape(&v.label())))
            .collect();
        let _ = writeln!(
            h,
            "<p>Cheapest point meeting every SLO: <strong>{}</strong>, at {}/h with p99 {}.</p>",
            settings.join(", "),
            usd(p.cost_per_hour_usd.unwrap_or(0.0)),
            p.p99_ms.map_or("—".into(), ms)
        );
    }
    h.push_str("</section>\n");
}

/// A paired difference in its unit, with its interval unless that is a point, as the
/// terminal's comparison writes it: `-310 (-350 .. -270)`.
fn difference(key: &str, d: &Diff) -> String {
    // `signed` hands `unit` the size, never a negative number.
    let unit = |v: f64| match key {
        "failed_requests" | "degraded_requests" => group(v.round() as u64),
        "p99_ms" | "worst_window_p99_ms" => ms(v),
        "extra_cost_usd" => usd(v),
        "rollout_s" | "decided_at_s" => duration(v),
        _ => replicas(v),
    };
    let one = |v: f64| signed(v, unit);
    if d.low == d.high {
        one(d.diff)
    } else {
        format!("{} ({} .. {})", one(d.diff), one(d.low), one(d.high))
    }
}

/// The comparison's tables: each strategy's pooled figures, then the paired differences
/// against the baseline.
fn compare_summary(h: &mut String, c: &Compared) {
    let rows = &c.doc.strategies;
    let met = rows.iter().filter(|r| r.slo_met).count();
    let class = if met == 0 { "fail" } else { "pass" };
    let _ = writeln!(
        h,
        "<section id=\"verdicts\" class=\"verdicts {class}\">\n<h2>Compare: {met} of {} \
         strategies meet every SLO in every replication</h2>\n<table id=\"comparison\">\n<thead><tr>\
         <th>strategy</th><th>outcome</th><th>decided</th><th>rollout</th><th>p99</th>\
         <th>worst window p99</th><th>failed</th><th>degraded</th><th>extra cost</th>\
         <th>peak</th><th>SLO</th></tr></thead>\n<tbody>",
        rows.len()
    );
    for r in rows {
        let (class, word) = if r.slo_met {
            ("pass", "PASS")
        } else {
            ("fail", "FAIL")
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"name\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><span class=\"badge {class}\">{word}</span></td></tr>",
            escape(&r.strategy),
            escape(&r.outcome),
            r.decided_at_s.map_or("—".into(), duration),
            duration(r.rollout_s),
            ms(r.p99_ms),
            ms(r.worst_window_p99_ms),
            group(r.failed_requests.max(0.0).round() as u64),
            group(r.degraded_requests.max(0.0).round() as u64),
            usd(r.extra_cost_usd),
            group(r.peak_replicas.max(0.0).round() as u64),
        );
    }
    h.push_str("</tbody>\n</table>\n");
    let keys: Vec<&str> = rows
        .iter()
        .flat_map(|r| r.vs_baseline.iter().map(|(k, _)| k.as_str()))
        .fold(Vec::new(), |mut keys, k| {
            if !keys.contains(&k) {
                keys.push(k);
            }
            keys
        });
    if !keys.is_empty() {
        let heading = |k: &str| match k {
            "failed_requests" => "failed".to_string(),
            "degraded_requests" => "degraded".to_string(),
            "p99_ms" => "p99".to_string(),
            "worst_window_p99_ms" => "worst window p99".to_string(),
            "extra_cost_usd" => "extra cost".to_string(),
            "rollout_s" => "rollout".to_string(),
            "decided_at_s" => "decided".to_string(),
            "peak_replicas" => "peak".to_string(),
            other => escape(other),
        };
        let _ = write!(
            h,
            "<p>Against <strong>{}</strong>: the mean of the per-replication differences and \
             its paired 95% interval.</p>\n<table id=\"differences\">\n<thead><tr><th>strategy</th>",
            escape(&c.doc.baseline)
        );
        for k in &keys {
            let _ = write!(h, "<th>{}</th>", heading(k));
        }
        h.push_str("</tr></thead>\n<tbody>\n");
        for r in rows.iter().filter(|r| !r.vs_baseline.is_empty()) {
            let _ = write!(h, "<tr><td class=\"name\">{}</td>", escape(&r.strategy));
            for k in &keys {
                let cell = r
                    .vs_baseline
                    .iter()
                    .find(|(key, _)| key == k)
                    .map_or("—".into(), |(key, d)| difference(key, d));
                let _ = write!(h, "<td>{cell}</td>");
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody>\n</table>\n");
    }
    h.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            escape("../../etc/x<script>alert(1)</script>"),
            "../../etc/x&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(escape("a & \"b\" 'c'"), "a &amp; &quot;b&quot; &#39;c&#39;");
        assert_eq!(escape("a\u{1}b\n"), "a\u{FFFD}b\n");
        assert_eq!(group(1_045_133), "1,045,133");
        assert_eq!(group(999), "999");
    }

    #[test]
    fn the_page_prints_each_figure_as_the_terminal_does() {
        let text = serde_json::json!({
            "scenario": "shop", "seed": 1, "replications": 2, "duration_s": 5400.0, "warmup_s": 60.0,
            "requests": { "arrived": 1045133, "succeeded": 1045000, "failed": 133, "rejected": 0, "timed_out": 0 },
            "throughput_rps": 600.66, "availability": 0.99987,
            "latency_ms": { "mean": 7.838, "p50": 6.734, "p90": 14.0, "p95": 17.0, "p99": 24.74, "p999": 1234.5, "max": 2000.0 },
            "cost": { "total_usd": 0.75, "per_hour_usd": 0.669, "per_million_requests_usd": 0.231 },
            "services": { "api": { "utilization": 0.6, "mean_replicas": 2.5, "cost_per_hour_usd": 0.669,
                                   "latency_ms": { "p99": 24.74 }, "theory": {} } },
            "slo": [ { "objective": "p99", "target": 40.0, "observed": 24.74, "met": true, "ci95": [24.1, 25.3] } ],
            "slo_met": true
        });
        let input = Input {
            summary: Some(super::super::data::parse_summary(&text.to_string()).unwrap()),
            timeseries: None,
            sweep: None,
            compare: None,
            scenario: None,
            objectives: Vec::new(),
        };
        let page = page(&input, &[], &[]);
        // The strings `capsim run` prints for the same figures (format::ms, percent, usd,
        // req_per_s, replicas, group, seconds), not the charts' three-digit labels.
        for expected in [
            "<dd>24.74 ms</dd>",
            "<dd>1.234 s</dd>",
            "<dd>600.7 req/s</dd>",
            "<dd>99.987%</dd>",
            "<dd>$0.67</dd>",
            "<dd>$0.23</dd>",
            "<dd>1,045,133</dd>",
            "<td>≤ 40.00 ms</td><td>24.74 ms</td><td>24.10 ms to 25.30 ms",
            "<td>2.50</td><td>$0.67</td>",
            "1.5h simulated, 1m warm-up",
        ] {
            assert!(page.contains(expected), "{expected} in\n{page}");
        }
        assert!(!page.contains("24.7 ms"), "{page}");
    }
}
