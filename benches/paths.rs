//! A request path with the request-path features in use: an api calls a keyed LRU cache
//! (Zipf keys; a miss reads the database), then fans out to three models in parallel (each
//! call with a timeout and retries), five services in all. Customers (requests) per second
//! on one thread; the events per customer are printed once, so events per second follow.
//!
//! Run with `cargo bench --bench paths`.

use capsim::components::system::simulate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

/// The path at `rate` requests a second for `duration`.
pub fn path(rate: f64, duration: &str) -> capsim::scenario::Model {
    let toml = format!(
        r#"
        [scenario]
        duration = "{duration}"
        [traffic]
        rate = {rate}
        [[service]]
        name = "api"
        concurrency = 64
        service_time = {{ dist = "exponential", mean = "200us" }}
        calls = [
          "cache",
          {{ parallel = [
            {{ service = "model", timeout = "50ms", retries = {{ attempts = 3, backoff = "1ms" }} }},
            {{ service = "model", timeout = "50ms", retries = {{ attempts = 3, backoff = "1ms" }} }},
            {{ service = "model", timeout = "50ms", retries = {{ attempts = 3, backoff = "1ms" }} }},
          ], join = "all" }},
          "ranker",
        ]
        [[service]]
        name = "cache"
        kind = "cache"
        concurrency = 64
        capacity = 10000
        keys = 1000000
        popularity = {{ zipf = 0.9 }}
        service_time = {{ dist = "constant", value = "100us" }}
        on_miss = ["db"]
        [[service]]
        name = "db"
        concurrency = 64
        service_time = {{ dist = "lognormal", median = "2ms", p99 = "20ms" }}
        [[service]]
        name = "model"
        replicas = 4
        balancer = "power_of_two"
        concurrency = 16
        error_rate = 0.01
        service_time = {{ dist = "lognormal", median = "3ms", p99 = "15ms" }}
        [[service]]
        name = "ranker"
        concurrency = 32
        service_time = {{ dist = "exponential", mean = "1ms" }}
        "#
    );
    capsim::scenario::load(&toml, "bench.toml", &[]).expect("the bench scenario is valid")
}

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
