//! What a report is drawn from, read back from the text of the files a run writes: the JSON
//! summary (docs/contract.md), the time series (`timeseries.csv`), a sweep's results
//! (`results.csv`) and a comparison's (`compare.json`, `timeseries-STRATEGY.csv`). A report is drawn from these and nothing else, so `capsim run --out DIR`
//! and a later `capsim report DIR` draw the same pictures. Parsing only: `cli` reads the files.
//!
//! Every field is read leniently (missing ones take a default, unknown ones are ignored), so a
//! summary written by an older or newer capsim still draws.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

/// Everything a report can show; each part is optional (a sweep's directory has no summary, a
/// run without `scenario.window` has no time series).
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub summary: Option<Doc>,
    pub timeseries: Option<TimeSeries>,
    pub sweep: Option<SweepResults>,
    /// A comparison of deployment strategies (`capsim compare --out`).
    pub compare: Option<Compared>,
    /// The scenario as it ran (`scenario.toml` in the directory).
    pub scenario: Option<String>,
    /// Objectives to draw when there is no summary to take them from (a sweep's directory):
    /// `(objective, target)` as in the summary's `slo` list.
    pub objectives: Vec<(String, f64)>,
}

impl Input {
    /// The objectives: the summary's when there is one.
    pub fn objectives(&self) -> Vec<(String, f64)> {
        match &self.summary {
            Some(Doc::Completed(s)) => s
                .slo
                .iter()
                .map(|v| (v.objective.clone(), v.target))
                .collect(),
            _ => self.objectives.clone(),
        }
    }

    /// Events from the summary (issue 8's `events`), if any.
    pub fn events(&self) -> &[Event] {
        match &self.summary {
            Some(Doc::Completed(s)) => &s.events,
            _ => &[],
        }
    }
}

/// A summary document: a completed run or an overloaded one.
#[derive(Debug, Clone)]
pub enum Doc {
    Completed(Box<RunDoc>),
    Overloaded(Box<OverloadDoc>),
}

/// Parses `summary.json`.
pub fn parse_summary(text: &str) -> Result<Doc, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("summary.json is not JSON: {e}"))?;
    if value.get("overloaded").is_some() {
        let doc: OverloadDoc =
            serde_json::from_value(value).map_err(|e| format!("summary.json: {e}"))?;
        Ok(Doc::Overloaded(Box::new(doc)))
    } else {
        let doc: RunDoc =
            serde_json::from_value(value).map_err(|e| format!("summary.json: {e}"))?;
        Ok(Doc::Completed(Box::new(doc)))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Counts {
    pub arrived: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub rejected: u64,
    pub timed_out: u64,
    pub degraded: u64,
    pub cancelled: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Latency {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Cost {
    pub total_usd: f64,
    pub per_hour_usd: f64,
    pub per_million_requests_usd: f64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Verdict {
    pub objective: String,
    pub target: f64,
    pub observed: f64,
    pub met: bool,
    pub ci95: Option<[f64; 2]>,
    /// `met`, `missed` or `unsure` (the interval crosses the target, or is too thin to
    /// judge), where there is an interval.
    pub confidence: Option<String>,
    /// Too few requests beyond the percentile in some replication to judge by its interval.
    pub thin: bool,
}

impl Verdict {
    /// The quantile a latency objective bounds (`p99` -> 0.99); `None` for `mean` and
    /// `availability`.
    pub fn quantile(&self) -> Option<f64> {
        quantile_of(&self.objective)
    }
}

/// `p50` -> 0.5, `p999` -> 0.999.
pub fn quantile_of(objective: &str) -> Option<f64> {
    let digits = objective.strip_prefix('p')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // The first two digits are the whole percent, further digits decimals: p999 = 99.9%.
    let n: f64 = digits.parse().ok()?;
    let places = digits.len().max(2) as i32;
    Some(n / 10f64.powi(places))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Wait {
    pub mean: f64,
    pub p99: f64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Theory {
    pub arrival_rate_rps: f64,
    pub offered_load: f64,
    pub model: Option<String>,
    pub utilization: Option<f64>,
    pub queue_wait_mean_ms: Option<f64>,
    pub note: Option<String>,
    pub hit_ratio: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Service {
    #[serde(skip)]
    pub name: String,
    pub requests: Counts,
    pub latency_ms: Latency,
    pub queue_wait_ms: Wait,
    pub utilization: f64,
    pub mean_replicas: f64,
    pub cost_per_hour_usd: f64,
    pub hit_ratio: Option<f64>,
    pub theory: Theory,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Class {
    #[serde(skip)]
    pub name: String,
    pub requests: Counts,
    pub throughput_rps: f64,
    pub availability: f64,
    pub latency_ms: Latency,
    pub latency_cdf_ms: Vec<(f64, f64)>,
    pub slo: Vec<Verdict>,
    pub slo_met: bool,
}

/// Something that happened at a moment of the run (issue 8's event log): `kind` is a short
/// machine name (`spike`, `fault_start`, `failover`, ...), `text` a sentence. `end_s`, when
/// given, makes it a stretch of time rather than an instant.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Event {
    pub at_s: f64,
    pub kind: String,
    pub text: String,
    pub end_s: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Ci95 {
    pub availability: Option<[f64; 2]>,
    pub throughput_rps: Option<[f64; 2]>,
}

/// A completed run's summary.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunDoc {
    pub scenario: String,
    pub seed: u64,
    pub replications: u32,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub requests: Counts,
    pub throughput_rps: f64,
    pub availability: f64,
    pub latency_ms: Latency,
    pub latency_cdf_ms: Vec<(f64, f64)>,
    pub cost: Cost,
    pub retry_amplification: Option<f64>,
    #[serde(deserialize_with = "named_services")]
    pub services: Vec<Service>,
    #[serde(deserialize_with = "named_classes")]
    pub classes: Vec<Class>,
    pub slo: Vec<Verdict>,
    pub slo_met: bool,
    pub ci95: Option<Ci95>,
    pub events: Vec<Event>,
}

impl RunDoc {
    /// The measured window of all replications together, in seconds.
    pub fn measured_s(&self) -> f64 {
        (self.duration_s - self.warmup_s).max(0.0) * f64::from(self.replications.max(1))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Overload {
    pub service: String,
    pub reason: String,
    pub replication: u32,
    pub at_s: f64,
    pub in_flight: u64,
    pub max_in_flight: u64,
    pub queued: u64,
    pub arrival_rate_rps: f64,
    pub offered_load: f64,
    pub capacity_rps: f64,
    pub workers: u64,
    pub mean_service_ms: f64,
}

/// An overloaded run's summary.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OverloadDoc {
    pub scenario: String,
    pub seed: u64,
    pub overloaded: Overload,
}

/// A JSON object of entries keyed by name, in the document's order.
fn named<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> Result<Vec<(String, T)>, D::Error> {
    let map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
    map.into_iter()
        .map(|(name, value)| {
            serde_json::from_value(value)
                .map(|t| (name, t))
                .map_err(serde::de::Error::custom)
        })
        .collect()
}

fn named_services<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Service>, D::Error> {
    Ok(named::<D, Service>(d)?
        .into_iter()
        .map(|(name, s)| Service { name, ..s })
        .collect())
}

fn named_classes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Class>, D::Error> {
    Ok(named::<D, Class>(d)?
        .into_iter()
        .map(|(name, c)| Class { name, ..c })
        .collect())
}

/// A comparison's directory: `compare.json` and each strategy's time series.
#[derive(Debug, Clone, Default)]
pub struct Compared {
    /// The scenario's name (from `scenario.toml`; empty when it has none).
    pub scenario: String,
    pub doc: CompareDoc,
    /// `(strategy, timeseries-STRATEGY.csv)`, in the order of `doc.strategies`, for the
    /// strategies whose file is there.
    pub series: Vec<(String, TimeSeries)>,
}

/// `compare.json` (docs/contract.md, "`capsim compare`").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CompareDoc {
    pub baseline: String,
    pub strategies: Vec<CompareRow>,
}

/// One strategy's pooled figures, and its paired differences against the baseline.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CompareRow {
    pub strategy: String,
    pub outcome: String,
    pub decided_at_s: Option<f64>,
    pub rollout_s: f64,
    pub p99_ms: f64,
    pub worst_window_p99_ms: f64,
    pub failed_requests: f64,
    pub degraded_requests: f64,
    pub extra_cost_usd: f64,
    pub peak_replicas: f64,
    pub slo_met: bool,
    /// `(figure key, difference)` in the document's order; empty on the baseline's row.
    #[serde(deserialize_with = "named_diffs")]
    pub vs_baseline: Vec<(String, Diff)>,
}

/// A paired difference and its 95% interval.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct Diff {
    pub diff: f64,
    pub low: f64,
    pub high: f64,
}

fn named_diffs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, Diff)>, D::Error> {
    named::<D, Diff>(d)
}

/// Parses `compare.json`.
pub fn parse_compare(text: &str) -> Result<CompareDoc, String> {
    serde_json::from_str(text).map_err(|e| format!("compare.json: {e}"))
}

/// A strategy's time-series file in a comparison's directory: `timeseries-STRATEGY.csv`.
pub fn compare_series_file(strategy: &str) -> String {
    format!("timeseries-{strategy}.csv")
}

/// A table of numbers read from CSV: a header, and rows of optional values (an empty field
/// or text is `None`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<f64>>>,
    /// The fields as text, for columns that hold names (a sweep's bundles).
    pub text: Vec<Vec<String>>,
}

impl Table {
    pub fn parse_csv(text: &str, file: &str) -> Result<Table, String> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(text.as_bytes());
        let columns: Vec<String> = reader
            .headers()
            .map_err(|e| format!("{file}: {e}"))?
            .iter()
            .map(|c| c.trim().to_string())
            .collect();
        let mut rows = Vec::new();
        let mut texts = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| format!("{file}: {e}"))?;
            rows.push(
                record
                    .iter()
                    .map(|f| f.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
                    .collect(),
            );
            texts.push(record.iter().map(|f| f.trim().to_string()).collect());
        }
        Ok(Table {
            columns,
            rows,
            text: texts,
        })
    }

    pub fn index(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == column)
    }

    /// A column's values, `None` where a row has none; `None` if there is no such column.
    pub fn column(&self, column: &str) -> Option<Vec<Option<f64>>> {
        let i = self.index(column)?;
        Some(
            self.rows
                .iter()
                .map(|r| r.get(i).copied().flatten())
                .collect(),
        )
    }
}

/// A time series (`timeseries.csv`, one row per window), keyed by the columns of
/// docs/contract.md: `window_start_s`, `arrived`, `succeeded`, `failed`, `rejected`,
/// `timed_out`, `degraded`, `throughput_rps`, `p50_ms`, `p95_ms`, `p99_ms`, `availability`,
/// `cost_per_hour_usd`, and per service `NAME.replicas_ready`, `NAME.replicas_starting`,
/// `NAME.utilization`, `NAME.queue_length`. An optional `window_s` gives each window's length
/// (otherwise the gap to the next window's start).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeSeries {
    pub table: Table,
}

impl TimeSeries {
    pub fn parse_csv(text: &str) -> Result<TimeSeries, String> {
        Self::parse_named(text, "timeseries.csv")
    }

    /// Parses a time series read from the file `file` (named in errors).
    pub fn parse_named(text: &str, file: &str) -> Result<TimeSeries, String> {
        let table = Table::parse_csv(text, file)?;
        if table.index("window_start_s").is_none() {
            return Err(format!("{file} has no window_start_s column"));
        }
        Ok(TimeSeries { table })
    }

    /// A text column's values (`NAME.phase`), empty where a row has none; `None` if there is
    /// no such column.
    pub fn texts(&self, column: &str) -> Option<Vec<&str>> {
        let i = self.table.index(column)?;
        Some(
            self.table
                .text
                .iter()
                .map(|r| r.get(i).map_or("", String::as_str))
                .collect(),
        )
    }

    /// The deployed services, named by `NAME.replicas_new_ready` columns, in order.
    pub fn deployed(&self) -> Vec<String> {
        self.table
            .columns
            .iter()
            .filter_map(|c| c.strip_suffix(".replicas_new_ready").map(String::from))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.table.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.rows.is_empty()
    }

    /// Each window's start, in seconds.
    pub fn starts(&self) -> Vec<f64> {
        self.table
            .column("window_start_s")
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect()
    }

    /// Each window's length in seconds: `window_s` where given, else the gap to the next
    /// start (the last window repeats the one before).
    pub fn lengths(&self) -> Vec<f64> {
        if let Some(given) = self.table.column("window_s") {
            if given.iter().all(Option::is_some) {
                return given.into_iter().flatten().collect();
            }
        }
        let starts = self.starts();
        let mut lengths: Vec<f64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        let last = lengths.last().copied().unwrap_or(1.0);
        if !starts.is_empty() {
            lengths.push(last);
        }
        lengths
    }

    /// `(window middle, value)` for each window where the column has a value.
    pub fn points(&self, column: &str) -> Vec<(f64, f64)> {
        let Some(values) = self.table.column(column) else {
            return Vec::new();
        };
        self.starts()
            .iter()
            .zip(self.lengths())
            .zip(values)
            .filter_map(|((s, len), v)| v.map(|v| (s + len / 2.0, v)))
            .collect()
    }

    /// A latency column's points, leaving out the windows where nothing succeeded: such a
    /// window has no percentile (its column says 0), so a chart's line joins the windows
    /// around a gap instead of dropping to 0 there.
    pub fn latency_points(&self, column: &str) -> Vec<(f64, f64)> {
        let Some(succeeded) = self.table.column("succeeded") else {
            return self.points(column);
        };
        let Some(values) = self.table.column(column) else {
            return Vec::new();
        };
        self.starts()
            .iter()
            .zip(self.lengths())
            .zip(values.into_iter().zip(succeeded))
            .filter_map(|((s, len), (v, ok))| match (v, ok) {
                (Some(v), Some(ok)) if ok > 0.0 => Some((s + len / 2.0, v)),
                (Some(v), None) => Some((s + len / 2.0, v)),
                _ => None,
            })
            .collect()
    }

    /// The services named by `NAME.utilization` or `NAME.replicas_ready` columns, in order.
    pub fn services(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for c in &self.table.columns {
            for suffix in [
                ".replicas_ready",
                ".replicas_starting",
                ".utilization",
                ".queue_length",
            ] {
                if let Some(name) = c.strip_suffix(suffix) {
                    if !names.iter().any(|n| n == name) {
                        names.push(name.to_string());
                    }
                }
            }
        }
        names
    }
}

/// A sweep's value on one axis: a number, or a bundle's name.
#[derive(Debug, Clone, PartialEq)]
pub enum AxisValue {
    Number(f64),
    Name(String),
}

impl AxisValue {
    pub fn label(&self) -> String {
        match self {
            AxisValue::Number(v) => format!("{v}"),
            AxisValue::Name(n) => n.clone(),
        }
    }
}

/// One point of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    pub values: Vec<AxisValue>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p99_ms_low: Option<f64>,
    pub p99_ms_high: Option<f64>,
    pub availability: Option<f64>,
    pub throughput_rps: Option<f64>,
    pub cost_per_hour_usd: Option<f64>,
    pub slo_met: bool,
    /// The service that could not keep up, for an overloaded point.
    pub overloaded: Option<String>,
}

/// A sweep's results (`results.csv`): the swept key paths as the first columns, then
/// `p50_ms`, `p95_ms`, `p99_ms`, `p99_ms_low`, `p99_ms_high`, `availability`,
/// `throughput_rps`, `cost_per_hour_usd`, `slo_met` (and any further columns, ignored).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepResults {
    pub axes: Vec<String>,
    pub points: Vec<SweepPoint>,
    /// p99 from queueing theory against the first axis's value, where theory applies
    /// (`(x, p99_ms)`, drawn as a curve); empty when there is none.
    pub theory_p99: Vec<(f64, f64)>,
}

impl SweepResults {
    pub fn parse_csv(text: &str) -> Result<SweepResults, String> {
        let table = Table::parse_csv(text, "results.csv")?;
        let Some(first) = table.index("p50_ms") else {
            return Err("results.csv has no p50_ms column".to_string());
        };
        let axes = table.columns[..first].to_vec();
        let get = |row: &[Option<f64>], name: &str| table.index(name).and_then(|i| row[i]);
        let text_of = |row: &[String], name: &str| {
            table
                .index(name)
                .map(|i| row[i].clone())
                .filter(|t| !t.is_empty())
        };
        let points = table
            .rows
            .iter()
            .zip(&table.text)
            .map(|(row, text)| SweepPoint {
                values: (0..first)
                    .map(|i| match row[i] {
                        Some(v) => AxisValue::Number(v),
                        None => AxisValue::Name(text[i].clone()),
                    })
                    .collect(),
                p50_ms: get(row, "p50_ms"),
                p95_ms: get(row, "p95_ms"),
                p99_ms: get(row, "p99_ms"),
                p99_ms_low: get(row, "p99_ms_low"),
                p99_ms_high: get(row, "p99_ms_high"),
                availability: get(row, "availability"),
                throughput_rps: get(row, "throughput_rps"),
                cost_per_hour_usd: get(row, "cost_per_hour_usd"),
                slo_met: text_of(text, "slo_met").is_some_and(|t| t == "true"),
                overloaded: text_of(text, "overloaded"),
            })
            .collect();
        Ok(SweepResults {
            axes,
            points,
            theory_p99: Vec::new(),
        })
    }

    /// The distinct values of axis `i`, in the order they first appear.
    pub fn values(&self, i: usize) -> Vec<AxisValue> {
        let mut seen: Vec<AxisValue> = Vec::new();
        for p in &self.points {
            if let Some(v) = p.values.get(i) {
                if !seen.contains(v) {
                    seen.push(v.clone());
                }
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_name_their_quantiles() {
        assert_eq!(quantile_of("p50"), Some(0.5));
        assert_eq!(quantile_of("p99"), Some(0.99));
        assert_eq!(quantile_of("p999"), Some(0.999));
        assert_eq!(quantile_of("mean"), None);
        assert_eq!(quantile_of("availability"), None);
    }

    #[test]
    fn sweep_results_split_axes_from_figures() {
        let csv = "service.api.replicas,service.api,p50_ms,p95_ms,p99_ms,p99_ms_low,p99_ms_high,availability,throughput_rps,cost_per_hour_usd,slo_met,point,replications,overloaded,missed\n\
                   2,small,,,,,,,,,false,0,,api,overloaded\n\
                   4,small,3.1,9.5,20.5,19.9,21.2,1,400,0.4,true,1,3,,\n";
        let r = SweepResults::parse_csv(csv).unwrap();
        assert_eq!(r.axes, ["service.api.replicas", "service.api"]);
        assert_eq!(r.points.len(), 2);
        assert_eq!(r.points[0].overloaded.as_deref(), Some("api"));
        assert_eq!(r.points[0].p99_ms, None);
        assert_eq!(r.points[1].values[1], AxisValue::Name("small".into()));
        assert_eq!(r.points[1].p99_ms_high, Some(21.2));
        assert!(r.points[1].slo_met);
    }

    #[test]
    fn time_series_windows_have_lengths_and_middles() {
        let csv = "window_start_s,p99_ms,api.utilization\n0,5,0.5\n10,,0.6\n20,7,0.7\n";
        let ts = TimeSeries::parse_csv(csv).unwrap();
        assert_eq!(ts.lengths(), [10.0, 10.0, 10.0]);
        assert_eq!(ts.points("p99_ms"), [(5.0, 5.0), (25.0, 7.0)]);
        assert_eq!(ts.services(), ["api"]);
        assert!(TimeSeries::parse_csv("a,b\n1,2\n").is_err());
    }
}
