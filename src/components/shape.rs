//! Arrivals at a rate that changes over time, sampled exactly by thinning (Lewis and
//! Shedler): between breaks of the rate function (a step's or spike's corners, a trace row,
//! a diurnal grid point, a burst switching on or off) the rate is bounded by a constant;
//! candidates arrive as a Poisson process at that bound, and each is kept with probability
//! `rate(t) / bound`. A candidate that would fall past the segment's end is discarded and the
//! clock moves to the end (the exponential is memoryless, so this is exact). What is kept is
//! a Poisson process with exactly the intended intensity, not a piecewise-constant
//! approximation of it.
//!
//! Bursts are a two-state Markov chain (off, on) with exponential holding times; its switch
//! times are breaks too, drawn from their own stream as the clock reaches them.

use crate::engine::rng::{self, Rng};
use crate::engine::time::Nanos;
use crate::scenario::world::Shape;
use rand::Rng as _;
use rand_distr::Exp1;

/// A diurnal profile's rate is bounded over grid cells of a 48th of its period (30 minutes
/// for a day): the bound is within `2 pi a / 48` of the rate there, so about 1 candidate in
/// 10 is discarded at a 3:1 peak-to-trough ratio.
const DIURNAL_CELLS: f64 = 48.0;

/// The state of a shaped arrival process.
pub struct ShapedSource {
    shape: Shape,
    breaks: Vec<Nanos>,
    next_break: usize,
    duration_ns: Nanos,
    /// Continuous time of the last candidate (or break reached), in nanoseconds.
    t_ns: f64,
    burst_on: bool,
    next_switch_ns: f64,
    gaps: Rng,
    accept: Rng,
    switches: Rng,
}

impl ShapedSource {
    pub fn new(shape: &Shape, duration_ns: Nanos, seed: u64, replication: u32) -> Self {
        let mut switches = rng::stream(seed, replication, "traffic", "bursts");
        let next_switch_ns = match &shape.bursts {
            Some(b) => switches.sample::<f64, _>(Exp1) * b.mean_off_ns,
            None => f64::INFINITY,
        };
        ShapedSource {
            shape: shape.clone(),
            breaks: shape.breaks(duration_ns),
            next_break: 0,
            duration_ns,
            t_ns: 0.0,
            burst_on: false,
            next_switch_ns,
            gaps: rng::stream(seed, replication, "traffic", "interarrival"),
            accept: rng::stream(seed, replication, "traffic", "thinning"),
            switches,
        }
    }

    /// The end of the segment that starts at the current time.
    fn segment_end_ns(&mut self) -> f64 {
        while self
            .breaks
            .get(self.next_break)
            .is_some_and(|&b| b as f64 <= self.t_ns)
        {
            self.next_break += 1;
        }
        let mut end = self
            .breaks
            .get(self.next_break)
            .map_or(self.duration_ns as f64, |&b| b as f64)
            .min(self.duration_ns as f64)
            .min(self.next_switch_ns);
        if let Some(d) = &self.shape.diurnal {
            let cell = d.period_ns as f64 / DIURNAL_CELLS;
            end = end.min(((self.t_ns / cell).floor() + 1.0) * cell);
        }
        end
    }

    /// The next arrival after the last, or `None` when none falls before the run's end.
    pub fn next_arrival_ns(&mut self) -> Option<Nanos> {
        let duration = self.duration_ns as f64;
        while self.t_ns < duration {
            let end = self.segment_end_ns();
            let bound = self.shape.bound_per_s(self.t_ns, end, self.burst_on) / 1e9;
            let candidate = if bound > 0.0 {
                self.t_ns + self.gaps.sample::<f64, _>(Exp1) / bound
            } else {
                f64::INFINITY
            };
            if candidate >= end {
                self.t_ns = end;
                if end >= self.next_switch_ns {
                    self.switch_bursts();
                }
                continue;
            }
            self.t_ns = candidate;
            let rate = self.shape.rate_per_s(candidate, self.burst_on) / 1e9;
            if self.accept.random::<f64>() * bound < rate {
                let at = candidate.round() as Nanos;
                return (at < self.duration_ns).then_some(at);
            }
        }
        None
    }

    fn switch_bursts(&mut self) {
        let Some(b) = self.shape.bursts else { return };
        self.burst_on = !self.burst_on;
        let mean = if self.burst_on {
            b.mean_on_ns
        } else {
            b.mean_off_ns
        };
        self.next_switch_ns += self.switches.sample::<f64, _>(Exp1) * mean;
    }
}
