//! [`OwnedPermit`]: a permit that owns a reference to its breaker, for futures that must not
//! borrow it (a tower `Service`'s response future, a spawned task).

use alloc::sync::Arc;
use core::fmt;

use super::machine::{Now, Ticket};
use super::{CircuitBreaker, CircuitOpen, Core, Outcome, admit, record};
use crate::{Instant, Timer};

impl<const N: usize> CircuitBreaker<N> {
    /// Like [`try_acquire`](CircuitBreaker::try_acquire), for a permit that owns a reference
    /// to the breaker. The clock is read through `timer` only when the state needs it: a
    /// closed breaker without a time window or a slow-call rule admits without reading it.
    ///
    /// # Errors
    ///
    /// [`CircuitOpen`] when the breaker is open or forced open, or half-open with every probe
    /// slot taken.
    pub fn try_acquire_owned<T: Timer>(
        self: &Arc<Self>,
        timer: &T,
    ) -> Result<OwnedPermit, CircuitOpen> {
        let (ticket, admitted) = admit(&**self, &mut Now::lazy(&|| timer.now())).0?;
        Ok(OwnedPermit {
            breaker: Arc::clone(self) as Arc<dyn Core + Send + Sync>,
            ticket,
            admitted,
        })
    }
}

/// An admitted call that owns a reference to its breaker, from
/// [`CircuitBreaker::try_acquire_owned`]. [`record`](OwnedPermit::record) its outcome;
/// dropped unrecorded (the call was cancelled), it records nothing and frees its probe slot,
/// as a [`Permit`](super::Permit) does.
#[must_use = "a permit records nothing unless `record` is called; dropping it counts the call as never made"]
pub struct OwnedPermit {
    breaker: Arc<dyn Core + Send + Sync>,
    ticket: Ticket,
    admitted: Instant,
}

impl OwnedPermit {
    /// Records how the call ended, reading the clock through `timer` only when the breaker
    /// needs it (a time window, the slow-call rule, a probe).
    pub fn record<T: Timer>(mut self, timer: &T, outcome: Outcome) {
        self.ticket.recorded = true;
        record(
            &*self.breaker,
            self.ticket,
            &mut Now::lazy(&|| timer.now()),
            self.admitted,
            outcome,
        );
    }

    /// Whether this call is a half-open probe.
    #[must_use]
    pub fn is_probe(&self) -> bool {
        self.ticket.probe
    }
}

impl Drop for OwnedPermit {
    fn drop(&mut self) {
        if !self.ticket.recorded {
            self.breaker.release(self.ticket);
        }
    }
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("probe", &self.ticket.probe)
            .field("admitted", &self.admitted)
            .finish()
    }
}
