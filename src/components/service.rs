//! A service: replicas, each `concurrency` workers in front of one FIFO queue.

use crate::distribution::Distribution;
use crate::engine::rng::{self, Rng};
use crate::engine::slab::Key;
use crate::engine::time::Nanos;
use crate::scenario::model::Service;
use rand::Rng as _;
use std::collections::VecDeque;

struct Replica {
    busy_workers: u32,
    queue: VecDeque<Key>,
}

/// Where an arriving request went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// A worker of this replica took it at once.
    Started(u32),
    /// It waits in this replica's queue.
    Queued(u32),
    /// This replica's queue was full.
    Rejected(u32),
}

/// The run-time state of one service.
pub struct ServiceState {
    replicas: Vec<Replica>,
    concurrency: u32,
    queue_capacity: usize,
    next_replica: usize,
    service_time: Distribution,
    error_rate: f64,
    time_rng: Rng,
    error_rng: Rng,
}

impl ServiceState {
    pub fn new(spec: &Service, seed: u64, replication: u32) -> Self {
        ServiceState {
            replicas: (0..spec.replicas)
                .map(|_| Replica {
                    busy_workers: 0,
                    queue: VecDeque::new(),
                })
                .collect(),
            concurrency: spec.concurrency,
            queue_capacity: spec.queue_capacity.map_or(usize::MAX, |q| q as usize),
            next_replica: 0,
            service_time: spec.service_time.clone(),
            error_rate: spec.error_rate,
            time_rng: rng::stream(seed, replication, &spec.name, "service_time"),
            error_rng: rng::stream(seed, replication, &spec.name, "error"),
        }
    }

    /// Sends a request to the next replica in round-robin order.
    pub fn admit(&mut self, request: Key) -> Admission {
        let index = self.next_replica;
        self.next_replica = if index + 1 == self.replicas.len() {
            0
        } else {
            index + 1
        };
        let replica = &mut self.replicas[index];
        let index = index as u32;
        if replica.busy_workers < self.concurrency {
            replica.busy_workers += 1;
            Admission::Started(index)
        } else if replica.queue.len() < self.queue_capacity {
            replica.queue.push_back(request);
            Admission::Queued(index)
        } else {
            Admission::Rejected(index)
        }
    }

    /// Frees a worker of `replica`: the next queued request takes it (and is returned), or
    /// the worker goes idle.
    pub fn release(&mut self, replica: u32) -> Option<Key> {
        let replica = &mut self.replicas[replica as usize];
        let next = replica.queue.pop_front();
        if next.is_none() {
            replica.busy_workers -= 1;
        }
        next
    }

    pub fn draw_service_ns(&mut self) -> Nanos {
        self.service_time.sample_ns(&mut self.time_rng)
    }

    /// Whether the work just finished ends in an error. Draws nothing when errors are off.
    pub fn draw_error(&mut self) -> bool {
        self.error_rate > 0.0 && self.error_rng.random::<f64>() < self.error_rate
    }

    /// Requests waiting in all replicas' queues.
    pub fn queued(&self) -> usize {
        self.replicas.iter().map(|r| r.queue.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::engine::slab::GenSlab;

    fn service(replicas: u32, concurrency: u32, queue_capacity: Option<u32>) -> ServiceState {
        let spec = Service {
            name: "s".into(),
            replicas,
            concurrency,
            queue_capacity,
            service_time: Distribution::constant(1e6),
            calls: Vec::new(),
            blocking_calls: false,
            error_rate: 0.0,
            price_per_hour_usd: 0.0,
        };
        ServiceState::new(&spec, 1, 0)
    }

    #[test]
    fn admits_round_robin_then_queues_then_rejects() {
        // Two replicas of one worker and one waiting place each: arrivals go to replicas
        // 0, 1, 0, 1, 0: start, start, queue, queue, reject (replica 0 is full).
        let mut slab = GenSlab::default();
        let keys: Vec<Key> = (0..5).map(|i| slab.insert(i)).collect();
        let mut s = service(2, 1, Some(1));
        let admitted: Vec<Admission> = keys.iter().map(|&k| s.admit(k)).collect();
        use Admission::*;
        assert_eq!(
            admitted,
            [Started(0), Started(1), Queued(0), Queued(1), Rejected(0)]
        );
        assert_eq!(s.queued(), 2);
        // A freed worker of replica 1 goes to the request waiting there, FIFO.
        assert_eq!(s.release(1), Some(keys[3]));
        assert_eq!(s.release(1), None, "then the worker goes idle");
        assert_eq!(s.queued(), 1);
    }

    #[test]
    fn draws_no_error_when_errors_are_off() {
        let mut s = service(1, 1, None);
        assert!((0..1000).all(|_| !s.draw_error()));
        assert_eq!(s.draw_service_ns(), 1_000_000);
    }
}
