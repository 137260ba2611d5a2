//! The chart families, each a function from what a report has (`data::Input`) to
//! [`Figure`]s: one run's (`run`), a time series' (`series`) and a sweep's (`sweep`).

pub mod run;
pub mod series;
pub mod sweep;

use super::data::{Doc, Input};
use super::figure::Figure;

/// Every chart the input has data for, in the order the page shows them.
pub fn figures(input: &Input) -> Vec<Figure> {
    let mut out = Vec::new();
    let objectives = input.objectives();
    if let Some(ts) = &input.timeseries {
        out.extend(series::figures(ts, &objectives, input.events()));
    }
    if let Some(Doc::Completed(s)) = &input.summary {
        out.extend(run::figures(s));
    }
    if let Some(sweep) = &input.sweep {
        out.extend(sweep::figures(sweep, &objectives));
    }
    out
}

/// Three significant digits, without a trailing `.0` on whole numbers of 100 or more.
pub fn sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    let digits = v.abs().log10().floor() as i32;
    let decimals = (2 - digits).clamp(0, 9) as usize;
    format!("{v:.decimals$}")
}

/// Milliseconds as people read them: `24.7 ms`, `1.25 s`.
pub fn ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{} s", sig(v / 1000.0))
    } else {
        format!("{} ms", sig(v))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(sig(24.734), "24.7");
        assert_eq!(sig(0.0123456), "0.0123");
        assert_eq!(sig(600.65), "601");
        assert_eq!(ms(1234.0), "1.23 s");
        assert_eq!(duration(1800.0), "30m");
        assert_eq!(duration(5400.0), "1h 30m");
        assert_eq!(duration(86_400.0), "24h");
        assert_eq!(run::usd(0.1), "0.10");
        assert_eq!(run::usd(0.2312), "0.231");
        assert_eq!(run::usd(12.345), "12.35");
        assert_eq!(run::count(4.0), "4");
        assert_eq!(run::count(2.5), "2.50");
    }
}
