//! Loading a scenario of many services: parsing, `--set`, validation and the call graph,
//! per service, at 10^3 and 10^4 services. Every name lookup validation makes (a call's
//! callee, an entry, a fault's or a deployment's target, a repeated name) goes through an
//! index, so the time per service stays flat as the count grows; with a scan of the names
//! per lookup (before issue 17) it grew with the count (10^5 services took 12 s, 10^4 about
//! 1.4 s, against 4.4 s and 0.57 s with the index, `capsim validate`, 2 shared cores).
//!
//! Run with `cargo bench --bench validate`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

/// `n` services in a tree: service i calls services 10i+1 to 10i+10 (those that exist), so
/// a request visits each once and the calls nest about log10(n) deep.
fn tree(n: usize) -> String {
    let mut text =
        String::from("[scenario]\nduration = \"1s\"\n[traffic]\nrate = 1\nentry = \"s0\"\n");
    for i in 0..n {
        let calls: Vec<String> = (10 * i + 1..(10 * i + 11).min(n))
            .map(|j| format!("\"s{j}\""))
            .collect();
        text.push_str(&format!(
            "[[service]]\nname = \"s{i}\"\nservice_time = {{ dist = \"exponential\", mean = \"1ms\" }}\ncalls = [{}]\n",
            calls.join(", ")
        ));
    }
    text
}

fn bench(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("validate");
    group.sample_size(10);
    for n in [1_000, 10_000] {
        let text = tree(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("services", n), &text, |b, text| {
            b.iter(|| capsim::scenario::load(black_box(text), "tree.toml", &[]).expect("valid"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
