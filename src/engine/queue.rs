//! The future event list: a monotone priority queue on integer time, ties in scheduling order.
//!
//! Events at the same nanosecond pop in the order they were scheduled (FIFO), so a run never
//! depends on how ties are broken. Time never runs backwards (nothing is scheduled before the
//! event being handled), which is what lets a radix heap replace a binary heap: pushing is
//! O(1) and popping is amortized O(bits of the time span), touching memory in sequence rather
//! than sifting through a tree, so the cost per event barely grows with the number of events
//! pending (a million requests in flight cost little more than one). Cancellation is lazy: an
//! event names its entity by a generational key (and a timer token), and is skipped when it
//! comes due if either has moved on; nothing is ever searched for here.

use super::time::Nanos;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// Above this many pending events the queue becomes a radix heap; below `SHRINK_BELOW` it
/// goes back to a binary heap. The gap between the two keeps it from switching back and forth.
const GROW_ABOVE: usize = 4096;
const SHRINK_BELOW: usize = 1024;

/// Events waiting to happen, earliest first, ties in scheduling order.
///
/// Two forms behind one interface, because each is fastest at one end: a binary heap keyed
/// on `(time, seq)` while few events are pending (a typical run: sifting a few levels of a
/// cached tree is cheaper than anything else), and a radix heap once many are (a million
/// requests in flight: a tree that size misses the cache at every level). The switch moves
/// every event across in `(time, seq)` order, so the order of ties is kept.
pub struct EventQueue<E> {
    form: Form<E>,
    /// The one pending event scheduled with [`EventQueue::schedule_solo`], beside the heap
    /// (always `None` in the radix form, which takes it in with the rest).
    solo: Option<Scheduled<E>>,
    /// The time of the last event popped; nothing may be scheduled before it.
    last_ns: Nanos,
    next_seq: u64,
    /// Events pending, kept as they come and go: the run loop reads it after every event.
    len: usize,
}

enum Form<E> {
    Heap(BinaryHeap<Scheduled<E>>),
    Radix(RadixHeap<E>),
}

/// A heap entry: 40 bytes with the 24-byte `Event`. Measured and not kept (issue #16,
/// callgrind at M/M/16 rho 0.9, 1,259 instructions per customer): 16-byte `(time, seq,
/// place)` keys with the events parked in a side vector (1,260: the sifts got cheaper, the
/// free list cost as much; 1,153 -> 1,176 at M/M/1); 32-byte entries from 12-byte packed
/// keys and a 32-bit renumbered seq (1,302: unaligned key reads cost more in the model than
/// the heap saved); a pop left in place and overwritten by the next push through `PeekMut`
/// (1,267: sifting down from the root compares twice a level); a 4-ary heap in place of
/// `BinaryHeap` (1,293 at 1,264, and 2.74 s of user time against 2.39 for 2 x 10^7 customers:
/// the `(time, seq)` comparisons choosing among four children compile to branches, which
/// the random event times mispredict).
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
    #[inline(always)]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }

    // What `BinaryHeap` sifts with: one wide comparison each.
    #[inline(always)]
    fn le(&self, other: &Self) -> bool {
        other.order_key() <= self.order_key()
    }

    #[inline(always)]
    fn lt(&self, other: &Self) -> bool {
        other.order_key() < self.order_key()
    }

    #[inline(always)]
    fn ge(&self, other: &Self) -> bool {
        other.order_key() >= self.order_key()
    }

    #[inline(always)]
    fn gt(&self, other: &Self) -> bool {
        other.order_key() > self.order_key()
    }
}

impl<E> Scheduled<E> {
    /// `(time, seq)` as one number, ordered as the pair is: one comparison without branches.
    #[inline(always)]
    fn order_key(&self) -> u128 {
        u128::from(self.time_ns) << 64 | u128::from(self.seq)
    }
}

impl<E> Ord for Scheduled<E> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest `(time, seq)` first.
    #[inline(always)]
    fn cmp(&self, other: &Self) -> Ordering {
        other.order_key().cmp(&self.order_key())
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            form: Form::Heap(BinaryHeap::new()),
            solo: None,
            last_ns: 0,
            next_seq: 0,
            len: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Schedules `event` at `time_ns`, which must not be before the last event popped.
    #[inline(always)]
    pub fn schedule(&mut self, time_ns: Nanos, event: E) {
        assert!(
            time_ns >= self.last_ns,
            "an event is scheduled before the event being handled"
        );
        self.len += 1;
        match &mut self.form {
            Form::Heap(heap) => {
                heap.push(Scheduled {
                    time_ns,
                    seq: self.next_seq,
                    event,
                });
                self.next_seq += 1;
                if heap.len() > GROW_ABOVE {
                    self.switch_to_radix();
                }
            }
            Form::Radix(radix) => radix.push(time_ns, event),
        }
    }

    /// Schedules an event of a kind of which at most one is pending at a time (the open-loop
    /// source's next arrival), as [`EventQueue::schedule`] does, ties included: it waits in
    /// a slot of its own beside the heap, so the most frequent event of a run is neither
    /// sifted in nor out (at M/M/16 the next arrival is nearly always the earliest event, so
    /// it would sift the whole height of the heap both ways). With the slot taken, or in the
    /// radix form, it is scheduled as any other.
    #[inline(always)]
    pub fn schedule_solo(&mut self, time_ns: Nanos, event: E) {
        if self.solo.is_some() || matches!(self.form, Form::Radix(_)) {
            return self.schedule(time_ns, event);
        }
        assert!(
            time_ns >= self.last_ns,
            "an event is scheduled before the event being handled"
        );
        self.solo = Some(Scheduled {
            time_ns,
            seq: self.next_seq,
            event,
        });
        self.next_seq += 1;
        self.len += 1;
    }

    /// The earliest event and its time.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<(Nanos, E)> {
        let (time_ns, event) = match &mut self.form {
            Form::Heap(heap) => {
                let from_solo = match (&self.solo, heap.peek()) {
                    (Some(solo), Some(top)) => solo.order_key() < top.order_key(),
                    (solo, None) => solo.is_some(),
                    (None, Some(_)) => false,
                };
                let s = if from_solo {
                    self.solo.take().expect("the solo slot is taken")
                } else {
                    heap.pop()?
                };
                (s.time_ns, s.event)
            }
            Form::Radix(radix) => {
                let popped = radix.pop()?;
                if radix.len < SHRINK_BELOW {
                    self.switch_to_heap();
                }
                popped
            }
        };
        self.last_ns = time_ns;
        self.len -= 1;
        Some((time_ns, event))
    }

    #[cold]
    fn switch_to_radix(&mut self) {
        let Form::Heap(mut heap) = std::mem::replace(&mut self.form, Form::Heap(BinaryHeap::new()))
        else {
            return;
        };
        // The radix form keeps no slot: the solo event goes in with the rest, in its order.
        heap.extend(self.solo.take());
        let mut radix = RadixHeap::new(self.last_ns);
        // Ascending by the reversed order is latest first: walk it backwards.
        for s in heap.into_sorted_vec().into_iter().rev() {
            radix.push(s.time_ns, s.event);
        }
        self.form = Form::Radix(radix);
    }

    #[cold]
    fn switch_to_heap(&mut self) {
        let Form::Radix(mut radix) =
            std::mem::replace(&mut self.form, Form::Heap(BinaryHeap::new()))
        else {
            return;
        };
        let mut heap = BinaryHeap::with_capacity(GROW_ABOVE + 1);
        while let Some((time_ns, event)) = radix.pop() {
            heap.push(Scheduled {
                time_ns,
                seq: self.next_seq,
                event,
            });
            self.next_seq += 1;
        }
        self.form = Form::Heap(heap);
    }

    /// Drops the pending events for which `keep` is false; the others keep their order (ties
    /// included). What a world does with events it knows to be stale (a timer of a call that
    /// has ended), so that memory follows what is live rather than what was once scheduled.
    pub fn retain(&mut self, mut keep: impl FnMut(&E) -> bool) {
        if self.solo.as_ref().is_some_and(|s| !keep(&s.event)) {
            self.solo = None;
        }
        let solo = usize::from(self.solo.is_some());
        self.len = match &mut self.form {
            Form::Heap(heap) => {
                heap.retain(|s| keep(&s.event));
                heap.len() + solo
            }
            Form::Radix(radix) => {
                radix.retain(keep);
                radix.len
            }
        };
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Buckets of the radix heap: 0 holds events at the time of the last event popped; bucket
/// `b` >= 1 holds those whose time first differs from it in bit `b - 1`.
const BUCKETS: usize = 65;

/// A radix heap on integer time (Ahuja, Mehlhorn, Orlin and Tarjan): an event goes into the
/// bucket of the highest bit in which its time differs from the last time popped. Every event
/// in a lower bucket is earlier than every event in a higher one, and an event stays in its
/// bucket until that bucket is the lowest non-empty one; then the bucket is emptied into
/// lower ones relative to its earliest time. Events with equal times therefore always share a
/// bucket, each bucket keeps its events in arrival order, and bucket 0 is served from the
/// front: ties pop first-scheduled first with no sequence number stored. A bit mask of the
/// non-empty buckets finds the lowest in one instruction. (The `radix-heap` crate needs a
/// 128-bit `(time, seq)` key for FIFO ties and scans up to 129 buckets per refill.)
struct RadixHeap<E> {
    last_ns: Nanos,
    now: VecDeque<(Nanos, E)>,
    later: Vec<Vec<(Nanos, E)>>,
    /// Bit `b` set when bucket `b` (>= 1) is non-empty.
    nonempty: u128,
    len: usize,
}

impl<E> RadixHeap<E> {
    fn new(last_ns: Nanos) -> Self {
        RadixHeap {
            last_ns,
            now: VecDeque::new(),
            later: (0..BUCKETS).map(|_| Vec::new()).collect(),
            nonempty: 0,
            len: 0,
        }
    }

    #[inline]
    fn bucket(&self, time_ns: Nanos) -> usize {
        (u64::BITS - (time_ns ^ self.last_ns).leading_zeros()) as usize
    }

    #[inline]
    fn push(&mut self, time_ns: Nanos, event: E) {
        self.len += 1;
        self.place(time_ns, event);
    }

    #[inline]
    fn place(&mut self, time_ns: Nanos, event: E) {
        let bucket = self.bucket(time_ns);
        if bucket == 0 {
            self.now.push_back((time_ns, event));
        } else {
            self.later[bucket].push((time_ns, event));
            self.nonempty |= 1 << bucket;
        }
    }

    #[inline]
    fn pop(&mut self) -> Option<(Nanos, E)> {
        if self.now.is_empty() {
            self.refill()?;
        }
        self.len -= 1;
        self.now.pop_front()
    }

    fn retain(&mut self, mut keep: impl FnMut(&E) -> bool) {
        self.now.retain(|(_, e)| keep(e));
        let mut len = self.now.len();
        for (b, bucket) in self.later.iter_mut().enumerate() {
            bucket.retain(|(_, e)| keep(e));
            if bucket.is_empty() {
                self.nonempty &= !(1 << b);
            }
            len += bucket.len();
        }
        self.len = len;
    }

    /// Empties the lowest non-empty bucket into lower ones, relative to its earliest time,
    /// which becomes the new last time; `None` when every bucket is empty.
    fn refill(&mut self) -> Option<()> {
        if self.nonempty == 0 {
            return None;
        }
        let lowest = self.nonempty.trailing_zeros() as usize;
        self.nonempty &= !(1 << lowest);
        let mut items = std::mem::take(&mut self.later[lowest]);
        self.last_ns = items
            .iter()
            .map(|&(t, _)| t)
            .min()
            .expect("a non-empty bucket");
        for (time_ns, event) in items.drain(..) {
            self.place(time_ns, event);
        }
        // Keep the emptied bucket's allocation for the next events that land there.
        self.later[lowest] = items;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the schedule (each event scheduled while handling an earlier one, never
        /// before it), events pop in (time, insertion order), in either form of the queue.
        #[test]
        fn events_pop_in_time_then_insertion_order(
            delays in prop::collection::vec((0u64..50, 0usize..3, any::<bool>()), 1..3000),
            burst in 0usize..6000,
        ) {
            // Replay: pop one event, schedule the next batch relative to its time; compare
            // with a reference that sorts by (time, insertion index).
            let mut queue = EventQueue::default();
            let mut reference: Vec<(u64, usize)> = Vec::new();
            let mut popped = Vec::new();
            let mut next_id = 0usize;
            // A burst of events with many ties and spread times: over 4096 pending, the
            // queue turns into its radix form and back again as they drain.
            for i in 0..=burst {
                let time = (i as u64 * 7919) % 600;
                queue.schedule(time, next_id);
                reference.push((time, next_id));
                next_id += 1;
            }
            let mut plan = delays.into_iter();
            while let Some((now, id)) = queue.pop() {
                popped.push((now, id));
                // Some through the solo slot (taken or not, heap or radix form): the order
                // is the same.
                if let Some((delay, fanout, solo)) = plan.next() {
                    for _ in 0..=fanout {
                        if solo {
                            queue.schedule_solo(now + delay, next_id);
                        } else {
                            queue.schedule(now + delay, next_id);
                        }
                        reference.push((now + delay, next_id));
                        next_id += 1;
                    }
                }
            }
            reference.sort();
            prop_assert_eq!(popped, reference);
        }

        /// Dropping events (in either form) leaves the others in (time, insertion order).
        #[test]
        fn retained_events_keep_their_order(
            times in prop::collection::vec(0u64..300, 1..9000),
            drop_every in 2usize..5,
        ) {
            let mut queue = EventQueue::default();
            for (id, &t) in times.iter().enumerate() {
                // The first through the solo slot, which `retain` may empty too.
                if id == 0 {
                    queue.schedule_solo(t, id);
                } else {
                    queue.schedule(t, id);
                }
            }
            queue.retain(|&id| id % drop_every != 0);
            let mut reference: Vec<(u64, usize)> = times
                .iter()
                .enumerate()
                .filter(|&(id, _)| id % drop_every != 0)
                .map(|(id, &t)| (t, id))
                .collect();
            reference.sort();
            prop_assert_eq!(queue.len(), reference.len());
            let popped: Vec<(u64, usize)> = std::iter::from_fn(|| queue.pop()).collect();
            prop_assert_eq!(popped, reference);
            prop_assert_eq!(queue.len(), 0, "the stored count follows every pop");
        }
    }
}
