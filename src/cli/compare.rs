//! `capsim compare`: the strategies named, checked, run on the same traffic, and the
//! comparison printed and written.

use super::{emit, load_with_text, output, Budget, Format, SimOptions};
use crate::metrics::summary::Outcome;
use crate::report;
use crate::scenario::deploy::{StrategyKind, STRATEGIES};
use anyhow::anyhow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The command's options.
pub(super) struct Request {
    pub options: SimOptions,
    pub budget: Budget,
    pub strategies: String,
    pub baseline: Option<String>,
    pub format: Format,
    pub out: Option<PathBuf>,
    pub jobs: Option<u32>,
}

/// `--strategies`: each name known; a name given again is run again under the name
/// `NAME-2` (so `rolling,rolling` compares a strategy with itself).
fn strategies(list: &str) -> anyhow::Result<Vec<(String, StrategyKind)>> {
    let valid: Vec<&str> = STRATEGIES.iter().map(|s| s.0).collect();
    let mut out: Vec<(String, StrategyKind)> = Vec::new();
    let mut unknown = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match StrategyKind::from_key(name) {
            Some(kind) => {
                let seen = out.iter().filter(|(_, k)| *k == kind).count();
                let label = if seen == 0 {
                    name.to_string()
                } else {
                    format!("{name}-{}", seen + 1)
                };
                out.push((label, kind));
            }
            None => {
                let hint = crate::scenario::problem::nearest(name, &valid)
                    .map(|n| format!(" (did you mean {n}?)"))
                    .unwrap_or_default();
                unknown.push(format!("\"{name}\"{hint}"));
            }
        }
    }
    if !unknown.is_empty() {
        return Err(anyhow!(
            "error: --strategies: unknown strategy {}; valid: {}",
            unknown.join(", "),
            valid.join(", ")
        ));
    }
    if out.is_empty() {
        return Err(anyhow!(
            "error: --strategies: name at least one strategy, e.g. --strategies rolling,canary; valid: {}",
            valid.join(", ")
        ));
    }
    Ok(out)
}

/// Writes a comparison's directory: the data files (`compare.json`, `compare.md`,
/// `scenario.toml`, `timeseries-STRATEGY.csv` per strategy with a series), then the charts
/// and `index.html` drawn from those files' text, as `capsim report DIR` draws them.
fn write_dir(
    dir: &Path,
    name: &str,
    compared: &crate::sweep::compare::Compared,
    scenario_text: &str,
) -> anyhow::Result<()> {
    let c = &compared.comparison;
    let file = |name: String, text: String| report::File {
        name,
        bytes: text.into_bytes(),
    };
    let mut files = vec![
        file("compare.json".into(), report::compare::json(c)),
        file("compare.md".into(), report::compare::markdown(name, c)),
        file("scenario.toml".into(), scenario_text.to_string()),
    ];
    for (row, outcome) in c.strategies.iter().zip(&compared.outcomes) {
        if let Outcome::Completed(summary) = outcome {
            if !summary.series.is_empty() {
                files.push(file(
                    report::data::compare_series_file(&row.strategy),
                    report::csv::render(summary),
                ));
            }
        }
    }
    let input = super::report_input(dir, |name| {
        Ok(files
            .iter()
            .find(|f| f.name == name)
            .map(|f| String::from_utf8_lossy(&f.bytes).into_owned()))
    })?;
    let drawn = report::render(&input).map_err(|e| anyhow!("error: {e}"))?;
    files.extend(drawn);
    super::write_files(dir, &files, |_| false)
}

pub(super) fn execute(r: Request) -> anyhow::Result<ExitCode> {
    let strategies = strategies(&r.strategies)?;
    let baseline = match &r.baseline {
        None => strategies[0].0.clone(),
        Some(b) if strategies.iter().any(|(name, _)| name == b) => b.clone(),
        Some(b) => {
            let names: Vec<&str> = strategies.iter().map(|(n, _)| n.as_str()).collect();
            return Err(anyhow!(
                "error: --baseline: \"{b}\" is not among the strategies compared ({})",
                names.join(", ")
            ));
        }
    };
    let (mut model, scenario_text) =
        load_with_text(&r.options, Some((&r.budget, "this comparison")))?;
    if model.deployments.is_empty() {
        return Err(anyhow!(
            "error: {}: compare needs a [[deployment]] to run under each strategy; add one, e.g.\n  [[deployment]]\n  service = \"{}\"\n  at = \"10m\"\n  strategy = \"rolling\"",
            r.options.scenario.display(),
            model.services.first().map_or("api", |s| s.name.as_str())
        ));
    }
    model.record_series = true;
    let pool = super::sweep::thread_pool(r.jobs.map(|n| n as usize))?;
    let threads = pool.current_num_threads();
    let mut estimate = crate::metrics::budget::estimate(&model, threads);
    // Every strategy and the run with no deployment, one after another.
    estimate.events *= (strategies.len() + 1) as f64;
    r.budget.check(&estimate, threads, "this comparison")?;
    let lock = r
        .out
        .as_deref()
        .map(|dir| output::Lock::acquire(dir, true))
        .transpose()?;
    let compared = pool
        .install(|| crate::sweep::compare::compare(&model, &strategies, &baseline))
        .map_err(|e| anyhow!("error: {e}"))?;
    let c = &compared.comparison;
    if let Some(dir) = &r.out {
        write_dir(dir, &model.name, &compared, &scenario_text)?;
    }
    drop(lock);
    emit(&match r.format {
        Format::Table => report::compare::table(&model.name, c),
        Format::Json => report::compare::json(c),
        Format::Markdown => report::compare::markdown(&model.name, c),
    });
    let any_met = c.strategies.iter().any(|s| s.pooled.figures.slo_met);
    Ok(if any_met {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
