//! The speed floor: an M/M/c queue simulated by the shortest loop that still does what a
//! simulator must (an event list in a binary heap, random service and arrival gaps, FIFO
//! waiting, sojourn times recorded in HDR histograms), with nothing of capsim in it. capsim's
//! engine does much more per customer (frames, keyed draws, levels, checks); the ratio of the
//! two on the same model says what that costs.

use hdrhistogram::Histogram;
use rand::SeedableRng;
use rand_distr::{Distribution, Exp};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// Sojourn times are recorded in microseconds (service times have mean 1 s).
const MICROS_PER_S: f64 = 1e6;
/// The first tenth of the customers warm the queue up and are not recorded.
const WARMUP_FRACTION: f64 = 0.1;
/// Batches for batch-means confidence intervals, as a simulator reports them.
const BATCHES: u64 = 20;

#[derive(Clone, Copy)]
struct Event {
    time_s: f64,
    /// `None` for an arrival; a departure carries its customer's arrival time.
    arrived_s: Option<f64>,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Event {}
impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Event {
    /// Reversed, so the max-heap pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.time_s.total_cmp(&self.time_s)
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 1_000_000_000_000, 3).expect("valid histogram bounds")
}

/// Simulates `customers` departures of an M/M/c queue (service rate 1) with `c` servers
/// and arrival rate `lambda`; returns the mean sojourn time of the recorded customers in
/// seconds (which the benchmark keeps, so nothing is optimized away).
pub fn mmc_floor(c: u32, lambda: f64, customers: u64, seed: u64) -> f64 {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    let gap = Exp::new(lambda).expect("a positive rate");
    let work = Exp::new(1.0).expect("a positive rate");
    let warmup = (customers as f64 * WARMUP_FRACTION) as u64;
    let batch_size = ((customers - warmup) / BATCHES).max(1);
    let mut events = BinaryHeap::with_capacity(c as usize + 2);
    let mut waiting: VecDeque<f64> = VecDeque::new();
    let mut busy = 0;
    let mut departed = 0;
    let mut sojourns = histogram();
    let mut batches: Vec<Histogram<u64>> = (0..BATCHES).map(|_| histogram()).collect();
    let mut sum_s = 0.0;
    events.push(Event {
        time_s: gap.sample(&mut rng),
        arrived_s: None,
    });
    while departed < customers {
        let Some(event) = events.pop() else { break };
        let now_s = event.time_s;
        match event.arrived_s {
            None => {
                events.push(Event {
                    time_s: now_s + gap.sample(&mut rng),
                    arrived_s: None,
                });
                if busy < c {
                    busy += 1;
                    events.push(Event {
                        time_s: now_s + work.sample(&mut rng),
                        arrived_s: Some(now_s),
                    });
                } else {
                    waiting.push_back(now_s);
                }
            }
            Some(arrived_s) => {
                if departed >= warmup {
                    let sojourn_s = now_s - arrived_s;
                    sum_s += sojourn_s;
                    let us = ((sojourn_s * MICROS_PER_S).round() as u64).max(1);
                    sojourns.saturating_record(us);
                    let batch = ((departed - warmup) / batch_size).min(BATCHES - 1);
                    batches[batch as usize].saturating_record(us);
                }
                departed += 1;
                match waiting.pop_front() {
                    Some(next_arrived_s) => events.push(Event {
                        time_s: now_s + work.sample(&mut rng),
                        arrived_s: Some(next_arrived_s),
                    }),
                    None => busy -= 1,
                }
            }
        }
    }
    sum_s / (customers - warmup) as f64
}
