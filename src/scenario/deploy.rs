//! `[[deployment]]`: a new version of a service rolled out during the run, by one of the
//! strategies real controllers implement (Kubernetes' Deployment, Argo Rollouts, Flagger),
//! checked and resolved. Every strategy's table may be written at once; `strategy` picks the
//! one that runs (so `capsim compare` can run each on the same scenario), and a strategy whose
//! table is absent runs with its defaults.
//!
//! The semantics (rounding, defaults, what each phase waits for) are the controllers'; see
//! `docs/scenarios.md`, "Deployments".

use super::ids::{NameIndex, ServiceId};
use super::keys;
use super::problem::{join, Problem};
use super::reader::{a_value, TableReader};
use crate::distribution::Distribution;
use crate::engine::time::{format_ns, Nanos};

/// The strategies, as `strategy` names them.
pub const STRATEGIES: [(&str, &str); 6] = [
    ("recreate", ""),
    ("rolling", ""),
    ("blue_green", ""),
    ("canary", ""),
    ("ab_test", ""),
    ("shadow", ""),
];

/// Which strategy runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrategyKind {
    Recreate,
    Rolling,
    BlueGreen,
    Canary,
    AbTest,
    Shadow,
}

impl StrategyKind {
    pub fn key(self) -> &'static str {
        STRATEGIES[self as usize].0
    }

    pub fn from_key(key: &str) -> Option<StrategyKind> {
        use StrategyKind::*;
        [Recreate, Rolling, BlueGreen, Canary, AbTest, Shadow]
            .into_iter()
            .find(|k| k.key() == key)
    }
}

/// A count of replicas written as a whole number or a percentage of the desired count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    Count(u32),
    Percent(f64),
}

impl Amount {
    /// The count for `desired` replicas, a percentage rounded up or down.
    pub fn resolve(self, desired: u32, round_up: bool) -> u32 {
        match self {
            Amount::Count(n) => n,
            Amount::Percent(p) => {
                let exact = p / 100.0 * f64::from(desired);
                // A tiny epsilon keeps 25% of 12 = 3 exactly 3 whichever way it rounds.
                if round_up {
                    (exact - 1e-9).ceil().max(0.0) as u32
                } else {
                    (exact + 1e-9).floor() as u32
                }
            }
        }
    }
}

/// `rolling`: Kubernetes' RollingUpdate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rolling {
    pub max_surge: Amount,
    pub max_unavailable: Amount,
}

impl Rolling {
    /// `(surge, unavailable)` for `desired` replicas: the surge rounded up, unavailability
    /// down, and one unavailable when both come to zero (Kubernetes' `ResolveFenceposts`).
    pub fn fenceposts(&self, desired: u32) -> (u32, u32) {
        let surge = self.max_surge.resolve(desired, true);
        let unavailable = self.max_unavailable.resolve(desired, false);
        if surge == 0 && unavailable == 0 {
            (0, 1)
        } else {
            (surge, unavailable)
        }
    }
}

impl Default for Rolling {
    fn default() -> Self {
        Rolling {
            max_surge: Amount::Percent(25.0),
            max_unavailable: Amount::Percent(25.0),
        }
    }
}

/// How clients reach the green set at a blue-green switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// A selector change: every request after the switch goes to green.
    Instant,
    /// A DNS answer: each client moves as its cached answer expires, uniformly over the TTL.
    Dns,
}

/// `blue_green`: Argo Rollouts' blue-green.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlueGreen {
    /// Green fully available, serving nothing, this long before the switch.
    pub preview_for_ns: Nanos,
    pub switch: Switch,
    pub dns_ttl_ns: Nanos,
    /// Blue kept this long after the switch (with a DNS switch: after the TTL has passed).
    pub scale_down_delay_ns: Nanos,
}

impl Default for BlueGreen {
    fn default() -> Self {
        BlueGreen {
            preview_for_ns: 0,
            switch: Switch::Instant,
            dns_ttl_ns: 60_000_000_000,
            scale_down_delay_ns: 30_000_000_000,
        }
    }
}

/// What an analysis interval with fewer than `min_requests` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoData {
    /// A failed check (Flagger).
    Fail,
    /// Neither pass nor fail: the interval is skipped.
    Inconclusive,
}

/// A canary's analysis: every `interval`, the canary's own visits in it are judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Analysis {
    pub interval_ns: Nanos,
    pub max_error_rate: f64,
    pub max_p99_ns: Option<Nanos>,
    pub min_requests: u64,
    /// Failed checks allowed; one more rolls the canary back.
    pub failure_limit: u32,
    pub no_data: NoData,
}

/// One step of a canary: the new version's weight (percent), held for `pause`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CanaryStep {
    pub weight_pct: f64,
    pub pause_ns: Nanos,
}

/// `canary`: Argo Rollouts' canary steps, with Flagger-style analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct Canary {
    /// With a traffic router the weight is exact; without, replica counts approximate it.
    pub traffic_router: bool,
    pub steps: Vec<CanaryStep>,
    pub analysis: Option<Analysis>,
    /// After a rollback, the canary's replicas go after this long (Argo's
    /// `abortScaleDownDelaySeconds`); after promotion, the old ones do.
    pub scale_down_delay_ns: Nanos,
}

impl Default for Canary {
    fn default() -> Self {
        Canary {
            traffic_router: true,
            steps: vec![
                CanaryStep {
                    weight_pct: 20.0,
                    pause_ns: 60_000_000_000,
                },
                CanaryStep {
                    weight_pct: 50.0,
                    pause_ns: 60_000_000_000,
                },
            ],
            analysis: None,
            scale_down_delay_ns: 30_000_000_000,
        }
    }
}

/// `ab_test`: a fixed split for a duration, judged on conversion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbTest {
    /// The new version's share of requests.
    pub split: f64,
    pub duration_ns: Nanos,
    pub alpha: f64,
    pub power: f64,
    /// The smallest relative lift worth detecting.
    pub min_effect: f64,
    /// An always-valid (mSPRT) test looked at every window, instead of one test at the end.
    pub sequential: bool,
}

impl Default for AbTest {
    fn default() -> Self {
        AbTest {
            split: 0.5,
            duration_ns: 3_600_000_000_000,
            alpha: 0.05,
            power: 0.8,
            min_effect: 0.05,
            sequential: false,
        }
    }
}

/// `shadow`: a share of requests mirrored to the new version, then promotion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shadow {
    pub mirror: f64,
    pub duration_ns: Nanos,
}

impl Default for Shadow {
    fn default() -> Self {
        Shadow {
            mirror: 1.0,
            duration_ns: 600_000_000_000,
        }
    }
}

/// Whether the autoscaler sees both versions as one pool or each on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coupling {
    /// One HPA over both versions (Argo Rollouts): its total split by the strategy.
    Blended,
    /// One HPA per version (Flagger's primary and canary).
    Separate,
}

/// One resolved `[[deployment]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub service: ServiceId,
    pub at_ns: Nanos,
    pub strategy: StrategyKind,
    pub min_ready_ns: Nanos,
    pub autoscale: Coupling,
    /// New replicas are ready after a draw of this.
    pub provisioning: Distribution,
    /// The new version's conversion probability, if it changes the classes'.
    pub conversion: Option<f64>,
    pub rolling: Rolling,
    pub blue_green: BlueGreen,
    pub canary: Canary,
    pub ab_test: AbTest,
    pub shadow: Shadow,
}

/// What `new` changes in the service, read into the service's version 1.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewVersion {
    pub service_time: Option<Distribution>,
    pub error_rate: Option<f64>,
    pub price_per_hour_usd: Option<f64>,
    pub provisioning: Option<Distribution>,
    pub conversion: Option<f64>,
}

/// `[[deployment]]` tables. `provisioning` gives a service's own provisioning delay (its
/// autoscaler's, or instant), the default of `new.provisioning`.
pub fn deployments(
    value: Option<&toml::Value>,
    services: &NameIndex,
    duration_ns: Nanos,
    provisioning: &dyn Fn(ServiceId) -> Distribution,
    problems: &mut Vec<Problem>,
) -> Vec<(Deployment, NewVersion)> {
    let Some(value) = value else {
        return Vec::new();
    };
    let Some(items) = value.as_array() else {
        problems.push(Problem::new(
            "deployment",
            "deployments are written as [[deployment]] tables",
        ));
        return Vec::new();
    };
    let mut out: Vec<(Deployment, NewVersion)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("deployment[{i}]");
        let Some(d) = deployment(item, &path, services, duration_ns, provisioning, problems) else {
            continue;
        };
        if out.iter().any(|(o, _)| o.service == d.0.service) {
            problems.push(Problem::new(
                join(&path, "service"),
                format!(
                    "service \"{}\" already has a deployment; one deployment per service",
                    services[d.0.service]
                ),
            ));
        } else {
            out.push(d);
        }
    }
    out
}

fn deployment(
    value: &toml::Value,
    path: &str,
    services: &NameIndex,
    duration_ns: Nanos,
    provisioning: &dyn Fn(ServiceId) -> Distribution,
    problems: &mut Vec<Problem>,
) -> Option<(Deployment, NewVersion)> {
    let mut r = TableReader::new(value, path, problems, "a [[deployment]] table")?;
    r.example = r#"[[deployment]] service = "api", at = "10m", strategy = "rolling", new = { error_rate = 0.01 }"#;
    r.check_keys(
        &keys::names_at("deployment"),
        |_| false,
        "in a [[deployment]]",
    );
    // `name` and `description` are labels for people: read only to check they are text.
    r.opt_string("name");
    r.opt_string("description");
    let service = match r.required("service") {
        Some(toml::Value::String(name)) => match services.position(name) {
            Some(id) => Some(id),
            None => {
                r.problem(
                    "service",
                    format!(
                        "unknown service \"{name}\"; defined services: {}",
                        super::problem::listing(services)
                    ),
                );
                None
            }
        },
        Some(other) => {
            r.problem(
                "service",
                format!("service must name a service, not {}", a_value(other)),
            );
            None
        }
        None => None,
    };
    let at_ns = r.duration_ns("at").map(|ns| ns as Nanos);
    if let Some(at) = at_ns.filter(|&at| at >= duration_ns) {
        r.problem(
            "at",
            format!(
                "the deployment starts at {}, after the run ends ({}); start it earlier or run longer",
                format_ns(at as f64),
                format_ns(duration_ns as f64)
            ),
        );
    }
    let strategy = r
        .tag("strategy", "strategy", &STRATEGIES)
        .and_then(StrategyKind::from_key);
    let min_ready_ns = r.opt_duration_ns("min_ready").unwrap_or(0.0) as Nanos;
    let autoscale = match r.opt_string("autoscale") {
        None | Some("blended") => Some(Coupling::Blended),
        Some("separate") => Some(Coupling::Separate),
        Some(other) => {
            let m = format!(
                "unknown autoscale coupling \"{other}\"; valid: blended (one HPA over both versions), separate (one HPA per version)"
            );
            r.problem("autoscale", m);
            None
        }
    };
    let table = value.as_table()?;
    let new = match table.get("new") {
        Some(v) => new_version(v, &join(path, "new"), problems)?,
        None => NewVersion::default(),
    };
    let rolling = sub(table, path, "rolling", problems, rolling_keys).unwrap_or_default();
    let blue_green = sub(table, path, "blue_green", problems, blue_green_keys).unwrap_or_default();
    let canary = sub(table, path, "canary", problems, canary_keys).unwrap_or_default();
    let ab_test = sub(table, path, "ab_test", problems, ab_test_keys).unwrap_or_default();
    let shadow = sub(table, path, "shadow", problems, shadow_keys).unwrap_or_default();
    let service = service?;
    Some((
        Deployment {
            service,
            at_ns: at_ns?,
            strategy: strategy?,
            min_ready_ns,
            autoscale: autoscale?,
            provisioning: new
                .provisioning
                .clone()
                .unwrap_or_else(|| provisioning(service)),
            conversion: new.conversion,
            rolling,
            blue_green,
            canary,
            ab_test,
            shadow,
        },
        new,
    ))
}

/// Reads the sub-table `key` of a deployment with `read`, if present; problems are reported
/// and give `None` (the default then stands in, the scenario being refused anyway).
fn sub<T>(
    table: &toml::Table,
    path: &str,
    key: &str,
    problems: &mut Vec<Problem>,
    read: fn(&mut TableReader) -> Option<T>,
) -> Option<T> {
    let value = table.get(key)?;
    let p = join(path, key);
    let before = problems.len();
    let mut r = TableReader::new(value, &p, problems, &format!("a {key} table"))?;
    let out = read(&mut r);
    (problems.len() == before).then_some(out).flatten()
}

fn new_version(value: &toml::Value, path: &str, problems: &mut Vec<Problem>) -> Option<NewVersion> {
    let before = problems.len();
    let mut r = TableReader::new(
        value,
        path,
        problems,
        "a table of the service keys the new version changes, such as { error_rate = 0.01 }",
    )?;
    r.check_keys(
        &keys::names_at("deployment.new"),
        |_| false,
        "in a new version",
    );
    let table = value.as_table()?;
    let error_rate = r
        .table
        .contains_key("error_rate")
        .then(|| r.number_within("error_rate", 0.0..=1.0, "from 0 to 1"))
        .flatten();
    let conversion = r
        .table
        .contains_key("conversion")
        .then(|| r.number_within("conversion", 0.0..=1.0, "from 0 to 1"))
        .flatten();
    let price = r
        .table
        .contains_key("price_per_hour")
        .then(|| {
            r.number_within(
                "price_per_hour",
                0.0..=super::fleet::MAX_PRICE_USD,
                "from 0 to 1e6 (USD per replica-hour)",
            )
        })
        .flatten();
    let service_time = table
        .get("service_time")
        .and_then(|v| super::distribution::parse(v, &join(path, "service_time"), problems));
    let provisioning = table.get("provisioning").and_then(|v| {
        let p = join(path, "provisioning");
        match v.as_str() {
            Some(text) => match super::duration::parse_duration_ns(text) {
                Ok(ns) => Some(Distribution::constant(ns as f64)),
                Err(e) => {
                    problems.push(Problem::new(p, e));
                    None
                }
            },
            None => super::distribution::parse(v, &p, problems),
        }
    });
    (problems.len() == before).then_some(NewVersion {
        service_time,
        error_rate,
        price_per_hour_usd: price,
        provisioning,
        conversion,
    })
}

/// `"25%"` or a whole number.
fn amount(r: &mut TableReader, key: &str, default: Amount) -> Option<Amount> {
    let Some(value) = r.table.get(key) else {
        return Some(default);
    };
    match value {
        toml::Value::Integer(n) if (0..=1_000_000).contains(n) => Some(Amount::Count(*n as u32)),
        toml::Value::String(text) => match text
            .strip_suffix('%')
            .and_then(|p| p.trim().parse::<f64>().ok())
        {
            Some(p) if (0.0..=100.0).contains(&p) => Some(Amount::Percent(p)),
            _ => {
                r.problem(key, format!("{key} \"{text}\" must be a percentage from \"0%\" to \"100%\" or a whole number of replicas"));
                None
            }
        },
        other => {
            r.problem(
                key,
                format!(
                    "{key} must be a percentage such as \"25%\" or a whole number of replicas, not {}",
                    a_value(other)
                ),
            );
            None
        }
    }
}

fn rolling_keys(r: &mut TableReader) -> Option<Rolling> {
    r.check_keys(
        &keys::names_at("deployment.rolling"),
        |_| false,
        "in rolling",
    );
    let d = Rolling::default();
    let max_surge = amount(r, "max_surge", d.max_surge)?;
    let max_unavailable = amount(r, "max_unavailable", d.max_unavailable)?;
    let zero = |a: Amount| matches!(a, Amount::Count(0)) || a == Amount::Percent(0.0);
    if zero(max_surge) && zero(max_unavailable) {
        r.problem_here("max_surge and max_unavailable are both 0: the rollout could never replace a replica; let one of them be more than 0");
        return None;
    }
    Some(Rolling {
        max_surge,
        max_unavailable,
    })
}

fn duration_or(r: &mut TableReader, key: &str, default: Nanos) -> Option<Nanos> {
    if r.table.contains_key(key) {
        r.duration_ns(key).map(|ns| ns as Nanos)
    } else {
        Some(default)
    }
}

fn positive_duration_or(r: &mut TableReader, key: &str, default: Nanos) -> Option<Nanos> {
    if r.table.contains_key(key) {
        r.positive_duration_ns(key).map(|ns| ns as Nanos)
    } else {
        Some(default)
    }
}

fn blue_green_keys(r: &mut TableReader) -> Option<BlueGreen> {
    r.check_keys(
        &keys::names_at("deployment.blue_green"),
        |_| false,
        "in blue_green",
    );
    let d = BlueGreen::default();
    let switch = match r.opt_string("switch") {
        None | Some("instant") => Some(Switch::Instant),
        Some("dns") => Some(Switch::Dns),
        Some(other) => {
            let m = format!("unknown switch \"{other}\"; valid: instant (a selector change), dns (clients move as their cached answer expires)");
            r.problem("switch", m);
            None
        }
    };
    Some(BlueGreen {
        preview_for_ns: duration_or(r, "preview_for", d.preview_for_ns)?,
        switch: switch?,
        dns_ttl_ns: positive_duration_or(r, "dns_ttl", d.dns_ttl_ns)?,
        scale_down_delay_ns: duration_or(r, "scale_down_delay", d.scale_down_delay_ns)?,
    })
}

fn canary_keys(r: &mut TableReader) -> Option<Canary> {
    r.check_keys(&keys::names_at("deployment.canary"), |_| false, "in canary");
    let d = Canary::default();
    let traffic_router = r.opt_bool("traffic_router").unwrap_or(d.traffic_router);
    let scale_down_delay_ns = duration_or(r, "scale_down_delay", d.scale_down_delay_ns)?;
    let path = r.path.to_string();
    let steps = match r.table.get("steps") {
        None => Some(d.steps),
        Some(toml::Value::Array(items)) if !items.is_empty() => {
            let mut steps = Vec::new();
            let mut ok = true;
            for (i, item) in items.iter().enumerate() {
                let p = format!("{}[{i}]", join(&path, "steps"));
                let Some(mut s) = TableReader::new(
                    item,
                    &p,
                    r.problems,
                    "a step such as { weight = 5, pause = \"5m\" }",
                ) else {
                    ok = false;
                    continue;
                };
                s.example = r#"{ weight = 5, pause = "5m" }"#;
                s.check_keys(
                    &keys::names_at("deployment.canary.steps"),
                    |_| false,
                    "in a canary step",
                );
                let weight = s.number("weight");
                let pause = duration_or(&mut s, "pause", 0);
                match (weight, pause) {
                    (Some(w), Some(pause_ns)) if w > 0.0 && w <= 100.0 => {
                        if steps
                            .last()
                            .is_some_and(|prev: &CanaryStep| prev.weight_pct >= w)
                        {
                            s.problem("weight", format!("weight {w} must be more than the step before's ({}): canary weights rise", steps.last().map_or(0.0, |p: &CanaryStep| p.weight_pct)));
                            ok = false;
                        }
                        steps.push(CanaryStep {
                            weight_pct: w,
                            pause_ns,
                        });
                    }
                    (Some(w), _) => {
                        s.problem("weight", format!("weight {w} must be more than 0 and at most 100 (a percentage of requests)"));
                        ok = false;
                    }
                    _ => ok = false,
                }
            }
            ok.then_some(steps)
        }
        Some(other) => {
            r.problem(
                "steps",
                format!(
                    "steps must be a non-empty list such as [{{ weight = 5, pause = \"5m\" }}], not {}",
                    a_value(other)
                ),
            );
            None
        }
    };
    let analysis = match r.table.get("analysis") {
        None => Some(None),
        Some(v) => {
            let p = join(&path, "analysis");
            let before = r.problems.len();
            let mut a = TableReader::new(v, &p, r.problems, "an analysis table")?;
            let out = analysis(&mut a);
            (r.problems.len() == before).then_some(out)
        }
    };
    Some(Canary {
        traffic_router,
        steps: steps?,
        analysis: analysis?,
        scale_down_delay_ns,
    })
}

fn analysis(r: &mut TableReader) -> Option<Analysis> {
    r.check_keys(
        &keys::names_at("deployment.canary.analysis"),
        |_| false,
        "in an analysis",
    );
    let interval_ns = positive_duration_or(r, "interval", 60_000_000_000)?;
    let max_error_rate = if r.table.contains_key("max_error_rate") {
        r.number_within("max_error_rate", 0.0..=1.0, "from 0 to 1")?
    } else {
        0.01
    };
    let max_p99_ns = match r.table.contains_key("max_p99") {
        true => Some(r.positive_duration_ns("max_p99")? as Nanos),
        false => None,
    };
    let min_requests = r.opt_whole("min_requests", 0, 1_000_000_000).unwrap_or(0) as u64;
    let failure_limit = r.opt_whole("failure_limit", 0, 1_000_000).unwrap_or(0) as u32;
    let no_data = match r.opt_string("no_data") {
        None | Some("fail") => Some(NoData::Fail),
        Some("inconclusive") => Some(NoData::Inconclusive),
        Some(other) => {
            let m = format!("unknown no_data \"{other}\"; valid: fail (too few requests is a failed check, as Flagger counts it), inconclusive (the interval is skipped)");
            r.problem("no_data", m);
            None
        }
    };
    Some(Analysis {
        interval_ns,
        max_error_rate,
        max_p99_ns,
        min_requests,
        failure_limit,
        no_data: no_data?,
    })
}

fn open_unit(r: &mut TableReader, key: &str, default: f64, what: &str) -> Option<f64> {
    if !r.table.contains_key(key) {
        return Some(default);
    }
    let v = r.number(key)?;
    if v > 0.0 && v < 1.0 {
        Some(v)
    } else {
        r.problem(key, format!("{key} {v} must be between 0 and 1 ({what})"));
        None
    }
}

fn ab_test_keys(r: &mut TableReader) -> Option<AbTest> {
    r.check_keys(
        &keys::names_at("deployment.ab_test"),
        |_| false,
        "in ab_test",
    );
    let d = AbTest::default();
    let split = open_unit(r, "split", d.split, "the new version's share of requests");
    let alpha = open_unit(r, "alpha", d.alpha, "the false-positive rate");
    let power = open_unit(r, "power", d.power, "the chance to detect min_effect");
    let min_effect = if r.table.contains_key("min_effect") {
        r.positive_number("min_effect")
    } else {
        Some(d.min_effect)
    };
    Some(AbTest {
        split: split?,
        duration_ns: positive_duration_or(r, "duration", d.duration_ns)?,
        alpha: alpha?,
        power: power?,
        min_effect: min_effect?,
        sequential: r.opt_bool("sequential").unwrap_or(false),
    })
}

fn shadow_keys(r: &mut TableReader) -> Option<Shadow> {
    r.check_keys(&keys::names_at("deployment.shadow"), |_| false, "in shadow");
    let d = Shadow::default();
    let mirror = if r.table.contains_key("mirror") {
        let m = r.number_within(
            "mirror",
            0.0..=1.0,
            "from 0 to 1 (the share of requests mirrored)",
        )?;
        if m == 0.0 {
            r.problem(
                "mirror",
                "mirror must be more than 0 (the share of requests mirrored)",
            );
            return None;
        }
        m
    } else {
        d.mirror
    };
    Some(Shadow {
        mirror,
        duration_ns: positive_duration_or(r, "duration", d.duration_ns)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_as_kubernetes_does() {
        // maxSurge rounds up, maxUnavailable down: 25% of 10 is 3 and 2; of 3, 1 and 0.
        let r = Rolling::default();
        assert_eq!(r.fenceposts(10), (3, 2));
        assert_eq!(r.fenceposts(3), (1, 0));
        assert_eq!(r.fenceposts(4), (1, 1));
        // Both resolving to zero: one unavailable.
        let tiny = Rolling {
            max_surge: Amount::Percent(10.0),
            max_unavailable: Amount::Percent(10.0),
        };
        assert_eq!(tiny.fenceposts(1), (1, 0));
        let zero = Rolling {
            max_surge: Amount::Count(0),
            max_unavailable: Amount::Percent(10.0),
        };
        assert_eq!(zero.fenceposts(5), (0, 1));
    }
}
