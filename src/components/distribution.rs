//! Distributions of durations (service times, think times, delays): parsed once from a
//! scenario's inline table such as `{ dist = "lognormal", median = "4ms", p99 = "30ms" }`,
//! then sampled in integer nanoseconds on the hot path.
//!
//! Parsing is the one place a distribution is checked: every mistake in the table becomes a
//! [`Problem`] with its key path, and only a fully valid table yields a [`Distribution`]. After
//! that nothing can fail: [`Distribution::sample_ns`] does no allocation and no setup (the
//! `rand_distr` samplers are built during parsing), and the analytic moments that the theory
//! checks compare against are exact closed forms, not estimates.

use crate::engine::rng::Rng;
use crate::scenario::duration::{format_ns, parse_duration_ns};
use crate::scenario::problem::{join, Problem};
use rand::Rng as _;
use rand_distr as rd;
use rand_distr::Distribution as _;

/// The standard normal quantile at 0.99, so that `lognormal {median, p99}` is solved exactly.
pub const Z_99: f64 = 2.326_347_874_040_840_8;

/// Draws are capped at 100 years (the longest duration a scenario may write) so that
/// `now + draw` stays far from `u64` overflow even for a heavy-tailed Pareto. The cap changes
/// nothing measurable: even a Pareto of scale 1ms and shape 1.01 exceeds it with probability
/// about 2e-13.
const MAX_DRAW_NS: f64 = 100.0 * 365.0 * 86_400e9;

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

/// The parameter keys each distribution takes (empirical takes percentile keys instead).
fn parameter_keys(dist: &str) -> &'static [&'static str] {
    match dist {
        "constant" => &["value"],
        "exponential" => &["mean"],
        "uniform" => &["min", "max"],
        "normal" => &["mean", "stddev"],
        "lognormal" => &["median", "p99", "mean", "cv"],
        "gamma" => &["mean", "cv"],
        "erlang" => &["k", "mean"],
        "weibull" => &["shape", "scale"],
        "pareto" => &["scale", "shape"],
        // Only used to suggest a spelling; any pNN key is valid.
        "empirical" => &["min", "max", "p50", "p90", "p95", "p99", "p999"],
        "mixture" => &["parts"],
        _ => &[],
    }
}

/// A resolved distribution of durations, parameters in nanoseconds.
///
/// Build it with [`Distribution::parse`] (or the [`Distribution::constant`] and
/// [`Distribution::exponential`] shortcuts); the variants are public so that callers can read
/// the resolved parameters, and their samplers are already consistent with them.
#[derive(Clone, Debug, PartialEq)]
pub enum Distribution {
    /// Always `value_ns`.
    Constant { value_ns: f64 },
    /// Exponential with mean `mean_ns`, sampled with the ziggurat method.
    Exponential { mean_ns: f64 },
    /// Uniform on `[min_ns, max_ns]`.
    Uniform { min_ns: f64, max_ns: f64 },
    /// Normal "cut at 0": a draw below 0 becomes exactly 0, so the distribution is
    /// `max(0, X)` with `X ~ N(mean_ns, stddev_ns^2)`, and its mean and second moment are those
    /// of `max(0, X)`, not of `X`.
    Normal {
        mean_ns: f64,
        stddev_ns: f64,
        sampler: rd::Normal<f64>,
    },
    /// `exp(N(mu_ln_ns, sigma^2))`, remembering which parameters the scenario gave.
    Lognormal {
        mu_ln_ns: f64,
        sigma: f64,
        given: LognormalParams,
        sampler: rd::LogNormal<f64>,
    },
    /// Gamma with shape `1/cv^2` and scale `mean_ns/shape`.
    Gamma {
        mean_ns: f64,
        cv: f64,
        sampler: rd::Gamma<f64>,
    },
    /// The sum of `k` exponential phases of mean `mean_ns/k` each (a gamma with integer shape).
    Erlang {
        k: u32,
        mean_ns: f64,
        sampler: rd::Gamma<f64>,
    },
    /// Weibull with `P(X > x) = exp(-(x/scale_ns)^shape)`.
    Weibull {
        shape: f64,
        scale_ns: f64,
        sampler: rd::Weibull<f64>,
    },
    /// Pareto with minimum `scale_ns` and tail index `shape` (> 1, so the mean is finite).
    Pareto {
        scale_ns: f64,
        shape: f64,
        sampler: rd::Pareto<f64>,
    },
    /// A latency profile read off a dashboard: a piecewise-linear inverse CDF.
    Empirical(Empirical),
    /// A weighted choice between distributions.
    Mixture(Mixture),
}

/// How a lognormal was written in the scenario, kept so that `describe` echoes it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LognormalParams {
    MedianP99 { median_ns: f64, p99_ns: f64 },
    MeanCv { mean_ns: f64, cv: f64 },
}

/// A monotone piecewise-linear inverse CDF through `(q, value_ns)` knots from q = 0 to q = 1.
#[derive(Clone, Debug, PartialEq)]
pub struct Empirical {
    /// Knots with q strictly increasing, the first at q = 0 and the last at q = 1.
    knots: Vec<(f64, f64)>,
    /// `slopes_ns[i]` is the slope of the segment from `knots[i]` to `knots[i + 1]`, so that a
    /// draw is one multiply-add after the search.
    slopes_ns: Vec<f64>,
    /// The points as the scenario wrote them (key, value_ns), in increasing q, for `describe`.
    given: Vec<(String, f64)>,
}

/// A weighted choice between distributions; weights are normalized to sum to 1.
#[derive(Clone, Debug, PartialEq)]
pub struct Mixture {
    parts: Vec<Distribution>,
    weights: Vec<f64>,
    /// Running sums of `weights`, the last forced to exactly 1.0 so that every uniform draw in
    /// [0, 1) lands on a part.
    cumulative: Vec<f64>,
}

impl Distribution {
    /// A distribution that is always `value_ns` (for code and tests that do not parse TOML).
    pub fn constant(value_ns: f64) -> Distribution {
        debug_assert!(value_ns >= 0.0, "constant value must be zero or more");
        Distribution::Constant { value_ns }
    }

    /// An exponential distribution of mean `mean_ns` (> 0).
    pub fn exponential(mean_ns: f64) -> Distribution {
        debug_assert!(mean_ns > 0.0, "exponential mean must be greater than 0");
        Distribution::Exponential { mean_ns }
    }

    /// Parses `{ dist = "...", ... }` found at key path `path`.
    ///
    /// Pushes one [`Problem`] per mistake (all of them, not just the first) and returns `None`
    /// if there was any.
    pub fn parse(
        value: &toml::Value,
        path: &str,
        problems: &mut Vec<Problem>,
    ) -> Option<Distribution> {
        parse_any(value, path, problems, false).map(|(dist, _)| dist)
    }

    /// One draw in integer nanoseconds, rounded and never negative (capped at 100 years).
    #[inline]
    pub fn sample_ns(&self, rng: &mut Rng) -> u64 {
        let draw_ns = match self {
            Distribution::Constant { value_ns } => *value_ns,
            Distribution::Exponential { mean_ns } => {
                let unit: f64 = rd::Exp1.sample(rng);
                unit * mean_ns
            }
            Distribution::Uniform { min_ns, max_ns } => {
                min_ns + (max_ns - min_ns) * rng.random::<f64>()
            }
            // The cut at 0 is the clamp in `round_ns`.
            Distribution::Normal { sampler, .. } => sampler.sample(rng),
            Distribution::Lognormal { sampler, .. } => sampler.sample(rng),
            Distribution::Gamma { sampler, .. } => sampler.sample(rng),
            Distribution::Erlang { sampler, .. } => sampler.sample(rng),
            Distribution::Weibull { sampler, .. } => sampler.sample(rng),
            Distribution::Pareto { sampler, .. } => sampler.sample(rng),
            Distribution::Empirical(empirical) => empirical.sample(rng),
            Distribution::Mixture(mixture) => return mixture.sample_ns(rng),
        };
        round_ns(draw_ns)
    }

    /// The exact mean in nanoseconds.
    pub fn mean_ns(&self) -> f64 {
        match self {
            Distribution::Constant { value_ns } => *value_ns,
            Distribution::Exponential { mean_ns } => *mean_ns,
            Distribution::Uniform { min_ns, max_ns } => (min_ns + max_ns) / 2.0,
            Distribution::Normal {
                mean_ns, stddev_ns, ..
            } => cut_normal_moments(*mean_ns, *stddev_ns).0,
            Distribution::Lognormal {
                mu_ln_ns, sigma, ..
            } => (mu_ln_ns + sigma * sigma / 2.0).exp(),
            Distribution::Gamma { mean_ns, .. } => *mean_ns,
            Distribution::Erlang { mean_ns, .. } => *mean_ns,
            Distribution::Weibull {
                shape, scale_ns, ..
            } => scale_ns * statrs::function::gamma::gamma(1.0 + 1.0 / shape),
            Distribution::Pareto {
                scale_ns, shape, ..
            } => shape * scale_ns / (shape - 1.0),
            Distribution::Empirical(empirical) => empirical.moments().0,
            Distribution::Mixture(mixture) => mixture
                .weights
                .iter()
                .zip(&mixture.parts)
                .map(|(weight, part)| weight * part.mean_ns())
                .sum(),
        }
    }

    /// The exact second moment `E[X^2]` in ns², or `f64::INFINITY` when it is infinite
    /// (a Pareto with shape <= 2, or a mixture with such a part).
    pub fn second_moment_ns2(&self) -> f64 {
        match self {
            Distribution::Constant { value_ns } => value_ns * value_ns,
            Distribution::Exponential { mean_ns } => 2.0 * mean_ns * mean_ns,
            Distribution::Uniform { min_ns, max_ns } => {
                (min_ns * min_ns + min_ns * max_ns + max_ns * max_ns) / 3.0
            }
            Distribution::Normal {
                mean_ns, stddev_ns, ..
            } => cut_normal_moments(*mean_ns, *stddev_ns).1,
            Distribution::Lognormal {
                mu_ln_ns, sigma, ..
            } => (2.0 * mu_ln_ns + 2.0 * sigma * sigma).exp(),
            Distribution::Gamma { mean_ns, cv, .. } => mean_ns * mean_ns * (1.0 + cv * cv),
            Distribution::Erlang { k, mean_ns, .. } => {
                mean_ns * mean_ns * (1.0 + 1.0 / f64::from(*k))
            }
            Distribution::Weibull {
                shape, scale_ns, ..
            } => scale_ns * scale_ns * statrs::function::gamma::gamma(1.0 + 2.0 / shape),
            Distribution::Pareto {
                scale_ns, shape, ..
            } => {
                if *shape <= 2.0 {
                    f64::INFINITY
                } else {
                    shape * scale_ns * scale_ns / (shape - 2.0)
                }
            }
            Distribution::Empirical(empirical) => empirical.moments().1,
            Distribution::Mixture(mixture) => mixture
                .weights
                .iter()
                .zip(&mixture.parts)
                .map(|(weight, part)| weight * part.second_moment_ns2())
                .sum(),
        }
    }

    /// Whether the distribution is exactly exponential, so that Markovian (M/M/c) formulas
    /// apply: `exponential`, and also `gamma` with cv 1, `erlang` with k 1, `weibull` with
    /// shape 1, and a mixture whose parts are all exponential with the same mean.
    pub fn is_exponential(&self) -> bool {
        match self {
            Distribution::Exponential { .. } => true,
            Distribution::Gamma { cv, .. } => *cv == 1.0,
            Distribution::Erlang { k, .. } => *k == 1,
            Distribution::Weibull { shape, .. } => *shape == 1.0,
            Distribution::Mixture(mixture) => mixture.all_parts_alike(Distribution::is_exponential),
            _ => false,
        }
    }

    /// Whether every draw is the same value (M/D/c formulas apply): `constant`, and also a
    /// `uniform` with min = max, a `normal` with stddev 0, a flat `empirical`, and a mixture
    /// of constants with the same value.
    pub fn is_constant(&self) -> bool {
        match self {
            Distribution::Constant { .. } => true,
            Distribution::Uniform { min_ns, max_ns } => min_ns == max_ns,
            Distribution::Normal { stddev_ns, .. } => *stddev_ns == 0.0,
            Distribution::Empirical(empirical) => {
                empirical.knots.first().map(|knot| knot.1) == empirical.knots.last().map(|k| k.1)
            }
            Distribution::Mixture(mixture) => mixture.all_parts_alike(Distribution::is_constant),
            _ => false,
        }
    }

    /// A short description for reports, e.g. `lognormal(median 4ms, p99 30ms)`.
    pub fn describe(&self) -> String {
        match self {
            Distribution::Constant { value_ns } => format!("constant({})", format_ns(*value_ns)),
            Distribution::Exponential { mean_ns } => {
                format!("exponential(mean {})", format_ns(*mean_ns))
            }
            Distribution::Uniform { min_ns, max_ns } => format!(
                "uniform(min {}, max {})",
                format_ns(*min_ns),
                format_ns(*max_ns)
            ),
            Distribution::Normal {
                mean_ns, stddev_ns, ..
            } => format!(
                "normal(mean {}, stddev {}, cut at 0)",
                format_ns(*mean_ns),
                format_ns(*stddev_ns)
            ),
            Distribution::Lognormal { given, .. } => match given {
                LognormalParams::MedianP99 { median_ns, p99_ns } => format!(
                    "lognormal(median {}, p99 {})",
                    format_ns(*median_ns),
                    format_ns(*p99_ns)
                ),
                LognormalParams::MeanCv { mean_ns, cv } => {
                    format!("lognormal(mean {}, cv {cv})", format_ns(*mean_ns))
                }
            },
            Distribution::Gamma { mean_ns, cv, .. } => {
                format!("gamma(mean {}, cv {cv})", format_ns(*mean_ns))
            }
            Distribution::Erlang { k, mean_ns, .. } => {
                format!("erlang(k {k}, mean {})", format_ns(*mean_ns))
            }
            Distribution::Weibull {
                shape, scale_ns, ..
            } => format!("weibull(shape {shape}, scale {})", format_ns(*scale_ns)),
            Distribution::Pareto {
                scale_ns, shape, ..
            } => format!("pareto(scale {}, shape {shape})", format_ns(*scale_ns)),
            Distribution::Empirical(empirical) => {
                let points: Vec<String> = empirical
                    .given
                    .iter()
                    .map(|(key, value_ns)| format!("{key} {}", format_ns(*value_ns)))
                    .collect();
                format!("empirical({})", points.join(", "))
            }
            Distribution::Mixture(mixture) => {
                let parts: Vec<String> = mixture
                    .weights
                    .iter()
                    .zip(&mixture.parts)
                    .map(|(weight, part)| {
                        let percent = format!("{:.3}", weight * 100.0);
                        let percent = percent.trim_end_matches('0').trim_end_matches('.');
                        format!("{percent}% {}", part.describe())
                    })
                    .collect();
                format!("mixture({})", parts.join(", "))
            }
        }
    }
}

impl Empirical {
    /// The `(q, value_ns)` knots of the inverse CDF, from q = 0 to q = 1.
    pub fn knots(&self) -> &[(f64, f64)] {
        &self.knots
    }

    /// The inverse CDF at `q` in [0, 1].
    pub fn quantile_ns(&self, q: f64) -> f64 {
        let q = q.clamp(0.0, 1.0);
        // The segment whose left knot is the last one at or below q; q = 1 uses the last
        // segment's right end, which the same formula reaches.
        let segment = self
            .knots
            .partition_point(|knot| knot.0 <= q)
            .clamp(1, self.knots.len() - 1)
            - 1;
        let (q0, value0_ns) = self.knots[segment];
        value0_ns + (q - q0) * self.slopes_ns[segment]
    }

    #[inline]
    fn sample(&self, rng: &mut Rng) -> f64 {
        self.quantile_ns(rng.random::<f64>())
    }

    /// Exact (mean, second moment) by integrating the piecewise-linear inverse CDF: on a
    /// segment from (q0, a) to (q1, b), the integral of v is (q1-q0)(a+b)/2 and the integral
    /// of v² is (q1-q0)(a²+ab+b²)/3.
    fn moments(&self) -> (f64, f64) {
        self.knots
            .windows(2)
            .fold((0.0, 0.0), |(mean, second), pair| {
                let ((q0, a), (q1, b)) = (pair[0], pair[1]);
                let width = q1 - q0;
                (
                    mean + width * (a + b) / 2.0,
                    second + width * (a * a + a * b + b * b) / 3.0,
                )
            })
    }
}

impl Mixture {
    /// The parts with their normalized weights.
    pub fn parts(&self) -> impl Iterator<Item = (f64, &Distribution)> {
        self.weights.iter().copied().zip(&self.parts)
    }

    #[inline]
    fn sample_ns(&self, rng: &mut Rng) -> u64 {
        let u: f64 = rng.random();
        let index = self
            .cumulative
            .partition_point(|&c| c <= u)
            .min(self.parts.len() - 1);
        self.parts[index].sample_ns(rng)
    }

    /// Whether every part has `property` and all parts have the same mean (so the mixture is
    /// one distribution of that family).
    fn all_parts_alike(&self, property: fn(&Distribution) -> bool) -> bool {
        let first_mean_ns = self.parts[0].mean_ns();
        self.parts
            .iter()
            .all(|part| property(part) && part.mean_ns() == first_mean_ns)
    }
}

/// Rounds a draw to integer nanoseconds. The clamp is what cuts the normal at 0 (and turns a
/// NaN, which no valid distribution produces, into 0); adding 0.5 before the truncating cast
/// rounds a non-negative value without a libm call.
#[inline]
fn round_ns(draw_ns: f64) -> u64 {
    (draw_ns.clamp(0.0, MAX_DRAW_NS) + 0.5) as u64
}

/// Mean and second moment of `max(0, X)` with `X ~ N(mean, stddev^2)`. With a = mean/stddev:
/// `E = mean Φ(a) + stddev φ(a)` and `E[.^2] = (mean² + stddev²) Φ(a) + mean stddev φ(a)`.
fn cut_normal_moments(mean_ns: f64, stddev_ns: f64) -> (f64, f64) {
    if stddev_ns == 0.0 {
        let value_ns = mean_ns.max(0.0);
        return (value_ns, value_ns * value_ns);
    }
    let a = mean_ns / stddev_ns;
    let cdf = 0.5 * statrs::function::erf::erfc(-a / std::f64::consts::SQRT_2);
    let pdf = (-a * a / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
    (
        mean_ns * cdf + stddev_ns * pdf,
        (mean_ns * mean_ns + stddev_ns * stddev_ns) * cdf + mean_ns * stddev_ns * pdf,
    )
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
    let Some(table) = value.as_table() else {
        let found = match value {
            toml::Value::String(text) => format!("the string \"{text}\""),
            other => a_type(other),
        };
        let example = if matches!(value, toml::Value::String(_)) {
            r#"{ dist = "constant", value = "4ms" }"#
        } else {
            r#"{ dist = "exponential", mean = "2ms" }"#
        };
        problems.push(Problem::new(
            path,
            format!("expected a distribution table such as {example}, not {found}"),
        ));
        return None;
    };
    let mut reader = Reader {
        table,
        path,
        dist: "",
        problems,
    };
    let weight = if in_mixture {
        reader.positive_number("weight")
    } else {
        Some(1.0)
    };
    let valid_names = || {
        DISTS
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let dist = match table.get("dist") {
        None => {
            reader.problem_here(format!(
                "missing \"dist\"; valid distributions: {}",
                valid_names()
            ));
            None
        }
        Some(toml::Value::String(name)) => match DISTS.iter().find(|(known, _)| known == name) {
            Some((known, _)) => Some(*known),
            None => {
                let names: Vec<&str> = DISTS.iter().map(|(known, _)| *known).collect();
                let hint = nearest(name, &names)
                    .map(|near| format!("did you mean \"{near}\"? "))
                    .unwrap_or_default();
                reader.problem(
                    "dist",
                    format!(
                        "unknown distribution \"{name}\"; {hint}valid distributions: {}",
                        valid_names()
                    ),
                );
                None
            }
        },
        Some(other) => {
            reader.problem(
                "dist",
                format!(
                    "dist must be a string naming the distribution, not {}; valid: {}",
                    a_type(other),
                    valid_names()
                ),
            );
            None
        }
    };
    // Without a known name the other keys cannot be checked: they depend on the distribution.
    let dist = dist?;
    reader.dist = dist;
    reader.check_keys(in_mixture);
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
    if problems.len() > before {
        return None;
    }
    Some((built?, weight?))
}

fn build_uniform(reader: &mut Reader) -> Option<Distribution> {
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

fn build_normal(reader: &mut Reader) -> Option<Distribution> {
    let mean_ns = reader.duration_ns("mean");
    let stddev_ns = reader.duration_ns("stddev");
    let (mean_ns, stddev_ns) = (mean_ns?, stddev_ns?);
    Some(Distribution::Normal {
        mean_ns,
        stddev_ns,
        sampler: sampler(reader, "stddev", rd::Normal::new(mean_ns, stddev_ns))?,
    })
}

fn build_lognormal(reader: &mut Reader) -> Option<Distribution> {
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
            Some(Distribution::Lognormal {
                mu_ln_ns,
                sigma,
                given: LognormalParams::MedianP99 { median_ns, p99_ns },
                sampler: sampler(reader, "p99", rd::LogNormal::new(mu_ln_ns, sigma))?,
            })
        }
        ["mean", "cv"] => {
            let mean_ns = reader.positive_duration_ns("mean");
            let cv = bounded_cv(reader);
            let (mean_ns, cv) = (mean_ns?, cv?);
            let sigma_squared = (cv * cv).ln_1p();
            let mu_ln_ns = mean_ns.ln() - sigma_squared / 2.0;
            let sigma = sigma_squared.sqrt();
            Some(Distribution::Lognormal {
                mu_ln_ns,
                sigma,
                given: LognormalParams::MeanCv { mean_ns, cv },
                sampler: sampler(reader, "cv", rd::LogNormal::new(mu_ln_ns, sigma))?,
            })
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
fn bounded_cv(reader: &mut Reader) -> Option<f64> {
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

/// A sampler from rand_distr, or a problem at `key` if it refuses the parameters (which the
/// checks above should already have caught: this keeps a refusal from ever being silent).
fn sampler<T, E: std::fmt::Display>(
    reader: &mut Reader,
    key: &str,
    built: Result<T, E>,
) -> Option<T> {
    match built {
        Ok(sampler) => Some(sampler),
        Err(e) => {
            reader.problem(
                key,
                format!("these parameters cannot be sampled ({e}); use less extreme values"),
            );
            None
        }
    }
}

fn build_gamma(reader: &mut Reader) -> Option<Distribution> {
    let mean_ns = reader.positive_duration_ns("mean");
    let cv = bounded_cv(reader);
    let (mean_ns, cv) = (mean_ns?, cv?);
    let shape = 1.0 / (cv * cv);
    Some(Distribution::Gamma {
        mean_ns,
        cv,
        sampler: sampler(reader, "cv", rd::Gamma::new(shape, mean_ns / shape))?,
    })
}

fn build_erlang(reader: &mut Reader) -> Option<Distribution> {
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
    Some(Distribution::Erlang {
        k,
        mean_ns,
        sampler: sampler(
            reader,
            "k",
            rd::Gamma::new(f64::from(k), mean_ns / f64::from(k)),
        )?,
    })
}

fn build_weibull(reader: &mut Reader) -> Option<Distribution> {
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
    Some(Distribution::Weibull {
        shape,
        scale_ns,
        sampler: sampler(reader, "shape", rd::Weibull::new(scale_ns, shape))?,
    })
}

fn build_pareto(reader: &mut Reader) -> Option<Distribution> {
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
    Some(Distribution::Pareto {
        scale_ns,
        shape,
        sampler: sampler(reader, "shape", rd::Pareto::new(scale_ns, shape))?,
    })
}

fn build_empirical(reader: &mut Reader) -> Option<Distribution> {
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

    let mut knots: Vec<(f64, f64)> = points.iter().map(|&(q, _, v)| (q, v)).collect();
    if knots[0].0 > 0.0 {
        // Without p0/min the profile starts at 0: nothing is faster than instant.
        knots.insert(0, (0.0, 0.0));
    }
    let last = knots.len() - 1;
    if knots[last].0 < 1.0 {
        // Without p100/max the last segment's slope carries on to q = 1.
        let ((q0, value0_ns), (q1, value1_ns)) = (knots[last - 1], knots[last]);
        let slope_ns = (value1_ns - value0_ns) / (q1 - q0);
        knots.push((1.0, value1_ns + slope_ns * (1.0 - q1)));
    }
    let slopes_ns = knots
        .windows(2)
        .map(|pair| (pair[1].1 - pair[0].1) / (pair[1].0 - pair[0].0))
        .collect();
    let given = points
        .iter()
        .map(|&(_, key, value_ns)| (key.to_string(), value_ns))
        .collect();
    Some(Distribution::Empirical(Empirical {
        knots,
        slopes_ns,
        given,
    }))
}

fn build_mixture(reader: &mut Reader) -> Option<Distribution> {
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
    // Weights are relative: 9 and 1 mean the same as 0.9 and 0.1.
    let total: f64 = raw_weights.iter().sum();
    let weights: Vec<f64> = raw_weights.iter().map(|weight| weight / total).collect();
    let mut cumulative: Vec<f64> = weights
        .iter()
        .scan(0.0, |sum, weight| {
            *sum += weight;
            Some(*sum)
        })
        .collect();
    *cumulative.last_mut().expect("parts is not empty") = 1.0;
    Some(Distribution::Mixture(Mixture {
        parts,
        weights,
        cumulative,
    }))
}

/// A TOML value's type with its article, for messages: "an integer", "a table".
fn a_type(value: &toml::Value) -> String {
    let name = value.type_str();
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

/// The nearest candidate to a misspelt key, if it is close enough to be a plausible typo.
fn nearest<'c>(key: &str, candidates: &[&'c str]) -> Option<&'c str> {
    candidates
        .iter()
        .map(|candidate| (strsim::levenshtein(key, candidate), *candidate))
        .min_by_key(|(distance, _)| *distance)
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len().max(key.len()) / 2))
        .map(|(_, candidate)| candidate)
}

/// Reads the keys of one distribution table, pushing a problem for every mistake.
struct Reader<'a> {
    table: &'a toml::Table,
    path: &'a str,
    dist: &'static str,
    problems: &'a mut Vec<Problem>,
}

impl<'a> Reader<'a> {
    fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems
            .push(Problem::new(join(self.path, key), message));
    }

    fn problem_here(&mut self, message: impl Into<String>) {
        self.problems.push(Problem::new(self.path, message));
    }

    fn example(&self) -> &'static str {
        DISTS
            .iter()
            .find(|(name, _)| *name == self.dist)
            .map_or("", |(_, example)| example)
    }

    /// Reports every key this distribution does not take, suggesting the nearest valid one.
    fn check_keys(&mut self, in_mixture: bool) {
        let valid = parameter_keys(self.dist);
        let table = self.table;
        for key in table.keys() {
            let known = key == "dist"
                || (key == "weight" && in_mixture)
                || if self.dist == "empirical" {
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
            } else if self.dist == "empirical" {
                let hint = if key == "median" {
                    "use p50 for the median; ".to_string()
                } else {
                    nearest(key, valid)
                        .map(|near| format!("did you mean \"{near}\"? "))
                        .unwrap_or_default()
                };
                format!(
                    "unknown key \"{key}\" for empirical; {hint}keys are percentiles like p50, \
                     p90, p99, p999 (99.9th), or min and max"
                )
            } else {
                let hint = nearest(key, valid)
                    .map(|near| format!("did you mean \"{near}\"? "))
                    .unwrap_or_default();
                format!(
                    "unknown key \"{key}\" for {}; {hint}it takes {}",
                    self.dist,
                    valid.join(", ")
                )
            };
            self.problem(key, message);
        }
    }

    /// The value of a required key, or a problem naming it with a complete example.
    fn required(&mut self, key: &str) -> Option<&'a toml::Value> {
        let table = self.table;
        let value = table.get(key);
        if value.is_none() {
            let example = if key == "weight" {
                r#"{ weight = 0.9, dist = "exponential", mean = "2ms" }"#
            } else {
                self.example()
            };
            self.problem_here(format!("missing \"{key}\"; write e.g. {example}"));
        }
        value
    }

    fn duration_ns(&mut self, key: &str) -> Option<f64> {
        let value = self.required(key)?;
        self.duration_value_ns(key, value)
    }

    fn duration_value_ns(&mut self, key: &str, value: &toml::Value) -> Option<f64> {
        let message = match value {
            toml::Value::String(text) => match parse_duration_ns(text) {
                Ok(ns) => return Some(ns as f64),
                Err(message) => message,
            },
            toml::Value::Integer(_) | toml::Value::Float(_) => format!(
                "{key} must be a duration with a unit such as \"{value}ms\", not the bare number {value}"
            ),
            other => format!(
                "{key} must be a duration such as \"4ms\", not {}",
                a_type(other)
            ),
        };
        self.problem(key, message);
        None
    }

    fn positive_duration_ns(&mut self, key: &str) -> Option<f64> {
        let ns = self.duration_ns(key)?;
        if ns > 0.0 {
            Some(ns)
        } else {
            self.problem(key, format!("{key} must be greater than 0"));
            None
        }
    }

    fn number(&mut self, key: &str) -> Option<f64> {
        let value = self.required(key)?;
        let message = match value {
            toml::Value::Integer(integer) => return Some(*integer as f64),
            toml::Value::Float(float) if float.is_finite() => return Some(*float),
            toml::Value::Float(float) => format!("{key} must be a finite number, not {float}"),
            toml::Value::String(text) => {
                format!("{key} must be a number without quotes or unit, such as {key} = 1.5, not the string \"{text}\"")
            }
            other => format!("{key} must be a number, not {}", a_type(other)),
        };
        self.problem(key, message);
        None
    }

    fn positive_number(&mut self, key: &str) -> Option<f64> {
        let number = self.number(key)?;
        if number > 0.0 {
            Some(number)
        } else {
            self.problem(key, format!("{key} must be greater than 0, not {number}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Distribution {
        let value: toml::Value =
            toml::from_str::<toml::Table>(&format!("d = {text}")).unwrap()["d"].clone();
        let mut problems = Vec::new();
        let dist = Distribution::parse(&value, "d", &mut problems);
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

    /// Midpoint-rule integrals of v(q) and v(q)^2 over (0, 1) with `steps` steps.
    fn integrate(quantile: impl Fn(f64) -> f64, steps: usize) -> (f64, f64) {
        let width = 1.0 / steps as f64;
        (0..steps).fold((0.0, 0.0), |(mean, second), i| {
            let v = quantile((i as f64 + 0.5) * width);
            (mean + v * width, second + v * v * width)
        })
    }

    #[test]
    fn empirical_moments_match_numerical_integration() {
        let dist = parse(r#"{ dist = "empirical", p50 = "10ms", p90 = "20ms", p99 = "50ms" }"#);
        let Distribution::Empirical(empirical) = &dist else {
            panic!("not empirical")
        };
        let (mean, second) = integrate(|q| empirical.quantile_ns(q), 1_000_000);
        assert!((dist.mean_ns() / mean - 1.0).abs() < 1e-9);
        assert!((dist.second_moment_ns2() / second - 1.0).abs() < 1e-9);
    }

    #[test]
    fn cut_normal_moments_match_numerical_integration() {
        // Integrate max(0, x) against the normal density with the midpoint rule over +-12 sd.
        for (mean_ns, stddev_ns) in [(1e6, 2e6), (10e6, 4e6), (0.0, 1e6)] {
            let (analytic_mean, analytic_second) = cut_normal_moments(mean_ns, stddev_ns);
            let steps = 200_000;
            let (lo, hi) = (mean_ns - 12.0 * stddev_ns, mean_ns + 12.0 * stddev_ns);
            let width = (hi - lo) / steps as f64;
            let (mut mean, mut second) = (0.0, 0.0);
            for i in 0..steps {
                let x = lo + (i as f64 + 0.5) * width;
                let z = (x - mean_ns) / stddev_ns;
                let density =
                    (-z * z / 2.0).exp() / (stddev_ns * (2.0 * std::f64::consts::PI).sqrt());
                let cut = x.max(0.0);
                mean += cut * density * width;
                second += cut * cut * density * width;
            }
            assert!(
                (analytic_mean / mean - 1.0).abs() < 1e-6,
                "{mean_ns} {stddev_ns}"
            );
            assert!(
                (analytic_second / second - 1.0).abs() < 1e-6,
                "{mean_ns} {stddev_ns}"
            );
        }
    }

    #[test]
    fn rounding_never_goes_negative_or_past_the_cap() {
        assert_eq!(round_ns(-5.0), 0);
        assert_eq!(round_ns(f64::NAN), 0);
        assert_eq!(round_ns(2.4), 2);
        assert_eq!(round_ns(2.6), 3);
        assert_eq!(round_ns(f64::INFINITY), MAX_DRAW_NS as u64);
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
