//! One mistake found in a scenario, named by its key path.

/// A problem found while checking a scenario.
///
/// `path` is the key path in the form users type after `--set`, with services addressed by
/// name (`service.api.service_time.median`); the loader turns it into `file:line:column`.
/// `message` says what is wrong and what would be valid, lowercase, without a final period.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Joins a parent key path and a child key.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// The candidate nearest to a misspelt `key`, if it is close enough to be a plausible typo: at
/// most 2 edits, or a third of the candidate's length for long names (transpositions count
/// as one edit).
pub fn nearest<'c>(key: &str, candidates: &[&'c str]) -> Option<&'c str> {
    candidates
        .iter()
        .map(|candidate| (strsim::damerau_levenshtein(key, candidate), *candidate))
        .min()
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(2))
        .map(|(_, candidate)| candidate)
}

/// "unknown key `replicaz`; did you mean `replicas`? valid keys: ...".
pub fn unknown_key_message(key: &str, valid: &[&str]) -> String {
    let list = valid
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match nearest(key, valid) {
        Some(v) => format!("unknown key `{key}`; did you mean `{v}`? valid keys: {list}"),
        None => format!("unknown key `{key}`; valid keys: {list}"),
    }
}

/// Names a message lists; the rest are counted.
pub const LISTED_NAMES: usize = 20;

/// Names for a message: each once, in the order first given, comma-separated; past
/// [`LISTED_NAMES`], counted (`and 99,980 more`). A scenario of 10^5 services listed them
/// all in each message that names the services defined, deduplicated by a linear search:
/// 28 s to report a mistake in a 3 MB file.
pub fn listing(names: &[String]) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut listed: Vec<&str> = Vec::new();
    let mut more = 0usize;
    for name in names {
        if seen.insert(name.as_str()) {
            if listed.len() < LISTED_NAMES {
                listed.push(name);
            } else {
                more += 1;
            }
        }
    }
    let list = listed.join(", ");
    if more == 0 {
        list
    } else {
        format!("{list} and {more} more")
    }
}

/// A number as a message shows it: as Rust writes it, except that a magnitude of
/// 10^6 or more is written with an exponent (`2e6`; `1e308`, not its 309 digits).
pub fn shown(value: f64) -> String {
    if value.is_finite() && value.abs() >= 1e6 {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_names_each_once_and_counts_past_twenty() {
        // "b" twice is listed once; 25 distinct names: the first 20 and "and 5 more".
        let few: Vec<String> = ["a", "b", "b", "c"].map(String::from).to_vec();
        assert_eq!(listing(&few), "a, b, c");
        let many: Vec<String> = (0..25).map(|i| format!("s{i}")).collect();
        let first: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
        assert_eq!(listing(&many), format!("{} and 5 more", first.join(", ")));
    }
}
