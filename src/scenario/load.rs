//! Scenario text -> [`Model`]: TOML syntax, `--set` overrides, validation, and the place of
//! every problem (`file:line:column`, or the `--set` that caused it).
//!
//! This module reads no files: the CLI hands it the text and the file name.

use super::model::Model;
use super::problem::Problem;
use super::validate::validate;
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// One problem with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// `file:line:column`, `file (--set ...)`, or just `file` when no place is known.
    pub location: String,
    /// The key path, as `--set` addresses it (`service.api.replicas`); empty for syntax errors.
    pub path: String,
    pub message: String,
}

/// Everything wrong with a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub file: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            if d.path.is_empty() {
                writeln!(f, "error: {}: {}", d.location, d.message)?;
            } else {
                writeln!(f, "error: {}: {}: {}", d.location, d.path, d.message)?;
            }
        }
        let n = self.diagnostics.len();
        write!(
            f,
            "{} problem{} found in {}",
            n,
            if n == 1 { "" } else { "s" },
            self.file
        )
    }
}

impl std::error::Error for LoadError {}

/// Parses, overrides and validates a scenario. `file` is used in messages and, through its
/// stem, as the default scenario name.
pub fn load(text: &str, file: &str, overrides: &[String]) -> Result<Model, LoadError> {
    load_with_files(text, file, overrides, &|_| {
        Err("files named in a scenario are read only when it is loaded from a file".into())
    })
}

/// [`load`], with a reader for the files a scenario names (trace files), given their path as
/// written in the scenario. The CLI passes one that reads them relative to the scenario file.
pub fn load_with_files(
    text: &str,
    file: &str,
    overrides: &[String],
    files: super::world::FileReader,
) -> Result<Model, LoadError> {
    let error = |diagnostics| LoadError {
        file: file.to_string(),
        diagnostics,
    };
    let spans = match DeTable::parse(text) {
        Ok(root) => {
            let mut spans = HashMap::new();
            collect_spans(root.get_ref(), "", &mut spans);
            spans
        }
        Err(e) => {
            let location = match e.span() {
                Some(span) => format!("{file}:{}", line_column(text, span.start)),
                None => file.to_string(),
            };
            let message = format!("invalid TOML: {}", e.message().trim().replace('\n', " "));
            return Err(error(vec![Diagnostic {
                location,
                path: String::new(),
                message,
            }]));
        }
    };
    let mut table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            let diagnostic = Diagnostic {
                location: file.to_string(),
                path: String::new(),
                message: format!("invalid TOML: {e}"),
            };
            return Err(error(vec![diagnostic]));
        }
    };

    let mut problems = Vec::new();
    let mut set_by = HashMap::new();
    for assignment in overrides {
        match super::set::apply(&mut table, assignment) {
            Ok(path) => {
                set_by.insert(path, assignment.clone());
            }
            Err(p) => {
                set_by.insert(p.path.clone(), assignment.clone());
                problems.push(p);
            }
        }
    }
    let stem = std::path::Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("scenario");
    let result = if problems.is_empty() {
        validate(&table, stem, files)
    } else {
        Err(problems)
    };
    result.map_err(|problems| {
        let diagnostics = problems
            .into_iter()
            .map(|Problem { path, message }| Diagnostic {
                location: locate(text, file, &spans, &set_by, &path),
                path,
                message,
            })
            .collect();
        error(diagnostics)
    })
}

/// The place of a key path: the `--set` that wrote it or its nearest ancestor, else the line
/// of the key or of its nearest ancestor that the file has.
fn locate(
    text: &str,
    file: &str,
    spans: &HashMap<String, usize>,
    set_by: &HashMap<String, String>,
    path: &str,
) -> String {
    let mut candidate = path;
    loop {
        if let Some(assignment) = set_by.get(candidate) {
            return format!("{file} (--set {assignment})");
        }
        if let Some(&offset) = spans.get(candidate) {
            return format!("{file}:{}", line_column(text, offset));
        }
        match candidate.rfind(['.', '[']) {
            Some(cut) => candidate = &candidate[..cut],
            None => return file.to_string(),
        }
    }
}

/// `line:column`, both from 1, of a byte offset.
fn line_column(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{line}:{column}")
}

/// Records the byte offset of every key, under the same paths that validation reports.
fn collect_spans(table: &DeTable<'_>, prefix: &str, spans: &mut HashMap<String, usize>) {
    for (key, value) in table {
        let path = super::problem::join(prefix, key.get_ref());
        spans.insert(path.clone(), key.span().start);
        collect_value(value, &path, spans);
    }
}

fn collect_value(value: &Spanned<DeValue<'_>>, path: &str, spans: &mut HashMap<String, usize>) {
    match value.get_ref() {
        DeValue::Table(t) => collect_spans(t, path, spans),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                // Elements of [[service]] are addressed by name, as --set addresses them.
                let element = match item.get_ref() {
                    DeValue::Table(t) => name_of(t).map(|n| format!("{path}.{n}")),
                    _ => None,
                }
                .unwrap_or_else(|| format!("{path}[{i}]"));
                spans
                    .entry(element.clone())
                    .or_insert(span_start(item.span()));
                collect_value(item, &element, spans);
            }
        }
        _ => {}
    }
}

fn name_of(table: &DeTable<'_>) -> Option<String> {
    table
        .iter()
        .find(|(k, _)| k.get_ref() == "name")
        .and_then(|(_, v)| match v.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            _ => None,
        })
}

fn span_start(span: Range<usize>) -> usize {
    span.start
}
