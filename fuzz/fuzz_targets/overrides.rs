//! `--set` and `--sweep` values on a valid scenario: whatever they say, a model or problems
//! naming the key, never a panic; and every point of a sweep they make that loads as a whole
//! (first, last and a few between) gives a model or problems, never a panic.
//!
//! The input is text, one option a line, as typed on a command line: `--sweep PATH=VALUES`,
//! `--set PATH=VALUE`, or any other line as a `--set` (so the committed seeds,
//! `fuzz/seeds/overrides/`, read as the commands they stand for).
#![no_main]
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

/// Points of a grid loaded between its first and its last, at most.
const POINTS: usize = 5;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (mut sets, mut sweeps) = (Vec::new(), Vec::new());
    for line in text.lines() {
        match line.strip_prefix("--sweep ") {
            Some(axis) => sweeps.push(axis.to_string()),
            None => sets.push(line.strip_prefix("--set ").unwrap_or(line).to_string()),
        }
    }
    let Ok(mut source) = capsim::scenario::Source::parse(BASE, "base.toml") else {
        panic!("the base scenario loads");
    };
    source.set(&sets);
    source.add_sweep_axes(&sweeps);
    if source.model().is_ok() {
        let grid = capsim::sweep::grid::Grid::new(source.axes("sweep"));
        let n = grid.len();
        let step = (n / POINTS).max(1);
        for index in (0..n)
            .step_by(step)
            .chain(n.checked_sub(1))
            .take(POINTS + 2)
        {
            let _ = source.point(&grid.settings(index));
        }
    }
    let _ = capsim::scenario::load(BASE, "base.toml", &sets);
});
