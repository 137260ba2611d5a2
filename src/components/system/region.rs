//! Regions on `System`: the client region and the served one of each request, detection of
//! a region down, failover, and a region's backlog (`BacklogDrain`, `BacklogTimeout`); the
//! state is `components::region`'s.

use super::System;
use crate::components::entity::Event;
use crate::components::entity::ReplicaRef;
use crate::components::entity::{Ending, Parent, RequestInfo};
use crate::components::fleet::ReplicaState;
use crate::components::region::Waiting;
use crate::engine::queue::EventQueue;
use crate::engine::time::Nanos;
use crate::metrics::run::Happening;
use crate::scenario::model::ServiceId;

impl System<'_> {
    /// After the probe service's replicas changed: detect regions going down or coming back.
    pub(super) fn check_regions(&mut self, now_ns: Nanos, service: ServiceId) {
        if self.regions.probe != Some(service) {
            return;
        }
        let n = self.regions.views.len();
        // A dead replica still in rotation looks up until health checks eject it.
        let up: Vec<bool> = (0..n)
            .map(|r| {
                self.services[service]
                    .fleet()
                    .region_counts()
                    .get(r)
                    .is_some_and(|c| c.ready > 0)
            })
            .collect();
        if self.regions.views.iter().zip(&up).all(|(v, &u)| v.up == u) {
            return;
        }
        for (region, (view, &up)) in self.regions.views.iter_mut().zip(&up).enumerate() {
            if up && !view.up {
                if let Some(b) = &mut self.regions.backlogs {
                    let holds =
                        (0..b.specs.len()).any(|c| !b.queues[c * b.regions + region].is_empty());
                    if holds {
                        b.to_drain.push(region as u8);
                    }
                }
            }
            view.up = up;
        }
        let ttl = self.regions.ttl_ns;
        let all_resident = self.regions.all_resident();
        for region in 0..n {
            let latency = &self.regions.latency_ns[region];
            let answer = if up[region] {
                region
            } else {
                (0..n)
                    .filter(|&q| q != region && up[q])
                    .min_by_key(|&q| (latency[q], q))
                    .unwrap_or(region)
            } as u8;
            let view = &mut self.regions.views[region];
            if view.answers.back().is_some_and(|&(_, last)| last == answer) {
                continue;
            }
            // Answers no cache can hold any more: all but the last one in force a TTL ago.
            let oldest_held = now_ns.saturating_sub(ttl);
            while view
                .answers
                .get(1)
                .is_some_and(|&(since, _)| since <= oldest_held)
            {
                view.answers.pop_front();
            }
            view.answers.push_back((now_ns, answer));
            if all_resident {
                continue;
            }
            // A logged move not yet complete is overtaken: taken back from the log.
            match view.pending.take() {
                Some((due, _)) if due > now_ns => {
                    let log = &mut self.world.log.entries;
                    if let Some(i) = log.iter().rposition(|h| {
                        h.at_ns == due
                            && matches!(h.what, Happening::Failover { region: r, .. }
                                | Happening::Failback { region: r } if r == region)
                    }) {
                        log.remove(i);
                    }
                }
                Some((_, done)) => view.settled = done,
                None => {}
            }
            if answer == view.settled {
                continue; // back where the log says clients are: no move completed
            }
            let due = now_ns.saturating_add(ttl);
            view.pending = Some((due, answer));
            let happening = if usize::from(answer) == region {
                Happening::Failback { region }
            } else {
                Happening::Failover {
                    region,
                    to: usize::from(answer),
                }
            };
            self.world.log.push(due, happening);
        }
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
        let region = usize::from(request.client_region);
        if self.regions.views.get(region).is_none_or(|v| v.up) {
            return false;
        }
        let Some(b) = &mut self.regions.backlogs else {
            return false;
        };
        let Some(spec) = b.specs[usize::from(request.class)] else {
            return false;
        };
        let queue = usize::from(request.class) * b.regions + region;
        if b.queues[queue].len() >= spec.max as usize {
            self.end_request(now_ns, request, now_ns, Ending::Rejected);
            self.request_ended(now_ns, request, now_ns, Ending::Rejected, events);
            return true;
        }
        b.queues[queue].push_back(Waiting {
            request,
            arrived_ns: now_ns,
        });
        b.waiting += 1;
        if let (Some(timeout_ns), None) = (spec.timeout_ns, b.timer_due_ns[queue]) {
            let due = now_ns.saturating_add(timeout_ns);
            b.timer_due_ns[queue] = Some(due);
            events.schedule(due, Event::BacklogTimeout(queue as u32, due));
        }
        true
    }

    /// After an event that may have brought regions back: each region detected up with
    /// requests waiting is sent its backlog by an event at the same time, which runs after
    /// the events already due then (the other replicas coming back at the same instant).
    pub(super) fn schedule_backlog_drains(
        &mut self,
        now_ns: Nanos,
        events: &mut EventQueue<Event>,
    ) {
        if let Some(b) = &mut self.regions.backlogs {
            for region in b.to_drain.drain(..) {
                events.schedule(now_ns, Event::BacklogDrain(region));
            }
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
        if !self.regions.views[usize::from(region)].up {
            return; // down again at once: the requests keep waiting
        }
        let Some(b) = &mut self.regions.backlogs else {
            return;
        };
        let classes = b.specs.len();
        let queues: Vec<usize> = (0..classes)
            .map(|c| c * b.regions + usize::from(region))
            .collect();
        for &q in &queues {
            b.timer_due_ns[q] = None;
        }
        let mut sent = 0u64;
        loop {
            let Some(b) = &mut self.regions.backlogs else {
                return;
            };
            let Some(&q) = queues
                .iter()
                .filter(|&&q| !b.queues[q].is_empty())
                .min_by_key(|&&q| b.queues[q][0].arrived_ns)
            else {
                break;
            };
            let Waiting {
                mut request,
                arrived_ns,
            } = b.queues[q].pop_front().expect("a queue with a front");
            b.waiting -= 1;
            b.sent.insert(request.id, arrived_ns);
            request.backlogged = true;
            sent += 1;
            let entry = self.model.classes[usize::from(request.class)].entry;
            if request.measured {
                self.record.services[entry].calls += 1;
            }
            self.visit(now_ns, Parent::Root, entry, request, 0, 0, events);
        }
        if sent > 0 {
            self.world.log.push(
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
        let queue = queue as usize;
        loop {
            let Some(b) = &mut self.regions.backlogs else {
                return;
            };
            if b.timer_due_ns[queue] != Some(due_ns) {
                return; // stale: the backlog was sent, or the timer re-armed
            }
            let timeout_ns = b.specs[queue / b.regions]
                .and_then(|s| s.timeout_ns)
                .expect("a timer only for a backlog with a timeout");
            match b.queues[queue].front() {
                Some(w) if w.arrived_ns.saturating_add(timeout_ns) <= now_ns => {
                    let Waiting {
                        request,
                        arrived_ns,
                    } = b.queues[queue].pop_front().expect("a front");
                    b.waiting -= 1;
                    self.end_request(now_ns, request, arrived_ns, Ending::TimedOut);
                    self.request_ended(now_ns, request, arrived_ns, Ending::TimedOut, events);
                }
                Some(w) => {
                    let due = w.arrived_ns.saturating_add(timeout_ns);
                    b.timer_due_ns[queue] = Some(due);
                    events.schedule(due, Event::BacklogTimeout(queue as u32, due));
                    return;
                }
                None => {
                    b.timer_due_ns[queue] = None;
                    return;
                }
            }
        }
    }

    /// The arrival time of a request that ended: its own for one sent from a backlog.
    #[inline]
    pub(super) fn arrival_of(&mut self, request: RequestInfo, arrived_ns: Nanos) -> Nanos {
        if !request.backlogged {
            return arrived_ns;
        }
        self.regions
            .backlogs
            .as_mut()
            .and_then(|b| b.sent.remove(&request.id))
            .unwrap_or(arrived_ns)
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
        self.world.region_outages[region] += 1;
        for service in 0..self.services.len() {
            if self.model.services[service].fleet.regions.is_none() {
                continue;
            }
            let hit: Vec<u32> = (0..self.services[service].fleet().replicas().len() as u32)
                .filter(|&i| {
                    let r = self.services[service].fleet().get(i);
                    usize::from(r.region) == region && r.state() != ReplicaState::Down
                })
                .collect();
            for replica in hit {
                self.world.log.push(
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
        self.world.region_outages[region] -= 1;
        self.rollout_dirty |= self.deploying;
    }
}
