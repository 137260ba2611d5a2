//! Replicas coming and going as the world changes: provisioning, readiness, crashes that fail
//! what a replica holds, and the levels of replicas in each state over time (what the
//! autoscaler, the time series and the bill integrate), the money spent so far, and the log of
//! what happened. Each service's [`Fleet`](super::fleet::Fleet) owns its replicas' states and
//! counts; this module asks it for changes and copies its counts into the levels whenever
//! they changed (`note_fleet_change`).

use super::autoscaler::{AutoscalerState, RegionalHpa};
use crate::distribution::Distribution;
use crate::engine::rng::{self, Rng, Stream};
use crate::engine::time::Nanos;
use crate::metrics::run::{Happening, Log};
use crate::scenario::model::{Model, ServiceId};

pub(super) const HOUR_NS: f64 = 3_600e9;

/// What changes the fleets in one replication: autoscalers, faults, provisioning draws, and
/// the log of happenings.
pub struct WorldState {
    log: Log,
    autoscalers: Vec<Option<AutoscalerState>>,
    /// Per deployment, one HPA per version (old, new) for `autoscale = "separate"`, in
    /// each region (one entry for a service without regions).
    version_autoscalers: Vec<Vec<[AutoscalerState; 2]>>,
    /// Per service, one HPA per region when it is regional and autoscaled (else empty).
    regional_hpas: Vec<Vec<RegionalHpa>>,
    /// Whether each fault with a time window is under way.
    fault_active: Vec<bool>,
    /// Per region, the region outages under way (what a rollout's controller waits out).
    region_outages: Vec<u32>,
    /// Each fault's own sequential stream (failure times, repair times).
    fault_rngs: Vec<Rng>,
    /// Provisioning delays: a keyed draw per replica started, per service.
    provisioning: Vec<Stream>,
    started: Vec<u64>,
}

impl WorldState {
    pub fn new(model: &Model, replication: u32) -> WorldState {
        WorldState {
            log: Log::default(),
            autoscalers: model
                .services
                .iter()
                .map(|s| {
                    s.fleet
                        .autoscale
                        .as_ref()
                        .map(|_| AutoscalerState::default())
                })
                .collect(),
            version_autoscalers: model
                .deployments
                .iter()
                .map(|d| {
                    let regions = model.services[d.service].fleet.regions.as_ref();
                    vec![Default::default(); regions.map_or(1, Vec::len)]
                })
                .collect(),
            regional_hpas: model
                .services
                .iter()
                .map(|s| match (&s.fleet.autoscale, &s.fleet.regions) {
                    (Some(_), Some(counts)) => vec![RegionalHpa::default(); counts.len()],
                    _ => Vec::new(),
                })
                .collect(),
            fault_active: vec![false; model.fleet.faults.len()],
            region_outages: vec![0; model.fleet.regions.len()],
            fault_rngs: (0..model.fleet.faults.len())
                .map(|i| rng::stream(model.seed, replication, &format!("fault{i}"), "times"))
                .collect(),
            provisioning: model
                .services
                .iter()
                .map(|s| Stream::new(model.seed, replication, &s.name, "provisioning"))
                .collect(),
            started: vec![0; model.services.len()],
        }
    }

    /// The provisioning delay of the next replica `service` starts: a keyed draw by how many
    /// it started before, so the n-th replica's delay is the same whatever else happens.
    pub(super) fn draw_provisioning_ns(
        &mut self,
        service: ServiceId,
        provisioning: &Distribution,
    ) -> Nanos {
        let n = self.started[service];
        self.started[service] += 1;
        provisioning.sample_ns(&mut self.provisioning[service].at(n, 0, 0))
    }

    /// Logs a happening at `at_ns` (the log keeps at most its cap; see [`Log::push`]).
    pub(super) fn note(&mut self, at_ns: Nanos, what: Happening) {
        self.log.push(at_ns, what);
    }

    /// The log, for an owner that edits what it logged (a region's DNS takes back a move a
    /// later change overtook: `Regions::detect`).
    pub(super) fn log_mut(&mut self) -> &mut Log {
        &mut self.log
    }

    /// The log of the replication, taken at its end.
    pub(super) fn take_log(&mut self) -> Log {
        std::mem::take(&mut self.log)
    }

    /// The HPA of a service that is not regional (`None` when it is not autoscaled).
    pub(super) fn autoscaler(&mut self, service: ServiceId) -> Option<&mut AutoscalerState> {
        self.autoscalers[service].as_mut()
    }

    /// The HPA of `version` of deployment `d` in region `g` (`autoscale = "separate"`).
    pub(super) fn version_autoscaler(
        &mut self,
        d: usize,
        g: usize,
        version: usize,
    ) -> &mut AutoscalerState {
        &mut self.version_autoscalers[d][g][version]
    }

    /// A regional autoscaled service's HPAs, one per region (empty otherwise).
    pub(super) fn regional_hpas(&mut self, service: ServiceId) -> &mut [RegionalHpa] {
        &mut self.regional_hpas[service]
    }

    /// Whether a service's HPAs are one per region.
    pub(super) fn scales_by_region(&self, service: ServiceId) -> bool {
        !self.regional_hpas[service].is_empty()
    }

    /// A fault with a time window starts (`true`) or ends (`false`).
    pub(super) fn set_fault_active(&mut self, fault: usize, active: bool) {
        self.fault_active[fault] = active;
    }

    /// Whether each fault with a time window is under way, by fault.
    pub(super) fn faults_active(&self) -> &[bool] {
        &self.fault_active
    }

    /// The repair time of fault `fault`'s next crash: the next draw of its own stream.
    pub(super) fn draw_repair_ns(&mut self, fault: usize, mttr: &Distribution) -> Nanos {
        mttr.sample_ns(&mut self.fault_rngs[fault])
    }

    /// The time from now to fault `fault`'s next strike on a replica, exponential of mean
    /// `mean_ns`: the next draw of its own stream.
    pub(super) fn draw_time_to_fault_ns(&mut self, fault: usize, mean_ns: f64) -> Nanos {
        let unit: f64 = rand::Rng::sample(&mut self.fault_rngs[fault], rand_distr::Exp1);
        (unit * mean_ns).round() as Nanos
    }

    /// A region outage starts in `region`.
    pub(super) fn outage_began(&mut self, region: usize) {
        self.region_outages[region] += 1;
    }

    /// A region outage in `region` is over.
    pub(super) fn outage_ended(&mut self, region: usize) {
        self.region_outages[region] -= 1;
    }

    /// Whether `region` is under an outage.
    pub(super) fn in_outage(&self, region: usize) -> bool {
        self.region_outages[region] > 0
    }
}
