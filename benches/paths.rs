//! A request path with the request-path features in use: an api calls a keyed LRU cache
//! (Zipf keys; a miss reads the database), then fans out to three models in parallel (each
//! call with a timeout and retries), five services in all. Customers (requests) per second
//! on one thread; the events per customer are printed once, so events per second follow.
//!
//! Run with `cargo bench --bench paths`.

use capsim::components::system::simulate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

#[path = "support/path.rs"]
mod support;
use support::path;

fn bench(criterion: &mut Criterion) {
    const RATE: f64 = 5_000.0;
    let model = path(RATE, "100s");
    let customers = (RATE * 100.0) as u64;
    let run = simulate(&model, 0);
    eprintln!(
        "paths: {} events for {} requests ({:.1} events per request)",
        run.events,
        run.record.requests.arrived,
        run.events as f64 / run.record.requests.arrived as f64
    );
    let mut group = criterion.benchmark_group("paths");
    group.throughput(Throughput::Elements(customers));
    group.sample_size(10);
    group.bench_function("cache_fanout_retries", |b| {
        b.iter(|| black_box(simulate(black_box(&model), 0)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
