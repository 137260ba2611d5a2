//! Request paths against independent expectations: caches (Che's approximation, a fixed
//! hit ratio, a cold start), balancers (random splitting as independent M/M/1 queues; power
//! of two and least outstanding against random; least outstanding against the shared-queue
//! M/M/n), fan-out joins (order statistics of exponentials), hedging, retry amplification
//! and budgets, batching, and conservation with every mechanism in use.
//!
//! Each test states its run length, the sampling error of what it estimates, and its
//! tolerance. Streams are seeded, so each outcome is fixed; the margins say it is not a lucky
//! one.

use crate::support::{simulate, Scratch};
use capsim::metrics::summary::Summary;
use proptest::prelude::*;

pub(crate) fn service<'s>(
    summary: &'s Summary,
    name: &str,
) -> &'s capsim::metrics::summary::ServiceSummary {
    summary
        .services
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no service {name}"))
}

#[track_caller]
pub(crate) fn assert_close(what: &str, actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: {actual} is not within {tolerance} of {expected}"
    );
}

#[track_caller]
fn assert_rel(what: &str, actual: f64, expected: f64, tolerance: f64) {
    let error = (actual / expected - 1.0).abs();
    assert!(
        error <= tolerance,
        "{what}: {actual} is {:.2}% from {expected}, more than {:.1}%",
        error * 100.0,
        tolerance * 100.0
    );
}

/// A keyed LRU cache in front of nothing, looked up `rate` times a second for `duration`
/// after a warmup that fills it.
fn lru(zipf: f64, keys: u64, capacity: u64, warmup: &str, duration: &str) -> Summary {
    simulate(&format!(
        r#"
        [scenario]
        duration = "{duration}"
        warmup = "{warmup}"
        [traffic]
        rate = 100000
        [[service]]
        name = "cache"
        kind = "cache"
        concurrency = 1000
        capacity = {capacity}
        keys = {keys}
        popularity = {{ zipf = {zipf} }}
        service_time = {{ dist = "constant", value = "1us" }}
        "#
    ))
}

/// Che's approximation for LRU under independent references (Che, Tung and Wang 2002) is
/// known to be accurate to about 0.01 for Zipf popularity; the simulated hit ratio must
/// match it within 0.01 absolute. Each run measures 400,000 lookups after a warmup of at
/// least 10 x capacity / (1 - hit) lookups; the standard error of a hit ratio over 400,000
/// correlated lookups is about 0.001 (measured over 5 seeds: sd 0.0006 to 0.0011).
#[test]
fn keyed_lru_matches_the_che_approximation() {
    for (zipf, keys, capacity) in [
        (0.8, 10_000, 1_000),
        (1.0, 100_000, 1_000),
        (1.2, 20_000, 200),
    ] {
        let summary = lru(zipf, keys, capacity, "1s", "5s");
        let cache = service(&summary, "cache");
        let simulated = cache
            .paths
            .hit_ratio
            .expect("a cache reports its hit ratio");
        let che = cache.theory.hit_ratio.expect("Che applies to a keyed LRU");
        assert_close(
            &format!("hit ratio, zipf {zipf}, {keys} keys, capacity {capacity}"),
            simulated,
            che,
            0.01,
        );
    }
}

/// Past 100,000 keys Che's approximation sums the first 100,000 ranks and integrates the
/// rest; the simulation knows nothing of that. Zipf(0.9) over 2,000,000 keys, capacity
/// 20,000: after a 4 s warmup (400,000 lookups, over 10 x capacity / (1 - hit)), 4 s of
/// lookups (400,000; standard error about 0.001 as above) match Che within 0.01.
#[test]
fn keyed_lru_over_two_million_keys_matches_che_by_sum_and_integral() {
    let summary = lru(0.9, 2_000_000, 20_000, "4s", "8s");
    let cache = service(&summary, "cache");
    let che = cache.theory.hit_ratio.expect("Che applies to a keyed LRU");
    assert_close(
        "hit ratio, zipf 0.9, 2e6 keys, capacity 20,000",
        cache.paths.hit_ratio.unwrap(),
        che,
        0.01,
    );
}

/// The cache keys of the eviction policies, and their mistakes, each at its key path.
#[test]
fn cache_policies_and_their_keys_are_read_and_checked() {
    let cache = |keys: &str| {
        format!(
            r#"
            [scenario]
            duration = "1s"
            [traffic]
            rate = 100
            [[service]]
            name = "cache"
            kind = "cache"
            capacity = 10
            service_time = {{ dist = "constant", value = "1ms" }}
            {keys}
            "#
        )
    };
    let store = |keys: &str| match capsim::scenario::load(&cache(keys), "c.toml", &[]) {
        Ok(model) => match &model.services[0].cache.as_ref().unwrap().lookup {
            capsim::scenario::model::Lookup::Keyed(space, store) => (space.keys, store.policy),
            other => panic!("{other:?}"),
        },
        Err(e) => panic!("{keys}: {e}"),
    };
    use capsim::scenario::model::Policy;
    assert_eq!(store("keys = 1000000000").0, 1_000_000_000);
    assert_eq!(store("keys = 100\npolicy = \"random\"").1, Policy::Random);
    assert_eq!(
        store("keys = 100\npolicy = \"redis_lru\"").1,
        Policy::RedisLru {
            samples: 5,
            clock_ns: 1_000_000_000
        },
        "Redis's defaults"
    );
    assert_eq!(
        store("keys = 100\npolicy = \"redis_lru\"\nsamples = 10\nclock = \"100ms\"").1,
        Policy::RedisLru {
            samples: 10,
            clock_ns: 100_000_000
        }
    );
    for (keys, path, fragment) in [
        (
            "keys = 1000000001",
            "service.cache.keys",
            "from 1 to 1000000000",
        ),
        (
            "keys = 100\npolicy = \"mru\"",
            "service.cache.policy",
            "lru, lfu, fifo, random, redis_lru",
        ),
        (
            "keys = 100\npolicy = \"redis_lru\"\nsamples = 65",
            "service.cache.samples",
            "from 1 to 64",
        ),
        (
            "keys = 100\npolicy = \"redis_lru\"\nclock = \"0s\"",
            "service.cache.clock",
            "clock must be longer than 0",
        ),
        (
            "keys = 100\nsamples = 3",
            "service.cache.samples",
            "only to policy = \"redis_lru\"",
        ),
        (
            "keys = 100\npolicy = \"lfu\"\nclock = \"1s\"",
            "service.cache.clock",
            "not to policy = \"lfu\"",
        ),
    ] {
        let error = capsim::scenario::load(&cache(keys), "c.toml", &[]).unwrap_err();
        assert_eq!(error.diagnostics.len(), 1, "{keys}: {error}");
        let d = &error.diagnostics[0];
        assert_eq!(d.path, path, "{keys}");
        assert!(d.message.contains(fragment), "{keys}: {}", d.message);
    }
}

/// A keyed cache starts empty: over the first 5 ms (500 lookups, the cache still filling)
/// the hit ratio is far below its steady value (0.5 s onwards), which Che puts at 0.43 for
/// these figures.
#[test]
fn a_cold_cache_warms_up() {
    let cold = lru(0.8, 10_000, 1_000, "0s", "5ms");
    let warm = lru(0.8, 10_000, 1_000, "500ms", "2s");
    let hit = |s: &Summary| service(s, "cache").paths.hit_ratio.unwrap();
    assert!(hit(&cold) < 0.3, "cold {}", hit(&cold));
    assert!(
        hit(&warm) > hit(&cold) + 0.15,
        "warm {} cold {}",
        hit(&warm),
        hit(&cold)
    );
}

/// A fixed hit ratio of 0.9 over N = 400,000 lookups: standard error sqrt(0.09 / N) =
/// 0.00047; tolerance 0.0025 (over 5 standard errors). A miss calls the backend, so the
/// backend sees the misses and nothing else.
#[test]
fn a_fixed_hit_ratio_hits_at_that_rate() {
    let summary = simulate(
        r#"
        [scenario]
        duration = "4s"
        [traffic]
        rate = 100000
        [[service]]
        name = "cache"
        kind = "cache"
        concurrency = 1000
        hit_ratio = 0.9
        service_time = { dist = "constant", value = "1us" }
        on_miss = ["db"]
        [[service]]
        name = "db"
        concurrency = 1000
        service_time = { dist = "constant", value = "1us" }
        "#,
    );
    let cache = service(&summary, "cache");
    assert_close("hit ratio", cache.paths.hit_ratio.unwrap(), 0.9, 0.0025);
    let misses = cache.requests.arrived as f64 * (1.0 - cache.paths.hit_ratio.unwrap());
    assert_close(
        "backend visits",
        service(&summary, "db").requests.arrived as f64,
        misses,
        0.5,
    );
}

/// `virtual_nodes = 64` is the default ring, figure for figure; a larger ring sends keys
/// elsewhere but keeps every request ending one way. A keyed cache of 4 replicas.
#[test]
fn consistent_hash_virtual_nodes_default_to_64() {
    let run = |balancer: &str| {
        simulate(&format!(
            r#"
            [scenario]
            duration = "2s"
            [traffic]
            rate = 20000
            [[service]]
            name = "cache"
            kind = "cache"
            replicas = 4
            concurrency = 1000
            capacity = 100
            keys = 10000
            popularity = {{ zipf = 0.9 }}
            {balancer}
            service_time = {{ dist = "constant", value = "1us" }}
            "#
        ))
    };
    let default = run("");
    assert_eq!(
        default,
        run(r#"balancer = { kind = "consistent_hash", virtual_nodes = 64 }"#)
    );
    let ketama = run(r#"balancer = { kind = "consistent_hash", virtual_nodes = 160 }"#);
    assert_eq!(ketama.requests.arrived, default.requests.arrived);
    assert_eq!(ketama.requests.succeeded, ketama.requests.arrived);
    assert_ne!(
        ketama.services[0].paths.hit_ratio, default.services[0].paths.hit_ratio,
        "other shards, other hits"
    );
}

/// `n` single-worker replicas of an exponential server (mean 1 ms) at utilization `rho`,
/// balanced by `balancer`, for `customers` arrivals.
fn farm(balancer: &str, n: u32, rho: f64, customers: f64) -> Summary {
    farm_of(&format!("\"{balancer}\""), n, rho, customers)
}

/// [`farm`] with the balancer's TOML value as written (a name in quotes, or a table).
fn farm_of(balancer: &str, n: u32, rho: f64, customers: f64) -> Summary {
    let rate = rho * f64::from(n) * 1000.0;
    let duration_s = customers / rate;
    simulate(&format!(
        r#"
        [scenario]
        duration = "{duration_s}s"
        warmup = "2s"
        [traffic]
        rate = {rate}
        [[service]]
        name = "farm"
        replicas = {n}
        balancer = {balancer}
        service_time = {{ dist = "exponential", mean = "1ms" }}
        "#
    ))
}

/// Random splitting of Poisson arrivals gives each of 4 replicas Poisson arrivals at
/// lambda / 4: four independent M/M/1 queues at rho 0.8, so sojourn times are exponential
/// with mean 1 / (mu - lambda_i) = 5 ms and p99 = ln(100) x 5 ms = 23.03 ms. Over 4 million
/// customers the sampling sd is about 0.55% for the mean and 1.1% for p99 (from the M/M/1
/// figures of `queueing.rs` at 12.8 million, scaled by sqrt(12.8 / 4)); tolerances 2.5% and
/// 4%. The theory column says so too.
#[test]
fn random_balancing_is_independent_mm1_queues() {
    let summary = farm("random", 4, 0.8, 4e6);
    assert_rel("mean sojourn", summary.latency.mean, 5.0, 0.025);
    assert_rel("p99 sojourn", summary.latency.p99, 100f64.ln() * 5.0, 0.04);
    let theory = &service(&summary, "farm").theory;
    assert_eq!(theory.queueing_model.as_deref(), Some("4 x M/M/1"));
    assert_rel(
        "theory wait",
        theory.mean_queue_wait_ns.unwrap() / 1e6,
        4.0,
        1e-9,
    );
}

/// One instance is the shared balancer: `instances = 1` gives the summary of the plain name,
/// figure for figure, for every kind (10^5 customers over 4 replicas at rho 0.8).
#[test]
fn one_balancer_instance_is_the_shared_balancer() {
    for kind in ["round_robin", "random", "least_outstanding", "power_of_two"] {
        assert_eq!(
            farm(kind, 4, 0.8, 1e5),
            farm_of(
                &format!("{{ kind = \"{kind}\", instances = 1 }}"),
                4,
                0.8,
                1e5
            ),
            "{kind}"
        );
    }
}

/// Random splitting split again stays random splitting: 4 instances, each drawing uniformly
/// among 4 replicas, the visits' instances drawn uniformly, give each replica Poisson
/// arrivals at lambda / 4, so each is an M/M/1 at rho 0.8: mean sojourn 1 / (mu - lambda / 4)
/// = 5 ms, p99 = ln(100) x 5 ms = 23.03 ms. Over 2 million customers the sampling sd is about
/// 0.78% for the mean and 1.6% for p99 (the 4-million figures of
/// `random_balancing_is_independent_mm1_queues` scaled by sqrt 2); tolerances 3.2% and 6.4%,
/// 4 sd.
#[test]
fn random_balancing_as_instances_is_still_independent_mm1_queues() {
    let summary = farm_of(r#"{ kind = "random", instances = 4 }"#, 4, 0.8, 2e6);
    assert_rel("mean sojourn", summary.latency.mean, 5.0, 0.032);
    assert_rel("p99 sojourn", summary.latency.p99, 100f64.ln() * 5.0, 0.064);
}

/// Two instances of `least_outstanding` over two single-worker replicas, worked by hand.
/// Service times are long (constant 1 s) and nothing leaves, so each pick is forced. A
/// shared balancer sends visits 1 to 4 to replicas 0, 1, 0, 1 (the least loaded; ties to
/// the replica after the last picked): two start, two queue. Split, with visits 1 and 3
/// drawn for instance 0 and visits 2 and 4 for instance 1, each instance sees only its own
/// visits: instance 0 sends visit 1 to replica 0; instance 1 counts nothing anywhere and
/// sends visit 2 to replica 0 too (it queues behind visit 1, though replica 1 is idle);
/// instance 0 counts 1 at replica 0 and sends visit 3 to replica 1; instance 1 counts 1 at
/// replica 0 and sends visit 4 to replica 1, where it queues.
#[test]
fn an_instance_of_least_outstanding_ignores_the_other_instances_visits() {
    use capsim::components::balancer::Balancer;
    use capsim::components::entity::{Frame, Parent, RequestInfo, Visit, NO_USER};
    use capsim::components::service::{Admission, ServiceState};
    use capsim::engine::rng::Stream;
    use capsim::engine::slab::GenSlab;
    use capsim::scenario::model::BalancerKind;
    let spec = |instances: u32| {
        let text = format!(
            r#"
            [scenario]
            duration = "1s"
            [traffic]
            rate = 1
            [[service]]
            name = "api"
            replicas = 2
            balancer = {{ kind = "least_outstanding", instances = {instances} }}
            service_time = {{ dist = "constant", value = "1s" }}
            "#
        );
        let model = capsim::scenario::load(&text, "hand.toml", &[]).expect("valid");
        model.services[0].clone()
    };
    let visit = |request: u64| Visit {
        request,
        site: 0,
        attempt: 0,
    };
    // Requests whose visits the split balancer's own draw gives to instance 0 and 1.
    let draw = Balancer::new(&BalancerKind::LeastOutstanding, 2, |p| {
        Stream::new(1, 0, "api", p)
    });
    let of = |instance: usize| {
        (0u64..)
            .filter(|&r| draw.instance(visit(r)) == instance)
            .take(2)
            .collect::<Vec<u64>>()
    };
    let (zero, one) = (of(0), of(1));
    let order = [zero[0], one[0], zero[1], one[1]];
    let mut frames: GenSlab<Frame> = GenSlab::default();
    let mut admit_all = |state: &mut ServiceState| -> Vec<Admission> {
        order
            .iter()
            .map(|&request| {
                let info = RequestInfo {
                    id: request,
                    class: 0,
                    measured: true,
                    user: NO_USER,
                    client_region: 0,
                    served_region: 0,
                    mirror: false,
                    backlogged: false,
                };
                let key = frames.insert(Frame::new(Parent::Root, info, 0, 0, 0, 0));
                state.admit(key, visit(request), 0, None, None)
            })
            .collect()
    };
    use Admission::{Queued, Started};
    let shared = admit_all(&mut ServiceState::new(&spec(1), 1, 0));
    assert_eq!(shared, [Started(0), Started(1), Queued(0), Queued(1)]);
    let split = admit_all(&mut ServiceState::new(&spec(2), 1, 0));
    assert_eq!(split, [Started(0), Queued(0), Started(1), Queued(1)]);
}

/// A balancer split into instances that each count only their own visits balances worse
/// than one shared one: nginx with two workers and no shared `zone` measured p99 10-15%
/// above one shared balancer at utilization 0.7-0.85 (issue #13). Here 8 single-worker
/// replicas of an exponential server (mean 1 ms) at rho 0.8, 2 million customers per run:
/// two instances raised p99 by 11.6% for least_outstanding (6.28 to 7.00 ms) and by 9.4% for
/// power_of_two (8.12 to 8.88 ms) when measured. The p99 of each run has a sampling sd of
/// about 1.6% (random's M/M/1 figure above; the tails here are shorter), so the difference
/// of two runs at most 2.3% (independent runs; these share their arrival and service
/// times, which makes it smaller): the test asserts the split p99 above the shared one by
/// more than 0%, 4 sd below the smallest effect measured, and below 25%.
#[test]
fn balancer_instances_that_count_only_their_own_visits_raise_p99() {
    for kind in ["least_outstanding", "power_of_two"] {
        let shared = farm(kind, 8, 0.8, 2e6).latency.p99;
        let split = farm_of(
            &format!("{{ kind = \"{kind}\", instances = 2 }}"),
            8,
            0.8,
            2e6,
        )
        .latency
        .p99;
        let rise = split / shared - 1.0;
        assert!(
            rise > 0.0 && rise < 0.25,
            "{kind}: shared p99 {shared} ms, two instances {split} ms ({:+.1}%)",
            rise * 100.0
        );
    }
}

/// At rho 0.9 over 8 replicas, random splitting leaves each replica an M/M/1 (p99 =
/// ln(100) / (mu - lambda_i) = 46 ms), while looking at load before sending cuts the tail
/// by far more than sampling error (1 million customers; p99's sd is a few percent): power
/// of two choices to under 60% of random's p99, least outstanding (join the shortest queue)
/// lower still. Least outstanding cannot beat one shared queue (M/M/8, whose mean sojourn
/// is 1 ms + Wq = 1.74 ms by Erlang C) and approaches it: within 15% in mean.
#[test]
fn looking_at_load_beats_random_and_approaches_one_shared_queue() {
    let random = farm("random", 8, 0.9, 1e6);
    let two = farm("power_of_two", 8, 0.9, 1e6);
    let least = farm("least_outstanding", 8, 0.9, 1e6);
    let p99 = |s: &Summary| s.latency.p99;
    assert!(
        p99(&two) < 0.6 * p99(&random),
        "p2c {} random {}",
        p99(&two),
        p99(&random)
    );
    assert!(
        p99(&least) < p99(&two),
        "least {} p2c {}",
        p99(&least),
        p99(&two)
    );
    // Time in milliseconds: mu = 1 per ms, lambda = 7.2 per ms.
    let shared_wait_ms = capsim::metrics::theory::mmc_mean_wait_s(8, 7.2, 1.0);
    let shared_sojourn_ms = 1.0 + shared_wait_ms;
    assert!(least.latency.mean >= shared_sojourn_ms * 0.98);
    assert_rel(
        "least outstanding against M/M/8",
        least.latency.mean,
        shared_sojourn_ms,
        0.15,
    );
}

/// Fan-out to `n` idle exponential services (mean 1 ms each) with a join: the step lasts
/// the k-th smallest of n exponentials, whose mean is (1 / mu) x sum_{i<k} 1 / (n - i):
/// H_n / mu for all, 1 / (n mu) for any. Over 200,000 requests the sd of the mean is under
/// 0.3%; tolerance 1.5%.
#[test]
fn fan_out_joins_follow_exponential_order_statistics() {
    let n = 4;
    for (join, k) in [("\"all\"", 4), ("\"any\"", 1), ("2", 2), ("3", 3)] {
        let summary = simulate(&format!(
            r#"
            [scenario]
            duration = "20s"
            [traffic]
            rate = 10000
            [[service]]
            name = "api"
            concurrency = 100000
            service_time = {{ dist = "constant", value = "0s" }}
            calls = [{{ parallel = ["m1", "m2", "m3", "m4"], join = {join} }}]
            [[service]]
            name = "m1"
            concurrency = 100000
            service_time = {{ dist = "exponential", mean = "1ms" }}
            [[service]]
            name = "m2"
            concurrency = 100000
            service_time = {{ dist = "exponential", mean = "1ms" }}
            [[service]]
            name = "m3"
            concurrency = 100000
            service_time = {{ dist = "exponential", mean = "1ms" }}
            [[service]]
            name = "m4"
            concurrency = 100000
            service_time = {{ dist = "exponential", mean = "1ms" }}
            "#
        ));
        let expected: f64 = (0..k).map(|i| 1.0 / f64::from(n - i)).sum();
        assert_rel(
            &format!("join {join}"),
            summary.latency.mean,
            expected,
            0.015,
        );
        assert_eq!(summary.requests.succeeded, summary.requests.arrived);
        // Calls still running when the join is satisfied are cancelled.
        let cancelled: u64 = summary.services[1..]
            .iter()
            .map(|s| s.requests.cancelled)
            .sum();
        if k < 4 {
            assert!(cancelled > 0, "join {join} cancels the slower calls");
        } else {
            assert_eq!(cancelled, 0);
        }
    }
}

/// A callee of one worker (exponential, mean 2 ms: 500 calls/s) behind a 50 ms call timeout,
/// hedged at 5 ms, for 60 s; `hedge` is the call's hedge key.
fn hedged_call(rate: u32, hedge: &str) -> Summary {
    simulate(&format!(
        r#"
        [scenario]
        duration = "60s"
        seed = 3
        [traffic]
        rate = {rate}
        [[service]]
        name = "api"
        concurrency = 100000
        service_time = {{ dist = "constant", value = "0s" }}
        calls = [{{ service = "search", timeout = "50ms", hedge = {hedge} }}]
        [[service]]
        name = "search"
        concurrency = 1
        service_time = {{ dist = "exponential", mean = "2ms" }}
        "#
    ))
}

/// A hedge budget (Finagle's `BackupRequestFilter`, `maxExtraLoad`) under overload: 600
/// calls/s on a callee that serves 500/s, so nearly every attempt waits past the 5 ms hedge
/// delay. Unbudgeted, hedges approach one per call (more than 0.9). With `max_extra_load =
/// 0.1` and the default floor of 10 a second, the hedges over any 10 s window stay within
/// 0.1 x the attempts in it plus 10 x 10 s; over the 60 s run at most 0.1 x 36,000 + 10 x
/// 60 = 4,200, 0.117 per call (the check allows 2% for the window's edges), and the budget
/// is spent (more than 0.09 per call).
#[test]
fn under_overload_a_hedge_budget_caps_hedges_at_its_extra_load_plus_its_floor() {
    let free = hedged_call(600, r#""5ms""#);
    let search = service(&free, "search");
    let per_call = search.paths.hedges as f64 / search.paths.calls as f64;
    assert!(per_call > 0.9, "unbudgeted: {per_call} hedges per call");

    let capped = hedged_call(600, r#"{ after = "5ms", max_extra_load = 0.1 }"#);
    let search = service(&capped, "search");
    let calls = search.paths.calls as f64;
    let per_call = search.paths.hedges as f64 / calls;
    let bound = 0.1 + 10.0 * 60.0 / calls;
    assert!(
        per_call <= bound * 1.02,
        "budgeted: {per_call} hedges per call, bound {bound}"
    );
    assert!(per_call > 0.09, "the budget is spent: {per_call}");
}

/// At low load the budget changes nothing: 100 calls/s on the same callee (an M/M/1 visit
/// exceeds 5 ms with probability p = exp(-(500 - 100 (1 + p)) / s x 5 ms), the hedges' own
/// load counted: p = 0.146, about 146 hedges per 10 s window, sd 12) never come near the
/// budget of 0.1 x 1,000 + 10 x 10 = 200 per window: the same hedges, the same latencies, to
/// the bit. Over 6,000 calls the fraction's sd is 0.005; the check allows [0.12, 0.17].
#[test]
fn at_low_load_a_hedge_budget_changes_nothing() {
    let free = hedged_call(100, r#""5ms""#);
    let capped = hedged_call(100, r#"{ after = "5ms", max_extra_load = 0.1 }"#);
    let (a, b) = (service(&free, "search"), service(&capped, "search"));
    let fraction = a.paths.hedges as f64 / a.paths.calls as f64;
    assert!((0.12..0.17).contains(&fraction), "hedged {fraction}");
    assert_eq!(a.paths.hedges, b.paths.hedges);
    assert_eq!(free.latency.p99, capped.latency.p99);
    assert_eq!(free.latency.mean, capped.latency.mean);
}

/// The hedge table's keys: each mistake is reported at its key, exit code 2.
#[test]
fn bad_hedge_tables_name_the_key() {
    let bad = |hedge: &str| {
        let text = format!(
            r#"
            [[service]]
            name = "api"
            service_time = {{ dist = "constant", value = "1ms" }}
            calls = [{{ service = "db", hedge = {hedge} }}]
            [[service]]
            name = "db"
            service_time = {{ dist = "constant", value = "1ms" }}
            "#
        );
        let scratch = Scratch::new("hedge");
        scratch.write("bad.toml", &text);
        scratch
            .capsim(&["validate", "bad.toml"])
            .bad_input()
            .to_string()
    };
    for (hedge, expected) in [
        (r#"{ max_extra_load = 0.1 }"#, r#"missing "after""#),
        (r#"{ after = "0s" }"#, "after must be longer than 0"),
        (
            r#"{ after = "5ms", max_extra_load = 1.5 }"#,
            "max_extra_load 1.5 must be from 0 to 1",
        ),
        (
            r#"{ after = "5ms", max_extra_load = 0.1, min_hedges_per_s = -1 }"#,
            "min_hedges_per_s -1 must be 0 or more",
        ),
        (
            r#"{ after = "5ms", budget_window = "10s" }"#,
            "give max_extra_load too",
        ),
        (
            r#"{ after = "5ms", max_extra_lod = 0.1 }"#,
            r#"did you mean "max_extra_load"?"#,
        ),
    ] {
        let message = bad(hedge);
        assert!(message.contains("calls[0].hedge"), "{hedge}: {message}");
        assert!(message.contains(expected), "{hedge}: {message}");
    }
}

/// A heavy-tailed callee (lognormal, median 2 ms, p99 40 ms; its p95 is 2 ms x exp(1.645 x
/// 1.288) = 16.6 ms) at low load. Hedging at its p95 sends a second copy for about 5% of
/// calls (those slower than 16.6 ms) and the first answer wins: the end-to-end p99 drops
/// well below the unhedged 40 ms (to about the p95 plus a fresh draw's median). 200,000
/// requests: the hedge fraction's sd is 0.05%; tolerance [4%, 6%].
#[test]
fn hedging_at_the_p95_cuts_the_tail() {
    let run = |hedge: &str| {
        simulate(&format!(
            r#"
            [scenario]
            duration = "200s"
            [traffic]
            rate = 1000
            [[service]]
            name = "api"
            concurrency = 100000
            service_time = {{ dist = "constant", value = "0s" }}
            calls = [{{ service = "search"{hedge} }}]
            [[service]]
            name = "search"
            concurrency = 100000
            service_time = {{ dist = "lognormal", median = "2ms", p99 = "40ms" }}
            "#
        ))
    };
    let plain = run("");
    let hedged = run(", hedge = \"16.6ms\"");
    assert_rel("unhedged p99", plain.latency.p99, 40.0, 0.05);
    assert!(
        hedged.latency.p99 < 0.6 * plain.latency.p99,
        "hedged p99 {}",
        hedged.latency.p99
    );
    let search = service(&hedged, "search");
    let fraction = search.paths.hedges as f64 / search.paths.calls as f64;
    assert!(
        (0.04..0.06).contains(&fraction),
        "hedged fraction {fraction}"
    );
    assert_eq!(service(&plain, "search").paths.hedges, 0);
}

/// With each attempt failing with probability p and up to k attempts, the attempts per
/// call are 1 + p + ... + p^(k-1) = (1 - p^k) / (1 - p), and the call fails with p^k. For
/// p = 0.3, k = 3: 1.39 attempts and 2.7% failures. Over 200,000 calls the sd of the mean
/// attempts is 0.0013 (attempt-count variance 0.33); tolerance 0.01. A budget of 0.1 (no
/// floor) holds retries to 10% of first attempts over its window: amplification at most
/// 1.1 even at p = 0.5, k = 5, whose unbudgeted amplification is 1.94.
#[test]
fn retries_amplify_by_the_geometric_sum_and_a_budget_caps_them() {
    let run = |p: f64, k: u32, budget: &str| {
        simulate(&format!(
            r#"
            [scenario]
            duration = "20s"
            [traffic]
            rate = 10000
            [[service]]
            name = "api"
            concurrency = 100000
            service_time = {{ dist = "constant", value = "0s" }}
            calls = [{{ service = "db", retries = {{ attempts = {k}, backoff = "1ms"{budget} }} }}]
            [[service]]
            name = "db"
            concurrency = 100000
            error_rate = {p}
            service_time = {{ dist = "constant", value = "100us" }}
            "#
        ))
    };
    let plain = run(0.3, 3, "");
    let expected = (1.0 - 0.3f64.powi(3)) / 0.7;
    assert_close(
        "amplification",
        service(&plain, "db").paths.retry_amplification,
        expected,
        0.01,
    );
    assert_close("failed share", 1.0 - plain.availability, 0.027, 0.0025);
    assert_close(
        "top-level amplification",
        plain.retry_amplification,
        (1.0 + expected) / 2.0,
        0.01,
    );
    let storm = run(0.5, 5, "");
    assert_close(
        "unbudgeted",
        service(&storm, "db").paths.retry_amplification,
        1.9375,
        0.01,
    );
    let capped = run(0.5, 5, ", budget = 0.1, min_retries_per_s = 0");
    let amplification = service(&capped, "db").paths.retry_amplification;
    assert!(
        amplification <= 1.1 + 1e-3 && amplification > 1.05,
        "budgeted {amplification}"
    );
}

/// A batching model server: base time 10 ms, 1 ms per item, batches of up to 8, timeout
/// 5 ms. At low load (1 request a second) every batch is one request that waits the full
/// timeout: latency = 5 + 10 + 1 = 16 ms exactly. Above capacity (600 a second against
/// 8 / 18 ms = 444 a second, the excess turned away by a 64-place queue) a full batch is
/// always waiting when the worker frees: every batch is max_size.
#[test]
fn batches_wait_their_timeout_at_low_load_and_fill_at_high_load() {
    let run = |rate: f64, duration: &str| {
        simulate(&format!(
            r#"
            [scenario]
            duration = "{duration}"
            warmup = "1s"
            [traffic]
            rate = {rate}
            [[service]]
            name = "model"
            queue_capacity = 64
            batch = {{ max_size = 8, timeout = "5ms", per_item = "1ms" }}
            service_time = {{ dist = "constant", value = "10ms" }}
            "#
        ))
    };
    let quiet = run(1.0, "2000s");
    assert!(quiet.requests.arrived > 1500);
    // Two requests within 16 ms of each other share or queue; at 1 a second that is about
    // 3% of them, so the median is exactly one batch of one.
    assert_rel("median latency", quiet.latency.p50, 16.0, 0.001);
    let size = service(&quiet, "model").paths.mean_batch_size.unwrap();
    assert!(size < 1.05, "quiet batches {size}");
    let busy = run(600.0, "60s");
    let size = service(&busy, "model").paths.mean_batch_size.unwrap();
    assert!(size > 7.99 && size <= 8.0, "busy batches {size}");
}

/// Each class is reported in the top level's shape, judged against its own objectives, and
/// a missed class objective fails the run. Weights 3:1 split the arrivals 75% / 25% (over
/// 40,000 requests, sd 0.2%).
#[test]
fn classes_split_arrivals_by_weight_and_are_judged_on_their_own() {
    let summary = simulate(
        r#"
        [scenario]
        duration = "40s"
        [traffic]
        rate = 1000
        [[class]]
        name = "browse"
        weight = 3
        entry = "api"
        slo = { p99 = "100ms" }
        [[class]]
        name = "checkout"
        weight = 1
        entry = "api"
        slo = { p99 = "1ms" }
        [[service]]
        name = "api"
        concurrency = 1000
        service_time = { dist = "exponential", mean = "1ms" }
        calls = [{ service = "payments", classes = ["checkout"] }]
        [[service]]
        name = "payments"
        concurrency = 1000
        service_time = { dist = "constant", value = "5ms" }
        "#,
    );
    let [browse, checkout] = [&summary.classes[0], &summary.classes[1]];
    let share = browse.requests.arrived as f64 / summary.requests.arrived as f64;
    assert_close("browse share", share, 0.75, 0.01);
    assert_eq!(
        service(&summary, "payments").requests.arrived,
        checkout.requests.arrived,
        "only checkout calls payments"
    );
    assert!(browse.slo_met && !checkout.slo_met);
    assert!(!summary.slo_met, "a missed class objective fails the run");
    assert!(checkout.latency.p50 > 5.0 && browse.latency.p50 < 2.0);
}

/// An optional call that fails does not fail the request: it succeeds, degraded. A model
/// that errs half the time behind an optional call: about half the requests are degraded
/// (over 20,000, sd 0.35%), none failed.
#[test]
fn an_optional_call_degrades_rather_than_fails() {
    let summary = simulate(
        r#"
        [scenario]
        duration = "20s"
        [traffic]
        rate = 1000
        [[service]]
        name = "api"
        concurrency = 1000
        service_time = { dist = "constant", value = "1ms" }
        calls = [{ service = "model", optional = true }, "rules"]
        [[service]]
        name = "model"
        concurrency = 1000
        error_rate = 0.5
        service_time = { dist = "constant", value = "1ms" }
        [[service]]
        name = "rules"
        concurrency = 1000
        service_time = { dist = "constant", value = "1ms" }
        "#,
    );
    let r = &summary.requests;
    assert_eq!(r.succeeded, r.arrived);
    assert_close(
        "degraded share",
        r.degraded as f64 / r.arrived as f64,
        0.5,
        0.0175,
    );
    assert_eq!(service(&summary, "rules").requests.arrived, r.arrived);
}

/// A rate limit lets `burst` through at once and then `rate` a second: offered 1,000 a
/// second against a limit of 200, about 80% are rejected (over 20 s: 200 x 20 + 100 let
/// through, within Poisson noise).
#[test]
fn a_rate_limit_rejects_the_excess() {
    let summary = simulate(
        r#"
        [scenario]
        duration = "20s"
        [traffic]
        rate = 1000
        [[service]]
        name = "api"
        concurrency = 1000
        rate_limit = { rate = 200, burst = 100 }
        service_time = { dist = "constant", value = "1ms" }
        "#,
    );
    let r = &summary.requests;
    assert_close(
        "let through",
        r.succeeded as f64,
        200.0 * 20.0 + 100.0,
        60.0,
    );
    assert_eq!(r.succeeded + r.rejected, r.arrived);
}

/// A queue timeout sheds what waited too long: one worker at 2x overload, 50 ms timeout;
/// every request that waited 50 ms times out at exactly 50 ms, and those served waited less.
#[test]
fn a_queue_timeout_sheds_long_waits() {
    let summary = simulate(
        r#"
        [scenario]
        duration = "20s"
        [traffic]
        rate = 200
        [[service]]
        name = "api"
        queue_timeout = "50ms"
        service_time = { dist = "constant", value = "10ms" }
        "#,
    );
    let api = service(&summary, "api");
    assert!(summary.requests.timed_out > summary.requests.arrived / 3);
    assert!(api.queue_wait_p99_ms <= 50.0);
    assert_eq!(
        summary.requests.succeeded + summary.requests.timed_out,
        summary.requests.arrived
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    /// Every request ends exactly one way, per class and in total, and every visit ends
    /// exactly one way at its service (cancelled included), with every request-path
    /// mechanism in use at random.
    #[test]
    fn every_request_and_visit_ends_exactly_once_with_every_mechanism(
        rate in 100.0f64..3_000.0,
        timeout_ms in prop::option::of(1u32..20),
        attempts in 1u32..4,
        hedge_ms in prop::option::of(1u32..10),
        optional in any::<bool>(),
        join in 0usize..3,
        capacity in prop::option::of(0u32..3),
        error_rate in 0.0f64..0.4,
        latency_us in prop::option::of(1u32..2000),
        breaker in any::<bool>(),
        batch in any::<bool>(),
        balancer in 0usize..6,
    ) {
        let join = ["\"all\"", "\"any\"", "2"][join];
        let balancer = ["round_robin", "random", "least_outstanding", "power_of_two", "consistent_hash", "round_robin"][balancer];
        let mut call = String::from("service = \"m1\"");
        if let Some(t) = timeout_ms { call += &format!(", timeout = \"{t}ms\""); }
        if let Some(h) = hedge_ms { call += &format!(", hedge = \"{h}ms\""); }
        if let Some(l) = latency_us { call += &format!(", latency = {{ dist = \"exponential\", mean = \"{l}us\" }}"); }
        call += &format!(", optional = {optional}, retries = {{ attempts = {attempts}, backoff = \"1ms\" }}");
        let capacity = capacity.map_or(String::new(), |c| format!("queue_capacity = {c}\n"));
        let breaker = if breaker { "circuit_breaker = { failures = 3, open_for = \"20ms\" }\n" } else { "" };
        let batch = if batch { "batch = { max_size = 4, timeout = \"2ms\", per_item = \"100us\" }\n" } else { "" };
        let text = format!(
            r#"
            [scenario]
            duration = "500ms"
            warmup = "50ms"
            replications = 2
            [traffic]
            rate = {rate}
            [[class]]
            name = "a"
            weight = 2
            [[class]]
            name = "b"
            [[service]]
            name = "api"
            concurrency = 8
            service_time = {{ dist = "exponential", mean = "1ms" }}
            calls = ["cache", {{ parallel = [{{ {call} }}, "m2", {{ service = "m3", classes = ["b"], probability = 0.5 }}], join = {join} }}]
            [[service]]
            name = "cache"
            kind = "cache"
            capacity = 50
            keys = 1000
            popularity = {{ zipf = 0.9 }}
            replicas = 2
            concurrency = 4
            service_time = {{ dist = "constant", value = "100us" }}
            on_miss = ["m2"]
            [[service]]
            name = "m1"
            replicas = 3
            balancer = "{balancer}"
            concurrency = 2
            error_rate = {error_rate}
            {capacity}{breaker}{batch}service_time = {{ dist = "lognormal", median = "2ms", p99 = "20ms" }}
            [[service]]
            name = "m2"
            concurrency = 4
            error_rate = {error_rate}
            service_time = {{ dist = "exponential", mean = "1ms" }}
            [[service]]
            name = "m3"
            concurrency = 4
            queue_timeout = "5ms"
            service_time = {{ dist = "exponential", mean = "1ms" }}
            "#
        );
        let model = capsim::scenario::load(&text, "random.toml", &[])
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let capsim::metrics::summary::Outcome::Completed(summary) = capsim::sweep::run(&model) else {
            panic!("no run of this size overloads:\n{text}");
        };
        let ends = |c: &capsim::metrics::recorder::Counts| c.succeeded + c.failed + c.rejected + c.timed_out;
        prop_assert_eq!(ends(&summary.requests), summary.requests.arrived, "top\n{}", text);
        prop_assert!(summary.requests.degraded <= summary.requests.succeeded);
        let mut class_total = 0;
        for class in &summary.classes {
            prop_assert_eq!(ends(&class.requests), class.requests.arrived, "class {}\n{}", class.name, text);
            class_total += class.requests.arrived;
        }
        prop_assert_eq!(class_total, summary.requests.arrived);
        for s in &summary.services {
            prop_assert_eq!(ends(&s.requests) + s.requests.cancelled, s.requests.arrived, "{}\n{}", s.name, text);
        }
    }
}

/// A crash takes a batch down with it: the visits of the batch being worked on and those
/// waiting fail, the crashed replica's worker is free again when it restarts, and batching
/// goes on. One replica, batches of 4 every 10 ms, crashed at 5 s for 1 s: about a second's
/// arrivals (100) fail, every request ends one way, and utilization (busy over ready worker
/// time) stays a fraction.
#[test]
fn a_crash_fails_the_batch_in_service_and_batching_goes_on() {
    let summary = simulate(
        r#"
        [scenario]
        duration = "20s"
        [traffic]
        rate = 100
        [[service]]
        name = "model"
        batch = { max_size = 4, timeout = "5ms", per_item = "1ms" }
        service_time = { dist = "constant", value = "10ms" }
        [[fault]]
        kind = "crash"
        target = "model"
        at = "5s"
        duration = "1s"
        "#,
    );
    let r = &summary.requests;
    assert_eq!(r.succeeded + r.failed + r.rejected + r.timed_out, r.arrived);
    assert!((50..200).contains(&r.failed), "failed {}", r.failed);
    let model = service(&summary, "model");
    assert!(
        model.utilization > 0.3 && model.utilization < 1.0,
        "{}",
        model.utilization
    );
    assert!(model.paths.mean_batch_size.unwrap() > 1.0);
}
