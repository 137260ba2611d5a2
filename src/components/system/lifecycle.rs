//! Replicas coming and going on `System`: provisioning (`ReplicaUp`), crashes that fail what
//! a replica holds, and the levels copied from the fleets' counts (`components::lifecycle`
//! holds the world's state).

use super::System;
use crate::components::entity::{Event, Frame, ReplicaRef};
use crate::components::fleet::ReplicaState;
use crate::components::lifecycle::HOUR_NS;
use crate::distribution::Distribution;
use crate::engine::queue::EventQueue;
use crate::engine::slab::Key;
use crate::engine::time::Nanos;
use crate::metrics::recorder::TimeWeighted;
use crate::metrics::run::Happening;
use crate::scenario::fleet::FaultKind;
use crate::scenario::model::ServiceId;

impl System<'_> {
    /// Everything scheduled at the start besides arrivals: levels at time 0, the first window
    /// end, autoscaler syncs, health probes, faults, and the traffic's spikes and steps in
    /// the log.
    pub(super) fn schedule_world(&mut self, events: &mut EventQueue<Event>) {
        let model = self.model;
        for (id, spec) in model.services.iter().enumerate() {
            let regions = spec.fleet.regions.as_ref().map_or(1, Vec::len);
            self.record.services[id].billed = vec![TimeWeighted::default(); regions];
            self.recount(0, id);
        }
        self.schedule_series(events);
        self.schedule_autoscalers(events);
        self.schedule_health_checks(events);
        self.schedule_faults(events);
        self.schedule_rollouts(events);
        if let crate::scenario::model::Arrivals::Shaped(shape) = &model.traffic.arrivals {
            for (spike, s) in shape.spikes.iter().enumerate() {
                self.world.note(
                    s.at_ns,
                    Happening::SpikeStart {
                        spike,
                        multiplier: s.multiplier,
                    },
                );
                let end_ns = s.at_ns.saturating_add(s.duration_ns);
                if end_ns <= model.duration_ns {
                    self.world.note(end_ns, Happening::SpikeEnd { spike });
                }
            }
            if let crate::scenario::world::BaseRate::Steps { steps, .. } = &shape.base {
                for (step, s) in steps.iter().enumerate() {
                    self.world.note(
                        s.at_ns,
                        Happening::StepStart {
                            step,
                            rate_per_s: s.rate_per_s,
                        },
                    );
                }
            }
        }
    }

    /// Copies a service's counts of replicas in each state into its levels, from `now_ns` on.
    pub(super) fn recount(&mut self, now_ns: Nanos, service: ServiceId) {
        let window = self.window;
        let deployed = self.services[service].rollout().is_some();
        let fleet = self.services[service].fleet_mut();
        fleet.take_changed();
        let record = &mut self.record.services[service];
        let counts = fleet.counts();
        record.ready.set(now_ns, counts.ready, window);
        record.starting.set(now_ns, counts.starting, window);
        for (level, region) in record.billed.iter_mut().zip(fleet.region_counts()) {
            level.set(now_ns, region.billed(), window);
        }
        record.peak_replicas = record.peak_replicas.max(counts.billed());
        for (hpa, region) in self
            .world
            .regional_hpas(service)
            .iter_mut()
            .zip(fleet.region_counts())
        {
            hpa.note_ready(now_ns, region.ready, window);
        }
        if deployed {
            let new = fleet.version_counts(crate::components::rollout::NEW);
            record.billed_new.set(now_ns, new.billed(), window);
            self.rollout_dirty = true;
            self.note_rollout_levels(now_ns, service);
        }
        self.check_regions(now_ns, service);
    }

    /// Recounts a service's levels if its fleet changed (a draining replica went down as its
    /// last visit left).
    #[inline]
    pub(super) fn note_fleet_change(&mut self, now_ns: Nanos, service: ServiceId) {
        if self.services[service].fleet_mut().take_changed() {
            self.recount(now_ns, service);
        }
    }

    /// Starts a new replica of `service` (in `region`), of the version new replicas are of:
    /// billed from now, ready after a draw of `provisioning`.
    pub(super) fn start_replica(
        &mut self,
        now_ns: Nanos,
        service: ServiceId,
        region: u16,
        provisioning: &Distribution,
        events: &mut EventQueue<Event>,
    ) -> u32 {
        let version = self.services[service].new_replica_version();
        self.start_replica_of(now_ns, service, version, region, provisioning, events)
    }

    /// Starts a new replica of `version`.
    pub(super) fn start_replica_of(
        &mut self,
        now_ns: Nanos,
        service: ServiceId,
        version: crate::components::fleet::VersionId,
        region: u16,
        provisioning: &Distribution,
        events: &mut EventQueue<Event>,
    ) -> u32 {
        let replica = self.services[service].start(version, region, false);
        let delay_ns = self.world.draw_provisioning_ns(service, provisioning);
        let incarnation = self.services[service].fleet().get(replica).incarnation();
        events.schedule(
            now_ns.saturating_add(delay_ns),
            Event::ReplicaUp(ReplicaRef {
                service: service as u32,
                replica,
                incarnation,
            }),
        );
        self.recount(now_ns, service);
        replica
    }

    /// A replica finished provisioning, or its repair is done.
    pub(super) fn on_replica_up(
        &mut self,
        now_ns: Nanos,
        r: ReplicaRef,
        events: &mut EventQueue<Event>,
    ) {
        let service = r.service as usize;
        let fleet = self.services[service].fleet_mut();
        if fleet.get(r.replica).incarnation() != r.incarnation {
            return; // stale: the slot was given up or restarted since
        }
        match fleet.repair(r.replica) {
            // Ejected by health checks: back at the first probe that succeeds.
            ReplicaState::Starting if fleet.get(r.replica).is_ejected() => {}
            ReplicaState::Starting => self.become_ready(now_ns, service, r.replica, events),
            // Repaired before health checks noticed: healthy again, exposed to faults again.
            ReplicaState::Ready => self.arm_replica_faults(now_ns, service, r.replica, events),
            _ => {}
        }
    }

    /// A replica takes traffic: counted, logged, and exposed to the recurring faults.
    pub(super) fn become_ready(
        &mut self,
        now_ns: Nanos,
        service: ServiceId,
        replica: u32,
        events: &mut EventQueue<Event>,
    ) {
        self.services[service].fleet_mut().ready(replica);
        self.recount(now_ns, service);
        let ready = self.services[service].fleet().counts().ready as u32;
        self.world.note(
            now_ns,
            Happening::ReplicaReady {
                service,
                replica,
                ready,
            },
        );
        self.arm_replica_faults(now_ns, service, replica, events);
        self.rollout_replica_ready(now_ns, service, replica, events);
    }

    /// A replica dies: out of rotation (or, with health checks, still in it but failing every
    /// visit until they eject it), every request it holds failed, restarting from now. Returns
    /// its new incarnation, which its repair event must carry.
    pub(super) fn crash_replica(
        &mut self,
        now_ns: Nanos,
        service: ServiceId,
        replica: u32,
        events: &mut EventQueue<Event>,
    ) -> u32 {
        let health = self.model.services[service].fleet.health.is_some();
        let incarnation = self.services[service].fleet_mut().crash(replica, health);
        self.fail_replica_frames(now_ns, service, Some(replica), events);
        // The process is gone: its own breakers and budgets with it.
        self.services[service].give_caller_state(replica);
        self.recount(now_ns, service);
        incarnation
    }

    /// Fails every request a replica (or, with `None`, the whole service) holds: queued ones
    /// first, so that no freed worker hands itself to a doomed frame.
    pub(super) fn fail_replica_frames(
        &mut self,
        now_ns: Nanos,
        service: ServiceId,
        replica: Option<u32>,
        events: &mut EventQueue<Event>,
    ) {
        let mut doomed: Vec<(bool, Key<Frame>)> = self
            .frames
            .iter()
            .filter(|(_, f)| {
                f.service == service && f.admitted && replica.is_none_or(|r| f.replica == r)
            })
            .map(|(key, f)| (f.stage != crate::components::entity::Stage::Queued, key))
            .collect();
        doomed.sort_by_key(|&(working, _)| working);
        for (_, key) in doomed {
            let on_replica = self
                .frames
                .get(key)
                .is_some_and(|f| replica.is_none_or(|r| f.replica == r));
            if on_replica {
                self.abort_frame(
                    now_ns,
                    key,
                    crate::components::entity::Ending::Failed,
                    events,
                );
            }
        }
        let fleet = self.services[service].fleet_mut();
        match replica {
            Some(r) => fleet.clear_load(r),
            None => {
                for r in 0..fleet.replicas().len() as u32 {
                    fleet.clear_load(r);
                }
            }
        }
        self.note_fleet_change(now_ns, service);
    }

    /// Arms the recurring faults (crashes, spot interruptions) of a replica that just became
    /// ready: each strikes after an exponential time, drawn in the fault's own stream.
    pub(super) fn arm_replica_faults(
        &mut self,
        now_ns: Nanos,
        service: ServiceId,
        replica: u32,
        events: &mut EventQueue<Event>,
    ) {
        let model = self.model;
        for (i, fault) in model.fleet.faults.iter().enumerate() {
            let mean_ns = match &fault.kind {
                FaultKind::CrashRecurring {
                    service: s,
                    mtbf_ns,
                    ..
                } if *s == service => *mtbf_ns,
                FaultKind::Spot {
                    service: s,
                    rate_per_hour,
                    ..
                } if *s == service => HOUR_NS / rate_per_hour,
                _ => continue,
            };
            let at = now_ns.saturating_add(self.world.draw_time_to_fault_ns(i, mean_ns));
            if at < model.duration_ns {
                let incarnation = self.services[service].fleet().get(replica).incarnation();
                events.schedule(
                    at,
                    Event::ReplicaFault {
                        fault: i as u32,
                        replica,
                        incarnation,
                    },
                );
            }
        }
    }
}
