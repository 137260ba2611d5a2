//! A grid's points in parallel: each point's replications run on the same rayon pool, so two
//! jobs keep two cores busy whether a grid has many cheap points or few expensive ones.

use super::run_replications;
use crate::metrics::summary::{summarize, Outcome};
use crate::scenario::Model;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// Runs the points numbered `indices` on the current rayon pool (`ThreadPool::install`
/// chooses it), each loaded by `load` when it starts (so memory holds the points running, not
/// the grid), and hands each outcome to `done` as the point finishes: from worker threads, in
/// whatever order points finish. A point's outcome depends on its model alone, never on the
/// thread count or on the other points. Points not yet started when `stop` is set are
/// skipped; points already running finish. A load error stops the run and is returned.
pub fn run_points<E: Send>(
    indices: &[usize],
    load: &(dyn Fn(usize) -> Result<Model, E> + Sync),
    stop: &AtomicBool,
    done: &(dyn Fn(usize, &Model, Outcome) + Sync),
) -> Result<(), E> {
    indices.par_iter().try_for_each(|&index| {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let model = load(index)?;
        let pool = run_replications(&model, &|_, _| {});
        done(index, &model, summarize(&model, &pool));
        Ok(())
    })
}
