//! Scenario text -> [`Model`]: TOML syntax, `--set` overrides, validation, and the place of
//! every problem (`file:line:column`, or the `--set` that caused it).
//!
//! This module reads no files: the CLI hands it the text and the file name.

use super::model::Model;
use super::numbers::{element_path, numbers_too_large, span_start};
use super::problem::Problem;
use super::validate::{validate, validate_owned};
use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;
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
    /// The lines of the file around the problem, with a caret under it (syntax errors).
    pub snippet: Option<String>,
}

/// Everything wrong with a scenario: the first [`MAX_DIAGNOSTICS`] problems with their
/// places, and how many more there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub file: String,
    pub diagnostics: Vec<Diagnostic>,
    /// Problems found beyond those listed.
    pub more: usize,
}

/// The most problems a load error lists with their places. Placing a problem scans the text
/// up to it, so placing each of 200,000 problems in a 3 MB file (100,000 empty services, two
/// problems each) took 40 s and a million services would take hours; nobody reads past the
/// first hundred, and the rest are counted.
pub const MAX_DIAGNOSTICS: usize = 100;

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            if d.path.is_empty() {
                writeln!(f, "error: {}: {}", d.location, d.message)?;
            } else {
                writeln!(f, "error: {}: {}: {}", d.location, d.path, d.message)?;
            }
            if let Some(snippet) = &d.snippet {
                writeln!(f, "{}", snippet.trim_end())?;
            }
        }
        if self.more > 0 {
            writeln!(
                f,
                "... and {} more problems (the first {} are listed)",
                self.more,
                self.diagnostics.len()
            )?;
        }
        let n = self.diagnostics.len() + self.more;
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
    load_with_files(text, file, overrides, &no_files)
}

/// The file reader of a scenario given as text alone.
fn no_files(_: &str) -> Result<String, String> {
    Err("files named in a scenario are read only when it is loaded from a file".into())
}

/// [`load`], with a reader for the files a scenario names (trace files), given their path as
/// written in the scenario. The CLI passes one that reads them relative to the scenario file.
pub fn load_with_files(
    text: &str,
    file: &str,
    overrides: &[String],
    files: super::world::FileReader,
) -> Result<Model, LoadError> {
    let mut source = Source::parse_with_files(text, file, files)?;
    source.set(overrides);
    source.into_model()
}

/// A scenario parsed once, to be loaded many times: with `--set` overrides and `--sweep`
/// axes applied, as a whole (grid tables checked) or as one point of its grid.
#[derive(Clone)]
pub struct Source<'f> {
    text: String,
    file: String,
    /// Byte offset of every key of `[sweep]` and `[plan]`, by key path: the order of the axes.
    grid_spans: HashMap<String, usize>,
    /// Byte offset of every key written in the file, by key path, to locate problems: found
    /// from the text again the first time one is located, since most loads have none and
    /// the map costs about half as much as the parsed table (a path per key).
    spans: OnceLock<HashMap<String, usize>>,
    table: toml::Table,
    /// Which command-line option wrote a key path, for messages.
    set_by: HashMap<String, String>,
    /// Problems with the overrides themselves.
    problems: Vec<Problem>,
    /// Axis paths added by `--sweep`, in command-line order.
    command_line_axes: Vec<String>,
    /// Reads the files the scenario names (trace files).
    files: super::world::FileReader<'f>,
}

impl Source<'static> {
    /// [`Source::parse_with_files`] for a scenario given as text alone: a trace file it names
    /// is refused.
    pub fn parse(text: &str, file: &str) -> Result<Source<'static>, LoadError> {
        Source::parse_with_files(text, file, &no_files)
    }
}

impl<'f> Source<'f> {
    /// Parses the TOML (a syntax error is reported at its place, with the line and a caret),
    /// with a reader for the files the scenario names.
    pub fn parse_with_files(
        text: &str,
        file: &str,
        files: super::world::FileReader<'f>,
    ) -> Result<Source<'f>, LoadError> {
        let error = |diagnostics| LoadError {
            file: file.to_string(),
            diagnostics,
            more: 0,
        };
        let root = match DeTable::parse(text) {
            Ok(root) => root,
            Err(e) => return Err(error(vec![syntax_error(text, file, e.message(), e.span())])),
        };
        let mut huge = Vec::new();
        numbers_too_large(root.get_ref(), "", &mut huge);
        if !huge.is_empty() {
            let more = huge.len().saturating_sub(MAX_DIAGNOSTICS);
            let diagnostics = huge
                .into_iter()
                .take(MAX_DIAGNOSTICS)
                .map(|(path, at, message)| Diagnostic {
                    location: format!("{file}:{}", line_column(text, at)),
                    path,
                    message,
                    snippet: None,
                })
                .collect();
            return Err(LoadError {
                more,
                ..error(diagnostics)
            });
        }
        let mut grid_spans = HashMap::new();
        for (key, value) in root.get_ref() {
            if matches!(key.get_ref().as_ref(), "sweep" | "plan") {
                grid_spans.insert(key.get_ref().to_string(), key.span().start);
                collect_value(value, key.get_ref(), &mut grid_spans);
            }
        }
        // The table from the tree just parsed (as `text.parse()` would, parsing again),
        // which it consumes as it goes.
        let table = match toml::Table::deserialize(toml::de::Deserializer::from(root)) {
            Ok(t) => t,
            Err(e) => {
                let diagnostic = Diagnostic {
                    location: file.to_string(),
                    path: String::new(),
                    message: format!("invalid TOML: {}", e.message().trim().replace('\n', " ")),
                    snippet: None,
                };
                return Err(error(vec![diagnostic]));
            }
        };
        Ok(Source {
            text: text.to_string(),
            file: file.to_string(),
            grid_spans,
            spans: OnceLock::new(),
            table,
            set_by: HashMap::new(),
            problems: Vec::new(),
            command_line_axes: Vec::new(),
            files,
        })
    }

    /// Applies `--set PATH=VALUE` overrides, in order.
    pub fn set(&mut self, overrides: &[String]) {
        for assignment in overrides {
            match super::set::apply(&mut self.table, assignment) {
                Ok(path) => {
                    self.set_by.insert(path, format!("--set {assignment}"));
                }
                Err(p) => {
                    self.set_by
                        .insert(p.path.clone(), format!("--set {assignment}"));
                    self.problems.push(p);
                }
            }
        }
    }

    /// Adds `--sweep PATH=VALUES` axes to `[sweep]` (replacing an axis of the same path).
    /// VALUES is a comma-separated list (`2,4,8`; each read as `--set` reads a value) or a
    /// range table (`{ from = 100, to = 1000, step = 100 }`).
    pub fn add_sweep_axes(&mut self, axes: &[String]) {
        for assignment in axes {
            let Some((path, text)) = assignment.split_once('=') else {
                self.problems.push(Problem::new(
                    assignment.as_str(),
                    "--sweep takes PATH=V1,V2,..., e.g. --sweep service.api.replicas=2,4,8",
                ));
                continue;
            };
            let (path, text) = (path.trim(), text.trim());
            let value = parse_toml_value(text)
                .filter(|v| v.is_table() || v.is_array())
                .or_else(|| parse_toml_value(&format!("[{text}]")))
                .unwrap_or_else(|| {
                    toml::Value::Array(
                        text.split(',')
                            .map(|v| super::set::parse_value(v.trim()))
                            .collect(),
                    )
                });
            let sweep = self
                .table
                .entry("sweep")
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match sweep {
                toml::Value::Table(t) => {
                    t.insert(path.to_string(), value);
                    let key = super::problem::join("sweep", path);
                    self.set_by.insert(key, format!("--sweep {assignment}"));
                    self.command_line_axes.retain(|p| p != path);
                    self.command_line_axes.push(path.to_string());
                }
                _ => self.problems.push(Problem::new(
                    "sweep",
                    "[sweep] in the file is not a table, so --sweep cannot add to it",
                )),
            }
        }
    }

    /// Validates the whole scenario, `[sweep]` and `[plan]` included.
    pub fn model(&self) -> Result<Model, LoadError> {
        if !self.problems.is_empty() {
            return Err(self.error(self.problems.clone(), &self.set_by));
        }
        validate(&self.table, self.stem(), self.files)
            .map_err(|problems| self.error(problems, &self.set_by))
    }

    /// [`Source::model`] for a source loaded once: its table is taken apart as it is
    /// validated rather than copied (`validate_owned`).
    fn into_model(mut self) -> Result<Model, LoadError> {
        if !self.problems.is_empty() {
            return Err(self.error(self.problems.clone(), &self.set_by));
        }
        let table = std::mem::take(&mut self.table);
        validate_owned(table, self.stem(), self.files)
            .map_err(|problems| self.error(problems, &self.set_by))
    }

    /// The axes of `[sweep]` or `[plan]` (`section`), in the order written: the file's first,
    /// then `--sweep`'s. Read after [`Source::model`] has checked them.
    pub fn axes(&self, section: &str) -> Vec<super::grid::Axis> {
        let mut axes = super::grid::axes(&self.table, section);
        let order = |axis: &super::grid::Axis| match self
            .command_line_axes
            .iter()
            .position(|p| *p == axis.path)
        {
            Some(i) if section == "sweep" => usize::MAX / 2 + i,
            _ => self
                .grid_spans
                .get(&super::problem::join(section, &axis.path))
                .copied()
                .unwrap_or(usize::MAX / 4),
        };
        axes.sort_by_key(order);
        axes
    }

    /// One point of a grid: the scenario without `[sweep]` and `[plan]`, with each
    /// `(path, value)` of `settings` set (after the `--set` overrides).
    pub fn point(&self, settings: &[(&str, &toml::Value)]) -> Result<Model, LoadError> {
        let mut table = super::grid::without_grid(&self.table);
        let mut set_by = self.set_by.clone();
        let shown: Vec<String> = settings
            .iter()
            .map(|(path, value)| format!("{path}={}", super::grid::label(value)))
            .collect();
        let mut problems = self.problems.clone();
        for (path, value) in settings {
            set_by.insert(path.to_string(), format!("point {}", shown.join(", ")));
            if let Err(p) = super::grid::apply(&mut table, path, value) {
                problems.push(p);
            }
        }
        if !problems.is_empty() {
            return Err(self.error(problems, &set_by));
        }
        validate_owned(table, self.stem(), self.files)
            .map_err(|problems| self.error(problems, &set_by))
    }

    /// The scenario as it will run (overrides and `--sweep` applied), as canonical TOML with
    /// comments and layout dropped, without `[plan]`: what identifies a sweep's results.
    pub fn canonical_text(&self) -> String {
        let mut table = self.table.clone();
        table.remove("plan");
        toml::to_string(&table).unwrap_or_default()
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    fn stem(&self) -> &str {
        std::path::Path::new(&self.file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("scenario")
    }

    /// The byte offset of every key written in the file (see `spans`).
    fn spans(&self) -> &HashMap<String, usize> {
        self.spans.get_or_init(|| {
            let mut spans = HashMap::new();
            // The text parsed when the source was made, so it parses again.
            if let Ok(root) = DeTable::parse(&self.text) {
                collect_spans(root.get_ref(), "", &mut spans);
            }
            spans
        })
    }

    fn error(&self, problems: Vec<Problem>, set_by: &HashMap<String, String>) -> LoadError {
        let more = problems.len().saturating_sub(MAX_DIAGNOSTICS);
        let diagnostics = problems
            .into_iter()
            .take(MAX_DIAGNOSTICS)
            .map(|Problem { path, message }| Diagnostic {
                location: locate(&self.text, &self.file, self.spans(), set_by, &path),
                path,
                message,
                snippet: None,
            })
            .collect();
        LoadError {
            file: self.file.clone(),
            diagnostics,
            more,
        }
    }
}

fn parse_toml_value(text: &str) -> Option<toml::Value> {
    format!("v = {text}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
}

/// A TOML syntax error in the user's words, at the place that needs fixing, with the line
/// and a caret under it. Two cases get a better place than the parser's: an inline table or
/// list left open (the parser only notices at the next line, where nothing is wrong), and a
/// duplicate key (named, and `[[traffic]]` explained).
fn syntax_error(text: &str, file: &str, message: &str, span: Option<Range<usize>>) -> Diagnostic {
    let message = message.trim().replace('\n', " ");
    let Some(span) = span else {
        return Diagnostic {
            location: file.to_string(),
            path: String::new(),
            message: format!("invalid TOML: {message}"),
            snippet: None,
        };
    };
    let (span, message, label) = if message.contains("duplicate key") {
        let key = text
            .get(span.clone())
            .unwrap_or("")
            .trim()
            .trim_matches(|c| c == '"' || c == '\'');
        let line = text[..span.start.min(text.len())]
            .rsplit('\n')
            .next()
            .unwrap_or("")
            .trim_start();
        let message = if key == "traffic" || line.starts_with("[[traffic") {
            "a scenario has one traffic source: one [traffic] table with its rate; to mix kinds of request, give [traffic] the total rate and add [[class]] tables (name, weight, entry, slo)".to_string()
        } else if line.starts_with('[') {
            format!("the table [{key}] is defined twice; merge the two into one")
        } else {
            format!("the key `{key}` is set twice in the same table; keep one")
        };
        (span, message, "defined again here".to_string())
    } else {
        match unclosed_bracket(&text[..span.start.min(text.len())]) {
            Some((at, bracket)) if line_of(text, at) < line_of(text, span.start) => {
                let (what, closer) = if bracket == '{' {
                    ("inline table", '}')
                } else {
                    ("list", ']')
                };
                let message = format!(
                    "the {what} opened here is not closed: a `{closer}` is missing (the parser stopped at line {}: {message})",
                    line_of(text, span.start)
                );
                (
                    at..at + 1,
                    message,
                    format!("this `{bracket}` is never closed"),
                )
            }
            _ => (span, message, "here".to_string()),
        }
    };
    let snippet = Snippet::source(text)
        .path(file)
        .annotation(AnnotationKind::Primary.span(span.clone()).label(&label));
    let rendered = Renderer::plain()
        .render(&[Group::with_level(Level::ERROR).element(snippet)])
        .to_string();
    Diagnostic {
        location: format!("{file}:{}", line_column(text, span.start)),
        path: String::new(),
        message: format!("invalid TOML: {message}"),
        snippet: Some(rendered),
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The last `{` or `[` of `text` still open at its end, outside strings and comments, with its
/// offset; `None` when every bracket is closed.
fn unclosed_bracket(text: &str) -> Option<(usize, char)> {
    let mut open: Vec<(usize, char)> = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '#' => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' | '\'' => {
                let quote = c;
                while let Some((_, c)) = chars.next() {
                    if c == '\\' && quote == '"' {
                        chars.next();
                    } else if c == quote || c == '\n' {
                        break;
                    }
                }
            }
            '{' | '[' => open.push((at, c)),
            '}' | ']' => {
                open.pop();
            }
            _ => {}
        }
    }
    open.pop()
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
        if let Some(option) = set_by.get(candidate) {
            return format!("{file} ({option})");
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
                let element = element_path(item, path, i);
                spans
                    .entry(element.clone())
                    .or_insert(span_start(item.span()));
                collect_value(item, &element, spans);
            }
        }
        _ => {}
    }
}
