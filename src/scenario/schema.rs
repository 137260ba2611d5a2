//! The key table of `keys.rs` rendered two ways: as a JSON Schema (Draft 2020-12) of the
//! scenario file read as JSON (`capsim schema`), and as the key tables of
//! `docs/scenario-reference.md` (`capsim schema --markdown`).
//!
//! The schema checks what can be checked key by key: names (`additionalProperties: false` in
//! every table), types, choices, numeric bounds, the form of a duration. Rules across keys
//! (`warmup` below `duration`, a call's service existing) stay with the reader.

use super::keys::{
    self, default_value, range_words, type_words, Key, Section, Type, DIST_KINDS, PERCENTILE_KEYS,
    SECTIONS, TOP_LEVEL,
};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// What `parse_duration_ns` accepts: a number without a sign (digits, a point, an exponent)
/// and one unit, spaces around allowed.
pub const DURATION_PATTERN: &str =
    r"^\s*\+?([0-9]+\.?[0-9]*|\.[0-9]+)(e[+-]?[0-9]+)?\s*(ns|us|µs|ms|s|m|h|d)\s*$";

/// A duration with an optional sign, as a region's `utc_offset` reads it: a `-` before what
/// `parse_duration_ns` accepts.
pub const SIGNED_DURATION_PATTERN: &str =
    r"^\s*-?\s*\+?([0-9]+\.?[0-9]*|\.[0-9]+)(e[+-]?[0-9]+)?\s*(ns|us|µs|ms|s|m|h|d)\s*$";

/// A percentage as `deployment.rolling` reads it: `"25%"`.
const PERCENT_PATTERN: &str = r"^\s*([0-9]+\.?[0-9]*|\.[0-9]+)\s*%$";

/// Paths whose forms are different tables (a call or a parallel step; a weighted or a
/// consistent-hash balancer): one schema per form, any of which may match. Every other
/// path's forms are kinds of one table (a cache is a service), so its schema takes the keys
/// of all of them.
const FORMS_APART: &[&str] = &["service.calls", "service.balancer"];

/// The JSON Schema of a scenario file, as pretty JSON with a final newline.
pub fn json_schema() -> String {
    let mut defs: BTreeMap<String, Value> = BTreeMap::new();
    defs.insert(
        "duration".into(),
        json!({
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "a duration with a unit: ns, us (µs), ms, s, m, h, d; decimals allowed (\"1.5s\"); at most 100 years",
        }),
    );
    let mut paths: Vec<&str> = Vec::new();
    for section in SECTIONS {
        if !paths.contains(&section.path) {
            paths.push(section.path);
        }
    }
    for path in paths {
        if path == "distribution" {
            defs.insert("distribution".into(), distribution(false));
            defs.insert("distribution.part".into(), distribution(true));
        } else if FORMS_APART.contains(&path) {
            let forms: Vec<&Section> = keys::sections_at(path).collect();
            let mut refs = Vec::new();
            for form in &forms {
                let name = def_name(form.id);
                refs.push(json!({ "$ref": format!("#/$defs/{name}") }));
                defs.insert(
                    name,
                    object(&form.keys.iter().collect::<Vec<_>>(), form.keys),
                );
            }
            defs.entry(path.to_string())
                .or_insert_with(|| json!({ "anyOf": refs }));
        } else {
            let mut all: Vec<&Key> = Vec::new();
            for key in keys::sections_at(path).flat_map(|s| s.keys) {
                all.push(key);
            }
            let first = keys::sections_at(path).next().map_or(&[][..], |s| s.keys);
            defs.insert(path.to_string(), object(&all, first));
        }
    }
    let top = TOP_LEVEL.iter().collect::<Vec<_>>();
    let mut schema = Map::new();
    schema.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    schema.insert("title".into(), json!("capsim scenario"));
    schema.insert(
        "description".into(),
        json!("A capsim scenario file (TOML, read as JSON); docs/scenario-reference.md explains every key"),
    );
    if let Value::Object(body) = object(&top, &[]) {
        schema.extend(body);
    }
    schema.insert(
        "$defs".into(),
        Value::Object(defs.into_iter().collect::<Map<_, _>>()),
    );
    let mut text = serde_json::to_string_pretty(&Value::Object(schema)).expect("a JSON value");
    text.push('\n');
    text
}

/// `service.calls (parallel)` -> `service.calls.parallel`: a `$defs` name without spaces.
fn def_name(id: &str) -> String {
    match id.split_once(" (") {
        None => id.to_string(),
        Some((path, form)) => format!(
            "{path}.{}",
            form.trim_end_matches(')')
                .replace(", ", "_")
                .replace(' ', "_")
        ),
    }
}

/// A table of `keys` (each name once: a name in several forms takes any of its schemas);
/// the keys of `required_from` whose default is "required" are required.
fn object(keys: &[&Key], required_from: &[Key]) -> Value {
    let mut properties: Vec<(&str, Vec<Value>)> = Vec::new();
    for key in keys {
        let schema = key_schema(key);
        match properties.iter_mut().find(|(name, _)| *name == key.name) {
            Some((_, schemas)) if !schemas.contains(&schema) => schemas.push(schema),
            Some(_) => {}
            None => properties.push((key.name, vec![schema])),
        }
    }
    let properties: Map<String, Value> = properties
        .into_iter()
        .map(|(name, mut schemas)| {
            let schema = if schemas.len() == 1 {
                schemas.remove(0)
            } else {
                json!({ "anyOf": schemas })
            };
            (name.to_string(), schema)
        })
        .collect();
    let required: Vec<&str> = required_from
        .iter()
        .filter(|k| k.default == "required")
        .map(|k| k.name)
        .collect();
    let mut object = Map::new();
    object.insert("type".into(), json!("object"));
    object.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        object.insert("required".into(), json!(required));
    }
    object.insert("additionalProperties".into(), json!(false));
    Value::Object(object)
}

/// A distribution table: one form per `dist`, each taking `dist` and its own keys (and, as
/// a mixture's part, `weight`).
fn distribution(part: bool) -> Value {
    let weight: Vec<&Key> = keys::section("distribution (mixture part)")
        .map(|s| s.keys.iter().collect())
        .unwrap_or_default();
    let mut forms = Vec::new();
    for kind in DIST_KINDS {
        let own = keys::section(&format!("distribution ({kind})")).map_or(&[][..], |s| s.keys);
        let mut form_keys: Vec<&Key> = own.iter().filter(|k| k.name != PERCENTILE_KEYS).collect();
        if part {
            form_keys.extend(weight.iter().copied());
        }
        let mut form = object(&form_keys, own);
        let Value::Object(map) = &mut form else {
            unreachable!("object() makes an object")
        };
        let properties = map["properties"].as_object_mut().expect("properties");
        let mut with_dist = Map::new();
        with_dist.insert("dist".into(), json!({ "const": kind }));
        with_dist.extend(std::mem::take(properties));
        *properties = with_dist;
        let mut required = vec![json!("dist")];
        if part {
            required.push(json!("weight"));
        }
        if let Some(Value::Array(own_required)) = map.get("required") {
            required.extend(own_required.iter().cloned());
        }
        map.insert("required".into(), Value::Array(required));
        if own.iter().any(|k| k.name == PERCENTILE_KEYS) {
            map.insert(
                "patternProperties".into(),
                json!({ "^p[0-9]+$": { "$ref": "#/$defs/duration", "description": "a percentile: p50 = 50%, p999 = 99.9%" } }),
            );
        }
        forms.push(form);
    }
    json!({
        "type": "object",
        "description": "a distribution: an inline table with `dist` and the keys of its kind",
        "required": ["dist"],
        "properties": { "dist": { "enum": DIST_KINDS } },
        "oneOf": forms,
    })
}

/// A key's schema: its type's, with its description and default.
fn key_schema(key: &Key) -> Value {
    let mut schema = type_schema(&key.ty);
    if let Value::Object(map) = &mut schema {
        if let Some(min) = key.min {
            let name = if min.exclusive {
                "exclusiveMinimum"
            } else {
                "minimum"
            };
            map.insert(name.into(), number(min.value));
        }
        if let Some(max) = key.max {
            let name = if max.exclusive {
                "exclusiveMaximum"
            } else {
                "maximum"
            };
            map.insert(name.into(), number(max.value));
        }
        let description = description(key);
        if !description.is_empty() {
            map.insert("description".into(), json!(description));
        }
        if let Some(default) = default_value(key).and_then(|v| serde_json::to_value(v).ok()) {
            map.insert("default".into(), default);
        }
    }
    schema
}

/// A bound as JSON: an integer when it is one (`1`, not `1.0`).
fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9e15 {
        json!(value as i64)
    } else {
        json!(value)
    }
}

/// The reference's words for a key, in one line: unit; default; range.
fn description(key: &Key) -> String {
    let mut parts = Vec::new();
    if !key.unit.is_empty() {
        parts.push(key.unit.to_string());
    }
    match key.default {
        "" => {}
        "required" => parts.push("required".into()),
        default => parts.push(format!("default: {default}")),
    }
    let range = range_words(key);
    if !range.is_empty() {
        parts.push(format!("range: {range}"));
    }
    parts.join("; ").replace('`', "")
}

fn type_schema(ty: &Type) -> Value {
    let reference = |name: &str| json!({ "$ref": format!("#/$defs/{name}") });
    match ty {
        Type::Duration => reference("duration"),
        Type::SignedDuration => json!({ "type": "string", "pattern": SIGNED_DURATION_PATTERN }),
        Type::Number => json!({ "type": "number" }),
        Type::Whole => json!({ "type": "integer" }),
        Type::Bool => json!({ "type": "boolean" }),
        Type::Text => json!({ "type": "string" }),
        Type::Choice(values) => json!({ "enum": values }),
        Type::Percent => json!({ "type": "string", "pattern": PERCENT_PATTERN }),
        Type::Table(path) => reference(path),
        Type::Tables(path) => json!({ "type": "array", "items": reference(path) }),
        Type::Map(value) => json!({ "type": "object", "additionalProperties": type_schema(value) }),
        Type::Strings => json!({ "type": "array", "items": { "type": "string" } }),
        Type::Numbers => json!({ "type": "array", "items": { "type": "number" } }),
        Type::Steps => json!({ "type": "array", "items": { "anyOf": [
            { "type": "string" },
            reference("service.calls"),
            reference("service.calls.parallel"),
        ] } }),
        Type::Calls => json!({ "type": "array", "items": { "anyOf": [
            { "type": "string" },
            reference("service.calls"),
        ] } }),
        Type::Call => reference("service.calls"),
        Type::Values => json!({ "type": "array" }),
        Type::Distribution => reference("distribution"),
        Type::Parts => json!({ "type": "array", "items": reference("distribution.part") }),
        Type::Axes => json!({
            "type": "object",
            "description": "key paths (\"service.api.replicas\") to a list of values or an axis table",
            "additionalProperties": { "anyOf": [ { "type": "array" }, reference("axis") ] },
        }),
        Type::Either(types) => {
            json!({ "anyOf": types.iter().map(type_schema).collect::<Vec<_>>() })
        }
    }
}

/// A section's table as the reference prints it.
pub fn markdown_table(section: &Section) -> String {
    let mut text = String::from(
        "| key | type | unit | default | range | example |\n|---|---|---|---|---|---|\n",
    );
    for key in section.keys {
        let name = if key.name == PERCENTILE_KEYS {
            "`p50`, `p90`, `p99`, ... (`pNNN`)".to_string()
        } else {
            format!("`{}`", key.name)
        };
        let cell = |words: &str| {
            if words.is_empty() {
                String::from(" |")
            } else {
                format!(" {words} |")
            }
        };
        text.push_str(&format!(
            "| {name} | {} |{}{}{} `{}` |\n",
            type_words(&key.ty),
            cell(key.unit),
            cell(key.default),
            cell(&range_words(key)),
            key.example
        ));
    }
    text
}

/// Every section's heading and table, in order: what `capsim schema --markdown` prints.
pub fn markdown_tables() -> String {
    SECTIONS
        .iter()
        .map(|s| format!("## `{}`\n\n{}", s.id, markdown_table(s)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `reference` (the text of docs/scenario-reference.md) with the table under each section's
/// heading replaced by the key table's; its prose kept. Every section must have a heading,
/// and every heading naming a table a section.
pub fn splice_reference(reference: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut lines = reference.lines().peekable();
    let mut seen = Vec::new();
    while let Some(line) = lines.next() {
        out.push_str(line);
        out.push('\n');
        let Some(heading) = line.strip_prefix("## ") else {
            continue;
        };
        let id = heading.replace('`', "");
        let Some(section) = keys::section(&id) else {
            if lines
                .clone()
                .take_while(|l| !l.starts_with("## "))
                .any(|l| l.starts_with('|'))
            {
                return Err(format!(
                    "the heading `{id}` has a table but no section in src/scenario/keys.rs"
                ));
            }
            continue;
        };
        seen.push(section.id);
        // Prose up to the table (or the next heading).
        while let Some(next) = lines.peek() {
            if next.starts_with('|') || next.starts_with("## ") {
                break;
            }
            out.push_str(next);
            out.push('\n');
            lines.next();
        }
        let had_table = lines.peek().is_some_and(|l| l.starts_with('|'));
        while lines.peek().is_some_and(|l| l.starts_with('|')) {
            lines.next();
        }
        out.push_str(&markdown_table(section));
        if !had_table {
            out.push('\n');
        }
    }
    let missing: Vec<&str> = SECTIONS
        .iter()
        .map(|s| s.id)
        .filter(|id| !seen.contains(id))
        .collect();
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(format!(
            "no heading for the sections {}; add `## `ID`` headings where they belong",
            missing.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn def_names_have_no_spaces() {
        assert_eq!(
            def_name("service.calls (parallel)"),
            "service.calls.parallel"
        );
        assert_eq!(def_name("service (cache, keyed)"), "service.cache_keyed");
        assert_eq!(def_name("service.batch"), "service.batch");
    }
}
