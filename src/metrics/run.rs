//! What one replication returns: its record, and why it stopped early if it did. Below both
//! the components that produce it and the summaries that read it.

use super::recorder::Record;
use crate::engine::time::Nanos;
use crate::scenario::model::ServiceId;

/// Why an overloaded run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverloadReason {
    /// More than `scenario.max_in_flight` requests were in flight.
    InFlight,
    /// More than [`MAX_VISITS_PER_REQUEST_IN_FLIGHT`] x `scenario.max_in_flight` visits
    /// (frames) were in flight at once: fan-out, retries and hedges can multiply the frames of
    /// each request, and memory follows the frames.
    Visits,
    /// Work would have ended beyond [`crate::engine::time::CLOCK_LIMIT_NS`].
    ClockLimit,
}

/// Visits in flight allowed per request allowed in flight (`scenario.max_in_flight`), and at
/// least 100,000 in all: what bounds the frames, and so the memory, of a run.
pub const MAX_VISITS_PER_REQUEST_IN_FLIGHT: usize = 4;

/// The visits (frames) in flight above which a run stops as overloaded.
pub fn max_visits_in_flight(max_in_flight: usize) -> usize {
    max_in_flight
        .saturating_mul(MAX_VISITS_PER_REQUEST_IN_FLIGHT)
        .max(100_000)
}

/// Why a run stopped before its end.
#[derive(Debug, Clone, PartialEq)]
pub struct Overload {
    pub reason: OverloadReason,
    pub at_ns: Nanos,
    pub in_flight: usize,
    /// The service with the longest queue when the run stopped.
    pub service: ServiceId,
    pub queued: usize,
}

/// The result of one replication.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub replication: u32,
    pub record: Record,
    /// Time of the last event: the last measured request's end.
    pub end_ns: Nanos,
    pub overload: Option<Overload>,
    /// Events handled: what the engine's speed is measured in.
    pub events: u64,
    /// The time series over `[0, duration)` (no windows when not recorded).
    pub series: super::series::Series,
    pub log: Log,
    /// One per deployment.
    pub rollouts: Vec<RolloutResult>,
}

/// How one replication's rollout went.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RolloutResult {
    /// `completed`, `promoted`, `rolled_back` or `inconclusive`; `None` if nothing was
    /// decided before the run ended.
    pub outcome: Option<&'static str>,
    pub decided_ns: Option<Nanos>,
    pub started_ns: Option<Nanos>,
    /// When one version was left; `None` if the rollout was still under way at the end.
    pub ended_ns: Option<Nanos>,
    /// A/B: per arm (old, new), requests counted and converted.
    pub arms: [(u64, u64); 2],
    /// The most replicas (both versions, ready or starting) at once.
    pub peak_replicas: u32,
}

/// Something that changed the world during a run, for the event lines of the summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Happened {
    pub at_ns: Nanos,
    pub what: Happening,
}

/// What happened. Services, faults and regions are named by their index in the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Happening {
    /// A traffic spike begins (its ramp, if any, starts here).
    SpikeStart {
        spike: usize,
        multiplier: f64,
    },
    /// A traffic spike is over (its ramp down, if any, has ended).
    SpikeEnd {
        spike: usize,
    },
    /// A step of the base rate begins.
    StepStart {
        step: usize,
        rate_per_s: f64,
    },
    /// An autoscaler changed the replica count; `observed` is the metric it acted on.
    ScaleUp {
        service: ServiceId,
        from: u32,
        to: u32,
        observed: f64,
    },
    ScaleDown {
        service: ServiceId,
        from: u32,
        to: u32,
        observed: f64,
    },
    /// A replica finished provisioning (or restarting) and takes traffic; `ready` counts the
    /// service's ready replicas after it.
    ReplicaReady {
        service: ServiceId,
        replica: u32,
        ready: u32,
    },
    /// A fault with a time window begins or ends.
    FaultStart {
        fault: usize,
    },
    FaultEnd {
        fault: usize,
    },
    /// A replica crashed (or a spot replica was reclaimed): its requests failed.
    Crash {
        fault: usize,
        service: ServiceId,
        replica: u32,
    },
    /// A spot interruption notice: the replica drains and a replacement starts.
    SpotNotice {
        fault: usize,
        service: ServiceId,
        replica: u32,
    },
    /// Health checks took a replica out of rotation, or put it back.
    Ejected {
        service: ServiceId,
        replica: u32,
    },
    Restored {
        service: ServiceId,
        replica: u32,
    },
    /// Clients of `region` are sent to region `to` (failover), or back home (failback).
    Failover {
        region: usize,
        to: usize,
    },
    Failback {
        region: usize,
    },
    /// A region detected up again sent the `requests` its backlogs held.
    BacklogSent {
        region: usize,
        requests: u64,
    },
    /// A deployment's controller acted (`value`: the strategy's index for a start, the weight
    /// in percent for a step, the canary's error rate for an analysis).
    Rollout {
        service: ServiceId,
        kind: RolloutKind,
        value: f64,
    },
}

/// What a deployment's controller did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutKind {
    Start,
    Step,
    AnalysisPass,
    AnalysisFail,
    /// A failed check for want of requests (`no_data = "fail"`); `value` is the count.
    AnalysisNoData,
    AnalysisInconclusive,
    Switch,
    Promoted,
    RolledBack,
    Inconclusive,
    Teardown,
}

impl RolloutKind {
    /// The event log's kind.
    pub fn key(self) -> &'static str {
        match self {
            RolloutKind::Start => "rollout_start",
            RolloutKind::Step => "step",
            RolloutKind::AnalysisPass => "analysis_pass",
            RolloutKind::AnalysisFail | RolloutKind::AnalysisNoData => "analysis_fail",
            RolloutKind::AnalysisInconclusive => "analysis_inconclusive",
            RolloutKind::Switch => "switch",
            RolloutKind::Promoted => "promoted",
            RolloutKind::RolledBack => "rolled_back",
            RolloutKind::Inconclusive => "inconclusive",
            RolloutKind::Teardown => "teardown",
        }
    }
}

/// At most this many happenings are kept per replication; the rest are only counted.
pub const MAX_HAPPENINGS: usize = 10_000;

/// A replication's log of happenings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Log {
    pub entries: Vec<Happened>,
    pub dropped: u64,
}

impl Log {
    pub fn push(&mut self, at_ns: Nanos, what: Happening) {
        if self.entries.len() < MAX_HAPPENINGS {
            self.entries.push(Happened { at_ns, what });
        } else {
            self.dropped += 1;
        }
    }
}
