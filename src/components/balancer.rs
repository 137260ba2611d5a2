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
//! - `consistent_hash`: a hash ring of 64 virtual nodes per replica on the request's key;
//!   a key goes to the first ready replica clockwise, so a key keeps its replica while the
//!   set of replicas is unchanged, and few keys move when it changes.

use super::fleet::{Replica, VersionId};
use crate::engine::rng::{mix, Rng};
use crate::scenario::model::BalancerKind;
use rand::Rng as _;

/// Virtual nodes per replica on a consistent-hash ring.
const VIRTUAL_NODES: u64 = 64;

/// A balancing policy with its state.
#[derive(Debug, Clone)]
pub enum Balancer {
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
    ConsistentHash {
        ring: Vec<(u64, u32)>,
        built_for: usize,
    },
}

impl Balancer {
    /// The balancer of `kind`, drawing (if it draws) from `rng`.
    pub fn new(kind: &BalancerKind, rng: Rng) -> Balancer {
        match kind {
            BalancerKind::RoundRobin => Balancer::RoundRobin { next: Vec::new() },
            BalancerKind::Random => Balancer::Random { rng },
            BalancerKind::LeastOutstanding => Balancer::LeastOutstanding { next: 0 },
            BalancerKind::PowerOfTwo => Balancer::PowerOfTwo { rng },
            BalancerKind::Weighted(weights) => Balancer::Weighted {
                weights: weights.clone(),
                current: Vec::new(),
            },
            BalancerKind::ConsistentHash => Balancer::ConsistentHash {
                ring: Vec::new(),
                built_for: 0,
            },
        }
    }

    /// Whether `pick` needs the request's key.
    pub fn needs_key(&self) -> bool {
        matches!(self, Balancer::ConsistentHash { .. })
    }

    /// The replica to take the next visit (carrying `key` for `consistent_hash`; among the
    /// replicas of `region` only, for a regional service, and of `version` only, when asked
    /// to pick within a version), or `None` when no such replica is ready.
    #[inline]
    pub fn pick(
        &mut self,
        replicas: &[Replica],
        key: u64,
        region: Option<u16>,
        version: Option<VersionId>,
    ) -> Option<u32> {
        if let [only] = replicas {
            // Nothing to choose between (whatever the policy, and its state stays as is).
            return (only.is_ready()
                && region.is_none_or(|g| only.region == g)
                && version.is_none_or(|v| only.version == v))
            .then_some(0);
        }
        self.pick_among(replicas, key, region, version)
    }

    /// [`Balancer::pick`] among two replicas or more (kept out of line: a service of one
    /// replica, the common case, never gets here).
    fn pick_among(
        &mut self,
        replicas: &[Replica],
        key: u64,
        region: Option<u16>,
        version: Option<VersionId>,
    ) -> Option<u32> {
        let n = replicas.len();
        let usable = |r: &Replica| {
            r.is_ready()
                && region.is_none_or(|g| r.region == g)
                && version.is_none_or(|v| r.version == v)
        };
        match self {
            Balancer::RoundRobin { next } => {
                let slot = usize::from(region.unwrap_or(0));
                if next.len() <= slot {
                    next.resize(slot + 1, 0);
                }
                let start = if next[slot] < n { next[slot] } else { 0 };
                let chosen = (start..n).chain(0..start).find(|&i| usable(&replicas[i]))?;
                next[slot] = chosen + 1;
                Some(chosen as u32)
            }
            Balancer::Random { rng } => {
                let ready = replicas.iter().filter(|r| usable(r)).count();
                if ready == 0 {
                    return None;
                }
                let nth = rng.random_range(0..ready);
                nth_usable(replicas, nth, usable)
            }
            Balancer::LeastOutstanding { next } => {
                let start = if *next < n { *next } else { 0 };
                let chosen = (start..n)
                    .chain(0..start)
                    .filter(|&i| usable(&replicas[i]))
                    .min_by_key(|&i| replicas[i].outstanding())?;
                *next = chosen + 1;
                Some(chosen as u32)
            }
            Balancer::PowerOfTwo { rng } => {
                let ready = replicas.iter().filter(|r| usable(r)).count();
                match ready {
                    0 => None,
                    1 => nth_usable(replicas, 0, usable),
                    _ => {
                        let a = rng.random_range(0..ready);
                        let b = (a + 1 + rng.random_range(0..ready - 1)) % ready;
                        let (a, b) = (
                            nth_usable(replicas, a, usable)?,
                            nth_usable(replicas, b, usable)?,
                        );
                        let load = |i: u32| replicas[i as usize].outstanding();
                        Some(if load(b) < load(a) { b } else { a })
                    }
                }
            }
            Balancer::Weighted { weights, current } => {
                current.resize(n, 0.0);
                let weight = |i: usize| weights[i % weights.len()];
                let mut total = 0.0;
                let mut best: Option<usize> = None;
                for i in (0..n).filter(|&i| usable(&replicas[i])) {
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
            Balancer::ConsistentHash { ring, built_for } => {
                if *built_for != n {
                    *ring = (0..n as u32)
                        .flat_map(|r| {
                            (0..VIRTUAL_NODES).map(move |v| (mix(u64::from(r) << 32 | v), r))
                        })
                        .collect();
                    ring.sort_unstable();
                    *built_for = n;
                }
                let point = mix(key ^ 0x5eed_0f7e_4ba1);
                let start = ring.partition_point(|&(h, _)| h < point);
                (start..ring.len())
                    .chain(0..start)
                    .map(|i| ring[i].1)
                    .find(|&r| usable(&replicas[r as usize]))
            }
        }
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

/// The index of the `nth` usable replica.
fn nth_usable(replicas: &[Replica], nth: usize, usable: impl Fn(&Replica) -> bool) -> Option<u32> {
    replicas
        .iter()
        .enumerate()
        .filter(|(_, r)| usable(r))
        .nth(nth)
        .map(|(i, _)| i as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
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
            let mut b = Balancer::new(&kind, Stream::new(1, 0, "s", "balancer").sequential());
            for _ in 0..20 {
                let r = b.pick(fleet.replicas(), 0, None, Some(1)).expect("ready");
                assert!(r == 1 || r == 3, "{kind:?} picked {r}");
            }
            assert_eq!(b.pick(fleet.replicas(), 0, None, Some(2)), None, "{kind:?}");
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
