//! The engine against queueing theory.
//!
//! Every expectation is written here from an independent source: the formula by hand, with
//! its numbers worked out in the test's comment and cross-checked against a separate
//! implementation (`benches/peers/theory.py` recomputes the M/M/c ones). Each test names its
//! run length and the sampling error that length leaves, measured as the standard deviation of
//! the relative error over six seeds at the same length (`capsim run ... --seed 1..6`), or
//! as the spread across 16 replications of the same total length (`replications = 16`,
//! read off the 95% intervals), scaled by the square root of the length. Each run is sized
//! so that every tolerance is about four of those standard deviations: a bias of a quarter
//! of the tolerance would still pass, one of the tolerance would fail half the time, and a
//! false failure has odds of about 1 in 16,000 per figure.

use crate::support::simulate;
use capsim::metrics::summary::{ServiceSummary, Summary};

fn service<'s>(summary: &'s Summary, name: &str) -> &'s ServiceSummary {
    summary
        .services
        .iter()
        .find(|s| s.name == name)
        .expect("service exists")
}

#[track_caller]
fn assert_within(what: &str, observed: f64, expected: f64, tolerance: f64) {
    let error = observed / expected - 1.0;
    assert!(
        error.abs() <= tolerance,
        "{what}: observed {observed:.6}, expected {expected:.6}, relative error {:+.3}% exceeds {:.1}%",
        error * 100.0,
        tolerance * 100.0
    );
}

/// One service, `replicas = 1`, Poisson arrivals: the classic single queue. Times in seconds.
fn single_queue(
    rate: f64,
    concurrency: u32,
    queue: &str,
    service_time: &str,
    duration_s: u64,
    replications: u32,
) -> String {
    format!(
        r#"
        [scenario]
        duration = "{duration_s}s"
        warmup = "1000s"
        seed = 2026
        replications = {replications}
        [traffic]
        rate = {rate}
        [[service]]
        name = "s"
        concurrency = {concurrency}
        {queue}
        service_time = {service_time}
        "#
    )
}

const EXP_1S: &str = r#"{ dist = "exponential", mean = "1s" }"#;

/// M/M/1, lambda = 0.8, mu = 1: W = 1 / (mu - lambda) = 5 s, Wq = rho W = 4 s, and the
/// sojourn time is exponential with rate mu - lambda, so p99 = ln(100) / 0.2 = 23.0259 s.
/// Run: 4 x 2.5e6 s = 8e6 customers; sampling sd 0.38% (mean), 0.49% (wait), 0.76% (p99),
/// 0.057% (utilization) (0.30%, 0.39%, 0.60% at 12.8e6; 0.064% utilization at 6.4e6);
/// tolerances 1.5%, 2%, 3%, 0.25%: 3.9 to 4.4 sd.
#[test]
fn mm1_mean_and_p99_sojourn_match_the_exponential_sojourn_law() {
    let s = simulate(&single_queue(0.8, 1, "", EXP_1S, 2_500_000, 4));
    assert_within("M/M/1 mean sojourn", s.latency.mean, 5_000.0, 0.015);
    assert_within(
        "M/M/1 mean wait",
        service(&s, "s").queue_wait_mean_ms,
        4_000.0,
        0.02,
    );
    assert_within("M/M/1 p99 sojourn", s.latency.p99, 23_025.85, 0.03);
    assert_within(
        "M/M/1 utilization",
        service(&s, "s").utilization,
        0.8,
        0.0025,
    );
}

/// M/M/c by Erlang C, mu = 1: Wq = C(c, a) / (c mu - lambda), W = Wq + 1.
/// - c = 2,  lambda = 1.4  (rho 0.70): C = 0.576471, Wq = 0.960784 s
/// - c = 8,  lambda = 7.2  (rho 0.90): C = 0.701533, Wq = 0.876916 s
/// - c = 16, lambda = 15.2 (rho 0.95): C = 0.780192, Wq = 0.975241 s
///
/// Runs: 4 x 1.65e6 s, 8 x 1.55e6 s and 8 x 9.6e5 s: 9.2e6, 89e6 and 117e6 customers.
/// Sampling sd of Wq 0.50% each (0.37%, 0.47%, 0.52% at 17e6, 100e6, 100e6 customers), of
/// W at most 0.25% (half that of Wq, or less: 0.20%, 0.17%, 0.25% across 16 replications),
/// of utilization 0.056%, 0.016%, 0.014% (16 replications); tolerances 2% (Wq), 1% (W),
/// 0.25%, 0.07%, 0.06% (utilization): 4.0 to 4.5 sd.
#[test]
fn mmc_mean_wait_matches_erlang_c_for_several_servers_and_loads() {
    for (c, lambda, wq_s, duration_s, replications, utilization_tolerance) in [
        (2, 1.4, 0.960_784_313_7, 1_650_000, 4, 0.0025),
        (8, 7.2, 0.876_916_237_7, 1_550_000, 8, 0.0007),
        (16, 15.2, 0.975_240_577_8, 960_000, 8, 0.0006),
    ] {
        let s = simulate(&single_queue(
            lambda,
            c,
            "",
            EXP_1S,
            duration_s,
            replications,
        ));
        let svc = service(&s, "s");
        let label = format!("M/M/{c} rho {:.2}", lambda / f64::from(c));
        assert_within(
            &format!("{label} mean wait"),
            svc.queue_wait_mean_ms,
            wq_s * 1e3,
            0.02,
        );
        assert_within(
            &format!("{label} mean sojourn"),
            s.latency.mean,
            (wq_s + 1.0) * 1e3,
            0.01,
        );
        assert_within(
            &format!("{label} utilization"),
            svc.utilization,
            lambda / f64::from(c),
            utilization_tolerance,
        );
        // The theory printed beside the simulation is the same Erlang C.
        let theory_ms = svc
            .theory
            .mean_queue_wait_ns
            .expect("M/M/c has a closed form")
            / 1e6;
        assert_within(
            &format!("{label} theory column"),
            theory_ms,
            wq_s * 1e3,
            1e-9,
        );
    }
}

/// M/M/2/5 (2 servers, 3 waiting places), lambda = 2, mu = 1, a = 2. Birth-death:
/// p_n / p_0 = 1, 2, 2, 2, 2, 2 for n = 0..5, so p_0 = 1/11 and the blocking probability is
/// p_5 = 2/11 = 0.181818. Lq = (1 + 2 + 3) p_5 = 12/11; admitted rate 2 (1 - 2/11) = 18/11;
/// Wq = Lq / admitted = 2/3 s. Run: 4 x 2e5 s = 1.6e6 customers; sampling sd 0.51%
/// (blocking), 0.38% (Wq) (0.23% and 0.17% at 8e6); tolerances 2% and 1.5%: 3.9 sd.
#[test]
fn mmck_blocking_probability_and_wait_match_the_birth_death_solution() {
    let s = simulate(&single_queue(
        2.0,
        2,
        "queue_capacity = 3",
        EXP_1S,
        200_000,
        4,
    ));
    let blocked = s.requests.rejected as f64 / s.requests.arrived as f64;
    assert_within("M/M/2/5 blocking", blocked, 2.0 / 11.0, 0.02);
    assert_within(
        "M/M/2/5 mean wait",
        service(&s, "s").queue_wait_mean_ms,
        2_000.0 / 3.0,
        0.015,
    );
    assert_eq!(
        s.requests.arrived,
        s.requests.succeeded + s.requests.rejected
    );
}

/// M/D/1, lambda = 0.8, D = 1 s: Pollaczek-Khinchine Wq = rho D / (2 (1 - rho)) = 2 s.
/// Run: 4 x 1.25e6 s = 4e6 customers; sampling sd 0.51% (0.40% at 6.4e6); tolerance 2%:
/// 3.95 sd.
#[test]
fn md1_mean_wait_matches_pollaczek_khinchine() {
    let s = simulate(&single_queue(
        0.8,
        1,
        "",
        r#"{ dist = "constant", value = "1s" }"#,
        1_250_000,
        4,
    ));
    assert_within(
        "M/D/1 mean wait",
        service(&s, "s").queue_wait_mean_ms,
        2_000.0,
        0.02,
    );
}

/// M/G/1 with lognormal service, mean 1 s, cv 1.5 (E[S^2] = 1 + 1.5^2 = 3.25 s^2),
/// lambda = 0.7: Wq = lambda E[S^2] / (2 (1 - rho)) = 0.7 x 3.25 / 0.6 = 3.791667 s.
/// Run: 4 x 1e7 s = 28e6 customers; sampling sd 0.50% (1.03% at 5.6e6, scaled by the
/// square root of the length); tolerance 2%: 4.0 sd.
#[test]
fn mg1_lognormal_mean_wait_matches_pollaczek_khinchine() {
    let lognormal = r#"{ dist = "lognormal", mean = "1s", cv = 1.5 }"#;
    let s = simulate(&single_queue(0.7, 1, "", lognormal, 10_000_000, 4));
    assert_within(
        "M/G/1 mean wait",
        service(&s, "s").queue_wait_mean_ms,
        3_791.666_667,
        0.02,
    );
}

/// Two M/M/1 queues in tandem (a Jackson network): lambda = 0.5, mean service 1 s then
/// 1.25 s. Each is M/M/1 by Burke's theorem: W = 1/(1 - 0.5) + 1/(0.8 - 0.5) = 2 + 3.3333 s.
/// Run: 4 x 4.2e5 s = 840,000 customers; sampling sd 0.30% (the sojourn, at "a" and end to
/// end), 0.50% (b's sojourn) (0.34% and 0.56% across 16 replications of 664,000 in all);
/// tolerances 1.2% and 2%: 4.0 sd.
#[test]
fn tandem_of_two_mm1_queues_has_the_sum_of_their_sojourns() {
    let s = simulate(
        r#"
        [scenario]
        duration = "420000s"
        warmup = "1000s"
        replications = 4
        [traffic]
        rate = 0.5
        [[service]]
        name = "a"
        service_time = { dist = "exponential", mean = "1s" }
        calls = ["b"]
        [[service]]
        name = "b"
        service_time = { dist = "exponential", mean = "1.25s" }
        "#,
    );
    assert_within("tandem mean sojourn", s.latency.mean, 5_333.333_333, 0.012);
    assert_within(
        "a's sojourn",
        service(&s, "a").latency.mean,
        5_333.333_333,
        0.012,
    );
    assert_within(
        "b's sojourn",
        service(&s, "b").latency.mean,
        3_333.333_333,
        0.02,
    );
    // Burke: b's arrivals are Poisson, so theory has a closed form for b too.
    let b_wait = service(&s, "b")
        .theory
        .mean_queue_wait_ns
        .expect("b is M/M/1 by Burke")
        / 1e6;
    assert_within("b's theory column", b_wait, 0.625 / 0.375 * 1_250.0, 1e-9);
}

/// Little's law, L = lambda W, holds for every service whatever its configuration: here
/// several replicas, lognormal and gamma service, blocking calls and a fan of calls.
/// L is the time-average of requests at the service over the window, lambda its arrivals per
/// second, W its mean time from arrival to response. Run: 2 x 200 s measured, 400,000
/// requests. The two sides are estimated from the same sample path, so no sampling error
/// separates them, only the edges of the window (requests in flight at its start and end,
/// a few in 100,000): measured 0.0006% to 0.004% here (0.0001% to 0.0006% at 2 x 1800 s);
/// the tolerance 0.1% is 25 times the largest.
#[test]
fn littles_law_holds_for_every_service() {
    let s = simulate(
        r#"
        [scenario]
        duration = "400s"
        warmup = "200s"
        replications = 2
        [traffic]
        rate = 1000
        entry = "web"
        [[service]]
        name = "web"
        replicas = 3
        concurrency = 2
        blocking_calls = true
        service_time = { dist = "lognormal", median = "1ms", p99 = "8ms" }
        calls = ["auth", "db"]
        [[service]]
        name = "auth"
        replicas = 2
        service_time = { dist = "gamma", mean = "0.6ms", cv = 0.5 }
        [[service]]
        name = "db"
        concurrency = 4
        service_time = { dist = "exponential", mean = "3ms" }
        "#,
    );
    let window_s = (s.duration_s - s.warmup_s) * f64::from(s.replications);
    for svc in &s.services {
        let lambda = svc.requests.arrived as f64 / window_s;
        let little = lambda * svc.latency.mean / 1e3;
        assert_within(
            &format!("Little's law at {}", svc.name),
            svc.mean_in_system,
            little,
            0.001,
        );
    }
}

/// Round-robin over two replicas, each one exponential server (mu = 1), total lambda = 1.6:
/// every replica receives every second arrival, so its interarrival time is Erlang-2 (two
/// exponential phases of rate 1.6) and it is an E2/M/1 queue, rho = 0.8. GI/M/1 theory: the
/// wait is Wq = sigma / (mu (1 - sigma)), where sigma solves sigma = A*(mu (1 - sigma)) and
/// A*(s) = (1.6 / (1.6 + s))^2 is the interarrival transform. Fixed-point iteration gives
/// sigma = 0.739853, so Wq = 2.843980 s: well below the 4 s of a random split (M/M/1 at 0.8),
/// because round-robin smooths each replica's arrivals.
/// Run: 4 x 2e6 s = 12.8e6 customers; sampling sd 0.49% (wait; 0.42% across 16
/// replications of the same total), 0.043% (utilization); tolerances 2% and 0.2%: 4.1 and
/// 4.7 sd.
#[test]
fn round_robin_over_two_replicas_makes_each_an_e2_m1_queue() {
    let s = simulate(
        r#"
        [scenario]
        duration = "2000000s"
        warmup = "1000s"
        replications = 4
        [traffic]
        rate = 1.6
        [[service]]
        name = "s"
        replicas = 2
        service_time = { dist = "exponential", mean = "1s" }
        "#,
    );
    let svc = service(&s, "s");
    assert_within(
        "E2/M/1 mean wait",
        svc.queue_wait_mean_ms,
        2_843.979_767,
        0.02,
    );
    assert_within("utilization", svc.utilization, 0.8, 0.002);
}

/// A batching service's capacity grows with its batches: a batch of b takes
/// T(b) = 10 ms + 1 ms x b (exponential base, one worker), so full batches of 32 finish
/// 32 / 42 ms = 761.9 visits/s. At 610/s (80% of that) the smallest batch that keeps up is
/// b = 16 (b > 6.1 / (1 - 0.61) = 15.64), where the offered load is 610 x 26 ms / 16 =
/// 0.99125: not overloaded, although a batch of one (11 ms per visit) would be at 6.71.
/// Utilization is exactly arrivals x (10 ms / mean batch + 1 ms) per worker; the mean batch
/// the run forms lies between 15.64 (below it the worker could not keep up) and 16 (the
/// batch that forms while the previous one works; the 5 ms timeout is shorter than a batch),
/// so utilization lies between the theory's 0.99125 and 1.
/// Run: 600 s, 366,000 visits in about 23,000 batches: the mean base time over the batches
/// has a sampling sd of 1 / sqrt(23,000) = 0.66%, which is 0.26% of utilization (the base is
/// 39% of it); tolerance 1% on the identity (3.8 sd), and 0.01 below the theory.
/// At 800/s even full batches leave 800 x 42 ms / 32 = 1.05: still overloaded, and warned.
#[test]
fn batching_capacity_is_judged_at_the_batch_size_the_load_needs() {
    let scenario = |rate: u32| {
        format!(
            r#"
            [scenario]
            duration = "600s"
            warmup = "60s"
            seed = 2026
            [traffic]
            rate = {rate}
            [[service]]
            name = "gpu"
            service_time = {{ dist = "exponential", mean = "10ms" }}
            batch = {{ max_size = 32, timeout = "5ms", per_item = "1ms" }}
            "#
        )
    };
    let load = |rate| capsim::scenario::load(&scenario(rate), "test.toml", &[]).unwrap();
    let theory = &capsim::metrics::theory::theory(&load(610))[0];
    assert_eq!(theory.batch_size, Some(16));
    assert!((theory.offered_load - 0.99125).abs() < 1e-12, "{theory:?}");
    assert_eq!(capsim::metrics::theory::warnings(&load(610)), []);

    let s = simulate(&scenario(610));
    let svc = service(&s, "gpu");
    let batch = svc.paths.mean_batch_size.expect("a batching service");
    assert!((15.64..=16.0).contains(&batch), "mean batch {batch}");
    assert_within(
        "utilization = arrivals x T(mean batch) / mean batch",
        svc.utilization,
        610.0 * (10e-3 / batch + 1e-3),
        0.01,
    );
    assert!(
        (theory.offered_load - 0.01..1.0).contains(&svc.utilization),
        "utilization {} against the theory's {}",
        svc.utilization,
        theory.offered_load
    );

    let over = &capsim::metrics::theory::theory(&load(800))[0];
    assert_eq!(over.batch_size, Some(32));
    assert!((over.offered_load - 1.05).abs() < 1e-12, "{over:?}");
    let warned: Vec<String> = capsim::metrics::theory::warnings(&load(800))
        .into_iter()
        .map(|w| w.text)
        .collect();
    assert_eq!(
        warned,
        ["service \"gpu\" is offered more work than it can do even in full batches of 32 (offered load 1.05); its queue will grow without limit"]
    );
}
