//! Parsing distributions from a scenario's inline tables, such as
//! `{ dist = "lognormal", median = "4ms", p99 = "30ms" }`.
//!
//! This is the one place a distribution is checked: every mistake in the table becomes a
//! [`Problem`] with its key path, and only a fully valid table yields a [`Distribution`] (the
//! sampler type lives in the leaf module [`crate::distribution`]).

use super::keys;
use super::problem::{join, nearest, Problem};
use super::reader::{a_type, TableReader};
use crate::distribution::{Distribution, Empirical, LognormalParams, Mixture, Z_99};
use crate::engine::time::format_ns;

/// Every `dist` name, with a complete example used in error messages.
const DISTS: [(&str, &str); 11] = [
    ("constant", r#"{ dist = "constant", value = "5ms" }"#),
    ("exponential", r#"{ dist = "exponential", mean = "2ms" }"#),
    (
        "uniform",
        r#"{ dist = "uniform", min = "1ms", max = "5ms" }"#,
    ),
    (
        "normal",
        r#"{ dist = "normal", mean = "10ms", stddev = "2ms" }"#,
    ),
    (
        "lognormal",
        r#"{ dist = "lognormal", median = "4ms", p99 = "30ms" } or { dist = "lognormal", mean = "5ms", cv = 1.5 }"#,
    ),
    ("gamma", r#"{ dist = "gamma", mean = "5ms", cv = 0.5 }"#),
    ("erlang", r#"{ dist = "erlang", k = 3, mean = "6ms" }"#),
    (
        "weibull",
        r#"{ dist = "weibull", shape = 1.5, scale = "10ms" }"#,
    ),
    (
        "pareto",
        r#"{ dist = "pareto", scale = "1ms", shape = 2.5 }"#,
    ),
    (
        "empirical",
        r#"{ dist = "empirical", p50 = "10ms", p90 = "20ms", p99 = "50ms" }"#,
    ),
    (
        "mixture",
        r#"{ dist = "mixture", parts = [{ weight = 0.9, dist = "exponential", mean = "2ms" }, { weight = 0.1, dist = "constant", value = "50ms" }] }"#,
    ),
];

/// The parameter keys each distribution takes, from the key table (`keys.rs`); empirical
/// takes percentile keys instead.
fn parameter_keys(dist: &str) -> Vec<&'static str> {
    if dist == "empirical" {
        // Only used to suggest a spelling; any pNN key is valid.
        return vec!["min", "max", "p50", "p90", "p95", "p99", "p999"];
    }
    keys::names_in(&format!("distribution ({dist})"))
}

/// Parses `{ dist = "...", ... }` found at key path `path`.
///
/// Pushes one [`Problem`] per mistake (all of them, not just the first) and returns `None` if
/// there was any.
pub fn parse(value: &toml::Value, path: &str, problems: &mut Vec<Problem>) -> Option<Distribution> {
    parse_any(value, path, problems, false).map(|(dist, _)| dist)
}

/// Reads an empirical key as a quantile in [0, 1]: `p0` = 0, `p100` = 1, `min` and `max` as
/// aliases of those, a single digit is a percent (`p5` = 0.05), and otherwise the first two
/// digits are the integer percent and the rest its decimals (`p999` = 0.999, `p995` = 0.995).
pub fn percentile_key_q(key: &str) -> Option<f64> {
    match key {
        "min" | "p0" => return Some(0.0),
        "max" | "p100" => return Some(1.0),
        _ => {}
    }
    let digits = key.strip_prefix('p')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // "0.<digits>" is exactly NN.rest percent / 100, parsed once instead of computed, so that
    // p999 is the f64 nearest 0.999 rather than 99.9 / 100.
    let text = if digits.len() == 1 {
        format!("0.0{digits}")
    } else {
        format!("0.{digits}")
    };
    text.parse().ok()
}

/// Parses one distribution table; inside a mixture (`in_mixture`) the table also carries the
/// part's `weight`, which is returned alongside (1.0 outside a mixture).
fn parse_any(
    value: &toml::Value,
    path: &str,
    problems: &mut Vec<Problem>,
    in_mixture: bool,
) -> Option<(Distribution, f64)> {
    let before = problems.len();
    let example = if matches!(value, toml::Value::String(_)) {
        r#"{ dist = "constant", value = "4ms" }"#
    } else {
        r#"{ dist = "exponential", mean = "2ms" }"#
    };
    let expected = format!("a distribution table such as {example}");
    let mut reader = TableReader::new(value, path, problems, &expected)?;
    let weight = if in_mixture {
        reader.positive_number("weight")
    } else {
        Some(1.0)
    };
    let dist = reader.tag("dist", "distribution", &DISTS);
    // Without a known name the other keys cannot be checked: they depend on the distribution.
    let dist = dist?;
    check_keys(&mut reader, dist, in_mixture);
    let built = match dist {
        "constant" => reader
            .duration_ns("value")
            .map(|value_ns| Distribution::Constant { value_ns }),
        "exponential" => reader
            .positive_duration_ns("mean")
            .map(|mean_ns| Distribution::Exponential { mean_ns }),
        "uniform" => build_uniform(&mut reader),
        "normal" => build_normal(&mut reader),
        "lognormal" => build_lognormal(&mut reader),
        "gamma" => build_gamma(&mut reader),
        "erlang" => build_erlang(&mut reader),
        "weibull" => build_weibull(&mut reader),
        "pareto" => build_pareto(&mut reader),
        "empirical" => build_empirical(&mut reader),
        "mixture" => build_mixture(&mut reader),
        _ => unreachable!("every name in DISTS has a builder"),
    };
    if reader.problems.len() > before {
        return None;
    }
    Some((built?, weight?))
}

fn build_uniform(reader: &mut TableReader) -> Option<Distribution> {
    let min_ns = reader.duration_ns("min");
    let max_ns = reader.duration_ns("max");
    let (min_ns, max_ns) = (min_ns?, max_ns?);
    if max_ns < min_ns {
        reader.problem(
            "max",
            format!(
                "max ({}) is less than min ({}); uniform needs min <= max",
                format_ns(max_ns),
                format_ns(min_ns)
            ),
        );
        return None;
    }
    Some(Distribution::Uniform { min_ns, max_ns })
}

fn build_normal(reader: &mut TableReader) -> Option<Distribution> {
    let mean_ns = reader.duration_ns("mean");
    let stddev_ns = reader.duration_ns("stddev");
    let (mean_ns, stddev_ns) = (mean_ns?, stddev_ns?);
    sampler(reader, "stddev", Distribution::normal(mean_ns, stddev_ns))
}

fn build_lognormal(reader: &mut TableReader) -> Option<Distribution> {
    let present: Vec<&str> = ["median", "p99", "mean", "cv"]
        .into_iter()
        .filter(|key| reader.table.contains_key(*key))
        .collect();
    let pairs = "lognormal takes either median and p99, or mean and cv";
    match present.as_slice() {
        ["median", "p99"] => {
            let median_ns = reader.positive_duration_ns("median");
            let p99_ns = reader.positive_duration_ns("p99");
            let (median_ns, p99_ns) = (median_ns?, p99_ns?);
            if p99_ns <= median_ns {
                reader.problem(
                    "p99",
                    format!(
                        "p99 ({}) must be greater than median ({})",
                        format_ns(p99_ns),
                        format_ns(median_ns)
                    ),
                );
                return None;
            }
            let mu_ln_ns = median_ns.ln();
            let sigma = (p99_ns.ln() - mu_ln_ns) / Z_99;
            let given = LognormalParams::MedianP99 { median_ns, p99_ns };
            sampler(
                reader,
                "p99",
                Distribution::lognormal(mu_ln_ns, sigma, given),
            )
        }
        ["mean", "cv"] => {
            let mean_ns = reader.positive_duration_ns("mean");
            let cv = bounded_cv(reader);
            let (mean_ns, cv) = (mean_ns?, cv?);
            let sigma_squared = (cv * cv).ln_1p();
            let mu_ln_ns = mean_ns.ln() - sigma_squared / 2.0;
            let sigma = sigma_squared.sqrt();
            let given = LognormalParams::MeanCv { mean_ns, cv };
            sampler(
                reader,
                "cv",
                Distribution::lognormal(mu_ln_ns, sigma, given),
            )
        }
        [] => {
            reader.problem_here(format!("{pairs}; none was given"));
            None
        }
        [only] => {
            reader.problem_here(format!("{pairs}; found only {only}"));
            None
        }
        mixed => {
            // Still check each value so that a wrong type is reported along with the mix.
            for key in mixed {
                if *key == "cv" {
                    reader.positive_number(key);
                } else {
                    reader.positive_duration_ns(key);
                }
            }
            reader.problem_here(format!("{pairs}, not a mix; found {}", mixed.join(", ")));
            None
        }
    }
}

/// The coefficient of variation, kept where sampling stays exact: from 0.001 (shape 1e6) to
/// 100 (a tail far heavier than any service time seen in practice).
fn bounded_cv(reader: &mut TableReader) -> Option<f64> {
    let cv = reader.positive_number("cv")?;
    if (0.001..=100.0).contains(&cv) {
        Some(cv)
    } else {
        reader.problem(
            "cv",
            format!("cv {cv:e} is out of range; use a number from 0.001 to 100"),
        );
        None
    }
}

/// A constructed distribution, or a problem at `key` if `rand_distr` refuses the parameters
/// (which the checks above should already have caught: this keeps a refusal from ever being
/// silent).
fn sampler(
    reader: &mut TableReader,
    key: &str,
    built: Result<Distribution, String>,
) -> Option<Distribution> {
    match built {
        Ok(dist) => Some(dist),
        Err(e) => {
            reader.problem(
                key,
                format!("these parameters cannot be sampled ({e}); use less extreme values"),
            );
            None
        }
    }
}

fn build_gamma(reader: &mut TableReader) -> Option<Distribution> {
    let mean_ns = reader.positive_duration_ns("mean");
    let cv = bounded_cv(reader);
    let (mean_ns, cv) = (mean_ns?, cv?);
    sampler(reader, "cv", Distribution::gamma(mean_ns, cv))
}

fn build_erlang(reader: &mut TableReader) -> Option<Distribution> {
    let k = reader.number("k").and_then(|k| {
        if k >= 1.0 && k.fract() == 0.0 && k <= f64::from(u32::MAX) {
            Some(k as u32)
        } else {
            reader.problem(
                "k",
                format!("k must be a whole number of phases, 1 or more, not {k}"),
            );
            None
        }
    });
    let mean_ns = reader.positive_duration_ns("mean");
    let (k, mean_ns) = (k?, mean_ns?);
    sampler(reader, "k", Distribution::erlang(k, mean_ns))
}

fn build_weibull(reader: &mut TableReader) -> Option<Distribution> {
    let shape = reader.positive_number("shape");
    let scale_ns = reader.positive_duration_ns("scale");
    let (shape, scale_ns) = (shape?, scale_ns?);
    // A tiny shape makes Gamma(1 + 1/shape) overflow; refuse it rather than report an
    // infinite mean for a distribution whose mean is finite.
    if !statrs::function::gamma::gamma(1.0 + 1.0 / shape).is_finite() {
        reader.problem(
            "shape",
            format!("shape {shape} is too small: the mean overflows; use 0.01 or more"),
        );
        return None;
    }
    sampler(reader, "shape", Distribution::weibull(shape, scale_ns))
}

fn build_pareto(reader: &mut TableReader) -> Option<Distribution> {
    let scale_ns = reader.positive_duration_ns("scale");
    let shape = reader.number("shape").and_then(|shape| {
        if shape > 1.0 {
            Some(shape)
        } else {
            reader.problem(
                "shape",
                format!(
                    "shape must be greater than 1 so that the mean is finite, not {shape} \
                     (above 2 the variance is finite too)"
                ),
            );
            None
        }
    });
    let (scale_ns, shape) = (scale_ns?, shape?);
    sampler(reader, "shape", Distribution::pareto(scale_ns, shape))
}

fn build_empirical(reader: &mut TableReader) -> Option<Distribution> {
    let before = reader.problems.len();
    // (q, key, value_ns) for every percentile key whose value is a valid duration.
    let mut points: Vec<(f64, &str, f64)> = Vec::new();
    let mut all_valid = true;
    for (key, value) in reader.table {
        let Some(q) = percentile_key_q(key) else {
            continue; // "dist", "weight" or an unknown key, which check_keys reported
        };
        if value.is_table() {
            // `p99.9 = "..."` is a dotted key: TOML makes p99 a table holding 9.
            reader.problem(
                key,
                format!(
                    "{key} is a table; a dot in a key nests tables, so write the 99.9th \
                     percentile as p999 (and 99.95th as p9995)"
                ),
            );
            all_valid = false;
            continue;
        }
        match reader.duration_value_ns(key, value) {
            Some(value_ns) => points.push((q, key, value_ns)),
            None => all_valid = false,
        }
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    for pair in points.windows(2) {
        let ((q0, key0, value0_ns), (q1, key1, value1_ns)) = (pair[0], pair[1]);
        if q0 == q1 {
            reader.problem(
                key1,
                format!("{key0} and {key1} name the same percentile; keep one"),
            );
        } else if value1_ns < value0_ns {
            reader.problem(
                key1,
                format!(
                    "{key1} ({}) is less than {key0} ({}); values must not decrease as the \
                     percentile rises",
                    format_ns(value1_ns),
                    format_ns(value0_ns)
                ),
            );
        }
    }
    let has_point_above_p0 = points.iter().any(|point| point.0 > 0.0);
    if all_valid && !has_point_above_p0 {
        reader.problem_here(
            "empirical needs at least one percentile above p0/min, e.g. \
             { dist = \"empirical\", p50 = \"10ms\", p99 = \"50ms\" }",
        );
    }
    if reader.problems.len() > before {
        return None;
    }

    Some(Empirical::from_points(&points))
}

fn build_mixture(reader: &mut TableReader) -> Option<Distribution> {
    let example = DISTS[10].1;
    let parts_value = reader.required("parts")?;
    let Some(array) = parts_value.as_array() else {
        reader.problem(
            "parts",
            format!(
                "parts must be an array of distribution tables with weights, not {}; e.g. {example}",
                a_type(parts_value)
            ),
        );
        return None;
    };
    if array.is_empty() {
        reader.problem(
            "parts",
            format!("parts is empty; give at least one, e.g. {example}"),
        );
        return None;
    }
    let mut parts = Vec::with_capacity(array.len());
    let mut raw_weights = Vec::with_capacity(array.len());
    for (index, part) in array.iter().enumerate() {
        let part_path = join(reader.path, &format!("parts[{index}]"));
        if let Some((dist, weight)) = parse_any(part, &part_path, reader.problems, true) {
            parts.push(dist);
            raw_weights.push(weight);
        }
    }
    if parts.len() < array.len() {
        return None;
    }
    Some(Mixture::from_parts(parts, &raw_weights))
}

/// Reports every key distribution `dist` does not take, suggesting the nearest valid one.
fn check_keys(reader: &mut TableReader, dist: &str, in_mixture: bool) {
    let valid = parameter_keys(dist);
    let table = reader.table;
    for key in table.keys() {
        let known = key == "dist"
            || (key == "weight" && in_mixture)
            || if dist == "empirical" {
                percentile_key_q(key).is_some()
            } else {
                valid.contains(&key.as_str())
            };
        if known {
            continue;
        }
        let message = if key == "weight" {
            "weight is only valid on a part of a mixture, e.g. parts = [{ weight = 0.9, ... }]"
                .to_string()
        } else if dist == "empirical" {
            let hint = if key == "median" {
                "use p50 for the median; ".to_string()
            } else {
                nearest(key, &valid)
                    .map(|near| format!("did you mean \"{near}\"? "))
                    .unwrap_or_default()
            };
            format!(
                "unknown key \"{key}\" for empirical; {hint}keys are percentiles like p50, \
                 p90, p99, p999 (99.9th), or min and max"
            )
        } else {
            let hint = nearest(key, &valid)
                .map(|near| format!("did you mean \"{near}\"? "))
                .unwrap_or_default();
            format!(
                "unknown key \"{key}\" for {dist}; {hint}it takes {}",
                valid.join(", ")
            )
        };
        reader.problem(key, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_table_names_the_same_distributions() {
        let names: Vec<&str> = DISTS.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, keys::DIST_KINDS);
        for name in names.iter().filter(|n| **n != "empirical") {
            assert!(
                !parameter_keys(name).is_empty(),
                "{name} takes no key in keys.rs"
            );
        }
    }

    fn parse(text: &str) -> Distribution {
        let value: toml::Value =
            toml::from_str::<toml::Table>(&format!("d = {text}")).unwrap()["d"].clone();
        let mut problems = Vec::new();
        let dist = super::parse(&value, "d", &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        dist.unwrap()
    }

    #[test]
    fn percentile_keys_read_as_fractions() {
        let cases = [
            ("p0", 0.0),
            ("min", 0.0),
            ("p5", 0.05),
            ("p50", 0.5),
            ("p90", 0.9),
            ("p99", 0.99),
            ("p995", 0.995),
            ("p999", 0.999),
            ("p9999", 0.9999),
            ("p100", 1.0),
            ("max", 1.0),
        ];
        for (key, q) in cases {
            assert_eq!(percentile_key_q(key), Some(q), "{key}");
        }
        for key in ["p", "p9x", "q50", "median", "P50"] {
            assert_eq!(percentile_key_q(key), None, "{key}");
        }
    }

    #[test]
    fn describe_echoes_the_parameters_as_written() {
        let cases = [
            (
                r#"{ dist = "lognormal", median = "4ms", p99 = "30ms" }"#,
                "lognormal(median 4ms, p99 30ms)",
            ),
            (
                r#"{ dist = "lognormal", mean = "5ms", cv = 1.5 }"#,
                "lognormal(mean 5ms, cv 1.5)",
            ),
            (
                r#"{ dist = "erlang", k = 3, mean = "6ms" }"#,
                "erlang(k 3, mean 6ms)",
            ),
            (
                r#"{ dist = "empirical", p99 = "50ms", p50 = "10ms" }"#,
                "empirical(p50 10ms, p99 50ms)",
            ),
            (
                r#"{ dist = "mixture", parts = [{ weight = 9, dist = "exponential", mean = "2ms" }, { weight = 1, dist = "constant", value = "50ms" }] }"#,
                "mixture(90% exponential(mean 2ms), 10% constant(50ms))",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).describe(), expected);
        }
    }
}
