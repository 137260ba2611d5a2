//! The summary's derived figures against hand calculations: availability, throughput, cost,
//! SLO verdicts, confidence intervals, and the JSON keys docs/contract.md fixes.

use crate::support::simulate;
use capsim::metrics::summary::Confidence;
use capsim::scenario::model::Measure;

/// 200 requests/s for 1 h with 6 min of warmup, three replications, an error rate of 10% at
/// the backend, prices 3 x $0.50 + 1 x $2.00 = $3.50 per hour.
const SCENARIO: &str = r#"
    [scenario]
    duration = "1h"
    warmup = "6m"
    replications = 3
    [slo]
    availability = 0.95
    p99 = "1s"
    [traffic]
    rate = 200
    [[service]]
    name = "api"
    replicas = 3
    concurrency = 4
    service_time = { dist = "exponential", mean = "2ms" }
    calls = ["backend"]
    price_per_hour = 0.5
    [[service]]
    name = "backend"
    concurrency = 8
    error_rate = 0.1
    service_time = { dist = "constant", value = "5ms" }
    price_per_hour = 2.0
"#;

#[test]
fn availability_throughput_and_cost_follow_from_the_counts() {
    let s = simulate(SCENARIO);
    let r = s.requests;
    // Every arrival ends exactly one way; only the backend's errors fail requests.
    assert_eq!(r.arrived, r.succeeded + r.failed);
    assert_eq!(r.rejected + r.timed_out, 0);
    // 3 replications x 200/s x 3240 s = 1.94e6 arrivals: sd of the error share is
    // sqrt(0.09 / 1.94e6) = 0.022%, so 0.9 within 0.1% absolute is 4.6 sd.
    assert!(
        (s.availability - 0.9).abs() < 0.001,
        "availability {}",
        s.availability
    );
    assert_eq!(s.availability, r.succeeded as f64 / r.arrived as f64);
    // Throughput counts succeeded requests per measured second, per replication.
    let window_s = 3600.0 - 360.0;
    assert_eq!(s.throughput_rps, r.succeeded as f64 / (3.0 * window_s));
    // Cost by hand: $3.50 an hour, 1 hour simulated.
    assert!((s.cost.per_hour_usd - 3.5).abs() < 1e-12);
    assert!((s.cost.total_usd - 3.5).abs() < 1e-12);
    let per_million = 3.5 / (s.throughput_rps * 3600.0) * 1e6;
    assert!((s.cost.per_million_requests_usd - per_million).abs() < 1e-9);
    // Each service's own price times replicas.
    assert_eq!(s.services[0].cost_per_hour_usd, 1.5);
    assert_eq!(s.services[1].cost_per_hour_usd, 2.0);
}

#[test]
fn slo_verdicts_compare_observed_with_target_and_carry_intervals() {
    let s = simulate(SCENARIO);
    let availability = s
        .slo
        .iter()
        .find(|v| v.measure == Measure::Availability)
        .unwrap();
    assert_eq!(availability.target, 0.95);
    assert!(!availability.met, "0.9 observed misses 0.95");
    let p99 = s.slo.iter().find(|v| v.measure == Measure::P99).unwrap();
    assert_eq!(p99.target, 1000.0, "targets are reported in milliseconds");
    assert_eq!(p99.observed, s.latency.p99);
    assert!(p99.met, "p99 {} ms is far below 1 s", s.latency.p99);
    assert!(!s.slo_met);
    // Three replications: each verdict has a 95% interval that contains its pooled figure
    // (the pooled p99 need not be the mean of the replications' p99s, but it lies close).
    let [low, high] = p99.ci95.expect("replications > 1 give intervals");
    assert!(low <= high);
    let [low, high] = availability.ci95.unwrap();
    assert!(low < 0.9 + 0.001 && high > 0.9 - 0.001, "[{low}, {high}]");
    let ci = s.ci95.as_ref().expect("replications > 1 give intervals");
    assert!(ci.throughput_rps[0] <= s.throughput_rps && s.throughput_rps <= ci.throughput_rps[1]);
}

#[test]
fn json_summary_has_every_key_spec_md_fixes() {
    let model = capsim::scenario::load(SCENARIO, "checkout.toml", &[]).unwrap();
    let text = capsim::report::json::render(&capsim::sweep::run(&model));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    for key in [
        "scenario",
        "seed",
        "replications",
        "duration_s",
        "warmup_s",
        "requests",
        "throughput_rps",
        "availability",
        "latency_ms",
        "cost",
        "services",
        "slo",
        "slo_met",
        "ci95",
    ] {
        assert!(json.get(key).is_some(), "missing top-level `{key}`");
    }
    assert_eq!(
        json["scenario"], "checkout",
        "the file stem names an unnamed scenario"
    );
    assert_eq!(json["duration_s"], 3600.0);
    for key in ["arrived", "succeeded", "failed", "rejected", "timed_out"] {
        assert!(json["requests"][key].is_u64(), "requests.{key}");
    }
    for key in ["mean", "p50", "p90", "p95", "p99", "p999", "max"] {
        assert!(json["latency_ms"][key].is_f64(), "latency_ms.{key}");
        // The maximum has no interval: the largest of n draws grows with n.
        let interval = &json["ci95"]["latency_ms"][key];
        assert!(
            interval.is_array() || (key == "max" && interval.is_null()),
            "ci95.latency_ms.{key}"
        );
    }
    // The distribution for plots: [q, ms] pairs from the minimum to the maximum, agreeing
    // with the percentiles (both read the same histogram).
    let cdf = json["latency_cdf_ms"].as_array().expect("latency_cdf_ms");
    assert!(cdf.len() > 100, "a few hundred points: {}", cdf.len());
    let point = |p: &serde_json::Value| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
    assert_eq!(point(&cdf[0]).0, 0.0);
    assert_eq!(
        point(cdf.last().unwrap()),
        (1.0, json["latency_ms"]["max"].as_f64().unwrap())
    );
    let p99 = cdf
        .iter()
        .map(point)
        .find(|p| p.0 == 0.99)
        .expect("a point at q = 0.99");
    assert_eq!(p99.1, json["latency_ms"]["p99"].as_f64().unwrap());
    assert!(json["classes"]["default"]["latency_cdf_ms"].is_array());
    for key in ["total_usd", "per_hour_usd", "per_million_requests_usd"] {
        assert!(json["cost"][key].is_f64(), "cost.{key}");
    }
    let api = &json["services"]["api"];
    for key in [
        "requests",
        "latency_ms",
        "queue_wait_ms",
        "utilization",
        "mean_replicas",
    ] {
        assert!(api.get(key).is_some(), "services.api.{key}");
    }
    assert!(
        api.get("hit_ratio").is_none(),
        "hit_ratio is for caches only"
    );
    assert_eq!(api["mean_replicas"], 3.0);
    let slo = &json["slo"][0];
    for key in ["objective", "target", "observed", "met"] {
        assert!(slo.get(key).is_some(), "slo[0].{key}");
    }
    assert_eq!(json["slo_met"], false);
}

/// The 95% intervals of the mean and of p99 cover the truth at least 93% of the time, on
/// replications short enough that the old symmetric p99 interval did not (issue 13). M/M/1 at
/// rho 0.8 (lambda 0.8, mu 1 per ms): the sojourn time is exponential with rate mu - lambda,
/// so its mean is 1 / (mu - lambda) = 5 ms and its p99 ln(100) x 5 = 23.03 ms. 800 seeds,
/// each 10 replications of 10,000 requests (12.5 s at 800/s after 2 s of warm-up, about 100
/// beyond the p99: the least that is not `thin`), 93 million requests in all (about 13 s of
/// CPU in release).
///
/// At a true coverage of 95% the count of covering seeds is binomial(800, 0.95): mean 760,
/// sd 6.2 (0.77 points); the floor 744 (93%) is 2.6 sd below it. The floor is meaningful:
/// the t-interval of the replications' own p99s, which capsim used before, covered 733 of
/// these same 800 seeds (91.6%; 91.9% over 2,000 seeds), missing above 62 times and below 5.
/// The interval of [`percentile_interval`] covered 759 (94.9%), and the mean's t-interval
/// 760 (95.0%). The seeds are fixed, so the test is deterministic; a change of the random
/// streams redraws the counts, and then an interval that truly covers 95% falls under the
/// floor with probability about 0.5% (mean) and 1% (p99, which covers 94.5% over 2,000
/// seeds). Each interval contains the figure printed with it, by construction.
///
/// [`percentile_interval`]: capsim::metrics::summary::percentile_interval
#[test]
fn intervals_of_mean_and_p99_cover_the_truth_at_least_93_percent_of_the_time() {
    let truth_mean = 5.0;
    let truth_p99 = 100f64.ln() * 5.0;
    let (mut mean_covered, mut p99_covered) = (0, 0);
    let seeds = 800;
    for seed in 0..seeds {
        let s = simulate(&format!(
            r#"
            [scenario]
            duration = "14500ms"
            warmup = "2s"
            seed = {seed}
            replications = 10
            [traffic]
            rate = 800
            [[service]]
            name = "server"
            service_time = {{ dist = "exponential", mean = "1ms" }}
            "#
        ));
        let ci = s.ci95.as_ref().expect("10 replications give intervals");
        let [low, high] = ci.latency.mean;
        assert!(low <= s.latency.mean && s.latency.mean <= high);
        mean_covered += u32::from(low <= truth_mean && truth_mean <= high);
        let [low, high] = ci.latency.p99;
        assert!(low <= s.latency.p99 && s.latency.p99 <= high);
        p99_covered += u32::from(low <= truth_p99 && truth_p99 <= high);
    }
    eprintln!("intervals covered the truth: mean {mean_covered}, p99 {p99_covered} of {seeds}");
    let floor = 744; // 93% of 800
    assert!(
        mean_covered >= floor,
        "mean covered {mean_covered} of {seeds}"
    );
    assert!(p99_covered >= floor, "p99 covered {p99_covered} of {seeds}");
}

/// Short replications (about 800 requests, 8 beyond the p99) cannot give a p99 interval that
/// means anything: the summary says so, and a p99 verdict is not judged "with confidence".
#[test]
fn short_replications_get_a_warning_instead_of_a_confident_verdict() {
    let s = simulate(
        r#"
        [scenario]
        duration = "2s"
        warmup = "1s"
        replications = 10
        [slo]
        p99 = "100ms"
        [traffic]
        rate = 800
        [[service]]
        name = "server"
        service_time = { dist = "exponential", mean = "1ms" }
        "#,
    );
    let ci = s.ci95.as_ref().unwrap();
    assert!(ci.thin.contains(&Measure::P99) && ci.thin.contains(&Measure::P999));
    assert!(!ci.thin.contains(&Measure::P50));
    let p99 = &s.slo[0];
    assert!(p99.met, "23 ms is far under 100 ms");
    assert_eq!(p99.confidence, Some(Confidence::Unsure));
    assert!(p99.thin, "unsure because thin, not because close");
    let table = capsim::report::text::table(&s);
    assert!(
        table.contains("too few requests per replication beyond") && table.contains("p99.9 (fewer"),
        "{table}"
    );
    assert!(
        table.contains("too few requests in the tail to judge") && !table.contains("too close"),
        "{table}"
    );
    let json = capsim::report::json::render(&capsim::metrics::summary::Outcome::Completed(
        Box::new(s.clone()),
    ));
    assert!(json.contains(r#""thin": true"#), "{json}");
}

/// 3 replications of 1,000 requests (100/s for 10 s) at one server failing `error_rate` of
/// its requests, with `slo` in `[slo]`.
fn thousand_requests(seed: u64, error_rate: f64, slo: &str) -> capsim::metrics::summary::Summary {
    simulate(&thousand_requests_toml(seed, error_rate, slo))
}

/// The scenario of [`thousand_requests`].
fn thousand_requests_toml(seed: u64, error_rate: f64, slo: &str) -> String {
    format!(
        r#"
        [scenario]
        duration = "11s"
        warmup = "1s"
        seed = {seed}
        replications = 3
        [slo]
        {slo}
        [traffic]
        rate = 100
        [[service]]
        name = "server"
        error_rate = {error_rate}
        service_time = {{ dist = "exponential", mean = "1ms" }}
        "#
    )
}

/// A 99.99% target needs about 3 / 0.0001 = 30,000 finished requests per replication to be
/// judged (see `MIN_FAILURES_TO_JUDGE`): at 1,000 requests a true availability of 99.95%
/// (0.5 failures expected per replication) shows no failure at all in 61% of replications,
/// and a replication set without failures used to give [100%, 100%] "met with confidence".
/// Now the verdict is unsure and thin on every seed, and its interval lies within [0, 1].
#[test]
fn an_availability_target_too_fine_for_the_requests_is_unsure_on_every_seed() {
    for seed in 0..20 {
        let s = thousand_requests(seed, 0.0005, "availability = 0.9999");
        let v = &s.slo[0];
        assert_eq!(v.confidence, Some(Confidence::Unsure), "seed {seed}: {v:?}");
        assert!(
            v.thin,
            "seed {seed}: too few requests, not too close: {v:?}"
        );
        let [low, high] = v.ci95.unwrap();
        assert!(0.0 <= low && low <= v.observed && v.observed <= high && high <= 1.0);
        assert!(
            low < 1.0,
            "seed {seed}: 3,000 requests cannot show a failure ratio of 0"
        );
        let table = capsim::report::text::table(&s);
        assert!(
            table.contains("too few requests to judge") && !table.contains("in the tail"),
            "{table}"
        );
    }
}

/// With failures the interval stays within [0, 1] (the t-interval across 3 replications of
/// 1,000 requests at 0.3% errors reached past 100%), and holds the pooled figure.
#[test]
fn availability_intervals_stay_within_0_and_1() {
    for seed in 0..10 {
        let s = thousand_requests(seed, 0.003, "");
        let [low, high] = s.ci95.as_ref().unwrap().availability;
        assert!(
            0.0 <= low && low <= s.availability && s.availability <= high && high <= 1.0,
            "seed {seed}: [{low}, {high}] around {}",
            s.availability
        );
    }
}

/// No failure among plenty of requests (3 replications of about 3,000, ten times the
/// 3 / (1 - 0.99) needed to judge a 99% target): the interval is Wilson's for 0 failures of
/// n, [n / (n + 1.96^2), 1], below 100% and above 99%, so the target is met with confidence.
#[test]
fn a_flawless_run_long_enough_is_met_with_confidence_and_its_interval_is_below_1() {
    let s = simulate(
        r#"
        [scenario]
        duration = "31s"
        warmup = "1s"
        replications = 3
        [slo]
        availability = 0.99
        [traffic]
        rate = 100
        [[service]]
        name = "server"
        service_time = { dist = "exponential", mean = "1ms" }
        "#,
    );
    let v = &s.slo[0];
    let n = s.requests.succeeded as f64;
    assert_eq!(s.requests.failed, 0);
    let z = 1.959_963_985f64;
    let [low, high] = v.ci95.unwrap();
    assert!(
        (low - n / (n + z * z)).abs() < 1e-9 && high == 1.0,
        "[{low}, {high}]"
    );
    assert!(low > 0.99 && low < 1.0);
    assert_eq!(v.confidence, Some(Confidence::Met));
    assert!(!v.thin);
}

/// `capsim plan` respects a thin availability verdict: 1,000 requests per replication
/// cannot judge 99.99% (flawless replications included: no error here), so no design is
/// feasible, none gets more replications (they would not help), and each is noted thin.
#[test]
fn plan_counts_an_availability_target_too_fine_to_judge_as_not_met() {
    use capsim::sweep::plan::{self, Evidence, Options};
    let text = thousand_requests_toml(1, 0.0, "availability = 0.9999")
        + "[plan]\n\"service.server.replicas\" = { from = 1, to = 2 }\n";
    let mut source = capsim::scenario::Source::parse(&text, "thin.toml").unwrap();
    source.set(&[]);
    source.model().unwrap_or_else(|e| panic!("{e}"));
    let grid = capsim::sweep::grid::Grid::new(source.axes("plan"));
    let load = |c: &[usize]| source.point(&grid.settings_at(c));
    let options = Options {
        replications: 3,
        max_replications: 24,
    };
    let result = plan::search(&grid, &load, options).unwrap();
    assert!(result.best.is_none(), "nothing can be judged met");
    assert!(!result.evaluated.is_empty());
    for design in &result.evaluated {
        assert!(!design.feasible);
        match &design.evidence {
            Evidence::Simulated { summary, thin, .. } => {
                assert!(*thin, "{:?}", summary.slo);
                assert_eq!(
                    summary.replications, 3,
                    "no more replications for a thin verdict"
                );
                assert_eq!(summary.availability, 1.0);
            }
            other => panic!("simulated, not {other:?}"),
        }
    }
}

/// Every money input at the most validation accepts, and what multiplies them near theirs:
/// a replica-hour and a request at 10^6 USD, a million replicas, regions at 10^3 times the
/// price, fixed items of 10^12 USD a month, 10^6 USD a GB between regions for payloads of a
/// terabyte (failed over by a region outage). `{money}` is replaced by `1` for the same run
/// at ordinary prices.
const LARGEST_MONEY: &str = r#"[scenario]
name = "max"
duration = "20ms"
seed = 1

[traffic]
rate = 100000
payload_kb = {kb}

[[region]]
name = "us"
price_factor = {factor}
[[region]]
name = "eu"
price_factor = {factor}

[network]
bandwidth_mbps = 1e9

[[fault]]
kind = "region_outage"
target = "eu"
at = "1ms"
duration = "10ms"

[cost]
fixed_monthly = { support = {monthly}, licences = {monthly} }
per_gb_cross_region = {price}

[[service]]
name = "api"
regions = { us = 2, eu = 2 }
service_time = { dist = "exponential", mean = "1us" }
price_per_hour = {price}
price_per_request = {price}
calls = ["db"]

[[service]]
name = "db"
replicas = 1000000
service_time = { dist = "exponential", mean = "1us" }
price_per_hour = {price}
price_per_request = {price}
spot_discount = 0
"#;

/// The key paths of `null` in a JSON value (serde_json writes a non-finite number as `null`).
fn null_paths(value: &serde_json::Value, path: String, found: &mut Vec<String>) {
    match value {
        serde_json::Value::Null => found.push(path),
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                null_paths(v, format!("{path}.{key}"), found);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                null_paths(v, format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}

/// Issue 17: `price_per_hour = 1e308` ran and printed `$inf a month` and `null` in
/// summary.json. With every money input bounded (docs/scenario-reference.md), the largest
/// accepted values give finite figures everywhere: summary.json holds `null` exactly where
/// the same run at prices of 1 does (where a figure does not exist, such as a service's
/// theory), and no text output says `inf` or `NaN`. The month's bill is 4.6e17 USD (requests
/// at 10^6 USD each, up to 100,000 a second at each service: at most 7.2e14 USD an hour x 730 h; the
/// replicas add 10^12 USD an hour), and every cost figure is a number.
#[test]
fn the_largest_accepted_prices_give_finite_figures() {
    use crate::support::Scratch;
    let s = Scratch::new("largest-money");
    let run = |name: &str, price: &str, monthly: &str, factor: &str, kb: &str| {
        let text = LARGEST_MONEY
            .replace("{price}", price)
            .replace("{monthly}", monthly)
            .replace("{factor}", factor)
            .replace("{kb}", kb);
        s.write(&format!("{name}.toml"), &text);
        let out = s.capsim(&["run", &format!("{name}.toml"), "--out", name]);
        assert_eq!(out.code, Some(0), "{out:#?}");
        let read = |f: &str| std::fs::read_to_string(s.dir.join(name).join(f)).unwrap();
        let json: serde_json::Value = serde_json::from_str(&read("summary.json")).unwrap();
        let mut nulls = Vec::new();
        null_paths(&json, String::new(), &mut nulls);
        let texts = [out.stdout, read("summary.md"), read("timeseries.csv")];
        (json, nulls, texts)
    };
    let (json, nulls, texts) = run("largest", "1e6", "1e12", "1e3", "1e9");
    let (_, ordinary_nulls, _) = run("ordinary", "1", "1", "1", "1");
    assert_eq!(
        nulls, ordinary_nulls,
        "null only where a figure does not exist"
    );
    for text in &texts {
        for word in ["inf", "NaN"] {
            assert!(!text.contains(word), "{word} in:\n{text}");
        }
    }
    let month = json["cost"]["per_month_usd"].as_f64().expect("a number");
    assert!(month > 4e17 && month.is_finite(), "per month {month}");
    for key in ["total_usd", "per_hour_usd", "per_million_requests_usd"] {
        assert!(
            json["cost"][key].as_f64().is_some_and(f64::is_finite),
            "{key}"
        );
    }
}
