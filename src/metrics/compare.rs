//! Deployment strategies compared over paired replications: each strategy's figures pooled
//! over its replications, and against a baseline strategy a paired 95% interval per figure.
//!
//! Paired because replication r of every strategy saw the same arrivals and the same draws
//! (common random numbers, ARCHITECTURE.md "Random streams"): the difference between two
//! strategies in replication r is free of the noise both share, so the interval of the mean
//! difference is far narrower than the difference of two independent intervals.

use super::abtest::{sample_size_per_arm, z_test, Arm};
use super::summary::interval_around;

/// How a deployment ended in one replication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ending {
    /// The strategy judged the new version and rolled it back.
    RolledBack,
    /// The strategy's test ran out of time or traffic without a verdict.
    Inconclusive,
    /// The strategy judged the new version and promoted it.
    Promoted,
    /// The strategy judges nothing (rolling, recreate) and finished its rollout.
    Completed,
}

impl Ending {
    /// Every ending, in the order ties are broken (the more cautious reading first).
    pub const ALL: [Ending; 4] = [
        Ending::RolledBack,
        Ending::Inconclusive,
        Ending::Promoted,
        Ending::Completed,
    ];

    /// The name in reports: `rolled_back`, `inconclusive`, `promoted`, `completed`.
    pub fn key(self) -> &'static str {
        match self {
            Ending::RolledBack => "rolled_back",
            Ending::Inconclusive => "inconclusive",
            Ending::Promoted => "promoted",
            Ending::Completed => "completed",
        }
    }
}

/// The arms of an A/B test at its end in one replication: `control` (the old version, A)
/// and `treatment` (the new one, B), each the requests it served and how many of them showed
/// the event the test counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbArms {
    pub control: Arm,
    pub treatment: Arm,
}

/// What an A/B strategy was set up to find: a relative change `min_effect` over a control
/// rate `baseline_rate`, at level `alpha` with probability `power`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbPlan {
    pub baseline_rate: f64,
    pub min_effect: f64,
    pub alpha: f64,
    pub power: f64,
}

/// One replication of one strategy: what the deployment cost and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub failed_requests: u64,
    pub degraded_requests: u64,
    pub p99_ms: f64,
    /// The worst p99 of any time-series window.
    pub worst_window_p99_ms: f64,
    /// Spent beyond the steady fleet's bill (extra replicas while both versions run).
    pub extra_cost_usd: f64,
    /// From the start of the deployment to its last replica replaced (or rolled back).
    pub rollout_s: f64,
    /// When the strategy reached its verdict; `None` for one that judges nothing.
    pub decided_at_s: Option<f64>,
    pub peak_replicas: u32,
    pub slo_met: bool,
    pub ending: Ending,
    /// The A/B test's arms, for a strategy that runs one.
    pub ab: Option<AbArms>,
}

/// What one replication of one design (a strategy, or the same traffic with no deployment)
/// shows, before it is set against the run with no deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFacts {
    /// Requests that did not succeed (failed, rejected, timed out), and succeeded degraded.
    pub unsuccessful: u64,
    pub degraded: u64,
    pub cost_usd: f64,
    /// p99 of the requests that succeeded in the rollout's windows, and the worst window's.
    pub p99_ms: f64,
    pub worst_window_p99_ms: f64,
    pub rollout_s: f64,
    pub decided_at_s: Option<f64>,
    pub peak_replicas: u32,
    pub slo_met: bool,
    pub ending: Ending,
    pub ab: Option<AbArms>,
}

/// The facts of one replication that its run holds, read before the run is pooled (its cost
/// and verdicts come from its summary afterwards: [`RunFacts::judged`]). With several
/// deployments the rollouts are read together: from the first one's start to the last one's
/// end (or the run's end, if one was still under way), decided when the last was decided,
/// ending as the most cautious ended (any rollback is a rollback), with the peak replicas of
/// every deployed service added. A rollout is from its start to one version left; undecided
/// rollouts end `inconclusive`.
pub fn facts_of(model: &crate::scenario::Model, run: &super::run::RunResult) -> RunFacts {
    let requests = &run.record.requests;
    let deployed = &model.deployments;
    let rollouts: Vec<_> = (0..deployed.len())
        .map(|i| run.rollouts.get(i).copied().unwrap_or_default())
        .collect();
    let start_ns = deployed
        .iter()
        .zip(&rollouts)
        .map(|(d, r)| r.started_ns.unwrap_or(d.at_ns))
        .min()
        .unwrap_or(0);
    let end_ns = rollouts
        .iter()
        .map(|r| r.ended_ns)
        .try_fold(0, |end, ended| ended.map(|e| end.max(e)))
        .filter(|_| !rollouts.is_empty())
        .unwrap_or(model.duration_ns);
    let decided_ns = rollouts
        .iter()
        .map(|r| r.decided_ns)
        .try_fold(0, |last, decided| decided.map(|d| last.max(d)))
        .filter(|_| !rollouts.is_empty());
    let series = &run.series;
    let (first, last) = if series.window_ns == 0 || series.windows() == 0 {
        (0, 0)
    } else {
        let w = series.window_ns;
        (
            (start_ns / w) as usize,
            (end_ns.div_ceil(w) as usize).clamp((start_ns / w) as usize + 1, series.windows()),
        )
    };
    let worst = (first..last)
        .map(|w| series.latency.quantiles_ns(w, [0.99])[0])
        .fold(0.0, f64::max);
    let ending = rollouts
        .iter()
        .map(|r| match r.outcome {
            Some("completed") => Ending::Completed,
            Some("promoted") => Ending::Promoted,
            Some("rolled_back") => Ending::RolledBack,
            _ => Ending::Inconclusive,
        })
        .min()
        .unwrap_or(Ending::Inconclusive);
    // Each deployed service's peak once, however many of its deployments there are.
    let mut peaks: Vec<(usize, u32)> = Vec::new();
    for (d, r) in deployed.iter().zip(&rollouts) {
        let service = &model.services[d.service];
        let configured = service
            .fleet
            .regions
            .as_ref()
            .map_or(service.replicas, |regions| regions.iter().sum());
        let peak = r.peak_replicas.max(configured);
        match peaks.iter_mut().find(|(s, _)| *s == d.service) {
            Some((_, most)) => *most = (*most).max(peak),
            None => peaks.push((d.service, peak)),
        }
    }
    let ab = deployed
        .iter()
        .zip(&rollouts)
        .find(|(d, _)| d.strategy == crate::scenario::deploy::StrategyKind::AbTest)
        .map(|(_, r)| AbArms {
            control: Arm::new(r.arms[0].0, r.arms[0].1),
            treatment: Arm::new(r.arms[1].0, r.arms[1].1),
        });
    RunFacts {
        unsuccessful: requests.failed + requests.rejected + requests.timed_out,
        degraded: requests.degraded,
        // An overloaded run (no summary) is priced at its configured replicas.
        cost_usd: 0.0,
        p99_ms: series.latency.quantile_over_ns(first..last, 0.99) / 1e6,
        worst_window_p99_ms: worst / 1e6,
        rollout_s: end_ns.saturating_sub(start_ns) as f64 / 1e9,
        decided_at_s: decided_ns.map(|t| t as f64 / 1e9),
        peak_replicas: peaks.iter().map(|&(_, p)| p).sum(),
        slo_met: false,
        ending,
        ab,
    }
}

impl RunFacts {
    /// The facts with the replication's own summary's cost and verdicts; an overloaded run
    /// (no summary) is priced at its configured replicas and meets no SLO.
    pub fn judged(
        self,
        model: &crate::scenario::Model,
        summary: Option<&super::summary::Summary>,
    ) -> RunFacts {
        RunFacts {
            cost_usd: summary.map_or_else(
                || {
                    super::summary::nominal_cost_per_hour_usd(model) * model.duration_ns as f64
                        / 3.6e12
                },
                |s| s.cost.total_usd,
            ),
            slo_met: summary.is_some_and(|s| s.slo_met),
            ..self
        }
    }
}

/// A strategy's figures for one replication: its facts, with failures, degradation and
/// cost counted beyond the same replication's run with no deployment (`without`; common
/// random numbers make the difference the rollout's own, request for request). A rollout
/// that fails fewer requests than no rollout counts 0.
pub fn figures(facts: &RunFacts, without: &RunFacts) -> Figures {
    Figures {
        failed_requests: facts.unsuccessful.saturating_sub(without.unsuccessful),
        degraded_requests: facts.degraded.saturating_sub(without.degraded),
        p99_ms: facts.p99_ms,
        worst_window_p99_ms: facts.worst_window_p99_ms,
        extra_cost_usd: facts.cost_usd - without.cost_usd,
        rollout_s: facts.rollout_s,
        decided_at_s: facts.decided_at_s,
        peak_replicas: facts.peak_replicas,
        slo_met: facts.slo_met,
        ending: facts.ending,
        ab: facts.ab,
    }
}

/// Every replication of one strategy, in replication order.
#[derive(Debug, Clone, PartialEq)]
pub struct Runs {
    pub strategy: String,
    pub replications: Vec<Figures>,
    /// What the strategy's A/B test was set up to find, if it runs one.
    pub ab_plan: Option<AbPlan>,
}

/// A figure compared against the baseline, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    FailedRequests,
    DegradedRequests,
    P99Ms,
    WorstWindowP99Ms,
    ExtraCostUsd,
    RolloutS,
    DecidedAtS,
    PeakReplicas,
}

impl Figure {
    pub const ALL: [Figure; 8] = [
        Figure::FailedRequests,
        Figure::DegradedRequests,
        Figure::P99Ms,
        Figure::WorstWindowP99Ms,
        Figure::ExtraCostUsd,
        Figure::RolloutS,
        Figure::DecidedAtS,
        Figure::PeakReplicas,
    ];

    /// The key in reports, the same as the pooled figure's.
    pub fn key(self) -> &'static str {
        match self {
            Figure::FailedRequests => "failed_requests",
            Figure::DegradedRequests => "degraded_requests",
            Figure::P99Ms => "p99_ms",
            Figure::WorstWindowP99Ms => "worst_window_p99_ms",
            Figure::ExtraCostUsd => "extra_cost_usd",
            Figure::RolloutS => "rollout_s",
            Figure::DecidedAtS => "decided_at_s",
            Figure::PeakReplicas => "peak_replicas",
        }
    }

    /// A count of requests: pooled as a sum over replications, not a mean.
    pub fn is_count(self) -> bool {
        matches!(self, Figure::FailedRequests | Figure::DegradedRequests)
    }

    /// The figure in one replication (`None`: a strategy that decides nothing has no
    /// decision time).
    fn of(self, f: &Figures) -> Option<f64> {
        Some(match self {
            Figure::FailedRequests => f.failed_requests as f64,
            Figure::DegradedRequests => f.degraded_requests as f64,
            Figure::P99Ms => f.p99_ms,
            Figure::WorstWindowP99Ms => f.worst_window_p99_ms,
            Figure::ExtraCostUsd => f.extra_cost_usd,
            Figure::RolloutS => f.rollout_s,
            Figure::DecidedAtS => return f.decided_at_s,
            Figure::PeakReplicas => f.peak_replicas as f64,
        })
    }
}

/// A difference against the baseline (this strategy's figure minus the baseline's) with its
/// paired 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paired {
    pub diff: f64,
    pub low: f64,
    pub high: f64,
}

/// A strategy's figures pooled over its replications: counts (`failed_requests`,
/// `degraded_requests`, the A/B arms) summed, as the run summary's request counts are;
/// `p99_ms`, `worst_window_p99_ms`, `extra_cost_usd`, `rollout_s` averaged; `decided_at_s`
/// averaged over the replications that decided (`None` when none did); `peak_replicas` the
/// largest peak; `slo_met` when every replication met every SLO; `ending` the most frequent
/// (ties to the earlier in [`Ending::ALL`], the more cautious reading).
#[derive(Debug, Clone, PartialEq)]
pub struct Pooled {
    pub figures: Figures,
    /// How many replications ended each way, in [`Ending::ALL`] order, endings that did not
    /// occur left out.
    pub endings: Vec<(Ending, usize)>,
}

/// An A/B strategy's test, read on its arms summed over replications.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbSummary {
    /// `(pB - pA) / pA` with its `1 - alpha` interval (delta method); `None` when the
    /// control saw no event.
    pub lift: Option<f64>,
    pub lift_low: Option<f64>,
    pub lift_high: Option<f64>,
    pub p_value: f64,
    pub significant: bool,
    /// The trials per arm the plan's power analysis asks for (`None`: no such test, e.g. a
    /// `min_effect` of 0).
    pub needed_per_arm: Option<u64>,
    /// The smaller arm's trials, summed over replications.
    pub served_per_arm: u64,
}

/// One strategy's row of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub strategy: String,
    pub pooled: Pooled,
    /// Against the baseline, per figure in [`Figure::ALL`] order; `None` for the baseline's
    /// own row. `decided_at_s` is left out unless both strategies decided in every
    /// replication.
    pub vs_baseline: Option<Vec<(Figure, Paired)>>,
    pub ab: Option<AbSummary>,
}

/// Strategies compared against `baseline`, rows in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub baseline: String,
    pub replications: usize,
    pub strategies: Vec<Row>,
}

/// Pools every strategy's replications and compares each with `baseline`'s, replication by
/// replication. Every strategy must have the same number of replications (at least one),
/// replication r of each having seen the same arrivals; names must be distinct.
pub fn compare(baseline: &str, runs: &[Runs]) -> Result<Comparison, String> {
    let base = runs
        .iter()
        .find(|r| r.strategy == baseline)
        .ok_or_else(|| {
            let names: Vec<&str> = runs.iter().map(|r| r.strategy.as_str()).collect();
            format!(
                "baseline `{baseline}` is not among the strategies compared ({})",
                names.join(", ")
            )
        })?;
    let replications = base.replications.len();
    if replications == 0 {
        return Err(format!("strategy `{baseline}` has no replication"));
    }
    for (i, r) in runs.iter().enumerate() {
        if r.replications.len() != replications {
            return Err(format!(
                "strategy `{}` has {} replications and `{baseline}` {replications}: a paired \
                 comparison needs the same replications of every strategy",
                r.strategy,
                r.replications.len()
            ));
        }
        if runs[..i].iter().any(|o| o.strategy == r.strategy) {
            return Err(format!("strategy `{}` is named twice", r.strategy));
        }
    }
    let strategies = runs
        .iter()
        .map(|r| {
            let pooled = pool(&r.replications);
            Row {
                strategy: r.strategy.clone(),
                vs_baseline: (r.strategy != baseline)
                    .then(|| vs_baseline(&r.replications, &base.replications)),
                ab: r
                    .ab_plan
                    .zip(pooled.figures.ab)
                    .map(|(plan, arms)| ab_summary(arms, plan)),
                pooled,
            }
        })
        .collect();
    Ok(Comparison {
        baseline: baseline.to_string(),
        replications,
        strategies,
    })
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// Pools one strategy's replications (at least one).
pub fn pool(reps: &[Figures]) -> Pooled {
    let mean_of = |f: fn(&Figures) -> f64| mean(reps.iter().map(f)).unwrap_or(0.0);
    let sum_of = |arm: fn(&AbArms) -> Arm| {
        reps.iter()
            .filter_map(|r| r.ab)
            .map(|ab| arm(&ab))
            .fold(Arm::default(), |acc, a| {
                Arm::new(acc.trials + a.trials, acc.successes + a.successes)
            })
    };
    let endings: Vec<(Ending, usize)> = Ending::ALL
        .iter()
        .map(|&e| (e, reps.iter().filter(|r| r.ending == e).count()))
        .filter(|&(_, n)| n > 0)
        .collect();
    // The first of the most frequent: `max_by_key` keeps the last maximum, so look backwards.
    let ending = endings
        .iter()
        .rev()
        .max_by_key(|&&(_, n)| n)
        .map_or(Ending::Completed, |&(e, _)| e);
    let figures = Figures {
        failed_requests: reps.iter().map(|r| r.failed_requests).sum(),
        degraded_requests: reps.iter().map(|r| r.degraded_requests).sum(),
        p99_ms: mean_of(|r| r.p99_ms),
        worst_window_p99_ms: mean_of(|r| r.worst_window_p99_ms),
        extra_cost_usd: mean_of(|r| r.extra_cost_usd),
        rollout_s: mean_of(|r| r.rollout_s),
        decided_at_s: mean(reps.iter().filter_map(|r| r.decided_at_s)),
        peak_replicas: reps.iter().map(|r| r.peak_replicas).max().unwrap_or(0),
        slo_met: reps.iter().all(|r| r.slo_met),
        ending,
        ab: reps.iter().any(|r| r.ab.is_some()).then(|| AbArms {
            control: sum_of(|a| a.control),
            treatment: sum_of(|a| a.treatment),
        }),
    };
    Pooled { figures, endings }
}

/// `reps` against `base`, replication by replication.
fn vs_baseline(reps: &[Figures], base: &[Figures]) -> Vec<(Figure, Paired)> {
    Figure::ALL
        .iter()
        .filter_map(|&figure| {
            let diffs: Option<Vec<f64>> = reps
                .iter()
                .zip(base)
                .map(|(r, b)| Some(figure.of(r)? - figure.of(b)?))
                .collect();
            let mut diffs = diffs?;
            if figure.is_count() {
                // A sum over n replications differs by n times the mean difference.
                let n = diffs.len() as f64;
                diffs.iter_mut().for_each(|d| *d *= n);
            }
            Some((figure, paired(&diffs)))
        })
        .collect()
}

/// The mean of the per-replication differences `diffs` (already on the pooled figure's
/// scale) with its 95% Student-t interval, `mean +- t(0.975, n - 1) s / sqrt(n)`
/// ([`interval_around`]). With one replication, or every difference the same, there is no
/// spread to measure and the interval is the point itself (exactly: a mean of equal values
/// computed in floating point could otherwise leave a spread of rounding).
pub fn paired(diffs: &[f64]) -> Paired {
    let diff = mean(diffs.iter().copied()).unwrap_or(0.0);
    if diffs.windows(2).all(|w| w[0] == w[1]) {
        let d = diffs.first().copied().unwrap_or(0.0);
        return Paired {
            diff: d,
            low: d,
            high: d,
        };
    }
    let [low, high] = interval_around(diff, diffs);
    Paired { diff, low, high }
}

/// The A/B test read on the arms summed over the replications that ran one (`arms`, as
/// [`pool`] sums them), at the plan's level. Summing is the pooled evidence of independent
/// experiments of one design; with one replication it is that replication's test.
pub fn ab_summary(arms: AbArms, plan: AbPlan) -> AbSummary {
    let test = z_test(arms.control, arms.treatment, plan.alpha);
    AbSummary {
        lift: test.lift,
        lift_low: test.lift_low,
        lift_high: test.lift_high,
        p_value: test.p_value,
        significant: test.significant,
        needed_per_arm: sample_size_per_arm(
            plan.baseline_rate,
            plan.min_effect,
            plan.alpha,
            plan.power,
        ),
        served_per_arm: arms.control.trials.min(arms.treatment.trials),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(failed: u64, p99_ms: f64, cost: f64, ending: Ending) -> Figures {
        Figures {
            failed_requests: failed,
            degraded_requests: 0,
            p99_ms,
            worst_window_p99_ms: 2.0 * p99_ms,
            extra_cost_usd: cost,
            rollout_s: 600.0,
            decided_at_s: (ending != Ending::Completed).then_some(300.0),
            peak_replicas: 12,
            slo_met: true,
            ending,
            ab: None,
        }
    }

    fn runs(strategy: &str, replications: Vec<Figures>) -> Runs {
        Runs {
            strategy: strategy.into(),
            replications,
            ab_plan: None,
        }
    }

    fn find(row: &Row, figure: Figure) -> Option<Paired> {
        row.vs_baseline
            .as_ref()
            .expect("not the baseline")
            .iter()
            .find(|(f, _)| *f == figure)
            .map(|&(_, p)| p)
    }

    #[test]
    fn identical_strategies_differ_by_exactly_zero_with_a_zero_width_interval() {
        let reps: Vec<Figures> = (0..5)
            .map(|r| figures(100 + 7 * r, 40.0 + 0.1 * r as f64, 0.3, Ending::Promoted))
            .collect();
        let c = compare("a", &[runs("a", reps.clone()), runs("b", reps)]).unwrap();
        assert!(c.strategies[0].vs_baseline.is_none());
        let vs = c.strategies[1].vs_baseline.as_ref().unwrap();
        assert_eq!(vs.len(), Figure::ALL.len());
        for (figure, p) in vs {
            assert_eq!((p.diff, p.low, p.high), (0.0, 0.0, 0.0), "{}", figure.key());
        }
    }

    #[test]
    fn paired_interval_is_the_student_t_interval_of_the_differences() {
        // Differences 1, 2, 3: mean 2, s = 1, t(0.975, 2) = 4.302653, half-width
        // 4.302653 / sqrt(3) = 2.484138.
        let p = paired(&[1.0, 2.0, 3.0]);
        assert_eq!(p.diff, 2.0);
        assert!((p.low - (2.0 - 2.484_138)).abs() < 1e-6, "{p:?}");
        assert!((p.high - (2.0 + 2.484_138)).abs() < 1e-6, "{p:?}");
        // One replication, or equal differences: the point itself, even where the mean of
        // the equal values would round (0.1 x 3 / 3 is not 0.1 in floating point).
        assert_eq!(
            paired(&[-4.5]),
            Paired {
                diff: -4.5,
                low: -4.5,
                high: -4.5
            }
        );
        let same = paired(&[0.1, 0.1, 0.1]);
        assert_eq!((same.diff, same.low, same.high), (0.1, 0.1, 0.1));
    }

    #[test]
    fn counts_are_summed_and_their_differences_on_the_summed_scale() {
        // Baseline failed 100, 200, 300 (sum 600); canary 90, 170, 280 (sum 540): per
        // replication -10, -30, -20, mean -20, s = 10. On the sum: diff -60, half-width
        // 3 x 4.302653 x 10 / sqrt(3) = 74.52414.
        let base: Vec<Figures> = [100, 200, 300]
            .map(|f| figures(f, 40.0, 1.0, Ending::Completed))
            .to_vec();
        let canary: Vec<Figures> = [90, 170, 280]
            .map(|f| figures(f, 38.0, 0.5, Ending::RolledBack))
            .to_vec();
        let c = compare("rolling", &[runs("rolling", base), runs("canary", canary)]).unwrap();
        let row = &c.strategies[1];
        assert_eq!(row.pooled.figures.failed_requests, 540);
        assert_eq!(row.pooled.figures.ending, Ending::RolledBack);
        let failed = find(row, Figure::FailedRequests).unwrap();
        assert_eq!(failed.diff, -60.0);
        assert!(
            (failed.high - failed.diff - 74.524_14).abs() < 1e-4,
            "{failed:?}"
        );
        // Every p99 differs by -2 and every cost by -0.5: zero-width intervals.
        assert_eq!(find(row, Figure::P99Ms).unwrap().low, -2.0);
        assert_eq!(find(row, Figure::ExtraCostUsd).unwrap().high, -0.5);
        // The baseline decided nothing: no decision time to compare.
        assert_eq!(find(row, Figure::DecidedAtS), None);
        assert_eq!(c.strategies[0].pooled.figures.decided_at_s, None);
        assert_eq!(row.pooled.figures.decided_at_s, Some(300.0));
    }

    #[test]
    fn pooled_ending_is_the_most_frequent_ties_to_the_cautious() {
        let reps = |endings: &[Ending]| -> Vec<Figures> {
            endings.iter().map(|&e| figures(0, 1.0, 0.0, e)).collect()
        };
        use Ending::*;
        let p = pool(&reps(&[Promoted, RolledBack, Promoted]));
        assert_eq!(p.figures.ending, Promoted);
        assert_eq!(p.endings, vec![(RolledBack, 1), (Promoted, 2)]);
        assert_eq!(
            pool(&reps(&[Promoted, RolledBack])).figures.ending,
            RolledBack
        );
        assert_eq!(
            pool(&reps(&[Inconclusive, Promoted])).figures.ending,
            Inconclusive
        );
    }

    #[test]
    fn ab_test_reads_the_arms_summed_over_replications() {
        // Two replications of 5,000 per arm: 500 + 500 of 10,000 against 550 + 550: the
        // z-test's hand-checked case (z = 2.306635, p = 0.0210752).
        let mut reps = vec![figures(0, 1.0, 0.0, Ending::Promoted); 2];
        for r in &mut reps {
            r.ab = Some(AbArms {
                control: Arm::new(5_000, 500),
                treatment: Arm::new(5_000, 550),
            });
        }
        let plan = AbPlan {
            baseline_rate: 0.1,
            min_effect: 0.1,
            alpha: 0.05,
            power: 0.8,
        };
        let mut ab = runs("ab", reps);
        ab.ab_plan = Some(plan);
        let c = compare("ab", &[ab]).unwrap();
        let s = c.strategies[0].ab.unwrap();
        assert!((s.p_value - 0.021_075_2).abs() < 1e-7, "{s:?}");
        assert!(s.significant);
        assert_eq!((s.needed_per_arm, s.served_per_arm), (Some(14_751), 10_000));
    }

    #[test]
    fn swapping_the_baseline_negates_every_difference() {
        let a: Vec<Figures> = [(100, 40.0), (130, 41.5), (90, 39.0)]
            .map(|(f, p)| figures(f, p, 1.0, Ending::Promoted))
            .to_vec();
        let b: Vec<Figures> = [(80, 38.0), (150, 40.0), (60, 39.5)]
            .map(|(f, p)| figures(f, p, 0.7, Ending::Promoted))
            .to_vec();
        let ab = compare("a", &[runs("a", a.clone()), runs("b", b.clone())]).unwrap();
        let ba = compare("b", &[runs("a", a), runs("b", b)]).unwrap();
        let forward = ab.strategies[1].vs_baseline.as_ref().unwrap();
        let backward = ba.strategies[0].vs_baseline.as_ref().unwrap();
        for ((f, p), (g, q)) in forward.iter().zip(backward) {
            assert_eq!(f, g);
            assert_eq!(
                (p.diff, p.low, p.high),
                (-q.diff, -q.high, -q.low),
                "{}",
                f.key()
            );
        }
    }

    /// The paired interval covers the true mean difference 95% of the time: 2,000 trials of
    /// 5 replications whose differences are normal (mean 3, sd 2; t is exact for normal
    /// differences). sd of the coverage sqrt(0.95 x 0.05 / 2000) = 0.0049, tolerance 4 sd.
    #[test]
    fn paired_interval_covers_the_true_difference_95_percent_of_the_time() {
        use rand::SeedableRng;
        use rand_distr::{Distribution, Normal};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
        let normal = Normal::new(3.0, 2.0).unwrap();
        let trials = 2_000;
        let covered = (0..trials)
            .filter(|_| {
                let diffs: Vec<f64> = (0..5).map(|_| normal.sample(&mut rng)).collect();
                let p = paired(&diffs);
                p.low <= 3.0 && 3.0 <= p.high
            })
            .count();
        let coverage = covered as f64 / trials as f64;
        assert!((coverage - 0.95).abs() < 4.0 * 0.0049, "{coverage}");
    }

    #[test]
    fn unpaired_inputs_are_refused_with_the_reason() {
        let one = vec![figures(0, 1.0, 0.0, Ending::Completed)];
        let two = vec![one[0].clone(), one[0].clone()];
        let err = compare("a", &[runs("a", one.clone()), runs("b", two)]).unwrap_err();
        assert!(err.contains("`b` has 2 replications and `a` 1"), "{err}");
        let err = compare("c", &[runs("a", one.clone())]).unwrap_err();
        assert!(err.contains("baseline `c` is not among"), "{err}");
        let err = compare("a", &[runs("a", one.clone()), runs("a", one)]).unwrap_err();
        assert!(err.contains("named twice"), "{err}");
        assert!(compare("a", &[runs("a", vec![])]).is_err());
    }
}
