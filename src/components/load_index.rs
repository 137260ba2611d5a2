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

/// What each instance of a split balancer (`least_outstanding` or `power_of_two` as two
/// instances or more) has sent to each replica and not yet seen leave: an nginx worker
/// counts its own connections to each upstream, not the other workers'. Readiness is the
/// fleet's (every instance knows which replicas are up), so the fleet keeps this beside its
/// lifecycle and tells it of every change of readiness; the service tells it of every visit
/// sent and left. For `least_outstanding`, one [`LoadIndex`] per instance over its own
/// counts keeps a pick O(log n); a change of readiness costs O(instances log n).
#[derive(Debug, Clone)]
pub struct InstanceLoads {
    instances: usize,
    /// Slot-major: the count of `instance` at `slot` is at `slot * instances + instance`.
    counts: Vec<u32>,
    /// One per instance for `least_outstanding`; none for `power_of_two`.
    indexes: Vec<LoadIndex>,
}

impl InstanceLoads {
    /// No replica yet, `instances` instances (indexed for `least_outstanding`) over a fleet
    /// of `regions` regions.
    pub fn new(instances: usize, regions: usize, indexed: bool) -> InstanceLoads {
        InstanceLoads {
            instances,
            counts: Vec::new(),
            indexes: if indexed {
                vec![LoadIndex::new(regions); instances]
            } else {
                Vec::new()
            },
        }
    }

    /// How many instances count.
    pub fn instances(&self) -> usize {
        self.instances
    }

    /// The visits `instance` sent to the replica in `slot` that have not left.
    #[inline(always)]
    pub fn get(&self, instance: usize, slot: u32) -> u32 {
        self.counts
            .get(slot as usize * self.instances + instance)
            .copied()
            .unwrap_or(0)
    }

    /// `by` visits of `instance` arrived at (positive) or left (negative) the replica in
    /// `slot` of `region`, which is ready or not.
    #[inline]
    pub fn change(&mut self, instance: usize, slot: u32, region: u16, ready: bool, by: i32) {
        let at = slot as usize * self.instances + instance;
        if at >= self.counts.len() {
            self.counts.resize((slot as usize + 1) * self.instances, 0);
        }
        let count = self.counts[at].wrapping_add_signed(by);
        self.counts[at] = count;
        if ready {
            if let Some(index) = self.indexes.get_mut(instance) {
                index.set(region, slot, Some(count));
            }
        }
    }

    /// The replica in `slot` of `region` became ready, or stopped being ready.
    pub fn set_ready(&mut self, slot: u32, region: u16, ready: bool) {
        for instance in 0..self.indexes.len() {
            let count = self.get(instance, slot);
            self.indexes[instance].set(region, slot, ready.then_some(count));
        }
    }

    /// Every visit the replica in `slot` held has ended (a crash): no instance counts any.
    pub fn clear(&mut self, slot: u32, region: u16, ready: bool) {
        for instance in 0..self.instances {
            let count = self.get(instance, slot);
            if count != 0 {
                self.change(instance, slot, region, ready, -(count as i32));
            }
        }
    }

    /// The ready replica (of `region`, if given) to which `instance` has the fewest visits
    /// outstanding, ties to the first at slot `start` or after, as [`LoadIndex::least_loaded`].
    pub fn least_loaded(&self, instance: usize, start: usize, region: Option<u16>) -> Option<u32> {
        self.indexes.get(instance)?.least_loaded(start, region)
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
