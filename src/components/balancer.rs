//! Load balancers: which replica of a service takes a request.
//!
//! A balancer sees the replicas (their lifecycle state and load) and picks one of those that
//! are ready; it never sees a replica that is starting, draining or down. Round-robin is the
//! default and, so far, the only policy.

use super::service::Replica;

/// A balancing policy with its state.
#[derive(Debug, Clone)]
pub enum Balancer {
    /// Each ready replica in turn, in replica order, skipping those not ready.
    RoundRobin { next: usize },
}

impl Balancer {
    pub fn round_robin() -> Balancer {
        Balancer::RoundRobin { next: 0 }
    }

    /// The replica to take the next request, or `None` when no replica is ready.
    pub fn pick(&mut self, replicas: &[Replica]) -> Option<u32> {
        match self {
            Balancer::RoundRobin { next } => {
                let n = replicas.len();
                let start = if *next < n { *next } else { 0 };
                let chosen = (start..n)
                    .chain(0..start)
                    .find(|&i| replicas[i].is_ready())?;
                *next = chosen + 1;
                Some(chosen as u32)
            }
        }
    }
}
