//! A visit at a service on `System`: admission behind the rate limit and the balancer, work,
//! queue timeouts and release (`WorkDone`, `QueueTimeout`); `components::service` holds the
//! state.

use super::System;
use crate::components::entity::Event;
use crate::components::entity::{Ending, Frame, Parent, RequestInfo, Stage, Visit};
use crate::components::fleet::VersionId;
use crate::components::service::{Admission, MIRROR_SITE};
use crate::engine::queue::EventQueue;
use crate::engine::slab::Key;
use crate::engine::time::{Nanos, CLOCK_LIMIT_NS};
use crate::metrics::run::OverloadReason;
use crate::scenario::model::{Service, ServiceId};

impl System<'_> {
    /// A visit arrives at `service`: a new frame, let in by the service's rate limit and
    /// admitted by its balancer.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(super) fn visit(
        &mut self,
        now_ns: Nanos,
        parent: Parent,
        service: ServiceId,
        request: RequestInfo,
        site: u64,
        attempt: u32,
        events: &mut EventQueue<Event>,
    ) {
        let mut frame = Frame::new(parent, request, service, now_ns, site, attempt);
        let state = &self.services[service];
        if state.draws_at_arrival() {
            let dist = self.model.services[service].service_time_of(0);
            frame.base_work_ns = state.draw_base_service_ns(dist, request.id, site, attempt);
        }
        let key = self.frames.insert(frame);
        if self.frames.len() > self.max_frames {
            self.stop_overloaded(now_ns, OverloadReason::Visits);
        }
        self.note_callee(parent, key);
        let record = &mut self.record.services[service];
        record.visits += 1;
        if request.measured {
            record.requests.arrived += 1;
        }
        let visit = Visit {
            request: request.id,
            site,
            attempt,
        };
        let state = &mut self.services[service];
        let leaf = state.is_leaf();
        let admission = if state.is_plain() {
            state.admit(key, visit, 0, None, None)
        } else {
            match self.before_admission(now_ns, key, service, request, events) {
                Some((routing_key, region, version)) => {
                    if let Some(v) = version {
                        self.frame_mut(key).version = v;
                    }
                    if self.mirrors(service, &request) {
                        self.mirror(now_ns, service, request, site, attempt, events);
                    }
                    self.services[service].admit(key, visit, routing_key, region, version)
                }
                None => return,
            }
        };
        let (started, replica) = match admission {
            Admission::Started(replica) => (true, replica),
            Admission::Queued(replica) => (false, replica),
            Admission::Rejected => return self.end_frame(now_ns, key, Ending::Rejected, events),
            Admission::Unavailable => return self.end_frame(now_ns, key, Ending::Failed, events),
        };
        // Only a rollout reads a frame's version (at its end).
        if self.deploying {
            let version = self.services[service].fleet().get(replica).version();
            self.frame_mut(key).version = version;
        }
        let window = self.window;
        let record = &mut self.record.services[service];
        if !leaf {
            record.in_system.add(now_ns, 1, window);
        }
        if started {
            record.busy_workers.add(now_ns, 1, window);
            self.start(now_ns, key, replica, events);
            return;
        }
        record.queued.add(now_ns, 1, window);
        let frame = self.frame_mut(key);
        frame.replica = replica;
        frame.admitted = true;
        let spec = &self.model.services[service];
        if let Some(timeout_ns) = spec.queue_timeout_ns {
            events.schedule(now_ns.saturating_add(timeout_ns), Event::QueueTimeout(key));
        }
        if spec.batch.is_some() {
            self.try_batch(now_ns, service, replica, events);
        }
    }

    /// What a service that is not plain does before admitting a visit: its rate limit lets it
    /// in, its key is drawn (for `consistent_hash`), and a regional service finds the region
    /// serving the request. `None` when the visit has ended (rejected, or no region is up).
    fn before_admission(
        &mut self,
        now_ns: Nanos,
        key: Key<Frame>,
        service: ServiceId,
        request: RequestInfo,
        events: &mut EventQueue<Event>,
    ) -> Option<(u64, Option<u16>, Option<VersionId>)> {
        if !self.services[service].rate_limit_admits(now_ns) {
            self.end_frame(now_ns, key, Ending::Rejected, events);
            return None;
        }
        let routing_key = if self.services[service].routes_by_key() {
            self.request_key(service, request.id)
        } else {
            0
        };
        // A regional service serves the request in its served region, if that is up.
        let region = if self.services[service].is_regional() {
            match self.regions.route(request) {
                Some(region) => Some(region),
                None => {
                    self.end_frame(now_ns, key, Ending::Failed, events);
                    return None;
                }
            }
        } else {
            None
        };
        // A deployment's route: a mirrored copy goes to the new version; others as routed.
        let version = match self.services[service].rollout() {
            None => None,
            Some(_) if request.mirror => Some(crate::components::rollout::NEW),
            Some(d) => self.rollouts[d].route(now_ns, request.id),
        };
        Some((routing_key, region, version))
    }

    /// Sends a copy of a visit to the new version of `service`, fire-and-forget: nobody
    /// waits for it, but it loads the new version and every service it calls.
    fn mirror(
        &mut self,
        now_ns: Nanos,
        service: ServiceId,
        request: RequestInfo,
        site: u64,
        attempt: u32,
        events: &mut EventQueue<Event>,
    ) {
        let copy = RequestInfo {
            mirror: true,
            ..request
        };
        self.send_detached(now_ns, service, copy, site ^ MIRROR_SITE, attempt, events);
    }

    /// A queued frame has waited `queue_timeout`: it is dropped, timed out.
    pub(super) fn on_queue_timeout(
        &mut self,
        now_ns: Nanos,
        key: Key<Frame>,
        events: &mut EventQueue<Event>,
    ) {
        if self
            .frames
            .get(key)
            .is_some_and(|f| f.stage == Stage::Queued)
        {
            self.leave_queue(now_ns, key);
            self.end_frame(now_ns, key, Ending::TimedOut, events);
        }
    }

    /// A worker of `replica` takes the frame: its service time is drawn and its end scheduled.
    /// The worker is already counted busy (by the admission, or by the frame it passed from).
    #[inline(always)]
    fn start(
        &mut self,
        now_ns: Nanos,
        key: Key<Frame>,
        replica: u32,
        events: &mut EventQueue<Event>,
    ) {
        let frame = self.frame_mut(key);
        frame.replica = replica;
        frame.admitted = true;
        frame.holds_worker = true;
        frame.stage = Stage::Working;
        frame.started_ns = now_ns;
        let (service, measured, arrived_ns) =
            (frame.service, frame.request.measured, frame.arrived_ns);
        let (request_id, site, attempt) = (frame.request.id, frame.site, frame.attempt);
        let base_work_ns = frame.base_work_ns;
        // Drawn at its arrival where it can be; otherwise first here: the draw is a chain of
        // dependent multiplications, which the recording below can overlap.
        let state = &self.services[service];
        let base_ns = if state.draws_at_arrival() {
            base_work_ns
        } else {
            let spec = &self.model.services[service];
            state.draw_base_service_ns(
                state.version_of(spec, replica, Service::service_time_of),
                request_id,
                site,
                attempt,
            )
        };
        let work_ns = state.slowed_ns(base_ns);
        self.note_version_busy(now_ns, service, replica, 1);
        self.note_region_busy(now_ns, service, replica, 1);
        if measured {
            self.record.services[service]
                .queue_wait
                .record(now_ns - arrived_ns);
        }
        #[cfg(test)]
        self.work_log.push(super::WorkDrawn {
            request: request_id,
            service,
            site,
            arrived_ns,
            started_ns: now_ns,
            work_ns,
        });
        match now_ns.checked_add(work_ns).filter(|&t| t <= CLOCK_LIMIT_NS) {
            Some(done_ns) => events.schedule(done_ns, Event::WorkDone(key)),
            None => self.stop_overloaded(now_ns, OverloadReason::ClockLimit),
        }
    }

    /// A worker finished its own work on a frame.
    pub(super) fn on_work_done(
        &mut self,
        now_ns: Nanos,
        key: Key<Frame>,
        events: &mut EventQueue<Event>,
    ) {
        let Some(frame) = self.frames.get(key) else {
            return; // stale: the frame ended while its work was under way
        };
        // Read once: a batch ending below changes only the frames it starts, never this one.
        let (service, parent, batch) = (frame.service, frame.parent, frame.batch);
        let (request, site, attempt, started_ns, replica) = (
            frame.request,
            frame.site,
            frame.attempt,
            frame.started_ns,
            frame.replica,
        );
        if let Some(run) = batch {
            self.batch_visit_done(now_ns, run, frame.visit(), events);
        }
        if let Parent::Detached = parent {
            // The caller has gone: the work was done for nobody.
            if request.measured {
                let wasted_ns = now_ns - started_ns;
                self.record.services[service].wasted_work_ns += u128::from(wasted_ns);
            }
            self.release_worker(now_ns, key, events);
            self.end_frame(now_ns, key, Ending::Cancelled, events);
            return;
        }
        let request_id = request.id;
        let model = self.model;
        let spec = &model.services[service];
        let error_rate = self.services[service].version_of(spec, replica, Service::error_rate_of);
        if self.services[service].draw_error(error_rate, request_id, site, attempt) {
            self.release_worker(now_ns, key, events);
            self.end_frame(now_ns, key, Ending::Failed, events);
            return;
        }
        if !spec.blocking_calls {
            self.release_worker(now_ns, key, events);
        }
        let done = match &spec.cache {
            // A hit answers at once: none of the miss plan's calls.
            Some(_) => self.cache_lookup(now_ns, key),
            // A service that calls nothing is done with its work.
            None => spec.plan.is_empty(),
        };
        if done {
            // Without blocking calls the worker was released above.
            if spec.blocking_calls {
                self.release_worker(now_ns, key, events);
            }
            self.end_frame(now_ns, key, Ending::Succeeded, events);
            return;
        }
        if spec.cache.is_some() {
            self.frame_mut(key).on_miss = true;
        }
        self.next_step(now_ns, key, events);
    }

    /// Frees the frame's worker (if it holds one), handing it to the next live frame in that
    /// replica's queue.
    pub(super) fn release_worker(
        &mut self,
        now_ns: Nanos,
        key: Key<Frame>,
        events: &mut EventQueue<Event>,
    ) {
        let frame = self.frame_mut(key);
        if !frame.holds_worker {
            return;
        }
        frame.holds_worker = false;
        let (service, replica, visit) = (frame.service, frame.replica, frame.visit());
        self.note_version_busy(now_ns, service, replica, -1);
        self.note_region_busy(now_ns, service, replica, -1);
        let frames = &self.frames;
        let state = &mut self.services[service];
        let next = state.release(replica, visit, |k| frames.contains(k));
        self.note_fleet_change(now_ns, service);
        let record = &mut self.record.services[service];
        match next {
            // The worker passes to the next frame at once: the busy level does not change, and
            // a level left as it was integrates exactly as one set down and up at one instant.
            Some(next) => {
                record.queued.add(now_ns, -1, self.window);
                self.start(now_ns, next, replica, events);
            }
            None => record.busy_workers.add(now_ns, -1, self.window),
        }
    }

    /// A waiting frame leaves its queue (its caller gave up on it).
    pub(super) fn leave_queue(&mut self, now_ns: Nanos, key: Key<Frame>) {
        let frame = self.frame(key);
        let (service, replica, visit) = (frame.service, frame.replica, frame.visit());
        self.services[service].forget_queued(replica, visit);
        self.record.services[service]
            .queued
            .add(now_ns, -1, self.window);
        self.note_fleet_change(now_ns, service);
    }
}
