//! Distributions: every family's draws match its parameters (checked against formulas written
//! out here, not only against `mean_ns()`), every parsing mistake is reported with its key
//! path, and any valid parameters sample inside the support without panicking.
//!
//! Sampling tolerances: each check states N, the standard error of the estimate it makes, and
//! a tolerance of at least 4.5 standard errors. The streams are seeded, so the outcome is
//! fixed; the margin says the fixed outcome is not a lucky one.

use capsim::distribution::Distribution;
use capsim::engine::rng::stream;
use capsim::scenario::distribution::{parse as parse_distribution, percentile_key_q};
use capsim::scenario::problem::Problem;
use proptest::prelude::*;

const MS: f64 = 1e6;
const PATH: &str = "service.api.service_time";

fn value_of(text: &str) -> toml::Value {
    let table: toml::Table = toml::from_str(&format!("service_time = {text}"))
        .unwrap_or_else(|error| panic!("bad toml in test {text}: {error}"));
    table["service_time"].clone()
}

fn dist(text: &str) -> Distribution {
    let mut problems = Vec::new();
    let parsed = parse_distribution(&value_of(text), PATH, &mut problems);
    assert!(problems.is_empty(), "{text}: {problems:#?}");
    parsed.expect("no problems, so a distribution")
}

/// `n` draws from the test stream, as f64 nanoseconds.
fn draws(dist: &Distribution, n: usize) -> Vec<f64> {
    let mut rng = stream(1, 0, "test", "dist");
    (0..n).map(|_| dist.sample_ns(&mut rng) as f64).collect()
}

fn sorted(mut draws: Vec<f64>) -> Vec<f64> {
    draws.sort_by(f64::total_cmp);
    draws
}

/// The empirical q-quantile of sorted draws.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn mean(draws: &[f64]) -> f64 {
    draws.iter().sum::<f64>() / draws.len() as f64
}

fn mean_square(draws: &[f64]) -> f64 {
    draws.iter().map(|x| x * x).sum::<f64>() / draws.len() as f64
}

fn fraction(draws: &[f64], keep: impl Fn(f64) -> bool) -> f64 {
    draws.iter().filter(|&&x| keep(x)).count() as f64 / draws.len() as f64
}

#[track_caller]
fn assert_rel(what: &str, actual: f64, expected: f64, tolerance: f64) {
    let error = (actual / expected - 1.0).abs();
    assert!(
        error <= tolerance,
        "{what}: got {actual}, expected {expected} (relative error {error:.5}, tolerance {tolerance})"
    );
}

#[track_caller]
fn assert_abs(what: &str, actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: got {actual}, expected {expected} (tolerance {tolerance})"
    );
}

/// Checks the analytic moments against the hand formula (to rounding) and the sample
/// moments against the same formula (to the stated sampling tolerances).
#[track_caller]
fn check_moments(
    dist: &Distribution,
    draws: &[f64],
    mean_ns: (f64, f64),
    second_moment_ns2: Option<(f64, f64)>,
) {
    let name = dist.describe();
    assert_rel(
        &format!("{name} mean_ns()"),
        dist.mean_ns(),
        mean_ns.0,
        1e-9,
    );
    assert_rel(
        &format!("{name} sample mean"),
        mean(draws),
        mean_ns.0,
        mean_ns.1,
    );
    if let Some((second_ns2, tolerance)) = second_moment_ns2 {
        assert_rel(
            &format!("{name} second_moment_ns2()"),
            dist.second_moment_ns2(),
            second_ns2,
            1e-9,
        );
        assert_rel(
            &format!("{name} sample second moment"),
            mean_square(draws),
            second_ns2,
            tolerance,
        );
    }
}

// ---------------------------------------------------------------------------------------
// Every distribution's samples match its parameters.
// ---------------------------------------------------------------------------------------

#[test]
fn constant_draws_are_exactly_the_value() {
    let d = dist(r#"{ dist = "constant", value = "4ms" }"#);
    assert!(draws(&d, 1000).iter().all(|&x| x == 4.0 * MS));
    assert_eq!(d.mean_ns(), 4.0 * MS);
    assert_eq!(d.second_moment_ns2(), 16.0 * MS * MS);
    assert!(d.is_constant() && !d.is_exponential());
    assert_eq!(d.describe(), "constant(4ms)");
}

#[test]
fn exponential_samples_match_mean_median_and_second_moment() {
    let d = dist(r#"{ dist = "exponential", mean = "2ms" }"#);
    assert!(d.is_exponential() && !d.is_constant());
    // N = 1e6. Mean: cv = 1, relative SE = 1/sqrt(N) = 0.1%, tolerance 1%.
    // E[X^2] = 2 mean^2 = 8 ms^2; relative SE = sqrt(E[X^4]/E[X^2]^2 - 1)/sqrt(N)
    // = sqrt(24/4 - 1)/1000 = 0.22%, tolerance 2%.
    let x = draws(&d, 1_000_000);
    check_moments(&d, &x, (2.0 * MS, 0.01), Some((8.0 * MS * MS, 0.02)));
    // Median = mean ln 2 = 1.386ms; relative SE = sqrt(0.25/N) / (f(m) m) = 0.0005/(0.5 ln 2)
    // = 0.14%, tolerance 1%.
    let x = sorted(x);
    assert_rel("median", quantile(&x, 0.5), 2.0 * MS * 2f64.ln(), 0.01);
}

#[test]
fn uniform_samples_stay_in_range_and_match_moments() {
    let d = dist(r#"{ dist = "uniform", min = "1ms", max = "5ms" }"#);
    // N = 1e6. Mean 3ms, sd 4/sqrt(12) = 1.155ms, cv 0.385: relative SE 0.04%, tolerance 0.5%.
    // E[X^2] = (1 + 5 + 25)/3 ms^2 = 10.33 ms^2; its relative SE < 0.1%, tolerance 0.5%.
    let x = draws(&d, 1_000_000);
    assert!(x.iter().all(|&v| (1.0 * MS..=5.0 * MS).contains(&v)));
    check_moments(
        &d,
        &x,
        (3.0 * MS, 0.005),
        Some((31.0 / 3.0 * MS * MS, 0.005)),
    );
}

#[test]
fn normal_is_cut_at_zero_and_its_moments_are_those_of_the_cut_variable() {
    // Mean 1ms, stddev 2ms: a = mean/stddev = 0.5, Phi(0.5) = 0.6914624613,
    // phi(0.5) = 0.3520653268 (tables). E[max(0,X)] = mean Phi(a) + sd phi(a) = 1.3955931149ms;
    // E[max(0,X)^2] = (mean^2 + sd^2) Phi(a) + mean sd phi(a) = 4.1614429601 ms^2.
    let d = dist(r#"{ dist = "normal", mean = "1ms", stddev = "2ms" }"#);
    assert_eq!(d.describe(), "normal(mean 1ms, stddev 2ms, cut at 0)");
    // N = 1e6. cv of the cut variable = sqrt(4.1614 - 1.3956^2)/1.3956 = 1.07: relative SE of
    // the mean 0.11%, tolerance 1%; second moment relative SE ~0.2%, tolerance 2%.
    let x = draws(&d, 1_000_000);
    check_moments(
        &d,
        &x,
        (1.395_593_114_9 * MS, 0.01),
        Some((4.161_442_960_1 * MS * MS, 0.02)),
    );
    // The cut: P(X < 0) = Phi(-0.5) = 0.3085375387 of the draws are exactly 0 (SE 0.00046,
    // tolerance 0.005); none is negative, which a u64 could not hold anyway.
    assert_abs(
        "fraction at 0",
        fraction(&x, |v| v == 0.0),
        0.308_537_538_7,
        0.005,
    );

    // Mean 10ms, stddev 4ms: a = 2.5, Phi(2.5) = 0.9937903347, phi(2.5) = 0.0175283005.
    // E = 10.0080165488ms, E[.^2] = 116 * 0.9937903347 + 40 * 0.0175283005 = 115.9808108 ms^2.
    // N = 1e6, cv ~ 0.4: relative SE ~0.04%, tolerance 0.5%.
    let d = dist(r#"{ dist = "normal", mean = "10ms", stddev = "4ms" }"#);
    let x = draws(&d, 1_000_000);
    check_moments(
        &d,
        &x,
        (10.008_016_548_8 * MS, 0.005),
        Some((115.980_810_85 * MS * MS, 0.005)),
    );
}

#[test]
fn lognormal_from_median_and_p99_round_trips_both() {
    let d = dist(r#"{ dist = "lognormal", median = "4ms", p99 = "30ms" }"#);
    assert_eq!(d.describe(), "lognormal(median 4ms, p99 30ms)");
    // sigma = ln(30/4) / z_0.99 = 2.0149030205 / 2.3263478740 = 0.8661; mean = median
    // exp(sigma^2/2) = 5.8204ms; E[X^2] = median^2 exp(2 sigma^2) = 71.77 ms^2.
    let sigma = (30.0f64 / 4.0).ln() / 2.326_347_874_040_840_8;
    let mean_ns = 4.0 * MS * (sigma * sigma / 2.0).exp();
    let second_ns2 = 16.0 * MS * MS * (2.0 * sigma * sigma).exp();
    assert_rel("mean by hand", mean_ns, 5.8204 * MS, 1e-4);
    // N = 2e6. Mean: cv = sqrt(exp(sigma^2) - 1) = 1.057, relative SE 0.075%, tolerance 1%.
    // E[X^2]: relative SE = sqrt(exp(4 sigma^2) - 1)/sqrt(N) = 0.31%, tolerance 2%.
    let x = draws(&d, 2_000_000);
    check_moments(&d, &x, (mean_ns, 0.01), Some((second_ns2, 0.02)));
    // Quantile relative SE = sqrt(q(1-q)/N) sigma / phi(z_q): median 0.077%, p99 0.23%;
    // tolerances 1% and 2%.
    let x = sorted(x);
    assert_rel("median", quantile(&x, 0.5), 4.0 * MS, 0.01);
    assert_rel("p99", quantile(&x, 0.99), 30.0 * MS, 0.02);
}

#[test]
fn lognormal_from_mean_and_cv_matches_mean_and_median() {
    let d = dist(r#"{ dist = "lognormal", mean = "5ms", cv = 1.5 }"#);
    // sigma^2 = ln(1 + 1.5^2) = ln 3.25 = 1.1787; median = mean / sqrt(1 + cv^2)
    // = 5ms / 1.80278 = 2.7735ms; E[X^2] = mean^2 (1 + cv^2) = 81.25 ms^2.
    // N = 2e6. Mean: relative SE = cv/sqrt(N) = 0.11%, tolerance 1%. E[X^2]: relative SE =
    // sqrt(exp(4 sigma^2) - 1)/sqrt(N) = sqrt(110.6)/1414 = 0.74%, tolerance 5%.
    let x = draws(&d, 2_000_000);
    check_moments(&d, &x, (5.0 * MS, 0.01), Some((81.25 * MS * MS, 0.05)));
    // Median relative SE = sqrt(0.25/N) sigma / phi(0) = 0.096%, tolerance 1%.
    let x = sorted(x);
    assert_rel("median", quantile(&x, 0.5), 5.0 * MS / 3.25f64.sqrt(), 0.01);
}

#[test]
fn gamma_samples_match_mean_and_cv_for_large_and_small_shapes() {
    // cv 0.5 is shape 4: E[X^2] = mean^2 (1 + cv^2) = 31.25 ms^2. N = 1e6; mean relative SE
    // 0.05%, tolerance 0.5%; E[X^2] relative SE = sqrt((k+2)(k+3)/(k(k+1)) - 1)/sqrt(N)
    // = 0.1%, tolerance 1%.
    let d = dist(r#"{ dist = "gamma", mean = "5ms", cv = 0.5 }"#);
    let x = draws(&d, 1_000_000);
    check_moments(&d, &x, (5.0 * MS, 0.005), Some((31.25 * MS * MS, 0.01)));

    // cv 2 is shape 0.25 (rand_distr's small-shape path): E[X^2] = 25 * 5 = 125 ms^2. N = 1e6;
    // mean relative SE 0.2%, tolerance 2%; E[X^2] relative SE = sqrt(23.4 - 1)/1000 = 0.47%,
    // tolerance 3%.
    let d = dist(r#"{ dist = "gamma", mean = "5ms", cv = 2 }"#);
    let x = draws(&d, 1_000_000);
    check_moments(&d, &x, (5.0 * MS, 0.02), Some((125.0 * MS * MS, 0.03)));

    assert!(dist(r#"{ dist = "gamma", mean = "5ms", cv = 1 }"#).is_exponential());
}

#[test]
fn erlang_samples_match_mean_variance_and_cdf() {
    let d = dist(r#"{ dist = "erlang", k = 4, mean = "8ms" }"#);
    // Four phases of 2ms: E[X^2] = mean^2 (1 + 1/k) = 80 ms^2. N = 1e6, cv 0.5: mean relative
    // SE 0.05%, tolerance 0.5%; E[X^2] relative SE 0.1%, tolerance 1%.
    let x = draws(&d, 1_000_000);
    check_moments(&d, &x, (8.0 * MS, 0.005), Some((80.0 * MS * MS, 0.01)));
    // P(X <= mean) = 1 - e^-4 (1 + 4 + 8 + 32/3) = 0.5665298796; SE 0.0005, tolerance 0.005.
    assert_abs(
        "P(X <= mean)",
        fraction(&x, |v| v <= 8.0 * MS),
        0.566_529_879_6,
        0.005,
    );
    assert!(dist(r#"{ dist = "erlang", k = 1, mean = "8ms" }"#).is_exponential());
}

#[test]
fn weibull_samples_match_gamma_function_moments_and_median() {
    let d = dist(r#"{ dist = "weibull", shape = 1.5, scale = "10ms" }"#);
    // Gamma(1 + 1/1.5) = Gamma(5/3) = (2/3) Gamma(2/3) = 0.9027452929509336 and
    // Gamma(1 + 2/1.5) = Gamma(7/3) = (4/9) Gamma(1/3) = 1.190639348758999, so the mean is
    // 9.0274529ms and E[X^2] = 119.0639349 ms^2; cv = 0.679.
    // N = 1e6: mean relative SE 0.068%, tolerance 0.5%; E[X^2] relative SE ~0.2%, tolerance 1%.
    let x = draws(&d, 1_000_000);
    check_moments(
        &d,
        &x,
        (9.027_452_929_509_336 * MS, 0.005),
        Some((119.063_934_875_899_9 * MS * MS, 0.01)),
    );
    // Median = scale (ln 2)^(1/shape) = 7.8321ms; relative SE ~0.1%, tolerance 1%.
    let x = sorted(x);
    assert_rel(
        "median",
        quantile(&x, 0.5),
        10.0 * MS * 2f64.ln().powf(1.0 / 1.5),
        0.01,
    );
}

#[test]
fn pareto_samples_start_at_scale_and_match_mean_and_median() {
    let d = dist(r#"{ dist = "pareto", scale = "1ms", shape = 3 }"#);
    // Mean = shape scale/(shape - 1) = 1.5ms, E[X^2] = shape scale^2/(shape - 2) = 3 ms^2 (its
    // estimator has infinite variance at shape 3, so only the analytic value is checked).
    // N = 1e6, cv = sqrt(3 - 2.25)/1.5 = 0.577: mean relative SE 0.058%, tolerance 0.5%.
    let x = draws(&d, 1_000_000);
    check_moments(&d, &x, (1.5 * MS, 0.005), None);
    assert_rel("second moment", d.second_moment_ns2(), 3.0 * MS * MS, 1e-12);
    let x = sorted(x);
    assert!(x[0] >= 1.0 * MS);
    // Median = scale 2^(1/shape) = 1.259921ms; relative SE ~0.06%, tolerance 1%.
    assert_rel("median", quantile(&x, 0.5), 2f64.powf(1.0 / 3.0) * MS, 0.01);

    // Shape 1.5: finite mean 3ms, infinite second moment; median 2^(1/1.5) ms = 1.5874ms.
    let d = dist(r#"{ dist = "pareto", scale = "1ms", shape = 1.5 }"#);
    assert_rel("mean", d.mean_ns(), 3.0 * MS, 1e-12);
    assert_eq!(d.second_moment_ns2(), f64::INFINITY);
    let x = sorted(draws(&d, 1_000_000));
    assert_rel("median", quantile(&x, 0.5), 2f64.powf(1.0 / 1.5) * MS, 0.01);
}

#[test]
fn empirical_percentiles_round_trip_and_moments_integrate_the_curve() {
    let d = dist(r#"{ dist = "empirical", p50 = "10ms", p90 = "20ms", p99 = "50ms" }"#);
    // Knots (0, 0) (0.5, 10) (0.9, 20) (0.99, 50) and, extending the last slope 30ms/0.09,
    // (1, 53.333). Mean = 0.5*5 + 0.4*15 + 0.09*35 + 0.01*51.667 = 12.1666667ms;
    // E[X^2] = 0.5*100/3 + 0.4*700/3 + 0.09*3900/3 + 0.01*(2500 + 2666.67 + 2844.44)/3
    // = 253.7037 ms^2.
    // N = 2e6: mean relative SE ~0.05%, tolerance 0.5%; E[X^2] ~0.15%, tolerance 1%.
    let x = draws(&d, 2_000_000);
    let upper_ns = (50.0 + 30.0 / 0.09 * 0.01) * MS;
    assert!(x.iter().all(|&v| (0.0..=upper_ns.ceil()).contains(&v)));
    check_moments(
        &d,
        &x,
        (12.166_666_666_7 * MS, 0.005),
        Some((253.703_703_7 * MS * MS, 0.01)),
    );
    // Quantile SE = sqrt(q(1-q)/N) x (slope of the inverse CDF): p50 0.09%, p90 0.35%, p99 0.05%
    // relative; tolerance 2%.
    let x = sorted(x);
    for (q, value_ms) in [(0.5, 10.0), (0.9, 20.0), (0.99, 50.0)] {
        assert_rel(&format!("q {q}"), quantile(&x, q), value_ms * MS, 0.02);
    }
}

#[test]
fn empirical_with_min_max_and_fine_percentiles_round_trips() {
    let d = dist(r#"{ dist = "empirical", min = "2ms", p50 = "5ms", max = "20ms" }"#);
    // Mean = 0.5*3.5 + 0.5*12.5 = 8ms; E[X^2] = 0.5*(4+10+25)/3 + 0.5*(25+100+400)/3 = 94 ms^2.
    // N = 1e6: relative SEs ~0.06% and 0.1%; tolerances 0.5% and 1%.
    let x = draws(&d, 1_000_000);
    assert!(x.iter().all(|&v| (2.0 * MS..=20.0 * MS).contains(&v)));
    check_moments(&d, &x, (8.0 * MS, 0.005), Some((94.0 * MS * MS, 0.01)));

    // p999 is the 99.9th percentile, p9999 the 99.99th. N = 2e6; the quantile relative SE is
    // sqrt(q(1-q)/N) x (slope of the inverse CDF, the steeper side at a knot) / value:
    // p50 0.09% (slope 180ms), p999 0.25% and p9999 0.07% (slope 10ms/0.0009); tolerance 2%.
    let d = dist(r#"{ dist = "empirical", p50 = "10ms", p999 = "100ms", p9999 = "110ms" }"#);
    let x = sorted(draws(&d, 2_000_000));
    assert_rel("p50", quantile(&x, 0.5), 10.0 * MS, 0.02);
    assert_rel("p999", quantile(&x, 0.999), 100.0 * MS, 0.02);
    assert_rel("p9999", quantile(&x, 0.9999), 110.0 * MS, 0.02);
    let Distribution::Empirical(curve) = &d else {
        panic!("not empirical")
    };
    assert_rel(
        "p9999 on the curve",
        curve.quantile_ns(0.9999),
        110.0 * MS,
        1e-12,
    );
    assert_eq!(percentile_key_q("p9999"), Some(0.9999));
}

#[test]
fn mixture_picks_parts_by_weight_and_mixes_moments() {
    let d = dist(
        r#"{ dist = "mixture", parts = [
            { weight = 0.9, dist = "exponential", mean = "2ms" },
            { weight = 0.1, dist = "constant", value = "50ms" },
        ] }"#,
    );
    // Mean = 0.9*2 + 0.1*50 = 6.8ms; E[X^2] = 0.9*8 + 0.1*2500 = 257.2 ms^2.
    // N = 1e6: sd = sqrt(257.2 - 46.24) = 14.52ms, cv 2.14, mean relative SE 0.21%, tolerance
    // 2%; E[X^2] relative SE ~0.3%, tolerance 2%.
    let x = draws(&d, 1_000_000);
    check_moments(&d, &x, (6.8 * MS, 0.02), Some((257.2 * MS * MS, 0.02)));
    // The constant part's share: SE sqrt(0.09/N) = 0.0003, tolerance 0.003.
    assert_abs(
        "share of 50ms",
        fraction(&x, |v| v == 50.0 * MS),
        0.1,
        0.003,
    );
    assert!(!d.is_exponential() && !d.is_constant());
}

#[test]
fn nested_mixture_normalizes_relative_weights() {
    // Weights 3 and 1 are 75% and 25%; inside, 1 and 1 are 50% each.
    let d = dist(
        r#"{ dist = "mixture", parts = [
            { weight = 3, dist = "mixture", parts = [
                { weight = 1, dist = "constant", value = "1ms" },
                { weight = 1, dist = "constant", value = "3ms" },
            ] },
            { weight = 1, dist = "uniform", min = "10ms", max = "20ms" },
        ] }"#,
    );
    assert_eq!(
        d.describe(),
        "mixture(75% mixture(50% constant(1ms), 50% constant(3ms)), 25% uniform(min 10ms, max 20ms))"
    );
    // Mean = 0.75 * 2 + 0.25 * 15 = 5.25ms. N = 1e6: shares have SE <= 0.0005, tolerance 0.005;
    // mean relative SE ~0.1%, tolerance 1%.
    let x = draws(&d, 1_000_000);
    check_moments(&d, &x, (5.25 * MS, 0.01), None);
    assert_abs(
        "share of 1ms",
        fraction(&x, |v| v == 1.0 * MS),
        0.375,
        0.005,
    );
    assert_abs(
        "share of 3ms",
        fraction(&x, |v| v == 3.0 * MS),
        0.375,
        0.005,
    );
    assert_abs(
        "share of uniform",
        fraction(&x, |v| (10.0 * MS..=20.0 * MS).contains(&v)),
        0.25,
        0.005,
    );
}

#[test]
fn same_stream_gives_the_same_draws() {
    let d = dist(r#"{ dist = "lognormal", mean = "5ms", cv = 1.5 }"#);
    assert_eq!(draws(&d, 1000), draws(&d, 1000));
}

// ---------------------------------------------------------------------------------------
// Parsing errors: every mistake is reported, each at its key path.
// ---------------------------------------------------------------------------------------

fn problems(text: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    let parsed = parse_distribution(&value_of(text), PATH, &mut problems);
    assert!(parsed.is_none(), "{text} should not parse");
    problems
}

/// Asserts exactly one problem, at `PATH` + `suffix`, whose message contains every fragment.
#[track_caller]
fn check_one(text: &str, suffix: &str, fragments: &[&str]) {
    let found = problems(text);
    assert_eq!(found.len(), 1, "{text}: {found:#?}");
    assert_eq!(found[0].path, format!("{PATH}{suffix}"), "{text}");
    for fragment in fragments {
        assert!(
            found[0].message.contains(fragment),
            "{text}: message {:?} lacks {fragment:?}",
            found[0].message
        );
    }
    let message = &found[0].message;
    assert!(
        !message.ends_with('.') && message.chars().next().is_some_and(|c| !c.is_uppercase()),
        "messages are lowercase without a final period: {message:?}"
    );
}

#[test]
fn a_value_that_is_not_a_table_is_one_problem_at_the_key() {
    check_one(r#""4ms""#, "", &["constant", "\"4ms\""]);
    check_one("4", "", &["distribution table"]);
}

#[test]
fn dist_names_are_checked() {
    check_one(
        r#"{ mean = "2ms" }"#,
        "",
        &["missing \"dist\"", "exponential"],
    );
    check_one(
        r#"{ dist = "lognorm", median = "4ms" }"#,
        ".dist",
        &[
            "\"lognorm\"",
            "did you mean \"lognormal\"",
            "constant, exponential",
        ],
    );
    check_one(r#"{ dist = 3 }"#, ".dist", &["must be a string"]);
}

#[test]
fn unknown_keys_are_named_with_the_nearest_valid_key() {
    check_one(
        r#"{ dist = "exponential", mean = "2ms", meen = "2ms" }"#,
        ".meen",
        &["unknown key \"meen\"", "did you mean \"mean\""],
    );
    check_one(
        r#"{ dist = "normal", mean = "2ms", stdev = "1ms", stddev = "1ms" }"#,
        ".stdev",
        &["did you mean \"stddev\""],
    );
    check_one(
        r#"{ dist = "constant", value = "2ms", weight = 1 }"#,
        ".weight",
        &["mixture"],
    );
    check_one(
        r#"{ dist = "empirical", median = "2ms", p99 = "9ms" }"#,
        ".median",
        &["p50"],
    );
}

#[test]
fn missing_parameters_are_reported_at_the_table_with_an_example() {
    check_one(
        r#"{ dist = "exponential" }"#,
        "",
        &["missing \"mean\"", r#"mean = "2ms""#],
    );
    check_one(
        r#"{ dist = "uniform", min = "1ms" }"#,
        "",
        &["missing \"max\""],
    );
}

#[test]
fn wrong_types_and_non_finite_numbers_are_refused() {
    check_one(
        r#"{ dist = "exponential", mean = 2 }"#,
        ".mean",
        &["duration with a unit", "\"2ms\""],
    );
    check_one(
        r#"{ dist = "exponential", mean = "2" }"#,
        ".mean",
        &["no unit"],
    );
    check_one(
        r#"{ dist = "gamma", mean = "2ms", cv = "0.5" }"#,
        ".cv",
        &["cv must be a number"],
    );
    check_one(
        r#"{ dist = "gamma", mean = "2ms", cv = nan }"#,
        ".cv",
        &["finite"],
    );
    check_one(
        r#"{ dist = "weibull", shape = inf, scale = "1ms" }"#,
        ".shape",
        &["finite"],
    );
    check_one(
        r#"{ dist = "weibull", shape = 2, scale = true }"#,
        ".scale",
        &["boolean"],
    );
}

#[test]
fn zero_and_negative_values_are_refused_where_positive_is_required() {
    check_one(
        r#"{ dist = "exponential", mean = "0ms" }"#,
        ".mean",
        &["greater than 0"],
    );
    check_one(
        r#"{ dist = "exponential", mean = "-2ms" }"#,
        ".mean",
        &["negative"],
    );
    check_one(
        r#"{ dist = "gamma", mean = "2ms", cv = -1 }"#,
        ".cv",
        &["greater than 0"],
    );
    check_one(
        r#"{ dist = "weibull", shape = 0, scale = "1ms" }"#,
        ".shape",
        &["greater than 0"],
    );
    check_one(
        r#"{ dist = "pareto", scale = "1ms", shape = 1 }"#,
        ".shape",
        &["greater than 1", "mean is finite"],
    );
    check_one(
        r#"{ dist = "erlang", k = 2.5, mean = "1ms" }"#,
        ".k",
        &["whole number"],
    );
    check_one(
        r#"{ dist = "erlang", k = 0, mean = "1ms" }"#,
        ".k",
        &["1 or more"],
    );
    check_one(
        r#"{ dist = "uniform", min = "5ms", max = "1ms" }"#,
        ".max",
        &["less than min"],
    );
}

#[test]
fn lognormal_accepts_exactly_one_of_its_two_parameter_pairs() {
    let pairs = "median and p99, or mean and cv";
    check_one(
        r#"{ dist = "lognormal", median = "4ms", cv = 1.5 }"#,
        "",
        &[pairs, "not a mix", "median, cv"],
    );
    check_one(
        r#"{ dist = "lognormal", median = "4ms" }"#,
        "",
        &[pairs, "only median"],
    );
    check_one(r#"{ dist = "lognormal" }"#, "", &[pairs]);
    check_one(
        r#"{ dist = "lognormal", median = "4ms", p99 = "3ms" }"#,
        ".p99",
        &["greater than median"],
    );
}

#[test]
fn empirical_profiles_must_rise_and_name_the_offending_keys() {
    check_one(
        r#"{ dist = "empirical", p50 = "10ms", p90 = "5ms", p99 = "50ms" }"#,
        ".p90",
        &["p90 (5ms) is less than p50 (10ms)"],
    );
    check_one(
        r#"{ dist = "empirical", min = "1ms", p0 = "1ms", p50 = "5ms" }"#,
        ".p0",
        &["min and p0", "same percentile"],
    );
    check_one(
        r#"{ dist = "empirical" }"#,
        "",
        &["at least one percentile"],
    );
    check_one(
        r#"{ dist = "empirical", min = "1ms" }"#,
        "",
        &["at least one percentile"],
    );
    check_one(
        r#"{ dist = "empirical", p50 = 10 }"#,
        ".p50",
        &["duration with a unit"],
    );
    // A dotted key makes a nested table; the message says how to write the 99.9th.
    check_one(
        r#"{ dist = "empirical", p50 = "1ms", p99.9 = "9ms" }"#,
        ".p99",
        &["p999"],
    );
}

#[test]
fn mixture_parts_are_checked_at_their_own_paths() {
    check_one(
        r#"{ dist = "mixture", parts = [{ dist = "constant", value = "1ms" }] }"#,
        ".parts[0]",
        &["missing \"weight\""],
    );
    check_one(
        r#"{ dist = "mixture", parts = [{ weight = 1, dist = "constant", value = "1ms" },
            { weight = 0, dist = "constant", value = "1ms" }] }"#,
        ".parts[1].weight",
        &["greater than 0"],
    );
    check_one(r#"{ dist = "mixture", parts = [] }"#, ".parts", &["empty"]);
    check_one(
        r#"{ dist = "mixture", parts = { weight = 1 } }"#,
        ".parts",
        &["array"],
    );
    check_one(
        r#"{ dist = "mixture", parts = ["1ms"] }"#,
        ".parts[0]",
        &["table"],
    );
    check_one(
        r#"{ dist = "mixture", parts = [{ weight = 1, dist = "mixture", parts = [
            { weight = 1, dist = "constant", value = "1ms" },
            { weight = 1, dist = "exponential", mean = 3 }] }] }"#,
        ".parts[0].parts[1].mean",
        &["unit"],
    );
}

#[test]
fn several_mistakes_are_all_reported() {
    let found = problems(r#"{ dist = "gamma", mean = 5, cv = "x", shape = 2 }"#);
    let mut paths: Vec<&str> = found.iter().map(|p| p.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "service.api.service_time.cv",
            "service.api.service_time.mean",
            "service.api.service_time.shape"
        ],
        "{found:#?}"
    );

    // Mistakes in different parts of a mixture, and in the mixture itself.
    let found = problems(
        r#"{ dist = "mixture", extra = 1, parts = [
            { weight = -1, dist = "exponential", mean = "2ms" },
            { weight = 1, dist = "uniform", min = "3ms", max = "1ms" },
            { weight = 1, dist = "nope" },
        ] }"#,
    );
    let mut paths: Vec<&str> = found.iter().map(|p| p.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "service.api.service_time.extra",
            "service.api.service_time.parts[0].weight",
            "service.api.service_time.parts[1].max",
            "service.api.service_time.parts[2].dist",
        ],
        "{found:#?}"
    );
}

#[test]
fn earlier_problems_in_the_list_do_not_fail_a_valid_distribution() {
    let mut problems = vec![Problem::new("elsewhere", "unrelated")];
    let value = value_of(r#"{ dist = "exponential", mean = "2ms" }"#);
    assert!(parse_distribution(&value, PATH, &mut problems).is_some());
    assert_eq!(problems.len(), 1);
}

// ---------------------------------------------------------------------------------------
// Any valid parameters sample inside the support and never panic.
// ---------------------------------------------------------------------------------------

/// Percentile keys the property test picks from, in increasing q.
const KEYS: [&str; 12] = [
    "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "p995", "p999", "p9999",
];

fn empirical_case() -> impl Strategy<Value = (Option<u64>, Vec<(&'static str, u64)>, Option<u64>)> {
    (
        proptest::option::of(0u64..1_000_000_000),
        proptest::sample::subsequence(KEYS.to_vec(), 1..=KEYS.len()),
        proptest::collection::vec(0u64..1_000_000_000, KEYS.len()),
        proptest::option::of(0u64..1_000_000_000),
    )
        .prop_map(|(min, keys, steps, max_step)| {
            // Values rise by non-negative steps from the minimum (or 0), so they never fall.
            let mut value = min.unwrap_or(0);
            let points: Vec<(&str, u64)> = keys
                .into_iter()
                .zip(steps)
                .map(|(key, step)| {
                    value += step;
                    (key, value)
                })
                .collect();
            (min, points, max_step.map(|step| value + step))
        })
}

proptest! {
    #[test]
    fn exponential_samples_are_finite_and_plausible(mean_ns in 1u64..1_000_000_000_000, seed: u64) {
        let d = dist(&format!(r#"{{ dist = "exponential", mean = "{mean_ns}ns" }}"#));
        let mut rng = stream(seed, 0, "prop", "exponential");
        for _ in 0..200 {
            // P(X > 60 mean) = e^-60: never in this test's lifetime.
            prop_assert!((d.sample_ns(&mut rng) as f64) < 60.0 * mean_ns as f64 + 1.0);
        }
        prop_assert_eq!(d.mean_ns(), mean_ns as f64);
    }

    #[test]
    fn uniform_samples_stay_within_min_and_max(a in 0u64..1_000_000_000_000, b in 0u64..1_000_000_000_000, seed: u64) {
        let (min_ns, max_ns) = (a.min(b), a.max(b));
        let d = dist(&format!(r#"{{ dist = "uniform", min = "{min_ns}ns", max = "{max_ns}ns" }}"#));
        let mut rng = stream(seed, 0, "prop", "uniform");
        for _ in 0..200 {
            let x = d.sample_ns(&mut rng);
            prop_assert!((min_ns..=max_ns).contains(&x), "{} not in [{}, {}]", x, min_ns, max_ns);
        }
    }

    #[test]
    fn empirical_samples_stay_within_the_curve_and_hit_every_point(
        (min, points, max) in empirical_case(),
        seed: u64,
    ) {
        let mut text = String::from(r#"{ dist = "empirical""#);
        for (key, value) in min.iter().map(|v| ("min", *v)).chain(points.iter().copied()).chain(max.iter().map(|v| ("max", *v))) {
            text += &format!(r#", {key} = "{value}ns""#);
        }
        text += " }";
        let d = dist(&text);
        let Distribution::Empirical(curve) = &d else { panic!("not empirical") };

        // The support by hand: from min (or 0) to max, or to the last point plus the last
        // segment's slope carried on to q = 1.
        let lower_ns = min.unwrap_or(0) as f64;
        let upper_ns = match max {
            Some(max) => max as f64,
            None => {
                let q = |key| percentile_key_q(key).unwrap();
                let (last_key, last) = points[points.len() - 1];
                let (previous_q, previous) = if points.len() >= 2 {
                    let (key, value) = points[points.len() - 2];
                    (q(key), value as f64)
                } else {
                    (0.0, lower_ns)
                };
                let slope = (last as f64 - previous) / (q(last_key) - previous_q);
                last as f64 + slope * (1.0 - q(last_key))
            }
        };
        for (key, value) in &points {
            let q = percentile_key_q(key).unwrap();
            let on_curve = curve.quantile_ns(q);
            prop_assert!((on_curve - *value as f64).abs() <= 1e-6 * (*value as f64).max(1.0), "{} {} {}", key, on_curve, value);
        }
        let mut rng = stream(seed, 0, "prop", "empirical");
        for _ in 0..200 {
            let x = d.sample_ns(&mut rng) as f64;
            prop_assert!(x >= lower_ns.floor() && x <= upper_ns.ceil() + 1.0, "{} not in [{}, {}]", x, lower_ns, upper_ns);
        }
        prop_assert!(d.mean_ns() >= lower_ns - 1e-6 && d.mean_ns() <= upper_ns * (1.0 + 1e-12) + 1e-6);
    }
}
