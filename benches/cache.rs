//! What a keyed cache costs per lookup: a keyed LRU of 1e6 Zipf(0.9) keys holding 1e5 beside
//! a cache with a fixed hit ratio (the same ratio, so both send as many misses on), through
//! the whole engine; then the store alone (a lookup, and a fill after a miss); then drawing a
//! key from a Zipf law of 1e5 and of 1e9 keys (a rejection sampler: the same cost).
//!
//! Run with `cargo bench --bench cache`. Figures in the report of issue 16 (before: main's
//! store; after: this one), measured back to back.

use capsim::components::cache::{CacheStore, KeyLaw};
use capsim::components::system::simulate;
use capsim::engine::rng::Stream;
use capsim::scenario::model::{KeySpace, Policy, Popularity, Store};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

const RATE_PER_S: f64 = 20_000.0;
const SECONDS: f64 = 25.0;

/// A cache in front of a database, `lookup` its cache keys.
fn design(lookup: &str) -> capsim::scenario::Model {
    let toml = format!(
        r#"
        [scenario]
        duration = "{SECONDS}s"
        [traffic]
        rate = {RATE_PER_S}
        entry = "cache"
        [[service]]
        name = "cache"
        kind = "cache"
        concurrency = 256
        {lookup}
        service_time = {{ dist = "constant", value = "100us" }}
        on_miss = ["db"]
        [[service]]
        name = "db"
        concurrency = 256
        service_time = {{ dist = "exponential", mean = "1ms" }}
        "#
    );
    capsim::scenario::load(&toml, "bench.toml", &[]).expect("the bench scenario is valid")
}

fn engine(criterion: &mut Criterion) {
    let keyed = design("capacity = 100000\nkeys = 1000000\npopularity = { zipf = 0.9 }");
    let run = simulate(&keyed, 0);
    let cache = &run.record.services[0];
    let hit_ratio = cache.cache_hits as f64 / cache.cache_lookups as f64;
    let fixed = design(&format!("hit_ratio = {hit_ratio}"));
    eprintln!("cache: keyed LRU hit ratio {hit_ratio:.4}, the fixed cache's the same");
    let mut group = criterion.benchmark_group("cache_engine");
    group.throughput(Throughput::Elements((RATE_PER_S * SECONDS) as u64));
    group.sample_size(10);
    group.bench_function("fixed_hit_ratio", |b| {
        b.iter(|| black_box(simulate(black_box(&fixed), 0)))
    });
    group.bench_function("keyed_lru_1e6_keys", |b| {
        b.iter(|| black_box(simulate(black_box(&keyed), 0)))
    });
    group.finish();
}

fn store(criterion: &mut Criterion) {
    let law = KeyLaw::new(&KeySpace {
        keys: 1_000_000,
        popularity: Popularity::Zipf(0.9),
    });
    let stream = Stream::new(1, 0, "bench", "key");
    let keys: Vec<u64> = (0..1_000_000).map(|r| law.key(stream, r)).collect();
    let mut group = criterion.benchmark_group("cache_store");
    group.throughput(Throughput::Elements(keys.len() as u64));
    group.sample_size(20);
    for (name, policy) in [
        ("lru", Policy::Lru),
        ("lfu", Policy::Lfu),
        ("fifo", Policy::Fifo),
    ] {
        // One store across iterations: after the first pass it is full, as in a long run.
        let mut s = CacheStore::new(&Store {
            capacity: 100_000,
            policy,
            ttl_ns: None,
        });
        let mut now_ns = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                for &key in &keys {
                    now_ns += 1_000;
                    if !s.lookup(key, now_ns) {
                        s.fill(key, now_ns);
                    }
                }
            })
        });
    }
    group.finish();

    let mut group = criterion.benchmark_group("cache_key_draw");
    group.throughput(Throughput::Elements(1_000_000));
    group.sample_size(10);
    for keys in [100_000u64, 1_000_000_000] {
        let law = KeyLaw::new(&KeySpace {
            keys,
            popularity: Popularity::Zipf(0.9),
        });
        group.bench_function(format!("zipf_0.9_over_{keys}"), |b| {
            b.iter(|| (0..1_000_000).map(|r| law.key(stream, r)).sum::<u64>())
        });
    }
    group.finish();
}

criterion_group!(benches, engine, store);
criterion_main!(benches);
