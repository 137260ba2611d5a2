//! capsim's integration tests, built into one binary (one link instead of many).
//!
//! - `architecture`: the import graph between top-level modules has no cycle.
//! - `budget`: absurd but valid designs refused up front with their estimate of events and
//!   memory (`--max-events`, `--max-memory`), and the estimate against the events counted.
//! - `queueing`: the engine against queueing theory (Erlang C, M/M/c/K, Pollaczek-Khinchine,
//!   tandem queues, Little's law); each test states its expectation and its sampling error.
//! - `cli`: the command line as a user meets it: exit codes, messages for bad input.
//! - `constructs`: fallbacks, step deadlines and fire-and-forget calls against independent
//!   expectations; the degraded share in the time series, objectives, sweeps and plans.
//! - `deploy`: `deploy/`: the Slurm array submitted to a real single-node Slurm it starts
//!   (slurm-wlm and munge), the Dockerfile against Cargo.toml, the Indexed Job's and the
//!   Slurm array's commands run with their schedulers' variables, each merged.
//! - `determinism`: same scenario and seed give the same bytes (every shipped scenario, sweep
//!   and plan on 1 and 2 threads); streams are per component.
//! - `paths`: request paths (caches, balancers, fan-out, hedging, retries, batching,
//!   classes, fallbacks, rate limits, queue timeouts) against independent expectations.
//! - `summary`: availability, throughput, cost, SLO verdicts and JSON keys by hand.
//! - `distributions`: every distribution's samples against its parameters.
//! - `lifecycle`: where components meet: breakers with cancelled probes, drained batching
//!   replicas, and the state invariants of random designs.
//! - `reference`: docs/scenario-reference.md lists exactly the keys the scenario reader
//!   accepts (probed table by table), and every example it gives validates.
//! - `report`: the report directory of `run --out` and `capsim report` for every shipped
//!   scenario, names that cannot leave it, and the page in headless Chromium.
//! - `sweep`: `capsim sweep`, `plan` and `merge`: the same bytes for any job count, shard cut
//!   or crash and resume; common random numbers across points; plans against Erlang C staffing
//!   and an exhaustive sweep; bad grids refused naming the key.
//! - `repository`: the repository stands alone (no file refers outside it) and every scenario
//!   it ships loads.
//! - `rollout`: deployments against their controllers' rules and hand calculations (recreate's
//!   gap, rolling's bounds, a canary's analysis by day and at night, blended and separate
//!   autoscaling, blue-green's cost and DNS switch, shadow's load, A/B error rates) and
//!   `capsim compare` (the same bytes on any thread count, zero against itself, bad input).
//! - `schema`: `capsim schema`'s JSON Schema checked with a JSON Schema validator: every
//!   shipped scenario validates, bad keys and values are refused, durations agree with the
//!   reader's parser.
//! - `teaching`: every figure the teaching scenarios' comments mark (`# expect:`) is what
//!   capsim prints for them today; every teaching file marks at least one.
//! - `world`: a world that changes over time: shaped arrivals, autoscaling, faults, costs.
//! - `support`: not tests; what the others share: `Scratch` (a temporary directory per test)
//!   and `Output` (exit code, stdout, stderr) to run the `capsim` binary, and `simulate` to
//!   run a scenario in-process.

mod architecture;
mod budget;
mod cli;
mod constructs;
mod deploy;
mod determinism;
mod distributions;
mod lifecycle;
mod paths;
mod queueing;
mod reference;
mod report;
mod repository;
mod rollout;
mod schema;
mod summary;
mod support;
mod sweep;
mod teaching;
mod world;
