//! Reports: the summary as a terminal table, JSON (the contract of docs/contract.md) or
//! Markdown. Reports only format what metrics computed; they never run a simulation.

pub mod json;
pub mod text;
