//! Sweeps: how the grid runner scales with jobs, and what a point costs beyond its
//! simulation.
//!
//! - `sweep_jobs`: a CPU-bound grid of 8 points (one replication of about 100,000 requests
//!   each) on a pool of 1 and of 2 threads. Target on a 2-core machine: 2 jobs at least 1.8x
//!   faster than 1.
//! - `point_overhead`: one point of 100,000 requests simulated (`simulate`), against what the
//!   sweep adds around it: loading the point from the parsed scenario (`Source::point`:
//!   overrides and validation), the summary and its row, and appending the row to
//!   `results.jsonl` and `results.csv`, as `capsim sweep --out` does. Target: the overhead
//!   under 5% of the simulation. (`capsim sweep` syncs the journal to disk on a thread of
//!   its own, off the workers' path; `sync_data` shows what that costs the disk.)
//!
//! Run with `cargo bench --bench sweep`.

use capsim::components::system::simulate;
use capsim::metrics::summary::summarize;
use capsim::report::sweep::{columns, csv_line, jsonl_line, row};
use capsim::scenario::Source;
use capsim::sweep::grid::Grid;
use capsim::sweep::run_replications;
use capsim::sweep::runner::run_points;
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::io::Write;
use std::sync::atomic::AtomicBool;

/// An M/M/4 service at about 80% and a 2-level call; `rate` requests per second for 100 s.
fn scenario(sweep: &str) -> Source<'static> {
    let text = format!(
        r#"
        [scenario]
        duration = "100s"
        warmup = "5s"
        [slo]
        p99 = "20ms"
        [traffic]
        rate = 1000
        [[service]]
        name = "api"
        concurrency = 4
        service_time = {{ dist = "exponential", mean = "3.2ms" }}
        calls = ["db"]
        price_per_hour = 0.1
        [[service]]
        name = "db"
        concurrency = 8
        service_time = {{ dist = "lognormal", median = "1ms", p99 = "8ms" }}
        [sweep]
        {sweep}
        "#
    );
    let mut source = Source::parse(&text, "bench.toml").expect("the bench scenario parses");
    source.set(&[]);
    source.model().expect("the bench scenario is valid");
    source
}

fn bench(criterion: &mut Criterion) {
    // 8 points of 100,000 to 110,000 requests: rates 1000 and 1100 per second, for 100 s.
    let grid = scenario(
        r#""service.db.concurrency" = [8, 16]
        "traffic.rate" = [1000, 1100]
        "service.api.concurrency" = [4, 5]"#,
    );
    let axes = Grid::new(grid.axes("sweep"));
    let indices: Vec<usize> = (0..axes.len()).collect();
    let load = |index: usize| grid.point(&axes.settings(index));
    let mut group = criterion.benchmark_group("sweep_jobs");
    group.sample_size(10);
    for jobs in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .expect("a thread pool");
        let stop = AtomicBool::new(false);
        group.bench_function(format!("8_points_{jobs}_jobs"), |b| {
            b.iter(|| {
                pool.install(|| run_points(&indices, &load, &stop, &|_, _, o| drop(black_box(o))))
                    .expect("valid points")
            })
        });
    }
    group.finish();

    // One point of 100,000 requests (1000 per second for 100 s).
    let source = scenario(r#""service.api.concurrency" = [4]"#);
    let grid = Grid::new(source.axes("sweep"));
    let model = source.point(&grid.settings(0)).expect("a valid point");
    let paths: Vec<&str> = grid.axes.iter().map(|a| a.path.as_str()).collect();
    let columns = columns(&paths);
    let dir = std::env::temp_dir().join(format!("capsim-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let open = |name: &str| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(name))
            .expect("a results file")
    };
    let (mut jsonl, mut csv) = (open("results.jsonl"), open("results.csv"));
    let pool = run_replications(&model, &|_, _| {});
    let mut group = criterion.benchmark_group("point_overhead");
    group.sample_size(20);
    group.bench_function("simulate_100k_requests", |b| {
        b.iter(|| black_box(simulate(black_box(&model), 0)))
    });
    // The same work in its three parts, then whole.
    group.bench_function("load_point", |b| {
        b.iter(|| black_box(source.point(&grid.settings(0)).expect("a valid point")))
    });
    let settings = grid.settings(0);
    let outcome = summarize(&model, &pool);
    group.bench_function("summarize_and_row", |b| {
        b.iter(|| {
            let outcome = summarize(&model, &pool);
            black_box(row(0, &settings, &model, &outcome))
        })
    });
    let r = row(0, &settings, &model, &outcome);
    group.bench_function("append", |b| {
        b.iter(|| {
            jsonl.write_all(jsonl_line(&r).as_bytes()).unwrap();
            csv.write_all(csv_line(&r, &columns).as_bytes()).unwrap();
        })
    });
    group.bench_function("sync_data", |b| {
        b.iter(|| {
            jsonl.write_all(jsonl_line(&r).as_bytes()).unwrap();
            jsonl.sync_data().unwrap();
        })
    });
    group.bench_function("all_of_it", |b| {
        b.iter(|| {
            let settings = grid.settings(0);
            let model = source.point(&settings).expect("a valid point");
            let outcome = summarize(&model, &pool);
            let r = row(0, &settings, &model, &outcome);
            jsonl.write_all(jsonl_line(&r).as_bytes()).unwrap();
            csv.write_all(csv_line(&r, &columns).as_bytes()).unwrap();
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
