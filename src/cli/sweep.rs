//! `capsim sweep`, `capsim plan` and `capsim merge`: loading every point, the thread pool,
//! the result files, Ctrl-C and the progress bar.

use super::results::{self, Journal, Manifest};
use super::{Budget, Format, SimOptions};
use crate::metrics::budget::{self, Estimate};
use crate::metrics::summary::Outcome;
use crate::report;
use crate::report::sweep::Row;
use crate::scenario::world::FileReader;
use crate::scenario::{LoadError, Model, Source};
use crate::sweep::grid::{Grid, Shard};
use crate::sweep::plan;
use crate::sweep::runner::run_points;
use anyhow::{anyhow, bail};
use rayon::prelude::*;
use siphasher::sip128::{Hasher128, SipHasher13};
use std::collections::BTreeMap;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Exit code of a sweep stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = 130;

/// The scenario file with `--set`, `--seed`, `--replications` and `--sweep` applied, checked;
/// `files` reads the files the scenario names.
pub fn source<'f>(
    options: &SimOptions,
    budget: (&Budget, &str),
    sweep: &[String],
    files: FileReader<'f>,
) -> anyhow::Result<(Source<'f>, Model)> {
    let file = options.scenario.display().to_string();
    let text = super::read_scenario(options)?;
    // Too large to load is refused before the parse.
    budget.0.check_loading(&text, budget.1)?;
    let mut source = Source::parse_with_files(&text, &file, files).map_err(|e| anyhow!(e))?;
    source.set(&super::overrides(options));
    source.add_sweep_axes(sweep);
    let model = source.model().map_err(|e| anyhow!(e))?;
    Ok((source, model))
}

/// A pool of `jobs` threads (rayon's default, every core, for `None`).
pub(super) fn thread_pool(jobs: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = jobs {
        builder = builder.num_threads(n);
    }
    builder
        .build()
        .map_err(|e| anyhow!("error: cannot start {} threads: {e}", jobs.unwrap_or(0)))
}

/// Every load error of a set of points, each distinct message once, at most 20.
fn load_errors(file: &str, errors: Vec<LoadError>) -> anyhow::Error {
    let mut lines: Vec<String> = Vec::new();
    for e in errors {
        for d in e.diagnostics {
            let line = if d.path.is_empty() {
                format!("error: {}: {}", d.location, d.message)
            } else {
                format!("error: {}: {}: {}", d.location, d.path, d.message)
            };
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    }
    let n = lines.len();
    lines.truncate(20);
    let more = if n > 20 {
        format!("\n... and {} more", n - 20)
    } else {
        String::new()
    };
    anyhow!(
        "{}{more}\n{n} problem{} found in the points of {file}",
        lines.join("\n"),
        if n == 1 { "" } else { "s" }
    )
}

/// The models at the corners of a grid (every axis at its first or last value; at most 64,
/// the first axes' corners when there are more), those that load.
fn corner_models(grid: &Grid, source: &Source) -> Vec<Model> {
    let ends: Vec<[usize; 2]> = grid
        .axes
        .iter()
        .map(|a| [0, a.values.len().saturating_sub(1)])
        .collect();
    let varied = ends.len().min(6);
    (0..1usize << varied)
        .filter_map(|corner| {
            let coordinates: Vec<usize> = ends
                .iter()
                .enumerate()
                .map(|(axis, end)| end[usize::from(axis < varied && corner >> axis & 1 == 1)])
                .collect();
            source.point(&grid.settings_at(&coordinates)).ok()
        })
        .collect()
}

/// The estimates of a grid's corners, `threads` replications held at once.
fn corner_estimates(grid: &Grid, source: &Source, threads: usize) -> Vec<Estimate> {
    corner_models(grid, source)
        .iter()
        .map(|m| budget::estimate(m, threads))
        .collect()
}

/// A resumed sweep's estimate of the points left, with the `done` rows read back from its
/// journal: they are held in memory beside the new ones until the final write.
fn with_rows_read_back(mut estimate: Estimate, done: usize) -> Estimate {
    if done > 0 {
        let bytes = done as f64 * budget::BYTES_PER_SWEEP_ROW;
        estimate
            .memory_parts
            .push(("sweep rows read back from the journal".into(), bytes));
        estimate.memory_parts.sort_by(|a, b| b.1.total_cmp(&a.1));
        estimate.memory_bytes += bytes;
    }
    estimate
}

/// A hex digest of the text that identifies a sweep.
fn fingerprint(text: &str) -> String {
    let mut hasher = SipHasher13::new_with_keys(0x6361_7073_696d, 0x0073_7765_6570);
    hasher.write(text.as_bytes());
    format!("{:032x}", hasher.finish128().as_u128())
}

/// Stops the sweep at the first Ctrl-C (points running finish, nothing new starts), quits at
/// the second.
fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // Setting the handler fails only if one is set already; then Ctrl-C just ends capsim,
    // which loses nothing written (every row on disk is whole).
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(INTERRUPTED));
        }
        eprintln!(
            "\nstopping: the points running will finish and be kept (Ctrl-C again to quit now)"
        );
    });
    stop
}

fn progress_bar(total: usize, met: usize) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressStyle};
    let bar = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template(
            "{spinner} [{bar:30}] {pos}/{len} points, {msg} ({elapsed}, about {eta} left)",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    bar.set_message(format!("{met} meet every SLO"));
    bar
}

pub struct SweepArgs {
    pub options: SimOptions,
    pub budget: Budget,
    pub sweep: Vec<String>,
    pub format: Format,
    pub out: Option<PathBuf>,
    pub jobs: Option<usize>,
    pub resume: bool,
    pub shard: Option<String>,
}

pub fn sweep(args: SweepArgs) -> anyhow::Result<ExitCode> {
    if args.resume && args.out.is_none() {
        bail!("error: --resume continues the sweep in an --out directory; give --out DIR");
    }
    let shard = match args.shard.as_deref() {
        None => Shard::ALL,
        Some("auto") => {
            Shard::from_env(&|name| std::env::var(name).ok()).map_err(|e| anyhow!("error: {e}"))?
        }
        Some(text) => Shard::parse(text).map_err(|e| anyhow!("error: {e}"))?,
    };
    let named = super::NamedFiles::new(super::scenario_dir(&args.options));
    let files = |name: &str| named.read(name);
    let (source, model) = source(
        &args.options,
        (&args.budget, "this sweep"),
        &args.sweep,
        &files,
    )?;
    let axes = source.axes("sweep");
    if axes.is_empty() {
        bail!(
            "error: {}: nothing to sweep: add a [sweep] table (e.g. \"service.api.replicas\" = [2, 4, 8]) or --sweep PATH=V1,V2,...",
            source.file()
        );
    }
    let grid = Grid::new(axes);
    let paths: Vec<&str> = grid.axes.iter().map(|a| a.path.as_str()).collect();
    let columns = report::sweep::columns(&paths);
    let pool = thread_pool(args.jobs)?;
    let threads = pool.current_num_threads();
    let indices: Vec<usize> = shard.points(grid.len()).collect();

    let manifest = Manifest {
        scenario: model.name.clone(),
        fingerprint: fingerprint(&source.canonical_text()),
        points: grid.len(),
        columns: columns.clone(),
        shard: (shard != Shard::ALL).then(|| shard.to_string()),
    };
    // The directory is locked and, with --resume, its finished points read (nothing written
    // yet), so that the budget counts only the points left to run.
    let _lock = args
        .out
        .as_deref()
        .map(|dir| super::output::Lock::acquire(dir, true))
        .transpose()?;
    let mut rows: BTreeMap<usize, Row> = match &args.out {
        Some(dir) => results::finished(dir, &manifest, args.resume)?,
        None => BTreeMap::new(),
    };
    rows.retain(|point, _| shard.contains(*point) && *point < grid.len());
    let todo: Vec<usize> = indices
        .iter()
        .copied()
        .filter(|i| !rows.contains_key(i))
        .collect();
    let what = if rows.is_empty() {
        "this sweep".to_string()
    } else {
        format!(
            "this sweep ({} of {} points left)",
            todo.len(),
            indices.len()
        )
    };

    // The budget, first from the grid's corners alone (a floor, in milliseconds even for a
    // million points), then from every point left once each is loaded. The rows read back
    // are held with the new ones until the final write.
    let corners = corner_estimates(&grid, &source, threads);
    if let Some(floor) = budget::sweep(&corners, todo.len()) {
        let floor = with_rows_read_back(floor, rows.len());
        args.budget.check(&floor, threads, &what)?;
    }
    // Every point left is loaded (and so checked) before anything runs or is written; the
    // models are dropped and loaded again as each point starts.
    let loaded: Vec<Result<Estimate, LoadError>> = pool.install(|| {
        todo.par_iter()
            .map(|&index| {
                source
                    .point(&grid.settings(index))
                    .map(|m| budget::estimate(&m, threads))
            })
            .collect()
    });
    let (estimates, errors): (Vec<_>, Vec<_>) = loaded.into_iter().partition(Result::is_ok);
    let errors: Vec<LoadError> = errors.into_iter().filter_map(Result::err).collect();
    if !errors.is_empty() {
        return Err(load_errors(source.file(), errors));
    }
    let estimates: Vec<Estimate> = estimates.into_iter().filter_map(Result::ok).collect();
    if let Some(total) = budget::total(&estimates) {
        let total = with_rows_read_back(total, rows.len());
        args.budget.check(&total, threads, &what)?;
    }
    if let Some(dir) = &args.out {
        results::prepare(dir, &manifest, &rows)?;
    }

    let stop = stop_on_ctrl_c();
    let met = AtomicUsize::new(rows.values().filter(|r| report::sweep::met(r)).count());
    // The bar counts the points this command runs: with --resume, the points already done
    // are neither to do nor progress (their rate would skew the time left).
    let bar = progress_bar(todo.len(), met.load(Ordering::Relaxed));
    let journal = match &args.out {
        Some(dir) => Some(Journal::open(dir)?),
        None => None,
    };
    struct State {
        journal: Option<Journal>,
        rows: BTreeMap<usize, Row>,
        error: Option<anyhow::Error>,
    }
    let state = Mutex::new(State {
        journal,
        rows,
        error: None,
    });
    let done = |index: usize, model: &Model, outcome: Outcome| {
        let row = report::sweep::row(index, &grid.settings(index), model, &outcome);
        if report::sweep::met(&row) {
            met.fetch_add(1, Ordering::Relaxed);
        }
        let mut state = state.lock().expect("no thread panics holding the results");
        if let Some(journal) = state.journal.as_mut() {
            if let Err(e) = journal.append(&row, &columns) {
                state.error.get_or_insert(e);
                stop.store(true, Ordering::SeqCst);
            }
        }
        state.rows.insert(index, row);
        drop(state);
        bar.set_message(format!("{} meet every SLO", met.load(Ordering::Relaxed)));
        bar.inc(1);
    };
    let load = |index: usize| source.point(&grid.settings(index));
    let loaded = pool.install(|| run_points(&todo, &load, &stop, &done));
    bar.finish_and_clear();
    loaded.map_err(|e| load_errors(source.file(), vec![e]))?;
    let state = state
        .into_inner()
        .expect("no thread panics holding the results");
    if let Some(e) = state.error {
        return Err(e);
    }
    if let Some(journal) = state.journal {
        journal.close()?;
    }
    let rows = state.rows;
    if let Some(dir) = &args.out {
        results::write_sorted(dir, &columns, &rows)?;
        if rows.len() == indices.len() {
            let header = format!(
                "# The scenario as capsim swept it: {}, with its overrides and --sweep axes applied\n# (comments and layout dropped)\n\n",
                source.file().replace(|c: char| c.is_control(), "?")
            );
            results::write_whole(dir, "scenario.toml", &(header + &source.canonical_text()))?;
            charts(dir);
        }
    }
    let list: Vec<Row> = rows.into_values().collect();
    let text = match args.format {
        Format::Table => report::sweep::table(&model.name, &paths, &list, indices.len()),
        Format::Markdown => report::sweep::markdown(&model.name, &paths, &list, indices.len()),
        Format::Json => report::sweep::json(&model.name, &list, indices.len()),
    };
    super::emit(&text);
    if list.len() < indices.len() {
        eprintln!(
            "interrupted: {} of {} points done{}",
            list.len(),
            indices.len(),
            match &args.out {
                Some(dir) => format!("; rerun with --out {} --resume to finish", dir.display()),
                None => String::new(),
            }
        );
        return Ok(ExitCode::from(INTERRUPTED));
    }
    Ok(exit_code(list.iter().any(report::sweep::met)))
}

fn exit_code(met: bool) -> ExitCode {
    if met {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Draws the sweep's charts and page from its files, as `capsim report` would; a chart that
/// cannot be drawn is a warning (the results are written whatever happens to the charts).
fn charts(dir: &Path) {
    if let Err(e) = super::draw_report(dir) {
        eprintln!(
            "warning: the charts were not drawn: {}",
            format!("{e:#}").trim_end()
        );
    }
}

pub fn merge(dirs: &[PathBuf], out: &Path, format: Format) -> anyhow::Result<ExitCode> {
    let (manifest, rows) = results::merge(dirs, out)?;
    // The shards ran one scenario (their fingerprints agree): any shard's copy of it will do.
    if let Ok(text) = std::fs::read_to_string(dirs[0].join("scenario.toml")) {
        results::write_whole(out, "scenario.toml", &text)?;
    }
    charts(out);
    let paths: Vec<&str> = manifest.columns
        [..manifest.columns.len() - report::sweep::FIGURES.len() - report::sweep::EXTRAS.len()]
        .iter()
        .map(String::as_str)
        .collect();
    let list: Vec<Row> = rows.into_values().collect();
    let text = match format {
        Format::Table => report::sweep::table(&manifest.scenario, &paths, &list, manifest.points),
        Format::Markdown => {
            report::sweep::markdown(&manifest.scenario, &paths, &list, manifest.points)
        }
        Format::Json => report::sweep::json(&manifest.scenario, &list, manifest.points),
    };
    super::emit(&text);
    eprintln!(
        "merged {} shards: {} points into {}",
        dirs.len(),
        list.len(),
        out.display()
    );
    Ok(exit_code(list.iter().any(report::sweep::met)))
}

pub struct PlanArgs {
    pub options: SimOptions,
    pub budget: Budget,
    pub format: Format,
    pub out: Option<PathBuf>,
    pub jobs: Option<usize>,
    pub max_replications: u32,
}

pub fn plan(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let named = super::NamedFiles::new(super::scenario_dir(&args.options));
    let files = |name: &str| named.read(name);
    let (source, model) = source(&args.options, (&args.budget, "this plan"), &[], &files)?;
    let knobs = source.axes("plan");
    if knobs.is_empty() {
        bail!(
            "error: {}: nothing to plan: add a [plan] table of knobs, e.g. \"service.api.replicas\" = {{ from = 1, to = 64 }}",
            source.file()
        );
    }
    let grid = Grid::new(knobs);
    let pool = thread_pool(args.jobs)?;
    let options = plan::Options {
        replications: model.replications.max(3),
        max_replications: args.max_replications.max(model.replications.max(3)),
    };
    // The budget: the designs a search looks at at least (every line of the other knobs,
    // bisected along the last), each at its first replications, from the grid's corners.
    let threads = pool.current_num_threads();
    let lengths: Vec<usize> = grid.axes.iter().map(|a| a.values.len()).collect();
    let (last, others) = lengths.split_last().expect("a plan has knobs");
    let designs = others
        .iter()
        .fold(1usize, |n, &l| n.saturating_mul(l))
        .saturating_mul(last.max(&1).ilog2() as usize + 1);
    let corners: Vec<Estimate> = corner_models(&grid, &source)
        .iter()
        .map(|m| {
            let mut m = m.clone();
            m.replications = options.replications;
            budget::estimate(&m, threads)
        })
        .collect();
    if let Some(floor) = budget::sweep(&corners, designs) {
        args.budget.check(&floor, threads, "this plan")?;
    }
    let bar = indicatif::ProgressBar::new_spinner().with_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} planning: {pos} designs looked at ({elapsed})",
        )
        .expect("the template is valid"),
    );
    let load = |coordinates: &[usize]| {
        bar.inc(1);
        source.point(&grid.settings_at(coordinates))
    };
    let result = pool.install(|| plan::search(&grid, &load, options));
    bar.finish_and_clear();
    let result = result.map_err(|e| load_errors(source.file(), vec![e]))?;
    let text = match args.format {
        Format::Table => report::plan::text(&model.name, &grid, &result, false),
        Format::Markdown => report::plan::text(&model.name, &grid, &result, true),
        Format::Json => report::plan::json(&grid, &result),
    };
    if let Some(dir) = &args.out {
        let _lock = super::output::Lock::acquire(dir, true)?;
        results::write_whole(dir, "plan.json", &report::plan::json(&grid, &result))?;
        results::write_whole(
            dir,
            "plan.md",
            &report::plan::text(&model.name, &grid, &result, true),
        )?;
    }
    super::emit(&text);
    Ok(exit_code(result.best.is_some()))
}
