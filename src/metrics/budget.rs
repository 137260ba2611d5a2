//! The work budget: an estimate, before anything runs, of the events a command will handle
//! and the memory it will hold, so that a valid but absurd design (a rate of 10^9 for 100
//! years) is refused up front with its estimate instead of running for days or running out
//! of memory. The CLI compares the estimate with `--max-events` and `--max-memory`.

use super::run::max_visits_in_flight;
use super::theory::visits_per_request;
use crate::engine::time::Nanos;
use crate::scenario::model::{Arrivals, BalancerKind, Call, Lookup, Model, Policy, Step};

/// Events per second one core handles on the shipped scenarios (README: 10 to 13 million
/// customers per second on M/M/c; designs with calls and timers do fewer): the rate the
/// estimated time is given at.
pub const EVENTS_PER_SECOND_PER_CORE: f64 = 1e7;

/// Default `--max-events`: 10^10 events, about 17 minutes of one core at
/// [`EVENTS_PER_SECOND_PER_CORE`].
pub const DEFAULT_MAX_EVENTS: u64 = 10_000_000_000;

/// Default `--max-memory`: 8 GiB.
pub const DEFAULT_MAX_MEMORY_BYTES: u64 = 8 << 30;

/// Events per visit beyond the request's own arrival: its `WorkDone`, and for some visits
/// more (the `Deliver`/`Respond` of a call with latency, timeouts, retries, hedges).
/// Calibrated by the integration test `budget::estimate_is_close_to_the_events_counted`: on
/// shipped scenarios the engine counted 1 + 1.0 x visits events per request on the plain
/// queues (two-tier, mm1, erlang-staffing, mg1-heavy-tail), 1.2 on tail-at-scale, 1.4 on
/// cache-zipf and 2.2 on retry-storm (its timeouts and retries); 1.5 is between them.
pub const EVENTS_PER_VISIT: f64 = 1.5;

/// What a replication costs beyond its events, in events (at [`EVENTS_PER_SECOND_PER_CORE`],
/// 100 ns each): building its system and streams, then pooling and reading its record (each
/// service's counters, levels and figures; the latency and wait histograms of each service
/// it reached, allocated, merged and read once each, in proportion to the doublings their
/// values span). Measured on 2 cores under load (`/usr/bin/time`, user + sys, 2026-12-05):
/// 10^4 replications of one service no request reaches 0.11 s (11 us, 110 events, each);
/// of 100 such services 1.57 s and 10^3 of 1,000 1.51 s (1.5 us, 15 events, a service); of
/// 100 services reached by 10 requests (a tree of serial calls), 2,000 replications 4.06 s,
/// of which the 1,510 events of each take 0.15 ms: 18.8 us a service reached (188 events).
/// Before histograms held only the doublings their values span and reading them built
/// nothing, the same took 10.56 s, and 10^4 replications of one M/M/4 at 100/s for 10 s
/// (2,500 events each) 3.67 s where 2.86 s now.
/// A service counts as reached in a replication with weight its expected visits there, up
/// to 1.
pub const EVENTS_PER_REPLICATION: f64 = 100.0;
pub const EVENTS_PER_SERVICE_REPLICATION: f64 = 20.0;
pub const EVENTS_PER_REACHED_SERVICE_REPLICATION: f64 = 200.0;

/// Bytes of one keyed-cache entry (its index entry, its node in the policy's lists and the
/// slack of tables grown by doubling), measured at 10^6 keys by `tests/memory.rs`
/// (`a_cache_entry_costs_at_most_what_the_budget_counts`): LRU and FIFO 63.7, random and
/// Redis's sampled LRU 59.7, LFU 99.7 (its frequency lists).
pub fn bytes_per_cache_entry(policy: Policy) -> f64 {
    match policy {
        Policy::Lfu => 100.0,
        _ => 64.0,
    }
}
/// Bytes of one frame (a visit in flight) with its call records, its place in its queue and
/// its events: `tests/memory.rs` (`a_visit_in_flight_costs_at_most_what_the_budget_counts`)
/// measures 583 bytes per visit at the overload bound of a fan-out of 1,000 parallel calls
/// (the 136 counted before held a plain queue's 200,000 requests, 351 bytes per request
/// and visit, only because the bound counted four visits per request: a fan-out of 99,999
/// held 1.43 GB where 519 MiB was counted); 640 leaves a margin of 10%.
pub const BYTES_PER_FRAME: f64 = 640.0;
/// Bytes of one request in flight beyond its frames (its slab entry, its arrival event).
pub const BYTES_PER_REQUEST: f64 = 100.0;
/// Bytes of one replica beyond its queue (its lifecycle, counters, breakers).
pub const BYTES_PER_REPLICA: f64 = 100.0;
/// Bytes of one (replica, instance) pair of a balancer split into instances that count
/// their own visits: the count (4) and, for `least_outstanding`, the instance's tree of
/// minima (two nodes of 4 bytes per leaf, leaves rounded up to a power of two: at most 16).
pub const BYTES_PER_INSTANCE_SLOT: f64 = 20.0;
/// Bytes of one time-series window, and per service in it (docs/scenarios.md "Time series").
pub const BYTES_PER_WINDOW: f64 = 60.0;
pub const BYTES_PER_WINDOW_SERVICE: f64 = 88.0;
/// Bytes of one service beyond its histograms (its model, components, record and levels):
/// `max RSS` of a 1 ms run of a tree of services that no request reaches grows by 10.5 KiB a
/// service from 1,000 to 4,000 services and 11.8 KiB from 4,000 to 10,000 (`/usr/bin/time
/// -v`, 2026-12-05; 20.1 KiB when every histogram read built the crate's histogram, even an
/// empty one); 16 KiB leaves a margin.
pub const BYTES_PER_SERVICE: f64 = 16.0 * 1024.0;
/// Bytes of one sweep row held until the final write (its figures and labels).
pub const BYTES_PER_SWEEP_ROW: f64 = 1024.0;

/// Slots a keyed cache's store reserves up front (`components::cache`'s `PREALLOCATE_MAX`).
const CACHE_PREALLOCATED_SLOTS: f64 = (1u64 << 20) as f64;

/// Bytes loading a scenario holds at its peak (the toml crate's parse of the text, its tokens
/// and tree, then validation; for an invalid file the problems reported), per byte of text,
/// per value mark (each `{`, `[`, `,` and `=`: about one per table, list, element or key) and
/// per line. Fitted as an upper envelope of the peaks `tests/memory.rs`
/// (`loading_costs_at_most_what_the_budget_counts_for_every_shape`) measures on 15 shapes of
/// text at 20,000 items each: a long string costs 7.9 bytes per byte (its copies); a value
/// mark up to 487 bytes (a call in a list) or 447 (services written inline); a line (a
/// table header, a comment) up to 175 beside its marks. The ordinary `[[service]]` tables
/// of the tree measured there cost 4,747 bytes each and are counted at 6,970 (1.47 times);
/// the worst shape for the fit (empty lists) is counted at 3.8 times its cost. Set for valid
/// files: an invalid one also holds its problems and a second parse that places them, up
/// to 2.9 times this (20,000 inline services each lacking a name and a service time).
pub const LOADING_BYTES_PER_TEXT_BYTE: f64 = 8.0;
pub const LOADING_BYTES_PER_VALUE_MARK: f64 = 500.0;
pub const LOADING_BYTES_PER_LINE: f64 = 175.0;

/// What loading a scenario's text costs, counted without parsing it (one pass over its
/// bytes), so that a scenario too large to load is refused before it is parsed however its
/// tables are written (`[[service]]` headers, one inline list of a million services, a list
/// of ten million numbers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loading {
    pub text_bytes: usize,
    /// Value marks: `{`, `[`, `,` and `=`, wherever they are (in strings and comments too,
    /// which only counts more).
    pub marks: u64,
    pub lines: u64,
}

impl Loading {
    /// Peak bytes held while the text is loaded.
    pub fn memory_bytes(&self) -> f64 {
        self.text_bytes as f64 * LOADING_BYTES_PER_TEXT_BYTE
            + self.marks as f64 * LOADING_BYTES_PER_VALUE_MARK
            + self.lines as f64 * LOADING_BYTES_PER_LINE
    }

    /// The estimate of memory alone (no events), its one part named `what`.
    pub fn estimate(&self, what: String) -> Estimate {
        finish(Estimate {
            events: 0.0,
            memory_bytes: 0.0,
            arrivals_per_replication: 0.0,
            visits_per_request: 0.0,
            overhead_per_replication: 0.0,
            replications: 0.0,
            memory_parts: vec![(what, self.memory_bytes())],
        })
    }
}

/// Counts what loading `text` costs (see [`Loading`]).
pub fn loading(text: &str) -> Loading {
    let (mut marks, mut lines) = (0u64, 1u64);
    for byte in text.bytes() {
        match byte {
            b'{' | b'[' | b',' | b'=' => marks += 1,
            b'\n' => lines += 1,
            _ => {}
        }
    }
    Loading {
        text_bytes: text.len(),
        marks,
        lines,
    }
}

/// What a command is estimated to cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Events over every replication (and point).
    pub events: f64,
    /// Peak bytes held at once.
    pub memory_bytes: f64,
    /// Requests arriving in one replication.
    pub arrivals_per_replication: f64,
    /// Expected visits per request (all services).
    pub visits_per_request: f64,
    /// What a replication costs beyond its events, in events (counted in `events`).
    pub overhead_per_replication: f64,
    /// Replications (over every point of a sweep).
    pub replications: f64,
    /// What drives the memory: (what, bytes), largest first.
    pub memory_parts: Vec<(String, f64)>,
}

impl Estimate {
    /// Seconds the events take on `threads` cores at [`EVENTS_PER_SECOND_PER_CORE`].
    pub fn seconds(&self, threads: usize) -> f64 {
        self.events / (EVENTS_PER_SECOND_PER_CORE * threads.max(1) as f64)
    }
}

/// Times Little's law's requests in flight that a stable design is allowed for: queues of a
/// stable design fluctuate around their mean, rarely past several times it.
const STABLE_IN_FLIGHT_MARGIN: f64 = 20.0;

/// Requests in flight of a design in which every service with a closed form is stable
/// (utilization below 0.95) and none lacks one: `STABLE_IN_FLIGHT_MARGIN` x Little's law, the
/// arrival rate times the mean time a request spends at each service it visits (its hold
/// time, stretched by 1 / (1 - utilization) for the wait). `None` when theory cannot tell
/// (then the overload bound is what memory may come to).
fn stable_in_flight(model: &Model, visits_each: &[f64]) -> Option<f64> {
    if !matches!(model.traffic.arrivals, Arrivals::Poisson) {
        return None; // shapes, spikes and replays can overload a design stable on average
    }
    let theories = super::theory::theory(model);
    let mut seconds_in_system = 0.0;
    for (t, &v) in theories.iter().zip(visits_each) {
        let rho = t.utilization?;
        if rho.is_nan() || rho >= 0.95 {
            return None;
        }
        seconds_in_system += v * t.mean_hold_ns / 1e9 / (1.0 - rho);
    }
    Some(STABLE_IN_FLIGHT_MARGIN * model.traffic.rate_per_s * seconds_in_system + 1.0)
}

/// The longest durations a service's histograms can record: the longest wait for a worker
/// and the longest visit (arrival to answer), in nanoseconds; `None` where nothing in the
/// design bounds it. A run follows every request that arrived before its end to the end, so
/// a value recorded after the end can be longer than the run: an unbounded one is counted up
/// to the largest value a histogram can hold (`Nanos::MAX`), not the run's duration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Longest {
    pub wait_ns: Option<f64>,
    pub visit_ns: Option<f64>,
}

/// Bounds every service's [`Longest`] from the design alone, each a worst case that no draw
/// can exceed (no probabilities):
///
/// - own work: the largest draw of `service_time` ([`Distribution::max_ns`]: constant,
///   uniform, empirical, mixtures of those), none for an unbounded distribution;
/// - a call: per attempt its `timeout` (after its hedge delay, when it hedges), or without
///   one the network `latency`'s largest draw both ways plus the callee's longest visit;
///   times its attempts, plus a `max_backoff` before each retry, plus its fallback's;
/// - a step: the longest of the calls it waits for (fire-and-forget ones: none), no more
///   than its `deadline`, plus its fallback's; the calls: the sum of the steps (a cache's
///   `on_miss` steps too);
/// - the wait: at most `queue_timeout`; else, the FIFO queue of a replica holding at most
///   `K` visits (its `queue_capacity`, and never more than the visits in flight at which the
///   run stops, `max_visits_in_flight + 1`), each of its `c` workers taking the next visit
///   at least once per longest hold (the own work, plus the calls with `blocking_calls`),
///   the last of the `K` starts within `ceil(K / c)` holds;
/// - the visit: wait + own work + calls.
///
/// The queue bound needs a replica's workers to stay: with faults, autoscaling, health
/// checks, regions, deployments, versions or batching (replicas stop, start, drain and
/// queues wait for batches) nothing is bounded.
pub fn longest_durations(model: &Model) -> Vec<Longest> {
    let unbounded = Longest {
        wait_ns: None,
        visit_ns: None,
    };
    let dynamic = !model.fleet.faults.is_empty()
        || model.fleet.regions.len() > 1
        || model.traffic.backlog.is_some()
        || !model.deployments.is_empty()
        || model.services.iter().any(|s| {
            s.fleet.autoscale.is_some()
                || s.fleet.health.is_some()
                || s.fleet.regions.is_some()
                || s.versions.len() > 1
                || s.batch.is_some()
        });
    if dynamic {
        return vec![unbounded; model.services.len()];
    }
    let mut memo: Vec<Option<Longest>> = vec![None; model.services.len()];
    (0..model.services.len())
        .map(|s| longest_of(model, s, &mut memo))
        .collect()
}

/// One service's [`Longest`], its callees' first (the call graph has no cycles and nests at
/// most 100 deep, so the recursion is shallow).
fn longest_of(model: &Model, s: usize, memo: &mut Vec<Option<Longest>>) -> Longest {
    if let Some(known) = memo[s] {
        return known;
    }
    let service = &model.services[s];
    // A draw is its value rounded to a nanosecond: one more covers the rounding.
    let work_ns = service.service_time.max_ns().map(|ns| ns.ceil() + 1.0);
    let mut calls_ns = Some(0.0);
    let on_miss = service.cache.iter().flat_map(|c| &c.on_miss);
    for step in service.plan.iter().chain(on_miss) {
        calls_ns = add(calls_ns, step_ns(model, step, memo));
    }
    let hold_ns = if service.blocking_calls {
        add(work_ns, calls_ns)
    } else {
        work_ns
    };
    let in_flight = (max_visits_in_flight(model.max_in_flight) as f64) + 1.0;
    let places = service
        .queue_capacity
        .map_or(in_flight, |k| f64::from(k).min(in_flight));
    let by_queue = hold_ns.map(|h| (places / f64::from(service.concurrency.max(1))).ceil() * h);
    let wait_ns = match (service.queue_timeout_ns, by_queue) {
        (Some(t), Some(q)) => Some((t as f64).min(q)),
        (Some(t), None) => Some(t as f64),
        (None, q) => q,
    };
    let longest = Longest {
        wait_ns,
        visit_ns: add(add(wait_ns, work_ns), calls_ns),
    };
    memo[s] = Some(longest);
    longest
}

fn add(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? + b?)
}

/// The longest a step keeps its frame.
fn step_ns(model: &Model, step: &Step, memo: &mut Vec<Option<Longest>>) -> Option<f64> {
    let mut longest = Some(0.0f64);
    for call in step.calls.iter().filter(|c| !c.fire_and_forget) {
        longest = match (longest, call_ns(model, call, memo)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
    }
    if let Some(deadline) = step.deadline_ns {
        let deadline = deadline as f64;
        longest = Some(longest.map_or(deadline, |l| l.min(deadline)));
    }
    match &step.fallback {
        Some(fallback) => add(longest, call_ns(model, fallback, memo)),
        None => longest,
    }
}

/// The longest a call keeps its caller waiting: every attempt, the backoffs between them,
/// then its fallback.
fn call_ns(model: &Model, call: &Call, memo: &mut Vec<Option<Longest>>) -> Option<f64> {
    let hedge_ns = call.hedge_ns.unwrap_or(0) as f64;
    let attempt_ns = match call.timeout_ns {
        Some(t) => Some(hedge_ns + t as f64),
        None => {
            let network = match &call.latency {
                Some(latency) => latency.max_ns().map(|ns| 2.0 * (ns.ceil() + 1.0)),
                None => Some(0.0),
            };
            add(
                add(network, longest_of(model, call.service, memo).visit_ns),
                Some(hedge_ns),
            )
        }
    };
    let (attempts, backoff_ns) = call.retries.map_or((1.0, 0.0), |r| {
        (f64::from(r.attempts.max(1)), r.max_backoff_ns as f64)
    });
    let mut total = attempt_ns.map(|a| attempts * a + (attempts - 1.0) * backoff_ns);
    if let Some(fallback) = &call.fallback {
        total = add(total, call_ns(model, fallback, memo));
    }
    total
}

/// Bytes of a histogram of durations up to `longest_ns`, or up to any value (`Nanos::MAX`)
/// when nothing bounds them.
fn histogram_bytes(longest_ns: Option<f64>) -> f64 {
    let ns = longest_ns.map_or(Nanos::MAX, |ns| ns.min(Nanos::MAX as f64) as Nanos);
    super::recorder::histogram_bytes_up_to(ns)
}

/// The estimate of running `model` (every replication), `at_once` replications held in
/// memory at once (the threads they run on, at most the replications for a single run).
pub fn estimate(model: &Model, at_once: usize) -> Estimate {
    let duration_s = model.duration_ns as f64 / 1e9;
    let arrivals = match &model.traffic.arrivals {
        Arrivals::Replay(times) => times.len() as f64,
        // The mean rate (shapes included); a closed loop's is an upper bound.
        _ => model.traffic.rate_per_s * duration_s,
    };
    let visits_each = visits_per_request(model);
    let visits: f64 = visits_each.iter().sum();
    let windows = if model.series_window_ns > 0 {
        (model.duration_ns as f64 / model.series_window_ns as f64).ceil()
    } else {
        0.0
    };
    // A window's tick is an event when the series is recorded.
    let ticks = if model.record_series { windows } else { 0.0 };
    // A service is reached in a replication with probability at most its expected visits in
    // one (and its histograms are then filled): at most once per replication.
    let reached: f64 = visits_each.iter().map(|&v| (v * arrivals).min(1.0)).sum();
    let overhead = EVENTS_PER_REPLICATION
        + EVENTS_PER_SERVICE_REPLICATION * model.services.len() as f64
        + EVENTS_PER_REACHED_SERVICE_REPLICATION * reached;
    let per_replication_events = arrivals * (1.0 + visits * EVENTS_PER_VISIT) + ticks + overhead;
    let replications = f64::from(model.replications);
    let events = per_replication_events * replications;

    // Memory of one replication while it runs.
    let mut parts: Vec<(String, f64)> = Vec::new();
    let mut cache_bytes = 0.0;
    let mut replicas = 0.0;
    let mut instance_slots = 0.0;
    for (service, &v) in model.services.iter().zip(&visits_each) {
        let count = f64::from(
            service
                .fleet
                .autoscale
                .as_ref()
                .map_or(service.replicas, |a| a.max.max(service.replicas)),
        );
        replicas += count;
        if service.balancer_instances > 1
            && matches!(
                service.balancer,
                BalancerKind::LeastOutstanding | BalancerKind::PowerOfTwo
            )
        {
            instance_slots += count * f64::from(service.balancer_instances);
        }
        if let Some(Lookup::Keyed(space, store)) = service.cache.as_ref().map(|c| &c.lookup) {
            let capacity = store.capacity as f64;
            // Consistent hashing shards the keys: each replica sees its share of them.
            let keys = match service.balancer {
                BalancerKind::ConsistentHash { .. } => space.keys as f64 / count,
                _ => space.keys as f64,
            };
            let filled = capacity.min(keys).min(arrivals * v);
            let reserved = (capacity + 1.0).min(CACHE_PREALLOCATED_SLOTS);
            cache_bytes += count * filled.max(reserved) * bytes_per_cache_entry(store.policy);
        }
    }
    parts.push((
        "keyed caches (replicas x capacity entries)".into(),
        cache_bytes,
    ));
    parts.push(("replicas".into(), replicas * BYTES_PER_REPLICA));
    // A service that requests reach keeps a histogram of its latencies and one of its waits
    // per replication running, and one pair in the pool (reading them builds nothing more),
    // each holding counts up to its largest value (`recorder::histogram_bytes_up_to`), which
    // `longest_durations` bounds; the requests' own latencies (overall, and per class when
    // there are several) are their entries' visits.
    let longest = longest_durations(model);
    let mut pair_bytes = 0.0;
    for (l, &v) in longest.iter().zip(&visits_each) {
        if v * arrivals > 0.0 {
            pair_bytes += histogram_bytes(l.wait_ns) + histogram_bytes(l.visit_ns);
        }
    }
    let entry_bytes = model
        .classes
        .iter()
        .map(|c| histogram_bytes(longest[c.entry].visit_ns))
        .fold(0.0, f64::max);
    // The overall record, each class's when there are several, and with one class its copy.
    let request_histograms = 1.0 + model.classes.len().max(1) as f64;
    pair_bytes += request_histograms * entry_bytes;
    parts.push((
        "services' histograms (latency and queue wait of each service reached, up to the longest the design allows)"
            .into(),
        pair_bytes,
    ));
    if instance_slots > 0.0 {
        parts.push((
            "balancer instances' own counts (replicas x instances)".into(),
            instance_slots * BYTES_PER_INSTANCE_SLOT,
        ));
    }
    // In flight: at most what the overload bound allows (requests, and visits: no more than
    // the requests in flight make), and no more than the run brings; for a design that
    // theory finds stable, what Little's law says, with room to spare.
    let mut requests = (model.max_in_flight as f64).min(arrivals);
    let mut frames = (max_visits_in_flight(model.max_in_flight) as f64)
        .min(arrivals * visits)
        .min(requests * visits.max(1.0));
    if let Some(in_flight) = stable_in_flight(model, &visits_each) {
        requests = requests.min(in_flight);
        frames = frames.min(in_flight * visits.max(1.0));
    }
    parts.push((
        "requests and visits in flight (scenario.max_in_flight)".into(),
        requests * BYTES_PER_REQUEST + frames * BYTES_PER_FRAME,
    ));
    let series = if model.record_series {
        windows * (BYTES_PER_WINDOW + BYTES_PER_WINDOW_SERVICE * model.services.len() as f64)
    } else {
        0.0
    };
    parts.push(("time series (scenario.window)".into(), series));
    for part in &mut parts {
        part.1 *= at_once.max(1) as f64;
    }
    // The pool keeps one series besides the runs', and its own histograms.
    if series > 0.0 {
        parts.push(("pooled time series".into(), series));
    }
    parts.push(("pooled services' histograms".into(), pair_bytes));
    // The pool keeps each replication's figures for the intervals: its own, one set per
    // service and one per class (a run of 10^4 replications of 100 services held 80 MB).
    let figures = std::mem::size_of::<super::summary::RunFigures>()
        + model.services.len() * std::mem::size_of::<super::summary::ServiceFigures>()
        + model.classes.len() * std::mem::size_of::<super::summary::Figures>();
    parts.push((
        "each replication's figures (replications x services)".into(),
        replications * figures as f64,
    ));
    parts.push((
        "services (their model, components and records)".into(),
        model.services.len() as f64 * BYTES_PER_SERVICE,
    ));
    finish(Estimate {
        events,
        memory_bytes: 0.0,
        arrivals_per_replication: arrivals,
        visits_per_request: visits,
        overhead_per_replication: overhead,
        replications,
        memory_parts: parts,
    })
}

/// The estimate of `points` points of a grid (a sweep's, or the designs a plan looks at),
/// given the estimates of some of them (`sample`, e.g. the corners of the grid): each point
/// costs the cheapest of the sample, so the total is a floor; its rows are held to the end.
pub fn sweep(sample: &[Estimate], points: usize) -> Option<Estimate> {
    let cheapest = sample.iter().min_by(|a, b| a.events.total_cmp(&b.events))?;
    let widest = sample
        .iter()
        .max_by(|a, b| a.memory_bytes.total_cmp(&b.memory_bytes))?;
    let n = points as f64;
    let mut parts = widest.memory_parts.clone();
    parts.push((
        "sweep rows held until written".into(),
        n * BYTES_PER_SWEEP_ROW,
    ));
    Some(finish(Estimate {
        events: cheapest.events * n,
        memory_bytes: 0.0,
        arrivals_per_replication: cheapest.arrivals_per_replication,
        visits_per_request: cheapest.visits_per_request,
        overhead_per_replication: cheapest.overhead_per_replication,
        replications: cheapest.replications * n,
        memory_parts: parts,
    }))
}

/// The sum of the estimates of every point of a sweep (known once each is loaded).
pub fn total(points: &[Estimate]) -> Option<Estimate> {
    let widest = points
        .iter()
        .max_by(|a, b| a.memory_bytes.total_cmp(&b.memory_bytes))?;
    let mut parts = widest.memory_parts.clone();
    parts.push((
        "sweep rows held until written".into(),
        points.len() as f64 * BYTES_PER_SWEEP_ROW,
    ));
    let n = points.len() as f64;
    Some(finish(Estimate {
        events: points.iter().map(|e| e.events).sum(),
        memory_bytes: 0.0,
        arrivals_per_replication: points
            .iter()
            .map(|e| e.arrivals_per_replication)
            .sum::<f64>()
            / n,
        visits_per_request: points.iter().map(|e| e.visits_per_request).sum::<f64>() / n,
        overhead_per_replication: points
            .iter()
            .map(|e| e.overhead_per_replication)
            .sum::<f64>()
            / n,
        replications: points.iter().map(|e| e.replications).sum(),
        memory_parts: parts,
    }))
}

/// Sums the memory parts and sorts them, largest first.
fn finish(mut e: Estimate) -> Estimate {
    e.memory_parts.retain(|(_, bytes)| *bytes > 0.0);
    e.memory_parts.sort_by(|a, b| b.1.total_cmp(&a.1));
    e.memory_bytes = e.memory_parts.iter().map(|(_, b)| b).sum();
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, overrides: &[&str]) -> Model {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        crate::scenario::load(text, "t.toml", &overrides).expect("valid")
    }

    const ONE_QUEUE: &str = r#"
[scenario]
duration = "100s"
[traffic]
rate = 1000
[[service]]
name = "api"
concurrency = 2
service_time = { dist = "exponential", mean = "1ms" }
"#;

    #[test]
    fn events_are_arrivals_times_one_plus_visits_times_events_per_visit() {
        // 1000/s x 100 s = 1e5 arrivals, one visit each: 1e5 x (1 + 1.5) = 2.5e5 per
        // replication, and 100 + 20 + 200 for the replication and its one service, reached;
        // 4 replications.
        let e = estimate(&load(ONE_QUEUE, &["scenario.replications=4"]), 1);
        // One replication held at once.
        assert_eq!(e.arrivals_per_replication, 1e5);
        assert_eq!(e.visits_per_request, 1.0);
        assert_eq!(e.overhead_per_replication, 320.0);
        assert_eq!(e.events, 4.0 * (2.5e5 + 320.0));
        assert_eq!(e.seconds(2), e.events / 2e7);
    }

    #[test]
    fn cache_memory_is_replicas_times_capacity() {
        // 10 replicas of a cache of 10^7 keys of capacity, 10^9 keys, plenty of lookups:
        // consistent hashing gives each replica 10^8 keys, so each fills its 10^7:
        // 10^8 entries x 64 bytes (LRU, the default policy).
        let text = r#"
[scenario]
duration = "1000s"
[traffic]
rate = 1000000
[[service]]
name = "cache"
kind = "cache"
replicas = 10
capacity = 10000000
keys = 1000000000
popularity = "uniform"
service_time = { dist = "constant", value = "1us" }
"#;
        let e = estimate(&load(text, &[]), 1);
        let cache = e.memory_parts.iter().find(|p| p.0.starts_with("keyed"));
        assert_eq!(cache.map(|p| p.1), Some(1e8 * 64.0));
        assert_eq!(
            e.memory_parts[0].0,
            "keyed caches (replicas x capacity entries)"
        );
    }

    #[test]
    fn a_stable_queue_is_budgeted_by_littles_law() {
        // 1000/s on 2 workers of 1 ms: utilization 0.5, Erlang C mean time in system 1.333 ms
        // (capsim's theory: hold 1 ms / (1 - 0.5) = 2 ms, an upper bound), so 20 x 1000 x
        // 0.002 + 1 = 41 requests and as many visits.
        let e = estimate(&load(ONE_QUEUE, &[]), 1);
        let in_flight = e.memory_parts.iter().find(|p| p.0.starts_with("requests"));
        let bytes = in_flight.map(|p| p.1).expect("an in-flight part");
        assert!((bytes - 41.0 * (100.0 + 640.0)).abs() < 1.0, "{bytes}");
    }

    #[test]
    fn in_flight_memory_follows_the_overload_bound_and_the_threads() {
        // At 2,000/s on 2 workers of 1 ms (offered load 1, no steady state: the bound
        // counts), 2e5 arrivals, max_in_flight 1000: 1000 requests and max(4 x 1000, 100,000)
        // = 100,000 visits by the bound, but 1000 requests of one visit make 1000 frames at
        // most: 1000 x 100 + 1000 x 640 bytes per replication, two at once.
        let model = load(
            ONE_QUEUE,
            &[
                "scenario.max_in_flight=1000",
                "scenario.replications=3",
                "traffic.rate=2000",
            ],
        );
        let e = estimate(&model, 2);
        let in_flight = e.memory_parts.iter().find(|p| p.0.starts_with("requests"));
        assert_eq!(
            in_flight.map(|p| p.1),
            Some(2.0 * (1000.0 * 100.0 + 1000.0 * 640.0))
        );
    }

    #[test]
    fn unbounded_work_or_a_changing_fleet_bounds_nothing() {
        // Exponential work: the wait is bounded by the queue timeout, the visit by nothing.
        let l = longest_durations(&load(ONE_QUEUE, &["service.api.queue_timeout=10ms"]))[0];
        assert_eq!((l.wait_ns, l.visit_ns), (Some(1e7), None));
        // A fault can stop the workers: nothing is bounded, whatever the service's keys.
        let faulty = format!(
            "{}queue_capacity = 3\n[[fault]]\nkind = \"crash\"\ntarget = \"api\"\nat = \"1s\"\nduration = \"1s\"\n",
            ONE_QUEUE.replace("exponential\", mean", "constant\", value")
        );
        let l = longest_durations(&load(&faulty, &[]))[0];
        assert_eq!((l.wait_ns, l.visit_ns), (None, None));
        // Counted up to the largest value a histogram can hold.
        assert_eq!(
            histogram_bytes(None),
            super::super::recorder::histogram_bytes_up_to(Nanos::MAX)
        );
    }

    #[test]
    fn loading_counts_bytes_value_marks_and_lines() {
        // 2 lines; marks: `=` x3, `{`, `,`, `[` x2 (the header) = 7, the `[` in the string
        // and the comment's `=` too (counting more is safe): 9. 8 x 38 bytes + 500 x 9 + 175
        // x 2 = 5,154.
        let text = "[[s]]\nx = { a = 1, b = \"[\" } # c = d";
        let l = loading(text);
        assert_eq!((l.text_bytes, l.marks, l.lines), (36, 9, 2));
        assert_eq!(l.memory_bytes(), 5_138.0);
        let e = l.estimate("loading".into());
        assert_eq!((e.events, e.memory_bytes), (0.0, l.memory_bytes()));
    }

    #[test]
    fn a_sweep_costs_its_cheapest_point_times_its_points_at_least() {
        let a = estimate(&load(ONE_QUEUE, &[]), 1);
        let b = estimate(&load(ONE_QUEUE, &["traffic.rate=10"]), 1);
        let s = sweep(&[a.clone(), b.clone()], 1000).unwrap();
        assert_eq!(s.events, b.events * 1000.0);
        let t = total(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(t.events, a.events + b.events);
        assert_eq!(
            t.memory_bytes,
            a.memory_bytes.max(b.memory_bytes) + 2.0 * BYTES_PER_SWEEP_ROW
        );
    }
}
