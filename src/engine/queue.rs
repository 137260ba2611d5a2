//! The future event list: a binary heap ordered by `(time, sequence)`.
//!
//! Events at the same nanosecond pop in the order they were scheduled (FIFO), so a run never
//! depends on how the heap breaks ties. Cancellation is lazy: an event that refers to a
//! request slot carries that slot's generation, and the handler skips it when the slot has
//! moved on (see [`super::slab`]); nothing is ever searched for in the heap.

use super::time::Nanos;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

struct Scheduled<E> {
    time_ns: Nanos,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.time_ns, self.seq) == (other.time_ns, other.seq)
    }
}

impl<E> Eq for Scheduled<E> {}

impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Scheduled<E> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest `(time, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time_ns, other.seq).cmp(&(self.time_ns, self.seq))
    }
}

/// Events waiting to happen, earliest first, ties in scheduling order.
pub struct EventQueue<E> {
    heap: BinaryHeap<Scheduled<E>>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    pub fn schedule(&mut self, time_ns: Nanos, event: E) {
        self.heap.push(Scheduled {
            time_ns,
            seq: self.next_seq,
            event,
        });
        self.next_seq += 1;
    }

    /// The earliest event and its time.
    pub fn pop(&mut self) -> Option<(Nanos, E)> {
        self.heap.pop().map(|s| (s.time_ns, s.event))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the schedule, events pop in (time, insertion order).
        #[test]
        fn events_pop_in_time_then_insertion_order(times in prop::collection::vec(0u64..50, 0..200)) {
            let mut queue = EventQueue::default();
            for (i, &t) in times.iter().enumerate() {
                queue.schedule(t, i);
            }
            let mut expected: Vec<(u64, usize)> = times.iter().copied().zip(0..).collect();
            expected.sort();
            let mut popped = Vec::new();
            while let Some(item) = queue.pop() {
                popped.push(item);
            }
            prop_assert_eq!(popped, expected);
        }
    }
}
