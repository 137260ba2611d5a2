//! The charts of a comparison of deployment strategies (`compare.json` and each strategy's
//! `timeseries-STRATEGY.csv`): p99 over time, one line per strategy; and per strategy the
//! deployed service's replicas ready by version, on the same axes for every strategy, with
//! the rollout's phases shaded.

use super::super::data::{Compared, TimeSeries};
use super::super::figure::{color, extent, shorten, Axis, Figure, Layer, Mark, Rgb, RED, SIZE};
use super::super::format::{sig_ms, time_unit};

/// The phases shaded, with their colors; `pending` (before the rollout) and `done` (after it)
/// are not.
pub const PHASES: [(&str, Rgb); 8] = [
    ("progressing", Rgb(0, 158, 115)),
    ("preview", Rgb(86, 180, 233)),
    ("step", Rgb(230, 159, 0)),
    ("split", Rgb(240, 228, 66)),
    ("mirror", Rgb(150, 90, 200)),
    ("switched", Rgb(204, 121, 167)),
    ("paused", Rgb(120, 120, 120)),
    ("aborted", Rgb(200, 30, 30)),
];

/// The new version's line and the old one's.
const NEW: Rgb = Rgb(0, 114, 178);
const OLD: Rgb = Rgb(213, 94, 0);

/// Every chart of a comparison: `compare_p99`, then `compare_replicas_STRATEGY` per strategy.
pub fn figures(c: &Compared, objectives: &[(String, f64)]) -> Vec<Figure> {
    let series: Vec<&(String, TimeSeries)> =
        c.series.iter().filter(|(_, ts)| !ts.is_empty()).collect();
    if series.is_empty() {
        return Vec::new();
    }
    let x = shared_time_axis(&series);
    let mut out = Vec::new();
    out.extend(p99(&series, &x, objectives));
    out.extend(replicas(&series, &x));
    out
}

/// One time axis holding every strategy's windows.
fn shared_time_axis(series: &[&(String, TimeSeries)]) -> Axis {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for (_, ts) in series {
        let starts = ts.starts();
        let lengths = ts.lengths();
        if let (Some(first), Some(last), Some(len)) =
            (starts.first(), starts.last(), lengths.last())
        {
            lo = lo.min(*first);
            hi = hi.max(last + len);
        }
    }
    if !(lo.is_finite() && hi > lo) {
        (lo, hi) = (0.0, 1.0);
    }
    Axis::time(lo, hi)
}

/// p99 per window, one line per strategy, and the p99 objective as a dashed line.
fn p99(series: &[&(String, TimeSeries)], x: &Axis, objectives: &[(String, f64)]) -> Option<Figure> {
    let mut layers: Vec<Layer> = series
        .iter()
        .enumerate()
        .filter_map(|(i, (name, ts))| {
            // Recreate's gap has no p99: its line joins the windows around it.
            let points = ts.latency_points("p99_ms");
            (!points.is_empty()).then(|| {
                Layer::named(
                    &shorten(name, 24),
                    color(i),
                    Mark::Line { points, width: 2 },
                )
            })
        })
        .collect();
    if layers.is_empty() {
        return None;
    }
    let mut values: Vec<f64> = layers
        .iter()
        .flat_map(|l| match &l.mark {
            Mark::Line { points, .. } => points.iter().map(|p| p.1).collect(),
            _ => Vec::new(),
        })
        .collect();
    for (objective, target) in objectives {
        if objective == "p99" {
            values.push(*target);
            layers.push(Layer::named(
                &format!("p99 objective ({})", sig_ms(*target)),
                RED,
                Mark::HLine { y: *target },
            ));
        }
    }
    let top = extent(values).map_or(1.0, |(_, hi)| hi).max(1e-9) * 1.08;
    let mut figure = Figure {
        name: "compare_p99".into(),
        title: "p99 over time, per strategy".into(),
        x: x.clone(),
        y: Axis::linear("p99 latency (ms)", 0.0, top),
        layers,
        caption: "The p99 latency of the requests that succeeded in each window, pooled over \
                  replications, one line per strategy on the same axes; the p99 objective as \
                  a dashed line."
            .into(),
        size: SIZE,
    };
    let (unit, per) = time_unit(top);
    figure.rescale(false, per, &format!("p99 latency ({unit})"));
    Some(figure)
}

/// The phase bands of a deployed service's rollout: runs of windows in one shaded phase.
pub fn phase_bands(ts: &TimeSeries, service: &str) -> Vec<Layer> {
    let Some(phases) = ts.texts(&format!("{service}.phase")) else {
        return Vec::new();
    };
    let starts = ts.starts();
    let lengths = ts.lengths();
    let mut bands: Vec<Layer> = Vec::new();
    let mut open: Option<(&str, f64, f64)> = None;
    let close = |band: Option<(&str, f64, f64)>, bands: &mut Vec<Layer>| {
        if let Some((phase, x0, x1)) = band {
            if let Some((name, c)) = PHASES.iter().find(|p| p.0 == phase) {
                let label = String::new();
                bands.push(Layer::named(name, *c, Mark::Shade { x0, x1, label }));
            }
        }
    };
    for ((phase, s), len) in phases.iter().zip(&starts).zip(&lengths) {
        match &mut open {
            Some((p, _, end)) if p == phase && (*end - s).abs() < 1e-9 => *end = s + len,
            _ => {
                close(open.take(), &mut bands);
                open = Some((phase, *s, s + len));
            }
        }
    }
    close(open, &mut bands);
    bands
}

/// Per strategy, the deployed services' replicas ready by version (new and old), every chart
/// on the same axes, with the first deployed service's phases shaded.
fn replicas(series: &[&(String, TimeSeries)], x: &Axis) -> Vec<Figure> {
    let lines: Vec<(&str, Vec<Layer>)> = series
        .iter()
        .map(|(name, ts)| {
            let deployed = ts.deployed();
            let mut layers = Vec::new();
            for service in &deployed {
                let label = |version: &str| match deployed.len() {
                    1 => format!("{version} version ready"),
                    _ => format!("{} {version} ready", shorten(service, 20)),
                };
                for (version, c, width) in [("new", NEW, 3), ("old", OLD, 2)] {
                    let points = ts.points(&format!("{service}.replicas_{version}_ready"));
                    if !points.is_empty() {
                        layers.push(Layer::named(
                            &label(version),
                            c,
                            Mark::Line { points, width },
                        ));
                    }
                }
            }
            (name.as_str(), layers)
        })
        .collect();
    let top = extent(lines.iter().flat_map(|(_, layers)| {
        layers.iter().flat_map(|l| match &l.mark {
            Mark::Line { points, .. } => points.iter().map(|p| p.1).collect(),
            _ => Vec::new(),
        })
    }))
    .map_or(1.0, |(_, hi)| hi)
    .max(1.0)
        * 1.1;
    series
        .iter()
        .zip(lines)
        .filter(|(_, (_, layers))| !layers.is_empty())
        .map(|((_, ts), (name, lines))| {
            let mut layers = ts
                .deployed()
                .first()
                .map(|service| phase_bands(ts, service))
                .unwrap_or_default();
            layers.extend(lines);
            Figure {
                name: format!("compare_replicas_{name}"),
                title: format!("Replicas ready by version: {}", shorten(name, 40)),
                x: x.clone(),
                y: Axis::linear("replicas ready", 0.0, top),
                layers,
                caption: format!(
                    "Strategy {name}: the deployed service's replicas ready on the new and the \
                     old version, time-averaged per window and pooled over replications, with \
                     the rollout's phase (the one most replications were in at each window's \
                     end) shaded. Every strategy's chart has the same axes."
                ),
                size: SIZE,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::data::{CompareDoc, Compared};

    /// Ten 10 s windows: pending, three progressing, two paused, three progressing, done.
    fn series(scale: f64) -> TimeSeries {
        let phases = [
            "pending",
            "progressing",
            "progressing",
            "progressing",
            "paused",
            "paused",
            "progressing",
            "progressing",
            "progressing",
            "done",
        ];
        let mut csv = "window_start_s,window_s,p99_ms,api.replicas_ready,api.weight_new,api.replicas_new_ready,api.replicas_old_ready,api.phase\n".to_string();
        for (i, p) in phases.iter().enumerate() {
            let new = i as f64 * scale;
            csv.push_str(&format!(
                "{},10,{},4,0,{new},{},{p}\n",
                i * 10,
                5.0 + i as f64,
                9.0 * scale - new
            ));
        }
        TimeSeries::parse_csv(&csv).unwrap()
    }

    #[test]
    fn phases_become_bands_from_window_starts_to_ends() {
        let bands: Vec<(String, Mark)> = phase_bands(&series(1.0), "api")
            .into_iter()
            .map(|l| (l.name.unwrap(), l.mark))
            .collect();
        let shade = |x0: f64, x1: f64| Mark::Shade {
            x0,
            x1,
            label: String::new(),
        };
        // pending (0-10 s) and done (90-100 s) are not shaded.
        assert_eq!(
            bands,
            [
                ("progressing".to_string(), shade(10.0, 40.0)),
                ("paused".to_string(), shade(40.0, 60.0)),
                ("progressing".to_string(), shade(60.0, 90.0)),
            ]
        );
    }

    #[test]
    fn every_strategy_is_drawn_on_the_same_axes() {
        let c = Compared {
            scenario: "s".into(),
            doc: CompareDoc::default(),
            series: vec![
                ("rolling".into(), series(1.0)),
                ("shadow".into(), series(2.0)),
            ],
        };
        let figures = figures(&c, &[("p99".into(), 40.0), ("availability".into(), 0.99)]);
        let names: Vec<&str> = figures.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "compare_p99",
                "compare_replicas_rolling",
                "compare_replicas_shadow"
            ]
        );
        assert_eq!(
            figures[0].legend(),
            ["rolling", "shadow", "p99 objective (40.0 ms)"]
        );
        // The y axis holds the highest p99 (14 ms) and the objective (40 ms).
        assert!(figures[0].y.hi >= 40.0);
        // Both replica charts reach the larger strategy's peak: 2 x 9 = 18 replicas.
        for f in &figures[1..] {
            assert_eq!((f.x.lo, f.x.hi), (0.0, 100.0), "{}", f.name);
            assert_eq!(f.y.hi, figures[1].y.hi);
            assert!(f.y.hi >= 18.0);
            assert_eq!(
                f.legend(),
                [
                    "progressing",
                    "paused",
                    "new version ready",
                    "old version ready"
                ]
            );
        }
    }
}
