//! capsim: a fast, trustworthy discrete-event simulator of whole system designs.
//!
//! A design is described in a TOML scenario (traffic, services, their call graph, prices and
//! service-level objectives). capsim simulates it request by request and answers with tail
//! latency, availability, cost and SLO verdicts, next to the queueing-theory figures wherever
//! a closed form exists.
//!
//! Data flows one way:
//!
//! ```text
//! scenario (TOML -> raw -> validated Model)
//!     -> engine (clock, event queue, random streams) + components (traffic, services, ...)
//!     -> metrics (HDR histograms, counters, time-weighted averages, SLO verdicts, theory)
//!     -> report (table, JSON, Markdown)
//! ```
//!
//! Only `cli` touches files, threads and the terminal. The engine does no I/O and cannot fail
//! on a validated scenario; an overloaded design is reported as an outcome, not an error.
//! See `ARCHITECTURE.md` for the code map and its invariants.

pub mod cli;
pub mod components;
pub mod distribution;
pub mod engine;
pub mod metrics;
pub mod report;
pub mod scenario;
pub mod sweep;
