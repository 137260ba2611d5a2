//! Reports: the summary as a terminal table, JSON (the contract of docs/contract.md), Markdown, or the
//! time series as CSV. Reports only format what metrics computed; they never run a
//! simulation.

pub mod csv;
pub mod events;
pub mod json;
pub mod text;
