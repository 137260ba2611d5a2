//! Happenings as people and scripts read them: a kind, a subject and a detail for each.

use crate::metrics::run::Happening;
use crate::metrics::summary::Summary;

/// One happening, named.
pub struct Described {
    /// A short machine name: `spike`, `scale_up`, `crash`, ...
    pub kind: &'static str,
    /// A sentence for the terminal.
    pub text: String,
    /// Whether the terminal's compact event lines show it (replicas becoming ready one by
    /// one are in the JSON only).
    pub headline: bool,
}

pub fn describe(s: &Summary, what: &Happening) -> Described {
    let service = |id: usize| s.services.get(id).map_or("?", |x| x.name.as_str());
    let fault = |id: usize| s.fault_labels.get(id).map_or("?", String::as_str);
    let region = |id: usize| s.region_names.get(id).map_or("?", String::as_str);
    let (kind, text, headline) = match *what {
        Happening::SpikeStart { spike, multiplier } => (
            "spike",
            format!("traffic spike {spike} begins (x{multiplier})"),
            true,
        ),
        Happening::SpikeEnd { spike } => ("spike_end", format!("traffic spike {spike} ends"), true),
        Happening::StepStart { step, rate_per_s } => (
            "step",
            format!("traffic step {step} begins (to {rate_per_s} req/s)"),
            true,
        ),
        Happening::ScaleUp {
            service: id,
            from,
            to,
            observed,
        } => (
            "scale_up",
            format!(
                "scale up {} {from} -> {to} (metric {observed:.3})",
                service(id)
            ),
            true,
        ),
        Happening::ScaleDown {
            service: id,
            from,
            to,
            observed,
        } => (
            "scale_down",
            format!(
                "scale down {} {from} -> {to} (metric {observed:.3})",
                service(id)
            ),
            true,
        ),
        Happening::ReplicaReady {
            service: id,
            replica,
            ready,
        } => (
            "replica_ready",
            format!("{} replica {replica} ready ({ready} ready)", service(id)),
            false,
        ),
        Happening::FaultStart { fault: f } => {
            ("fault_start", format!("fault {} begins", fault(f)), true)
        }
        Happening::FaultEnd { fault: f } => ("fault_end", format!("fault {} ends", fault(f)), true),
        Happening::Crash {
            fault: f,
            service: id,
            replica,
        } => (
            "crash",
            format!("{} replica {replica} crashed ({})", service(id), fault(f)),
            true,
        ),
        Happening::SpotNotice {
            fault: f,
            service: id,
            replica,
        } => (
            "spot_notice",
            format!(
                "{} replica {replica} reclaimed, notice given ({})",
                service(id),
                fault(f)
            ),
            true,
        ),
        Happening::Ejected {
            service: id,
            replica,
        } => (
            "ejected",
            format!(
                "{} replica {replica} failed its health checks: out of rotation",
                service(id)
            ),
            true,
        ),
        Happening::Restored {
            service: id,
            replica,
        } => (
            "restored",
            format!(
                "{} replica {replica} passed a health check: back in rotation",
                service(id)
            ),
            false,
        ),
        Happening::Failover { region: r, to } => (
            "failover",
            format!("clients of {} fail over to {}", region(r), region(to)),
            true,
        ),
        Happening::Rollout {
            service: id,
            kind: k,
            value,
        } => {
            use crate::metrics::run::RolloutKind as K;
            let detail = match k {
                K::Start => format!(
                    "{} rollout starts ({})",
                    service(id),
                    crate::scenario::deploy::STRATEGIES
                        .get(value as usize)
                        .map_or("?", |s| s.0)
                ),
                K::Step => format!("{} new version at weight {value}%", service(id)),
                K::AnalysisPass => format!(
                    "{} canary analysis passed (error rate {:.4})",
                    service(id),
                    value
                ),
                K::AnalysisFail => format!(
                    "{} canary analysis failed (error rate {:.4})",
                    service(id),
                    value
                ),
                K::AnalysisNoData => format!(
                    "{} canary analysis failed: too few requests ({value})",
                    service(id)
                ),
                K::AnalysisInconclusive => format!(
                    "{} canary analysis inconclusive: too few requests; the rollout pauses",
                    service(id)
                ),
                K::Switch => format!("{} traffic switched to the new version", service(id)),
                K::Promoted => format!("{} new version promoted", service(id)),
                K::RolledBack => format!("{} rolled back to the old version", service(id)),
                K::Inconclusive => format!("{} rollout inconclusive", service(id)),
                K::Teardown => format!(
                    "{} rollout done: the other version is torn down",
                    service(id)
                ),
            };
            (k.key(), detail, true)
        }
        Happening::Failback { region: r } => (
            "failback",
            format!("clients of {} are served at home again", region(r)),
            true,
        ),
        Happening::BacklogSent {
            region: r,
            requests,
        } => (
            "backlog_sent",
            format!(
                "{} is back: {requests} requests waiting in its backlog sent",
                region(r)
            ),
            true,
        ),
    };
    Described {
        kind,
        text,
        headline,
    }
}
