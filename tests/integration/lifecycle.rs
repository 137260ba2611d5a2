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
