//! The time series of one replication: counters and one compact latency histogram for the
//! window under way, closed into a row at each window's end (the histogram is read and
//! cleared, so it is reused for the next window); and the `WindowTick` event.

use super::request::Ending;
use super::system::{Event, System};
use crate::engine::queue::EventQueue;
use crate::engine::time::Nanos;
use crate::metrics::recorder::{Counts, Durations};
use crate::metrics::series::{Row, ServiceRow};
use crate::scenario::model::Model;

/// Cumulative integrals of one service at the start of the window under way.
#[derive(Debug, Clone, Copy, Default)]
struct Mark {
    busy: u128,
    queued: u128,
    ready: u128,
    starting: u128,
    billed: u128,
}

/// The window under way and the rows closed so far.
pub struct SeriesState {
    /// Arrivals and endings in the window under way.
    pub window: Counts,
    latency: Durations,
    start_ns: Nanos,
    marks: Vec<Mark>,
    cost_mark_usd: f64,
    pub rows: Vec<Row>,
}

impl SeriesState {
    pub fn new(model: &Model) -> SeriesState {
        let windows = model.duration_ns.div_ceil(model.series_window_ns) as usize;
        SeriesState {
            window: Counts::default(),
            latency: Durations::compact(),
            start_ns: 0,
            marks: vec![Mark::default(); model.services.len()],
            cost_mark_usd: 0.0,
            rows: Vec::with_capacity(windows),
        }
    }
}

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

    /// A window ends: its row is closed, and the next window's end is scheduled (the last
    /// window ends with the run, and may be shorter).
    pub(super) fn on_window_tick(&mut self, now_ns: Nanos, events: &mut EventQueue<Event>) {
        let cost_usd = self.cost_so_far_usd(now_ns);
        let window = self.window;
        let model = self.model;
        let Some(series) = &mut self.series else {
            return;
        };
        let length_ns = now_ns - series.start_ns;
        let services = self
            .record
            .services
            .iter()
            .zip(&mut series.marks)
            .zip(&model.services)
            .map(|((record, mark), spec)| {
                let now = Mark {
                    busy: record.busy_workers.run_area_at(now_ns, window),
                    queued: record.queued.run_area_at(now_ns, window),
                    ready: record.ready.run_area_at(now_ns, window),
                    starting: record.starting.run_area_at(now_ns, window),
                    billed: record
                        .billed
                        .iter()
                        .map(|b| b.run_area_at(now_ns, window))
                        .sum(),
                };
                let ready = (now.ready - mark.ready) as f64;
                let worker_time = ready * f64::from(spec.concurrency);
                let row = ServiceRow {
                    replicas_ready: ready / length_ns as f64,
                    replicas_starting: (now.starting - mark.starting) as f64 / length_ns as f64,
                    replicas_billed: (now.billed - mark.billed) as f64 / length_ns as f64,
                    utilization: if worker_time > 0.0 {
                        (now.busy - mark.busy) as f64 / worker_time
                    } else {
                        0.0
                    },
                    queue_length: (now.queued - mark.queued) as f64 / length_ns as f64,
                };
                *mark = now;
                row
            })
            .collect();
        let has_latency = series.latency.count() > 0;
        series.rows.push(Row {
            start_ns: series.start_ns,
            length_ns,
            counts: series.window,
            p50_ns: series.latency.quantile_ns(0.50),
            p95_ns: series.latency.quantile_ns(0.95),
            p99_ns: series.latency.quantile_ns(0.99),
            latency_runs: u32::from(has_latency),
            cost_usd: cost_usd - series.cost_mark_usd,
            services,
        });
        series.window = Counts::default();
        series.latency.clear();
        series.start_ns = now_ns;
        series.cost_mark_usd = cost_usd;
        let next = now_ns
            .saturating_add(model.series_window_ns)
            .min(model.duration_ns);
        if next > now_ns {
            events.schedule(next, Event::WindowTick);
        }
    }
}
