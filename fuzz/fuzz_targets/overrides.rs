//! `--set` and `--sweep` values on a valid scenario: whatever they say, a model or problems
//! naming the key, never a panic.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

const BASE: &str = r#"
[scenario]
duration = "1s"
[traffic]
rate = 10
[[service]]
name = "api"
service_time = { dist = "exponential", mean = "1ms" }
calls = ["db"]
[[service]]
name = "db"
kind = "cache"
capacity = 10
keys = 100
service_time = { dist = "constant", value = "1ms" }
on_miss = []
"#;

#[derive(Arbitrary, Debug)]
struct Input {
    sets: Vec<String>,
    sweeps: Vec<String>,
}

fuzz_target!(|input: Input| {
    let Ok(mut source) = capsim::scenario::Source::parse(BASE, "base.toml") else {
        panic!("the base scenario loads");
    };
    source.set(&input.sets);
    source.add_sweep_axes(&input.sweeps);
    if let Ok(model) = source.model() {
        let _ = model;
        let axes = source.axes("sweep");
        let _ = axes;
    }
    let _ = capsim::scenario::load(BASE, "base.toml", &input.sets);
});
