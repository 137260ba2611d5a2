//! Balancer cost per pick as the pool grows: requests per second through the engine at 80%
//! utilization, one worker per replica (exponential service, mean 1 ms), for round robin,
//! random, power of two and least outstanding at 10, 100 and 1,000 replicas. The ready
//! replicas are kept in lists and (for least outstanding) a tree of loads, so the cost per
//! request should barely grow with the pool. Target: random and power of two at 1,000
//! replicas within 1.5x of 10 replicas per request, least outstanding within 2.5x, round
//! robin unchanged.
//!
//! Run with `cargo bench --bench balancers`.

use capsim::components::system::simulate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

/// `replicas` single-worker replicas at utilization 0.8 behind `balancer`, for about
/// `customers` arrivals.
fn farm(balancer: &str, replicas: u32, customers: u64) -> capsim::scenario::Model {
    let rate = 0.8 * f64::from(replicas) * 1000.0;
    let duration_s = customers as f64 / rate;
    let toml = format!(
        r#"
        [scenario]
        duration = "{duration_s}s"
        [traffic]
        rate = {rate}
        [[service]]
        name = "farm"
        replicas = {replicas}
        balancer = "{balancer}"
        service_time = {{ dist = "exponential", mean = "1ms" }}
        "#
    );
    capsim::scenario::load(&toml, "bench.toml", &[]).expect("the bench scenario is valid")
}

fn bench(criterion: &mut Criterion) {
    const CUSTOMERS: u64 = 500_000;
    let mut group = criterion.benchmark_group("balancers");
    group.throughput(Throughput::Elements(CUSTOMERS));
    group.sample_size(10);
    for balancer in ["round_robin", "random", "power_of_two", "least_outstanding"] {
        for replicas in [10, 100, 1000] {
            let model = farm(balancer, replicas, CUSTOMERS);
            group.bench_function(format!("{balancer}/{replicas}"), |b| {
                b.iter(|| black_box(simulate(black_box(&model), 0)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
