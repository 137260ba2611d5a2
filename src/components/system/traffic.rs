//! Arrivals on `System`: the next request from the source (`Arrival`) and a closed-loop
//! user's next request (`UserRequest`); the sources are in `components::traffic`.

use super::System;
use crate::components::entity::Event;
use crate::components::entity::{Ending, RequestInfo, NO_USER};
use crate::components::traffic::{Source, FIRST_THINK_SITE};
use crate::engine::queue::EventQueue;
use crate::engine::time::Nanos;
use crate::scenario::model::Arrivals;

impl System<'_> {
    /// The first arrival, if it falls inside the run (each user's first, in a closed loop).
    pub(super) fn schedule_first_arrival(&mut self, events: &mut EventQueue<Event>) {
        if let Source::Closed(stream) = &self.traffic {
            let Arrivals::Closed { users, think } = &self.model.traffic.arrivals else {
                return;
            };
            for user in 0..*users {
                let at = think.sample_ns(&mut stream.at(u64::from(user), FIRST_THINK_SITE, 0));
                if at < self.model.duration_ns {
                    events.schedule(at, Event::UserRequest(user));
                }
            }
            return;
        }
        if let Some(first_ns) = self.next_arrival_ns(0) {
            events.schedule_solo(first_ns, Event::Arrival);
        }
    }

    /// The open-loop arrival after one at `now_ns`, if it falls inside the run.
    fn next_arrival_ns(&mut self, now_ns: Nanos) -> Option<Nanos> {
        let next_ns = match &mut self.traffic {
            Source::Poisson(p) => now_ns.saturating_add(p.next_gap_ns()),
            Source::Shaped(s) => s.next_arrival_ns()?,
            Source::Replay(next) => {
                let Arrivals::Replay(times) = &self.model.traffic.arrivals else {
                    return None;
                };
                let at = *times.get(*next)?;
                *next += 1;
                at
            }
            Source::Closed(_) => return None,
        };
        (next_ns < self.model.duration_ns).then_some(next_ns)
    }

    /// A request arrives; the next one is scheduled if it falls inside the run.
    pub(super) fn on_arrival(&mut self, now_ns: Nanos, events: &mut EventQueue<Event>) {
        if let Some(next_ns) = self.next_arrival_ns(now_ns) {
            events.schedule_solo(next_ns, Event::Arrival);
        }
        self.begin_request(now_ns, NO_USER, events);
    }

    /// A closed-loop user is done thinking and sends a request.
    pub(super) fn on_user_request(
        &mut self,
        now_ns: Nanos,
        user: u32,
        events: &mut EventQueue<Event>,
    ) {
        self.begin_request(now_ns, user, events);
    }

    /// A request ended (any way): the time series counts it, and its user, if any, thinks
    /// and sends the next one (no new request after the run's end). Inlined: it runs at the
    /// end of every request.
    #[inline(always)]
    pub(super) fn request_ended(
        &mut self,
        now_ns: Nanos,
        request: RequestInfo,
        arrived_ns: Nanos,
        ending: Ending,
        events: &mut EventQueue<Event>,
    ) {
        if self.plain_requests {
            return; // no time series, no users: nothing follows
        }
        let away_ns = self.regions.round_trip_ns(request);
        self.series_note_end(now_ns, arrived_ns.saturating_sub(away_ns), ending);
        if request.user == NO_USER {
            return;
        }
        let (Source::Closed(stream), Arrivals::Closed { think, .. }) =
            (&self.traffic, &self.model.traffic.arrivals)
        else {
            return;
        };
        let think_ns = think.sample_ns(&mut stream.at(request.id, 0, 0));
        let at = now_ns.saturating_add(think_ns);
        if at < self.model.duration_ns {
            events.schedule(at, Event::UserRequest(request.user));
        }
    }
}
