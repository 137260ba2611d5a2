//! The fleet of one service: its replicas and their lifecycle, owned in one place.
//!
//! A replica is `Starting` (billed, takes no traffic), `Ready`, `Draining` (takes no new
//! traffic, finishes what it has, then goes `Down`) or `Down`. The only way to change a
//! replica's state is this module's API ([`Fleet::start`], [`Fleet::ready`],
//! [`Fleet::drain`], [`Fleet::crash`], [`Fleet::eject`], [`Fleet::reclaim`] and
//! [`Fleet::idle`]), and every change goes through one private function, `set_state`, which
//! keeps the counts of replicas in each state (per region and per version) as it goes: what
//! the autoscaler, the time series, the bill and region detection read, in O(1), and the
//! ready replicas' slots in lists (all, per region, per version; in slot order) that the
//! balancers index instead of scanning. A replica's load counts change only through
//! [`Fleet::change_load`], so the load index a least-outstanding balancer reads (kept here,
//! when asked for) hears of every change of state or load; so do the counts of a balancer
//! split into instances ([`Fleet::split_load`]), whose visits the service adds and removes
//! through [`Fleet::change_own_load`].
//! [`Fleet::idle`] is the single place a draining replica goes down: the service calls it
//! whenever a replica's last visit leaves (a worker freed, a queued visit cancelled, a batch
//! done, a crash cleared).
//!
//! A replica's slot index never changes, and a `Down` slot is reused by the next replica
//! started (the lowest first, from a heap of free slots). A replica carries an *incarnation*, moved on whenever the
//! slot is reused, the replica restarts or it is told to go: events scheduled for an earlier
//! life (its provisioning, its next failure, a spot reclaim) carry the incarnation they were
//! scheduled for and are stale otherwise. A replica also carries its *version* (0 unless a
//! deployment runs a second one beside it): what a version changes is read through it.

use super::entity::Frame;
use super::load_index::{InstanceLoads, LoadIndex};
use super::resilience::{Breaker, BudgetState};
use crate::engine::slab::Key;
use crate::engine::timer::{TimerSlot, TimerToken};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Where a replica is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    Starting,
    Ready,
    Draining,
    Down,
}

/// Index of a version of a service (0: the service's own keys).
pub use super::entity::VersionId;

/// One instance of a service: its lifecycle (changed only through [`Fleet`]) and its load
/// (workers and queue, changed by the service; the counts through [`Fleet::change_load`]).
#[derive(Debug, Clone)]
pub struct Replica {
    state: ReplicaState,
    /// The region it runs in (0 when the service is not regional).
    region: u16,
    version: VersionId,
    incarnation: u32,
    /// The process in the slot: a new one after a restart or when the slot is reused (unlike
    /// the incarnation, a drain does not change it). What a process keeps for itself (its
    /// breakers' permits) is recognised by it.
    process: u32,
    /// Dead or unresponsive while still in the balancer's rotation (until health checks
    /// eject it): a visit sent to it fails at once.
    broken: bool,
    /// Taken out of rotation by health checks; back after the first probe that succeeds.
    ejected: bool,
    /// Health probes failed in a row.
    probe_failures: u32,
    /// Workers busy and live frames waiting: changed only through [`Fleet::change_load`] (and
    /// [`Fleet::clear_load`]), so a least-outstanding balancer's index hears every change.
    busy_workers: u32,
    queued: u32,
    /// Waiting frames in arrival order, possibly with cancelled ones among them.
    queue: VecDeque<Key<Frame>>,
    /// When a batching replica's oldest waiting visit will have waited its `timeout`.
    batch_timer: TimerSlot,
    /// Its own breakers and retry budgets for its calls (`scope = "caller"`), by the
    /// service's slots (see `ServiceState::keep_caller_state`).
    breakers: Vec<Breaker>,
    budgets: Vec<BudgetState>,
}

impl Replica {
    fn new(state: ReplicaState, region: u16, version: VersionId, incarnation: u32) -> Replica {
        Replica {
            state,
            region,
            version,
            incarnation,
            process: incarnation,
            broken: false,
            ejected: false,
            probe_failures: 0,
            busy_workers: 0,
            queue: VecDeque::new(),
            queued: 0,
            batch_timer: TimerSlot::default(),
            breakers: Vec::new(),
            budgets: Vec::new(),
        }
    }

    pub fn state(&self) -> ReplicaState {
        self.state
    }

    pub fn is_ready(&self) -> bool {
        self.state == ReplicaState::Ready
    }

    pub fn incarnation(&self) -> u32 {
        self.incarnation
    }

    pub fn process(&self) -> u32 {
        self.process
    }

    pub fn is_broken(&self) -> bool {
        self.broken
    }

    pub fn is_ejected(&self) -> bool {
        self.ejected
    }

    pub fn busy_workers(&self) -> u32 {
        self.busy_workers
    }

    /// Live frames waiting in its queue.
    pub fn queued(&self) -> u32 {
        self.queued
    }

    /// Frames waiting or being worked on.
    pub fn outstanding(&self) -> u32 {
        self.queued + self.busy_workers
    }

    pub fn is_idle(&self) -> bool {
        self.outstanding() == 0
    }

    /// The region it runs in (0 when the service is not regional).
    #[inline]
    pub fn region(&self) -> u16 {
        self.region
    }

    #[inline]
    pub fn version(&self) -> VersionId {
        self.version
    }

    /// A frame waits at the back of its queue (counted through [`Fleet::change_load`]).
    #[inline]
    pub(super) fn enqueue(&mut self, frame: Key<Frame>) {
        self.queue.push_back(frame);
    }

    /// The frame at the front of its queue, taken out (it may have been cancelled: the
    /// caller checks it is live).
    #[inline]
    pub(super) fn dequeue(&mut self) -> Option<Key<Frame>> {
        self.queue.pop_front()
    }

    /// The frame at the front of its queue, left there.
    #[inline]
    pub(super) fn front(&self) -> Option<Key<Frame>> {
        self.queue.front().copied()
    }

    /// Arms its batch timer, unless it is armed already: the token for the event to carry.
    pub(super) fn arm_batch_timer(&mut self) -> Option<TimerToken> {
        (!self.batch_timer.is_armed()).then(|| self.batch_timer.arm())
    }

    /// Whether the batch timer's event carrying `token` is the live one (then it is spent).
    pub(super) fn batch_timer_fires(&mut self, token: TimerToken) -> bool {
        self.batch_timer.fire(token)
    }

    /// A batch started: its timer's event, if armed, is stale.
    pub(super) fn cancel_batch_timer(&mut self) {
        self.batch_timer.cancel();
    }

    /// Its own breaker for the callee in the service's breaker slot `slot`.
    #[inline]
    pub(super) fn own_breaker(&mut self, slot: usize) -> &mut Breaker {
        &mut self.breakers[slot]
    }

    /// Its own breakers, by the service's slots.
    pub(super) fn own_breakers(&self) -> &[Breaker] {
        &self.breakers
    }

    /// Its own retry budget in the service's budget slot `slot`.
    #[inline]
    pub(super) fn own_budget(&mut self, slot: usize) -> &mut BudgetState {
        &mut self.budgets[slot]
    }

    /// A new process: its own breakers and budgets start fresh, as copies of these.
    pub(super) fn renew_own_state(&mut self, breakers: &[Breaker], budgets: &[BudgetState]) {
        self.breakers = breakers.to_vec();
        self.budgets = budgets.to_vec();
    }
}

/// Replicas in each state that counts for levels: ready, starting, and billed (starting,
/// ready or draining).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub ready: u64,
    pub starting: u64,
    pub draining: u64,
}

impl Counts {
    pub fn billed(&self) -> u64 {
        self.ready + self.starting + self.draining
    }

    fn change(&mut self, state: ReplicaState, by: i64) {
        let slot = match state {
            ReplicaState::Ready => &mut self.ready,
            ReplicaState::Starting => &mut self.starting,
            ReplicaState::Draining => &mut self.draining,
            ReplicaState::Down => return,
        };
        *slot = slot.wrapping_add_signed(by);
    }
}

/// The ready replicas' slots, each list in slot order: all of them, per region and per
/// version, and per (region, version) pair when the service has two regions or more (a
/// deployment of a regional service picks within both). Kept by `set_state` (a binary
/// search and a shift, on the rare lifecycle change), so a balancer draws the n-th ready
/// replica in O(1) instead of scanning every slot.
#[derive(Debug, Clone, Default)]
struct ReadyLists {
    all: Vec<u32>,
    by_region: Vec<Vec<u32>>,
    by_version: Vec<Vec<u32>>,
    /// `[region][version]`, kept only with two regions or more (else `by_version` is it).
    by_pair: Vec<Vec<Vec<u32>>>,
}

impl ReadyLists {
    fn change(&mut self, index: u32, region: u16, version: VersionId, ready: bool) {
        if self.by_version.len() <= usize::from(version) {
            self.by_version.resize(usize::from(version) + 1, Vec::new());
        }
        let pair = match self.by_pair.get_mut(usize::from(region)) {
            Some(lists) => {
                if lists.len() <= usize::from(version) {
                    lists.resize(usize::from(version) + 1, Vec::new());
                }
                Some(&mut lists[usize::from(version)])
            }
            None => None,
        };
        for list in [
            Some(&mut self.all),
            Some(&mut self.by_region[usize::from(region)]),
            Some(&mut self.by_version[usize::from(version)]),
            pair,
        ]
        .into_iter()
        .flatten()
        {
            match (list.binary_search(&index), ready) {
                (Err(at), true) => list.insert(at, index),
                (Ok(at), false) => {
                    list.remove(at);
                }
                _ => {}
            }
        }
    }
}

/// The replicas of one service.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    replicas: Vec<Replica>,
    /// `Down` slots, the lowest reused first.
    free: BinaryHeap<Reverse<u32>>,
    total: Counts,
    by_region: Vec<Counts>,
    by_version: Vec<Counts>,
    /// `[region][version]`, kept only with two regions or more (else `by_version` is it).
    by_pair: Vec<Vec<Counts>>,
    ready: ReadyLists,
    /// Ready replicas by load, for a least-outstanding balancer ([`Fleet::index_load`]).
    load_index: Option<LoadIndex>,
    /// What each instance of a split balancer sent to each replica ([`Fleet::split_load`]).
    own_loads: Option<InstanceLoads>,
    /// Whether a count changed since the owner last looked ([`Fleet::take_changed`]).
    changed: bool,
}

impl Fleet {
    /// A fleet of `regions` regions (1 when the service is not regional), with no replica.
    pub fn new(regions: usize) -> Fleet {
        let pairs = if regions > 1 { regions } else { 0 };
        Fleet {
            by_region: vec![Counts::default(); regions.max(1)],
            by_version: vec![Counts::default()],
            by_pair: vec![vec![Counts::default()]; pairs],
            ready: ReadyLists {
                by_region: vec![Vec::new(); regions.max(1)],
                by_pair: vec![vec![Vec::new()]; pairs],
                ..ReadyLists::default()
            },
            ..Fleet::default()
        }
    }

    pub fn replicas(&self) -> &[Replica] {
        &self.replicas
    }

    pub fn get(&self, index: u32) -> &Replica {
        &self.replicas[index as usize]
    }

    /// The replica's queue and own state, for the service to change (its lifecycle stays
    /// here, and its load counts change through [`Fleet::change_load`]).
    pub(super) fn load_mut(&mut self, index: u32) -> &mut Replica {
        &mut self.replicas[index as usize]
    }

    /// The one place a replica's load counts change (`busy_by` workers, `queued_by` live
    /// waiting frames): the load index, if kept, follows.
    #[inline(always)]
    pub(super) fn change_load(&mut self, index: u32, busy_by: i32, queued_by: i32) {
        let replica = &mut self.replicas[index as usize];
        replica.busy_workers = replica.busy_workers.wrapping_add_signed(busy_by);
        replica.queued = replica.queued.wrapping_add_signed(queued_by);
        if let Some(load) = &mut self.load_index {
            if replica.state == ReplicaState::Ready {
                load.set(replica.region, index, Some(replica.outstanding()));
            }
        }
    }

    /// Keeps the ready replicas indexed by load from now on (what a least-outstanding
    /// balancer reads through [`Fleet::least_loaded`]).
    pub fn index_load(&mut self) {
        let mut load = LoadIndex::new(self.by_region.len());
        for (index, r) in self.replicas.iter().enumerate() {
            load.set(
                r.region,
                index as u32,
                r.is_ready().then(|| r.outstanding()),
            );
        }
        self.load_index = Some(load);
    }

    /// Keeps, from now on, what each of `instances` balancer instances sent to each replica
    /// and has not seen leave (none yet; indexed by load for `least_outstanding`): what a
    /// split balancer reads through [`Fleet::own_loads`].
    pub fn split_load(&mut self, instances: usize, indexed: bool) {
        let mut own = InstanceLoads::new(instances, self.by_region.len(), indexed);
        for (index, r) in self.replicas.iter().enumerate() {
            own.set_ready(index as u32, r.region, r.is_ready());
        }
        self.own_loads = Some(own);
    }

    /// Each balancer instance's own counts, when the balancer is split.
    #[inline(always)]
    pub fn own_loads(&self) -> Option<&InstanceLoads> {
        self.own_loads.as_ref()
    }

    /// A visit of balancer `instance` arrived at (`by` 1) or left (`by` -1) the replica.
    #[inline]
    pub(super) fn change_own_load(&mut self, instance: usize, index: u32, by: i32) {
        if let Some(own) = &mut self.own_loads {
            let r = &self.replicas[index as usize];
            own.change(instance, index, r.region, r.is_ready(), by);
        }
    }

    /// The least loaded ready replica (of `region` only, if given): the first at or after
    /// slot `start`, wrapping round, among those of the least load. `None` if none is ready,
    /// or if the load is not indexed.
    #[inline]
    pub fn least_loaded(&self, start: usize, region: Option<u16>) -> Option<u32> {
        self.load_index.as_ref()?.least_loaded(start, region)
    }

    /// The ready replicas that a pick in `region` (if given) and of `version` (if given)
    /// chooses among, in slot order: a list kept as replicas change state, and a version
    /// the caller must still filter it by (`None` here: every pair has its own list, a
    /// service of one region's pairs being its versions).
    #[inline]
    pub fn ready_list(
        &self,
        region: Option<u16>,
        version: Option<VersionId>,
    ) -> (&[u32], Option<VersionId>) {
        const NONE: &[u32] = &[];
        match (region, version) {
            (None, None) => (&self.ready.all, None),
            (Some(g), None) => (
                self.ready
                    .by_region
                    .get(usize::from(g))
                    .map_or(NONE, Vec::as_slice),
                None,
            ),
            (Some(g), Some(v)) if !self.ready.by_pair.is_empty() => (
                self.ready
                    .by_pair
                    .get(usize::from(g))
                    .and_then(|lists| lists.get(usize::from(v)))
                    .map_or(NONE, Vec::as_slice),
                None,
            ),
            (_, Some(v)) => (
                self.ready
                    .by_version
                    .get(usize::from(v))
                    .map_or(NONE, Vec::as_slice),
                None,
            ),
        }
    }

    pub fn counts(&self) -> Counts {
        self.total
    }

    pub fn region_counts(&self) -> &[Counts] {
        &self.by_region
    }

    pub fn version_counts(&self, version: VersionId) -> Counts {
        self.by_version
            .get(usize::from(version))
            .copied()
            .unwrap_or_default()
    }

    /// The counts of `version`'s replicas in `region` (of every region if `None`).
    pub fn pair_counts(&self, region: Option<u16>, version: VersionId) -> Counts {
        match region {
            Some(g) if !self.by_pair.is_empty() => self.by_pair[usize::from(g)]
                .get(usize::from(version))
                .copied()
                .unwrap_or_default(),
            _ => self.version_counts(version),
        }
    }

    /// Whether any count changed since the last call (and clears the mark).
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// The one place a replica's state changes: the counts follow.
    fn set_state(&mut self, index: u32, state: ReplicaState) {
        let replica = &mut self.replicas[index as usize];
        let (from, region, version) = (replica.state, replica.region, replica.version);
        if from == state {
            return;
        }
        replica.state = state;
        let pair = self
            .by_pair
            .get_mut(usize::from(region))
            .map(|counts| &mut counts[usize::from(version)]);
        for counts in [
            Some(&mut self.total),
            Some(&mut self.by_region[usize::from(region)]),
            Some(&mut self.by_version[usize::from(version)]),
            pair,
        ]
        .into_iter()
        .flatten()
        {
            counts.change(from, -1);
            counts.change(state, 1);
        }
        if from == ReplicaState::Ready || state == ReplicaState::Ready {
            let ready = state == ReplicaState::Ready;
            self.ready.change(index, region, version, ready);
            if let Some(load) = &mut self.load_index {
                let r = &self.replicas[index as usize];
                load.set(region, index, ready.then(|| r.outstanding()));
            }
            if let Some(own) = &mut self.own_loads {
                own.set_ready(index, region, ready);
            }
        }
        if state == ReplicaState::Down {
            self.free.push(Reverse(index));
        }
        self.changed = true;
    }

    /// Starts a replica of `version` in `region` (`ready` at once, or starting), reusing a
    /// `Down` slot if there is one; returns its index. A reused slot's incarnation moves on.
    pub fn start(&mut self, version: VersionId, region: u16, ready: bool) -> u32 {
        let state = if ready {
            ReplicaState::Ready
        } else {
            ReplicaState::Starting
        };
        if self.by_version.len() <= usize::from(version) {
            self.by_version
                .resize(usize::from(version) + 1, Counts::default());
        }
        if let Some(counts) = self.by_pair.get_mut(usize::from(region)) {
            if counts.len() <= usize::from(version) {
                counts.resize(usize::from(version) + 1, Counts::default());
            }
        }
        let index = match self.free.pop() {
            Some(Reverse(index)) => {
                let old = &self.replicas[index as usize];
                let (incarnation, process) =
                    (old.incarnation.wrapping_add(1), old.process.wrapping_add(1));
                self.replicas[index as usize] = Replica {
                    process,
                    ..Replica::new(ReplicaState::Down, region, version, incarnation)
                };
                index
            }
            None => {
                self.replicas
                    .push(Replica::new(ReplicaState::Down, region, version, 0));
                (self.replicas.len() - 1) as u32
            }
        };
        self.set_state(index, state);
        index
    }

    /// A starting replica becomes ready (provisioned, or back after health checks ejected
    /// it and a probe succeeded) and takes traffic.
    pub fn ready(&mut self, index: u32) {
        let replica = &mut self.replicas[index as usize];
        replica.ejected = false;
        replica.probe_failures = 0;
        self.set_state(index, ReplicaState::Ready);
    }

    /// Takes a replica out of rotation: it finishes its queue and its work, then goes down
    /// (at once if it is idle). Events for its current life go stale.
    pub fn drain(&mut self, index: u32) {
        let replica = &mut self.replicas[index as usize];
        if replica.state == ReplicaState::Down {
            return;
        }
        replica.incarnation = replica.incarnation.wrapping_add(1);
        self.set_state(index, ReplicaState::Draining);
        self.idle(index);
    }

    /// If the replica is draining and has nothing left, it goes down; true if it did. The
    /// service calls this whenever a replica's last visit leaves.
    pub fn idle(&mut self, index: u32) -> bool {
        let replica = &self.replicas[index as usize];
        if replica.state == ReplicaState::Draining && replica.is_idle() {
            self.set_state(index, ReplicaState::Down);
            true
        } else {
            false
        }
    }

    /// The replica dies (the caller fails the visits it held, then clears its load). A
    /// ready replica watched by health checks stays in rotation, broken, until they eject
    /// it; otherwise it restarts (starting, billed). A draining replica was going anyway: it
    /// goes down. Returns the new incarnation, which its repair event must carry.
    pub fn crash(&mut self, index: u32, health_checked: bool) -> u32 {
        let replica = &mut self.replicas[index as usize];
        replica.incarnation = replica.incarnation.wrapping_add(1);
        replica.process = replica.process.wrapping_add(1);
        let incarnation = replica.incarnation;
        match replica.state {
            ReplicaState::Ready if health_checked => replica.broken = true,
            ReplicaState::Draining => self.set_state(index, ReplicaState::Down),
            ReplicaState::Down => {}
            _ => self.set_state(index, ReplicaState::Starting),
        }
        incarnation
    }

    /// A crashed replica is repaired: no longer broken. Returns its state, for what follows
    /// (a starting replica not ejected becomes ready; an ejected one waits for a probe).
    pub fn repair(&mut self, index: u32) -> ReplicaState {
        let replica = &mut self.replicas[index as usize];
        replica.broken = false;
        replica.state
    }

    /// Health checks take a broken replica out of rotation: it restarts, and is back after
    /// the first probe that succeeds once it is repaired.
    pub fn eject(&mut self, index: u32) {
        self.replicas[index as usize].ejected = true;
        self.set_state(index, ReplicaState::Starting);
    }

    /// A health probe of the replica succeeded or failed; returns its failures in a row.
    pub fn probe(&mut self, index: u32, ok: bool) -> u32 {
        let replica = &mut self.replicas[index as usize];
        replica.probe_failures = if ok { 0 } else { replica.probe_failures + 1 };
        replica.probe_failures
    }

    /// A spot replica's notice is over: it goes, whatever it still holds (the caller fails
    /// those visits).
    pub fn reclaim(&mut self, index: u32) {
        self.set_state(index, ReplicaState::Down);
    }

    /// The replica's visits were all ended by the caller (a crash): nothing waits or works
    /// on it any more.
    pub fn clear_load(&mut self, index: u32) {
        let replica = &mut self.replicas[index as usize];
        let (busy, queued) = (replica.busy_workers, replica.queued);
        replica.queue.clear();
        replica.batch_timer.cancel();
        self.change_load(index, -(busy as i32), -(queued as i32));
        if let Some(own) = &mut self.own_loads {
            let r = &self.replicas[index as usize];
            own.clear(index, r.region, r.is_ready());
        }
        self.idle(index);
    }

    /// Gives up `n` replicas (of `version`, or of any): starting ones first, then ready ones,
    /// newest (highest slot) first. They are drained.
    pub fn shrink(&mut self, version: Option<VersionId>, n: u32) {
        self.shrink_of(version, None, n);
    }

    /// Gives up `n` replicas of `region` (its own HPA scaling down), as [`Fleet::shrink`].
    pub fn shrink_region(&mut self, region: u16, n: u32) {
        self.shrink_of(None, Some(region), n);
    }

    /// Gives up `n` replicas of `version` (of any, if `None`) in `region` (in any, if
    /// `None`), as [`Fleet::shrink`].
    pub fn shrink_of(&mut self, version: Option<VersionId>, region: Option<u16>, mut n: u32) {
        for wanted in [ReplicaState::Starting, ReplicaState::Ready] {
            for index in (0..self.replicas.len() as u32).rev() {
                if n == 0 {
                    return;
                }
                let r = &self.replicas[index as usize];
                if r.state == wanted
                    && version.is_none_or(|v| r.version == v)
                    && region.is_none_or(|g| r.region == g)
                {
                    self.drain(index);
                    n -= 1;
                }
            }
        }
    }

    /// Ready and starting replicas: the count an autoscaler manages.
    pub fn current(&self) -> u32 {
        (self.total.ready + self.total.starting) as u32
    }

    /// Indices of the ready replicas, in slot order.
    pub fn ready_indices(&self) -> impl Iterator<Item = u32> + '_ {
        self.ready.all.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_counts(fleet: &Fleet) {
        let mut counts = Counts::default();
        for r in fleet.replicas() {
            counts.change(r.state, 1);
        }
        assert_eq!(counts, fleet.counts());
        let regions: u64 = fleet.region_counts().iter().map(Counts::billed).sum();
        assert_eq!(regions, counts.billed());
        // The ready lists are what a scan of the slots finds, in slot order.
        let scan = |keep: &dyn Fn(&Replica) -> bool| -> Vec<u32> {
            (0..fleet.replicas().len() as u32)
                .filter(|&i| fleet.get(i).is_ready() && keep(fleet.get(i)))
                .collect()
        };
        assert_eq!(fleet.ready_list(None, None).0, scan(&|_| true));
        for g in 0..fleet.region_counts().len() as u16 {
            assert_eq!(fleet.ready_list(Some(g), None).0, scan(&|r| r.region == g));
        }
        for v in 0..3 {
            assert_eq!(fleet.ready_list(None, Some(v)).0, scan(&|r| r.version == v));
            let mut versions = Counts::default();
            for g in 0..fleet.region_counts().len() as u16 {
                let (list, filter) = fleet.ready_list(Some(g), Some(v));
                let kept: Vec<u32> = list
                    .iter()
                    .copied()
                    .filter(|&i| filter.is_none_or(|f| fleet.get(i).version == f))
                    .collect();
                assert_eq!(kept, scan(&|r| r.region == g && r.version == v));
                let mut pair = Counts::default();
                for r in fleet.replicas() {
                    if r.region == g && r.version == v {
                        pair.change(r.state, 1);
                        versions.change(r.state, 1);
                    }
                }
                assert_eq!(fleet.pair_counts(Some(g), v), pair);
            }
            assert_eq!(fleet.version_counts(v), versions);
        }
    }

    #[test]
    fn counts_follow_every_change_and_down_slots_are_reused() {
        let mut f = Fleet::new(2);
        let a = f.start(0, 0, true);
        let b = f.start(0, 1, false);
        assert_eq!((a, b), (0, 1));
        assert_eq!(
            f.counts(),
            Counts {
                ready: 1,
                starting: 1,
                draining: 0
            }
        );
        assert_eq!(f.region_counts()[1].starting, 1);
        f.ready(b);
        f.change_load(a, 1, 0);
        f.drain(a);
        assert_eq!(f.get(a).state(), ReplicaState::Draining, "busy: drains");
        check_counts(&f);
        f.change_load(a, -1, 0);
        assert!(f.idle(a), "its last visit left: down");
        assert!(!f.idle(a), "once");
        check_counts(&f);
        let c = f.start(0, 0, false);
        assert_eq!(c, a, "the down slot is reused");
        assert_eq!(f.get(c).incarnation(), 2, "drained (1), then reused (2)");
        check_counts(&f);
    }

    #[test]
    fn a_crash_restarts_a_replica_breaks_a_watched_one_and_ends_a_draining_one() {
        let mut f = Fleet::new(1);
        for _ in 0..3 {
            f.start(0, 0, true);
        }
        f.crash(0, false);
        assert_eq!(f.get(0).state(), ReplicaState::Starting);
        f.crash(1, true);
        assert!(f.get(1).is_ready() && f.get(1).is_broken());
        f.eject(1);
        assert_eq!(f.get(1).state(), ReplicaState::Starting);
        assert!(f.get(1).is_ejected());
        assert_eq!(f.repair(1), ReplicaState::Starting);
        f.ready(1);
        assert!(!f.get(1).is_ejected());
        f.change_load(2, 0, 1);
        f.drain(2);
        f.crash(2, false);
        assert_eq!(
            f.get(2).state(),
            ReplicaState::Down,
            "a draining replica hit by a crash does not come back"
        );
        check_counts(&f);
    }

    #[test]
    fn shrinking_gives_up_starting_replicas_first_then_the_newest_ready() {
        let mut f = Fleet::new(1);
        for ready in [true, true, true, false] {
            f.start(0, 0, ready);
        }
        f.shrink(Some(0), 2);
        let states: Vec<ReplicaState> = f.replicas().iter().map(Replica::state).collect();
        use ReplicaState::*;
        assert_eq!(states, [Ready, Ready, Down, Down]);
        assert_eq!(f.current(), 2);
    }

    #[test]
    fn shrinking_a_region_gives_up_only_that_regions_replicas() {
        let mut f = Fleet::new(2);
        for region in [0, 1, 0, 1] {
            f.start(0, region, true);
        }
        f.shrink_region(0, 1);
        let states: Vec<ReplicaState> = f.replicas().iter().map(Replica::state).collect();
        use ReplicaState::*;
        // Region 0 holds slots 0 and 2: the newest (2) goes; region 1 keeps both.
        assert_eq!(states, [Ready, Ready, Down, Ready]);
        assert_eq!(f.region_counts()[1].ready, 2);
        check_counts(&f);
    }

    #[test]
    fn two_versions_in_two_regions_are_counted_and_listed_per_pair() {
        let mut f = Fleet::new(2);
        for (version, region, ready) in [(0, 0, true), (1, 1, true), (1, 0, false), (0, 1, true)] {
            f.start(version, region, ready);
        }
        f.ready(2);
        check_counts(&f);
        assert_eq!(f.ready_list(Some(0), Some(1)).0, [2]);
        // Region 1's old replica (slot 3) goes: only its pair's counts change.
        f.shrink_of(Some(0), Some(1), 1);
        assert_eq!(f.pair_counts(Some(1), 0), Counts::default());
        assert_eq!(f.pair_counts(Some(0), 0).ready, 1);
        check_counts(&f);
    }
}
