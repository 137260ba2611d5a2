//! The chart families, each a function from what a report has (`data::Input`) to
//! [`Figure`]s: one run's (`run`), a time series' (`series`), a sweep's (`sweep`) and a
//! comparison of deployment strategies (`compare`).

pub mod compare;
pub mod run;
pub mod series;
pub mod sweep;

use super::data::{Doc, Input};
use super::figure::Figure;

/// Every chart the input has data for, in the order the page shows them.
pub fn figures(input: &Input) -> Vec<Figure> {
    let mut out = Vec::new();
    let objectives = input.objectives();
    if let Some(ts) = &input.timeseries {
        out.extend(series::figures(ts, &objectives, input.events()));
    }
    if let Some(Doc::Completed(s)) = &input.summary {
        out.extend(run::figures(s));
    }
    if let Some(sweep) = &input.sweep {
        out.extend(sweep::figures(sweep, &objectives));
    }
    if let Some(c) = &input.compare {
        out.extend(compare::figures(c, &objectives));
    }
    out
}
