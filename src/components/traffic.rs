//! Open-loop Poisson arrivals.

use super::system::{Event, System};
use crate::engine::queue::EventQueue;
use crate::engine::rng::{self, Rng};
use crate::engine::time::{Nanos, NS_PER_S};
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
        (unit * self.mean_gap_ns + 0.5) as Nanos
    }
}

impl System<'_> {
    /// The first arrival, if it falls inside the run.
    pub(super) fn schedule_first_arrival(&mut self, events: &mut EventQueue<Event>) {
        let first_ns = self.traffic.next_gap_ns();
        if first_ns < self.model.duration_ns {
            events.schedule(first_ns, Event::Arrival);
        }
    }

    /// A request arrives; the next one is scheduled if it falls inside the run.
    pub(super) fn on_arrival(&mut self, now_ns: Nanos, events: &mut EventQueue<Event>) {
        let next_ns = now_ns.saturating_add(self.traffic.next_gap_ns());
        if next_ns < self.model.duration_ns {
            events.schedule(next_ns, Event::Arrival);
        }
        self.begin_request(now_ns, events);
    }
}

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
