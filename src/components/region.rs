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
use crate::metrics::run::{Happening, Log};
use crate::scenario::fleet::Backlog;
use crate::scenario::model::ClassId;
use crate::scenario::model::{Model, ServiceId};
use crate::scenario::world::Diurnal;
use rand::Rng as _;
use std::collections::{HashMap, VecDeque};

/// Where each region's clients are served, as DNS answers for them over time.
#[derive(Debug, Clone)]
struct View {
    /// Whether the region was up when last detected.
    up: bool,
    /// DNS's answers for the region's clients, `(since, region)`, oldest first, kept back to
    /// the one in force `dns_ttl` ago (the oldest a client's cache can hold).
    answers: VecDeque<(Nanos, u8)>,
    /// Where the log last said the clients are, by a happening already due.
    settled: u8,
    /// A logged happening not yet due: `(when, the answer it says clients follow)`.
    pending: Option<(Nanos, u8)>,
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
    views: Vec<View>,
    latency_ns: Vec<Vec<Nanos>>,
    /// Per class: the time its payload takes to cross between regions there and back
    /// (0 without `network.bandwidth_mbps`).
    transfer_ns: Vec<Nanos>,
    ttl_ns: Nanos,
    /// Per class: its requests' data must stay in their region (no failover).
    residency: Vec<bool>,
    probe: Option<ServiceId>,
    /// Resident requests waiting for their region (see [`Backlogs`]); `None` when no class
    /// has a backlog, the one check an arrival makes.
    backlogs: Option<Box<Backlogs>>,
}

/// A request waiting in a backlog, with its arrival time.
#[derive(Debug, Clone, Copy)]
struct Waiting {
    request: RequestInfo,
    arrived_ns: Nanos,
}

/// The backlogs of the classes that have one: per (class, region) a FIFO of requests that
/// arrived while their region was detected down.
pub struct Backlogs {
    /// Per class: its backlog's keys.
    specs: Vec<Option<Backlog>>,
    regions: usize,
    /// Per `class x regions + region`: the requests waiting, oldest first.
    queues: Vec<VecDeque<Waiting>>,
    /// Per queue: when its armed timeout event is due (events due at another time are stale).
    timer_due_ns: Vec<Option<Nanos>>,
    /// Regions detected up again with requests waiting: to be sent (`BacklogDrain`).
    to_drain: Vec<u8>,
    /// The arrival times of requests sent from a backlog and not yet ended, by id: their
    /// latency counts from there.
    sent: HashMap<u64, Nanos>,
    /// Requests waiting, in every queue.
    waiting: usize,
}

/// What an arriving request's backlog does with it ([`Regions::hold`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backlogged {
    /// Not held: its region is detected up, or its class has no backlog. It is sent.
    No,
    /// Its backlog is full: the request is rejected.
    Full,
    /// It waits; with `Some((queue, due))` the backlog's timeout event is to be scheduled
    /// (`BacklogTimeout(queue, due)`).
    Waits(Option<(u32, Nanos)>),
}

/// What a backlog's timeout event finds ([`Regions::expire`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Nothing (more) to time out: the event was stale, or the queue is empty.
    Done,
    /// The oldest request waited the timeout: it times out (with its arrival time). Ask again.
    TimedOut(RequestInfo, Nanos),
    /// The oldest request left times out then: the timeout event is to be scheduled there.
    Rearm(Nanos),
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

    /// Whether `service` is the one whose ready replicas tell whether a region is up.
    pub fn is_probe(&self, service: ServiceId) -> bool {
        self.probe == Some(service)
    }

    /// The regions (0 without regions).
    pub fn count(&self) -> usize {
        self.views.len()
    }

    /// Whether `region` was up when last detected (a region that does not exist is).
    pub fn detected_up(&self, region: usize) -> bool {
        self.views.get(region).is_none_or(|v| v.up)
    }

    /// The probe service's replicas changed and `up[r]` says whether region `r` has one
    /// ready: regions coming back with requests in a backlog are marked to be sent, and
    /// every region's DNS answer is recomputed (itself while up, else the nearest region up,
    /// else itself). A change of answer is logged in `log` as a failover or failback due when
    /// every client follows it, `dns_ttl` later; a logged move not yet due that this change
    /// overtakes is taken back from the log (see the module docs).
    pub fn detect(&mut self, now_ns: Nanos, up: &[bool], log: &mut Log) {
        if self.views.iter().zip(up).all(|(v, &u)| v.up == u) {
            return;
        }
        for (region, (view, &up)) in self.views.iter_mut().zip(up).enumerate() {
            if up && !view.up {
                if let Some(b) = &mut self.backlogs {
                    let holds =
                        (0..b.specs.len()).any(|c| !b.queues[c * b.regions + region].is_empty());
                    if holds {
                        b.to_drain.push(region as u8);
                    }
                }
            }
            view.up = up;
        }
        let n = self.views.len();
        let ttl = self.ttl_ns;
        let all_resident = self.all_resident();
        for region in 0..n {
            let latency = &self.latency_ns[region];
            let answer = if up[region] {
                region
            } else {
                (0..n)
                    .filter(|&q| q != region && up[q])
                    .min_by_key(|&q| (latency[q], q))
                    .unwrap_or(region)
            } as u8;
            let view = &mut self.views[region];
            if view.answers.back().is_some_and(|&(_, last)| last == answer) {
                continue;
            }
            // Answers no cache can hold any more: all but the last one in force a TTL ago.
            let oldest_held = now_ns.saturating_sub(ttl);
            while view
                .answers
                .get(1)
                .is_some_and(|&(since, _)| since <= oldest_held)
            {
                view.answers.pop_front();
            }
            view.answers.push_back((now_ns, answer));
            if all_resident {
                continue;
            }
            // A logged move not yet complete is overtaken: taken back from the log.
            match view.pending.take() {
                Some((due, _)) if due > now_ns => {
                    let log = &mut log.entries;
                    if let Some(i) = log.iter().rposition(|h| {
                        h.at_ns == due
                            && matches!(h.what, Happening::Failover { region: r, .. }
                                | Happening::Failback { region: r } if r == region)
                    }) {
                        log.remove(i);
                    }
                }
                Some((_, done)) => view.settled = done,
                None => {}
            }
            if answer == view.settled {
                continue; // back where the log says clients are: no move completed
            }
            let due = now_ns.saturating_add(ttl);
            view.pending = Some((due, answer));
            let happening = if usize::from(answer) == region {
                Happening::Failback { region }
            } else {
                Happening::Failover {
                    region,
                    to: usize::from(answer),
                }
            };
            log.push(due, happening);
        }
    }

    /// Whether any class has a backlog (the one check an arrival makes).
    #[inline]
    pub fn has_backlogs(&self) -> bool {
        self.backlogs.is_some()
    }

    /// An arriving request whose class has a backlog and whose region is detected down
    /// waits in its region's backlog, unless the backlog is full.
    pub fn hold(&mut self, now_ns: Nanos, request: RequestInfo) -> Backlogged {
        let region = usize::from(request.client_region);
        if self.detected_up(region) {
            return Backlogged::No;
        }
        let Some(b) = &mut self.backlogs else {
            return Backlogged::No;
        };
        let Some(spec) = b.specs[usize::from(request.class)] else {
            return Backlogged::No;
        };
        let queue = usize::from(request.class) * b.regions + region;
        if b.queues[queue].len() >= spec.max as usize {
            return Backlogged::Full;
        }
        b.queues[queue].push_back(Waiting {
            request,
            arrived_ns: now_ns,
        });
        b.waiting += 1;
        let mut timer = None;
        if let (Some(timeout_ns), None) = (spec.timeout_ns, b.timer_due_ns[queue]) {
            let due = now_ns.saturating_add(timeout_ns);
            b.timer_due_ns[queue] = Some(due);
            timer = Some((queue as u32, due));
        }
        Backlogged::Waits(timer)
    }

    /// The regions detected up again with requests waiting, each to be sent its backlog
    /// (`BacklogDrain`), taken once.
    pub fn regions_to_drain(&mut self) -> impl Iterator<Item = u8> + '_ {
        self.backlogs.iter_mut().flat_map(|b| b.to_drain.drain(..))
    }

    /// The region's backlogs are about to be sent: their timeouts are off.
    pub fn begin_sending(&mut self, region: u8) {
        if let Some(b) = &mut self.backlogs {
            for c in 0..b.specs.len() {
                b.timer_due_ns[c * b.regions + usize::from(region)] = None;
            }
        }
    }

    /// The oldest request (across classes) waiting in the region's backlogs, taken out to be
    /// sent, marked `backlogged`, its arrival time kept until it ends ([`Regions::arrival_of`]);
    /// `None` when none waits.
    pub fn next_to_send(&mut self, region: u8) -> Option<RequestInfo> {
        let b = self.backlogs.as_mut()?;
        let q = (0..b.specs.len())
            .map(|c| c * b.regions + usize::from(region))
            .filter(|&q| !b.queues[q].is_empty())
            .min_by_key(|&q| b.queues[q][0].arrived_ns)?;
        let Waiting {
            mut request,
            arrived_ns,
        } = b.queues[q].pop_front().expect("a queue with a front");
        b.waiting -= 1;
        b.sent.insert(request.id, arrived_ns);
        request.backlogged = true;
        Some(request)
    }

    /// The timeout event of backlog `queue` due at `due_ns` comes at `now_ns`: what it
    /// finds at the front (call again after [`Expiry::TimedOut`]). On [`Expiry::Rearm`] the
    /// timer is armed for that time; on [`Expiry::Done`] with an empty queue it is off.
    pub fn expire(&mut self, queue: u32, due_ns: Nanos, now_ns: Nanos) -> Expiry {
        let queue = queue as usize;
        let Some(b) = &mut self.backlogs else {
            return Expiry::Done;
        };
        if b.timer_due_ns[queue] != Some(due_ns) {
            return Expiry::Done; // stale: the backlog was sent, or the timer re-armed
        }
        let timeout_ns = b.specs[queue / b.regions]
            .and_then(|s| s.timeout_ns)
            .expect("a timer only for a backlog with a timeout");
        match b.queues[queue].front() {
            Some(w) if w.arrived_ns.saturating_add(timeout_ns) <= now_ns => {
                let Waiting {
                    request,
                    arrived_ns,
                } = b.queues[queue].pop_front().expect("a front");
                b.waiting -= 1;
                Expiry::TimedOut(request, arrived_ns)
            }
            Some(w) => {
                let due = w.arrived_ns.saturating_add(timeout_ns);
                b.timer_due_ns[queue] = Some(due);
                Expiry::Rearm(due)
            }
            None => {
                b.timer_due_ns[queue] = None;
                Expiry::Done
            }
        }
    }

    /// The arrival time of a request that ended: its own for one sent from a backlog (then
    /// forgotten), else `arrived_ns`. Takes the two fields it reads, not the request: a
    /// request passed whole to a call would be laid out in memory at the end of every
    /// request, for the rare one that was backlogged.
    #[inline(always)]
    pub fn arrival_of(&mut self, id: u64, backlogged: bool, arrived_ns: Nanos) -> Nanos {
        if !backlogged {
            return arrived_ns;
        }
        self.backlogs
            .as_mut()
            .and_then(|b| b.sent.remove(&id))
            .unwrap_or(arrived_ns)
    }

    /// Requests waiting in every backlog.
    pub fn waiting(&self) -> usize {
        self.backlogs.as_ref().map_or(0, |b| b.waiting)
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
    fn all_resident(&self) -> bool {
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
