//! Entities in flight (requests, frames, calls), in slabs with generational keys.
//!
//! Memory grows with what is in flight, never with what was simulated: a finished entity's
//! slot is reused. Every key carries the generation of the entry it was issued for, so an
//! event that still names a finished entity (a timer "cancelled" by the entity ending, say) is
//! recognised as stale and skipped in O(1): lazy cancellation. Keys are typed by what they
//! point at (`Key<Frame>`, `Key<Call>`), so a frame key cannot be used on the call slab.

use std::fmt;
use std::marker::PhantomData;
use std::num::NonZeroU64;

/// A key into a [`GenSlab<T>`]: slot index plus the generation it was issued for.
///
/// Generations count every insert into the slab, in 64 bits: a key could only alias a later
/// entry after 2^64 inserts (centuries at 10^9 a second), so a stale event is always seen as
/// stale, however long it waits (a timer of hours) and however many requests pass meanwhile.
/// With 32 bits, a run of 10^9 requests of a few visits each wraps the count, and an event
/// waiting across the wrap could name a new entry in its old slot. Generations start at 1,
/// so that `Option<Key<T>>` (a frame's first call, a call's copies) takes no more room than
/// a key.
pub struct Key<T> {
    index: u32,
    generation: NonZeroU64,
    of: PhantomData<fn() -> T>,
}

// Derives would demand `T: Clone` etc.; a key is plain data whatever it points at.
impl<T> Clone for Key<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Key<T> {}
impl<T> PartialEq for Key<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.index, self.generation) == (other.index, other.generation)
    }
}
impl<T> Eq for Key<T> {}
impl<T> fmt::Debug for Key<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({}v{})", self.index, self.generation)
    }
}

struct Entry<T> {
    generation: NonZeroU64,
    value: T,
}

/// A slab whose keys go stale when their entry is removed.
pub struct GenSlab<T> {
    slots: slab::Slab<Entry<T>>,
    next_generation: NonZeroU64,
}

impl<T> Default for GenSlab<T> {
    fn default() -> Self {
        GenSlab {
            slots: slab::Slab::new(),
            next_generation: NonZeroU64::MIN,
        }
    }
}

impl<T> GenSlab<T> {
    pub fn insert(&mut self, value: T) -> Key<T> {
        let generation = self.next_generation;
        self.next_generation = self.next_generation.saturating_add(1);
        let index = self.slots.insert(Entry { generation, value });
        Key {
            index: index as u32,
            generation,
            of: PhantomData,
        }
    }

    /// The entry `key` was issued for, or `None` if it has been removed since.
    #[inline]
    pub fn get(&self, key: Key<T>) -> Option<&T> {
        match self.slots.get(key.index as usize) {
            Some(entry) if entry.generation == key.generation => Some(&entry.value),
            _ => None,
        }
    }

    #[inline]
    pub fn get_mut(&mut self, key: Key<T>) -> Option<&mut T> {
        match self.slots.get_mut(key.index as usize) {
            Some(entry) if entry.generation == key.generation => Some(&mut entry.value),
            _ => None,
        }
    }

    #[inline]
    pub fn contains(&self, key: Key<T>) -> bool {
        self.get(key).is_some()
    }

    /// Removes and returns the entry, or `None` if the key is stale.
    #[inline]
    pub fn remove(&mut self, key: Key<T>) -> Option<T> {
        let index = key.index as usize;
        match self.slots.get(index) {
            Some(entry) if entry.generation == key.generation => {
                Some(self.slots.remove(index).value)
            }
            _ => None,
        }
    }

    /// Removes the entry `key` was issued for (a stale key removes nothing). Unlike
    /// [`GenSlab::remove`], it does not move the value out.
    #[inline]
    pub fn discard(&mut self, key: Key<T>) {
        if self.contains(key) {
            self.slots.remove(key.index as usize);
        }
    }

    /// Every entry held, with its key, in slot order: for the rare event that must find
    /// entities by what they hold (a crash finding its replica's frames).
    pub fn iter(&self) -> impl Iterator<Item = (Key<T>, &T)> {
        self.slots.iter().map(|(index, entry)| {
            (
                Key {
                    index: index as u32,
                    generation: entry.generation,
                    of: PhantomData,
                },
                &entry.value,
            )
        })
    }

    /// Entries currently held.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_removed_entrys_key_is_stale_even_after_its_slot_is_reused() {
        let mut slab = GenSlab::default();
        let first = slab.insert("first");
        assert_eq!(slab.remove(first), Some("first"));
        let second = slab.insert("second");
        assert_eq!(first.index, second.index, "the slot is reused");
        assert_eq!(slab.get(first), None);
        assert_eq!(slab.remove(first), None);
        assert_eq!(slab.get(second), Some(&"second"));
        assert_eq!(slab.len(), 1);
    }

    #[test]
    fn a_key_stays_stale_across_2_pow_32_inserts() {
        // 2^32 inserts cannot be made in a test; starting the count just below 2^32 shows
        // what a 32-bit count got wrong: the entry issued after the wrap took generation 0
        // again in the same slot, and a key of generation 0 (an event of the first entry,
        // still queued) named it.
        let mut slab = GenSlab::default();
        let first = slab.insert("first");
        slab.remove(first);
        slab.next_generation = NonZeroU64::new(u64::from(u32::MAX)).unwrap();
        let before_wrap = slab.insert("before the wrap");
        slab.remove(before_wrap);
        let after_wrap = slab.insert("after the wrap");
        assert_eq!(first.index, after_wrap.index, "the slot is reused");
        assert_eq!(after_wrap.generation.get(), 1 << 32);
        assert_eq!(slab.get(first), None);
        assert_eq!(slab.get(before_wrap), None);
        assert_eq!(slab.get(after_wrap), Some(&"after the wrap"));
    }
}
