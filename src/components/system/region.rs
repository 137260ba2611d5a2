//! Regions on `System`: the client region and the served one of each request, detection of
//! a region down, failover, and a region's backlog (`BacklogDrain`, `BacklogTimeout`); the
//! state is `components::region`'s.

use super::System;
use crate::components::entity::Event;
use crate::components::entity::ReplicaRef;
use crate::components::entity::{Ending, Parent, RequestInfo};
use crate::components::fleet::ReplicaState;
use crate::components::region::{Backlogged, Expiry};
use crate::engine::queue::EventQueue;
use crate::engine::time::Nanos;
use crate::metrics::run::Happening;
use crate::scenario::model::ServiceId;

impl System<'_> {
    /// After the probe service's replicas changed: detect regions going down or coming back
    /// (the DNS answers and their log are the regions' own).
    pub(super) fn check_regions(&mut self, now_ns: Nanos, service: ServiceId) {
        if !self.regions.is_probe(service) {
            return;
        }
        // A dead replica still in rotation looks up until health checks eject it.
        let up: Vec<bool> = (0..self.regions.count())
            .map(|r| {
                self.services[service]
                    .fleet()
                    .region_counts()
                    .get(r)
                    .is_some_and(|c| c.ready > 0)
            })
            .collect();
        self.regions.detect(now_ns, &up, self.world.log_mut());
    }

    /// An arriving request whose class has a backlog and whose region is detected down
    /// waits in its region's backlog (or, with the backlog full, is rejected): `true` if so,
    /// and the request is not sent.
    pub(super) fn hold_in_backlog(
        &mut self,
        now_ns: Nanos,
        request: RequestInfo,
        events: &mut EventQueue<Event>,
    ) -> bool {
        match self.regions.hold(now_ns, request) {
            Backlogged::No => false,
            Backlogged::Full => {
                self.end_request(now_ns, request, now_ns, Ending::Rejected);
                self.request_ended(now_ns, request, now_ns, Ending::Rejected, events);
                true
            }
            Backlogged::Waits(timer) => {
                if let Some((queue, due)) = timer {
                    events.schedule(due, Event::BacklogTimeout(queue, due));
                }
                true
            }
        }
    }

    /// After an event that may have brought regions back: each region detected up with
    /// requests waiting is sent its backlog by an event at the same time, which runs after
    /// the events already due then (the other replicas coming back at the same instant).
    pub(super) fn schedule_backlog_drains(
        &mut self,
        now_ns: Nanos,
        events: &mut EventQueue<Event>,
    ) {
        for region in self.regions.regions_to_drain() {
            events.schedule(now_ns, Event::BacklogDrain(region));
        }
    }

    /// The region is back: its backlogs' requests are sent, oldest first (across classes),
    /// each to its class's entry; their latency counts from their arrival.
    pub(super) fn on_backlog_drain(
        &mut self,
        now_ns: Nanos,
        region: u8,
        events: &mut EventQueue<Event>,
    ) {
        if !self.regions.detected_up(usize::from(region)) {
            return; // down again at once: the requests keep waiting
        }
        self.regions.begin_sending(region);
        let mut sent = 0u64;
        while let Some(request) = self.regions.next_to_send(region) {
            sent += 1;
            let entry = self.model.classes[usize::from(request.class)].entry;
            if request.measured {
                self.record.services[entry].calls += 1;
            }
            self.visit(now_ns, Parent::Root, entry, request, 0, 0, events);
        }
        if sent > 0 {
            self.world.note(
                now_ns,
                Happening::BacklogSent {
                    region: usize::from(region),
                    requests: sent,
                },
            );
        }
    }

    /// A backlog's oldest requests have waited its `timeout`: they time out, and the timer
    /// is armed for the next oldest.
    pub(super) fn on_backlog_timeout(
        &mut self,
        now_ns: Nanos,
        queue: u32,
        due_ns: Nanos,
        events: &mut EventQueue<Event>,
    ) {
        loop {
            match self.regions.expire(queue, due_ns, now_ns) {
                Expiry::TimedOut(request, arrived_ns) => {
                    self.end_request(now_ns, request, arrived_ns, Ending::TimedOut);
                    self.request_ended(now_ns, request, arrived_ns, Ending::TimedOut, events);
                }
                Expiry::Rearm(due) => {
                    events.schedule(due, Event::BacklogTimeout(queue, due));
                    return;
                }
                Expiry::Done => return,
            }
        }
    }

    /// The arrival time of a request that ended: its own for one sent from a backlog.
    #[inline]
    pub(super) fn arrival_of(&mut self, request: RequestInfo, arrived_ns: Nanos) -> Nanos {
        self.regions
            .arrival_of(request.id, request.backlogged, arrived_ns)
    }

    /// Every replica in `region` crashes, each back when the outage ends.
    pub(super) fn region_outage(
        &mut self,
        now_ns: Nanos,
        fault: usize,
        region: usize,
        duration_ns: Nanos,
        events: &mut EventQueue<Event>,
    ) {
        self.world.outage_began(region);
        for service in 0..self.services.len() {
            if self.model.services[service].fleet.regions.is_none() {
                continue;
            }
            let hit: Vec<u32> = (0..self.services[service].fleet().replicas().len() as u32)
                .filter(|&i| {
                    let r = self.services[service].fleet().get(i);
                    usize::from(r.region()) == region && r.state() != ReplicaState::Down
                })
                .collect();
            for replica in hit {
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

    /// The outage is over (its replicas come back through their own repair events); a
    /// rollout's controller resumes there.
    pub(super) fn region_restored(
        &mut self,
        _now_ns: Nanos,
        region: usize,
        _events: &mut EventQueue<Event>,
    ) {
        self.world.outage_ended(region);
        self.rollout_dirty |= self.deploying;
    }
}
