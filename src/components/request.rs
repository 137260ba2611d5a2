//! The request lifecycle: requests, the frames of their visits, the calls between frames, and
//! the one place where a finished call is judged.
//!
//! A **request** is what arrives from outside: an id (its arrival index, which keys its random
//! draws), a class and a key (for routing and caches), its arrival time, and whether it arrived
//! in the measured window. It ends when its root frame does.
//!
//! A **frame** is one visit of a request to a service: it waits in a replica's queue
//! (`Queued`), is worked on (`Working`), then takes the steps of the service's call plan
//! (`Calling`), each step making its calls together. A frame's parent is the request (the root
//! frame), the call it answers, or nobody (`Detached`: its caller gave up on it while it was
//! being worked on; it finishes its work, which is counted as wasted, and ends).
//!
//! A **call** is one downstream call of a step: it launches a callee frame (an attempt) and
//! may hold a timer. When the callee ends, or the timer fires, the call is finished with an
//! [`Ending`] and [`System::judge`] applies the step's join policy: with `Join::All`, a
//! success counts down the step's pending calls and the last one moves the frame on; any
//! failure ends the step at once, cancels the calls still running and fails the frame
//! (fail-fast). Calls of a step stay in their slab until the step ends, linked from the
//! frame, so that the step can cancel the ones still running.
//!
//! Cancelling a frame (see [`System::cancel_frame`]): a queued frame leaves its queue; a frame
//! being worked on is detached and finishes as wasted work; a frame waiting on its own calls
//! cancels them in turn and ends. Every visit ends exactly once, counted at its service as
//! succeeded, failed, rejected, timed out or cancelled.

use super::system::{Event, System};
use crate::engine::queue::EventQueue;
use crate::engine::rng::mix;
use crate::engine::slab::Key;
use crate::engine::time::Nanos;
use crate::engine::timer::{TimerSlot, TimerToken};
use crate::metrics::run::OverloadReason;
use crate::scenario::model::{Join, ServiceId};

/// A request from outside: what every frame of it carries. The request lives as long as its
/// root frame, which arrives at the entry when the request arrives; the count of root frames
/// is the count of requests in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestInfo {
    /// The arrival index in this replication: what keys the request's random draws.
    pub id: u64,
    /// Whether it arrived in the measured window `[warmup, duration)`.
    pub measured: bool,
    /// The closed-loop user who sent it ([`NO_USER`] for open-loop arrivals).
    pub user: u32,
    /// The client's region, and the region its regional services serve it in (the client's
    /// own unless it failed over); both 0 without regions.
    pub client_region: u8,
    pub served_region: u8,
}

/// The user of an open-loop request.
pub const NO_USER: u32 = u32::MAX;

/// Whom a frame answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    /// The root frame: its end is the request's end.
    Root,
    /// A callee: its end finishes this call.
    Call(Key<Call>),
    /// Nobody any more: its caller gave up on it while it was being worked on.
    Detached,
}

/// Where a frame is in its visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Queued,
    Working,
    Calling,
}

/// One visit of a request to a service.
#[derive(Debug, Clone)]
pub struct Frame {
    pub parent: Parent,
    /// The request it serves (a copy, so a detached frame still draws and counts as its own).
    pub request: RequestInfo,
    pub service: ServiceId,
    pub replica: u32,
    /// Arrival at this service.
    pub arrived_ns: Nanos,
    /// When a worker took it.
    pub started_ns: Nanos,
    /// The call site: a hash of the path of steps and slots from the root, so that each
    /// visit of one request has its own draws, stable whatever happens elsewhere.
    pub site: u64,
    pub attempt: u32,
    pub stage: Stage,
    /// Whether it got past admission (a rejected frame never waited or worked).
    pub admitted: bool,
    /// The step of the call plan under way (while `Calling`).
    pub step: u16,
    /// Calls of the step not yet succeeded.
    pub pending: u16,
    pub holds_worker: bool,
    /// The calls of the current step, linked through `Call::next`.
    pub first_call: Option<Key<Call>>,
}

#[cfg(test)]
impl Frame {
    /// A frame that is never run, for tests that only need frame keys.
    pub fn placeholder() -> Frame {
        Frame {
            parent: Parent::Detached,
            request: RequestInfo {
                id: 0,
                measured: false,
                user: NO_USER,
                client_region: 0,
                served_region: 0,
            },
            service: 0,
            replica: 0,
            arrived_ns: 0,
            started_ns: 0,
            site: 0,
            attempt: 0,
            stage: Stage::Queued,
            admitted: false,
            step: 0,
            pending: 0,
            holds_worker: false,
            first_call: None,
        }
    }
}

/// One downstream call of a frame's current step.
#[derive(Debug, Clone)]
pub struct Call {
    pub caller: Key<Frame>,
    /// Its position in the step's calls.
    pub slot: u16,
    /// The attempt under way, if any.
    pub callee: Option<Key<Frame>>,
    pub attempt: u32,
    /// Whether it has finished (the step keeps finished calls until it ends).
    pub done: bool,
    pub timeout: TimerSlot,
    /// The next call of the same step.
    pub next: Option<Key<Call>>,
}

/// How a visit, a call or a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Succeeded,
    /// An error (the service's own, or a failed call that failed it).
    Failed,
    /// No room: a full queue, or no ready replica.
    Rejected,
    TimedOut,
    /// Its caller gave up on it.
    Cancelled,
}

impl System<'_> {
    pub(super) fn frame(&self, key: Key<Frame>) -> &Frame {
        self.frames.get(key).expect("a frame in use is live")
    }

    pub(super) fn frame_mut(&mut self, key: Key<Frame>) -> &mut Frame {
        self.frames.get_mut(key).expect("a frame in use is live")
    }

    /// A request arrives from outside: its record, and its root frame at the entry service.
    pub(super) fn begin_request(
        &mut self,
        now_ns: Nanos,
        user: u32,
        events: &mut EventQueue<Event>,
    ) {
        let id = self.next_request_id;
        self.next_request_id += 1;
        let measured = now_ns >= self.window.0;
        if measured {
            self.record.requests.arrived += 1;
        }
        if let Some(series) = &mut self.series {
            series.window.arrived += 1;
        }
        let (client_region, served_region) = self.regions.place(id, now_ns);
        let request = RequestInfo {
            id,
            measured,
            user,
            client_region,
            served_region,
        };
        self.requests_in_flight += 1;
        if self.requests_in_flight > self.model.max_in_flight {
            self.stop_overloaded(now_ns, OverloadReason::InFlight);
        }
        let entry = self.model.traffic.entry;
        self.visit(now_ns, Parent::Root, entry, request, 0, 0, events);
    }

    /// The frame's work is done: it takes the next step of its service's call plan, or, with
    /// none left, responds with success.
    pub(super) fn next_step(
        &mut self,
        now_ns: Nanos,
        key: Key<Frame>,
        events: &mut EventQueue<Event>,
    ) {
        let frame = self.frame(key);
        let plan = &self.model.services[frame.service].plan;
        let step_index = if frame.stage == Stage::Calling {
            frame.step + 1
        } else {
            0
        };
        let Some(step) = plan.get(usize::from(step_index)) else {
            self.release_worker(now_ns, key, events);
            self.end_frame(now_ns, key, Ending::Succeeded, events);
            return;
        };
        // Link every call of the step first, then launch them: a callee rejected at once
        // fails the step while later calls are not launched yet, and the step must already
        // know them to cancel them.
        let mut first_call = None;
        for slot in (0..step.calls.len()).rev() {
            first_call = Some(self.calls.insert(Call {
                caller: key,
                slot: slot as u16,
                callee: None,
                attempt: 0,
                done: false,
                timeout: TimerSlot::default(),
                next: first_call,
            }));
        }
        let frame = self.frame_mut(key);
        frame.stage = Stage::Calling;
        frame.step = step_index;
        frame.pending = step.calls.len() as u16;
        frame.first_call = first_call;
        let mut next = first_call;
        while let Some(call) = next {
            // The step may have ended (failed) while an earlier call was launched.
            let Some(frame) = self.frames.get(key) else {
                return;
            };
            if frame.step != step_index || frame.first_call != first_call {
                return;
            }
            next = self.calls.get(call).and_then(|c| c.next);
            self.launch(now_ns, call, events);
        }
    }

    /// Sends a call's next attempt: a callee frame, and its timeout if the call has one.
    fn launch(&mut self, now_ns: Nanos, call_key: Key<Call>, events: &mut EventQueue<Event>) {
        let Some(call) = self.calls.get(call_key) else {
            return;
        };
        if call.done {
            return;
        }
        let (caller, slot, attempt) = (call.caller, call.slot, call.attempt);
        let frame = self.frame(caller);
        let (request, step) = (frame.request, frame.step);
        let site = mix(frame.site ^ (u64::from(step) << 32 | u64::from(slot)));
        let spec =
            &self.model.services[frame.service].plan[usize::from(step)].calls[usize::from(slot)];
        let (callee, timeout_ns) = (spec.service, spec.timeout_ns);
        if let Some(timeout_ns) = timeout_ns {
            let call = self.calls.get_mut(call_key).expect("checked above");
            let token = call.timeout.arm();
            events.schedule(
                now_ns.saturating_add(timeout_ns),
                Event::CallTimeout(call_key, token),
            );
        }
        // The callee frame's key is recorded before it is admitted, since admission may end
        // it at once (rejected), which finishes this call.
        let parent = Parent::Call(call_key);
        self.visit(now_ns, parent, callee, request, site, attempt, events);
    }

    /// Records the callee a call has under way (called by `visit` through the frame's parent).
    pub(super) fn note_callee(&mut self, parent: Parent, frame: Key<Frame>) {
        if let Parent::Call(call) = parent {
            if let Some(call) = self.calls.get_mut(call) {
                call.callee = Some(frame);
            }
        }
    }

    /// A call's timeout fired: the caller gives up on the callee.
    pub(super) fn on_call_timeout(
        &mut self,
        now_ns: Nanos,
        call_key: Key<Call>,
        token: TimerToken,
        events: &mut EventQueue<Event>,
    ) {
        let Some(call) = self.calls.get_mut(call_key) else {
            return; // stale: the step ended
        };
        if call.done || !call.timeout.fire(token) {
            return; // stale: answered, or re-armed
        }
        if let Some(callee) = call.callee.take() {
            self.cancel_frame(now_ns, callee, events);
        }
        self.judge(now_ns, call_key, Ending::TimedOut, events);
    }

    /// The one place a finished call is judged, by its step's join policy.
    pub(super) fn judge(
        &mut self,
        now_ns: Nanos,
        call_key: Key<Call>,
        ending: Ending,
        events: &mut EventQueue<Event>,
    ) {
        let Some(call) = self.calls.get_mut(call_key) else {
            return; // the step has ended already
        };
        if call.done {
            return;
        }
        call.done = true;
        call.callee = None;
        call.timeout.cancel();
        let caller = call.caller;
        let frame = self.frame(caller);
        let join = self.model.services[frame.service].plan[usize::from(frame.step)].join;
        match (join, ending) {
            (Join::All, Ending::Succeeded) => {
                let frame = self.frame_mut(caller);
                frame.pending -= 1;
                if frame.pending == 0 {
                    self.end_step(now_ns, caller, events);
                    self.next_step(now_ns, caller, events);
                }
            }
            (Join::All, failure) => {
                self.end_step(now_ns, caller, events);
                self.release_worker(now_ns, caller, events);
                self.fail_frame(now_ns, caller, failure, events);
            }
        }
    }

    /// Ends the frame's current step: cancels its calls still running and frees them all.
    fn end_step(&mut self, now_ns: Nanos, key: Key<Frame>, events: &mut EventQueue<Event>) {
        let mut next = self.frame_mut(key).first_call.take();
        while let Some(call_key) = next {
            let call = self
                .calls
                .remove(call_key)
                .expect("a step's calls live until it ends");
            next = call.next;
            if let Some(callee) = call.callee {
                self.cancel_frame(now_ns, callee, events);
            }
        }
    }

    /// A frame ends at once with `ending` whatever its stage, its own calls cancelled and its
    /// worker freed: what a crash of its replica does to it (its caller hears `ending`).
    pub(super) fn abort_frame(
        &mut self,
        now_ns: Nanos,
        key: Key<Frame>,
        ending: Ending,
        events: &mut EventQueue<Event>,
    ) {
        let Some(frame) = self.frames.get(key) else {
            return;
        };
        match frame.stage {
            Stage::Queued => self.leave_queue(now_ns, key),
            Stage::Working => self.release_worker(now_ns, key, events),
            Stage::Calling => {
                self.end_step(now_ns, key, events);
                self.release_worker(now_ns, key, events);
            }
        }
        if self.frames.contains(key) {
            self.end_frame(now_ns, key, ending, events);
        }
    }

    /// The caller gives up on a frame (see the module docs for what that does at each stage).
    pub(super) fn cancel_frame(
        &mut self,
        now_ns: Nanos,
        key: Key<Frame>,
        events: &mut EventQueue<Event>,
    ) {
        let Some(frame) = self.frames.get_mut(key) else {
            return;
        };
        let stage = frame.stage;
        frame.parent = Parent::Detached;
        match stage {
            Stage::Queued => {
                self.leave_queue(now_ns, key);
                self.end_frame(now_ns, key, Ending::Cancelled, events);
            }
            // It finishes its work; `on_work_done` counts it as wasted.
            Stage::Working => {}
            Stage::Calling => {
                self.end_step(now_ns, key, events);
                self.release_worker(now_ns, key, events);
                self.end_frame(now_ns, key, Ending::Cancelled, events);
            }
        }
    }

    /// A frame fails because a call of its step did: its own service counts a failure, and
    /// its parent hears the cause (a rejection or timeout downstream reaches the request as
    /// such, so the request counts under the kind of the first failure).
    fn fail_frame(
        &mut self,
        now_ns: Nanos,
        key: Key<Frame>,
        cause: Ending,
        events: &mut EventQueue<Event>,
    ) {
        self.end_frame_as(now_ns, key, Ending::Failed, cause, events);
    }

    /// A frame ends with `ending`, counted at its service and passed to its parent.
    pub(super) fn end_frame(
        &mut self,
        now_ns: Nanos,
        key: Key<Frame>,
        ending: Ending,
        events: &mut EventQueue<Event>,
    ) {
        self.end_frame_as(now_ns, key, ending, ending, events);
    }

    fn end_frame_as(
        &mut self,
        now_ns: Nanos,
        key: Key<Frame>,
        counted: Ending,
        cause: Ending,
        events: &mut EventQueue<Event>,
    ) {
        let frame = self.frames.remove(key).expect("an ending frame is live");
        debug_assert!(
            !frame.holds_worker,
            "a frame releases its worker before it ends"
        );
        let record = &mut self.record.services[frame.service];
        if frame.admitted {
            record.in_system.add(now_ns, -1, self.window);
        }
        if frame.request.measured {
            let counts = &mut record.requests;
            match counted {
                Ending::Succeeded => {
                    counts.succeeded += 1;
                    record.latency.record(now_ns - frame.arrived_ns);
                }
                Ending::Failed => counts.failed += 1,
                Ending::Rejected => counts.rejected += 1,
                Ending::TimedOut => counts.timed_out += 1,
                Ending::Cancelled => counts.cancelled += 1,
            }
        }
        match frame.parent {
            Parent::Root => {
                self.end_request(now_ns, frame.request, frame.arrived_ns, cause);
                self.request_ended(now_ns, frame.request, frame.arrived_ns, cause, events);
            }
            Parent::Call(call) => self.judge(now_ns, call, cause, events),
            Parent::Detached => {}
        }
    }

    /// The request's root frame ended: the request ends the same way.
    fn end_request(
        &mut self,
        now_ns: Nanos,
        request: RequestInfo,
        arrived_ns: Nanos,
        ending: Ending,
    ) {
        self.requests_in_flight -= 1;
        if !request.measured {
            return;
        }
        // A client served in another region waits for the way there and back.
        let away_ns = self.regions.round_trip_ns(request);
        if request.client_region != request.served_region {
            self.record.cross_region += 1;
        }
        let counts = &mut self.record.requests;
        match ending {
            Ending::Succeeded => {
                counts.succeeded += 1;
                self.record.latency.record(now_ns - arrived_ns + away_ns);
            }
            Ending::Failed => counts.failed += 1,
            Ending::Rejected => counts.rejected += 1,
            Ending::TimedOut => counts.timed_out += 1,
            Ending::Cancelled => unreachable!("nobody cancels a whole request"),
        }
    }
}
