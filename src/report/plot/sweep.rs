//! The charts of a sweep (`results.csv`): p99 with its confidence interval against the swept
//! value, cost against p99 for every point with the Pareto frontier and the feasible region,
//! and a heat map for two-axis grids.

use super::super::data::{AxisValue, SweepPoint, SweepResults};
use super::super::figure::{
    color, extent, shorten, Axis, Cell, Figure, Layer, Mark, Rgb, GREEN, GREY, PALETTE, RED, SIZE,
};
use super::super::format::{sig, sig_ms, time_unit};

/// Every sweep chart the results have data for.
pub fn figures(r: &SweepResults, objectives: &[(String, f64)]) -> Vec<Figure> {
    if r.points.is_empty() || r.axes.is_empty() {
        return Vec::new();
    }
    let p99_target = objectives.iter().find(|(o, _)| o == "p99").map(|(_, t)| *t);
    let mut out = Vec::new();
    out.extend(p99_against_value(r, p99_target));
    out.extend(cost_against_p99(r, p99_target));
    out.extend(heat_map(r, p99_target));
    out
}

/// Where each value of axis `i` sits on the x axis: its number, or its position for names.
fn placement(r: &SweepResults, i: usize) -> (Vec<AxisValue>, bool) {
    let values = r.values(i);
    let numeric = values.iter().all(|v| matches!(v, AxisValue::Number(_)));
    (values, numeric)
}

fn x_of(values: &[AxisValue], numeric: bool, v: &AxisValue) -> f64 {
    match (numeric, v) {
        (true, AxisValue::Number(x)) => *x,
        _ => values.iter().position(|w| w == v).unwrap_or(0) as f64 + 0.5,
    }
}

fn overloaded(r: &SweepResults) -> usize {
    r.points.iter().filter(|p| p.p99_ms.is_none()).count()
}

/// p99 against the first axis's value (one line per value of the second axis, if any), with
/// 95% intervals, the p99 objective, and theory's curve where there is one.
pub fn p99_against_value(r: &SweepResults, target: Option<f64>) -> Option<Figure> {
    let (values, numeric) = placement(r, 0);
    let groups: Vec<Option<AxisValue>> = if r.axes.len() > 1 {
        r.values(1).into_iter().take(7).map(Some).collect()
    } else {
        vec![None]
    };
    let mut layers = Vec::new();
    let mut ys = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let mut points: Vec<(f64, &SweepPoint)> = r
            .points
            .iter()
            .filter(|p| group.as_ref().is_none_or(|v| p.values.get(1) == Some(v)))
            .filter(|p| p.p99_ms.is_some())
            .map(|p| (x_of(&values, numeric, &p.values[0]), p))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        if points.is_empty() {
            continue;
        }
        let name = match group {
            Some(v) => format!(
                "p99, {} = {}",
                shorten(&r.axes[1], 30),
                shorten(&v.label(), 16)
            ),
            None => "p99 (simulated)".to_string(),
        };
        let line: Vec<(f64, f64)> = points
            .iter()
            .map(|(x, p)| (*x, p.p99_ms.unwrap()))
            .collect();
        let bars: Vec<(f64, f64, f64)> = points
            .iter()
            .filter_map(|(x, p)| Some((*x, p.p99_ms_low?, p.p99_ms_high?)))
            .collect();
        ys.extend(line.iter().map(|p| p.1));
        ys.extend(bars.iter().flat_map(|b| [b.1, b.2]));
        let c = color(g);
        layers.push(Layer::named(
            &name,
            c,
            Mark::Line {
                points: line.clone(),
                width: 2,
            },
        ));
        layers.push(Layer::named(&name, c, Mark::Points { points: line }));
        if !bars.is_empty() {
            layers.push(Layer::named("95% interval", c, Mark::ErrorBars { bars }));
        }
    }
    if layers.is_empty() {
        return None;
    }
    if !r.theory_p99.is_empty() {
        ys.extend(r.theory_p99.iter().map(|p| p.1));
        // A broad light band under the simulated points, which should sit on it.
        layers.insert(
            0,
            Layer::named(
                "M/M/c theory",
                Rgb(170, 170, 170),
                Mark::Line {
                    points: r.theory_p99.clone(),
                    width: 6,
                },
            ),
        );
    }
    if let Some(t) = target {
        ys.push(t);
        layers.push(Layer::named(
            &format!("p99 objective ({})", sig_ms(t)),
            RED,
            Mark::HLine { y: t },
        ));
    }
    let (_, top) = extent(ys).unwrap_or((0.0, 1.0));
    let x = if numeric {
        let nums: Vec<f64> = values
            .iter()
            .filter_map(|v| match v {
                AxisValue::Number(x) => Some(*x),
                AxisValue::Name(_) => None,
            })
            .collect();
        let (lo, hi) = extent(nums).unwrap_or((0.0, 1.0));
        let pad = (hi - lo).max(lo.abs() * 0.1).max(1e-9) * 0.05;
        Axis::linear_exact(&axis_label(&r.axes[0]), lo - pad, hi + pad)
    } else {
        let names: Vec<String> = values.iter().map(AxisValue::label).collect();
        Axis::categories(&axis_label(&r.axes[0]), &names)
    };
    let skipped = overloaded(r);
    let mut figure = Figure {
        name: "sweep_p99".into(),
        title: format!("p99 latency against {}", shorten(&r.axes[0], 40)),
        x,
        y: Axis::linear("p99 latency (ms)", 0.0, top * 1.08),
        layers,
        caption: format!(
            "Each point's pooled p99, with its 95% interval across replications where there \
             were several, and the p99 objective as a dashed line.{}",
            if skipped > 0 {
                format!(" {skipped} overloaded point(s) have no latency and are not drawn.")
            } else {
                String::new()
            }
        ),
        size: SIZE,
    };
    let (unit, per) = time_unit(top);
    figure.rescale(false, per, &format!("p99 latency ({unit})"));
    Some(figure)
}

/// The points no other point beats on both cost and p99, cheapest first.
pub fn pareto_frontier(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    // (p99, cost), sorted by cost then p99: a point is on the frontier when it is faster than
    // every cheaper one.
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.total_cmp(&b.0)));
    let mut frontier: Vec<(f64, f64)> = Vec::new();
    for p in sorted {
        if frontier.last().is_none_or(|f| p.0 < f.0) {
            frontier.push(p);
        }
    }
    frontier
}

/// Cost against p99 for every point: those meeting every SLO in green, the others in grey, the
/// Pareto frontier as a line, the region the p99 objective allows shaded, the cheapest point
/// that meets every SLO marked.
pub fn cost_against_p99(r: &SweepResults, target: Option<f64>) -> Option<Figure> {
    let measured: Vec<&SweepPoint> = r
        .points
        .iter()
        .filter(|p| p.p99_ms.is_some() && p.cost_per_hour_usd.is_some())
        .collect();
    if measured.is_empty() {
        return None;
    }
    let xy = |p: &SweepPoint| (p.p99_ms.unwrap(), p.cost_per_hour_usd.unwrap());
    let (met, missed): (Vec<&SweepPoint>, Vec<&SweepPoint>) =
        measured.iter().partition(|p| p.slo_met);
    let all: Vec<(f64, f64)> = measured.iter().map(|p| xy(p)).collect();
    let (xlo, xhi) = extent(all.iter().map(|p| p.0).chain(target)).unwrap();
    let (_, yhi) = extent(all.iter().map(|p| p.1)).unwrap();
    let x = Axis::linear("p99 latency (ms)", 0.0_f64.min(xlo), xhi * 1.08);
    let y = Axis::linear("cost (USD per hour)", 0.0, yhi.max(1e-9) * 1.1);
    let mut layers = Vec::new();
    if let Some(t) = target {
        layers.push(Layer::named(
            &format!("p99 within its objective ({})", sig_ms(t)),
            GREEN,
            Mark::Area {
                polygon: vec![(x.lo, y.lo), (t, y.lo), (t, y.hi), (x.lo, y.hi)],
            },
        ));
    }
    layers.push(Layer::named(
        "Pareto frontier",
        PALETTE[0],
        Mark::Line {
            points: pareto_frontier(&all),
            width: 2,
        },
    ));
    if !missed.is_empty() {
        layers.push(Layer::named(
            "misses an SLO",
            GREY,
            Mark::Points {
                points: missed.iter().map(|p| xy(p)).collect(),
            },
        ));
    }
    if !met.is_empty() {
        layers.push(Layer::named(
            "meets every SLO",
            GREEN,
            Mark::Points {
                points: met.iter().map(|p| xy(p)).collect(),
            },
        ));
        let cheapest = met
            .iter()
            .map(|p| xy(p))
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.total_cmp(&b.0)))
            .unwrap();
        layers.push(Layer::named(
            "cheapest meeting every SLO",
            RED,
            Mark::Crosses {
                points: vec![cheapest],
            },
        ));
    }
    let mut figure = Figure {
        name: "sweep_cost_p99".into(),
        title: "Cost against p99 latency, every point of the sweep".into(),
        x,
        y,
        layers,
        caption: format!(
            "{} points with a latency ({} meet every SLO). The Pareto frontier joins the \
             points that no other point beats on both cost and p99.",
            measured.len(),
            met.len()
        ),
        size: SIZE,
    };
    let (unit, per) = time_unit(xhi);
    figure.rescale(true, per, &format!("p99 latency ({unit})"));
    Some(figure)
}

/// For a two-axis grid: p99 in each cell, green where every SLO is met, red shades where one
/// is missed (darker the further p99 is over its objective), grey where overloaded.
pub fn heat_map(r: &SweepResults, target: Option<f64>) -> Option<Figure> {
    if r.axes.len() != 2 {
        return None;
    }
    let (xs, ys) = (r.values(0), r.values(1));
    let mut cells = Vec::new();
    for p in &r.points {
        let i = xs.iter().position(|v| *v == p.values[0])? as f64;
        let j = ys.iter().position(|v| *v == p.values[1])? as f64;
        let (c, text) = match p.p99_ms {
            None => (Rgb(200, 200, 200), "overloaded".to_string()),
            Some(v) if p.slo_met => (Rgb(120, 200, 140), sig(v)),
            Some(v) => {
                let over = target.map_or(1.0, |t| (v / t).clamp(1.0, 4.0));
                let shade = (230.0 - 40.0 * over) as u8;
                (Rgb(240, shade, shade), sig(v))
            }
        };
        cells.push(Cell {
            x0: i + 0.03,
            x1: i + 0.97,
            y0: j + 0.03,
            y1: j + 0.97,
            color: c,
            text,
        });
    }
    let labels = |v: &[AxisValue]| -> Vec<String> { v.iter().map(AxisValue::label).collect() };
    Some(Figure {
        name: "sweep_heatmap".into(),
        title: "p99 latency (ms) over the grid".into(),
        x: Axis::categories(&axis_label(&r.axes[0]), &labels(&xs)),
        y: Axis::categories(&axis_label(&r.axes[1]), &labels(&ys)),
        layers: vec![
            Layer::named("meets every SLO", Rgb(120, 200, 140), Mark::Cells { cells }),
            // Legend entries for the other colors the cells take.
            Layer::named(
                "misses an SLO",
                Rgb(240, 150, 150),
                Mark::Cells { cells: Vec::new() },
            ),
            Layer::named(
                "overloaded",
                Rgb(200, 200, 200),
                Mark::Cells { cells: Vec::new() },
            ),
        ],
        caption: "Each cell is one point of the grid, showing its p99 in milliseconds.".into(),
        size: SIZE,
    })
}

/// A swept key path as an axis label, with the unit of the keys whose unit is fixed
/// (`traffic.rate (req/s)`); other paths as written.
fn axis_label(path: &str) -> String {
    let last = path.rsplit('.').next().unwrap_or(path);
    let unit = match last {
        "rate" if path.starts_with("traffic.") => Some("req/s"),
        "replicas" | "min" | "max" => Some("replicas"),
        "concurrency" => Some("workers per replica"),
        "queue_capacity" => Some("places per replica"),
        "capacity" => Some("keys"),
        "price_per_hour" => Some("USD per replica-hour"),
        _ => None,
    };
    match unit {
        Some(unit) => format!("{path} ({unit})"),
        None => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn the_pareto_frontier_keeps_points_no_other_beats() {
        // (p99, cost): (30, 1) beats (35, 2); (20, 2) and (10, 4) are each best at their cost.
        let points = [
            (30.0, 1.0),
            (35.0, 2.0),
            (20.0, 2.0),
            (10.0, 4.0),
            (15.0, 5.0),
        ];
        assert_eq!(
            pareto_frontier(&points),
            [(30.0, 1.0), (20.0, 2.0), (10.0, 4.0)]
        );
    }

    #[test]
    fn a_two_axis_sweep_gives_p99_lines_cost_against_p99_and_a_heat_map() {
        let r = SweepResults::parse_csv(&sample::results_csv(2..=6, &[150.0, 300.0])).unwrap();
        let figs = figures(&r, &[("p99".into(), 40.0)]);
        let names: Vec<&str> = figs.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["sweep_p99", "sweep_cost_p99", "sweep_heatmap"]);

        // One line per rate, with intervals; the objective; x over the replica counts.
        let p99 = &figs[0];
        let lines = p99
            .layers
            .iter()
            .filter(|l| matches!(l.mark, Mark::Line { .. }))
            .count();
        assert_eq!(lines, 2);
        assert!(p99.layers.iter().any(|l| l.mark == Mark::HLine { y: 40.0 }));
        assert!(p99.x.lo < 2.0 && p99.x.hi > 6.0 && !p99.x.categorical);
        assert_eq!(p99.x.label, "service.api.replicas (replicas)");
        // 2 and 3 replicas at 300 req/s are overloaded (rho 1.5 and 1): 8 of 10 points have a
        // p99.
        let drawn: usize = p99
            .layers
            .iter()
            .map(|l| match &l.mark {
                Mark::Points { points } => points.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(drawn, 8);

        let cost = &figs[1];
        assert_eq!(cost.x.label, "p99 latency (ms)");
        assert_eq!(cost.y.label, "cost (USD per hour)");
        let Mark::Area { polygon } = &cost.layers[0].mark else {
            panic!("the feasible region first")
        };
        assert!(polygon.iter().any(|p| p.0 == 40.0));
        let Mark::Crosses { points } = &cost.layers_named("cheapest meeting every SLO")[0].mark
        else {
            panic!("a cross")
        };
        // The cheapest point with p99 <= 40 ms: 2 replicas at 150 req/s (rho 0.75, p99 40).
        assert_eq!(points, &[(40.0, 0.2)]);

        let heat = &figs[2];
        let Mark::Cells { cells } = &heat.layers[0].mark else {
            panic!("cells")
        };
        assert_eq!(cells.len(), 10);
        assert!(cells.iter().any(|c| c.text == "overloaded"));
        assert_eq!((heat.x.ticks.len(), heat.y.ticks.len()), (5, 2));
    }

    #[test]
    fn a_one_axis_sweep_draws_theory_where_given_and_no_heat_map() {
        let mut r = SweepResults::parse_csv(&sample::results_csv(2..=8, &[150.0])).unwrap();
        r.axes.truncate(1);
        for p in &mut r.points {
            p.values.truncate(1);
        }
        r.theory_p99 = vec![(2.0, 40.0), (8.0, 12.0)];
        let figs = figures(&r, &[]);
        assert_eq!(figs.len(), 2);
        assert!(figs[0].legend().contains(&"M/M/c theory"));
        assert!(!figs[0]
            .layers
            .iter()
            .any(|l| matches!(l.mark, Mark::HLine { .. })));
    }

    #[test]
    fn swept_keys_with_a_fixed_unit_say_it() {
        assert_eq!(axis_label("traffic.rate"), "traffic.rate (req/s)");
        assert_eq!(
            axis_label("service.api.autoscale.max"),
            "service.api.autoscale.max (replicas)"
        );
        assert_eq!(axis_label("service.db.error_rate"), "service.db.error_rate");
    }
}
