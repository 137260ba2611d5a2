//! The time series of one replication: counters and a latency histogram for the window under
//! way, closed into the series at each window's end (the histogram is emptied and reused for
//! the next window); and the `WindowTick` event.

use crate::metrics::recorder::Counts;
use crate::metrics::series::{OpenLatency, Series};
use crate::scenario::model::Model;

/// The window under way and the windows closed so far.
pub struct SeriesState {
    /// Arrivals and endings in the window under way.
    pub window: Counts,
    pub(super) latency: OpenLatency,
    /// Each service's cumulative integrals (laid out as the series' levels) and visits at
    /// the start of the window under way; and the same at its end, reused at each window.
    pub(super) marks: Vec<u128>,
    pub(super) now: Vec<u128>,
    pub(super) visit_marks: Vec<u64>,
    pub(super) visits: Vec<u64>,
    /// Where each service's levels start.
    pub(super) offsets: Vec<usize>,
    pub series: Series,
}

impl SeriesState {
    pub fn new(model: &Model) -> SeriesState {
        let series = Series::new(model);
        let services = model.services.len();
        SeriesState {
            window: Counts::default(),
            latency: OpenLatency::default(),
            marks: vec![0; series.levels_per_window()],
            now: vec![0; series.levels_per_window()],
            visit_marks: vec![0; services],
            visits: vec![0; services],
            offsets: series.level_offsets(),
            series,
        }
    }
}
