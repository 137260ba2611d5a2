//! Running many simulations: replications in parallel with rayon, results back in order;
//! grids of points (`grid`, `runner`), and the capacity search (`plan`).
//!
//! A run is a pure function of (model, replication): each replication builds its own
//! components and random streams, so the thread count changes nothing but the wall time.

pub mod compare;
pub mod grid;
pub mod plan;
pub mod runner;

use crate::components::system::simulate_with_progress;
use crate::engine::time::Nanos;
use crate::metrics::summary::{summarize, Outcome, Pool};
use crate::scenario::Model;
use rayon::prelude::*;
use std::sync::Mutex;

/// Told how far a replication has got: `(replication, simulated time now)`. Called from the
/// worker threads, so it must be `Sync`; it cannot change any result.
pub type Progress<'a> = &'a (dyn Fn(u32, Nanos) + Sync);

/// Every replication of `model`, each pooled as it finishes: memory holds one pool and one
/// replication per thread, however many replications there are. Pooling is exact whatever
/// the order in which replications finish (see [`Pool`]), so a lock around one shared pool
/// is all the coordination needed; it is taken once per replication.
pub fn run_replications(model: &Model, progress: Progress) -> Pool {
    let pool = Mutex::new(Pool::new(model));
    (0..model.replications)
        .into_par_iter()
        .for_each(|replication| {
            let run = simulate_with_progress(model, replication, &mut |now_ns| {
                progress(replication, now_ns)
            });
            pool.lock()
                .expect("no thread panics holding the pool")
                .add(run);
        });
    pool.into_inner()
        .expect("no thread panics holding the pool")
}

/// Adds replications `from..to` of `model` to `pool`, in parallel: how a search asks for more
/// evidence about a design without rerunning what it has.
pub fn add_replications(model: &Model, pool: &mut Pool, from: u32, to: u32) {
    let shared = Mutex::new(std::mem::replace(pool, Pool::new(model)));
    (from..to).into_par_iter().for_each(|replication| {
        let run = simulate_with_progress(model, replication, &mut |_| {});
        shared
            .lock()
            .expect("no thread panics holding the pool")
            .add(run);
    });
    *pool = shared
        .into_inner()
        .expect("no thread panics holding the pool");
}

/// Runs every replication and pools them into one outcome.
pub fn run(model: &Model) -> Outcome {
    run_with_progress(model, &|_, _| {})
}

/// [`run`], telling `progress` how far each replication has got.
pub fn run_with_progress(model: &Model, progress: Progress) -> Outcome {
    summarize(model, &run_replications(model, progress))
}
