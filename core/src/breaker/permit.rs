//! The permit of an admitted call: [`Permit::record`] its outcome, or drop it to free its
//! probe slot.

use core::fmt;

use super::machine::{Now, Ticket};
use super::{Core, Outcome, Transition, record};
use crate::Instant;

/// An admitted call. [`record`](Permit::record) its outcome; dropped unrecorded (the call was
/// cancelled), it records nothing and frees its probe slot.
#[must_use = "a permit records nothing unless `record` is called; dropping it counts the call as never made"]
pub struct Permit<'a> {
    pub(super) breaker: &'a (dyn Core + Sync),
    pub(super) ticket: Ticket,
    pub(super) admitted: Instant,
}

impl Permit<'_> {
    /// Records how the call ended, at `now` (its duration is `now` less the admission time,
    /// for the slow-call rule).
    #[inline]
    pub fn record(self, now: Instant, outcome: Outcome) {
        self.finish(&mut Now::at(now), outcome);
    }

    #[inline]
    pub(super) fn finish(mut self, clock: &mut Now<'_>, outcome: Outcome) -> Option<Transition> {
        self.ticket.recorded = true;
        record(self.breaker, self.ticket, clock, self.admitted, outcome)
    }

    /// Whether this call is a half-open probe.
    #[must_use]
    pub fn is_probe(&self) -> bool {
        self.ticket.probe
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.ticket.recorded {
            self.breaker.release(self.ticket);
        }
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("probe", &self.ticket.probe)
            .field("admitted", &self.admitted)
            .finish()
    }
}
