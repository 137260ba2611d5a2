//! Valid small designs built from the fuzzer's bytes, with every mechanism (classes, fan-out
//! with joins, deadlines and fallbacks, fallbacks of calls, fire-and-forget calls, a
//! fixed-ratio and a keyed cache, retries within budgets of both scopes, hedges
//! with and without a budget, breakers of both scopes, batching, rate limits, queue timeouts,
//! traffic shapes (a spike, a step, a daily cycle, bursts) or closed-loop users, autoscaling
//! on each metric and per region, health checks, faults (recurring and one-off crashes, spot,
//! error windows, slow windows, outages), regions with an outage (their clients at their own
//! hours) and requests resident in them (with a backlog), every eviction policy of a keyed
//! cache with and without a TTL and with misses that call on, weighted, consistent-hash and
//! multi-instance balancers, a rollout by any deployment strategy), each run
//! under a work budget (at most 2 s simulated at most 1,500 requests a second) with the state
//! invariants checked after every event while at most 256 visits are in flight, and at a
//! bounded cost beyond (`simulate_checked_amortized`: with `n` in flight, after every
//! `n / 256`-th event, and when the run ends): fleet counts and levels agree,
//! billed replicas are at least ready ones, no draining replica is idle, queue counts match
//! their frames, no breaker is half-open with no probe out, requests in flight are the root
//! frames. At the end, every request arrived ended exactly one way or is still in flight, a
//! second run of the same design gives the same record, the time series adds up to the
//! totals, and the summary (of one replication or two, with objectives or none) written as
//! `summary.json` reads back.
#![no_main]
use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Service {
    replicas: u8,
    concurrency: u8,
    capacity: Option<u8>,
    error_pct: u8,
    balancer: u8,
    breaker: u8,
    extra: u8,
    calls: Vec<CallSpec>,
    join: u8,
}

#[derive(Arbitrary, Debug)]
struct CallSpec {
    to: u8,
    timeout: u8,
    retry: u8,
    hedge: u8,
    optional: bool,
    probability: bool,
}

#[derive(Arbitrary, Debug)]
struct Design {
    rate: u16,
    duration_ms: u16,
    services: Vec<Service>,
    classes: bool,
    spike: bool,
    regions: bool,
    autoscaled: u8,
    faults: u8,
    deploy: u8,
    /// More mechanisms, a bit or two each (`More`): read after the fields above, so an input
    /// written before it was added, with no bytes left over, still makes the design it made
    /// (a field past the end of the input reads as 0, which switches nothing on).
    more: u16,
    /// What is measured and how (`Measured`): read last, for the same reason.
    measured: u16,
}

/// The mechanisms `Design::more` switches on.
struct More(u16);

impl More {
    fn bits(&self, shift: u32, width: u32) -> usize {
        usize::from(self.0 >> shift) & ((1 << width) - 1)
    }
    /// Closed-loop users with a think time instead of an open-loop rate.
    fn closed_loop(&self) -> bool {
        self.bits(0, 1) == 1
    }
    /// The keyed cache's eviction policy.
    fn policy(&self) -> &'static str {
        [
            "lru",
            "lfu",
            "redis_lru",
            "fifo",
            "random",
            "lru",
            "lru",
            "lru",
        ][self.bits(1, 3)]
    }
    /// The keyed cache's entries expire.
    fn ttl(&self) -> bool {
        self.bits(4, 1) == 1
    }
    /// A balancer table on the first service or the keyed cache.
    fn balancer(&self) -> usize {
        self.bits(5, 2)
    }
    /// Requests stay in their region (and wait in a backlog while it is down).
    fn residency(&self) -> bool {
        self.bits(7, 1) == 1
    }
    /// The regional service is autoscaled (one HPA per region).
    fn regional_autoscale(&self) -> bool {
        self.bits(8, 1) == 1
    }
    /// The autoscaler's metric.
    fn metric(&self) -> usize {
        self.bits(9, 2)
    }
    /// Traffic shapes: a daily cycle, bursts, a step.
    fn diurnal(&self) -> bool {
        self.bits(11, 1) == 1
    }
    fn bursts(&self) -> bool {
        self.bits(12, 1) == 1
    }
    fn step(&self) -> bool {
        self.bits(13, 1) == 1
    }
    /// A fault that slows a service for a while.
    fn slow(&self) -> bool {
        self.bits(14, 1) == 1
    }
}

/// What `Design::measured` switches on: the service times' law, objectives, a second
/// replication.
struct Measured(u16);

impl Measured {
    /// The family of the services' service times (each service the next one along), or
    /// exponential for all.
    fn family(&self) -> Option<usize> {
        (self.0 & 1 == 1).then_some(usize::from(self.0 >> 1) & 15)
    }
    /// An `[slo]` table; its objectives, one bit each.
    fn slo(&self) -> Option<u16> {
        (self.0 & 32 != 0).then_some((self.0 >> 6) & 63)
    }
    /// A second replication, pooled with the first (intervals across replications).
    fn second_replication(&self) -> bool {
        self.0 & 4096 != 0
    }
    /// One-off faults: a crash of two replicas for a while, and a service's outage.
    fn one_off_faults(&self) -> bool {
        self.0 & 8192 != 0
    }
    /// The keyed cache's misses call the last service (so a key can be filled while held).
    fn miss_calls(&self) -> bool {
        self.0 & 16384 != 0
    }
    /// Regions whose clients live the daily cycle at their own hours.
    fn utc_offsets(&self) -> bool {
        self.0 & 32768 != 0
    }
}

/// A service time with mean about `mean_us` microseconds from one of the families a user can
/// write (`family` taken modulo their number).
fn service_time(family: usize, mean_us: u32) -> String {
    let m = mean_us;
    match family % 12 {
        0 => format!(r#"{{ dist = "exponential", mean = "{m}us" }}"#),
        1 => format!(r#"{{ dist = "constant", value = "{m}us" }}"#),
        2 => format!(
            r#"{{ dist = "uniform", min = "0us", max = "{}us" }}"#,
            2 * m
        ),
        3 => format!(
            r#"{{ dist = "normal", mean = "{m}us", stddev = "{}us" }}"#,
            m / 3
        ),
        4 => format!(
            r#"{{ dist = "lognormal", median = "{}us", p99 = "{}us" }}"#,
            m * 4 / 5,
            m * 5
        ),
        5 => format!(r#"{{ dist = "lognormal", mean = "{m}us", cv = 1.5 }}"#),
        6 => format!(r#"{{ dist = "gamma", mean = "{m}us", cv = 0.5 }}"#),
        7 => format!(r#"{{ dist = "erlang", k = 3, mean = "{m}us" }}"#),
        8 => format!(
            r#"{{ dist = "weibull", shape = 1.5, scale = "{}us" }}"#,
            m * 9 / 8
        ),
        9 => format!(
            r#"{{ dist = "pareto", scale = "{}us", shape = 1.5 }}"#,
            m / 3
        ),
        10 => format!(
            r#"{{ dist = "empirical", min = "{}us", p50 = "{}us", p99 = "{}us", max = "{}us" }}"#,
            m / 4,
            m * 3 / 4,
            m * 4,
            m * 8
        ),
        _ => format!(
            r#"{{ dist = "mixture", parts = [{{ weight = 0.9, dist = "exponential", mean = "{}us" }}, {{ weight = 0.1, dist = "constant", value = "{}us" }}] }}"#,
            m / 2,
            m * 11 / 2
        ),
    }
}

const BALANCERS: [&str; 4] = ["round_robin", "random", "least_outstanding", "power_of_two"];

fn design(d: &Design) -> Option<String> {
    let n = d.services.len().clamp(1, 5);
    if d.services.is_empty() {
        return None;
    }
    let rate = 10 + u32::from(d.rate) % 1_500;
    let duration_ms = 100 + u32::from(d.duration_ms) % 1_900;
    let more = More(d.more);
    let measured = Measured(d.measured);
    // A closed loop sets its own pace: no shapes, and no classes of their own rates.
    let closed_loop = more.closed_loop() && !d.classes && !d.spike;
    let mut toml =
        format!("[scenario]\nduration = \"{duration_ms}ms\"\nwindow = \"50ms\"\nseed = {rate}\n");
    if let Some(objectives) = measured.slo() {
        // Each objective on its bit, all of them when none is: latencies within reach of the
        // design and not, so verdicts go both ways.
        let all = [
            "p50 = \"5ms\"",
            "p99 = \"40ms\"",
            "p999 = \"200ms\"",
            "mean = \"8ms\"",
            "availability = 0.99",
            "degraded = 0.05",
        ];
        let chosen: Vec<&str> = all
            .iter()
            .enumerate()
            .filter(|&(bit, _)| objectives == 0 || objectives & (1 << bit) != 0)
            .map(|(_, o)| *o)
            .collect();
        toml += &format!("[slo]\n{}\n", chosen.join("\n"));
    }
    toml += "[traffic]\nentry = \"s0\"\n";
    if closed_loop {
        // About the same load as the rate: a user sends one request every 20 ms or so.
        toml += &format!(
            "users = {}\nthink_time = {{ dist = \"exponential\", mean = \"20ms\" }}\n",
            1 + rate / 50
        );
    } else {
        toml += &format!("rate = {rate}\n");
        if more.diurnal() {
            toml += "diurnal = { period = \"1s\", peak_to_trough = 3 }\n";
        }
        if more.bursts() {
            toml += "bursts = { on = \"50ms\", off = \"200ms\", multiplier = 3 }\n";
        }
        if more.step() {
            toml += &format!(
                "steps = [ {{ at = \"{}ms\", rate = {}, ramp = \"{}ms\" }} ]\n",
                duration_ms / 2,
                rate * 2,
                duration_ms / 8
            );
        }
    }
    if d.regions && more.residency() {
        toml += "residency = true\nbacklog = { max = 50, timeout = \"100ms\" }\n";
    }
    if d.spike {
        toml += &format!(
            "spikes = [ {{ at = \"{}ms\", duration = \"{}ms\", multiplier = 3, ramp = \"10ms\" }} ]\n",
            duration_ms / 4,
            duration_ms / 4
        );
    }
    if d.regions {
        // Offsets need the daily cycle, which a closed loop does not have.
        let (us, eu) = if measured.utc_offsets() && more.diurnal() && !closed_loop {
            ("utc_offset = \"-5h\"\n", "utc_offset = \"+9h\"\n")
        } else {
            ("", "")
        };
        toml += &format!(
            "[[region]]\nname = \"us\"\nweight = 0.6\n{us}[[region]]\nname = \"eu\"\nweight = 0.4\n{eu}\
             [network]\nlatency = {{ \"us-eu\" = \"5ms\" }}\nfailover = {{ dns_ttl = \"20ms\" }}\n"
        );
    }
    if d.classes && n > 1 {
        toml += &format!(
            "[[class]]\nname = \"a\"\nweight = 3\nentry = \"s0\"\n\
             [[class]]\nname = \"b\"\nweight = 1\nentry = \"s{}\"\n",
            n - 1
        );
    }
    let batching = d.services[0].extra as usize % (n + 2);
    // The service a rollout deploys, and whether each version has its own autoscaler (which
    // scales on utilization only).
    let deployed = usize::from(d.deploy / 4) % n;
    let separate = d.deploy & 1 != 0 && d.deploy & 128 != 0;
    for (i, s) in d.services.iter().take(n).enumerate() {
        let mut entries = Vec::new();
        for c in s.calls.iter().take(3) {
            if i + 1 >= n {
                break;
            }
            let j = i + 1 + usize::from(c.to) % (n - i - 1);
            let mut options = vec![format!("service = \"s{j}\"")];
            // The top bits of `to` pick a construct: a fallback (to the last service), or a
            // fire-and-forget call (which takes none of the waiting keys below).
            match c.to / 64 {
                1 => options.push(format!("fallback = \"s{}\"", n - 1)),
                2 => {
                    options.push("fire_and_forget = true".into());
                    if c.probability {
                        options.push("probability = 0.6".into());
                    }
                    entries.push(format!("{{ {} }}", options.join(", ")));
                    continue;
                }
                _ => {}
            }
            if c.timeout % 3 > 0 {
                options.push(format!(
                    "timeout = \"{}ms\"",
                    5 + 10 * u32::from(c.timeout % 5)
                ));
            }
            match c.retry % 5 {
                1 => options.push(r#"retries = { attempts = 3, backoff = "1ms" }"#.into()),
                2 => options.push(
                    r#"retries = { attempts = 3, budget = 0.2, min_retries_per_s = 5 }"#.into(),
                ),
                3 => options.push(
                    r#"retries = { attempts = 2, budget = 0.1, budget_scope = "service" }"#.into(),
                ),
                _ => {}
            }
            match c.hedge % 4 {
                1 if batching != j => options.push("hedge = \"3ms\"".into()),
                2 if batching != j => options.push(
                    r#"hedge = { after = "2ms", max_extra_load = 0.1, min_hedges_per_s = 1 }"#
                        .into(),
                ),
                _ => {}
            }
            if c.optional {
                options.push("optional = true".into());
            }
            if c.probability {
                options.push("probability = 0.6".into());
            }
            entries.push(format!("{{ {} }}", options.join(", ")));
        }
        // A parallel step may have a deadline and a fallback (to the last service).
        let mut extra = String::new();
        if s.join & 4 != 0 {
            extra += &format!(", deadline = \"{}ms\"", 3 + u32::from(s.join >> 4));
        }
        if s.join & 8 != 0 && i + 1 < n {
            extra += &format!(", fallback = \"s{}\"", n - 1);
        }
        let plan = match (entries.len(), s.join % 4) {
            (0, _) => String::new(),
            (1, _) | (_, 0) => entries.join(", "),
            (_, 1) => format!(
                "{{ parallel = [{}], join = \"any\"{extra} }}",
                entries.join(", ")
            ),
            (m, 2) => format!(
                "{{ parallel = [{}], join = {}{extra} }}",
                entries.join(", "),
                m - 1
            ),
            _ => format!("{{ parallel = [{}]{extra} }}", entries.join(", ")),
        };
        let replicas = 1 + u32::from(s.replicas % 4);
        let keyed = i != batching && s.extra % 6 == 4 && entries.is_empty();
        let balancer = match more.balancer() {
            1 if i == 0 => r#"{ kind = "weighted", weights = [3, 1] }"#.to_string(),
            2 if keyed => r#"{ kind = "consistent_hash", virtual_nodes = 8 }"#.to_string(),
            3 if i == 0 => r#"{ kind = "power_of_two", instances = 3 }"#.to_string(),
            _ => format!("\"{}\"", BALANCERS[usize::from(s.balancer % 4)]),
        };
        toml += &format!(
            "[[service]]\nname = \"s{i}\"\nconcurrency = {}\nerror_rate = {}\n\
             balancer = {balancer}\nservice_time = {}\n",
            1 + s.concurrency % 4,
            f64::from(s.error_pct % 40) / 100.0,
            service_time(
                measured.family().map_or(0, |f| f + i),
                1_000 * (1 + i as u32)
            ),
        );
        if d.regions && i + 1 == n {
            toml += &format!("regions = {{ us = {replicas}, eu = {replicas} }}\n");
            if more.regional_autoscale() {
                toml += "autoscale = { min = 1, max = 4, target = 0.5, sync = \"50ms\", scale_down_window = \"100ms\" }\n";
            }
        } else {
            toml += &format!("replicas = {replicas}\n");
        }
        if let Some(q) = s.capacity {
            toml += &format!("queue_capacity = {}\n", q % 8);
        }
        match s.breaker % 5 {
            1 => toml += "circuit_breaker = { failures = 3, open_for = \"20ms\" }\n",
            2 => {
                toml += "circuit_breaker = { failures = 2, open_for = \"10ms\", scope = \"service\" }\n"
            }
            3 => toml += "circuit_breaker = { error_rate = 0.3, window = \"50ms\", min_requests = 5, open_for = \"30ms\" }\n",
            _ => {}
        }
        match s.extra % 6 {
            _ if i == batching => {
                toml += "batch = { max_size = 4, timeout = \"2ms\", per_item = \"100us\" }\n"
            }
            1 => toml += "queue_timeout = \"40ms\"\n",
            2 => toml += "rate_limit = { rate = 500, burst = 20 }\n",
            3 if entries.is_empty() => {
                toml += "kind = \"cache\"\nhit_ratio = 0.7\non_miss = []\n";
            }
            4 if entries.is_empty() => {
                let on_miss = if measured.miss_calls() && i + 1 < n {
                    format!("\"s{}\"", n - 1)
                } else {
                    String::new()
                };
                toml += &format!(
                    "kind = \"cache\"\ncapacity = 50\nkeys = 1000\npopularity = {{ zipf = 0.9 }}\non_miss = [{on_miss}]\npolicy = \"{}\"\n",
                    more.policy()
                );
                if more.policy() == "redis_lru" {
                    toml += "samples = 3\nclock = \"5ms\"\n";
                }
                if more.ttl() {
                    toml += "ttl = \"80ms\"\n";
                }
            }
            _ => {}
        }
        if i == usize::from(d.autoscaled) % (n + 1) && !(d.regions && i + 1 == n) {
            let (metric, target) = [
                ("utilization", 0.5),
                ("in_flight", 2.0),
                ("rps", 100.0),
                ("queue_length", 2.0),
            ][if separate && i == deployed {
                0
            } else {
                more.metric()
            }];
            toml += &format!("autoscale = {{ min = 1, max = 6, metric = \"{metric}\", target = {target}, sync = \"50ms\", scale_down_window = \"100ms\", provisioning = {{ dist = \"constant\", value = \"30ms\" }} }}\n");
        }
        if i + 1 == n {
            toml += "health = { interval = \"20ms\", failures = 2 }\n";
        }
        toml += &format!("calls = [{plan}]\n");
    }
    let target = |k: u8| format!("s{}", usize::from(k) % n);
    if d.faults & 1 != 0 {
        toml += &format!(
            "[[fault]]\nkind = \"crash\"\ntarget = \"{}\"\nmtbf = \"300ms\"\nmttr = \"40ms\"\n",
            target(d.faults / 2)
        );
    }
    if d.faults & 2 != 0 {
        toml += &format!(
            "[[fault]]\nkind = \"spot\"\ntarget = \"{}\"\nrate = 7200\nnotice = \"30ms\"\nprovisioning = {{ dist = \"constant\", value = \"20ms\" }}\n",
            target(d.faults / 4)
        );
    }
    if d.faults & 4 != 0 {
        toml += &format!(
            "[[fault]]\nkind = \"errors\"\ntarget = \"{}\"\nat = \"{}ms\"\nduration = \"{}ms\"\nrate = 0.8\n",
            target(d.faults / 8),
            duration_ms / 3,
            duration_ms / 5 + 1
        );
    }
    if measured.one_off_faults() {
        toml += &format!(
            "[[fault]]\nkind = \"crash\"\ntarget = \"{}\"\nat = \"{}ms\"\nduration = \"{}ms\"\nreplicas = 2\n\
             [[fault]]\nkind = \"outage\"\ntarget = \"{}\"\nat = \"{}ms\"\nduration = \"{}ms\"\n",
            target(d.faults / 32),
            duration_ms / 6,
            duration_ms / 4 + 1,
            target(d.faults / 64),
            duration_ms * 2 / 3,
            duration_ms / 10 + 1
        );
    }
    if more.slow() {
        toml += &format!(
            "[[fault]]\nkind = \"slow\"\ntarget = \"{}\"\nat = \"{}ms\"\nduration = \"{}ms\"\nfactor = 4\n",
            target(d.faults / 16),
            duration_ms / 5,
            duration_ms / 3 + 1
        );
    }
    if d.faults & 8 != 0 && d.regions {
        toml += &format!(
            "[[fault]]\nkind = \"region_outage\"\ntarget = \"eu\"\nat = \"{}ms\"\nduration = \"{}ms\"\n",
            duration_ms / 2,
            duration_ms / 4 + 1
        );
    }
    // A rollout of any service (the last one is regional, with regions).
    if d.deploy & 1 != 0 {
        const STRATEGIES: [&str; 6] = [
            "recreate",
            "rolling",
            "blue_green",
            "canary",
            "ab_test",
            "shadow",
        ];
        let at = u32::from(d.deploy / 2) * duration_ms / 256;
        toml += &format!(
            "[[deployment]]\nservice = \"s{}\"\nat = \"{at}ms\"\nstrategy = \"{}\"\nmin_ready = \"{}ms\"\nautoscale = \"{}\"\n\
             new = {{ error_rate = 0.05, provisioning = \"30ms\" }}\n\
             rolling = {{ max_surge = {}, max_unavailable = \"25%\" }}\n\
             blue_green = {{ preview_for = \"20ms\", switch = \"{}\", dns_ttl = \"100ms\", scale_down_delay = \"20ms\" }}\n\
             canary = {{ traffic_router = {}, steps = [{{ weight = 20, pause = \"100ms\" }}, {{ weight = 60, pause = \"100ms\" }}], analysis = {{ interval = \"50ms\", min_requests = 5, failure_limit = 1, no_data = \"{}\" }}, scale_down_delay = \"20ms\" }}\n\
             ab_test = {{ split = 0.3, duration = \"300ms\", sequential = {} }}\n\
             shadow = {{ mirror = 0.5, duration = \"200ms\" }}\n",
            deployed,
            STRATEGIES[usize::from(d.deploy / 8) % 6],
            10 * u32::from(d.deploy / 16 % 2),
            if d.deploy & 128 != 0 { "separate" } else { "blended" },
            u32::from(d.deploy / 2 % 3),
            if d.deploy & 32 != 0 { "dns" } else { "instant" },
            d.deploy & 64 != 0,
            if d.deploy & 4 != 0 { "fail" } else { "inconclusive" },
            d.deploy & 16 != 0,
        );
    }
    Some(toml)
}

fuzz_target!(|data: &[u8]| {
    let Ok(d) = Design::arbitrary(&mut Unstructured::new(data)) else {
        return;
    };
    let Some(text) = design(&d) else {
        return;
    };
    let model = match capsim::scenario::load(&text, "design.toml", &[]) {
        Ok(model) => model,
        // A combination validation refuses (e.g. a key two mechanisms cannot share) is a
        // message, not a crash; the designs above are meant to load, so say which did not.
        Err(e) => panic!("a generated design does not load:\n{e}\n{text}"),
    };
    let run = capsim::components::system::simulate_checked_amortized(&model, 0, 256)
        .unwrap_or_else(|broken| panic!("{broken}\n{text}"));
    let r = &run.record.requests;
    assert!(
        r.arrived >= r.succeeded + r.failed + r.rejected + r.timed_out,
        "{r:?}\n{text}"
    );
    let again = capsim::components::system::simulate(&model, 0);
    assert_eq!(again.record.requests, run.record.requests, "{text}");
    if run.overload.is_none() {
        // The time series adds up to the run's totals: every arrival falls in a window (no
        // warm-up here), and the endings the windows saw are among the run's.
        let windows = &run.series.counts;
        let ended = |c: &capsim::metrics::recorder::Counts| {
            c.succeeded + c.failed + c.rejected + c.timed_out
        };
        assert_eq!(
            windows.iter().map(|c| c.arrived).sum::<u64>(),
            r.arrived,
            "{text}"
        );
        assert!(windows.iter().map(ended).sum::<u64>() <= ended(r), "{text}");
    }
    // Summed up as `capsim run` sums up (with a second replication when asked), written as
    // `summary.json` and read back as `capsim report` reads it: what capsim writes it must
    // read; the text renderings are drawn too.
    let mut pool = capsim::metrics::summary::Pool::new(&model);
    pool.add(run);
    if Measured(d.measured).second_replication() {
        pool.add(capsim::components::system::simulate(&model, 1));
    }
    let outcome = capsim::metrics::summary::summarize(&model, &pool);
    let json = capsim::report::json::render_with(&outcome, true);
    if let Err(e) = capsim::report::data::parse_summary(&json) {
        panic!("summary.json does not read back: {e}\n{json}\n{text}");
    }
    if let capsim::metrics::summary::Outcome::Completed(summary) = &outcome {
        let _ = capsim::report::text::table(summary);
        let _ = capsim::report::text::markdown(summary);
        let _ = capsim::report::csv::table(summary);
    }
});
