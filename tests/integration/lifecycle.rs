//! Where components meet: lifecycles that span several of them (a breaker's probe cancelled by
//! a sibling, a batching replica drained by the autoscaler), each checked against what the
//! systems capsim imitates do.

use super::support::simulate;

/// `front` calls `b` and `c` in parallel (join all, fail-fast). `c` fails half its calls and
/// answers in 2 ms on average, `b` in 5 ms, so when `c` fails it usually fails first, and the
/// step cancels `b`'s call. `b` errs on every call from 10 s to 15 s: its breaker (5 failures
/// in a row, open 1 s) opens. Its half-open probe is often such a cancelled call: a
/// cancelled probe must give its place back (as resilience4j's `releasePermission` does), so
/// the next call probes again and the breaker closes once `b` is healthy.
///
/// Expectation by hand: outside [10 s, 15 s) a request succeeds when `c` does, 1/2; inside it
/// none does. Over 60 s at 200 requests/s (12,000 requests) availability is 0.5 x 55/60 =
/// 0.458, with sd sqrt(0.25 / 11,000) = 0.0048 from `c`'s draws; the breaker's own recovery
/// (about one open period, plus a probe) costs at most about 1/60 more. Tolerance 0.025
/// below, 0.01 above. Calls failed fast: those of the fault's 5 s plus recovery, at most
/// 200 x 7 = 1,400 (before the fix about 10,000: every call from the second opening on).
/// Every 10 s window from 20 s on has its availability near 1/2 (2,000 requests each, sd
/// 0.011; 0.4 is 9 sd below).
#[test]
fn a_breaker_whose_probe_is_cancelled_probes_again_and_closes() {
    let s = simulate(
        r#"
        [scenario]
        duration = "60s"
        window = "10s"
        seed = 1
        [traffic]
        rate = 200
        [[service]]
        name = "front"
        concurrency = 1000
        service_time = { dist = "constant", value = "0s" }
        calls = [ { parallel = ["b", "c"] } ]
        [[service]]
        name = "b"
        concurrency = 100
        service_time = { dist = "exponential", mean = "5ms" }
        circuit_breaker = { failures = 5, open_for = "1s" }
        [[service]]
        name = "c"
        concurrency = 100
        service_time = { dist = "exponential", mean = "2ms" }
        error_rate = 0.5
        [[fault]]
        kind = "errors"
        target = "b"
        at = "10s"
        duration = "5s"
        rate = 1.0
        "#,
    );
    let expected = 0.5 * 55.0 / 60.0;
    assert!(
        s.availability > expected - 0.025 && s.availability < expected + 0.01,
        "availability {} against {expected}",
        s.availability
    );
    let b = &s.services[1];
    assert!(b.paths.breaker_opened >= 1);
    assert!(
        b.paths.short_circuited <= 1_400,
        "{} calls failed fast",
        b.paths.short_circuited
    );
    for row in s.series.iter().filter(|r| r.start_s >= 20.0) {
        assert!(
            row.availability > 0.4,
            "window at {} s: availability {}",
            row.start_s,
            row.availability
        );
    }
}

/// An HPA scales a batching GPU pool up to 20 replicas during 1,000 requests/s, then, after
/// the rate falls to 150/s at 6 min, down. Replicas scaled down while a batch runs drain: the
/// end of their last batch frees their worker, and then they must go down, so that billed
/// replicas follow ready ones. Before the fix a drained batching replica stayed billed for the
/// rest of the run (20 billed, 11 ready at the end). Checked on every window after the
/// scale-down has settled (from 15 min on): billed = ready + starting exactly, and the bill
/// for those windows is the ready replicas' time at the price.
#[test]
fn a_batching_replica_scaled_down_while_busy_goes_down() {
    let s = simulate(
        r#"
        [scenario]
        duration = "20m"
        window = "60s"
        seed = 3
        [traffic]
        rate = 1000
        steps = [ { at = "6m", rate = 150 } ]
        [[service]]
        name = "gpu"
        concurrency = 1
        service_time = { dist = "constant", value = "40ms" }
        batch = { max_size = 16, timeout = "10ms", per_item = "2ms" }
        price_per_hour = 3.0
        autoscale = { min = 2, max = 20, metric = "utilization", target = 0.6, provisioning = { dist = "constant", value = "20s" } }
        "#,
    );
    let downs = s
        .events
        .entries
        .iter()
        .filter(|h| matches!(h.what, capsim::metrics::run::Happening::ScaleDown { .. }))
        .count();
    assert!(downs >= 1, "the pool scales down");
    let late: Vec<_> = s.series.iter().filter(|r| r.start_s >= 900.0).collect();
    assert!(!late.is_empty());
    for row in late {
        let gpu = &row.services[0];
        assert!(
            (gpu.replicas_billed - gpu.replicas_ready - gpu.replicas_starting).abs() < 1e-9,
            "at {} s: {} billed, {} ready, {} starting",
            row.start_s,
            gpu.replicas_billed,
            gpu.replicas_ready,
            gpu.replicas_starting
        );
        assert!(gpu.replicas_ready < 20.0);
    }
}

use proptest::prelude::*;

/// One random design with every mechanism that changes a lifecycle: a call graph of up to
/// four services with parallel steps (all, any, k of n; with deadlines and fallbacks),
/// timeouts, retries within budgets of both scopes, hedges, optional and probabilistic calls,
/// fallbacks (by name, or with timeouts and retries of their own), fire-and-forget calls; services with replicas, workers,
/// bounded queues, errors, balancers (shared, or two or three instances), batching, rate limits, queue timeouts, breakers of both
/// scopes, a fixed-ratio cache; an autoscaled service, health checks, recurring crashes, spot
/// interruptions and an erroring window; and a rollout of one service by any strategy
/// (either autoscaler coupling, a DNS or instant switch, a canary with or without a router),
/// that service regional in two regions when `regional` is odd (then with its HPAs per
/// region, or per region and version, if it autoscales, and a region outage mid-run when bit
/// 2 is set too).
#[allow(clippy::too_many_arguments)]
fn lifecycle_design(
    rate: u32,
    shapes: &[(u32, u32, Option<u32>, u8, u8)],
    calls: &[(u8, u8, u8, bool)],
    constructs: &[u8],
    joins: &[u8],
    breakers: &[u8],
    batching: usize,
    autoscaled: usize,
    faults: u8,
    deploy: u8,
    regional: u8,
) -> String {
    let deployed = (deploy & 1 != 0).then(|| usize::from(deploy / 2) % shapes.len());
    let regional_outage = regional & 2 != 0;
    let regional = regional & 1 != 0 && deployed.is_some();
    const BALANCERS: [&str; 4] = ["round_robin", "random", "least_outstanding", "power_of_two"];
    let n = shapes.len();
    let mut toml = format!(
        "[scenario]\nduration = \"1500ms\"\nseed = {rate}\n[traffic]\nrate = {rate}\nentry = \"s0\"\n"
    );
    let mut call = calls.iter().cycle();
    let mut construct = constructs.iter().cycle();
    for (i, &(replicas, concurrency, capacity, error_pct, balancer)) in shapes.iter().enumerate() {
        let mut entries = Vec::new();
        for j in i + 1..n {
            let &(timeout, retry, hedge, optional) = call.next().unwrap();
            let mut options = vec![format!("service = \"s{j}\"")];
            // A fallback calls a service after the caller (the last, or the callee again).
            let fallback_to = if j + 1 < n { n - 1 } else { j };
            match construct.next().unwrap() % 5 {
                1 => options.push(format!("fallback = \"s{fallback_to}\"")),
                2 => {
                    options.push("fire_and_forget = true".into());
                    if (i + j) % 3 == 0 {
                        options.push("probability = 0.7".into());
                    }
                    entries.push(format!("{{ {} }}", options.join(", ")));
                    continue;
                }
                3 => options.push(format!(
                    "fallback = {{ service = \"s{fallback_to}\", timeout = \"20ms\", retries = {{ attempts = 2 }} }}"
                )),
                _ => {}
            }
            if timeout > 0 {
                options.push(format!("timeout = \"{}ms\"", 5 + 10 * u32::from(timeout)));
            }
            match retry {
                1 => options.push(r#"retries = { attempts = 3, backoff = "1ms" }"#.into()),
                2 => options.push(
                    r#"retries = { attempts = 3, backoff = "1ms", budget = 0.2, min_retries_per_s = 5 }"#.into(),
                ),
                3 => options.push(
                    r#"retries = { attempts = 2, budget = 0.1, budget_scope = "service" }"#.into(),
                ),
                _ => {}
            }
            if hedge > 0 && batching != j {
                options.push(format!("hedge = \"{}ms\"", 2 * u32::from(hedge)));
            }
            if optional {
                options.push("optional = true".into());
            }
            if (i + j) % 3 == 0 {
                options.push("probability = 0.7".into());
            }
            entries.push(format!("{{ {} }}", options.join(", ")));
        }
        // A parallel step may have a deadline and a fallback (to the last service).
        let mut extra = String::new();
        if joins[i] & 4 != 0 {
            extra += &format!(", deadline = \"{}ms\"", 5 + u32::from(joins[i] >> 4));
        }
        if joins[i] & 8 != 0 && n - 1 > i {
            extra += &format!(", fallback = \"s{}\"", n - 1);
        }
        let plan = match (entries.len(), joins[i] % 4) {
            (0, _) => String::new(),
            (1, _) | (_, 0) => entries.join(", "),
            (_, 1) => format!(
                "{{ parallel = [{}], join = \"any\"{extra} }}",
                entries.join(", ")
            ),
            (m, 2) => format!(
                "{{ parallel = [{}], join = {}{extra} }}",
                entries.join(", "),
                m - 1
            ),
            (_, _) => format!("{{ parallel = [{}]{extra} }}", entries.join(", ")),
        };
        if regional && deployed == Some(i) {
            toml += &format!("[[service]]\nregions = {{ us = {replicas}, eu = {replicas} }}\n");
        } else {
            toml += &format!("[[service]]\nreplicas = {replicas}\n");
        }
        // One balancer, or (bits 2 and up) two or three instances of it.
        let kind = BALANCERS[usize::from(balancer) % 4];
        let balancer = match balancer / 4 % 3 {
            0 => format!("\"{kind}\""),
            k => format!("{{ kind = \"{kind}\", instances = {} }}", k + 1),
        };
        toml += &format!(
            "name = \"s{i}\"\nconcurrency = {concurrency}\n\
             error_rate = {}\nbalancer = {balancer}\ncalls = [{plan}]\n\
             service_time = {{ dist = \"exponential\", mean = \"{}ms\" }}\n",
            f64::from(error_pct) / 100.0,
            1 + i,
        );
        if let Some(q) = capacity {
            toml += &format!("queue_capacity = {q}\n");
        }
        match breakers[i] % 4 {
            1 => toml += "circuit_breaker = { failures = 3, open_for = \"20ms\" }\n",
            2 => toml += "circuit_breaker = { failures = 2, open_for = \"10ms\", scope = \"service\" }\n",
            3 => toml += "circuit_breaker = { error_rate = 0.3, window = \"50ms\", min_requests = 5, open_for = \"30ms\" }\n",
            _ => {}
        }
        if i == batching {
            toml += "batch = { max_size = 4, timeout = \"2ms\", per_item = \"100us\" }\n";
        } else if i % 2 == 1 {
            toml += "queue_timeout = \"40ms\"\n";
        }
        if i == autoscaled {
            toml += "autoscale = { min = 1, max = 6, target = 0.5, sync = \"50ms\", scale_down_window = \"100ms\", provisioning = { dist = \"constant\", value = \"30ms\" } }\n";
        }
        if i == n - 1 {
            toml += "health = { interval = \"20ms\", failures = 2 }\n";
        }
    }
    let target = |k: u8| format!("s{}", usize::from(k) % n);
    if faults & 1 != 0 {
        toml += &format!(
            "[[fault]]\nkind = \"crash\"\ntarget = \"{}\"\nmtbf = \"300ms\"\nmttr = \"40ms\"\n",
            target(faults / 2)
        );
    }
    if faults & 2 != 0 {
        toml += &format!(
            "[[fault]]\nkind = \"spot\"\ntarget = \"{}\"\nrate = 7200\nnotice = \"30ms\"\nprovisioning = {{ dist = \"constant\", value = \"20ms\" }}\n",
            target(faults / 4)
        );
    }
    if faults & 4 != 0 {
        toml += &format!(
            "[[fault]]\nkind = \"errors\"\ntarget = \"{}\"\nat = \"300ms\"\nduration = \"200ms\"\nrate = 0.8\n",
            target(faults / 8)
        );
    }
    if regional {
        toml +=
            "[[region]]\nname = \"us\"\nweight = 0.6\n[[region]]\nname = \"eu\"\nweight = 0.4\n";
        if regional_outage {
            toml += "[[fault]]\nkind = \"region_outage\"\ntarget = \"eu\"\nat = \"400ms\"\nduration = \"300ms\"\n";
        }
    }
    // A rollout of one service's new version (slower, erring) by any strategy, with every
    // strategy's table short enough to play out within the run.
    if deploy & 1 != 0 {
        const STRATEGIES: [&str; 6] = [
            "recreate",
            "rolling",
            "blue_green",
            "canary",
            "ab_test",
            "shadow",
        ];
        toml += &format!(
            "[[deployment]]\nservice = \"{}\"\nat = \"{}ms\"\nstrategy = \"{}\"\nmin_ready = \"{}ms\"\nautoscale = \"{}\"\n\
             new = {{ error_rate = 0.05, provisioning = \"30ms\", service_time = {{ dist = \"exponential\", mean = \"2ms\" }} }}\n\
             rolling = {{ max_surge = {}, max_unavailable = \"25%\" }}\n\
             blue_green = {{ preview_for = \"20ms\", switch = \"{}\", dns_ttl = \"100ms\", scale_down_delay = \"20ms\" }}\n\
             canary = {{ traffic_router = {}, steps = [{{ weight = 20, pause = \"100ms\" }}, {{ weight = 60, pause = \"100ms\" }}], analysis = {{ interval = \"50ms\", max_error_rate = 0.1, min_requests = 5, failure_limit = 1, no_data = \"{}\" }}, scale_down_delay = \"20ms\" }}\n\
             ab_test = {{ split = 0.3, duration = \"300ms\", sequential = {} }}\n\
             shadow = {{ mirror = 0.5, duration = \"200ms\" }}\n",
            target(deploy / 2),
            100 + 50 * u32::from(deploy / 16 % 8),
            STRATEGIES[usize::from(deploy / 2) % 6],
            10 * u32::from(deploy / 64 % 2),
            if deploy & 128 != 0 { "separate" } else { "blended" },
            u32::from(deploy / 4 % 3),
            if deploy & 8 != 0 { "dns" } else { "instant" },
            deploy & 32 != 0,
            if deploy & 4 != 0 { "fail" } else { "inconclusive" },
            deploy & 16 != 0,
        );
    }
    toml
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    /// The state invariants (`System::invariants`: fleet counts and levels agree, billed
    /// replicas at least ready ones, no idle draining replica, queue counts match their
    /// frames, no breaker half-open with no probe out, requests in flight are the root
    /// frames, each balancer instance counts exactly its visits on each replica) hold after
    /// every event of random designs with every lifecycle mechanism on;
    /// every request arrived ends exactly one way; and the time series' windows add up to
    /// the run's totals.
    #[test]
    fn lifecycle_invariants_hold_after_every_event(
        rate in 100u32..800,
        shapes in prop::collection::vec(
            (1u32..4, 1u32..4, prop::option::of(0u32..6), 0u8..30, any::<u8>()),
            2..5,
        ),
        calls in prop::collection::vec((0u8..4, 0u8..4, 0u8..3, any::<bool>()), 6),
        constructs in prop::collection::vec(any::<u8>(), 6),
        joins in prop::collection::vec(any::<u8>(), 4),
        breakers in prop::collection::vec(any::<u8>(), 4),
        batching in 0usize..6,
        autoscaled in 0usize..5,
        faults in any::<u8>(),
        deploy in any::<u8>(),
        regional in any::<u8>(),
    ) {
        let text = lifecycle_design(rate, &shapes, &calls, &constructs, &joins, &breakers, batching, autoscaled, faults, deploy, regional);
        let model = capsim::scenario::load(&text, "random.toml", &[])
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let run = capsim::components::system::simulate_checked(&model, 0)
            .unwrap_or_else(|broken| panic!("{broken}\n{text}"));
        let r = &run.record.requests;
        if run.overload.is_none() {
            let ended = |c: &capsim::metrics::recorder::Counts| {
                c.succeeded + c.failed + c.rejected + c.timed_out
            };
            prop_assert!(r.arrived >= ended(r), "{:?}\n{}", r, text);
            // The time series adds up to the run's totals: every arrival falls in a window
            // (no warm-up here), and the endings the windows saw (up to the run's end) are
            // among the run's.
            let windows = &run.series.counts;
            prop_assert_eq!(windows.iter().map(|c| c.arrived).sum::<u64>(), r.arrived, "{}", text);
            prop_assert!(windows.iter().map(ended).sum::<u64>() <= ended(r), "{}", text);
        }
    }
}

/// Frames are bounded, not only requests: each request fans out to 200 calls of a callee that
/// cannot keep up (one worker, 1 s a call), so frames pile up 201 per request. With
/// `max_in_flight = 1000` the visits in flight are capped at max(4 x 1000, 100,000) =
/// 100,000, reached at the 498th request in flight (497 x 201 = 99,897 < 100,000 < 498 x
/// 201): the run stops as overloaded by visits, before the requests reach their own bound.
#[test]
fn visits_in_flight_are_bounded_as_requests_are() {
    let fan_out = vec!["\"b\""; 200].join(", ");
    let text = format!(
        r#"
        [scenario]
        duration = "10s"
        max_in_flight = 1000
        [traffic]
        rate = 1000
        [[service]]
        name = "a"
        concurrency = 100000
        service_time = {{ dist = "constant", value = "0s" }}
        calls = [ {{ parallel = [{fan_out}] }} ]
        [[service]]
        name = "b"
        service_time = {{ dist = "constant", value = "1s" }}
        "#
    );
    let model =
        capsim::scenario::load(&text, "fan-out.toml", &[]).unwrap_or_else(|e| panic!("{e}"));
    let run = capsim::components::system::simulate(&model, 0);
    let overload = run.overload.expect("the visits pile up");
    assert_eq!(
        overload.reason,
        capsim::metrics::run::OverloadReason::Visits
    );
    assert_eq!(overload.in_flight, 498);
}

/// The fuzzer's cheaper check (`simulate_checked_amortized`) watches the same run as the
/// exhaustive one: an M/M/1 offered twice its capacity (rate 200/s, mean service 10 ms) for
/// 20 s piles up about 2,000 requests, so beyond 64 visits in flight the amortized check
/// skips events (checking after every `n / 64`-th). Checking reads the state and never changes it: both runs end with the
/// record of an unchecked run, and neither finds an invariant broken.
#[test]
fn an_amortized_check_sees_the_run_the_exhaustive_one_sees() {
    let text = r#"
        [scenario]
        duration = "20s"
        [traffic]
        rate = 200
        [[service]]
        name = "a"
        service_time = { dist = "exponential", mean = "10ms" }
        "#;
    let model = capsim::scenario::load(text, "mm1.toml", &[]).unwrap_or_else(|e| panic!("{e}"));
    let plain = capsim::components::system::simulate(&model, 0);
    let every = capsim::components::system::simulate_checked(&model, 0)
        .unwrap_or_else(|broken| panic!("{broken}"));
    let amortized = capsim::components::system::simulate_checked_amortized(&model, 0, 64)
        .unwrap_or_else(|broken| panic!("{broken}"));
    // The queue grows by 100 a second, so a request arriving at t waits about t seconds:
    // 10 s on average over the run (it drains after), against 0.64 s at 64 in the queue.
    let mean_s = plain.record.latency.mean_ns() / 1e9;
    assert!(mean_s > 3.0, "the queue grows deep: a mean of {mean_s} s");
    assert_eq!(every.record.requests, plain.record.requests);
    assert_eq!(amortized.record.requests, plain.record.requests);
    assert_eq!(amortized.events, plain.events);
}
