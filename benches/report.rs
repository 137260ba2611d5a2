//! Drawing a report: the charts (PNG and SVG) and index.html of a 24-hour run with 10-second
//! windows (8,640 rows of `timeseries.csv`, five services), from the files' text as
//! `capsim report DIR` reads them: parsing summary.json and the CSV, building every figure,
//! drawing each as PNG and SVG, and writing the page (in memory; files are not written). The
//! time series is synthetic (`report::sample`), in the contract's columns; the summary is a
//! short run of the two-tier teaching scenario, simulated once before timing.
//!
//! Run with `cargo bench --bench report`. The bar is one second.

use capsim::report::{self, data};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let scenario = include_str!("../scenarios/teaching/two-tier.toml");
    let model = capsim::scenario::load(
        scenario,
        "two-tier.toml",
        &["scenario.duration=\"2m\"".into()],
    )
    .expect("the teaching scenario loads");
    let summary_json = report::json::render(&capsim::sweep::run(&model));
    let services = ["web", "db", "auth", "search", "cache"];
    let timeseries_csv = report::sample::timeseries_csv(8640, 10.0, &services);
    let render = || {
        let input = data::Input {
            summary: Some(data::parse_summary(&summary_json).expect("summary.json parses")),
            timeseries: Some(data::TimeSeries::parse_csv(&timeseries_csv).expect("the CSV parses")),
            scenario: Some(scenario.to_string()),
            ..Default::default()
        };
        report::render(&input).expect("the report draws")
    };
    let files = render();
    let bytes: usize = files.iter().map(|f| f.bytes.len()).sum();
    println!(
        "report of a 24-hour run with 10 s windows: {} files, {:.1} MB",
        files.len(),
        bytes as f64 / 1e6
    );
    let mut group = c.benchmark_group("report");
    group.sample_size(10);
    group.bench_function("24h_10s_windows", |b| b.iter(|| black_box(render())));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
