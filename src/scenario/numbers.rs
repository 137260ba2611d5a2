//! Numbers the TOML reader cannot hold, found with their key paths (where the reader would
//! name a Rust type and no line), and the key paths of array elements: what `load.rs` and
//! `set.rs` share, so that neither imports the other.

use std::ops::Range;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// The numbers the TOML reader cannot hold (a whole number beyond what 64 bits hold, a
/// number with a fraction or exponent beyond about 1.8e308), each with its key path, the byte
/// offset of its key, and the message: named at their key in the user's words, where the
/// reader would say `invalid type: integer ... as i128` with no line.
pub(super) fn numbers_too_large(
    table: &DeTable<'_>,
    prefix: &str,
    found: &mut Vec<(String, usize, String)>,
) {
    for (key, value) in table {
        let path = super::problem::join(prefix, key.get_ref());
        number_too_large(value, &path, key.span().start, found);
    }
}

/// The message for a `--set` value that is a number too large for TOML (see
/// `numbers_too_large`), which would otherwise be taken as a string.
pub(super) fn value_too_large(text: &str) -> Option<String> {
    let mut found = Vec::new();
    numbers_too_large(
        DeTable::parse(&format!("v = {text}")).ok()?.get_ref(),
        "",
        &mut found,
    );
    found.into_iter().next().map(|(_, _, message)| message)
}

fn number_too_large(
    value: &Spanned<DeValue<'_>>,
    path: &str,
    at: usize,
    found: &mut Vec<(String, usize, String)>,
) {
    match value.get_ref() {
        DeValue::Integer(n) if i64::from_str_radix(n.as_str(), n.radix()).is_err() => {
            found.push((
                path.to_string(),
                at,
                format!(
                    "{n} is too large a number: whole numbers go from -9223372036854775808 to \
                     9223372036854775807 (docs/scenarios.md gives each key's range)"
                ),
            ));
        }
        DeValue::Float(x)
            if x.as_str().parse::<f64>().is_ok_and(f64::is_infinite)
                && !x.as_str().contains("inf") =>
        {
            found.push((
                path.to_string(),
                at,
                format!(
                    "{x} is too large a number: numbers go up to about 1.8e308 (docs/scenarios.md \
                     gives each key's range)"
                ),
            ));
        }
        DeValue::Table(t) => numbers_too_large(t, path, found),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let element = element_path(item, path, i);
                number_too_large(item, &element, span_start(item.span()), found);
            }
        }
        _ => {}
    }
}

/// The path of element `i` of the list at `path`: elements of [[service]] are addressed by
/// name, as --set addresses them; others by index.
pub(super) fn element_path(item: &Spanned<DeValue<'_>>, path: &str, i: usize) -> String {
    match item.get_ref() {
        DeValue::Table(t) => name_of(t).map(|n| format!("{path}.{n}")),
        _ => None,
    }
    .unwrap_or_else(|| format!("{path}[{i}]"))
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

pub(super) fn span_start(span: Range<usize>) -> usize {
    span.start
}
