//! Open-loop Poisson arrivals.

use crate::engine::rng::{self, Rng};
use crate::engine::time::{Nanos, NS_PER_S};
use rand::Rng as _;
use rand_distr::Exp1;

/// Exponential gaps between arrivals at a fixed rate, drawn from the traffic's own stream.
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
        (unit * self.mean_gap_ns).round() as Nanos
    }
}
