//! Model components, one file per kind, and the system that routes requests between them.

pub mod service;
pub mod system;
pub mod traffic;
