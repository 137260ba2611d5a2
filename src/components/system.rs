//! The system under simulation: the components of one scenario and the paths requests take
//! between them.
//!
//! A request is a tree of *frames*, one per visit to a service. A frame waits for a worker,
//! is worked on, then makes the service's downstream calls in order, each a child frame, and
//! responds to its parent (or, for the root, to the user) when the last call returns. A
//! failed or rejected call fails its caller at once; the root request ends with the kind of
//! the first failure (an error anywhere: failed; no room in a queue anywhere: rejected).

use super::service::{Admission, ServiceState};
use super::traffic::PoissonSource;
use crate::engine::queue::EventQueue;
use crate::engine::slab::{GenSlab, Key};
use crate::engine::time::Nanos;
use crate::engine::time::CLOCK_LIMIT_NS;
use crate::engine::{self, Control, World};
use crate::metrics::recorder::Record;
use crate::metrics::run::{Overload, OverloadReason, RunResult};
use crate::scenario::model::{Model, ServiceId};

/// The closed set of events, each naming the component it is for.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// The next external request arrives.
    Arrival,
    /// A worker of `service` finished its own work on a request.
    WorkDone { service: ServiceId, frame: Key },
}

/// One visit of a request to a service.
struct Frame {
    parent: Option<Key>,
    service: ServiceId,
    replica: u32,
    /// Arrival at this service (for the root: at the entry, the request's start).
    arrived_ns: Nanos,
    /// Index of the next downstream call to make.
    next_call: u32,
    /// Whether the root request arrived in the measured window.
    measured: bool,
    holds_worker: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Succeeded,
    Failed,
    Rejected,
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
    let first_ns = system.traffic.next_gap_ns();
    if first_ns < model.duration_ns {
        events.schedule(first_ns, Event::Arrival);
    }
    let end_ns = engine::run(&mut system, &mut events, progress);
    let window = system.window;
    for record in &mut system.record.services {
        record.busy_workers.close(end_ns, window);
        record.queued.close(end_ns, window);
        record.in_system.close(end_ns, window);
    }
    RunResult {
        replication,
        record: system.record,
        end_ns,
        overload: system.overload,
    }
}

struct System<'m> {
    model: &'m Model,
    /// The measured window `[warmup, duration)`.
    window: (Nanos, Nanos),
    traffic: PoissonSource,
    services: Vec<ServiceState>,
    frames: GenSlab<Frame>,
    record: Record,
    overload: Option<Overload>,
}

impl World for System<'_> {
    type Event = Event;

    fn handle(&mut self, now_ns: Nanos, event: Event, events: &mut EventQueue<Event>) -> Control {
        match event {
            Event::Arrival => self.on_arrival(now_ns, events),
            Event::WorkDone { service, frame } => self.on_work_done(now_ns, service, frame, events),
        }
        if self.overload.is_some() {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

impl<'m> System<'m> {
    fn new(model: &'m Model, replication: u32) -> Self {
        System {
            model,
            window: (model.warmup_ns, model.duration_ns),
            traffic: PoissonSource::new(model.traffic.rate_per_s, model.seed, replication),
            services: model
                .services
                .iter()
                .map(|s| ServiceState::new(s, model.seed, replication))
                .collect(),
            frames: GenSlab::default(),
            record: Record::new(model.services.len()),
            overload: None,
        }
    }

    fn on_arrival(&mut self, now_ns: Nanos, events: &mut EventQueue<Event>) {
        let next_ns = now_ns.saturating_add(self.traffic.next_gap_ns());
        if next_ns < self.model.duration_ns {
            events.schedule(next_ns, Event::Arrival);
        }
        let measured = now_ns >= self.model.warmup_ns;
        if measured {
            self.record.requests.arrived += 1;
        }
        self.call(now_ns, None, self.model.traffic.entry, measured, events);
    }

    /// A new frame arrives at `service`.
    fn call(
        &mut self,
        now_ns: Nanos,
        parent: Option<Key>,
        service: ServiceId,
        measured: bool,
        events: &mut EventQueue<Event>,
    ) {
        let key = self.frames.insert(Frame {
            parent,
            service,
            replica: 0,
            arrived_ns: now_ns,
            next_call: 0,
            measured,
            holds_worker: false,
        });
        if self.frames.len() > self.model.max_in_flight {
            self.stop_overloaded(now_ns, OverloadReason::InFlight);
        }
        let window = self.window;
        let record = &mut self.record.services[service];
        if measured {
            record.requests.arrived += 1;
        }
        match self.services[service].admit(key) {
            Admission::Started(replica) => {
                record.in_system.add(now_ns, 1, window);
                self.start(now_ns, key, replica, events);
            }
            Admission::Queued(replica) => {
                record.in_system.add(now_ns, 1, window);
                record.queued.add(now_ns, 1, window);
                self.frames
                    .get_mut(key)
                    .expect("a queued frame is live")
                    .replica = replica;
            }
            Admission::Rejected(_) => self.respond(now_ns, key, Ending::Rejected, events),
        }
    }

    /// A worker of `replica` takes the frame.
    fn start(&mut self, now_ns: Nanos, key: Key, replica: u32, events: &mut EventQueue<Event>) {
        let frame = self.frames.get_mut(key).expect("a started frame is live");
        frame.replica = replica;
        frame.holds_worker = true;
        let (service, measured, arrived_ns) = (frame.service, frame.measured, frame.arrived_ns);
        let record = &mut self.record.services[service];
        record.busy_workers.add(now_ns, 1, self.window);
        if measured {
            record.queue_wait.record(now_ns - arrived_ns);
        }
        let work_ns = self.services[service].draw_service_ns();
        match now_ns.checked_add(work_ns).filter(|&t| t <= CLOCK_LIMIT_NS) {
            Some(done_ns) => events.schedule(
                done_ns,
                Event::WorkDone {
                    service,
                    frame: key,
                },
            ),
            None => self.stop_overloaded(now_ns, OverloadReason::ClockLimit),
        }
    }

    fn on_work_done(
        &mut self,
        now_ns: Nanos,
        service: ServiceId,
        key: Key,
        events: &mut EventQueue<Event>,
    ) {
        if self.frames.get(key).is_none() {
            return; // stale: the frame ended while its work was under way
        }
        if self.services[service].draw_error() {
            self.release_worker(now_ns, key, events);
            self.respond(now_ns, key, Ending::Failed, events);
            return;
        }
        if !self.model.services[service].blocking_calls {
            self.release_worker(now_ns, key, events);
        }
        self.advance(now_ns, key, events);
    }

    /// Frees the frame's worker, handing it to the next request in that replica's queue.
    fn release_worker(&mut self, now_ns: Nanos, key: Key, events: &mut EventQueue<Event>) {
        let frame = self
            .frames
            .get_mut(key)
            .expect("a frame holding a worker is live");
        if !frame.holds_worker {
            return;
        }
        frame.holds_worker = false;
        let (service, replica) = (frame.service, frame.replica);
        let record = &mut self.record.services[service];
        record.busy_workers.add(now_ns, -1, self.window);
        if let Some(next) = self.services[service].release(replica) {
            record.queued.add(now_ns, -1, self.window);
            self.start(now_ns, next, replica, events);
        }
    }

    /// Makes the frame's next downstream call, or responds if none is left.
    fn advance(&mut self, now_ns: Nanos, key: Key, events: &mut EventQueue<Event>) {
        let frame = self
            .frames
            .get_mut(key)
            .expect("an advancing frame is live");
        let calls = &self.model.services[frame.service].calls;
        match calls.get(frame.next_call as usize) {
            Some(&callee) => {
                frame.next_call += 1;
                let measured = frame.measured;
                self.call(now_ns, Some(key), callee, measured, events);
            }
            None => {
                self.release_worker(now_ns, key, events);
                self.respond(now_ns, key, Ending::Succeeded, events);
            }
        }
    }

    /// The frame's service responds to its caller.
    fn respond(&mut self, now_ns: Nanos, key: Key, ending: Ending, events: &mut EventQueue<Event>) {
        let frame = self.frames.remove(key).expect("a responding frame is live");
        let record = &mut self.record.services[frame.service];
        if ending != Ending::Rejected {
            record.in_system.add(now_ns, -1, self.window);
        }
        if frame.measured {
            match ending {
                Ending::Succeeded => {
                    record.requests.succeeded += 1;
                    record.latency.record(now_ns - frame.arrived_ns);
                }
                Ending::Failed => record.requests.failed += 1,
                Ending::Rejected => record.requests.rejected += 1,
            }
        }
        match frame.parent {
            // A caller that has already ended (stale key) no longer waits for this response.
            Some(parent) if self.frames.get(parent).is_none() => {}
            Some(parent) if ending == Ending::Succeeded => self.advance(now_ns, parent, events),
            Some(parent) => self.fail(now_ns, parent, ending, events),
            None if frame.measured => {
                let requests = &mut self.record.requests;
                match ending {
                    Ending::Succeeded => {
                        requests.succeeded += 1;
                        self.record.latency.record(now_ns - frame.arrived_ns);
                    }
                    Ending::Failed => requests.failed += 1,
                    Ending::Rejected => requests.rejected += 1,
                }
            }
            None => {}
        }
    }

    /// A downstream call failed: the caller fails too, carrying the cause to the root.
    /// The caller's own count says `failed`; only the service that refused says `rejected`.
    fn fail(&mut self, now_ns: Nanos, key: Key, cause: Ending, events: &mut EventQueue<Event>) {
        self.release_worker(now_ns, key, events);
        let frame = self.frames.remove(key).expect("a failing frame is live");
        let record = &mut self.record.services[frame.service];
        record.in_system.add(now_ns, -1, self.window);
        if frame.measured {
            record.requests.failed += 1;
        }
        match frame.parent {
            Some(parent) if self.frames.get(parent).is_none() => {}
            Some(parent) => self.fail(now_ns, parent, cause, events),
            None if frame.measured => match cause {
                Ending::Rejected => self.record.requests.rejected += 1,
                _ => self.record.requests.failed += 1,
            },
            None => {}
        }
    }

    fn stop_overloaded(&mut self, now_ns: Nanos, reason: OverloadReason) {
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
            in_flight: self.frames.len(),
            service,
            queued,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(toml: &str) -> Model {
        crate::scenario::load(toml, "t.toml", &[]).expect("valid test scenario")
    }

    #[test]
    fn no_request_arrives_at_or_after_the_end() {
        // One arrival a second on average, a run of 1 us: the first gap exceeds the run with
        // probability 1 - 1e-6, so no request may be counted (the first arrival included).
        let m = model(
            r#"
            [scenario]
            duration = "1us"
            [traffic]
            rate = 1
            [[service]]
            name = "s"
            service_time = { dist = "constant", value = "1ms" }
            "#,
        );
        let run = simulate(&m, 0);
        assert_eq!(run.record.requests.arrived, 0);
        assert_eq!(run.end_ns, 0, "no event ran");
    }

    #[test]
    fn a_request_visits_its_calls_in_order_and_ends_at_the_last_response() {
        // Constant times and more workers than requests ever overlap, so no queueing: each
        // request takes 1 ms at a, then 2 ms at b, then 3 ms at c: 6 ms end to end.
        let m = model(
            r#"
            [scenario]
            duration = "1h"
            [traffic]
            rate = 0.0166
            [[service]]
            name = "a"
            concurrency = 100
            service_time = { dist = "constant", value = "1ms" }
            calls = ["b", "c"]
            [[service]]
            name = "b"
            concurrency = 100
            service_time = { dist = "constant", value = "2ms" }
            [[service]]
            name = "c"
            concurrency = 100
            service_time = { dist = "constant", value = "3ms" }
            "#,
        );
        let run = simulate(&m, 0);
        let r = &run.record;
        assert!(r.requests.arrived > 30);
        assert_eq!(r.requests.succeeded, r.requests.arrived);
        assert_eq!(r.latency.mean_ns(), 6e6);
        assert_eq!(r.services[0].latency.mean_ns(), 6e6);
        assert_eq!(r.services[1].latency.mean_ns(), 2e6);
        assert_eq!(r.services[2].latency.mean_ns(), 3e6);
        assert_eq!(r.services[1].requests.arrived, r.requests.arrived);
    }
}
