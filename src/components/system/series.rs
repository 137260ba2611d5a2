//! The time series on `System`: a request's end and a window's end (`WindowTick`) are passed
//! to the window under way (`components::series`, its owner).

use super::System;
use crate::components::entity::{Ending, Event};
use crate::engine::queue::EventQueue;
use crate::engine::time::Nanos;

impl System<'_> {
    /// A request ended: counted in the window under way (until the run's end).
    pub(super) fn series_note_end(&mut self, now_ns: Nanos, arrived_ns: Nanos, ending: Ending) {
        if let Some(series) = &mut self.series {
            series.note_end(now_ns, arrived_ns, ending);
        }
    }

    /// The first window's end.
    pub(super) fn schedule_series(&mut self, events: &mut EventQueue<Event>) {
        if self.series.is_some() {
            let first = self.model.series_window_ns.min(self.model.duration_ns);
            events.schedule(first, Event::WindowTick);
        }
    }

    /// A window ends: the series closes it, and the next window's end is scheduled (the last
    /// window ends with the run, and may be shorter).
    pub(super) fn on_window_tick(&mut self, now_ns: Nanos, events: &mut EventQueue<Event>) {
        let window = self.window;
        let model = self.model;
        let Some(state) = &mut self.series else {
            return;
        };
        let rollouts: Vec<_> = self
            .rollouts
            .iter_mut()
            .map(|r| r.close_window(now_ns, window))
            .collect();
        state.close_window(now_ns, window, &self.record.services, &rollouts);
        let next = now_ns
            .saturating_add(model.series_window_ns)
            .min(model.duration_ns);
        if next > now_ns {
            events.schedule(next, Event::WindowTick);
        }
    }
}
