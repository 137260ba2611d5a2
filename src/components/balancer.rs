//! Load balancers: which replica of a service takes a visit.
//!
//! A balancer sees the replicas (their lifecycle state and load) and picks one of those that
//! are ready; it never sees a replica that is starting, draining or down. Load is a replica's
//! outstanding visits: waiting plus being worked on.
//!
//! - `round_robin`: each ready replica in turn.
//! - `random`: uniformly among the ready replicas (with Poisson arrivals, n independent
//!   queues each fed at lambda / n).
//! - `least_outstanding`: the least loaded ready replica; ties go to the first after the
//!   last one picked, so equal replicas share the work.
//! - `power_of_two`: two distinct ready replicas at random, the less loaded (Mitzenmacher's
//!   "power of two choices"; ties to the first drawn).
//! - `weighted`: smooth weighted round-robin (as nginx does): replica `i` takes a share
//!   `w_i / sum w` of the visits, spread evenly.
//! - `consistent_hash`: a hash ring of `virtual_nodes` points (64 unless given) per replica
//!   slot on the request's key; a key goes to the first ready replica clockwise, so a key
//!   keeps its replica while the set of replicas is unchanged, and few keys move when it
//!   changes.
//!
//! A balancer runs as one instance (shared by every visit) or as `instances` independent
//! ones (nginx workers without a shared `zone`, a client-side balancer per caller): each
//! visit's instance is a keyed draw on the visit, and each instance keeps its own cursor,
//! generator and weights, and for `least_outstanding` and `power_of_two` its own count of
//! the visits it sent to each replica that have not left ([`InstanceLoads`], kept by the
//! fleet so that it hears of readiness); readiness is the fleet's, shared by all.
//!
//! Cost per pick: the fleet keeps the ready replicas in lists (all, per region, per version;
//! in slot order) updated on the rare lifecycle change, so `random` and `power_of_two` index
//! them in O(1) and `round_robin` tries the next slot, else searches the list in O(log n).
//! `least_outstanding` reads the fleet's load index (per region, a tree of minima over the
//! slots) in O(log n), and each change of a replica's load updates it in O(log n). A pick
//! within both a region and a version reads that pair's own list (kept with two regions or
//! more), and a `least_outstanding` pick within a version scans that version's ready list; `weighted`
//! goes through the ready list (O(ready)); `consistent_hash` is O(log n) plus the walk past
//! replicas not ready.

use super::entity::Visit;
use super::fleet::{Fleet, Replica, VersionId};
use crate::engine::rng::{mix, Rng, Stream};
use crate::scenario::model::BalancerKind;
use rand::Rng as _;

/// A service's balancer: one instance (a shared balancer), or `instances` independent ones
/// (nginx workers without a shared `zone`, or a client-side balancer in each caller), each
/// taking the visits drawn for it and keeping its own state.
#[derive(Debug, Clone)]
pub struct Balancer {
    /// Instance 0's policy and state: the only one unless `instances` is given.
    first: Policy,
    /// Instances 1 and up (none with one instance).
    others: Vec<Policy>,
    /// With two instances or more: the stream a visit's instance is drawn from.
    split: Option<Stream>,
}

/// A balancing policy with its state (one instance's).
#[derive(Debug, Clone)]
enum Policy {
    /// The next position to try, per region (one entry when the service is not regional).
    RoundRobin {
        next: Vec<usize>,
    },
    Random {
        rng: Rng,
    },
    LeastOutstanding {
        next: usize,
    },
    PowerOfTwo {
        rng: Rng,
    },
    Weighted {
        weights: Vec<f64>,
        current: Vec<f64>,
    },
    /// The ring's points (hash, slot) in order, for the first `built_for` slots.
    ConsistentHash {
        ring: Vec<(u64, u32)>,
        built_for: usize,
        virtual_nodes: u32,
    },
}

impl Balancer {
    /// The balancer of `kind` run as `instances` independent instances, its streams (for
    /// the policy's draws and the instance of each visit) from `stream` by purpose: instance
    /// 0 draws from `balancer`, so one instance is exactly the shared balancer. A
    /// `consistent_hash` balancer holds no state a pick changes, so its instances would all
    /// pick alike: it stays one.
    pub fn new(kind: &BalancerKind, instances: u32, stream: impl Fn(&str) -> Stream) -> Balancer {
        let instances = match kind {
            BalancerKind::ConsistentHash { .. } => 1,
            _ => instances.max(1),
        };
        let others = (1..instances)
            .map(|i| Policy::new(kind, stream(&format!("balancer/{i}")).sequential()))
            .collect();
        Balancer {
            first: Policy::new(kind, stream("balancer").sequential()),
            others,
            split: (instances > 1).then(|| stream("balancer_instance")),
        }
    }

    /// Whether `pick` needs the request's key.
    pub fn needs_key(&self) -> bool {
        matches!(self.first, Policy::ConsistentHash { .. })
    }

    /// Whether each instance counts the visits it sent to each replica (`least_outstanding`
    /// and `power_of_two` run as two instances or more): the service must then tell the
    /// fleet when such a visit leaves ([`Fleet::change_own_load`]).
    #[inline(always)]
    pub fn counts_own(&self) -> bool {
        self.split.is_some()
            && matches!(
                self.first,
                Policy::LeastOutstanding { .. } | Policy::PowerOfTwo { .. }
            )
    }

    /// Has the fleet keep what `pick` reads: the load index for a shared
    /// `least_outstanding` balancer, each instance's own counts for split ones that compare
    /// loads.
    pub fn prepare(&self, fleet: &mut Fleet) {
        let indexed = matches!(self.first, Policy::LeastOutstanding { .. });
        if self.counts_own() {
            fleet.split_load(self.others.len() + 1, indexed);
        } else if indexed {
            fleet.index_load();
        }
    }

    /// Which instance takes `visit`: 0 with one instance; otherwise a keyed draw on the
    /// visit, uniform over the instances (connections reach nginx workers, or requests
    /// reach callers, at random), which consumes no sequential stream.
    #[inline(always)]
    pub fn instance(&self, visit: Visit) -> usize {
        match self.split {
            None => 0,
            Some(stream) => stream
                .at(visit.request, visit.site, visit.attempt)
                .random_range(0..self.others.len() + 1),
        }
    }

    /// The replica to take the next visit through `instance` (carrying `key` for
    /// `consistent_hash`; among the replicas of `region` only, for a regional service, and
    /// of `version` only, when asked to pick within a version), or `None` when no such
    /// replica is ready.
    #[inline]
    pub fn pick(
        &mut self,
        fleet: &Fleet,
        instance: usize,
        key: u64,
        region: Option<u16>,
        version: Option<VersionId>,
    ) -> Option<u32> {
        if let [only] = fleet.replicas() {
            // Nothing to choose between (whatever the policy, and its state stays as is).
            return fits(only, region, version).then_some(0);
        }
        let policy = match instance {
            0 => &mut self.first,
            i => &mut self.others[i - 1],
        };
        policy.pick_among(fleet, instance, key, region, version)
    }
}

impl Policy {
    /// The policy of `kind`, drawing (if it draws) from `rng`.
    fn new(kind: &BalancerKind, rng: Rng) -> Policy {
        match kind {
            BalancerKind::RoundRobin => Policy::RoundRobin { next: Vec::new() },
            BalancerKind::Random => Policy::Random { rng },
            BalancerKind::LeastOutstanding => Policy::LeastOutstanding { next: 0 },
            BalancerKind::PowerOfTwo => Policy::PowerOfTwo { rng },
            BalancerKind::Weighted(weights) => Policy::Weighted {
                weights: weights.clone(),
                current: Vec::new(),
            },
            BalancerKind::ConsistentHash { virtual_nodes } => Policy::ConsistentHash {
                ring: Vec::new(),
                built_for: 0,
                virtual_nodes: *virtual_nodes,
            },
        }
    }

    /// [`Balancer::pick`] among two replicas or more (kept out of line: a service of one
    /// replica, the common case, never gets here). The loads compared are the replicas'
    /// own (every visit waiting or worked on), or, when the fleet keeps each instance's
    /// counts, those of the visits `instance` sent there.
    fn pick_among(
        &mut self,
        fleet: &Fleet,
        instance: usize,
        key: u64,
        region: Option<u16>,
        version: Option<VersionId>,
    ) -> Option<u32> {
        let replicas = fleet.replicas();
        let n = replicas.len();
        let (list, only_version) = fleet.ready_list(region, version);
        let ready = Ready {
            list,
            replicas,
            version: only_version,
        };
        let own = fleet.own_loads();
        let load = |i: u32| match own {
            None => replicas[i as usize].outstanding(),
            Some(own) => own.get(instance, i),
        };
        match self {
            Policy::RoundRobin { next } => {
                // One cursor per region and per version asked for: picks within one version
                // between picks within the other must not send the cursor back to the first
                // replica of its version every time.
                let slot = usize::from(region.unwrap_or(0)) * 3
                    + version.map_or(0, |v| 1 + usize::from(v.min(1)));
                if next.len() <= slot {
                    next.resize(slot + 1, 0);
                }
                let start = if next[slot] < n { next[slot] } else { 0 };
                // The next slot is usually ready: no search.
                let chosen = if fits(&replicas[start], region, version) {
                    start as u32
                } else {
                    ready.first_from(start)?
                };
                next[slot] = chosen as usize + 1;
                Some(chosen)
            }
            Policy::Random { rng } => {
                let count = ready.len();
                if count == 0 {
                    return None;
                }
                Some(ready.nth(rng.random_range(0..count)))
            }
            Policy::LeastOutstanding { next } => {
                let start = if *next < n { *next } else { 0 };
                let chosen = match (version, own) {
                    (None, None) => fleet.least_loaded(start, region)?,
                    (None, Some(own)) => own.least_loaded(instance, start, region)?,
                    // Within a version: a scan of its ready replicas (the index is per region).
                    (Some(_), _) => {
                        let from = list.partition_point(|&i| (i as usize) < start);
                        list[from..]
                            .iter()
                            .chain(&list[..from])
                            .copied()
                            .filter(|&i| ready.keeps(i))
                            .min_by_key(|&i| load(i))?
                    }
                };
                *next = chosen as usize + 1;
                Some(chosen)
            }
            Policy::PowerOfTwo { rng } => {
                let count = ready.len();
                match count {
                    0 => None,
                    1 => Some(ready.nth(0)),
                    _ => {
                        let a = rng.random_range(0..count);
                        let b = (a + 1 + rng.random_range(0..count - 1)) % count;
                        let (a, b) = (ready.nth(a), ready.nth(b));
                        Some(if load(b) < load(a) { b } else { a })
                    }
                }
            }
            Policy::Weighted { weights, current } => {
                current.resize(n, 0.0);
                let weight = |i: usize| weights[i % weights.len()];
                let mut total = 0.0;
                let mut best: Option<usize> = None;
                for i in list
                    .iter()
                    .filter(|&&i| ready.keeps(i))
                    .map(|&i| i as usize)
                {
                    current[i] += weight(i);
                    total += weight(i);
                    if best.is_none_or(|b| current[i] > current[b]) {
                        best = Some(i);
                    }
                }
                let chosen = best?;
                current[chosen] -= total;
                Some(chosen as u32)
            }
            Policy::ConsistentHash {
                ring,
                built_for,
                virtual_nodes,
            } => {
                if *built_for < n {
                    add_to_ring(ring, *built_for..n, *virtual_nodes);
                    *built_for = n;
                }
                let point = mix(key ^ 0x5eed_0f7e_4ba1);
                let start = ring.partition_point(|&(h, _)| h < point);
                (start..ring.len())
                    .chain(0..start)
                    .map(|i| ring[i].1)
                    .find(|&r| fits(&replicas[r as usize], region, version))
            }
        }
    }
}

/// Whether a replica may take a visit in `region` (if given) of `version` (if given).
#[inline(always)]
fn fits(r: &Replica, region: Option<u16>, version: Option<VersionId>) -> bool {
    r.is_ready()
        && region.is_none_or(|g| r.region() == g)
        && version.is_none_or(|v| r.version() == v)
}

/// Puts the virtual nodes of `slots` on the ring. A slot's points depend on the slot alone,
/// so the ring only grows with the fleet's slots and never needs rebuilding: a replica
/// that starts, stops or comes back keeps its points, and a pick walks past those of
/// replicas not ready. The first 64 points of a slot are the same whatever `virtual_nodes`.
fn add_to_ring(ring: &mut Vec<(u64, u32)>, slots: std::ops::Range<usize>, virtual_nodes: u32) {
    for r in slots {
        let r = r as u32;
        ring.extend((0..u64::from(virtual_nodes)).map(|v| (mix(u64::from(r) << 32 | v), r)));
    }
    // Two sorted runs (the old ring, the new points sorted by the run detection): merged in
    // linear time by the stable sort. The points are distinct, so the order is the same as
    // a full sort's.
    ring.sort();
}

/// The ready replicas a pick chooses among: a list in slot order, filtered by version when
/// the fleet keeps no list for the pair asked (region and version).
struct Ready<'a> {
    list: &'a [u32],
    replicas: &'a [Replica],
    version: Option<VersionId>,
}

impl Ready<'_> {
    #[inline(always)]
    fn keeps(&self, i: u32) -> bool {
        self.version
            .is_none_or(|v| self.replicas[i as usize].version() == v)
    }

    #[inline(always)]
    fn len(&self) -> usize {
        match self.version {
            None => self.list.len(),
            Some(_) => self.list.iter().filter(|&&i| self.keeps(i)).count(),
        }
    }

    /// The `nth` (below `len`), in slot order.
    #[inline(always)]
    fn nth(&self, nth: usize) -> u32 {
        match self.version {
            None => self.list[nth],
            Some(_) => self
                .list
                .iter()
                .copied()
                .filter(|&i| self.keeps(i))
                .nth(nth)
                .expect("nth below len"),
        }
    }

    /// The first at slot `start` or after, wrapping round.
    fn first_from(&self, start: usize) -> Option<u32> {
        let from = self.list.partition_point(|&i| (i as usize) < start);
        self.list[from..]
            .iter()
            .chain(&self.list[..from])
            .copied()
            .find(|&i| self.keeps(i))
    }
}

/// The version a visit goes to when traffic is split between versions by weight (a rollout's
/// traffic router): `u` is the visit's uniform draw in [0, 1), `weights` the versions' shares
/// (any positive scale; a version of weight 0 gets nothing).
pub fn version_by_weight(weights: &[f64], u: f64) -> VersionId {
    let total: f64 = weights.iter().sum();
    let mut cumulative = 0.0;
    for (version, w) in weights.iter().enumerate() {
        cumulative += w / total;
        if u < cumulative {
            return version as VersionId;
        }
    }
    weights.iter().rposition(|&w| w > 0.0).unwrap_or(0) as VersionId
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::load_index::LoadIndex;
    use crate::engine::rng::Stream;

    #[test]
    fn a_pick_within_a_version_sees_only_its_replicas() {
        let mut fleet = super::super::fleet::Fleet::new(1);
        for version in [0, 1, 0, 1] {
            fleet.start(version, 0, true);
        }
        for kind in [
            BalancerKind::RoundRobin,
            BalancerKind::Random,
            BalancerKind::LeastOutstanding,
            BalancerKind::PowerOfTwo,
        ] {
            let mut b = Balancer::new(&kind, 1, |p| Stream::new(1, 0, "s", p));
            for _ in 0..20 {
                let r = b.pick(&fleet, 0, 0, None, Some(1)).expect("ready");
                assert!(r == 1 || r == 3, "{kind:?} picked {r}");
            }
            assert_eq!(b.pick(&fleet, 0, 0, None, Some(2)), None, "{kind:?}");
        }
    }

    /// The rule of `least_outstanding` as a plain scan of the slots (the implementation before
    /// the load index): from `start`, wrapping round, the first ready replica (of `region`)
    /// of the least load.
    fn least_by_scan(
        loads: &[Option<(u16, u32)>],
        start: usize,
        region: Option<u16>,
    ) -> Option<u32> {
        let n = loads.len();
        let start = if start < n { start } else { 0 };
        (start..n)
            .chain(0..start)
            .filter_map(|i| loads[i].map(|(g, load)| (i, g, load)))
            .filter(|&(_, g, _)| region.is_none_or(|r| r == g))
            .min_by_key(|&(_, _, load)| load)
            .map(|(i, _, _)| i as u32)
    }

    #[test]
    fn the_load_index_picks_what_a_scan_of_the_slots_picks() {
        // Random fleets of 1 to 70 slots in up to 3 regions, loads 0 to 3 (many ties), some
        // slots not ready; after each random change, every start and region asked agree.
        let mut rng = Stream::new(7, 0, "test", "load_index").sequential();
        for _ in 0..200 {
            let slots = rng.random_range(1..70usize);
            let regions = rng.random_range(1..4u16);
            let mut loads: Vec<Option<(u16, u32)>> = vec![None; slots];
            let mut index = LoadIndex::new(usize::from(regions));
            for _ in 0..50 {
                let slot = rng.random_range(0..slots);
                let region = loads[slot].map_or_else(|| rng.random_range(0..regions), |(g, _)| g);
                let now = rng
                    .random_bool(0.8)
                    .then(|| (region, rng.random_range(0..4u32)));
                loads[slot] = now;
                index.set(region, slot as u32, now.map(|(_, l)| l));
                for start in [0, rng.random_range(0..slots), slots, slots + 3] {
                    for region in [None, Some(rng.random_range(0..regions))] {
                        assert_eq!(
                            index.least_loaded(start, region),
                            least_by_scan(&loads, start, region),
                            "start {start} region {region:?} loads {loads:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn each_instance_picks_the_least_of_its_own_counts_as_a_scan_would() {
        // Random fleets of 2 to 40 replicas in 1 or 2 regions, 3 instances of
        // least_outstanding: after every random change (a visit of an instance arriving or
        // leaving, a replica draining or coming back, a crash clearing a replica), each
        // instance's pick is the scan's over that instance's own counts, and a crash leaves
        // no instance counting the replica's visits.
        let mut rng = Stream::new(7, 0, "test", "instances").sequential();
        for _ in 0..100 {
            let regions = rng.random_range(1..3u16);
            let slots = rng.random_range(2..40u32);
            let mut fleet = super::super::fleet::Fleet::new(usize::from(regions));
            for i in 0..slots {
                fleet.start(0, (i % u32::from(regions)) as u16, true);
            }
            let b = Balancer::new(&BalancerKind::LeastOutstanding, 3, |p| {
                Stream::new(1, 0, "s", p)
            });
            assert!(b.counts_own());
            b.prepare(&mut fleet);
            let mut counts = vec![[0u32; 3]; slots as usize];
            for _ in 0..60 {
                let slot = rng.random_range(0..slots);
                let instance = rng.random_range(0..3usize);
                match rng.random_range(0..10) {
                    0 => fleet.drain(slot),
                    1 if !fleet.get(slot).is_ready() => {
                        fleet.start(0, fleet.get(slot).region(), true);
                    }
                    2 => {
                        fleet.clear_load(slot);
                        counts[slot as usize] = [0; 3];
                    }
                    3..=5 if counts[slot as usize][instance] > 0 => {
                        fleet.change_own_load(instance, slot, -1);
                        counts[slot as usize][instance] -= 1;
                    }
                    _ => {
                        fleet.change_own_load(instance, slot, 1);
                        counts[slot as usize][instance] += 1;
                    }
                }
                let own = fleet.own_loads().expect("split");
                for instance in 0..3 {
                    let loads: Vec<Option<(u16, u32)>> = fleet
                        .replicas()
                        .iter()
                        .zip(&counts)
                        .map(|(r, c)| r.is_ready().then_some((r.region(), c[instance])))
                        .collect();
                    for (i, c) in counts.iter().enumerate() {
                        assert_eq!(own.get(instance, i as u32), c[instance]);
                    }
                    for start in [0, rng.random_range(0..slots as usize)] {
                        for region in [None, Some(rng.random_range(0..regions))] {
                            assert_eq!(
                                own.least_loaded(instance, start, region),
                                least_by_scan(&loads, start, region),
                                "instance {instance} start {start} region {region:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn one_instance_is_the_shared_balancer_and_consistent_hash_stays_one() {
        for kind in [
            BalancerKind::RoundRobin,
            BalancerKind::Random,
            BalancerKind::LeastOutstanding,
            BalancerKind::PowerOfTwo,
        ] {
            let one = Balancer::new(&kind, 1, |p| Stream::new(1, 0, "s", p));
            assert!(!one.counts_own() && one.split.is_none() && one.others.is_empty());
            let four = Balancer::new(&kind, 4, |p| Stream::new(1, 0, "s", p));
            assert_eq!(four.others.len(), 3);
            // Every instance takes a share of the visits: 4,000 visits, 1,000 expected each
            // (binomial sd 27): each within 4 sd.
            let mut share = [0u32; 4];
            for request in 0..4000 {
                let visit = Visit {
                    request,
                    site: 0,
                    attempt: 0,
                };
                share[four.instance(visit)] += 1;
            }
            assert!(share.iter().all(|&n| n.abs_diff(1000) < 110), "{share:?}");
        }
        let ring = BalancerKind::ConsistentHash { virtual_nodes: 8 };
        let hashed = Balancer::new(&ring, 4, |p| Stream::new(1, 0, "s", p));
        assert!(hashed.split.is_none() && hashed.others.is_empty());
    }

    #[test]
    fn a_ring_grown_slot_by_slot_is_the_ring_built_at_once_and_keeps_the_first_64_points() {
        let mut grown = Vec::new();
        add_to_ring(&mut grown, 0..3, 160);
        add_to_ring(&mut grown, 3..10, 160);
        let mut at_once = Vec::new();
        add_to_ring(&mut at_once, 0..10, 160);
        assert_eq!(grown, at_once);
        assert_eq!(grown.len(), 10 * 160);
        // The default ring's points are among the larger ring's: more virtual nodes add
        // points without moving any.
        let mut small = Vec::new();
        add_to_ring(&mut small, 0..10, 64);
        assert!(small.iter().all(|p| grown.binary_search(p).is_ok()));
    }

    #[test]
    fn more_virtual_nodes_spread_the_ring_evenly_within_four_sd() {
        // A replica's share of the ring is the sum of its V arcs; with points placed like
        // uniform draws each arc is about exponential of mean 1 / (R V), so the share has mean
        // 1 / R and sd 1 / (R sqrt V). With R = 4: within 4 sd, |share - 0.25| < 1 / sqrt V
        // (0.079 at V = 160, 0.032 at V = 1000).
        for v in [160u32, 1000] {
            let mut ring = Vec::new();
            add_to_ring(&mut ring, 0..4, v);
            let mut share = [0f64; 4];
            for (i, &(h, _)) in ring.iter().enumerate() {
                // A key at a point in (previous point, h] goes to this point's replica.
                let previous = if i == 0 {
                    ring[ring.len() - 1].0
                } else {
                    ring[i - 1].0
                };
                share[ring[i].1 as usize] += h.wrapping_sub(previous) as f64 / 2f64.powi(64);
            }
            for s in share {
                assert!(
                    (s - 0.25).abs() < 1.0 / f64::from(v).sqrt(),
                    "V {v}: {share:?}"
                );
            }
        }
    }

    #[test]
    fn each_balancer_picks_only_ready_replicas_of_the_region_asked() {
        // Slots 0..8 alternate regions 0 and 1; slots 2 and 5 are drained (down).
        let mut fleet = super::super::fleet::Fleet::new(2);
        for i in 0..8u16 {
            fleet.start(0, i % 2, true);
        }
        fleet.drain(2);
        fleet.drain(5);
        for kind in [
            BalancerKind::RoundRobin,
            BalancerKind::Random,
            BalancerKind::LeastOutstanding,
            BalancerKind::PowerOfTwo,
            BalancerKind::Weighted(vec![1.0]),
            BalancerKind::ConsistentHash { virtual_nodes: 16 },
        ] {
            let mut fleet = fleet.clone();
            let mut b = Balancer::new(&kind, 1, |p| Stream::new(1, 0, "s", p));
            b.prepare(&mut fleet);
            let mut seen = [0u32; 8];
            for key in 0..400u64 {
                let r = b.pick(&fleet, 0, key, Some(1), None).expect("ready");
                assert!(r % 2 == 1 && r != 5, "{kind:?} picked {r}");
                seen[r as usize] += 1;
            }
            if !matches!(kind, BalancerKind::ConsistentHash { .. }) {
                // Each of the 3 ready replicas of region 1 gets a share.
                assert!([1, 3, 7].iter().all(|&r| seen[r] > 50), "{kind:?} {seen:?}");
            }
        }
    }

    #[test]
    fn a_split_by_weight_gives_each_version_its_share() {
        // 95/5: draws below 0.95 go to version 0, the rest to 1; a zero weight gets nothing.
        assert_eq!(version_by_weight(&[95.0, 5.0], 0.0), 0);
        assert_eq!(version_by_weight(&[95.0, 5.0], 0.9499), 0);
        assert_eq!(version_by_weight(&[95.0, 5.0], 0.95), 1);
        assert_eq!(version_by_weight(&[95.0, 5.0], 0.999_999), 1);
        assert_eq!(version_by_weight(&[1.0, 0.0], 0.999_999_999), 0);
        assert_eq!(version_by_weight(&[0.0, 3.0], 0.0), 1);
    }
}
