//! The gate: what a permit and a run need of their breaker, whatever its size (the gate
//! word and the locked paths behind it), and the lock-free fast paths that read it.

use super::machine::{Now, QUIET, Ticket};
use super::{CircuitBreaker, CircuitOpen, Outcome, Run, Transition};
use crate::loom::{AtomicU32, Ordering};
use crate::{Instant, Timer};

/// A breaker of any size, for the pipeline, which holds one without naming `N`.
#[derive(Clone, Copy)]
#[allow(dead_code)] // Used by the pipeline; unused where the module builds alone (loom).
pub(crate) struct AnyBreaker<'a>(&'a (dyn Core + Sync));

#[allow(dead_code)] // Used by the pipeline; unused where the module builds alone (loom).
impl<'a> AnyBreaker<'a> {
    /// The breaker behind a reference.
    pub(crate) const fn new<const N: usize>(breaker: &'a CircuitBreaker<N>) -> Self {
        AnyBreaker(breaker)
    }

    /// [`CircuitBreaker::run`] with [`Run::classify`].
    pub(crate) fn run<T, F, V, E, O>(
        self,
        timer: &T,
        work: F,
        classify: fn(&Result<V, E>) -> Outcome,
        observer: O,
    ) -> Run<'a, T, F, O>
    where
        T: Timer,
        F: Future<Output = Result<V, E>>,
    {
        Run::classified(self.0, timer.clone(), work, classify, observer)
    }
}

/// What a permit and a run need of their breaker, whatever its size: the gate word, and the
/// locked paths behind it. The transition each call caused is handed back too, for the
/// call's observer. The gate's fast paths, [`admit`] and [`record`], are inlined into their
/// callers: a closed breaker's call makes one indirect call for each.
pub(super) trait Core {
    /// The gate word, and whether an admission reads the clock (a time window or the slow-call
    /// rule needs the admission time).
    fn gate(&self) -> (&AtomicU32, bool);
    fn admit_locked(&self, clock: &mut Now<'_>) -> Admitted;
    fn record_locked(
        &self,
        ticket: Ticket,
        clock: &mut Now<'_>,
        admitted: Instant,
        outcome: Outcome,
    ) -> Option<Transition>;
    fn release(&self, ticket: Ticket);
}

pub(super) type Admitted = (Result<(Ticket, Instant), CircuitOpen>, Option<Transition>);

/// Admits a call. Closed or disabled: without the lock, in the epoch of the last change of
/// state. A trip published after this read finds the ticket's epoch passed, as it would had
/// the admission taken the lock just before the trip.
#[inline]
pub(super) fn admit(core: &dyn Core, clock: &mut Now<'_>) -> Admitted {
    let (gate, needs_time) = core.gate();
    let gate = gate.load(Ordering::Acquire);
    if gate & 1 == 1 {
        let ticket = Ticket {
            epoch: gate >> 2,
            probe: false,
            recorded: false,
        };
        let now = if needs_time {
            clock.get()
        } else {
            Instant::ZERO
        };
        return (Ok((ticket, now)), None);
    }
    core.admit_locked(clock)
}

/// Records a call's outcome. A success that changes nothing, in the epoch that admitted it,
/// takes no lock: it is recorded at the instant of the gate's read, as if under the lock then.
#[inline]
pub(super) fn record(
    core: &dyn Core,
    ticket: Ticket,
    clock: &mut Now<'_>,
    admitted: Instant,
    outcome: Outcome,
) -> Option<Transition> {
    if !matches!(outcome, Outcome::Failure)
        && !ticket.probe
        && core.gate().0.load(Ordering::Acquire) == (ticket.epoch << 2) | QUIET
    {
        return None;
    }
    core.record_locked(ticket, clock, admitted, outcome)
}

impl<const N: usize> Core for CircuitBreaker<N> {
    fn gate(&self) -> (&AtomicU32, bool) {
        (&self.gate, self.settings.needs_time())
    }

    fn admit_locked(&self, clock: &mut Now<'_>) -> Admitted {
        let (admitted, transition) = self.locked(|m| m.admit(&self.settings, clock));
        self.notify(transition);
        (admitted, transition)
    }

    fn record_locked(
        &self,
        ticket: Ticket,
        clock: &mut Now<'_>,
        admitted: Instant,
        outcome: Outcome,
    ) -> Option<Transition> {
        let t = self.locked(|m| m.record(&self.settings, ticket, clock, admitted, outcome));
        self.notify(t);
        t
    }

    fn release(&self, ticket: Ticket) {
        // Only a probe holds anything to give back: a cancelled closed-state call takes no lock.
        if ticket.probe {
            self.machine.with_lock(|m| m.release(ticket));
        }
    }
}
