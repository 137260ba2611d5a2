//! Reports: the summary as a terminal table, JSON (the contract of docs/contract.md),
//! Markdown, or the time series as CSV; sweep rows (CSV, JSON lines, tables) and plans; and
//! the report directory of `--out` and `capsim report`: charts as PNG and SVG and a
//! self-contained `index.html`. Reports only format what metrics and sweeps computed; they
//! never run a simulation, and they touch no file: `render` returns the files' names and
//! bytes and `cli` writes them.
//!
//! The directory's charts and page are drawn from the text of its data files alone
//! (`data::Input`: summary.json, timeseries.csv, results.csv, scenario.toml), so a report drawn
//! straight after a run and one drawn later by `capsim report DIR` are the same.

pub mod compare;
pub mod csv;
pub mod data;
pub mod draw;
pub mod events;
pub mod figure;
pub mod font;
pub mod format;
pub mod html;
pub mod json;
pub mod plan;
pub mod plot;
pub mod sample;
pub mod svg;
pub mod sweep;
pub mod text;

/// One file of a report directory: a plain name (no directory part) and its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The charts (each as `NAME.png` and `NAME.svg`) and `index.html` for what `input` holds.
pub fn render(input: &data::Input) -> Result<Vec<File>, String> {
    let figures = plot::figures(input);
    let mut files = Vec::with_capacity(2 * figures.len() + 1);
    let mut svgs = Vec::with_capacity(figures.len());
    for figure in &figures {
        let png = draw::png(figure).map_err(|e| format!("drawing {}: {e}", figure.name))?;
        let svg =
            draw::svg(figure, &figure.name).map_err(|e| format!("drawing {}: {e}", figure.name))?;
        files.push(File {
            name: format!("{}.png", figure.name),
            bytes: png,
        });
        files.push(File {
            name: format!("{}.svg", figure.name),
            bytes: svg.clone().into_bytes(),
        });
        svgs.push(svg);
    }
    files.push(File {
        name: "index.html".into(),
        bytes: html::page(input, &figures, &svgs).into_bytes(),
    });
    Ok(files)
}
