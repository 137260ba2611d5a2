//! The autoscaler of a service, with the semantics of Kubernetes' Horizontal Pod Autoscaler
//! (`pkg/controller/podautoscaler`, its `replica_calculator.go`):
//!
//! 1. Every `sync` period the controller reads the metric: the average over the sync period
//!    before (metrics-server's resolution), `metric_delay` old. Per ready replica:
//!    utilization (busy workers / workers), visits in flight, visits per second, or queue
//!    length.
//! 2. The replica calculation, on the pods as the HPA groups them (`groupPods`): replicas
//!    *with a metric* are those ready now that were ready through the whole window the metric
//!    covers (at its start and at its end, the same life); each reports the window's average
//!    per ready replica (capsim keeps pool-wide integrals, not one per replica; the HPA's
//!    ratio uses only the sum of the pods' values, and this sum is exact when the ready set
//!    did not change in the window). Starting replicas are *unready*. A replica ready now
//!    but not through the window has no full sample: for `utilization` the HPA ignores it
//!    (unready, as it ignores a CPU sample taken in a pod's initialization period); for the
//!    other metrics it is *missing*. Then, with `ratio = observed / target`
//!    ([`recommend`]): without unready pods on a scale-up and without missing pods, the count
//!    stays if `|ratio - 1| <= tolerance`, else `ceil(ratio x with_metrics)`. Otherwise the
//!    ratio is recomputed with missing pods at 100% of the target on a scale-down and at 0
//!    on a scale-up, and unready pods at 0 on a scale-up (left out on a scale-down); if the
//!    new ratio is within the tolerance or on the other side of 1 from the first, the count
//!    stays; else `ceil(new ratio x pods counted)`, unless that moves against the ratio's
//!    direction, when the count stays too. So a pool 25% over target never scales down
//!    because many of its replicas are still starting.
//! 3. Stabilization: the recommendation is the lowest over the last `scale_up_window` on the
//!    way up, the highest over the last `scale_down_window` on the way down.
//! 4. Rate limits (`behavior` policies, `selectPolicy: Max`): within any `per`, up by at most
//!    `max(pods, percent%)` of the count at the start of that period, down likewise.
//! 5. Clamped to `[min, max]` (`min` raised by any scheduled minimum in force).
//!
//! New replicas start (billed, no traffic) and are ready after a draw of `provisioning`;
//! scaling down gives up starting replicas first, then drains ready ones, newest first (they
//! finish their in-flight work, then go).

use super::fleet::{Replica, ReplicaState};
use super::system::{Event, System};
use crate::engine::queue::EventQueue;
use crate::engine::time::Nanos;
use crate::metrics::recorder::TimeWeighted;
use crate::metrics::run::Happening;
use crate::scenario::fleet::{Autoscale, Metric, RateLimit};
use crate::scenario::model::ServiceId;
use std::collections::VecDeque;

/// One region's HPA of a regional service: its memory, and its region's busy workers and
/// ready replicas integrated (what its utilization is read from).
#[derive(Debug, Clone, Default)]
pub struct RegionalHpa {
    state: AutoscalerState,
    busy: TimeWeighted,
    pub(super) ready: TimeWeighted,
}

/// What an HPA over part of a pool (a version's, a region's) decided at a sync.
struct Decision {
    current: u32,
    desired: u32,
    observed: f64,
}

/// One sync of an HPA over the replicas `mine` selects, on utilization: `areas` are the
/// cumulative integrals now of their busy workers and of their ready replicas. Reads the
/// window since the last sync, groups the pods, recommends and decides (steps 1 to 5 of the
/// module docs); `None` when it has no metric to act on yet. `scale` is the count it
/// manages when that is not its pods' (a rollout's desired count, the scale subresource).
#[allow(clippy::too_many_arguments)]
fn scoped_sync(
    now_ns: Nanos,
    a: &Autoscale,
    state: &mut AutoscalerState,
    replicas: &[Replica],
    mine: impl Fn(&Replica) -> bool,
    areas: [u128; 2],
    concurrency: f64,
    scale: Option<u32>,
) -> Option<Decision> {
    let ready_now: Vec<(u32, u32)> = ready_set(replicas)
        .into_iter()
        .filter(|&(i, _)| mine(&replicas[i as usize]))
        .collect();
    let busy = (areas[0] - state.mark[0]) as f64;
    let ready_time = (areas[1] - state.mark[3]) as f64;
    let scrape = (ready_time > 0.0).then(|| Scrape {
        observed: busy / (ready_time * concurrency),
        through: ready_now
            .iter()
            .copied()
            .filter(|r| state.ready_at_mark.binary_search(r).is_ok())
            .collect(),
    });
    state.mark[0] = areas[0];
    state.mark[3] = areas[1];
    state.ready_at_mark = ready_now;
    let seen = state.seen(now_ns, a.metric_delay_ns, scrape)?;
    let mut pods = Pods::default();
    for (i, r) in replicas.iter().enumerate() {
        if !mine(r) {
            continue;
        }
        match r.state() {
            ReplicaState::Starting => pods.unready += 1,
            ReplicaState::Ready
                if seen
                    .through
                    .binary_search(&(i as u32, r.incarnation()))
                    .is_ok() =>
            {
                pods.with_metrics += 1
            }
            ReplicaState::Ready => pods.unready += 1,
            _ => {}
        }
    }
    let observed = seen.observed;
    let current = scale.unwrap_or(pods.with_metrics + pods.unready);
    let recommendation = recommend(current, observed / a.target, a.tolerance, pods)?;
    let desired = decide(a, state, now_ns, current, recommendation);
    Some(Decision {
        current,
        desired,
        observed,
    })
}

/// One autoscaler's memory.
#[derive(Debug, Clone, Default)]
pub struct AutoscalerState {
    /// Cumulative integrals at the last sync: busy workers, visits in the service, queued,
    /// ready replicas (level x ns), and visits.
    mark: [u128; 4],
    mark_visits: u64,
    /// The ready replicas `(slot, incarnation)` at the last sync, in slot order: those ready
    /// when the next window starts.
    ready_at_mark: Vec<(u32, u32)>,
    /// Metrics read at each sync, kept until they are `metric_delay` old (`None`: no replica
    /// was ready in the window).
    scrapes: VecDeque<(Nanos, Option<Scrape>)>,
    /// Recommendations within the longer stabilization window.
    recommendations: VecDeque<(Nanos, u32)>,
    /// Replicas added (+) or removed (-) within the longer rate-limit period.
    changes: VecDeque<(Nanos, i64)>,
}

impl AutoscalerState {
    /// Keeps this sync's `scrape` and returns what the controller sees now: the newest
    /// scrape at least `delay_ns` old (`None`: none yet, or no replica was ready in it).
    fn seen(&mut self, now_ns: Nanos, delay_ns: Nanos, scrape: Option<Scrape>) -> Option<&Scrape> {
        self.scrapes.push_back((now_ns, scrape));
        while self
            .scrapes
            .get(1)
            .is_some_and(|&(t, _)| t.saturating_add(delay_ns) <= now_ns)
        {
            self.scrapes.pop_front();
        }
        match self.scrapes.front() {
            Some((t, Some(seen))) if t.saturating_add(delay_ns) <= now_ns => Some(seen),
            _ => None,
        }
    }
}

/// What one sync read: the metric's average per ready replica over the window, and the
/// replicas ready through the whole window (the pods the HPA has a sample of).
#[derive(Debug, Clone)]
struct Scrape {
    observed: f64,
    through: Vec<(u32, u32)>,
}

/// The pods of a sync as the HPA groups them (`groupPods`); see the module docs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pods {
    /// Ready, with a sample.
    pub with_metrics: u32,
    /// Ready, without a sample.
    pub missing: u32,
    /// Starting (or ignored): no sample that counts.
    pub unready: u32,
}

/// The ready replicas of a pool, `(slot, incarnation)` in slot order.
fn ready_set(replicas: &[Replica]) -> Vec<(u32, u32)> {
    replicas
        .iter()
        .enumerate()
        .filter(|(_, r)| r.state() == ReplicaState::Ready)
        .map(|(i, r)| (i as u32, r.incarnation()))
        .collect()
}

/// Groups the replicas now by what the sample `through` (the replicas ready through its
/// window) says of them.
fn group_pods(replicas: &[Replica], through: &[(u32, u32)], metric: Metric) -> Pods {
    let mut pods = Pods::default();
    for (i, r) in replicas.iter().enumerate() {
        match r.state() {
            ReplicaState::Starting => pods.unready += 1,
            ReplicaState::Ready => {
                if through.binary_search(&(i as u32, r.incarnation())).is_ok() {
                    pods.with_metrics += 1;
                } else if metric == Metric::Utilization {
                    pods.unready += 1;
                } else {
                    pods.missing += 1;
                }
            }
            ReplicaState::Draining | ReplicaState::Down => {}
        }
    }
    pods
}

/// Step 2 of the module docs, the HPA's replica calculation (`GetResourceReplicas`):
/// `ratio` is the mean metric of the pods with a sample over the target. `None` when no pod
/// has a sample (the HPA then does nothing).
pub(crate) fn recommend(current: u32, ratio: f64, tolerance: f64, pods: Pods) -> Option<u32> {
    if pods.with_metrics == 0 {
        return None;
    }
    let whole = |x: f64| x.ceil().clamp(0.0, f64::from(u32::MAX)) as u32;
    let rebalance_unready = pods.unready > 0 && ratio > 1.0;
    if !rebalance_unready && pods.missing == 0 {
        if (1.0 - ratio).abs() <= tolerance {
            return Some(current);
        }
        return Some(whole(ratio * f64::from(pods.with_metrics)));
    }
    // The sum of the pods' values in units of the target, and the pods it is over.
    let mut sum = ratio * f64::from(pods.with_metrics);
    let mut counted = pods.with_metrics;
    if pods.missing > 0 {
        if ratio < 1.0 {
            sum += f64::from(pods.missing); // at 100% of the target on a scale-down
            counted += pods.missing;
        } else if ratio > 1.0 {
            counted += pods.missing; // at 0 on a scale-up
        }
    }
    if rebalance_unready {
        counted += pods.unready; // at 0
    }
    let new_ratio = sum / f64::from(counted);
    if (1.0 - new_ratio).abs() <= tolerance
        || (ratio < 1.0 && new_ratio > 1.0)
        || (ratio > 1.0 && new_ratio < 1.0)
    {
        return Some(current); // too small a change, or a change of direction
    }
    // `new_ratio x counted` is `sum` (taken directly, so no rounding lifts it past a whole).
    let new = whole(sum);
    if (new_ratio < 1.0 && new > current) || (new_ratio > 1.0 && new < current) {
        return Some(current);
    }
    Some(new)
}

impl System<'_> {
    pub(super) fn schedule_autoscalers(&mut self, events: &mut EventQueue<Event>) {
        for (id, spec) in self.model.services.iter().enumerate() {
            if let Some(a) = &spec.fleet.autoscale {
                // The replicas ready at the start are ready when the first window starts.
                let ready = ready_set(self.services[id].replicas());
                if let Some(state) = self.world.autoscalers[id].as_mut() {
                    state.ready_at_mark = ready;
                }
                let replicas = self.services[id].replicas();
                for (g, hpa) in self.world.regional_hpas[id].iter_mut().enumerate() {
                    hpa.state.ready_at_mark = ready_set(replicas)
                        .into_iter()
                        .filter(|&(i, _)| usize::from(replicas[i as usize].region) == g)
                        .collect();
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
        if !self.world.regional_hpas[id].is_empty() {
            self.sync_regions(now_ns, id, a, events);
            return;
        }
        if let Some(d) = self.separate_rollout(id) {
            for version in [super::rollout::OLD, super::rollout::NEW] {
                self.sync_version(now_ns, id, d, 0, version, a, events);
            }
            return;
        }
        let scrape = self.scrape(now_ns, id, a);
        let state = self.world.autoscalers[id]
            .as_mut()
            .expect("an autoscaled service has an autoscaler");
        let Some(seen) = state.seen(now_ns, a.metric_delay_ns, scrape) else {
            return; // no metric yet (or no replica was ready to report one)
        };
        let observed = seen.observed;
        let pods = group_pods(self.services[id].replicas(), &seen.through, a.metric);
        // Under a rollout the HPA manages the desired total (the scale subresource), over
        // the pods of both versions; the strategy spreads any change.
        let rollout = self.services[id]
            .deployment
            .filter(|&d| self.rollouts[d].active());
        let current = match rollout {
            Some(d) => self.rollouts[d].desired[0],
            None => pods.with_metrics + pods.missing + pods.unready,
        };
        let Some(recommendation) = recommend(current, observed / a.target, a.tolerance, pods)
        else {
            return; // no replica with a sample
        };
        let state = self.world.autoscalers[id].as_mut().expect("checked above");
        let desired = decide(a, state, now_ns, current, recommendation);
        if desired == current {
            return;
        }
        self.log_scale(now_ns, id, current, desired, observed);
        if let Some(d) = rollout {
            self.rollout_resize(now_ns, d, 0, desired, events);
        } else if desired > current {
            for _ in current..desired {
                self.start_replica(now_ns, id, 0, &a.provisioning, events);
            }
        } else {
            self.scale_down(now_ns, id, current - desired);
        }
    }

    /// The metric over the last sync period, per ready replica, and the replicas ready
    /// through it; `None` when no replica was ready.
    fn scrape(&mut self, now_ns: Nanos, id: ServiceId, a: &Autoscale) -> Option<Scrape> {
        let window = self.window;
        let record = &self.record.services[id];
        let now = [
            record.busy_workers.run_area_at(now_ns, window),
            record.in_system.run_area_at(now_ns, window),
            record.queued.run_area_at(now_ns, window),
            record.ready.run_area_at(now_ns, window),
        ];
        let visits = record.visits;
        let concurrency = f64::from(self.model.services[id].concurrency);
        let ready_now = ready_set(self.services[id].replicas());
        let state = self.world.autoscalers[id].as_mut()?;
        let delta = |i: usize| (now[i] - state.mark[i]) as f64;
        let ready_time = delta(3);
        let value = (ready_time > 0.0).then(|| {
            let observed = match a.metric {
                Metric::Utilization => delta(0) / (ready_time * concurrency),
                Metric::InFlight => delta(1) / ready_time,
                Metric::QueueLength => delta(2) / ready_time,
                Metric::Rps => (visits - state.mark_visits) as f64 / (ready_time / 1e9),
            };
            let through = ready_now
                .iter()
                .copied()
                .filter(|r| state.ready_at_mark.binary_search(r).is_ok())
                .collect();
            Scrape { observed, through }
        });
        state.mark = now;
        state.mark_visits = visits;
        state.ready_at_mark = ready_now;
        value
    }

    /// The rollout of `id` under way with one HPA per version (`autoscale = "separate"`).
    fn separate_rollout(&self, id: ServiceId) -> Option<usize> {
        self.services[id].deployment.filter(|&d| {
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
        version: super::fleet::VersionId,
        a: &Autoscale,
        events: &mut EventQueue<Event>,
    ) {
        let window = self.window;
        let v = usize::from(version);
        let concurrency = f64::from(self.model.services[id].concurrency);
        let rollout = &self.rollouts[d];
        let areas = [
            rollout.busy[g][v].run_area_at(now_ns, window),
            rollout.ready_level(g, version).run_area_at(now_ns, window),
        ];
        let regional = self.services[id].is_regional();
        let Some(decision) = scoped_sync(
            now_ns,
            a,
            &mut self.world.version_autoscalers[d][g][v],
            self.services[id].replicas(),
            |r| r.version == version && (!regional || usize::from(r.region) == g),
            areas,
            concurrency,
            None,
        ) else {
            return;
        };
        self.rollouts[d].floor[g][v] = decision.desired;
        if decision.desired != decision.current {
            let Decision {
                current,
                desired,
                observed,
            } = decision;
            self.log_scale(now_ns, id, current, desired, observed);
            self.rollout_resize(now_ns, d, g, self.rollouts[d].desired[g], events);
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
            for g in 0..self.rollouts[d].desired.len() {
                for version in [super::rollout::OLD, super::rollout::NEW] {
                    self.sync_version(now_ns, id, d, g, version, a, events);
                }
            }
            return;
        }
        let window = self.window;
        let concurrency = f64::from(self.model.services[id].concurrency);
        let rollout = self.services[id]
            .deployment
            .filter(|&d| self.rollouts[d].active());
        for g in 0..self.world.regional_hpas[id].len() {
            let region = g as u16;
            let scale = rollout.map(|d| self.rollouts[d].desired[g]);
            let hpa = &mut self.world.regional_hpas[id][g];
            let areas = [
                hpa.busy.run_area_at(now_ns, window),
                hpa.ready.run_area_at(now_ns, window),
            ];
            let Some(Decision {
                current,
                desired,
                observed,
            }) = scoped_sync(
                now_ns,
                a,
                &mut hpa.state,
                self.services[id].replicas(),
                |r| r.region == region,
                areas,
                concurrency,
                scale,
            )
            else {
                continue;
            };
            if desired == current {
                continue;
            }
            let total = self.services[id].fleet.current();
            let after = (total + desired).saturating_sub(current);
            self.log_scale(now_ns, id, total, after, observed);
            if let Some(d) = rollout {
                self.rollout_resize(now_ns, d, g, desired, events);
            } else if desired > current {
                for _ in current..desired {
                    self.start_replica(now_ns, id, region, &a.provisioning, events);
                }
            } else {
                self.services[id]
                    .fleet
                    .shrink_region(region, current - desired);
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
        let hpas = &mut self.world.regional_hpas[service];
        if !hpas.is_empty() {
            let g = usize::from(self.services[service].fleet.get(replica).region);
            hpas[g].busy.add(now_ns, delta, self.window);
        }
    }

    /// Logs a change of the count an HPA manages.
    fn log_scale(&mut self, now_ns: Nanos, service: ServiceId, from: u32, to: u32, observed: f64) {
        let happening = if to > from {
            Happening::ScaleUp {
                service,
                from,
                to,
                observed,
            }
        } else {
            Happening::ScaleDown {
                service,
                from,
                to,
                observed,
            }
        };
        self.world.log.push(now_ns, happening);
    }

    /// Gives up `n` replicas: starting ones first, then ready ones drain, newest (highest
    /// slot) first.
    fn scale_down(&mut self, now_ns: Nanos, id: ServiceId, n: u32) {
        self.services[id].fleet.shrink(None, n);
        self.recount(now_ns, id);
    }
}

/// Steps 3 to 5 of the module docs: stabilization, rate limits, bounds. Records the
/// recommendation and any change in `state`.
fn decide(
    a: &Autoscale,
    state: &mut AutoscalerState,
    now_ns: Nanos,
    current: u32,
    recommendation: u32,
) -> u32 {
    // Past recommendations count while strictly younger than their window; the current one
    // always does; then it is recorded (as the HPA does).
    let keep = a.scale_up_window_ns.max(a.scale_down_window_ns);
    while state
        .recommendations
        .front()
        .is_some_and(|&(t, _)| t.saturating_add(keep) <= now_ns)
    {
        state.recommendations.pop_front();
    }
    let within = |window: Nanos| {
        state
            .recommendations
            .iter()
            .filter(move |&&(t, _)| t.saturating_add(window) > now_ns)
            .map(|&(_, r)| r)
    };
    let up = within(a.scale_up_window_ns).fold(recommendation, u32::min);
    let down = within(a.scale_down_window_ns).fold(recommendation, u32::max);
    state.recommendations.push_back((now_ns, recommendation));
    let mut desired = current.max(up).min(down);

    let keep = a.max_scale_up.per_ns.max(a.max_scale_down.per_ns);
    while state
        .changes
        .front()
        .is_some_and(|&(t, _)| t.saturating_add(keep) <= now_ns)
    {
        state.changes.pop_front();
    }
    // The count at the start of a limit's period: now, less the net change within it.
    let period_start = |limit: &RateLimit| -> i64 {
        i64::from(current)
            - state
                .changes
                .iter()
                .filter(|&&(t, _)| t.saturating_add(limit.per_ns) > now_ns)
                .map(|&(_, d)| d)
                .sum::<i64>()
    };
    let current_i = i64::from(current);
    if desired > current {
        let start = period_start(&a.max_scale_up);
        let mut limit = i64::MIN;
        if a.max_scale_up.pods > 0 {
            limit = limit.max(start + i64::from(a.max_scale_up.pods));
        }
        if a.max_scale_up.percent > 0.0 {
            let by_percent = (start as f64 * (1.0 + a.max_scale_up.percent / 100.0)).ceil() as i64;
            limit = limit.max(by_percent);
        }
        desired = desired.min(limit.max(current_i) as u32);
    } else if desired < current {
        let start = period_start(&a.max_scale_down);
        let mut limit = i64::MAX;
        if a.max_scale_down.pods > 0 {
            limit = limit.min(start - i64::from(a.max_scale_down.pods));
        }
        if a.max_scale_down.percent > 0.0 {
            let by_percent = (start as f64 * (1.0 - a.max_scale_down.percent / 100.0)) as i64;
            limit = limit.min(by_percent);
        }
        desired = desired.max(limit.clamp(0, current_i) as u32);
    }

    let scheduled = a
        .schedule
        .iter()
        .filter(|s| s.active(now_ns))
        .map(|s| s.min)
        .max()
        .unwrap_or(0);
    let desired = desired.clamp(a.min.max(scheduled).min(a.max), a.max);
    if desired != current {
        state
            .changes
            .push_back((now_ns, i64::from(desired) - current_i));
    }
    desired
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distribution::Distribution;

    fn hpa() -> Autoscale {
        Autoscale {
            min: 2,
            max: 40,
            metric: Metric::Utilization,
            target: 0.5,
            tolerance: 0.1,
            sync_ns: 15_000_000_000,
            metric_delay_ns: 0,
            scale_up_window_ns: 0,
            scale_down_window_ns: 300_000_000_000,
            max_scale_up: RateLimit {
                pods: 4,
                percent: 100.0,
                per_ns: 15_000_000_000,
            },
            max_scale_down: RateLimit {
                pods: 0,
                percent: 100.0,
                per_ns: 15_000_000_000,
            },
            provisioning: Distribution::constant(0.0),
            schedule: Vec::new(),
        }
    }

    const S: Nanos = 1_000_000_000;

    fn pods(with_metrics: u32, missing: u32, unready: u32) -> Pods {
        Pods {
            with_metrics,
            missing,
            unready,
        }
    }

    /// Hand numbers from `replica_calculator.go`, tolerance 0.1 throughout.
    #[test]
    fn starting_replicas_count_at_zero_on_a_scale_up_and_a_flip_keeps_the_count() {
        // 4 ready at 125% of target, 6 starting: ratio 1.25 > 1, so the 6 count at 0: new
        // ratio 4 x 1.25 / 10 = 0.5 < 1, a change of direction: keep 10. (The formula
        // `ceil(4 x 1.25)` alone would say 5: a scale-down while 25% over target.)
        assert_eq!(recommend(10, 1.25, 0.1, pods(4, 0, 6)), Some(10));
        assert_eq!((4.0f64 * 1.25).ceil(), 5.0);
        // 8 ready at 150%, 2 starting: 8 x 1.5 / 10 = 1.2, still up: ceil(1.2 x 10) = 12.
        assert_eq!(recommend(10, 1.5, 0.1, pods(8, 0, 2)), Some(12));
        // 4 ready at 125%, 1 starting: 5 / 5 = 1.0, within the tolerance: keep 5.
        assert_eq!(recommend(5, 1.25, 0.1, pods(4, 0, 1)), Some(5));
    }

    #[test]
    fn without_unready_or_missing_pods_the_count_is_ceil_of_ratio_times_ready() {
        assert_eq!(recommend(4, 2.0, 0.1, pods(4, 0, 0)), Some(8));
        assert_eq!(recommend(4, 1.05, 0.1, pods(4, 0, 0)), Some(4), "tolerance");
        assert_eq!(recommend(4, 0.3, 0.1, pods(4, 0, 0)), Some(2), "ceil(1.2)");
        // On a scale-down starting replicas are left out: ceil(4 x 0.5) = 2 of 10.
        assert_eq!(recommend(10, 0.5, 0.1, pods(4, 0, 6)), Some(2));
        assert_eq!(recommend(10, 0.5, 0.1, pods(0, 4, 6)), None, "no sample");
    }

    #[test]
    fn missing_pods_count_at_the_target_on_a_scale_down_and_at_zero_on_a_scale_up() {
        // 4 at 50% and 2 missing at 100%: (2 + 2) / 6 = 0.667, ceil(0.667 x 6) = 4.
        assert_eq!(recommend(6, 0.5, 0.1, pods(4, 2, 0)), Some(4));
        // 2 at 80% and 8 missing: (1.6 + 8) / 10 = 0.96, within the tolerance: keep 10.
        assert_eq!(recommend(10, 0.8, 0.1, pods(2, 8, 0)), Some(10));
        // 4 at 200% and 4 missing at 0: 8 / 8 = 1.0: keep 8.
        assert_eq!(recommend(8, 2.0, 0.1, pods(4, 4, 0)), Some(8));
        // 6 at 200% and 2 missing at 0: 12 / 8 = 1.5: ceil(1.5 x 8) = 12.
        assert_eq!(recommend(8, 2.0, 0.1, pods(6, 2, 0)), Some(12));
    }

    #[test]
    fn a_new_count_against_the_ratio_keeps_the_current_one() {
        // 4 at 200% and 1 starting at 0: 8 / 5 = 1.6, up, but ceil(1.6 x 5) = 8 is below a
        // current count of 20 (pods not yet listed): keep 20.
        assert_eq!(recommend(20, 2.0, 0.1, pods(4, 0, 1)), Some(20));
    }

    #[test]
    fn scale_up_is_limited_to_the_larger_of_4_pods_and_100_percent_per_period() {
        let a = hpa();
        let mut state = AutoscalerState::default();
        // From 2, a recommendation of 30: at most max(2 + 4, 2 x 2) = 6.
        assert_eq!(decide(&a, &mut state, 15 * S, 2, 30), 6);
        // 15 s later the period has moved on: from 6, at most max(10, 12) = 12.
        assert_eq!(decide(&a, &mut state, 30 * S, 6, 30), 12);
        // Within the same period as that change (5 s later), the start was 6: at most 12.
        assert_eq!(decide(&a, &mut state, 35 * S, 12, 30), 12);
    }

    #[test]
    fn scale_down_waits_for_the_highest_recommendation_of_the_window() {
        let a = hpa();
        let mut state = AutoscalerState::default();
        assert_eq!(decide(&a, &mut state, 15 * S, 10, 10), 10);
        // Lower recommendations for the next 300 s: the 10 at 15 s still wins until it is
        // 300 s old (the HPA keeps those strictly younger than the window).
        for t in (30..=300).step_by(15) {
            assert_eq!(decide(&a, &mut state, t * S, 10, 3), 10, "at {t} s");
        }
        assert_eq!(decide(&a, &mut state, 315 * S, 10, 3), 3);
    }

    #[test]
    fn bounds_and_scheduled_minimums_clamp_the_count() {
        let mut a = hpa();
        a.schedule = vec![crate::scenario::fleet::ScheduledMin {
            from_ns: 8 * 3600 * S,
            to_ns: 20 * 3600 * S,
            min: 5,
        }];
        let mut state = AutoscalerState::default();
        assert_eq!(decide(&a, &mut state, 15 * S, 2, 1), 2, "min 2 at night");
        let mut state = AutoscalerState::default();
        assert_eq!(
            decide(&a, &mut state, 9 * 3600 * S, 2, 1),
            5,
            "min 5 by day"
        );
        let mut state = AutoscalerState::default();
        assert_eq!(decide(&a, &mut state, 15 * S, 40, 100), 40, "max 40");
    }
}
