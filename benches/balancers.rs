//! Balancer cost per pick as the pool grows: requests per second through the engine at 80%
//! utilization, one worker per replica (exponential service, mean 1 ms), for round robin,
//! random, power of two and least outstanding at 10, 100 and 1,000 replicas. The ready
//! replicas are kept in lists and (for least outstanding) a tree of loads, so the cost per
//! request should barely grow with the pool. Target: random and power of two at 1,000
//! replicas within 1.5x of 10 replicas per request, least outstanding within 2.5x, round
//! robin unchanged.
//!
//! Instructions per request (valgrind --tool=callgrind on `capsim run` of the same farm at
//! 40,000 and 120,000 customers; the difference over 80,000), 10 -> 1,000 replicas, before
//! (main) and after the ready lists and load index (2026-12-05):
//! round robin 1,734 -> 2,096 before, 1,752 -> 2,114 after (1.21x both);
//! random 1,977 -> 19,187 before, 1,790 -> 2,156 after (1.20x);
//! power of two 2,125 -> 24,257 before, 1,845 -> 2,207 after (1.20x);
//! least outstanding 1,855 -> 17,032 before, 2,006 -> 2,343 after (1.17x; 8% more than before
//! at 10 replicas: the tree is updated on every change of load).
//!
//! Run with `cargo bench --bench balancers`.

use capsim::components::system::simulate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

#[path = "support/farm.rs"]
mod farm;
use farm::farm;

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
