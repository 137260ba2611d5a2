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
    ready: TimeWeighted,
}

impl RegionalHpa {
    /// A worker of a replica in its region became busy (+1) or free (-1).
    #[inline]
    pub(super) fn note_busy(&mut self, now_ns: Nanos, delta: i64, window: (Nanos, Nanos)) {
        self.busy.add(now_ns, delta, window);
    }

    /// Its region's ready replicas are `ready` from `now_ns` on.
    pub(super) fn note_ready(&mut self, now_ns: Nanos, ready: u64, window: (Nanos, Nanos)) {
        self.ready.set(now_ns, ready, window);
    }

    /// The replicas of its region ready `(slot, incarnation)`, in slot order, when the next
    /// window starts.
    pub(super) fn mark_ready(&mut self, ready: Vec<(u32, u32)>) {
        self.state.mark_ready(ready);
    }

    /// One sync over the replicas of `region` ([`scoped_sync`] on its own integrals).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn sync(
        &mut self,
        now_ns: Nanos,
        a: &Autoscale,
        replicas: &[Replica],
        region: u16,
        concurrency: f64,
        scale: Option<u32>,
        window: (Nanos, Nanos),
    ) -> Option<Decision> {
        let areas = [
            self.busy.run_area_at(now_ns, window),
            self.ready.run_area_at(now_ns, window),
        ];
        scoped_sync(
            now_ns,
            a,
            &mut self.state,
            replicas,
            |r| r.region() == region,
            areas,
            concurrency,
            scale,
        )
    }
}

/// What an HPA decided at a sync: the count it manages now and the count it wants, with the
/// metric it observed.
pub(super) struct Decision {
    current: u32,
    desired: u32,
    observed: f64,
}

impl Decision {
    /// The count the HPA wants.
    pub(super) fn desired(&self) -> u32 {
        self.desired
    }

    /// Whether it wants a count other than the current one.
    pub(super) fn changes(&self) -> bool {
        self.desired != self.current
    }

    /// Replicas to add (0 on a scale-down).
    pub(super) fn adds(&self) -> u32 {
        self.desired.saturating_sub(self.current)
    }

    /// Replicas to give up (0 on a scale-up).
    pub(super) fn removes(&self) -> u32 {
        self.current.saturating_sub(self.desired)
    }

    /// The happening to log for `service`: its count from `total` (the service's, when this
    /// HPA manages part of it) to `total` moved by this change, with the metric observed.
    pub(super) fn happening(&self, service: ServiceId, total: u32) -> Happening {
        let (from, observed) = (total, self.observed);
        let to = (total + self.desired).saturating_sub(self.current);
        if to > from {
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
        }
    }

    /// The count it manages now.
    pub(super) fn current(&self) -> u32 {
        self.current
    }
}

/// One sync of the HPA of a whole pool (`replicas`): keeps the `scrape` just read, and on
/// the one it sees (`metric_delay` old) groups the pods, recommends and decides (steps 2 to 5
/// of the module docs); `None` when it has no metric or no pod with a sample. `scale` is the
/// count it manages when that is not its pods' (a rollout's desired total).
pub(super) fn pool_sync(
    now_ns: Nanos,
    a: &Autoscale,
    state: &mut AutoscalerState,
    replicas: &[Replica],
    scrape: Option<Scrape>,
    scale: Option<u32>,
) -> Option<Decision> {
    let seen = state.seen(now_ns, a.metric_delay_ns, scrape)?;
    let observed = seen.observed;
    let pods = group_pods(replicas, &seen.through, a.metric);
    conclude(now_ns, a, state, observed, pods, scale)
}

/// Steps 2 to 5 on the pods as grouped: the count managed now (`scale`, else the pods'), the
/// recommendation on the `observed` metric, and the decision; `None` when no pod has a
/// sample.
fn conclude(
    now_ns: Nanos,
    a: &Autoscale,
    state: &mut AutoscalerState,
    observed: f64,
    pods: Pods,
    scale: Option<u32>,
) -> Option<Decision> {
    let current = scale.unwrap_or(pods.with_metrics + pods.missing + pods.unready);
    let recommendation = recommend(current, observed / a.target, a.tolerance, pods)?;
    let desired = decide(a, state, now_ns, current, recommendation);
    Some(Decision {
        current,
        desired,
        observed,
    })
}

/// One sync of an HPA over the replicas `mine` selects, on utilization: `areas` are the
/// cumulative integrals now of their busy workers and of their ready replicas. Reads the
/// window since the last sync, groups the pods, recommends and decides (steps 1 to 5 of the
/// module docs); `None` when it has no metric to act on yet. `scale` is the count it
/// manages when that is not its pods' (a rollout's desired count, the scale subresource).
#[allow(clippy::too_many_arguments)]
pub(super) fn scoped_sync(
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
    // `missing` stays 0: on utilization a replica without a full sample is unready.
    conclude(now_ns, a, state, observed, pods, scale)
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
    /// The replicas ready `(slot, incarnation)`, in slot order, when the next window starts.
    pub(super) fn mark_ready(&mut self, ready: Vec<(u32, u32)>) {
        self.ready_at_mark = ready;
    }

    /// The metric over the window since the last sync, per ready replica, and the replicas
    /// ready through it, from the service's cumulative integrals `now` (busy workers, visits
    /// in the service, queued, ready replicas), its `visits` and the replicas `ready_now`;
    /// `None` when no replica was ready. The window's end is the next one's start.
    pub(super) fn scrape(
        &mut self,
        now: [u128; 4],
        visits: u64,
        ready_now: Vec<(u32, u32)>,
        concurrency: f64,
        metric: Metric,
    ) -> Option<Scrape> {
        let delta = |i: usize| (now[i] - self.mark[i]) as f64;
        let ready_time = delta(3);
        let value = (ready_time > 0.0).then(|| {
            let observed = match metric {
                Metric::Utilization => delta(0) / (ready_time * concurrency),
                Metric::InFlight => delta(1) / ready_time,
                Metric::QueueLength => delta(2) / ready_time,
                Metric::Rps => (visits - self.mark_visits) as f64 / (ready_time / 1e9),
            };
            let through = ready_now
                .iter()
                .copied()
                .filter(|r| self.ready_at_mark.binary_search(r).is_ok())
                .collect();
            Scrape { observed, through }
        });
        self.mark = now;
        self.mark_visits = visits;
        self.ready_at_mark = ready_now;
        value
    }

    /// Keeps this sync's `scrape` and returns what the controller sees now: the newest
    /// scrape at least `delay_ns` old (`None`: none yet, or no replica was ready in it).
    pub(super) fn seen(
        &mut self,
        now_ns: Nanos,
        delay_ns: Nanos,
        scrape: Option<Scrape>,
    ) -> Option<&Scrape> {
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
pub(super) struct Scrape {
    observed: f64,
    through: Vec<(u32, u32)>,
}

/// The pods of a sync as the HPA groups them (`groupPods`); see the module docs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pods {
    /// Ready, with a sample.
    with_metrics: u32,
    /// Ready, without a sample.
    missing: u32,
    /// Starting (or ignored): no sample that counts.
    unready: u32,
}

/// The ready replicas of a pool, `(slot, incarnation)` in slot order.
pub(super) fn ready_set(replicas: &[Replica]) -> Vec<(u32, u32)> {
    replicas
        .iter()
        .enumerate()
        .filter(|(_, r)| r.state() == ReplicaState::Ready)
        .map(|(i, r)| (i as u32, r.incarnation()))
        .collect()
}

/// Groups the replicas now by what the sample `through` (the replicas ready through its
/// window) says of them.
pub(super) fn group_pods(replicas: &[Replica], through: &[(u32, u32)], metric: Metric) -> Pods {
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

/// Steps 3 to 5 of the module docs: stabilization, rate limits, bounds. Records the
/// recommendation and any change in `state`.
pub(super) fn decide(
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
