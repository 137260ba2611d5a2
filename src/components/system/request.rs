//! The request lifecycle: requests, the frames of their visits, the calls between frames, and
//! the one place where a finished call is judged.
//!
//! A **request** is what arrives from outside: an id (its arrival index, which keys its random
//! draws), its class, and whether it arrived in the measured window. It ends when its root
//! frame does.
//!
//! A **frame** is one visit of a request to a service: it waits in a replica's queue
//! (`Queued`), is worked on (`Working`), then takes the steps of the service's call plan
//! (`Calling`; for a cache that missed, the steps of its `on_miss` plan), each step making its
//! calls together. A frame's parent is the request (the root frame), the call it answers, or
//! nobody (`Detached`: its caller gave up on it while it was being worked on; it finishes its
//! work, which is counted as wasted, and ends).
//!
//! A **call** is one downstream call of a step. Each *attempt* of it sends one copy of the
//! request, and a second (the hedge) if the first has not answered after `hedge`; a copy may
//! spend network time each way (`latency`). An attempt ends with the first copy that
//! succeeds (the other is cancelled), or when every copy has failed, or when its `timeout`
//! fires; a failed attempt is retried after a backoff while attempts and the retry budget
//! last. Every timer of an attempt carries the attempt's token ([`TimerSlot`]), so ending the
//! attempt makes them all stale at once.
//!
//! When a call is over, [`System::judge`] applies the step's join: `needed` successes end the
//! step (the calls still running are cancelled); more failures than the step can afford fail
//! it at once and fail the frame (fail-fast), passing the cause up. An optional call's failure
//! counts as a success that degrades the request. Calls of a step stay in their slab until the
//! step ends, linked from the frame, so that the step can cancel the ones still running.
//!
//! Cancelling a frame (see [`System::cancel_frame`]): a queued frame leaves its queue; a frame
//! being worked on is detached and finishes as wasted work; a frame waiting on its own calls
//! cancels them in turn and ends. Every visit ends exactly once, counted at its service as
//! succeeded, failed, rejected, timed out or cancelled.

use super::System;
use crate::components::entity::{
    Call, Ending, Event, Frame, Parent, RequestInfo, Stage, Tally, STEP_FALLBACK,
};
use crate::engine::queue::EventQueue;
use crate::engine::rng::mix;
use crate::engine::slab::Key;
use crate::engine::time::Nanos;
use crate::engine::timer::TimerToken;
use crate::metrics::run::OverloadReason;
use crate::scenario::model::{ClassId, ServiceId, Step};
use rand::Rng as _;
#[derive(Clone, Copy)]
enum Direction {
    /// Caller to callee.
    Out,
    /// Callee's answer back to the caller.
    Back,
}

/// What salts a fallback's call site, so that each link of a chain draws on its own.
const FALLBACK_SALT: u64 = 0xfa11_bacc_0000_0000;

impl<'m> System<'m> {
    pub(super) fn frame(&self, key: Key<Frame>) -> &Frame {
        self.frames.get(key).expect("a frame in use is live")
    }

    pub(super) fn frame_mut(&mut self, key: Key<Frame>) -> &mut Frame {
        self.frames.get_mut(key).expect("a frame in use is live")
    }

    /// A request arrives from outside (from `user`, for closed-loop traffic): its class, its
    /// record, and its root frame at the class's entry service.
    #[inline(always)]
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
        let (class, client_region, served_region) = if self.plain_requests {
            (0, 0, 0)
        } else {
            self.place_request(now_ns, id, measured)
        };
        let request = RequestInfo {
            id,
            class,
            measured,
            user,
            client_region,
            served_region,
            mirror: false,
            backlogged: false,
        };
        self.requests_in_flight += 1;
        if self.requests_in_flight > self.model.max_in_flight {
            self.stop_overloaded(now_ns, OverloadReason::InFlight);
        }
        if self.regions.has_backlogs() && self.hold_in_backlog(now_ns, request, events) {
            return;
        }
        let entry = self.model.classes[usize::from(class)].entry;
        if measured {
            self.record.services[entry].calls += 1;
        }
        self.visit(now_ns, Parent::Root, entry, request, 0, 0, events);
    }

    /// Request `id`'s class (counted, if it is measured and there are several) and its
    /// client and serving regions; the time series hears of its arrival.
    fn place_request(&mut self, now_ns: Nanos, id: u64, measured: bool) -> (ClassId, u8, u8) {
        let class = self.draw_class(id);
        if measured && self.record.classes.len() > 1 {
            self.record.classes[usize::from(class)].requests.arrived += 1;
        }
        if let Some(series) = &mut self.series {
            series.note_arrival();
        }
        let (client_region, served_region) = self.regions.place(id, class, now_ns);
        (class, client_region, served_region)
    }

    /// The class of request `id`: a keyed draw, so a request keeps its class whatever else
    /// changes. With one class, nothing is drawn.
    fn draw_class(&self, id: u64) -> ClassId {
        let classes = &self.model.classes;
        if classes.len() == 1 {
            return 0;
        }
        let u: f64 = self.class_stream.at(id, 0, 0).random();
        let mut cumulative = 0.0;
        for (i, class) in classes.iter().enumerate() {
            cumulative += class.share;
            if u < cumulative {
                return i as ClassId;
            }
        }
        (classes.len() - 1) as ClassId
    }

    /// The steps the frame takes after its work: its service's plan, or its cache's miss plan.
    fn plan_of(&self, frame: &Frame) -> &'m [Step] {
        let model = self.model;
        let service = &model.services[frame.service];
        match (&service.cache, frame.on_miss) {
            (Some(cache), true) => &cache.on_miss,
            _ => &service.plan,
        }
    }

    /// The frame's work is done (or its step is): it takes the next step of its plan that
    /// makes at least one call, or, with none left, responds.
    pub(super) fn next_step(
        &mut self,
        now_ns: Nanos,
        key: Key<Frame>,
        events: &mut EventQueue<Event>,
    ) {
        let frame = self.frame(key);
        let mut step_index = if frame.stage == Stage::Calling {
            frame.step + 1
        } else {
            0
        };
        let request = frame.request;
        let (frame_site, on_miss, caller) = (frame.site, frame.on_miss, frame.service);
        let plan = self.plan_of(frame);
        loop {
            let Some(step) = plan.get(usize::from(step_index)) else {
                self.fill_cache(now_ns, key);
                self.release_worker(now_ns, key, events);
                let ending = if self.frame(key).degraded {
                    Ending::Degraded
                } else {
                    Ending::Succeeded
                };
                self.end_frame(now_ns, key, ending, events);
                return;
            };
            // Link every call the step makes first, then launch them: a callee rejected at
            // once fails the step while later calls are not launched yet, and the step must
            // already know them to cancel them.
            let mut first_call = None;
            let mut made = 0u16;
            let first_entry = self.call_table.entry_of(caller, on_miss, step_index, 0);
            for (slot, spec) in step.calls.iter().enumerate().rev() {
                let site = mix(frame_site
                    ^ (u64::from(on_miss) << 48 | u64::from(step_index) << 32 | slot as u64));
                let for_class = spec
                    .classes
                    .as_ref()
                    .is_none_or(|classes| classes.contains(&request.class));
                let drawn =
                    self.services[caller].draw_call_made(spec.probability, request.id, site);
                if !(for_class && drawn) {
                    continue;
                }
                if spec.fire_and_forget {
                    // Sent now and never linked: the step neither waits for it nor counts it.
                    self.send_detached(now_ns, spec.service, request, site, 0, events);
                    continue;
                }
                made += 1;
                first_call = Some(self.calls.insert(Call::new(
                    key,
                    first_entry + slot as u32,
                    spec.service,
                    site,
                    first_call,
                )));
            }
            if made == 0 {
                step_index += 1;
                continue;
            }
            if let Some(deadline_ns) = step.deadline_ns {
                events.schedule(
                    now_ns.saturating_add(deadline_ns),
                    Event::StepDeadline(key, step_index),
                );
            }
            let frame = self.frame_mut(key);
            frame.stage = Stage::Calling;
            frame.step = step_index;
            frame.on_fallback = false;
            frame.tally = Tally {
                made,
                needed: step.join.needed(made),
                succeeded: 0,
                failed: 0,
            };
            frame.first_call = first_call;
            let mut next = first_call;
            while let Some(call) = next {
                // The step may have ended (failed) while an earlier call was launched.
                let Some(frame) = self.frames.get(key) else {
                    return;
                };
                if frame.first_call != first_call {
                    return;
                }
                next = self.calls.get(call).and_then(|c| c.next);
                if self.record_first_call(now_ns, call) {
                    self.start_attempt(now_ns, call, events);
                }
            }
            return;
        }
    }

    /// Counts a call's first attempt (for retry amplification and retry budgets); false if
    /// the call is already over.
    fn record_first_call(&mut self, now_ns: Nanos, call_key: Key<Call>) -> bool {
        let Some(call) = self.calls.get(call_key) else {
            return false;
        };
        if call.done {
            return false;
        }
        let (callee, caller) = (call.callee, call.caller);
        let retry_budget = self.call_table.get(call.spec).retry_budget();
        let frame = self.frame(caller);
        let (caller_service, replica, measured) =
            (frame.service, frame.replica, frame.request.measured);
        if measured {
            self.record.services[callee].calls += 1;
        }
        self.budget_deposit(now_ns, caller_service, replica, retry_budget);
        true
    }

    /// The spec of a call's current attempt: the written call, or the fallback it is on.
    #[inline]
    fn spec_of(&self, call: &Call) -> &'m crate::scenario::model::Call {
        self.call_table.get(call.spec).spec()
    }

    /// A fire-and-forget visit: `service` is visited for `request` at call site `site`
    /// (draw index `draw`), and nobody waits for it. The visit is a frame of its own, with no
    /// parent ([`Parent::Unawaited`]): it queues, works, makes its own calls and is counted
    /// at its service (arrivals, visits, a call for retry amplification) as any visit, but
    /// its ending goes nowhere, so it never fails, slows or cancels what sent it, and it
    /// outlives its request if it must (its request's end does not cancel it). Nothing here
    /// depends on a caller frame, so a sender without one (mirroring a request to a shadow
    /// deployment) can use it as it is.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn send_detached(
        &mut self,
        now_ns: Nanos,
        service: ServiceId,
        request: RequestInfo,
        site: u64,
        draw: u32,
        events: &mut EventQueue<Event>,
    ) {
        if request.measured {
            self.record.services[service].calls += 1;
        }
        self.visit(
            now_ns,
            Parent::Unawaited,
            service,
            request,
            site,
            draw,
            events,
        );
    }

    /// Starts the call's current attempt: its first copy, and its timeout and hedge timers.
    pub(super) fn start_attempt(
        &mut self,
        now_ns: Nanos,
        call_key: Key<Call>,
        events: &mut EventQueue<Event>,
    ) {
        let Some(call) = self.calls.get(call_key) else {
            return;
        };
        let entry = self.call_table.get(call.spec);
        let (timeout_ns, hedge_ns) = (entry.spec().timeout_ns, entry.spec().hedge_ns);
        let hedge_budget = entry.hedge_budget();
        let call = self.calls.get_mut(call_key).expect("checked above");
        let token = call.timers.arm();
        call.outstanding = 0;
        call.hedged = false;
        call.copies = [None, None];
        if let Some(timeout_ns) = timeout_ns {
            events.schedule(
                now_ns.saturating_add(timeout_ns),
                Event::CallTimeout(call_key, token),
            );
        }
        if let Some(hedge_ns) = hedge_ns {
            events.schedule(
                now_ns.saturating_add(hedge_ns),
                Event::Hedge(call_key, token),
            );
            // Every attempt deposits in its pair's hedge budget, if it has one.
            if let Some(slot) = hedge_budget {
                self.hedge_budgets[slot as usize].deposit(now_ns);
            }
        }
        self.launch_copy(now_ns, call_key, 0, events);
    }

    /// Sends one copy of the call's current attempt: past the callee's circuit breaker, over
    /// the network if the call has latency, to a new frame at the callee.
    fn launch_copy(
        &mut self,
        now_ns: Nanos,
        call_key: Key<Call>,
        copy: u8,
        events: &mut EventQueue<Event>,
    ) {
        let call = self
            .calls
            .get_mut(call_key)
            .expect("a launching call is live");
        call.outstanding += 1;
        let (callee, token) = (call.callee, call.timers.token());
        if !self.breaker_acquire(now_ns, call_key, copy) {
            let caller = self.calls.get(call_key).expect("live").caller;
            if self.frame(caller).request.measured {
                self.record.services[callee].short_circuited += 1;
            }
            // Failed fast by the breaker, which does not count its own refusals.
            self.copy_result(now_ns, call_key, Ending::Rejected, events);
            return;
        }
        match self.network_ns(call_key, copy, Direction::Out) {
            Some(out_ns) => events.schedule(
                now_ns.saturating_add(out_ns),
                Event::Deliver(call_key, token, copy),
            ),
            None => self.deliver(now_ns, call_key, copy, events),
        }
    }

    /// The network latency of one copy of a call, one way (`None` when the call table sets
    /// none): drawn from the caller's stream for that direction, keyed by the request, the
    /// call site and the attempt and copy, so each leg of each copy has a draw of its own.
    fn network_ns(&mut self, call_key: Key<Call>, copy: u8, direction: Direction) -> Option<Nanos> {
        let call = self.calls.get(call_key).expect("a travelling call is live");
        let latency = self.spec_of(call).latency.as_ref()?;
        let (site, attempt) = (call.site, call.attempt);
        let caller = self.frame(call.caller);
        let (request, caller) = (caller.request.id, caller.service);
        let back = matches!(direction, Direction::Back);
        let draw = attempt * 2 + u32::from(copy);
        Some(self.services[caller].draw_network_ns(latency, back, request, site, draw))
    }

    /// A copy reaches the callee: a frame is created there.
    fn deliver(
        &mut self,
        now_ns: Nanos,
        call_key: Key<Call>,
        copy: u8,
        events: &mut EventQueue<Event>,
    ) {
        let call = self.calls.get(call_key).expect("a delivered call is live");
        let (callee, site, draw) = (call.callee, call.site, call.attempt * 2 + u32::from(copy));
        let request = self.frame(call.caller).request;
        let parent = Parent::Call(call_key, copy);
        self.visit(now_ns, parent, callee, request, site, draw, events);
    }

    /// A copy on the network reached the callee (`Deliver`), unless its attempt is over.
    pub(super) fn on_deliver(
        &mut self,
        now_ns: Nanos,
        call_key: Key<Call>,
        token: TimerToken,
        copy: u8,
        events: &mut EventQueue<Event>,
    ) {
        if self.attempt_is_live(call_key, token) {
            self.deliver(now_ns, call_key, copy, events);
        }
    }

    /// A response on the network reached the caller (`Respond`), unless its attempt is over.
    pub(super) fn on_respond(
        &mut self,
        now_ns: Nanos,
        call_key: Key<Call>,
        token: TimerToken,
        ending: Ending,
        copy: u8,
        events: &mut EventQueue<Event>,
    ) {
        if self.attempt_is_live(call_key, token) {
            self.copy_answered(now_ns, call_key, copy, ending, events);
        }
    }

    pub(super) fn attempt_is_live(&self, call_key: Key<Call>, token: TimerToken) -> bool {
        self.calls
            .get(call_key)
            .is_some_and(|call| !call.done && call.timers.is_live(token))
    }

    /// Records the callee frame of a copy (called by `visit` through the frame's parent).
    #[inline]
    pub(super) fn note_callee(&mut self, parent: Parent, frame: Key<Frame>) {
        if let Parent::Call(call, copy) = parent {
            if let Some(call) = self.calls.get_mut(call) {
                call.copies[usize::from(copy)] = Some(frame);
            }
        }
    }

    /// A callee frame of a copy ended: its answer travels back (with network latency), then
    /// counts for the attempt.
    fn callee_ended(
        &mut self,
        now_ns: Nanos,
        call_key: Key<Call>,
        copy: u8,
        frame: Key<Frame>,
        ending: Ending,
        events: &mut EventQueue<Event>,
    ) {
        let Some(call) = self.calls.get_mut(call_key) else {
            return; // the step has ended
        };
        if call.done || call.copies[usize::from(copy)] != Some(frame) {
            return; // a copy of an attempt that is over
        }
        call.copies[usize::from(copy)] = None;
        let token = call.timers.token();
        match self.network_ns(call_key, copy, Direction::Back) {
            Some(back_ns) => events.schedule(
                now_ns.saturating_add(back_ns),
                Event::Respond(call_key, token, ending, copy),
            ),
            None => self.copy_answered(now_ns, call_key, copy, ending, events),
        }
    }

    /// A copy's answer reached the caller; it settles its breaker permit, if it holds one.
    fn copy_answered(
        &mut self,
        now_ns: Nanos,
        call_key: Key<Call>,
        copy: u8,
        ending: Ending,
        events: &mut EventQueue<Event>,
    ) {
        self.breaker_settle(now_ns, call_key, copy, ending);
        self.copy_result(now_ns, call_key, ending, events);
    }

    /// The first success ends the attempt; a failure ends it when no other copy is still out.
    fn copy_result(
        &mut self,
        now_ns: Nanos,
        call_key: Key<Call>,
        ending: Ending,
        events: &mut EventQueue<Event>,
    ) {
        let call = self
            .calls
            .get_mut(call_key)
            .expect("an answered call is live");
        call.outstanding -= 1;
        if ending.is_success() {
            self.end_attempt(now_ns, call_key, events);
            self.judge(now_ns, call_key, ending, events);
        } else if call.outstanding > 0 {
            call.failure = ending; // the other copy may still succeed
        } else {
            self.attempt_failed(now_ns, call_key, ending, events);
        }
    }

    /// Ends the call's current attempt: its timers go stale and copies still out are
    /// cancelled (their breaker permits released).
    fn end_attempt(&mut self, now_ns: Nanos, call_key: Key<Call>, events: &mut EventQueue<Event>) {
        self.breaker_release_all(now_ns, call_key);
        let call = self.calls.get_mut(call_key).expect("live");
        call.timers.cancel();
        call.outstanding = 0;
        let copies = std::mem::take(&mut call.copies);
        for frame in copies.into_iter().flatten() {
            self.cancel_frame(now_ns, frame, events);
        }
    }

    /// Every copy of the attempt failed (or it timed out): retry after a backoff if the call
    /// may, else the call fails.
    fn attempt_failed(
        &mut self,
        now_ns: Nanos,
        call_key: Key<Call>,
        ending: Ending,
        events: &mut EventQueue<Event>,
    ) {
        self.end_attempt(now_ns, call_key, events);
        let call = self.calls.get(call_key).expect("live");
        let entry = self.call_table.get(call.spec);
        let (retries, retry_budget, has_fallback) = (
            entry.spec().retries,
            entry.retry_budget(),
            entry.fallback().is_some(),
        );
        let next_attempt = call.attempt + 1;
        let (callee, caller_frame, site) = (call.callee, call.caller, call.site);
        let frame = self.frame(caller_frame);
        let (caller, replica, request, measured) = (
            frame.service,
            frame.replica,
            frame.request.id,
            frame.request.measured,
        );
        let retry = retries
            .filter(|r| next_attempt < r.attempts)
            .filter(|_| self.budget_withdraw(now_ns, caller, replica, retry_budget));
        let Some(retries) = retry else {
            if has_fallback {
                self.start_fallback(now_ns, call_key, events);
            } else {
                self.judge(now_ns, call_key, ending, events);
            }
            return;
        };
        if measured {
            self.record.services[callee].retries += 1;
        }
        // Exponential backoff with full jitter: uniform in [0, min(cap, base x 2^(n-1))].
        let ceiling_ns = retries
            .backoff_ns
            .saturating_mul(1u64 << (next_attempt - 1).min(62))
            .min(retries.max_backoff_ns);
        let wait_ns =
            self.services[caller].draw_backoff_ns(request, site, next_attempt, ceiling_ns);
        let call = self.calls.get_mut(call_key).expect("live");
        call.attempt = next_attempt;
        let token = call.timers.arm();
        events.schedule(
            now_ns.saturating_add(wait_ns),
            Event::Retry(call_key, token),
        );
    }

    /// The call failed (after its retries) and has a fallback: the same call goes on as its
    /// fallback, a new call site with attempts of its own, counted as a first call.
    fn start_fallback(
        &mut self,
        now_ns: Nanos,
        call_key: Key<Call>,
        events: &mut EventQueue<Event>,
    ) {
        let call = self.calls.get(call_key).expect("live");
        let fallback = (self.call_table.get(call.spec).fallback()).expect("checked by the caller");
        let callee = self.call_table.get(fallback).spec().service;
        let call = self.calls.get_mut(call_key).expect("live");
        call.spec = fallback;
        call.callee = callee;
        call.site = mix(call.site ^ FALLBACK_SALT);
        call.attempt = 0;
        call.failure = Ending::Failed;
        if self.record_first_call(now_ns, call_key) {
            self.start_attempt(now_ns, call_key, events);
        }
    }

    /// The frame's current step failed and has a fallback: the fallback call is made, as
    /// the step's one call; its success ends the step, degraded.
    fn start_step_fallback(
        &mut self,
        now_ns: Nanos,
        key: Key<Frame>,
        events: &mut EventQueue<Event>,
    ) {
        let frame = self.frame(key);
        let step = &self.plan_of(frame)[usize::from(frame.step)];
        let spec = step.fallback.as_deref().expect("checked by the caller");
        let site = mix(frame.site
            ^ (u64::from(frame.on_miss) << 48
                | u64::from(frame.step) << 32
                | u64::from(STEP_FALLBACK)));
        let entry =
            (self.call_table).entry_of(frame.service, frame.on_miss, frame.step, step.calls.len());
        let call = self
            .calls
            .insert(Call::new(key, entry, spec.service, site, None));
        let frame = self.frame_mut(key);
        frame.on_fallback = true;
        frame.first_call = Some(call);
        frame.tally = Tally {
            made: 1,
            needed: 1,
            succeeded: 0,
            failed: 0,
        };
        if self.record_first_call(now_ns, call) {
            self.start_attempt(now_ns, call, events);
        }
    }

    /// A step's deadline (`StepDeadline`), unless the step is over: the step is judged by
    /// its join on what has answered. Optional calls still running count as successes that
    /// degrade the answer, as their failure would; the calls still running are cancelled.
    /// Met, the frame goes on; not met, the step fails as timed out (or takes its fallback).
    pub(super) fn on_step_deadline(
        &mut self,
        now_ns: Nanos,
        key: Key<Frame>,
        step: u16,
        events: &mut EventQueue<Event>,
    ) {
        if !self.step_is_live(key, step) {
            return;
        }
        let frame = self.frame(key);
        let (mut succeeded, needed) = (frame.tally.succeeded, frame.tally.needed);
        let mut degraded = false;
        let mut next = frame.first_call;
        while let Some(call_key) = next {
            let call = self.calls.get(call_key).expect("a step's calls live");
            if !call.done && self.call_table.get(call.spec).is_optional() {
                succeeded += 1;
                degraded = true;
            }
            next = call.next;
        }
        self.end_step(now_ns, key, events);
        if succeeded >= needed {
            if degraded {
                self.frame_mut(key).degraded = true;
            }
            self.next_step(now_ns, key, events);
        } else {
            self.step_failed(now_ns, key, Ending::TimedOut, events);
        }
    }

    /// Whether the frame is still taking step `step` (and not its fallback): what makes a
    /// `StepDeadline` stale.
    pub(super) fn step_is_live(&self, key: Key<Frame>, step: u16) -> bool {
        self.frames
            .get(key)
            .is_some_and(|f| f.stage == Stage::Calling && f.step == step && !f.on_fallback)
    }

    /// The frame's current step failed (its calls already ended), by `cause`: its fallback
    /// is made if it has one (and is not the one that failed), else the frame fails.
    fn step_failed(
        &mut self,
        now_ns: Nanos,
        key: Key<Frame>,
        cause: Ending,
        events: &mut EventQueue<Event>,
    ) {
        let frame = self.frame(key);
        let has_fallback = !frame.on_fallback
            && self.plan_of(frame)[usize::from(frame.step)]
                .fallback
                .is_some();
        if has_fallback {
            self.start_step_fallback(now_ns, key, events);
        } else {
            self.release_worker(now_ns, key, events);
            self.end_frame_as(now_ns, key, Ending::Failed, cause, events);
        }
    }

    /// A retry's backoff is over: the next attempt starts.
    pub(super) fn on_retry(
        &mut self,
        now_ns: Nanos,
        call_key: Key<Call>,
        token: TimerToken,
        events: &mut EventQueue<Event>,
    ) {
        if self.attempt_is_live(call_key, token) {
            self.start_attempt(now_ns, call_key, events);
        }
    }

    /// The attempt has not answered after `hedge`: a second copy goes out, if the pair's
    /// hedge budget (when it has one) allows it.
    pub(super) fn on_hedge(
        &mut self,
        now_ns: Nanos,
        call_key: Key<Call>,
        token: TimerToken,
        events: &mut EventQueue<Event>,
    ) {
        if !self.attempt_is_live(call_key, token) {
            return;
        }
        let call = self.calls.get_mut(call_key).expect("live");
        if call.hedged || call.outstanding == 0 {
            return;
        }
        let (callee, caller) = (call.callee, call.caller);
        let hedge_budget = self.call_table.get(call.spec).hedge_budget();
        let measured = self.frame(caller).request.measured;
        // Within the pair's hedge budget, if it has one; else this attempt is not hedged.
        if let Some(slot) = hedge_budget {
            if !self.hedge_budgets[slot as usize].withdraw(now_ns) {
                return;
            }
        }
        self.calls.get_mut(call_key).expect("live").hedged = true;
        if measured {
            self.record.services[callee].hedges += 1;
        }
        self.launch_copy(now_ns, call_key, 1, events);
    }

    /// An attempt's timeout fired: the caller gives up on its copies.
    pub(super) fn on_call_timeout(
        &mut self,
        now_ns: Nanos,
        call_key: Key<Call>,
        token: TimerToken,
        events: &mut EventQueue<Event>,
    ) {
        if !self.attempt_is_live(call_key, token) {
            return;
        }
        // The breaker hears one timeout for the attempt (from the first copy that holds a
        // permit); the copies' other permits are released as they are cancelled.
        let call = self.calls.get(call_key).expect("live");
        let copy = u8::from(call.permits[0].is_none());
        self.breaker_settle(now_ns, call_key, copy, Ending::TimedOut);
        self.attempt_failed(now_ns, call_key, Ending::TimedOut, events);
    }

    /// The one place a finished call is judged, by its step's join. An optional call's
    /// failure counts as a success that degrades the answer.
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
        call.timers.cancel();
        let entry = self.call_table.get(call.spec);
        let (caller, on_a_fallback, optional) =
            (call.caller, entry.is_a_fallback(), entry.is_optional());
        let frame = self.frame(caller);
        // With a deadline, a met join does not end the step: it waits for every call.
        let waits_for_all = !frame.on_fallback
            && self.plan_of(frame)[usize::from(frame.step)]
                .deadline_ns
                .is_some();
        let frame = self.frame_mut(caller);
        let success = ending.is_success() || optional;
        if ending == Ending::Degraded
            || (optional && !ending.is_success())
            || (on_a_fallback && ending.is_success())
        {
            frame.degraded = true;
        }
        let tally = &mut frame.tally;
        if success {
            tally.succeeded += 1;
        } else {
            tally.failed += 1;
        }
        if tally.failed > tally.made - tally.needed {
            self.end_step(now_ns, caller, events);
            self.step_failed(now_ns, caller, ending, events);
        } else if (success && !waits_for_all && tally.succeeded == tally.needed)
            || (waits_for_all && tally.succeeded + tally.failed == tally.made)
        {
            self.end_step(now_ns, caller, events);
            self.next_step(now_ns, caller, events);
        }
    }

    /// Ends the frame's current step: cancels its calls still running and frees them all.
    fn end_step(&mut self, now_ns: Nanos, key: Key<Frame>, events: &mut EventQueue<Event>) {
        let mut next = self.frame_mut(key).first_call.take();
        while let Some(call_key) = next {
            self.breaker_release_all(now_ns, call_key);
            let call = self
                .calls
                .remove(call_key)
                .expect("a step's calls live until it ends");
            next = call.next;
            for frame in call.copies.into_iter().flatten() {
                self.cancel_frame(now_ns, frame, events);
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
        if let (Stage::Working, Some(run)) = (frame.stage, frame.batch) {
            // Its batch will not hear from it: count it done now, so the batch's worker is
            // freed when the last of its visits is.
            self.batch_visit_done(now_ns, run, frame.visit(), events);
        }
        let frame = self.frame(key);
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

    /// A frame ends, counted at its service as `counted`; its parent hears `cause` (a frame
    /// failed by a rejection or timeout downstream counts a failure, and passes the rejection
    /// or timeout up, so the request counts under the kind of the first failure).
    #[inline]
    fn end_frame_as(
        &mut self,
        now_ns: Nanos,
        key: Key<Frame>,
        counted: Ending,
        cause: Ending,
        events: &mut EventQueue<Event>,
    ) {
        // Taken out whole (one lookup); only the fields read below are copied.
        let frame = self.frames.remove(key).expect("an ending frame is live");
        debug_assert!(
            !frame.holds_worker,
            "a frame releases its worker before it ends"
        );
        let (service, admitted, parent) = (frame.service, frame.admitted, frame.parent);
        let (request, arrived_ns, version) = (frame.request, frame.arrived_ns, frame.version);
        if self.deploying {
            if let Some(d) = self.services[service].rollout() {
                self.rollout_visit_ended(d, version, counted, now_ns - arrived_ns);
            }
        }
        let record = &mut self.record.services[service];
        // A leaf service's level is derived from its queue and workers (`is_leaf`).
        if admitted && !self.services[service].is_leaf() {
            record.in_system.add(now_ns, -1, self.window);
        }
        if request.measured {
            let counts = &mut record.requests;
            match counted {
                Ending::Succeeded | Ending::Degraded => {
                    counts.succeeded += 1;
                    counts.degraded += u64::from(counted == Ending::Degraded);
                    // A root visit's latency is the request's, recorded there (`finish`
                    // adds it here) when it is the same.
                    if !(self.root_latency_once && parent == Parent::Root) {
                        record.latency.record(now_ns - arrived_ns);
                    }
                }
                Ending::Failed => counts.failed += 1,
                Ending::Rejected => counts.rejected += 1,
                Ending::TimedOut => counts.timed_out += 1,
                Ending::Cancelled => counts.cancelled += 1,
            }
        }
        match parent {
            Parent::Root => {
                let arrived_ns = self.arrival_of(request, arrived_ns);
                self.end_request(now_ns, request, arrived_ns, cause);
                self.request_ended(now_ns, request, arrived_ns, cause, events);
            }
            Parent::Call(call, copy) => self.callee_ended(now_ns, call, copy, key, cause, events),
            Parent::Detached | Parent::Unawaited => {}
        }
    }

    /// The request's root frame ended: the request ends the same way. Inlined: it runs at
    /// the end of every request.
    #[inline(always)]
    pub(super) fn end_request(
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
        let away_ns = if self.plain_requests {
            0
        } else {
            self.measured_request_ended(now_ns, request, ending)
        };
        let latency_ns = now_ns - arrived_ns + away_ns;
        let record = &mut self.record;
        count_ending(
            &mut record.requests,
            &mut record.latency,
            ending,
            latency_ns,
        );
        // With one class, its record is the top level's (the summary reads it from there).
        if record.classes.len() > 1 {
            let class = &mut record.classes[usize::from(request.class)];
            count_ending(&mut class.requests, &mut class.latency, ending, latency_ns);
        }
    }
}

impl System<'_> {
    /// A measured request ended (not a plain one): its rollout hears of it, and a request
    /// served in another region is counted. Returns the time its client waits beyond its
    /// root visit: the way to the serving region and back.
    fn measured_request_ended(
        &mut self,
        now_ns: Nanos,
        request: RequestInfo,
        ending: Ending,
    ) -> Nanos {
        if !self.rollouts.is_empty() {
            let ok = matches!(ending, Ending::Succeeded | Ending::Degraded);
            self.rollout_request_ended(now_ns, request, ok);
        }
        if request.client_region != request.served_region {
            self.record.cross_region += 1;
            if self.record.classes.len() > 1 {
                self.record.classes[usize::from(request.class)].cross_region += 1;
            }
        }
        self.regions.round_trip_ns(request)
    }
}

/// Counts how a request ended, and times it if it succeeded.
#[inline(always)]
fn count_ending(
    counts: &mut crate::metrics::recorder::Counts,
    latency: &mut crate::metrics::recorder::Durations,
    ending: Ending,
    latency_ns: Nanos,
) {
    match ending {
        Ending::Succeeded | Ending::Degraded => {
            counts.succeeded += 1;
            counts.degraded += u64::from(ending == Ending::Degraded);
            latency.record(latency_ns);
        }
        Ending::Failed => counts.failed += 1,
        Ending::Rejected => counts.rejected += 1,
        Ending::TimedOut => counts.timed_out += 1,
        Ending::Cancelled => unreachable!("nobody cancels a whole request"),
    }
}
