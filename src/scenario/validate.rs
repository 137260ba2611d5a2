//! Raw scenario -> [`Model`], collecting every problem rather than stopping at the first.

use super::duration::parse_duration_ns;
use super::graph;
use super::ids::NameIndex;
use super::model::{BalancerKind, Class, Lookup, Measure, Model, Objective, Service, Traffic};
use super::paths::{self, Names};
use super::problem::{join, unknown_key_message, Problem};
use super::raw::{RawClass, RawRun, RawScenario, RawService, RawSlo, RawTraffic};
use serde::de::DeserializeOwned;
use serde_aux::serde_introspection::serde_introspect;

/// Default for `scenario.max_in_flight`: about 100 MB of requests in flight at the most.
pub const DEFAULT_MAX_IN_FLIGHT: i64 = 1_000_000;
/// Upper bounds that keep a typo (an extra zero or three) from exhausting memory or time.
const MAX_REPLICATIONS: i64 = 100_000;
const MAX_WORKERS: i64 = 1_000_000;

/// Checks a parsed scenario. `default_name` names the scenario when `scenario.name` is absent.
pub fn validate(
    table: &toml::Table,
    default_name: &str,
    files: super::world::FileReader,
) -> Result<Model, Vec<Problem>> {
    checked(
        table,
        Written::Borrowed(table.get("service")),
        default_name,
        files,
    )
}

/// [`validate`] of a table the caller has no more use for: its `[[service]]` array, nearly
/// all of a large design, is taken apart into the raw services rather than copied (a copy
/// is a parse tree of it, about 1.4 KB per service). A table with `[sweep]` or `[plan]` is
/// validated as [`validate`] does, since checking the grid validates the table whole again.
pub fn validate_owned(
    mut table: toml::Table,
    default_name: &str,
    files: super::world::FileReader,
) -> Result<Model, Vec<Problem>> {
    if table.contains_key("sweep") || table.contains_key("plan") {
        return validate(&table, default_name, files);
    }
    let services = table.remove("service");
    checked(&table, Written::Owned(services), default_name, files)
}

/// The `[[service]]` array as written: in the table validated, or taken out of it.
enum Written<'a> {
    Borrowed(Option<&'a toml::Value>),
    Owned(Option<toml::Value>),
}

impl Written<'_> {
    fn is_none(&self) -> bool {
        matches!(self, Written::Borrowed(None) | Written::Owned(None))
    }
}

/// [`validate`], with `[[service]]` given apart from the rest of the table.
fn checked(
    table: &toml::Table,
    services_written: Written,
    default_name: &str,
    files: super::world::FileReader,
) -> Result<Model, Vec<Problem>> {
    let mut problems = Vec::new();
    // `[[service]]` is read where it is, not copied into `top` as every other table is.
    let top: RawScenario = typed_table(table, "", &["service"], &mut problems).unwrap_or_default();
    let written =
        |key: &str| table.contains_key(key) || key == "service" && !services_written.is_none();

    let run: RawRun = top
        .scenario
        .as_ref()
        .and_then(|v| typed(v, "scenario", &mut problems))
        .unwrap_or_default();
    let slo: RawSlo = top
        .slo
        .as_ref()
        .and_then(|v| typed(v, "slo", &mut problems))
        .unwrap_or_default();
    // A misspelt table (`[[services]]`, `[trafic]`) is reported as an unknown key with the
    // nearest valid one; it is not also reported missing. Only keys that are not valid are
    // looked at (a valid key's nearest is itself): every sweep point is checked, and the
    // edit distances to every table name were a quarter of a sweep of short points.
    let tables = serde_introspect::<RawScenario>();
    let misspelt: Vec<&str> = table
        .keys()
        .filter(|k| !tables.contains(&k.as_str()))
        .filter_map(|k| super::problem::nearest(k, tables))
        .filter(|near| !written(near))
        .collect();
    let traffic: Option<RawTraffic> = match &top.traffic {
        Some(toml::Value::Array(_)) => {
            problems.push(Problem::new(
                "traffic",
                "a scenario has one traffic source: one [traffic] table with its rate; to mix kinds of request, give [traffic] the total rate and add [[class]] tables (name, weight, entry, slo)",
            ));
            None
        }
        Some(v) => typed(v, "traffic", &mut problems),
        None if misspelt.contains(&"traffic") => None,
        None => {
            problems.push(Problem::new(
                "traffic",
                "missing [traffic]; add e.g. `[traffic]` with `rate = 100` and `entry = \"api\"`",
            ));
            None
        }
    };
    let raw_services = if services_written.is_none() && misspelt.contains(&"service") {
        Vec::new()
    } else {
        services(services_written, &mut problems)
    };

    let (duration_ns, warmup_ns) = clock(&run, &mut problems);
    let seed = match run.seed {
        Some(s) if s < 0 => {
            problems.push(Problem::new(
                "scenario.seed",
                format!("seed {s} is negative; use a whole number from 0"),
            ));
            0
        }
        Some(s) => s as u64,
        None => 1,
    };
    let replications = count(
        run.replications,
        "scenario.replications",
        1,
        1,
        MAX_REPLICATIONS,
        &mut problems,
    );
    let max_in_flight = count(
        run.max_in_flight,
        "scenario.max_in_flight",
        DEFAULT_MAX_IN_FLIGHT,
        1,
        i64::from(u32::MAX),
        &mut problems,
    );
    let objectives = objectives(&slo, "slo", &mut problems);

    let names = NameIndex::new(
        raw_services
            .iter()
            .map(|(path, s)| s.name.clone().unwrap_or_else(|| path.clone()))
            .collect(),
    );
    let raw_classes = classes(top.class.as_ref(), &mut problems);
    let has_slo = !objectives.is_empty() || raw_classes.iter().any(|(_, c)| c.slo.is_some());
    // Each axis value is checked by validating the scenario with it set (without the grid
    // tables, so this does not recurse further).
    let whole = |t: &toml::Table| validate(t, "scenario", files).err().unwrap_or_default();
    super::grid::check(table, has_slo, &whole, &mut problems);
    let class_names = NameIndex::new(
        raw_classes
            .iter()
            .map(|(path, c)| c.name.clone().unwrap_or_else(|| path.clone()))
            .collect(),
    );
    let call_names = Names {
        services: &names,
        classes: &class_names,
    };
    let services: Vec<Option<Service>> = raw_services
        .iter()
        .enumerate()
        .map(|(i, (path, raw))| service(i, raw, path, &call_names, &mut problems))
        .collect();

    let mut traffic_and_entry = traffic.and_then(|t| traffic_model(&t, &names, &mut problems));
    let world = super::world_keys::world(
        &top,
        &run,
        traffic_and_entry.as_mut().map(|(t, _)| t),
        &raw_services,
        &names,
        duration_ns,
        files,
        &mut problems,
    );
    let classes = traffic_and_entry.as_ref().and_then(|(traffic, entry)| {
        resolve_classes(
            &raw_classes,
            &class_names,
            &names,
            traffic,
            *entry,
            &mut problems,
        )
    });
    let deployments = {
        let provisioning = |id: usize| {
            world
                .as_ref()
                .and_then(|w| w.services.get(id))
                .and_then(|s| s.fleet.autoscale.as_ref())
                .map_or_else(
                    || crate::distribution::Distribution::constant(0.0),
                    |a| a.provisioning.clone(),
                )
        };
        super::deploy::deployments(
            top.deployment.as_ref(),
            &names,
            duration_ns,
            &provisioning,
            &mut problems,
        )
    };
    for (i, (d, _)) in deployments.iter().enumerate() {
        let metric = world
            .as_ref()
            .and_then(|w| w.services.get(d.service))
            .and_then(|s| s.fleet.autoscale.as_ref())
            .map(|a| a.metric);
        if d.autoscale == super::deploy::Coupling::Separate
            && metric.is_some_and(|m| m != super::fleet::Metric::Utilization)
        {
            problems.push(Problem::new(
                format!("deployment[{i}].autoscale"),
                "autoscale = \"separate\" (one HPA per version) works with the utilization metric only; use metric = \"utilization\", or autoscale = \"blended\"",
            ));
        }
    }
    let entries: Vec<usize> = classes.iter().flatten().map(|c| c.entry).collect();
    check_call_graph(&raw_services, &names, &entries, &mut problems);
    let traffic = traffic_and_entry.map(|(traffic, _)| traffic);

    check_key_sources(&raw_services, &services, &mut problems);

    // A key whose value had the wrong type was set aside; it is not also "missing".
    let mut reported = std::collections::HashSet::new();
    problems.retain(|p| reported.insert(p.path.clone()) || !p.message.starts_with("missing"));
    let services: Option<Vec<Service>> = services.into_iter().collect();
    match (traffic, services, classes, world) {
        (Some(traffic), Some(mut services), Some(classes), Some(world)) if problems.is_empty() => {
            // The series costs a little per window: recorded when the world changes over
            // time, when a window is asked for, or (set by the CLI) when files are written.
            let record_series = run.window.is_some()
                || !deployments.is_empty()
                || !world.fleet.regions.is_empty()
                || !world.fleet.faults.is_empty()
                || world.services.iter().any(|s| {
                    s.fleet.autoscale.is_some() || s.fleet.health.is_some()
                })
                || !matches!(traffic.arrivals, super::world::Arrivals::Poisson);
            Ok(Model {
            name: run.name.unwrap_or_else(|| default_name.to_string()),
            duration_ns,
            warmup_ns,
            seed,
            replications: replications as u32,
            max_in_flight: max_in_flight as usize,
            slo: objectives,
            traffic,
            services: {
                for (service, fleet) in services.iter_mut().zip(world.services) {
                    service.replicas = fleet.initial_replicas.unwrap_or(service.replicas);
                    service.fleet = fleet.fleet;
                }
                for (d, new) in &deployments {
                    services[d.service].versions.push(super::model::Version {
                        name: "new".into(),
                        service_time: new.service_time.clone(),
                        error_rate: new.error_rate,
                        price_per_hour_usd: new.price_per_hour_usd,
                    });
                }
                services
            },
            deployments: deployments.into_iter().map(|(d, _)| d).collect(),
            classes,
            series_window_ns: world.window_ns,
            record_series,
            fleet: world.fleet,
            })
        }
        // Every part that failed to resolve reported why, so `problems` is not empty here;
        // should that ever not hold, say so rather than panic or run a broken model.
        _ if problems.is_empty() => Err(vec![Problem::new(
            "",
            "the scenario could not be resolved, though no problem was found; please report this as a bug",
        )]),
        _ => Err(problems),
    }
}

/// Checks a table's keys against `T`'s fields (every unknown key, with the nearest valid
/// one), then deserializes the known keys.
fn typed<T: DeserializeOwned + super::keys::Keyed>(
    value: &toml::Value,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let Some(table) = value.as_table() else {
        let what = if path.is_empty() { "the file" } else { path };
        problems.push(Problem::new(
            path,
            format!("{what} must be a table, found {}", value.type_str()),
        ));
        return None;
    };
    typed_table(table, path, &[], problems)
}

/// [`typed`] of a table, leaving out the keys `except` (known keys the caller reads from
/// `table` itself): the known keys are copied once, into the `T` they become; a table with a
/// value of the wrong type is copied again, key by key, to report each such key.
fn typed_table<T: DeserializeOwned + super::keys::Keyed>(
    table: &toml::Table,
    path: &str,
    except: &[&str],
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let fields = super::keys::names_of::<T>();
    unknown_keys(table, &fields, path, problems);
    let is_read = |key: &str| fields.contains(&key) && !except.contains(&key);
    let known = || -> toml::Table {
        table
            .iter()
            .filter(|(k, _)| is_read(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    if let Ok(raw) = toml::Value::Table(known()).try_into::<T>() {
        return Some(raw);
    }
    // Some value has the wrong type. Every raw field is optional, so each key can be tried on
    // its own: report each bad key at its own path, and go on with the rest.
    let mut known = known();
    for (key, value) in table.iter().filter(|(k, _)| is_read(k)) {
        let single = toml::Table::from_iter([(key.clone(), value.clone())]);
        if let Err(e) = toml::Value::Table(single).try_into::<T>() {
            problems.push(Problem::new(
                join(path, key),
                wrong_type_message(key, e.message(), value),
            ));
            known.remove(key);
        }
    }
    toml::Value::Table(known).try_into::<T>().ok()
}

/// Reports each key of `table` that is not among `fields`, with the nearest valid one.
fn unknown_keys(table: &toml::Table, fields: &[&str], path: &str, problems: &mut Vec<Problem>) {
    for key in table.keys() {
        if !fields.contains(&key.as_str()) {
            problems.push(Problem::new(
                join(path, key),
                unknown_key_message(key, fields),
            ));
        }
    }
}

/// A TOML value as a person would name it in a message.
fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("the string \"{s}\""),
        toml::Value::Table(_) => "a table".into(),
        toml::Value::Array(_) => "a list".into(),
        toml::Value::Integer(i) => format!("the whole number {i}"),
        toml::Value::Float(f) => format!("the number {f}"),
        toml::Value::Boolean(b) => format!("{b}"),
        other => format!("the {} {other}", other.type_str()),
    }
}

/// Names that `--set` paths (dotted, `service.NAME.KEY`) and JSON keys can carry as they are:
/// letters, digits, `-` and `_`, starting with a letter or digit.
fn name_problem(name: &str, what: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    (!ok && !name.trim().is_empty()).then(|| {
        let suggestion: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
            .collect();
        format!(
            "{what} name \"{name}\" can hold only letters, digits, - and _ (starting with a letter or digit), so that --set {what}.NAME.KEY can reach it; e.g. \"{}\"",
            suggestion.trim_start_matches(['-', '_'])
        )
    })
}

/// Keys whose values are durations written with a unit.
const DURATION_KEYS: [&str; 11] = [
    "duration",
    "warmup",
    "mean",
    "p50",
    "p90",
    "p95",
    "p99",
    "p999",
    "ttl",
    "queue_timeout",
    "clock",
];

/// What a key of the wrong type should have been, in the user's words: serde's message names
/// a Rust type ("expected f64"), which becomes "a number, e.g. rate = 0.5".
fn wrong_type_message(key: &str, serde_message: &str, found: &toml::Value) -> String {
    let expected = serde_message.split("expected ").nth(1).unwrap_or("").trim();
    if DURATION_KEYS.contains(&key)
        && matches!(found, toml::Value::Integer(_) | toml::Value::Float(_))
    {
        return format!(
            "{key} needs a unit: write e.g. {key} = \"{found}ms\" (units: ns, us, ms, s, m, h, d), not the bare number {found}"
        );
    }
    let whole = [
        "i8",
        "i16",
        "i32",
        "i64",
        "u8",
        "u16",
        "u32",
        "u64",
        "usize",
        "an integer",
    ];
    let (words, example) = if whole.iter().any(|t| expected.starts_with(t)) {
        ("a whole number", format!("{key} = 2"))
    } else if expected.starts_with("f64")
        || expected.starts_with("f32")
        || expected.starts_with("a float")
    {
        ("a number", format!("{key} = 0.5"))
    } else if expected.starts_with("a boolean") {
        ("true or false", format!("{key} = true"))
    } else if expected.starts_with("a sequence") {
        ("a list", format!("{key} = [\"a\", \"b\"]"))
    } else if expected.starts_with("a string") && DURATION_KEYS.contains(&key) {
        ("a duration", format!("{key} = \"50ms\""))
    } else if expected.starts_with("a string") {
        ("text in quotes", format!("{key} = \"text\""))
    } else {
        ("a table", format!("{key} = {{ ... }}"))
    };
    format!(
        "{key} must be {words}, e.g. {example}, not {}",
        describe(found)
    )
}

/// The `[[service]]` array, each element with its display path (`service.api`).
fn services(written: Written, problems: &mut Vec<Problem>) -> Vec<(String, RawService)> {
    let missing = |problems: &mut Vec<Problem>| {
        problems.push(Problem::new(
            "service",
            "no [[service]] defined; a scenario needs at least one",
        ));
        Vec::new()
    };
    match written {
        Written::Borrowed(None) | Written::Owned(None) => missing(problems),
        Written::Borrowed(Some(value)) => named_tables(value, "service", "services", problems),
        Written::Owned(Some(toml::Value::Array(elements))) => elements
            .into_iter()
            .enumerate()
            .filter_map(|(i, element)| {
                let path = element_path(&element, "service", i);
                typed_owned::<RawService>(element, &path, problems).map(|raw| (path, raw))
            })
            .collect(),
        Written::Owned(Some(value)) => named_tables(&value, "service", "services", problems),
    }
}

/// The display path of element `i` of an array of tables: `KEY.NAME`, or `KEY[i]` for an
/// element without a name.
fn element_path(element: &toml::Value, key: &str, i: usize) -> String {
    match element.get("name").and_then(|n| n.as_str()) {
        Some(name) => format!("{key}.{name}"),
        None => format!("{key}[{i}]"),
    }
}

/// [`typed`] of a value the caller has no more use for: a table is moved into the `T` it
/// becomes instead of copied. Whether it fits is first tried on a probe holding an empty
/// table or list in place of each table or list (the fields that take any value take
/// those; a field that takes a number, text or a boolean refuses both as it refuses the
/// real ones); a table that does not fit goes to [`typed_table`], which reports each key.
fn typed_owned<T: DeserializeOwned + super::keys::Keyed>(
    value: toml::Value,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let toml::Value::Table(mut table) = value else {
        return typed(&value, path, problems);
    };
    let fields = super::keys::names_of::<T>();
    let probe: toml::Table = table
        .iter()
        .filter(|(k, _)| fields.contains(&k.as_str()))
        .map(|(k, v)| {
            let stand_in = match v {
                toml::Value::Table(_) => toml::Value::Table(toml::Table::new()),
                toml::Value::Array(_) => toml::Value::Array(Vec::new()),
                scalar => scalar.clone(),
            };
            (k.clone(), stand_in)
        })
        .collect();
    if toml::Value::Table(probe).try_into::<T>().is_err() {
        return typed_table(&table, path, &[], problems);
    }
    unknown_keys(&table, &fields, path, problems);
    table.retain(|k, _| fields.contains(&k));
    toml::Value::Table(table).try_into::<T>().ok()
}

/// An array of tables (`[[service]]`, `[[class]]`), each element read as `T` with its display
/// path: `KEY.NAME`, or `KEY[i]` for an element without a name.
fn named_tables<T: DeserializeOwned + super::keys::Keyed>(
    value: &toml::Value,
    key: &str,
    plural: &str,
    problems: &mut Vec<Problem>,
) -> Vec<(String, T)> {
    let Some(array) = value.as_array() else {
        problems.push(Problem::new(
            key,
            format!("{plural} are written as [[{key}]] tables"),
        ));
        return Vec::new();
    };
    array
        .iter()
        .enumerate()
        .filter_map(|(i, element)| {
            let path = element_path(element, key, i);
            typed::<T>(element, &path, problems).map(|raw| (path, raw))
        })
        .collect()
}

fn clock(run: &RawRun, problems: &mut Vec<Problem>) -> (u64, u64) {
    let duration_ns = match &run.duration {
        None => {
            problems.push(Problem::new(
                "scenario.duration",
                "missing scenario.duration, the simulated time; add e.g. duration = \"10m\"",
            ));
            None
        }
        Some(text) => match parse_duration_ns(text) {
            Ok(0) => {
                problems.push(Problem::new(
                    "scenario.duration",
                    "duration must be longer than 0",
                ));
                None
            }
            Ok(ns) => Some(ns),
            Err(e) => {
                problems.push(Problem::new("scenario.duration", e));
                None
            }
        },
    };
    let warmup_ns = match &run.warmup {
        None => Some(0),
        Some(text) => match parse_duration_ns(text) {
            Ok(ns) => Some(ns),
            Err(e) => {
                problems.push(Problem::new("scenario.warmup", e));
                None
            }
        },
    };
    if let (Some(d), Some(w)) = (duration_ns, warmup_ns) {
        if w >= d {
            problems.push(Problem::new(
                "scenario.warmup",
                format!(
                    "warmup \"{}\" is not shorter than duration \"{}\"; statistics cover [warmup, duration), so warmup must be less",
                    run.warmup.as_deref().unwrap_or_default(),
                    run.duration.as_deref().unwrap_or_default()
                ),
            ));
        }
    }
    (duration_ns.unwrap_or(1), warmup_ns.unwrap_or(0))
}

/// A whole number in `[min, max]`, or `default` when absent.
fn count(
    value: Option<i64>,
    path: &str,
    default: i64,
    min: i64,
    max: i64,
    problems: &mut Vec<Problem>,
) -> i64 {
    let v = value.unwrap_or(default);
    if v < min || v > max {
        problems.push(Problem::new(
            path,
            format!("{v} is out of range; use a whole number from {min} to {max}"),
        ));
        return default;
    }
    v
}

fn objectives(slo: &RawSlo, path: &str, problems: &mut Vec<Problem>) -> Vec<Objective> {
    let mut out = Vec::new();
    let latency = [
        (Measure::Mean, &slo.mean),
        (Measure::P50, &slo.p50),
        (Measure::P90, &slo.p90),
        (Measure::P95, &slo.p95),
        (Measure::P99, &slo.p99),
        (Measure::P999, &slo.p999),
    ];
    for (measure, text) in latency {
        let Some(text) = text else { continue };
        match parse_duration_ns(text) {
            Ok(ns) => out.push(Objective {
                measure,
                target: ns as f64,
            }),
            Err(e) => problems.push(Problem::new(join(path, measure.key()), e)),
        }
    }
    let shares = [
        (
            Measure::Availability,
            slo.availability,
            "is not a probability; use a ratio from 0 to 1, e.g. 0.999",
        ),
        (
            Measure::Degraded,
            slo.degraded,
            "is not a share; use a ratio from 0 to 1 (the most of the finished requests that may be answered degraded), e.g. 0.01",
        ),
    ];
    for (measure, value, hint) in shares {
        match value {
            Some(v) if (0.0..=1.0).contains(&v) => out.push(Objective { measure, target: v }),
            Some(v) => problems.push(Problem::new(
                join(path, measure.key()),
                format!("{} {v} {hint}", measure.key()),
            )),
            None => {}
        }
    }
    out
}

fn probability(value: Option<f64>, path: &str, problems: &mut Vec<Problem>) -> f64 {
    match value {
        None => 0.0,
        Some(p) if (0.0..=1.0).contains(&p) => p,
        Some(p) => {
            problems.push(Problem::new(
                path,
                format!("{p} is not a probability; use a number from 0 to 1"),
            ));
            0.0
        }
    }
}

fn service(
    index: usize,
    raw: &RawService,
    path: &str,
    call_names: &Names,
    problems: &mut Vec<Problem>,
) -> Option<Service> {
    let names = call_names.services;
    let before = problems.len();
    let name = match &raw.name {
        Some(n) if !n.trim().is_empty() => n.clone(),
        _ => {
            problems.push(Problem::new(
                join(path, "name"),
                "every service needs a non-empty name",
            ));
            String::new()
        }
    };
    // A repeated name is reported once, at its second use.
    if let Some(problem) = name_problem(&name, "service") {
        problems.push(Problem::new(join(path, "name"), problem));
    }
    let first = names.position(&name);
    if first.is_some_and(|first| first < index) && !name.is_empty() {
        problems.push(Problem::new(
            join(path, "name"),
            format!("service name \"{name}\" is used more than once; names must be unique"),
        ));
    }
    let replicas = count(
        raw.replicas,
        &join(path, "replicas"),
        1,
        1,
        MAX_WORKERS,
        problems,
    );
    let concurrency = count(
        raw.concurrency,
        &join(path, "concurrency"),
        1,
        1,
        MAX_WORKERS,
        problems,
    );
    if replicas * concurrency > MAX_WORKERS {
        problems.push(Problem::new(
            join(path, "replicas"),
            format!(
                "{replicas} replicas x {concurrency} workers is more than {MAX_WORKERS} workers"
            ),
        ));
    }
    let queue_capacity = raw.queue_capacity.map(|q| {
        count(
            Some(q),
            &join(path, "queue_capacity"),
            0,
            0,
            i64::from(u32::MAX),
            problems,
        ) as u32
    });
    let service_time = match &raw.service_time {
        Some(v) => super::distribution::parse(v, &join(path, "service_time"), problems),
        None => {
            problems.push(Problem::new(
                join(path, "service_time"),
                "missing service_time; add e.g. service_time = { dist = \"exponential\", mean = \"5ms\" }",
            ));
            None
        }
    };
    let plan = raw
        .calls
        .as_ref()
        .map(|v| paths::plan(v, &join(path, "calls"), call_names, problems))
        .unwrap_or_default();
    let cache = if paths::is_cache(raw, path, problems) {
        paths::cache(raw, path, call_names, problems)
    } else {
        paths::stray_cache_keys(raw, path, problems);
        None
    };
    let balancer = match &raw.balancer {
        Some(v) => paths::balancer(v, &join(path, "balancer"), problems),
        // A keyed cache shards its keys across its replicas.
        None if matches!(cache, Some(ref c) if matches!(c.lookup, Lookup::Keyed(..))) => Some((
            BalancerKind::ConsistentHash {
                virtual_nodes: crate::scenario::model::DEFAULT_VIRTUAL_NODES,
            },
            1,
        )),
        None => Some((BalancerKind::RoundRobin, 1)),
    };
    let batch = raw
        .batch
        .as_ref()
        .and_then(|v| paths::batch(v, &join(path, "batch"), problems));
    let rate_limit = raw
        .rate_limit
        .as_ref()
        .and_then(|v| paths::rate_limit(v, &join(path, "rate_limit"), problems));
    let circuit_breaker = raw
        .circuit_breaker
        .as_ref()
        .and_then(|v| paths::circuit_breaker(v, &join(path, "circuit_breaker"), problems));
    let queue_timeout_ns = match &raw.queue_timeout {
        None => None,
        Some(text) => match parse_duration_ns(text) {
            Ok(0) => {
                problems.push(Problem::new(
                    join(path, "queue_timeout"),
                    "queue_timeout must be longer than 0",
                ));
                None
            }
            Ok(ns) => Some(ns),
            Err(e) => {
                problems.push(Problem::new(join(path, "queue_timeout"), e));
                None
            }
        },
    };
    let error_rate = probability(raw.error_rate, &join(path, "error_rate"), problems);
    let price_per_hour_usd = match raw.price_per_hour {
        Some(p) if !(0.0..=super::fleet::MAX_PRICE_USD).contains(&p) => {
            problems.push(Problem::new(
                join(path, "price_per_hour"),
                format!(
                    "price {} must be from 0 to 1e6 (USD per replica-hour)",
                    super::problem::shown(p)
                ),
            ));
            0.0
        }
        p => p.unwrap_or(0.0),
    };
    if problems.len() > before {
        return None;
    }
    let (balancer, balancer_instances) = balancer?;
    Some(Service {
        name,
        replicas: replicas as u32,
        concurrency: concurrency as u32,
        queue_capacity,
        service_time: service_time?,
        plan,
        blocking_calls: raw.blocking_calls.unwrap_or(false),
        error_rate,
        price_per_hour_usd,
        balancer,
        balancer_instances,
        cache,
        batch,
        rate_limit,
        queue_timeout_ns,
        circuit_breaker,
        fleet: Default::default(),
        versions: vec![super::model::Version::base()],
    })
}

/// `consistent_hash` routes by the request's key, which comes from a keyed cache's
/// popularity law: a scenario without a keyed cache has no key to hash.
fn check_key_sources(
    raw: &[(String, RawService)],
    services: &[Option<Service>],
    problems: &mut Vec<Problem>,
) {
    let keyed =
        |s: &Service| matches!(s.cache.as_ref().map(|c| &c.lookup), Some(Lookup::Keyed(..)));
    let any_keyed = services.iter().flatten().any(keyed);
    for ((path, _), service) in raw.iter().zip(services) {
        let Some(service) = service else { continue };
        if matches!(service.balancer, BalancerKind::ConsistentHash { .. }) && !any_keyed {
            problems.push(Problem::new(
                join(path, "balancer"),
                "consistent_hash routes by the request's key, and no service gives requests keys; define a keyed cache (kind = \"cache\" with capacity, keys and popularity) or pick another balancer",
            ));
        }
        if service.batch.is_some() && service.blocking_calls {
            problems.push(Problem::new(
                join(path, "batch"),
                "a batching service cannot hold its workers during calls (blocking_calls = true): a batch's worker is freed when the batch's work ends",
            ));
        }
    }
}

/// The most service visits one request may make: more is a call graph that fans out
/// combinatorially (each service calling several that call several ...), which no real
/// request does and which would take unbounded time to simulate.
const MAX_VISITS_PER_REQUEST: u64 = 100_000;
/// The deepest chain of calls a request may make. Real call chains are a handful deep; the
/// bound keeps every walk of the call tree (here, in theory and in the engine) shallow.
const MAX_CALL_DEPTH: u32 = 100;

/// The call graph's edges, by service index: every call a request can make, once per
/// attempt it may take (retries and hedges), so that the visit bound counts them (unknown
/// callees are reported elsewhere).
fn call_edges(raw: &[(String, RawService)], names: &NameIndex) -> Vec<Vec<usize>> {
    raw.iter()
        .map(|(_, s)| {
            let mut edges = Vec::new();
            for calls in [&s.calls, &s.on_miss].into_iter().flatten() {
                for (callee, copies) in paths::callee_names(calls) {
                    if let Some(id) = names.position(&callee) {
                        edges.extend(std::iter::repeat_n(id, copies));
                    }
                }
            }
            edges
        })
        .collect()
}

/// Calls must form a directed acyclic graph (a cycle would make a request call itself
/// forever), and a request from each entry must stay within the visit and depth bounds.
fn check_call_graph(
    raw: &[(String, RawService)],
    names: &NameIndex,
    entries: &[usize],
    problems: &mut Vec<Problem>,
) {
    let edges = call_edges(raw, names);
    if let Some(cycle) = graph::find_cycle(&edges) {
        let path: Vec<&str> = cycle.iter().map(|&n| names[n].as_str()).collect();
        problems.push(Problem::new(
            join(&raw[cycle[cycle.len() - 2]].0, "calls"),
            format!(
                "calls form a cycle: {}; a request would call itself forever",
                path.join(" -> ")
            ),
        ));
        return;
    }
    let shape = graph::visits_and_depth(&edges);
    let mut entries = entries.to_vec();
    entries.sort_unstable();
    entries.dedup();
    for entry in entries {
        let (visits, depth) = shape[entry];
        if visits > MAX_VISITS_PER_REQUEST {
            problems.push(Problem::new(
                join(&raw[entry].0, "calls"),
                format!("one request would make up to {visits} service visits through these calls (retries and hedges included); the limit is {MAX_VISITS_PER_REQUEST}"),
            ));
        }
        if depth > MAX_CALL_DEPTH {
            problems.push(Problem::new(
                join(&raw[entry].0, "calls"),
                format!("calls nest {depth} services deep; the limit is {MAX_CALL_DEPTH}"),
            ));
        }
    }
}

/// `[traffic]`, and the entry it names (the first service listed when it names none).
fn traffic_model(
    raw: &RawTraffic,
    names: &NameIndex,
    problems: &mut Vec<Problem>,
) -> Option<(Traffic, usize)> {
    let paced_elsewhere = raw.trace.is_some() || raw.users.is_some() || raw.think_time.is_some();
    let rate_per_s = match raw.rate {
        // A trace or a closed loop sets the pace; `world_keys` fills in the mean rate.
        None if paced_elsewhere => Some(1.0),
        None => {
            problems.push(Problem::new(
                "traffic.rate",
                "missing traffic.rate, arrivals per second; add e.g. rate = 100",
            ));
            None
        }
        // Time has nanosecond resolution: a faster rate would make every gap zero.
        Some(r) if r > 0.0 && r <= 1e9 => Some(r),
        Some(r) => {
            problems.push(Problem::new(
                "traffic.rate",
                format!("rate {r} must be more than 0 and at most 1e9 requests per second"),
            ));
            None
        }
    };
    // Without `entry`, requests enter at the first service listed, as a one-service file expects.
    let entry = match &raw.entry {
        None => (!names.is_empty()).then_some(0),
        Some(e) => match names.position(e) {
            Some(id) => Some(id),
            // Without any service read (reported already), every name is unknown: say nothing.
            None if names.is_empty() => None,
            None => {
                problems.push(Problem::new(
                    "traffic.entry",
                    format!(
                        "unknown service \"{e}\"; defined services: {}",
                        super::problem::listing(names)
                    ),
                ));
                None
            }
        },
    };
    Some((
        Traffic {
            rate_per_s: rate_per_s?,
            arrivals: super::world::Arrivals::Poisson,
            residency: raw.residency.unwrap_or(false),
            backlog: raw
                .backlog
                .as_ref()
                .and_then(|v| super::fleet::backlog(v, "traffic.backlog", problems)),
            payload_kb: match raw.payload_kb {
                Some(kb) if !(0.0..=super::fleet::MAX_PAYLOAD_KB).contains(&kb) => {
                    problems.push(Problem::new(
                        "traffic.payload_kb",
                        format!(
                            "payload_kb {} must be from 0 to 1e9 (KB, a terabyte)",
                            super::problem::shown(kb)
                        ),
                    ));
                    0.0
                }
                kb => kb.unwrap_or(0.0),
            },
            conversion: probability(raw.conversion, "traffic.conversion", problems),
        },
        entry?,
    ))
}

/// A class's own backlog holds requests that may not fail over: it needs the class to be
/// resident (its own `residency = true` or `[traffic]`'s). `traffic.backlog` is the default
/// of the resident classes only, so it needs nothing.
fn resident_backlog(
    backlog: Option<super::fleet::Backlog>,
    residency: bool,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Option<super::fleet::Backlog> {
    if backlog.is_some() && !residency {
        problems.push(Problem::new(
            join(path, "backlog"),
            format!("a backlog holds requests whose data must stay in their region while it is down; set {} or remove backlog (requests without residency fail over instead)", join(path, "residency = true")),
        ));
        return None;
    }
    backlog
}

/// The `[[class]]` array, each element with its display path (`class.checkout`).
fn classes(value: Option<&toml::Value>, problems: &mut Vec<Problem>) -> Vec<(String, RawClass)> {
    let Some(value) = value else {
        return Vec::new();
    };
    named_tables(value, "class", "classes", problems)
}

/// The classes of the model: the `[[class]]` tables, or one class "default" entering at
/// `default_entry` (a class without `entry` enters there too).
fn resolve_classes(
    raw: &[(String, RawClass)],
    class_names: &NameIndex,
    services: &NameIndex,
    traffic: &Traffic,
    default_entry: usize,
    problems: &mut Vec<Problem>,
) -> Option<Vec<Class>> {
    if raw.is_empty() {
        return Some(vec![Class {
            name: "default".into(),
            share: 1.0,
            entry: default_entry,
            slo: Vec::new(),
            residency: traffic.residency,
            // The default of the resident classes: without residency requests fail over.
            backlog: traffic.backlog.filter(|_| traffic.residency),
            payload_kb: traffic.payload_kb,
            conversion: traffic.conversion,
        }]);
    }
    let before = problems.len();
    let mut classes = Vec::new();
    for (index, ((path, class), name)) in raw.iter().zip(class_names.iter()).enumerate() {
        if class.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            problems.push(Problem::new(
                join(path, "name"),
                "every class needs a non-empty name",
            ));
        } else if let Some(problem) = name_problem(name, "class") {
            problems.push(Problem::new(join(path, "name"), problem));
        } else if class_names
            .position(name)
            .is_some_and(|first| first < index)
        {
            problems.push(Problem::new(
                join(path, "name"),
                format!("class name \"{name}\" is used more than once; names must be unique"),
            ));
        }
        let weight = match class.weight {
            None => 1.0,
            Some(w) if w > 0.0 && w.is_finite() => w,
            Some(w) => {
                problems.push(Problem::new(
                    join(path, "weight"),
                    format!("weight {w} must be more than 0 (weights are shares of arrivals, normalized by their sum)"),
                ));
                1.0
            }
        };
        let entry = match &class.entry {
            None => Some(default_entry),
            Some(e) => match services.position(e) {
                Some(id) => Some(id),
                None => {
                    problems.push(Problem::new(
                        join(path, "entry"),
                        format!(
                            "unknown service \"{e}\"; defined services: {}",
                            super::problem::listing(services)
                        ),
                    ));
                    None
                }
            },
        };
        let slo = class
            .slo
            .as_ref()
            .and_then(|v| typed::<RawSlo>(v, &join(path, "slo"), problems))
            .map(|raw| objectives(&raw, &join(path, "slo"), problems))
            .unwrap_or_default();
        let payload_kb = match class.payload_kb {
            Some(kb) if !(0.0..=super::fleet::MAX_PAYLOAD_KB).contains(&kb) => {
                problems.push(Problem::new(
                    join(path, "payload_kb"),
                    format!(
                        "payload_kb {} must be from 0 to 1e9 (KB, a terabyte)",
                        super::problem::shown(kb)
                    ),
                ));
                0.0
            }
            kb => kb.unwrap_or(traffic.payload_kb),
        };
        let residency = class.residency.unwrap_or(traffic.residency);
        let backlog = match &class.backlog {
            None if residency => traffic.backlog,
            None => None,
            Some(v) => {
                let backlog = super::fleet::backlog(v, &join(path, "backlog"), problems);
                resident_backlog(backlog, residency, path, problems)
            }
        };
        let conversion = match class.conversion {
            None => traffic.conversion,
            c => probability(c, &join(path, "conversion"), problems),
        };
        classes.push((
            name.clone(),
            weight,
            entry,
            slo,
            residency,
            backlog,
            payload_kb,
            conversion,
        ));
    }
    if raw.len() > usize::from(u16::MAX) {
        problems.push(Problem::new(
            "class",
            format!(
                "{} classes is more than the {} supported",
                raw.len(),
                u16::MAX
            ),
        ));
    }
    if problems.len() > before {
        return None;
    }
    let total: f64 = classes.iter().map(|c| c.1).sum();
    classes
        .into_iter()
        .map(
            |(name, weight, entry, slo, residency, backlog, payload_kb, conversion)| {
                Some(Class {
                    name,
                    share: weight / total,
                    entry: entry?,
                    slo,
                    residency,
                    backlog,
                    payload_kb,
                    conversion,
                })
            },
        )
        .collect()
}
