//! Caches: the lookup a cache service makes after its own work, and what one replica of a
//! keyed cache holds.
//!
//! Cache-aside: a hit answers at once; a miss takes the steps of the cache's `on_miss` plan
//! (the backend calls) and, when they succeed, fills the key. A keyed cache starts empty, so a
//! cold start shows in its hit ratio. Each replica holds up to `capacity` keys; with several
//! replicas the default balancer is `consistent_hash`, so keys are sharded across them.
//!
//! A request's key at a cache is a keyed draw on the stream `traffic/key` from the cache's
//! popularity law: the same request asks for the same key everywhere along its path that
//! uses the same law.

use super::request::Frame;
use super::system::System;
use crate::engine::rng::Stream;
use crate::engine::slab::Key;
use crate::engine::time::Nanos;
use crate::scenario::model::{KeySpace, Lookup, Policy, Popularity, ServiceId, Store};
use rand::Rng as _;
use rand_distr::Distribution as _;
use std::collections::{BTreeSet, HashMap, VecDeque};

/// A popularity law ready to sample keys from (1 is the most popular).
#[derive(Debug, Clone)]
pub struct KeyLaw {
    keys: u64,
    zipf: Option<rand_distr::Zipf<f64>>,
}

impl KeyLaw {
    pub fn new(space: &KeySpace) -> KeyLaw {
        let zipf = match space.popularity {
            Popularity::Zipf(exponent) => Some(
                rand_distr::Zipf::new(space.keys as f64, exponent)
                    .expect("validation keeps keys >= 1 and the exponent > 0"),
            ),
            Popularity::Uniform => None,
        };
        KeyLaw {
            keys: space.keys,
            zipf,
        }
    }

    /// The key request `request` asks for.
    pub fn key(&self, stream: Stream, request: u64) -> u64 {
        let mut rng = stream.at(request, 0, 0);
        match &self.zipf {
            Some(zipf) => (zipf.sample(&mut rng) as u64).clamp(1, self.keys),
            None => rng.random_range(1..=self.keys),
        }
    }
}

/// What one replica of a keyed cache holds: keys and when each was filled.
#[derive(Debug)]
pub struct CacheStore {
    capacity: usize,
    ttl_ns: Option<Nanos>,
    held: Held,
}

#[derive(Debug)]
enum Held {
    Lru(lru::LruCache<u64, Nanos>),
    /// Key -> (uses, tie-breaking sequence, filled at); and the eviction order.
    Lfu {
        entries: HashMap<u64, (u64, u64, Nanos)>,
        order: BTreeSet<(u64, u64, u64)>,
        next_seq: u64,
    },
    /// Key -> filled at; and the keys in fill order (with stale ones, skipped on eviction).
    Fifo {
        entries: HashMap<u64, Nanos>,
        order: VecDeque<(u64, Nanos)>,
    },
}

impl CacheStore {
    pub fn new(store: &Store) -> CacheStore {
        let held = match store.policy {
            Policy::Lru => Held::Lru(lru::LruCache::unbounded()),
            Policy::Lfu => Held::Lfu {
                entries: HashMap::new(),
                order: BTreeSet::new(),
                next_seq: 0,
            },
            Policy::Fifo => Held::Fifo {
                entries: HashMap::new(),
                order: VecDeque::new(),
            },
        };
        CacheStore {
            capacity: store.capacity as usize,
            ttl_ns: store.ttl_ns,
            held,
        }
    }

    /// Whether `key` is held (and not expired); a hit counts as a use (LRU, LFU). An expired
    /// key is dropped.
    pub fn lookup(&mut self, key: u64, now_ns: Nanos) -> bool {
        let ttl = self.ttl_ns;
        let fresh = |filled_ns: Nanos| ttl.is_none_or(|t| now_ns - filled_ns < t);
        match &mut self.held {
            Held::Lru(cache) => match cache.get(&key).copied() {
                Some(filled_ns) if fresh(filled_ns) => true,
                Some(_) => {
                    cache.pop(&key);
                    false
                }
                None => false,
            },
            Held::Lfu {
                entries,
                order,
                next_seq,
            } => match entries.get(&key).copied() {
                Some((uses, seq, filled_ns)) if fresh(filled_ns) => {
                    order.remove(&(uses, seq, key));
                    *next_seq += 1;
                    order.insert((uses + 1, *next_seq, key));
                    entries.insert(key, (uses + 1, *next_seq, filled_ns));
                    true
                }
                Some((uses, seq, _)) => {
                    order.remove(&(uses, seq, key));
                    entries.remove(&key);
                    false
                }
                None => false,
            },
            Held::Fifo { entries, .. } => match entries.get(&key).copied() {
                Some(filled_ns) if fresh(filled_ns) => true,
                Some(_) => {
                    entries.remove(&key);
                    false
                }
                None => false,
            },
        }
    }

    /// Fills `key` after a miss, evicting by the policy when full. A key filled meanwhile by
    /// another miss is refreshed.
    pub fn fill(&mut self, key: u64, now_ns: Nanos) {
        let capacity = self.capacity;
        match &mut self.held {
            Held::Lru(cache) => {
                cache.put(key, now_ns);
                while cache.len() > capacity {
                    cache.pop_lru();
                }
            }
            Held::Lfu {
                entries,
                order,
                next_seq,
            } => {
                *next_seq += 1;
                let uses = match entries.get(&key) {
                    Some(&(uses, seq, _)) => {
                        order.remove(&(uses, seq, key));
                        uses
                    }
                    None => 1,
                };
                entries.insert(key, (uses, *next_seq, now_ns));
                order.insert((uses, *next_seq, key));
                while entries.len() > capacity {
                    let (_, _, victim) = order.pop_first().expect("over capacity, so not empty");
                    entries.remove(&victim);
                }
            }
            Held::Fifo { entries, order } => {
                entries.insert(key, now_ns);
                order.push_back((key, now_ns));
                while entries.len() > capacity {
                    let (victim, filled_ns) = order.pop_front().expect("over capacity");
                    // Skip entries refilled since (a newer fill is further back in line).
                    if entries.get(&victim) == Some(&filled_ns) {
                        entries.remove(&victim);
                    }
                }
                // Keep the line from growing with stale entries of expired or refilled keys.
                if order.len() > 2 * capacity.max(1) {
                    order.retain(|(k, t)| entries.get(k) == Some(t));
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        match &self.held {
            Held::Lru(cache) => cache.len(),
            Held::Lfu { entries, .. } => entries.len(),
            Held::Fifo { entries, .. } => entries.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl System<'_> {
    /// The key request `request` carries at `service`: from the service's own key law if it
    /// is a keyed cache, else from the first keyed cache's (for `consistent_hash` elsewhere).
    pub(super) fn request_key(&self, service: ServiceId, request: u64) -> u64 {
        let law = self.services[service]
            .key_law
            .as_ref()
            .or(self.default_key_law.as_ref());
        match law {
            Some(law) => law.key(self.key_stream, request),
            // Validation refuses consistent_hash without a key space; hash the request id.
            None => request,
        }
    }

    /// A cache's lookup after its work: true on a hit. Counts lookups and hits in the
    /// measured window.
    pub(super) fn cache_lookup(&mut self, now_ns: Nanos, key: Key<Frame>) -> bool {
        let frame = self.frame(key);
        let (service, replica) = (frame.service, frame.replica);
        let (request, site, attempt, measured) = (
            frame.request.id,
            frame.site,
            frame.attempt,
            frame.request.measured,
        );
        let model = self.model;
        let Some(cache) = &model.services[service].cache else {
            return true;
        };
        let hit = match &cache.lookup {
            Lookup::Fixed { hit_ratio } => {
                self.services[service]
                    .hit_stream
                    .at(request, site, attempt)
                    .random::<f64>()
                    < *hit_ratio
            }
            Lookup::Keyed(..) => {
                let cache_key = self.request_key(service, request);
                self.services[service].stores[replica as usize].lookup(cache_key, now_ns)
            }
        };
        if measured {
            let record = &mut self.record.services[service];
            record.cache_lookups += 1;
            record.cache_hits += u64::from(hit);
        }
        hit
    }

    /// After a miss's calls succeeded, the key goes into the replica's store.
    pub(super) fn fill_cache(&mut self, now_ns: Nanos, key: Key<Frame>) {
        let frame = self.frame(key);
        if !frame.on_miss {
            return;
        }
        let (service, replica, request) = (frame.service, frame.replica, frame.request.id);
        if self.services[service].stores.is_empty() {
            return; // a fixed hit ratio holds nothing
        }
        let cache_key = self.request_key(service, request);
        self.services[service].stores[replica as usize].fill(cache_key, now_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(policy: Policy, capacity: u64, ttl_ns: Option<Nanos>) -> CacheStore {
        CacheStore::new(&Store {
            capacity,
            policy,
            ttl_ns,
        })
    }

    #[test]
    fn each_policy_evicts_its_own_victim() {
        // Capacity 2; fill 1, 2; use 1 twice; fill 3. LRU evicts 2 (least recently used),
        // LFU evicts 2 (fewest uses), FIFO evicts 1 (first in).
        for (policy, kept) in [
            (Policy::Lru, [true, false, true]),
            (Policy::Lfu, [true, false, true]),
            (Policy::Fifo, [false, true, true]),
        ] {
            let mut s = store(policy, 2, None);
            s.fill(1, 0);
            s.fill(2, 1);
            assert!(s.lookup(1, 2) && s.lookup(1, 3));
            s.fill(3, 4);
            assert_eq!(s.len(), 2);
            let held: Vec<bool> = (1..=3).map(|k| s.lookup(k, 5)).collect();
            assert_eq!(held, kept, "{policy:?}");
        }
    }

    #[test]
    fn a_key_expires_after_its_ttl() {
        for policy in [Policy::Lru, Policy::Lfu, Policy::Fifo] {
            let mut s = store(policy, 10, Some(100));
            s.fill(7, 1_000);
            assert!(s.lookup(7, 1_099), "{policy:?}");
            assert!(!s.lookup(7, 1_100), "{policy:?}: expired");
            assert!(!s.lookup(7, 1_101), "{policy:?}: and gone");
        }
    }

    #[test]
    fn zipf_keys_follow_the_law() {
        // Zipf(1) over 10 keys: P(key 1) = 1 / H_10 = 0.3414; over N = 200,000 requests the
        // share is within 5 standard errors (0.0011 each).
        let law = KeyLaw::new(&KeySpace {
            keys: 10,
            popularity: Popularity::Zipf(1.0),
        });
        let stream = Stream::new(1, 0, "traffic", "key");
        let n = 200_000;
        let ones = (0..n).filter(|&r| law.key(stream, r) == 1).count() as f64 / n as f64;
        let h10: f64 = (1..=10).map(|k| 1.0 / k as f64).sum();
        assert!((ones - 1.0 / h10).abs() < 0.0053, "share of key 1: {ones}");
        assert!((0..1000).all(|r| (1..=10).contains(&law.key(stream, r))));
    }
}
