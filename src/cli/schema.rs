//! `capsim schema`: the scenario format as a JSON Schema, or the reference's key tables.

use crate::scenario::schema;
use anyhow::{anyhow, Context};
use std::path::Path;
use std::process::ExitCode;

/// Prints the JSON Schema; with `markdown`, the reference's key tables instead, and with a
/// `reference` file, that file with its key tables regenerated (its prose kept).
pub fn execute(markdown: bool, reference: Option<&Path>) -> anyhow::Result<ExitCode> {
    let text = match (markdown, reference) {
        (false, _) => schema::json_schema(),
        (true, None) => schema::markdown_tables(),
        (true, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            schema::splice_reference(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?
        }
    };
    super::emit(&text);
    Ok(ExitCode::SUCCESS)
}
