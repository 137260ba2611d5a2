//! The resilience patterns that decide whether work is let in: circuit breakers, retry and
//! hedge budgets, and token-bucket rate limits (per service).
//!
//! Breakers and retry budgets live, by default, in each calling replica (`scope =
//! "caller"`), as Hystrix, resilience4j and Finagle keep them in each client process; with
//! `scope = "service"` one breaker per callee (and one retry budget per caller service and
//! callee) is shared by every caller. A call that passes a breaker holds a [`Permit`], as
//! resilience4j's `acquirePermission` gives one: the copy that holds it *settles* it with its
//! outcome, or *releases* it when it is cancelled (its caller gave up, a sibling failed fast,
//! a join was met). A released half-open probe frees the probe's place, so the next call
//! probes again: a breaker can never stay half-open with no probe out. A hedge budget is
//! Finagle's `BackupRequestFilter` budget, per caller service and callee: a retry budget
//! whose ratio is `maxExtraLoad`, deposited by every attempt and withdrawn by every hedge.

use super::entity::{Ending, Permit};
use crate::engine::time::{Nanos, NS_PER_S};
use crate::scenario::model::{CircuitBreaker, RateLimit, RetryBudget, Trip};

/// Counts over a sliding window, kept in ten buckets: old buckets are dropped as time moves
/// on, so a window's totals cost O(1) memory and time whatever the rate.
#[derive(Debug, Clone)]
pub struct SlidingCounts {
    bucket_ns: Nanos,
    /// (bucket index since the start of the run, [count a, count b]).
    buckets: [(u64, [u64; 2]); WINDOW_BUCKETS],
}

const WINDOW_BUCKETS: usize = 10;

impl SlidingCounts {
    pub fn new(window_ns: Nanos) -> Self {
        SlidingCounts {
            bucket_ns: (window_ns / WINDOW_BUCKETS as u64).max(1),
            buckets: [(u64::MAX, [0; 2]); WINDOW_BUCKETS],
        }
    }

    /// Adds to counter `which` (0 or 1) at `now_ns`.
    pub fn add(&mut self, now_ns: Nanos, which: usize) {
        let index = now_ns / self.bucket_ns;
        let slot = &mut self.buckets[(index % WINDOW_BUCKETS as u64) as usize];
        if slot.0 != index {
            *slot = (index, [0; 2]);
        }
        slot.1[which] += 1;
    }

    /// Both counters over the last window (the current bucket and the nine before it).
    pub fn totals(&self, now_ns: Nanos) -> [u64; 2] {
        let index = now_ns / self.bucket_ns;
        let oldest = index.saturating_sub(WINDOW_BUCKETS as u64 - 1);
        self.buckets
            .iter()
            .filter(|(i, _)| *i != u64::MAX && *i >= oldest && *i <= index)
            .fold([0; 2], |sum, (_, c)| [sum[0] + c[0], sum[1] + c[1]])
    }

    pub fn clear(&mut self) {
        self.buckets = [(u64::MAX, [0; 2]); WINDOW_BUCKETS];
    }
}

/// A retry budget: first attempts deposit, retries withdraw; a retry is allowed while the
/// retries in the window stay within `ratio` x the first attempts plus `min_per_s` x window.
#[derive(Debug, Clone)]
pub struct BudgetState {
    spec: RetryBudget,
    /// [first attempts, retries] over the window.
    counts: SlidingCounts,
}

impl BudgetState {
    pub fn new(spec: RetryBudget) -> Self {
        BudgetState {
            spec,
            counts: SlidingCounts::new(spec.window_ns),
        }
    }

    pub fn deposit(&mut self, now_ns: Nanos) {
        self.counts.add(now_ns, 0);
    }

    /// Takes one retry from the budget if it allows one.
    pub fn withdraw(&mut self, now_ns: Nanos) -> bool {
        let [firsts, retries] = self.counts.totals(now_ns);
        let window_s = self.spec.window_ns as f64 / NS_PER_S;
        let allowed = self.spec.ratio * firsts as f64 + self.spec.min_per_s * window_s;
        if (retries + 1) as f64 <= allowed {
            self.counts.add(now_ns, 1);
            true
        } else {
            false
        }
    }
}

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    /// Failing fast until the given time.
    Open {
        until_ns: Nanos,
    },
    /// Letting one probe through; `probing` while it is out.
    HalfOpen {
        probing: bool,
    },
}

#[derive(Debug, Clone)]
pub struct Breaker {
    spec: CircuitBreaker,
    state: BreakerState,
    consecutive_failures: u32,
    /// [calls, failures] over the error-rate window.
    window: SlidingCounts,
    /// Half-open rounds so far: a probe permit belongs to one.
    round: u32,
}

impl Breaker {
    pub fn new(spec: CircuitBreaker) -> Self {
        let window_ns = match spec.trip {
            Trip::ErrorRate { window_ns, .. } => window_ns,
            Trip::ConsecutiveFailures(_) => 1,
        };
        Breaker {
            spec,
            state: BreakerState::Closed,
            consecutive_failures: 0,
            window: SlidingCounts::new(window_ns),
            round: 0,
        }
    }

    /// A permit for a call now, if the breaker lets it through (an open breaker past its
    /// time lets one probe out; a half-open one whose probe was released, the next).
    pub fn acquire(&mut self, now_ns: Nanos) -> Option<Permit> {
        let probe = match self.state {
            BreakerState::Closed => false,
            BreakerState::Open { until_ns } if now_ns >= until_ns => true,
            BreakerState::HalfOpen { probing: false } => true,
            BreakerState::Open { .. } | BreakerState::HalfOpen { probing: true } => return None,
        };
        if probe {
            self.round = self.round.wrapping_add(1);
            self.state = BreakerState::HalfOpen { probing: true };
        }
        Some(Permit {
            probe,
            round: self.round,
            holder: 0,
        })
    }

    /// Where it stands.
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Whether it is half-open with its probe out: some call must hold the probe's permit.
    pub fn awaits_probe(&self) -> bool {
        self.state == (BreakerState::HalfOpen { probing: true })
    }

    /// A cancelled call gives its permit back: says nothing of the callee's health, but a
    /// half-open probe's place is free again.
    pub fn release(&mut self, permit: Permit) {
        if self.is_live_probe(permit) {
            self.state = BreakerState::HalfOpen { probing: false };
        }
    }

    /// Whether `permit` is this breaker's probe under way.
    pub fn is_live_probe(&self, permit: Permit) -> bool {
        permit.probe
            && permit.round == self.round
            && self.state == (BreakerState::HalfOpen { probing: true })
    }

    /// A call through the breaker settles its permit with its outcome; returns true if the
    /// breaker opened. Only the probe decides a half-open breaker; answers to calls let
    /// through before the breaker opened change nothing while it is open or half-open.
    pub fn settle(&mut self, now_ns: Nanos, permit: Permit, ending: Ending) -> bool {
        if ending == Ending::Cancelled {
            self.release(permit);
            return false;
        }
        if matches!(self.state, BreakerState::HalfOpen { .. }) && !self.is_live_probe(permit) {
            return false;
        }
        self.hears(now_ns, ending)
    }

    /// An outcome of a call through the breaker; returns true if the breaker opened.
    fn hears(&mut self, now_ns: Nanos, ending: Ending) -> bool {
        let failed = !ending.is_success();
        match self.state {
            BreakerState::HalfOpen { .. } => {
                if failed {
                    self.open(now_ns);
                    return true;
                }
                self.state = BreakerState::Closed;
                self.consecutive_failures = 0;
                self.window.clear();
                false
            }
            // Answers to calls let through before it opened change nothing.
            BreakerState::Open { .. } => false,
            BreakerState::Closed => {
                let trips = match self.spec.trip {
                    Trip::ConsecutiveFailures(n) => {
                        self.consecutive_failures = if failed {
                            self.consecutive_failures + 1
                        } else {
                            0
                        };
                        self.consecutive_failures >= n
                    }
                    Trip::ErrorRate {
                        ratio,
                        min_requests,
                        ..
                    } => {
                        self.window.add(now_ns, 0);
                        if failed {
                            self.window.add(now_ns, 1);
                        }
                        let [calls, failures] = self.window.totals(now_ns);
                        calls >= u64::from(min_requests) && failures as f64 >= ratio * calls as f64
                    }
                };
                if trips {
                    self.open(now_ns);
                }
                trips
            }
        }
    }

    fn open(&mut self, now_ns: Nanos) {
        self.state = BreakerState::Open {
            until_ns: now_ns.saturating_add(self.spec.open_ns),
        };
        self.consecutive_failures = 0;
        self.window.clear();
    }
}

/// A token bucket: `rate` tokens a second up to `burst`, one per visit let in.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    spec: RateLimit,
    tokens: f64,
    since_ns: Nanos,
}

impl TokenBucket {
    pub fn new(spec: RateLimit) -> Self {
        TokenBucket {
            spec,
            tokens: spec.burst,
            since_ns: 0,
        }
    }

    /// Takes a token if there is one.
    pub fn take(&mut self, now_ns: Nanos) -> bool {
        let elapsed_s = (now_ns - self.since_ns) as f64 / NS_PER_S;
        self.tokens = (self.tokens + elapsed_s * self.spec.rate_per_s).min(self.spec.burst);
        self.since_ns = now_ns;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::Scope;

    #[test]
    fn sliding_counts_forget_what_left_the_window() {
        // A 10 s window in 1 s buckets: counts at 0.5 s and 5.5 s, read at 9.9 s: both; at
        // 10.5 s: the first has left (its bucket, [0 s, 1 s), is more than nine back).
        let mut c = SlidingCounts::new(10_000_000_000);
        c.add(500_000_000, 0);
        c.add(5_500_000_000, 1);
        assert_eq!(c.totals(9_900_000_000), [1, 1]);
        assert_eq!(c.totals(10_500_000_000), [0, 1]);
        assert_eq!(c.totals(30_000_000_000), [0, 0]);
    }

    #[test]
    fn a_budget_allows_its_ratio_of_retries_plus_its_floor() {
        // 100 first attempts in a 10 s window, budget 0.2 and a floor of 1 a second: 20 + 10
        // retries are allowed, the 31st is not.
        let mut b = BudgetState::new(RetryBudget {
            ratio: 0.2,
            window_ns: 10_000_000_000,
            min_per_s: 1.0,
            scope: Scope::Caller,
        });
        for _ in 0..100 {
            b.deposit(1_000);
        }
        let allowed = (0..40).filter(|_| b.withdraw(2_000)).count();
        assert_eq!(allowed, 30);
    }

    #[test]
    fn a_token_bucket_lets_through_its_burst_then_its_rate() {
        // Burst 5, 10 a second: 5 at once, then one every 100 ms.
        let mut t = TokenBucket::new(RateLimit {
            rate_per_s: 10.0,
            burst: 5.0,
        });
        assert_eq!((0..8).filter(|_| t.take(0)).count(), 5);
        assert!(!t.take(99_000_000));
        assert!(t.take(100_000_000));
        assert!(!t.take(150_000_000));
    }

    #[test]
    fn a_breaker_opens_fails_fast_probes_and_closes() {
        let mut b = Breaker::new(CircuitBreaker {
            trip: Trip::ConsecutiveFailures(3),
            open_ns: 1_000,
            scope: Scope::Caller,
        });
        // Closed: every call gets a permit; five calls out at once.
        let permits: Vec<Permit> = (0..6).map(|_| b.acquire(0).expect("closed")).collect();
        let settle = |b: &mut Breaker, i: usize, t, e| b.settle(t, permits[i], e);
        assert!(!settle(&mut b, 0, 0, Ending::Failed) && !settle(&mut b, 1, 1, Ending::Failed));
        assert!(
            !settle(&mut b, 2, 2, Ending::Succeeded),
            "a success resets the count"
        );
        assert!(!settle(&mut b, 3, 3, Ending::Failed) && !settle(&mut b, 4, 4, Ending::TimedOut));
        assert!(
            settle(&mut b, 5, 5, Ending::Rejected),
            "the third failure in a row opens it"
        );
        assert_eq!(b.state, BreakerState::Open { until_ns: 1_005 });
        assert!(b.acquire(1_004).is_none(), "fails fast while open");
        let probe = b.acquire(1_005).expect("then lets one probe through");
        assert!(b.acquire(1_006).is_none(), "and only one");
        assert!(
            b.settle(1_010, probe, Ending::Failed),
            "a failed probe opens it again"
        );
        let probe = b.acquire(2_010).expect("a probe after the next open time");
        assert!(!b.settle(2_020, probe, Ending::Succeeded));
        assert_eq!(b.state, BreakerState::Closed, "a good probe closes it");
    }

    #[test]
    fn a_cancelled_probe_gives_its_place_back() {
        let mut b = Breaker::new(CircuitBreaker {
            trip: Trip::ConsecutiveFailures(1),
            open_ns: 100,
            scope: Scope::Caller,
        });
        let before = b.acquire(0).expect("closed");
        let slow = b.acquire(0).expect("closed");
        assert!(b.settle(1, before, Ending::Failed));
        let probe = b.acquire(101).expect("half-open: a probe");
        assert!(b.acquire(102).is_none(), "one probe at a time");
        assert!(
            !b.settle(103, slow, Ending::Succeeded),
            "an answer to a call let through before it opened decides nothing"
        );
        assert_eq!(b.state, BreakerState::HalfOpen { probing: true });
        // The probe is cancelled (a sibling failed fast): its place is free again.
        assert!(!b.settle(104, probe, Ending::Cancelled));
        assert_eq!(b.state, BreakerState::HalfOpen { probing: false });
        let next = b.acquire(105).expect("the next call probes");
        b.release(probe);
        assert_eq!(
            b.state,
            BreakerState::HalfOpen { probing: true },
            "a stale probe's release frees nothing"
        );
        assert!(!b.settle(110, next, Ending::Succeeded));
        assert_eq!(b.state, BreakerState::Closed);
    }

    #[test]
    fn an_error_rate_breaker_needs_its_minimum_of_calls() {
        // Half failing, at least 4 calls in the window: 3 failures alone do not open it.
        let mut b = Breaker::new(CircuitBreaker {
            trip: Trip::ErrorRate {
                ratio: 0.5,
                window_ns: 10_000,
                min_requests: 4,
            },
            open_ns: 100,
            scope: Scope::Caller,
        });
        assert!(!b.hears(0, Ending::Failed));
        assert!(!b.hears(1, Ending::Failed));
        assert!(!b.hears(2, Ending::Failed));
        assert!(
            b.hears(3, Ending::Succeeded),
            "4 calls, 3 failed: 75% >= 50%"
        );
    }
}
