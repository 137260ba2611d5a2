//! A [`Figure`] drawn with plotters: as a PNG (the bitmap backend, text rasterized from the
//! shipped font by ab_glyph) and as an SVG (`svg::SvgBackend`, text as the same font's glyph
//! outlines). Both in memory; `cli` writes the files.
//!
//! Every chart gets the same furniture: a title at the top, axis labels with their units,
//! ticks where the figure put them, and a legend in a strip below the plot, where it never
//! hides data. Lines with more points than the plot has pixels are thinned to each pixel
//! column's first, lowest, highest and last point, which looks the same and keeps a day of
//! 10-second windows quick to draw.

use super::figure::{Axis, Figure, Mark, Rgb, DARK};
use super::font::{self, FAMILY};
use super::svg::SvgBackend;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;

/// The figure as PNG bytes.
pub fn png(fig: &Figure) -> Result<Vec<u8>, String> {
    font::register();
    let (w, h) = fig.size;
    let mut pixels = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        draw(fig, &root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// The figure as an SVG document; `id` prefixes its element ids (unique within a page).
pub fn svg(fig: &Figure, id: &str) -> Result<String, String> {
    font::register();
    let mut out = String::new();
    {
        let description = format!(
            "x: {}; y: {}; legend: {}",
            fig.x.label,
            fig.y.label,
            fig.legend().join("; ")
        );
        let root =
            SvgBackend::new(&mut out, fig.size, id, &fig.title, &description).into_drawing_area();
        draw(fig, &root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

fn color(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

fn text_style(size: u32, c: Rgb) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&color(c))
}

/// A linear coordinate whose grid lines and labels sit exactly at the figure's ticks.
struct Ticked {
    lo: f64,
    hi: f64,
    keys: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        if self.hi == self.lo {
            return (limit.0 + limit.1) / 2;
        }
        let t = (v - self.lo) / (self.hi - self.lo);
        limit.0 + (f64::from(limit.1 - limit.0) * t + 1e-3).floor() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.keys.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// The label of the tick at drawing coordinate `v`.
fn tick_label(axis: &Axis, v: f64) -> String {
    axis.ticks
        .iter()
        .find(|t| (axis.map(t.at) - v).abs() <= 1e-9 * (1.0 + v.abs()))
        .map(|t| t.label.clone())
        .unwrap_or_default()
}

/// The ink of event labels: dark enough to read over any shade.
const EVENT_INK: Rgb = Rgb(70, 70, 70);

/// Event labels at the top of the plot, in rows so that none overlaps another: each goes in
/// the first row with room, or is left out (the legend still names its kind).
#[derive(Default)]
struct LabelRows {
    /// Pixel spans taken, per row.
    rows: Vec<Vec<(i32, i32)>>,
}

impl LabelRows {
    const ROWS: usize = 4;
    const HEIGHT: i32 = 17;

    /// A place for `label` at drawing x `x` (to its left when `left`): the pixel offset from
    /// the mark's top and the anchor.
    fn place<DB: DrawingBackend, C: CoordTranslate<From = (f64, f64)>>(
        &mut self,
        area: &DrawingArea<DB, C>,
        label: &str,
        x: f64,
        left: bool,
    ) -> Option<((i32, i32), Pos)> {
        let width = area
            .estimate_text_size(label, &text_style(14, EVENT_INK))
            .map_or(7 * label.len() as i32, |(w, _)| w as i32);
        let px = area.map_coordinate(&(x, 0.0)).0;
        let span = if left {
            (px - 4 - width, px - 4)
        } else {
            (px + 4, px + 4 + width)
        };
        for row in 0..Self::ROWS {
            if self.rows.len() <= row {
                self.rows.push(Vec::new());
            }
            let free = self.rows[row]
                .iter()
                .all(|&(a, b)| span.1 + 6 <= a || b + 6 <= span.0);
            if free {
                self.rows[row].push(span);
                let dy = 4 + row as i32 * Self::HEIGHT;
                return Some(if left {
                    ((-4, dy), Pos::new(HPos::Right, VPos::Top))
                } else {
                    ((4, dy), Pos::new(HPos::Left, VPos::Top))
                });
            }
        }
        None
    }
}

/// Drawing order: backgrounds first, then areas, bars, lines and markers on top.
fn depth(mark: &Mark) -> u8 {
    match mark {
        Mark::Shade { .. } | Mark::Cells { .. } => 0,
        Mark::Area { .. } | Mark::Band { .. } => 1,
        Mark::Bars { .. } => 2,
        Mark::VLine { .. } | Mark::HLine { .. } => 3,
        Mark::Line { .. } | Mark::ErrorBars { .. } => 4,
        Mark::Points { .. } | Mark::Crosses { .. } => 5,
    }
}

/// Points in x order thinned to at most four per bucket of x (first, lowest, highest, last).
pub fn thin(points: &[(f64, f64)], x0: f64, x1: f64, buckets: usize) -> Vec<(f64, f64)> {
    if points.len() <= 4 * buckets || x1 <= x0 {
        return points.to_vec();
    }
    let bucket_of = |x: f64| (((x - x0) / (x1 - x0)) * buckets as f64).floor() as i64;
    let mut out = Vec::with_capacity(4 * buckets + 4);
    let mut start = 0;
    while start < points.len() {
        let b = bucket_of(points[start].0);
        let mut end = start + 1;
        while end < points.len() && bucket_of(points[end].0) == b {
            end += 1;
        }
        let run = &points[start..end];
        let (mut lo, mut hi) = (0, 0);
        for (i, p) in run.iter().enumerate() {
            if p.1 < run[lo].1 {
                lo = i;
            }
            if p.1 > run[hi].1 {
                hi = i;
            }
        }
        let mut keep = [0, lo.min(hi), lo.max(hi), run.len() - 1];
        keep.sort_unstable();
        let mut last = usize::MAX;
        for k in keep {
            if k != last {
                out.push(run[k]);
                last = k;
            }
        }
        start = end;
    }
    out
}

/// The legend's rows: each entry's name, color and mark, laid out left to right.
struct Entry<'a> {
    name: &'a str,
    color: Rgb,
    mark: &'a Mark,
    width: i32,
}

const LEGEND_ROW: i32 = 26;
const SWATCH: i32 = 26;

fn legend_rows<'a, DB: DrawingBackend>(
    fig: &'a Figure,
    area: &DrawingArea<DB, Shift>,
    max_width: i32,
) -> Vec<Vec<Entry<'a>>> {
    let style = text_style(15, DARK);
    let mut rows: Vec<Vec<Entry>> = Vec::new();
    let mut used = 0;
    for name in fig.legend() {
        let layer = fig.layers_named(name)[0];
        let text_w = area
            .estimate_text_size(name, &style)
            .map_or(8 * name.len() as i32, |(w, _)| w as i32);
        let width = SWATCH + 8 + text_w + 26;
        if rows.is_empty() || used + width > max_width {
            rows.push(Vec::new());
            used = 0;
        }
        used += width;
        rows.last_mut().expect("a row").push(Entry {
            name,
            color: layer.color,
            mark: &layer.mark,
            width,
        });
    }
    rows
}

fn draw<DB: DrawingBackend>(fig: &Figure, root: &DrawingArea<DB, Shift>) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let (w, h) = root.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    root.draw(&Text::new(
        fig.title.clone(),
        (w / 2, 12),
        text_style(22, DARK).pos(Pos::new(HPos::Center, VPos::Top)),
    ))
    .map_err(e)?;

    let rows = legend_rows(fig, root, w - 40);
    let legend_h = if rows.is_empty() {
        8
    } else {
        rows.len() as i32 * LEGEND_ROW + 12
    };
    let body = root.margin(44, 0, 0, 0);
    let (plot_area, legend_area) = body.split_vertically(h - 44 - legend_h);

    let label_style = text_style(15, DARK);
    let widest_y_label = fig
        .y
        .ticks
        .iter()
        .filter_map(|t| plot_area.estimate_text_size(&t.label, &label_style).ok())
        .map(|(w, _)| w as i32)
        .max()
        .unwrap_or(20);
    let (x0, x1) = fig.x.range();
    let (y0, y1) = fig.y.range();
    let x_keys: Vec<f64> = fig.x.ticks.iter().map(|t| fig.x.map(t.at)).collect();
    let y_keys: Vec<f64> = fig.y.ticks.iter().map(|t| fig.y.map(t.at)).collect();
    let mut chart = ChartBuilder::on(&plot_area)
        .margin_top(6)
        .margin_right(28)
        .margin_left(8)
        .x_label_area_size(54)
        .y_label_area_size(widest_y_label + 42)
        .build_cartesian_2d(
            Ticked {
                lo: x0,
                hi: x1,
                keys: x_keys,
            },
            Ticked {
                lo: y0,
                hi: y1,
                keys: y_keys,
            },
        )
        .map_err(e)?;
    let x_label = |v: &f64| tick_label(&fig.x, *v);
    let y_label = |v: &f64| tick_label(&fig.y, *v);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(fig.x.label.as_str())
        .y_desc(fig.y.label.as_str())
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .label_style(label_style.clone())
        .axis_desc_style(text_style(16, DARK))
        .bold_line_style(RGBColor(222, 222, 222))
        .light_line_style(TRANSPARENT)
        .axis_style(RGBColor(110, 110, 110));
    if fig.x.categorical {
        mesh.disable_x_mesh();
    }
    if fig.y.categorical {
        mesh.disable_y_mesh();
    }
    mesh.draw().map_err(e)?;

    let at = |x: f64, y: f64| (fig.x.map(fig.x.clamp(x)), fig.y.map(fig.y.clamp(y)));
    // A label at the right of the plot would run off it: those are set to the left of their
    // mark.
    let near_right = |x: f64| x > x0 + 0.7 * (x1 - x0);
    // Two pixel columns per bucket: finer thinning only makes thick lines look beaded.
    let plot_width = (chart.plotting_area().dim_in_pixel().0 / 2).max(1) as usize;
    let small = |c: Rgb| text_style(14, c);
    let mut labels = LabelRows::default();
    let mut layers: Vec<_> = fig.layers.iter().collect();
    layers.sort_by_key(|l| depth(&l.mark));
    for layer in layers {
        let c = color(layer.color);
        let area = chart.plotting_area();
        match &layer.mark {
            Mark::Line { points, width } => {
                let mapped: Vec<(f64, f64)> = points
                    .iter()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                    .map(|&(x, y)| at(x, y))
                    .collect();
                let mapped = thin(&mapped, x0, x1, plot_width);
                area.draw(&PathElement::new(mapped, c.stroke_width(*width)))
                    .map_err(e)?;
            }
            Mark::Band { points } => {
                let mut polygon: Vec<(f64, f64)> =
                    points.iter().map(|&(x, _, hi)| at(x, hi)).collect();
                polygon.extend(points.iter().rev().map(|&(x, lo, _)| at(x, lo)));
                area.draw(&Polygon::new(polygon, c.mix(0.22).filled()))
                    .map_err(e)?;
            }
            Mark::Points { points } => {
                for &(x, y) in points {
                    area.draw(&Circle::new(at(x, y), 5, c.filled()))
                        .map_err(e)?;
                }
            }
            Mark::Crosses { points } => {
                for &(x, y) in points {
                    area.draw(&Cross::new(at(x, y), 7, c.stroke_width(3)))
                        .map_err(e)?;
                }
            }
            Mark::ErrorBars { bars } => {
                for &(x, lo, hi) in bars {
                    let (top, bottom) = (at(x, hi), at(x, lo));
                    area.draw(&PathElement::new(vec![top, bottom], c.stroke_width(2)))
                        .map_err(e)?;
                    for end in [top, bottom] {
                        area.draw(
                            &(EmptyElement::at(end)
                                + PathElement::new(vec![(-6, 0), (6, 0)], c.stroke_width(2))),
                        )
                        .map_err(e)?;
                    }
                }
            }
            Mark::Bars { bars, horizontal } => {
                for bar in bars {
                    area.draw(&Rectangle::new(
                        [at(bar.x0, bar.y0), at(bar.x1, bar.y1)],
                        c.filled(),
                    ))
                    .map_err(e)?;
                    if let Some(label) = &bar.label {
                        let element = if *horizontal {
                            EmptyElement::at(at(bar.x1, (bar.y0 + bar.y1) / 2.0))
                                + Text::new(
                                    label.clone(),
                                    (6, 0),
                                    small(DARK).pos(Pos::new(HPos::Left, VPos::Center)),
                                )
                        } else {
                            EmptyElement::at(at((bar.x0 + bar.x1) / 2.0, bar.y1))
                                + Text::new(
                                    label.clone(),
                                    (0, -4),
                                    small(DARK).pos(Pos::new(HPos::Center, VPos::Bottom)),
                                )
                        };
                        area.draw(&element).map_err(e)?;
                    }
                }
            }
            Mark::HLine { y } => {
                // Dashed: 60 dashes across the plot.
                let y = fig.y.map(fig.y.clamp(*y));
                let step = (x1 - x0) / 60.0;
                for k in 0..60 {
                    let a = x0 + step * f64::from(k);
                    area.draw(&PathElement::new(
                        vec![(a, y), (a + step * 0.6, y)],
                        c.stroke_width(2),
                    ))
                    .map_err(e)?;
                }
            }
            Mark::VLine { x, label } => {
                let x = fig.x.map(fig.x.clamp(*x));
                area.draw(&PathElement::new(vec![(x, y0), (x, y1)], c.stroke_width(2)))
                    .map_err(e)?;
                if let Some((offset, anchor)) = labels.place(area, label, x, near_right(x)) {
                    area.draw(
                        &(EmptyElement::at((x, y1))
                            + Text::new(label.clone(), offset, small(EVENT_INK).pos(anchor))),
                    )
                    .map_err(e)?;
                }
            }
            Mark::Shade {
                x0: a,
                x1: b,
                label,
            } => {
                let (a, b) = (fig.x.map(fig.x.clamp(*a)), fig.x.map(fig.x.clamp(*b)));
                area.draw(&Rectangle::new([(a, y0), (b, y1)], c.mix(0.16).filled()))
                    .map_err(e)?;
                let right = near_right(a);
                let edge = if right { b } else { a };
                if let Some((offset, anchor)) = labels.place(area, label, edge, right) {
                    area.draw(
                        &(EmptyElement::at((edge, y1))
                            + Text::new(label.clone(), offset, small(EVENT_INK).pos(anchor))),
                    )
                    .map_err(e)?;
                }
            }
            Mark::Area { polygon } => {
                let polygon: Vec<(f64, f64)> = polygon.iter().map(|&(x, y)| at(x, y)).collect();
                area.draw(&Polygon::new(polygon, c.mix(0.14).filled()))
                    .map_err(e)?;
            }
            Mark::Cells { cells } => {
                for cell in cells {
                    let fill = color(cell.color);
                    area.draw(&Rectangle::new(
                        [at(cell.x0, cell.y0), at(cell.x1, cell.y1)],
                        fill.filled(),
                    ))
                    .map_err(e)?;
                    let Rgb(r, g, b) = cell.color;
                    let light =
                        0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b) > 140.0;
                    let ink = if light { DARK } else { Rgb(255, 255, 255) };
                    area.draw(&Text::new(
                        cell.text.clone(),
                        at((cell.x0 + cell.x1) / 2.0, (cell.y0 + cell.y1) / 2.0),
                        text_style(14, ink).pos(Pos::new(HPos::Center, VPos::Center)),
                    ))
                    .map_err(e)?;
                }
            }
        }
    }

    // The legend, in its strip below the plot.
    let legend_style = text_style(15, DARK);
    for (row, entries) in rows.iter().enumerate() {
        let total: i32 = entries.iter().map(|en| en.width).sum();
        let mut x = ((w - total) / 2).max(8);
        let y = 6 + row as i32 * LEGEND_ROW + LEGEND_ROW / 2;
        for entry in entries {
            let c = color(entry.color);
            let (a, b) = ((x, y), (x + SWATCH, y));
            match entry.mark {
                Mark::Line { .. } | Mark::ErrorBars { .. } => legend_area
                    .draw(&PathElement::new(vec![a, b], c.stroke_width(3)))
                    .map_err(e)?,
                Mark::HLine { .. } | Mark::VLine { .. } => {
                    for k in 0..3 {
                        let s = x + k * 10;
                        legend_area
                            .draw(&PathElement::new(
                                vec![(s, y), (s + 6, y)],
                                c.stroke_width(2),
                            ))
                            .map_err(e)?;
                    }
                }
                Mark::Points { .. } => legend_area
                    .draw(&Circle::new((x + SWATCH / 2, y), 5, c.filled()))
                    .map_err(e)?,
                Mark::Crosses { .. } => legend_area
                    .draw(&Cross::new((x + SWATCH / 2, y), 6, c.stroke_width(3)))
                    .map_err(e)?,
                Mark::Bars { .. } | Mark::Cells { .. } => legend_area
                    .draw(&Rectangle::new(
                        [(x + 4, y - 8), (x + SWATCH - 4, y + 8)],
                        c.filled(),
                    ))
                    .map_err(e)?,
                Mark::Band { .. } | Mark::Shade { .. } | Mark::Area { .. } => legend_area
                    .draw(&Rectangle::new(
                        [(x + 2, y - 8), (x + SWATCH - 2, y + 8)],
                        c.mix(0.3).filled(),
                    ))
                    .map_err(e)?,
            }
            legend_area
                .draw(&Text::new(
                    entry.name.to_string(),
                    (x + SWATCH + 8, y),
                    legend_style.pos(Pos::new(HPos::Left, VPos::Center)),
                ))
                .map_err(e)?;
            x += entry.width;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_each_columns_extremes() {
        let points: Vec<(f64, f64)> = (0..10_000)
            .map(|i| (i as f64, if i == 5_123 { 100.0 } else { (i % 7) as f64 }))
            .collect();
        let thinned = thin(&points, 0.0, 10_000.0, 100);
        assert!(thinned.len() <= 400, "{}", thinned.len());
        assert!(thinned.contains(&(5_123.0, 100.0)), "the spike survives");
        assert_eq!(thinned.first(), points.first());
        assert_eq!(thinned.last(), points.last());
        assert!(thinned.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
