//! The call-graph constructs against independent expectations: a fallback taken with the
//! chance that the call it stands in for fails; a parallel step's deadline (order statistics
//! of exponentials); fire-and-forget calls that load their callee and leave the caller's
//! latency exactly as it was (common random numbers); the degraded share in the time series,
//! in an objective, and in sweep and plan rows.
//!
//! Each test states its run length, the sampling error of what it estimates, and its
//! tolerance (about 4 standard deviations). Streams are seeded, so each outcome is fixed; the
//! margins say it is not a lucky one.

use crate::paths::{assert_close, service};
use crate::support::{simulate, Scratch};
use capsim::metrics::summary::Confidence;
use capsim::scenario::model::Measure;

/// `api` calls `model` (error rate 0.2, or timing out) with a fallback to `rules` (error rate
/// 0.5); every service has workers to spare, so nothing queues.
fn fallback_design(call: &str, model_time: &str) -> String {
    format!(
        r#"
        [scenario]
        duration = "60s"
        seed = 11
        [traffic]
        rate = 1000
        [[service]]
        name = "api"
        concurrency = 1000
        service_time = {{ dist = "constant", value = "1ms" }}
        calls = [{call}]
        [[service]]
        name = "model"
        concurrency = 1000
        service_time = {model_time}
        error_rate = 0.2
        [[service]]
        name = "rules"
        concurrency = 1000
        service_time = {{ dist = "constant", value = "2ms" }}
        error_rate = 0.5
        "#
    )
}

/// The fallback is made exactly when the call failed, after its retries. 60 s at 1,000
/// requests/s: n = 60,000 calls to `model`.
/// - Errors alone (error rate 0.2, no retries): rules visits / model visits = 0.2, sd
///   sqrt(0.2 x 0.8 / 60,000) = 0.0016, tolerance 0.0065. A request succeeds when `model`
///   does or `rules` does: availability 0.8 + 0.2 x 0.5 = 0.9; degraded (answered by
///   `rules`) 0.2 x 0.5 = 0.1 of requests; both with sd sqrt(0.09 / 60,000) = 0.0012,
///   tolerance 0.005. Every degraded request is a success of `rules`: the counts are equal.
/// - With 2 attempts, the fallback follows both failing: 0.2^2 = 0.04 of requests (sd
///   0.0008, tolerance 0.0032), and each request makes 1.2 calls' worth of `model` visits.
/// - A timeout of 5 ms on an exponential 5 ms `model`: an attempt fails when the work takes
///   longer than 5 ms (e^-1 = 0.3679) or, finishing in time, errs (0.2 x (1 - e^-1) =
///   0.1264): 0.4943 in all, sd sqrt(0.4943 x 0.5057 / 60,000) = 0.0020, tolerance 0.008.
#[test]
fn a_fallback_is_taken_with_the_chance_that_its_call_fails() {
    let constant = r#"{ dist = "constant", value = "3ms" }"#;
    let s = simulate(&fallback_design(
        r#"{ service = "model", fallback = "rules" }"#,
        constant,
    ));
    let (model, rules) = (service(&s, "model"), service(&s, "rules"));
    let n = s.requests.arrived as f64;
    assert_close(
        "fallback visits per first call",
        rules.requests.arrived as f64 / model.requests.arrived as f64,
        0.2,
        0.0065,
    );
    assert_close("availability", s.availability, 0.9, 0.005);
    assert_close("degraded share", s.requests.degraded as f64 / n, 0.1, 0.005);
    assert_eq!(s.requests.degraded, rules.requests.succeeded);
    assert_eq!(s.degraded_share, s.requests.degraded as f64 / n);
    assert_eq!(s.requests.failed, rules.requests.failed);

    let s = simulate(&fallback_design(
        r#"{ service = "model", retries = { attempts = 2 }, fallback = "rules" }"#,
        constant,
    ));
    let (model, rules) = (service(&s, "model"), service(&s, "rules"));
    let n = s.requests.arrived as f64;
    assert_close(
        "fallback after two failed attempts",
        rules.requests.arrived as f64 / n,
        0.04,
        0.0032,
    );
    assert_close(
        "model visits per request",
        model.requests.arrived as f64 / n,
        1.2,
        0.0065,
    );

    let s = simulate(&fallback_design(
        r#"{ service = "model", timeout = "5ms", fallback = "rules" }"#,
        r#"{ dist = "exponential", mean = "5ms" }"#,
    ));
    let rules = service(&s, "rules");
    let expected = (-1.0f64).exp() + 0.2 * (1.0 - (-1.0f64).exp());
    assert_close(
        "fallback after a timeout or an error",
        rules.requests.arrived as f64 / s.requests.arrived as f64,
        expected,
        0.008,
    );
    assert_eq!(
        s.requests.timed_out, 0,
        "the fallback answers for the timeout"
    );
}

/// The fraud-detection ensemble: `api` (1 ms of its own) asks three models (exponential,
/// mean 20 ms, workers to spare) in parallel with `join = "any"` and a deadline of 30 ms.
/// With a deadline the step waits for every model up to the deadline, then is judged by its
/// join on what answered.
///
/// Each model answers within 30 ms with p = 1 - e^-1.5 = 0.7769. The step ends at
/// min(X, 30 ms), X the slowest of the three, F(t) = (1 - e^(-t/20))^3; it fails when no
/// model answered: e^-4.5 = 0.01111 of requests, counted `timed_out` (30 s at 1,000/s:
/// n = 30,000, sd sqrt(0.0111 x 0.9889 / n) = 0.0006, tolerance 0.0025). A succeeded
/// request's latency is 1 ms + min(X, 30) given some model answered: its mean is
/// 1 + (E[min(X, 30)] - 30 e^-4.5) / (1 - e^-4.5), E[min(X, 30)] = integral over [0, 30] of
/// 1 - F(t), summed below by the midpoint rule (1e5 steps). The latencies have sd below
/// 15 ms, so the mean's error is below 0.09 ms: tolerance 0.35 ms. No latency exceeds the
/// deadline plus the step's own work, 31 ms (plus the histogram's 0.1%).
///
/// With one model erring (error rate 0.3), a model is a success within the deadline with
/// 0.7769 (two) and 0.7769 x 0.7 = 0.5438; the step fails with (1 - 0.7769)^2 x (1 -
/// 0.5438) = 0.02271 (sd 0.0009, tolerance 0.0035), and then the step's fallback, `rules`,
/// answers: its visits are that share of requests, every one a degraded success, and no
/// request fails. Latency is at most 31 ms + `rules`' 2 ms.
#[test]
fn a_deadline_ends_a_step_judged_by_its_join() {
    let design = |m3_errors: f64, fallback: &str| {
        format!(
            r#"
            [scenario]
            duration = "30s"
            seed = 5
            [traffic]
            rate = 1000
            [[service]]
            name = "api"
            concurrency = 1000
            service_time = {{ dist = "constant", value = "1ms" }}
            calls = [{{ parallel = ["m1", "m2", "m3"], join = "any", deadline = "30ms"{fallback} }}]
            [[service]]
            name = "m1"
            concurrency = 1000
            service_time = {{ dist = "exponential", mean = "20ms" }}
            [[service]]
            name = "m2"
            concurrency = 1000
            service_time = {{ dist = "exponential", mean = "20ms" }}
            [[service]]
            name = "m3"
            concurrency = 1000
            service_time = {{ dist = "exponential", mean = "20ms" }}
            error_rate = {m3_errors}
            [[service]]
            name = "rules"
            concurrency = 1000
            service_time = {{ dist = "constant", value = "2ms" }}
            "#
        )
    };
    let s = simulate(&design(0.0, ""));
    let n = s.requests.arrived as f64;
    let none = (-4.5f64).exp();
    assert_close(
        "timed out at the deadline",
        s.requests.timed_out as f64 / n,
        none,
        0.0025,
    );
    assert_eq!(
        s.requests.succeeded + s.requests.timed_out,
        s.requests.arrived
    );
    let steps = 100_000;
    let dt = 30.0 / f64::from(steps);
    let mean_capped: f64 = (0..steps)
        .map(|i| {
            let t = (f64::from(i) + 0.5) * dt;
            (1.0 - (1.0 - (-t / 20.0).exp()).powi(3)) * dt
        })
        .sum();
    let expected_mean = 1.0 + (mean_capped - 30.0 * none) / (1.0 - none);
    assert_close("mean latency", s.latency.mean, expected_mean, 0.35);
    assert!(
        s.latency.max <= 31.0 * 1.001,
        "latency {} ms exceeds the deadline plus the step's own work",
        s.latency.max
    );

    let s = simulate(&design(0.3, r#", fallback = "rules""#));
    let n = s.requests.arrived as f64;
    let p = 1.0 - (-1.5f64).exp();
    let fails = (1.0 - p).powi(2) * (1.0 - 0.7 * p);
    let rules = service(&s, "rules");
    assert_close(
        "step fallbacks per request",
        rules.requests.arrived as f64 / n,
        fails,
        0.0035,
    );
    assert_eq!(
        s.requests.succeeded, s.requests.arrived,
        "the fallback answers"
    );
    assert_eq!(s.requests.degraded, rules.requests.succeeded);
    assert!(s.latency.max <= 33.0 * 1.001, "{} ms", s.latency.max);
}

/// `api` calls `db`, then fires and forgets a call to `audit` with probability 0.3. `audit`
/// is one worker with 2 waiting places, 5 ms a visit and an error rate of 0.5, at 90
/// visits/s (utilization 0.45, so it also turns some away): nothing it does may reach the
/// request. Against the same design without the audit call (same seed: the audit call is
/// the last step, so every other call site, and every draw, is the same), the requests and
/// their latencies are identical, exactly. 60 s at 300/s: n = 18,000 requests; audit visits
/// / api visits = 0.3, sd sqrt(0.3 x 0.7 / n) = 0.0034, tolerance 0.014.
#[test]
fn fire_and_forget_loads_its_callee_and_leaves_the_caller_as_it_was() {
    let design = |audit: &str| {
        format!(
            r#"
            [scenario]
            duration = "60s"
            seed = 9
            [traffic]
            rate = 300
            [[service]]
            name = "api"
            concurrency = 4
            service_time = {{ dist = "exponential", mean = "2ms" }}
            calls = ["db"{audit}]
            [[service]]
            name = "db"
            concurrency = 2
            service_time = {{ dist = "exponential", mean = "3ms" }}
            [[service]]
            name = "audit"
            queue_capacity = 2
            service_time = {{ dist = "constant", value = "5ms" }}
            error_rate = 0.5
            "#
        )
    };
    let with = simulate(&design(
        r#", { service = "audit", fire_and_forget = true, probability = 0.3 }"#,
    ));
    let without = simulate(&design(""));
    assert_eq!(with.requests, without.requests);
    assert_eq!(with.latency, without.latency);
    assert_eq!(with.availability, 1.0);
    let (api, audit) = (service(&with, "api"), service(&with, "audit"));
    assert_eq!(api.latency, service(&without, "api").latency);
    assert_close(
        "audit visits per api visit",
        audit.requests.arrived as f64 / api.requests.arrived as f64,
        0.3,
        0.014,
    );
    assert!(audit.requests.failed > 0 && audit.requests.rejected > 0);
    assert_eq!(audit.paths.retry_amplification, 1.0);
}

/// The time series' `degraded` column adds up to the summary's count (it was always 0):
/// `api` makes an optional call that fails 1 time in 5. Arrivals stop at 9 s of a 10 s run,
/// and every request is over within milliseconds, so every request ends inside a window.
#[test]
fn the_series_degraded_column_adds_up_to_the_summary() {
    let s = Scratch::new("series-degraded");
    s.write(
        "d.toml",
        r#"
        [scenario]
        duration = "10s"
        window = "1s"
        [traffic]
        rate = 500
        steps = [{ at = "9s", rate = 0 }]
        [[service]]
        name = "api"
        concurrency = 100
        service_time = { dist = "constant", value = "1ms" }
        calls = [{ service = "extra", optional = true }]
        [[service]]
        name = "extra"
        concurrency = 100
        service_time = { dist = "constant", value = "1ms" }
        error_rate = 0.2
        "#,
    );
    let out = s.capsim(&["run", "d.toml", "--out", "report", "--format", "json"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let degraded = out.json()["requests"]["degraded"].as_u64().unwrap();
    assert!(degraded > 500, "{degraded}");
    let mut reader = csv::Reader::from_path(s.dir.join("report/timeseries.csv")).unwrap();
    let column = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "degraded")
        .unwrap();
    let summed: u64 = reader
        .records()
        .map(|r| r.unwrap()[column].parse::<u64>().unwrap())
        .sum();
    assert_eq!(summed, degraded);
}

/// `slo.degraded` bounds the share of finished requests answered degraded, judged as
/// availability is: the fallback design answers 0.1 of its requests degraded (sd 0.0012 per
/// 60,000 requests). 4 replications of 20 s (20,000 requests each, 2,000 degraded): a target
/// of 0.2 is met with confidence, 0.05 missed with confidence, and the interval holds 0.1
/// (its half-width is about 2 x 0.0012, so 0.1 within it is a 4-sd margin's worth).
#[test]
fn a_degraded_objective_is_judged_with_its_interval() {
    let design = |target: f64| {
        fallback_design(
            r#"{ service = "model", fallback = "rules" }"#,
            r#"{ dist = "constant", value = "3ms" }"#,
        )
        .replace("duration = \"60s\"", "duration = \"20s\"\nreplications = 4")
            + &format!("[slo]\ndegraded = {target}\n")
    };
    let s = simulate(&design(0.2));
    let v = &s.slo[0];
    assert_eq!(v.measure, Measure::Degraded);
    assert!(v.met && s.slo_met);
    assert_eq!(v.confidence, Some(Confidence::Met));
    let [low, high] = v.ci95.unwrap();
    assert!(low < 0.1 && 0.1 < high, "[{low}, {high}]");
    assert_eq!(v.observed, s.degraded_share);
    let s = simulate(&design(0.05));
    assert!(!s.slo[0].met && !s.slo_met);
    assert_eq!(s.slo[0].confidence, Some(Confidence::Missed));
}

/// Sweep rows carry `degraded_share` and `hit_ratio`; a plan respects `slo.degraded`. A
/// fixed-ratio cache (hit ratio 0.7) in front of the fallback design: its hit ratio over
/// 20,000 lookups has sd sqrt(0.21 / 20,000) = 0.0032 (tolerance 0.013); the misses reach
/// `model`, so the degraded share is 0.3 x 0.1 = 0.03 (sd 0.0012, tolerance 0.005). The plan
/// over the cache's replicas finds the cheapest design with a target of 0.06, and none with
/// 0.01 (the degraded objective is the only one).
#[test]
fn sweep_and_plan_rows_carry_the_degraded_share_and_the_hit_ratio() {
    let base = fallback_design(
        r#"{ service = "model", fallback = "rules" }"#,
        r#"{ dist = "constant", value = "3ms" }"#,
    )
    .replace("duration = \"60s\"", "duration = \"20s\"")
    .replace(
        "name = \"api\"\n        concurrency = 1000\n        service_time = { dist = \"constant\", value = \"1ms\" }\n        calls =",
        "name = \"api\"\n        kind = \"cache\"\n        hit_ratio = 0.7\n        price_per_hour = 1.0\n        concurrency = 1000\n        service_time = { dist = \"constant\", value = \"1ms\" }\n        on_miss =",
    );
    assert!(base.contains("on_miss"), "{base}");
    let s = Scratch::new("sweep-degraded");
    s.write("d.toml", &base);
    let out = s.capsim(&[
        "sweep",
        "d.toml",
        "--sweep",
        "service.api.replicas=1,2",
        "--out",
        "results",
        "--jobs",
        "1",
    ]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let mut reader = csv::Reader::from_path(s.dir.join("results/results.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (degraded, hit) = (at("degraded_share"), at("hit_ratio"));
    let mut rows = 0;
    for record in reader.records() {
        let record = record.unwrap();
        assert_close("hit ratio", record[hit].parse().unwrap(), 0.7, 0.013);
        assert_close(
            "degraded share",
            record[degraded].parse().unwrap(),
            0.03,
            0.005,
        );
        rows += 1;
    }
    assert_eq!(rows, 2);

    let plan = |target: f64| {
        s.write(
            "p.toml",
            &format!(
                "{base}\n[slo]\ndegraded = {target}\n[plan]\n\"service.api.replicas\" = {{ from = 1, to = 3 }}\n"
            ),
        );
        s.capsim(&["plan", "p.toml", "--format", "json", "--jobs", "1"])
    };
    let out = plan(0.06);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let best = &out.json()["best"];
    assert_eq!(best["settings"]["service.api.replicas"], 1);
    assert_close(
        "the best design's degraded share",
        best["degraded_share"].as_f64().unwrap(),
        0.03,
        0.005,
    );
    let out = plan(0.01);
    assert_eq!(out.code, Some(1), "{out:#?}");
    let json = out.json();
    assert!(json["best"].is_null(), "{json}");
    for design in json["frontier"].as_array().unwrap() {
        assert_eq!(design["slo_met"], false);
        assert!(design["degraded_share"].as_f64().unwrap() > 0.01);
    }
}

/// Exact cases with constant times and error rates of 0 or 1 (by hand, no sampling error):
/// - a chain: `a` (1 ms) calls `x`, which always fails (2 ms), falls back to `y`, which
///   always fails (3 ms), whose own fallback `z` (4 ms) answers: every request visits all
///   three once, is degraded, and takes 1 + 2 + 3 + 4 = 10 ms;
/// - a step whose fallback fails: `a` calls `x` and `y` in parallel (join all, both always
///   fail, so the step fails fast at 2 ms), its fallback `x` fails too: every request fails,
///   and `y`, still working when the step fails, is cancelled;
/// - a deadline met by optional calls: `a` calls `w` (4 ms) and `slow` (50 ms, optional) with
///   a deadline of 10 ms and join all: at 10 ms `slow` is still running and counts as a
///   degraded success, so every request succeeds, degraded, in 1 + 10 = 11 ms.
#[test]
fn fallback_chains_step_fallbacks_and_deadlines_by_hand() {
    let services = r#"
        [[service]]
        name = "x"
        concurrency = 100
        service_time = { dist = "constant", value = "2ms" }
        error_rate = 1.0
        [[service]]
        name = "y"
        concurrency = 100
        service_time = { dist = "constant", value = "3ms" }
        error_rate = 1.0
        [[service]]
        name = "z"
        concurrency = 100
        service_time = { dist = "constant", value = "4ms" }
        [[service]]
        name = "w"
        concurrency = 100
        service_time = { dist = "constant", value = "4ms" }
        [[service]]
        name = "slow"
        concurrency = 100
        service_time = { dist = "constant", value = "50ms" }
    "#;
    let run = |calls: &str| {
        simulate(&format!(
            r#"
            [scenario]
            duration = "10s"
            [traffic]
            rate = 20
            [[service]]
            name = "a"
            concurrency = 100
            service_time = {{ dist = "constant", value = "1ms" }}
            calls = [{calls}]
            {services}
            "#
        ))
    };
    let s = run(r#"{ service = "x", fallback = { service = "y", fallback = "z" } }"#);
    let n = s.requests.arrived;
    assert!(n > 150);
    assert_eq!((s.requests.succeeded, s.requests.degraded), (n, n));
    for name in ["x", "y", "z"] {
        assert_eq!(service(&s, name).requests.arrived, n, "{name}");
    }
    assert_eq!(s.latency.mean, 10.0, "the mean is exact");
    assert!(s.latency.max <= 10.0 * 1.001, "the histogram keeps 0.1%");

    let s = run(r#"{ parallel = ["x", "y"], fallback = "x" }"#);
    let n = s.requests.arrived;
    assert_eq!(s.requests.failed, n);
    assert_eq!(service(&s, "x").requests.arrived, 2 * n);
    assert_eq!(service(&s, "y").requests.cancelled, n);

    let s =
        run(r#"{ parallel = ["w", { service = "slow", optional = true }], deadline = "10ms" }"#);
    let n = s.requests.arrived;
    assert_eq!((s.requests.succeeded, s.requests.degraded), (n, n));
    assert_eq!(s.latency.mean, 11.0, "the mean is exact");
    assert!(s.latency.max <= 11.0 * 1.001, "the histogram keeps 0.1%");
    assert_eq!(service(&s, "slow").requests.cancelled, n);
}

/// A fallback taken only when its call times out has no visits by the error rates the
/// theory counts, but it is visited: `validate` must not call it never visited (and still
/// warns of a service nothing calls), and the run's theory notes must not say no traffic
/// reaches it (they said so of the fraud design's rules engine, 5,705 visits).
#[test]
fn a_fallback_reached_only_by_timeouts_is_not_called_unvisited() {
    let s = Scratch::new("fallback-warning");
    let text = fallback_design(
        r#"{ service = "model", timeout = "5ms", fallback = "rules" }"#,
        r#"{ dist = "exponential", mean = "5ms" }"#,
    )
    .replace("error_rate = 0.2", "error_rate = 0")
        + "[[service]]\nname = \"orphan\"\nservice_time = { dist = \"constant\", value = \"1ms\" }\n";
    s.write("w.toml", &text);
    let out = s.capsim(&["validate", "w.toml"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(
        !out.stderr.contains("\"rules\" is never visited"),
        "{out:#?}"
    );
    assert!(
        out.stderr.contains("\"orphan\" is never visited"),
        "{out:#?}"
    );
    let out = s.capsim(&["run", "w.toml"]);
    assert!(
        out.stdout
            .contains("rules: reached only as a fallback taken on timeouts or a deadline"),
        "{out:#?}"
    );
    assert!(
        out.stdout
            .contains("orphan: no traffic reaches this service"),
        "{out:#?}"
    );
}
