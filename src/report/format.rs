//! Every way a report writes a number (and text into markup), in one place, so that a figure
//! printed in two places is printed the same way. The bottom layer of `report`: it imports no
//! other file of it.
//!
//! Two styles. *Figures* are what the terminal table, Markdown, the report page, sweep and
//! plan tables print: fixed decimals, three or four significant figures (`24.73 ms`,
//! `99.900%`, `$0.42`), the same figure the same way wherever it appears. *Labels* are what
//! the charts print on axes, bars and titles, where space is short: three significant digits
//! (`24.7 ms`, `0.00149%`, `0.231`), via [`sig`].

use crate::scenario::model::Measure;

// ---- figures: terminal, Markdown, the report page, sweep and plan tables ----

/// Milliseconds with three or four significant figures; seconds from 1000 ms on, minutes
/// from 1000 s, hours from 100 minutes (so a row of seconds rarely changes unit, and an hour
/// is not thousands of seconds).
pub fn ms(v: f64) -> String {
    if v >= 6_000_000.0 {
        format!("{:.3} h", v / 3_600_000.0)
    } else if v >= 1_000_000.0 {
        format!("{:.3} min", v / 60_000.0)
    } else if v >= 1000.0 {
        format!("{:.3} s", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.1} ms")
    } else if v >= 10.0 {
        format!("{v:.2} ms")
    } else {
        format!("{v:.3} ms")
    }
}

/// A fraction as a percentage with three decimals: `0.999` is `99.900%`.
pub fn percent(fraction: f64) -> String {
    format!("{:.3}%", fraction * 100.0)
}

/// An objective's figure in its unit: availability and the degraded share as percentages,
/// the others in ms.
pub fn measure(m: Measure, v: f64) -> String {
    if m.is_share() {
        percent(v)
    } else {
        ms(v)
    }
}

/// Dollars: whole from $100, cents below (`$1234`, `$0.42`).
pub fn usd(v: f64) -> String {
    if v >= 100.0 {
        format!("${v:.0}")
    } else {
        format!("${v:.2}")
    }
}

/// A rate per second with one decimal, without its unit (a table headed `req/s`); three
/// significant digits below 1, so that a slow rate does not read as none (`0.00230`).
pub fn rate(per_s: f64) -> String {
    if per_s != 0.0 && per_s.abs() < 1.0 {
        sig(per_s)
    } else {
        format!("{per_s:.1}")
    }
}

/// A request rate with its unit: `499.9 req/s`.
pub fn req_per_s(per_s: f64) -> String {
    format!("{} req/s", rate(per_s))
}

/// A count with thousands separators: `1045133` is `1,045,133`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A replica count: whole for a fixed pool, two decimals for a time average.
pub fn replicas(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v}")
    } else {
        format!("{v:.2}")
    }
}

/// Seconds as the engine writes a time: `250us`, `1.5s`, `2m`.
pub fn seconds(s: f64) -> String {
    crate::engine::time::format_ns(s * 1e9)
}

/// A difference with its sign, `f` writing its size: `+3.100 ms`, `-$0.40`; 0 unsigned.
pub fn signed(v: f64, f: impl Fn(f64) -> String) -> String {
    if v > 0.0 {
        format!("+{}", f(v))
    } else if v < 0.0 {
        format!("-{}", f(-v))
    } else {
        f(0.0)
    }
}

/// A relative change with its sign and one decimal: `0.031` is `+3.1%`.
pub fn change(fraction: f64) -> String {
    signed(fraction, |v| format!("{:.1}%", v * 100.0))
}

/// A p-value with four decimals, or `< 0.0001`.
pub fn p_value(p: f64) -> String {
    if p < 1e-4 {
        "< 0.0001".into()
    } else {
        format!("{p:.4}")
    }
}

// ---- labels: charts ----

/// Three significant digits, without a trailing `.0` on whole numbers of 100 or more.
pub fn sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    let digits = v.abs().log10().floor() as i32;
    let decimals = (2 - digits).clamp(0, 9) as usize;
    format!("{v:.decimals$}")
}

/// Milliseconds to three significant digits: `24.7 ms`, `1.25 s`, `2.50 min`, `1.20 h`.
pub fn sig_ms(v: f64) -> String {
    let (unit, per) = time_unit(v);
    format!("{} {unit}", sig(v / per))
}

/// The unit a time of `ms` milliseconds (a chart axis' largest value) reads best in, and
/// how many ms it holds: ms below a second, then s, min below an hour, h.
pub fn time_unit(ms: f64) -> (&'static str, f64) {
    if ms >= 3_600_000.0 {
        ("h", 3_600_000.0)
    } else if ms >= 60_000.0 {
        ("min", 60_000.0)
    } else if ms >= 1000.0 {
        ("s", 1000.0)
    } else {
        ("ms", 1.0)
    }
}

/// A percentage (already times 100) with one decimal, or three significant digits below 1%
/// (`0.00149%`).
pub fn sig_percent(p: f64) -> String {
    if p != 0.0 && p.abs() < 1.0 {
        format!("{}%", sig(p))
    } else {
        format!("{p:.1}%")
    }
}

/// Dollars without the sign: whole dollars from 100, cents below, and a third decimal below a
/// dollar when it is not 0 (`0.10`, `0.231`); three significant digits below a cent.
pub fn sig_usd(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a >= 0.01 {
        let three = format!("{v:.3}");
        match three.strip_suffix('0') {
            Some(two) => two.to_string(),
            None => three,
        }
    } else {
        sig(v)
    }
}

/// A time-average count: whole when it is whole (`4`), else three significant digits.
pub fn sig_count(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round())
    } else {
        sig(v)
    }
}

/// Seconds as `30m`, `1h`, `2h 30m`, `45s`.
pub fn duration(s: f64) -> String {
    let total = s.round() as u64;
    let (h, m, sec) = (total / 3600, total % 3600 / 60, total % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{}{m}m", if out.is_empty() { "" } else { " " }));
    }
    if sec > 0 || out.is_empty() {
        out.push_str(&format!("{}{sec}s", if out.is_empty() { "" } else { " " }));
    }
    out
}

// ---- text in markup ----

/// Text made safe for HTML (and SVG) element content and attribute values: markup escaped,
/// and control characters, which XML does not allow, replaced by U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_keep_three_or_four_significant_figures() {
        assert_eq!(ms(1.23456), "1.235 ms");
        assert_eq!(ms(24.734), "24.73 ms");
        assert_eq!(ms(123.44), "123.4 ms");
        assert_eq!(ms(4656.0), "4.656 s");
        assert_eq!(percent(0.999), "99.900%");
        assert_eq!(measure(Measure::Availability, 0.5), "50.000%");
        assert_eq!(measure(Measure::P99, 50.0), "50.00 ms");
        assert_eq!(usd(1234.4), "$1234");
        assert_eq!(usd(0.421), "$0.42");
        assert_eq!(req_per_s(499.94), "499.9 req/s");
        // A slow rate keeps its significant digits rather than reading as none.
        assert_eq!(req_per_s(0.0023), "0.00230 req/s");
        assert_eq!(req_per_s(0.5), "0.500 req/s");
        assert_eq!(req_per_s(0.0), "0.0 req/s");
        // Hour-scale times in minutes and hours, not thousands of seconds.
        assert_eq!(ms(150_000.0), "150.000 s");
        assert_eq!(ms(1_500_000.0), "25.000 min");
        assert_eq!(ms(5_400_000.0), "90.000 min");
        assert_eq!(ms(7_200_000.0), "2.000 h");
        assert_eq!(group(1_045_133), "1,045,133");
        assert_eq!(group(999), "999");
        assert_eq!(replicas(4.0), "4");
        assert_eq!(replicas(2.5), "2.50");
        assert_eq!(signed(-3.1, ms), "-3.100 ms");
        assert_eq!(signed(0.4, usd), "+$0.40");
        assert_eq!(signed(0.0, usd), "$0.00");
        assert_eq!(change(0.031), "+3.1%");
        assert_eq!(change(-0.25), "-25.0%");
        assert_eq!(p_value(0.0210752), "0.0211");
        assert_eq!(p_value(3e-9), "< 0.0001");
    }

    #[test]
    fn labels_read_as_people_write_them() {
        assert_eq!(sig(24.734), "24.7");
        assert_eq!(sig(0.0123456), "0.0123");
        assert_eq!(sig(600.65), "601");
        assert_eq!(sig_ms(1234.0), "1.23 s");
        assert_eq!(sig_ms(90_000.0), "1.50 min");
        assert_eq!(sig_ms(7_200_000.0), "2.00 h");
        assert_eq!(time_unit(999.0), ("ms", 1.0));
        assert_eq!(time_unit(3_600_000.0), ("h", 3_600_000.0));
        assert_eq!(sig_percent(0.00149), "0.00149%");
        assert_eq!(sig_percent(99.94), "99.9%");
        assert_eq!(duration(1800.0), "30m");
        assert_eq!(duration(5400.0), "1h 30m");
        assert_eq!(duration(86_400.0), "24h");
        assert_eq!(sig_usd(0.1), "0.10");
        assert_eq!(sig_usd(0.2312), "0.231");
        assert_eq!(sig_usd(12.345), "12.35");
        assert_eq!(sig_count(4.0), "4");
        assert_eq!(sig_count(2.5), "2.50");
    }
}
