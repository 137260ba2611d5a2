//! Regions: clients split by weight, local-first routing, failover when a region is detected
//! down, and a region's outage.
//!
//! Each request gets a client region (a keyed draw by its id, so it is the same whatever the
//! design). Its visits to regional services are served in one region: its client's, unless
//! clients there have failed over. A region is *detected* down when the probe service (the
//! entry if it is regional, else the first regional service) has no ready replica there:
//! at once when its replicas crash, or when health checks eject them. Clients keep resolving
//! to the region for `network.failover.dns_ttl` more (their cached DNS answer), and fail;
//! then they go to the nearest region that is up, paying the one-way latency between the two
//! regions both ways (added to the request's latency when it ends: the request is served as
//! it arrives, the shift of its arrival by one leg is not simulated). When the region is
//! back, its clients return after another TTL. A class with `residency` never fails over: its
//! requests fail while their region is down.

use super::fleet::ReplicaState;
use super::lifecycle::ReplicaRef;
use super::request::RequestInfo;
use super::system::{Event, System};
use crate::engine::queue::EventQueue;
use crate::engine::rng::Stream;
use crate::engine::time::Nanos;
use crate::metrics::run::Happening;
use crate::scenario::model::ClassId;
use crate::scenario::model::{Model, ServiceId};
use rand::Rng as _;

/// Where each region's clients are served, as their DNS sees it.
#[derive(Debug, Clone, Copy)]
struct View {
    /// Whether the region was up when last detected.
    up: bool,
    /// When it was last detected down or up.
    changed_ns: Nanos,
    /// The region its clients fail over to (chosen when it went down).
    target: u8,
    /// Whether the last down spell lasted past the TTL (so clients had moved and must come
    /// back after the TTL once it is up).
    moved: bool,
}

/// The regions of one replication.
pub struct Regions {
    /// Cumulative normalized weights; empty without regions.
    cumulative: Vec<f64>,
    stream: Stream,
    views: Vec<View>,
    latency_ns: Vec<Vec<Nanos>>,
    ttl_ns: Nanos,
    /// Per class: its requests' data must stay in their region (no failover).
    residency: Vec<bool>,
    probe: Option<ServiceId>,
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
        Regions {
            cumulative,
            stream: Stream::new(model.seed, replication, "traffic", "region"),
            views: (0..regions.len())
                .map(|r| View {
                    up: true,
                    changed_ns: 0,
                    target: r as u8,
                    moved: false,
                })
                .collect(),
            latency_ns: model.fleet.latency_ns.clone(),
            ttl_ns: model.fleet.dns_ttl_ns,
            residency: model.classes.iter().map(|c| c.residency).collect(),
            probe,
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
        let client = self
            .cumulative
            .iter()
            .position(|&c| u < c)
            .unwrap_or(self.cumulative.len() - 1);
        let v = &self.views[client];
        let after_ttl = now_ns >= v.changed_ns.saturating_add(self.ttl_ns);
        let away = !self.residency[usize::from(class)]
            && if v.up {
                v.moved && !after_ttl
            } else {
                after_ttl
            };
        (client as u8, if away { v.target } else { client as u8 })
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
    /// there, one way back (`network.local` each way at home; 0 without regions).
    #[inline]
    pub fn round_trip_ns(&self, request: RequestInfo) -> Nanos {
        if self.cumulative.is_empty() {
            0
        } else {
            2 * self.latency_ns[usize::from(request.client_region)]
                [usize::from(request.served_region)]
        }
    }
}

impl System<'_> {
    /// After the probe service's replicas changed: detect regions going down or coming back.
    pub(super) fn check_regions(&mut self, now_ns: Nanos, service: ServiceId) {
        if self.regions.probe != Some(service) {
            return;
        }
        let n = self.regions.views.len();
        // A dead replica still in rotation looks up until health checks eject it.
        let up: Vec<bool> = (0..n)
            .map(|r| {
                self.services[service]
                    .fleet
                    .region_counts()
                    .get(r)
                    .is_some_and(|c| c.ready > 0)
            })
            .collect();
        let ttl = self.regions.ttl_ns;
        for region in 0..n {
            let view = self.regions.views[region];
            if view.up == up[region] {
                continue;
            }
            if up[region] {
                let moved = now_ns >= view.changed_ns.saturating_add(ttl);
                self.regions.views[region] = View {
                    up: true,
                    changed_ns: now_ns,
                    moved,
                    ..view
                };
                if moved && !self.regions.all_resident() {
                    self.world
                        .log
                        .push(now_ns.saturating_add(ttl), Happening::Failback { region });
                }
            } else {
                let latency = &self.regions.latency_ns[region];
                let target = (0..n)
                    .filter(|&q| q != region && up[q])
                    .min_by_key(|&q| (latency[q], q))
                    .unwrap_or(region);
                self.regions.views[region] = View {
                    up: false,
                    changed_ns: now_ns,
                    target: target as u8,
                    moved: false,
                };
                if target != region && !self.regions.all_resident() {
                    self.world.log.push(
                        now_ns.saturating_add(ttl),
                        Happening::Failover { region, to: target },
                    );
                }
            }
        }
    }

    /// Every replica in `region` crashes, each back when the outage ends.
    pub(super) fn region_outage(
        &mut self,
        now_ns: Nanos,
        fault: usize,
        region: usize,
        duration_ns: Nanos,
        events: &mut EventQueue<Event>,
    ) {
        for service in 0..self.services.len() {
            if self.model.services[service].fleet.regions.is_none() {
                continue;
            }
            let hit: Vec<u32> = (0..self.services[service].fleet.replicas().len() as u32)
                .filter(|&i| {
                    let r = self.services[service].fleet.get(i);
                    usize::from(r.region) == region && r.state() != ReplicaState::Down
                })
                .collect();
            for replica in hit {
                self.world.log.push(
                    now_ns,
                    Happening::Crash {
                        fault,
                        service,
                        replica,
                    },
                );
                let incarnation = self.crash_replica(now_ns, service, replica, events);
                events.schedule(
                    now_ns.saturating_add(duration_ns),
                    Event::ReplicaUp(ReplicaRef {
                        service: service as u32,
                        replica,
                        incarnation,
                    }),
                );
            }
        }
    }

    /// The outage is over (its replicas come back through their own repair events).
    pub(super) fn region_restored(
        &mut self,
        _now_ns: Nanos,
        _region: usize,
        _events: &mut EventQueue<Event>,
    ) {
    }
}
