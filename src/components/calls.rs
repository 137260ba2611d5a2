//! Every call a service's plans can make, resolved once when a replication's world is built:
//! its spec, the entry of its fallback, and the slots of the budgets it meets, so that the
//! call path reads a call's spec and budgets by one index and never walks a plan or hashes.
//!
//! Entries are laid out step by step: a step's calls in slot order, then the step's fallback
//! (so a step's calls start at one index and its fallback sits after them), then the tails of
//! their chains of fallbacks. A call entity keeps the index of the entry it is on
//! (`Call::spec`), and moving onto its fallback is following `fallback`.
//!
//! Budgets are per (caller service, callee) pair: calls from one caller to one callee share
//! the budget the first of them (in the order of `Service::call_specs`) gives, whether or not
//! the later ones give one, as Finagle's budget belongs to the client of one service.

use crate::scenario::model::{Call, Model, RetryBudget, ServiceId, Step};
use rustc_hash::FxHashMap;

/// One call spec as the call path reads it.
#[derive(Debug, Clone, Copy)]
pub struct CallEntry<'m> {
    spec: &'m Call,
    /// The entry of its fallback, if it has one.
    fallback: Option<u32>,
    /// Whether the call as its step writes it (the head of the chain this entry is on) is
    /// optional: what the step's join reads, whichever fallback the call is on.
    optional: bool,
    /// Whether it is a fallback (of a call, or the step's): its success degrades the answer.
    on_a_fallback: bool,
    /// Its pair's hedge budget: an index into [`CallTable::hedge_budgets`].
    hedge_budget: Option<u32>,
    /// Its pair's retry budget: a slot of the caller's (see `ServiceState::budget_callees`).
    retry_budget: Option<u32>,
}

/// An entry is read, never changed, once the table is built: each figure by its name.
impl<'m> CallEntry<'m> {
    /// The call as the model writes it.
    #[inline]
    pub fn spec(&self) -> &'m Call {
        self.spec
    }

    /// The entry of its fallback, if it has one.
    #[inline]
    pub fn fallback(&self) -> Option<u32> {
        self.fallback
    }

    /// Whether the call as its step writes it is optional (whichever fallback it is on).
    #[inline]
    pub fn is_optional(&self) -> bool {
        self.optional
    }

    /// Whether it is a fallback: its success degrades the answer.
    #[inline]
    pub fn is_a_fallback(&self) -> bool {
        self.on_a_fallback
    }

    /// Its pair's hedge budget, an index into [`CallTable::hedge_budgets`].
    #[inline]
    pub fn hedge_budget(&self) -> Option<u32> {
        self.hedge_budget
    }

    /// Its pair's retry budget, a slot of the caller's.
    #[inline]
    pub fn retry_budget(&self) -> Option<u32> {
        self.retry_budget
    }
}

/// The resolved calls of a model.
#[derive(Debug, Clone, Default)]
pub struct CallTable<'m> {
    entries: Vec<CallEntry<'m>>,
    /// Per service: the index in `steps` of its plan's first step and of its cache's miss
    /// plan's first step.
    plans: Vec<[u32; 2]>,
    /// Per step: the entry of its first call.
    steps: Vec<u32>,
    /// The spec of each hedge budget, in slot order.
    hedge_budgets: Vec<RetryBudget>,
}

impl<'m> CallTable<'m> {
    /// Resolves every call of `model`; `retry_slot(caller, callee)` is the slot of the
    /// caller's retry budget for calls to `callee`, if it keeps one.
    pub fn new(model: &'m Model, retry_slot: impl Fn(ServiceId, ServiceId) -> Option<u32>) -> Self {
        let mut table = CallTable::default();
        let mut hedge_slots: FxHashMap<(ServiceId, ServiceId), u32> = FxHashMap::default();
        for (caller, service) in model.services.iter().enumerate() {
            // The first call of the pair that gives a hedge budget sets it.
            for call in service.call_specs() {
                if let Some(budget) = call.hedge_budget {
                    hedge_slots
                        .entry((caller, call.service))
                        .or_insert_with(|| {
                            table.hedge_budgets.push(budget);
                            (table.hedge_budgets.len() - 1) as u32
                        });
                }
            }
            let resolve = |spec: &'m Call, optional: bool, on_a_fallback: bool| CallEntry {
                spec,
                fallback: None,
                optional,
                on_a_fallback,
                hedge_budget: hedge_slots.get(&(caller, spec.service)).copied(),
                retry_budget: retry_slot(caller, spec.service),
            };
            let on_miss = service.cache.as_ref().map_or(&[][..], |c| &c.on_miss[..]);
            let mut plans = [0; 2];
            for (plan, first) in [&service.plan[..], on_miss].into_iter().zip(&mut plans) {
                *first = table.steps.len() as u32;
                for step in plan {
                    table.lay_out(step, &resolve);
                }
            }
            table.plans.push(plans);
        }
        table
    }

    /// Lays out one step: its calls and fallback, then their chains of fallbacks.
    fn lay_out(
        &mut self,
        step: &'m Step,
        resolve: &impl Fn(&'m Call, bool, bool) -> CallEntry<'m>,
    ) {
        let first = self.entries.len();
        self.steps.push(first as u32);
        let heads = step.calls.iter().map(|c| (c, false));
        for (call, is_fallback) in heads.chain(step.fallback.as_deref().map(|c| (c, true))) {
            self.entries.push(resolve(call, call.optional, is_fallback));
        }
        for head in first..self.entries.len() {
            let (mut at, optional) = (head, self.entries[head].optional);
            while let Some(next) = self.entries[at].spec.fallback.as_deref() {
                self.entries.push(resolve(next, optional, true));
                let index = self.entries.len() - 1;
                self.entries[at].fallback = Some(index as u32);
                at = index;
            }
        }
    }

    /// The entry of call `slot` of step `step` of `service`'s plan (or of its cache's miss
    /// plan); `slot` is the step's number of calls for the step's fallback.
    #[inline]
    pub fn entry_of(&self, service: ServiceId, on_miss: bool, step: u16, slot: usize) -> u32 {
        let first_step = self.plans[service][usize::from(on_miss)] as usize;
        self.steps[first_step + usize::from(step)] + slot as u32
    }

    #[inline]
    /// The spec of each hedge budget, in slot order (a replication keeps one state each).
    pub fn hedge_budgets(&self) -> &[RetryBudget] {
        &self.hedge_budgets
    }

    pub fn get(&self, entry: u32) -> &CallEntry<'m> {
        &self.entries[entry as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Services `a`, `b` and `c` (in that order), `a` and `b` making the calls given.
    fn model(a_calls: &str, b_calls: &str) -> Model {
        let service = |name: &str, calls: &str| {
            format!(
                "[[service]]\nname = \"{name}\"\ncalls = [{calls}]\n\
                 service_time = {{ dist = \"constant\", value = \"1ms\" }}\n"
            )
        };
        let toml = format!(
            "[scenario]\nduration = \"1s\"\n[traffic]\nrate = 1\n{}{}{}",
            service("a", a_calls),
            service("b", b_calls),
            service("c", "")
        );
        crate::scenario::load(&toml, "t.toml", &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn calls_of_one_caller_to_one_callee_share_the_first_hedge_budget_and_callers_do_not() {
        // `a` calls `c` twice (budgets 0.1 then 0.3, in steps 0 and 2) and `b` unbudgeted in
        // step 1; `b` calls `c` with budget 0.5. Expected: two slots, (a, c) with 0.1 (the
        // first given, also met by a's second call), (b, c) with 0.5; a's call to b has none.
        let hedged = |ratio| {
            format!(r#"{{ service = "c", hedge = {{ after = "1ms", max_extra_load = {ratio} }} }}"#)
        };
        let (a, b) = (hedged(0.1), hedged(0.3));
        let model = model(&format!(r#"{a}, "b", {b}"#), &hedged(0.5));
        let table = CallTable::new(&model, |_, _| None);
        let ratios: Vec<f64> = table.hedge_budgets.iter().map(|b| b.ratio).collect();
        assert_eq!(ratios, [0.1, 0.5]);
        let slot = |service, step| {
            table
                .get(table.entry_of(service, false, step, 0))
                .hedge_budget
        };
        assert_eq!(
            [slot(0, 0), slot(0, 1), slot(0, 2)],
            [Some(0), None, Some(0)]
        );
        assert_eq!(slot(1, 0), Some(1));
    }

    #[test]
    fn a_steps_calls_then_its_fallback_then_their_chains_are_laid_out_in_order() {
        // One step: an optional call to b whose fallback is c, then a call to c, and the
        // step's fallback to b. Expected: entries 0 (b), 1 (c), 2 (step fallback), then 3,
        // the chain's c, which is a fallback and keeps the written call's `optional`.
        let model = model(
            r#"{ parallel = [{ service = "b", optional = true, fallback = "c" }, "c"], fallback = "b" }"#,
            "",
        );
        let table = CallTable::new(&model, |_, _| None);
        let entry = |slot| table.entry_of(0, false, 0, slot);
        assert_eq!([entry(0), entry(1), entry(2)], [0, 1, 2]);
        let fields = |e: u32| {
            let e = table.get(e);
            (e.spec.service, e.optional, e.on_a_fallback, e.fallback)
        };
        assert_eq!(fields(0), (1, true, false, Some(3)));
        assert_eq!(fields(1), (2, false, false, None));
        assert_eq!(fields(2), (1, false, true, None));
        assert_eq!(fields(3), (2, true, true, None));
    }
}
