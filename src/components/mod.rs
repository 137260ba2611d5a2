//! Model components, one file per kind: traffic (and its shapes), services (with their
//! replicas), balancers, caches, the resilience patterns, the request lifecycle that routes requests between them, the fleet
//! (replicas coming and going, their cost), autoscalers, faults, health checks and the time
//! series; `system` holds them together for one replication.

pub mod autoscaler;
pub mod balancer;
pub mod batch;
pub mod cache;
pub mod entity;
pub mod fleet;
pub mod lifecycle;
pub mod load_index;
pub mod region;
pub mod resilience;
pub mod rollout;
pub mod series;
pub mod service;
pub mod shape;
pub mod system;
pub mod traffic;
