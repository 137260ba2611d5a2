//! The entities every component shares: the closed set of events, requests and the frames
//! of their visits, calls and their breaker permits, batches being worked on, how a visit
//! ended, and the names of replica lives and versions. A leaf: it imports no other
//! component, so that every policy, state and glue file can name them without a cycle.

use crate::engine::slab::Key;
use crate::engine::time::Nanos;
use crate::engine::timer::{TimerSlot, TimerToken};
use crate::scenario::model::{ClassId, ServiceId};

/// Index of a version of a service (0: the service's own keys).
pub type VersionId = u8;

/// The closed set of events, each naming the entity it is for. An event that carries a
/// timer token is stale unless the token is still live (see `engine::timer`).
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// The next external request arrives (`traffic`).
    Arrival,
    /// A worker finished its own work on a frame (`service`).
    WorkDone(Key<Frame>),
    /// A queued frame has waited its service's `queue_timeout` (`service`).
    QueueTimeout(Key<Frame>),
    /// A batching replica's oldest visit has waited the batch `timeout` (`service`).
    BatchDue(u32, u32, TimerToken),
    /// An attempt's timeout came due (`request`).
    CallTimeout(Key<Call>, TimerToken),
    /// An attempt has not answered after its `hedge` delay (`request`).
    Hedge(Key<Call>, TimerToken),
    /// A retry's backoff is over (`request`).
    Retry(Key<Call>, TimerToken),
    /// A copy of a call reaches its callee over the network (`request`).
    Deliver(Key<Call>, TimerToken, u8),
    /// A copy's answer reaches its caller over the network (`request`).
    Respond(Key<Call>, TimerToken, Ending, u8),
    /// A step's `deadline` is up (`request`): the frame and the step's index.
    StepDeadline(Key<Frame>, u16),
    /// A closed-loop user is done thinking (`traffic`).
    UserRequest(u32),
    /// A time-series window ends (`series`).
    WindowTick,
    /// An autoscaler's sync period is up (`autoscaler`); the service's index.
    AutoscaleSync(u32),
    /// A replica finished provisioning or restarting (`fleet`).
    ReplicaUp(ReplicaRef),
    /// A recurring fault (crash or spot interruption) strikes a replica (`fault`).
    ReplicaFault {
        fault: u32,
        replica: u32,
        incarnation: u32,
    },
    /// A spot replica's notice is over: it goes (`fault`).
    SpotReclaim(ReplicaRef),
    /// A fault with a time window begins or ends (`fault`).
    FaultStart(u32),
    FaultEnd(u32),
    /// A service's health probes (`health`).
    HealthCheck(u32),
    /// A deployment's controller looks again (`deployment`); the deployment's index.
    Rollout(u32),
    /// A region detected up again sends its backlogs (`region`).
    BacklogDrain(u8),
    /// A backlog's oldest request has waited its timeout (`region`): the queue, and when
    /// the timer was armed for (stale if the backlog re-armed it since).
    BacklogTimeout(u32, Nanos),
}

// The queue holds an event beside its time and sequence number (40 bytes in all); an event
// bigger than 24 bytes would add a word to every one of them.
const _: () = assert!(std::mem::size_of::<Event>() <= 24);

/// A request from outside: what every frame of it carries. The request lives as long as its
/// root frame, which arrives at the entry when the request arrives; the count of root frames
/// is the count of requests in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestInfo {
    /// The arrival index in this replication: what keys the request's random draws.
    pub id: u64,
    pub class: ClassId,
    /// Whether it arrived in the measured window `[warmup, duration)`.
    pub measured: bool,
    /// The closed-loop user who sent it ([`NO_USER`] for open-loop arrivals).
    pub user: u32,
    /// The client's region, and the region its regional services serve it in (the client's
    /// own unless it failed over); both 0 without regions.
    pub client_region: u8,
    pub served_region: u8,
    /// A copy mirrored to a new version (shadow deployments): never mirrored again.
    pub mirror: bool,
    /// Sent from its region's backlog: its latency counts from its arrival, which the
    /// backlog keeps (`System::arrival_of`).
    pub backlogged: bool,
}

/// The user of an open-loop request.
pub const NO_USER: u32 = u32::MAX;

/// Whom a frame answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    /// The root frame: its end is the request's end.
    Root,
    /// A copy (0, or 1 for a hedge) of a call's current attempt.
    Call(Key<Call>, u8),
    /// Nobody any more: its caller gave up on it while it was being worked on.
    Detached,
    /// Nobody, from the start: a fire-and-forget call's visit (see
    /// [`System::send_detached`]). Unlike a detached frame it does all its work and makes its
    /// own calls; its ending is counted at its service and goes no further.
    Unawaited,
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
    /// When its work started.
    pub started_ns: Nanos,
    /// The call site: a hash of the path of plans, steps and slots from the root, so that
    /// each visit of one request has its own draws, stable whatever happens elsewhere.
    pub site: u64,
    /// The draw index of this visit at its call site: twice the attempt, plus one for a hedge.
    pub attempt: u32,
    pub stage: Stage,
    /// The version of the service it went to (0 unless a deployment routes by version).
    pub version: VersionId,
    /// Whether it got past admission (a rejected frame never waited or worked).
    pub admitted: bool,
    pub holds_worker: bool,
    /// A cache that missed takes the steps of its miss plan.
    pub on_miss: bool,
    /// An optional call failed somewhere below: the answer is degraded.
    pub degraded: bool,
    /// The batch it is worked on in, if the service batches.
    pub batch: Option<Key<BatchRun>>,
    /// The step of the plan under way (while `Calling`), and its tally.
    pub step: u16,
    /// The step failed and its fallback call is under way (the tally is the fallback's).
    pub on_fallback: bool,
    pub tally: Tally,
    /// The calls of the current step, linked through `Call::next`.
    pub first_call: Option<Key<Call>>,
    /// Its own work before any `slow` fault's factor, drawn as it arrives where the service
    /// time cannot depend on the replica that takes it
    /// ([`ServiceState::draws_at_arrival`](crate::components::service::ServiceState::draws_at_arrival));
    /// 0 where it is drawn as the work starts.
    pub base_work_ns: Nanos,
}

/// How a step stands: calls made, successes needed, and so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub made: u16,
    pub needed: u16,
    pub succeeded: u16,
    pub failed: u16,
}

/// A batch being worked on: its frames finish together, and the last to be handled frees the
/// worker.
#[derive(Debug, Clone)]
pub struct BatchRun {
    pub service: ServiceId,
    pub replica: u32,
    pub left: u32,
}

/// A visit as a balancer's instance is drawn for it: the keys of its other draws (request,
/// call site, attempt), so the draw is a pure function of the visit, made again when the
/// visit leaves its replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    pub request: u64,
    pub site: u64,
    pub attempt: u32,
}

#[cfg(test)]
impl Frame {
    /// A frame that is never run, for tests that only need frame keys.
    pub fn placeholder() -> Frame {
        Frame::new(
            Parent::Detached,
            RequestInfo {
                id: 0,
                class: 0,
                measured: false,
                user: NO_USER,
                client_region: 0,
                served_region: 0,
                mirror: false,
                backlogged: false,
            },
            0,
            0,
            0,
            0,
        )
    }
}

impl Frame {
    /// The visit as a balancer's instance is drawn for it (its request, call site, attempt).
    pub fn visit(&self) -> Visit {
        Visit {
            request: self.request.id,
            site: self.site,
            attempt: self.attempt,
        }
    }

    pub fn new(
        parent: Parent,
        request: RequestInfo,
        service: ServiceId,
        now_ns: Nanos,
        site: u64,
        attempt: u32,
    ) -> Frame {
        Frame {
            parent,
            request,
            service,
            replica: 0,
            arrived_ns: now_ns,
            started_ns: now_ns,
            site,
            attempt,
            stage: Stage::Queued,
            version: 0,
            admitted: false,
            holds_worker: false,
            on_miss: false,
            degraded: false,
            batch: None,
            step: 0,
            on_fallback: false,
            tally: Tally::default(),
            first_call: None,
            base_work_ns: 0,
        }
    }
}

/// One downstream call of a frame's current step.
#[derive(Debug, Clone)]
pub struct Call {
    pub caller: Key<Frame>,
    /// The entry of the spec it is on in the replication's call table (`calls::CallTable`):
    /// the call as its step writes it, then each fallback it moves on to.
    pub spec: u32,
    pub callee: ServiceId,
    /// The call site of its copies (see `Frame::site`).
    pub site: u64,
    /// The attempt under way, from 0.
    pub attempt: u32,
    /// Copies of the attempt at the callee (0: the first, 1: the hedge).
    pub copies: [Option<Key<Frame>>; 2],
    /// Copies of the attempt not answered yet (on the network either way, or at the callee).
    pub outstanding: u8,
    pub hedged: bool,
    /// The timers of the attempt (or of the backoff before the next one).
    pub timers: TimerSlot,
    /// How the first failed copy of the attempt failed, while another is still out.
    pub failure: Ending,
    /// Whether it has finished (the step keeps finished calls until it ends).
    pub done: bool,
    /// The breaker permit each copy of the attempt holds, until it settles or releases it.
    pub permits: [Option<Permit>; 2],
    /// The next call of the same step.
    pub next: Option<Key<Call>>,
}

/// The slot of a step's fallback call, past every slot of its calls.
pub const STEP_FALLBACK: u16 = u16::MAX;

impl Call {
    /// A call of `caller`'s current step, before its first attempt.
    pub(super) fn new(
        caller: Key<Frame>,
        spec: u32,
        callee: ServiceId,
        site: u64,
        next: Option<Key<Call>>,
    ) -> Call {
        Call {
            caller,
            spec,
            callee,
            site,
            attempt: 0,
            copies: [None, None],
            outstanding: 0,
            hedged: false,
            timers: TimerSlot::default(),
            failure: Ending::Failed,
            done: false,
            permits: [None, None],
            next,
        }
    }
}

/// How a visit, a call or a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Succeeded,
    /// Succeeded, but an optional call below it failed.
    Degraded,
    /// An error (the service's own, or a failed call that failed it).
    Failed,
    /// No room: a full queue, no ready replica, no token, an open circuit breaker.
    Rejected,
    TimedOut,
    /// Its caller gave up on it.
    Cancelled,
}

impl Ending {
    pub fn is_success(self) -> bool {
        matches!(self, Ending::Succeeded | Ending::Degraded)
    }
}

/// One life of one replica: what provisioning and repair events name, so that an event for
/// an earlier life of a reused slot is recognised as stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaRef {
    pub service: u32,
    pub replica: u32,
    pub incarnation: u32,
}

/// A call's permission to pass a breaker, held until the call settles or releases it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permit {
    /// Whether it is the half-open state's probe (and of which half-open round).
    pub(super) probe: bool,
    pub(super) round: u32,
    /// The process of the calling replica that holds the breaker (for `scope = "caller"`): a
    /// permit outliving it settles nothing in its slot's next process.
    pub holder: u32,
}
