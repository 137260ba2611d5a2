//! Engine throughput: customers per second, latency recorded in HDR histograms, one thread.
//!
//! - `mmc`: the M/M/c models of the peer comparison (`benches/peers/`). Target: M/M/16 at
//!   rho = 0.9 (lambda = 14.4, mu = 1) at 5 million customers per second or more.
//! - `floor`: the same three models through the shortest loop that simulates them
//!   (`support/floor.rs`: a binary heap, one random stream, HDR histograms), measured in the
//!   same run, so capsim's cost per customer can be read against the floor on any machine.
//!   Target: capsim within 1.25x of the floor's time on M/M/16.
//! - `in_flight`: 900,000 requests per second into workers to spare, with a 1 us service time
//!   (about one request in flight) and a 1 s one (about 900,000 in flight). The cost per
//!   customer may grow with the requests in flight (the event queue and the frames outgrow
//!   the caches), but by a small factor: target at most 6.5x the idle case.
//! - `series`: a 24-hour run of 5 services (a chain, 20 requests/s) with 10 s windows, with
//!   and without the time series (8,640 rows). Target: within 15% of each other.
//!
//! Run with `cargo bench --bench mmc`.

use capsim::components::system::simulate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

#[path = "support/floor.rs"]
mod floor;

fn load(toml: &str) -> capsim::scenario::Model {
    capsim::scenario::load(toml, "bench.toml", &[]).expect("the bench scenario is valid")
}

/// One replication of about `customers` arrivals at an M/M/c queue with mu = 1.
fn mmc(c: u32, lambda: f64, customers: u64) -> capsim::scenario::Model {
    let duration_s = customers as f64 / lambda;
    load(&format!(
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
    ))
}

/// 900,000 arrivals per second for 2 s into a million workers, each request served for
/// `mean` (exponential): the number in flight settles at 900,000 x mean.
fn many_in_flight(mean: &str) -> capsim::scenario::Model {
    load(&format!(
        r#"
        [scenario]
        duration = "2s"
        [traffic]
        rate = 900000
        [[service]]
        name = "server"
        concurrency = 1000000
        service_time = {{ dist = "exponential", mean = "{mean}" }}
        "#
    ))
}

/// The peer comparison's models: name, servers, arrival rate (service rate 1).
const MODELS: [(&str, u32, f64); 3] = [
    ("mm1_rho0.9", 1, 0.9),
    ("mm4_rho0.8", 4, 3.2),
    ("mm16_rho0.9", 16, 14.4),
];

fn bench(criterion: &mut Criterion) {
    const CUSTOMERS: u64 = 1_000_000;
    let mut group = criterion.benchmark_group("mmc");
    group.throughput(Throughput::Elements(CUSTOMERS));
    group.sample_size(20);
    for (name, c, lambda) in MODELS {
        let model = mmc(c, lambda, CUSTOMERS);
        group.bench_function(name, |b| {
            b.iter(|| black_box(simulate(black_box(&model), 0)))
        });
    }
    group.finish();

    let mut group = criterion.benchmark_group("floor");
    group.throughput(Throughput::Elements(CUSTOMERS));
    group.sample_size(20);
    for (name, c, lambda) in MODELS {
        group.bench_function(name, |b| {
            b.iter(|| black_box(floor::mmc_floor(c, lambda, CUSTOMERS, 5)))
        });
    }
    group.finish();

    let mut group = criterion.benchmark_group("in_flight");
    group.throughput(Throughput::Elements(1_800_000));
    group.sample_size(10);
    for (name, mean) in [("about_1", "1us"), ("about_900k", "1s")] {
        let model = many_in_flight(mean);
        group.bench_function(name, |b| {
            b.iter(|| black_box(simulate(black_box(&model), 0)))
        });
    }
    group.finish();

    let mut group = criterion.benchmark_group("series");
    group.sample_size(10);
    let mut model = day_of_five_services();
    group.throughput(Throughput::Elements(20 * 86_400));
    group.bench_function("day_5_services_10s_windows", |b| {
        b.iter(|| black_box(simulate(black_box(&model), 0)))
    });
    model.record_series = false;
    group.bench_function("day_5_services_no_series", |b| {
        b.iter(|| black_box(simulate(black_box(&model), 0)))
    });
    group.finish();
}

/// A day at 20 requests/s through a chain of 5 services, 10 s windows.
fn day_of_five_services() -> capsim::scenario::Model {
    let mut toml = String::from(
        "[scenario]\nduration = \"24h\"\nwindow = \"10s\"\n[traffic]\nrate = 20\nentry = \"s0\"\n",
    );
    for i in 0..5 {
        let calls = if i < 4 {
            format!("calls = [\"s{}\"]", i + 1)
        } else {
            String::new()
        };
        toml += &format!(
            "[[service]]\nname = \"s{i}\"\nreplicas = 2\nconcurrency = 4\nservice_time = {{ dist = \"exponential\", mean = \"20ms\" }}\n{calls}\n"
        );
    }
    load(&toml)
}

criterion_group!(benches, bench);
criterion_main!(benches);
