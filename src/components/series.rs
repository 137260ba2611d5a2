//! The time series of one replication: counters and a latency histogram for the window under
//! way, closed into the series at each window's end (the histogram is emptied and reused for
//! the next window). `System` calls it when a request ends and at each `WindowTick`
//! (`system/series.rs`).

use super::entity::Ending;
use crate::engine::time::Nanos;
use crate::metrics::recorder::{Counts, ServiceRecord};
use crate::metrics::series::{OpenLatency, RolloutWindow, Series};
use crate::metrics::series::{BILLED, BUSY, QUEUED, READY, STARTING};
use crate::scenario::model::Model;

/// The window under way and the windows closed so far.
pub struct SeriesState {
    /// Arrivals and endings in the window under way.
    window: Counts,
    latency: OpenLatency,
    /// Each service's cumulative integrals (laid out as the series' levels) and visits at
    /// the start of the window under way; and the same at its end, reused at each window.
    marks: Vec<u128>,
    now: Vec<u128>,
    visit_marks: Vec<u64>,
    visits: Vec<u64>,
    /// Where each service's levels start.
    offsets: Vec<usize>,
    series: Series,
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

    /// The windows closed, at the run's end.
    pub fn into_series(self) -> Series {
        self.series
    }

    /// A request arrived: counted in the window under way.
    #[inline]
    pub fn note_arrival(&mut self) {
        self.window.arrived += 1;
    }

    /// A request ended: counted in the window under way (until the run's end).
    pub fn note_end(&mut self, now_ns: Nanos, arrived_ns: Nanos, ending: Ending) {
        let counts = &mut self.window;
        match ending {
            Ending::Succeeded | Ending::Degraded => {
                counts.succeeded += 1;
                counts.degraded += u64::from(ending == Ending::Degraded);
                self.latency.record(now_ns - arrived_ns);
            }
            Ending::Failed => counts.failed += 1,
            Ending::Rejected => counts.rejected += 1,
            Ending::TimedOut => counts.timed_out += 1,
            Ending::Cancelled => {}
        }
    }

    /// A window ends at `now_ns`: its integrals are the differences of the services'
    /// cumulative ones since its start, closed into the series with the window's counts, its
    /// latencies and the rollouts' windows.
    pub fn close_window(
        &mut self,
        now_ns: Nanos,
        window: (Nanos, Nanos),
        services: &[ServiceRecord],
        rollouts: &[RolloutWindow],
    ) {
        for ((record, &at), visits) in services.iter().zip(&self.offsets).zip(&mut self.visits) {
            let now = &mut self.now[at..];
            now[READY] = record.ready.run_area_at(now_ns, window);
            now[STARTING] = record.starting.run_area_at(now_ns, window);
            now[BUSY] = record.busy_workers.run_area_at(now_ns, window);
            now[QUEUED] = record.queued.run_area_at(now_ns, window);
            for (region, billed) in record.billed.iter().enumerate() {
                now[BILLED + region] = billed.run_area_at(now_ns, window);
            }
            *visits = record.visits;
        }
        // From here on `marks` holds this window's integrals, then `now` is the next start.
        for (mark, now) in self.marks.iter_mut().zip(&self.now) {
            *mark = now - *mark;
        }
        for (mark, now) in self.visit_marks.iter_mut().zip(&self.visits) {
            *mark = now - *mark;
        }
        self.series.close_window(
            self.window,
            &self.marks,
            &self.visit_marks,
            rollouts,
            &mut self.latency,
        );
        self.marks.copy_from_slice(&self.now);
        self.visit_marks.copy_from_slice(&self.visits);
        self.window = Counts::default();
    }
}
