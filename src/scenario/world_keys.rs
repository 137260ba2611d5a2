//! Where validation meets the keys of a changing world: one call from `validate.rs` reads
//! `scenario.window`, the traffic shapes, each service's fleet keys, and the `[[region]]`,
//! `[network]`, `[[fault]]` and `[cost]` tables, and resolves them (`world.rs`, `fleet.rs`).

use super::fleet::{self, Fleet, ServiceFleet};
use super::ids::NameIndex;
use super::problem::{join, Problem};
use super::raw::{RawRun, RawScenario, RawService};
use super::world::{self, Arrivals, FileReader, RawShapeKeys};
use crate::distribution::Distribution;
use crate::engine::time::Nanos;
use crate::scenario::model::Traffic;

/// One service's resolved fleet keys, and its replica count at the start when they set it.
pub struct ServiceWorld {
    pub initial_replicas: Option<u32>,
    pub fleet: ServiceFleet,
}

/// Everything this module resolved.
pub struct WorldKeys {
    pub window_ns: Nanos,
    pub fleet: Fleet,
    pub services: Vec<ServiceWorld>,
}

/// Reads the keys; `traffic` (when it resolved) gets its arrival process and mean rate.
#[allow(clippy::too_many_arguments)]
pub fn world(
    top: &RawScenario,
    run: &RawRun,
    traffic: Option<&mut Traffic>,
    raw_services: &[(String, RawService)],
    names: &NameIndex,
    duration_ns: Nanos,
    files: FileReader,
    problems: &mut Vec<Problem>,
) -> Option<WorldKeys> {
    let before = problems.len();
    let window_ns = world::window_ns(run.window.as_deref(), duration_ns, problems);

    let regions = fleet::regions(top.region.as_ref(), problems);
    let mut client_diurnal = None;

    // Traffic shapes: read from the raw [traffic] table (its keys were checked by serde).
    let raw_traffic = top.traffic.as_ref().and_then(|t| t.as_table());
    if let (Some(t), Some(traffic)) = (raw_traffic, traffic) {
        let keys = RawShapeKeys {
            rate: t.get("rate").and_then(toml::Value::as_float).or_else(|| {
                t.get("rate")
                    .and_then(toml::Value::as_integer)
                    .map(|r| r as f64)
            }),
            diurnal: t.get("diurnal"),
            spikes: t.get("spikes"),
            steps: t.get("steps"),
            bursts: t.get("bursts"),
            trace: t.get("trace"),
            users: t.get("users"),
            think_time: t.get("think_time"),
        };
        if let Some(mut arrivals) = world::arrivals(&keys, duration_ns, files, problems) {
            client_diurnal = region_phases(&regions, &mut arrivals, problems);
            traffic.rate_per_s = match &arrivals {
                Arrivals::Poisson => traffic.rate_per_s,
                Arrivals::Shaped(shape) => shape.mean_rate_per_s(duration_ns),
                Arrivals::Replay(times) => times.len() as f64 / (duration_ns as f64 / 1e9),
                // An upper bound: every user thinking, never waiting.
                Arrivals::Closed { users, think } => {
                    f64::from(*users) / (think.mean_ns().max(1.0) / 1e9)
                }
            };
            traffic.arrivals = arrivals;
        }
    }

    let region_names: Vec<String> = regions.iter().map(|r| r.name.clone()).collect();
    let (latency_ns, dns_ttl_ns, bandwidth_mbps) =
        fleet::network(top.network.as_ref(), &regions, problems);

    let mut services = Vec::new();
    for (path, raw) in raw_services {
        services.push(service(raw, path, &region_names, problems));
    }
    let provisioning = |id: usize| -> Distribution {
        services
            .get(id)
            .and_then(|s: &ServiceWorld| s.fleet.autoscale.as_ref())
            .map_or_else(|| Distribution::constant(0.0), |a| a.provisioning.clone())
    };
    let faults = fleet::faults(
        top.fault.as_ref(),
        names,
        &region_names,
        duration_ns,
        &provisioning,
        problems,
    );
    let (fixed_monthly_usd, price_per_gb_cross_region_usd) =
        fleet::cost(top.cost.as_ref(), problems);
    (problems.len() == before).then_some(WorldKeys {
        window_ns,
        fleet: Fleet {
            regions,
            latency_ns,
            dns_ttl_ns,
            bandwidth_mbps,
            client_diurnal,
            faults,
            fixed_monthly_usd,
            price_per_gb_cross_region_usd,
        },
        services,
    })
}

/// With a `utc_offset` on some region, each region's clients live the traffic's diurnal
/// curve at their own time of day: the traffic's curve becomes the weighted sum of the shifted
/// ones (one cosine again, [`world::Diurnal::shifted_sum`]), and the curve itself is returned
/// for the draw of each request's region (see `components::region`). Offsets need a diurnal
/// curve to shift.
fn region_phases(
    regions: &[fleet::Region],
    arrivals: &mut Arrivals,
    problems: &mut Vec<Problem>,
) -> Option<world::Diurnal> {
    let shifted = regions.iter().find(|r| r.utc_offset_ns != 0)?;
    let Arrivals::Shaped(world::Shape {
        diurnal: Some(diurnal),
        ..
    }) = arrivals
    else {
        problems.push(Problem::new(
            join(&format!("region.{}", shifted.name), "utc_offset"),
            "utc_offset shifts the traffic's diurnal curve for the region's clients, and [traffic] has none; add traffic.diurnal (e.g. diurnal = { peak_at = \"20h\", peak_to_trough = 3 }) or remove utc_offset",
        ));
        return None;
    };
    let own = *diurnal;
    let weights: Vec<f64> = regions.iter().map(|r| r.weight).collect();
    let offsets: Vec<i64> = regions.iter().map(|r| r.utc_offset_ns).collect();
    *diurnal = own.shifted_sum(&weights, &offsets);
    Some(own)
}

fn service(
    raw: &RawService,
    path: &str,
    regions: &[String],
    problems: &mut Vec<Problem>,
) -> ServiceWorld {
    let autoscale = raw
        .autoscale
        .as_ref()
        .and_then(|v| fleet::autoscale(v, &join(path, "autoscale"), problems));
    let health = raw
        .health
        .as_ref()
        .and_then(|v| fleet::health(v, &join(path, "health"), problems));
    let by_region = raw
        .regions
        .as_ref()
        .and_then(|v| fleet::service_regions(v, &join(path, "regions"), regions, problems));
    if raw.regions.is_some() && raw.replicas.is_some() {
        problems.push(Problem::new(
            join(path, "replicas"),
            "a regional service counts its replicas per region in `regions`; remove replicas",
        ));
    }
    // A regional service has one HPA per region (as a Kubernetes cluster per region has),
    // each with the same `min` and `max`, scaling on its region's utilization.
    if let (Some(a), Some(counts)) = (&autoscale, &by_region) {
        if a.metric != fleet::Metric::Utilization {
            problems.push(Problem::new(
                join(path, "autoscale.metric"),
                "a regional service's autoscaler (one per region) scales on metric = \"utilization\" only",
            ));
        }
        for (count, region) in counts.iter().zip(regions) {
            if *count < a.min || *count > a.max {
                problems.push(Problem::new(
                    join(path, &format!("regions.{region}")),
                    format!(
                        "{count} replicas at the start in region \"{region}\"; each region's count must lie between autoscale.min {} and autoscale.max {} (they bound every region)",
                        a.min, a.max
                    ),
                ));
            }
        }
    }
    let mut initial_replicas = by_region.as_ref().map(|counts| counts.iter().sum());
    if let Some(a) = &autoscale {
        if a.min == 0 {
            problems.push(Problem::new(
                join(path, "autoscale.min"),
                "min must be at least 1: an autoscaler needs a replica to observe",
            ));
        }
        match raw.replicas {
            None if by_region.is_none() => initial_replicas = Some(a.min.max(1)),
            None => {} // a regional service's counts are in `regions`, checked above
            Some(n) if n < i64::from(a.min) || n > i64::from(a.max) => problems.push(Problem::new(
                join(path, "replicas"),
                format!(
                    "replicas {n} (the count at the start) must lie between autoscale.min {} and autoscale.max {}",
                    a.min, a.max
                ),
            )),
            Some(_) => {}
        }
    }
    ServiceWorld {
        initial_replicas,
        fleet: ServiceFleet {
            autoscale,
            health,
            regions: by_region,
            spot_discount: fleet::service_number(
                raw.spot_discount,
                &join(path, "spot_discount"),
                (0.0, 1.0),
                "a fraction off the replica-hour price",
                problems,
            ),
            price_per_request_usd: fleet::service_number(
                raw.price_per_request,
                &join(path, "price_per_request"),
                (0.0, fleet::MAX_PRICE_USD),
                "USD per request",
                problems,
            ),
        },
    }
}
