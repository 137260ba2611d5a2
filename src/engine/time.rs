//! Simulated time: integer nanoseconds since the start of the run.
//!
//! Integer time makes event order exact and runs reproducible; `u64` nanoseconds reach 584
//! years, and scenario durations are capped at 100 years.

/// A point in simulated time, or a span of it, in nanoseconds.
pub type Nanos = u64;

pub const NS_PER_S: f64 = 1e9;
pub const NS_PER_MS: f64 = 1e6;

/// The latest time a run may reach: half of `u64` nanoseconds, 292 years. Scenario durations
/// and single draws are capped at 100 years, so only a backlog of centuries gets here.
pub const CLOCK_LIMIT_NS: Nanos = u64::MAX / 2;

/// Nanoseconds to seconds.
pub fn ns_to_s(ns: f64) -> f64 {
    ns / NS_PER_S
}

/// Nanoseconds to milliseconds, the unit of every duration in the JSON summary.
pub fn ns_to_ms(ns: f64) -> f64 {
    ns / NS_PER_MS
}

/// Formats nanoseconds for people: the largest unit that keeps the number readable.
pub fn format_ns(ns: f64) -> String {
    let (value, unit) = if ns >= 86_400e9 {
        (ns / 86_400e9, "d")
    } else if ns >= 3_600e9 {
        (ns / 3_600e9, "h")
    } else if ns >= 60e9 {
        (ns / 60e9, "m")
    } else if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "us")
    } else {
        (ns, "ns")
    };
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_a_readable_unit() {
        assert_eq!(format_ns(4_000_000.0), "4ms");
        assert_eq!(format_ns(1_500_000_000.0), "1.5s");
        assert_eq!(format_ns(250_000.0), "250us");
    }
}
