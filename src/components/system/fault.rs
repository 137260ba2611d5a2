//! Faults (`[[fault]]`): crashes at a time or recurring (MTBF/MTTR), spot interruptions,
//! slow and erroring windows, a dependency's outage, and a region's outage.
//!
//! A crash fails every request the replica holds (queued, being worked on, or waiting on its
//! own calls): the process that held them is gone. The replica restarts (billed, no traffic)
//! and is ready again after its repair time. Recurring crashes and spot interruptions strike
//! each ready replica after an exponential time (memoryless, so a replica's failures form a
//! Poisson process while it is up), drawn in the fault's own stream.

use super::System;
use crate::components::entity::Event;
use crate::components::entity::ReplicaRef;
use crate::components::fleet::ReplicaState;
use crate::engine::queue::EventQueue;
use crate::engine::time::Nanos;
use crate::metrics::run::Happening;
use crate::scenario::fleet::FaultKind;

impl System<'_> {
    pub(super) fn schedule_faults(&mut self, events: &mut EventQueue<Event>) {
        let model = self.model;
        for (i, fault) in model.fleet.faults.iter().enumerate() {
            if let Some((start, end)) = fault.kind.window() {
                events.schedule(start, Event::FaultStart(i as u32));
                if end < model.duration_ns {
                    events.schedule(end, Event::FaultEnd(i as u32));
                }
            }
        }
        // Recurring faults strike the replicas ready at the start.
        for service in 0..self.services.len() {
            let ready: Vec<u32> = self.services[service].fleet().ready_indices().collect();
            for replica in ready {
                self.arm_replica_faults(0, service, replica, events);
            }
        }
    }

    pub(super) fn on_fault_start(
        &mut self,
        now_ns: Nanos,
        fault: u32,
        events: &mut EventQueue<Event>,
    ) {
        let model = self.model;
        let i = fault as usize;
        self.world.set_fault_active(i, true);
        self.world.note(now_ns, Happening::FaultStart { fault: i });
        match &model.fleet.faults[i].kind {
            &FaultKind::CrashAt {
                service,
                duration_ns,
                replicas,
                ..
            } => {
                let ready: Vec<u32> = self.services[service]
                    .fleet()
                    .ready_indices()
                    .take(replicas as usize)
                    .collect();
                for replica in ready {
                    self.crash(now_ns, i, service, replica, duration_ns, events);
                }
            }
            FaultKind::Slow { service, .. } | FaultKind::Errors { service, .. } => {
                self.refresh_fault_factors(*service)
            }
            &FaultKind::Outage { service, .. } => {
                self.services[service].outage_began();
                self.fail_replica_frames(now_ns, service, None, events);
            }
            &FaultKind::RegionOutage {
                region,
                duration_ns,
                ..
            } => self.region_outage(now_ns, i, region, duration_ns, events),
            FaultKind::CrashRecurring { .. } | FaultKind::Spot { .. } => {}
        }
    }

    pub(super) fn on_fault_end(
        &mut self,
        now_ns: Nanos,
        fault: u32,
        events: &mut EventQueue<Event>,
    ) {
        let model = self.model;
        let i = fault as usize;
        self.world.set_fault_active(i, false);
        self.world.note(now_ns, Happening::FaultEnd { fault: i });
        match &model.fleet.faults[i].kind {
            FaultKind::Slow { service, .. } | FaultKind::Errors { service, .. } => {
                self.refresh_fault_factors(*service)
            }
            &FaultKind::Outage { service, .. } => {
                self.services[service].outage_ended();
            }
            &FaultKind::RegionOutage { region, .. } => self.region_restored(now_ns, region, events),
            _ => {}
        }
    }

    /// Crashes one replica, back after `repair_ns`.
    fn crash(
        &mut self,
        now_ns: Nanos,
        fault: usize,
        service: usize,
        replica: u32,
        repair_ns: Nanos,
        events: &mut EventQueue<Event>,
    ) {
        self.world.note(
            now_ns,
            Happening::Crash {
                fault,
                service,
                replica,
            },
        );
        let incarnation = self.crash_replica(now_ns, service, replica, events);
        events.schedule(
            now_ns.saturating_add(repair_ns),
            Event::ReplicaUp(ReplicaRef {
                service: service as u32,
                replica,
                incarnation,
            }),
        );
    }

    /// The service-time factor and extra error rate of the slow and errors faults under way.
    fn refresh_fault_factors(&mut self, service: usize) {
        let mut slow = 1.0;
        let mut ok = 1.0;
        for (fault, &active) in self
            .model
            .fleet
            .faults
            .iter()
            .zip(self.world.faults_active())
        {
            match fault.kind {
                FaultKind::Slow {
                    service: s, factor, ..
                } if active && s == service => slow *= factor,
                FaultKind::Errors {
                    service: s, rate, ..
                } if active && s == service => ok *= 1.0 - rate,
                _ => {}
            }
        }
        self.services[service].degrade(slow, 1.0 - ok);
    }

    /// A recurring crash or a spot interruption strikes a replica.
    pub(super) fn on_replica_fault(
        &mut self,
        now_ns: Nanos,
        fault: u32,
        replica: u32,
        incarnation: u32,
        events: &mut EventQueue<Event>,
    ) {
        let model = self.model;
        let i = fault as usize;
        let Some(service) = model.fleet.faults[i].kind.service() else {
            return;
        };
        let r = self.services[service].fleet().get(replica);
        if r.incarnation() != incarnation || r.state() != ReplicaState::Ready || r.is_broken() {
            return; // stale: the replica went, restarted or is already down
        }
        match &model.fleet.faults[i].kind {
            FaultKind::CrashRecurring { mttr, .. } => {
                let repair_ns = self.world.draw_repair_ns(i, mttr);
                self.crash(now_ns, i, service, replica, repair_ns, events);
            }
            FaultKind::Spot {
                notice_ns,
                provisioning,
                ..
            } => {
                self.world.note(
                    now_ns,
                    Happening::SpotNotice {
                        fault: i,
                        service,
                        replica,
                    },
                );
                let region = r.region();
                // The reclaimed replica drains through its notice; a replacement starts now.
                let fleet = self.services[service].fleet_mut();
                fleet.drain(replica);
                let incarnation = fleet.get(replica).incarnation();
                self.recount(now_ns, service);
                events.schedule(
                    now_ns.saturating_add(*notice_ns),
                    Event::SpotReclaim(ReplicaRef {
                        service: service as u32,
                        replica,
                        incarnation,
                    }),
                );
                self.start_replica(now_ns, service, region, provisioning, events);
            }
            _ => {}
        }
    }

    /// A spot replica's notice is over: whatever it still holds fails, and it goes.
    pub(super) fn on_spot_reclaim(
        &mut self,
        now_ns: Nanos,
        r: ReplicaRef,
        events: &mut EventQueue<Event>,
    ) {
        let service = r.service as usize;
        let fleet = self.services[service].fleet_mut();
        let replica = fleet.get(r.replica);
        if replica.incarnation() != r.incarnation || replica.state() != ReplicaState::Draining {
            return; // it finished its work and went down during the notice
        }
        fleet.reclaim(r.replica);
        self.fail_replica_frames(now_ns, service, Some(r.replica), events);
        self.recount(now_ns, service);
    }
}
