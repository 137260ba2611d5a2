//! Long runs in flat memory: the five-service path (a keyed LRU cache, a three-way fan-out
//! with timeouts and retries) for 10^6, 10^7 and 10^8 requests, one replication each on one
//! thread. For each it prints the wall time, the CPU time (from `/proc/self/stat`: on a
//! machine shared with other work, the rates are per CPU second, which sharing disturbs far
//! less than wall time), requests and events per CPU second, and the peak resident memory
//! of the process so far (`VmHWM`): the runs go shortest first, so a peak that
//! does not grow from one row to the next is memory flat in run length. Not a criterion
//! benchmark: a 10^8-request run takes minutes, too long to sample ten times.
//!
//! Run with `cargo bench --bench long_run` (all three, several minutes), or
//! `cargo bench --bench long_run -- 7` to stop at 10^7 requests.

#[path = "support/path.rs"]
mod support;

use capsim::components::system::simulate;
use std::time::Instant;

/// Requests per second of simulated time: the path at its design load.
const RATE_PER_S: f64 = 1_000.0;

fn main() {
    // `cargo bench` passes `--bench`; a bare number is the largest power of ten to run.
    let largest = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<u32>().ok())
        .unwrap_or(8);
    println!("requests   simulated        wall         CPU    requests/s      events/s  peak RSS");
    for power in 6..=largest {
        let requests = 10f64.powi(power as i32);
        let duration_s = requests / RATE_PER_S;
        let model = support::path(RATE_PER_S, &format!("{duration_s}s"));
        let (started, cpu_before_s) = (Instant::now(), cpu_s());
        let run = simulate(&model, 0);
        let (wall_s, cpu) = (started.elapsed().as_secs_f64(), cpu_s() - cpu_before_s);
        let arrived = run.record.requests.arrived as f64;
        println!(
            "10^{power:<6} {:>8.1} h  {wall_s:>8.1} s  {cpu:>8.1} s  {:>12.0}  {:>12.0}  {:>5.1} MiB",
            duration_s / 3600.0,
            arrived / cpu,
            run.events as f64 / cpu,
            peak_rss_mib(),
        );
    }
}

/// The CPU time the process has used in user mode, from `/proc/self/stat` (Linux; its 14th
/// field, in clock ticks of 1/100 s); NaN elsewhere.
fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // The command name (field 2) may hold spaces; the fields after it are plain.
            let after_name = &stat[stat.rfind(')')? + 2..];
            after_name.split(' ').nth(11)?.parse::<f64>().ok()
        })
        .map_or(f64::NAN, |ticks| ticks / 100.0)
}

/// The process's peak resident set so far, from `/proc/self/status` (Linux); NaN elsewhere.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
