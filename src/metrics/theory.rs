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
//! 1 or more an unbounded queue grows without limit.

use crate::scenario::model::{Model, ServiceId};

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
    /// Why there is no closed form (or why the queue is unstable).
    pub note: Option<String>,
}

/// Theory for every service of `model`, in service order.
pub fn theory(model: &Model) -> Vec<ServiceTheory> {
    let visits = visits_per_request(model);
    let route = route(model);
    let mut result = Vec::with_capacity(model.services.len());
    for (id, service) in model.services.iter().enumerate() {
        let arrival_rate_per_s = model.traffic.rate_per_s * visits[id];
        let mut mean_hold_ns = service.service_time.mean_ns();
        if service.blocking_calls {
            mean_hold_ns += service
                .callees()
                .map(|c| response_floor_ns(model, c))
                .sum::<f64>();
        }
        let workers = service.workers() as f64;
        let offered_load = arrival_rate_per_s * mean_hold_ns / 1e9 / workers;
        let mut t = ServiceTheory {
            arrival_rate_per_s,
            mean_hold_ns,
            offered_load,
            utilization: None,
            queueing_model: None,
            mean_queue_wait_ns: None,
            blocking_probability: None,
            note: None,
        };
        let holds_workers = service.blocking_calls && !service.plan.is_empty();
        let rate_exact = rate_is_exact(model, &route, id);
        if arrival_rate_per_s == 0.0 {
            t.note = Some("no traffic reaches this service".into());
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
        if let Some(why) = changing_world(model, &route, id) {
            t.note = Some(why);
            result.push(t);
            continue;
        }
        if service.queue_capacity.is_none() && rate_exact {
            if offered_load >= 1.0 {
                t.note = Some(format!("unstable: offered load {offered_load:.3} >= 1, so the queue grows without limit"));
                result.push(t);
                continue;
            }
            t.utilization = Some(offered_load);
        }
        match poisson_arrivals(model, &route, id) {
            Err(reason) => t.note = Some(reason),
            Ok(()) if service.replicas > 1 => {
                t.note = Some(format!(
                    "round-robin over {} replicas has no closed form (each replica sees non-Poisson arrivals)",
                    service.replicas
                ));
            }
            Ok(()) => closed_form(&mut t, model, id),
        }
        result.push(t);
    }
    result
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

/// Expected visits to each service per external request, with errors thinning the calls
/// that follow them (rejections are not counted, so this is an upper bound with bounded
/// queues).
pub fn visits_per_request(model: &Model) -> Vec<f64> {
    fn success(model: &Model, id: ServiceId) -> f64 {
        let s = &model.services[id];
        s.callees()
            .fold(1.0 - s.error_rate, |p, c| p * success(model, c))
    }
    fn walk(model: &Model, id: ServiceId, weight: f64, visits: &mut [f64]) {
        visits[id] += weight;
        let s = &model.services[id];
        let mut reach = weight * (1.0 - s.error_rate);
        for callee in s.callees() {
            walk(model, callee, reach, visits);
            reach *= success(model, callee);
        }
    }
    let mut visits = vec![0.0; model.services.len()];
    walk(model, model.traffic.entry, 1.0, &mut visits);
    visits
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

/// Services in the order a request visits them: a depth-first walk of the call tree.
fn route(model: &Model) -> Vec<ServiceId> {
    fn walk(model: &Model, id: ServiceId, out: &mut Vec<ServiceId>) {
        out.push(id);
        for callee in model.services[id].callees() {
            walk(model, callee, out);
        }
    }
    let mut out = Vec::new();
    walk(model, model.traffic.entry, &mut out);
    out
}

/// Why a service has no steady state, when its arrivals vary over time or its replica count
/// (or a service's before it on the route) changes during the run.
fn changing_world(model: &Model, route: &[ServiceId], id: ServiceId) -> Option<String> {
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
    let changes = |s: ServiceId| -> Option<&'static str> {
        let spec = &model.services[s];
        if spec.fleet.autoscale.is_some() {
            return Some("is autoscaled");
        }
        let faulted = model.fleet.faults.iter().any(|f| match f.kind.service() {
            Some(target) => target == s,
            None => spec.fleet.regions.is_some(),
        });
        faulted.then_some("has faults")
    };
    if let Some(why) = changes(id) {
        return Some(format!(
            "its replica count or speed changes during the run (it {why}), so there is no steady state"
        ));
    }
    let position = route.iter().position(|&s| s == id)?;
    route[..position].iter().find_map(|&s| {
        changes(s).map(|why| {
            format!(
                "called after \"{}\", which {why}, so its arrivals have no steady state",
                model.services[s].name
            )
        })
    })
}

/// Whether no bounded queue before the service's first visit can have rejected requests.
fn rate_is_exact(model: &Model, route: &[ServiceId], id: ServiceId) -> bool {
    route
        .iter()
        .take_while(|&&s| s != id)
        .all(|&s| model.services[s].queue_capacity.is_none())
}

/// Ok when the service's arrivals are Poisson; else why not.
fn poisson_arrivals(model: &Model, route: &[ServiceId], id: ServiceId) -> Result<(), String> {
    let positions: Vec<usize> = route
        .iter()
        .enumerate()
        .filter(|(_, &s)| s == id)
        .map(|(i, _)| i)
        .collect();
    if positions.len() > 1 {
        return Err("visited more than once per request, so its arrivals are not Poisson".into());
    }
    let Some(&position) = positions.first() else {
        return Err("no traffic reaches this service".into());
    };
    for (i, &s) in route[..position].iter().enumerate() {
        if route[..i].contains(&s) {
            return Err(format!(
                "called after \"{}\", which a request visits twice",
                model.services[s].name
            ));
        }
        let upstream = &model.services[s];
        let passes_poisson = upstream.replicas == 1
            && upstream.service_time.is_exponential()
            && upstream.queue_capacity.is_none()
            && (!upstream.blocking_calls || upstream.plan.is_empty());
        if !passes_poisson {
            return Err(format!(
                "called after \"{}\", whose departures are not Poisson (only a single M/M/c queue with an unbounded queue passes Poisson arrivals on)",
                upstream.name
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from ../shared/peers/analytic.py, an independent implementation.
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
}
