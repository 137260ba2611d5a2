//! What a batching replica takes from its queue: the live frames of a batch, in arrival
//! order, when `max_size` wait or the oldest has waited the batch `timeout` (the service
//! frees its worker when the batch is done). The events and the work are `System`'s (`system/batch.rs`).

use super::entity::Frame;
use super::fleet::Fleet;
use crate::engine::slab::Key;
use crate::engine::time::Nanos;
use crate::scenario::model::Batch;

/// Frames a batch takes, in arrival order, leaving the rest waiting.
pub(super) struct BatchStart {
    frames: Vec<Key<Frame>>,
}

impl BatchStart {
    /// The batch's frames, in arrival order.
    pub(super) fn frames(&self) -> &[Key<Frame>] {
        &self.frames
    }
}

/// A batching replica with a free worker: the frames of the batch to start now (when
/// `max_size` wait, or the oldest has waited `timeout`), or the time to look again. The
/// replica's queue and load are the fleet's; the service passes its batch and workers.
pub(super) fn take_batch(
    batch: &Batch,
    concurrency: u32,
    fleet: &mut Fleet,
    replica: u32,
    now_ns: Nanos,
    arrived_ns: impl Fn(Key<Frame>) -> Option<Nanos>,
) -> Result<BatchStart, Option<Nanos>> {
    let r = fleet.load_mut(replica);
    // Drop cancelled frames from the front, so the front is the oldest live one.
    while r.front().is_some_and(|k| arrived_ns(k).is_none()) {
        r.dequeue();
    }
    let Some(oldest) = r.front() else {
        return Err(None);
    };
    if r.busy_workers() >= concurrency {
        return Err(None);
    }
    let due_ns = arrived_ns(oldest)
        .expect("live")
        .saturating_add(batch.timeout_ns);
    if r.queued() < batch.max_size && now_ns < due_ns {
        return Err(Some(due_ns));
    }
    let mut frames = Vec::with_capacity(r.queued().min(batch.max_size) as usize);
    while frames.len() < batch.max_size as usize {
        let Some(next) = r.dequeue() else {
            break;
        };
        if arrived_ns(next).is_some() {
            frames.push(next);
        }
    }
    r.cancel_batch_timer();
    fleet.change_load(replica, 1, -(frames.len() as i32));
    Ok(BatchStart { frames })
}
