//! The autoscaler of a service, with the semantics of Kubernetes' Horizontal Pod Autoscaler
//! (`pkg/controller/podautoscaler`):
//!
//! 1. Every `sync` period the controller reads the metric: the average over the sync period
//!    before (metrics-server's resolution), `metric_delay` old. Per ready replica:
//!    utilization (busy workers / workers), visits in flight, visits per second, or queue
//!    length.
//! 2. `desired = ceil(ready x observed / target)`, unless `|observed / target - 1| <=
//!    tolerance`, when the count stays. (`ready` is the time-average of ready replicas over
//!    the metric's period: replicas still starting have no metrics, and count as zero load,
//!    as the HPA counts unready pods when scaling up.)
//! 3. Stabilization: the recommendation is the lowest over the last `scale_up_window` on the
//!    way up, the highest over the last `scale_down_window` on the way down.
//! 4. Rate limits (`behavior` policies, `selectPolicy: Max`): within any `per`, up by at most
//!    `max(pods, percent%)` of the count at the start of that period, down likewise.
//! 5. Clamped to `[min, max]` (`min` raised by any scheduled minimum in force).
//!
//! New replicas start (billed, no traffic) and are ready after a draw of `provisioning`;
//! scaling down gives up starting replicas first, then drains ready ones, newest first (they
//! finish their in-flight work, then go).

use super::system::{Event, System};
use crate::engine::queue::EventQueue;
use crate::engine::time::Nanos;
use crate::metrics::run::Happening;
use crate::scenario::fleet::{Autoscale, Metric, RateLimit};
use crate::scenario::model::ServiceId;
use std::collections::VecDeque;

/// One autoscaler's memory.
#[derive(Debug, Clone, Default)]
pub struct AutoscalerState {
    /// Cumulative integrals at the last sync: busy workers, visits in the service, queued,
    /// ready replicas (level x ns), and visits.
    mark: [u128; 4],
    mark_visits: u64,
    mark_ns: Nanos,
    /// Metrics read at each sync, `(time, per-replica value, mean ready replicas)`, kept until
    /// they are `metric_delay` old.
    scrapes: VecDeque<(Nanos, Option<(f64, f64)>)>,
    /// Recommendations within the longer stabilization window.
    recommendations: VecDeque<(Nanos, u32)>,
    /// Replicas added (+) or removed (-) within the longer rate-limit period.
    changes: VecDeque<(Nanos, i64)>,
}

impl System<'_> {
    pub(super) fn schedule_autoscalers(&mut self, events: &mut EventQueue<Event>) {
        for (id, spec) in self.model.services.iter().enumerate() {
            if let Some(a) = &spec.fleet.autoscale {
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
        let scrape = self.scrape(now_ns, id, a);
        let state = self.world.autoscalers[id]
            .as_mut()
            .expect("an autoscaled service has an autoscaler");
        state.scrapes.push_back((now_ns, scrape));
        // The newest scrape at least `metric_delay` old is what the controller sees.
        while state
            .scrapes
            .get(1)
            .is_some_and(|&(t, _)| t.saturating_add(a.metric_delay_ns) <= now_ns)
        {
            state.scrapes.pop_front();
        }
        let seen = match state.scrapes.front() {
            Some(&(t, value)) if t.saturating_add(a.metric_delay_ns) <= now_ns => value,
            _ => None,
        };
        let current = self.services[id].fleet.current();
        let Some((observed, ready)) = seen else {
            return; // no metric yet (or no replica was ready to report one)
        };
        let ratio = observed / a.target;
        let recommendation = if (ratio - 1.0).abs() <= a.tolerance {
            current
        } else {
            (ready * ratio).ceil().min(f64::from(u32::MAX)) as u32
        };
        let state = self.world.autoscalers[id].as_mut().expect("checked above");
        let desired = decide(a, state, now_ns, current, recommendation);
        if desired == current {
            return;
        }
        let happening = if desired > current {
            Happening::ScaleUp {
                service: id,
                from: current,
                to: desired,
                observed,
            }
        } else {
            Happening::ScaleDown {
                service: id,
                from: current,
                to: desired,
                observed,
            }
        };
        self.world.log.push(now_ns, happening);
        if desired > current {
            for _ in current..desired {
                self.start_replica(now_ns, id, 0, &a.provisioning, events);
            }
        } else {
            self.scale_down(now_ns, id, current - desired);
        }
    }

    /// The metric over the last sync period, per ready replica, and the mean ready count;
    /// `None` when no replica was ready.
    fn scrape(&mut self, now_ns: Nanos, id: ServiceId, a: &Autoscale) -> Option<(f64, f64)> {
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
        let state = self.world.autoscalers[id].as_mut()?;
        let delta = |i: usize| (now[i] - state.mark[i]) as f64;
        let ready_time = delta(3);
        let elapsed = (now_ns - state.mark_ns) as f64;
        let value = (ready_time > 0.0).then(|| {
            let observed = match a.metric {
                Metric::Utilization => delta(0) / (ready_time * concurrency),
                Metric::InFlight => delta(1) / ready_time,
                Metric::QueueLength => delta(2) / ready_time,
                Metric::Rps => (visits - state.mark_visits) as f64 / (ready_time / 1e9),
            };
            (observed, ready_time / elapsed)
        });
        state.mark = now;
        state.mark_visits = visits;
        state.mark_ns = now_ns;
        value
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
