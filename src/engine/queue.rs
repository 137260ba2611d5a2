//! The future event list: a monotone priority queue on integer time, ties in scheduling order.
//!
//! Events at the same nanosecond pop in the order they were scheduled (FIFO), so a run never
//! depends on how ties are broken. Time never runs backwards (nothing is scheduled before the
//! event being handled), which is what lets a radix heap replace the d-ary heap: pushing is
//! O(1) and popping is amortized O(bits of the time span), touching memory in sequence rather
//! than sifting through a tree, so the cost per event barely grows with the number of events
//! pending (a million requests in flight cost little more than one). Cancellation is lazy: an
//! event names its entity by a generational key (and a timer token), and is skipped when it
//! comes due if either has moved on; nothing is ever searched for here.

use super::time::Nanos;
use std::collections::VecDeque;

/// Above this many pending events the queue becomes a radix heap; below `SHRINK_BELOW` it
/// goes back to a d-ary heap. The gap between the two keeps it from switching back and forth.
const GROW_ABOVE: usize = 4096;
const SHRINK_BELOW: usize = 1024;

/// Events waiting to happen, earliest first, ties in scheduling order.
///
/// Two forms behind one interface, because each is fastest at one end: a 4-ary heap of
/// 16-byte `(time, seq)` keys while few events are pending (a typical run: sifting a few
/// levels of a cached array is cheaper than anything else), and a radix heap once many are (a
/// million requests in flight: a tree that size misses the cache at every level). The switch
/// moves every event across in `(time, seq)` order, so the order of ties is kept.
pub struct EventQueue<E> {
    form: Form<E>,
    /// The time of the last event popped; nothing may be scheduled before it.
    last_ns: Nanos,
    next_seq: u64,
}

enum Form<E> {
    Heap(KeyHeap<E>),
    Radix(RadixHeap<E>),
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            form: Form::Heap(KeyHeap::default()),
            last_ns: 0,
            next_seq: 0,
        }
    }
}

impl<E: Copy> EventQueue<E> {
    /// Schedules `event` at `time_ns`, which must not be before the last event popped.
    #[inline(always)]
    pub fn schedule(&mut self, time_ns: Nanos, event: E) {
        assert!(
            time_ns >= self.last_ns,
            "an event is scheduled before the event being handled"
        );
        match &mut self.form {
            Form::Heap(heap) => {
                if self.next_seq > MAX_SEQ {
                    self.next_seq = heap.renumber();
                }
                heap.push(time_ns, self.next_seq, event);
                self.next_seq += 1;
                if heap.len() > GROW_ABOVE {
                    self.switch_to_radix();
                }
            }
            Form::Radix(radix) => radix.push(time_ns, event),
        }
    }

    /// The earliest event and its time.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<(Nanos, E)> {
        let (time_ns, event) = match &mut self.form {
            Form::Heap(heap) => heap.pop()?,
            Form::Radix(radix) => {
                let popped = radix.pop()?;
                if radix.len < SHRINK_BELOW {
                    self.switch_to_heap();
                }
                popped
            }
        };
        self.last_ns = time_ns;
        Some((time_ns, event))
    }

    #[cold]
    fn switch_to_radix(&mut self) {
        let Form::Heap(mut heap) =
            std::mem::replace(&mut self.form, Form::Heap(KeyHeap::default()))
        else {
            return;
        };
        let mut radix = RadixHeap::new(self.last_ns);
        while let Some((time_ns, event)) = heap.pop() {
            radix.push(time_ns, event);
        }
        self.form = Form::Radix(radix);
    }

    #[cold]
    fn switch_to_heap(&mut self) {
        let Form::Radix(mut radix) =
            std::mem::replace(&mut self.form, Form::Heap(KeyHeap::default()))
        else {
            return;
        };
        let mut heap = KeyHeap::default();
        // In (time, insertion) order: numbered afresh from 0, ascending, so ties keep it.
        let mut seq = 0;
        while let Some((time_ns, event)) = radix.pop() {
            heap.push(time_ns, seq, event);
            seq += 1;
        }
        self.next_seq = seq;
        self.form = Form::Heap(heap);
    }

    /// Drops the pending events for which `keep` is false; the others keep their order (ties
    /// included). What a world does with events it knows to be stale (a timer of a call that
    /// has ended), so that memory follows what is live rather than what was once scheduled.
    pub fn retain(&mut self, keep: impl FnMut(&E) -> bool) {
        match &mut self.form {
            Form::Heap(heap) => heap.retain(keep),
            Form::Radix(radix) => radix.retain(keep),
        }
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        match &self.form {
            Form::Heap(heap) => heap.len(),
            Form::Radix(radix) => radix.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The largest sequence number before the pending events are numbered afresh (keeping
/// their order): far beyond any run, but a bound the code states rather than assumes.
const MAX_SEQ: u64 = u64::MAX >> 1;
const ARITY: usize = 4;

/// An event in the heap with its `(time, seq)`.
#[derive(Clone, Copy)]
struct Entry<E> {
    time_ns: Nanos,
    seq: u64,
    event: E,
}

impl<E> Entry<E> {
    /// The pair as one number, so that a comparison is two instructions without a branch.
    #[inline(always)]
    fn order(&self) -> u128 {
        u128::from(self.time_ns) << 64 | u128::from(self.seq)
    }
}

/// A 4-ary min-heap on `(time, seq)`: half as deep as a binary heap, so a sift moves an
/// event half as many times, and the least of four children is found by a tournament of
/// pairs without branches.
///
/// A pop leaves the root empty (`hole`) rather than refilling it at once: a handler usually
/// schedules an event next, which then goes into the root and sifts down once, where a
/// refill and a push would sift twice. Any correct heap on the unique `(time, seq)` keys pops
/// in the same order, so the shape of the tree never shows in a run.
struct KeyHeap<E> {
    entries: Vec<Entry<E>>,
    /// `entries[0]` is vacant: its event was popped and nothing has taken its place yet.
    hole: bool,
}

impl<E> Default for KeyHeap<E> {
    fn default() -> Self {
        KeyHeap {
            entries: Vec::new(),
            hole: false,
        }
    }
}

impl<E: Copy> KeyHeap<E> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.entries.len() - usize::from(self.hole)
    }

    #[inline(always)]
    fn push(&mut self, time_ns: Nanos, seq: u64, event: E) {
        let entry = Entry {
            time_ns,
            seq,
            event,
        };
        if self.hole {
            self.hole = false;
            self.sift_down(0, entry);
        } else {
            self.entries.push(entry);
            self.sift_up(self.entries.len() - 1, entry);
        }
    }

    #[inline(always)]
    fn pop(&mut self) -> Option<(Nanos, E)> {
        if self.hole {
            self.hole = false;
            let last = self.entries.pop().expect("the hole is an entry");
            if self.entries.is_empty() {
                return None;
            }
            self.sift_down(0, last);
        }
        let top = self.entries.first()?;
        self.hole = true;
        Some((top.time_ns, top.event))
    }

    /// Puts `entry` at `pos` (vacant) or below it, moving earlier children up.
    #[inline(always)]
    fn sift_down(&mut self, mut pos: usize, entry: Entry<E>) {
        let order = entry.order();
        let keys = &mut self.entries[..];
        loop {
            let first = ARITY * pos + 1;
            // The least child, as a tournament of pairs (selects rather than branches).
            let (child, least) = if let Some(four) = keys.get(first..first + ARITY) {
                let i = usize::from(four[1].order() < four[0].order());
                let j = 2 + usize::from(four[3].order() < four[2].order());
                let k = if four[j].order() < four[i].order() {
                    j
                } else {
                    i
                };
                (first + k, four[k].order())
            } else if first < keys.len() {
                let mut best = (first, keys[first].order());
                for (c, k) in keys.iter().enumerate().skip(first + 1) {
                    if k.order() < best.1 {
                        best = (c, k.order());
                    }
                }
                best
            } else {
                break;
            };
            if least > order {
                break;
            }
            keys[pos] = keys[child];
            pos = child;
        }
        keys[pos] = entry;
    }

    /// Puts `entry` at `pos` (vacant) or above it, moving later parents down.
    #[inline(always)]
    fn sift_up(&mut self, mut pos: usize, entry: Entry<E>) {
        let order = entry.order();
        while pos > 0 {
            let parent = (pos - 1) / ARITY;
            if self.entries[parent].order() < order {
                break;
            }
            self.entries[pos] = self.entries[parent];
            pos = parent;
        }
        self.entries[pos] = entry;
    }

    /// Fills the hole, if there is one, so that every entry is live.
    fn settle(&mut self) {
        if self.hole {
            self.hole = false;
            let last = self.entries.pop().expect("the hole is an entry");
            if !self.entries.is_empty() {
                self.sift_down(0, last);
            }
        }
    }

    /// Numbers the pending events afresh from 0 in their order, for when sequence numbers
    /// run out; returns the next number.
    #[cold]
    fn renumber(&mut self) -> u64 {
        self.settle();
        // Ascending order is a valid heap.
        self.entries.sort_unstable_by_key(Entry::order);
        for (seq, entry) in self.entries.iter_mut().enumerate() {
            entry.seq = seq as u64;
        }
        self.entries.len() as u64
    }

    fn retain(&mut self, mut keep: impl FnMut(&E) -> bool) {
        self.settle();
        self.entries.retain(|entry| keep(&entry.event));
        // Ascending order is a heap; sorting the survivors is simpler than sifting them.
        self.entries.sort_unstable_by_key(Entry::order);
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
            delays in prop::collection::vec((0u64..50, 0usize..3), 1..3000),
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
                if let Some((delay, fanout)) = plan.next() {
                    for _ in 0..=fanout {
                        queue.schedule(now + delay, next_id);
                        reference.push((now + delay, next_id));
                        next_id += 1;
                    }
                }
            }
            reference.sort();
            prop_assert_eq!(popped, reference);
        }

        /// When sequence numbers run out the pending events are numbered afresh: the order
        /// of ties (and of everything else) is as if they had not.
        #[test]
        fn renumbering_keeps_the_order(times in prop::collection::vec(0u64..20, 1..200)) {
            let mut queue = EventQueue {
                next_seq: MAX_SEQ - 5,
                ..EventQueue::default()
            };
            for (id, &t) in times.iter().enumerate() {
                queue.schedule(t, id);
            }
            let mut reference: Vec<(u64, usize)> =
                times.iter().enumerate().map(|(id, &t)| (t, id)).collect();
            reference.sort();
            let popped: Vec<(u64, usize)> = std::iter::from_fn(|| queue.pop()).collect();
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
                queue.schedule(t, id);
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
        }
    }
}
