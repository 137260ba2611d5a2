//! The command line: the only place that reads files, writes output and starts threads.
//!
//! Exit codes (docs/contract.md): 0 ran and every SLO was met (or there are none); 1 ran and at least
//! one SLO was missed, or the design was overloaded (see `scenario.max_in_flight`); 2 bad
//! input or usage. A sweep exits 0 when at least one point meets every SLO, a plan when it
//! found a design that does; a sweep stopped by Ctrl-C exits 130.

mod compare;
mod output;
pub mod results;
mod schema;
mod sweep;

use crate::metrics::summary::Outcome;
use crate::report;
use crate::scenario::{self, Model};
use anyhow::{anyhow, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "capsim",
    version,
    about = "Simulate a system design and check it against its SLOs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario and print its summary with SLO verdicts
    Run {
        #[command(flatten)]
        options: SimOptions,
        #[command(flatten)]
        budget: Budget,
        /// Output format on standard output
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Also write the report into this directory: summary.json, summary.md,
        /// scenario.toml, timeseries.csv (when there is a series), charts (PNG and SVG) and index.html
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Draw the charts and index.html again from a report directory's data files
    /// (summary.json, timeseries.csv, results.csv, compare.json, scenario.toml), without
    /// simulating
    Report {
        /// The directory `run --out` (or `sweep --out`, `compare --out`) wrote
        dir: PathBuf,
    },
    /// Check a scenario and print every problem found, or `ok`
    Validate {
        #[command(flatten)]
        options: SimOptions,
    },
    /// Run every point of the grid in [sweep] (or --sweep), in parallel; stream results to --out
    Sweep {
        #[command(flatten)]
        options: SimOptions,
        #[command(flatten)]
        budget: Budget,
        /// Add an axis: PATH=V1,V2,... or PATH={ from = A, to = B, step = S } (repeatable)
        #[arg(long = "sweep", value_name = "PATH=VALUES")]
        sweep: Vec<String>,
        /// Output format on standard output
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Write manifest.json, results.jsonl and results.csv into this directory, a row as each point finishes
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Threads to run points and replications on (default: every core)
        #[arg(long, value_name = "N", value_parser = jobs, allow_negative_numbers = true)]
        jobs: Option<u32>,
        /// Skip the points already in --out DIR (which must hold results of the same sweep)
        #[arg(long)]
        resume: bool,
        /// Run one slice of the grid: i/n (points i, i+n, i+2n, ...), or auto (Kubernetes
        /// JOB_COMPLETION_INDEX with CAPSIM_SHARDS; Slurm SLURM_ARRAY_TASK_ID and _COUNT)
        #[arg(long, value_name = "i/n|auto", allow_hyphen_values = true)]
        shard: Option<String>,
    },
    /// Search the knobs in [plan] for the cheapest design that meets every SLO with confidence
    Plan {
        #[command(flatten)]
        options: SimOptions,
        #[command(flatten)]
        budget: Budget,
        /// Output format on standard output
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Also write plan.json and plan.md into this directory
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Threads to run designs and replications on (default: every core)
        #[arg(long, value_name = "N", value_parser = jobs, allow_negative_numbers = true)]
        jobs: Option<u32>,
        /// Most replications a design gets while a verdict is too close to call
        #[arg(long, value_name = "N", default_value_t = 24, value_parser = max_replications, allow_negative_numbers = true)]
        max_replications: u32,
    },
    /// Run the scenario's deployment under each strategy on the same traffic and compare
    /// them (blast radius, p99, rollout time, cost) with paired intervals
    Compare {
        #[command(flatten)]
        options: SimOptions,
        #[command(flatten)]
        budget: Budget,
        /// The strategies, comma-separated: recreate, rolling, blue_green, canary, ab_test, shadow
        #[arg(long, value_name = "LIST", required = true)]
        strategies: String,
        /// The strategy the others are compared with (default: the first)
        #[arg(long, value_name = "STRATEGY")]
        baseline: Option<String>,
        /// Output format on standard output
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Also write compare.json, compare.md, scenario.toml, each strategy's
        /// timeseries-STRATEGY.csv, the charts and index.html into this directory
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Threads to run strategies and replications on (default: every core)
        #[arg(long, value_name = "N", value_parser = jobs, allow_negative_numbers = true)]
        jobs: Option<u32>,
    },
    /// Print a JSON Schema (Draft 2020-12) of the scenario format, for editors that check
    /// TOML against one (taplo, Even Better TOML)
    Schema {
        /// Print the key tables of docs/scenario-reference.md instead
        #[arg(long)]
        markdown: bool,
        /// With --markdown: print this reference file with its key tables regenerated
        #[arg(value_name = "REFERENCE", requires = "markdown")]
        reference: Option<PathBuf>,
    },
    /// Join the result directories of sweep shards (--shard i/n) into one result set
    Merge {
        /// The shard directories (one per slice; all of one sweep)
        #[arg(required = true, value_name = "DIR")]
        shards: Vec<PathBuf>,
        /// Where to write the merged manifest.json, results.jsonl and results.csv
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Output format on standard output
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Args)]
pub(crate) struct SimOptions {
    /// The scenario file (TOML)
    scenario: PathBuf,
    /// Override one scenario key, e.g. --set traffic.rate=250 --set service.api.replicas=8
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Seed of the random streams (overrides scenario.seed; 0 to 2^63 - 1)
    #[arg(long, value_parser = seed, allow_negative_numbers = true)]
    seed: Option<u64>,
    /// Number of independent replications (overrides scenario.replications)
    #[arg(long, value_parser = replications, allow_negative_numbers = true)]
    replications: Option<u32>,
}

/// The work budget of `run`, `sweep` and `plan`: a command whose estimate
/// (`metrics::budget`) is above either limit is refused before it starts, with exit code 2.
#[derive(Args, Clone, Copy)]
pub(crate) struct Budget {
    /// Refuse to start when the estimated events exceed N (10^10 is about 17 minutes
    /// of one core; 0 lifts the limit)
    #[arg(long, value_name = "N", default_value_t = crate::metrics::budget::DEFAULT_MAX_EVENTS, value_parser = max_events, allow_negative_numbers = true)]
    max_events: u64,
    /// Refuse to start when the estimated memory exceeds SIZE: bytes, or with KiB, MiB, GiB
    /// or TiB (0 lifts the limit)
    #[arg(long, value_name = "SIZE", default_value = "8GiB", value_parser = memory_size, allow_negative_numbers = true)]
    max_memory: u64,
}

impl Budget {
    /// Refuses an estimate above either limit (0: no limit), with the message saying why.
    fn check(
        &self,
        estimate: &crate::metrics::budget::Estimate,
        threads: usize,
        what: &str,
    ) -> anyhow::Result<()> {
        if self.max_events > 0 && estimate.events > self.max_events as f64 {
            return Err(anyhow!(report::text::too_many_events(
                estimate,
                self.max_events,
                threads,
                what
            )));
        }
        if self.max_memory > 0 && estimate.memory_bytes > self.max_memory as f64 {
            return Err(anyhow!(report::text::too_much_memory(
                estimate,
                self.max_memory,
                what
            )));
        }
        Ok(())
    }
}

impl Budget {
    /// Refuses, before it is parsed, a scenario whose loading alone would hold more than
    /// `--max-memory` (`metrics::budget::loading`: its bytes, value marks and lines, counted
    /// in one pass over the text). So a design of 10^6 services, written as tables or as
    /// one inline list, is refused in a fraction of a second rather than after the parse it
    /// could not hold.
    fn check_loading(&self, text: &str, what: &str) -> anyhow::Result<()> {
        let loading = crate::metrics::budget::loading(text);
        let estimate = loading.estimate(report::text::loading_part(&loading));
        self.check(&estimate, 1, what)
    }
}

fn max_events(text: &str) -> Result<u64, String> {
    whole_number(text, 0, u64::MAX)
}

/// `--max-memory`: a whole number of bytes, optionally with a unit (`512MiB`, `8GiB`).
fn memory_size(text: &str) -> Result<u64, String> {
    const UNITS: [(&str, u64); 5] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
        ("B", 1),
    ];
    let (number, scale) = UNITS
        .iter()
        .find_map(|(unit, scale)| text.strip_suffix(unit).map(|n| (n, *scale)))
        .unwrap_or((text, 1));
    let n = whole_number(number.trim(), 0, u64::MAX)
        .map_err(|e| format!("{e} (bytes, or with a unit: KiB, MiB, GiB, TiB)"))?;
    n.checked_mul(scale)
        .ok_or_else(|| format!("{text} is out of range; use at most 16777215TiB"))
}

/// The threads replications run on (rayon's pool: every core, or `RAYON_NUM_THREADS`).
fn threads() -> usize {
    rayon::current_num_threads()
}

/// A flag's whole number from `low` to `high`, or what is wrong with it in the user's words
/// (clap prints it after "invalid value 'TEXT' for '--FLAG'").
fn whole_number(text: &str, low: u64, high: u64) -> Result<u64, String> {
    let valid = format!("use a whole number from {low} to {high}");
    let digits = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
    match text.parse::<u64>() {
        Ok(n) if (low..=high).contains(&n) => Ok(n),
        Ok(_) => Err(format!("{text} is out of range; {valid}")),
        Err(_) if digits(text) => Err(format!("{text} is out of range; {valid}")),
        Err(_) if text.strip_prefix('-').is_some_and(digits) => {
            Err(format!("{text} is negative; {valid}"))
        }
        Err(_) => Err(format!("\"{text}\" is not a whole number; {valid}")),
    }
}

fn seed(text: &str) -> Result<u64, String> {
    whole_number(text, 0, i64::MAX as u64)
}

fn replications(text: &str) -> Result<u32, String> {
    whole_number(text, 1, 100_000).map(|n| n as u32)
}

fn max_replications(text: &str) -> Result<u32, String> {
    whole_number(text, 2, 100_000).map(|n| n as u32)
}

fn jobs(text: &str) -> Result<u32, String> {
    whole_number(text, 1, 4096).map(|n| n as u32)
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    Table,
    Json,
    Markdown,
}

/// Parses the command line, runs the command, prints any error once.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli.command) {
        Ok(code) => code,
        Err(error) => {
            // Printed once, here; a load error already lists every problem, one per line.
            eprintln!("{}", format!("{error:#}").trim_end());
            ExitCode::from(2)
        }
    }
}

/// Writes a report to standard output. A reader that has gone (`capsim sweep ... | head`)
/// is not an error worth a panic: the rest of the output is simply not wanted.
fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Files a scenario names (a trace) are read relative to the scenario file.
fn scenario_dir(options: &SimOptions) -> PathBuf {
    options
        .scenario
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The files a scenario names (trace files), read relative to its directory once per
/// command: a sweep or plan loads every point from the scenario, and each point would read
/// its trace again (a 10^5-point sweep, 10^5 reads of the same file).
struct NamedFiles {
    base: PathBuf,
    read: std::sync::Mutex<std::collections::HashMap<String, Result<String, String>>>,
}

impl NamedFiles {
    fn new(base: PathBuf) -> NamedFiles {
        NamedFiles {
            base,
            read: Default::default(),
        }
    }

    /// The file `name`'s text (or why it cannot be read), from the disk the first time.
    fn read(&self, name: &str) -> Result<String, String> {
        let mut read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        read.entry(name.to_string())
            .or_insert_with(|| {
                let path = self.base.join(name);
                std::fs::read_to_string(&path).map_err(|e| unreadable(&path, &e))
            })
            .clone()
    }
}

/// Why a file could not be read, in the user's words: `no such file: PATH` rather than the
/// system's "No such file or directory (os error 2)".
fn unreadable(path: &Path, error: &std::io::Error) -> String {
    let path = path.display();
    match error.kind() {
        std::io::ErrorKind::NotFound => format!("no such file: {path}"),
        std::io::ErrorKind::PermissionDenied => format!("{path}: permission denied"),
        std::io::ErrorKind::IsADirectory => format!("{path} is a directory, not a file"),
        std::io::ErrorKind::InvalidData => format!("{path} is not UTF-8 text"),
        _ => format!("cannot read {path}: {error}"),
    }
}

/// The text of the scenario file `options` names; exit code 2 with `unreadable`'s reason.
fn read_scenario(options: &SimOptions) -> anyhow::Result<String> {
    std::fs::read_to_string(&options.scenario)
        .map_err(|e| anyhow!("error: {}", unreadable(&options.scenario, &e)))
}

fn load(options: &SimOptions) -> anyhow::Result<Model> {
    Ok(load_with_text(options, None)?.0)
}

/// The model, and the scenario as it ran: the file's text under a comment naming the file
/// and the options applied to it. With a budget (and what the command is, for its message),
/// a scenario too large to load is refused before it is parsed.
fn load_with_text(
    options: &SimOptions,
    budget: Option<(&Budget, &str)>,
) -> anyhow::Result<(Model, String)> {
    let file = options.scenario.display().to_string();
    let text = read_scenario(options)?;
    if let Some((budget, what)) = budget {
        budget.check_loading(&text, what)?;
    }
    let overrides = overrides(options);
    let named = NamedFiles::new(scenario_dir(options));
    let files = |name: &str| named.read(name);
    let model =
        scenario::load_with_files(&text, &file, &overrides, &files).map_err(|e| anyhow!(e))?;
    Ok((model, scenario_as_run(&file, &text, &overrides)))
}

/// The scenario as it ran, for `scenario.toml`: the file's text under a comment naming the
/// file and the overrides applied to it (comments only, so the file still loads).
fn scenario_as_run(file: &str, text: &str, overrides: &[String]) -> String {
    // Control characters could end a comment line.
    let clean = |s: &str| s.replace(|c: char| c.is_control(), "?");
    let mut header = format!("# The scenario as capsim ran it: {}\n", clean(file));
    if !overrides.is_empty() {
        let options: Vec<String> = overrides
            .iter()
            .map(|o| format!("--set {}", clean(o)))
            .collect();
        header.push_str(&format!("# with {}\n", options.join(" ")));
    }
    format!("{header}\n{text}")
}

/// `--set`, then `--seed` and `--replications`, as overrides.
fn overrides(options: &SimOptions) -> Vec<String> {
    let mut overrides = options.set.clone();
    if let Some(seed) = options.seed {
        overrides.push(format!("scenario.seed={seed}"));
    }
    if let Some(n) = options.replications {
        overrides.push(format!("scenario.replications={n}"));
    }
    overrides
}

fn execute(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Sweep {
            options,
            budget,
            sweep,
            format,
            out,
            jobs,
            resume,
            shard,
        } => sweep::sweep(sweep::SweepArgs {
            options,
            budget,
            sweep,
            format,
            out,
            jobs: jobs.map(|n| n as usize),
            resume,
            shard,
        }),
        Command::Plan {
            options,
            budget,
            format,
            out,
            jobs,
            max_replications,
        } => sweep::plan(sweep::PlanArgs {
            options,
            budget,
            format,
            out,
            jobs: jobs.map(|n| n as usize),
            max_replications,
        }),
        Command::Merge {
            shards,
            out,
            format,
        } => {
            let _lock = output::Lock::acquire(&out, true)?;
            sweep::merge(&shards, &out, format)
        }
        Command::Validate { options } => {
            let model = load(&options)?;
            // What `run` would cost: the estimate its budget checks, on this machine's threads.
            let threads = threads();
            let at_once = threads.min(model.replications as usize);
            let estimate = crate::metrics::budget::estimate(&model, at_once);
            emit(&format!(
                "ok\n{}",
                report::text::estimate_line(&estimate, threads)
            ));
            // Valid is not the same as viable.
            for line in report::text::warnings(&crate::metrics::theory::warnings(&model)) {
                eprintln!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Report { dir } => rerender(&dir),
        Command::Schema {
            markdown,
            reference,
        } => schema::execute(markdown, reference.as_deref()),
        Command::Compare {
            options,
            budget,
            strategies,
            baseline,
            format,
            out,
            jobs,
        } => compare::execute(compare::Request {
            options,
            budget,
            strategies,
            baseline,
            format,
            out,
            jobs,
        }),
        Command::Run {
            options,
            budget,
            format,
            out,
        } => {
            let (mut model, scenario_text) = load_with_text(&options, Some((&budget, "this run")))?;
            // The files include timeseries.csv, so the series is recorded whatever the world.
            model.record_series |= out.is_some();
            // Refused before anything is written or simulated.
            let threads = threads();
            let at_once = threads.min(model.replications as usize);
            let estimate = crate::metrics::budget::estimate(&model, at_once);
            budget.check(&estimate, threads, "this run")?;
            let lock = out
                .as_deref()
                .map(|dir| output::Lock::acquire(dir, true))
                .transpose()?;
            for line in report::text::warnings(&crate::metrics::theory::warnings(&model)) {
                eprintln!("{line}");
            }
            let outcome = run_with_progress_bar(&model);
            if let Some(dir) = &out {
                write_report(dir, &outcome, &scenario_text)?;
            }
            drop(lock);
            match &outcome {
                Outcome::Completed(summary) => {
                    let text = match format {
                        Format::Table => report::text::table(summary),
                        Format::Json => report::json::render(&outcome),
                        Format::Markdown => report::text::markdown(summary),
                    };
                    emit(&text);
                    Ok(if summary.slo_met {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    })
                }
                Outcome::Overloaded(o) => {
                    match format {
                        Format::Json => emit(&report::json::render(&outcome)),
                        Format::Markdown => emit(&report::text::overload_markdown(o)),
                        Format::Table => {}
                    }
                    eprintln!("{}", report::text::overload_message(o));
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

/// Writes the report directory of a run: the data files (summary.json with the time series,
/// summary.md, scenario.toml, timeseries.csv when there is a series), then the charts and
/// index.html drawn from those files' text, as `capsim report` would draw them.
fn write_report(dir: &Path, outcome: &Outcome, scenario_text: &str) -> anyhow::Result<()> {
    let summary_json = report::json::render_with(outcome, true);
    let file = |name: &str, bytes: Vec<u8>| report::File {
        name: name.into(),
        bytes,
    };
    let mut files = vec![
        file("summary.json", summary_json.clone().into_bytes()),
        file("scenario.toml", scenario_text.as_bytes().to_vec()),
    ];
    let mut series_csv = None;
    match outcome {
        Outcome::Completed(summary) => {
            files.push(file(
                "summary.md",
                report::text::markdown(summary).into_bytes(),
            ));
            if !summary.series.is_empty() {
                let csv = report::csv::render(summary);
                files.push(file("timeseries.csv", csv.clone().into_bytes()));
                series_csv = Some(csv);
            }
        }
        Outcome::Overloaded(o) => {
            files.push(file(
                "summary.md",
                report::text::overload_markdown(o).into_bytes(),
            ));
        }
    }
    let input = report::data::Input {
        summary: Some(report::data::parse_summary(&summary_json).map_err(|e| anyhow!(e))?),
        timeseries: series_csv
            .as_deref()
            .map(report::data::TimeSeries::parse_csv)
            .transpose()
            .map_err(|e| anyhow!("error: timeseries.csv: {e}"))?,
        scenario: Some(scenario_text.to_string()),
        ..Default::default()
    };
    files.extend(report::render(&input).map_err(|e| anyhow!("error: {e}"))?);
    write_files(dir, &files, |_| false)
}

/// The list of files the last command wrote into a report directory.
const MANIFEST: &str = ".capsim-files";

/// Writes files into `dir` (created if missing) whole or not at all: each goes to a temporary
/// name first and is renamed when complete. Names are plain file names: one with a path
/// separator, a leading dot or anything but letters, digits, `.`, `_` and `-` is refused, so
/// nothing can be written outside `dir`. What an earlier command wrote there (listed in the
/// directory's manifest) and this one does not write is removed, unless `keep` says so, so
/// that a directory never mixes two runs' files; files capsim did not write are left alone.
pub fn write_files(
    dir: &Path,
    files: &[report::File],
    keep: impl Fn(&str) -> bool,
) -> anyhow::Result<()> {
    let fail = || format!("error: cannot write the report into {}", dir.display());
    std::fs::create_dir_all(dir).with_context(fail)?;
    let plain = |name: &str| {
        !name.is_empty()
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    if let Some(bad) = files.iter().find(|f| !plain(&f.name)) {
        return Err(anyhow!(
            "error: refusing to write a report file named {:?}",
            bad.name
        ));
    }
    let write = |name: &str, bytes: &[u8]| output::write_whole(dir, name, bytes);
    // Until the list of files is written, the directory may mix two runs' files: marked so.
    write(
        output::WRITING,
        b"capsim was writing this directory; if this file stays, it stopped before it finished\n",
    )?;
    let earlier = std::fs::read_to_string(dir.join(MANIFEST)).unwrap_or_default();
    let mut listed: Vec<String> = Vec::new();
    for name in earlier.lines().map(str::trim).filter(|n| plain(n)) {
        if files.iter().any(|f| f.name == name) {
            continue;
        }
        if keep(name) {
            listed.push(name.to_string());
        } else {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
    for file in files {
        write(&file.name, &file.bytes)?;
        listed.push(file.name.clone());
    }
    let manifest: String = listed.iter().map(|name| format!("{name}\n")).collect();
    write(MANIFEST, manifest.as_bytes())?;
    std::fs::remove_file(dir.join(output::WRITING)).with_context(fail)
}

/// `capsim report DIR`: reads the data files a run or a sweep left in `dir` and draws the
/// charts and page again. Nothing is simulated.
fn rerender(dir: &Path) -> anyhow::Result<ExitCode> {
    let _lock = match dir.is_dir() {
        true => Some(output::Lock::acquire(dir, false)?),
        false => None,
    };
    if dir.join(output::WRITING).exists() {
        return Err(anyhow!(
            "error: {} is incomplete: the capsim that wrote it stopped before it finished ({} is \
             there), so its files may mix two runs; run that command again",
            dir.display(),
            output::WRITING
        ));
    }
    draw_report(dir)?;
    emit(&format!("{}\n", dir.join("index.html").display()));
    Ok(ExitCode::SUCCESS)
}

/// Draws the charts and `index.html` of a report directory from its data files (what
/// `capsim report DIR` does, and what a sweep does when it has written its results).
fn draw_report(dir: &Path) -> anyhow::Result<()> {
    let read = |name: &str| -> anyhow::Result<Option<String>> {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow!("error: cannot read {}: {e}", path.display())),
        }
    };
    if !dir.is_dir() {
        return Err(anyhow!("error: {} is not a directory", dir.display()));
    }
    let input = report_input(dir, read)?;
    let files = report::render(&input).map_err(|e| anyhow!("error: {e}"))?;
    // Only the charts and the page are drawn again; the data files stay.
    write_files(dir, &files, |name| {
        !(name.ends_with(".png") || name.ends_with(".svg") || name == "index.html")
    })
}

/// What a report directory's charts and page are drawn from: its data files, each read by
/// `read` (`None`: not there). `capsim report DIR` reads them from `dir`; `compare --out` hands
/// over the texts it is about to write, so both draw the same bytes.
pub(super) fn report_input(
    dir: &Path,
    read: impl Fn(&str) -> anyhow::Result<Option<String>>,
) -> anyhow::Result<report::data::Input> {
    let shown = dir.display();
    let summary = read("summary.json")?;
    let results = read("results.csv")?;
    let compared = read("compare.json")?;
    if summary.is_none() && results.is_none() && compared.is_none() {
        return Err(anyhow!(
            "error: {shown} has neither summary.json nor results.csv (nor compare.json): nothing to \
             report (write one with `capsim run SCENARIO.toml --out {shown}`)"
        ));
    }
    let in_dir = |e: String| anyhow!("error: {shown}/{e}");
    let scenario_text = read("scenario.toml")?;
    // A sweep's or a comparison's directory has no summary to take the objectives from: the
    // scenario has them.
    let model = match (&summary, &scenario_text) {
        (None, Some(text)) => scenario::load(text, "scenario.toml", &[]).ok(),
        _ => None,
    };
    let objectives = model
        .iter()
        .flat_map(|model| {
            model.slo.iter().map(|o| {
                let key = o.measure.key().to_string();
                let target = if o.measure.is_share() {
                    o.target
                } else {
                    crate::engine::time::ns_to_ms(o.target)
                };
                (key, target)
            })
        })
        .collect();
    let mut sweep = results
        .as_deref()
        .map(report::data::SweepResults::parse_csv)
        .transpose()
        .map_err(in_dir)?;
    if let (Some(sweep), Some(text)) = (&mut sweep, &scenario_text) {
        sweep.theory_p99 = theory_curve(sweep, text);
    }
    let compare = match compared {
        None => None,
        Some(text) => {
            let doc = report::data::parse_compare(&text).map_err(in_dir)?;
            let mut series = Vec::new();
            for row in &doc.strategies {
                // Only a plain name can name a file in the directory (and a chart).
                let plain = !row.strategy.is_empty()
                    && row
                        .strategy
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
                if !plain {
                    continue;
                }
                let file = report::data::compare_series_file(&row.strategy);
                if let Some(text) = read(&file)? {
                    let ts = report::data::TimeSeries::parse_named(&text, &file).map_err(in_dir)?;
                    series.push((row.strategy.clone(), ts));
                }
            }
            Some(report::data::Compared {
                scenario: model.as_ref().map_or(String::new(), |m| m.name.clone()),
                doc,
                series,
            })
        }
    };
    Ok(report::data::Input {
        summary: summary
            .as_deref()
            .map(report::data::parse_summary)
            .transpose()
            .map_err(in_dir)?,
        timeseries: read("timeseries.csv")?
            .as_deref()
            .map(report::data::TimeSeries::parse_csv)
            .transpose()
            .map_err(in_dir)?,
        sweep,
        compare,
        scenario: scenario_text,
        objectives,
    })
}

/// Queueing theory's p99 at each value of a one-axis sweep whose scenario is a single M/M/c
/// queue (`metrics::theory::single_queue_p99_ms`), for the sweep's p99 chart; empty for any
/// other sweep or design. Theory only: nothing is simulated.
fn theory_curve(sweep: &report::data::SweepResults, scenario_text: &str) -> Vec<(f64, f64)> {
    let [axis] = sweep.axes.as_slice() else {
        return Vec::new();
    };
    let values: Vec<f64> = sweep
        .values(0)
        .iter()
        .filter_map(|v| match v {
            report::data::AxisValue::Number(x) => Some(*x),
            report::data::AxisValue::Name(_) => None,
        })
        .collect();
    let (Some(lo), Some(hi)) = (
        values.iter().copied().reduce(f64::min),
        values.iter().copied().reduce(f64::max),
    ) else {
        return Vec::new();
    };
    // The swept values and 60 between them, for a smooth curve (a value the key does not
    // take, such as a fraction of a replica, fails to load and is left out).
    let mut xs: Vec<f64> = (0..=60)
        .map(|i| lo + (hi - lo) * f64::from(i) / 60.0)
        .chain(values)
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    xs.into_iter()
        .filter_map(|x| {
            let model =
                scenario::load(scenario_text, "scenario.toml", &[format!("{axis}={x}")]).ok()?;
            Some((x, crate::metrics::theory::single_queue_p99_ms(&model)?))
        })
        .collect()
}

/// Runs the model with a progress bar on standard error (drawn only on a terminal, and
/// cleared at the end): simulated time done over simulated time to do, all replications.
fn run_with_progress_bar(model: &Model) -> Outcome {
    use indicatif::{ProgressBar, ProgressStyle};
    use std::sync::atomic::{AtomicU64, Ordering};
    const NS_PER_UNIT: u64 = 1_000_000; // the bar counts simulated milliseconds
    let total = u64::from(model.replications) * (model.duration_ns / NS_PER_UNIT).max(1);
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template(
            "{spinner} simulating {msg} [{bar:30}] {percent}% ({elapsed}, about {eta} left)",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    bar.set_message(model.name.clone());
    let done: Vec<AtomicU64> = (0..model.replications).map(|_| AtomicU64::new(0)).collect();
    let outcome = crate::sweep::run_with_progress(model, &|replication, now_ns| {
        let now = (now_ns.min(model.duration_ns)) / NS_PER_UNIT;
        let before = done[replication as usize].swap(now, Ordering::Relaxed);
        bar.inc(now.saturating_sub(before));
    });
    bar.finish_and_clear();
    outcome
}

#[cfg(test)]
mod tests {
    use super::NamedFiles;

    #[test]
    fn a_named_file_is_read_from_disk_once_per_command() {
        let dir = std::env::temp_dir().join(format!("capsim-named-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        std::fs::write(dir.join("trace.csv"), "0.5\n").expect("write the trace");
        let named = NamedFiles::new(dir.clone());
        assert_eq!(named.read("trace.csv").as_deref(), Ok("0.5\n"));
        // Changed on disk after the first read: every later point still sees the first
        // text, so each point of a sweep runs the same trace and the file is read once.
        std::fs::write(dir.join("trace.csv"), "0.7\n").expect("rewrite the trace");
        assert_eq!(named.read("trace.csv").as_deref(), Ok("0.5\n"));
        assert!(named.read("missing.csv").is_err());
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
