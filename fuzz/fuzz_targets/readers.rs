//! The lenient readers of a report directory (`summary.json`, `timeseries.csv`,
//! `results.csv`, `compare.json`) and a sweep's journal and manifest (`results.jsonl` and
//! `manifest.json`, read by `--resume` and `capsim merge`): any text gives data or a message,
//! never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

/// The reader an input is for: its first byte (modulo the count), the rest is the file's text.
/// A plain prefix, rather than `arbitrary`'s encoding, lets the committed seeds
/// (`fuzz/seeds/readers/`) be real report files behind one byte, so the fuzzer starts from
/// documents that reach every field and mutates from there.
const READERS: u8 = 6;

fuzz_target!(|data: &[u8]| {
    use capsim::cli::results;
    use capsim::report::data;
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match which % READERS {
        0 => {
            if let Ok(doc) = data::parse_summary(&text) {
                if let data::Doc::Completed(run) = &doc {
                    let _ = run.measured_s();
                    for verdict in &run.slo {
                        let _ = verdict.quantile();
                    }
                }
                let input = data::Input {
                    summary: Some(doc),
                    timeseries: None,
                    sweep: None,
                    compare: None,
                    scenario: None,
                    objectives: Vec::new(),
                };
                let _ = (input.objectives(), input.events().len());
            }
        }
        1 => {
            if let Ok(series) = data::TimeSeries::parse_csv(&text) {
                for service in series.services() {
                    let _ = series.points(&format!("{service}.utilization"));
                    let _ = series.latency_points(&format!("{service}.p99_ms"));
                    let _ = series.texts(&format!("{service}.phase"));
                }
                let _ = (series.starts(), series.lengths(), series.deployed());
                let _ = (series.len(), series.is_empty());
            }
        }
        2 => {
            if let Ok(results) = data::SweepResults::parse_csv(&text) {
                for i in 0..results.points.len().min(16) {
                    let _ = results.values(i);
                    for value in &results.points[i].values {
                        let _ = value.label();
                    }
                }
            }
        }
        3 => {
            let dir = scratch();
            std::fs::write(dir.join(results::JSONL), rest).expect("write the journal");
            let _ = results::read_rows(&dir);
        }
        4 => {
            let dir = scratch();
            std::fs::write(dir.join(results::MANIFEST), rest).expect("write the manifest");
            let _ = results::Manifest::read(&dir);
        }
        _ => {
            if let Ok(doc) = data::parse_compare(&text) {
                for row in &doc.strategies {
                    let _ = (row.vs_baseline.len(), row.outcome.len());
                    let _ = data::compare_series_file(&row.strategy);
                }
            }
        }
    }
});

/// A directory of this process's own for the readers that take one.
fn scratch() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("capsim-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}
