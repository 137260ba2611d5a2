//! `capsim plan`: the cheapest design on a grid of knobs that meets every SLO *with
//! confidence*: the upper end of each latency objective's 95% interval at or below its
//! target, and the lower end of availability's at or above its target.
//!
//! The search, bounded and deterministic:
//! - A **monotone** knob (a range, unless it says `monotone = false`) is one where a step up
//!   never makes latency worse nor availability lower and never costs less (replicas,
//!   workers). On the last monotone knob the search *bisects*: the smallest feasible value in
//!   about log2(n) + 1 evaluations. Every combination of the other knobs is tried (a *line*),
//!   lines in parallel. Without a monotone knob every point is tried.
//! - **Theory first**: a design in which a service with an unbounded queue is offered more
//!   work than its workers can do (offered load >= 1, from `metrics::theory`) is unstable and
//!   infeasible without being simulated; with Erlang C's stability bound this puts the
//!   bisection's first simulations near the answer.
//! - **Evidence where it is needed**: a design starts with `replications` replications;
//!   while some objective's interval straddles its target, replications are doubled, up to
//!   `max_replications`. A verdict still too close to call then counts as not met.
//! - The **winner** is the cheapest feasible design; ties in cost go to the smaller settings
//!   (fewer value steps in all, then the first knob's smaller value, and so on).

use super::grid::Grid;
use super::{add_replications, run_replications};
use crate::metrics::summary::{
    nominal_cost_per_hour_usd, summarize, Confidence as MetricsConfidence, Outcome, Summary,
    Verdict,
};
use crate::metrics::theory;
use crate::scenario::model::Measure;
use crate::scenario::Model;
use rayon::prelude::*;

/// How much evidence the search gathers per design.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Replications a design starts with (at least 2, for intervals).
    pub replications: u32,
    /// Replications a design may grow to while a verdict is too close to call.
    pub max_replications: u32,
}

/// What the search learnt about one design.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    /// The value index on each knob.
    pub coordinates: Vec<usize>,
    pub cost_per_hour_usd: f64,
    pub feasible: bool,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Evidence {
    /// Not simulated: theory says a queue grows without limit.
    Unstable { service: String, offered_load: f64 },
    /// Simulated, and the run stopped as overloaded.
    Overloaded { service: String },
    /// Simulated to a summary; `too_close` when some verdict was still too close to call
    /// at the most replications; `thin` when an objective cannot be judged because a
    /// replication has too few requests beyond a percentile, or too few to show an
    /// availability target's failure ratio (more replications would not help; a longer run
    /// would). A thin verdict is unsure, so it never counts as met.
    Simulated {
        summary: Box<Summary>,
        too_close: bool,
        thin: bool,
    },
}

impl Design {
    pub fn summary(&self) -> Option<&Summary> {
        match &self.evidence {
            Evidence::Simulated { summary, .. } => Some(summary),
            _ => None,
        }
    }
}

/// Why a design was refused: by theory before any simulation, or by what its simulation
/// showed. A design may have several reasons (each objective it missed).
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal<'d> {
    /// Theory: `service`'s queue grows without limit (offered load >= 1); not simulated.
    Unstable { service: &'d str, offered_load: f64 },
    /// Simulation: the run stopped as overloaded at `service`.
    Overloaded { service: &'d str },
    /// Simulation: no request succeeded, so no objective can be judged.
    NothingSucceeded,
    /// Simulation: an objective (`[slo]`'s when `class` is `None`) judged on its interval.
    Objective {
        class: Option<&'d str>,
        verdict: &'d Verdict,
        why: Confidence,
    },
}

/// Every reason `d` is not feasible (empty for a feasible design): the objectives missed
/// first, then those too close to call.
pub fn refusals(d: &Design) -> Vec<Refusal<'_>> {
    if d.feasible {
        return Vec::new();
    }
    match &d.evidence {
        Evidence::Unstable {
            service,
            offered_load,
        } => vec![Refusal::Unstable {
            service,
            offered_load: *offered_load,
        }],
        Evidence::Overloaded { service } => vec![Refusal::Overloaded { service }],
        Evidence::Simulated { summary, .. } if summary.requests.succeeded == 0 => {
            vec![Refusal::NothingSucceeded]
        }
        Evidence::Simulated { summary, .. } => {
            let judged: Vec<_> = verdicts(summary)
                .map(|(class, verdict)| (class, verdict, confidence(verdict)))
                .filter(|&(_, _, why)| why != Confidence::Met)
                .collect();
            let missed = judged.iter().filter(|j| j.2 == Confidence::Missed);
            let close = judged.iter().filter(|j| j.2 == Confidence::TooClose);
            missed
                .chain(close)
                .map(|&(class, verdict, why)| Refusal::Objective {
                    class,
                    verdict,
                    why,
                })
                .collect()
        }
    }
}

/// The objective with the least room at the winner.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The class whose objective it is (`[[class]] slo`), or `None` for `[slo]`.
    pub class: Option<String>,
    pub verdict: Verdict,
    /// Room left as a fraction: of the target for latency, of the allowed failure ratio
    /// (1 - target) for availability.
    pub margin: f64,
}

/// The answer of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanResult {
    pub best: Option<Design>,
    /// Simulated designs that no other simulated design beats on both cost and p99 (cheaper
    /// or as cheap, and lower p99), by cost.
    pub frontier: Vec<Design>,
    pub binding: Option<Binding>,
    /// Every design looked at, in grid order.
    pub evaluated: Vec<Design>,
}

/// Searches `grid` for the cheapest design meeting every SLO with confidence. `load` turns a
/// knob setting (value indices) into a model; its error ends the search.
pub fn search<E: Send>(
    grid: &Grid,
    load: &(dyn Fn(&[usize]) -> Result<Model, E> + Sync),
    options: Options,
) -> Result<PlanResult, E> {
    let bisect_axis = grid.axes.iter().rposition(|a| a.monotone);
    let others: Vec<usize> = (0..grid.axes.len())
        .filter(|&k| Some(k) != bisect_axis)
        .collect();
    let lines: usize = others.iter().map(|&k| grid.axes[k].values.len()).product();
    let per_line: Vec<Result<Vec<Design>, E>> = (0..lines)
        .into_par_iter()
        .map(|line| {
            // The line's coordinates on the other knobs, the first knob slowest.
            let mut coordinates = vec![0; grid.axes.len()];
            let mut rest = line;
            for &k in others.iter().rev() {
                let n = grid.axes[k].values.len();
                coordinates[k] = rest % n;
                rest /= n;
            }
            let evaluate = |coordinates: &[usize]| -> Result<Design, E> {
                evaluate(coordinates, &load(coordinates)?, options)
            };
            match bisect_axis {
                None => Ok(vec![evaluate(&coordinates)?]),
                Some(axis) => bisect(&coordinates, axis, grid.axes[axis].values.len(), &evaluate),
            }
        })
        .collect();
    let mut evaluated = Vec::new();
    for line in per_line {
        evaluated.extend(line?);
    }
    evaluated.sort_by_key(|d| grid.index(&d.coordinates));
    let best = evaluated
        .iter()
        .filter(|d| d.feasible)
        .min_by(|a, b| {
            a.cost_per_hour_usd
                .total_cmp(&b.cost_per_hour_usd)
                .then_with(|| smaller(&a.coordinates, &b.coordinates))
        })
        .cloned();
    let binding = best.as_ref().and_then(|d| binding(d.summary()?));
    Ok(PlanResult {
        frontier: frontier(&evaluated),
        best,
        binding,
        evaluated,
    })
}

/// "Smaller settings": fewer value steps in all, then knob by knob.
fn smaller(a: &[usize], b: &[usize]) -> std::cmp::Ordering {
    let sum = |c: &[usize]| c.iter().sum::<usize>();
    sum(a).cmp(&sum(b)).then_with(|| a.cmp(b))
}

/// The smallest feasible value of knob `axis` on a line, by bisection (feasibility is
/// monotone along it): the top first (if it fails, so does the whole line), then halving.
/// Returns every design evaluated.
fn bisect<E>(
    line: &[usize],
    axis: usize,
    n: usize,
    evaluate: &dyn Fn(&[usize]) -> Result<Design, E>,
) -> Result<Vec<Design>, E> {
    let mut designs = Vec::new();
    let at = |i: usize, designs: &mut Vec<Design>| -> Result<bool, E> {
        let mut coordinates = line.to_vec();
        coordinates[axis] = i;
        let design = evaluate(&coordinates)?;
        let feasible = design.feasible;
        designs.push(design);
        Ok(feasible)
    };
    let (mut low, mut high) = (0, n - 1);
    if !at(high, &mut designs)? {
        return Ok(designs);
    }
    while low < high {
        let mid = (low + high) / 2;
        if at(mid, &mut designs)? {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    Ok(designs)
}

/// Is the verdict met, missed, or too close to call on its interval?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confidence {
    Met,
    Missed,
    TooClose,
}

/// The verdict as `metrics` judged it on its interval (`Verdict::confidence`: the whole
/// interval on one side of the target, and enough requests beyond a percentile in every
/// replication to trust it), or on the observed figure when there is no interval.
pub fn confidence(v: &Verdict) -> Confidence {
    match v.confidence {
        Some(MetricsConfidence::Met) if v.met => Confidence::Met,
        Some(MetricsConfidence::Missed) => Confidence::Missed,
        Some(_) => Confidence::TooClose,
        None if v.met && v.observed.is_finite() => Confidence::Met,
        None => Confidence::Missed,
    }
}

/// Every objective of a summary, `[slo]`'s and each class's, with the class it belongs to.
fn verdicts(summary: &Summary) -> impl Iterator<Item = (Option<&str>, &Verdict)> {
    let top = summary.slo.iter().map(|v| (None, v));
    let classes = summary
        .classes
        .iter()
        .flat_map(|c| c.slo.iter().map(move |v| (Some(c.name.as_str()), v)));
    top.chain(classes)
}

/// Every verdict of a summary together (the classes' included): missed if any is, else too
/// close if any is.
pub fn judge(summary: &Summary) -> Confidence {
    let each: Vec<Confidence> = verdicts(summary).map(|(_, v)| confidence(v)).collect();
    if summary.requests.succeeded == 0 || each.contains(&Confidence::Missed) {
        Confidence::Missed
    } else if each.contains(&Confidence::TooClose) {
        Confidence::TooClose
    } else {
        Confidence::Met
    }
}

fn evaluate<E>(coordinates: &[usize], model: &Model, options: Options) -> Result<Design, E> {
    // Nominal until the design runs; then what the run billed.
    let cost_per_hour_usd = nominal_cost_per_hour_usd(model);
    let design = |feasible, evidence| Design {
        coordinates: coordinates.to_vec(),
        cost_per_hour_usd,
        feasible,
        evidence,
    };
    let theories = theory::theory(model);
    let unstable = model
        .services
        .iter()
        .zip(&theories)
        .find(|(s, t)| s.queue_capacity.is_none() && t.offered_load >= 1.0);
    if let Some((service, t)) = unstable {
        return Ok(design(
            false,
            Evidence::Unstable {
                service: service.name.clone(),
                offered_load: t.offered_load,
            },
        ));
    }
    let mut replications = options.replications.max(2);
    let mut model = model.clone();
    model.replications = replications;
    let mut pool = run_replications(&model, &|_, _| {});
    loop {
        match summarize(&model, &pool) {
            Outcome::Overloaded(o) => {
                return Ok(design(
                    false,
                    Evidence::Overloaded {
                        service: o.service.clone(),
                    },
                ))
            }
            Outcome::Completed(summary) => {
                let confidence = judge(&summary);
                let more = (replications * 2).min(options.max_replications);
                // Too few requests in a replication to judge some objective (`[slo]`'s or a
                // class's): more replications of the same length would not help.
                let thin = verdicts(&summary).any(|(_, v)| v.thin);
                if confidence == Confidence::TooClose && more > replications && !thin {
                    add_replications(&model, &mut pool, replications, more);
                    replications = more;
                    model.replications = replications;
                    continue;
                }
                return Ok(Design {
                    cost_per_hour_usd: summary.cost.per_hour_usd,
                    ..design(
                        confidence == Confidence::Met,
                        Evidence::Simulated {
                            summary,
                            too_close: confidence == Confidence::TooClose,
                            thin,
                        },
                    )
                });
            }
        }
    }
}

/// The room an objective has at a design: a fraction of the target (latency) or of the
/// allowed failure ratio (availability), read at the pessimistic end of its interval.
pub fn margin(v: &Verdict) -> f64 {
    let [low, high] = v.ci95.unwrap_or([v.observed, v.observed]);
    match v.measure {
        Measure::Availability if v.target < 1.0 => (low - v.target) / (1.0 - v.target),
        Measure::Availability => low - v.target,
        // An upper bound on a share: the room left of the share allowed.
        Measure::Degraded if v.target > 0.0 => (v.target - high) / v.target,
        Measure::Degraded => -high,
        _ if v.target > 0.0 => (v.target - high) / v.target,
        _ => -high,
    }
}

fn binding(summary: &Summary) -> Option<Binding> {
    verdicts(summary)
        .map(|(class, v)| Binding {
            class: class.map(String::from),
            verdict: v.clone(),
            margin: margin(v),
        })
        .min_by(|a, b| a.margin.total_cmp(&b.margin))
}

/// Simulated designs not beaten on both cost and p99 by another, cheapest first.
fn frontier(evaluated: &[Design]) -> Vec<Design> {
    let mut simulated: Vec<&Design> = evaluated.iter().filter(|d| d.summary().is_some()).collect();
    let p99 = |d: &Design| d.summary().map_or(f64::INFINITY, |s| s.latency.p99);
    simulated.sort_by(|a, b| {
        a.cost_per_hour_usd
            .total_cmp(&b.cost_per_hour_usd)
            .then_with(|| p99(a).total_cmp(&p99(b)))
            .then_with(|| smaller(&a.coordinates, &b.coordinates))
    });
    let mut out: Vec<Design> = Vec::new();
    let mut best_p99 = f64::INFINITY;
    for d in simulated {
        if p99(d) < best_p99 {
            best_p99 = p99(d);
            out.push(d.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(measure: Measure, target: f64, observed: f64, ci: Option<[f64; 2]>) -> Verdict {
        let met = if measure.is_lower_bound() {
            observed >= target
        } else {
            observed <= target
        };
        Verdict {
            measure,
            target,
            observed,
            met,
            ci95: ci,
            confidence: None,
            thin: false,
        }
    }

    #[test]
    fn confidence_is_the_metrics_verdict_on_the_interval() {
        let with = |met: bool, c: Option<MetricsConfidence>| {
            let observed = if met { 40.0 } else { 60.0 };
            let mut v = verdict(Measure::P99, 50.0, observed, c.map(|_| [35.0, 65.0]));
            v.confidence = c;
            confidence(&v)
        };
        assert_eq!(with(true, Some(MetricsConfidence::Met)), Confidence::Met);
        assert_eq!(
            with(true, Some(MetricsConfidence::Unsure)),
            Confidence::TooClose
        );
        assert_eq!(
            with(false, Some(MetricsConfidence::Unsure)),
            Confidence::TooClose
        );
        assert_eq!(
            with(false, Some(MetricsConfidence::Missed)),
            Confidence::Missed
        );
        // One replication: the observed figure decides.
        assert_eq!(with(true, None), Confidence::Met);
        assert_eq!(with(false, None), Confidence::Missed);
    }

    #[test]
    fn margin_reads_the_pessimistic_end_of_each_interval() {
        // Room left: 10 of 50 ms; half of the 0.1% failure budget.
        let m = margin(&verdict(Measure::P99, 50.0, 38.0, Some([36.0, 40.0])));
        assert!((m - 0.2).abs() < 1e-12);
        let m = margin(&verdict(
            Measure::Availability,
            0.999,
            0.9996,
            Some([0.9995, 0.9997]),
        ));
        assert!((m - 0.5).abs() < 1e-9);
    }

    #[test]
    fn bisection_finds_the_smallest_feasible_value_in_few_evaluations() {
        for threshold in 0..=40usize {
            let evaluate = |c: &[usize]| -> Result<Design, ()> {
                Ok(Design {
                    coordinates: c.to_vec(),
                    cost_per_hour_usd: c[0] as f64,
                    feasible: c[0] >= threshold,
                    evidence: Evidence::Unstable {
                        service: String::new(),
                        offered_load: 1.0,
                    },
                })
            };
            let designs = bisect(&[0], 0, 40, &evaluate).unwrap();
            let found = designs
                .iter()
                .filter(|d| d.feasible)
                .map(|d| d.coordinates[0])
                .min();
            assert_eq!(found, (threshold < 40).then_some(threshold));
            assert!(designs.len() <= 7, "{} evaluations", designs.len());
        }
    }
}
