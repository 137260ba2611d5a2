//! Regions: clients split by weight, local-first routing, failover when a region is detected
//! down, and a region's outage.
//!
//! Each request gets a client region (a keyed draw by its id, so it is the same whatever the
//! design). Its visits to regional services are served in one region, the one its client's
//! DNS answer names. A region is *detected* down when the probe service (the entry if it is
//! regional, else the first regional service) has no ready replica there: at once when its
//! replicas crash, or when health checks eject them. DNS answers a region's clients with the
//! region itself while it is up, else with the nearest region that is up (least one-way
//! latency, then the first listed), else with the region itself (nowhere to go: its requests
//! fail there). Every detection recomputes every answer, so clients whose failover target
//! goes down move on to the next nearest, and move back when a nearer one is up again.
//!
//! Clients cache an answer for `network.failover.dns_ttl`, and their caches were filled at
//! times spread evenly: a request uses the answer DNS gave `age` ago, `age` uniform in
//! `[0, dns_ttl)` (a keyed draw by the request's id). So `(now - t0) / dns_ttl` of the
//! requests from a region follow a change of its answer made at `t0`, and all of them after
//! `t0 + dns_ttl`; until then the others still go where the old answer says (and fail, if
//! that region is down). A request served away pays the one-way latency between the two
//! regions both ways (added to its latency when it ends: the request is served as it
//! arrives, the shift of its arrival by one leg is not simulated), and, with
//! `network.bandwidth_mbps`, its class's payload's transfer there and back over that link. A class with `residency`
//! never fails over: its requests fail while their region is down.
//!
//! A change of answer is logged (`Failover`, or `Failback` when the answer is home again) at
//! `t0 + dns_ttl`, when every client follows it; a change that a later one overtakes within
//! the TTL is taken back from the log (and the later one is not logged either if it restores
//! the answer before: no client move completed).

use super::entity::RequestInfo;
use crate::engine::rng::Stream;
use crate::engine::time::Nanos;
use crate::scenario::fleet::Backlog;
use crate::scenario::model::ClassId;
use crate::scenario::model::{Model, ServiceId};
use crate::scenario::world::Diurnal;
use rand::Rng as _;
use std::collections::{HashMap, VecDeque};

/// Where each region's clients are served, as DNS answers for them over time.
#[derive(Debug, Clone)]
pub(super) struct View {
    /// Whether the region was up when last detected.
    pub(super) up: bool,
    /// DNS's answers for the region's clients, `(since, region)`, oldest first, kept back to
    /// the one in force `dns_ttl` ago (the oldest a client's cache can hold).
    pub(super) answers: VecDeque<(Nanos, u8)>,
    /// Where the log last said the clients are, by a happening already due.
    pub(super) settled: u8,
    /// A logged happening not yet due: `(when, the answer it says clients follow)`.
    pub(super) pending: Option<(Nanos, u8)>,
}

impl View {
    /// The answer in force at `at_ns`.
    fn answer_at(&self, at_ns: Nanos) -> u8 {
        self.answers
            .iter()
            .rev()
            .find(|&&(since, _)| since <= at_ns)
            .map_or(self.answers[0].1, |&(_, region)| region)
    }
}

/// The regions of one replication.
pub struct Regions {
    /// Cumulative normalized weights; empty without regions.
    cumulative: Vec<f64>,
    /// With `utc_offset`s: the traffic's own diurnal curve and each region's `(normalized
    /// weight, offset)`; a request's region is then drawn by the weights of the moment.
    phases: Option<(Diurnal, Vec<(f64, f64)>)>,
    stream: Stream,
    pub(super) views: Vec<View>,
    pub(super) latency_ns: Vec<Vec<Nanos>>,
    /// Per class: the time its payload takes to cross between regions there and back
    /// (0 without `network.bandwidth_mbps`).
    transfer_ns: Vec<Nanos>,
    pub(super) ttl_ns: Nanos,
    /// Per class: its requests' data must stay in their region (no failover).
    residency: Vec<bool>,
    pub(super) probe: Option<ServiceId>,
    /// Resident requests waiting for their region (see [`Backlogs`]); `None` when no class
    /// has a backlog, the one check an arrival makes.
    pub(super) backlogs: Option<Box<Backlogs>>,
}

/// A request waiting in a backlog, with its arrival time.
#[derive(Debug, Clone, Copy)]
pub(super) struct Waiting {
    pub(super) request: RequestInfo,
    pub(super) arrived_ns: Nanos,
}

/// The backlogs of the classes that have one: per (class, region) a FIFO of requests that
/// arrived while their region was detected down.
pub struct Backlogs {
    /// Per class: its backlog's keys.
    pub(super) specs: Vec<Option<Backlog>>,
    pub(super) regions: usize,
    /// Per `class x regions + region`: the requests waiting, oldest first.
    pub(super) queues: Vec<VecDeque<Waiting>>,
    /// Per queue: when its armed timeout event is due (events due at another time are stale).
    pub(super) timer_due_ns: Vec<Option<Nanos>>,
    /// Regions detected up again with requests waiting: to be sent (`BacklogDrain`).
    pub(super) to_drain: Vec<u8>,
    /// The arrival times of requests sent from a backlog and not yet ended, by id: their
    /// latency counts from there.
    pub(super) sent: HashMap<u64, Nanos>,
    /// Requests waiting, in every queue.
    pub(super) waiting: usize,
}

impl Regions {
    pub fn new(model: &Model, replication: u32) -> Regions {
        let regions = &model.fleet.regions;
        let total: f64 = regions.iter().map(|r| r.weight).sum();
        let mut sum = 0.0;
        let cumulative = regions
            .iter()
            .map(|r| {
                sum += r.weight / total;
                sum
            })
            .collect();
        // Regions are probed at the entry of the first class (the only one without [[class]]).
        let entry = model.classes[0].entry;
        let probe = if model.services[entry].fleet.regions.is_some() {
            Some(entry)
        } else {
            model
                .services
                .iter()
                .position(|s| s.fleet.regions.is_some())
        };
        let phases = model.fleet.client_diurnal.map(|diurnal| {
            let shares = regions
                .iter()
                .map(|r| (r.weight / total, r.utc_offset_ns as f64))
                .collect();
            (diurnal, shares)
        });
        Regions {
            cumulative,
            phases,
            stream: Stream::new(model.seed, replication, "traffic", "region"),
            views: (0..regions.len())
                .map(|r| View {
                    up: true,
                    answers: VecDeque::from([(0, r as u8)]),
                    settled: r as u8,
                    pending: None,
                })
                .collect(),
            latency_ns: model.fleet.latency_ns.clone(),
            transfer_ns: model
                .classes
                .iter()
                .map(|c| transfer_ns(c.payload_kb, model.fleet.bandwidth_mbps))
                .collect(),
            ttl_ns: model.fleet.dns_ttl_ns,
            residency: model.classes.iter().map(|c| c.residency).collect(),
            probe,
            backlogs: model.classes.iter().any(|c| c.backlog.is_some()).then(|| {
                let queues = model.classes.len() * regions.len().max(1);
                Box::new(Backlogs {
                    specs: model.classes.iter().map(|c| c.backlog).collect(),
                    regions: regions.len().max(1),
                    queues: vec![VecDeque::new(); queues],
                    timer_due_ns: vec![None; queues],
                    to_drain: Vec::new(),
                    sent: HashMap::new(),
                    waiting: 0,
                })
            }),
        }
    }

    /// The client region of request `id` and the region serving it at `now_ns`.
    #[inline]
    pub fn place(&self, id: u64, class: ClassId, now_ns: Nanos) -> (u8, u8) {
        if self.cumulative.is_empty() {
            return (0, 0);
        }
        self.place_among_regions(id, class, now_ns)
    }

    /// [`Regions::place`] when there are regions (kept out of line: the common path has none).
    fn place_among_regions(&self, id: u64, class: ClassId, now_ns: Nanos) -> (u8, u8) {
        let u: f64 = self.stream.at(id, 0, 0).random();
        let client = match &self.phases {
            None => self
                .cumulative
                .iter()
                .position(|&c| u < c)
                .unwrap_or(self.cumulative.len() - 1),
            Some((diurnal, shares)) => client_at(diurnal, shares, u, now_ns),
        };
        if self.residency[usize::from(class)] {
            return (client as u8, client as u8);
        }
        let v = &self.views[client];
        let &(since, last) = v.answers.back().expect("a view holds an answer");
        if v.answers.len() == 1 || now_ns >= since.saturating_add(self.ttl_ns) {
            return (client as u8, last); // every cache holds the last answer
        }
        // The client's cache was filled `age` ago: it holds the answer in force then.
        let age_ns = if self.ttl_ns == 0 {
            0
        } else {
            self.stream.at(id, 1, 0).random_range(0..self.ttl_ns)
        };
        (client as u8, v.answer_at(now_ns.saturating_sub(age_ns)))
    }

    /// Whether no class ever fails over (then failovers are not events).
    pub(super) fn all_resident(&self) -> bool {
        self.residency.iter().all(|&r| r)
    }

    /// The region a request's visits to regional services go to.
    #[inline]
    pub fn route(&self, request: RequestInfo) -> Option<u16> {
        Some(u16::from(request.served_region))
    }

    /// The network time between a request's client and the region serving it: one way
    /// there, one way back (`network.local` each way at home; 0 without regions), and, when
    /// it is served away, its payload's transfer both ways over the link between regions.
    #[inline]
    pub fn round_trip_ns(&self, request: RequestInfo) -> Nanos {
        if self.cumulative.is_empty() {
            0
        } else {
            let away = request.client_region != request.served_region;
            2 * self.latency_ns[usize::from(request.client_region)]
                [usize::from(request.served_region)]
                + if away {
                    self.transfer_ns[usize::from(request.class)]
                } else {
                    0
                }
        }
    }
}

/// The client region of a request arriving at `now_ns` whose draw is `u` (uniform in
/// [0, 1)), when regions live the diurnal curve at their own hours: region `r`'s clients
/// arrive at `w_r x diurnal(t + offset_r)`, so it is region `r` with probability
/// `w_r diurnal(t + o_r) / sum_q w_q diurnal(t + o_q)` (the sum is the traffic's own, shifted,
/// curve that the arrivals follow).
fn client_at(diurnal: &Diurnal, shares: &[(f64, f64)], u: f64, now_ns: Nanos) -> usize {
    let t = now_ns as f64;
    let weight = |&(w, offset): &(f64, f64)| w * diurnal.factor(t + offset);
    let total: f64 = shares.iter().map(weight).sum();
    let mut sum = 0.0;
    for (r, share) in shares.iter().enumerate() {
        sum += weight(share) / total;
        if u < sum {
            return r;
        }
    }
    shares.len() - 1
}

/// The time a payload of `payload_kb` kilobytes (1,000 bytes) takes to cross a link of
/// `bandwidth_mbps` megabits per second there and back: `2 x payload_kb x 8,000 bits /
/// (bandwidth_mbps x 10^6 bits/s)`, to the nearest nanosecond; 0 without a bandwidth.
fn transfer_ns(payload_kb: f64, bandwidth_mbps: Option<f64>) -> Nanos {
    bandwidth_mbps.map_or(0, |mbps| (2.0 * payload_kb * 8e6 / mbps).round() as Nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::shape::ShapedSource;
    use crate::scenario::world::Arrivals;
    use std::f64::consts::TAU;

    /// Two regions 12 h apart (`west` at -6 h with 3/4 of the clients, `east` at +6 h with
    /// 1/4), rate 100/s, diurnal peak-to-trough 3 (a = 0.5) peaking at 20:30 local time, over
    /// 24 h: region r's clients arrive at `100 w_r (1 + a cos(w (t + o_r - 20.5 h)))`, so `west`
    /// peaks at 02:30 and `east` at 14:30 of the scenario clock. The arrivals are generated as
    /// the run generates them (the traffic's shaped source, then each request's region drawn
    /// by its id at its arrival time), 8.64 million of them.
    ///
    /// Checked against that formula, integrated by hand over each hour `[t0, t1)`:
    /// `m_r = 100 w_r ((t1 - t0) + a / w (sin(w (t1 + o_r - p)) - sin(w (t0 + o_r - p))))`:
    /// - each region's count in each hour within 4.5 Poisson sd (sqrt(m_r), 0.2% to 0.6%);
    /// - each hour's share of `west` within 4.5 binomial sd (sqrt(p (1 - p) / n), about
    ///   0.0007 for n = 360,000);
    /// - each region's peak, the phase of the first Fourier coefficient of its hourly counts
    ///   (1 h bins attenuate it but do not move it): `east`'s coefficient is about
    ///   2.16e6 x a / 2 = 540,000 against a noise of sqrt(2.16e6 / 2) = 1,040, a phase sd of
    ///   1.9e-3 rad = 27 s; the peaks must lie within 2 min (4.5 sd) of 02:30 and 14:30, and
    ///   12 h apart within 170 s (4.5 x sqrt(2) x 27 s).
    #[test]
    fn regions_twelve_hours_apart_peak_twelve_hours_apart_and_share_by_the_formula() {
        let text = r#"
            [scenario]
            duration = "24h"
            seed = 5
            [traffic]
            rate = 100
            diurnal = { peak_to_trough = 3, peak_at = "20.5h" }
            [[region]]
            name = "west"
            weight = 3
            utc_offset = "-6h"
            [[region]]
            name = "east"
            weight = 1
            utc_offset = "+6h"
            [[service]]
            name = "api"
            regions = { west = 1, east = 1 }
            service_time = { dist = "constant", value = "1ms" }
        "#;
        let model = crate::scenario::load::load(text, "t.toml", &[]).expect("a valid scenario");
        let Arrivals::Shaped(shape) = &model.traffic.arrivals else {
            panic!("diurnal traffic is shaped");
        };
        let mut source = ShapedSource::new(shape, model.duration_ns, model.seed, 0);
        let regions = Regions::new(&model, 0);
        let hour_ns = 3_600_000_000_000u64;
        let mut counts = [[0u64; 24]; 2];
        let mut id = 0;
        while let Some(at_ns) = source.next_arrival_ns() {
            let (client, served) = regions.place(id, 0, at_ns);
            assert_eq!(client, served, "no outage: served at home");
            counts[usize::from(client)][(at_ns / hour_ns) as usize] += 1;
            id += 1;
        }

        let (a, day_s, peak_s) = (0.5, 86_400.0, 20.5 * 3_600.0);
        let omega = TAU / day_s;
        let regions_spec = [(0.75, -6.0 * 3_600.0), (0.25, 6.0 * 3_600.0)];
        let expected = |(w, o): (f64, f64), t0: f64, t1: f64| {
            100.0
                * w
                * ((t1 - t0)
                    + a / omega
                        * ((omega * (t1 + o - peak_s)).sin() - (omega * (t0 + o - peak_s)).sin()))
        };
        for (hour, (&west, &east)) in counts[0].iter().zip(&counts[1]).enumerate() {
            let (t0, t1) = (hour as f64 * 3_600.0, (hour + 1) as f64 * 3_600.0);
            let m: Vec<f64> = regions_spec.iter().map(|&r| expected(r, t0, t1)).collect();
            for (r, n) in [west, east].into_iter().enumerate() {
                let n = n as f64;
                assert!(
                    (n - m[r]).abs() < 4.5 * m[r].sqrt(),
                    "region {r}, hour {hour}: {n} arrivals, expected {:.0}",
                    m[r]
                );
            }
            let n = (west + east) as f64;
            let p = m[0] / (m[0] + m[1]);
            let share = west as f64 / n;
            let sd = (p * (1.0 - p) / n).sqrt();
            assert!(
                (share - p).abs() < 4.5 * sd,
                "hour {hour}: west's share {share:.4}, expected {p:.4} (sd {sd:.4})"
            );
        }
        let peak_of = |hours: &[u64; 24]| {
            let (mut c, mut s) = (0.0, 0.0);
            for (h, &n) in hours.iter().enumerate() {
                let mid = (h as f64 + 0.5) * 3_600.0;
                c += n as f64 * (omega * mid).cos();
                s += n as f64 * (omega * mid).sin();
            }
            (s.atan2(c) / omega).rem_euclid(day_s)
        };
        let (west, east) = (peak_of(&counts[0]), peak_of(&counts[1]));
        assert!(
            (west - 2.5 * 3_600.0).abs() < 120.0,
            "west peaks at {west} s"
        );
        assert!(
            (east - 14.5 * 3_600.0).abs() < 120.0,
            "east peaks at {east} s"
        );
        assert!(
            ((east - west) - 12.0 * 3_600.0).abs() < 170.0,
            "peaks {} s apart",
            east - west
        );
    }
}
