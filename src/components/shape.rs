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

/// The first grid point `k x cell_ns` after `t_ns`. At a point the clock reached as
/// `k x cell_ns`, `t_ns / cell_ns` can round to just under `k` when the cell is not a whole
/// number of nanoseconds (a period of 1 s: 20,833,333.3 ns), and the next point computed from
/// its floor is `t_ns` itself: a segment of no length, which once kept the clock there for
/// ever.
fn next_cell_ns(t_ns: f64, cell_ns: f64) -> f64 {
    let next = ((t_ns / cell_ns).floor() + 1.0) * cell_ns;
    if next > t_ns {
        next
    } else {
        next + cell_ns
    }
}

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
            end = end.min(next_cell_ns(self.t_ns, d.period_ns as f64 / DIURNAL_CELLS));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every grid point of a cell that is not a whole number of nanoseconds, reached as the
    /// clock reaches it, is followed by a later one, at most a cell on: 100 periods of 1 s,
    /// 2 s and 7 s (48 cells each) take at most two steps a cell (a point that rounds to just
    /// below `k x cell` is followed by `k x cell` itself, a sliver). Without the second step of
    /// `next_cell_ns` the clock stuck at the first such point of a 1 s period.
    #[test]
    fn the_next_diurnal_grid_point_is_always_later() {
        for period_ns in [1e9, 2e9, 7e9] {
            let cell = period_ns / DIURNAL_CELLS;
            let (mut t, mut steps) = (0.0, 0);
            while t < 100.0 * period_ns {
                let next = next_cell_ns(t, cell);
                assert!(next > t, "period {period_ns} ns: stuck at {t}");
                assert!(next - t <= cell * (1.0 + 1e-9), "skipped a cell after {t}");
                t = next;
                steps += 1;
                assert!(
                    steps <= 2 * 4_800,
                    "period {period_ns} ns: {steps} steps to {t}"
                );
            }
        }
    }
}
