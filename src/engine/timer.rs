//! Cancellable timers without searching the event queue.
//!
//! An entity that may set a timer (a call waiting for its answer, a replica's health check)
//! holds a [`TimerSlot`]. Arming it returns a [`TimerToken`] that the timer's event carries;
//! cancelling or re-arming moves the slot on, so the old event finds its token stale when it
//! comes due and is skipped in O(1). With the entity's own generational key (see
//! [`super::slab`]), an event is live only when both its entity and its token still are.

/// The token an armed timer's event carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerToken(u32);

/// One timer's worth of state: which arming, if any, is still live.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimerSlot {
    /// The token of the live arming; tokens start at 1, so 0 means "not armed".
    live: u32,
    issued: u32,
}

impl TimerSlot {
    /// Arms the timer, cancelling any earlier arming; schedule an event carrying the token.
    pub fn arm(&mut self) -> TimerToken {
        self.issued = self.issued.wrapping_add(1).max(1);
        self.live = self.issued;
        TimerToken(self.live)
    }

    pub fn cancel(&mut self) {
        self.live = 0;
    }

    pub fn is_armed(&self) -> bool {
        self.live != 0
    }

    /// The token of the live arming (a token that is never live when the slot is disarmed).
    pub fn token(&self) -> TimerToken {
        TimerToken(self.live)
    }

    /// Whether an event carrying `token` belongs to the live arming; unlike [`Self::fire`],
    /// it leaves the slot armed, for an arming that several events share (an attempt's
    /// timeout, hedge and network deliveries).
    pub fn is_live(&self, token: TimerToken) -> bool {
        self.live != 0 && self.live == token.0
    }

    /// Whether an event carrying `token` is the live arming; if so the timer is disarmed, so
    /// it fires once.
    pub fn fire(&mut self, token: TimerToken) -> bool {
        let live = self.live != 0 && self.live == token.0;
        if live {
            self.live = 0;
        }
        live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_latest_arming_fires_and_only_once() {
        let mut slot = TimerSlot::default();
        assert!(!slot.is_armed());
        let first = slot.arm();
        let second = slot.arm();
        assert!(!slot.fire(first), "re-arming cancels the first");
        assert!(slot.fire(second));
        assert!(!slot.fire(second), "a timer fires once");
        let third = slot.arm();
        assert!(slot.is_live(third) && slot.is_live(slot.token()));
        assert!(slot.is_live(third), "is_live leaves the timer armed");
        slot.cancel();
        assert!(!slot.fire(third));
        assert!(!slot.is_armed());
        assert!(
            !slot.is_live(slot.token()),
            "a disarmed slot has no live token"
        );
    }
}
