//! The resilience patterns on `System`: which breaker and retry budget a call meets (its
//! calling replica's own, or the service's shared one), permits taken and settled (the
//! breakers and budgets themselves are in `components::resilience`).

use super::System;
use crate::components::entity::{Call, Ending, Permit};
use crate::components::resilience::{Breaker, BudgetState};
use crate::components::service::ServiceState;
use crate::engine::slab::Key;
use crate::engine::time::Nanos;
use crate::scenario::model::ServiceId;

/// The breaker a call from replica `replica` of `caller` to `callee` passes, with the life
/// of the replica that holds it (0 for a shared breaker): the caller's own (`scope =
/// "caller"`), or the callee's shared one; `None` without a breaker.
fn breaker_on_the_way(
    services: &mut [ServiceState],
    caller: ServiceId,
    replica: u32,
    callee: ServiceId,
) -> Option<(&mut Breaker, u32)> {
    match services[caller].own_breaker_slot(callee) {
        Some(slot) => Some(services[caller].own_breaker(replica, slot)),
        None => services[callee].shared_breaker_mut().map(|b| (b, 0)),
    }
}

impl System<'_> {
    /// The caller's service and replica, and the callee, of a live call.
    fn ends_of(&self, call_key: Key<Call>) -> (ServiceId, u32, ServiceId) {
        let call = self
            .calls
            .get(call_key)
            .expect("a call at a breaker is live");
        let frame = self.frame(call.caller);
        (frame.service, frame.replica, call.callee)
    }

    /// Whether the breaker on the way to the callee (if any) lets copy `copy` of the call
    /// through now; if so, the copy holds its permit.
    pub(super) fn breaker_acquire(&mut self, now_ns: Nanos, call_key: Key<Call>, copy: u8) -> bool {
        let (caller, replica, callee) = self.ends_of(call_key);
        let Some((breaker, holder)) =
            breaker_on_the_way(&mut self.services, caller, replica, callee)
        else {
            return true;
        };
        let Some(permit) = breaker.acquire(now_ns) else {
            return false;
        };
        let call = self.calls.get_mut(call_key).expect("live");
        call.permits[usize::from(copy)] = Some(Permit { holder, ..permit });
        true
    }

    /// Copy `copy` of the call settles its permit (if it holds one) with how it ended; a
    /// cancelled copy releases it.
    pub(super) fn breaker_settle(
        &mut self,
        now_ns: Nanos,
        call_key: Key<Call>,
        copy: u8,
        ending: Ending,
    ) {
        let Some(permit) = self
            .calls
            .get_mut(call_key)
            .and_then(|c| c.permits[usize::from(copy)].take())
        else {
            return;
        };
        let (caller, replica, callee) = self.ends_of(call_key);
        let Some((breaker, holder)) =
            breaker_on_the_way(&mut self.services, caller, replica, callee)
        else {
            return;
        };
        if holder != permit.holder {
            return; // its replica is gone, and its breaker with it
        }
        let opened = breaker.settle(now_ns, permit, ending);
        #[cfg(test)]
        let state = breaker.state();
        if opened && now_ns >= self.window.0 {
            self.record.services[callee].breaker_opened += 1;
        }
        #[cfg(test)]
        if ending != Ending::Cancelled {
            self.breaker_log.push((now_ns, callee, ending, state));
        }
    }

    /// Every permit the call's copies still hold is released (they were cancelled).
    pub(super) fn breaker_release_all(&mut self, now_ns: Nanos, call_key: Key<Call>) {
        for copy in 0..2 {
            self.breaker_settle(now_ns, call_key, copy, Ending::Cancelled);
        }
    }

    /// Takes one retry from the budget of the caller's replica (or of the caller service,
    /// with `budget_scope = "service"`) in slot `slot` (the call's pair's, resolved in the
    /// call table), if it has one; true if the retry may go.
    pub(super) fn budget_withdraw(
        &mut self,
        now_ns: Nanos,
        caller: ServiceId,
        replica: u32,
        slot: Option<u32>,
    ) -> bool {
        self.budget_of(caller, replica, slot)
            .is_none_or(|budget| budget.withdraw(now_ns))
    }

    /// A first attempt deposits in the budget of its pair (slot `slot`), if it has one.
    pub(super) fn budget_deposit(
        &mut self,
        now_ns: Nanos,
        caller: ServiceId,
        replica: u32,
        slot: Option<u32>,
    ) {
        if let Some(budget) = self.budget_of(caller, replica, slot) {
            budget.deposit(now_ns);
        }
    }

    fn budget_of(
        &mut self,
        caller: ServiceId,
        replica: u32,
        slot: Option<u32>,
    ) -> Option<&mut BudgetState> {
        Some(self.services[caller].budget(replica, slot? as usize))
    }
}
