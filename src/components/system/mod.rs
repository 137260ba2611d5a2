//! The system under simulation: one replication's world (`System`), and its run.
//!
//! Each event is handled in the glue file of its concern, each with its own `impl System`
//! block: arrivals in `traffic`, visits in `service`, batches in `batch`, call timers in
//! `request`, window ends in `series`, scaling in `autoscaler`, replicas coming up in
//! `lifecycle`, faults in `fault`, probes in `health`, rollouts in `deployment`, backlogs in
//! `region`. A glue file imports this one and the policy and state files of `components`,
//! never another glue file. This file only dispatches events and stops the run when it is
//! overloaded.

mod autoscaler;
mod batch;
mod cache;
mod deployment;
mod fault;
mod health;
mod lifecycle;
mod region;
mod request;
mod resilience;
mod series;
mod service;
mod traffic;

use super::cache::KeyLaw;
use super::calls::CallTable;
use super::entity::{BatchRun, Call, Event, Frame};
use super::lifecycle::WorldState;
use super::region::Regions;
#[cfg(test)]
use super::resilience::BreakerState;
use super::resilience::BudgetState;
use super::series::SeriesState;
use super::service::ServiceState;
use super::traffic::Source;
use crate::engine::queue::EventQueue;
use crate::engine::rng::Stream;
use crate::engine::slab::GenSlab;
use crate::engine::time::Nanos;
use crate::engine::{self, Control, World};
use crate::metrics::recorder::{Record, TimeWeighted};
use crate::metrics::run::{Overload, OverloadReason, RunResult};
use crate::scenario::model::Lookup;
use crate::scenario::model::{Arrivals, Model};

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
    system.schedule_world(&mut events);
    let (end_ns, handled) = engine::run(&mut system, &mut events, progress);
    let mut run = system.finish(replication, end_ns);
    run.events = handled;
    run
}

/// Simulates one replication, checking the state invariants after every event (see
/// [`System::invariants`]): the first one broken stops the run with its description. Slow;
/// for property tests of random designs.
pub fn simulate_checked(model: &Model, replication: u32) -> Result<RunResult, String> {
    run_checked(model, replication, None)
}

/// As [`simulate_checked`], but with the cost of checking bounded: while at most
/// `frames_per_check` visits are in flight the invariants are checked after every event, and
/// with `n` in flight after every `n / frames_per_check`-th, so a check costs about
/// `frames_per_check` frames an event however deep the queues grow (checking every event is
/// quadratic in a queue's depth). The state is checked once more when the run ends. For the
/// fuzzer, which would otherwise spend most of its time on overloaded designs.
pub fn simulate_checked_amortized(
    model: &Model,
    replication: u32,
    frames_per_check: usize,
) -> Result<RunResult, String> {
    run_checked(model, replication, Some(frames_per_check.max(1)))
}

fn run_checked(
    model: &Model,
    replication: u32,
    frames_per_check: Option<usize>,
) -> Result<RunResult, String> {
    // The same run loop as `simulate` (one instantiation of it, so the common path is
    // compiled as it always is), with the check switched on in the system.
    let mut system = System::new(model, replication);
    system.checking = Some(Checking {
        broken: None,
        skip: 0,
        frames_per_check,
    });
    let mut events = EventQueue::default();
    system.schedule_first_arrival(&mut events);
    system.schedule_world(&mut events);
    let (end_ns, handled) = engine::run(&mut system, &mut events, &mut |_| {});
    if let Some(Checking {
        broken: Some(broken),
        ..
    }) = system.checking.take()
    {
        return Err(broken);
    }
    system
        .invariants()
        .and_then(|()| system.rollout_invariants(end_ns))
        .map_err(|e| format!("at {end_ns} ns, as the run ended: {e}"))?;
    let mut run = system.finish(replication, end_ns);
    run.events = handled;
    Ok(run)
}

/// How a checked run checks (`simulate_checked`).
struct Checking {
    /// The first invariant broken, which stops the run.
    broken: Option<String>,
    /// Events to pass before the next check.
    skip: usize,
    /// See [`simulate_checked_amortized`]; `None` checks after every event.
    frames_per_check: Option<usize>,
}

/// One replication's world: what its events act on. Each concern's glue file (`system/*.rs`)
/// adds the handlers for its own events (`impl System` in `traffic`, `service`, `request`...).
pub struct System<'m> {
    pub(super) model: &'m Model,
    /// The measured window `[warmup, duration)`.
    pub(super) window: (Nanos, Nanos),
    pub(super) traffic: Source,
    pub(super) next_request_id: u64,
    pub(super) services: Vec<ServiceState>,
    /// Root frames alive: requests that arrived and have not ended.
    pub(super) requests_in_flight: usize,
    pub(super) frames: GenSlab<Frame>,
    pub(super) calls: GenSlab<Call>,
    pub(super) batches: GenSlab<BatchRun>,
    /// Every call spec of the model, resolved (its fallback, its budgets' slots).
    pub(super) call_table: CallTable<'m>,
    /// Hedge budgets, one per (caller, callee) pair whose calls have one, in the slots of
    /// `call_table`.
    pub(super) hedge_budgets: Vec<BudgetState>,
    /// Keyed streams of the request itself: its class and its cache key.
    pub(super) class_stream: Stream,
    pub(super) key_stream: Stream,
    /// The key law of the first keyed cache: what `consistent_hash` hashes at other services.
    pub(super) default_key_law: Option<KeyLaw>,
    pub(super) record: Record,
    pub(super) overload: Option<Overload>,
    /// Pending events above which stale ones are dropped (see `drop_stale_events`).
    compact_above: usize,
    /// Frames (visits) in flight above which the run stops as overloaded.
    pub(super) max_frames: usize,
    /// With `simulate_checked`: the invariants are checked after events, and the first one
    /// broken is kept here (and stops the run).
    checking: Option<Checking>,
    /// The time series being recorded, if it is.
    pub(super) series: Option<SeriesState>,
    /// Autoscalers, faults, provisioning and the log of what happened.
    pub(super) world: WorldState,
    /// Client regions and where they are served.
    pub(super) regions: Regions,
    /// Each deployment's controller, and whether a deployed service's fleet changed since
    /// they last looked.
    pub(super) rollouts: Vec<super::rollout::RolloutState>,
    pub(super) rollout_dirty: bool,
    /// Whether the model has any deployment: the one check the common path makes.
    pub(super) deploying: bool,
    /// Without regions a request's latency is its root visit's (no way to another region
    /// and back, no backlog), so a root visit's latency is recorded once, in the request's
    /// record, and added to its entry service's at the end (`finish`).
    pub(super) root_latency_once: bool,
    /// Whether any regional service autoscales (one HPA per region).
    pub(super) regional_autoscaling: bool,
    /// One class, no regions, no deployment, no time series, open-loop traffic: a request's
    /// own bookkeeping is its counts and latency, nothing to draw, place or hand on (one
    /// check at its arrival and at its end instead of one per mechanism).
    pub(super) plain_requests: bool,
    /// Every service time drawn, as its work started: what tests check draws against.
    #[cfg(test)]
    pub(super) work_log: Vec<WorkDrawn>,
    /// Every call outcome a breaker heard and its state after, as (time, service, outcome,
    /// state).
    #[cfg(test)]
    pub(super) breaker_log: Vec<(Nanos, usize, super::entity::Ending, BreakerState)>,
}

impl World for System<'_> {
    type Event = Event;

    #[inline]
    fn handle(&mut self, now_ns: Nanos, event: Event, events: &mut EventQueue<Event>) -> Control {
        // Described before it is handled, in a checked run only: the event is not kept past
        // the dispatch, so the common path never copies it aside.
        let checked = match &mut self.checking {
            Some(checking) if checking.skip == 0 => Some(format!("{event:?}")),
            Some(checking) => {
                checking.skip -= 1;
                None
            }
            None => None,
        };
        // One jump table for every kind. Testing for `WorkDone` and `Arrival` ahead of it was
        // measured (M/M/16, 2 x 10^7 customers): 3 instructions fewer per customer and no
        // faster, the processor predicting the jump from the branch the pop just took.
        match event {
            Event::Arrival => self.on_arrival(now_ns, events),
            Event::WorkDone(frame) => self.on_work_done(now_ns, frame, events),
            Event::QueueTimeout(frame) => self.on_queue_timeout(now_ns, frame, events),
            Event::BatchDue(service, replica, token) => {
                self.on_batch_due(now_ns, service as usize, replica, token, events)
            }
            Event::CallTimeout(call, token) => self.on_call_timeout(now_ns, call, token, events),
            Event::Hedge(call, token) => self.on_hedge(now_ns, call, token, events),
            Event::Retry(call, token) => self.on_retry(now_ns, call, token, events),
            Event::Deliver(call, token, copy) => self.on_deliver(now_ns, call, token, copy, events),
            Event::Respond(call, token, ending, copy) => {
                self.on_respond(now_ns, call, token, ending, copy, events)
            }
            Event::StepDeadline(frame, step) => self.on_step_deadline(now_ns, frame, step, events),
            Event::UserRequest(user) => self.on_user_request(now_ns, user, events),
            Event::WindowTick => self.on_window_tick(now_ns, events),
            Event::AutoscaleSync(service) => {
                self.on_autoscale_sync(now_ns, service, events);
                self.schedule_backlog_drains(now_ns, events);
            }
            Event::ReplicaUp(replica) => {
                self.on_replica_up(now_ns, replica, events);
                self.schedule_backlog_drains(now_ns, events);
            }
            Event::ReplicaFault {
                fault,
                replica,
                incarnation,
            } => self.on_replica_fault(now_ns, fault, replica, incarnation, events),
            Event::SpotReclaim(replica) => self.on_spot_reclaim(now_ns, replica, events),
            Event::FaultStart(fault) => self.on_fault_start(now_ns, fault, events),
            Event::FaultEnd(fault) => {
                self.on_fault_end(now_ns, fault, events);
                self.schedule_backlog_drains(now_ns, events);
            }
            Event::HealthCheck(service) => {
                self.on_health_check(now_ns, service, events);
                self.schedule_backlog_drains(now_ns, events);
            }
            Event::Rollout(d) => {
                self.on_rollout(now_ns, d, events);
                self.schedule_backlog_drains(now_ns, events);
            }
            Event::BacklogDrain(region) => self.on_backlog_drain(now_ns, region, events),
            Event::BacklogTimeout(queue, due_ns) => {
                self.on_backlog_timeout(now_ns, queue, due_ns, events)
            }
        }
        if self.rollout_dirty {
            self.reconcile_changed(now_ns, events);
        }
        if events.len() > self.compact_above {
            self.drop_stale_events(events);
        }
        if checked.is_some_and(|event| self.check_after(now_ns, &event)) {
            return Control::Stop;
        }
        if self.overload.is_some() {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

/// A service time as a worker started on it (tests only).
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(super) struct WorkDrawn {
    pub request: u64,
    pub service: usize,
    pub site: u64,
    pub arrived_ns: Nanos,
    pub started_ns: Nanos,
    pub work_ns: Nanos,
}

/// Pending events below which stale ones are left to be skipped when they come due.
const COMPACT_ABOVE: usize = 1 << 16;

impl<'m> System<'m> {
    pub(super) fn new(model: &'m Model, replication: u32) -> Self {
        let services: Vec<ServiceState> = model
            .services
            .iter()
            .enumerate()
            .map(|(id, s)| {
                let mut state = ServiceState::new(s, model.seed, replication);
                state.keep_caller_state(model, id);
                state
            })
            .collect();
        let call_table =
            CallTable::new(model, |caller, callee| services[caller].budget_slot(callee));
        let mut system = System {
            model,
            window: (model.warmup_ns, model.duration_ns),
            traffic: Source::new(model, replication),
            next_request_id: 0,
            services,
            requests_in_flight: 0,
            frames: GenSlab::default(),
            calls: GenSlab::default(),
            batches: GenSlab::default(),
            hedge_budgets: call_table
                .hedge_budgets()
                .iter()
                .map(|&b| BudgetState::new(b))
                .collect(),
            call_table,
            class_stream: Stream::new(model.seed, replication, "traffic", "class"),
            key_stream: Stream::new(model.seed, replication, "traffic", "key"),
            default_key_law: model.services.iter().find_map(|s| {
                match s.cache.as_ref().map(|c| &c.lookup) {
                    Some(Lookup::Keyed(space, _)) => Some(KeyLaw::new(space)),
                    _ => None,
                }
            }),
            record: Record::new(model.services.len(), model.classes.len()),
            overload: None,
            compact_above: COMPACT_ABOVE,
            max_frames: crate::metrics::run::max_visits_in_flight(model.max_in_flight),
            checking: None,
            series: model.record_series.then(|| SeriesState::new(model)),
            world: WorldState::new(model, replication),
            regions: Regions::new(model, replication),
            rollouts: model
                .deployments
                .iter()
                .map(|d| super::rollout::RolloutState::new(model, d, replication))
                .collect(),
            rollout_dirty: false,
            deploying: !model.deployments.is_empty(),
            root_latency_once: model.fleet.regions.is_empty(),
            plain_requests: model.classes.len() == 1
                && model.fleet.regions.is_empty()
                && model.deployments.is_empty()
                && !model.record_series
                && !matches!(model.traffic.arrivals, Arrivals::Closed { .. }),
            regional_autoscaling: model
                .services
                .iter()
                .any(|s| s.fleet.regions.is_some() && s.fleet.autoscale.is_some()),
            #[cfg(test)]
            work_log: Vec::new(),
            #[cfg(test)]
            breaker_log: Vec::new(),
        };
        for (d, spec) in model.deployments.iter().enumerate() {
            system.services[spec.service].follow_rollout(d);
        }
        system
    }

    /// Closes the time-weighted books at the last event and hands over the record.
    fn finish(mut self, replication: u32, end_ns: Nanos) -> RunResult {
        let window = self.window;
        // Levels hold from the last event on: the books close at the run's end, or later if
        // requests were still being served then (replicas are billed the whole time).
        let close_ns = end_ns.max(self.model.duration_ns);
        for (record, state) in self.record.services.iter_mut().zip(&self.services) {
            record.busy_workers.close(close_ns, window);
            record.queued.close(close_ns, window);
            record.in_system.close(close_ns, window);
            if state.is_leaf() {
                record.in_system = TimeWeighted::sum(&record.queued, &record.busy_workers);
            }
            record.ready.close(close_ns, window);
            record.starting.close(close_ns, window);
            record.billed_new.close(close_ns, window);
            for billed in &mut record.billed {
                billed.close(close_ns, window);
            }
        }
        if self.root_latency_once {
            // Each class's requests' latencies are its entry's root visits' latencies.
            let record = &mut self.record;
            for (class, spec) in self.model.classes.iter().enumerate() {
                let latency = match record.classes.as_slice() {
                    [_] => &record.latency,
                    classes => &classes[class].latency,
                };
                record.services[spec.entry].latency.add(latency);
            }
        }
        if let [only] = self.record.classes.as_mut_slice() {
            // One class: its figures are the top level's, recorded once during the run.
            only.requests = self.record.requests;
            only.latency = self.record.latency.clone();
            only.cross_region = self.record.cross_region;
        }
        let series = self
            .series
            .take()
            .map(SeriesState::into_series)
            .unwrap_or_default();
        let mut log = self.world.take_log();
        log.entries.sort_by_key(|h| h.at_ns);
        let rollouts = self.rollouts.iter().map(|r| r.result()).collect();
        RunResult {
            rollouts,
            replication,
            record: self.record,
            end_ns,
            overload: self.overload,
            series,
            log,
            events: 0,
        }
    }

    /// The state invariants that hold between events, or the first one broken:
    /// - each fleet's counts are those of its replicas, and the levels (ready, starting,
    ///   billed) are those counts: billed replicas are never fewer than ready ones;
    /// - no draining replica is idle (the last visit to leave takes it down);
    /// - a replica's count of queued visits is that of its live queued frames;
    /// - no breaker is half-open with its probe out but no call holding the probe's permit;
    /// - the requests in flight are the root frames alive and the requests in backlogs;
    /// - a frame taking a step links exactly the calls its tally made (its fallback's one,
    ///   once the step failed), each naming it as their caller, and a frame taking none links
    ///   none.
    pub fn invariants(&self) -> Result<(), String> {
        use super::entity::{Parent, Stage};
        use super::fleet::ReplicaState;
        // Counts per replica (and per balancer instance), flat: where each service's replicas
        // start in `queued`, and where its (replica, instance) pairs start in `own` with how
        // many instances count their own. Hashing these took half of a checked run's time.
        let mut replica_at = Vec::with_capacity(self.services.len());
        let mut own_at = Vec::with_capacity(self.services.len());
        let (mut replicas, mut pairs) = (0, 0);
        for state in &self.services {
            let fleet = state.fleet();
            let instances = fleet.own_loads().map_or(0, |loads| loads.instances());
            replica_at.push(replicas);
            own_at.push((pairs, instances));
            replicas += fleet.replicas().len();
            pairs += instances * fleet.replicas().len();
        }
        let mut queued = vec![0u32; replicas];
        let mut own = vec![0u32; pairs];
        let mut roots = 0;
        for (key, frame) in self.frames.iter() {
            if frame.parent == Parent::Root {
                roots += 1;
            }
            let mut linked = 0u16;
            let mut next = frame.first_call;
            while let Some(call) = next {
                let call = self
                    .calls
                    .get(call)
                    .ok_or("a step links a call that ended")?;
                if call.caller != key {
                    return Err("a step links another frame's call".into());
                }
                linked += 1;
                next = call.next;
            }
            let made = if frame.stage == Stage::Calling {
                frame.tally.made
            } else {
                0
            };
            if linked != made {
                return Err(format!(
                    "a frame of {} links {linked} calls, its step made {made}",
                    self.model.services[frame.service].name
                ));
            }
            let fleet_size = self.services[frame.service].fleet().replicas().len();
            if frame.admitted && frame.replica as usize >= fleet_size {
                return Err(format!(
                    "a frame of {} is on replica {} of {fleet_size}",
                    self.model.services[frame.service].name, frame.replica
                ));
            }
            if frame.stage == Stage::Queued && frame.admitted {
                queued[replica_at[frame.service] + frame.replica as usize] += 1;
            }
            // A visit on its replica (waiting, holding a worker, or in a batch) is counted by
            // the balancer instance that sent it, when instances count their own.
            let on_replica = frame.stage == Stage::Queued
                || frame.holds_worker
                || (frame.stage == Stage::Working && frame.batch.is_some());
            let counting = self.services[frame.service].counting_instance(frame.visit());
            if let (true, true, Some(instance)) = (frame.admitted, on_replica, counting) {
                let (at, instances) = own_at[frame.service];
                if instance >= instances {
                    return Err(format!(
                        "a visit to {} counted by balancer instance {instance} of {instances}",
                        self.model.services[frame.service].name
                    ));
                }
                own[at + frame.replica as usize * instances + instance] += 1;
            }
        }
        let waiting = self.regions.waiting();
        if roots + waiting != self.requests_in_flight {
            return Err(format!(
                "{roots} root frames and {waiting} requests in backlogs, {} requests in flight",
                self.requests_in_flight
            ));
        }
        // The probes under way: (caller service and replica for a caller's own breaker,
        // callee, permit).
        let mut probes = Vec::new();
        for (_, call) in self.calls.iter() {
            for permit in call.permits.iter().flatten() {
                let frame = self.frame(call.caller);
                probes.push((frame.service, frame.replica, call.callee, *permit));
            }
        }
        for (id, state) in self.services.iter().enumerate() {
            let name = &self.model.services[id].name;
            let fleet = state.fleet();
            let mut ready = 0;
            let mut starting = 0;
            let mut billed = 0;
            for (index, r) in fleet.replicas().iter().enumerate() {
                let index = index as u32;
                match r.state() {
                    ReplicaState::Ready => ready += 1,
                    ReplicaState::Starting => starting += 1,
                    ReplicaState::Draining if r.is_idle() => {
                        return Err(format!("{name} replica {index} is draining and idle"));
                    }
                    ReplicaState::Draining => {}
                    ReplicaState::Down => continue,
                }
                billed += 1;
                let live = queued[replica_at[id] + index as usize];
                if r.queued() != live {
                    return Err(format!(
                        "{name} replica {index} counts {} queued, {live} live frames wait",
                        r.queued()
                    ));
                }
                for (slot, breaker) in r.own_breakers().iter().enumerate() {
                    let callee = state.own_breaker_callee(slot);
                    let out = probes.iter().any(|&(s, rep, c, p)| {
                        s == id && rep == index && c == callee && breaker.is_live_probe(p)
                    });
                    if breaker.awaits_probe() && !out {
                        return Err(format!(
                            "{name} replica {index}'s breaker to {} is half-open with no probe out",
                            self.model.services[callee].name
                        ));
                    }
                }
            }
            if let Some(loads) = fleet.own_loads() {
                for index in 0..fleet.replicas().len() as u32 {
                    for instance in 0..loads.instances() {
                        let live = own[own_at[id].0 + index as usize * own_at[id].1 + instance];
                        if loads.get(instance, index) != live {
                            return Err(format!(
                                "{name} replica {index}: balancer instance {instance} counts {}, {live} of its visits are there",
                                loads.get(instance, index)
                            ));
                        }
                    }
                }
            }
            let counts = fleet.counts();
            if (ready, starting, billed) != (counts.ready, counts.starting, counts.billed()) {
                return Err(format!(
                    "{name}: replicas {ready} ready, {starting} starting, {billed} billed; counted {counts:?}"
                ));
            }
            let record = &self.record.services[id];
            let billed_level: u64 = record.billed.iter().map(|b| b.level()).sum();
            if (record.ready.level(), record.starting.level(), billed_level)
                != (ready, starting, billed)
            {
                return Err(format!(
                    "{name}: levels {} ready, {} starting, {billed_level} billed; replicas {ready}, {starting}, {billed}",
                    record.ready.level(),
                    record.starting.level()
                ));
            }
            if let Some(breaker) = state.shared_breaker() {
                let out = probes
                    .iter()
                    .any(|&(_, _, c, p)| c == id && breaker.is_live_probe(p));
                if breaker.awaits_probe() && !out {
                    return Err(format!("{name}'s breaker is half-open with no probe out"));
                }
            }
        }
        Ok(())
    }

    /// With checking on (`simulate_checked`): whether an invariant is broken after `event`, as
    /// described before it was handled.
    #[cold]
    #[inline(never)]
    fn check_after(&mut self, now_ns: Nanos, event: &str) -> bool {
        match self
            .invariants()
            .and_then(|()| self.rollout_invariants(now_ns))
        {
            Ok(()) => {
                if let Some(checking) = &mut self.checking {
                    checking.skip = checking
                        .frames_per_check
                        .map_or(0, |per| (self.frames.len() / per).saturating_sub(1));
                }
                false
            }
            Err(e) => {
                if let Some(checking) = &mut self.checking {
                    checking.broken = Some(format!("at {now_ns} ns, after {event}: {e}"));
                }
                true
            }
        }
    }

    /// Drops the pending events that would be skipped when they came due (the timers of
    /// attempts that are over, the work of frames that have ended), and waits for the queue to
    /// double before doing it again: a call's 1-hour timeout, armed and then made stale by its
    /// answer a millisecond later, would otherwise stay queued for the hour, so memory would
    /// grow with rate x timeout instead of with what is in flight. Amortized O(1) per event;
    /// the events kept keep their order, so a run's results do not change.
    #[cold]
    fn drop_stale_events(&mut self, events: &mut EventQueue<Event>) {
        events.retain(|&event| match event {
            Event::CallTimeout(call, token)
            | Event::Hedge(call, token)
            | Event::Retry(call, token)
            | Event::Deliver(call, token, _)
            | Event::Respond(call, token, _, _) => self.attempt_is_live(call, token),
            Event::WorkDone(frame) => self.frames.contains(frame),
            Event::StepDeadline(frame, step) => self.step_is_live(frame, step),
            Event::QueueTimeout(frame) => self
                .frames
                .get(frame)
                .is_some_and(|f| f.stage == super::entity::Stage::Queued),
            _ => true,
        });
        self.compact_above = COMPACT_ABOVE.max(2 * events.len());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::Model;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn model(toml: &str) -> Model {
        crate::scenario::load(toml, "t.toml", &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs replication 0 and returns its result with every service time drawn.
    fn run_logged(model: &Model) -> (RunResult, Vec<WorkDrawn>) {
        let mut system = System::new(model, 0);
        let mut events = EventQueue::default();
        system.schedule_first_arrival(&mut events);
        system.schedule_world(&mut events);
        let (end_ns, _) = engine::run(&mut system, &mut events, &mut |_| {});
        let log = std::mem::take(&mut system.work_log);
        (system.finish(0, end_ns), log)
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
        assert_eq!(run.record.services[0].visits, 0, "no arrival event ran");
        assert_eq!(
            run.end_ns, 0,
            "no event ran (no time series is recorded here)"
        );
        assert_eq!(run.events, 0);
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

    /// A chain a -> b -> c, each a constant 10 ms with workers to spare, at 1000 requests/s:
    /// by Little's law about 30 requests are in flight (sd about 5.5), but about 60 frames
    /// (a's frame lives 30 ms, b's 20 ms, c's 10 ms). A bound of 70 is far above the requests
    /// (P(more than 70) is about 1e-10 per instant) and often below the frames; it must count
    /// requests, so the run completes.
    #[test]
    fn max_in_flight_counts_requests_not_visits() {
        let chain = |max_in_flight: u32, c_workers: u32, c_time: &str| {
            model(&format!(
                r#"
                [scenario]
                duration = "10s"
                max_in_flight = {max_in_flight}
                [traffic]
                rate = 1000
                [[service]]
                name = "a"
                concurrency = 1000
                service_time = {{ dist = "constant", value = "10ms" }}
                calls = ["b"]
                [[service]]
                name = "b"
                concurrency = 1000
                service_time = {{ dist = "constant", value = "10ms" }}
                calls = ["c"]
                [[service]]
                name = "c"
                concurrency = {c_workers}
                service_time = {{ dist = "constant", value = "{c_time}" }}
                "#
            ))
        };
        let run = simulate(&chain(70, 1000, "10ms"), 0);
        assert!(run.overload.is_none(), "{:?}", run.overload);
        assert!(run.record.requests.arrived > 9_000);
        // With c a single worker taking 100 ms, requests pile up; the run stops at the 71st
        // request in flight, and says so in requests, not visits (which number 3 per request).
        let run = simulate(&chain(70, 1, "100ms"), 0);
        let overload = run.overload.expect("c cannot keep up");
        assert_eq!(overload.reason, OverloadReason::InFlight);
        assert_eq!(overload.in_flight, 71);
        assert_eq!(overload.service, 2, "c has the longest queue");
    }

    /// a calls b with a 5 ms timeout; b is one worker taking a constant 10 ms, so every call
    /// times out. A call that is still queued when its timer fires leaves b's queue; one that
    /// had started is detached, finishes its 10 ms as wasted work, and makes no call of its
    /// own (b would call c). The worker then moves on to the next live frame.
    #[test]
    fn a_timed_out_call_leaves_the_queue_or_finishes_as_wasted_work() {
        let mut m = model(
            r#"
            [scenario]
            duration = "2s"
            [traffic]
            rate = 500
            [[service]]
            name = "a"
            concurrency = 1000
            service_time = { dist = "constant", value = "0s" }
            calls = ["b"]
            [[service]]
            name = "b"
            service_time = { dist = "constant", value = "10ms" }
            calls = ["c"]
            [[service]]
            name = "c"
            service_time = { dist = "constant", value = "1ms" }
            "#,
        );
        m.services[0].plan[0].calls[0].timeout_ns = Some(5_000_000);
        let (run, log) = run_logged(&m);
        let r = &run.record;
        assert!(run.overload.is_none());
        assert!(r.requests.arrived > 800);
        assert_eq!(
            r.requests.timed_out, r.requests.arrived,
            "every call times out"
        );
        let b = &r.services[1];
        assert_eq!(b.requests.cancelled, b.requests.arrived);
        let started = log.iter().filter(|w| w.service == 1).count() as u128;
        assert!(started > 50 && started < b.requests.arrived as u128);
        assert_eq!(b.wasted_work_ns, started * 10_000_000);
        assert_eq!(
            r.services[2].requests.arrived, 0,
            "a detached frame makes no calls"
        );
        // The worker was busy for the work it started (10 ms each), but for the part of the
        // last one that ran past the end of the measured window (utilization is clipped to
        // it).
        let busy_ns = b.busy_workers.area();
        assert!(busy_ns <= started * 10_000_000 && busy_ns > (started - 1) * 10_000_000);
        assert_eq!(b.queued.level(), 0);
        assert_eq!(b.in_system.level(), 0);
    }

    /// A service time drawn as its visit arrives (one version, no batching) is the same draw
    /// as one made at the start, and a `slow` fault's factor is the one in effect when the
    /// work starts, not when the visit arrived. One worker at rho 0.9 (exponential, mean
    /// 1 s) for 400 s, with a slow fault of factor 4 over [100 s, 150 s): the queue is long
    /// when the fault begins and ends, so visits arrive before it and start during it, and
    /// arrive during it and start after it. Checked visit by visit against the same run
    /// without the fault, whose draws (keyed by request and call site) are the base times:
    /// every visit started inside the window takes base x 4 (rounded as the engine rounds),
    /// every other its base, exactly.
    #[test]
    fn a_service_time_drawn_at_arrival_is_slowed_by_the_fault_at_its_start() {
        let toml = |fault: &str| {
            format!(
                r#"
                [scenario]
                duration = "400s"
                [traffic]
                rate = 0.9
                [[service]]
                name = "s"
                service_time = {{ dist = "exponential", mean = "1s" }}
                {fault}
                "#
            )
        };
        let plain = model(&toml(""));
        let slowed = model(&toml(
            "[[fault]]\nkind = \"slow\"\ntarget = \"s\"\nat = \"100s\"\nduration = \"50s\"\nfactor = 4",
        ));
        assert!(System::new(&slowed, 0).services[0].draws_at_arrival());
        let (_, base_log) = run_logged(&plain);
        let base: BTreeMap<(u64, u64), Nanos> = base_log
            .iter()
            .map(|w| ((w.request, w.site), w.work_ns))
            .collect();
        let (_, log) = run_logged(&slowed);
        let (window_start_ns, window_end_ns) = (100_000_000_000, 150_000_000_000);
        let (mut across_start, mut across_end, mut inside) = (0, 0, 0);
        for w in &log {
            let base_ns = base[&(w.request, w.site)];
            if (window_start_ns..window_end_ns).contains(&w.started_ns) {
                inside += 1;
                assert_eq!(w.work_ns, (base_ns as f64 * 4.0) as Nanos, "{w:?}");
                across_start += usize::from(w.arrived_ns < window_start_ns);
            } else {
                assert_eq!(w.work_ns, base_ns, "{w:?}");
                let arrived_inside = (window_start_ns..window_end_ns).contains(&w.arrived_ns);
                across_end += usize::from(arrived_inside && w.started_ns >= window_end_ns);
            }
        }
        assert!(inside > 5, "{inside} visits started during the fault");
        assert!(across_start > 0, "no visit waited into the fault");
        assert!(across_end > 0, "no visit waited out of the fault");
    }

    /// A step of two calls made together (built by hand: the scenario syntax for it comes
    /// with fan-out): with idle servers the step lasts as long as the slower call, 10 ms, not
    /// the sum; and when the fast call fails, the step fails at once (fail-fast) and the slow
    /// call is cancelled: it leaves the queue or finishes as wasted work.
    #[test]
    fn a_step_waits_on_all_its_calls_and_fails_fast() {
        let toml = |b_error_rate: f64| {
            format!(
                r#"
                [scenario]
                duration = "10s"
                [traffic]
                rate = 20
                [[service]]
                name = "a"
                concurrency = 1000
                service_time = {{ dist = "constant", value = "0s" }}
                [[service]]
                name = "b"
                concurrency = 1000
                service_time = {{ dist = "constant", value = "1ms" }}
                error_rate = {b_error_rate}
                [[service]]
                name = "c"
                service_time = {{ dist = "constant", value = "10ms" }}
                "#
            )
        };
        let both = |b_error_rate| {
            let mut m = model(&toml(b_error_rate));
            m.services[0].plan = vec![crate::scenario::model::Step {
                calls: vec![
                    crate::scenario::model::Call::to(1),
                    crate::scenario::model::Call::to(2),
                ],
                join: crate::scenario::model::Join::All,
                deadline_ns: None,
                fallback: None,
            }];
            m
        };
        let run = simulate(&both(0.0), 0);
        let r = &run.record;
        // c is one worker: at 20 requests/s some requests queue behind another's 10 ms, so
        // end-to-end latency is at least 10 ms, and exactly 10 ms for those that do not
        // (the histogram's lowest value, within its 0.1%); the median request did not queue.
        assert_eq!(r.requests.succeeded, r.requests.arrived);
        let close = |ns: f64| (ns / 10e6 - 1.0).abs() < 1e-3;
        assert!(
            close(r.latency.quantile_ns(0.0)),
            "{}",
            r.latency.quantile_ns(0.0)
        );
        assert!(
            close(r.latency.quantile_ns(0.5)),
            "{}",
            r.latency.quantile_ns(0.5)
        );

        let run = simulate(&both(1.0), 0);
        let r = &run.record;
        assert_eq!(r.requests.failed, r.requests.arrived);
        assert_eq!(r.services[0].requests.failed, r.requests.arrived);
        let c = &r.services[2];
        assert_eq!(
            c.requests.cancelled, c.requests.arrived,
            "c's call was cancelled"
        );
        assert!(c.wasted_work_ns > 0);
        assert_eq!(c.requests.succeeded, 0);
    }

    /// A breaker on a callee that is overloaded while it is called: b is one worker taking
    /// 10 ms, called 150 times a second (1.5x its capacity) with a 50 ms timeout. Its queue
    /// grows until calls time out; after 5 failures in a row the breaker opens for 1 s, and
    /// calls fail fast; b's queue drains meanwhile, so the half-open probe succeeds and the
    /// breaker closes; then the cycle repeats. The log of what the breaker heard shows each
    /// step.
    #[test]
    fn a_circuit_breaker_opens_fails_fast_probes_and_closes() {
        use super::super::resilience::BreakerState::*;
        let mut m = model(
            r#"
            [scenario]
            duration = "20s"
            [traffic]
            rate = 150
            [[service]]
            name = "a"
            concurrency = 1000
            service_time = { dist = "constant", value = "0s" }
            calls = [{ service = "b", timeout = "50ms" }]
            [[service]]
            name = "b"
            circuit_breaker = { failures = 5, open_for = "1s" }
            service_time = { dist = "constant", value = "10ms" }
            "#,
        );
        m.services[1].queue_capacity = None;
        let mut system = System::new(&m, 0);
        let mut events = EventQueue::default();
        system.schedule_first_arrival(&mut events);
        let (end_ns, _) = engine::run(&mut system, &mut events, &mut |_| {});
        let log = std::mem::take(&mut system.breaker_log);
        let run = system.finish(0, end_ns);
        let mut opened = 0;
        let mut closed_after_open = 0;
        let mut failures_in_a_row = 0;
        let mut state = Closed;
        for &(t, _, ending, after) in &log {
            match (state, after) {
                (Closed, Closed) => {
                    failures_in_a_row = if ending.is_success() {
                        0
                    } else {
                        failures_in_a_row + 1
                    };
                }
                (Closed, Open { until_ns }) => {
                    // Opens on the fifth failure in a row, for 1 s.
                    assert!(!ending.is_success());
                    assert_eq!(failures_in_a_row, 4, "at {t}");
                    assert_eq!(until_ns, t + 1_000_000_000);
                    opened += 1;
                    failures_in_a_row = 0;
                }
                // While open, only answers to calls made before it opened arrive.
                (Open { .. }, Open { .. }) => {}
                (Open { until_ns }, Closed) => {
                    // The probe went out no earlier than the end of the open time, and
                    // succeeded.
                    assert!(t >= until_ns && ending.is_success(), "at {t}");
                    closed_after_open += 1;
                }
                (Open { until_ns }, HalfOpen { .. }) => {
                    panic!("a probe answered while {until_ns} was pending, at {t}")
                }
                (from, to) => {
                    assert!(
                        !matches!((from, to), (Closed, HalfOpen { .. })),
                        "closed straight to half-open at {t}"
                    );
                }
            }
            state = after;
        }
        assert!(opened >= 3, "opened {opened} times");
        assert!(
            closed_after_open >= 2,
            "closed {closed_after_open} times after opening"
        );
        let b = &run.record.services[1];
        assert!(
            b.short_circuited > 100,
            "calls failed fast: {}",
            b.short_circuited
        );
        assert_eq!(b.breaker_opened, opened);
        assert_eq!(run.record.requests.rejected, b.short_circuited);
    }

    const BALANCERS: [&str; 4] = ["round_robin", "random", "least_outstanding", "power_of_two"];

    /// One random design: a tree of up to four services with random calls, replicas,
    /// workers, balancers and service-time laws.
    fn design(
        calls: &[Vec<usize>],
        replicas: &[u32],
        concurrency: &[u32],
        balancers: &[usize],
        lognormal: &[bool],
    ) -> String {
        let mut toml =
            String::from("[scenario]\nduration = \"2s\"\n[traffic]\nrate = 200\nentry = \"s0\"\n");
        for (i, callees) in calls.iter().enumerate() {
            let time = if lognormal[i] {
                r#"{ dist = "lognormal", median = "2ms", p99 = "20ms" }"#
            } else {
                r#"{ dist = "exponential", mean = "3ms" }"#
            };
            let names: Vec<String> = callees.iter().map(|c| format!("\"s{c}\"")).collect();
            toml += &format!(
                "[[service]]\nname = \"s{i}\"\nreplicas = {}\nconcurrency = {}\nbalancer = \"{}\"\nservice_time = {time}\ncalls = [{}]\n",
                replicas[i],
                concurrency[i],
                BALANCERS[balancers[i]],
                names.join(", ")
            );
        }
        toml
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// The service time a request gets at a call site is the same whatever the replica
        /// counts, workers and balancers: draws follow the request, not the order in which
        /// work starts or the replica it lands on.
        #[test]
        fn per_request_service_times_do_not_depend_on_replicas_workers_or_balancers(
            // Service i may call services after it (so no cycle), one to three of them.
            raw_calls in prop::collection::vec(prop::collection::vec(1usize..4, 0..3), 4),
            replicas_a in prop::collection::vec(1u32..4, 4),
            replicas_b in prop::collection::vec(1u32..4, 4),
            concurrency_a in prop::collection::vec(1u32..4, 4),
            concurrency_b in prop::collection::vec(1u32..4, 4),
            balancers_a in prop::collection::vec(0usize..4, 4),
            balancers_b in prop::collection::vec(0usize..4, 4),
            lognormal in prop::collection::vec(any::<bool>(), 4),
        ) {
            let calls: Vec<Vec<usize>> = raw_calls
                .iter()
                .enumerate()
                .map(|(i, cs)| cs.iter().map(|&c| i + c).filter(|&c| c < 4).collect())
                .collect();
            let a = model(&design(&calls, &replicas_a, &concurrency_a, &balancers_a, &lognormal));
            let b = model(&design(&calls, &replicas_b, &concurrency_b, &balancers_b, &lognormal));
            let draws = |m: &Model| -> BTreeMap<(u64, usize, u64), Nanos> {
                let (run, log) = run_logged(m);
                assert!(run.overload.is_none());
                log.into_iter()
                    .map(|w| ((w.request, w.service, w.site), w.work_ns))
                    .collect()
            };
            let (da, db) = (draws(&a), draws(&b));
            // Unbounded queues reject nothing, so both runs serve every visit of every request.
            prop_assert_eq!(da.len(), db.len());
            prop_assert_eq!(da, db);
        }
    }
}
