//! Model components, one file per kind: traffic, services (with their replicas), balancers,
//! caches, the resilience patterns, and the request lifecycle that routes requests between
//! them; `system` holds them together for one replication.

pub mod balancer;
pub mod cache;
pub mod request;
pub mod resilience;
pub mod service;
pub mod system;
pub mod traffic;
