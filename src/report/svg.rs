//! A plotters drawing backend that writes SVG, drawing text as the outlines of the shipped
//! font's glyphs (each glyph defined once per chart and reused), so an SVG chart looks the same
//! in every browser and viewer and needs no font at all. plotters' own SVG backend writes
//! `<text>` elements, which a viewer fills with whatever font it has.
//!
//! Text is placed exactly as plotters' bitmap backend places it (the same layout box, anchor
//! and baseline), so a chart's PNG and SVG agree.

use super::font;
use super::format::escape;
use ab_glyph::{Font, OutlineCurve};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontTransform,
};
use std::collections::BTreeSet;
use std::fmt::Write;

/// Never happens: writing to a `String` cannot fail.
#[derive(Debug)]
pub struct SvgError;

impl std::fmt::Display for SvgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("svg error")
    }
}

impl std::error::Error for SvgError {}

/// Draws into `out` (written when the drawing is presented). `id` prefixes every element id,
/// so that several charts can sit inline in one page; `title` is the chart's accessible name
/// and `description` its text description (its axes and legend), since its drawn text is
/// glyph outlines that neither screen readers nor searches can read.
pub struct SvgBackend<'a> {
    out: &'a mut String,
    size: (u32, u32),
    id: String,
    title: String,
    description: String,
    body: String,
    glyphs: BTreeSet<u16>,
    presented: bool,
}

impl<'a> SvgBackend<'a> {
    pub fn new(
        out: &'a mut String,
        size: (u32, u32),
        id: &str,
        title: &str,
        description: &str,
    ) -> Self {
        SvgBackend {
            out,
            size,
            id: id.to_string(),
            title: title.to_string(),
            description: description.to_string(),
            body: String::new(),
            glyphs: BTreeSet::new(),
            presented: false,
        }
    }

    fn finish(&mut self) {
        if self.presented {
            return;
        }
        self.presented = true;
        let (w, h) = self.size;
        let out = &mut *self.out;
        out.clear();
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" \
             viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" \
             aria-labelledby=\"{id}-title\" aria-describedby=\"{id}-desc\">\
             <title id=\"{id}-title\">{title}</title><desc id=\"{id}-desc\">{desc}</desc><defs>",
            id = self.id,
            title = escape(&self.title),
            desc = escape(&self.description),
        );
        let f = font::font();
        for &g in &self.glyphs {
            let _ = write!(out, "<path id=\"{}-g{g}\" d=\"", self.id);
            if let Some(outline) = f.outline(ab_glyph::GlyphId(g)) {
                outline_path(out, &outline.curves);
            }
            out.push_str("\"/>");
        }
        out.push_str("</defs>");
        out.push_str(&self.body);
        out.push_str("</svg>\n");
    }
}

impl Drop for SvgBackend<'_> {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A glyph outline as path data, in font units with y pointing down.
fn outline_path(out: &mut String, curves: &[OutlineCurve]) {
    let mut last: Option<ab_glyph::Point> = None;
    let move_to = |out: &mut String, p: ab_glyph::Point, last: &mut Option<ab_glyph::Point>| {
        if *last != Some(p) {
            if last.is_some() {
                out.push('Z');
            }
            let _ = write!(out, "M{} {}", p.x, -p.y);
        }
    };
    for curve in curves {
        match *curve {
            OutlineCurve::Line(a, b) => {
                move_to(out, a, &mut last);
                let _ = write!(out, "L{} {}", b.x, -b.y);
                last = Some(b);
            }
            OutlineCurve::Quad(a, c, b) => {
                move_to(out, a, &mut last);
                let _ = write!(out, "Q{} {} {} {}", c.x, -c.y, b.x, -b.y);
                last = Some(b);
            }
            OutlineCurve::Cubic(a, c1, c2, b) => {
                move_to(out, a, &mut last);
                let _ = write!(
                    out,
                    "C{} {} {} {} {} {}",
                    c1.x, -c1.y, c2.x, -c2.y, b.x, -b.y
                );
                last = Some(b);
            }
        }
    }
    if last.is_some() {
        out.push('Z');
    }
}

/// `fill="#rrggbb"` or `stroke=...`, with an opacity when the color is translucent.
fn paint(kind: &str, c: BackendColor) -> String {
    let (r, g, b) = c.rgb;
    if c.alpha >= 1.0 {
        format!("{kind}=\"#{r:02x}{g:02x}{b:02x}\"")
    } else {
        format!(
            "{kind}=\"#{r:02x}{g:02x}{b:02x}\" {kind}-opacity=\"{:.3}\"",
            c.alpha
        )
    }
}

/// The attributes of a rectangle or circle: filled, or outlined at the style's width.
fn shape_style<S: BackendStyle>(s: &S, fill: bool) -> String {
    if fill {
        paint("fill", s.color())
    } else {
        format!(
            "fill=\"none\" {} stroke-width=\"{}\"",
            paint("stroke", s.color()),
            s.stroke_width()
        )
    }
}

type Result<T = ()> = std::result::Result<T, DrawingErrorKind<SvgError>>;

impl DrawingBackend for SvgBackend<'_> {
    type ErrorType = SvgError;

    fn get_size(&self) -> (u32, u32) {
        self.size
    }

    fn ensure_prepared(&mut self) -> Result {
        Ok(())
    }

    fn present(&mut self) -> Result {
        self.finish();
        Ok(())
    }

    fn draw_pixel(&mut self, (x, y): BackendCoord, color: BackendColor) -> Result {
        if color.alpha > 0.0 {
            let _ = write!(
                self.body,
                "<rect x=\"{x}\" y=\"{y}\" width=\"1\" height=\"1\" {}/>",
                paint("fill", color)
            );
        }
        Ok(())
    }

    fn draw_line<S: BackendStyle>(&mut self, a: BackendCoord, b: BackendCoord, s: &S) -> Result {
        if s.color().alpha > 0.0 {
            let _ = write!(
                self.body,
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {} stroke-width=\"{}\"/>",
                a.0,
                a.1,
                b.0,
                b.1,
                paint("stroke", s.color()),
                s.stroke_width()
            );
        }
        Ok(())
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        a: BackendCoord,
        b: BackendCoord,
        s: &S,
        fill: bool,
    ) -> Result {
        if s.color().alpha > 0.0 {
            let (x, y) = (a.0.min(b.0), a.1.min(b.1));
            let (w, h) = ((a.0 - b.0).abs(), (a.1 - b.1).abs());
            let style = shape_style(s, fill);
            let _ = write!(
                self.body,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" {style}/>"
            );
        }
        Ok(())
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        s: &S,
    ) -> Result {
        if s.color().alpha > 0.0 {
            self.body.push_str("<polyline points=\"");
            for (x, y) in path {
                let _ = write!(self.body, "{x},{y} ");
            }
            let _ = write!(
                self.body,
                "\" fill=\"none\" {} stroke-width=\"{}\" stroke-linejoin=\"round\"/>",
                paint("stroke", s.color()),
                s.stroke_width()
            );
        }
        Ok(())
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        (x, y): BackendCoord,
        radius: u32,
        s: &S,
        fill: bool,
    ) -> Result {
        if s.color().alpha > 0.0 {
            let style = shape_style(s, fill);
            let _ = write!(
                self.body,
                "<circle cx=\"{x}\" cy=\"{y}\" r=\"{radius}\" {style}/>"
            );
        }
        Ok(())
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vertices: I,
        s: &S,
    ) -> Result {
        if s.color().alpha > 0.0 {
            self.body.push_str("<polygon points=\"");
            for (x, y) in vertices {
                let _ = write!(self.body, "{x},{y} ");
            }
            let _ = write!(self.body, "\" {}/>", paint("fill", s.color()));
        }
        Ok(())
    }

    fn draw_text<T: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &T,
        pos: BackendCoord,
    ) -> Result {
        let color = style.color();
        if color.alpha == 0.0 || text.is_empty() {
            return Ok(());
        }
        // The same placement as plotters' default (bitmap) text: the layout box anchored at
        // `pos`, rotated about it, with the baseline half the font size below the box's top.
        let ((min_x, min_y), (max_x, max_y)) = style
            .layout_box(text)
            .map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let (width, height) = (max_x - min_x, max_y - min_y);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let degrees = match style.transform() {
            FontTransform::None => 0,
            FontTransform::Rotate90 => 90,
            FontTransform::Rotate180 => 180,
            FontTransform::Rotate270 => 270,
        };
        let f = font::font();
        let size = style.size() as f32;
        let scale = size / f.height_unscaled();
        let _ = write!(
            self.body,
            "<g {} transform=\"translate({} {}) rotate({degrees}) translate({} {}) scale({scale})\">",
            paint("fill", color),
            pos.0,
            pos.1,
            dx - min_x,
            dy - min_y + (size / 2.0) as i32,
        );
        let mut pen = 0f32;
        let mut previous = None;
        for c in text.chars() {
            let glyph = f.glyph_id(c);
            if let Some(p) = previous {
                pen += f.kern_unscaled(p, glyph);
            }
            previous = Some(glyph);
            if f.outline(glyph).is_some() {
                self.glyphs.insert(glyph.0);
                let _ = write!(
                    self.body,
                    "<use xlink:href=\"#{}-g{}\" x=\"{}\"/>",
                    self.id,
                    glyph.0,
                    pen.round()
                );
            }
            pen += f.h_advance_unscaled(glyph);
        }
        self.body.push_str("</g>");
        Ok(())
    }
}
