//! The time series: per window of `[0, duration)`, integer tallies (requests by outcome, each
//! service's levels integrated over the window in level x ns, visits) and a sparse latency
//! histogram, closed at each window's end (so memory grows with the number of windows, never
//! with requests). Replications pool by integer addition and histogram merging, which are
//! exact, so they pool in any order as they finish. What is read off the pooled series at
//! summary time: each window's percentiles from its merged histogram, availability, cost, the
//! error-budget burn rate and its multi-window alerts, and the time to recover after a fault.

use super::recorder::Counts;
use crate::engine::time::Nanos;
use crate::scenario::model::Model;

/// The window histograms bucket latencies exactly as an HDR histogram at 2 significant digits
/// does (`Durations::compact`, within 1%), so that one replication's window percentiles are
/// the ones that histogram reads: 256 buckets 1 ns wide below 256 ns, then 128 per doubling,
/// `2^k` ns wide. Indices stay below 7,424 for any `u64`.
const HALF_BUCKETS_LOG2: u32 = 7;
/// `2 x 128 - 1`: values below 256 share the first, 1 ns-wide, bucket range.
const SUB_BUCKET_MASK: u64 = (1 << (HALF_BUCKETS_LOG2 + 1)) - 1;

/// The bucket of a latency (HDR's counts index).
fn bucket_of(ns: Nanos) -> usize {
    // Doublings above the first 256 ns (0 below), then the position within the doubling.
    let doublings = (64 - HALF_BUCKETS_LOG2 - 1) - (ns | SUB_BUCKET_MASK).leading_zeros();
    ((doublings as usize) << HALF_BUCKETS_LOG2) + (ns >> doublings) as usize
}

/// The highest latency in bucket `index` (what HDR reads a percentile as).
fn highest_ns(index: usize) -> Nanos {
    let half = 1usize << HALF_BUCKETS_LOG2;
    let (doublings, sub) = if index < 2 * half {
        (0, index)
    } else {
        (
            (index >> HALF_BUCKETS_LOG2) - 1,
            (index & (half - 1)) + half,
        )
    };
    ((sub as u64) << doublings) | ((1u64 << doublings) - 1)
}

/// Appends `value` as LEB128: 7 bits a byte, low bits first, the top bit set on every byte
/// but the last (1 byte below 128, 2 below 16,384).
fn put_varint(bytes: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        bytes.push((value as u8) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

/// The non-empty buckets of one window's histogram, `(index, count)` in increasing index,
/// decoded from pairs of varints (the index as the step from the previous one).
struct Buckets<'a> {
    bytes: &'a [u8],
    index: usize,
}

impl Buckets<'_> {
    fn varint(&mut self) -> u64 {
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            let (&byte, rest) = self.bytes.split_first().expect("a whole varint");
            self.bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return value;
            }
            shift += 7;
        }
    }
}

impl Iterator for Buckets<'_> {
    type Item = (usize, u64);

    fn next(&mut self) -> Option<(usize, u64)> {
        if self.bytes.is_empty() {
            return None;
        }
        self.index += self.varint() as usize;
        Some((self.index, self.varint()))
    }
}

/// Encodes buckets (increasing index) as [`Buckets`] reads them.
fn put_buckets(bytes: &mut Vec<u8>, buckets: impl Iterator<Item = (usize, u64)>) {
    let mut previous = 0;
    for (index, count) in buckets {
        put_varint(bytes, (index - previous) as u64);
        put_varint(bytes, count);
        previous = index;
    }
}

/// Latencies of the window under way, one counter per bucket (grown to the largest bucket
/// seen, at most 7,424 counters, 58 KiB; one per running replication), with the range of
/// buckets touched so that closing a window reads and clears only that range.
#[derive(Debug, Clone)]
pub struct OpenLatency {
    counts: Vec<u64>,
    low: usize,
    high: usize,
}

impl Default for OpenLatency {
    fn default() -> Self {
        OpenLatency {
            counts: Vec::new(),
            low: usize::MAX,
            high: 0,
        }
    }
}

impl OpenLatency {
    #[inline]
    pub fn record(&mut self, ns: Nanos) {
        let index = bucket_of(ns);
        if index >= self.counts.len() {
            // Rare, and early: the counters grow to the largest latency's bucket once.
            self.counts.resize(index + 1, 0);
        }
        self.counts[index] += 1;
        self.low = self.low.min(index);
        self.high = self.high.max(index + 1);
    }
}

/// The latency histograms of every window, sparse: each window's non-empty buckets in
/// increasing order, as varints (the step from the previous bucket's index, then the count),
/// all windows in one byte vector. A window costs 4 bytes of offset plus about 2 per
/// non-empty bucket (3 once a bucket's count passes 127): a few hundred buckets at most for
/// a latency spread over a decade or two (128 per doubling), and no more buckets than
/// requests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Latencies {
    bytes: Vec<u8>,
    /// `bytes[ends[w - 1]..ends[w]]` is window w's histogram.
    ends: Vec<u32>,
}

impl Latencies {
    fn window(&self, w: usize) -> Buckets<'_> {
        let start = if w == 0 { 0 } else { self.ends[w - 1] as usize };
        Buckets {
            bytes: &self.bytes[start..self.ends[w] as usize],
            index: 0,
        }
    }

    fn end_window(&mut self) {
        let end = u32::try_from(self.bytes.len())
            .expect("under 4 GiB of window histograms (about a billion non-empty buckets)");
        self.ends.push(end);
    }

    /// Closes a window with `open`'s latencies, and empties `open` for the next.
    pub fn close(&mut self, open: &mut OpenLatency) {
        let range = open.low..open.high.max(open.low);
        let counts = &mut open.counts;
        let buckets = range.filter_map(|index| {
            let count = std::mem::take(&mut counts[index]);
            (count > 0).then_some((index, count))
        });
        put_buckets(&mut self.bytes, buckets);
        open.low = usize::MAX;
        open.high = 0;
        self.end_window();
    }

    /// Adds another replication's histograms window by window (merging two sorted bucket
    /// lists; equal buckets add their counts).
    fn add(&mut self, other: &Latencies) {
        let mut merged = Latencies {
            bytes: Vec::with_capacity(self.bytes.len() + other.bytes.len()),
            ends: Vec::with_capacity(self.ends.len()),
        };
        for w in 0..self.ends.len().min(other.ends.len()) {
            let (mut a, mut b) = (self.window(w).peekable(), other.window(w).peekable());
            let buckets = std::iter::from_fn(|| match (a.peek(), b.peek()) {
                (Some(&(i, m)), Some(&(j, n))) => Some(if i < j {
                    a.next();
                    (i, m)
                } else if j < i {
                    b.next();
                    (j, n)
                } else {
                    a.next();
                    b.next();
                    (i, m + n)
                }),
                _ => a.next().or_else(|| b.next()),
            });
            put_buckets(&mut merged.bytes, buckets);
            merged.end_window();
        }
        merged.bytes.shrink_to_fit();
        *self = merged;
    }

    /// The latencies of windows `windows` together at quantile `q` (0 when they have none).
    pub fn quantile_over_ns(&self, windows: std::ops::Range<usize>, q: f64) -> f64 {
        let mut buckets: Vec<(usize, u64)> = windows
            .filter(|&w| w < self.ends.len())
            .flat_map(|w| self.window(w))
            .collect();
        buckets.sort_unstable();
        let total: u64 = buckets.iter().map(|b| b.1).sum();
        if total == 0 {
            return 0.0;
        }
        let rank = ((q.min(1.0) * total as f64).ceil() as u64).max(1);
        let mut running = 0;
        for (index, count) in buckets {
            running += count;
            if running >= rank {
                return highest_ns(index) as f64;
            }
        }
        0.0
    }

    /// Window w's latencies at quantiles `qs` (ascending), read as HDR's `value_at_quantile`
    /// reads them: the highest value of the first bucket at which the running count reaches
    /// `ceil(q x total)` (at least 1). 0 when the window has none.
    pub fn quantiles_ns<const N: usize>(&self, w: usize, qs: [f64; N]) -> [f64; N] {
        let total: u64 = self.window(w).map(|(_, count)| count).sum();
        let mut out = [0.0; N];
        if total == 0 {
            return out;
        }
        let mut running = 0;
        let mut at = self.window(w);
        let mut current = at.next().expect("a window with requests has a bucket");
        running += current.1;
        for (value, &q) in out.iter_mut().zip(&qs) {
            let rank = ((q.min(1.0) * total as f64).ceil() as u64).max(1);
            while running < rank {
                current = at.next().expect("the counts add up to the total");
                running += current.1;
            }
            *value = highest_ns(current.0) as f64;
        }
        out
    }
}

/// Each service's levels integrated over a window, in level x ns, in this order within the
/// service's share of [`Series::levels`]: replicas ready, replicas starting, busy workers,
/// queued requests, then replicas billed in each of its regions (one when it has none).
pub const READY: usize = 0;
pub const STARTING: usize = 1;
pub const BUSY: usize = 2;
pub const QUEUED: usize = 3;
pub const BILLED: usize = 4;

/// A rollout's phases, as the time series names them (`components::deployment::Phase`
/// in this order).
pub const PHASE_KEYS: [&str; 10] = [
    "pending",
    "progressing",
    "preview",
    "switched",
    "step",
    "paused",
    "split",
    "mirror",
    "aborted",
    "done",
];

/// One deployment in one window: the new version's weight (in millionths) and the ready
/// replicas of each version integrated over the window, and how many replications were in
/// each phase at its end.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RolloutWindow {
    pub weight_area: u128,
    pub new_ready_area: u128,
    pub old_ready_area: u128,
    pub phases: [u32; PHASE_KEYS.len()],
}

impl RolloutWindow {
    fn add(&mut self, other: &RolloutWindow) {
        self.weight_area += other.weight_area;
        self.new_ready_area += other.new_ready_area;
        self.old_ready_area += other.old_ready_area;
        for (mine, theirs) in self.phases.iter_mut().zip(other.phases) {
            *mine += theirs;
        }
    }
}

/// A deployment in one window of the pooled series, as reported (means over replications).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RolloutRow {
    /// The new version's share of requests by weight (0 to 1); by replica count when the
    /// route follows counts.
    pub weight_new: f64,
    pub replicas_new_ready: f64,
    pub replicas_old_ready: f64,
    /// The phase most replications were in at the window's end.
    pub phase: &'static str,
}

/// The time series of one replication, or the sum over replications once pooled: integers
/// only, so that pooling is exact whatever the order. A window holds 56 bytes of counts, 8 of
/// visits and 16 of each level integral per service (so 88 + 16 x regions beyond the first),
/// and its latency histogram (see [`Latencies`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub window_ns: Nanos,
    pub duration_ns: Nanos,
    /// Billed regions of each service (1 when it has none).
    regions: Vec<usize>,
    /// Requests by outcome: `arrived` counts requests arriving in the window; the endings
    /// count requests ending in it (whenever they arrived), as a dashboard of finished
    /// requests does.
    pub counts: Vec<Counts>,
    /// Per window, per service: visits (what a price per request bills).
    visits: Vec<u64>,
    /// Per window, per service: the integrals named by [`READY`] and the others.
    levels: Vec<u128>,
    /// Latencies of the requests that succeeded in each window.
    pub latency: Latencies,
    /// Per window, per deployment.
    pub rollouts: Vec<RolloutWindow>,
    deployments: usize,
}

impl Series {
    pub fn new(model: &Model) -> Series {
        let windows = model.duration_ns.div_ceil(model.series_window_ns) as usize;
        let regions: Vec<usize> = model
            .services
            .iter()
            .map(|s| s.fleet.regions.as_ref().map_or(1, Vec::len))
            .collect();
        let stride = Series::stride_of(&regions);
        Series {
            window_ns: model.series_window_ns,
            duration_ns: model.duration_ns,
            counts: Vec::with_capacity(windows),
            visits: Vec::with_capacity(windows * regions.len()),
            levels: Vec::with_capacity(windows * stride),
            regions,
            latency: Latencies::default(),
            rollouts: Vec::new(),
            deployments: model.deployments.len(),
        }
    }

    /// Level integrals per window: 4 per service, and one per billed region.
    fn stride_of(regions: &[usize]) -> usize {
        regions.iter().map(|r| BILLED + r).sum()
    }

    /// Where each service's levels start within a window's.
    pub fn level_offsets(&self) -> Vec<usize> {
        self.regions
            .iter()
            .scan(0, |at, r| {
                let offset = *at;
                *at += BILLED + r;
                Some(offset)
            })
            .collect()
    }

    /// The number of level integrals per window.
    pub fn levels_per_window(&self) -> usize {
        Series::stride_of(&self.regions)
    }

    pub fn windows(&self) -> usize {
        self.counts.len()
    }

    /// Closes the next window with its counts, integrals (laid out as [`Series::levels`])
    /// and visits per service, and the latencies in `open` (which is emptied).
    pub fn close_window(
        &mut self,
        counts: Counts,
        levels: &[u128],
        visits: &[u64],
        rollouts: &[RolloutWindow],
        open: &mut OpenLatency,
    ) {
        assert_eq!(rollouts.len(), self.deployments, "one window's rollouts");
        self.rollouts.extend_from_slice(rollouts);
        assert_eq!(
            levels.len(),
            self.levels_per_window(),
            "one window's levels"
        );
        assert_eq!(visits.len(), self.regions.len(), "one window's visits");
        self.counts.push(counts);
        self.levels.extend_from_slice(levels);
        self.visits.extend_from_slice(visits);
        self.latency.close(open);
    }

    /// Adds another replication's series, window by window.
    pub fn add(&mut self, other: Series) {
        if self.counts.is_empty() {
            *self = other;
            return;
        }
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            mine.add(theirs);
        }
        for (mine, theirs) in self.levels.iter_mut().zip(&other.levels) {
            *mine += theirs;
        }
        for (mine, theirs) in self.visits.iter_mut().zip(&other.visits) {
            *mine += theirs;
        }
        for (mine, theirs) in self.rollouts.iter_mut().zip(&other.rollouts) {
            mine.add(theirs);
        }
        self.latency.add(&other.latency);
    }

    /// Window w's start and length: windows end every `window_ns`, and the last with the run.
    fn span_ns(&self, w: usize) -> (Nanos, Nanos) {
        let start = w as u64 * self.window_ns;
        (start, self.window_ns.min(self.duration_ns - start))
    }

    /// Succeeded / finished in window w; 1 when nothing finished.
    fn availability(&self, w: usize) -> f64 {
        let c = &self.counts[w];
        let finished = c.succeeded + c.failed + c.rejected + c.timed_out;
        if finished == 0 {
            1.0
        } else {
            c.succeeded as f64 / finished as f64
        }
    }
}

/// One service in one window: time averages over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ServiceRow {
    pub replicas_ready: f64,
    pub replicas_starting: f64,
    /// Starting, ready or draining: what is paid for.
    pub replicas_billed: f64,
    /// Busy worker-time over ready worker-time (0 when no replica was ready).
    pub utilization: f64,
    pub queue_length: f64,
}

/// A window of the pooled series, as reported.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRow {
    pub start_s: f64,
    pub length_s: f64,
    /// Summed over replications, like the summary's `requests`.
    pub counts: Counts,
    pub throughput_rps: f64,
    /// Percentiles of the window's latencies pooled over replications (2 significant
    /// digits); 0 when no request succeeded in the window.
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub availability: f64,
    /// The error-budget burn rate, `(1 - availability) / (1 - SLO)`, when there is an
    /// availability objective below 1.
    pub burn_rate: Option<f64>,
    pub cost_per_hour_usd: f64,
    /// Means over replications; utilization is the pooled busy worker-time over the pooled
    /// ready worker-time, as the summary's.
    pub services: Vec<ServiceRow>,
    /// One per deployment.
    pub rollouts: Vec<RolloutRow>,
}

const HOUR_NS: f64 = 3_600e9;

/// Turns the pooled series (sums over `replications`) into reported rows. A window's cost is
/// its billed replica-time at each region's price, its visits at the price per request, and
/// the fixed monthly items pro rata (traffic between regions is counted in the summary's
/// cost only).
pub fn report_rows(
    series: &Series,
    model: &Model,
    replications: u32,
    availability_slo: Option<f64>,
) -> Vec<SeriesRow> {
    let n = f64::from(replications.max(1));
    let offsets = series.level_offsets();
    let stride = series.levels_per_window();
    let services = series.regions.len();
    let fixed_per_hour_usd = super::summary::fixed_per_hour_usd(model);
    let prices: Vec<(f64, Vec<f64>)> = model
        .services
        .iter()
        .zip(&series.regions)
        .map(|(spec, &regions)| {
            let factors = (0..regions)
                .map(|r| super::summary::region_price_factor(model, spec, r))
                .collect();
            (super::summary::replica_hour_usd(spec), factors)
        })
        .collect();
    (0..series.windows())
        .map(|w| {
            let (start_ns, length_ns) = series.span_ns(w);
            let length_s = length_ns as f64 / 1e9;
            let levels = &series.levels[w * stride..(w + 1) * stride];
            let visits = &series.visits[w * services..(w + 1) * services];
            let [p50, p95, p99] = series.latency.quantiles_ns(w, [0.50, 0.95, 0.99]);
            let availability = series.availability(w);
            let mut cost_usd = fixed_per_hour_usd * (length_ns as f64 * n) / HOUR_NS;
            let rows = offsets
                .iter()
                .enumerate()
                .map(|(s, &at)| {
                    let level = |k: usize| levels[at + k] as f64;
                    let billed = &levels[at + BILLED..at + BILLED + series.regions[s]];
                    let (hourly, factors) = &prices[s];
                    for (area, factor) in billed.iter().zip(factors) {
                        cost_usd += *area as f64 / HOUR_NS * hourly * factor;
                    }
                    let spec = &model.services[s];
                    cost_usd += visits[s] as f64 * spec.fleet.price_per_request_usd;
                    let worker_time = level(READY) * f64::from(spec.concurrency);
                    ServiceRow {
                        replicas_ready: level(READY) / length_ns as f64 / n,
                        replicas_starting: level(STARTING) / length_ns as f64 / n,
                        replicas_billed: billed.iter().sum::<u128>() as f64 / length_ns as f64 / n,
                        utilization: if worker_time > 0.0 {
                            level(BUSY) / worker_time
                        } else {
                            0.0
                        },
                        queue_length: level(QUEUED) / length_ns as f64 / n,
                    }
                })
                .collect();
            SeriesRow {
                start_s: start_ns as f64 / 1e9,
                length_s,
                counts: series.counts[w],
                throughput_rps: series.counts[w].succeeded as f64 / (length_s * n),
                p50_ms: p50 / 1e6,
                p95_ms: p95 / 1e6,
                p99_ms: p99 / 1e6,
                availability,
                burn_rate: burn_rate(availability, availability_slo),
                cost_per_hour_usd: cost_usd / n / (length_s / 3600.0),
                services: rows,
                rollouts: series.rollouts[w * series.deployments..(w + 1) * series.deployments]
                    .iter()
                    .map(|r| {
                        let per = |area: u128| area as f64 / length_ns as f64 / n;
                        let most = (0..PHASE_KEYS.len())
                            .max_by_key(|&p| (r.phases[p], std::cmp::Reverse(p)))
                            .unwrap_or(0);
                        RolloutRow {
                            weight_new: per(r.weight_area) / 1e6,
                            replicas_new_ready: per(r.new_ready_area),
                            replicas_old_ready: per(r.old_ready_area),
                            phase: PHASE_KEYS[most],
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

fn burn_rate(availability: f64, slo: Option<f64>) -> Option<f64> {
    let slo = slo.filter(|&a| a < 1.0)?;
    Some((1.0 - availability) / (1.0 - slo))
}

/// One tier of the Google SRE workbook's multi-window, multi-burn-rate alerts (for a 30-day
/// SLO period): it fires when the burn rate over both the long and the short window is at or
/// above `threshold`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertTier {
    pub severity: &'static str,
    pub long_s: f64,
    pub short_s: f64,
    pub threshold: f64,
}

/// The workbook's recommended tiers: 2% of a 30-day budget in 1 h, 5% in 6 h (pages), 10% in
/// 3 days (a ticket).
pub const ALERT_TIERS: [AlertTier; 3] = [
    AlertTier {
        severity: "page",
        long_s: 3_600.0,
        short_s: 300.0,
        threshold: 14.4,
    },
    AlertTier {
        severity: "page",
        long_s: 21_600.0,
        short_s: 1_800.0,
        threshold: 6.0,
    },
    AlertTier {
        severity: "ticket",
        long_s: 259_200.0,
        short_s: 21_600.0,
        threshold: 1.0,
    },
];

/// When an alert tier first fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub tier: AlertTier,
    /// The end of the window at which both burn rates first reached the threshold.
    pub first_at_s: f64,
}

/// The error budget over the measured window, and the alerts its burn would have fired.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorBudget {
    pub slo: f64,
    /// Failed, rejected and timed-out requests the SLO allows: `(1 - slo) x finished`.
    pub allowed_failures: f64,
    pub failures: u64,
    /// `failures / allowed_failures` (above 1: the budget is overspent).
    pub consumed: f64,
    /// The worst window's burn rate.
    pub max_burn_rate: f64,
    pub alerts: Vec<Alert>,
}

/// The error budget for an availability objective `slo` (below 1), from the measured counts
/// and the pooled series. A trailing window of the alert tiers is the last whole windows
/// covering it (at least one). Running sums of finished and failed requests make each
/// trailing window's burn one subtraction, so the whole is linear in the number of windows.
pub fn error_budget(slo: f64, measured: &Counts, series: &Series) -> Option<ErrorBudget> {
    if slo >= 1.0 {
        return None;
    }
    let finished = measured.succeeded + measured.failed + measured.rejected + measured.timed_out;
    let failures = finished - measured.succeeded;
    let allowed_failures = (1.0 - slo) * finished as f64;
    let windows = series.windows();
    let max_burn_rate = (0..windows)
        .map(|w| (1.0 - series.availability(w)) / (1.0 - slo))
        .fold(0.0, f64::max);
    // (finished, failed) over windows [0, w), for w in 0..=windows.
    let mut running = Vec::with_capacity(windows + 1);
    running.push((0u64, 0u64));
    for c in &series.counts {
        let (finished, failed) = *running.last().expect("starts with zeros");
        let ended = c.succeeded + c.failed + c.rejected + c.timed_out;
        running.push((finished + ended, failed + ended - c.succeeded));
    }
    let mut alerts = Vec::new();
    for tier in ALERT_TIERS {
        let length_s = series.span_ns(0).1 as f64 / 1e9;
        let take = |span_s: f64| ((span_s / length_s).round() as usize).max(1);
        let (long, short) = (take(tier.long_s), take(tier.short_s));
        // The burn over the `take` windows ending with window `end`.
        let burn_over = |end: usize, take: usize| -> f64 {
            let (to, from) = (running[end + 1], running[(end + 1).saturating_sub(take)]);
            let (finished, failed) = (to.0 - from.0, to.1 - from.1);
            if finished == 0 {
                0.0
            } else {
                failed as f64 / finished as f64 / (1.0 - slo)
            }
        };
        if let Some(end) = (0..windows).find(|&w| {
            burn_over(w, long) >= tier.threshold && burn_over(w, short) >= tier.threshold
        }) {
            let (start_ns, length_ns) = series.span_ns(end);
            alerts.push(Alert {
                tier,
                first_at_s: (start_ns + length_ns) as f64 / 1e9,
            });
        }
    }
    Some(ErrorBudget {
        slo,
        allowed_failures,
        failures,
        consumed: if allowed_failures > 0.0 {
            failures as f64 / allowed_failures
        } else {
            0.0
        },
        max_burn_rate,
        alerts,
    })
}

/// How the SLO fared after a fault began.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    pub fault: String,
    pub at_s: f64,
    /// Whether some window from the fault's start on missed the SLO.
    pub breached: bool,
    /// The start of the first window after the breach that met the SLO again; `None` when
    /// none did before the run ended.
    pub recovered_at_s: Option<f64>,
    /// `recovered_at - at` (0 when the SLO was never breached).
    pub time_to_recover_s: Option<f64>,
}

/// For each fault starting at `at_ns`, the first window back within the SLO after it broke.
/// A window meets the SLO when `meets` says so (availability and the per-window
/// percentiles).
pub fn recoveries(
    faults: &[(String, Nanos)],
    rows: &[SeriesRow],
    meets: &dyn Fn(&SeriesRow) -> bool,
) -> Vec<Recovery> {
    faults
        .iter()
        .map(|(fault, at_ns)| {
            let at_s = *at_ns as f64 / 1e9;
            // Windows that end after the fault starts.
            let after: Vec<&SeriesRow> = rows
                .iter()
                .filter(|r| r.start_s + r.length_s > at_s)
                .collect();
            let breach = after.iter().position(|r| !meets(r));
            match breach {
                None => Recovery {
                    fault: fault.clone(),
                    at_s,
                    breached: false,
                    recovered_at_s: Some(at_s),
                    time_to_recover_s: Some(0.0),
                },
                Some(b) => {
                    let back = after[b..].iter().find(|r| meets(r)).map(|r| r.start_s);
                    Recovery {
                        fault: fault.clone(),
                        at_s,
                        breached: true,
                        recovered_at_s: back,
                        time_to_recover_s: back.map(|t| (t - at_s).max(0.0)),
                    }
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::recorder::Durations;
    use hdrhistogram::Histogram;
    use rand::{Rng, SeedableRng};

    fn model(duration: &str, window: &str) -> Model {
        let toml = format!(
            r#"
            [scenario]
            duration = "{duration}"
            window = "{window}"
            [traffic]
            rate = 10
            [[service]]
            name = "api"
            service_time = {{ dist = "exponential", mean = "5ms" }}
            "#
        );
        crate::scenario::load(&toml, "t.toml", &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Closes one window of `series` with these counts and succeeded latencies.
    fn close(series: &mut Series, counts: Counts, latencies_ns: &[Nanos]) {
        let mut open = OpenLatency::default();
        for &ns in latencies_ns {
            open.record(ns);
        }
        let levels = vec![0; series.levels_per_window()];
        let visits = vec![0; series.regions.len()];
        series.close_window(counts, &levels, &visits, &[], &mut open);
    }

    fn values(rng: &mut rand_xoshiro::Xoshiro256PlusPlus) -> Vec<Nanos> {
        // Log-uniform over 1 ns..2^50 ns (13 days), so that every doubling is exercised.
        (0..2_000)
            .map(|_| 2f64.powf(rng.random_range(0.0..50.0)) as Nanos)
            .collect()
    }

    #[test]
    fn buckets_are_those_of_an_hdr_histogram_at_2_significant_digits() {
        let hdr = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 2).expect("valid");
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
        let edges = (0..64).flat_map(|k| {
            let p = 1u64 << k;
            [p - 1, p, p + 1]
        });
        for ns in (0..1_000)
            .chain(edges)
            .chain(values(&mut rng))
            .chain([u64::MAX])
        {
            assert_eq!(
                highest_ns(bucket_of(ns)),
                hdr.highest_equivalent(ns),
                "{ns} ns"
            );
        }
        assert!(bucket_of(u64::MAX) < 7_424);
    }

    #[test]
    fn a_windows_percentiles_are_those_of_the_compact_histogram() {
        // The crate's histogram (what one replication's windows were read from before the
        // series kept its own) is the reference, on 2,000 log-uniform values.
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(2);
        let recorded = values(&mut rng);
        let mut reference = Durations::compact();
        recorded.iter().for_each(|&ns| reference.record(ns));
        let mut series = Series::new(&model("1s", "1s"));
        close(&mut series, Counts::default(), &recorded);
        let qs = [0.001, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0];
        let got = series.latency.quantiles_ns(0, qs);
        for (q, got) in qs.iter().zip(got) {
            assert_eq!(got, reference.quantile_ns(*q), "q = {q}");
        }
    }

    #[test]
    fn pooled_percentiles_are_read_from_the_merged_window_not_averaged() {
        // Two replications, two 1 s windows. Below 256 ns a bucket is 1 ns wide, so values
        // are read back exactly. Window 0: replication A has 100 requests at 10 ns, B 100 at
        // 200 ns. Merged (200 requests): p50 is the 100th value, 10 ns; p95 the 190th and p99
        // the 198th, 200 ns. The mean of the replications' own percentiles would be 105 ns
        // for all three. Window 1: only B has requests (97 at 50 ns, 3 at 250 ns): p50 and
        // p95 50 ns, p99 (the 99th) 250 ns, as B alone reads them.
        let model = model("2s", "1s");
        let succeeded = |n| Counts {
            succeeded: n,
            ..Counts::default()
        };
        let mut a = Series::new(&model);
        close(&mut a, succeeded(100), &[10; 100]);
        close(&mut a, Counts::default(), &[]);
        let mut b = Series::new(&model);
        close(&mut b, succeeded(100), &[200; 100]);
        let mut late = vec![50; 97];
        late.extend([250; 3]);
        close(&mut b, succeeded(100), &late);
        let mut ab = Series::default();
        ab.add(a.clone());
        ab.add(b.clone());
        let mut ba = Series::default();
        ba.add(b);
        ba.add(a);
        assert_eq!(ab, ba, "pooling does not depend on the order");
        let rows = report_rows(&ab, &model, 2, None);
        let ms = |row: &SeriesRow| [row.p50_ms, row.p95_ms, row.p99_ms].map(|v| v * 1e6);
        assert_eq!(ms(&rows[0]), [10.0, 200.0, 200.0]);
        assert_eq!(ms(&rows[1]), [50.0, 50.0, 250.0]);
        assert_eq!(rows[0].counts.succeeded, 200);
        assert_eq!(
            rows[1].throughput_rps, 50.0,
            "100 requests over 2 replications of 1 s"
        );
    }

    #[test]
    fn burn_rate_alerts_fire_where_a_hand_calculation_says() {
        // SLO 99%: burn = failed share / 1%. 120 one-minute windows of 1,000 requests each;
        // from window 30 on, 200 of them fail (burn 20). Ending window e (from 0):
        // - 1 h page (60 windows at 14.4, short 5): for 60 <= e < 90 the hour holds e - 29
        //   failing windows, burn (e - 29) / 3: 14.33 at e = 72, 14.67 at e = 73, so it
        //   fires at the end of window 73, 74 min;
        // - 6 h page (360 windows at 6, short 30): every window so far, burn
        //   20 (e - 29) / (e + 1): 5.71 at e = 41, 6.05 at 42 (the short 30 min holds 13
        //   failing windows, 8.67), so 43 min;
        // - 3 d ticket (at 1, short 6 h, both every window so far): 0.65 at e = 30, 1.25 at
        //   31, so 32 min.
        let model = model("120m", "1m");
        let mut series = Series::new(&model);
        let mut measured = Counts::default();
        for w in 0..120 {
            let failed = if w >= 30 { 200 } else { 0 };
            let counts = Counts {
                succeeded: 1_000 - failed,
                failed,
                ..Counts::default()
            };
            measured.add(&counts);
            close(&mut series, counts, &[]);
        }
        let budget = error_budget(0.99, &measured, &series).expect("an SLO below 1");
        let fired: Vec<(&str, f64, f64)> = budget
            .alerts
            .iter()
            .map(|a| (a.tier.severity, a.tier.long_s, a.first_at_s))
            .collect();
        assert_eq!(
            fired,
            [
                ("page", 3_600.0, 74.0 * 60.0),
                ("page", 21_600.0, 43.0 * 60.0),
                ("ticket", 259_200.0, 32.0 * 60.0),
            ]
        );
        assert_eq!(budget.failures, 90 * 200);
        assert!((budget.max_burn_rate - 20.0).abs() < 1e-9);
    }
}
