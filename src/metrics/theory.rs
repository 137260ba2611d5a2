//! Queueing theory beside the simulation: for every service whose configuration has a closed
//! form, the theoretical utilization, mean queue wait and blocking probability.
//!
//! When does a service have one? Its arrivals must be Poisson at a known rate, and it must be
//! one of the classic single-queue models:
//! - `replicas = 1`, exponential service, unbounded queue: **M/M/c** (Erlang C);
//! - `replicas = 1`, exponential service, `queue_capacity = K - c`: **M/M/c/K**;
//! - `replicas = 1`, `concurrency = 1`, any service time, unbounded queue: **M/G/1**
//!   (Pollaczek-Khinchine; M/D/1 is the constant case).
//!
//! A request visits services in the order of a depth-first walk of the call tree (the
//! *route*). The entry's arrivals are the Poisson traffic. By Burke's theorem a stable M/M/c
//! queue with an unbounded queue passes Poisson arrivals on as Poisson departures, and
//! independent errors thin a Poisson stream into a Poisson stream; so a service's arrivals are
//! Poisson when every service before it on the route is such a queue with non-blocking calls
//! and no service repeats. Rates follow from visit ratios, with errors thinning them; they are
//! exact unless a bounded queue earlier on the route rejects some requests.
//!
//! Offered load (`arrival rate x mean service time / workers`) is given for every service: at
//! 1 or more an unbounded queue grows without limit. A batching service's work per visit
//! shrinks as its batches grow (a batch of b takes `T(b) = base + per_item x b`), so its
//! offered load is taken at the batch size the load needs: the smallest b up to `max_size`
//! whose capacity `workers x b / T(b)` exceeds the arrival rate (see [`batched_load`]).

use crate::scenario::model::{
    BalancerKind, ClassId, KeySpace, Lookup, Model, Policy, Popularity, Service, ServiceId, Step,
};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The theory for one service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceTheory {
    /// Expected arrivals per second (an upper bound when bounded queues reject upstream).
    pub arrival_rate_per_s: f64,
    /// Mean time a request holds a worker: its own service time, plus (with blocking calls)
    /// at least the downstream calls' own service times (a lower bound: no queueing).
    pub mean_hold_ns: f64,
    /// Arrival rate x mean hold time / workers.
    pub offered_load: f64,
    /// Mean busy fraction of the workers, where theory knows it.
    pub utilization: Option<f64>,
    /// Kendall notation of the closed form used ("M/M/4", "M/G/1", "M/M/2/10").
    pub queueing_model: Option<String>,
    pub mean_queue_wait_ns: Option<f64>,
    pub blocking_probability: Option<f64>,
    /// A cache's hit ratio: as given for a fixed one; Che's approximation for a keyed LRU of
    /// one replica without a TTL.
    pub hit_ratio: Option<f64>,
    /// Why there is no closed form (or why the queue is unstable).
    pub note: Option<String>,
    /// A batching service: the batch size its offered load and hold time are taken at.
    pub batch_size: Option<u32>,
}

/// A batching service's load: the batch size `b` the load needs and the offered load there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchedLoad {
    /// The smallest batch size whose capacity exceeds the arrival rate, or `max_size` when
    /// none does (then `offered_load >= 1`).
    pub batch_size: u32,
    /// Worker time per visit at that size: `T(b) / b`.
    pub hold_ns: f64,
    /// `arrival rate x T(b) / (b x workers)`.
    pub offered_load: f64,
}

/// The load on a batching service of `workers` workers (replicas x concurrency) offered
/// `arrival_rate_per_s`, whose batch of b takes `base_ns + per_item_ns x b` on average.
///
/// A worker finishes b visits per `T(b)`, so the service keeps up at batch size b when
/// `lambda < workers x b / T(b)`, that is when `b > b0 = lambda_w base / (1 - lambda_w per_item)`
/// with `lambda_w = lambda / workers` (and never when `lambda_w per_item >= 1`). A queue that
/// keeps up at b grows batches no larger than it needs, so the load is judged at the smallest
/// such b: `floor(b0) + 1`, at most `max_size`.
pub fn batched_load(
    arrival_rate_per_s: f64,
    workers: f64,
    base_ns: f64,
    per_item_ns: f64,
    max_size: u32,
) -> BatchedLoad {
    let per_worker_per_ns = arrival_rate_per_s / workers / 1e9;
    let load_at = |b: u32| {
        let hold_ns = base_ns / f64::from(b) + per_item_ns;
        (hold_ns, per_worker_per_ns * hold_ns)
    };
    let room = 1.0 - per_worker_per_ns * per_item_ns;
    let mut b = if room > 0.0 {
        let b0 = per_worker_per_ns * base_ns / room;
        // As a float, then clamped: b0 may be huge or not finite.
        (b0.floor() + 1.0).clamp(1.0, f64::from(max_size)) as u32
    } else {
        max_size
    };
    // The closed form's rounding, checked: the smallest b at which the load is below 1.
    while b > 1 && load_at(b - 1).1 < 1.0 {
        b -= 1;
    }
    while b < max_size && load_at(b).1 >= 1.0 {
        b += 1;
    }
    let (hold_ns, offered_load) = load_at(b);
    BatchedLoad {
        batch_size: b,
        hold_ns,
        offered_load,
    }
}

/// Theory for every service of `model`, in service order.
pub fn theory(model: &Model) -> Vec<ServiceTheory> {
    let hit_ratios: Vec<Option<f64>> = model.services.iter().map(che_hit_ratio_of).collect();
    let flows = flows(model, &hit_ratios);
    let by_fallback = reached_by_fallback(model);
    let mut result = Vec::with_capacity(model.services.len());
    for (id, service) in model.services.iter().enumerate() {
        let flow = &flows[id];
        let arrival_rate_per_s = model.traffic.rate_per_s * flow.visits;
        let mut mean_hold_ns = service.service_time.mean_ns();
        if service.blocking_calls {
            mean_hold_ns += service
                .callees()
                .map(|c| response_floor_ns(model, c))
                .sum::<f64>();
        }
        let workers = service.workers() as f64;
        let batched = service.batch.map(|batch| {
            batched_load(
                arrival_rate_per_s,
                workers,
                mean_hold_ns,
                batch.per_item_ns as f64,
                batch.max_size,
            )
        });
        if let Some(b) = batched {
            mean_hold_ns = b.hold_ns;
        }
        let offered_load = batched.map_or(arrival_rate_per_s * mean_hold_ns / 1e9 / workers, |b| {
            b.offered_load
        });
        let mut t = ServiceTheory {
            arrival_rate_per_s,
            mean_hold_ns,
            offered_load,
            utilization: None,
            queueing_model: None,
            mean_queue_wait_ns: None,
            blocking_probability: None,
            hit_ratio: hit_ratios[id],
            note: None,
            batch_size: batched.map(|b| b.batch_size),
        };
        let holds_workers = service.blocking_calls && service.callees().next().is_some();
        if arrival_rate_per_s == 0.0 {
            t.note = Some(if by_fallback[id] {
                "reached only as a fallback taken on timeouts or a deadline, at a rate theory does not know".into()
            } else {
                "no traffic reaches this service".into()
            });
            result.push(t);
            continue;
        }
        if holds_workers {
            t.note = Some(if offered_load >= 1.0 {
                format!("unstable: workers are held during downstream calls, and even without queueing downstream the offered load is {offered_load:.3} >= 1")
            } else {
                "workers are held during downstream calls (blocking_calls), so service time depends on the callees".into()
            });
            result.push(t);
            continue;
        }
        // A steady-state model needs steady arrivals and a steady fleet.
        if let Some(why) = changing_world(model, id) {
            t.note = Some(why);
            result.push(t);
            continue;
        }
        if let (Some(b), Some(batch)) = (batched, service.batch) {
            t.note = Some(batch_note(b, batch.max_size));
            result.push(t);
            continue;
        }
        if let Some(reason) = own_queue_has_no_closed_form(service) {
            t.note = Some(reason);
            result.push(t);
            continue;
        }
        if service.queue_capacity.is_none() && flow.rate.is_ok() {
            if offered_load >= 1.0 {
                t.note = Some(format!("unstable: offered load {offered_load:.3} >= 1, so the queue grows without limit"));
                result.push(t);
                continue;
            }
            t.utilization = Some(offered_load);
        }
        match (&flow.poisson, &flow.rate) {
            (Err(reason), _) => t.note = Some(reason.clone()),
            (Ok(()), Err(reason)) => t.note = Some(reason.clone()),
            (Ok(()), Ok(())) => match service.balancer {
                _ if service.replicas == 1 => closed_form(&mut t, model, id),
                BalancerKind::Random => {
                    // Random splitting of a Poisson stream: n independent queues at lambda / n.
                    let n = f64::from(service.replicas);
                    let mut per_replica = t.clone();
                    per_replica.arrival_rate_per_s /= n;
                    closed_form(&mut per_replica, model, id);
                    t.queueing_model = per_replica
                        .queueing_model
                        .map(|m| format!("{} x {m}", service.replicas));
                    t.mean_queue_wait_ns = per_replica.mean_queue_wait_ns;
                    t.blocking_probability = per_replica.blocking_probability;
                    t.utilization = per_replica.utilization.or(t.utilization);
                    t.note = per_replica.note;
                }
                _ => {
                    t.note = Some(format!(
                        "{} over {} replicas has no closed form (each replica sees non-Poisson arrivals; only random splitting keeps them Poisson)",
                        balancer_name(&service.balancer),
                        service.replicas
                    ))
                }
            },
        }
        result.push(t);
    }
    result
}

/// What theory says of a batching service: the batch size its load is judged at, or that
/// even full batches cannot keep up.
fn batch_note(b: BatchedLoad, max_size: u32) -> String {
    let hold = crate::engine::time::format_ns(b.hold_ns);
    if b.offered_load >= 1.0 {
        format!("unstable: even full batches of {max_size} ({hold} of work per visit) leave offered load {:.3} >= 1, so the queue grows without limit", b.offered_load)
    } else {
        format!("dynamic batching: offered load {:.3} at batches of {} ({hold} of work per visit), the smallest batch that keeps up; utilization and waits depend on how batches form (a bulk-service queue: no closed form here)", b.offered_load, b.batch_size)
    }
}

fn balancer_name(kind: &BalancerKind) -> &'static str {
    match kind {
        BalancerKind::RoundRobin => "round-robin",
        BalancerKind::Random => "random",
        BalancerKind::LeastOutstanding => "least-outstanding",
        BalancerKind::PowerOfTwo => "power-of-two",
        BalancerKind::Weighted(_) => "weighted round-robin",
        BalancerKind::ConsistentHash { .. } => "consistent hashing",
    }
}

/// Why the service's own queue is not one of the classic models, whatever its arrivals.
fn own_queue_has_no_closed_form(service: &Service) -> Option<String> {
    if service.batch.is_some() {
        return Some("dynamic batching has no closed form here (a bulk-service queue)".into());
    }
    if service.queue_timeout_ns.is_some() {
        return Some("visits that wait past queue_timeout leave (a queue with impatience): no closed form here".into());
    }
    if service.rate_limit.is_some() {
        return Some("a rate limit in front of the queue: no closed form here".into());
    }
    if service.circuit_breaker.is_some() {
        return Some("a circuit breaker in front of the queue: no closed form here".into());
    }
    None
}

/// What reaches one service: expected visits per request, and whether its arrivals are
/// Poisson and their rate is known exactly.
#[derive(Debug, Clone)]
struct Flow {
    visits: f64,
    poisson: Result<(), String>,
    rate: Result<(), String>,
}

/// Flows into every service, from every class's entry; `hit_ratios` are the caches'
/// theoretical hit ratios, where known.
fn flows(model: &Model, hit_ratios: &[Option<f64>]) -> Vec<Flow> {
    let mut flows = vec![
        Flow {
            visits: 0.0,
            poisson: Ok(()),
            rate: Ok(()),
        };
        model.services.len()
    ];
    let mut reached = vec![false; model.services.len()];
    for (class_id, class) in model.classes.iter().enumerate() {
        let mut per_class = vec![0u32; model.services.len()];
        walk(
            model,
            hit_ratios,
            class_id as ClassId,
            class.entry,
            class.share,
            Ok(()),
            Ok(()),
            &mut per_class,
            &mut flows,
        );
        for (id, &n) in per_class.iter().enumerate() {
            reached[id] |= n > 0;
            if n > 1 && flows[id].poisson.is_ok() {
                flows[id].poisson = Err(
                    "visited more than once per request, so its arrivals are not Poisson".into(),
                );
            }
        }
    }
    for (flow, reached) in flows.iter_mut().zip(reached) {
        if !reached {
            flow.poisson = Err("no traffic reaches this service".into());
        }
    }
    flows
}

/// One visit of a request of class `class` to `id` with probability `weight`; its arrival
/// stream along this path is Poisson if `poisson`, its rate known if `rate`.
#[allow(clippy::too_many_arguments)]
fn walk(
    model: &Model,
    hit_ratios: &[Option<f64>],
    class: ClassId,
    id: ServiceId,
    weight: f64,
    poisson: Result<(), String>,
    rate: Result<(), String>,
    per_class: &mut [u32],
    flows: &mut [Flow],
) {
    per_class[id] += 1;
    let flow = &mut flows[id];
    flow.visits += weight;
    if flow.poisson.is_ok() {
        flow.poisson = poisson.clone();
    }
    if flow.rate.is_ok() {
        flow.rate = rate.clone();
    }
    let s = &model.services[id];
    let name = &s.name;
    // What the service passes on to the services it calls.
    let out_poisson = poisson.and_then(|()| {
        let passes = (s.replicas == 1 || s.balancer == BalancerKind::Random)
            && s.service_time.is_exponential()
            && s.queue_capacity.is_none()
            && !(s.blocking_calls && s.callees().next().is_some())
            && own_queue_has_no_closed_form(s).is_none();
        if let Some(why) = fleet_changes(model, id) {
            Err(format!("called after \"{name}\", which {why}, so its arrivals have no steady state"))
        } else if passes {
            Ok(())
        } else {
            Err(format!("called after \"{name}\", whose departures are not Poisson (only M/M/c queues with an unbounded queue pass Poisson arrivals on)"))
        }
    });
    let out_rate = rate.and_then(|()| {
        // A batching service delays visits but turns none away; these do.
        let turns_away = s.queue_capacity.is_some()
            || s.queue_timeout_ns.is_some()
            || s.rate_limit.is_some()
            || s.circuit_breaker.is_some();
        if turns_away {
            Err(format!("the arrival rate depends on how many visits \"{name}\" turns away, which theory does not know here"))
        } else {
            Ok(())
        }
    });
    let reach = weight * (1.0 - s.error_rate);
    let mut plans: Vec<(&[Step], f64)> = vec![(&s.plan, 1.0)];
    if let Some(cache) = &s.cache {
        let miss = match &cache.lookup {
            Lookup::Fixed { hit_ratio } => Ok(1.0 - hit_ratio),
            Lookup::Keyed(..) => match hit_ratios[id] {
                Some(hit) => Err(1.0 - hit),
                None => Err(1.0),
            },
        };
        let (miss_ratio, exact) = match miss {
            Ok(m) => (m, true),
            Err(m) => (m, false),
        };
        plans = vec![(&cache.on_miss, miss_ratio)];
        if !exact {
            let cache_rate: Result<(), String> = Err(format!(
                "misses of the keyed cache \"{name}\" depend on the order of keys; their rate is estimated (Che) where it can be"
            ));
            return walk_plan(
                model,
                hit_ratios,
                class,
                plans,
                reach,
                out_poisson.and(cache_rate.clone()),
                out_rate.and(cache_rate),
                per_class,
                flows,
            );
        }
    }
    walk_plan(
        model,
        hit_ratios,
        class,
        plans,
        reach,
        out_poisson,
        out_rate,
        per_class,
        flows,
    );
}

/// The steps of a plan in order, each reached with the chance that the ones before it
/// succeeded.
#[allow(clippy::too_many_arguments)]
fn walk_plan(
    model: &Model,
    hit_ratios: &[Option<f64>],
    class: ClassId,
    plans: Vec<(&[Step], f64)>,
    weight: f64,
    poisson: Result<(), String>,
    rate: Result<(), String>,
    per_class: &mut [u32],
    flows: &mut [Flow],
) {
    for (plan, share) in plans {
        let mut reach = weight * share;
        for step in plan {
            let mut successes = Vec::new();
            for call in &step.calls {
                if call.classes.as_ref().is_some_and(|c| !c.contains(&class)) {
                    continue;
                }
                let made = reach * call.probability;
                let p_ok = walk_call(
                    model,
                    hit_ratios,
                    class,
                    call,
                    made,
                    poisson.clone(),
                    rate.clone(),
                    per_class,
                    flows,
                );
                // Nobody waits for a fire-and-forget call: the step does not count it.
                if call.fire_and_forget {
                    continue;
                }
                let p_ok = if call.optional { 1.0 } else { p_ok };
                successes.push(call.probability * p_ok + (1.0 - call.probability));
            }
            let needed = step.join.needed(successes.len() as u16);
            let met = at_least(&successes, usize::from(needed));
            // A step's fallback is made when the step fails (a deadline can only fail it
            // more often: this is the chance counting errors alone).
            let fallback_ok = step.fallback.as_deref().map_or(0.0, |fallback| {
                walk_call(
                    model,
                    hit_ratios,
                    class,
                    fallback,
                    reach * (1.0 - met),
                    poisson.clone().and(Err(FALLBACK_NOT_POISSON.to_string())),
                    rate.clone().and_then(|()| {
                        let timed = step.deadline_ns.is_some()
                            || step.calls.iter().any(|c| c.timeout_ns.is_some());
                        if timed {
                            Err("called as the fallback of a step with a deadline or timeouts, whose failures theory does not know here".to_string())
                        } else {
                            Ok(())
                        }
                    }),
                    per_class,
                    flows,
                )
            });
            reach *= met + (1.0 - met) * fallback_ok;
        }
    }
}

const FALLBACK_NOT_POISSON: &str =
    "called as a fallback, when another call failed, which is not a Poisson stream";

/// Walks one call made `made` times per request (its attempts, then its fallback when they
/// all failed), and returns the chance that it succeeds, counting errors alone.
#[allow(clippy::too_many_arguments)]
fn walk_call(
    model: &Model,
    hit_ratios: &[Option<f64>],
    class: ClassId,
    call: &crate::scenario::model::Call,
    made: f64,
    poisson: Result<(), String>,
    rate: Result<(), String>,
    per_class: &mut [u32],
    flows: &mut [Flow],
) -> f64 {
    let success = success(model, call.service, class);
    let attempts = call.retries.map_or(1.0, |r| {
        // Expected attempts when each fails with 1 - success: (1 - f^k) / (1 - f).
        let f = 1.0 - success;
        if f >= 1.0 {
            f64::from(r.attempts)
        } else {
            (1.0 - f.powi(r.attempts as i32)) / (1.0 - f)
        }
    });
    let call_poisson = poisson.clone().and_then(|()| {
        if call.retries.is_some() || call.hedge_ns.is_some() || call.timeout_ns.is_some() {
            Err("called with retries, a hedge or a timeout, whose extra or abandoned attempts are not Poisson".to_string())
        } else {
            Ok(())
        }
    });
    let call_rate = rate.clone().and_then(|()| {
        if call.hedge_ns.is_some() || call.timeout_ns.is_some() {
            Err("hedged or timed-out calls depend on response times, which theory does not know here".to_string())
        } else {
            Ok(())
        }
    });
    walk(
        model,
        hit_ratios,
        class,
        call.service,
        made * attempts,
        call_poisson,
        call_rate.clone(),
        per_class,
        flows,
    );
    let p_ok = 1.0 - (1.0 - success).powi(call.retries.map_or(1, |r| r.attempts as i32));
    match call.fallback.as_deref() {
        None => p_ok,
        Some(fallback) => {
            let fallback_ok = walk_call(
                model,
                hit_ratios,
                class,
                fallback,
                made * (1.0 - p_ok),
                poisson.and(Err(FALLBACK_NOT_POISSON.to_string())),
                call_rate,
                per_class,
                flows,
            );
            p_ok + (1.0 - p_ok) * fallback_ok
        }
    }
}

/// The chance that a call succeeds, with its retries and fallbacks, counting errors alone.
fn call_success(model: &Model, call: &crate::scenario::model::Call, class: ClassId) -> f64 {
    let one = success(model, call.service, class);
    let ok = 1.0 - (1.0 - one).powi(call.retries.map_or(1, |r| r.attempts as i32));
    match call.fallback.as_deref() {
        None => ok,
        Some(fallback) => ok + (1.0 - ok) * call_success(model, fallback, class),
    }
}

/// The chance that at least `k` of independent events with these chances happen.
fn at_least(chances: &[f64], k: usize) -> f64 {
    // dp[j]: the chance of exactly j so far.
    let mut dp = vec![0.0; chances.len() + 1];
    dp[0] = 1.0;
    for (i, &p) in chances.iter().enumerate() {
        for j in (0..=i + 1).rev() {
            dp[j] = dp[j] * (1.0 - p) + if j > 0 { dp[j - 1] * p } else { 0.0 };
        }
    }
    dp[k..].iter().sum()
}

/// The chance that a visit to `id` by a request of class `class` succeeds, counting only
/// errors (no rejections, timeouts). Calls the class does not make are skipped, as the
/// engine skips them, so one class's path is not charged to another's.
fn success(model: &Model, id: ServiceId, class: ClassId) -> f64 {
    let s = &model.services[id];
    let own = 1.0 - s.error_rate;
    let steps = s.plan.iter().map(|step| {
        let chances: Vec<f64> = step
            .calls
            .iter()
            .filter(|c| !c.fire_and_forget && c.classes.as_ref().is_none_or(|k| k.contains(&class)))
            .map(|c| {
                if c.optional {
                    1.0
                } else {
                    c.probability * call_success(model, c, class) + (1.0 - c.probability)
                }
            })
            .collect();
        let met = at_least(
            &chances,
            usize::from(step.join.needed(chances.len() as u16)),
        );
        let fallback_ok = step
            .fallback
            .as_deref()
            .map_or(0.0, |f| call_success(model, f, class));
        met + (1.0 - met) * fallback_ok
    });
    steps.fold(own, |p, q| p * q)
}

/// The chance that a request of class `class` succeeds, counting only the errors the
/// scenario gives (`error_rate`, with retries and optional calls): an upper bound on its
/// availability.
pub fn class_success_probability(model: &Model, class: ClassId) -> f64 {
    success(model, model.classes[class as usize].entry, class)
}

/// The chance that a request succeeds: each class's chance weighed by its share of the
/// traffic; an upper bound on availability.
pub fn success_probability(model: &Model) -> f64 {
    (0..model.classes.len())
        .map(|c| model.classes[c].share * class_success_probability(model, c as ClassId))
        .sum()
}

/// Which services a fallback reaches along the call graph (directly, or below a service a
/// fallback reached). Such a service may be visited although the error rates alone give it
/// no visits: a fallback taken on timeouts or a step's deadline has a rate theory does not
/// know.
fn reached_by_fallback(model: &Model) -> Vec<bool> {
    // Services reached (false) and reached through a fallback (true), as (id, flag) seen.
    let mut seen = vec![[false; 2]; model.services.len()];
    let mut stack: Vec<(ServiceId, bool)> =
        model.classes.iter().map(|c| (c.entry, false)).collect();
    while let Some((id, fallen)) = stack.pop() {
        if std::mem::replace(&mut seen[id][usize::from(fallen)], true) {
            continue;
        }
        let service = &model.services[id];
        for step in service
            .plan
            .iter()
            .chain(service.cache.iter().flat_map(|c| &c.on_miss))
        {
            let written = step.calls.iter().map(|c| (c, fallen));
            let step_fallback = step.fallback.as_deref().map(|c| (c, true));
            for (call, fallen) in written.chain(step_fallback) {
                let mut next = Some((call, fallen));
                while let Some((spec, fallen)) = next {
                    if spec.probability > 0.0 {
                        stack.push((spec.service, fallen));
                    }
                    next = spec.fallback.as_deref().map(|f| (f, true));
                }
            }
        }
    }
    seen.iter().map(|s| s[1]).collect()
}

/// One warning: what is valid but cannot be what was meant.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    /// What warnings of this kind are, in the plural, for a report that shows a few of a
    /// kind and counts the rest (`services are never visited`): a design of 10^6 services
    /// can have 10^6 warnings of one kind.
    pub kind: &'static str,
    pub text: String,
}

impl Warning {
    fn new(kind: &'static str, text: String) -> Warning {
        Warning { kind, text }
    }
}

const NEVER_VISITED: &str = "services are never visited";
const BEYOND_AUTOSCALE: &str = "services are offered more work than their autoscale.max can do";
const OVERLOADED: &str = "services are offered more work than they can do";
const UNREACHABLE_AVAILABILITY: &str = "availability objectives cannot be met";
const ZERO_TARGET: &str = "objectives of 0 cannot be met";
const TIMEOUT_WITHIN_TARGET: &str =
    "calls time out within a latency objective's target (it can pass by construction)";

/// What is valid but cannot be what was meant, for warnings: services nothing reaches,
/// objectives no run can meet, queues that grow without limit.
pub fn warnings(model: &Model) -> Vec<Warning> {
    let mut out = Vec::new();
    // A service with no visits by the theory's visit ratios is never visited, unless a
    // fallback reaches it along the call graph: a fallback taken only on timeouts or
    // deadlines has no visits by the error rates alone, yet is visited.
    let visits = visits_per_request(model);
    let by_fallback = reached_by_fallback(model);
    for ((service, &v), &by_fallback) in model.services.iter().zip(&visits).zip(&by_fallback) {
        if v == 0.0 && !by_fallback {
            out.push(Warning::new(
                NEVER_VISITED,
                format!(
                    "service \"{}\" is never visited: no class enters there and no call reaches it",
                    service.name
                ),
            ));
        }
    }
    for (service, t) in model.services.iter().zip(theory(model)) {
        if service.queue_capacity.is_some() {
            continue;
        }
        match &service.fleet.autoscale {
            // An autoscaled service is short only if even its ceiling cannot keep up.
            Some(a) => {
                let at_ceiling = match service.batch {
                    // Batches at the ceiling may be smaller than at today's replicas.
                    Some(batch) => {
                        let workers = f64::from(a.max) * f64::from(service.concurrency);
                        batched_load(
                            t.arrival_rate_per_s,
                            workers,
                            service.service_time.mean_ns(),
                            batch.per_item_ns as f64,
                            batch.max_size,
                        )
                        .offered_load
                    }
                    None => t.offered_load * f64::from(service.replicas) / f64::from(a.max),
                };
                if at_ceiling >= 1.0 {
                    out.push(Warning::new(BEYOND_AUTOSCALE, format!(
                        "service \"{}\" is offered more work than even autoscale.max = {} replicas can do (offered load {:.2} at the ceiling); its queue will grow without limit",
                        service.name, a.max, at_ceiling
                    )));
                }
            }
            None if t.offered_load >= 1.0 => out.push(Warning::new(OVERLOADED, format!(
                "service \"{}\" is offered more work than it can do{} (offered load {:.2}); its queue will grow without limit",
                service.name,
                service.batch.map_or(String::new(), |b| format!(" even in full batches of {}", b.max_size)),
                t.offered_load
            ))),
            None => {}
        }
    }
    let overall = success_probability(model);
    let objectives = model
        .slo
        .iter()
        .map(|o| ("slo".to_string(), o, overall, "requests".to_string()))
        .chain(model.classes.iter().enumerate().flat_map(|(i, c)| {
            let best = class_success_probability(model, i as ClassId);
            c.slo.iter().map(move |o| {
                let whose = format!("class {}'s requests", c.name);
                (format!("class.{}.slo", c.name), o, best, whose)
            })
        }));
    for (path, o, best, whose) in objectives {
        match o.measure {
            crate::scenario::model::Measure::Availability if o.target > best + 1e-12 => {
                out.push(Warning::new(UNREACHABLE_AVAILABILITY, format!(
                    "{path}.availability = {} cannot be met: with the error rates given, at most {:.4}% of {whose} can succeed (add retries, fallbacks or lower error rates)",
                    o.target,
                    best * 100.0
                )));
            }
            crate::scenario::model::Measure::Availability
            | crate::scenario::model::Measure::Degraded => {}
            m if o.target == 0.0 => out.push(Warning::new(
                ZERO_TARGET,
                format!(
                    "{path}.{} = 0 cannot be met unless requests take no time at all",
                    m.key()
                ),
            )),
            _ => {}
        }
    }
    out.extend(timeouts_within_latency_targets(model));
    out
}

/// A latency objective covers successful requests only: a request whose call timed out
/// fails, and its latency is not counted. A call timeout at or below a latency objective's
/// target, on the path of requests the objective judges, turns the requests that would
/// have been slow into failures, so the objective can pass by construction; the warning
/// says so (availability is where those requests show).
fn timeouts_within_latency_targets(model: &Model) -> Vec<Warning> {
    // Per class: the (caller, callee, timeout) of every call its requests can make that
    // fails the request when it times out (an optional call's, or one with a fallback,
    // does not).
    let timed: Vec<Vec<(usize, usize, u64)>> = (0..model.classes.len())
        .map(|class| {
            let mut found = Vec::new();
            let mut seen = vec![false; model.services.len()];
            let mut stack = vec![model.classes[class].entry];
            while let Some(id) = stack.pop() {
                if std::mem::replace(&mut seen[id], true) {
                    continue;
                }
                let s = &model.services[id];
                let steps = s.plan.iter().chain(s.cache.iter().flat_map(|c| &c.on_miss));
                for call in steps.flat_map(|step| &step.calls) {
                    let makes = call
                        .classes
                        .as_ref()
                        .is_none_or(|c| c.contains(&(class as ClassId)));
                    // A fire-and-forget call's failures never reach the request.
                    if !makes || call.fire_and_forget {
                        continue;
                    }
                    stack.push(call.service);
                    // Nor does a timeout that an optional call or a fallback absorbs.
                    let absorbed = call.optional || call.fallback.is_some();
                    if let (Some(t), false) = (call.timeout_ns, absorbed) {
                        found.push((id, call.service, t));
                    }
                }
            }
            found.sort_unstable();
            found
        })
        .collect();
    let all: Vec<usize> = (0..model.classes.len()).collect();
    let objectives = model
        .slo
        .iter()
        .map(|o| ("slo".to_string(), o, all.clone()))
        .chain(model.classes.iter().enumerate().flat_map(|(i, c)| {
            c.slo
                .iter()
                .map(move |o| (format!("class.{}.slo", c.name), o, vec![i]))
        }));
    let mut out = Vec::new();
    for (path, o, classes) in objectives {
        if o.measure.is_share() || o.target == 0.0 {
            continue;
        }
        let mut calls: Vec<(usize, usize, u64)> = classes
            .iter()
            .flat_map(|&c| timed[c].iter().copied())
            .filter(|&(_, _, t)| t as f64 <= o.target)
            .collect();
        calls.sort_unstable();
        calls.dedup();
        for (caller, callee, t) in calls {
            out.push(Warning::new(TIMEOUT_WITHIN_TARGET, format!(
                "{path}.{} = {} can pass by construction: the call from \"{}\" to \"{}\" times out after {}, and a timed-out request is a failure, not a latency (latency objectives cover successful requests only)",
                o.measure.key(),
                crate::engine::time::format_ns(o.target),
                model.services[caller].name,
                model.services[callee].name,
                crate::engine::time::format_ns(t as f64),
            )));
        }
    }
    out
}

/// Expected visits to each service per external request (see [`theory`]).
pub fn visits_per_request(model: &Model) -> Vec<f64> {
    let hit_ratios: Vec<Option<f64>> = model.services.iter().map(che_hit_ratio_of).collect();
    flows(model, &hit_ratios)
        .into_iter()
        .map(|f| f.visits)
        .collect()
}

/// The Che approximation of an LRU cache's hit ratio under independent references, for a
/// keyed LRU cache of one replica without a TTL.
fn che_hit_ratio_of(service: &Service) -> Option<f64> {
    let cache = service.cache.as_ref()?;
    match &cache.lookup {
        Lookup::Fixed { hit_ratio } => Some(*hit_ratio),
        Lookup::Keyed(space, store)
            if store.policy == Policy::Lru && store.ttl_ns.is_none() && service.replicas == 1 =>
        {
            Some(che_hit_ratio_memo(space, store.capacity))
        }
        Lookup::Keyed(..) => None,
    }
}

/// What Che's approximation was solved for: (keys, Zipf exponent's bits or `None` for
/// uniform, capacity).
type CheKey = (u64, Option<u64>, u64);

/// Che's approximation is solved once per (keys, popularity law, capacity) in a process:
/// theory is wanted several times per run (`theory` for the summary, `visits_per_request`
/// and `theory` again in `warnings`, a sweep's plan), and a sweep over other keys asks for the
/// same cache again at every point.
static CHE_SOLVED: Mutex<BTreeMap<CheKey, f64>> = Mutex::new(BTreeMap::new());

/// The (keys, capacity) of every solve, for the tests to count them.
#[cfg(test)]
static CHE_SOLVES: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());

/// [`che_hit_ratio_for`], solved once per process for each key space and capacity.
pub fn che_hit_ratio_memo(space: &KeySpace, capacity: u64) -> f64 {
    let key = match space.popularity {
        Popularity::Zipf(a) => (space.keys, Some(a.to_bits()), capacity),
        Popularity::Uniform => (space.keys, None, capacity),
    };
    // The lock is held while solving, so two threads asking at once solve once.
    let mut solved = CHE_SOLVED.lock().unwrap_or_else(|e| e.into_inner());
    *solved.entry(key).or_insert_with(|| {
        #[cfg(test)]
        CHE_SOLVES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((space.keys, capacity));
        che_hit_ratio_for(space, capacity)
    })
}

/// Ranks summed one by one in Che's approximation; the ranks past them are integrated.
pub const CHE_EXACT_RANKS: u64 = 100_000;

/// Simpson panels over the integrated ranks (on a log scale, where the terms are smooth).
const CHE_PANELS: usize = 2048;

/// Che's approximation for an LRU cache of `capacity` keys under the law `space`.
///
/// Up to [`CHE_EXACT_RANKS`] keys, every key's chance is summed ([`che_hit_ratio`]). Past
/// that, the first `CHE_EXACT_RANKS` ranks are summed and the rest, where a rank's chance
/// changes slowly from one rank to the next, by Euler-Maclaurin: the sum of a smooth `h` over
/// ranks m..=n is the integral of `h` from m to n plus `(h(m) + h(n)) / 2`, within
/// `|h'(m) - h'(n)| / 12` (at most `exponent / (12 m)` keys of the cache's fill, 1e-6 at m =
/// 1e5). The integral is Simpson's rule over log(rank). So memory and time stay those of
/// 1e5 keys whatever the key space (1e9 keys: a few milliseconds).
pub fn che_hit_ratio_for(space: &KeySpace, capacity: u64) -> f64 {
    let n = space.keys;
    if n <= CHE_EXACT_RANKS {
        return che_hit_ratio(&popularities(space), capacity);
    }
    if capacity >= n {
        return 1.0;
    }
    let exponent = match space.popularity {
        // Every key has chance 1/n: n (1 - e^(-T/n)) = C, so the hit ratio is C / n.
        Popularity::Uniform => return capacity as f64 / n as f64,
        Popularity::Zipf(a) => a,
    };
    // (rank or quadrature node, weight): the weight is how many ranks the node stands for.
    let m = (CHE_EXACT_RANKS + 1) as f64;
    let (lo, hi) = (m.ln(), (n as f64).ln());
    let step = (hi - lo) / CHE_PANELS as f64;
    let exact = (1..=CHE_EXACT_RANKS).map(|k| (k as f64, 1.0));
    let simpson = (0..=CHE_PANELS).map(|j| {
        let x = (lo + step * j as f64).exp();
        let simpson_weight = match j {
            0 => 1.0,
            j if j == CHE_PANELS => 1.0,
            j if j % 2 == 1 => 4.0,
            _ => 2.0,
        };
        // dx = x du.
        (x, simpson_weight * step / 3.0 * x)
    });
    let ends = [(m, 0.5), (n as f64, 0.5)];
    let nodes: Vec<(f64, f64)> = exact.chain(simpson).chain(ends).collect();
    let total: f64 = nodes.iter().map(|&(x, w)| w * x.powf(-exponent)).sum();
    // (chance of a key at the node, ranks it stands for)
    let p: Vec<(f64, f64)> = nodes
        .iter()
        .map(|&(x, w)| (x.powf(-exponent) / total, w))
        .collect();
    let t = che_characteristic_time(capacity as f64, |t| {
        p.iter().fold((0.0, 0.0), |(filled, slope), &(pi, w)| {
            let stays = (-pi * t).exp();
            (filled + w * (1.0 - stays), slope + w * pi * stays)
        })
    });
    p.iter()
        .map(|&(pi, w)| w * pi * (1.0 - (-pi * t).exp()))
        .sum()
}

/// The characteristic time T solving `filled(T) = capacity`, where `fill(T)` gives
/// (filled(T), filled'(T)). filled(T) = sum_i (1 - e^(-p_i T)) rises and is concave in T, so
/// Newton's method from below converges monotonically.
fn che_characteristic_time(capacity: f64, fill: impl Fn(f64) -> (f64, f64)) -> f64 {
    let (mut t, mut previous) = (0.0f64, f64::NAN);
    for _ in 0..200 {
        let (filled, slope) = fill(t);
        if slope <= 0.0 || (t - previous).abs() <= 1e-12 * t {
            break;
        }
        previous = t;
        t += (capacity - filled) / slope;
    }
    t
}

/// The chance of each key (rank 1 first) under a popularity law.
pub fn popularities(space: &KeySpace) -> Vec<f64> {
    let n = space.keys as usize;
    let raw: Vec<f64> = match space.popularity {
        Popularity::Uniform => vec![1.0; n],
        Popularity::Zipf(a) => (1..=n).map(|k| (k as f64).powf(-a)).collect(),
    };
    let total: f64 = raw.iter().sum();
    raw.into_iter().map(|p| p / total).collect()
}

/// Che's approximation (Che, Tung and Wang, 2002): an LRU cache of `capacity` items under
/// independent references with chances `p` behaves as if each item stays for the
/// characteristic time T solving `sum_i (1 - exp(-p_i T)) = capacity`; the hit ratio is
/// `sum_i p_i (1 - exp(-p_i T))`.
pub fn che_hit_ratio(p: &[f64], capacity: u64) -> f64 {
    let capacity = capacity as f64;
    if capacity >= p.len() as f64 {
        return 1.0;
    }
    // Each Newton step is one pass over the keys.
    let t = che_characteristic_time(capacity, |t| {
        let (mut filled, mut slope) = (0.0, 0.0);
        for &pi in p {
            let stays = (-pi * t).exp();
            filled += 1.0 - stays;
            slope += pi * stays;
        }
        (filled, slope)
    });
    p.iter().map(|&pi| pi * (1.0 - (-pi * t).exp())).sum()
}

fn closed_form(t: &mut ServiceTheory, model: &Model, id: ServiceId) {
    let service = &model.services[id];
    let c = service.concurrency;
    let lambda = t.arrival_rate_per_s;
    let mean_s = service.service_time.mean_ns() / 1e9;
    if service.service_time.is_exponential() {
        let mu = 1.0 / mean_s;
        match service.queue_capacity {
            None => {
                t.queueing_model = Some(format!("M/M/{c}"));
                t.mean_queue_wait_ns = Some(mmc_mean_wait_s(c, lambda, mu) * 1e9);
                t.blocking_probability = Some(0.0);
            }
            Some(q) => match mmck(c, q, lambda, mu) {
                Some(f) => {
                    t.queueing_model = Some(format!("M/M/{c}/{}", u64::from(c) + u64::from(q)));
                    t.utilization = Some(f.utilization);
                    t.mean_queue_wait_ns = Some(f.mean_wait_s * 1e9);
                    t.blocking_probability = Some(f.blocking);
                }
                None => t.note = Some("queue too long for the exact M/M/c/K sums".into()),
            },
        }
    } else if c == 1 && service.queue_capacity.is_none() {
        let second_moment_s2 = service.service_time.second_moment_ns2() / 1e18;
        let rho = lambda * mean_s;
        t.queueing_model = Some("M/G/1".into());
        t.blocking_probability = Some(0.0);
        if second_moment_s2.is_finite() {
            t.mean_queue_wait_ns = Some(lambda * second_moment_s2 / (2.0 * (1.0 - rho)) * 1e9);
        } else {
            t.note =
                Some("service time has infinite variance, so the mean wait is infinite".into());
        }
    } else {
        t.note = Some(format!(
            "{} service time with {} workers has no closed form (only M/M/c, M/M/c/K and M/G/1 do)",
            service.service_time.describe(),
            c
        ));
    }
}

/// Erlang C: the probability that an arrival waits in an M/M/c queue with offered load `a`.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    // Erlang B by its stable recurrence, then C from B.
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    let rho = a / f64::from(c);
    b / (1.0 - rho * (1.0 - b))
}

/// Mean wait in queue of a stable M/M/c queue, in seconds.
pub fn mmc_mean_wait_s(c: u32, lambda: f64, mu: f64) -> f64 {
    erlang_c(c, lambda / mu) / (f64::from(c) * mu - lambda)
}

/// The `q`-quantile of the sojourn time (wait plus service) in a stable M/M/c FIFO queue, in
/// seconds; `None` when the queue is unstable. With probability `1 - C` (C from Erlang C) an
/// arrival is served at once, its sojourn Exp(mu); otherwise it waits Exp(gamma), gamma =
/// c mu - lambda, and is then served. Found by bisection on the survival function (as
/// `benches/peers/theory.py` does).
pub fn mmc_sojourn_quantile_s(c: u32, lambda: f64, mu: f64, q: f64) -> Option<f64> {
    let gamma = f64::from(c) * mu - lambda;
    if !(gamma > 0.0 && mu > 0.0 && (0.0..1.0).contains(&q)) {
        return None;
    }
    let waits = erlang_c(c, lambda / mu);
    let survival = |t: f64| {
        let served = (-mu * t).exp();
        let waited_then_served = if (gamma - mu).abs() < 1e-12 * mu {
            (1.0 + mu * t) * served
        } else {
            (gamma * served - mu * (-gamma * t).exp()) / (gamma - mu)
        };
        (1.0 - waits) * served + waits * waited_then_served
    };
    let (mut low, mut high) = (0.0, 1.0 / mu);
    while survival(high) > 1.0 - q {
        low = high;
        high *= 2.0;
    }
    for _ in 0..200 {
        let middle = 0.5 * (low + high);
        if survival(middle) > 1.0 - q {
            low = middle;
        } else {
            high = middle;
        }
    }
    Some(0.5 * (low + high))
}

/// End-to-end p99 latency in milliseconds from theory, for a scenario that is a single M/M/c
/// queue: one service, no calls, no errors, Poisson traffic, exponential service, one replica,
/// an unbounded queue (where `theory` names the model `M/M/c`). `None` for any other design.
pub fn single_queue_p99_ms(model: &Model) -> Option<f64> {
    let [service] = model.services.as_slice() else {
        return None;
    };
    let [t] = theory(model).try_into().ok()?;
    let kendall = t.queueing_model.as_deref()?;
    let is_mmc = kendall.starts_with("M/M/") && kendall.matches('/').count() == 2;
    if !is_mmc || !service.plan.is_empty() || service.error_rate > 0.0 {
        return None;
    }
    let c = u32::try_from(service.workers()).ok()?;
    let mu = 1e9 / t.mean_hold_ns;
    mmc_sojourn_quantile_s(c, t.arrival_rate_per_s, mu, 0.99).map(|s| s * 1e3)
}

/// Figures of an M/M/c/K queue (K = c + queue capacity).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mmck {
    pub blocking: f64,
    pub mean_wait_s: f64,
    pub utilization: f64,
}

/// Exact M/M/c/K from the birth-death stationary distribution; `None` for queues so long
/// that the sum is not worth doing (over a million places).
pub fn mmck(c: u32, queue_capacity: u32, lambda: f64, mu: f64) -> Option<Mmck> {
    if queue_capacity > 1_000_000 {
        return None;
    }
    let k = u64::from(c) + u64::from(queue_capacity);
    let a = lambda / mu;
    // Unnormalised probabilities p_n / p_0, scaled down whenever they grow large.
    let mut term = 1.0_f64;
    let mut total = 1.0_f64;
    let mut queue_sum = 0.0_f64; // sum of (n - c) p_n for n > c
    let mut busy_sum = 0.0_f64; // sum of min(n, c) p_n
    for n in 1..=k {
        term *= a / (n.min(u64::from(c)) as f64);
        total += term;
        busy_sum += term * n.min(u64::from(c)) as f64;
        if n > u64::from(c) {
            queue_sum += term * (n - u64::from(c)) as f64;
        }
        if total > 1e250 {
            term /= total;
            busy_sum /= total;
            queue_sum /= total;
            total = 1.0;
        }
    }
    let blocking = term / total;
    let mean_queue = queue_sum / total;
    let admitted = lambda * (1.0 - blocking);
    Some(Mmck {
        blocking,
        mean_wait_s: if admitted > 0.0 {
            mean_queue / admitted
        } else {
            0.0
        },
        utilization: busy_sum / total / f64::from(c),
    })
}

/// A service's response time with no queueing anywhere and no errors: its own mean service
/// time plus its calls', in sequence.
fn response_floor_ns(model: &Model, id: ServiceId) -> f64 {
    let s = &model.services[id];
    s.service_time.mean_ns()
        + s.callees()
            .map(|c| response_floor_ns(model, c))
            .sum::<f64>()
}

/// What changes a service's replicas or speed during a run, if anything.
fn fleet_changes(model: &Model, s: ServiceId) -> Option<&'static str> {
    let spec = &model.services[s];
    if spec.fleet.autoscale.is_some() {
        return Some("is autoscaled");
    }
    let faulted = model.fleet.faults.iter().any(|f| match f.kind.service() {
        Some(target) => target == s,
        None => spec.fleet.regions.is_some(),
    });
    faulted.then_some("has faults")
}

/// Why a service has no steady state, when its arrivals vary over time or its replica count
/// changes during the run (a service called after one whose fleet changes is told so by its
/// flow).
fn changing_world(model: &Model, id: ServiceId) -> Option<String> {
    use crate::scenario::world::Arrivals;
    match model.traffic.arrivals {
        Arrivals::Poisson => {}
        Arrivals::Shaped(_) => {
            return Some("arrivals vary over time (a traffic shape), so there is no steady state; offered load is at the mean rate".into())
        }
        Arrivals::Replay(_) => {
            return Some("arrivals replay a trace, so there is no steady-state model; offered load is at the trace's mean rate".into())
        }
        Arrivals::Closed { .. } => {
            return Some("a closed loop of users paces the arrivals, so they are not Poisson; offered load is an upper bound (users / mean think time)".into())
        }
    }
    fleet_changes(model, id).map(|why| {
        format!(
            "its replica count or speed changes during the run (it {why}), so there is no steady state"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from benches/peers/theory.py, an independent implementation.
    #[test]
    fn erlang_c_matches_published_values() {
        // M/M/4, lambda = 3.2, mu = 1: P(wait) = 0.5964, Wq = 0.7455.
        assert!((erlang_c(4, 3.2) - 0.5964).abs() < 1e-4);
        assert!((mmc_mean_wait_s(4, 3.2, 1.0) - 0.7455).abs() < 1e-4);
        // M/M/16, lambda = 14.4: P(wait) = 0.5913, Wq = 0.3696.
        assert!((erlang_c(16, 14.4) - 0.5913).abs() < 1e-4);
        // M/M/1: P(wait) = rho.
        assert!((erlang_c(1, 0.9) - 0.9).abs() < 1e-12);
    }

    #[test]
    fn mmc_sojourn_quantiles_match_the_closed_form_and_the_peers_script() {
        // M/M/1: the sojourn is Exp(mu - lambda), p99 = ln(100) / (mu - lambda).
        let p99 = mmc_sojourn_quantile_s(1, 0.9, 1.0, 0.99).unwrap();
        assert!((p99 / (100f64.ln() / 0.1) - 1.0).abs() < 1e-9);
        // Values printed by benches/peers/theory.py (sojourn_quantile_s): M/M/4 at rho 0.8,
        // M/M/16 at rho 0.9, and M/M/2 at lambda = mu (gamma = mu, the equal-rates case).
        for (c, lambda, expected) in [
            (4, 3.2, 6.893203748883002),
            (16, 14.4, 5.269834601084462),
            (2, 1.0, 5.665960683792996),
        ] {
            let got = mmc_sojourn_quantile_s(c, lambda, 1.0, 0.99).unwrap();
            assert!(
                (got / expected - 1.0).abs() < 1e-9,
                "M/M/{c}: {got} vs {expected}"
            );
        }
        assert_eq!(mmc_sojourn_quantile_s(2, 2.0, 1.0, 0.99), None);
    }

    #[test]
    fn mmck_reduces_to_known_cases() {
        // M/M/1/K blocking: (1 - rho) rho^K / (1 - rho^(K+1)); rho = 0.9, K = 5.
        let expected = 0.1 * 0.9f64.powi(5) / (1.0 - 0.9f64.powi(6));
        let f = mmck(1, 4, 0.9, 1.0).unwrap();
        assert!((f.blocking - expected).abs() < 1e-12);
        // M/M/c/c is Erlang B: c = 2, a = 1: B = (1/2) / (1 + 1 + 1/2) = 0.2, no wait.
        let f = mmck(2, 0, 1.0, 1.0).unwrap();
        assert!((f.blocking - 0.2).abs() < 1e-12);
        assert_eq!(f.mean_wait_s, 0.0);
        // A very long queue approaches M/M/c.
        let f = mmck(4, 100_000, 3.2, 1.0).unwrap();
        assert!((f.mean_wait_s - mmc_mean_wait_s(4, 3.2, 1.0)).abs() < 1e-9);
    }

    #[test]
    fn che_reduces_to_capacity_over_keys_for_uniform_popularity() {
        // Every key equally likely: 1 - e^(-T / N) = C / N for every key, so the hit ratio is
        // C / N exactly.
        let p = vec![1e-3; 1000];
        assert!((che_hit_ratio(&p, 100) - 0.1).abs() < 1e-9);
        assert_eq!(che_hit_ratio(&p, 1000), 1.0, "everything fits");
    }

    fn zipf(keys: u64, exponent: f64) -> KeySpace {
        KeySpace {
            keys,
            popularity: Popularity::Zipf(exponent),
        }
    }

    #[test]
    fn che_by_sum_and_integral_matches_the_exact_sum_at_a_million_keys() {
        // 1e6 keys: the first 1e5 ranks summed, the other 900,000 integrated; against the
        // sum over every key, within 1e-4 in hit ratio (the tail's Euler-Maclaurin error is
        // below 1e-6 keys of fill, Simpson's below 1e-9), at small and large capacities
        // (a large cache holds much of the integrated tail).
        for (exponent, capacity) in [(0.9, 10_000), (0.9, 300_000), (0.6, 100_000), (1.2, 1_000)] {
            let space = zipf(1_000_000, exponent);
            let exact = che_hit_ratio(&popularities(&space), capacity);
            let approx = che_hit_ratio_for(&space, capacity);
            assert!(
                (approx - exact).abs() < 1e-4,
                "zipf {exponent}, capacity {capacity}: {approx} vs {exact}"
            );
        }
        // Uniform: C / N exactly.
        let uniform = KeySpace {
            keys: 1_000_000,
            popularity: Popularity::Uniform,
        };
        assert_eq!(che_hit_ratio_for(&uniform, 25_000), 0.025);
    }

    #[test]
    fn che_at_a_billion_keys_rises_with_capacity_below_one() {
        // 1e9 keys (the largest key space): no vector of a billion chances; the hit ratio
        // grows with the cache and stays below the chance mass of the top C ranks, which
        // is what a cache holding exactly the C most popular keys would hit (LRU does worse).
        let space = zipf(1_000_000_000, 0.9);
        let h = |c: u64| che_hit_ratio_for(&space, c);
        let (small, large) = (h(1_000_000), h(100_000_000));
        assert!(
            0.0 < small && small < large && large < 1.0,
            "{small} {large}"
        );
        // Top 1e6 of 1e9 ranks under Zipf(0.9): sum_{k<=C} k^-0.9 / sum_{k<=N} k^-0.9, by
        // the integral (C^0.1 - 1) / (N^0.1 - 1) to within a few percent: 2.98 / 6.94 = 0.43.
        assert!(small < 0.45, "{small}");
    }

    #[test]
    fn che_is_solved_once_per_key_space_and_capacity() {
        // A sweep over a cache's capacity asks for theory at every point, several times per
        // point (the summary, warnings, the sweep's plan): each distinct capacity is solved
        // once. The key count is this test's own, so other tests' solves do not count.
        let space = zipf(123_457, 0.9);
        for capacity in [1_000, 2_000, 1_000, 2_000, 1_000] {
            for _ in 0..3 {
                che_hit_ratio_memo(&space, capacity);
            }
        }
        let solves = CHE_SOLVES.lock().unwrap();
        let ours: Vec<u64> = solves
            .iter()
            .filter(|&&(keys, _)| keys == 123_457)
            .map(|&(_, capacity)| capacity)
            .collect();
        assert_eq!(ours, [1_000, 2_000]);
    }

    #[test]
    fn batched_load_is_taken_at_the_smallest_batch_that_keeps_up() {
        // T(b) = 10 ms + 1 ms x b, one worker. 610/s: b > 6.1 / (1 - 0.61) = 15.64, so 16,
        // load 0.61 x 26 / 16 = 0.99125 (at 15 it would be 0.61 x 25 / 15 = 1.0167).
        let b = batched_load(610.0, 1.0, 10e6, 1e6, 32);
        assert_eq!(b.batch_size, 16);
        assert!((b.offered_load - 0.99125).abs() < 1e-12);
        assert!((b.hold_ns - 1.625e6).abs() < 1e-6);
        // Light load: a batch of one keeps up, 50 x 11 ms = 0.55.
        let b = batched_load(50.0, 1.0, 10e6, 1e6, 32);
        assert_eq!(b.batch_size, 1);
        assert!((b.offered_load - 0.55).abs() < 1e-12);
        // 250/s: 250 x 14 ms / 4 = 0.875, 250 x 13 ms / 3 = 1.0833, so 4 (b0 = 2.5 / 0.75 =
        // 3.33 agrees).
        assert_eq!(batched_load(250.0, 1.0, 10e6, 1e6, 32).batch_size, 4);
        // Two workers share the load: 1,220/s on two is 610/s on each.
        assert_eq!(batched_load(1220.0, 2.0, 10e6, 1e6, 32).batch_size, 16);
        // Beyond full batches: 800 x 42 / 32 = 1.05 at max_size.
        let b = batched_load(800.0, 1.0, 10e6, 1e6, 32);
        assert_eq!(b.batch_size, 32);
        assert!((b.offered_load - 1.05).abs() < 1e-12);
        // per_item alone at or past the rate (1,000/s x 1 ms): no batch keeps up.
        let b = batched_load(1000.0, 1.0, 10e6, 1e6, 1_000_000);
        assert_eq!(b.batch_size, 1_000_000);
        assert!(b.offered_load >= 1.0);
    }

    #[test]
    fn at_least_k_of_n_is_the_binomial_tail() {
        // Three events of chance 0.5: P(>= 2) = 4 / 8, P(>= 1) = 7 / 8, P(>= 3) = 1 / 8.
        let c = [0.5; 3];
        assert!((at_least(&c, 2) - 0.5).abs() < 1e-12);
        assert!((at_least(&c, 1) - 0.875).abs() < 1e-12);
        assert!((at_least(&c, 3) - 0.125).abs() < 1e-12);
        assert_eq!(at_least(&c, 0), 1.0);
    }
}
