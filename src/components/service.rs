//! A service: replicas behind a balancer, each replica `concurrency` workers in front of one
//! FIFO queue; and how a visit is admitted, worked on and released.
//!
//! Replicas and their lifecycle belong to the service's [`Fleet`] (`fleet.rs`); this module
//! changes only their load (workers and queue), and tells the fleet when a replica's last
//! visit has left ([`Fleet::idle`]), the one place a draining replica goes down. A frame
//! records its replica and whether it holds a worker there,
//! so the rare event that needs a replica's frames (a crash) finds them by one pass over the
//! frames in flight, and the common path keeps no per-replica list.
//!
//! A queue may hold keys of frames that were cancelled while they waited: they are skipped
//! when they reach the front (lazy removal), and only live entries count against
//! `queue_capacity`.

use super::balancer::Balancer;
use super::batch::{take_batch, BatchStart};
use super::cache::{CacheStore, KeyLaw};
use super::entity::{Frame, Visit};
use super::fleet::{Fleet, VersionId};
use super::resilience::{Breaker, BudgetState, TokenBucket};
use crate::distribution::Distribution;
use crate::engine::rng::Stream;
use crate::engine::slab::Key;
use crate::engine::time::Nanos;
use crate::scenario::model::{Batch, Lookup, Store};
use crate::scenario::model::{Model, Scope, Service, ServiceId};
use rand::Rng as _;

/// Mixed into a mirrored copy's call site, so that its draws are its own.
pub(super) const MIRROR_SITE: u64 = 0x6d69_7272_6f72_0001;

/// Where an arriving visit went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// A worker of this replica took it at once.
    Started(u32),
    /// It waits in this replica's queue.
    Queued(u32),
    /// This replica's queue was full.
    Rejected,
    /// No replica is ready, the service is out (an outage), or the replica picked is dead
    /// but still in rotation: the visit fails at once, as a connection refused would.
    Unavailable,
}

/// The run-time state of one service.
pub struct ServiceState {
    fleet: Fleet,
    balancer: Balancer,
    concurrency: u32,
    queue_capacity: u32,
    batch: Option<Batch>,
    /// Keyed streams: a visit's draws depend on its request and call site, not on when or
    /// where it is served.
    time_stream: Stream,
    error_stream: Stream,
    hit_stream: Stream,
    /// The streams of the service's own calls: whether a call with a probability is made,
    /// the backoff before a retry, the network time out and back.
    probability_stream: Stream,
    backoff_stream: Stream,
    network_out: Stream,
    network_back: Stream,
    /// A keyed cache's law of keys, and one store per replica.
    key_law: Option<KeyLaw>,
    stores: Vec<CacheStore>,
    store_spec: Option<Store>,
    /// The service's own breaker, shared by every caller (`scope = "service"`).
    breaker: Option<Breaker>,
    /// Callees whose breakers each replica of this service keeps for its own calls (`scope
    /// = "caller"`), in slot order; a new replica starts with fresh (closed) ones.
    breaker_callees: Vec<ServiceId>,
    breaker_template: Vec<Breaker>,
    /// Callees this service's calls retry within a budget, in slot order; a slot's budget is
    /// shared by the service's replicas (`budget_scope = "service"`) or each replica's own.
    budget_callees: Vec<ServiceId>,
    shared_budgets: Vec<Option<BudgetState>>,
    budget_template: Vec<BudgetState>,
    bucket: Option<TokenBucket>,
    /// Service-time factor of `slow` faults under way (1 when none is).
    slow_factor: f64,
    /// Extra error probability of `errors` faults under way (0 when none is).
    extra_error_rate: f64,
    /// Outages under way: while any is, every visit fails.
    outages: u32,
    /// Whether the replicas are placed in regions (visits then go to the served region's).
    regional: bool,
    /// The deployment rolling out a new version of the service, if one does (an index into
    /// the model's deployments; its rollout routes visits between the versions), and the
    /// version new replicas are of.
    deployment: Option<usize>,
    current_version: VersionId,
    /// No rate limit, no routing by key, no regions: a visit goes straight to the balancer.
    plain: bool,
    /// No calls, no cache, no batching: a visit at the service is either queued or holds a
    /// worker, so its visits in the system are its queued plus its busy workers at every
    /// instant, and that level need not be kept apart ([`ServiceState::is_leaf`]).
    leaf: bool,
    /// One version and no batching ([`ServiceState::draws_at_arrival`]).
    draws_at_arrival: bool,
}

impl ServiceState {
    pub fn new(spec: &Service, seed: u64, replication: u32) -> Self {
        let stream = |purpose: &str| Stream::new(seed, replication, &spec.name, purpose);
        let (key_law, store_spec) = match spec.cache.as_ref().map(|c| &c.lookup) {
            Some(Lookup::Keyed(space, store)) => (Some(KeyLaw::new(space)), Some(*store)),
            _ => (None, None),
        };
        let regions = spec.fleet.regions.as_ref().map_or(1, Vec::len);
        let mut state = ServiceState {
            fleet: Fleet::new(regions),
            balancer: Balancer::new(&spec.balancer, spec.balancer_instances, stream),
            concurrency: spec.concurrency,
            queue_capacity: spec.queue_capacity.unwrap_or(u32::MAX),
            batch: spec.batch,
            time_stream: stream("service_time"),
            error_stream: stream("error"),
            hit_stream: stream("hit"),
            probability_stream: stream("call_probability"),
            backoff_stream: stream("backoff"),
            network_out: stream("network_out"),
            network_back: stream("network_back"),
            key_law,
            stores: Vec::new(),
            store_spec,
            breaker: spec
                .circuit_breaker
                .filter(|b| b.scope == Scope::Service)
                .map(Breaker::new),
            breaker_callees: Vec::new(),
            breaker_template: Vec::new(),
            budget_callees: Vec::new(),
            shared_budgets: Vec::new(),
            budget_template: Vec::new(),
            bucket: spec.rate_limit.map(TokenBucket::new),
            slow_factor: 1.0,
            extra_error_rate: 0.0,
            outages: 0,
            regional: spec.fleet.regions.is_some(),
            deployment: None,
            current_version: 0,
            plain: false,
            leaf: spec.plan.is_empty() && spec.cache.is_none() && spec.batch.is_none(),
            draws_at_arrival: spec.versions.len() == 1 && spec.batch.is_none(),
        };
        state.plain = state.bucket.is_none()
            && !state.routes_by_key()
            && !state.regional
            && spec.versions.len() == 1;
        state.balancer.prepare(&mut state.fleet);
        match &spec.fleet.regions {
            None => {
                for _ in 0..spec.replicas {
                    state.start(0, 0, true);
                }
            }
            Some(per_region) => {
                for (region, &n) in per_region.iter().enumerate() {
                    for _ in 0..n {
                        state.start(0, region as u16, true);
                    }
                }
            }
        }
        state.fleet.take_changed();
        state
    }

    pub fn replicas(&self) -> &[super::fleet::Replica] {
        self.fleet.replicas()
    }

    /// Whether the balancer routes by the request's key.
    pub fn routes_by_key(&self) -> bool {
        self.balancer.needs_key()
    }

    /// Picks a ready replica for a visit (carrying `key`, for `consistent_hash`; in `region`
    /// only, for a regional service) and admits it there: a free worker, a place in the
    /// queue, or a rejection. A batching service queues every visit; its batches start from
    /// the queue. With no replica to take it (none ready, an outage, a broken replica still
    /// in rotation) the visit fails: `Unavailable`.
    #[inline(always)]
    pub fn admit(
        &mut self,
        frame: Key<Frame>,
        visit: Visit,
        key: u64,
        region: Option<u16>,
        version: Option<VersionId>,
    ) -> Admission {
        if self.outages > 0 {
            return Admission::Unavailable;
        }
        let instance = self.balancer.instance(visit);
        let Some(index) = self
            .balancer
            .pick(&self.fleet, instance, key, region, version)
        else {
            return Admission::Unavailable;
        };
        let replica = self.fleet.load_mut(index);
        let admission = if replica.is_broken() {
            Admission::Unavailable
        } else if replica.busy_workers() < self.concurrency && self.batch.is_none() {
            self.fleet.change_load(index, 1, 0);
            Admission::Started(index)
        } else if replica.queued() < self.queue_capacity {
            replica.enqueue(frame);
            self.fleet.change_load(index, 0, 1);
            Admission::Queued(index)
        } else {
            Admission::Rejected
        };
        if let Admission::Started(_) | Admission::Queued(_) = admission {
            self.fleet.change_own_load(instance, index, 1);
        }
        admission
    }

    /// A visit leaves `replica` (done, failed, cancelled, dropped or its batch done): the
    /// balancer instance that sent it, if instances count their own visits, hears of it.
    #[inline(always)]
    pub(super) fn visit_left(&mut self, replica: u32, visit: Visit) {
        if self.balancer.counts_own() {
            let instance = self.balancer.instance(visit);
            self.fleet.change_own_load(instance, replica, -1);
        }
    }

    /// Whether the service is regional (its replicas are placed in regions).
    pub fn is_regional(&self) -> bool {
        self.regional
    }

    /// A worker of `replica` is free: the next live queued frame (for which `is_live` holds)
    /// takes it and is returned, or the worker goes idle (and the fleet hears of it: a
    /// draining replica left idle goes down).
    pub(super) fn release(
        &mut self,
        replica: u32,
        left: Visit,
        is_live: impl Fn(Key<Frame>) -> bool,
    ) -> Option<Key<Frame>> {
        self.visit_left(replica, left);
        let batching = self.batch.is_some();
        let r = self.fleet.load_mut(replica);
        while let Some(next) = r.dequeue().filter(|_| !batching) {
            if is_live(next) {
                self.fleet.change_load(replica, 0, -1);
                return Some(next);
            }
        }
        self.fleet.change_load(replica, -1, 0);
        self.fleet.idle(replica);
        None
    }

    /// A queued frame was cancelled: it no longer counts as waiting (its key stays in the
    /// queue until it reaches the front).
    pub(super) fn forget_queued(&mut self, replica: u32, visit: Visit) {
        self.visit_left(replica, visit);
        self.fleet.change_load(replica, 0, -1);
        self.fleet.idle(replica);
    }

    /// The breakers and retry budgets this service's replicas keep for their own calls: one
    /// per callee with a breaker of `scope = "caller"`, one per callee its calls retry within
    /// a budget (the first budget given for a callee holds for every call to it).
    pub fn keep_caller_state(&mut self, model: &Model, caller: ServiceId) {
        for callee in model.services[caller].callees() {
            let spec = &model.services[callee];
            if let Some(breaker) = spec.circuit_breaker.filter(|b| b.scope == Scope::Caller) {
                if !self.breaker_callees.contains(&callee) {
                    self.breaker_callees.push(callee);
                    self.breaker_template.push(Breaker::new(breaker));
                }
            }
        }
        let service = &model.services[caller];
        for call in service.call_specs() {
            let Some(budget) = call.retries.and_then(|r| r.budget) else {
                continue;
            };
            if self.budget_callees.contains(&call.service) {
                continue;
            }
            self.budget_callees.push(call.service);
            self.budget_template.push(BudgetState::new(budget));
            self.shared_budgets
                .push((budget.scope == Scope::Service).then(|| BudgetState::new(budget)));
        }
        for index in 0..self.fleet.replicas().len() as u32 {
            self.give_caller_state(index);
        }
    }

    /// A replica's own breakers and budgets, fresh (a new or restarted process).
    pub(super) fn give_caller_state(&mut self, index: u32) {
        if self.breaker_template.is_empty() && self.budget_template.is_empty() {
            return;
        }
        let r = self.fleet.load_mut(index);
        r.renew_own_state(&self.breaker_template, &self.budget_template);
    }

    /// Starts a replica of `version` in `region` (ready at once, or starting) through the
    /// fleet; a cache replica starts empty, and its own breakers closed. Returns its index.
    pub fn start(&mut self, version: VersionId, region: u16, ready: bool) -> u32 {
        let index = self.fleet.start(version, region, ready);
        self.give_caller_state(index);
        if let Some(store) = &self.store_spec {
            let i = index as usize;
            if i < self.stores.len() {
                self.stores[i] = CacheStore::new(store);
            } else {
                self.stores.push(CacheStore::new(store));
            }
        }
        index
    }

    /// What `of` reads for `replica`'s version (the replica is looked at only when the
    /// service has versions besides its own keys).
    #[inline(always)]
    pub fn version_of<'s, T>(
        &self,
        spec: &'s Service,
        replica: u32,
        of: impl Fn(&'s Service, VersionId) -> T,
    ) -> T {
        let version = if spec.versions.len() > 1 {
            self.fleet.get(replica).version()
        } else {
            0
        };
        of(spec, version)
    }

    /// The service's replicas, through their owner: the glue calls the fleet's own verbs
    /// (ready, drain, crash, shrink) and reads its counts.
    #[inline(always)]
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    #[inline(always)]
    pub(super) fn fleet_mut(&mut self) -> &mut Fleet {
        &mut self.fleet
    }

    /// No rate limit, no routing by key, no regions, one version: a visit goes straight to
    /// the balancer.
    #[inline(always)]
    pub(super) fn is_plain(&self) -> bool {
        self.plain
    }

    /// No calls, no cache, no batching: each visit admitted is queued or holds one worker
    /// until it ends (its end follows its worker's release at the same instant), so the
    /// service's `in_system` level is `queued + busy_workers` and is derived from them
    /// rather than kept (two level changes fewer per visit).
    #[inline(always)]
    pub fn is_leaf(&self) -> bool {
        self.leaf
    }

    /// Whether the rate limit lets a visit in at `now_ns` (taking a token); always without
    /// one.
    pub(super) fn rate_limit_admits(&mut self, now_ns: Nanos) -> bool {
        self.bucket
            .as_mut()
            .is_none_or(|bucket| bucket.take(now_ns))
    }

    /// The balancer instance that sent `visit` and counts it on its replica, when instances
    /// count their own visits (`None` otherwise).
    pub(super) fn counting_instance(&self, visit: Visit) -> Option<usize> {
        self.balancer
            .counts_own()
            .then(|| self.balancer.instance(visit))
    }

    /// A batching replica with a free worker: the frames of the batch to start now, or the
    /// time to look again (`batch.rs` decides).
    pub(super) fn next_batch(
        &mut self,
        replica: u32,
        now_ns: Nanos,
        arrived_ns: impl Fn(Key<Frame>) -> Option<Nanos>,
    ) -> Result<BatchStart, Option<Nanos>> {
        let Some(batch) = self.batch else {
            return Err(None);
        };
        take_batch(
            &batch,
            self.concurrency,
            &mut self.fleet,
            replica,
            now_ns,
            arrived_ns,
        )
    }

    /// A batch on `replica` is done: its worker is free.
    pub(super) fn batch_done(&mut self, replica: u32) {
        self.fleet.change_load(replica, -1, 0);
        self.fleet.idle(replica);
    }

    /// The deployment rolling out a new version of this service, if one does (an index into
    /// the model's deployments).
    #[inline(always)]
    pub fn rollout(&self) -> Option<usize> {
        self.deployment
    }

    /// Deployment `d` rolls out a new version of this service.
    pub(super) fn follow_rollout(&mut self, d: usize) {
        self.deployment = Some(d);
    }

    /// The version replicas started from now on are of (a scale-up, a replacement).
    #[inline(always)]
    pub(super) fn new_replica_version(&self) -> VersionId {
        self.current_version
    }

    /// From now on, new replicas are of `version` (the rollout moved on or back).
    pub(super) fn start_new_replicas_of(&mut self, version: VersionId) {
        self.current_version = version;
    }

    /// An `outage` fault begins: every visit fails while any is under way.
    pub(super) fn outage_began(&mut self) {
        self.outages += 1;
    }

    pub(super) fn outage_ended(&mut self) {
        self.outages -= 1;
    }

    /// The `slow` and `errors` faults under way, combined: the service-time factor (1 when
    /// none is) and the extra error probability (0 when none is).
    pub(super) fn degrade(&mut self, slow_factor: f64, extra_error_rate: f64) {
        self.slow_factor = slow_factor;
        self.extra_error_rate = extra_error_rate;
    }

    /// The slot of the breaker each replica of this service keeps for its calls to `callee`
    /// (`scope = "caller"`), if it keeps one.
    #[inline]
    pub(super) fn own_breaker_slot(&self, callee: ServiceId) -> Option<usize> {
        self.breaker_callees.iter().position(|&c| c == callee)
    }

    /// The callee of the caller-kept breaker in `slot`.
    pub(super) fn own_breaker_callee(&self, slot: usize) -> ServiceId {
        self.breaker_callees[slot]
    }

    /// Replica `replica`'s own breaker in `slot`, with the process that holds it (a permit
    /// of an earlier process settles nothing).
    pub(super) fn own_breaker(&mut self, replica: u32, slot: usize) -> (&mut Breaker, u32) {
        let holder = self.fleet.get(replica).process();
        (self.fleet.load_mut(replica).own_breaker(slot), holder)
    }

    /// The service's own breaker, shared by every caller (`scope = "service"`).
    pub(super) fn shared_breaker(&self) -> Option<&Breaker> {
        self.breaker.as_ref()
    }

    pub(super) fn shared_breaker_mut(&mut self) -> Option<&mut Breaker> {
        self.breaker.as_mut()
    }

    /// The slot of the retry budget this service's calls to `callee` draw on, if they retry
    /// within one.
    pub(super) fn budget_slot(&self, callee: ServiceId) -> Option<u32> {
        self.budget_callees
            .iter()
            .position(|&c| c == callee)
            .map(|slot| slot as u32)
    }

    /// The retry budget in `slot` as replica `replica` sees it: the service's shared one
    /// (`budget_scope = "service"`) or the replica's own.
    pub(super) fn budget(&mut self, replica: u32, slot: usize) -> &mut BudgetState {
        match &mut self.shared_budgets[slot] {
            Some(shared) => shared,
            None => self.fleet.load_mut(replica).own_budget(slot),
        }
    }

    /// A keyed cache's law of keys, if the service is one.
    pub(super) fn key_law(&self) -> Option<&KeyLaw> {
        self.key_law.as_ref()
    }

    /// Looks `key` up in `replica`'s store at `now_ns`: true on a hit.
    pub(super) fn cache_lookup(&mut self, replica: u32, key: u64, now_ns: Nanos) -> bool {
        self.stores[replica as usize].lookup(key, now_ns)
    }

    /// Stores `key` in `replica`'s store after a miss was answered.
    pub(super) fn cache_fill(&mut self, replica: u32, key: u64, now_ns: Nanos) {
        self.stores[replica as usize].fill(key, now_ns);
    }

    /// Whether a fixed-ratio cache hits for this visit: a keyed draw.
    pub(super) fn draw_hit(&self, hit_ratio: f64, request: u64, site: u64, attempt: u32) -> bool {
        self.hit_stream.at(request, site, attempt).random::<f64>() < hit_ratio
    }

    /// Whether a call with `probability` is made from call site `site` of `request`.
    #[inline]
    pub(super) fn draw_call_made(&self, probability: f64, request: u64, site: u64) -> bool {
        probability >= 1.0
            || (probability > 0.0
                && self.probability_stream.at(request, site, 0).random::<f64>() < probability)
    }

    /// The backoff before attempt `attempt` of a call: uniform in `[0, ceiling_ns]`.
    pub(super) fn draw_backoff_ns(
        &self,
        request: u64,
        site: u64,
        attempt: u32,
        ceiling_ns: Nanos,
    ) -> Nanos {
        if ceiling_ns == 0 {
            return 0;
        }
        self.backoff_stream
            .at(request, site, attempt)
            .random_range(0..=ceiling_ns)
    }

    /// The network time of one leg of one copy of a call made by this service (`back` for
    /// the answer's way), keyed by the request, call site and `draw` (attempt and copy).
    pub(super) fn draw_network_ns(
        &self,
        latency: &Distribution,
        back: bool,
        request: u64,
        site: u64,
        draw: u32,
    ) -> Nanos {
        let stream = if back {
            &self.network_back
        } else {
            &self.network_out
        };
        latency.sample_ns(&mut stream.at(request, site, draw))
    }

    /// Frames waiting in all replicas' queues.
    pub fn queued(&self) -> usize {
        self.fleet
            .replicas()
            .iter()
            .map(|r| r.queued() as usize)
            .sum()
    }

    /// The service time of one visit: a keyed draw, so the same request at the same call
    /// site and attempt always gets the same time, whatever replica serves it and when.
    #[inline]
    pub fn draw_service_ns(
        &self,
        dist: &Distribution,
        request: u64,
        site: u64,
        attempt: u32,
    ) -> Nanos {
        self.slowed_ns(self.draw_base_service_ns(dist, request, site, attempt))
    }

    /// [`ServiceState::draw_service_ns`] before the factor of `slow` faults under way.
    #[inline]
    pub fn draw_base_service_ns(
        &self,
        dist: &Distribution,
        request: u64,
        site: u64,
        attempt: u32,
    ) -> Nanos {
        dist.sample_ns(&mut self.time_stream.at(request, site, attempt))
    }

    /// A base service time under the `slow` faults under way now.
    #[inline]
    pub fn slowed_ns(&self, base_ns: Nanos) -> Nanos {
        if self.slow_factor == 1.0 {
            base_ns
        } else {
            (base_ns as f64 * self.slow_factor).min(crate::engine::time::CLOCK_LIMIT_NS as f64)
                as Nanos
        }
    }

    /// Whether a visit's service time can be drawn as it arrives rather than as its work
    /// starts: the draw is keyed by the visit alone, so it is the same number whenever it is
    /// made, provided the distribution cannot depend on the replica that takes the visit (one
    /// version) and the visit's work starts one at a time (no batching). A `slow` fault's
    /// factor is applied at the start ([`ServiceState::slowed_ns`]). Drawn early, the draw,
    /// a chain of dependent multiplications, overlaps the rest of the visit's arrival
    /// instead of standing between a worker's release and its next frame's start.
    #[inline]
    pub fn draws_at_arrival(&self) -> bool {
        self.draws_at_arrival
    }

    /// Whether the visit's work ends in an error; draws nothing when errors are off.
    pub fn draw_error(&self, error_rate: f64, request: u64, site: u64, attempt: u32) -> bool {
        if error_rate == 0.0 && self.extra_error_rate == 0.0 {
            return false; // the common case: no errors at all
        }
        // An `errors` fault adds its probability independently of the service's own.
        let error_rate = if self.extra_error_rate > 0.0 {
            1.0 - (1.0 - error_rate) * (1.0 - self.extra_error_rate)
        } else {
            error_rate
        };
        error_rate > 0.0
            && self.error_stream.at(request, site, attempt).random::<f64>() < error_rate
    }
}

#[cfg(test)]
mod tests {
    use super::super::fleet::ReplicaState;
    use super::*;
    use crate::engine::slab::GenSlab;

    fn service(replicas: u32, concurrency: u32, queue_capacity: Option<u32>) -> ServiceState {
        ServiceState::new(&spec(replicas, concurrency, queue_capacity), 1, 0)
    }

    fn spec(replicas: u32, concurrency: u32, queue_capacity: Option<u32>) -> Service {
        Service {
            name: "s".into(),
            replicas,
            concurrency,
            queue_capacity,
            service_time: Distribution::constant(1e6),
            plan: Vec::new(),
            blocking_calls: false,
            error_rate: 0.0,
            price_per_hour_usd: 0.0,
            balancer: crate::scenario::model::BalancerKind::RoundRobin,
            balancer_instances: 1,
            cache: None,
            batch: None,
            rate_limit: None,
            queue_timeout_ns: None,
            circuit_breaker: None,
            fleet: Default::default(),
            versions: vec![crate::scenario::model::Version::base()],
        }
    }

    /// The visit every test admits: its instance is drawn only when a balancer is split.
    const V: Visit = Visit {
        request: 0,
        site: 0,
        attempt: 0,
    };

    fn keys(n: usize) -> Vec<Key<Frame>> {
        let mut frames: GenSlab<Frame> = GenSlab::default();
        (0..n)
            .map(|_| frames.insert(Frame::placeholder()))
            .collect()
    }

    #[test]
    fn admits_round_robin_then_queues_then_rejects() {
        // Two replicas of one worker and one waiting place each: arrivals go to replicas
        // 0, 1, 0, 1, 0: start, start, queue, queue, reject (replica 0 is full).
        let keys = keys(5);
        let mut s = service(2, 1, Some(1));
        let admitted: Vec<Admission> = keys.iter().map(|&k| s.admit(k, V, 0, None, None)).collect();
        use Admission::*;
        assert_eq!(
            admitted,
            [Started(0), Started(1), Queued(0), Queued(1), Rejected]
        );
        assert_eq!(s.queued(), 2);
        // A freed worker of replica 1 goes to the frame waiting there, FIFO.
        assert_eq!(s.release(1, V, |_| true), Some(keys[3]));
        assert_eq!(s.release(1, V, |_| true), None, "then the worker goes idle");
        assert_eq!(s.queued(), 1);
    }

    #[test]
    fn a_cancelled_queued_frame_is_skipped_and_frees_its_place() {
        // One replica, one worker, two waiting places: frames 1 and 2 wait; 1 is cancelled,
        // so a third fits, and the freed worker goes to 2, then 3.
        let keys = keys(4);
        let mut s = service(1, 1, Some(2));
        assert_eq!(s.admit(keys[0], V, 0, None, None), Admission::Started(0));
        assert_eq!(s.admit(keys[1], V, 0, None, None), Admission::Queued(0));
        assert_eq!(s.admit(keys[2], V, 0, None, None), Admission::Queued(0));
        s.forget_queued(0, V);
        assert_eq!(s.admit(keys[3], V, 0, None, None), Admission::Queued(0));
        let live = |k: Key<Frame>| k != keys[1];
        assert_eq!(s.release(0, V, live), Some(keys[2]));
        assert_eq!(s.release(0, V, live), Some(keys[3]));
        assert_eq!(s.release(0, V, live), None);
        assert_eq!(s.queued(), 0);
    }

    #[test]
    fn the_replica_set_grows_and_drains() {
        // Three replicas; replica 1 drains while busy, so round-robin skips it and it goes
        // down when its work ends; a replica added later reuses its slot, starting first.
        let keys = keys(8);
        let mut s = service(3, 1, None);
        assert_eq!(s.admit(keys[0], V, 0, None, None), Admission::Started(0));
        assert_eq!(s.admit(keys[1], V, 0, None, None), Admission::Started(1));
        s.fleet.drain(1);
        assert_eq!(s.replicas()[1].state(), ReplicaState::Draining);
        assert_eq!(s.admit(keys[2], V, 0, None, None), Admission::Started(2));
        assert_eq!(
            s.admit(keys[3], V, 0, None, None),
            Admission::Queued(0),
            "replica 1 is skipped"
        );
        assert_eq!(s.release(1, V, |_| true), None);
        assert_eq!(s.replicas()[1].state(), ReplicaState::Down);
        assert_eq!(s.start(0, 0, false), 1, "the down slot is reused");
        assert_eq!(
            s.admit(keys[4], V, 0, None, None),
            Admission::Queued(2),
            "a starting replica takes nothing"
        );
        s.fleet.ready(1);
        assert_eq!(s.admit(keys[5], V, 0, None, None), Admission::Queued(0));
        assert_eq!(s.admit(keys[6], V, 0, None, None), Admission::Started(1));
        assert_eq!(s.start(0, 0, true), 3, "no down slot: a new one");
        assert_eq!(s.admit(keys[7], V, 0, None, None), Admission::Queued(2));
    }

    #[test]
    fn what_a_version_changes_is_read_through_the_replica() {
        // Version 1 changes the service time (a constant 7 ms against the service's 1 ms) and
        // the error rate; version 0 keeps the service's own keys.
        let mut s = service(1, 1, None);
        let mut spec = Service {
            versions: vec![
                crate::scenario::model::Version::base(),
                crate::scenario::model::Version {
                    name: "new".into(),
                    service_time: Some(Distribution::constant(7e6)),
                    error_rate: Some(1.0),
                    price_per_hour_usd: None,
                },
            ],
            ..spec(1, 1, None)
        };
        spec.price_per_hour_usd = 2.0;
        let new = s.start(1, 0, true);
        let draw = |s: &ServiceState, r: u32| {
            s.draw_service_ns(s.version_of(&spec, r, Service::service_time_of), 9, 0, 0)
        };
        assert_eq!(draw(&s, 0), 1_000_000);
        assert_eq!(draw(&s, new), 7_000_000);
        assert_eq!(s.version_of(&spec, 0, Service::error_rate_of), 0.0);
        assert_eq!(s.version_of(&spec, new, Service::error_rate_of), 1.0);
        assert_eq!(spec.price_per_hour_of(1), 2.0, "inherited");
    }

    #[test]
    fn service_draws_follow_the_request_not_the_order_of_work() {
        let s = service(1, 1, None);
        let d = Distribution::exponential(1e6);
        let a = s.draw_service_ns(&d, 42, 7, 0);
        let _ = s.draw_service_ns(&d, 41, 7, 0);
        assert_eq!(a, s.draw_service_ns(&d, 42, 7, 0));
        assert_ne!(
            a,
            s.draw_service_ns(&d, 42, 7, 1),
            "another attempt, another draw"
        );
        assert!(!(0..1000).any(|r| s.draw_error(0.0, r, 0, 0)));
    }
}
