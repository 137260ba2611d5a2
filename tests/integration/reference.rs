//! docs/scenario-reference.md lists every key the scenario reader accepts, and nothing it
//! refuses; every example it gives validates.
//!
//! The accepted keys are the reader's own: each table below is probed by setting an unknown
//! key (`zz_probe`) in it on a small valid scenario, and the reader's message lists the keys
//! it takes (`valid keys: ...` for the serde tables of `src/scenario/raw.rs`, `it takes ...`
//! for the inline tables read with `reader.rs`). So a key added to any probed table shows up
//! here without a change to this file, and the test fails until the reference documents it.
//! The top-level tables come from `RawScenario`'s field list. A table that a new key opens
//! (a new nested table) needs a row in `SECTIONS` to have its own keys checked.
//!
//! The reference's key tables are printed from the key table of `src/scenario/keys.rs`
//! (`capsim schema --markdown`), which also gives the reader its unknown-key messages; so the
//! probes check the key table against the reader, and two more tests close the loop: every
//! key of the serde structs of `raw.rs` is in the key table (and no other), and every key of
//! the key table is read (set to a value no key takes, the reader refuses it at its path).
//!
//! The reference's tables are read by heading (`## \`SECTION\``) and row (`| \`key\` | type
//! | unit | default | range | \`example\` |`); the example is the body of an inline table
//! (`key = value, other = value`) set on the section's table of its scenario.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use capsim::scenario::keys::{self, Keyed};
use capsim::scenario::raw::{RawClass, RawRun, RawScenario, RawService, RawSlo, RawTraffic};
use capsim::scenario::schema::splice_reference;
use serde_aux::serde_introspection::serde_introspect;

/// The scenario every section starts from: `a` calls `b`; `c` is reached by nothing.
const BASE: &str = r#"
[scenario]
duration = "1h"

[traffic]
rate = 10
entry = "a"

[[service]]
name = "a"
service_time = { dist = "exponential", mean = "1ms" }
calls = ["b"]

[[service]]
name = "b"
service_time = { dist = "exponential", mean = "1ms" }

[[service]]
name = "c"
service_time = { dist = "exponential", mean = "1ms" }
"#;

/// One table of the reference: where it lives in a scenario, and how to make one.
struct Section {
    /// The reference's heading, without backticks.
    id: &'static str,
    /// Sections whose documented keys together must cover what each of them accepts.
    group: &'static str,
    /// `key = value` lines appended to a table of BASE, as `(table path, lines)`; a table
    /// path of `""` appends whole tables to the file.
    setup: &'static [(&'static str, &'static str)],
    /// The table the section's keys go in.
    path: &'static [Seg],
    /// The examples replace the table rather than add to it (a form whose keys exclude
    /// each other).
    replace: bool,
    /// Keys the table takes that its probe's message does not list (a tag, a part's weight);
    /// `None`: the message lists none (a pattern of keys), so only the examples are checked.
    probe: Option<&'static [&'static str]>,
}

#[derive(Clone, Copy)]
enum Seg {
    Key(&'static str),
    Index(usize),
}
use Seg::{Index, Key};

const SVC_A: &[Seg] = &[Key("service"), Index(0)];
const SVC_B: &[Seg] = &[Key("service"), Index(1)];
const CALL: &[Seg] = &[Key("service"), Index(0), Key("calls"), Index(0)];
const DIST: &[Seg] = &[Key("service"), Index(1), Key("service_time")];
const FAULT: &[Seg] = &[Key("fault"), Index(0)];
const DEPLOYMENT: &[Seg] = &[Key("deployment"), Index(0)];
/// A deployment of `b` with every sub-table present, so that each can be probed.
const DEPLOY: &str = "[[deployment]]\nservice = \"b\"\nat = \"1s\"\nstrategy = \"canary\"\nnew = { error_rate = 0.01 }\nrolling = { max_surge = 1 }\nblue_green = { switch = \"instant\" }\ncanary = { steps = [{ weight = 10, pause = \"1s\" }], analysis = { interval = \"1s\" } }\nab_test = { split = 0.5 }\nshadow = { mirror = 1.0 }";
const LISTED: Option<&[&str]> = Some(&[]);
const TAG: Option<&[&str]> = Some(&["dist"]);

const SECTIONS: &[Section] = &[
    section("scenario", "scenario", &[], &[Key("scenario")], LISTED),
    section("slo", "slo", &[("", "[slo]\np99 = \"1s\"")], &[Key("slo")], LISTED),
    section("traffic", "traffic", &[], &[Key("traffic")], LISTED),
    section(
        "traffic (trace)",
        "traffic",
        &[("", "[traffic]\ntrace = \"t.csv\"\nentry = \"a\"")],
        &[Key("traffic")],
        LISTED,
    ),
    section(
        "traffic (closed loop)",
        "traffic",
        &[(
            "",
            "[traffic]\nusers = 5\nthink_time = { dist = \"constant\", value = \"1s\" }",
        )],
        &[Key("traffic")],
        LISTED,
    ),
    section(
        "traffic.diurnal",
        "traffic.diurnal",
        &[("traffic", "diurnal = { peak_to_trough = 2 }")],
        &[Key("traffic"), Key("diurnal")],
        LISTED,
    ),
    section(
        "traffic.backlog",
        "traffic.backlog",
        &[("traffic", "residency = true\nbacklog = { max = 10 }")],
        &[Key("traffic"), Key("backlog")],
        LISTED,
    ),
    section(
        "traffic.spikes",
        "traffic.spikes",
        &[(
            "traffic",
            "spikes = [{ at = \"1s\", duration = \"1s\", multiplier = 2 }]",
        )],
        &[Key("traffic"), Key("spikes"), Index(0)],
        LISTED,
    ),
    section(
        "traffic.steps",
        "traffic.steps",
        &[("traffic", "steps = [{ at = \"1s\", rate = 20 }]")],
        &[Key("traffic"), Key("steps"), Index(0)],
        LISTED,
    ),
    section(
        "traffic.bursts",
        "traffic.bursts",
        &[(
            "traffic",
            "bursts = { on = \"1s\", off = \"1s\", multiplier = 2 }",
        )],
        &[Key("traffic"), Key("bursts")],
        LISTED,
    ),
    section(
        "class",
        "class",
        &[("", "[[class]]\nname = \"x\"")],
        &[Key("class"), Index(0)],
        LISTED,
    ),
    section("service", "service", &[], SVC_A, LISTED),
    section(
        "service (cache, fixed ratio)",
        "service",
        &[("b", "kind = \"cache\"\nhit_ratio = 0.5")],
        SVC_B,
        LISTED,
    ),
    section(
        "service (cache, keyed)",
        "service",
        &[("b", "kind = \"cache\"\ncapacity = 100\nkeys = 1000")],
        SVC_B,
        LISTED,
    ),
    section(
        "service.popularity",
        "service.popularity",
        &[(
            "b",
            "kind = \"cache\"\ncapacity = 100\nkeys = 1000\npopularity = { zipf = 0.5 }",
        )],
        &[Key("service"), Index(1), Key("popularity")],
        None,
    ),
    section(
        "service (regional)",
        "service",
        &[
            ("b", "regions = { us = 1 }"),
            ("", "[[region]]\nname = \"us\"\n[[region]]\nname = \"eu\""),
        ],
        SVC_B,
        LISTED,
    ),
    section(
        "service.calls",
        "service.calls",
        &[
            ("a", "calls = [{ service = \"b\" }]"),
            ("", "[[class]]\nname = \"checkout\""),
        ],
        CALL,
        LISTED,
    ),
    section(
        "service.calls (parallel)",
        "service.calls (parallel)",
        &[("a", "calls = [{ parallel = [\"b\"] }]")],
        CALL,
        LISTED,
    ),
    section(
        "service.calls.retries",
        "service.calls.retries",
        &[("a", "calls = [{ service = \"b\", retries = { attempts = 2 } }]")],
        &[
            Key("service"),
            Index(0),
            Key("calls"),
            Index(0),
            Key("retries"),
        ],
        LISTED,
    ),
    section(
        "service.calls.hedge",
        "service.calls.hedge",
        &[("a", "calls = [{ service = \"b\", hedge = { after = \"5ms\" } }]")],
        &[Key("service"), Index(0), Key("calls"), Index(0), Key("hedge")],
        LISTED,
    ),
    section(
        "service.balancer (round_robin, random, least_outstanding, power_of_two)",
        "service.balancer (round_robin, random, least_outstanding, power_of_two)",
        &[(
            "b",
            "replicas = 2\nbalancer = { kind = \"least_outstanding\" }",
        )],
        &[Key("service"), Index(1), Key("balancer")],
        LISTED,
    ),
    section(
        "service.balancer (weighted)",
        "service.balancer (weighted)",
        &[(
            "b",
            "replicas = 2\nbalancer = { kind = \"weighted\", weights = [1, 1] }",
        )],
        &[Key("service"), Index(1), Key("balancer")],
        LISTED,
    ),
    section(
        "service.balancer (consistent_hash)",
        "service.balancer (consistent_hash)",
        &[(
            "b",
            "kind = \"cache\"\ncapacity = 100\nkeys = 1000\nreplicas = 2\nbalancer = { kind = \"consistent_hash\" }",
        )],
        &[Key("service"), Index(1), Key("balancer")],
        LISTED,
    ),
    section(
        "service.batch",
        "service.batch",
        &[("b", "batch = { max_size = 2, timeout = \"1ms\" }")],
        &[Key("service"), Index(1), Key("batch")],
        LISTED,
    ),
    section(
        "service.rate_limit",
        "service.rate_limit",
        &[("b", "rate_limit = { rate = 10, burst = 5 }")],
        &[Key("service"), Index(1), Key("rate_limit")],
        LISTED,
    ),
    replaced(section(
        "service.circuit_breaker",
        "service.circuit_breaker",
        &[("b", "circuit_breaker = { open_for = \"1s\", failures = 5 }")],
        &[Key("service"), Index(1), Key("circuit_breaker")],
        LISTED,
    )),
    section(
        "service.autoscale",
        "service.autoscale",
        &[("b", "autoscale = { min = 1, max = 10, target = 0.5 }")],
        &[Key("service"), Index(1), Key("autoscale")],
        LISTED,
    ),
    section(
        "service.autoscale.max_scale_up",
        "service.autoscale.max_scale_up",
        &[(
            "b",
            "autoscale = { min = 1, max = 10, target = 0.5, max_scale_up = { pods = 1 } }",
        )],
        &[
            Key("service"),
            Index(1),
            Key("autoscale"),
            Key("max_scale_up"),
        ],
        LISTED,
    ),
    section(
        "service.autoscale (max_scale_down)",
        "service.autoscale.max_scale_up",
        &[(
            "b",
            "autoscale = { min = 1, max = 10, target = 0.5, max_scale_down = { percent = 50 } }",
        )],
        &[
            Key("service"),
            Index(1),
            Key("autoscale"),
            Key("max_scale_down"),
        ],
        LISTED,
    ),
    section(
        "service.autoscale.schedule",
        "service.autoscale.schedule",
        &[(
            "b",
            "autoscale = { min = 1, max = 10, target = 0.5, schedule = [{ from = \"8h\", to = \"20h\", min = 2 }] }",
        )],
        &[
            Key("service"),
            Index(1),
            Key("autoscale"),
            Key("schedule"),
            Index(0),
        ],
        LISTED,
    ),
    section(
        "service.health",
        "service.health",
        &[("b", "health = { interval = \"1s\" }")],
        &[Key("service"), Index(1), Key("health")],
        LISTED,
    ),
    section(
        "region",
        "region",
        &[
            ("traffic", "diurnal = { peak_to_trough = 2 }"),
            ("", "[[region]]\nname = \"us\""),
        ],
        &[Key("region"), Index(0)],
        LISTED,
    ),
    section(
        "network",
        "network",
        &[("", "[network]\nlocal = \"0s\"")],
        &[Key("network")],
        LISTED,
    ),
    section(
        "network.failover",
        "network.failover",
        &[("", "[network]\nfailover = { dns_ttl = \"60s\" }")],
        &[Key("network"), Key("failover")],
        LISTED,
    ),
    section(
        "deployment",
        "deployment",
        &[("", DEPLOY)],
        DEPLOYMENT,
        LISTED,
    ),
    section(
        "deployment.new",
        "deployment.new",
        &[("", DEPLOY)],
        &[Key("deployment"), Index(0), Key("new")],
        LISTED,
    ),
    section(
        "deployment.rolling",
        "deployment.rolling",
        &[("", DEPLOY)],
        &[Key("deployment"), Index(0), Key("rolling")],
        LISTED,
    ),
    section(
        "deployment.blue_green",
        "deployment.blue_green",
        &[("", DEPLOY)],
        &[Key("deployment"), Index(0), Key("blue_green")],
        LISTED,
    ),
    section(
        "deployment.canary",
        "deployment.canary",
        &[("", DEPLOY)],
        &[Key("deployment"), Index(0), Key("canary")],
        LISTED,
    ),
    section(
        "deployment.canary.steps",
        "deployment.canary.steps",
        &[("", DEPLOY)],
        &[Key("deployment"), Index(0), Key("canary"), Key("steps"), Index(0)],
        LISTED,
    ),
    section(
        "deployment.canary.analysis",
        "deployment.canary.analysis",
        &[("", DEPLOY)],
        &[Key("deployment"), Index(0), Key("canary"), Key("analysis")],
        LISTED,
    ),
    section(
        "deployment.ab_test",
        "deployment.ab_test",
        &[("", DEPLOY)],
        &[Key("deployment"), Index(0), Key("ab_test")],
        LISTED,
    ),
    section(
        "deployment.shadow",
        "deployment.shadow",
        &[("", DEPLOY)],
        &[Key("deployment"), Index(0), Key("shadow")],
        LISTED,
    ),
    section(
        "fault (crash)",
        "fault",
        &[(
            "",
            "[[fault]]\nkind = \"crash\"\ntarget = \"b\"\nat = \"1s\"\nduration = \"1s\"",
        )],
        FAULT,
        LISTED,
    ),
    section(
        "fault (crash, recurring)",
        "fault",
        &[(
            "",
            "[[fault]]\nkind = \"crash\"\ntarget = \"b\"\nmtbf = \"1h\"\nmttr = \"1m\"",
        )],
        FAULT,
        LISTED,
    ),
    section(
        "fault (spot)",
        "fault",
        &[("", "[[fault]]\nkind = \"spot\"\ntarget = \"b\"\nrate = 1")],
        FAULT,
        LISTED,
    ),
    section(
        "fault (slow)",
        "fault",
        &[(
            "",
            "[[fault]]\nkind = \"slow\"\ntarget = \"b\"\nat = \"1s\"\nduration = \"1s\"\nfactor = 2",
        )],
        FAULT,
        LISTED,
    ),
    section(
        "fault (errors)",
        "fault",
        &[(
            "",
            "[[fault]]\nkind = \"errors\"\ntarget = \"b\"\nat = \"1s\"\nduration = \"1s\"\nrate = 0.1",
        )],
        FAULT,
        LISTED,
    ),
    section(
        "fault (outage)",
        "fault",
        &[(
            "",
            "[[fault]]\nkind = \"outage\"\ntarget = \"b\"\nat = \"1s\"\nduration = \"1s\"",
        )],
        FAULT,
        LISTED,
    ),
    section(
        "fault (region_outage)",
        "fault",
        &[
            ("b", "regions = { us = 1, eu = 1 }"),
            (
                "",
                "[[region]]\nname = \"us\"\n[[region]]\nname = \"eu\"\n[[fault]]\nkind = \"region_outage\"\ntarget = \"eu\"\nat = \"1s\"\nduration = \"1s\"",
            ),
        ],
        FAULT,
        LISTED,
    ),
    section(
        "cost",
        "cost",
        &[("", "[cost]\nper_gb_cross_region = 0")],
        &[Key("cost")],
        LISTED,
    ),
    section("distribution", "distribution", &[], DIST, TAG),
    dist("distribution (constant)"),
    dist("distribution (exponential)"),
    dist("distribution (uniform)"),
    dist("distribution (normal)"),
    dist("distribution (lognormal)"),
    dist("distribution (gamma)"),
    dist("distribution (erlang)"),
    dist("distribution (weibull)"),
    dist("distribution (pareto)"),
    section(
        "distribution (empirical)",
        "distribution",
        &[("b", "service_time = { dist = \"empirical\", p50 = \"1ms\" }")],
        DIST,
        None,
    ),
    dist("distribution (mixture)"),
    section(
        "distribution (mixture part)",
        "distribution",
        &[(
            "b",
            "service_time = { dist = \"mixture\", parts = [{ weight = 1, dist = \"constant\", value = \"1ms\" }] }",
        )],
        &[
            Key("service"),
            Index(1),
            Key("service_time"),
            Key("parts"),
            Index(0),
        ],
        Some(&["dist", "weight"]),
    ),
    replaced(section(
        "sweep (axis)",
        "sweep (axis)",
        &[(
            "",
            "[slo]\np99 = \"1s\"\n[plan]\n\"traffic.rate\" = { from = 1, to = 2 }",
        )],
        &[Key("plan"), Key("traffic.rate")],
        LISTED,
    )),
];

const fn section(
    id: &'static str,
    group: &'static str,
    setup: &'static [(&'static str, &'static str)],
    path: &'static [Seg],
    probe: Option<&'static [&'static str]>,
) -> Section {
    Section {
        id,
        group,
        setup,
        path,
        replace: false,
        probe,
    }
}

/// A section whose examples replace its table.
const fn replaced(section: Section) -> Section {
    Section {
        replace: true,
        ..section
    }
}

/// A distribution kind: service b's service time, set by `scenario_of` from [`dist_table`].
const fn dist(id: &'static str) -> Section {
    section(id, "distribution", &[], DIST, TAG)
}

/// The minimal table of each distribution kind.
fn dist_table(id: &str) -> Option<&'static str> {
    let kinds: &[(&str, &str)] = &[
        ("constant", "{ dist = \"constant\", value = \"1ms\" }"),
        ("exponential", "{ dist = \"exponential\", mean = \"1ms\" }"),
        ("uniform", "{ dist = \"uniform\", min = \"1ms\", max = \"2ms\" }"),
        ("normal", "{ dist = \"normal\", mean = \"1ms\", stddev = \"1ms\" }"),
        ("lognormal", "{ dist = \"lognormal\" }"),
        ("gamma", "{ dist = \"gamma\", mean = \"1ms\", cv = 0.5 }"),
        ("erlang", "{ dist = \"erlang\", k = 2, mean = \"1ms\" }"),
        ("weibull", "{ dist = \"weibull\", shape = 2, scale = \"1ms\" }"),
        ("pareto", "{ dist = \"pareto\", scale = \"1ms\", shape = 2 }"),
        (
            "mixture",
            "{ dist = \"mixture\", parts = [{ weight = 1, dist = \"constant\", value = \"1ms\" }] }",
        ),
    ];
    let kind = id.strip_prefix("distribution (")?.strip_suffix(')')?;
    kinds.iter().find(|(k, _)| *k == kind).map(|(_, t)| *t)
}

/// The section's scenario as a TOML table: BASE with its setup applied.
fn scenario_of(section: &Section) -> toml::Table {
    let mut text = BASE.to_string();
    let mut service_lines: BTreeMap<&str, String> = BTreeMap::new();
    let mut traffic_lines = String::new();
    let mut tables = String::new();
    for (table, lines) in section.setup {
        match *table {
            "" => tables.push_str(&format!("\n{lines}\n")),
            "traffic" => traffic_lines.push_str(&format!("{lines}\n")),
            name => service_lines
                .entry(name)
                .or_default()
                .push_str(&format!("{lines}\n")),
        }
    }
    if let Some(table) = dist_table(section.id) {
        service_lines
            .entry("b")
            .or_default()
            .push_str(&format!("service_time = {table}\n"));
    }
    // A replaced [traffic] drops BASE's own.
    if tables.contains("[traffic]") {
        text = text.replace("[traffic]\nrate = 10\nentry = \"a\"\n", "");
    }
    text = text.replace(
        "[traffic]\nrate = 10\n",
        &format!("[traffic]\nrate = 10\n{traffic_lines}"),
    );
    let mut table: toml::Table = toml::from_str(&format!("{text}{tables}"))
        .unwrap_or_else(|e| panic!("{}: the setup is not TOML: {e}", section.id));
    for (name, lines) in service_lines {
        let extra: toml::Table = toml::from_str(&lines).expect("setup lines are TOML");
        let services = table["service"].as_array_mut().expect("services");
        let service = services
            .iter_mut()
            .find(|s| s["name"].as_str() == Some(name))
            .and_then(toml::Value::as_table_mut)
            .expect("a service of BASE");
        service.extend(extra);
    }
    table
}

/// The table at `path`.
fn table_at<'a>(root: &'a mut toml::Table, path: &[Seg], id: &str) -> &'a mut toml::Table {
    let missing = || -> ! { panic!("{id}: no table at its path") };
    let Some((Key(first), rest)) = path.split_first() else {
        missing()
    };
    let mut value = root.get_mut(*first).unwrap_or_else(|| missing());
    for seg in rest {
        value = match (value, seg) {
            (toml::Value::Table(t), Key(k)) => t.get_mut(*k),
            (toml::Value::Array(a), Index(i)) => a.get_mut(*i),
            _ => None,
        }
        .unwrap_or_else(|| missing());
    }
    value.as_table_mut().unwrap_or_else(|| missing())
}

/// Loads `scenario`, with any trace file it names holding two rate rows.
fn load(scenario: &toml::Table) -> Result<(), Vec<(String, String)>> {
    let text = toml::to_string(scenario).expect("serialize a scenario");
    let files = |_: &str| Ok("time_s,rate\n0,10\n5,20\n".to_string());
    capsim::scenario::load_with_files(&text, "reference.toml", &[], &files)
        .map(|_| ())
        .map_err(|e| {
            e.diagnostics
                .into_iter()
                .map(|d| (d.path, d.message))
                .collect()
        })
}

/// The keys the reader takes in the section's table, from its message about `zz_probe`.
fn accepted(section: &Section) -> Option<BTreeSet<String>> {
    let extra = section.probe?;
    let mut scenario = scenario_of(section);
    table_at(&mut scenario, section.path, section.id).insert("zz_probe".into(), 1.into());
    let problems = load(&scenario).expect_err("an unknown key is refused");
    let (_, message) = problems
        .iter()
        .find(|(path, _)| path.ends_with("zz_probe"))
        .unwrap_or_else(|| panic!("{}: no problem names zz_probe: {problems:?}", section.id));
    let list = if let Some((_, list)) = message.split_once("valid keys: ") {
        list.split(", ")
            .map(|k| k.trim().trim_matches('`').to_string())
            .collect::<BTreeSet<_>>()
    } else if let Some((_, list)) = message.split_once("it takes ") {
        list.split(", ").map(|k| k.trim().to_string()).collect()
    } else {
        panic!("{}: the message lists no keys: {message}", section.id)
    };
    Some(
        list.into_iter()
            .chain(extra.iter().map(|k| k.to_string()))
            .collect(),
    )
}

/// The reference's rows: section heading -> [(key, example)].
fn documented(text: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut sections: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            current = Some(heading.replace('`', ""));
            continue;
        }
        let Some(row) = line.strip_prefix("| `") else {
            continue;
        };
        let key = row.split('`').next().unwrap_or_default().to_string();
        // The last cell: after the last "| `" (an example holds no "|").
        let example = line
            .trim_end()
            .strip_suffix(" |")
            .and_then(|l| l.rsplit_once("| `"))
            .and_then(|(_, cell)| cell.strip_suffix('`'))
            .unwrap_or_else(|| panic!("the row of `{key}` ends with no `example`: {line}"))
            .to_string();
        let section = current.clone().expect("a row under a heading");
        sections.entry(section).or_default().push((key, example));
    }
    sections
}

fn reference() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario-reference.md");
    std::fs::read_to_string(path).expect("read docs/scenario-reference.md")
}

/// Every key the reader accepts in every probed table has a row; every row names a key the
/// reader accepts in its table; every top-level table has a section.
#[test]
fn the_reference_lists_exactly_the_keys_the_reader_accepts() {
    let docs = documented(&reference());
    let mut wrong = Vec::new();
    for id in docs.keys() {
        if !SECTIONS.iter().any(|s| s.id == id) {
            wrong.push(format!(
                "section `{id}` is not known to tests/integration/reference.rs"
            ));
        }
    }
    let mut group_docs: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for section in SECTIONS {
        let keys = docs
            .get(section.id)
            .into_iter()
            .flatten()
            .map(|(k, _)| k.clone());
        group_docs.entry(section.group).or_default().extend(keys);
    }
    for section in SECTIONS {
        let Some(accepted) = accepted(section) else {
            continue;
        };
        for (key, _) in docs.get(section.id).into_iter().flatten() {
            if !accepted.contains(key) {
                wrong.push(format!(
                    "`{}` documents `{key}`, which the reader refuses (remove it from src/scenario/keys.rs, or read it)",
                    section.id
                ));
            }
        }
        for key in &accepted {
            if !group_docs[section.group].contains(key) {
                wrong.push(format!(
                    "`{}`: the reader accepts `{key}`, missing from src/scenario/keys.rs: add a key(\"{key}\", ...) row to its section `{}` there and regenerate this page (see its head)",
                    section.id, section.id
                ));
            }
        }
    }
    let text = reference();
    let headings: Vec<&str> = text.lines().filter(|l| l.starts_with("## ")).collect();
    for table in serde_introspect::<RawScenario>() {
        if !headings.iter().any(|h| h.contains(&format!("`{table}"))) {
            wrong.push(format!("the top-level table `{table}` has no section"));
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "docs/scenario-reference.md:\n{}",
        wrong.join("\n")
    );
}

/// Every example of the reference, set on its section's scenario, validates.
#[test]
fn every_example_of_the_reference_validates() {
    let docs = documented(&reference());
    let mut wrong = Vec::new();
    for section in SECTIONS {
        for (key, example) in docs.get(section.id).into_iter().flatten() {
            let parsed: Result<toml::Table, _> = toml::from_str(&format!("x = {{ {example} }}"));
            let Ok(mut parsed) = parsed else {
                wrong.push(format!("`{}`.`{key}`: `{example}` is not TOML", section.id));
                continue;
            };
            let Some(toml::Value::Table(example_table)) = parsed.remove("x") else {
                unreachable!("x is the inline table just written")
            };
            if !example_table.contains_key(key) {
                wrong.push(format!(
                    "`{}`.`{key}`: the example `{example}` does not set it",
                    section.id
                ));
            }
            let mut scenario = scenario_of(section);
            let table = table_at(&mut scenario, section.path, section.id);
            if section.replace {
                table.clear();
            }
            table.extend(example_table);
            if let Err(problems) = load(&scenario) {
                wrong.push(format!(
                    "`{}`.`{key}` = `{example}`: {problems:?}",
                    section.id
                ));
                continue;
            }
            // The example, as JSON, validates against `capsim schema`.
            if let Err(e) = schema_check(&scenario) {
                wrong.push(format!(
                    "`{}`.`{key}` = `{example}`: capsim schema refuses it: {e}",
                    section.id
                ));
            }
            // The key table's bounds are the reader's: a number just outside them is refused.
            for beyond in outside_bounds(section.id, key) {
                let mut outside = scenario.clone();
                table_at(&mut outside, section.path, section.id)
                    .insert(key.clone(), beyond.clone());
                if load(&outside).is_ok() {
                    wrong.push(format!(
                        "`{}`.`{key}` = {beyond}: the reader accepts it, outside the bounds of src/scenario/keys.rs",
                        section.id
                    ));
                }
            }
            // The reader reads the key: set to a value of the wrong kind, it is refused naming
            // the key (a key of the key table that the reader ignored would pass).
            let table = table_at(&mut scenario, section.path, section.id);
            // A value of another kind than the example's: a string where it gave a table (a
            // table of free names would take an unknown one), else a table.
            let probe = if table.get(key.as_str()).is_some_and(toml::Value::is_table) {
                toml::Value::String("zz_probe".into())
            } else {
                toml::Value::Table(toml::from_str("zz_probe = 1").expect("TOML"))
            };
            table.insert(key.clone(), probe);
            match load(&scenario) {
                Ok(()) => wrong.push(format!(
                    "`{}`.`{key}`: the reader ignores it (a value of the wrong kind was accepted); read it, or remove it from src/scenario/keys.rs",
                    section.id
                )),
                Err(problems) => {
                    if !problems.iter().any(|(path, message)| path.contains(key.as_str()) || message.contains(key.as_str())) {
                        wrong.push(format!(
                            "`{}`.`{key}` = a value of the wrong kind: refused, but no problem names it: {problems:?}",
                            section.id
                        ));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "docs/scenario-reference.md:\n{}",
        wrong.join("\n")
    );
}

/// The key tables of docs/scenario-reference.md are the key table's, byte for byte.
#[test]
fn the_reference_tables_are_printed_from_the_key_table() {
    let text = reference();
    let spliced =
        splice_reference(&text).unwrap_or_else(|e| panic!("docs/scenario-reference.md: {e}"));
    if spliced != text {
        let first = text
            .lines()
            .zip(spliced.lines())
            .position(|(a, b)| a != b)
            .map_or(0, |i| i + 1);
        panic!(
            "docs/scenario-reference.md's key tables differ from src/scenario/keys.rs (first at line {first}); regenerate them with\n  cargo run --release -- schema --markdown docs/scenario-reference.md > /tmp/reference.md && mv /tmp/reference.md docs/scenario-reference.md"
        );
    }
}

/// The serde structs of `src/scenario/raw.rs` take exactly the keys the key table lists at
/// their path.
#[test]
fn the_raw_structs_take_exactly_the_key_tables_keys() {
    fn compare<T: Keyed + for<'de> serde::Deserialize<'de>>(name: &str, wrong: &mut Vec<String>) {
        let table = keys::names_of::<T>();
        let fields = serde_introspect::<T>();
        let at = if T::PATH.is_empty() {
            "the top level"
        } else {
            T::PATH
        };
        for field in fields {
            if !table.contains(field) {
                wrong.push(format!(
                    "`{field}` of {name} (src/scenario/raw.rs) is missing from src/scenario/keys.rs at `{at}`: add a key(\"{field}\", ...) row to a section with path \"{}\"",
                    T::PATH
                ));
            }
        }
        for key in table {
            if !fields.contains(&key) {
                wrong.push(format!(
                    "`{key}` is in src/scenario/keys.rs at `{at}` but {name} (src/scenario/raw.rs) has no such field"
                ));
            }
        }
    }
    let mut wrong = Vec::new();
    compare::<RawScenario>("RawScenario", &mut wrong);
    compare::<RawRun>("RawRun", &mut wrong);
    compare::<RawSlo>("RawSlo", &mut wrong);
    compare::<RawTraffic>("RawTraffic", &mut wrong);
    compare::<RawService>("RawService", &mut wrong);
    compare::<RawClass>("RawClass", &mut wrong);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `scenario` (as JSON) checked against `capsim schema`'s JSON Schema.
fn schema_check(scenario: &toml::Table) -> Result<(), String> {
    use std::sync::OnceLock;
    static SCHEMA: OnceLock<(boon::Schemas, boon::SchemaIndex)> = OnceLock::new();
    let (schemas, index) = SCHEMA.get_or_init(|| {
        let url = "file:///capsim.schema.json";
        let schema: serde_json::Value =
            serde_json::from_str(&capsim::scenario::schema::json_schema()).expect("JSON");
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler.add_resource(url, schema).expect("add the schema");
        let index = compiler
            .compile(url, &mut schemas)
            .expect("compile the schema");
        (schemas, index)
    });
    let json = serde_json::to_value(scenario).expect("TOML as JSON");
    schemas.validate(&json, *index).map_err(|e| format!("{e}"))
}

/// Numbers just outside the bounds the key table gives `key` of section `id`.
fn outside_bounds(id: &str, key: &str) -> Vec<toml::Value> {
    let Some(k) = keys::section(id).and_then(|s| s.keys.iter().find(|k| k.name == key)) else {
        return Vec::new();
    };
    let whole = k.ty == keys::Type::Whole;
    let value = |x: f64| {
        if whole {
            toml::Value::Integer(x as i64)
        } else {
            toml::Value::Float(x)
        }
    };
    let step = |x: f64| {
        if whole {
            1.0
        } else {
            (x.abs() * 0.5).max(0.0005)
        }
    };
    let mut values = Vec::new();
    if let Some(min) = k.min {
        values.push(value(if min.exclusive {
            min.value
        } else {
            min.value - step(min.value)
        }));
    }
    if let Some(max) = k.max {
        values.push(value(if max.exclusive {
            max.value
        } else {
            max.value + step(max.value)
        }));
    }
    values
}
