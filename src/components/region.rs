//! Regions: a region's outage takes down every replica a regional service runs there.

use super::fleet::ReplicaRef;
use super::service::ReplicaState;
use super::system::{Event, System};
use crate::engine::queue::EventQueue;
use crate::engine::time::Nanos;
use crate::metrics::run::Happening;

impl System<'_> {
    /// Every replica in `region` crashes, each back when the outage ends.
    pub(super) fn region_outage(
        &mut self,
        now_ns: Nanos,
        fault: usize,
        region: usize,
        duration_ns: Nanos,
        events: &mut EventQueue<Event>,
    ) {
        for service in 0..self.services.len() {
            if self.model.services[service].fleet.regions.is_none() {
                continue;
            }
            let hit: Vec<u32> = (0..self.services[service].replicas().len() as u32)
                .filter(|&i| {
                    let r = &self.services[service].replicas()[i as usize];
                    usize::from(r.region) == region && r.state != ReplicaState::Down
                })
                .collect();
            for replica in hit {
                self.fleet.log.push(
                    now_ns,
                    Happening::Crash {
                        fault,
                        service,
                        replica,
                    },
                );
                let incarnation = self.crash_replica(now_ns, service, replica, events);
                events.schedule(
                    now_ns.saturating_add(duration_ns),
                    Event::ReplicaUp(ReplicaRef {
                        service: service as u32,
                        replica,
                        incarnation,
                    }),
                );
            }
        }
    }

    /// The outage is over (its replicas come back through their own repair events).
    pub(super) fn region_restored(
        &mut self,
        _now_ns: Nanos,
        _region: usize,
        _events: &mut EventQueue<Event>,
    ) {
    }
}
