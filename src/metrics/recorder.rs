//! What a run records: counters, HDR histograms and time-weighted averages. Constant memory
//! whatever the number of requests simulated; replications merge by addition.

use crate::engine::time::Nanos;

/// Significant decimal digits the run's histograms keep: values within 0.1% of the truth.
const SIGNIFICANT_DIGITS: u8 = 3;
/// Digits of the compact histograms (per-window series, of which a run keeps many): values
/// within 1%, at about a seventh of the memory.
const COMPACT_DIGITS: u8 = 2;
/// A CDF's points (`Durations::cdf_points`): this many per decade of `1 - q`, over this many
/// decades (to p99.999): 201 points at most.
pub const CDF_POINTS_PER_DECADE: u32 = 40;
pub const CDF_DECADES: u32 = 5;

/// How the requests that arrived in the measured window ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub arrived: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub rejected: u64,
    pub timed_out: u64,
    /// Succeeded, but with an optional call below that failed (a part of `succeeded`).
    pub degraded: u64,
    /// Visits whose caller gave up on them (a sibling failed, or the call timed out). Only a
    /// service visit can be cancelled; a request as a whole never is.
    pub cancelled: u64,
}

impl Counts {
    pub fn finished(&self) -> u64 {
        self.succeeded + self.failed + self.rejected + self.timed_out + self.cancelled
    }

    pub fn add(&mut self, other: &Counts) {
        self.arrived += other.arrived;
        self.succeeded += other.succeeded;
        self.failed += other.failed;
        self.rejected += other.rejected;
        self.timed_out += other.timed_out;
        self.cancelled += other.cancelled;
        self.degraded += other.degraded;
    }
}

/// Where an HDR histogram of lowest value 1 ns counts a value: the bucket index the
/// `hdrhistogram` crate computes (checked against it value by value in the tests), with the
/// crate's constants for `digits` significant digits worked out once. Recording through it is
/// a shift, a count of leading zeros and an add, without the crate's range checks, minimum
/// and maximum kept per value, and `Result`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    digits: u8,
    /// log2 of half the sub-buckets of a bucket (10 at 3 digits, 7 at 2).
    half_log2: u32,
    /// The sub-buckets of a bucket, less one: values at or below it share the first bucket.
    sub_mask: u64,
}

impl Layout {
    fn new(digits: u8) -> Layout {
        // The crate: the smallest power of two sub-buckets that resolves 2 x 10^digits values
        // at one unit, half of them per bucket after the first.
        let single_unit = 2 * 10u64.pow(u32::from(digits));
        let sub_log2 = u64::BITS - (single_unit - 1).leading_zeros();
        Layout {
            digits,
            half_log2: sub_log2 - 1,
            sub_mask: (1 << sub_log2) - 1,
        }
    }

    /// The counts index of `ns`.
    #[inline(always)]
    fn index(self, ns: Nanos) -> usize {
        // Doublings above the first bucket (0 within it), then the place within the doubling.
        let doublings = (u64::BITS - self.half_log2 - 1) - (ns | self.sub_mask).leading_zeros();
        ((doublings as usize) << self.half_log2) + (ns >> doublings) as usize
    }

    /// The counts up to the end of the doubling (the half of a bucket the layout uses past
    /// the first) that holds `index`: a multiple of the half bucket, past `index`.
    fn doubling_end(self, index: usize) -> usize {
        ((index >> self.half_log2) + 1) << self.half_log2
    }

    /// The lowest value counted at `index`.
    fn lowest_ns(self, index: usize) -> Nanos {
        let half = 1usize << self.half_log2;
        if index < 2 * half {
            index as Nanos
        } else {
            let doublings = (index >> self.half_log2) - 1;
            (((index & (half - 1)) + half) as Nanos) << doublings
        }
    }

    /// The highest value counted at `index` (the crate's `highest_equivalent`): its lowest
    /// plus the width of its bucket's steps, 2^doublings, less one.
    fn highest_ns(self, index: usize) -> Nanos {
        let doublings = (index >> self.half_log2).saturating_sub(1);
        self.lowest_ns(index) + (1 << doublings) - 1
    }
}

/// Durations counted in the buckets of an HDR histogram, plus the exact sum for an exact
/// mean. Recording adds to the counts; reading scans them as the crate's histogram does
/// (`value_at_quantile`, `max`, `quantile_below`: each reads exactly what the crate reads
/// with every duration recorded in it, checked value by value against it in the tests),
/// without building the crate's histogram: building one per reading cost an allocation
/// as large as the counts, zeroed, for each replication's figures (and held one more such
/// array per service read in the pool).
#[derive(Debug, Clone)]
pub struct Durations {
    layout: Layout,
    /// The counts of the buckets from index `offset` on: only the doublings (1,024 buckets
    /// at 3 digits) from the smallest value's to the largest's, so that a service whose
    /// latencies lie between 1 and 10 ms holds 4 doublings, not the 14 from 0. A
    /// replication's histograms are allocated, zeroed, merged and read once each: holding
    /// the doublings from 0 made that cost grow with the values' size rather than their
    /// spread (20 MB zeroed per replication of a 100-service tree).
    counts: Vec<u64>,
    /// The index of `counts[0]`, the start of a doubling (0 while empty).
    offset: usize,
    total: u64,
    sum_ns: u128,
}

impl Default for Durations {
    fn default() -> Self {
        Durations::with_digits(SIGNIFICANT_DIGITS)
    }
}

/// Bytes a full-precision histogram's counts hold at most when its largest value is `ns`:
/// up to the end of its doubling (what the work budget counts for the histograms a service
/// keeps).
pub fn histogram_bytes_up_to(ns: Nanos) -> f64 {
    let layout = Layout::new(SIGNIFICANT_DIGITS);
    (layout.doubling_end(layout.index(ns)) * std::mem::size_of::<u64>()) as f64
}

impl Durations {
    /// A histogram at 2 significant digits (within 1%), for the many per-window histograms of
    /// a time series; the exact sum keeps the mean exact.
    pub fn compact() -> Self {
        Durations::with_digits(COMPACT_DIGITS)
    }

    fn with_digits(digits: u8) -> Self {
        // Empty at first: the counts grow (rarely, and only early) to the largest bucket
        // recorded, so that a service that records little
        // holds little. Sized for an hour up front, every histogram held 270 KiB at 3 digits,
        // and a design of 10,000 services 13 GB.
        Durations {
            layout: Layout::new(digits),
            counts: Vec::new(),
            offset: 0,
            total: 0,
            sum_ns: 0,
        }
    }

    /// Empties the histogram, keeping its memory (windows recycle theirs).
    pub fn clear(&mut self) {
        self.counts.fill(0);
        self.total = 0;
        self.sum_ns = 0;
    }

    /// Bytes of counts the histogram holds.
    pub fn footprint_bytes(&self) -> usize {
        self.counts.len() * std::mem::size_of::<u64>()
    }

    #[inline]
    pub fn record(&mut self, ns: Nanos) {
        let index = self.layout.index(ns);
        // Below the offset the subtraction wraps to past the counts.
        match self.counts.get_mut(index.wrapping_sub(self.offset)) {
            Some(count) => *count += 1,
            None => {
                self.cover(index, index + 1);
                self.counts[index - self.offset] += 1;
            }
        }
        self.total += 1;
        self.sum_ns += u128::from(ns);
    }

    /// Grows the counts to hold the buckets `[from, to)`, a whole doubling at a time. A
    /// stream of independent durations sets a new maximum about ln(n) times in n values, and
    /// growing to each exactly copied the counts each time; a doubling at a time copies once
    /// per doubling crossed, and the counts span at most the doublings from the smallest
    /// value's to the end of the largest's (within what the work budget counts,
    /// `histogram_bytes_up_to`).
    #[cold]
    fn cover(&mut self, from: usize, to: usize) {
        let half_log2 = self.layout.half_log2;
        let (mut start, mut end) = (
            (from >> half_log2) << half_log2,
            self.layout.doubling_end(to - 1),
        );
        if !self.counts.is_empty() {
            start = start.min(self.offset);
            end = end.max(self.offset + self.counts.len());
        }
        if self.counts.is_empty() || start < self.offset {
            let mut counts = Vec::with_capacity(end - start);
            counts.resize(self.offset.max(start) - start, 0);
            if !self.counts.is_empty() {
                counts.extend_from_slice(&self.counts);
            }
            counts.resize(end - start, 0);
            self.counts = counts;
            self.offset = start;
        } else if end > self.offset + self.counts.len() {
            self.counts
                .reserve_exact(end - self.offset - self.counts.len());
            self.counts.resize(end - self.offset, 0);
        }
    }

    /// The counts from the first to the last above 0, and the index of the first (`(0, [])`
    /// when empty; a cleared histogram keeps zeros around them).
    fn used(&self) -> (usize, &[u64]) {
        let Some(last) = self.counts.iter().rposition(|&count| count > 0) else {
            return (0, &[]);
        };
        let first = self.counts.iter().position(|&count| count > 0).unwrap_or(0);
        (self.offset + first, &self.counts[first..=last])
    }

    /// The values at quantiles `qs` (ascending), in one pass over the counts, each what the
    /// crate's `value_at_quantile` reads: the bucket where the running count first reaches
    /// `max(1, ceil(q x count))`, read at its highest value (its lowest for q = 0). Empty
    /// histograms read 0.
    fn values_at(&self, qs: impl IntoIterator<Item = f64>) -> Vec<Nanos> {
        let total = self.total;
        let mut qs = qs.into_iter().peekable();
        let mut values = Vec::with_capacity(qs.size_hint().0);
        if total == 0 {
            values.extend(qs.map(|_| 0));
            return values;
        }
        let target = |q: f64| ((q.min(1.0) * total as f64).ceil() as u64).max(1);
        let mut below = 0u64;
        for (offset, &count) in self.counts.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let index = self.offset + offset;
            below += count;
            while let Some(&q) = qs.peek() {
                if below < target(q) {
                    break;
                }
                values.push(if q == 0.0 {
                    self.layout.lowest_ns(index)
                } else {
                    self.layout.highest_ns(index)
                });
                qs.next();
            }
            if qs.peek().is_none() {
                break;
            }
        }
        // Only a quantile out of order or past every count is left: the crate reads 0.
        values.extend(qs.map(|_| 0));
        values
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// Exact mean in nanoseconds; 0 when empty.
    pub fn mean_ns(&self) -> f64 {
        if self.count() == 0 {
            0.0
        } else {
            self.sum_ns as f64 / self.count() as f64
        }
    }

    /// The value at quantile `q` (0..1), within the histogram's precision; 0 when empty.
    pub fn quantile_ns(&self, q: f64) -> f64 {
        self.values_at([q])[0] as f64
    }

    /// The values at quantiles `qs` (ascending) in one pass, each as [`Durations::quantile_ns`]
    /// reads it: what a replication's figures read (five percentiles of each histogram).
    pub fn quantiles_ns<const N: usize>(&self, qs: [f64; N]) -> [f64; N] {
        let values = self.values_at(qs);
        std::array::from_fn(|i| values[i] as f64)
    }

    /// The share of recorded values at or below `ns` (all of `ns`'s histogram bucket); 1
    /// when empty. The inverse of [`Durations::quantile_ns`]: `fraction_at_most_ns(
    /// quantile_ns(q)) >= q`.
    pub fn fraction_at_most_ns(&self, ns: f64) -> f64 {
        if self.total == 0 {
            return 1.0;
        }
        // The crate's `quantile_below`: the counts up to the bucket of `ns` (the last one past
        // the counts) over the count; the sum is an integer, so summing from either end (as
        // the crate does) reads the same.
        let end = self.layout.index(ns.round().max(0.0) as u64) + 1;
        let end = end.saturating_sub(self.offset).min(self.counts.len());
        let at_most: u64 = self.counts[..end].iter().sum();
        at_most as f64 / self.total as f64
    }

    /// [`Durations::fraction_at_most_ns`] of each of `values_ns`, from one running sum of the
    /// counts: a percentile's interval reads it for every replication's value, and a sum
    /// over the counts for each cost replications x counts.
    pub fn fractions_at_most_ns(&self, values_ns: &[f64]) -> Vec<f64> {
        if self.total == 0 {
            return vec![1.0; values_ns.len()];
        }
        let mut running = 0u64;
        let at_most: Vec<u64> = self
            .counts
            .iter()
            .map(|&count| {
                running += count;
                running
            })
            .collect();
        values_ns
            .iter()
            .map(|&ns| {
                let end = self.layout.index(ns.round().max(0.0) as u64) + 1;
                let end = end.saturating_sub(self.offset).min(at_most.len());
                let below = end.checked_sub(1).map_or(0, |last| at_most[last]);
                below as f64 / self.total as f64
            })
            .collect()
    }

    /// The largest value counted, read at the highest value of its bucket (the crate's `max`);
    /// 0 when empty.
    pub fn max_ns(&self) -> f64 {
        let (first, used) = self.used();
        used.len()
            .checked_sub(1)
            .map_or(0, |last| self.layout.highest_ns(first + last)) as f64
    }

    /// The distribution as `(q, value_ns)` points for a CDF whose tail can be read: `1 - q`
    /// log-spaced, [`CDF_POINTS_PER_DECADE`] per decade, from q = 0 (the minimum) down to
    /// `1 - q = 1e-5` (p99.999), stopping where fewer than one recorded value lies beyond (the
    /// quantiles past that are all the maximum), then `(1, max)`. Empty when nothing was
    /// recorded.
    pub fn cdf_points(&self) -> Vec<(f64, f64)> {
        let n = self.count();
        if n == 0 {
            return Vec::new();
        }
        let mut quantiles = Vec::new();
        for k in 0..=CDF_DECADES * CDF_POINTS_PER_DECADE {
            let tail = 10f64.powf(-(k as f64) / CDF_POINTS_PER_DECADE as f64);
            if tail * (n as f64) < 1.0 {
                break;
            }
            // Rounded so that the JSON shows 0.9 rather than 0.8999999999999999.
            quantiles.push(((1.0 - tail) * 1e7).round() / 1e7);
        }
        // One pass over the histogram for every quantile (ascending), each exactly what
        // `quantile_ns` gives: a summary is made for every point of a sweep, and two hundred
        // separate scans cost more than a 100,000-request point's row may.
        let values = self.values_at(quantiles.iter().copied());
        let mut points: Vec<(f64, f64)> = quantiles
            .iter()
            .zip(values)
            .map(|(&q, v)| (q, v as f64))
            .collect();
        points.push((1.0, self.max_ns()));
        points
    }

    pub fn add(&mut self, other: &Durations) {
        assert_eq!(
            self.layout, other.layout,
            "histograms merge at one precision"
        );
        // Only the doublings the other's counts span: merging an empty histogram touches
        // nothing.
        let (first, theirs) = other.used();
        if !theirs.is_empty() {
            self.cover(first, first + theirs.len());
            let at = first - self.offset;
            for (mine, theirs) in self.counts[at..].iter_mut().zip(theirs) {
                *mine += theirs;
            }
        }
        self.total += other.total;
        self.sum_ns += other.sum_ns;
    }
}

/// The time integral of a level (busy workers, queue length) over the measured window, and
/// over the whole run up to the window's end (what the time series and the run's cost read).
///
/// A change of level adds to one running integral from time 0; the integral up to the
/// window's start is kept aside as the level passes it, and the window's is the difference
/// (exact: integers). After the warm-up, a change costs one multiplication.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeWeighted {
    level: u64,
    since_ns: Nanos,
    /// Integral of the level over `[0, window_end)`, in level x nanoseconds.
    run_area: u128,
    /// Integral of the level over `[0, window_start)`.
    warmup_area: u128,
}

impl TimeWeighted {
    /// Changes the level at `now_ns`, accumulating the old level over the part of
    /// `[since, now)` before the window's end.
    #[inline]
    pub fn set(&mut self, now_ns: Nanos, level: u64, window: (Nanos, Nanos)) {
        let to = now_ns.min(window.1);
        if to > self.since_ns {
            let held = u128::from(self.level);
            if self.since_ns < window.0 {
                self.warmup_area += held * u128::from(to.min(window.0) - self.since_ns);
            }
            self.run_area += held * u128::from(to - self.since_ns);
        }
        self.level = level;
        self.since_ns = now_ns;
    }

    #[inline]
    pub fn add(&mut self, now_ns: Nanos, delta: i64, window: (Nanos, Nanos)) {
        let level = self
            .level
            .checked_add_signed(delta)
            .expect("levels never go below zero");
        self.set(now_ns, level, window);
    }

    pub fn level(&self) -> u64 {
        self.level
    }

    /// Closes the books at the end of the run (accumulates up to `now_ns`).
    pub fn close(&mut self, now_ns: Nanos, window: (Nanos, Nanos)) {
        self.set(now_ns, self.level, window);
    }

    /// The integral over the measured window `[window_start, window_end)`.
    pub fn area(&self) -> u128 {
        self.run_area - self.warmup_area
    }

    /// Adds another replication's integrals (pooling).
    pub fn add_areas(&mut self, other: &TimeWeighted) {
        self.run_area += other.run_area;
        self.warmup_area += other.warmup_area;
    }

    /// The integral over `[0, min(now, window end))`, as it would be if the books were closed
    /// at `now_ns` (which must not be before the last change).
    pub fn run_area_at(&self, now_ns: Nanos, window: (Nanos, Nanos)) -> u128 {
        let to = now_ns.min(window.1);
        let open = to.saturating_sub(self.since_ns);
        self.run_area + u128::from(self.level) * u128::from(open)
    }

    pub fn run_area(&self) -> u128 {
        self.run_area
    }

    /// The books of the sum of two levels, closed at the same instant: integrals add exactly
    /// (integers), so this is what one level changed with both would hold.
    pub fn sum(a: &TimeWeighted, b: &TimeWeighted) -> TimeWeighted {
        debug_assert_eq!(a.since_ns, b.since_ns, "both closed at the same instant");
        TimeWeighted {
            level: a.level + b.level,
            since_ns: a.since_ns,
            run_area: a.run_area + b.run_area,
            warmup_area: a.warmup_area + b.warmup_area,
        }
    }
}

/// Everything recorded about one service.
#[derive(Debug, Clone, Default)]
pub struct ServiceRecord {
    pub requests: Counts,
    /// Arrival at the service to its response, downstream calls included; succeeded only.
    pub latency: Durations,
    /// Arrival at the service to a worker taking it.
    pub queue_wait: Durations,
    pub busy_workers: TimeWeighted,
    pub queued: TimeWeighted,
    /// Requests at the service: waiting, being worked on, or waiting on downstream calls.
    pub in_system: TimeWeighted,
    /// Service time spent on visits (of measured requests) whose caller had gone by the time
    /// the work finished.
    pub wasted_work_ns: u128,
    /// Calls made to the service (first attempts; a request entering here counts as one):
    /// `requests.arrived / calls` is its retry amplification.
    pub calls: u64,
    pub retries: u64,
    /// Second copies sent by hedging calls.
    pub hedges: u64,
    /// Calls failed fast by the service's open circuit breaker (they never arrived).
    pub short_circuited: u64,
    pub breaker_opened: u64,
    pub cache_lookups: u64,
    pub cache_hits: u64,
    pub batches: u64,
    pub batched_visits: u64,
    /// Visits over the whole run, measured or not (what an `rps` autoscaler and a price per
    /// request read).
    pub visits: u64,
    /// Replicas ready (taking traffic) and starting (provisioning or restarting).
    pub ready: TimeWeighted,
    pub starting: TimeWeighted,
    /// Replicas billed (starting, ready or draining), per region (one entry when the service
    /// is not regional).
    pub billed: Vec<TimeWeighted>,
    /// The most replicas billed at once.
    pub peak_replicas: u64,
    /// Replicas of a deployment's new version billed (the rest are the old version's): what
    /// the bill prices at the new version's price.
    pub billed_new: TimeWeighted,
}

impl ServiceRecord {
    pub fn add(&mut self, other: &ServiceRecord) {
        self.requests.add(&other.requests);
        self.latency.add(&other.latency);
        self.queue_wait.add(&other.queue_wait);
        self.busy_workers.add_areas(&other.busy_workers);
        self.queued.add_areas(&other.queued);
        self.in_system.add_areas(&other.in_system);
        self.wasted_work_ns += other.wasted_work_ns;
        self.calls += other.calls;
        self.retries += other.retries;
        self.hedges += other.hedges;
        self.short_circuited += other.short_circuited;
        self.breaker_opened += other.breaker_opened;
        self.cache_lookups += other.cache_lookups;
        self.cache_hits += other.cache_hits;
        self.batches += other.batches;
        self.batched_visits += other.batched_visits;
        self.visits += other.visits;
        for (mine, theirs) in [
            (&mut self.ready, &other.ready),
            (&mut self.starting, &other.starting),
            (&mut self.billed_new, &other.billed_new),
        ] {
            mine.add_areas(theirs);
        }
        if self.billed.len() < other.billed.len() {
            self.billed
                .resize(other.billed.len(), TimeWeighted::default());
        }
        for (mine, theirs) in self.billed.iter_mut().zip(&other.billed) {
            mine.add_areas(theirs);
        }
        self.peak_replicas = self.peak_replicas.max(other.peak_replicas);
    }
}

/// What is recorded per class of request.
#[derive(Debug, Clone, Default)]
pub struct ClassRecord {
    pub requests: Counts,
    pub latency: Durations,
    /// Measured requests served in a region other than their client's.
    pub cross_region: u64,
}

impl ClassRecord {
    pub fn add(&mut self, other: &ClassRecord) {
        self.requests.add(&other.requests);
        self.latency.add(&other.latency);
        self.cross_region += other.cross_region;
    }
}

/// Everything recorded in one run (or pooled over several).
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub requests: Counts,
    /// End-to-end latency of succeeded requests.
    pub latency: Durations,
    pub services: Vec<ServiceRecord>,
    pub classes: Vec<ClassRecord>,
    /// Measured requests served in a region other than their client's (failed over).
    pub cross_region: u64,
}

impl Record {
    pub fn new(services: usize, classes: usize) -> Self {
        Record {
            services: vec![ServiceRecord::default(); services],
            classes: vec![ClassRecord::default(); classes],
            ..Record::default()
        }
    }

    pub fn add(&mut self, other: &Record) {
        self.requests.add(&other.requests);
        self.latency.add(&other.latency);
        self.cross_region += other.cross_region;
        for (mine, theirs) in self.services.iter_mut().zip(&other.services) {
            mine.add(theirs);
        }
        for (mine, theirs) in self.classes.iter_mut().zip(&other.classes) {
            mine.add(theirs);
        }
    }
}

#[cfg(test)]
mod tests {
    const HOUR_NS: u64 = 3_600_000_000_000;
    use super::*;
    use hdrhistogram::Histogram;

    /// Values spread over every doubling of a u64: each edge of a power of two, the first
    /// thousand, and log-uniform ones (xorshift), as the layout tests read them.
    fn spread_values() -> Vec<u64> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let edges = (0..64).flat_map(|k| {
            let p = 1u64 << k;
            [p - 1, p, p + 1]
        });
        let log_uniform = (0..5_000).map(move |_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> (x % 64)) | 1
        });
        (0..1_000)
            .chain(edges)
            .chain(log_uniform)
            .chain([u64::MAX])
            .collect()
    }

    #[test]
    fn the_layout_counts_each_value_where_the_crate_does() {
        // The crate's lowest equivalent value of v is the lowest value of v's bucket: equal
        // for every value means the same bucket, at both precisions.
        for digits in [COMPACT_DIGITS, SIGNIFICANT_DIGITS] {
            let layout = Layout::new(digits);
            let hdr = Histogram::<u64>::new_with_bounds(1, HOUR_NS, digits).expect("valid");
            for v in spread_values() {
                assert_eq!(
                    layout.lowest_ns(layout.index(v)),
                    hdr.lowest_equivalent(v),
                    "{v} at {digits} digits"
                );
                assert_eq!(
                    layout.highest_ns(layout.index(v)),
                    hdr.highest_equivalent(v),
                    "{v} at {digits} digits"
                );
            }
        }
    }

    #[test]
    fn durations_read_as_the_crate_recording_each_value_reads() {
        // Reference: every value recorded in the crate's auto-resizing histogram one by one;
        // the counts must read the same percentiles, maximum and count, at both precisions,
        // including values past the first hour (growth) and after a merge.
        let values: Vec<u64> = spread_values()
            .into_iter()
            .filter(|&v| v < 1 << 50)
            .collect();
        for digits in [COMPACT_DIGITS, SIGNIFICANT_DIGITS] {
            let mut hdr = Histogram::<u64>::new_with_bounds(1, HOUR_NS, digits).expect("valid");
            hdr.auto(true);
            let (mut first, mut second) = (
                Durations::with_digits(digits),
                Durations::with_digits(digits),
            );
            for (i, &v) in values.iter().enumerate() {
                hdr.record(v).expect("auto-resizing");
                if i % 3 == 0 {
                    first.record(v)
                } else {
                    second.record(v)
                }
            }
            // Read before the merge, which must change what is read.
            assert!(first.quantile_ns(0.5) > 0.0);
            first.add(&second);
            assert_eq!(first.count(), hdr.len());
            assert_eq!(first.max_ns(), hdr.max() as f64);
            let qs = [0.0, 0.001, 0.1, 0.25, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0];
            for q in qs {
                assert_eq!(
                    first.quantile_ns(q),
                    hdr.value_at_quantile(q) as f64,
                    "q {q}"
                );
            }
            // Read in one pass, the same.
            let expected: Vec<f64> = hdr.value_at_quantiles(qs).map(|v| v as f64).collect();
            assert_eq!(first.quantiles_ns(qs).to_vec(), expected);
            // The share at or below each value (and far past the largest), one by one and
            // all at once.
            let values: Vec<u64> = spread_values()
                .into_iter()
                .filter(|&v| v < 1 << 52)
                .collect();
            let values_ns: Vec<f64> = values.iter().map(|&v| v as f64).collect();
            let all = first.fractions_at_most_ns(&values_ns);
            for (&v, at_once) in values.iter().zip(all) {
                let expected = hdr.quantile_below(v);
                assert_eq!(first.fraction_at_most_ns(v as f64), expected, "{v}");
                assert_eq!(at_once, expected, "{v}");
            }
            // A recording after a reading is read too.
            first.record(1 << 52);
            hdr.record(1 << 52).expect("auto-resizing");
            assert_eq!(first.max_ns(), hdr.max() as f64);
        }
    }

    #[test]
    fn time_weighted_levels_count_only_inside_the_window() {
        // Window [10, 20). Level 2 over [0, 12), 5 over [12, 25), closed at 30:
        // inside the window 2 x (12 - 10) + 5 x (20 - 12) = 4 + 40 = 44.
        let window = (10, 20);
        let mut level = TimeWeighted::default();
        level.set(0, 2, window);
        level.add(12, 3, window);
        level.add(25, -5, window);
        level.close(30, window);
        assert_eq!(level.area(), 44);
        assert_eq!(level.level(), 0);
        // Over [0, 20): 2 x 12 + 5 x 8 = 64.
        assert_eq!(level.run_area(), 64);
    }

    #[test]
    fn the_sum_of_two_levels_holds_what_one_level_changed_with_both_would() {
        // Window [10, 20). a: 1 over [5, 15); b: 2 over [12, 30); both, as one level: 1 over
        // [5, 12), 3 over [12, 15), 2 over [15, 30). Inside the window: 1 x 2 + 3 x 3 + 2 x 5
        // = 21; over [0, 20): 1 x 7 + 9 + 10 = 26.
        let window = (10, 20);
        let (mut a, mut b, mut both) = (
            TimeWeighted::default(),
            TimeWeighted::default(),
            TimeWeighted::default(),
        );
        a.add(5, 1, window);
        b.add(12, 2, window);
        a.add(15, -1, window);
        for (at, delta) in [(5, 1), (12, 2), (15, -1)] {
            both.add(at, delta, window);
        }
        b.add(30, -2, window);
        both.add(30, -2, window);
        for level in [&mut a, &mut b, &mut both] {
            level.close(40, window);
        }
        let sum = TimeWeighted::sum(&a, &b);
        assert_eq!((sum.area(), sum.run_area(), sum.level()), (21, 26, 0));
        assert_eq!((both.area(), both.run_area()), (21, 26));
    }

    #[test]
    fn compact_histograms_are_within_one_percent_at_a_fraction_of_the_memory() {
        let (mut full, mut compact) = (Durations::default(), Durations::compact());
        // 1 us to 1 s, log-spaced: every quantile within 1% (2 digits), the mean exact.
        let values: Vec<u64> = (0..6000)
            .map(|i| (1e3 * 10f64.powf(i as f64 / 1000.0)) as u64)
            .collect();
        for &v in &values {
            full.record(v);
            compact.record(v);
        }
        for q in [0.5, 0.9, 0.99, 0.999] {
            let exact = values[((values.len() - 1) as f64 * q).round() as usize] as f64;
            assert!((compact.quantile_ns(q) / exact - 1.0).abs() < 0.01, "q {q}");
        }
        assert_eq!(compact.mean_ns(), full.mean_ns());
        assert!(compact.footprint_bytes() * 5 < full.footprint_bytes());
        compact.clear();
        assert_eq!((compact.count(), compact.mean_ns()), (0, 0.0));
    }

    #[test]
    fn a_histogram_holds_counts_only_up_to_its_largest_bucket() {
        // Empty: nothing held, and merging it or reading it allocates no counts.
        let mut d = Durations::default();
        assert_eq!(d.footprint_bytes(), 0);
        d.add(&Durations::default());
        assert_eq!((d.footprint_bytes(), d.quantile_ns(0.99)), (0, 0.0));
        // Values up to 1 ms at 3 digits: 1 ms = 10^6 ns lies in the doubling from 2^19
        // (index (19 - 10) x 1024 + 10^6 >> 9 = 9,216 + 1,953 = 11,169), so 11,264 counts
        // (to the end of that doubling, 11 x 1,024), where an hour's range is 33,421
        // (`index(HOUR_NS) + 1`: 3.6 x 10^12 lies in the doubling from 2^41, 31 x 1,024 + 3.6
        // x 10^12 >> 31 = 31,744 + 1,676).
        for ns in [1_000, 50_000, 1_000_000] {
            d.record(ns);
        }
        let layout = Layout::new(SIGNIFICANT_DIGITS);
        assert_eq!(layout.index(1_000_000), 11_169);
        assert_eq!(d.footprint_bytes(), 11_264 * 8);
        assert_eq!(histogram_bytes_up_to(1_000_000), 11_264.0 * 8.0);
        assert_eq!(layout.index(HOUR_NS), 33_420);
        // A merge into an empty one grows it to the end of the other's largest bucket's
        // doubling and no further, and reads the same.
        let mut merged = Durations::default();
        merged.add(&d);
        assert_eq!(merged.footprint_bytes(), d.footprint_bytes());
        for q in [0.0, 0.5, 1.0] {
            assert_eq!(merged.quantile_ns(q), d.quantile_ns(q));
        }
        assert_eq!(d.max_ns(), 1_000_447.0);
    }

    #[test]
    fn cdf_points_are_the_quantiles_one_by_one() {
        let mut d = Durations::default();
        let mut x: u64 = 12345;
        for _ in 0..200_000 {
            // A skewed spread over six decades (xorshift), so the tail has many buckets.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            d.record(1_000 + (x % 1_000_000) * (x % 997) / 3);
        }
        let points = d.cdf_points();
        assert!(points.len() > 150, "{} points", points.len());
        for &(q, ns) in &points[..points.len() - 1] {
            assert_eq!(ns, d.quantile_ns(q), "q = {q}");
        }
    }

    #[test]
    fn cdf_points_resolve_the_tail_and_end_at_the_maximum() {
        let mut d = Durations::default();
        assert!(d.cdf_points().is_empty());
        // 1..=100,000 us: the value at q is q x 100 ms (within the histogram's 0.1%).
        for us in 1..=100_000u64 {
            d.record(us * 1_000);
        }
        let points = d.cdf_points();
        // 1 - q down to 1e-5 (one value beyond it): 201 points, then the maximum.
        assert_eq!(points.len(), 202);
        assert_eq!(points[0], (0.0, 1_000.0));
        assert_eq!(*points.last().unwrap(), (1.0, d.max_ns()));
        assert!(points
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
        for q in [0.9, 0.99, 0.999, 0.9999] {
            let &(_, ns) = points
                .iter()
                .find(|p| p.0 == q)
                .expect("a point at each nine");
            assert!((ns / (q * 1e8) - 1.0).abs() < 2e-3, "q {q}: {ns}");
        }
        // With 50 values the tail stops at 1 - q = 1/50: p98, then the maximum.
        let mut few = Durations::default();
        for us in 1..=50u64 {
            few.record(us * 1_000);
        }
        let points = few.cdf_points();
        assert!(points[points.len() - 2].0 <= 0.98 && points[points.len() - 2].0 > 0.97);
        assert_eq!(points.last().unwrap().0, 1.0);
    }

    #[test]
    fn durations_keep_an_exact_mean_and_merge_by_addition() {
        let mut a = Durations::default();
        for ns in [1_000, 2_000, 6_000] {
            a.record(ns);
        }
        assert_eq!(a.mean_ns(), 3_000.0);
        let mut b = Durations::default();
        b.record(7_000);
        a.add(&b);
        assert_eq!((a.count(), a.mean_ns()), (4, 4_000.0));
        // Percentiles are within the histogram's 0.1%: the median of 1, 2, 6, 7 us is 2 us.
        assert!((a.quantile_ns(0.5) - 2_000.0).abs() <= 2.0);
        assert!((a.max_ns() - 7_000.0).abs() <= 7.0);
        // Longer than the histogram's first hour: it grows rather than saturating.
        a.record(2 * HOUR_NS);
        assert!((a.max_ns() / (2 * HOUR_NS) as f64 - 1.0).abs() < 1e-3);
    }
}
