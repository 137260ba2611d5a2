//! Cost per request against the size of a design, side by side in one run, for the README's
//! "large designs" figures: a pool of one-worker replicas at utilization 0.8 behind power of
//! two choices and least outstanding, at 10 to 10,000 replicas; and a keyed LRU cache under
//! Zipf(0.9) keys holding a tenth of them, at 10^4 to 10^7 keys. Each iteration simulates
//! 500,000 requests on one thread, start-up (replicas, cache slab) included.
//!
//! Run with `cargo bench --bench scale`.

use capsim::components::system::simulate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

const CUSTOMERS: u64 = 500_000;

#[path = "support/farm.rs"]
mod farm;

/// A keyed LRU of `keys` keys holding a tenth of them, in front of a database.
fn cache(keys: u64) -> capsim::scenario::Model {
    const RATE: f64 = 10_000.0;
    let duration_s = CUSTOMERS as f64 / RATE;
    let capacity = keys / 10;
    let toml = format!(
        r#"
        [scenario]
        duration = "{duration_s}s"
        [traffic]
        rate = {RATE}
        [[service]]
        name = "cache"
        kind = "cache"
        concurrency = 64
        capacity = {capacity}
        keys = {keys}
        popularity = {{ zipf = 0.9 }}
        service_time = {{ dist = "constant", value = "100us" }}
        on_miss = ["db"]
        [[service]]
        name = "db"
        concurrency = 64
        service_time = {{ dist = "exponential", mean = "2ms" }}
        "#
    );
    capsim::scenario::load(&toml, "bench.toml", &[]).expect("the bench scenario is valid")
}

fn bench(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("scale");
    group.throughput(Throughput::Elements(CUSTOMERS));
    group.sample_size(10);
    for balancer in ["power_of_two", "least_outstanding"] {
        for replicas in [10, 100, 1_000, 10_000] {
            let model = farm::farm(balancer, replicas, CUSTOMERS);
            group.bench_function(format!("pool/{balancer}/{replicas}"), |b| {
                b.iter(|| black_box(simulate(black_box(&model), 0)))
            });
        }
    }
    for keys in [10_000, 100_000, 1_000_000, 10_000_000] {
        let model = cache(keys);
        group.bench_function(format!("cache_keys/{keys}"), |b| {
            b.iter(|| black_box(simulate(black_box(&model), 0)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
