//! The lenient readers of a report directory (`summary.json`, `timeseries.csv`,
//! `results.csv`, `compare.json`) and a sweep's journal (`results.jsonl`, read by `--resume`): any text gives
//! data or a message, never a panic.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Input {
    Summary(String),
    Series(String),
    Results(String),
    Journal(String),
    Compare(String),
}

fuzz_target!(|input: Input| {
    use capsim::report::data;
    match input {
        Input::Summary(text) => {
            if let Ok(doc) = data::parse_summary(&text) {
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
        Input::Series(text) => {
            if let Ok(series) = data::TimeSeries::parse_csv(&text) {
                for service in series.services() {
                    let _ = series.points(&format!("{service}.utilization"));
                }
                let _ = series.starts();
            }
        }
        Input::Results(text) => {
            if let Ok(results) = data::SweepResults::parse_csv(&text) {
                for i in 0..results.points.len().min(16) {
                    let _ = results.values(i);
                }
            }
        }
        Input::Journal(text) => {
            let dir = std::env::temp_dir().join(format!("capsim-fuzz-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("a scratch directory");
            std::fs::write(dir.join("results.jsonl"), text).expect("write the journal");
            let _ = capsim::cli::results::read_rows(&dir);
        }
        Input::Compare(text) => {
            if let Ok(doc) = data::parse_compare(&text) {
                for row in &doc.strategies {
                    let _ = (row.vs_baseline.len(), row.outcome.len());
                }
            }
        }
    }
});
