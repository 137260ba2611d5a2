//! `[sweep]` and `[plan]`: axes named by key paths (as `--set` writes them), each with the
//! values it takes.
//!
//! An axis is written as a list of values (`[2, 4, 8]`), a range (`{ from, to, step }`, step
//! 1 by default for whole numbers), a geometric range (`{ from, to, factor }`) or
//! `{ values = [...] }`. A value is what `--set` would write at the path, or a *bundle*
//! `{ name = "large", set = { price_per_hour = 0.2, ... } }` that sets several keys under the
//! path at once (an instance type: its price and its service time). Which keys a path may
//! name is not listed here: each value is set on the scenario and the scenario validated, so
//! an axis reaches exactly what `--set` reaches, whatever keys the scenario has.

use super::problem::{join, unknown_key_message, Problem};
use super::set::set_value;
use std::collections::HashSet;

/// The most values one axis may take, and the most points a grid may have.
pub const MAX_AXIS_VALUES: usize = 100_000;
pub const MAX_GRID_POINTS: u128 = 1_000_000;

/// One axis of a sweep, or one knob of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// The key path as written (`service.api.replicas`).
    pub path: String,
    /// In the order written (ranges from `from` to `to`).
    pub values: Vec<toml::Value>,
    /// For plan knobs: each step along the values never makes latency worse nor
    /// availability lower, so the search may bisect. Ranges are, unless `monotone = false`.
    pub monotone: bool,
}

/// Whether `value` is a bundle (`{ set = {...} }`, optionally with a `name`).
fn is_bundle(value: &toml::Value) -> bool {
    value
        .as_table()
        .is_some_and(|t| t.contains_key("set") && t.keys().all(|k| k == "set" || k == "name"))
}

/// Sets one axis value on a scenario table (every key of a bundle).
pub fn apply(table: &mut toml::Table, path: &str, value: &toml::Value) -> Result<(), Problem> {
    if is_bundle(value) {
        let set = value["set"].as_table().ok_or_else(|| {
            Problem::new(path, "`set` in a bundle must be a table of keys to set")
        })?;
        for (key, v) in set {
            set_value(table, &join(path, key), v.clone())?;
        }
        Ok(())
    } else {
        set_value(table, path, value.clone()).map(|_| ())
    }
}

/// A value as a short label for tables and result columns: a bundle's name (or its keys),
/// a string as is, anything else as inline TOML.
pub fn label(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        v if is_bundle(v) => match v.get("name").and_then(|n| n.as_str()) {
            Some(name) => name.to_string(),
            None => v["set"].to_string(),
        },
        v => v.to_string(),
    }
}

/// The scenario without its `[sweep]` and `[plan]` tables: what one point runs.
pub fn without_grid(table: &toml::Table) -> toml::Table {
    let mut base = table.clone();
    base.remove("sweep");
    base.remove("plan");
    base
}

/// The axes of `[sweep]` or `[plan]` (`section`), in key order; problems are not reported
/// here (see [`check`]), an axis with a problem is left out.
pub fn axes(table: &toml::Table, section: &str) -> Vec<Axis> {
    let mut ignored = Vec::new();
    parse_section(table, section, &mut ignored)
}

fn parse_section(table: &toml::Table, section: &str, problems: &mut Vec<Problem>) -> Vec<Axis> {
    let Some(value) = table.get(section) else {
        return Vec::new();
    };
    let Some(entries) = value.as_table() else {
        problems.push(Problem::new(
            section,
            format!("[{section}] must be a table of key paths, e.g. \"service.api.replicas\" = [2, 4, 8]"),
        ));
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|(path, spec)| {
            let at = join(section, path);
            axis(path, spec, &at, section == "plan", problems)
        })
        .collect()
}

fn axis(
    path: &str,
    spec: &toml::Value,
    at: &str,
    plan: bool,
    problems: &mut Vec<Problem>,
) -> Option<Axis> {
    if path.split('.').any(|k| k.trim().is_empty()) {
        problems.push(Problem::new(
            at,
            format!("`{path}` is not a key path; write it like \"service.api.replicas\""),
        ));
        return None;
    }
    let (values, monotone) = match spec {
        toml::Value::Array(values) => (values.clone(), false),
        toml::Value::Table(t)
            if !is_bundle(spec)
                && !["from", "to", "step", "factor", "values"]
                    .iter()
                    .any(|k| t.contains_key(*k)) =>
        {
            problems.push(Problem::new(
                at,
                "a table here is a range ({ from, to, step }); to sweep over table values (a distribution, an autoscale setting), write them in a list: [{ ... }, { ... }]",
            ));
            return None;
        }
        toml::Value::Table(t) if !is_bundle(spec) => {
            let before = problems.len();
            let valid = ["from", "to", "step", "factor", "values", "monotone"];
            for key in t.keys().filter(|k| !valid.contains(&k.as_str())) {
                problems.push(Problem::new(
                    join(at, key),
                    unknown_key_message(key, &valid),
                ));
            }
            let monotone = match t.get("monotone") {
                None => None,
                Some(toml::Value::Boolean(b)) if plan => Some(*b),
                Some(toml::Value::Boolean(_)) => {
                    problems.push(Problem::new(
                        join(at, "monotone"),
                        "`monotone` guides the search of [plan]; a sweep runs every point",
                    ));
                    None
                }
                Some(other) => {
                    problems.push(Problem::new(
                        join(at, "monotone"),
                        format!("`monotone` is true or false, found {other}"),
                    ));
                    None
                }
            };
            let values = match t.get("values") {
                Some(toml::Value::Array(values)) => {
                    if t.contains_key("from") || t.contains_key("to") {
                        problems.push(Problem::new(
                            at,
                            "give either `values` or a range (`from`, `to`), not both",
                        ));
                    }
                    values.clone()
                }
                Some(other) => {
                    problems.push(Problem::new(
                        join(at, "values"),
                        format!("`values` is a list, found {}", other.type_str()),
                    ));
                    Vec::new()
                }
                None => range(t, at, problems).unwrap_or_default(),
            };
            if problems.len() > before {
                return None;
            }
            let is_range = !t.contains_key("values");
            (values, monotone.unwrap_or(is_range))
        }
        // A single value: an axis of one point, as `--sweep PATH=V` writes it.
        single => (vec![single.clone()], false),
    };
    if values.is_empty() {
        problems.push(Problem::new(
            at,
            "empty list of values; give at least one, e.g. [2, 4, 8]",
        ));
        return None;
    }
    if values.len() > MAX_AXIS_VALUES {
        problems.push(Problem::new(
            at,
            format!(
                "{} values is more than {MAX_AXIS_VALUES}; use a larger step",
                values.len()
            ),
        ));
        return None;
    }
    Some(Axis {
        path: path.to_string(),
        values,
        monotone,
    })
}

fn number(t: &toml::Table, key: &str, at: &str, problems: &mut Vec<Problem>) -> Option<f64> {
    match t.get(key) {
        None => None,
        Some(toml::Value::Integer(i)) => Some(*i as f64),
        Some(toml::Value::Float(f)) if f.is_finite() => Some(*f),
        Some(other) => {
            problems.push(Problem::new(
                join(at, key),
                format!("`{key}` must be a number, found {other}"),
            ));
            None
        }
    }
}

/// Rounds a computed grid value to 12 significant digits, so that 0.1 + 2 x 0.1 is 0.3.
fn tidy(v: f64) -> f64 {
    format!("{v:.11e}").parse().unwrap_or(v)
}

/// The values of `{ from, to, step }` or `{ from, to, factor }`.
fn range(t: &toml::Table, at: &str, problems: &mut Vec<Problem>) -> Option<Vec<toml::Value>> {
    let before = problems.len();
    let mut required = |key: &str| {
        let v = number(t, key, at, problems);
        if v.is_none() && !t.contains_key(key) {
            problems.push(Problem::new(
                join(at, key),
                format!(
                    "missing `{key}`; a range is {{ from, to, step }} or {{ from, to, factor }}"
                ),
            ));
        }
        v
    };
    let from = required("from");
    let to = required("to");
    let step = number(t, "step", at, problems);
    let factor = number(t, "factor", at, problems);
    if problems.len() > before {
        return None;
    }
    let (from, to) = (from?, to?);
    let whole = |key: &str| matches!(t.get(key), Some(toml::Value::Integer(_)));
    let span = format!("from {from} to {to}");
    if t.contains_key("step") && t.contains_key("factor") {
        problems.push(Problem::new(
            at,
            "give `step` (linear) or `factor` (geometric), not both",
        ));
        return None;
    }
    let mut values = Vec::new();
    if let Some(factor) = factor {
        let path = join(at, "factor");
        if factor <= 0.0 || factor == 1.0 {
            problems.push(Problem::new(
                path,
                format!("factor {factor} must be above 0 and not 1"),
            ));
            return None;
        }
        if from <= 0.0 || to <= 0.0 {
            problems.push(Problem::new(
                at,
                format!("a geometric range needs `from` and `to` above 0, found {span}"),
            ));
            return None;
        }
        if (to > from && factor < 1.0) || (to < from && factor > 1.0) {
            problems.push(Problem::new(
                path,
                format!(
                    "factor {factor} has the wrong direction: it never gets {span}; use {}",
                    1.0 / factor
                ),
            ));
            return None;
        }
        // Counted before any value is made, as a linear range's: a factor near 1
        // (1.0000000001 from 1 to 10^9 is 2 x 10^11 steps) would otherwise loop for hours,
        // its values rounding to the one before and so never reaching the limit below.
        let count = ((to / from).ln() / factor.ln() * (1.0 + 1e-12)).floor() + 1.0;
        if count > MAX_AXIS_VALUES as f64 {
            problems.push(Problem::new(
                path,
                format!(
                    "factor {factor} takes {count} steps {span}, more than the {MAX_AXIS_VALUES} values an axis may have; use a larger factor"
                ),
            ));
            return None;
        }
        let integers = whole("from") && whole("to");
        let mut v = from;
        let ahead = |v: f64| {
            if to >= from {
                v <= to * (1.0 + 1e-9)
            } else {
                v >= to * (1.0 - 1e-9)
            }
        };
        while ahead(v) && values.len() <= MAX_AXIS_VALUES {
            let value = if integers {
                // `as` saturates; the ends are whole numbers, so every value lies between.
                toml::Value::Integer(v.round() as i64)
            } else {
                toml::Value::Float(tidy(v))
            };
            if values.last() != Some(&value) {
                values.push(value);
            }
            v *= factor;
        }
        return Some(values);
    }
    let step = match step {
        Some(s) => s,
        None if whole("from") && whole("to") => 1.0,
        None => {
            problems.push(Problem::new(
                join(at, "step"),
                format!("missing `step` for a range of decimals ({span})"),
            ));
            return None;
        }
    };
    if step == 0.0 {
        problems.push(Problem::new(
            join(at, "step"),
            "step 0 never gets anywhere; use a step above 0 (or below 0 for a falling range)",
        ));
        return None;
    }
    if (to - from) * step < 0.0 {
        let message = if t.contains_key("step") {
            format!(
                "step {step} has the wrong sign: it never gets {span}; use {}",
                -step
            )
        } else {
            format!("empty range: {span} with step 1 has no values; swap them, or give step = -1")
        };
        let path = if t.contains_key("step") {
            join(at, "step")
        } else {
            at.to_string()
        };
        problems.push(Problem::new(path, message));
        return None;
    }
    let count = ((to - from) / step * (1.0 + 1e-12)).floor() + 1.0;
    if count > MAX_AXIS_VALUES as f64 {
        problems.push(Problem::new(
            at,
            format!("{count} values is more than {MAX_AXIS_VALUES}; use a larger step"),
        ));
        return None;
    }
    let integer = |key: &str| t.get(key).and_then(toml::Value::as_integer);
    let whole_numbers = match (integer("from"), integer("to"), t.get("step")) {
        (Some(from), Some(_), None) => Some((from, 1)),
        (Some(from), Some(_), Some(toml::Value::Integer(step))) => Some((from, *step)),
        _ => None,
    };
    for i in 0..count as i64 {
        values.push(match whole_numbers {
            // In 128 bits: every value lies between `from` and `to`, but a step times a
            // count need not fit in 64.
            Some((from, step)) => {
                toml::Value::Integer((i128::from(from) + i128::from(i) * i128::from(step)) as i64)
            }
            None => toml::Value::Float(tidy(from + i as f64 * step)),
        });
    }
    Some(values)
}

/// The problems a whole scenario has (none when it is valid): how [`check`] validates each
/// point. `validate.rs` passes itself in, so that this file does not import it (it calls
/// `check`).
pub type Validate<'a> = &'a dyn Fn(&toml::Table) -> Vec<Problem>;

/// Checks `[sweep]` and `[plan]`: every axis's form, and that each of its values, set on the
/// scenario alone, gives a valid scenario by `validate` (so that its path names a key `--set`
/// reaches and its values fit that key). Problems are reported at `sweep.PATH` / `plan.PATH`.
pub fn check(table: &toml::Table, has_slo: bool, validate: Validate, problems: &mut Vec<Problem>) {
    let sweep = parse_section(table, "sweep", problems);
    let plan = parse_section(table, "plan", problems);
    if table.contains_key("plan") && !has_slo {
        problems.push(Problem::new(
            "plan",
            "a plan searches for the cheapest design that meets every SLO, and there is none; add an [slo] table (or a class's slo), e.g. p99 = \"50ms\"",
        ));
    }
    if let Some(t) = table.get("plan").and_then(|p| p.as_table()) {
        if t.is_empty() {
            problems.push(Problem::new(
                "plan",
                "[plan] has no knobs; add one, e.g. \"service.api.replicas\" = { from = 1, to = 64 }",
            ));
        }
    }
    for (section, axes) in [("sweep", &sweep), ("plan", &plan)] {
        let points = axes
            .iter()
            .map(|a| a.values.len() as u128)
            .product::<u128>();
        if points > MAX_GRID_POINTS {
            problems.push(Problem::new(
                section,
                format!("the grid has {points} points, more than {MAX_GRID_POINTS}"),
            ));
        }
    }
    if sweep.is_empty() && plan.is_empty() {
        return;
    }
    let base = without_grid(table);
    let base_problems: HashSet<Problem> = validate(&base).into_iter().collect();
    for (section, axes) in [("sweep", sweep), ("plan", plan)] {
        for axis in axes {
            check_values(&base, &base_problems, section, &axis, validate, problems);
        }
    }
}

/// Sets each value of `axis` on the scenario (all of a list, the ends and every 16th of a
/// long range) and reports the problems the first bad value adds.
fn check_values(
    base: &toml::Table,
    base_problems: &HashSet<Problem>,
    section: &str,
    axis: &Axis,
    validate: Validate,
    problems: &mut Vec<Problem>,
) {
    let at = join(section, &axis.path);
    let n = axis.values.len();
    let sample = (0..n).filter(|&i| n <= 64 || i % 16 == 0 || i == n - 1);
    for i in sample {
        let value = &axis.values[i];
        let mut point = base.clone();
        if let Err(p) = apply(&mut point, &axis.path, value) {
            problems.push(Problem::new(
                &at,
                format!(
                    "`{}` names no key --set can reach: {}",
                    axis.path, p.message
                ),
            ));
            return;
        }
        let added: Vec<Problem> = validate(&point)
            .into_iter()
            .filter(|p| !base_problems.contains(p))
            .collect();
        if added.is_empty() {
            continue;
        }
        for p in added {
            let message = if p.message.starts_with("unknown key") {
                format!("`{}` names no key: {}", p.path, p.message)
            } else {
                format!("at {}: {}: {}", label_for_message(value), p.path, p.message)
            };
            problems.push(Problem::new(&at, message));
        }
        return;
    }
}

fn label_for_message(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("\"{s}\""),
        v => label(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(spec: &str) -> Result<Vec<String>, Vec<Problem>> {
        let table: toml::Table = format!("[sweep]\n\"traffic.rate\" = {spec}")
            .parse()
            .unwrap();
        let mut problems = Vec::new();
        let axes = parse_section(&table, "sweep", &mut problems);
        if problems.is_empty() {
            Ok(axes[0].values.iter().map(|v| v.to_string()).collect())
        } else {
            Err(problems)
        }
    }

    /// The problems of an axis that must not load, one a line.
    fn message(spec: &str) -> String {
        let ps = values(spec).unwrap_err();
        ps.iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn ranges_expand_to_their_values() {
        assert_eq!(values("[3, 1, 2]").unwrap(), ["3", "1", "2"]);
        assert_eq!(
            values("{ from = 1, to = 4 }").unwrap(),
            ["1", "2", "3", "4"]
        );
        assert_eq!(
            values("{ from = 10, to = 1, step = -4 }").unwrap(),
            ["10", "6", "2"]
        );
        assert_eq!(
            values("{ from = 0.1, to = 0.5, step = 0.2 }").unwrap(),
            ["0.1", "0.3", "0.5"]
        );
        assert_eq!(
            values("{ from = 1, to = 20, factor = 2 }").unwrap(),
            ["1", "2", "4", "8", "16"]
        );
        // Whole-number ends keep whole numbers, without repeats.
        assert_eq!(
            values("{ from = 1, to = 4, factor = 1.5 }").unwrap(),
            ["1", "2", "3"]
        );
        assert_eq!(
            values("{ from = 100.0, to = 25.0, factor = 0.5 }").unwrap(),
            ["100.0", "50.0", "25.0"]
        );
    }

    #[test]
    fn bad_ranges_say_what_is_wrong() {
        assert!(message("[]").contains("empty list"));
        assert!(message("{ from = 1, to = 5, step = 0 }").contains("step 0"));
        assert!(message("{ from = 1, to = 5, step = -1 }").contains("wrong sign"));
        assert!(message("{ from = 5, to = 1 }").contains("empty range"));
        assert!(message("{ from = 1, to = 5, factor = 0.5 }").contains("wrong direction"));
        assert!(message("{ from = 1, to = 5, factor = 1 }").contains("not 1"));
        assert!(message("{ from = 1, to = 5, stp = 1 }").contains("did you mean `step`"));
        assert!(message("{ to = 5 }").contains("missing `from`"));
    }

    /// A geometric range is counted before it is made, as a linear one is. Found by the
    /// `overrides` fuzzer: `{ from = 1, to = 1000000000, factor = 1.0000000001 }` made
    /// `capsim validate` spin for hours (2 x 10^11 steps, ln(10^9) / ln(1 + 10^-10), each
    /// value rounding to the one before, so the list never reached its limit). From 1 to 2
    /// by 1.000001 is ln 2 / ln 1.000001 = 693,147.5 steps: 693,148 values, where whole
    /// numbers used to give [1, 2] after 693,147 turns of the loop.
    #[test]
    fn a_geometric_range_is_counted_before_it_is_made() {
        assert_eq!(
            message("{ from = 1, to = 2, factor = 1.000001 }"),
            "sweep.traffic.rate.factor: factor 1.000001 takes 693148 steps from 1 to 2, more than the 100000 values an axis may have; use a larger factor"
        );
        assert!(
            message("{ from = 1, to = 1000000000, factor = 1.0000000001 }")
                .contains("values an axis may have; use a larger factor")
        );
        assert!(
            message("{ from = 0.1, to = 1e300, factor = 1.0000000000000002 }")
                .contains("values an axis may have; use a larger factor")
        );
        // A falling range counts the same way.
        assert!(message("{ from = 2.0, to = 1.0, factor = 0.999999 }")
            .contains("values an axis may have; use a larger factor"));
    }
}
