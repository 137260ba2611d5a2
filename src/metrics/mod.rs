//! Metrics: what runs record, how replications pool, SLO verdicts, confidence intervals, the
//! queueing-theory figures shown beside the simulated ones, and the statistics of deployments
//! (A/B tests, strategies compared over paired replications).

pub mod abtest;
pub mod budget;
pub mod compare;
pub mod recorder;
pub mod run;
pub mod series;
pub mod summary;
pub mod theory;
