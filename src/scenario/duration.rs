//! Durations with units (`"250us"`, `"50ms"`, `"2s"`, `"5m"`, `"1h"`, `"1d"`), as integer
//! nanoseconds.

/// The units a duration may carry, with their length in nanoseconds.
const UNITS: [(&str, f64); 8] = [
    ("ns", 1.0),
    ("us", 1e3),
    ("µs", 1e3),
    ("ms", 1e6),
    ("s", 1e9),
    ("m", 60e9),
    ("h", 3_600e9),
    ("d", 86_400e9),
];

/// The largest duration accepted: 100 years, far inside `u64` nanoseconds (584 years).
const MAX_NS: f64 = 100.0 * 365.0 * 86_400e9;

/// Parses a duration such as `"1.5s"` into nanoseconds, rounded to the nearest nanosecond.
///
/// The error says what was wrong and what would be valid.
pub fn parse_duration_ns(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let unit = unit.trim();
    let Some(&(_, ns_per_unit)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(if unit.is_empty() {
            format!("duration \"{text}\" has no unit; write it with one, e.g. \"{text}ms\" (units: ns, us, ms, s, m, h, d)")
        } else {
            format!("duration \"{text}\" has an unknown unit \"{unit}\"; valid units are ns, us, ms, s, m, h, d")
        });
    };
    let value: f64 = number.parse().map_err(|_| {
        format!("duration \"{text}\" does not start with a number; write e.g. \"50ms\"")
    })?;
    if value < 0.0 {
        return Err(format!(
            "duration \"{text}\" is negative; durations are zero or more"
        ));
    }
    let ns = value * ns_per_unit;
    if !ns.is_finite() || ns > MAX_NS {
        return Err(format!("duration \"{text}\" is longer than 100 years"));
    }
    Ok(ns.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_and_decimals() {
        assert_eq!(parse_duration_ns("250us"), Ok(250_000));
        assert_eq!(parse_duration_ns("250µs"), Ok(250_000));
        assert_eq!(parse_duration_ns("50ms"), Ok(50_000_000));
        assert_eq!(parse_duration_ns("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration_ns("5m"), Ok(300_000_000_000));
        assert_eq!(parse_duration_ns("1h"), Ok(3_600_000_000_000));
        assert_eq!(parse_duration_ns("1d"), Ok(86_400_000_000_000));
        assert_eq!(parse_duration_ns("7ns"), Ok(7));
        assert_eq!(parse_duration_ns("0s"), Ok(0));
    }

    #[test]
    fn refuses_missing_or_unknown_units_and_negative_values() {
        assert!(parse_duration_ns("50").unwrap_err().contains("no unit"));
        assert!(parse_duration_ns("5 parsecs")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(parse_duration_ns("-5ms").unwrap_err().contains("negative"));
        assert!(parse_duration_ns("ms").unwrap_err().contains("number"));
        assert!(parse_duration_ns("1000y").is_err());
    }
}
