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
use crate::metrics::run::Log;
use crate::scenario::model::{Model, ServiceId};

pub(super) const HOUR_NS: f64 = 3_600e9;

/// What changes the fleets in one replication: autoscalers, faults, provisioning draws, and
/// the log of happenings.
pub struct WorldState {
    pub log: Log,
    pub autoscalers: Vec<Option<AutoscalerState>>,
    /// Per deployment, one HPA per version (old, new) for `autoscale = "separate"`, in
    /// each region (one entry for a service without regions).
    pub version_autoscalers: Vec<Vec<[AutoscalerState; 2]>>,
    /// Per service, one HPA per region when it is regional and autoscaled (else empty).
    pub regional_hpas: Vec<Vec<RegionalHpa>>,
    /// Whether each fault with a time window is under way.
    pub fault_active: Vec<bool>,
    /// Per region, the region outages under way (what a rollout's controller waits out).
    pub region_outages: Vec<u32>,
    /// Each fault's own sequential stream (failure times, repair times).
    pub fault_rngs: Vec<Rng>,
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
}
