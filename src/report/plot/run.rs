//! The charts one run supports: the latency distribution, cost and utilization per service,
//! and requests by outcome.

use super::super::data::{Class, RunDoc};
use super::super::figure::{
    color, extent, shorten, Axis, Bar, Figure, Layer, Mark, GREY, PALETTE, RED, SIZE,
};
use super::super::format::{
    duration, group, sig, sig_count, sig_ms, sig_percent, sig_usd, time_unit,
};

/// Every single-run chart the summary has data for.
pub fn figures(s: &RunDoc) -> Vec<Figure> {
    let mut out = Vec::new();
    out.extend(latency_cdf(s));
    out.push(outcomes(s));
    out.push(utilization(s));
    out.push(cost_per_service(s));
    out
}

/// The classes drawn as their own series: all of them when there are several.
fn drawn_classes(s: &RunDoc) -> Vec<&Class> {
    if s.classes.len() > 1 {
        s.classes
            .iter()
            .filter(|c| c.latency_cdf_ms.len() > 1)
            .collect()
    } else {
        Vec::new()
    }
}

/// The latency CDF with its tail in nines: y is the fraction of requests answered within x,
/// on a scale where 90%, 99%, 99.9% and 99.99% are equally spaced, so the tail is as readable
/// as the body. One line for all requests, one per class where there are classes; the latency
/// objectives as crosses at their quantile. `None` when no request succeeded.
pub fn latency_cdf(s: &RunDoc) -> Option<Figure> {
    // The last point is (1, max): infinitely far up a nines axis, so it is left out.
    let finite = |cdf: &[(f64, f64)]| -> Vec<(f64, f64)> {
        cdf.iter()
            .filter(|p| p.0 < 1.0)
            .map(|&(q, v)| (v, q))
            .collect()
    };
    let all = finite(&s.latency_cdf_ms);
    if all.len() < 2 {
        return None;
    }
    let mut series = vec![(
        format!("all requests (p99 {})", sig_ms(s.latency_ms.p99)),
        all,
    )];
    for c in drawn_classes(s) {
        series.push((
            format!(
                "class {} (p99 {})",
                shorten(&c.name, 24),
                sig_ms(c.latency_ms.p99)
            ),
            finite(&c.latency_cdf_ms),
        ));
    }
    // The latency objectives with a quantile, the classes' included, each point once.
    let mut objectives: Vec<(f64, f64)> = Vec::new();
    for v in s.slo.iter().chain(s.classes.iter().flat_map(|c| &c.slo)) {
        if let Some(q) = v.quantile() {
            if !objectives.contains(&(v.target, q)) {
                objectives.push((v.target, q));
            }
        }
    }
    let top_q = series
        .iter()
        .flat_map(|(_, pts)| pts.iter().map(|p| p.1))
        .chain(objectives.iter().map(|o| o.1))
        .fold(0.0, f64::max);
    let nines = (-(1.0 - top_q).log10() - 1e-6).ceil().clamp(2.0, 5.0) as u32;
    // Start the x axis at the 1st percentile: the very fastest requests say little.
    let xs = series
        .iter()
        .flat_map(|(_, pts)| pts.iter().filter(|p| p.1 >= 0.01).map(|p| p.0))
        .chain(objectives.iter().map(|o| o.0));
    let (lo, hi) = extent(xs).unwrap_or((0.0, 1.0));
    let label = "latency (ms)";
    let x = if lo > 0.0 && hi / lo > 30.0 {
        Axis::log(label, lo, hi)
    } else {
        Axis::linear(label, 0.0, hi * 1.05)
    };
    let mut layers: Vec<Layer> = series
        .into_iter()
        .enumerate()
        .map(|(i, (name, points))| {
            Layer::named(
                &name,
                color(i),
                Mark::Line {
                    points,
                    width: if i == 0 { 3 } else { 2 },
                },
            )
        })
        .collect();
    if !objectives.is_empty() {
        layers.push(Layer::named(
            "latency objectives (SLO)",
            RED,
            Mark::Crosses { points: objectives },
        ));
    }
    let mut figure = Figure {
        name: "latency_cdf".into(),
        title: "Latency distribution: share of requests answered within a time".into(),
        x,
        y: Axis::nines("requests answered (cumulative, tail in nines)", nines),
        layers,
        caption: "The cumulative distribution of end-to-end latency of succeeded requests. \
                  The vertical axis is in nines (90%, 99%, 99.9%, ...), so the tail is as \
                  readable as the body; a cross marks each latency objective (the classes' \
                  too) at its percentile: a curve passing left of a cross meets it."
            .into(),
        size: SIZE,
    };
    let (unit, per) = time_unit(hi);
    figure.rescale(true, per, &format!("latency ({unit})"));
    Some(figure)
}

/// Requests per second of the measured window by how they ended, per class where there are
/// classes; each bar labelled with its rate.
pub fn outcomes(s: &RunDoc) -> Figure {
    let kinds = ["succeeded", "degraded", "failed", "rejected", "timed out"];
    let window = s.measured_s().max(1e-9);
    let mut groups: Vec<(String, [u64; 5])> = Vec::new();
    let counts = |c: &super::super::data::Counts| {
        [c.succeeded, c.degraded, c.failed, c.rejected, c.timed_out]
    };
    if s.classes.len() > 1 {
        for c in &s.classes {
            groups.push((
                format!("class {}", shorten(&c.name, 24)),
                counts(&c.requests),
            ));
        }
    } else {
        groups.push(("all requests".into(), counts(&s.requests)));
    }
    let n = groups.len() as f64;
    let mut layers = Vec::new();
    let mut top: f64 = 0.0;
    for (g, (name, values)) in groups.iter().enumerate() {
        let bars = values
            .iter()
            .enumerate()
            .map(|(k, &count)| {
                let rate = count as f64 / window;
                top = top.max(rate);
                let x0 = k as f64 + 0.1 + 0.8 * g as f64 / n;
                Bar {
                    x0,
                    x1: x0 + 0.8 / n,
                    y0: 0.0,
                    y1: rate,
                    label: Some(format!("{}/s", sig(rate))),
                }
            })
            .collect();
        layers.push(Layer::named(
            name,
            color(g),
            Mark::Bars {
                bars,
                horizontal: false,
            },
        ));
    }
    let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
    Figure {
        name: "outcomes".into(),
        title: "Requests by outcome (measured window)".into(),
        x: Axis::categories("outcome", &kinds),
        y: Axis::linear("requests per second", 0.0, (top * 1.12).max(1e-9)),
        layers,
        caption: format!(
            "How the requests that arrived in the measured window ended, per second of window \
             ({} arrived in all). Degraded requests are a part of the succeeded ones: \
             answered, but an optional call on the way failed.",
            group(s.requests.arrived)
        ),
        size: SIZE,
    }
}

/// Service names top to bottom: horizontal bars list the first service at the top.
fn service_axis(s: &RunDoc) -> Axis {
    let names: Vec<String> = s.services.iter().rev().map(|v| v.name.clone()).collect();
    Axis::categories("service", &names)
}

/// Busy workers over all workers per service, simulated beside queueing theory where it has a
/// closed form.
pub fn utilization(s: &RunDoc) -> Figure {
    let n = s.services.len();
    let mut simulated = Vec::new();
    let mut theory = Vec::new();
    let mut top: f64 = 100.0;
    for (i, svc) in s.services.iter().enumerate() {
        let row = (n - 1 - i) as f64;
        let has_theory = svc.theory.utilization.is_some();
        let (y_sim, h) = if has_theory {
            (row + 0.5, 0.34)
        } else {
            (row + 0.15, 0.7)
        };
        let u = svc.utilization * 100.0;
        top = top.max(u);
        simulated.push(Bar {
            x0: 0.0,
            x1: u,
            y0: y_sim,
            y1: y_sim + h,
            label: Some(sig_percent(u)),
        });
        if let Some(t) = svc.theory.utilization {
            let t = t * 100.0;
            top = top.max(t);
            theory.push(Bar {
                x0: 0.0,
                x1: t,
                y0: row + 0.14,
                y1: row + 0.48,
                label: Some(format!(
                    "{t:.1}% ({})",
                    svc.theory.model.as_deref().unwrap_or("")
                )),
            });
        }
    }
    let mut layers = vec![Layer::named(
        "simulated",
        PALETTE[0],
        Mark::Bars {
            bars: simulated,
            horizontal: true,
        },
    )];
    if !theory.is_empty() {
        layers.push(Layer::named(
            "queueing theory",
            PALETTE[1],
            Mark::Bars {
                bars: theory,
                horizontal: true,
            },
        ));
    }
    Figure {
        name: "utilization".into(),
        title: "Utilization per service: simulated and theory".into(),
        x: Axis::linear_exact("utilization (% of workers busy)", 0.0, top * 1.22),
        y: service_axis(s),
        layers,
        caption: "The time-average share of each service's workers (replicas × concurrency) \
                  that were busy in the measured window, beside queueing theory's value where \
                  the service has a closed form (M/M/c, M/M/c/K, M/G/1)."
            .into(),
        size: SIZE,
    }
}

/// What each service costs per hour.
pub fn cost_per_service(s: &RunDoc) -> Figure {
    let n = s.services.len();
    let top = s
        .services
        .iter()
        .map(|v| v.cost_per_hour_usd)
        .fold(0.0, f64::max);
    let bars = s
        .services
        .iter()
        .enumerate()
        .map(|(i, svc)| {
            let row = (n - 1 - i) as f64;
            Bar {
                x0: 0.0,
                x1: svc.cost_per_hour_usd,
                y0: row + 0.2,
                y1: row + 0.8,
                label: Some(format!(
                    "${}/h ({} replica{})",
                    sig_usd(svc.cost_per_hour_usd),
                    sig_count(svc.mean_replicas),
                    if svc.mean_replicas == 1.0 { "" } else { "s" }
                )),
            }
        })
        .collect();
    let x = if top > 0.0 {
        Axis::linear_exact("cost (USD per hour)", 0.0, top * 1.35)
    } else {
        Axis::linear("cost (USD per hour)", 0.0, 1.0)
    };
    // What the bars leave out: fixed monthly items and traffic between regions.
    let services_usd: f64 = s.services.iter().map(|v| v.cost_per_hour_usd).sum();
    let other_usd = s.cost.per_hour_usd - services_usd;
    let title = if other_usd > 1e-9 * s.cost.per_hour_usd.abs().max(1e-9) {
        format!(
            "Cost per service: ${}/h; ${}/h in all with ${}/h fixed and cross-region",
            sig_usd(services_usd),
            sig_usd(s.cost.per_hour_usd),
            sig_usd(other_usd),
        )
    } else {
        format!(
            "Cost per service: ${}/h in all, ${} per million requests",
            sig_usd(s.cost.per_hour_usd),
            sig_usd(s.cost.per_million_requests_usd)
        )
    };
    Figure {
        name: "cost_per_service".into(),
        title,
        x,
        y: service_axis(s),
        layers: vec![Layer::named(
            "replicas × price per hour",
            if top > 0.0 { PALETTE[2] } else { GREY },
            Mark::Bars {
                bars,
                horizontal: true,
            },
        )],
        caption: format!(
            "Each service's replicas times its price per replica-hour, and its price per \
             request; the total adds fixed monthly items and traffic between regions. The \
             run of one replication ({}) cost ${} in all, ${} per million requests.",
            duration(s.duration_s),
            sig_usd(s.cost.total_usd),
            sig_usd(s.cost.per_million_requests_usd)
        ),
        size: SIZE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::data::{parse_summary, Doc};

    /// A summary with two classes, two services (one with theory) and a p99 objective.
    fn summary() -> RunDoc {
        let cdf = |scale: f64| -> serde_json::Value {
            (0..=160)
                .map(|k| {
                    let q = 1.0 - 10f64.powf(-f64::from(k) / 40.0);
                    serde_json::json!([q, scale * (1.0 + 10.0 * q * q)])
                })
                .chain(std::iter::once(serde_json::json!([1.0, scale * 30.0])))
                .collect()
        };
        let text = serde_json::json!({
            "scenario": "shop", "seed": 1, "replications": 2, "duration_s": 3600.0, "warmup_s": 600.0,
            "requests": { "arrived": 60000, "succeeded": 59000, "failed": 600, "rejected": 300, "timed_out": 100, "degraded": 50 },
            "throughput_rps": 9.83, "availability": 0.983,
            "latency_ms": { "mean": 4.0, "p50": 3.0, "p90": 8.0, "p95": 9.0, "p99": 10.8, "p999": 11.0, "max": 30.0 },
            "latency_cdf_ms": cdf(1.0),
            "cost": { "total_usd": 1.5, "per_hour_usd": 1.5, "per_million_requests_usd": 42.4 },
            "services": {
                "api": { "utilization": 0.6, "mean_replicas": 3.0, "cost_per_hour_usd": 1.2,
                         "theory": { "model": "M/M/3", "utilization": 0.61 } },
                "db": { "utilization": 0.2, "mean_replicas": 1.0, "cost_per_hour_usd": 0.3, "theory": {} }
            },
            "classes": {
                "browse": { "requests": { "arrived": 40000, "succeeded": 39500 }, "latency_ms": { "p99": 10.8 }, "latency_cdf_ms": cdf(1.0) },
                "buy": { "requests": { "arrived": 20000, "succeeded": 19500 }, "latency_ms": { "p99": 21.6 }, "latency_cdf_ms": cdf(2.0) }
            },
            "slo": [ { "objective": "p99", "target": 20.0, "observed": 10.8, "met": true },
                     { "objective": "availability", "target": 0.999, "observed": 0.983, "met": false } ],
            "slo_met": false
        });
        match parse_summary(&text.to_string()).unwrap() {
            Doc::Completed(s) => *s,
            Doc::Overloaded(_) => unreachable!(),
        }
    }

    #[test]
    fn the_cdf_has_a_line_per_class_the_objective_and_a_nines_axis() {
        let s = summary();
        let fig = latency_cdf(&s).unwrap();
        assert_eq!(
            fig.legend(),
            [
                "all requests (p99 10.8 ms)",
                "class browse (p99 10.8 ms)",
                "class buy (p99 21.6 ms)",
                "latency objectives (SLO)"
            ]
        );
        // The q = 1 point (the maximum) is off a nines axis; the rest are drawn.
        let Mark::Line { points, .. } = &fig.layers[0].mark else {
            panic!("a line")
        };
        assert_eq!(points.len(), 161);
        // Up to 1 - q = 1e-4: four nines, 99.99% at the top.
        assert_eq!(fig.y.ticks.last().unwrap().label, "99.99%");
        assert!((fig.y.range().1 - 4.0).abs() < 1e-9);
        // Latency from 1 ms to 2 x 11 ms and the 20 ms objective: a linear axis from 0.
        assert_eq!(fig.x.lo, 0.0);
        assert!(fig.x.hi >= 22.0 && fig.x.hi <= 30.0, "{}", fig.x.hi);
        let Mark::Crosses { points } = &fig.layers[3].mark else {
            panic!("crosses")
        };
        assert_eq!(points, &[(20.0, 0.99)]);
    }

    #[test]
    fn hour_scale_latency_is_charted_in_hours_not_millions_of_ms() {
        // Every latency times 360,000 (1 ms becomes 6 minutes): the body runs from 0.1 h to
        // 1.1 h and the 20 ms objective becomes 7.2e6 ms = 2 h, the axis' largest value.
        let mut s = summary();
        let hours = |points: &mut Vec<(f64, f64)>| {
            points.iter_mut().for_each(|p| p.1 *= 360_000.0);
        };
        hours(&mut s.latency_cdf_ms);
        s.classes
            .iter_mut()
            .for_each(|c| hours(&mut c.latency_cdf_ms));
        s.slo.iter_mut().for_each(|v| v.target *= 360_000.0);
        let fig = latency_cdf(&s).unwrap();
        assert_eq!(fig.x.label, "latency (h)");
        assert!(fig.x.hi >= 2.0 && fig.x.hi <= 3.0, "{}", fig.x.hi);
        let Mark::Crosses { points } = &fig.layers[3].mark else {
            panic!("crosses")
        };
        assert!((points[0].0 - 2.0).abs() < 1e-12, "{points:?}");
        let Mark::Line { points, .. } = &fig.layers[0].mark else {
            panic!("a line")
        };
        // The first point, 1 ms x 360,000 = 0.1 h.
        assert!((points[0].0 - 0.1).abs() < 1e-12, "{:?}", points[0]);
        assert!(
            fig.x.ticks.iter().all(|t| t.label.len() <= 4),
            "{:?}",
            fig.x.ticks
        );
        // Below a second the axis stays in ms.
        assert_eq!(latency_cdf(&summary()).unwrap().x.label, "latency (ms)");
    }

    #[test]
    fn the_cost_title_says_it_includes_fixed_and_cross_region_costs() {
        // Services $1.20 + $0.30 = $1.50/h; a total of $2.00/h leaves $0.50/h of fixed
        // monthly items and traffic between regions, which no bar shows.
        let mut s = summary();
        assert_eq!(
            cost_per_service(&s).title,
            "Cost per service: $1.50/h in all, $42.40 per million requests"
        );
        s.cost.per_hour_usd = 2.0;
        assert_eq!(
            cost_per_service(&s).title,
            "Cost per service: $1.50/h; $2.00/h in all with $0.50/h fixed and cross-region"
        );
    }

    #[test]
    fn outcome_utilization_and_cost_bars_match_the_summary() {
        let s = summary();
        let out = outcomes(&s);
        assert_eq!(out.legend(), ["class browse", "class buy"]);
        let Mark::Bars { bars, .. } = &out.layers[0].mark else {
            panic!("bars")
        };
        // browse: 39,500 succeeded over 2 x 3,000 s of window.
        assert_eq!(bars.len(), 5);
        assert!((bars[0].y1 - 39_500.0 / 6_000.0).abs() < 1e-9);
        assert_eq!(out.x.ticks.len(), 5);

        let util = utilization(&s);
        assert_eq!(util.legend(), ["simulated", "queueing theory"]);
        assert_eq!((util.x.lo, util.y.hi), (0.0, 2.0));
        let Mark::Bars { bars, .. } = &util.layers[1].mark else {
            panic!("bars")
        };
        assert_eq!(bars.len(), 1, "only api has theory");
        assert!((bars[0].x1 - 61.0).abs() < 1e-9);
        // The first service is drawn at the top.
        assert_eq!(util.y.ticks[1].label, "api");

        let cost = cost_per_service(&s);
        let Mark::Bars { bars, .. } = &cost.layers[0].mark else {
            panic!("bars")
        };
        assert_eq!(bars.iter().map(|b| b.x1).collect::<Vec<_>>(), [1.2, 0.3]);
        assert_eq!(bars[0].label.as_deref(), Some("$1.20/h (3 replicas)"));
        assert!(cost.x.hi >= 1.2);
        assert!(cost.title.contains("$1.50/h"));
    }
}
