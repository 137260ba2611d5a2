//! The autoscaler's handlers on `System`: each sync reads the metric over its scope's replicas
//! and asks the fleet for the count `components::autoscaler` decides (`AutoscaleSync`).

use super::System;
use crate::components::autoscaler::{pool_sync, ready_set, scoped_sync, Scrape};
use crate::components::entity::Event;
use crate::engine::queue::EventQueue;
use crate::engine::time::Nanos;
use crate::scenario::fleet::Autoscale;
use crate::scenario::model::ServiceId;

impl System<'_> {
    pub(super) fn schedule_autoscalers(&mut self, events: &mut EventQueue<Event>) {
        for (id, spec) in self.model.services.iter().enumerate() {
            if let Some(a) = &spec.fleet.autoscale {
                // The replicas ready at the start are ready when the first window starts.
                let ready = ready_set(self.services[id].replicas());
                if let Some(state) = self.world.autoscaler(id) {
                    state.mark_ready(ready);
                }
                let replicas = self.services[id].replicas();
                for (g, hpa) in self.world.regional_hpas(id).iter_mut().enumerate() {
                    hpa.mark_ready(
                        ready_set(replicas)
                            .into_iter()
                            .filter(|&(i, _)| usize::from(replicas[i as usize].region()) == g)
                            .collect(),
                    );
                }
                if a.sync_ns < self.model.duration_ns {
                    events.schedule(a.sync_ns, Event::AutoscaleSync(id as u32));
                }
            }
        }
    }

    /// A sync period is up: read the metric, decide, act.
    pub(super) fn on_autoscale_sync(
        &mut self,
        now_ns: Nanos,
        service: u32,
        events: &mut EventQueue<Event>,
    ) {
        let id = service as ServiceId;
        let model = self.model;
        let spec = &model.services[id];
        let Some(a) = &spec.fleet.autoscale else {
            return;
        };
        let next = now_ns.saturating_add(a.sync_ns);
        if next < model.duration_ns {
            events.schedule(next, Event::AutoscaleSync(service));
        }
        if self.world.scales_by_region(id) {
            self.sync_regions(now_ns, id, a, events);
            return;
        }
        if let Some(d) = self.separate_rollout(id) {
            for version in [
                crate::components::rollout::OLD,
                crate::components::rollout::NEW,
            ] {
                self.sync_version(now_ns, id, d, 0, version, a, events);
            }
            return;
        }
        let scrape = self.scrape(now_ns, id, a);
        // Under a rollout the HPA manages the desired total (the scale subresource), over
        // the pods of both versions; the strategy spreads any change.
        let rollout = self.services[id]
            .rollout()
            .filter(|&d| self.rollouts[d].active());
        let scale = rollout.map(|d| self.rollouts[d].desired()[0]);
        let state = self
            .world
            .autoscaler(id)
            .expect("an autoscaled service has an autoscaler");
        let Some(decision) = pool_sync(
            now_ns,
            a,
            state,
            self.services[id].replicas(),
            scrape,
            scale,
        ) else {
            return; // no metric yet (or no replica was ready to report one, or had a sample)
        };
        if !decision.changes() {
            return;
        }
        self.world
            .note(now_ns, decision.happening(id, decision.current()));
        if let Some(d) = rollout {
            self.rollout_resize(now_ns, d, 0, decision.desired(), events);
        } else if decision.adds() > 0 {
            for _ in 0..decision.adds() {
                self.start_replica(now_ns, id, 0, &a.provisioning, events);
            }
        } else {
            self.scale_down(now_ns, id, decision.removes());
        }
    }

    /// The metric over the last sync period, per ready replica, and the replicas ready
    /// through it; `None` when no replica was ready.
    fn scrape(&mut self, now_ns: Nanos, id: ServiceId, a: &Autoscale) -> Option<Scrape> {
        let window = self.window;
        let record = &self.record.services[id];
        let (busy, queued) = (
            record.busy_workers.run_area_at(now_ns, window),
            record.queued.run_area_at(now_ns, window),
        );
        // A leaf service keeps no `in_system` level of its own (`is_leaf`): it is the sum.
        let in_system = if self.services[id].is_leaf() {
            busy + queued
        } else {
            record.in_system.run_area_at(now_ns, window)
        };
        let now = [
            busy,
            in_system,
            queued,
            record.ready.run_area_at(now_ns, window),
        ];
        let visits = record.visits;
        let concurrency = f64::from(self.model.services[id].concurrency);
        let ready_now = ready_set(self.services[id].replicas());
        let state = self.world.autoscaler(id)?;
        state.scrape(now, visits, ready_now, concurrency, a.metric)
    }

    /// The rollout of `id` under way with one HPA per version (`autoscale = "separate"`).
    fn separate_rollout(&self, id: ServiceId) -> Option<usize> {
        self.services[id].rollout().filter(|&d| {
            self.rollouts[d].active()
                && self.model.deployments[d].autoscale
                    == crate::scenario::deploy::Coupling::Separate
        })
    }

    /// One version's own HPA during a rollout (`autoscale = "separate"`, as Flagger gives the
    /// primary and the canary each its own; in region `g` of a regional service, one per
    /// region and version): its utilization over its own ready replicas, its own pods,
    /// stabilization and limits; what it decides is a floor under the count the strategy
    /// gives the version there.
    #[allow(clippy::too_many_arguments)]
    fn sync_version(
        &mut self,
        now_ns: Nanos,
        id: ServiceId,
        d: usize,
        g: usize,
        version: crate::components::fleet::VersionId,
        a: &Autoscale,
        events: &mut EventQueue<Event>,
    ) {
        let window = self.window;
        let concurrency = f64::from(self.model.services[id].concurrency);
        let areas = self.rollouts[d].version_areas(now_ns, g, version, window);
        let regional = self.services[id].is_regional();
        let Some(decision) = scoped_sync(
            now_ns,
            a,
            self.world.version_autoscaler(d, g, usize::from(version)),
            self.services[id].replicas(),
            |r| r.version() == version && (!regional || usize::from(r.region()) == g),
            areas,
            concurrency,
            None,
        ) else {
            return;
        };
        self.rollouts[d].hpa_asks(g, version, decision.desired());
        if decision.changes() {
            self.world
                .note(now_ns, decision.happening(id, decision.current()));
            self.rollout_resize(now_ns, d, g, self.rollouts[d].desired()[g], events);
        }
    }

    /// The HPAs of a regional service, one per region (as a Kubernetes cluster per region
    /// has): each reads the utilization of its region's ready replicas and scales that
    /// region's count within the same `[min, max]`, starting replicas there and draining its
    /// newest. A region with no ready replica (down) has no sample, so its HPA does nothing.
    /// The log shows the service's total count before and after each region's change, and
    /// the region's observed utilization. Under a rollout with `autoscale = "blended"` each
    /// region's HPA reads both versions' replicas there and manages the region's desired
    /// count, which the strategy spreads over the versions; with `"separate"` each region
    /// has one HPA per version instead ([`System::sync_version`]).
    fn sync_regions(
        &mut self,
        now_ns: Nanos,
        id: ServiceId,
        a: &Autoscale,
        events: &mut EventQueue<Event>,
    ) {
        if let Some(d) = self.separate_rollout(id) {
            for g in 0..self.rollouts[d].desired().len() {
                for version in [
                    crate::components::rollout::OLD,
                    crate::components::rollout::NEW,
                ] {
                    self.sync_version(now_ns, id, d, g, version, a, events);
                }
            }
            return;
        }
        let window = self.window;
        let concurrency = f64::from(self.model.services[id].concurrency);
        let rollout = self.services[id]
            .rollout()
            .filter(|&d| self.rollouts[d].active());
        for g in 0..self.world.regional_hpas(id).len() {
            let region = g as u16;
            let scale = rollout.map(|d| self.rollouts[d].desired()[g]);
            let Some(decision) = self.world.regional_hpas(id)[g].sync(
                now_ns,
                a,
                self.services[id].replicas(),
                region,
                concurrency,
                scale,
                window,
            ) else {
                continue;
            };
            if !decision.changes() {
                continue;
            }
            let total = self.services[id].fleet().current();
            self.world.note(now_ns, decision.happening(id, total));
            if let Some(d) = rollout {
                self.rollout_resize(now_ns, d, g, decision.desired(), events);
            } else if decision.adds() > 0 {
                for _ in 0..decision.adds() {
                    self.start_replica(now_ns, id, region, &a.provisioning, events);
                }
            } else {
                self.services[id]
                    .fleet_mut()
                    .shrink_region(region, decision.removes());
                self.recount(now_ns, id);
            }
        }
    }

    /// A worker of a regional autoscaled service's replica became busy (+1) or free (-1):
    /// counted for its region's HPA.
    #[inline(always)]
    pub(super) fn note_region_busy(
        &mut self,
        now_ns: Nanos,
        service: ServiceId,
        replica: u32,
        delta: i64,
    ) {
        if self.regional_autoscaling {
            self.count_region_busy(now_ns, service, replica, delta);
        }
    }

    #[inline(never)]
    fn count_region_busy(&mut self, now_ns: Nanos, service: ServiceId, replica: u32, delta: i64) {
        let window = self.window;
        let g = usize::from(self.services[service].fleet().get(replica).region());
        if let Some(hpa) = self.world.regional_hpas(service).get_mut(g) {
            hpa.note_busy(now_ns, delta, window);
        }
    }

    /// Gives up `n` replicas: starting ones first, then ready ones drain, newest (highest
    /// slot) first.
    fn scale_down(&mut self, now_ns: Nanos, id: ServiceId, n: u32) {
        self.services[id].fleet_mut().shrink(None, n);
        self.recount(now_ns, id);
    }
}
