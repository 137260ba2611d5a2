//! A rollout's state: where it stands, which version a visit goes to, the canary's
//! analysis window, the A/B arms, and the levels the time series reads. A leaf of
//! `components`: the controller that changes it is `system/deployment.rs`, through the
//! methods here (the fields are private), and the services, the lifecycle and the
//! autoscaler ask it from here without importing the controller.

use super::entity::{Ending, RequestInfo};
use super::fleet::Fleet;
use crate::engine::rng::Stream;
use crate::engine::time::Nanos;
use crate::metrics::abtest::{z_test, Arm, Sequential};
use crate::metrics::recorder::{Durations, TimeWeighted};
use crate::metrics::run::RolloutKind;
use crate::metrics::series::{RolloutWindow, PHASE_KEYS};
use crate::scenario::deploy::{Analysis, Deployment, NoData};
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

/// One rollout's controller state. Its fields are private: the controller
/// (`system/deployment.rs`) changes it through the methods below, named for what it does,
/// and the rules that are the rollout's own (when a replica counts as available, the
/// analysis window and its failures against the limit, the A/B verdict, the routing draws,
/// the levels the time series reads) are kept here.
pub struct RolloutState {
    phase: Phase,
    /// The replica count the service should have, per region (one entry for a service
    /// without regions): its `replicas`, then its autoscaler's (a regional service's HPA per
    /// region). Each region's strategy arithmetic runs on its own count, as a Deployment
    /// per cluster does.
    desired: Vec<u32>,
    /// How long a replica must have been ready to count as available (the deployment's
    /// `min_ready`), and when each replica slot last became ready.
    min_ready_ns: Nanos,
    ready_since_ns: Vec<Nanos>,
    /// Canary step under way; when its weight was reached (its pause runs from then).
    step: usize,
    step_since_ns: Option<Nanos>,
    /// When the phase's wait ends (preview, mirror, split, the old set's teardown).
    until_ns: Nanos,
    outcome: Option<(Outcome, Nanos)>,
    started_ns: Nanos,
    /// When the rollout ended (one version left), if it has.
    ended_ns: Option<Nanos>,
    /// The canary's visits since the last analysis.
    window_ok: u64,
    window_failed: u64,
    window_latency: Durations,
    failures: u32,
    next_analysis_ns: Nanos,
    /// A/B: per arm (old, new), requests served and converted.
    arms: [(u64, u64); 2],
    /// A/B: when the sequential test looks next, and the test (with `sequential = true`).
    next_look_ns: Nanos,
    sequential: Option<Sequential>,
    /// Which version a visit to the service goes to (the service has one deployment at
    /// most, so the route is its rollout's).
    route: Route,
    /// Keyed draws per request: its version, whether it is mirrored, whether it converts.
    route_stream: Stream,
    mirror_stream: Stream,
    conversion_stream: Stream,
    /// Classes whose requests reach the deployed service (those an A/B test counts).
    reaches: Vec<bool>,
    /// What the time series reads: the new version's weight (in millionths) and each
    /// version's ready replicas, integrated; their integrals at the last window's end.
    weight_ppm: TimeWeighted,
    new_ready: TimeWeighted,
    old_ready: TimeWeighted,
    marks: [u128; 3],
    /// `autoscale = "separate"`, per region (one entry for a service without regions):
    /// busy workers of each version (integrated), each version's ready replicas there
    /// (integrated; kept only for a regional service, the totals above serving the other),
    /// and the count each version's own HPA last asked for (a floor under the strategy's
    /// count; the HPAs themselves are the autoscaler's, `WorldState::version_autoscalers`).
    busy: Vec<[TimeWeighted; 2]>,
    region_ready: Vec<[TimeWeighted; 2]>,
    floor: Vec<[u32; 2]>,
    /// A DNS ramp under way (its weight level is kept at 0 and its area computed exactly),
    /// the time up to which its area is counted, and the area counted since the last
    /// window's end (weight in millionths x ns).
    ramp: Option<(Nanos, Nanos)>,
    /// The most replicas of both versions ready or starting at once (draining ones, on
    /// their way out, not counted).
    peak_live: u32,
    ramp_mark_ns: Nanos,
    ramp_area: u128,
}

/// A canary step's weight reached: held since an earlier look, or reached now (the first
/// step also starts the analysis, whose first check is then due at `first_analysis_ns`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepReached {
    Holding { since_ns: Nanos },
    Now { first_analysis_ns: Option<Nanos> },
}

/// A canary analysis's verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Check {
    Pass {
        error_rate: f64,
    },
    /// Failed on its error rate or p99 (`AnalysisFail`, the error rate) or for want of
    /// requests (`AnalysisNoData`, their count); `roll_back` once failed checks have passed
    /// the limit.
    Fail {
        kind: RolloutKind,
        value: f64,
        roll_back: bool,
    },
    /// No data, with `no_data = "inconclusive"`: the rollout waits for a human.
    Inconclusive,
}

/// An A/B test's look at its arms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// Not over, and no sequential look due.
    Wait,
    /// A sequential look that did not reject: the next is due then.
    LookAgain(Nanos),
    Decide(Outcome),
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
            min_ready_ns: d.min_ready_ns,
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
            route: Route::ByCount,
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

    // Where the rollout stands.

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether the controller is acting (started, not over).
    #[inline]
    pub fn active(&self) -> bool {
        !matches!(self.phase, Phase::Pending | Phase::Done)
    }

    /// The desired replica count per region (one entry for a service without regions).
    pub fn desired(&self) -> &[u32] {
        &self.desired
    }

    /// After a decision, the version kept (the other waits for its teardown).
    pub fn kept(&self) -> Option<VersionId> {
        match self.phase {
            Phase::Switched => Some(NEW),
            Phase::Aborted => Some(OLD),
            _ => None,
        }
    }

    /// Whether the phase's wait (preview, mirror, split, teardown delay) is over.
    pub fn wait_over(&self, now_ns: Nanos) -> bool {
        now_ns >= self.until_ns
    }

    /// The canary step under way (the number of steps once all are done).
    pub fn step(&self) -> usize {
        self.step
    }

    // The phases, as the controller moves through them.

    /// The rollout starts, on the service's live replicas per region now.
    pub fn begin(&mut self, now_ns: Nanos, desired: Vec<u32>) {
        self.phase = Phase::Progressing;
        self.started_ns = now_ns;
        self.desired = desired;
    }

    /// The autoscaler wants `desired` replicas in region `g`; the count it replaces.
    pub fn resize(&mut self, g: usize, desired: u32) -> u32 {
        std::mem::replace(&mut self.desired[g], desired)
    }

    /// Blue-green: green is available; the preview lasts `for_ns`. When it ends.
    pub fn preview(&mut self, now_ns: Nanos, for_ns: Nanos) -> Nanos {
        self.wait(Phase::Preview, now_ns, for_ns)
    }

    /// Shadow: the new set is available; requests are mirrored for `for_ns`. When it ends.
    pub fn mirror_for(&mut self, now_ns: Nanos, for_ns: Nanos) -> Nanos {
        self.wait(Phase::Mirror, now_ns, for_ns)
    }

    /// A/B: the split holds for `for_ns`, a sequential test looking every `look_every_ns`.
    /// When it ends, and when the first look is due.
    pub fn split_for(
        &mut self,
        now_ns: Nanos,
        for_ns: Nanos,
        look_every_ns: Nanos,
    ) -> (Nanos, Nanos) {
        self.next_look_ns = now_ns.saturating_add(look_every_ns);
        (self.wait(Phase::Split, now_ns, for_ns), self.next_look_ns)
    }

    /// A decision taken: `version` is kept (after a switch or a promotion, the new one;
    /// after a rollback, the old one), the other torn down after `delay_ns`. When.
    pub fn keep(&mut self, version: VersionId, now_ns: Nanos, delay_ns: Nanos) -> Nanos {
        let phase = if version == NEW {
            Phase::Switched
        } else {
            Phase::Aborted
        };
        self.wait(phase, now_ns, delay_ns)
    }

    fn wait(&mut self, phase: Phase, now_ns: Nanos, for_ns: Nanos) -> Nanos {
        self.phase = phase;
        self.until_ns = now_ns.saturating_add(for_ns);
        self.until_ns
    }

    /// Canary: an inconclusive analysis; the rollout waits for a human (Argo's pause).
    pub fn pause(&mut self) {
        self.phase = Phase::Paused;
    }

    /// The rollout's outcome, decided at `now_ns`.
    pub fn decide(&mut self, outcome: Outcome, now_ns: Nanos) {
        self.outcome = Some((outcome, now_ns));
    }

    /// One version left: the rollout is over (completed, unless decided otherwise before).
    pub fn finish(&mut self, now_ns: Nanos) {
        self.phase = Phase::Done;
        self.ended_ns = Some(now_ns);
        if self.outcome.is_none() {
            self.outcome = Some((Outcome::Completed, now_ns));
        }
    }

    // The canary's step cursor.

    /// The step's replicas are available at its weight: its pause runs from the first time
    /// this is seen. The first step moves the rollout to `Step` and starts the analysis,
    /// every `analysis_every_ns` (none without an analysis).
    pub fn reach_step(&mut self, now_ns: Nanos, analysis_every_ns: Option<Nanos>) -> StepReached {
        if let Some(since_ns) = self.step_since_ns {
            return StepReached::Holding { since_ns };
        }
        self.step_since_ns = Some(now_ns);
        let first_analysis_ns = (self.phase != Phase::Step).then(|| {
            self.phase = Phase::Step;
            self.next_analysis_ns = now_ns.saturating_add(analysis_every_ns.unwrap_or(Nanos::MAX));
            self.next_analysis_ns
        });
        StepReached::Now { first_analysis_ns }
    }

    /// The step's pause is over: on to the next.
    pub fn next_step(&mut self) {
        self.step += 1;
        self.step_since_ns = None;
    }

    // The canary's analysis window.

    /// A visit to the service ended: while the canary is checked (its steps, or paused),
    /// the new version's visits count in the window (successes with their latency; a
    /// cancelled visit neither way).
    #[inline]
    pub fn note_outcome(&mut self, version: VersionId, ending: Ending, latency_ns: Nanos) {
        if version != NEW || !matches!(self.phase, Phase::Step | Phase::Paused) {
            return;
        }
        match ending {
            Ending::Succeeded | Ending::Degraded => {
                self.window_ok += 1;
                self.window_latency.record(latency_ns);
            }
            Ending::Cancelled => {}
            _ => self.window_failed += 1,
        }
    }

    /// Whether an analysis is due.
    pub fn analysis_due(&self, now_ns: Nanos) -> bool {
        self.phase == Phase::Step && now_ns >= self.next_analysis_ns
    }

    /// Closes the analysis window: its verdict against `a` (fewer than `min_requests`
    /// visits are no data: a failure or inconclusive as `no_data` says; otherwise the error
    /// rate and the p99 of successes against their limits), a failure counted against
    /// `failure_limit`, and the window emptied for the next one, due `interval` from now
    /// (returned with the verdict).
    pub fn close_analysis(&mut self, now_ns: Nanos, a: &Analysis) -> (Check, Nanos) {
        let n = self.window_ok + self.window_failed;
        let no_data = n < a.min_requests.max(1);
        let error_rate = if n > 0 {
            self.window_failed as f64 / n as f64
        } else {
            0.0
        };
        let verdict = if no_data {
            match a.no_data {
                NoData::Fail => Some(false),
                NoData::Inconclusive => None,
            }
        } else {
            let p99_ok = a.max_p99_ns.is_none_or(|max| {
                self.window_ok == 0 || self.window_latency.quantile_ns(0.99) <= max as f64
            });
            Some(error_rate <= a.max_error_rate && p99_ok)
        };
        self.window_ok = 0;
        self.window_failed = 0;
        self.window_latency.clear();
        self.next_analysis_ns = now_ns.saturating_add(a.interval_ns);
        let check = match verdict {
            Some(true) => Check::Pass { error_rate },
            Some(false) => {
                self.failures += 1;
                let (kind, value) = if no_data {
                    (RolloutKind::AnalysisNoData, n as f64)
                } else {
                    (RolloutKind::AnalysisFail, error_rate)
                };
                Check::Fail {
                    kind,
                    value,
                    roll_back: self.failures > a.failure_limit,
                }
            }
            None => Check::Inconclusive,
        };
        (check, self.next_analysis_ns)
    }

    // The A/B test.

    /// A request ended (`ok`: it succeeded): during the split, an A/B test counts it in its
    /// arm if its class reaches the service, converted with its arm's probability (the
    /// class's, or the deployment's `conversion` for the new version).
    #[inline]
    pub fn note_request(
        &mut self,
        model: &Model,
        spec: &Deployment,
        now_ns: Nanos,
        request: RequestInfo,
        ok: bool,
    ) {
        let class = usize::from(request.class);
        if self.phase != Phase::Split || !self.reaches[class] {
            return;
        }
        let arm = self.route(now_ns, request.id).unwrap_or(OLD);
        let conversion = model.classes[class].conversion;
        let p = match arm {
            NEW => spec.conversion.unwrap_or(conversion),
            _ => conversion,
        };
        let u: f64 = rand::Rng::random(&mut self.conversion_stream.at(request.id, 0, 0));
        let counts = &mut self.arms[usize::from(arm)];
        counts.0 += 1;
        counts.1 += u64::from(ok && u < p);
    }

    /// The split's verdict when it is over, or at a sequential look (every `look_every_ns`):
    /// the sequential test (always valid; a look that rejects decides, by the sign of the
    /// difference; one that never rejected is inconclusive at the end), or the two-proportion
    /// z-test at `alpha` at the end.
    pub fn judge(&mut self, now_ns: Nanos, alpha: f64, look_every_ns: Nanos) -> Judgement {
        let over = now_ns >= self.until_ns;
        let look = self.sequential.is_some() && now_ns >= self.next_look_ns;
        if !over && !look {
            return Judgement::Wait;
        }
        let [control, treatment] = self.arms.map(|(n, x)| Arm::new(n, x));
        let verdict = match &mut self.sequential {
            Some(test) => {
                let look = test.look(control, treatment);
                look.rejected.then_some(look.diff > 0.0)
            }
            None => {
                let test = z_test(control, treatment, alpha);
                test.significant.then_some(test.diff > 0.0)
            }
        };
        if look && !over {
            self.next_look_ns = now_ns.saturating_add(look_every_ns);
            if verdict.is_none() {
                return Judgement::LookAgain(self.next_look_ns);
            }
        }
        Judgement::Decide(match verdict {
            Some(true) => Outcome::Promoted,
            Some(false) => Outcome::RolledBack,
            None => Outcome::Inconclusive,
        })
    }

    // The routing draws.

    /// Routes the service's visits by `route` from now on (the weight level follows).
    pub fn route_to(&mut self, now_ns: Nanos, route: Route, fleet: &Fleet, window: (Nanos, Nanos)) {
        self.route = route;
        self.note_ready(now_ns, fleet, window);
    }

    /// Whether version `v` takes traffic under the route.
    pub fn serves(&self, v: VersionId) -> bool {
        match self.route {
            Route::Only(only) => only == v,
            _ => true,
        }
    }

    /// The version a request goes to (`None`: any, by replica count); its draw is keyed by
    /// the request, so it is the same at each visit and under every strategy.
    #[inline]
    pub fn route(&self, now_ns: Nanos, request: u64) -> Option<VersionId> {
        match self.route {
            Route::ByCount => None,
            Route::Only(v) => Some(v),
            route => {
                let w = route.weight_new(now_ns).unwrap_or(0.0);
                let u: f64 = rand::Rng::random(&mut self.route_stream.at(request, 0, 0));
                Some(if u < w { NEW } else { OLD })
            }
        }
    }

    /// Whether a request's visit is mirrored to the new version: during the shadow's mirror,
    /// a `fraction` of requests (a draw keyed by the request), never a copy itself.
    #[inline]
    pub fn mirror(&self, request: &RequestInfo, fraction: f64) -> bool {
        if self.phase != Phase::Mirror || request.mirror {
            return false;
        }
        let u: f64 = rand::Rng::random(&mut self.mirror_stream.at(request.id, 0, 0));
        u < fraction
    }

    // Replicas: availability, and each version's own HPA.

    /// A replica became ready; when the controller should look again (once it is
    /// available, `min_ready` later), if that is later and the rollout is acting.
    pub fn replica_ready(&mut self, replica: u32, now_ns: Nanos) -> Option<Nanos> {
        let slot = replica as usize;
        if self.ready_since_ns.len() <= slot {
            self.ready_since_ns.resize(slot + 1, 0);
        }
        self.ready_since_ns[slot] = now_ns;
        (self.min_ready_ns > 0 && self.active()).then(|| now_ns.saturating_add(self.min_ready_ns))
    }

    /// Whether a ready replica is available: ready for `min_ready` (Kubernetes'
    /// `minReadySeconds`).
    #[inline]
    pub fn available(&self, replica: u32, now_ns: Nanos) -> bool {
        let since = self
            .ready_since_ns
            .get(replica as usize)
            .copied()
            .unwrap_or(0);
        since.saturating_add(self.min_ready_ns) <= now_ns
    }

    /// The count each version's own HPA asks for in region `g` (`autoscale = "separate"`).
    pub fn hpa_asks(&mut self, g: usize, version: VersionId, replicas: u32) {
        self.floor[g][usize::from(version)] = replicas;
    }

    /// The count version `v` moves to in region `g` for the strategy's `target`: at least
    /// what its own HPA asks, unless the version is to go.
    pub fn version_target(&self, g: usize, v: VersionId, target: u32) -> u32 {
        if target > 0 {
            target.max(self.floor[g][usize::from(v)])
        } else {
            0
        }
    }

    // The time-weighted levels.

    /// A worker of a replica of version `v` in region `g` became busy (+1) or free (-1).
    #[inline]
    pub fn note_busy(
        &mut self,
        now_ns: Nanos,
        g: usize,
        v: VersionId,
        delta: i64,
        window: (Nanos, Nanos),
    ) {
        self.busy[g][usize::from(v)].add(now_ns, delta, window);
    }

    /// What version `v`'s own HPA in region `g` reads: its busy workers and ready replicas
    /// there, integrated up to `now_ns`.
    pub fn version_areas(
        &self,
        now_ns: Nanos,
        g: usize,
        v: VersionId,
        window: (Nanos, Nanos),
    ) -> [u128; 2] {
        [
            self.busy[g][usize::from(v)].run_area_at(now_ns, window),
            self.ready_level(g, v).run_area_at(now_ns, window),
        ]
    }

    /// Copies the service's ready replicas per version (and region), its live total (for
    /// the peak) and the new version's weight into the levels: the route's, or the ready
    /// replicas' share when traffic follows counts.
    pub fn note_ready(&mut self, now_ns: Nanos, fleet: &Fleet, window: (Nanos, Nanos)) {
        let (old, new) = (
            fleet.version_counts(OLD).ready,
            fleet.version_counts(NEW).ready,
        );
        let weight = self.route.weight_new(now_ns).unwrap_or(if old + new == 0 {
            0.0
        } else {
            new as f64 / (old + new) as f64
        });
        for (g, levels) in self.region_ready.iter_mut().enumerate() {
            for (v, level) in levels.iter_mut().enumerate() {
                let ready = fleet.pair_counts(Some(g as u16), v as VersionId).ready;
                level.set(now_ns, ready, window);
            }
        }
        self.peak_live = self.peak_live.max(fleet.current());
        self.new_ready.set(now_ns, new, window);
        self.old_ready.set(now_ns, old, window);
        self.count_ramp(now_ns);
        self.ramp = match self.route {
            Route::Ramp { from_ns, ttl_ns } => Some((from_ns, ttl_ns)),
            _ => None,
        };
        let level = if self.ramp.is_some() {
            0
        } else {
            (weight * 1e6).round() as u64
        };
        self.weight_ppm.set(now_ns, level, window);
    }

    /// The integrated ready replicas of a version (in region `g` of a regional service).
    fn ready_level(&self, g: usize, version: VersionId) -> &TimeWeighted {
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
    fn count_ramp(&mut self, now_ns: Nanos) {
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

#[cfg(test)]
mod tests {
    use super::*;

    const S: Nanos = 1_000_000_000;

    /// A canary of `api` at 1 min, `min_ready = 10s`, its analysis every 30 s: at most 1%
    /// errors from at least 100 visits, one failed check allowed; `no_data` as given.
    fn canary(no_data: &str) -> (Model, RolloutState) {
        let text = format!(
            r#"
[scenario]
name = "t"
duration = "10m"

[traffic]
rate = 100

[[service]]
name = "api"
replicas = 4
service_time = {{ dist = "exponential", mean = "10ms" }}

[[deployment]]
service = "api"
at = "1m"
strategy = "canary"
min_ready = "10s"
canary = {{ steps = [ {{ weight = 25, pause = "1m" }} ], analysis = {{ interval = "30s", max_error_rate = 0.01, min_requests = 100, failure_limit = 1, no_data = "{no_data}" }} }}
"#
        );
        let model = crate::scenario::load(&text, "t.toml", &[]).unwrap_or_else(|e| panic!("{e}"));
        let state = RolloutState::new(&model, &model.deployments[0], 0);
        (model, state)
    }

    fn analysis(model: &Model) -> Analysis {
        model.deployments[0]
            .canary
            .analysis
            .expect("the canary has an analysis")
    }

    /// Visits of the new version in the window: `ok` successes of 5 ms, `failed` errors.
    fn visits(state: &mut RolloutState, ok: u64, failed: u64) {
        for _ in 0..ok {
            state.note_outcome(NEW, Ending::Succeeded, 5_000_000);
        }
        for _ in 0..failed {
            state.note_outcome(NEW, Ending::Failed, 5_000_000);
        }
    }

    #[test]
    fn failed_checks_past_the_limit_roll_the_canary_back_and_each_window_starts_empty() {
        let (model, mut state) = canary("fail");
        let a = analysis(&model);
        state.begin(60 * S, vec![4]);
        // The first step reached at 70 s starts the analysis: its first check 30 s later.
        let first = state.reach_step(70 * S, Some(a.interval_ns));
        assert_eq!(
            first,
            StepReached::Now {
                first_analysis_ns: Some(100 * S)
            }
        );
        assert_eq!(
            state.reach_step(80 * S, Some(a.interval_ns)),
            StepReached::Holding { since_ns: 70 * S }
        );
        assert!(!state.analysis_due(99 * S) && state.analysis_due(100 * S));
        // 196 successes and 4 errors: 2% > 1%, a failed check (the first: not past a limit
        // of 1); the old version's visits and cancelled ones count neither way.
        visits(&mut state, 196, 4);
        state.note_outcome(OLD, Ending::Failed, 0);
        state.note_outcome(NEW, Ending::Cancelled, 0);
        let fail = Check::Fail {
            kind: RolloutKind::AnalysisFail,
            value: 0.02,
            roll_back: false,
        };
        assert_eq!(state.close_analysis(100 * S, &a), (fail, 130 * S));
        // 1 error in 100 is 1%, within the limit: a pass (no failure counted).
        visits(&mut state, 99, 1);
        assert_eq!(
            state.close_analysis(130 * S, &a),
            (Check::Pass { error_rate: 0.01 }, 160 * S)
        );
        // The window was emptied: 3 errors in 150 (2%) fail again, the second failure > 1.
        visits(&mut state, 147, 3);
        let (check, _) = state.close_analysis(160 * S, &a);
        assert_eq!(
            check,
            Check::Fail {
                kind: RolloutKind::AnalysisFail,
                value: 0.02,
                roll_back: true
            }
        );
    }

    #[test]
    fn too_few_visits_fail_the_check_or_leave_it_inconclusive_as_no_data_says() {
        for (no_data, expected) in [
            (
                "fail",
                Check::Fail {
                    kind: RolloutKind::AnalysisNoData,
                    value: 99.0,
                    roll_back: false,
                },
            ),
            ("inconclusive", Check::Inconclusive),
        ] {
            let (model, mut state) = canary(no_data);
            state.begin(60 * S, vec![4]);
            state.reach_step(60 * S, Some(30 * S));
            // 99 visits, all good, are fewer than min_requests = 100.
            visits(&mut state, 99, 0);
            assert_eq!(
                state.close_analysis(90 * S, &analysis(&model)).0,
                expected,
                "{no_data}"
            );
        }
    }

    #[test]
    fn a_replica_is_available_min_ready_after_it_became_ready_and_the_controller_looks_then() {
        let (_, mut state) = canary("fail");
        // Before the rollout starts nothing is woken; once it acts, 10 s after readiness.
        assert_eq!(state.replica_ready(2, 5 * S), None);
        state.begin(60 * S, vec![4]);
        assert_eq!(state.replica_ready(3, 61 * S), Some(71 * S));
        assert!(!state.available(3, 71 * S - 1) && state.available(3, 71 * S));
        assert!(state.available(2, 15 * S));
    }

    #[test]
    fn a_weighted_route_sends_its_weight_to_the_new_version_and_keeps_a_request_on_one() {
        let (_, mut state) = canary("fail");
        assert_eq!(state.route(0, 7), None, "by replica count before any route");
        state.route = Route::Weight(0.25);
        // 40,000 draws at p = 0.25: sd of the share sqrt(0.25 x 0.75 / 40000) = 0.0022;
        // tolerance 0.009, about 4 sd.
        let n = 40_000;
        let new = (0..n).filter(|&r| state.route(0, r) == Some(NEW)).count();
        let share = new as f64 / n as f64;
        assert!((share - 0.25).abs() < 0.009, "share {share}");
        assert!((0..1000).all(|r| state.route(0, r) == state.route(5 * S, r)));
        assert!(state.serves(OLD) && state.serves(NEW));
        state.route = Route::Only(OLD);
        assert!(state.serves(OLD) && !state.serves(NEW));
        assert!((0..100).all(|r| state.route(0, r) == Some(OLD)));
    }

    #[test]
    fn an_ab_test_counts_each_request_in_its_arm_and_decides_only_at_its_end() {
        let (mut model, mut state) = canary("fail");
        // Conversion 10% on the old version, 20% on the new: with 2,000 requests an arm the
        // difference, 0.1, is sqrt(0.1 x 0.9 / 2000 + 0.2 x 0.8 / 2000) = 0.011 wide per sd,
        // 9 sd: significant at alpha = 0.05 beyond doubt.
        model.classes[0].conversion = 0.1;
        let mut spec = model.deployments[0].clone();
        spec.conversion = Some(0.2);
        let alpha = spec.ab_test.alpha;
        state.begin(60 * S, vec![4]);
        state.route = Route::Weight(0.5);
        let request = |id| RequestInfo {
            id,
            class: 0,
            measured: true,
            user: super::super::entity::NO_USER,
            client_region: 0,
            served_region: 0,
            mirror: false,
            backlogged: false,
        };
        // Not counted before the split holds.
        state.note_request(&model, &spec, 60 * S, request(0), true);
        assert_eq!(state.arms, [(0, 0); 2]);
        assert_eq!(state.split_for(60 * S, 60 * S, 15 * S), (120 * S, 75 * S));
        for id in 0..4000 {
            state.note_request(&model, &spec, 61 * S, request(id), true);
        }
        let [(n_old, x_old), (n_new, x_new)] = state.arms;
        assert_eq!(n_old + n_new, 4000);
        let new_count = (0..4000)
            .filter(|&id| state.route(61 * S, id) == Some(NEW))
            .count();
        assert_eq!(
            n_new, new_count as u64,
            "each request in the arm its route draws"
        );
        assert!(
            x_new > x_old,
            "{x_old} of {n_old} against {x_new} of {n_new}"
        );
        // Not sequential: no look before the end; then promoted.
        assert_eq!(state.judge(100 * S, alpha, 15 * S), Judgement::Wait);
        assert_eq!(
            state.judge(120 * S, alpha, 15 * S),
            Judgement::Decide(Outcome::Promoted)
        );
    }
}
