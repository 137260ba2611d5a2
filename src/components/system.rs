//! The system under simulation: the components of one scenario, the closed set of events,
//! and the run of one replication.
//!
//! Each event belongs to a component kind and is handled in that kind's module: arrivals in
//! `traffic`, work in `service`, call timers in `request`. This file only dispatches them and
//! stops the run when it is overloaded.

use super::request::{Call, Frame};
use super::service::ServiceState;
use super::traffic::PoissonSource;
use crate::engine::queue::EventQueue;
use crate::engine::slab::{GenSlab, Key};
use crate::engine::time::Nanos;
use crate::engine::timer::TimerToken;
use crate::engine::{self, Control, World};
use crate::metrics::recorder::Record;
use crate::metrics::run::{Overload, OverloadReason, RunResult};
use crate::scenario::model::Model;

/// The closed set of events, each naming the entity it is for.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// The next external request arrives (`traffic`).
    Arrival,
    /// A worker finished its own work on a frame (`service`).
    WorkDone(Key<Frame>),
    /// A call's timeout came due (`request`); stale unless the token is still live.
    CallTimeout(Key<Call>, TimerToken),
}

/// Simulates replication `replication` of `model`.
pub fn simulate(model: &Model, replication: u32) -> RunResult {
    simulate_with_progress(model, replication, &mut |_| {})
}

/// Simulates one replication, telling `progress` the simulated time now and then.
pub fn simulate_with_progress(
    model: &Model,
    replication: u32,
    progress: &mut dyn FnMut(Nanos),
) -> RunResult {
    let mut system = System::new(model, replication);
    let mut events = EventQueue::default();
    system.schedule_first_arrival(&mut events);
    let end_ns = engine::run(&mut system, &mut events, progress);
    system.finish(replication, end_ns)
}

/// One replication's world: what its events act on. Each component kind's module adds the
/// handlers for its own events (`impl System` in `traffic`, `service`, `request`).
pub struct System<'m> {
    pub(super) model: &'m Model,
    /// The measured window `[warmup, duration)`.
    pub(super) window: (Nanos, Nanos),
    pub(super) traffic: PoissonSource,
    pub(super) next_request_id: u64,
    pub(super) services: Vec<ServiceState>,
    /// Root frames alive: requests that arrived and have not ended.
    pub(super) requests_in_flight: usize,
    pub(super) frames: GenSlab<Frame>,
    pub(super) calls: GenSlab<Call>,
    pub(super) record: Record,
    pub(super) overload: Option<Overload>,
    /// Every service time drawn, as (request, service, ns): what tests check draws against.
    #[cfg(test)]
    pub(super) work_log: Vec<(u64, usize, Nanos)>,
}

impl World for System<'_> {
    type Event = Event;

    #[inline]
    fn handle(&mut self, now_ns: Nanos, event: Event, events: &mut EventQueue<Event>) -> Control {
        match event {
            Event::Arrival => self.on_arrival(now_ns, events),
            Event::WorkDone(frame) => self.on_work_done(now_ns, frame, events),
            Event::CallTimeout(call, token) => self.on_call_timeout(now_ns, call, token, events),
        }
        if self.overload.is_some() {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

impl<'m> System<'m> {
    pub(super) fn new(model: &'m Model, replication: u32) -> Self {
        System {
            model,
            window: (model.warmup_ns, model.duration_ns),
            traffic: PoissonSource::new(model.traffic.rate_per_s, model.seed, replication),
            next_request_id: 0,
            services: model
                .services
                .iter()
                .map(|s| ServiceState::new(s, model.seed, replication))
                .collect(),
            requests_in_flight: 0,
            frames: GenSlab::default(),
            calls: GenSlab::default(),
            record: Record::new(model.services.len()),
            overload: None,
            #[cfg(test)]
            work_log: Vec::new(),
        }
    }

    /// Closes the time-weighted books at the last event and hands over the record.
    fn finish(mut self, replication: u32, end_ns: Nanos) -> RunResult {
        let window = self.window;
        for record in &mut self.record.services {
            record.busy_workers.close(end_ns, window);
            record.queued.close(end_ns, window);
            record.in_system.close(end_ns, window);
        }
        RunResult {
            replication,
            record: self.record,
            end_ns,
            overload: self.overload,
        }
    }

    pub(super) fn stop_overloaded(&mut self, now_ns: Nanos, reason: OverloadReason) {
        if self.overload.is_some() {
            return;
        }
        let (service, queued) = self
            .services
            .iter()
            .enumerate()
            .map(|(id, s)| (id, s.queued()))
            .max_by_key(|&(id, queued)| (queued, std::cmp::Reverse(id)))
            .unwrap_or((0, 0));
        self.overload = Some(Overload {
            reason,
            at_ns: now_ns,
            in_flight: self.requests_in_flight,
            service,
            queued,
        });
    }
}
