//! Dynamic batching on `System`: a batching replica with a free worker takes a batch when
//! `max_size` visits wait or its oldest has waited the batch `timeout` (`BatchDue`); the
//! batch's visits finish together, and the last frees the worker. What a batch takes from a
//! replica's queue is decided in `components::batch`.

use super::System;
use crate::components::batch::BatchStart;
use crate::components::entity::{BatchRun, Event, Stage, Visit};
use crate::engine::queue::EventQueue;
use crate::engine::slab::Key;
use crate::engine::time::{Nanos, CLOCK_LIMIT_NS};
use crate::engine::timer::TimerToken;
use crate::metrics::run::OverloadReason;
use crate::scenario::model::{Service, ServiceId};

impl System<'_> {
    /// Starts a batch on the replica if one is due, else sets its timer for when it will be.
    pub(super) fn try_batch(
        &mut self,
        now_ns: Nanos,
        service: ServiceId,
        replica: u32,
        events: &mut EventQueue<Event>,
    ) {
        let frames = &self.frames;
        let next = self.services[service].next_batch(replica, now_ns, |k| {
            frames
                .get(k)
                .filter(|f| f.stage == Stage::Queued)
                .map(|f| f.arrived_ns)
        });
        match next {
            Ok(batch) => self.start_batch(now_ns, service, replica, batch, events),
            Err(Some(due_ns)) => {
                let r = self.services[service].fleet_mut().load_mut(replica);
                if let Some(token) = r.arm_batch_timer() {
                    events.schedule(due_ns, Event::BatchDue(service as u32, replica, token));
                }
            }
            Err(None) => {}
        }
    }

    /// A batching replica's oldest visit has waited its `timeout`.
    pub(super) fn on_batch_due(
        &mut self,
        now_ns: Nanos,
        service: ServiceId,
        replica: u32,
        token: TimerToken,
        events: &mut EventQueue<Event>,
    ) {
        let r = self.services[service].fleet_mut().load_mut(replica);
        if r.batch_timer_fires(token) {
            self.try_batch(now_ns, service, replica, events);
        }
    }

    /// One worker takes a batch: the service time (drawn for the batch's first visit) plus
    /// `per_item` per visit; every visit of it finishes then.
    fn start_batch(
        &mut self,
        now_ns: Nanos,
        service: ServiceId,
        replica: u32,
        batch: BatchStart,
        events: &mut EventQueue<Event>,
    ) {
        let model = self.model;
        let spec = &model.services[service];
        let per_item_ns = spec.batch.map_or(0, |b| b.per_item_ns);
        let n = batch.frames().len() as u32;
        let first = self.frame(batch.frames()[0]);
        let (request, site, attempt) = (first.request.id, first.site, first.attempt);
        let state = &self.services[service];
        let base_ns = state.draw_service_ns(
            state.version_of(spec, replica, Service::service_time_of),
            request,
            site,
            attempt,
        );
        let work_ns = base_ns.saturating_add(per_item_ns.saturating_mul(u64::from(n)));
        let run = self.batches.insert(BatchRun {
            service,
            replica,
            left: n,
        });
        let window = self.window;
        let record = &mut self.record.services[service];
        record.busy_workers.add(now_ns, 1, window);
        self.note_version_busy(now_ns, service, replica, 1);
        self.note_region_busy(now_ns, service, replica, 1);
        let record = &mut self.record.services[service];
        if now_ns >= window.0 {
            record.batches += 1;
            record.batched_visits += u64::from(n);
        }
        let Some(done_ns) = now_ns.checked_add(work_ns).filter(|&t| t <= CLOCK_LIMIT_NS) else {
            self.stop_overloaded(now_ns, OverloadReason::ClockLimit);
            return;
        };
        for &key in batch.frames() {
            let frame = self.frames.get_mut(key).expect("a batch takes live frames");
            frame.stage = Stage::Working;
            frame.started_ns = now_ns;
            frame.batch = Some(run);
            let (measured, arrived_ns) = (frame.request.measured, frame.arrived_ns);
            let record = &mut self.record.services[service];
            record.queued.add(now_ns, -1, window);
            if measured {
                record.queue_wait.record(now_ns - arrived_ns);
            }
            events.schedule(done_ns, Event::WorkDone(key));
        }
    }

    /// A visit of a batch is done; the last one frees the batch's worker for the next batch.
    pub(super) fn batch_visit_done(
        &mut self,
        now_ns: Nanos,
        run: Key<BatchRun>,
        visit: Visit,
        events: &mut EventQueue<Event>,
    ) {
        let batch = self
            .batches
            .get_mut(run)
            .expect("a batch lives until its visits are done");
        batch.left -= 1;
        let (left, service, replica) = (batch.left, batch.service, batch.replica);
        self.services[service].visit_left(replica, visit);
        if left > 0 {
            return;
        }
        let BatchRun {
            service, replica, ..
        } = self.batches.remove(run).expect("live");
        self.record.services[service]
            .busy_workers
            .add(now_ns, -1, self.window);
        self.note_version_busy(now_ns, service, replica, -1);
        self.note_region_busy(now_ns, service, replica, -1);
        self.services[service].batch_done(replica);
        self.note_fleet_change(now_ns, service);
        self.try_batch(now_ns, service, replica, events);
    }
}
