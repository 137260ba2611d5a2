//! The cache lookup on `System`: after a cache's own work, a hit answers at once and a miss
//! takes the `on_miss` plan (the stores and key laws are in `components::cache`).

use super::System;
use crate::components::entity::Frame;
use crate::engine::slab::Key;
use crate::engine::time::Nanos;
use crate::scenario::model::{Lookup, ServiceId};

impl System<'_> {
    /// The key request `request` carries at `service`: from the service's own key law if it
    /// is a keyed cache, else from the first keyed cache's (for `consistent_hash` elsewhere).
    pub(super) fn request_key(&self, service: ServiceId, request: u64) -> u64 {
        let law = self.services[service]
            .key_law()
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
                self.services[service].draw_hit(*hit_ratio, request, site, attempt)
            }
            Lookup::Keyed(..) => {
                let cache_key = self.request_key(service, request);
                self.services[service].cache_lookup(replica, cache_key, now_ns)
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
        if self.services[service].key_law().is_none() {
            return; // a fixed hit ratio holds nothing
        }
        let cache_key = self.request_key(service, request);
        self.services[service].cache_fill(replica, cache_key, now_ns);
    }
}
