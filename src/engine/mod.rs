//! The discrete-event core: integer-nanosecond time, the `(time, seq)` event queue, random
//! streams, the request slab and the run loop. No I/O, no model knowledge.
//!
//! The run loop is generic over a [`World`], which owns the components and handles a closed
//! enum of events; monomorphisation makes the dispatch a plain `match`.

pub mod queue;
pub mod rng;
pub mod slab;
pub mod time;
pub mod timer;

use queue::EventQueue;
use time::Nanos;

/// Whether the run goes on after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Continue,
    Stop,
}

/// What a simulation is made of: the state its events act on.
pub trait World {
    type Event;

    /// Handles one event at time `now_ns`, scheduling any that follow from it.
    fn handle(
        &mut self,
        now_ns: Nanos,
        event: Self::Event,
        events: &mut EventQueue<Self::Event>,
    ) -> Control;
}

/// Events between two calls of the progress observer: rare enough to cost nothing, frequent
/// enough (a few times a second) for a progress bar.
const PROGRESS_EVERY_EVENTS: u64 = 1 << 20;

/// Runs events in `(time, seq)` order until none are left or the world says stop, telling
/// `progress` the simulated time now and then. Returns the time of the last event handled
/// and how many events were handled.
pub fn run<W: World>(
    world: &mut W,
    events: &mut EventQueue<W::Event>,
    progress: &mut dyn FnMut(Nanos),
) -> (Nanos, u64) {
    let mut now_ns = 0;
    let mut handled: u64 = 0;
    while let Some((time_ns, event)) = events.pop() {
        debug_assert!(time_ns >= now_ns, "time never runs backwards");
        now_ns = time_ns;
        if world.handle(now_ns, event, events) == Control::Stop {
            break;
        }
        handled += 1;
        if handled.is_multiple_of(PROGRESS_EVERY_EVENTS) {
            progress(now_ns);
        }
    }
    (now_ns, handled)
}
