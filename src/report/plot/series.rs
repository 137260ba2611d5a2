//! The charts of a time series (`timeseries.csv`): latency, throughput and failures, replicas,
//! utilization and cost over time, with the objectives as lines and the run's events (spikes,
//! faults, failovers) shaded and labelled.

use super::super::data::{quantile_of, Event, TimeSeries};
use super::super::figure::{
    color, extent, shorten, Axis, Figure, Layer, Mark, Rgb, PALETTE, RED, SIZE,
};
use super::super::format::{sig_ms, sig_usd, time_unit};

/// Every time-series chart the table has columns for.
pub fn figures(ts: &TimeSeries, objectives: &[(String, f64)], events: &[Event]) -> Vec<Figure> {
    if ts.is_empty() {
        return Vec::new();
    }
    let marks = event_layers(events);
    let mut out = Vec::new();
    out.extend(latency(ts, objectives, &marks));
    out.extend(throughput(ts, &marks));
    out.extend(failures(ts, &marks));
    out.extend(replicas(ts));
    out.extend(utilization(ts));
    out.extend(cost(ts));
    out
}

/// The x axis: the whole span of the windows.
fn time_axis(ts: &TimeSeries) -> Axis {
    let starts = ts.starts();
    let lengths = ts.lengths();
    let lo = starts.first().copied().unwrap_or(0.0);
    let hi = starts
        .last()
        .zip(lengths.last())
        .map_or(lo + 1.0, |(s, l)| s + l);
    Axis::time(lo, hi)
}

/// The color and legend name of an event kind; `None` for kinds too frequent to mark (scaling
/// steps and replicas becoming ready show on the replicas chart instead).
fn event_style(kind: &str) -> Option<(&'static str, Rgb)> {
    match kind {
        // Colors apart from the latency lines' blue, orange and vermillion.
        "spike" | "step" => Some(("traffic spike or step", Rgb(86, 180, 233))),
        "fault_start" | "crash" | "spot_notice" => Some(("fault", Rgb(110, 110, 110))),
        "failover" => Some(("failover", Rgb(204, 121, 167))),
        _ => None,
    }
}

/// The run's events as chart layers: a stretch of time shaded (a fault from its start to its
/// end, a failover to its failback, an event with `end_s`), an instant as a vertical line.
pub fn event_layers(events: &[Event]) -> Vec<Layer> {
    let mut used = vec![false; events.len()];
    let mut layers = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let Some((name, c)) = event_style(&e.kind) else {
            continue;
        };
        if used[i] {
            continue; // a crash drawn with the one before it
        }
        // The end that closes this event: a fault's own end (its text says "ends" where the
        // start said "begins"), or the next failback.
        let end = e.end_s.or_else(|| {
            let closes = |other: &Event| match e.kind.as_str() {
                "fault_start" => {
                    other.kind == "fault_end" && other.text == e.text.replace("begins", "ends")
                }
                "spike" => {
                    other.kind == "spike_end"
                        && e.text.split(" begins").next() == other.text.split(" ends").next()
                }
                "failover" => other.kind == "failback",
                _ => false,
            };
            let j = (i + 1..events.len()).find(|&j| !used[j] && closes(&events[j]))?;
            used[j] = true;
            Some(events[j].at_s)
        });
        // The crashes one fault causes at one instant (a region outage's) are one line.
        let cause = |x: &Event| x.text.split_once(" crashed").map(|(_, c)| c.to_string());
        let mut label = e.text.clone();
        if e.kind == "crash" {
            let same = |x: &Event| x.kind == "crash" && x.at_s == e.at_s && cause(x) == cause(e);
            let others: Vec<usize> = (i + 1..events.len())
                .take_while(|&j| same(&events[j]))
                .collect();
            if !others.is_empty() {
                others.iter().for_each(|&j| used[j] = true);
                let why = cause(e).unwrap_or_default();
                label = format!("{} replicas crashed{why}", others.len() + 1);
            }
        }
        let label = shorten(&label, 40);
        let mark = match end {
            Some(end) if end > e.at_s => Mark::Shade {
                x0: e.at_s,
                x1: end,
                label,
            },
            _ => Mark::VLine { x: e.at_s, label },
        };
        layers.push(Layer::named(name, c, mark));
    }
    layers
}

fn line(name: &str, c: Rgb, points: Vec<(f64, f64)>, width: u32) -> Layer {
    Layer::named(name, c, Mark::Line { points, width })
}

/// How much room above the data a chart leaves: more when event labels sit at its top.
fn headroom(marks: &[Layer]) -> f64 {
    if marks.is_empty() {
        1.08
    } else {
        1.3
    }
}

/// The top of a y axis holding `layers` (and `extra` values), from 0.
fn y_top(layers: &[Layer], extra: &[f64]) -> f64 {
    let values = layers.iter().flat_map(|l| match &l.mark {
        Mark::Line { points, .. } => points.iter().map(|p| p.1).collect::<Vec<_>>(),
        _ => Vec::new(),
    });
    extent(values.chain(extra.iter().copied()))
        .map_or(1.0, |(_, hi)| hi)
        .max(1e-9)
}

/// p50, p95 and p99 per window, the latency objectives as dashed lines, events marked.
pub fn latency(ts: &TimeSeries, objectives: &[(String, f64)], marks: &[Layer]) -> Option<Figure> {
    let mut layers: Vec<Layer> = [("p50", 0usize), ("p95", 1), ("p99", 5)]
        .iter()
        .filter_map(|&(p, c)| {
            let points = ts.latency_points(&format!("{p}_ms"));
            (!points.is_empty()).then(|| line(p, PALETTE[c], points, 2))
        })
        .collect();
    if layers.is_empty() {
        return None;
    }
    let mut targets = Vec::new();
    for (objective, target) in objectives {
        if quantile_of(objective).is_some() && ["p50", "p95", "p99"].contains(&objective.as_str()) {
            targets.push(*target);
            layers.push(Layer::named(
                &format!("{objective} objective ({})", sig_ms(*target)),
                RED,
                Mark::HLine { y: *target },
            ));
        }
    }
    let top = y_top(&layers, &targets) * headroom(marks);
    layers.extend(marks.iter().cloned());
    let mut figure = Figure {
        name: "latency_over_time".into(),
        title: "Latency over time: p50, p95 and p99 per window".into(),
        x: time_axis(ts),
        y: Axis::linear("latency (ms)", 0.0, top),
        layers,
        caption: "End-to-end latency percentiles of the requests that succeeded in each \
                  window, the latency objectives as dashed lines, and the run's spikes, faults \
                  and failovers shaded or marked."
            .into(),
        size: SIZE,
    };
    let (unit, per) = time_unit(top);
    figure.rescale(false, per, &format!("latency ({unit})"));
    Some(figure)
}

/// Requests arriving and succeeding per second, per window.
pub fn throughput(ts: &TimeSeries, marks: &[Layer]) -> Option<Figure> {
    let lengths = ts.lengths();
    let per_second = |column: &str| -> Vec<(f64, f64)> {
        let Some(values) = ts.table.column(column) else {
            return Vec::new();
        };
        let middles: Vec<f64> = ts
            .starts()
            .iter()
            .zip(&lengths)
            .map(|(s, l)| s + l / 2.0)
            .collect();
        middles
            .into_iter()
            .zip(values)
            .zip(&lengths)
            .filter_map(|((x, v), l)| v.map(|v| (x, v / l.max(1e-9))))
            .collect()
    };
    let mut layers = Vec::new();
    let arrived = per_second("arrived");
    if !arrived.is_empty() {
        layers.push(line("arrived", PALETTE[6], arrived, 2));
    }
    let succeeded = ts.points("throughput_rps");
    if !succeeded.is_empty() {
        layers.push(line("succeeded (throughput)", PALETTE[2], succeeded, 2));
    }
    if layers.is_empty() {
        return None;
    }
    let top = y_top(&layers, &[]) * headroom(marks);
    layers.extend(marks.iter().cloned());
    Some(Figure {
        name: "throughput_over_time".into(),
        title: "Throughput over time".into(),
        x: time_axis(ts),
        y: Axis::linear("requests per second", 0.0, top),
        layers,
        caption: "Requests arriving per second, and requests succeeding per second (the \
                  throughput), in each window."
            .into(),
        size: SIZE,
    })
}

/// Failed, rejected and timed-out requests per second, per window.
pub fn failures(ts: &TimeSeries, marks: &[Layer]) -> Option<Figure> {
    let lengths = ts.lengths();
    let starts = ts.starts();
    let mut layers = Vec::new();
    for (k, (column, name)) in [
        ("failed", "failed"),
        ("rejected", "rejected"),
        ("timed_out", "timed out"),
    ]
    .iter()
    .enumerate()
    {
        let Some(values) = ts.table.column(column) else {
            continue;
        };
        let points: Vec<(f64, f64)> = starts
            .iter()
            .zip(&lengths)
            .zip(values)
            .filter_map(|((s, l), v)| v.map(|v| (s + l / 2.0, v / l.max(1e-9))))
            .collect();
        layers.push(line(
            name,
            [PALETTE[5], PALETTE[3], PALETTE[1]][k],
            points,
            2,
        ));
    }
    if layers.is_empty() {
        return None;
    }
    let top = y_top(&layers, &[]).max(0.1) * headroom(marks);
    layers.extend(marks.iter().cloned());
    Some(Figure {
        name: "failures_over_time".into(),
        title: "Failures by kind over time".into(),
        x: time_axis(ts),
        y: Axis::linear("requests per second", 0.0, top),
        layers,
        caption: "Requests ending in each window by an error (failed), a refusal (rejected: \
                  a full queue, a rate limit, an open breaker) or a timeout, per second."
            .into(),
        size: SIZE,
    })
}

/// Replicas ready and starting for each service whose count changes (an autoscaled one).
pub fn replicas(ts: &TimeSeries) -> Option<Figure> {
    let mut layers = Vec::new();
    for (i, name) in ts.services().iter().enumerate() {
        let ready = ts.points(&format!("{name}.replicas_ready"));
        let starting = ts.points(&format!("{name}.replicas_starting"));
        let changes = extent(ready.iter().map(|p| p.1)).is_some_and(|(lo, hi)| hi > lo)
            || starting.iter().any(|p| p.1 > 0.0);
        if !changes {
            continue;
        }
        let c = color(i);
        let short = shorten(name, 24);
        layers.push(line(&format!("{short} ready"), c, ready, 3));
        if !starting.is_empty() {
            // The service's color, halfway to white.
            let half = |v: u8| ((u16::from(v) + 255) / 2) as u8;
            let faded = Rgb(half(c.0), half(c.1), half(c.2));
            layers.push(line(&format!("{short} starting"), faded, starting, 2));
        }
    }
    if layers.is_empty() {
        return None;
    }
    let top = y_top(&layers, &[]);
    Some(Figure {
        name: "replicas_over_time".into(),
        title: "Replicas over time: ready and starting".into(),
        x: time_axis(ts),
        y: Axis::linear("replicas", 0.0, top.max(1.0) * 1.1),
        layers,
        caption: "Time-average replicas ready to serve, and replicas starting (provisioned, \
                  not yet ready), in each window, for each service whose count changed."
            .into(),
        size: SIZE,
    })
}

/// Utilization per service per window.
pub fn utilization(ts: &TimeSeries) -> Option<Figure> {
    let layers: Vec<Layer> = ts
        .services()
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let points: Vec<(f64, f64)> = ts
                .points(&format!("{name}.utilization"))
                .into_iter()
                .map(|(x, u)| (x, u * 100.0))
                .collect();
            (!points.is_empty()).then(|| line(&shorten(name, 24), color(i), points, 2))
        })
        .collect();
    if layers.is_empty() {
        return None;
    }
    let top = y_top(&layers, &[100.0]);
    Some(Figure {
        name: "utilization_over_time".into(),
        title: "Utilization per service over time".into(),
        x: time_axis(ts),
        y: Axis::linear_exact("utilization (% of workers busy)", 0.0, top * 1.05),
        layers,
        caption: "The share of each service's ready workers that were busy, per window.".into(),
        size: SIZE,
    })
}

/// The cost rate per window, and the cost so far.
pub fn cost(ts: &TimeSeries) -> Vec<Figure> {
    let rate = ts.points("cost_per_hour_usd");
    if rate.is_empty() {
        return Vec::new();
    }
    let lengths = ts.lengths();
    let starts = ts.starts();
    let mut total = 0.0;
    let mut cumulative = vec![(starts[0], 0.0)];
    if let Some(values) = ts.table.column("cost_per_hour_usd") {
        for ((s, l), v) in starts.iter().zip(&lengths).zip(values) {
            total += v.unwrap_or(0.0) * l / 3600.0;
            cumulative.push((s + l, total));
        }
    }
    let rate_top = y_top(&[line("", PALETTE[2], rate.clone(), 2)], &[]);
    vec![
        Figure {
            name: "cost_over_time".into(),
            title: "Cost rate over time".into(),
            x: time_axis(ts),
            y: Axis::linear("cost (USD per hour)", 0.0, rate_top * 1.1),
            layers: vec![line("cost per hour", PALETTE[2], rate, 2)],
            caption: "What the design costs per hour in each window: replicas (ready, \
                      starting or draining) times their price."
                .into(),
            size: SIZE,
        },
        Figure {
            name: "cost_cumulative".into(),
            title: format!("Cumulative cost: ${} over the run", sig_usd(total)),
            x: time_axis(ts),
            y: Axis::linear("cost so far (USD)", 0.0, total.max(1e-6) * 1.08),
            layers: vec![line("cost so far", PALETTE[0], cumulative, 2)],
            caption: "The money spent from the start of the run to each moment.".into(),
            size: SIZE,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    fn day() -> TimeSeries {
        TimeSeries::parse_csv(&sample::timeseries_csv(8640, 10.0, &["api", "db"])).unwrap()
    }

    fn named<'a>(fig: &'a Figure, name: &str) -> &'a Layer {
        fig.layers
            .iter()
            .find(|l| l.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no layer {name} in {:?}", fig.legend()))
    }

    fn line_len(layer: &Layer) -> usize {
        match &layer.mark {
            Mark::Line { points, .. } => points.len(),
            other => panic!("not a line: {other:?}"),
        }
    }

    #[test]
    fn a_day_of_windows_gives_every_time_series_chart() {
        let ts = day();
        let objectives = vec![
            ("p99".to_string(), 40.0),
            ("availability".to_string(), 0.999),
        ];
        let figures = figures(&ts, &objectives, &sample::events(8640, 10.0));
        let names: Vec<&str> = figures.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "latency_over_time",
                "throughput_over_time",
                "failures_over_time",
                "replicas_over_time",
                "utilization_over_time",
                "cost_over_time",
                "cost_cumulative"
            ]
        );
        for f in &figures {
            assert_eq!((f.x.lo, f.x.hi), (0.0, 86_400.0), "{}", f.name);
            assert_eq!(f.x.label, "time (h)");
            assert!(!f.legend().is_empty() && !f.title.is_empty(), "{}", f.name);
        }
    }

    #[test]
    fn a_faults_simultaneous_crashes_are_one_marked_line() {
        // A region outage crashes three replicas at 1200 s; a lone crash follows at 1500 s.
        let crash = |at_s: f64, text: &str| Event {
            at_s,
            kind: "crash".into(),
            text: text.into(),
            end_s: None,
        };
        let events = [
            crash(1200.0, "api replica 4 crashed (region_outage eu)"),
            crash(1200.0, "api replica 5 crashed (region_outage eu)"),
            crash(1200.0, "db replica 2 crashed (region_outage eu)"),
            crash(1500.0, "api replica 1 crashed (chaos)"),
        ];
        let marks: Vec<Mark> = event_layers(&events).into_iter().map(|l| l.mark).collect();
        assert_eq!(
            marks,
            [
                Mark::VLine {
                    x: 1200.0,
                    label: "3 replicas crashed (region_outage eu)".into()
                },
                Mark::VLine {
                    x: 1500.0,
                    label: "api replica 1 crashed (chaos)".into()
                }
            ]
        );
    }

    #[test]
    fn a_window_where_nothing_succeeded_has_no_latency_point() {
        // Three windows; the middle one had arrivals but no success, so its percentiles are
        // written as 0: the lines skip it rather than drop to 0 there.
        let csv = "window_start_s,window_s,arrived,succeeded,p50_ms,p95_ms,p99_ms\n\
                   0,10,100,100,5,9,12\n\
                   10,10,100,0,0,0,0\n\
                   20,10,100,100,6,10,14\n";
        let ts = TimeSeries::parse_csv(csv).unwrap();
        let fig = latency(&ts, &[], &[]).unwrap();
        match &named(&fig, "p99").mark {
            Mark::Line { points, .. } => assert_eq!(points, &[(5.0, 12.0), (25.0, 14.0)]),
            other => panic!("not a line: {other:?}"),
        }
    }

    #[test]
    fn latency_over_time_has_three_percentiles_the_objective_and_the_events() {
        let ts = day();
        let events = sample::events(8640, 10.0);
        let fig = latency(&ts, &[("p99".into(), 40.0)], &event_layers(&events)).unwrap();
        for p in ["p50", "p95", "p99"] {
            assert_eq!(line_len(named(&fig, p)), 8640, "{p}");
        }
        assert_eq!(
            named(&fig, "p99 objective (40.0 ms)").mark,
            Mark::HLine { y: 40.0 }
        );
        // The spike and the fault are stretches (shaded), the crash an instant (a line); the
        // scale-up is not marked here.
        let spike = &fig.layers_named("traffic spike or step")[0].mark;
        assert_eq!(
            *spike,
            Mark::Shade {
                x0: 43_200.0,
                x1: 51_840.0,
                label: "traffic spike 0 begins (x3)".into()
            }
        );
        let faults = fig.layers_named("fault");
        assert_eq!(faults.len(), 2);
        let Mark::Shade { x0, x1, .. } = faults[0].mark else {
            panic!("the fault is shaded from its start to its end")
        };
        assert!((x0 - 60_480.0).abs() < 1e-6 && (x1 - 62_208.0).abs() < 1e-6);
        assert!(matches!(faults[1].mark, Mark::VLine { .. }));
        // The y axis holds the highest p99 and the objective.
        let top = ts.points("p99_ms").iter().map(|p| p.1).fold(0.0, f64::max);
        assert!(fig.y.lo == 0.0 && fig.y.hi >= top.max(40.0));
        assert_eq!(fig.legend().len(), 6);
    }

    #[test]
    fn replicas_show_only_the_autoscaled_service_and_cost_adds_up() {
        let ts = day();
        let fig = replicas(&ts).unwrap();
        assert_eq!(fig.legend(), ["api ready", "api starting"]);
        let costs = cost(&ts);
        let Mark::Line { points, .. } = &costs[1].layers[0].mark else {
            panic!("a line")
        };
        let expected: f64 = ts
            .table
            .column("cost_per_hour_usd")
            .unwrap()
            .iter()
            .map(|v| v.unwrap() * 10.0 / 3600.0)
            .sum();
        assert_eq!(points.len(), 8641);
        assert!((points.last().unwrap().1 - expected).abs() < 1e-9);
        assert!(costs[1].y.hi >= expected);
        // Failures per second: the fault's tenth of the requests shows.
        let fails = failures(&ts, &[]).unwrap();
        let Mark::Line { points, .. } = &named(&fails, "failed").mark else {
            panic!("a line")
        };
        assert!(points.iter().any(|p| p.1 > 0.0));
        assert!(points
            .iter()
            .filter(|p| p.1 > 0.0)
            .all(|p| p.0 > 60_000.0 && p.0 < 62_300.0));
    }
}
