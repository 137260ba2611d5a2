//! Metrics: what runs record, how replications pool, SLO verdicts, confidence intervals, and
//! the queueing-theory figures shown beside the simulated ones.

pub mod abtest;
pub mod budget;
pub mod recorder;
pub mod run;
pub mod series;
pub mod summary;
pub mod theory;
