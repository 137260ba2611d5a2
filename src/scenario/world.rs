//! The keys of a world that changes over time, checked and resolved: traffic shapes (diurnal,
//! steps, spikes, bursts, trace replay, closed-loop users), the time-series window,
//! autoscaling, health checks, faults, regions and the network between them, and the cost
//! items beyond a replica-hour price.
//!
//! Each table is read with the shared [`TableReader`] (every key checked, every problem
//! collected with its key path); the resolved types live here too, and hang off the model
//! (`Model.world`, `Traffic.arrivals`, `Service.autoscale`, `Service.health`, ...), so that the
//! steady-state model of `model.rs` reads exactly as before when none of this is used.
//!
//! Trace files are not read here: the loader is handed a reader of files (the CLI's) and this
//! module only parses the text it gets, reporting a bad line as `FILE:LINE`.

use super::duration::parse_duration_ns;
use super::problem::{join, Problem};
use super::reader::{a_type, a_value, TableReader};
use crate::distribution::Distribution;
use crate::engine::time::Nanos;

/// The default time-series window (`scenario.window`).
pub const DEFAULT_WINDOW_NS: Nanos = 10_000_000_000;
/// At most this many windows in a run: a window of 1 ms over a day would be 86 million rows.
pub const MAX_WINDOWS: u64 = 1_000_000;

/// How requests arrive.
#[derive(Debug, Clone, Default)]
pub enum Arrivals {
    /// Open-loop Poisson at the constant `traffic.rate`.
    #[default]
    Poisson,
    /// Open-loop Poisson at a rate that changes over time, sampled exactly by thinning.
    Shaped(Shape),
    /// Arrivals at the times a trace file lists (nanoseconds, sorted, inside the run).
    Replay(Vec<Nanos>),
    /// A closed loop: `users` each send a request, wait for its answer, think, and send again.
    Closed { users: u32, think: Distribution },
}

/// A time-varying rate: a base (constant, steps with ramps, or a rate trace) multiplied by a
/// diurnal profile, spikes and on/off bursts.
#[derive(Debug, Clone)]
pub struct Shape {
    pub base: BaseRate,
    pub diurnal: Option<Diurnal>,
    pub spikes: Vec<Spike>,
    pub bursts: Option<Bursts>,
}

impl Shape {
    /// The rate at time `t_ns`, with the bursts' state given.
    pub fn rate_per_s(&self, t_ns: f64, burst_on: bool) -> f64 {
        let mut rate = self.base.rate_per_s(t_ns);
        if let Some(d) = &self.diurnal {
            rate *= d.factor(t_ns);
        }
        for spike in &self.spikes {
            rate *= spike.factor(t_ns);
        }
        if let (Some(b), true) = (&self.bursts, burst_on) {
            rate *= b.multiplier;
        }
        rate
    }

    /// An upper bound of the rate over `[from, to)`, an interval with no break of the base
    /// or the spikes inside it (see [`Shape::breaks`]), bursts in the state given. The
    /// interval is open at `to`: where the rate jumps there (a step or spike without a ramp),
    /// the bound takes the rate just before the jump, not after it, which would thin the whole
    /// stretch since the previous break at the new rate (54 times the work for a step from
    /// 100/s to 5,400/s).
    pub fn bound_per_s(&self, from_ns: f64, to_ns: f64, burst_on: bool) -> f64 {
        let mut bound = match &self.base {
            // Linear between breaks: the larger end.
            BaseRate::Steps { .. } => self
                .base
                .rate_per_s(from_ns)
                .max(self.base.rate_before_per_s(to_ns)),
            // Constant between rows.
            BaseRate::Trace(_) => self.base.rate_per_s(from_ns),
        };
        if let Some(d) = &self.diurnal {
            bound *= d.max_factor(from_ns, to_ns);
        }
        for spike in &self.spikes {
            bound *= spike.factor(from_ns).max(spike.factor_before(to_ns));
        }
        if let (Some(b), true) = (&self.bursts, burst_on) {
            bound *= b.multiplier;
        }
        bound
    }

    /// The times where the base or a spike changes slope or jumps, sorted, before
    /// `duration_ns`: between two of them each is linear (or constant).
    pub fn breaks(&self, duration_ns: Nanos) -> Vec<Nanos> {
        let mut breaks = Vec::new();
        match &self.base {
            BaseRate::Steps { steps, .. } => {
                for s in steps {
                    breaks.extend([s.at_ns, s.at_ns + s.ramp_ns]);
                }
            }
            BaseRate::Trace(rows) => breaks.extend(rows.iter().map(|&(t, _)| t)),
        }
        for s in &self.spikes {
            let end = s.at_ns + s.duration_ns;
            breaks.extend([s.at_ns, s.at_ns + s.ramp_ns, end - s.ramp_ns, end]);
        }
        breaks.retain(|&t| t < duration_ns);
        breaks.sort_unstable();
        breaks.dedup();
        breaks
    }

    /// The mean rate over `[0, duration)` (bursts at their long-run share of time on): the
    /// rate the theory's offered load uses. A midpoint sum over 20,000 slices.
    pub fn mean_rate_per_s(&self, duration_ns: Nanos) -> f64 {
        const SLICES: u32 = 20_000;
        let slice = duration_ns as f64 / f64::from(SLICES);
        let on_share = self
            .bursts
            .map_or(0.0, |b| b.mean_on_ns / (b.mean_on_ns + b.mean_off_ns));
        (0..SLICES)
            .map(|i| {
                let t = (f64::from(i) + 0.5) * slice;
                (1.0 - on_share) * self.rate_per_s(t, false) + on_share * self.rate_per_s(t, true)
            })
            .sum::<f64>()
            / f64::from(SLICES)
    }
}

impl BaseRate {
    pub fn rate_per_s(&self, t_ns: f64) -> f64 {
        match self {
            BaseRate::Steps {
                initial_per_s,
                steps,
            } => {
                let mut level = *initial_per_s;
                for s in steps {
                    let at = s.at_ns as f64;
                    if t_ns < at {
                        break;
                    }
                    let ramp = s.ramp_ns as f64;
                    if t_ns < at + ramp {
                        return level + (s.rate_per_s - level) * (t_ns - at) / ramp;
                    }
                    level = s.rate_per_s;
                }
                level
            }
            BaseRate::Trace(rows) => {
                let after = rows.partition_point(|&(t, _)| (t as f64) <= t_ns);
                if after == 0 {
                    0.0
                } else {
                    rows[after - 1].1
                }
            }
        }
    }
}

impl BaseRate {
    /// The rate just before `t_ns` (its limit from the left). It differs from `rate_per_s`
    /// only at the time of a step without a ramp, where it is the level before the step;
    /// elsewhere it is `rate_per_s` itself, so a ramped shape's figures keep every bit.
    pub fn rate_before_per_s(&self, t_ns: f64) -> f64 {
        match self {
            BaseRate::Steps { steps, .. }
                if steps
                    .iter()
                    .any(|s| s.ramp_ns == 0 && s.at_ns as f64 == t_ns) =>
            {
                self.rate_per_s(t_ns.next_down())
            }
            _ => self.rate_per_s(t_ns),
        }
    }
}

impl Diurnal {
    pub fn factor(&self, t_ns: f64) -> f64 {
        let phase = (t_ns - self.peak_at_ns as f64) / self.period_ns as f64;
        1.0 + self.amplitude * (std::f64::consts::TAU * phase).cos()
    }

    /// The largest factor over `[from, to]`: the peak if the interval holds one, else the
    /// larger end (the cosine is monotone between a peak and a trough).
    pub fn max_factor(&self, from_ns: f64, to_ns: f64) -> f64 {
        let period = self.period_ns as f64;
        let peak = self.peak_at_ns as f64;
        let first_peak = peak + ((from_ns - peak) / period).ceil() * period;
        if first_peak <= to_ns {
            1.0 + self.amplitude
        } else {
            self.factor(from_ns).max(self.factor(to_ns))
        }
    }
}

impl Diurnal {
    /// The curve of clients split by `weights` (normalized here), each group living it
    /// `offsets_ns` ahead of the scenario clock: `sum_r w_r (1 + a cos(w (t + o_r - peak)))`.
    /// A sum of cosines of one period is one cosine: with `C = sum_r w_r cos(w o_r)` and
    /// `S = sum_r w_r sin(w o_r)` (`w = 2 pi / period`) it is `1 + a A cos(w (t - peak) + psi)`,
    /// `A = sqrt(C^2 + S^2)`, `psi = atan2(S, C)`: a diurnal curve of amplitude `a A` peaking at
    /// `peak - psi / w` (modulo the period, to the nearest nanosecond).
    pub fn shifted_sum(&self, weights: &[f64], offsets_ns: &[i64]) -> Diurnal {
        let total: f64 = weights.iter().sum();
        let omega = std::f64::consts::TAU / self.period_ns as f64;
        let (c, s) = weights
            .iter()
            .zip(offsets_ns)
            .fold((0.0, 0.0), |(c, s), (&w, &o)| {
                let angle = omega * o as f64;
                (c + w / total * angle.cos(), s + w / total * angle.sin())
            });
        let period = self.period_ns as f64;
        let peak = (self.peak_at_ns as f64 - s.atan2(c) / omega).rem_euclid(period);
        Diurnal {
            period_ns: self.period_ns,
            amplitude: self.amplitude * c.hypot(s),
            peak_at_ns: (peak.round() as Nanos) % self.period_ns,
        }
    }
}

impl Spike {
    pub fn factor(&self, t_ns: f64) -> f64 {
        let (at, end) = (self.at_ns as f64, (self.at_ns + self.duration_ns) as f64);
        if t_ns < at || t_ns >= end {
            return 1.0;
        }
        let ramp = self.ramp_ns as f64;
        let up = if ramp > 0.0 {
            ((t_ns - at) / ramp).min((end - t_ns) / ramp).min(1.0)
        } else {
            1.0
        };
        1.0 + (self.multiplier - 1.0) * up
    }
}

impl Spike {
    /// The factor just before `t_ns` (its limit from the left). It differs from `factor` only
    /// where a spike without a ramp jumps: 1 just before its start, `multiplier` just before
    /// its end.
    pub fn factor_before(&self, t_ns: f64) -> f64 {
        if self.ramp_ns == 0 {
            if t_ns == self.at_ns as f64 {
                return 1.0;
            }
            if t_ns == (self.at_ns + self.duration_ns) as f64 {
                return self.multiplier;
            }
        }
        self.factor(t_ns)
    }
}

/// The rate before multipliers.
#[derive(Debug, Clone)]
pub enum BaseRate {
    /// `rate`, changed by `steps`: each moves the rate linearly from its level before to its
    /// own `rate` over `[at, at + ramp)`.
    Steps {
        initial_per_s: f64,
        steps: Vec<RateStep>,
    },
    /// A trace's `(time, rate)` rows: each rate holds from its time to the next row's (the
    /// last to the end of the run); before the first row the rate is 0.
    Trace(Vec<(Nanos, f64)>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateStep {
    pub at_ns: Nanos,
    pub rate_per_s: f64,
    pub ramp_ns: Nanos,
}

/// `1 + a cos(2 pi (t - peak_at) / period)` with `a = (R - 1) / (R + 1)` for a peak-to-trough
/// ratio `R`: its mean over a period is 1, so `rate` is the mean rate over a day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Diurnal {
    pub period_ns: Nanos,
    pub amplitude: f64,
    pub peak_at_ns: Nanos,
}

/// A multiplier that ramps linearly from 1 to `multiplier` over `[at, at + ramp)`, holds,
/// and ramps back over `[at + duration - ramp, at + duration)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spike {
    pub at_ns: Nanos,
    pub duration_ns: Nanos,
    pub multiplier: f64,
    pub ramp_ns: Nanos,
}

/// A two-state Markov-modulated Poisson process: exponential `off` periods (rate x 1) and
/// `on` periods (rate x `multiplier`), starting off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bursts {
    pub mean_on_ns: f64,
    pub mean_off_ns: f64,
    pub multiplier: f64,
}

/// What a trace file held.
#[derive(Debug, Clone, PartialEq)]
pub enum Trace {
    Rates(Vec<(Nanos, f64)>),
    Times(Vec<Nanos>),
}

/// The keys of `[traffic]` that shape arrivals, as written.
pub struct RawShapeKeys<'a> {
    pub rate: Option<f64>,
    pub diurnal: Option<&'a toml::Value>,
    pub spikes: Option<&'a toml::Value>,
    pub steps: Option<&'a toml::Value>,
    pub bursts: Option<&'a toml::Value>,
    pub trace: Option<&'a toml::Value>,
    pub users: Option<&'a toml::Value>,
    pub think_time: Option<&'a toml::Value>,
}

/// Reads a file named in the scenario (relative to the scenario file): its text, or why not.
/// `Sync`, so that the points of a sweep can be loaded on several threads.
pub type FileReader<'a> = &'a (dyn Fn(&str) -> Result<String, String> + Sync);

/// Resolves the arrival process. `rate` has been checked (when given) by the caller;
/// `duration_ns` bounds every time.
pub fn arrivals(
    keys: &RawShapeKeys,
    duration_ns: Nanos,
    files: FileReader,
    problems: &mut Vec<Problem>,
) -> Option<Arrivals> {
    let before = problems.len();
    let closed = keys.users.is_some() || keys.think_time.is_some();
    if closed {
        for (key, present) in [
            ("rate", keys.rate.is_some()),
            ("diurnal", keys.diurnal.is_some()),
            ("spikes", keys.spikes.is_some()),
            ("steps", keys.steps.is_some()),
            ("bursts", keys.bursts.is_some()),
            ("trace", keys.trace.is_some()),
        ] {
            if present {
                problems.push(Problem::new(
                    join("traffic", key),
                    format!("a closed loop (users, think_time) sets its own pace; remove traffic.{key}, or remove users and think_time for open-loop arrivals"),
                ));
            }
        }
        let users = match keys.users {
            None => {
                problems.push(Problem::new(
                    "traffic.users",
                    "missing traffic.users, the number of closed-loop users; add e.g. users = 100",
                ));
                None
            }
            Some(toml::Value::Integer(n)) if (1..=10_000_000).contains(n) => Some(*n as u32),
            Some(other) => {
                problems.push(Problem::new(
                    "traffic.users",
                    format!(
                        "users must be a whole number from 1 to 10000000, not {}",
                        a_value(other)
                    ),
                ));
                None
            }
        };
        let think = match keys.think_time {
            None => {
                problems.push(Problem::new(
                    "traffic.think_time",
                    "missing traffic.think_time; add e.g. think_time = { dist = \"exponential\", mean = \"5s\" }",
                ));
                None
            }
            Some(v) => super::distribution::parse(v, "traffic.think_time", problems),
        };
        if problems.len() > before {
            return None;
        }
        return Some(Arrivals::Closed {
            users: users?,
            think: think?,
        });
    }

    let trace = keys
        .trace
        .and_then(|v| read_trace(v, duration_ns, files, problems));
    if keys.trace.is_some() && keys.rate.is_some() {
        problems.push(Problem::new(
            "traffic.rate",
            "a trace gives the rate over time; remove traffic.rate (or the trace)",
        ));
    }
    if keys.trace.is_some() && keys.steps.is_some() {
        problems.push(Problem::new(
            "traffic.steps",
            "a trace gives the rate over time; steps cannot be combined with it",
        ));
    }
    let diurnal = keys
        .diurnal
        .and_then(|v| diurnal(v, "traffic.diurnal", problems));
    let spikes = keys
        .spikes
        .map(|v| {
            list(v, "traffic.spikes", problems, |v, p, pr| {
                spike(v, p, duration_ns, pr)
            })
        })
        .unwrap_or_default();
    let steps = keys
        .steps
        .map(|v| {
            list(v, "traffic.steps", problems, |v, p, pr| {
                step(v, p, duration_ns, pr)
            })
        })
        .unwrap_or_default();
    check_steps_in_order(&steps, problems);
    let bursts = keys
        .bursts
        .and_then(|v| bursts(v, "traffic.bursts", problems));
    if problems.len() > before {
        return None;
    }
    let shaped = diurnal.is_some() || !spikes.is_empty() || !steps.is_empty() || bursts.is_some();
    let base = match trace {
        Some(Trace::Times(times)) => {
            if shaped {
                problems.push(Problem::new(
                    "traffic.trace",
                    "a trace of arrival times is replayed as it is; diurnal, spikes, steps and bursts shape a rate, so they cannot be combined with it",
                ));
                return None;
            }
            return Some(Arrivals::Replay(times));
        }
        Some(Trace::Rates(rows)) => BaseRate::Trace(rows),
        None if !shaped => return Some(Arrivals::Poisson),
        None => BaseRate::Steps {
            initial_per_s: keys.rate?,
            steps,
        },
    };
    Some(Arrivals::Shaped(Shape {
        base,
        diurnal,
        spikes,
        bursts,
    }))
}

/// A list of inline tables (`[{...}, {...}]`), each read by `one` at `path[i]`.
fn list<T>(
    value: &toml::Value,
    path: &str,
    problems: &mut Vec<Problem>,
    one: impl Fn(&toml::Value, &str, &mut Vec<Problem>) -> Option<T>,
) -> Vec<T> {
    let Some(items) = value.as_array() else {
        problems.push(Problem::new(
            path,
            format!(
                "{path} must be a list of tables such as [{{ ... }}], not {}",
                a_type(value)
            ),
        ));
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| one(item, &format!("{path}[{i}]"), problems))
        .collect()
}

/// A duration key that must lie inside the run: `[0, duration)`.
fn time_in_run(
    reader: &mut TableReader,
    key: &str,
    duration_ns: Nanos,
    what: &str,
) -> Option<Nanos> {
    let ns = reader.duration_ns(key)? as Nanos;
    if ns >= duration_ns {
        reader.problem(
            key,
            format!(
                "{what} at {} is outside the run, which lasts {}; it must start before the end",
                crate::engine::time::format_ns(ns as f64),
                crate::engine::time::format_ns(duration_ns as f64)
            ),
        );
        return None;
    }
    Some(ns)
}

fn optional_duration_ns(reader: &mut TableReader, key: &str, default: Nanos) -> Option<Nanos> {
    match reader.table.get(key) {
        None => Some(default),
        Some(v) => reader.duration_value_ns(key, v).map(|ns| ns as Nanos),
    }
}

fn spike(
    value: &toml::Value,
    path: &str,
    duration_ns: Nanos,
    problems: &mut Vec<Problem>,
) -> Option<Spike> {
    let mut r = TableReader::new(
        value,
        path,
        problems,
        "a spike such as { at = \"20m\", duration = \"5m\", multiplier = 10 }",
    )?;
    r.example = r#"{ at = "20m", duration = "5m", multiplier = 10, ramp = "30s" }"#;
    r.check_keys(
        &["at", "duration", "multiplier", "ramp"],
        |_| false,
        "in a spike",
    );
    let at_ns = time_in_run(&mut r, "at", duration_ns, "the spike");
    let length = r.positive_duration_ns("duration").map(|ns| ns as Nanos);
    let multiplier = r.number_within("multiplier", 0.0..=1e6, "from 0 to 1000000");
    let ramp_ns = optional_duration_ns(&mut r, "ramp", 0);
    let (at_ns, length, multiplier, ramp_ns) = (at_ns?, length?, multiplier?, ramp_ns?);
    if 2 * ramp_ns > length {
        r.problem(
            "ramp",
            "the ramp up and the ramp down both fit inside the spike's duration, so ramp must be at most half of it",
        );
        return None;
    }
    Some(Spike {
        at_ns,
        duration_ns: length,
        multiplier,
        ramp_ns,
    })
}

fn step(
    value: &toml::Value,
    path: &str,
    duration_ns: Nanos,
    problems: &mut Vec<Problem>,
) -> Option<RateStep> {
    let mut r = TableReader::new(
        value,
        path,
        problems,
        "a step such as { at = \"1h\", rate = 800 }",
    )?;
    r.example = r#"{ at = "1h", rate = 800, ramp = "10m" }"#;
    r.check_keys(&["at", "rate", "ramp"], |_| false, "in a step");
    let at_ns = time_in_run(&mut r, "at", duration_ns, "the step");
    let rate = r.number_within("rate", 0.0..=1e9, "from 0 to 1e9 requests per second");
    let ramp_ns = optional_duration_ns(&mut r, "ramp", 0);
    Some(RateStep {
        at_ns: at_ns?,
        rate_per_s: rate?,
        ramp_ns: ramp_ns?,
    })
}

fn check_steps_in_order(steps: &[RateStep], problems: &mut Vec<Problem>) {
    for (i, pair) in steps.windows(2).enumerate() {
        if pair[1].at_ns < pair[0].at_ns + pair[0].ramp_ns {
            problems.push(Problem::new(
                format!("traffic.steps[{}].at", i + 1),
                "steps must be listed in time order, each starting after the ramp of the one before ends",
            ));
        }
    }
}

fn diurnal(value: &toml::Value, path: &str, problems: &mut Vec<Problem>) -> Option<Diurnal> {
    let mut r = TableReader::new(
        value,
        path,
        problems,
        "a diurnal profile such as { period = \"24h\", peak_to_trough = 3.0, peak_at = \"20h\" }",
    )?;
    r.example = r#"{ period = "24h", peak_to_trough = 3.0, peak_at = "20h" }"#;
    r.check_keys(
        &["period", "peak_to_trough", "peak_at"],
        |_| false,
        "in diurnal",
    );
    let period_ns = optional_duration_ns(&mut r, "period", 86_400_000_000_000);
    let ratio = r.number_within("peak_to_trough", 1.0..=1e6, "from 1 (flat) to 1000000");
    let peak_at_ns = optional_duration_ns(&mut r, "peak_at", 0);
    let period_ns = period_ns?;
    if period_ns < 1_000_000_000 {
        r.problem("period", "period must be at least 1s");
        return None;
    }
    let ratio = ratio?;
    Some(Diurnal {
        period_ns,
        amplitude: (ratio - 1.0) / (ratio + 1.0),
        peak_at_ns: peak_at_ns? % period_ns,
    })
}

fn bursts(value: &toml::Value, path: &str, problems: &mut Vec<Problem>) -> Option<Bursts> {
    let mut r = TableReader::new(
        value,
        path,
        problems,
        "bursts such as { on = \"30s\", off = \"5m\", multiplier = 4 }",
    )?;
    r.example = r#"{ on = "30s", off = "5m", multiplier = 4 }"#;
    r.check_keys(&["on", "off", "multiplier"], |_| false, "in bursts");
    let on = r.positive_duration_ns("on");
    let off = r.positive_duration_ns("off");
    let multiplier = r.number_within("multiplier", 0.0..=1e6, "from 0 to 1000000");
    Some(Bursts {
        mean_on_ns: on?,
        mean_off_ns: off?,
        multiplier: multiplier?,
    })
}

/// Reads and parses the trace file named by `traffic.trace`.
fn read_trace(
    value: &toml::Value,
    duration_ns: Nanos,
    files: FileReader,
    problems: &mut Vec<Problem>,
) -> Option<Trace> {
    let Some(name) = value.as_str() else {
        problems.push(Problem::new(
            "traffic.trace",
            format!(
                "trace must be the path of a CSV file, not {}",
                a_type(value)
            ),
        ));
        return None;
    };
    let text = match files(name) {
        Ok(text) => text,
        Err(why) => {
            problems.push(Problem::new(
                "traffic.trace",
                format!("cannot read trace file {name}: {why}"),
            ));
            return None;
        }
    };
    match parse_trace(&text, duration_ns) {
        Ok(trace) => Some(trace),
        Err((line, why)) => {
            problems.push(Problem::new(
                "traffic.trace",
                match line {
                    Some(line) => format!("{name}:{line}: {why}"),
                    None => format!("{name}: {why}"),
                },
            ));
            None
        }
    }
}

/// Parses a trace: CSV rows `time_s,rate` (a header naming those columns is allowed) or one
/// arrival time in seconds per line. Times must not decrease. Errors carry the 1-based line.
pub fn parse_trace(text: &str, duration_ns: Nanos) -> Result<Trace, (Option<u64>, String)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut rates = Vec::new();
    let mut times = Vec::new();
    let mut columns = None;
    let mut last_ns = 0;
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line());
            (line, format!("not valid CSV: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        let first = record.get(0).unwrap_or_default();
        if columns.is_none() && first.parse::<f64>().is_err() {
            // A header: `time_s,rate` or `time_s`.
            let names: Vec<&str> = record.iter().collect();
            if names != ["time_s", "rate"] && names != ["time_s"] {
                return Err((
                    Some(line),
                    format!("the header must be `time_s,rate` (a rate trace) or `time_s` (arrival times), not `{}`", names.join(",")),
                ));
            }
            columns = Some(names.len());
            continue;
        }
        let n = *columns.get_or_insert(record.len());
        if record.len() != n || !(1..=2).contains(&n) {
            return Err((
                Some(line),
                format!(
                    "expected {} a line, found {} fields",
                    if n == 2 {
                        "two fields (time_s,rate)"
                    } else {
                        "one field (an arrival time in seconds)"
                    },
                    record.len()
                ),
            ));
        }
        let time_s: f64 = first.parse().map_err(|_| {
            (
                Some(line),
                format!("time \"{first}\" is not a number of seconds"),
            )
        })?;
        if !(0.0..3.15e9).contains(&time_s) {
            return Err((
                Some(line),
                format!("time {time_s} must be from 0 to 100 years in seconds"),
            ));
        }
        let time_ns = (time_s * 1e9).round() as Nanos;
        if time_ns < last_ns {
            return Err((
                Some(line),
                format!("time {time_s} is before the line above; times must not decrease"),
            ));
        }
        last_ns = time_ns;
        if n == 2 {
            let text = record.get(1).unwrap_or_default();
            let rate: f64 = text.parse().map_err(|_| {
                (
                    Some(line),
                    format!("rate \"{text}\" is not a number of requests per second"),
                )
            })?;
            if !(0.0..=1e9).contains(&rate) {
                return Err((
                    Some(line),
                    format!("rate {rate} must be from 0 to 1e9 requests per second"),
                ));
            }
            rates.push((time_ns, rate));
        } else if time_ns < duration_ns {
            times.push(time_ns);
        }
    }
    match columns {
        Some(2) if !rates.is_empty() => Ok(Trace::Rates(rates)),
        Some(1) => Ok(Trace::Times(times)),
        _ => Err((None, "the trace has no data rows".into())),
    }
}

/// `scenario.window`: the time-series window; at most [`MAX_WINDOWS`] in a run, and no
/// longer than the run.
pub fn window_ns(value: Option<&str>, duration_ns: Nanos, problems: &mut Vec<Problem>) -> Nanos {
    let Some(text) = value else {
        return DEFAULT_WINDOW_NS.min(duration_ns);
    };
    match parse_duration_ns(text) {
        Ok(0) => problems.push(Problem::new("scenario.window", "window must be longer than 0")),
        Ok(ns) if ns > duration_ns => problems.push(Problem::new(
            "scenario.window",
            format!(
                "window \"{text}\" is longer than the run ({}); use at most the duration",
                crate::engine::time::format_ns(duration_ns as f64)
            ),
        )),
        Ok(ns) if duration_ns.div_ceil(ns) > MAX_WINDOWS => problems.push(Problem::new(
            "scenario.window",
            format!("window \"{text}\" would cut the run into more than {MAX_WINDOWS} windows; use a longer one"),
        )),
        Ok(ns) => return ns,
        Err(e) => problems.push(Problem::new("scenario.window", e)),
    }
    DEFAULT_WINDOW_NS.min(duration_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bound over a stretch is the most the rate reaches inside it, open at its end: up
    /// to a step from 100/s to 5,400/s without a ramp at 50 min, 100/s (the step's rate would
    /// make 54 candidates per arrival); from the step on, 5,400/s. The same for a 10x spike
    /// without a ramp over [10m, 20m): 1x before it, 10x inside, 1x after; with a ramp, the
    /// bound is the rate at the ramp's end, as before.
    #[test]
    fn the_bound_of_a_stretch_ends_just_before_a_jump_at_its_end() {
        let min = 60e9;
        let step = |ramp_ns| Shape {
            base: BaseRate::Steps {
                initial_per_s: 100.0,
                steps: vec![RateStep {
                    at_ns: 3_000_000_000_000,
                    rate_per_s: 5400.0,
                    ramp_ns,
                }],
            },
            diurnal: None,
            spikes: Vec::new(),
            bursts: None,
        };
        assert_eq!(step(0).breaks(u64::MAX), vec![3_000_000_000_000]);
        assert_eq!(step(0).bound_per_s(0.0, 50.0 * min, false), 100.0);
        assert_eq!(step(0).bound_per_s(50.0 * min, 60.0 * min, false), 5400.0);
        let ramped = step(60_000_000_000);
        assert_eq!(ramped.bound_per_s(50.0 * min, 51.0 * min, false), 5400.0);
        assert_eq!(ramped.bound_per_s(0.0, 50.0 * min, false), 100.0);
        let spiked = |ramp_ns| Shape {
            base: BaseRate::Steps {
                initial_per_s: 100.0,
                steps: Vec::new(),
            },
            diurnal: None,
            spikes: vec![Spike {
                at_ns: 600_000_000_000,
                duration_ns: 600_000_000_000,
                multiplier: 10.0,
                ramp_ns,
            }],
            bursts: None,
        };
        let bound = |from: f64, to: f64| spiked(0).bound_per_s(from * min, to * min, false);
        assert_eq!(
            [bound(0.0, 10.0), bound(10.0, 20.0), bound(20.0, 30.0)],
            [100.0, 1000.0, 100.0]
        );
        let ramped = spiked(60_000_000_000);
        assert_eq!(ramped.bound_per_s(10.0 * min, 11.0 * min, false), 1000.0);
        assert_eq!(ramped.bound_per_s(19.0 * min, 20.0 * min, false), 1000.0);
    }

    #[test]
    fn traces_of_rates_and_of_times_parse_with_or_without_a_header() {
        let rates = parse_trace("time_s,rate\n0,10\n60, 20\n", u64::MAX).unwrap();
        assert_eq!(rates, Trace::Rates(vec![(0, 10.0), (60_000_000_000, 20.0)]));
        let times = parse_trace("0.5\n1.25\n# a comment\n\n9\n", 5_000_000_000).unwrap();
        assert_eq!(times, Trace::Times(vec![500_000_000, 1_250_000_000]));
    }

    #[test]
    fn a_bad_trace_line_is_named() {
        let (line, why) = parse_trace("time_s,rate\n0,10\n5,fast\n", u64::MAX).unwrap_err();
        assert_eq!(line, Some(3));
        assert!(why.contains("fast"), "{why}");
        let (line, why) = parse_trace("1\n0.5\n", u64::MAX).unwrap_err();
        assert_eq!(line, Some(2));
        assert!(why.contains("decrease"), "{why}");
        let (line, _) = parse_trace("0,1\n2\n", u64::MAX).unwrap_err();
        assert_eq!(line, Some(2));
        assert!(parse_trace("", u64::MAX).is_err());
    }
}
