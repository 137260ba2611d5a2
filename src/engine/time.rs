//! Simulated time: integer nanoseconds since the start of the run.
//!
//! Integer time makes event order exact and runs reproducible; `u64` nanoseconds reach 584
//! years, and scenario durations are capped at 100 years.

/// A point in simulated time, or a span of it, in nanoseconds.
pub type Nanos = u64;

pub const NS_PER_S: f64 = 1e9;
pub const NS_PER_MS: f64 = 1e6;

/// Nanoseconds to seconds.
pub fn ns_to_s(ns: f64) -> f64 {
    ns / NS_PER_S
}

/// Nanoseconds to milliseconds, the unit of every duration in the JSON summary.
pub fn ns_to_ms(ns: f64) -> f64 {
    ns / NS_PER_MS
}
