//! The ready replicas' loads for `least_outstanding`: a tree of minima per region, which
//! the fleet keeps as replicas change state or load and the balancer reads to pick in
//! O(log n). A leaf, so that the fleet (its owner) and the balancer (its reader) both name
//! it without importing each other.

/// The ready replicas' loads, for `least_outstanding` in O(log n): per region, a tree of
/// minima over the slots (a slot not ready, or of another region, counts as unbounded), so
/// the least load is the root and the first slot at or after a position with that load is
/// found by one descent. The fleet keeps it: every change of state or load goes through it.
#[derive(Debug, Clone)]
pub struct LoadIndex {
    trees: Vec<MinTree>,
}

impl LoadIndex {
    pub fn new(regions: usize) -> LoadIndex {
        LoadIndex {
            trees: vec![MinTree::default(); regions.max(1)],
        }
    }

    /// The load of the replica in `slot` (of `region`), or `None` when it is not ready.
    #[inline(always)]
    pub fn set(&mut self, region: u16, slot: u32, load: Option<u32>) {
        self.trees[usize::from(region)].set(slot as usize, load.unwrap_or(UNREADY));
    }

    /// The least loaded ready replica (of `region`, if given): ties go to the first at slot
    /// `start` or after, wrapping round (the same choice as a scan of the slots from
    /// `start`, keeping the first of the least load).
    pub fn least_loaded(&self, start: usize, region: Option<u16>) -> Option<u32> {
        let trees = match region {
            Some(g) => std::slice::from_ref(self.trees.get(usize::from(g))?),
            None => &self.trees[..],
        };
        let least = trees.iter().map(MinTree::least).min()?;
        if least == UNREADY {
            return None;
        }
        let first = |from: usize| trees.iter().filter_map(|t| t.first_from(from, least)).min();
        first(start).or_else(|| first(0)).map(|i| i as u32)
    }
}

/// The load of a slot that is not a candidate.
const UNREADY: u32 = u32::MAX;

/// Minima over leaves `0..leaves` (a power of two), stored as a heap: node 1 the root, node
/// i's children 2i and 2i + 1, leaf j at `leaves + j`.
#[derive(Debug, Clone)]
struct MinTree {
    leaves: usize,
    nodes: Vec<u32>,
}

impl Default for MinTree {
    fn default() -> Self {
        MinTree {
            leaves: 1,
            nodes: vec![UNREADY; 2],
        }
    }
}

impl MinTree {
    fn least(&self) -> u32 {
        self.nodes[1]
    }

    fn set(&mut self, slot: usize, load: u32) {
        if slot >= self.leaves {
            self.grow(slot + 1);
        }
        let mut i = self.leaves + slot;
        self.nodes[i] = load;
        // Up to the root, stopping where a minimum is unchanged.
        while i > 1 {
            let parent = i / 2;
            let least = self.nodes[2 * parent].min(self.nodes[2 * parent + 1]);
            if self.nodes[parent] == least {
                break;
            }
            self.nodes[parent] = least;
            i = parent;
        }
    }

    /// Room for `slots` leaves (the fleet grew: rare).
    fn grow(&mut self, slots: usize) {
        let leaves = slots.next_power_of_two();
        let mut nodes = vec![UNREADY; 2 * leaves];
        nodes[leaves..leaves + self.leaves].copy_from_slice(&self.nodes[self.leaves..]);
        for i in (1..leaves).rev() {
            nodes[i] = nodes[2 * i].min(nodes[2 * i + 1]);
        }
        *self = MinTree { leaves, nodes };
    }

    /// The first slot at `start` or after whose load is at most `bound`.
    fn first_from(&self, start: usize, bound: u32) -> Option<usize> {
        if start >= self.leaves {
            return None;
        }
        let mut i = self.leaves + start;
        // Climb until a subtree at or to the right of `start` holds such a load...
        while self.nodes[i] > bound {
            while i & 1 == 1 {
                i /= 2; // a right child: its parent's right part is already behind us
                if i <= 1 {
                    return None;
                }
            }
            i += 1;
        }
        // ...then descend to its leftmost such leaf.
        while i < self.leaves {
            i *= 2;
            if self.nodes[i] > bound {
                i += 1;
            }
        }
        Some(i - self.leaves)
    }
}
