//! The time series on `System`: a window's end (`WindowTick`) closes the window under way
//! (`series.rs` holds it).

use super::System;
use crate::components::entity::Ending;
use crate::components::entity::Event;
use crate::engine::queue::EventQueue;
use crate::engine::time::Nanos;
use crate::metrics::recorder::Counts;
use crate::metrics::series::{BILLED, BUSY, QUEUED, READY, STARTING};

impl System<'_> {
    /// A request ended: counted in the window under way (until the run's end).
    pub(super) fn series_note_end(&mut self, now_ns: Nanos, arrived_ns: Nanos, ending: Ending) {
        let Some(series) = &mut self.series else {
            return;
        };
        let counts = &mut series.window;
        match ending {
            Ending::Succeeded | Ending::Degraded => {
                counts.succeeded += 1;
                counts.degraded += u64::from(ending == Ending::Degraded);
                series.latency.record(now_ns - arrived_ns);
            }
            Ending::Failed => counts.failed += 1,
            Ending::Rejected => counts.rejected += 1,
            Ending::TimedOut => counts.timed_out += 1,
            Ending::Cancelled => {}
        }
    }

    /// The first window's end.
    pub(super) fn schedule_series(&mut self, events: &mut EventQueue<Event>) {
        if self.series.is_some() {
            let first = self.model.series_window_ns.min(self.model.duration_ns);
            events.schedule(first, Event::WindowTick);
        }
    }

    /// A window ends: its integrals are the differences of the cumulative ones since its
    /// start, and the next window's end is scheduled (the last window ends with the run, and
    /// may be shorter).
    pub(super) fn on_window_tick(&mut self, now_ns: Nanos, events: &mut EventQueue<Event>) {
        let window = self.window;
        let model = self.model;
        let Some(state) = &mut self.series else {
            return;
        };
        for ((record, &at), visits) in self
            .record
            .services
            .iter()
            .zip(&state.offsets)
            .zip(&mut state.visits)
        {
            let now = &mut state.now[at..];
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
        for (mark, now) in state.marks.iter_mut().zip(&state.now) {
            *mark = now - *mark;
        }
        for (mark, now) in state.visit_marks.iter_mut().zip(&state.visits) {
            *mark = now - *mark;
        }
        let rollouts: Vec<_> = self
            .rollouts
            .iter_mut()
            .map(|r| r.close_window(now_ns, window))
            .collect();
        state.series.close_window(
            state.window,
            &state.marks,
            &state.visit_marks,
            &rollouts,
            &mut state.latency,
        );
        state.marks.copy_from_slice(&state.now);
        state.visit_marks.copy_from_slice(&state.visits);
        state.window = Counts::default();
        let next = now_ns
            .saturating_add(model.series_window_ns)
            .min(model.duration_ns);
        if next > now_ns {
            events.schedule(next, Event::WindowTick);
        }
    }
}
