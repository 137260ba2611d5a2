//! Reports: the summary as a terminal table, JSON (the contract of docs/contract.md), Markdown, or the
//! time series as CSV; sweep rows (CSV, JSON lines, tables) and plans. Reports only format
//! what metrics and sweeps computed; they never run a simulation.

pub mod csv;
pub mod events;
pub mod json;
pub mod plan;
pub mod sweep;
pub mod text;
