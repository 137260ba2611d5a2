//! The ids the validated model uses, in a file of their own so that the model's parts
//! (`fleet.rs`) can name them without importing `model.rs`, which holds those parts.

/// Index of a service in [`Model::services`](super::model::Model::services).
pub type ServiceId = usize;
