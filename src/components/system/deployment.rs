//! Deployments: a new version of a service rolled out during the run by a controller that
//! reconciles whole replica counts, as Kubernetes' Deployment, Argo Rollouts and Flagger do.
//!
//! A controller changes the service only through its fleet (start replicas of a version,
//! give some up) and through its rollout's *route*: which version a visit goes to (by
//! replica count, only one version, or a weight drawn per request, so that a request keeps
//! its version at every visit, as a header or cookie keeps it in an A/B test). What is the
//! rollout's own (its phase, step, analysis window, A/B arms, routing draws, levels) it
//! changes through `RolloutState`'s methods (`rollout.rs`); this file keeps what touches
//! fleets, events and the log. It wakes when
//! a time it waits for comes (`Event::Rollout`) and after any change to its service's fleet
//! (`recount` marks it), and each time it looks at the counts and does what its strategy says
//! next: reconciling is idempotent, so an extra wake-up changes nothing.
//!
//! *Available* replicas are ready and have been for `min_ready` (Kubernetes'
//! `minReadySeconds`); gates wait for available replicas.
//!
//! While a rollout runs, the service's autoscaler sets the desired total (`resize`), and the
//! strategy spreads it over the versions (a rolling update in proportion to their sizes, as
//! the Deployment controller does); after it ends, new replicas are of the new version.
//!
//! A regional service is rolled out as one Rollout applied to every region's cluster and
//! promoted together: one phase, route and outcome, but the replica counts reconciled per
//! region on that region's own desired count (its HPA's), a gate waiting for every region,
//! the rollout done when every region is. A region under an outage is left alone (nothing
//! started or drained there) and the rollout does not end until it is back.

use super::System;
use crate::components::entity::Event;
use crate::components::entity::{Ending, RequestInfo};
use crate::components::fleet::VersionId;
use crate::components::rollout::{Check, Judgement, Outcome, Phase, Route, StepReached, NEW, OLD};
use crate::engine::queue::EventQueue;
use crate::engine::time::Nanos;
use crate::metrics::run::{Happening, RolloutKind};
use crate::scenario::deploy::{StrategyKind, Switch};
use crate::scenario::model::ServiceId;

impl System<'_> {
    /// Schedules each deployment's start.
    pub(super) fn schedule_rollouts(&mut self, events: &mut EventQueue<Event>) {
        for (i, d) in self.model.deployments.iter().enumerate() {
            events.schedule(d.at_ns, Event::Rollout(i as u32));
        }
    }

    /// A rollout's wake-up: reconcile it.
    pub(super) fn on_rollout(&mut self, now_ns: Nanos, d: u32, events: &mut EventQueue<Event>) {
        self.reconcile(now_ns, d as usize, events);
    }

    /// Reconciles every rollout whose service's fleet changed since the last event.
    pub(super) fn reconcile_changed(&mut self, now_ns: Nanos, events: &mut EventQueue<Event>) {
        self.rollout_dirty = false;
        for d in 0..self.rollouts.len() {
            if self.rollouts[d].active() {
                self.reconcile(now_ns, d, events);
            }
        }
    }

    /// A replica of a deployed service became ready: the controller counts it available
    /// `min_ready` later, and looks again then.
    pub(super) fn rollout_replica_ready(
        &mut self,
        now_ns: Nanos,
        service: ServiceId,
        replica: u32,
        events: &mut EventQueue<Event>,
    ) {
        let Some(d) = self.services[service].rollout() else {
            return;
        };
        if let Some(at_ns) = self.rollouts[d].replica_ready(replica, now_ns) {
            events.schedule(at_ns, Event::Rollout(d as u32));
        }
    }

    /// A worker of a deployed service's replica became busy (+1) or free (-1): counted for
    /// its version's own HPA.
    #[inline(always)]
    pub(super) fn note_version_busy(
        &mut self,
        now_ns: Nanos,
        service: ServiceId,
        replica: u32,
        delta: i64,
    ) {
        if self.deploying {
            self.count_version_busy(now_ns, service, replica, delta);
        }
    }

    #[inline(never)]
    fn count_version_busy(&mut self, now_ns: Nanos, service: ServiceId, replica: u32, delta: i64) {
        if let Some(d) = self.services[service].rollout() {
            // A replica of a service without regions is in region 0.
            let r = self.services[service].fleet().get(replica);
            let g = usize::from(r.region());
            self.rollouts[d].note_busy(now_ns, g, r.version(), delta, self.window);
        }
    }

    /// A visit to a deployed service ended: a canary's analysis counts the new version's.
    pub(super) fn rollout_visit_ended(
        &mut self,
        d: usize,
        version: VersionId,
        ending: Ending,
        latency_ns: Nanos,
    ) {
        self.rollouts[d].note_outcome(version, ending, latency_ns);
    }

    /// A request ended: an A/B test counts it in its arm, converted or not.
    pub(super) fn rollout_request_ended(&mut self, now_ns: Nanos, request: RequestInfo, ok: bool) {
        let model = self.model;
        for (state, spec) in self.rollouts.iter_mut().zip(&model.deployments) {
            state.note_request(model, spec, now_ns, request, ok);
        }
    }

    /// Whether a request visiting `service` is mirrored to its new version now.
    #[inline]
    pub(super) fn mirrors(&self, service: ServiceId, request: &RequestInfo) -> bool {
        let Some(d) = self.services[service].rollout() else {
            return false;
        };
        self.rollouts[d].mirror(request, self.model.deployments[d].shadow.mirror)
    }

    /// The autoscaler wants `desired` replicas of a service under a rollout (in region `g`
    /// of a regional service, whose HPAs are one per region; `g` = 0 otherwise): the
    /// strategy spreads the change over the versions.
    pub(super) fn rollout_resize(
        &mut self,
        now_ns: Nanos,
        d: usize,
        g: usize,
        desired: u32,
        events: &mut EventQueue<Event>,
    ) {
        let spec = &self.model.deployments[d];
        let old_desired = self.rollouts[d].resize(g, desired);
        if spec.strategy == StrategyKind::Rolling && self.rollouts[d].phase() == Phase::Progressing
        {
            // Proportional scaling (Kubernetes' `scale`): the change to the allowed total
            // (desired + surge) is split over the versions in proportion to their sizes, the
            // rounding leftover going to the larger.
            let (surge, _) = spec.rolling.fenceposts(desired);
            let live = [self.live(d, g, OLD), self.live(d, g, NEW)];
            let all = live[0] + live[1];
            let to_add = i64::from(desired + surge) - i64::from(all);
            if all > 0 && to_add != 0 && desired != old_desired {
                let mut parts =
                    live.map(|n| (f64::from(n) * to_add as f64 / f64::from(all)).round() as i64);
                let larger = usize::from(live[1] > live[0]);
                parts[larger] += to_add - parts[0] - parts[1];
                for (v, part) in parts.into_iter().enumerate() {
                    self.change_version(now_ns, d, g, v as VersionId, part, events);
                }
            }
        }
        self.reconcile(now_ns, d, events);
    }

    /// What a rolling update promises between events, in a world without faults, in each
    /// region: at most desired + surge replicas (ready or starting), and at least desired -
    /// unavailable of them available (with an autoscaler, live: ready or starting); and what
    /// blue-green promises without an autoscaler too: every version taking traffic has its whole desired
    /// set ready in each region (no capacity dip); or the first promise broken.
    ///
    /// The availability floor bounds the controller's own scale-downs (Kubernetes scales an
    /// available old replica down only while more than desired - maxUnavailable are
    /// available), not replicas an autoscaler has asked for and that are still starting: a
    /// rollout that begins, or is resized, in the middle of a scale-up starts below the floor
    /// and stays there until they are ready, in Kubernetes as here (found by the `designs`
    /// fuzz target: 4 of 6 available at the rollout's start, the HPA's 2 new replicas still
    /// provisioning). What the controller's scale-downs do promise then is the floor on live
    /// replicas: it removes an unavailable one only within maxScaledDown and an available one
    /// only above the floor of available ones, so live ones never fall under it.
    pub(super) fn rollout_invariants(&self, now_ns: Nanos) -> Result<(), String> {
        if !self.model.fleet.faults.is_empty() {
            return Ok(());
        }
        for (d, spec) in self.model.deployments.iter().enumerate() {
            let state = &self.rollouts[d];
            if spec.strategy == StrategyKind::BlueGreen
                && state.active()
                && self.model.services[spec.service].fleet.autoscale.is_none()
            {
                for v in [OLD, NEW] {
                    let serves = state.serves(v);
                    for (g, &desired) in state.desired().iter().enumerate() {
                        let c = self.services[spec.service]
                            .fleet()
                            .pair_counts(self.scope(d, g), v);
                        if serves && (c.ready as u32) < desired {
                            return Err(format!(
                                "blue-green (region {g}): version {v} serves with {} ready of {desired}",
                                c.ready
                            ));
                        }
                    }
                }
            }
            if spec.strategy != StrategyKind::Rolling || state.phase() != Phase::Progressing {
                continue;
            }
            for (g, &desired) in state.desired().iter().enumerate() {
                let (surge, unavailable) = spec.rolling.fenceposts(desired);
                let live = self.live(d, g, OLD) + self.live(d, g, NEW);
                if live > desired + surge {
                    return Err(format!(
                        "rolling (region {g}): {live} replicas, more than {desired} + {surge}"
                    ));
                }
                // With an autoscaler, replicas it asked for may still be starting: the
                // controller then holds the floor on the live ones it could scale down.
                let autoscaled = self.model.services[spec.service].fleet.autoscale.is_some();
                let (counted, what) = if autoscaled {
                    (live, "live")
                } else {
                    let available =
                        self.available(now_ns, d, g, OLD) + self.available(now_ns, d, g, NEW);
                    (available, "available")
                };
                if counted + unavailable < desired {
                    return Err(format!(
                        "rolling (region {g}): {counted} {what}, fewer than {desired} - {unavailable}"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The region filter of a rollout's region `g`: `None` for a service without regions
    /// (its one scope holds every replica).
    fn scope(&self, d: usize, g: usize) -> Option<u16> {
        let service = self.model.deployments[d].service;
        self.services[service].is_regional().then_some(g as u16)
    }

    /// Ready and starting replicas of a version in region `g` (what a ReplicaSet's size
    /// counts).
    fn live(&self, d: usize, g: usize, v: VersionId) -> u32 {
        let service = self.model.deployments[d].service;
        let c = self.services[service]
            .fleet()
            .pair_counts(self.scope(d, g), v);
        (c.ready + c.starting) as u32
    }

    /// Ready replicas of a version in region `g` that have been ready for `min_ready`.
    fn available(&self, now_ns: Nanos, d: usize, g: usize, v: VersionId) -> u32 {
        let spec = &self.model.deployments[d];
        let state = &self.rollouts[d];
        let fleet = self.services[spec.service].fleet();
        let (list, filter) = fleet.ready_list(self.scope(d, g), Some(v));
        list.iter()
            .filter(|&&r| {
                filter.is_none_or(|f| fleet.get(r).version() == f) && state.available(r, now_ns)
            })
            .count() as u32
    }

    /// Whether every region's available replicas of `v` reach `target` of its desired count.
    fn available_everywhere(
        &self,
        now_ns: Nanos,
        d: usize,
        v: VersionId,
        target: impl Fn(u32) -> u32,
    ) -> bool {
        let desired = self.rollouts[d].desired();
        (0..desired.len()).all(|g| self.available(now_ns, d, g, v) >= target(desired[g]))
    }

    /// Moves version `v` in every region to `target` of that region's desired count.
    fn scale_everywhere(
        &mut self,
        now_ns: Nanos,
        d: usize,
        v: VersionId,
        target: impl Fn(u32) -> u32,
        events: &mut EventQueue<Event>,
    ) {
        for g in 0..self.rollouts[d].desired().len() {
            let to = target(self.rollouts[d].desired()[g]);
            self.scale_version(now_ns, d, g, v, to, events);
        }
    }

    /// Whether a region of the deployed service (one it has replicas in) is under an
    /// outage: the controller changes nothing there (as a cluster it cannot reach), and the
    /// rollout does not end, until it is back.
    fn region_out(&self, d: usize, g: usize) -> bool {
        self.scope(d, g).is_some() && self.world.in_outage(g) && self.rollouts[d].desired()[g] > 0
    }

    fn any_region_out(&self, d: usize) -> bool {
        (0..self.rollouts[d].desired().len()).any(|g| self.region_out(d, g))
    }

    /// Starts (`by` > 0) or gives up (`by` < 0) replicas of a version in region `g` (nothing
    /// while the region is under an outage).
    fn change_version(
        &mut self,
        now_ns: Nanos,
        d: usize,
        g: usize,
        v: VersionId,
        by: i64,
        events: &mut EventQueue<Event>,
    ) {
        let model = self.model;
        let spec = &model.deployments[d];
        let service = spec.service;
        if by != 0 && self.region_out(d, g) {
            return;
        }
        if by > 0 {
            let provisioning = if v == NEW {
                spec.provisioning.clone()
            } else {
                model.services[service]
                    .fleet
                    .autoscale
                    .as_ref()
                    .map_or_else(
                        || crate::distribution::Distribution::constant(0.0),
                        |a| a.provisioning.clone(),
                    )
            };
            for _ in 0..by {
                self.start_replica_of(now_ns, service, v, g as u16, &provisioning, events);
            }
        } else if by < 0 {
            let scope = self.scope(d, g);
            self.services[service]
                .fleet_mut()
                .shrink_of(Some(v), scope, (-by) as u32);
            self.recount(now_ns, service);
        }
    }

    /// Moves a version in region `g` to `target` live replicas (with one HPA per version,
    /// at least what the version's own HPA asks, unless the version is to go).
    fn scale_version(
        &mut self,
        now_ns: Nanos,
        d: usize,
        g: usize,
        v: VersionId,
        target: u32,
        events: &mut EventQueue<Event>,
    ) {
        let target = self.rollouts[d].version_target(g, v, target);
        let live = self.live(d, g, v);
        self.change_version(now_ns, d, g, v, i64::from(target) - i64::from(live), events);
    }

    fn set_route(&mut self, now_ns: Nanos, d: usize, route: Route) {
        let service = self.model.deployments[d].service;
        let fleet = self.services[service].fleet();
        self.rollouts[d].route_to(now_ns, route, fleet, self.window);
    }

    /// Copies a deployed service's ready replicas per version, and its new version's weight,
    /// into the rollout's levels.
    pub(super) fn note_rollout_levels(&mut self, now_ns: Nanos, service: ServiceId) {
        let Some(d) = self.services[service].rollout() else {
            return;
        };
        let fleet = self.services[service].fleet();
        self.rollouts[d].note_ready(now_ns, fleet, self.window);
    }

    fn log_rollout(&mut self, now_ns: Nanos, d: usize, kind: RolloutKind, value: f64) {
        let service = self.model.deployments[d].service;
        self.world.note(
            now_ns,
            Happening::Rollout {
                service,
                kind,
                value,
            },
        );
    }

    fn wake_at(&self, at_ns: Nanos, d: usize, events: &mut EventQueue<Event>) {
        if at_ns < self.model.duration_ns {
            events.schedule(at_ns, Event::Rollout(d as u32));
        }
    }

    /// Ends the rollout: one version left (logged as the teardown), new replicas of
    /// `version` from now on.
    fn finish_rollout(&mut self, now_ns: Nanos, d: usize, version: VersionId) {
        let service = self.model.deployments[d].service;
        self.services[service].start_new_replicas_of(version);
        self.set_route(now_ns, d, Route::ByCount);
        self.rollouts[d].finish(now_ns);
        self.log_rollout(now_ns, d, RolloutKind::Teardown, 0.0);
    }

    /// After a decision: `keep` at the desired count, the other version torn down once the
    /// phase's delay is over (until then held at the desired count too if `hold_other`, as
    /// blue-green keeps blue whole while it may still serve).
    fn keep_then_tear_down(
        &mut self,
        now_ns: Nanos,
        d: usize,
        keep: VersionId,
        hold_other: bool,
        events: &mut EventQueue<Event>,
    ) {
        let go = if keep == NEW { OLD } else { NEW };
        self.scale_everywhere(now_ns, d, keep, |desired| desired, events);
        if self.rollouts[d].wait_over(now_ns) && !self.any_region_out(d) {
            self.scale_everywhere(now_ns, d, go, |_| 0, events);
            self.finish_rollout(now_ns, d, keep);
        } else if hold_other {
            self.scale_everywhere(now_ns, d, go, |desired| desired, events);
        }
    }

    fn decide(&mut self, now_ns: Nanos, d: usize, outcome: Outcome) {
        let kind = match outcome {
            Outcome::RolledBack => RolloutKind::RolledBack,
            Outcome::Inconclusive => RolloutKind::Inconclusive,
            _ => RolloutKind::Promoted,
        };
        self.rollouts[d].decide(outcome, now_ns);
        self.log_rollout(now_ns, d, kind, 0.0);
    }

    /// Looks at the rollout's counts and takes its strategy's next step.
    fn reconcile(&mut self, now_ns: Nanos, d: usize, events: &mut EventQueue<Event>) {
        let spec = &self.model.deployments[d];
        if self.rollouts[d].phase() == Phase::Done || now_ns < spec.at_ns {
            return;
        }
        if self.rollouts[d].phase() == Phase::Pending {
            let fleet = self.services[spec.service].fleet();
            let desired = if self.services[spec.service].is_regional() {
                let live = |c: &crate::components::fleet::Counts| (c.ready + c.starting) as u32;
                fleet.region_counts().iter().map(live).collect()
            } else {
                vec![fleet.current()]
            };
            self.rollouts[d].begin(now_ns, desired);
            self.log_rollout(now_ns, d, RolloutKind::Start, spec.strategy as u8 as f64);
            match spec.strategy {
                StrategyKind::BlueGreen | StrategyKind::Canary | StrategyKind::AbTest => {
                    // A router holds traffic on the old version until the new one may have it.
                    self.set_route(now_ns, d, Route::Only(OLD));
                }
                StrategyKind::Shadow => self.set_route(now_ns, d, Route::Only(OLD)),
                _ => {}
            }
        }
        match spec.strategy {
            StrategyKind::Recreate => self.reconcile_recreate(now_ns, d, events),
            StrategyKind::Rolling => self.reconcile_rolling(now_ns, d, events),
            StrategyKind::BlueGreen => self.reconcile_blue_green(now_ns, d, events),
            StrategyKind::Canary => self.reconcile_canary(now_ns, d, events),
            StrategyKind::AbTest => self.reconcile_ab(now_ns, d, events),
            StrategyKind::Shadow => self.reconcile_shadow(now_ns, d, events),
        }
    }

    /// Recreate: every old replica goes; once none is left (draining ones included), the new
    /// ones start; done when they are all available.
    /// In each region on its own.
    fn reconcile_recreate(&mut self, now_ns: Nanos, d: usize, events: &mut EventQueue<Event>) {
        let service = self.model.deployments[d].service;
        let mut done = true;
        for g in 0..self.rollouts[d].desired().len() {
            let desired = self.rollouts[d].desired()[g];
            let old = self.services[service]
                .fleet()
                .pair_counts(self.scope(d, g), OLD);
            if old.billed() > 0 {
                if self.live(d, g, OLD) > 0 {
                    self.scale_version(now_ns, d, g, OLD, 0, events);
                }
                done = false;
                continue;
            }
            self.services[service].start_new_replicas_of(NEW);
            if self.live(d, g, NEW) < desired {
                self.scale_version(now_ns, d, g, NEW, desired, events);
            }
            done &= self.available(now_ns, d, g, NEW) >= desired;
        }
        if done {
            self.finish_rollout(now_ns, d, NEW);
        }
    }

    /// Rolling update, as the Deployment controller steps it: the new set grows while the
    /// total stays within desired + surge; the old set shrinks while desired - unavailable
    /// stay available (its unavailable replicas first), new replicas not yet available not
    /// counting.
    /// In each region on its own; done when every region is.
    fn reconcile_rolling(&mut self, now_ns: Nanos, d: usize, events: &mut EventQueue<Event>) {
        let service = self.model.deployments[d].service;
        self.services[service].start_new_replicas_of(NEW);
        let mut done = true;
        for g in 0..self.rollouts[d].desired().len() {
            done &= self.roll_region(now_ns, d, g, events);
        }
        if done {
            self.finish_rollout(now_ns, d, NEW);
        }
    }

    /// One region's rolling step; whether the region is done.
    fn roll_region(
        &mut self,
        now_ns: Nanos,
        d: usize,
        g: usize,
        events: &mut EventQueue<Event>,
    ) -> bool {
        let spec = &self.model.deployments[d];
        let desired = self.rollouts[d].desired()[g];
        let (surge, unavailable) = spec.rolling.fenceposts(desired);
        // Scale the new set up.
        let (old, new) = (self.live(d, g, OLD), self.live(d, g, NEW));
        if new < desired {
            let room = i64::from(desired + surge) - i64::from(old + new);
            let add = room.min(i64::from(desired - new));
            if add > 0 {
                self.change_version(now_ns, d, g, NEW, add, events);
            }
        } else if new > desired {
            self.scale_version(now_ns, d, g, NEW, desired, events);
        }
        // Scale the old set down.
        let (old, new) = (self.live(d, g, OLD), self.live(d, g, NEW));
        let min_available = i64::from(desired) - i64::from(unavailable);
        let new_available = self.available(now_ns, d, g, NEW);
        let new_unavailable = i64::from(new) - i64::from(new_available);
        let max_scaled_down = i64::from(old + new) - min_available - new_unavailable;
        if old > 0 && max_scaled_down > 0 {
            let old_available = self.available(now_ns, d, g, OLD);
            let unhealthy = i64::from(old) - i64::from(old_available);
            let cleanup = unhealthy.min(max_scaled_down);
            if cleanup > 0 {
                self.change_version(now_ns, d, g, OLD, -cleanup, events);
            }
            let old = self.live(d, g, OLD);
            let available = i64::from(self.available(now_ns, d, g, OLD) + new_available);
            let down = (available - min_available).min(i64::from(old));
            if down > 0 {
                self.change_version(now_ns, d, g, OLD, -down, events);
            }
        }
        self.live(d, g, OLD) == 0
            && self.live(d, g, NEW) == desired
            && self.available(now_ns, d, g, NEW) >= desired
    }

    /// Blue-green: a full green set, a preview, the switch, blue kept for the delay.
    fn reconcile_blue_green(&mut self, now_ns: Nanos, d: usize, events: &mut EventQueue<Event>) {
        let spec = &self.model.deployments[d];
        let bg = spec.blue_green;
        let whole = |desired: u32| desired;
        match self.rollouts[d].phase() {
            Phase::Progressing => {
                // Both stacks follow the desired count while they coexist.
                self.scale_everywhere(now_ns, d, NEW, whole, events);
                self.scale_everywhere(now_ns, d, OLD, whole, events);
                if self.available_everywhere(now_ns, d, NEW, whole) {
                    let until = self.rollouts[d].preview(now_ns, bg.preview_for_ns);
                    self.wake_at(until, d, events);
                    if bg.preview_for_ns > 0 {
                        return;
                    }
                } else {
                    return;
                }
            }
            Phase::Preview => {}
            Phase::Switched => {
                self.keep_then_tear_down(now_ns, d, NEW, true, events);
                return;
            }
            _ => return,
        }
        // Preview: switch when it is over.
        self.scale_everywhere(now_ns, d, NEW, whole, events);
        self.scale_everywhere(now_ns, d, OLD, whole, events);
        if !self.rollouts[d].wait_over(now_ns) {
            return;
        }
        let (route, keep_ns) = match bg.switch {
            Switch::Instant => (Route::Only(NEW), bg.scale_down_delay_ns),
            Switch::Dns => (
                Route::Ramp {
                    from_ns: now_ns,
                    ttl_ns: bg.dns_ttl_ns,
                },
                bg.dns_ttl_ns.saturating_add(bg.scale_down_delay_ns),
            ),
        };
        self.set_route(now_ns, d, route);
        self.services[spec.service].start_new_replicas_of(NEW);
        self.log_rollout(now_ns, d, RolloutKind::Switch, 0.0);
        self.decide(now_ns, d, Outcome::Completed);
        let until = self.rollouts[d].keep(NEW, now_ns, keep_ns);
        self.wake_at(until, d, events);
        if until <= now_ns {
            self.reconcile_blue_green(now_ns, d, events);
        }
    }

    /// Canary: steps of weight and pause, analysis every interval, promotion after the last
    /// step, rollback when failed checks pass the limit.
    fn reconcile_canary(&mut self, now_ns: Nanos, d: usize, events: &mut EventQueue<Event>) {
        let spec = &self.model.deployments[d];
        let canary = &spec.canary;
        match self.rollouts[d].phase() {
            Phase::Progressing | Phase::Step => {}
            Phase::Paused => {
                // Waiting for a human: the counts still follow the autoscaler.
                self.hold_canary_counts(now_ns, d, events);
                return;
            }
            _ => {
                if let Some(keep) = self.rollouts[d].kept() {
                    self.keep_then_tear_down(now_ns, d, keep, false, events);
                }
                return;
            }
        }
        // Analysis, every interval from the first step on.
        if let Some(a) = canary.analysis {
            if self.rollouts[d].analysis_due(now_ns) {
                let (check, next_ns) = self.rollouts[d].close_analysis(now_ns, &a);
                self.wake_at(next_ns, d, events);
                match check {
                    Check::Pass { error_rate } => {
                        self.log_rollout(now_ns, d, RolloutKind::AnalysisPass, error_rate)
                    }
                    Check::Fail {
                        kind,
                        value,
                        roll_back,
                    } => {
                        self.log_rollout(now_ns, d, kind, value);
                        if roll_back {
                            self.abort(now_ns, d, events);
                            return;
                        }
                    }
                    Check::Inconclusive => {
                        self.log_rollout(now_ns, d, RolloutKind::AnalysisInconclusive, 0.0);
                        self.decide(now_ns, d, Outcome::Inconclusive);
                        self.rollouts[d].pause();
                        return;
                    }
                }
            }
        }
        // The step under way: its counts, then its weight once they are available, then its
        // pause.
        let step = self.rollouts[d].step();
        if step >= canary.steps.len() {
            // Promotion: the new set at full size; all traffic once it is available.
            self.scale_everywhere(now_ns, d, NEW, |desired| desired, events);
            if self.available_everywhere(now_ns, d, NEW, |desired| desired) {
                self.set_route(now_ns, d, Route::Only(NEW));
                self.services[spec.service].start_new_replicas_of(NEW);
                self.decide(now_ns, d, Outcome::Promoted);
                let until = self.rollouts[d].keep(NEW, now_ns, canary.scale_down_delay_ns);
                self.wake_at(until, d, events);
                if until <= now_ns {
                    self.reconcile_canary(now_ns, d, events);
                }
            }
            return;
        }
        let weight = canary.steps[step].weight_pct;
        let router = canary.traffic_router;
        let new_target = move |desired| canary_counts(router, desired, weight).0;
        let old_target = move |desired| canary_counts(router, desired, weight).1;
        self.scale_everywhere(now_ns, d, NEW, new_target, events);
        if !self.available_everywhere(now_ns, d, NEW, new_target) {
            return;
        }
        if router {
            self.set_route(now_ns, d, Route::Weight(weight / 100.0));
        } else {
            self.set_route(now_ns, d, Route::ByCount);
            self.scale_everywhere(now_ns, d, OLD, old_target, events);
        }
        let analysis_every_ns = canary.analysis.map(|a| a.interval_ns);
        let since = match self.rollouts[d].reach_step(now_ns, analysis_every_ns) {
            StepReached::Holding { since_ns } => since_ns,
            StepReached::Now { first_analysis_ns } => {
                if let Some(next) = first_analysis_ns {
                    self.wake_at(next, d, events);
                }
                self.log_rollout(now_ns, d, RolloutKind::Step, weight);
                now_ns
            }
        };
        let until = since.saturating_add(canary.steps[step].pause_ns);
        if now_ns >= until {
            self.rollouts[d].next_step();
            self.reconcile_canary(now_ns, d, events);
        } else {
            self.wake_at(until, d, events);
        }
    }

    fn hold_canary_counts(&mut self, now_ns: Nanos, d: usize, events: &mut EventQueue<Event>) {
        let step = self.rollouts[d].step();
        let canary = &self.model.deployments[d].canary;
        let weight = canary.steps[step.min(canary.steps.len() - 1)].weight_pct;
        let router = canary.traffic_router;
        self.scale_everywhere(
            now_ns,
            d,
            NEW,
            |desired| canary_counts(router, desired, weight).0,
            events,
        );
        self.scale_everywhere(
            now_ns,
            d,
            OLD,
            |desired| canary_counts(router, desired, weight).1,
            events,
        );
    }

    /// A failed analysis: traffic back to the old version at once, the canary's replicas
    /// scaled down after the delay.
    fn abort(&mut self, now_ns: Nanos, d: usize, events: &mut EventQueue<Event>) {
        self.set_route(now_ns, d, Route::Only(OLD));
        let service = self.model.deployments[d].service;
        self.services[service].start_new_replicas_of(OLD);
        self.decide(now_ns, d, Outcome::RolledBack);
        let delay = self.model.deployments[d].canary.scale_down_delay_ns;
        let until = self.rollouts[d].keep(OLD, now_ns, delay);
        self.wake_at(until, d, events);
        self.reconcile_canary(now_ns, d, events);
    }

    /// A/B test: the split's replicas, the split for its duration, then the verdict.
    fn reconcile_ab(&mut self, now_ns: Nanos, d: usize, events: &mut EventQueue<Event>) {
        let spec = &self.model.deployments[d];
        let ab = spec.ab_test;
        match self.rollouts[d].phase() {
            Phase::Progressing | Phase::Split => {}
            _ => {
                if let Some(keep) = self.rollouts[d].kept() {
                    self.keep_then_tear_down(now_ns, d, keep, false, events);
                }
                return;
            }
        }
        // A region where the service has no replica gets no arm either.
        let new_target = |desired: u32| {
            ((ab.split * f64::from(desired)) - 1e-9)
                .ceil()
                .clamp(f64::from(desired.min(1)), f64::from(u32::MAX)) as u32
        };
        self.scale_everywhere(now_ns, d, NEW, new_target, events);
        self.scale_everywhere(now_ns, d, OLD, |desired| desired, events);
        if self.rollouts[d].phase() == Phase::Progressing {
            if !self.available_everywhere(now_ns, d, NEW, new_target) {
                return;
            }
            self.set_route(now_ns, d, Route::Weight(ab.split));
            self.log_rollout(now_ns, d, RolloutKind::Step, ab.split * 100.0);
            let window = self.model.series_window_ns;
            let (until, look) = self.rollouts[d].split_for(now_ns, ab.duration_ns, window);
            self.wake_at(until, d, events);
            if ab.sequential {
                self.wake_at(look, d, events);
            }
            return;
        }
        // Split: look (sequentially) or wait for the end.
        let window = self.model.series_window_ns;
        let outcome = match self.rollouts[d].judge(now_ns, ab.alpha, window) {
            Judgement::Wait => return,
            Judgement::LookAgain(next) => {
                self.wake_at(next, d, events);
                return;
            }
            Judgement::Decide(outcome) => outcome,
        };
        self.decide(now_ns, d, outcome);
        let keep = if outcome == Outcome::Promoted {
            NEW
        } else {
            OLD
        };
        self.set_route(now_ns, d, Route::Only(keep));
        self.services[spec.service].start_new_replicas_of(keep);
        let until = self.rollouts[d].keep(keep, now_ns, spec.canary.scale_down_delay_ns);
        self.wake_at(until, d, events);
        self.reconcile_ab(now_ns, d, events);
    }

    /// Shadow: a full new set; requests mirrored to it for the duration; then promotion.
    fn reconcile_shadow(&mut self, now_ns: Nanos, d: usize, events: &mut EventQueue<Event>) {
        let spec = &self.model.deployments[d];
        let whole = |desired: u32| desired;
        match self.rollouts[d].phase() {
            Phase::Progressing => {
                self.scale_everywhere(now_ns, d, NEW, whole, events);
                if !self.available_everywhere(now_ns, d, NEW, whole) {
                    return;
                }
                self.log_rollout(now_ns, d, RolloutKind::Step, spec.shadow.mirror * 100.0);
                let until = self.rollouts[d].mirror_for(now_ns, spec.shadow.duration_ns);
                self.wake_at(until, d, events);
            }
            Phase::Mirror => {
                self.scale_everywhere(now_ns, d, NEW, whole, events);
                self.scale_everywhere(now_ns, d, OLD, whole, events);
                if !self.rollouts[d].wait_over(now_ns) {
                    return;
                }
                self.set_route(now_ns, d, Route::Only(NEW));
                self.services[spec.service].start_new_replicas_of(NEW);
                self.log_rollout(now_ns, d, RolloutKind::Switch, 0.0);
                let delay = spec.blue_green.scale_down_delay_ns;
                let until = self.rollouts[d].keep(NEW, now_ns, delay);
                self.wake_at(until, d, events);
                if until <= now_ns {
                    self.reconcile_shadow(now_ns, d, events);
                }
            }
            Phase::Switched => self.keep_then_tear_down(now_ns, d, NEW, false, events),
            _ => {}
        }
    }
}

/// Replica counts of a canary step at `weight` percent on a region's `desired` count: with a
/// router, the canary gets `ceil(weight x desired / 100)` and the stable set stays whole;
/// without one, counts approximate the weight (nearest, ties up; neither side empty between
/// 0 and 100). A region where the service has no replica gets no canary.
fn canary_counts(router: bool, desired: u32, weight: f64) -> (u32, u32) {
    let exact = weight / 100.0 * f64::from(desired);
    if desired == 0 {
        (0, 0)
    } else if router {
        ((exact - 1e-9).ceil().max(1.0) as u32, desired)
    } else {
        let mut new = (exact + 0.5 - 1e-9).floor() as u32;
        if weight < 100.0 && desired >= 2 {
            new = new.clamp(1, desired - 1);
        }
        (new, desired - new)
    }
}
