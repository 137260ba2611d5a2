//! Reports: the summary as a terminal table, JSON (SPEC.md's contract) or Markdown. Reports
//! only format what metrics computed; they never run a simulation.

pub mod json;
pub mod text;
