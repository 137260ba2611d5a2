//! Scenarios: TOML text -> raw serde structs -> validation (every problem, with key paths and
//! lines) -> a resolved [`model::Model`] with ids and nanoseconds.

pub mod deploy;
pub mod distribution;
pub mod duration;
pub mod fleet;
pub mod graph;
pub mod grid;
pub mod ids;
pub mod keys;
pub mod load;
pub mod model;
pub mod numbers;
pub mod paths;
pub mod problem;
pub mod raw;
pub mod reader;
pub mod schema;
pub mod set;
pub mod validate;
pub mod world;
pub mod world_keys;

pub use load::{load, load_with_files, Diagnostic, LoadError, Source};
pub use model::Model;
