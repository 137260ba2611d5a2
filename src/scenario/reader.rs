//! Reading the keys of one inline table (`{ dist = "gamma", mean = "5ms", cv = 0.5 }`), with a
//! problem for every mistake: the one reader that distributions, and later balancers, retries,
//! popularity laws and traffic shapes, share.
//!
//! A *tagged* table names its kind in one key (`dist = "gamma"`); [`TableReader::tag`] reads
//! that key against the known kinds, and [`TableReader::check_keys`] then refuses every key the
//! kind does not take, suggesting the nearest valid one.

use super::duration::parse_duration_ns;
use super::problem::{join, nearest, Problem};

/// Reads the keys of one table at key path `path`, pushing a [`Problem`] for each mistake.
pub struct TableReader<'a> {
    pub table: &'a toml::Table,
    pub path: &'a str,
    pub problems: &'a mut Vec<Problem>,
    /// A complete, valid table of this kind, shown when a required key is missing.
    pub example: &'static str,
}

impl<'a> TableReader<'a> {
    /// A reader for `value`, which must be a table; else a problem saying what was expected
    /// (`expected`, e.g. "a distribution table such as { ... }") and `None`.
    pub fn new(
        value: &'a toml::Value,
        path: &'a str,
        problems: &'a mut Vec<Problem>,
        expected: &str,
    ) -> Option<TableReader<'a>> {
        match value.as_table() {
            Some(table) => Some(TableReader {
                table,
                path,
                problems,
                example: "",
            }),
            None => {
                problems.push(Problem::new(
                    path,
                    format!("expected {expected}, not {}", a_value(value)),
                ));
                None
            }
        }
    }

    pub fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems
            .push(Problem::new(join(self.path, key), message));
    }

    pub fn problem_here(&mut self, message: impl Into<String>) {
        self.problems.push(Problem::new(self.path, message));
    }

    /// Reads the tag key (`dist`) naming the table's kind (a `noun`, "distribution") among
    /// `kinds` (name, example): the
    /// known name, or a problem (missing, unknown with the nearest name, not a string). The
    /// example of the kind found becomes the reader's example.
    pub fn tag(
        &mut self,
        key: &str,
        noun: &str,
        kinds: &[(&'static str, &'static str)],
    ) -> Option<&'static str> {
        let names: Vec<&'static str> = kinds.iter().map(|(name, _)| *name).collect();
        let valid = names.join(", ");
        match self.table.get(key) {
            None => {
                self.problem_here(format!("missing \"{key}\"; valid {noun}s: {valid}"));
                None
            }
            Some(toml::Value::String(name)) => {
                match kinds.iter().find(|(known, _)| known == name) {
                    Some(&(known, example)) => {
                        self.example = example;
                        Some(known)
                    }
                    None => {
                        let hint = nearest(name, &names)
                            .map(|near| format!("did you mean \"{near}\"? "))
                            .unwrap_or_default();
                        self.problem(
                            key,
                            format!("unknown {noun} \"{name}\"; {hint}valid {noun}s: {valid}"),
                        );
                        None
                    }
                }
            }
            Some(other) => {
                let message = format!(
                    "{key} must be a string naming the {noun}, not {}; valid: {valid}",
                    a_type(other)
                );
                self.problem(key, message);
                None
            }
        }
    }

    /// Reports every key that is not `valid` and not accepted by `also`, each with the nearest
    /// valid key; `what` names the table in the message ("for gamma").
    pub fn check_keys(&mut self, valid: &[&str], also: impl Fn(&str) -> bool, what: &str) {
        let table = self.table;
        for key in table.keys() {
            if valid.contains(&key.as_str()) || also(key) {
                continue;
            }
            let hint = nearest(key, valid)
                .map(|near| format!("did you mean \"{near}\"? "))
                .unwrap_or_default();
            let message = format!(
                "unknown key \"{key}\" {what}; {hint}it takes {}",
                valid.join(", ")
            );
            self.problem(key, message);
        }
    }

    /// The value of a required key, or a problem naming it with the reader's example.
    pub fn required(&mut self, key: &str) -> Option<&'a toml::Value> {
        let table = self.table;
        let value = table.get(key);
        if value.is_none() {
            let message = format!("missing \"{key}\"; write e.g. {}", self.example);
            self.problem_here(message);
        }
        value
    }

    pub fn duration_ns(&mut self, key: &str) -> Option<f64> {
        let value = self.required(key)?;
        self.duration_value_ns(key, value)
    }

    /// A duration with a unit (`"4ms"`); a bare number or another type is a problem.
    pub fn duration_value_ns(&mut self, key: &str, value: &toml::Value) -> Option<f64> {
        let message = match value {
            toml::Value::String(text) => match parse_duration_ns(text) {
                Ok(ns) => return Some(ns as f64),
                Err(message) => message,
            },
            toml::Value::Integer(_) | toml::Value::Float(_) => format!(
                "{key} must be a duration with a unit such as \"{value}ms\", not the bare number {value}"
            ),
            other => format!(
                "{key} must be a duration such as \"4ms\", not {}",
                a_type(other)
            ),
        };
        self.problem(key, message);
        None
    }

    pub fn positive_duration_ns(&mut self, key: &str) -> Option<f64> {
        let ns = self.duration_ns(key)?;
        if ns > 0.0 {
            Some(ns)
        } else {
            self.problem(key, format!("{key} must be greater than 0"));
            None
        }
    }

    pub fn number(&mut self, key: &str) -> Option<f64> {
        let value = self.required(key)?;
        let message = match value {
            toml::Value::Integer(integer) => return Some(*integer as f64),
            toml::Value::Float(float) if float.is_finite() => return Some(*float),
            toml::Value::Float(float) => format!("{key} must be a finite number, not {float}"),
            toml::Value::String(text) => {
                format!("{key} must be a number without quotes or unit, such as {key} = 1.5, not the string \"{text}\"")
            }
            other => format!("{key} must be a number, not {}", a_type(other)),
        };
        self.problem(key, message);
        None
    }

    /// A required number inside `range`; outside it, "KEY VALUE must be BOUNDS" (`bounds`
    /// says the range in words, e.g. "from 0 to 1000000").
    pub fn number_within(
        &mut self,
        key: &str,
        range: std::ops::RangeInclusive<f64>,
        bounds: &str,
    ) -> Option<f64> {
        let number = self.number(key)?;
        if range.contains(&number) {
            Some(number)
        } else {
            let shown = super::problem::shown(number);
            self.problem(key, format!("{key} {shown} must be {bounds}"));
            None
        }
    }

    pub fn positive_number(&mut self, key: &str) -> Option<f64> {
        let number = self.number(key)?;
        if number > 0.0 {
            Some(number)
        } else {
            self.problem(key, format!("{key} must be greater than 0, not {number}"));
            None
        }
    }
}

impl TableReader<'_> {
    /// `Some(value)` of an optional duration key; `None` when absent (or invalid, reported).
    pub fn opt_duration_ns(&mut self, key: &str) -> Option<f64> {
        self.table
            .contains_key(key)
            .then(|| self.duration_ns(key))
            .flatten()
    }

    pub fn opt_number(&mut self, key: &str) -> Option<f64> {
        self.table
            .contains_key(key)
            .then(|| self.number(key))
            .flatten()
    }

    /// A whole number in `[min, max]`, if the key is present.
    pub fn opt_whole(&mut self, key: &str, min: i64, max: i64) -> Option<i64> {
        let value = self.table.get(key)?;
        match value {
            toml::Value::Integer(n) if (min..=max).contains(n) => Some(*n),
            toml::Value::Integer(n) => {
                self.problem(
                    key,
                    format!("{key} = {n} is out of range; use a whole number from {min} to {max}"),
                );
                None
            }
            other => {
                self.problem(
                    key,
                    format!(
                        "{key} must be a whole number from {min} to {max}, not {}",
                        a_value(other)
                    ),
                );
                None
            }
        }
    }

    pub fn opt_bool(&mut self, key: &str) -> Option<bool> {
        match self.table.get(key)? {
            toml::Value::Boolean(b) => Some(*b),
            other => {
                self.problem(
                    key,
                    format!("{key} must be true or false, not {}", a_value(other)),
                );
                None
            }
        }
    }

    pub fn opt_string(&mut self, key: &str) -> Option<&'_ str> {
        let table = self.table;
        match table.get(key)? {
            toml::Value::String(text) => Some(text.as_str()),
            other => {
                self.problem(
                    key,
                    format!("{key} must be a string, not {}", a_value(other)),
                );
                None
            }
        }
    }
}

/// A TOML value's type with its article, for messages: "an integer", "a table".
pub fn a_type(value: &toml::Value) -> String {
    let name = value.type_str();
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

/// A TOML value as a person would name it: a string, number or true/false itself (so that
/// "from 1 to 1000, not 0" says what is wrong with a whole number out of range), else its type.
pub fn a_value(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) => format!("the string \"{text}\""),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(x) => format!("the number {}", super::problem::shown(*x)),
        toml::Value::Boolean(b) => b.to_string(),
        other => a_type(other),
    }
}
