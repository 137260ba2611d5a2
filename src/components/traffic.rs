//! Arrivals: open-loop Poisson at a constant rate, at a shaped rate (`shape.rs`), replayed
//! from a trace, or a closed loop of users who think between requests.

use super::shape::ShapedSource;
use crate::engine::rng::{self, Rng, Stream};
use crate::engine::time::{Nanos, NS_PER_S};
use crate::scenario::model::{Arrivals, Model};
use rand::Rng as _;
use rand_distr::Exp1;

/// Exponential gaps between arrivals at a fixed rate, drawn from the traffic's own
/// sequential stream (the n-th gap is the same whatever the design does with the requests).
pub struct PoissonSource {
    mean_gap_ns: f64,
    rng: Rng,
}

impl PoissonSource {
    pub fn new(rate_per_s: f64, seed: u64, replication: u32) -> Self {
        PoissonSource {
            mean_gap_ns: NS_PER_S / rate_per_s,
            rng: rng::stream(seed, replication, "traffic", "interarrival"),
        }
    }

    /// Time from one arrival to the next.
    pub fn next_gap_ns(&mut self) -> Nanos {
        let unit: f64 = self.rng.sample(Exp1);
        // Adding 0.5 before the truncating cast rounds a non-negative gap without a libm call.
        // Cast through i64 (one conversion instruction, where an unsigned cast also converts
        // the values above 2^63 apart): a gap beyond i64::MAX ns saturates there, past the
        // clock limit and so past the run's end either way.
        (unit * self.mean_gap_ns + 0.5) as i64 as Nanos
    }
}

/// Where the next request comes from.
pub enum Source {
    Poisson(PoissonSource),
    Shaped(Box<ShapedSource>),
    /// The index of the next arrival time of the model's replayed trace.
    Replay(usize),
    /// Users think between requests: a keyed draw per request (and per user for the first).
    Closed(Stream),
}

impl Source {
    pub fn new(model: &Model, replication: u32) -> Source {
        match &model.traffic.arrivals {
            Arrivals::Poisson => Source::Poisson(PoissonSource::new(
                model.traffic.rate_per_s,
                model.seed,
                replication,
            )),
            Arrivals::Shaped(shape) => Source::Shaped(Box::new(ShapedSource::new(
                shape,
                model.duration_ns,
                model.seed,
                replication,
            ))),
            Arrivals::Replay(_) => Source::Replay(0),
            Arrivals::Closed { .. } => Source::Closed(Stream::new(
                model.seed,
                replication,
                "traffic",
                "think_time",
            )),
        }
    }
}

/// The keyed draw of a user's first think time is indexed apart from every request's.
pub(super) const FIRST_THINK_SITE: u64 = 0x7573_6572_7374_6172;

#[cfg(test)]
mod tests {
    use super::*;

    /// Poisson at 1000/s: gaps are exponential with mean 1 ms, so over N = 1e6 gaps the mean
    /// is 1 ms within 4.5 standard errors (sd of the mean = 1 ms / sqrt(N) = 0.1%), and the
    /// fraction of gaps above 1 ms is e^-1 = 0.3679 (sd 0.05%).
    #[test]
    fn gaps_are_exponential_with_mean_one_over_the_rate() {
        let mut source = PoissonSource::new(1000.0, 7, 0);
        let n = 1_000_000;
        let gaps: Vec<Nanos> = (0..n).map(|_| source.next_gap_ns()).collect();
        let mean_ns = gaps.iter().sum::<u64>() as f64 / n as f64;
        assert!(
            (mean_ns / 1e6 - 1.0).abs() < 0.0045,
            "mean gap {mean_ns} ns"
        );
        let above = gaps.iter().filter(|&&g| g > 1_000_000).count() as f64 / n as f64;
        assert!(
            (above - (-1.0f64).exp()).abs() < 0.0025,
            "P(gap > mean) = {above}"
        );
    }
}
