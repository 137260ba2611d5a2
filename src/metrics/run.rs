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
    /// Work would have ended beyond [`crate::engine::time::CLOCK_LIMIT_NS`].
    ClockLimit,
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
}
