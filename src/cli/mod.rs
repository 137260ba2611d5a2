//! The command line: the only place that reads files, writes output and starts threads.
//!
//! Exit codes (docs/contract.md): 0 ran and every SLO was met (or there are none); 1 ran and at least
//! one SLO was missed, or the design was overloaded (see `scenario.max_in_flight`); 2 bad
//! input or usage.

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
}

#[derive(Args)]
struct SimOptions {
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
enum Format {
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

fn load(options: &SimOptions) -> anyhow::Result<Model> {
    let file = options.scenario.display().to_string();
    let text = std::fs::read_to_string(&options.scenario)
        .with_context(|| format!("error: cannot read scenario {file}"))?;
    let mut overrides = options.set.clone();
    if let Some(seed) = options.seed {
        overrides.push(format!("scenario.seed={seed}"));
    }
    if let Some(n) = options.replications {
        overrides.push(format!("scenario.replications={n}"));
    }
    // Files a scenario names (a trace) are relative to the scenario file.
    let base = options
        .scenario
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let files = |name: &str| -> Result<String, String> {
        std::fs::read_to_string(base.join(name)).map_err(|e| e.to_string())
    };
    scenario::load_with_files(&text, &file, &overrides, &files).map_err(|e| anyhow!(e))
}

fn execute(command: Command) -> anyhow::Result<ExitCode> {
    match command {
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
                    print!("{text}");
                    Ok(if summary.slo_met {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    })
                }
                Outcome::Overloaded(o) => {
                    if let Format::Json = format {
                        print!("{}", report::json::render(&outcome));
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
