//! The five-service request path the `paths` and `long_run` benchmarks simulate: an api calls
//! a keyed LRU cache (Zipf keys; a miss reads the database), then fans out to three models in
//! parallel (each call with a timeout and retries), then a ranker.

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
