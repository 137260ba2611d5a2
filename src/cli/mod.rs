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
            // Valid is not the same as viable.
            for warning in crate::metrics::theory::warnings(&model) {
                eprintln!("warning: {warning}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            options,
            format,
            out,
        } => {
            let mut model = load(&options)?;
            for warning in crate::metrics::theory::warnings(&model) {
                eprintln!("warning: {warning}");
            }
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
                    match format {
                        Format::Json => print!("{}", report::json::render(&outcome)),
                        Format::Markdown => print!("{}", report::text::overload_markdown(o)),
                        Format::Table => {}
                    }
                    eprintln!("{}", report::text::overload_message(o));
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

/// Writes the report files of one run into `dir`.
fn write_report(dir: &Path, outcome: &Outcome) -> anyhow::Result<()> {
    let mut files = vec![(
        "summary.json".to_string(),
        report::json::render_with(outcome, true).into_bytes(),
    )];
    match outcome {
        Outcome::Completed(summary) => {
            files.push((
                "summary.md".into(),
                report::text::markdown(summary).into_bytes(),
            ));
            if !summary.series.is_empty() {
                files.push((
                    "timeseries.csv".into(),
                    report::csv::render(summary).into_bytes(),
                ));
            }
        }
        Outcome::Overloaded(o) => {
            files.push((
                "summary.md".into(),
                report::text::overload_markdown(o).into_bytes(),
            ));
        }
    }
    write_files(dir, &files)
}

/// The list of files the last run wrote into a report directory.
const MANIFEST: &str = ".capsim-files";

/// Writes `files` into `dir`, each whole or not at all (a temporary name, then a rename), and
/// removes what an earlier run wrote there and this one did not (listed in the directory's
/// manifest), so that the directory never holds files of two runs. Files capsim did not write
/// are left alone. Names come from capsim, never from the scenario.
pub fn write_files(dir: &Path, files: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    let fail = || format!("error: cannot write the report into {}", dir.display());
    std::fs::create_dir_all(dir).with_context(fail)?;
    let earlier = std::fs::read_to_string(dir.join(MANIFEST)).unwrap_or_default();
    for name in earlier.lines().map(str::trim) {
        let stale = !name.is_empty()
            && !name.contains(['/', '\\'])
            && !name.starts_with('.')
            && !files.iter().any(|(written, _)| written == name);
        if stale {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
    let write = |name: &str, content: &[u8]| -> anyhow::Result<()> {
        let temporary = dir.join(format!(".{name}.partial"));
        std::fs::write(&temporary, content).with_context(fail)?;
        std::fs::rename(&temporary, dir.join(name)).with_context(fail)
    };
    for (name, content) in files {
        write(name, content)?;
    }
    let manifest: String = files.iter().map(|(name, _)| format!("{name}\n")).collect();
    write(MANIFEST, manifest.as_bytes())
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
