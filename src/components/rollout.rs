//! A rollout's state: where it stands, which version a visit goes to, the canary's
//! analysis window, the A/B arms, and the levels the time series reads. A leaf of
//! `components`: the controller that changes it is `deployment.rs`, and the services, the
//! lifecycle and the autoscaler read it from here without importing the controller.

use crate::engine::rng::Stream;
use crate::engine::time::Nanos;
use crate::metrics::abtest::Sequential;
use crate::metrics::recorder::{Durations, TimeWeighted};
use crate::metrics::series::{RolloutWindow, PHASE_KEYS};
use crate::scenario::deploy::Deployment;
use crate::scenario::model::{Model, ServiceId};

/// Index of a version of a service.
pub use super::entity::VersionId;

/// The old version (the service's own keys) and the new one.
pub const OLD: VersionId = 0;
pub const NEW: VersionId = 1;

/// Which version a visit to a service goes to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Route {
    /// Any ready replica: traffic follows replica counts.
    ByCount,
    /// Only replicas of this version.
    Only(VersionId),
    /// The new version with this probability (a traffic router's weight), drawn per request.
    Weight(f64),
    /// A DNS cut-over: the new version's share grows linearly from 0 at `from_ns` to 1 a TTL
    /// later, as clients' cached answers expire.
    Ramp { from_ns: Nanos, ttl_ns: Nanos },
}

impl Route {
    /// The new version's share of requests at `now_ns`, if the route splits by weight.
    pub fn weight_new(&self, now_ns: Nanos) -> Option<f64> {
        match *self {
            Route::ByCount => None,
            Route::Only(v) => Some(if v == NEW { 1.0 } else { 0.0 }),
            Route::Weight(w) => Some(w),
            Route::Ramp { from_ns, ttl_ns } => {
                Some((now_ns.saturating_sub(from_ns) as f64 / ttl_ns.max(1) as f64).min(1.0))
            }
        }
    }
}

/// Where a rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not started yet.
    Pending,
    /// Replacing replicas (recreate, rolling), or provisioning the new set (blue-green,
    /// shadow, the canary's first step).
    Progressing,
    /// Blue-green: green available, serving nothing, until the switch.
    Preview,
    /// Blue-green after the switch, canary and A/B after promotion: the old set waits for
    /// its teardown.
    Switched,
    /// Canary: step `step` holds its weight.
    Step,
    /// Canary: analysis was inconclusive; the rollout waits for a human (Argo's pause).
    Paused,
    /// A/B test: the split holds.
    Split,
    /// Shadow: requests are mirrored.
    Mirror,
    /// Rolled back: the canary's replicas wait for their scale-down.
    Aborted,
    /// Over: one version left.
    Done,
}

impl Phase {
    /// The time series' name of the phase.
    pub fn key(self) -> &'static str {
        PHASE_KEYS[self as usize]
    }
}

/// How a rollout ended, and when it was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    Promoted,
    RolledBack,
    Inconclusive,
}

impl Outcome {
    pub fn key(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Promoted => "promoted",
            Outcome::RolledBack => "rolled_back",
            Outcome::Inconclusive => "inconclusive",
        }
    }
}

/// One rollout's controller state.
pub struct RolloutState {
    pub phase: Phase,
    /// The replica count the service should have, per region (one entry for a service
    /// without regions): its `replicas`, then its autoscaler's (a regional service's HPA per
    /// region). Each region's strategy arithmetic runs on its own count, as a Deployment
    /// per cluster does.
    pub desired: Vec<u32>,
    /// When each replica slot last became ready.
    pub(super) ready_since_ns: Vec<Nanos>,
    /// Canary step under way; when its weight was reached (its pause runs from then).
    pub(super) step: usize,
    pub(super) step_since_ns: Option<Nanos>,
    /// When the phase's wait ends (preview, mirror, split, the old set's teardown).
    pub(super) until_ns: Nanos,
    pub outcome: Option<(Outcome, Nanos)>,
    pub started_ns: Nanos,
    /// When the rollout ended (one version left), if it has.
    pub ended_ns: Option<Nanos>,
    /// The canary's visits since the last analysis.
    pub(super) window_ok: u64,
    pub(super) window_failed: u64,
    pub(super) window_latency: Durations,
    pub(super) failures: u32,
    pub(super) next_analysis_ns: Nanos,
    /// A/B: per arm (old, new), requests served and converted.
    pub arms: [(u64, u64); 2],
    /// A/B: when the sequential test looks next, and the test (with `sequential = true`).
    pub(super) next_look_ns: Nanos,
    pub(super) sequential: Option<Sequential>,
    /// Keyed draws per request: its version, whether it is mirrored, whether it converts.
    pub(super) route_stream: Stream,
    pub(super) mirror_stream: Stream,
    pub(super) conversion_stream: Stream,
    /// Classes whose requests reach the deployed service (those an A/B test counts).
    pub(super) reaches: Vec<bool>,
    /// What the time series reads: the new version's weight (in millionths) and each
    /// version's ready replicas, integrated; their integrals at the last window's end.
    pub(super) weight_ppm: TimeWeighted,
    pub(super) new_ready: TimeWeighted,
    pub(super) old_ready: TimeWeighted,
    pub(super) marks: [u128; 3],
    /// `autoscale = "separate"`, per region (one entry for a service without regions):
    /// busy workers of each version (integrated), each version's ready replicas there
    /// (integrated; kept only for a regional service, the totals above serving the other),
    /// and the count each version's own HPA last asked for (a floor under the strategy's
    /// count; the HPAs themselves are the autoscaler's, `WorldState::version_autoscalers`).
    pub(super) busy: Vec<[TimeWeighted; 2]>,
    pub(super) region_ready: Vec<[TimeWeighted; 2]>,
    pub(super) floor: Vec<[u32; 2]>,
    /// A DNS ramp under way (its weight level is kept at 0 and its area computed exactly),
    /// the time up to which its area is counted, and the area counted since the last
    /// window's end (weight in millionths x ns).
    pub(super) ramp: Option<(Nanos, Nanos)>,
    /// The most replicas of both versions ready or starting at once (draining ones, on
    /// their way out, not counted).
    pub(super) peak_live: u32,
    pub(super) ramp_mark_ns: Nanos,
    pub(super) ramp_area: u128,
}

impl RolloutState {
    pub fn new(model: &Model, d: &Deployment, replication: u32) -> RolloutState {
        let name = &model.services[d.service].name;
        let desired = model.services[d.service]
            .fleet
            .regions
            .clone()
            .unwrap_or_else(|| vec![model.services[d.service].replicas]);
        let stream = |purpose: &str| Stream::new(model.seed, replication, name, purpose);
        RolloutState {
            phase: Phase::Pending,
            floor: vec![[0; 2]; desired.len()],
            ready_since_ns: Vec::new(),
            step: 0,
            step_since_ns: None,
            until_ns: 0,
            outcome: None,
            started_ns: d.at_ns,
            ended_ns: None,
            window_ok: 0,
            window_failed: 0,
            window_latency: Durations::compact(),
            failures: 0,
            next_analysis_ns: 0,
            arms: [(0, 0); 2],
            next_look_ns: 0,
            sequential: d.ab_test.sequential.then(|| {
                let rate: f64 = model.classes.iter().map(|c| c.share * c.conversion).sum();
                Sequential::for_min_effect(rate, d.ab_test.min_effect, d.ab_test.alpha)
            }),
            route_stream: stream("route"),
            mirror_stream: stream("mirror"),
            conversion_stream: stream("conversion"),
            reaches: model
                .classes
                .iter()
                .map(|c| reaches(model, c.entry, d.service))
                .collect(),
            weight_ppm: TimeWeighted::default(),
            new_ready: TimeWeighted::default(),
            old_ready: TimeWeighted::default(),
            marks: [0; 3],
            busy: vec![Default::default(); desired.len()],
            region_ready: if model.services[d.service].fleet.regions.is_some() {
                vec![Default::default(); desired.len()]
            } else {
                Vec::new()
            },
            ramp: None,
            peak_live: model.services[d.service].replicas,
            ramp_mark_ns: 0,
            ramp_area: 0,
            desired,
        }
    }

    /// The integrated ready replicas of a version (in region `g` of a regional service).
    pub(super) fn ready_level(&self, g: usize, version: VersionId) -> &TimeWeighted {
        if let Some(levels) = self.region_ready.get(g) {
            &levels[usize::from(version)]
        } else if version == NEW {
            &self.new_ready
        } else {
            &self.old_ready
        }
    }

    /// The window's row of the time series: the integrals since the last window's end, and
    /// the phase now.
    pub fn close_window(&mut self, now_ns: Nanos, window: (Nanos, Nanos)) -> RolloutWindow {
        self.count_ramp(now_ns);
        let now = [
            self.weight_ppm.run_area_at(now_ns, window),
            self.new_ready.run_area_at(now_ns, window),
            self.old_ready.run_area_at(now_ns, window),
        ];
        let mut phases = [0; PHASE_KEYS.len()];
        phases[self.phase as usize] = 1;
        let out = RolloutWindow {
            weight_area: now[0] - self.marks[0] + std::mem::take(&mut self.ramp_area),
            new_ready_area: now[1] - self.marks[1],
            old_ready_area: now[2] - self.marks[2],
            phases,
        };
        self.marks = now;
        out
    }

    /// What the run reports of this rollout.
    pub fn result(&self) -> crate::metrics::run::RolloutResult {
        crate::metrics::run::RolloutResult {
            outcome: self.outcome.map(|(o, _)| o.key()),
            decided_ns: self.outcome.map(|(_, t)| t),
            started_ns: (self.phase != Phase::Pending).then_some(self.started_ns),
            ended_ns: self.ended_ns,
            arms: self.arms,
            peak_replicas: self.peak_live,
        }
    }

    /// Counts a DNS ramp's weight area up to `now_ns`: the weight rises linearly from 0 to 1
    /// over the TTL, so its integral is a parabola, then a line.
    pub(super) fn count_ramp(&mut self, now_ns: Nanos) {
        let Some((from, ttl)) = self.ramp else {
            return;
        };
        let integral = |t: Nanos| {
            let x = t.saturating_sub(from) as f64;
            let ttl = ttl.max(1) as f64;
            if x <= ttl {
                x * x / (2.0 * ttl)
            } else {
                ttl / 2.0 + (x - ttl)
            }
        };
        let area = (integral(now_ns) - integral(self.ramp_mark_ns)) * 1e6;
        self.ramp_area += area.round() as u128;
        self.ramp_mark_ns = now_ns;
    }

    /// Whether the controller is acting (started, not over).
    pub fn active(&self) -> bool {
        !matches!(self.phase, Phase::Pending | Phase::Done)
    }

    /// The version a request goes to under `route` (its draw is keyed by the request, so
    /// it is the same at each visit and under every strategy).
    #[inline]
    pub fn version_for(&self, route: Route, now_ns: Nanos, request: u64) -> Option<VersionId> {
        match route {
            Route::ByCount => None,
            Route::Only(v) => Some(v),
            _ => {
                let w = route.weight_new(now_ns).unwrap_or(0.0);
                let u: f64 = rand::Rng::random(&mut self.route_stream.at(request, 0, 0));
                Some(if u < w { NEW } else { OLD })
            }
        }
    }
}

/// Whether a request entering at `entry` can visit `service` (through calls or cache misses).
fn reaches(model: &Model, entry: ServiceId, service: ServiceId) -> bool {
    let mut seen = vec![false; model.services.len()];
    let mut stack = vec![entry];
    while let Some(s) = stack.pop() {
        if s == service {
            return true;
        }
        if !std::mem::replace(&mut seen[s], true) {
            stack.extend(model.services[s].callees());
        }
    }
    false
}
