//! Model components, in layers: `entity` (the events, requests, frames, calls and endings
//! every component names; a leaf), then the policies and the state they keep, each a plain
//! struct in its own file (traffic and its shapes, services, fleets of replicas, balancers
//! and their load index, caches, the resilience patterns, the call table, batching,
//! autoscalers, regions, rollouts, the time series and the world's lifecycle state), then
//! `system`, which holds them together for one replication and adds each concern's event
//! handlers in a file of its own under `system/`.

pub mod autoscaler;
pub mod balancer;
pub mod batch;
pub mod cache;
pub mod calls;
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
