//! The ids the validated model uses, in a file of their own so that the model's parts
//! (`fleet.rs`) can name them without importing `model.rs`, which holds those parts.

/// Index of a service in [`Model::services`](super::model::Model::services).
pub type ServiceId = usize;

/// Names as listed (of services, or of classes), with each name's first place found in O(1):
/// validation looks a name up for every call, entry, fault and deployment, and a scan of the
/// list per lookup made a scenario of 10^5 services take minutes (issue 17). Derefs to the
/// list, so listings and `names[id]` read it as before.
#[derive(Debug, Default)]
pub struct NameIndex {
    names: Vec<String>,
    first: rustc_hash::FxHashMap<String, usize>,
}

impl NameIndex {
    pub fn new(names: Vec<String>) -> NameIndex {
        let mut first = rustc_hash::FxHashMap::default();
        first.reserve(names.len());
        for (i, name) in names.iter().enumerate() {
            first.entry(name.clone()).or_insert(i);
        }
        NameIndex { names, first }
    }

    /// The place of the first name equal to `name`, as `iter().position` would find it.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.first.get(name).copied()
    }
}

impl std::ops::Deref for NameIndex {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.names
    }
}
