//! The pool the `balancers` and `scale` benchmarks push requests through: one-worker
//! replicas behind a balancer at utilization 0.8.

/// `replicas` single-worker replicas at utilization 0.8 behind `balancer`, for about
/// `customers` arrivals.
pub fn farm(balancer: &str, replicas: u32, customers: u64) -> capsim::scenario::Model {
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
