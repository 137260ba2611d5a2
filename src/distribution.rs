//! Distributions of durations (service times, think times, delays) as the simulation samples
//! them: integer nanoseconds on the hot path, and the exact moments that the theory compares
//! against.
//!
//! A leaf: no TOML and no scenario knowledge. `scenario::distribution` parses the inline tables
//! (`{ dist = "lognormal", median = "4ms", p99 = "30ms" }`) and checks every parameter; the
//! constructors here only refuse what `rand_distr` itself refuses. After construction nothing
//! can fail: [`Distribution::sample_ns`] does no allocation and no setup, and the moments are
//! closed forms, not estimates.

use crate::engine::time::format_ns;
use rand_distr as rd;
use rand_distr::Distribution as _;

/// The standard normal quantile at 0.99, so that `lognormal {median, p99}` is solved exactly.
pub const Z_99: f64 = 2.326_347_874_040_840_8;

/// Draws are capped at 100 years (the longest duration a scenario may write) so that
/// `now + draw` stays far from `u64` overflow even for a heavy-tailed Pareto. The cap changes
/// nothing measurable: even a Pareto of scale 1ms and shape 1.01 exceeds it with probability
/// about 2e-13.
const MAX_DRAW_NS: f64 = 100.0 * 365.0 * 86_400e9;

/// A resolved distribution of durations, parameters in nanoseconds.
///
/// Build it with the constructors below; the variants are public so that callers can read the
/// resolved parameters, and their samplers are already consistent with them.
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

    /// `max(0, N(mean_ns, stddev_ns²))`.
    pub fn normal(mean_ns: f64, stddev_ns: f64) -> Result<Distribution, String> {
        let sampler = rd::Normal::new(mean_ns, stddev_ns).map_err(|e| e.to_string())?;
        Ok(Distribution::Normal {
            mean_ns,
            stddev_ns,
            sampler,
        })
    }

    /// `exp(N(mu_ln_ns, sigma²))`; `given` remembers how the scenario wrote it.
    pub fn lognormal(
        mu_ln_ns: f64,
        sigma: f64,
        given: LognormalParams,
    ) -> Result<Distribution, String> {
        let sampler = rd::LogNormal::new(mu_ln_ns, sigma).map_err(|e| e.to_string())?;
        Ok(Distribution::Lognormal {
            mu_ln_ns,
            sigma,
            given,
            sampler,
        })
    }

    /// Gamma with mean `mean_ns` and coefficient of variation `cv`.
    pub fn gamma(mean_ns: f64, cv: f64) -> Result<Distribution, String> {
        let shape = 1.0 / (cv * cv);
        let sampler = rd::Gamma::new(shape, mean_ns / shape).map_err(|e| e.to_string())?;
        Ok(Distribution::Gamma {
            mean_ns,
            cv,
            sampler,
        })
    }

    /// `k` exponential phases with total mean `mean_ns`.
    pub fn erlang(k: u32, mean_ns: f64) -> Result<Distribution, String> {
        let sampler =
            rd::Gamma::new(f64::from(k), mean_ns / f64::from(k)).map_err(|e| e.to_string())?;
        Ok(Distribution::Erlang {
            k,
            mean_ns,
            sampler,
        })
    }

    pub fn weibull(shape: f64, scale_ns: f64) -> Result<Distribution, String> {
        let sampler = rd::Weibull::new(scale_ns, shape).map_err(|e| e.to_string())?;
        Ok(Distribution::Weibull {
            shape,
            scale_ns,
            sampler,
        })
    }

    pub fn pareto(scale_ns: f64, shape: f64) -> Result<Distribution, String> {
        let sampler = rd::Pareto::new(scale_ns, shape).map_err(|e| e.to_string())?;
        Ok(Distribution::Pareto {
            scale_ns,
            shape,
            sampler,
        })
    }

    /// One draw in integer nanoseconds, rounded and never negative (capped at 100 years).
    ///
    /// The exponential, the most common service time, is drawn inline at the caller (a draw
    /// is a few dozen instructions, which a call and its saved registers would add half to);
    /// every other law, out of line.
    #[inline(always)]
    pub fn sample_ns<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        match self {
            Distribution::Exponential { mean_ns } => round_ns(exponential(*mean_ns, rng)),
            _ => self.sample_other_ns(rng),
        }
    }

    /// [`Distribution::sample_ns`] out of line: every law.
    #[inline(never)]
    fn sample_other_ns<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let draw_ns = match self {
            Distribution::Constant { value_ns } => *value_ns,
            Distribution::Exponential { mean_ns } => exponential(*mean_ns, rng),
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

    /// The largest draw possible, in nanoseconds (a draw is this rounded), when the
    /// distribution has one: constant, uniform, empirical (its last knot) and mixtures of
    /// those. `None` for the unbounded ones (exponential, normal, lognormal, gamma, Erlang,
    /// Weibull, Pareto), whose draws only the 100-year cap bounds.
    pub fn max_ns(&self) -> Option<f64> {
        match self {
            Distribution::Constant { value_ns } => Some(*value_ns),
            Distribution::Uniform { max_ns, .. } => Some(*max_ns),
            Distribution::Empirical(empirical) => empirical.knots.last().map(|k| k.1),
            Distribution::Mixture(mixture) => mixture
                .parts
                .iter()
                .map(Distribution::max_ns)
                .try_fold(0.0f64, |most, part| Some(most.max(part?))),
            _ => None,
        }
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
    /// The profile through `points` (`(q, key as written, value_ns)`), which the caller has
    /// checked: sorted by q, no q twice, values not decreasing, at least one q above 0.
    /// Without a point at q = 0 the profile starts at 0 (nothing is faster than instant);
    /// without one at q = 1 the last segment's slope carries on to q = 1.
    pub fn from_points(points: &[(f64, &str, f64)]) -> Distribution {
        let mut knots: Vec<(f64, f64)> = points.iter().map(|&(q, _, v)| (q, v)).collect();
        if knots[0].0 > 0.0 {
            knots.insert(0, (0.0, 0.0));
        }
        let last = knots.len() - 1;
        if knots[last].0 < 1.0 {
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
        Distribution::Empirical(Empirical {
            knots,
            slopes_ns,
            given,
        })
    }

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
    fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> f64 {
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
    /// A weighted choice between `parts` (at least one); weights are relative (9 and 1 mean
    /// the same as 0.9 and 0.1) and must be positive.
    pub fn from_parts(parts: Vec<Distribution>, raw_weights: &[f64]) -> Distribution {
        let total: f64 = raw_weights.iter().sum();
        let weights: Vec<f64> = raw_weights.iter().map(|weight| weight / total).collect();
        let mut cumulative: Vec<f64> = weights
            .iter()
            .scan(0.0, |sum, weight| {
                *sum += weight;
                Some(*sum)
            })
            .collect();
        *cumulative.last_mut().expect("a mixture has parts") = 1.0;
        Distribution::Mixture(Mixture {
            parts,
            weights,
            cumulative,
        })
    }

    /// The parts with their normalized weights.
    pub fn parts(&self) -> impl Iterator<Item = (f64, &Distribution)> {
        self.weights.iter().copied().zip(&self.parts)
    }

    #[inline]
    fn sample_ns<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> u64 {
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

/// An exponential draw of mean `mean_ns` (unrounded).
#[inline(always)]
fn exponential<R: rand::Rng + ?Sized>(mean_ns: f64, rng: &mut R) -> f64 {
    let unit: f64 = rd::Exp1.sample(rng);
    unit * mean_ns
}

/// Rounds a draw to integer nanoseconds. The clamp is what cuts the normal at 0 (and turns a
/// NaN, which no valid distribution produces, into 0); adding 0.5 before the truncating cast
/// rounds a non-negative value without a libm call.
#[inline]
fn round_ns(draw_ns: f64) -> u64 {
    // Cast through i64, exact below 2^63 as the clamp keeps it: a signed cast is one
    // conversion instruction (and its saturation checks), where an unsigned one also
    // converts the values above 2^63 apart and picks between the two.
    (draw_ns.clamp(0.0, MAX_DRAW_NS) + 0.5) as i64 as u64
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let dist =
            Empirical::from_points(&[(0.5, "p50", 10e6), (0.9, "p90", 20e6), (0.99, "p99", 50e6)]);
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
}
