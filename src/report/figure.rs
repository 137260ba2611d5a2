//! A chart as data: axes with their scales, ticks and labels, and layers of marks. The chart
//! families (`plot/`) build figures from a run's figures; `draw` turns a figure into PNG and
//! SVG. Tests read a figure's series and axis ranges directly, not its pixels.

/// An sRGB color.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// Okabe and Ito's palette, which color-blind readers can tell apart, in the order series take
/// it; then a few greys.
pub const PALETTE: [Rgb; 7] = [
    Rgb(0, 114, 178),   // blue
    Rgb(230, 159, 0),   // orange
    Rgb(0, 158, 115),   // bluish green
    Rgb(204, 121, 167), // reddish purple
    Rgb(86, 180, 233),  // sky blue
    Rgb(213, 94, 0),    // vermillion
    Rgb(120, 120, 120), // grey
];
/// Objectives and what misses them.
pub const RED: Rgb = Rgb(200, 30, 30);
pub const GREEN: Rgb = Rgb(0, 140, 80);
pub const GREY: Rgb = Rgb(150, 150, 150);
pub const DARK: Rgb = Rgb(40, 40, 40);

/// The `i`-th series color.
pub fn color(i: usize) -> Rgb {
    PALETTE[i % PALETTE.len()]
}

/// How data values map to an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Linear,
    /// log10 of the value.
    Log,
    /// "Nines" of a quantile: `-log10(1 - q)`, so 0.9, 0.99 and 0.999 are equally spaced.
    Nines,
}

/// The largest quantile a nines axis places (p99.9999999); q = 1 would be infinitely far.
const NINES_CAP: f64 = 1.0 - 1e-9;

impl Scale {
    /// Where `v` sits on the axis's drawing coordinate.
    pub fn map(self, v: f64) -> f64 {
        match self {
            Scale::Linear => v,
            Scale::Log => v.max(1e-12).log10(),
            Scale::Nines => -(1.0 - v.clamp(0.0, NINES_CAP)).log10(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// In data units.
    pub at: f64,
    pub label: String,
}

/// An axis: its label (with the unit), its range in data units, its scale and its ticks.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub label: String,
    pub lo: f64,
    pub hi: f64,
    pub scale: Scale,
    pub ticks: Vec<Tick>,
    /// Categories (bars) rather than numbers: no grid lines across the axis.
    pub categorical: bool,
}

impl Axis {
    /// A linear axis covering `[lo, hi]`, widened to whole ticks of a 1-2-5 step.
    pub fn linear(label: &str, lo: f64, hi: f64) -> Axis {
        let (lo, hi) = widen(lo, hi);
        let step = nice_step((hi - lo) / 6.0);
        let lo = (lo / step).floor() * step;
        let hi = (hi / step - 1e-9).ceil() * step;
        Axis::with_step(label, lo, hi, step)
    }

    /// A linear axis over exactly `[lo, hi]`, ticks at multiples of a 1-2-5 step inside it.
    pub fn linear_exact(label: &str, lo: f64, hi: f64) -> Axis {
        let (lo, hi) = widen(lo, hi);
        Axis::with_step(label, lo, hi, nice_step((hi - lo) / 6.0))
    }

    fn with_step(label: &str, lo: f64, hi: f64, step: f64) -> Axis {
        let first = (lo / step - 1e-9).ceil() as i64;
        let last = (hi / step + 1e-9).floor() as i64;
        let ticks = (first..=last)
            .map(|i| {
                let at = i as f64 * step;
                Tick {
                    at,
                    label: number(at, step),
                }
            })
            .collect();
        Axis {
            label: label.to_string(),
            lo,
            hi,
            scale: Scale::Linear,
            ticks,
            categorical: false,
        }
    }

    /// A log axis covering `[lo, hi]` (both > 0), widened to whole decades; ticks at each
    /// decade, and at 2 and 5 times it when there are few decades.
    pub fn log(label: &str, lo: f64, hi: f64) -> Axis {
        let lo = lo.max(1e-9);
        let hi = hi.max(lo * 1.0001);
        let (a, b) = (lo.log10().floor() as i32, (hi.log10() - 1e-9).ceil() as i32);
        let b = b.max(a + 1);
        let mut ticks = Vec::new();
        for d in a..=b {
            let base = 10f64.powi(d);
            let multiples: &[f64] = if b - a <= 2 { &[1.0, 2.0, 5.0] } else { &[1.0] };
            for &m in multiples {
                let at = m * base;
                if at <= 10f64.powi(b) * 1.0001 {
                    ticks.push(Tick {
                        at,
                        label: number(at, at),
                    });
                }
            }
        }
        Axis {
            label: label.to_string(),
            lo: 10f64.powi(a),
            hi: 10f64.powi(b),
            scale: Scale::Log,
            ticks,
            categorical: false,
        }
    }

    /// A quantile axis in nines, from q = 0 to `1 - 10^-nines`; ticks at 0%, 90%, 99%, ...
    pub fn nines(label: &str, nines: u32) -> Axis {
        let ticks = (0..=nines)
            .map(|k| {
                let q = 1.0 - 10f64.powi(-(k as i32));
                let label = match k {
                    0 => "0%".to_string(),
                    1 => "90%".to_string(),
                    k => format!("99.{}%", "9".repeat(k as usize - 2)).replace(".%", "%"),
                };
                Tick { at: q, label }
            })
            .collect();
        Axis {
            label: label.to_string(),
            lo: 0.0,
            hi: 1.0 - 10f64.powi(-(nines as i32)),
            scale: Scale::Nines,
            ticks,
            categorical: false,
        }
    }

    /// Named categories at `0.5, 1.5, ...` on `[0, n]`.
    pub fn categories(label: &str, names: &[String]) -> Axis {
        Axis {
            label: label.to_string(),
            lo: 0.0,
            hi: names.len().max(1) as f64,
            scale: Scale::Linear,
            ticks: names
                .iter()
                .enumerate()
                .map(|(i, name)| Tick {
                    at: i as f64 + 0.5,
                    label: shorten(name, 28),
                })
                .collect(),
            categorical: true,
        }
    }

    /// A time axis over `[lo_s, hi_s]` seconds, labelled in seconds, minutes or hours as the
    /// span suits; data stay in seconds.
    pub fn time(lo_s: f64, hi_s: f64) -> Axis {
        let span = (hi_s - lo_s).max(1e-9);
        let (unit, per) = if span <= 600.0 {
            ("s", 1.0)
        } else if span <= 6.0 * 3600.0 {
            ("min", 60.0)
        } else {
            ("h", 3600.0)
        };
        // Steps a clock reads well: 15 or 30 minutes, 3, 6 or 12 hours.
        let span_units = span / per;
        let clock: &[f64] = match unit {
            "min" => &[1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0],
            "h" => &[1.0, 2.0, 3.0, 6.0, 12.0, 24.0, 48.0, 168.0],
            _ => &[],
        };
        let step = clock
            .iter()
            .copied()
            .find(|s| span_units / s <= 8.0)
            .unwrap_or_else(|| nice_step(span_units / 6.0));
        let mut axis = Axis::with_step(&format!("time ({unit})"), lo_s / per, hi_s / per, step);
        axis.lo = lo_s;
        axis.hi = hi_s;
        for t in &mut axis.ticks {
            t.at *= per;
        }
        axis
    }

    /// Where a data value sits on the drawing coordinate.
    pub fn map(&self, v: f64) -> f64 {
        self.scale.map(v)
    }

    /// The axis's drawing range.
    pub fn range(&self) -> (f64, f64) {
        (self.map(self.lo), self.map(self.hi))
    }

    /// `v` clamped into the axis's range.
    pub fn clamp(&self, v: f64) -> f64 {
        v.clamp(self.lo.min(self.hi), self.hi.max(self.lo))
    }
}

/// A range that is not empty.
fn widen(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi > lo {
        (lo, hi)
    } else if lo == 0.0 {
        (0.0, 1.0)
    } else {
        let pad = lo.abs() * 0.1;
        (lo - pad, hi + pad)
    }
}

/// 1, 2, 2.5 or 5 times a power of ten, at least `raw`.
pub fn nice_step(raw: f64) -> f64 {
    let raw = if raw > 0.0 && raw.is_finite() {
        raw
    } else {
        1.0
    };
    let magnitude = 10f64.powf(raw.log10().floor());
    let f = raw / magnitude;
    let n = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    n * magnitude
}

/// A tick label: as many decimals as `step` needs, thousands as k and millions as M.
pub fn number(v: f64, step: f64) -> String {
    let v = if v.abs() < step.abs() * 1e-9 { 0.0 } else { v };
    let (scaled, suffix, step) = if v.abs() >= 1e6 && step.abs() >= 1e5 {
        (v / 1e6, "M", step / 1e6)
    } else if v.abs() >= 1e4 && step.abs() >= 1e3 {
        (v / 1e3, "k", step / 1e3)
    } else {
        (v, "", step)
    };
    let mut decimals = 0usize;
    while decimals < 9 {
        let unit = 10f64.powi(-(decimals as i32));
        if ((step / unit).round() - step / unit).abs() < 1e-6 * (step / unit).abs().max(1.0) {
            break;
        }
        decimals += 1;
    }
    format!("{scaled:.decimals$}{suffix}")
}

/// At most `max` characters, with an ellipsis when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

/// One bar: the rectangle `[x0, x1] x [y0, y1]` in data units, and a value label drawn at its
/// end (above a vertical bar, right of a horizontal one).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub x0: f64,
    pub x1: f64,
    pub y0: f64,
    pub y1: f64,
    pub label: Option<String>,
}

/// One cell of a heat map, its color chosen by the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub x0: f64,
    pub x1: f64,
    pub y0: f64,
    pub y1: f64,
    pub color: Rgb,
    pub text: String,
}

/// What a layer draws.
#[derive(Debug, Clone, PartialEq)]
pub enum Mark {
    /// A polyline through `(x, y)` points, in order.
    Line {
        points: Vec<(f64, f64)>,
        width: u32,
    },
    /// A translucent band between `lo` and `hi`: `(x, lo, hi)`.
    Band {
        points: Vec<(f64, f64, f64)>,
    },
    /// Filled circles.
    Points {
        points: Vec<(f64, f64)>,
    },
    /// Crosses (objectives on a distribution).
    Crosses {
        points: Vec<(f64, f64)>,
    },
    /// Vertical error bars `(x, lo, hi)`.
    ErrorBars {
        bars: Vec<(f64, f64, f64)>,
    },
    Bars {
        bars: Vec<Bar>,
        horizontal: bool,
    },
    /// A horizontal line across the chart (an objective).
    HLine {
        y: f64,
    },
    /// A vertical line with a label at its top (an instant event).
    VLine {
        x: f64,
        label: String,
    },
    /// A shaded stretch of x (a spike, a fault), labelled at its top.
    Shade {
        x0: f64,
        x1: f64,
        label: String,
    },
    /// A translucent filled polygon (a feasible region).
    Area {
        polygon: Vec<(f64, f64)>,
    },
    Cells {
        cells: Vec<Cell>,
    },
}

/// A layer: a mark in a color, in the legend under `name` (layers sharing a name share one
/// legend entry; no name, no entry).
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub name: Option<String>,
    pub color: Rgb,
    pub mark: Mark,
}

impl Layer {
    pub fn named(name: &str, color: Rgb, mark: Mark) -> Layer {
        Layer {
            name: Some(name.to_string()),
            color,
            mark,
        }
    }

    pub fn unnamed(color: Rgb, mark: Mark) -> Layer {
        Layer {
            name: None,
            color,
            mark,
        }
    }
}

/// A whole chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The file stem (`latency_cdf` for `latency_cdf.png` and `latency_cdf.svg`).
    pub name: String,
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub layers: Vec<Layer>,
    /// What the page says under the chart.
    pub caption: String,
    pub size: (u32, u32),
}

impl Figure {
    /// The legend's entries, in order, each name once.
    pub fn legend(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for layer in &self.layers {
            if let Some(name) = layer.name.as_deref() {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// The layers named `name`.
    pub fn layers_named(&self, name: &str) -> Vec<&Layer> {
        self.layers
            .iter()
            .filter(|l| l.name.as_deref() == Some(name))
            .collect()
    }

    /// The x axis (`on_x`) or the y axis in a unit `per` times larger (latency in seconds
    /// rather than ms: `per` = 1000): every coordinate on that axis divided by `per`, and the
    /// axis rebuilt over the same stretch, with its ticks, under `label`. Unchanged when
    /// `per` is 1.
    pub fn rescale(&mut self, on_x: bool, per: f64, label: &str) {
        if per == 1.0 {
            return;
        }
        let f = |v: &mut f64| *v /= per;
        // Divides the coordinate of a point on the axis.
        let pick = |p: &mut (f64, f64)| f(if on_x { &mut p.0 } else { &mut p.1 });
        // A (x, lo, hi) triple: x on the x axis, lo and hi on the y axis.
        let triple = |t: &mut (f64, f64, f64)| {
            if on_x {
                f(&mut t.0);
            } else {
                f(&mut t.1);
                f(&mut t.2);
            }
        };
        for layer in &mut self.layers {
            match &mut layer.mark {
                Mark::Line { points, .. }
                | Mark::Points { points }
                | Mark::Crosses { points }
                | Mark::Area { polygon: points } => points.iter_mut().for_each(pick),
                Mark::Band { points } => points.iter_mut().for_each(triple),
                Mark::ErrorBars { bars } => bars.iter_mut().for_each(triple),
                Mark::Bars { bars, .. } => {
                    for b in bars {
                        let (a, z) = if on_x {
                            (&mut b.x0, &mut b.x1)
                        } else {
                            (&mut b.y0, &mut b.y1)
                        };
                        f(a);
                        f(z);
                    }
                }
                Mark::Cells { cells } => {
                    for c in cells {
                        let (a, z) = if on_x {
                            (&mut c.x0, &mut c.x1)
                        } else {
                            (&mut c.y0, &mut c.y1)
                        };
                        f(a);
                        f(z);
                    }
                }
                Mark::HLine { y } if !on_x => f(y),
                Mark::VLine { x, .. } if on_x => f(x),
                Mark::Shade { x0, x1, .. } if on_x => {
                    f(x0);
                    f(x1);
                }
                Mark::HLine { .. } | Mark::VLine { .. } | Mark::Shade { .. } => {}
            }
        }
        let axis = if on_x { &mut self.x } else { &mut self.y };
        let (lo, hi) = (axis.lo / per, axis.hi / per);
        *axis = match axis.scale {
            Scale::Log => Axis::log(label, lo, hi),
            Scale::Linear | Scale::Nines => Axis::linear(label, lo, hi),
        };
    }
}

/// The standard chart size, in pixels (and SVG user units).
pub const SIZE: (u32, u32) = (1000, 560);

/// `[lo, hi]` of the finite values, or `None`.
pub fn extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescaling_an_axis_divides_every_mark_on_it_and_rebuilds_its_ticks() {
        // A y axis of 0 to 7.2e6 ms in hours: 0 to 2 h, every y divided by 3.6e6, x kept.
        let mut fig = Figure {
            name: "f".into(),
            title: String::new(),
            x: Axis::linear("time", 0.0, 10.0),
            y: Axis::linear("latency (ms)", 0.0, 7.2e6),
            layers: vec![
                Layer::named(
                    "l",
                    Rgb(0, 0, 0),
                    Mark::Line {
                        points: vec![(1.0, 3.6e6), (2.0, 7.2e6)],
                        width: 1,
                    },
                ),
                Layer::named("o", Rgb(0, 0, 0), Mark::HLine { y: 1.8e6 }),
                Layer::named(
                    "e",
                    Rgb(0, 0, 0),
                    Mark::ErrorBars {
                        bars: vec![(1.0, 3.6e6, 7.2e6)],
                    },
                ),
            ],
            caption: String::new(),
            size: (10, 10),
        };
        fig.rescale(false, 3.6e6, "latency (h)");
        assert_eq!(
            fig.layers[0].mark,
            Mark::Line {
                points: vec![(1.0, 1.0), (2.0, 2.0)],
                width: 1
            }
        );
        assert_eq!(fig.layers[1].mark, Mark::HLine { y: 0.5 });
        assert_eq!(
            fig.layers[2].mark,
            Mark::ErrorBars {
                bars: vec![(1.0, 1.0, 2.0)]
            }
        );
        // The ms axis ran to 8e6 (whole ticks of 1e6), 2.22 h: widened to whole ticks of
        // half an hour.
        assert_eq!(
            (fig.y.label.as_str(), fig.y.lo, fig.y.hi),
            ("latency (h)", 0.0, 2.5)
        );
        assert_eq!(fig.x.hi, 10.0);
        let labels: Vec<&str> = fig.y.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["0.0", "0.5", "1.0", "1.5", "2.0", "2.5"]);
    }

    #[test]
    fn linear_axes_widen_to_whole_ticks_of_a_1_2_5_step() {
        let a = Axis::linear("latency (ms)", 0.0, 23.7);
        assert_eq!((a.lo, a.hi), (0.0, 25.0));
        let labels: Vec<&str> = a.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["0", "5", "10", "15", "20", "25"]);
        let b = Axis::linear("ratio", 0.0, 0.37);
        assert_eq!(b.ticks[1].label, "0.1");
        assert!((b.hi - 0.4).abs() < 1e-12);
        let c = Axis::linear("requests", 0.0, 1_234_567.0);
        assert_eq!(c.ticks.last().unwrap().label, "1.25M");
    }

    #[test]
    fn log_and_nines_axes_label_decades_and_nines() {
        let a = Axis::log("latency (ms)", 0.7, 340.0);
        assert_eq!((a.lo, a.hi), (0.1, 1000.0));
        assert_eq!(a.ticks.first().unwrap().label, "0.1");
        assert_eq!(a.ticks.last().unwrap().label, "1000");
        let n = Axis::nines("fraction of requests", 4);
        let labels: Vec<&str> = n.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "99.99%"]);
        assert!((n.map(0.999) - 3.0).abs() < 1e-9);
        assert!((n.range().1 - 4.0).abs() < 1e-9);
    }

    #[test]
    fn time_axes_pick_a_unit_for_the_span() {
        assert_eq!(Axis::time(0.0, 300.0).label, "time (s)");
        assert_eq!(Axis::time(0.0, 3600.0).label, "time (min)");
        let day = Axis::time(0.0, 86_400.0);
        assert_eq!(day.label, "time (h)");
        assert_eq!((day.lo, day.hi), (0.0, 86_400.0));
        assert!(day
            .ticks
            .iter()
            .any(|t| t.at == 43_200.0 && t.label == "12"));
    }
}
