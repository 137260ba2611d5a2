//! Requests in flight, in a slab with generational keys.
//!
//! Memory grows with the requests in flight, never with the requests simulated: a finished
//! request's slot is reused. Every key carries the generation of the entry it was issued for,
//! so an event that still names a finished request (a timer that was "cancelled" by finishing
//! the request, say) is recognised as stale and skipped in O(1): lazy cancellation.

/// A key into a [`GenSlab`]: slot index plus the generation it was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    index: u32,
    generation: u32,
}

struct Entry<T> {
    generation: u32,
    value: T,
}

/// A slab whose keys go stale when their entry is removed.
pub struct GenSlab<T> {
    slots: slab::Slab<Entry<T>>,
    next_generation: u32,
}

impl<T> Default for GenSlab<T> {
    fn default() -> Self {
        GenSlab {
            slots: slab::Slab::new(),
            next_generation: 0,
        }
    }
}

impl<T> GenSlab<T> {
    pub fn insert(&mut self, value: T) -> Key {
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1);
        let index = self.slots.insert(Entry { generation, value });
        Key {
            index: index as u32,
            generation,
        }
    }

    /// The entry `key` was issued for, or `None` if it has been removed since.
    pub fn get(&self, key: Key) -> Option<&T> {
        match self.slots.get(key.index as usize) {
            Some(entry) if entry.generation == key.generation => Some(&entry.value),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        match self.slots.get_mut(key.index as usize) {
            Some(entry) if entry.generation == key.generation => Some(&mut entry.value),
            _ => None,
        }
    }

    /// Removes and returns the entry, or `None` if the key is stale.
    pub fn remove(&mut self, key: Key) -> Option<T> {
        self.get(key)?;
        Some(self.slots.remove(key.index as usize).value)
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
}
