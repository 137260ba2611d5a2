//! Health checks (`health`): every `interval` each replica is probed; a dead replica fails
//! its probe, and `failures` failures in a row take it out of the balancer's rotation
//! (ejected). Until then it stays in rotation and every visit sent to it fails at once. Once
//! repaired, an ejected replica is back after its first successful probe. Probes of a service
//! run in phase, so a crash is detected `failures - 1` to `failures` intervals after it
//! happens (uniformly, for a crash at a random time).

use super::System;
use crate::components::entity::Event;
use crate::components::fleet::ReplicaState;
use crate::engine::queue::EventQueue;
use crate::engine::time::Nanos;
use crate::metrics::run::Happening;

impl System<'_> {
    pub(super) fn schedule_health_checks(&mut self, events: &mut EventQueue<Event>) {
        for (id, spec) in self.model.services.iter().enumerate() {
            if let Some(h) = &spec.fleet.health {
                if h.interval_ns < self.model.duration_ns {
                    events.schedule(h.interval_ns, Event::HealthCheck(id as u32));
                }
            }
        }
    }

    /// Probes every replica of a service.
    pub(super) fn on_health_check(
        &mut self,
        now_ns: Nanos,
        service: u32,
        events: &mut EventQueue<Event>,
    ) {
        let id = service as usize;
        let Some(health) = self.model.services[id].fleet.health else {
            return;
        };
        let next = now_ns.saturating_add(health.interval_ns);
        if next < self.model.duration_ns {
            events.schedule(next, Event::HealthCheck(service));
        }
        let mut changed = false;
        for index in 0..self.services[id].fleet().replicas().len() as u32 {
            let fleet = self.services[id].fleet_mut();
            let r = fleet.get(index);
            match r.state() {
                ReplicaState::Ready if r.is_broken() => {
                    if fleet.probe(index, false) >= health.failures {
                        fleet.eject(index);
                        changed = true;
                        self.world.note(
                            now_ns,
                            Happening::Ejected {
                                service: id,
                                replica: index,
                            },
                        );
                    }
                }
                ReplicaState::Starting if r.is_ejected() && !r.is_broken() => {
                    self.world.note(
                        now_ns,
                        Happening::Restored {
                            service: id,
                            replica: index,
                        },
                    );
                    self.become_ready(now_ns, id, index, events);
                }
                _ => {
                    fleet.probe(index, true);
                }
            }
        }
        if changed {
            self.recount(now_ns, id);
        }
    }
}
