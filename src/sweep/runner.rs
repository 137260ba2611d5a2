//! A grid's points in parallel: each point's replications run on the same rayon pool, so two
//! jobs keep two cores busy whether a grid has many cheap points or few expensive ones.

use super::run_replications;
use crate::metrics::summary::{summarize, Outcome};
use crate::scenario::Model;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// One point of a grid, loaded.
#[derive(Debug, Clone)]
pub struct Point {
    /// Its number in the whole grid (not in a shard).
    pub index: usize,
    pub model: Model,
}

/// Runs every point on the current rayon pool (`ThreadPool::install` chooses it) and hands
/// each outcome to `done` as the point finishes: from worker threads, in whatever order points
/// finish. A point's outcome depends on its model alone, never on the thread count or on the
/// other points. Points not yet started when `stop` is set are skipped; points already
/// running finish.
pub fn run_points(points: &[Point], stop: &AtomicBool, done: &(dyn Fn(&Point, Outcome) + Sync)) {
    points.par_iter().for_each(|point| {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let pool = run_replications(&point.model, &|_, _| {});
        done(point, summarize(&point.model, &pool));
    });
}
