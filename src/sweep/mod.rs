//! Running many simulations: replications in parallel with rayon, results back in order.
//!
//! A run is a pure function of (model, replication): each replication builds its own
//! components and random streams, so the thread count changes nothing but the wall time.

use crate::components::system::{simulate, RunResult};
use crate::metrics::summary::{summarize, Outcome};
use crate::scenario::Model;
use rayon::prelude::*;

/// Every replication of `model`, in replication order.
pub fn run_replications(model: &Model) -> Vec<RunResult> {
    (0..model.replications)
        .into_par_iter()
        .map(|replication| simulate(model, replication))
        .collect()
}

/// Runs every replication and pools them into one outcome.
pub fn run(model: &Model) -> Outcome {
    summarize(model, &run_replications(model))
}
