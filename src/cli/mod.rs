//! The command line: the only place that reads files, writes output and starts threads.
//!
//! Exit codes (docs/contract.md): 0 ran and every SLO was met (or there are none); 1 ran and at least
//! one SLO was missed, or the design was overloaded (see `scenario.max_in_flight`); 2 bad
//! input or usage. A sweep exits 0 when at least one point meets every SLO, a plan when it
//! found a design that does; a sweep stopped by Ctrl-C exits 130.

mod results;
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
        /// Output format on standard output
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Also write summary.json, summary.md and timeseries.csv into this directory
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
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
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
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
        /// Output format on standard output
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Also write plan.json and plan.md into this directory
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Threads to run designs and replications on (default: every core)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
        jobs: Option<u32>,
        /// Most replications a design gets while a verdict is too close to call
        #[arg(long, value_name = "N", default_value_t = 24, value_parser = clap::value_parser!(u32).range(2..=100_000))]
        max_replications: u32,
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
    #[arg(long, value_parser = clap::value_parser!(u64).range(..=i64::MAX as u64))]
    seed: Option<u64>,
    /// Number of independent replications (overrides scenario.replications)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    replications: Option<u32>,
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

/// Files a scenario names (a trace) are read relative to the scenario file.
fn scenario_dir(options: &SimOptions) -> PathBuf {
    options
        .scenario
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Reads a file named in a scenario, relative to the scenario's directory `base`.
fn read_named_file(base: &Path, name: &str) -> Result<String, String> {
    std::fs::read_to_string(base.join(name)).map_err(|e| e.to_string())
}

fn load(options: &SimOptions) -> anyhow::Result<Model> {
    let file = options.scenario.display().to_string();
    let text = std::fs::read_to_string(&options.scenario)
        .with_context(|| format!("error: cannot read scenario {file}"))?;
    let base = scenario_dir(options);
    let files = |name: &str| read_named_file(&base, name);
    scenario::load_with_files(&text, &file, &overrides(options), &files).map_err(|e| anyhow!(e))
}

fn execute(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Sweep {
            options,
            sweep,
            format,
            out,
            jobs,
            resume,
            shard,
        } => sweep::sweep(sweep::SweepArgs {
            options,
            sweep,
            format,
            out,
            jobs: jobs.map(|n| n as usize),
            resume,
            shard,
        }),
        Command::Plan {
            options,
            format,
            out,
            jobs,
            max_replications,
        } => sweep::plan(sweep::PlanArgs {
            options,
            format,
            out,
            jobs: jobs.map(|n| n as usize),
            max_replications,
        }),
        Command::Merge {
            shards,
            out,
            format,
        } => sweep::merge(&shards, &out, format),
        Command::Validate { options } => {
            let model = load(&options)?;
            println!("ok");
            // Valid is not the same as viable: say which services cannot keep up.
            let theories = crate::metrics::theory::theory(&model);
            for (service, theory) in model.services.iter().zip(theories) {
                if theory.offered_load >= 1.0 && service.queue_capacity.is_none() {
                    eprintln!(
                        "warning: service \"{}\" is offered more work than it can do (offered load {:.2}); its queue will grow without limit",
                        service.name, theory.offered_load
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            options,
            format,
            out,
        } => {
            let mut model = load(&options)?;
            // The files include timeseries.csv, so the series is recorded whatever the world.
            model.record_series |= out.is_some();
            let outcome = run_with_progress_bar(&model);
            if let Some(dir) = &out {
                write_report(dir, &outcome)?;
            }
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
                    if let Format::Json = format {
                        emit(&report::json::render(&outcome));
                    }
                    eprintln!("{}", report::text::overload_message(o));
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

/// Writes the report files whole or not at all: each goes to a temporary name first.
fn write_report(dir: &Path, outcome: &Outcome) -> anyhow::Result<()> {
    let fail = || format!("error: cannot write the report into {}", dir.display());
    std::fs::create_dir_all(dir).with_context(fail)?;
    let mut files = vec![("summary.json", report::json::render_with(outcome, true))];
    if let Outcome::Completed(summary) = outcome {
        files.push(("summary.md", report::text::markdown(summary)));
        files.push(("timeseries.csv", report::csv::render(summary)));
    }
    for (name, content) in files {
        let temporary = dir.join(format!(".{name}.partial"));
        std::fs::write(&temporary, content).with_context(fail)?;
        std::fs::rename(&temporary, dir.join(name)).with_context(fail)?;
    }
    Ok(())
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
