//! Shaped arrivals drawn by thinning: the time per arrival where the rate steps from 100/s
//! to 5,400/s at 60 min without a ramp, over the hour before the step. Thinning's work is
//! its candidates; bounded by the rate after the step (before issue 17), the hour drew 54
//! candidates per arrival; bounded by the stretch's own rate, one.
//!
//! Run with `cargo bench --bench arrivals`.

use capsim::components::shape::ShapedSource;
use capsim::scenario::world::Arrivals;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn bench(criterion: &mut Criterion) {
    let text = r#"
        [scenario]
        duration = "61m"
        [traffic]
        rate = 100
        steps = [ { at = "60m", rate = 5400 } ]
        [[service]]
        name = "s"
        service_time = { dist = "constant", value = "1ms" }
        "#;
    let model = capsim::scenario::load(text, "bench.toml", &[]).expect("the bench scenario");
    let Arrivals::Shaped(shape) = &model.traffic.arrivals else {
        panic!("a shaped arrival process")
    };
    let hour_ns = 3_600_000_000_000;
    let mut group = criterion.benchmark_group("thinning");
    group.sample_size(10);
    // About 100/s x 3,600 s.
    group.throughput(Throughput::Elements(360_000));
    group.bench_function("hour_before_a_step_to_54x_without_ramp", |b| {
        b.iter(|| {
            let mut source = ShapedSource::new(shape, model.duration_ns, 1, 0);
            let mut arrivals = 0u32;
            while source.next_arrival_ns().is_some_and(|t| t < hour_ns) {
                arrivals += 1;
            }
            black_box(arrivals)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
