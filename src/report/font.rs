//! The one font every chart draws with, compiled into capsim so that a chart looks the same on
//! every machine and never depends on the fonts a machine has (assets/fonts/README.md says
//! what it is, its license and how it was cut down).

use ab_glyph::FontRef;
use std::sync::OnceLock;

/// The family name charts ask plotters for.
pub const FAMILY: &str = "capsim-sans";

static BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-capsim.ttf");

/// The font, parsed once.
pub fn font() -> &'static FontRef<'static> {
    static FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(BYTES).expect("the shipped font parses"))
}

/// Registers the font with plotters (whose bitmap text goes through ab_glyph), once.
pub fn register() {
    static REGISTERED: OnceLock<()> = OnceLock::new();
    REGISTERED.get_or_init(|| {
        if plotters::style::register_font(FAMILY, plotters::style::FontStyle::Normal, BYTES)
            .is_err()
        {
            panic!("the shipped font registers");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use ab_glyph::Font;

    #[test]
    fn the_shipped_font_has_the_characters_charts_draw() {
        let font = font();
        for c in "Latency (ms) p99.99% ≤ ≥ µ × – … $0.50/h éü".chars() {
            assert_ne!(font.glyph_id(c).0, 0, "no glyph for {c:?}");
        }
    }
}
