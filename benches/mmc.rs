//! Engine throughput on the peers' M/M/c models (see `benches/peers/`): customers per second,
//! latency recorded in HDR histograms, single-threaded.
//!
//! Target: M/M/16 at rho = 0.9 (lambda = 14.4, mu = 1) at 5 million customers per second or
//! more. Run with `cargo bench --bench mmc`.

use capsim::components::system::simulate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

/// One replication of about `customers` arrivals at an M/M/c queue with mu = 1.
fn mmc(c: u32, lambda: f64, customers: u64) -> capsim::scenario::Model {
    let duration_s = customers as f64 / lambda;
    let toml = format!(
        r#"
        [scenario]
        duration = "{duration_s}s"
        warmup = "100s"
        [traffic]
        rate = {lambda}
        [[service]]
        name = "server"
        concurrency = {c}
        service_time = {{ dist = "exponential", mean = "1s" }}
        "#
    );
    capsim::scenario::load(&toml, "bench.toml", &[]).expect("the bench scenario is valid")
}

fn bench(criterion: &mut Criterion) {
    const CUSTOMERS: u64 = 1_000_000;
    let mut group = criterion.benchmark_group("mmc");
    group.throughput(Throughput::Elements(CUSTOMERS));
    group.sample_size(20);
    for (name, c, lambda) in [
        ("mm1_rho0.9", 1, 0.9),
        ("mm4_rho0.8", 4, 3.2),
        ("mm16_rho0.9", 16, 14.4),
    ] {
        let model = mmc(c, lambda, CUSTOMERS);
        group.bench_function(name, |b| {
            b.iter(|| black_box(simulate(black_box(&model), 0)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
