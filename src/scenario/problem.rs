//! One mistake found in a scenario, named by its key path.

/// A problem found while checking a scenario.
///
/// `path` is the key path in the form users type after `--set`, with services addressed by
/// name (`service.api.service_time.median`); the loader turns it into `file:line:column`.
/// `message` says what is wrong and what would be valid, lowercase, without a final period.
#[derive(Debug, Clone, PartialEq, Eq)]
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
