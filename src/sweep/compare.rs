//! `capsim compare`: a scenario's deployments run under each strategy asked for, and once with
//! no deployment, on the same traffic. Replication r of every design uses the same seed and
//! replication number, so it sees the same arrivals and the same draws wherever the designs
//! coincide (common random numbers); the differences a strategy makes are then its own.

use crate::components::system::simulate;
use crate::metrics::compare::{self, facts_of, AbPlan, Comparison, RunFacts, Runs};
use crate::metrics::summary::{summarize, Outcome, Pool};
use crate::scenario::deploy::StrategyKind;
use crate::scenario::Model;
use rayon::prelude::*;
use std::sync::Mutex;

/// The scenario with every deployment run by `strategy`.
pub fn with_strategy(model: &Model, strategy: StrategyKind) -> Model {
    let mut m = model.clone();
    for d in &mut m.deployments {
        d.strategy = strategy;
    }
    m
}

/// The scenario with no deployment: the same traffic and services, one version each.
pub fn without_deployments(model: &Model) -> Model {
    let mut m = model.clone();
    m.deployments.clear();
    for s in &mut m.services {
        s.versions.truncate(1);
    }
    m
}

/// A comparison, and each strategy's replications pooled (for its time series and events).
pub struct Compared {
    pub comparison: Comparison,
    pub outcomes: Vec<Outcome>,
}

/// Runs `strategies` (named; a name may repeat only with a suffix the caller gave it) and the
/// design without deployment, every replication of each on the current rayon pool, and
/// compares them against `baseline`.
pub fn compare(
    model: &Model,
    strategies: &[(String, StrategyKind)],
    baseline: &str,
) -> Result<Compared, String> {
    let mut designs = vec![without_deployments(model)];
    designs.extend(strategies.iter().map(|(_, s)| with_strategy(model, *s)));
    let replications = model.replications;
    let jobs: Vec<(usize, u32)> = (0..designs.len())
        .flat_map(|d| (0..replications).map(move |r| (d, r)))
        .collect();
    let pools: Vec<Mutex<Pool>> = designs.iter().map(|d| Mutex::new(Pool::new(d))).collect();
    let facts: Vec<RunFacts> = jobs
        .par_iter()
        .map(|&(d, r)| {
            let design = &designs[d];
            let run = simulate(design, r);
            if d > 0 {
                pools[d]
                    .lock()
                    .expect("no thread panics holding a pool")
                    .add(run.clone());
            }
            // Read what the summary cannot give before the run is pooled away.
            let facts = facts_of(design, &run);
            let mut pool = Pool::new(design);
            pool.add(run);
            let summary = match summarize(design, &pool) {
                Outcome::Completed(s) => Some(s),
                Outcome::Overloaded(_) => None,
            };
            facts.judged(design, summary.as_deref())
        })
        .collect();
    let per = replications as usize;
    let without = &facts[..per];
    let runs: Vec<Runs> = strategies
        .iter()
        .enumerate()
        .map(|(i, (name, strategy))| {
            let mine = &facts[(i + 1) * per..(i + 2) * per];
            Runs {
                strategy: name.clone(),
                replications: mine
                    .iter()
                    .zip(without)
                    .map(|(f, w)| compare::figures(f, w))
                    .collect(),
                ab_plan: (*strategy == StrategyKind::AbTest)
                    .then(|| ab_plan(model))
                    .flatten(),
            }
        })
        .collect();
    let outcomes = pools
        .into_iter()
        .zip(&designs)
        .skip(1)
        .map(|(pool, design)| {
            summarize(
                design,
                &pool.into_inner().expect("no thread panics holding a pool"),
            )
        })
        .collect();
    Ok(Compared {
        comparison: compare::compare(baseline, &runs)?,
        outcomes,
    })
}

/// What the first deployment's A/B test was set up to find: the classes' conversion
/// (weighted by their shares) as the baseline rate.
fn ab_plan(model: &Model) -> Option<AbPlan> {
    let d = model.deployments.first()?;
    let baseline_rate: f64 = model.classes.iter().map(|c| c.share * c.conversion).sum();
    Some(AbPlan {
        baseline_rate,
        min_effect: d.ab_test.min_effect,
        alpha: d.ab_test.alpha,
        power: d.ab_test.power,
    })
}
