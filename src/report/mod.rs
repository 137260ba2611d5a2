//! Reports: the summary as a terminal table, JSON (SPEC.md's contract) or Markdown; sweep
//! rows (CSV, JSON lines, tables) and plans. Reports
//! only format what metrics computed; they never run a simulation.

pub mod json;
pub mod plan;
pub mod sweep;
pub mod text;
