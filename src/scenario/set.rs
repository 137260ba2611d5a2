//! `--set PATH=VALUE`: override one scenario key before validation.
//!
//! Paths are dotted keys; elements of `[[service]]` are addressed by name
//! (`service.api.replicas`) or by index (`service.0.replicas`). The value is read as a TOML
//! value (`8`, `0.5`, `true`, `"5ms"`, `{ dist = "constant", value = "1ms" }`); anything that
//! is not valid TOML is taken as a string, so `--set scenario.duration=10m` works unquoted.

use super::problem::Problem;

/// Applies one `PATH=VALUE` and returns the path in the form validation reports it.
pub fn apply(table: &mut toml::Table, assignment: &str) -> Result<String, Problem> {
    let Some((path, text)) = assignment.split_once('=') else {
        return Err(Problem::new(
            assignment,
            "--set takes PATH=VALUE, e.g. --set traffic.rate=250 or --set service.api.replicas=8",
        ));
    };
    if let Some(message) = super::numbers::value_too_large(text.trim()) {
        return Err(Problem::new(path.trim(), message));
    }
    set_value(table, path.trim(), parse_value(text.trim()))
}

/// Sets the key at `path` (dotted, services by name or index) to `value`, creating tables on
/// the way; returns the path in the form validation reports it. What `--set` and each point
/// of a sweep or plan do.
pub fn set_value(
    table: &mut toml::Table,
    path: &str,
    value: toml::Value,
) -> Result<String, Problem> {
    let keys: Vec<&str> = path.split('.').collect();
    if keys.iter().any(|k| k.is_empty()) {
        return Err(Problem::new(
            path,
            "--set path has an empty key; write it like service.api.replicas",
        ));
    }
    let (last, parents) = keys.split_last().expect("split yields at least one key");
    let mut current = table;
    let mut shown = Vec::new();
    let mut walk = parents.iter().copied();
    while let Some(key) = walk.next() {
        let entry = current
            .entry(key.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = match entry {
            toml::Value::Table(t) => {
                shown.push(key.to_string());
                t
            }
            // An array of tables ([[service]]): the next key selects an element.
            toml::Value::Array(items) => {
                let Some(selector) = walk.next() else {
                    let message =
                        format!("`{key}` is a list; name an element, e.g. {key}.NAME.KEY");
                    return Err(Problem::new(path, message));
                };
                let name_of = |item: &toml::Value| {
                    item.get("name")
                        .and_then(|n| n.as_str())
                        .map(str::to_string)
                };
                let position = items
                    .iter()
                    .position(|item| name_of(item).as_deref() == Some(selector))
                    .or_else(|| selector.parse::<usize>().ok().filter(|&n| n < items.len()));
                let Some(position) = position else {
                    let names: Vec<String> = items.iter().filter_map(name_of).collect();
                    let message = format!(
                        "no {key} named \"{selector}\"; defined: {}",
                        names.join(", ")
                    );
                    return Err(Problem::new(path, message));
                };
                shown.push(match name_of(&items[position]) {
                    Some(n) => format!("{key}.{n}"),
                    None => format!("{key}[{position}]"),
                });
                match &mut items[position] {
                    toml::Value::Table(t) => t,
                    _ => {
                        return Err(Problem::new(
                            path,
                            format!("element {selector} of `{key}` is not a table"),
                        ))
                    }
                }
            }
            other => {
                let message = format!(
                    "`{key}` is a {}, not a table, so it has no keys to set",
                    other.type_str()
                );
                return Err(Problem::new(path, message));
            }
        };
    }
    current.insert(last.to_string(), value);
    shown.push(last.to_string());
    Ok(shown.join("."))
}

/// A value as typed after `=`: TOML if it parses as TOML, else the text as a string.
pub fn parse_value(text: &str) -> toml::Value {
    format!("v = {text}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> toml::Table {
        r#"
            [traffic]
            rate = 100
            [[service]]
            name = "api"
            replicas = 2
            [[service]]
            name = "db"
        "#
        .parse()
        .unwrap()
    }

    #[test]
    fn sets_plain_keys_and_services_by_name_or_index() {
        let mut t = scenario();
        assert_eq!(apply(&mut t, "traffic.rate=250").unwrap(), "traffic.rate");
        assert_eq!(t["traffic"]["rate"].as_integer(), Some(250));
        assert_eq!(
            apply(&mut t, "service.db.replicas=8").unwrap(),
            "service.db.replicas"
        );
        assert_eq!(t["service"][1]["replicas"].as_integer(), Some(8));
        assert_eq!(
            apply(&mut t, "service.0.concurrency=4").unwrap(),
            "service.api.concurrency"
        );
        assert_eq!(t["service"][0]["concurrency"].as_integer(), Some(4));
        apply(&mut t, "scenario.duration=10m").unwrap();
        assert_eq!(t["scenario"]["duration"].as_str(), Some("10m"));
        apply(
            &mut t,
            r#"service.api.service_time={ dist = "constant", value = "1ms" }"#,
        )
        .unwrap();
        assert_eq!(
            t["service"][0]["service_time"]["dist"].as_str(),
            Some("constant")
        );
    }

    #[test]
    fn names_what_is_wrong_with_a_bad_assignment() {
        let mut t = scenario();
        assert!(apply(&mut t, "traffic.rate")
            .unwrap_err()
            .message
            .contains("PATH=VALUE"));
        assert!(apply(&mut t, "service.cache.replicas=2")
            .unwrap_err()
            .message
            .contains("no service named \"cache\""));
        assert!(apply(&mut t, "traffic.rate.x=1")
            .unwrap_err()
            .message
            .contains("not a table"));
    }
}
