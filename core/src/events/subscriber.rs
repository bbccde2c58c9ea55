//! The subscriber's side of a [`FixedEmitter`]: a place, and the acknowledgement owed for each
//! event.

use core::fmt;
use core::future::Future;

use super::fixed::State;
use super::{FixedEmitter, Handled};

/// A place among a [`FixedEmitter`]'s subscribers; dropping it unsubscribes.
#[must_use = "dropping the subscriber unsubscribes at once"]
pub struct Subscriber<'a, E, Er, const N: usize> {
    emitter: &'a FixedEmitter<E, Er, N>,
    id: usize,
}

impl<'a, E, Er, const N: usize> Subscriber<'a, E, Er, N> {
    pub(super) fn new(emitter: &'a FixedEmitter<E, Er, N>, id: usize) -> Self {
        Subscriber { emitter, id }
    }

    /// This subscriber's place, as the [`FixedReport`](super::FixedReport) names it. Reused after it unsubscribes.
    #[must_use]
    pub fn id(&self) -> usize {
        self.id
    }

    /// Waits for the next event; settle it with the [`Ack`]. `None` once the emitter is
    /// [closed](FixedEmitter::close) and every event delivered to this subscriber was taken.
    /// Dropping this future takes nothing.
    #[must_use = "an event taken and dropped is reported abandoned"]
    pub async fn next(&mut self) -> Option<(E, Ack<'_, E, Er, N>)> {
        let emitter = self.emitter;
        let id = self.id;
        loop {
            let taken = emitter.ready[id]
                .wait_for_value(|| {
                    emitter.slots.with_lock(|slots| {
                        let slot = &mut slots[id];
                        match core::mem::replace(&mut slot.state, State::Running) {
                            State::Delivered(event) => Some(Some(event)),
                            other => {
                                slot.state = other;
                                emitter.is_closed().then_some(None)
                            }
                        }
                    })
                })
                .await;
            if let Ok(event) = taken {
                return event.map(|event| (event, Ack { emitter, id }));
            }
        }
    }

    /// Handles every event with `handler` (such as an `async fn(E) -> Result<(), Er>`) until
    /// the emitter is [closed](FixedEmitter::close): the usual body of a subscriber's task.
    pub async fn run<H, Fut>(&mut self, mut handler: H)
    where
        H: FnMut(E) -> Fut,
        Fut: Future<Output = Result<(), Er>>,
    {
        while let Some((event, ack)) = self.next().await {
            ack.settle(handler(event).await);
        }
    }
}

impl<E, Er, const N: usize> Drop for Subscriber<'_, E, Er, N> {
    fn drop(&mut self) {
        self.emitter.slots.with_lock(|slots| {
            let slot = &mut slots[self.id];
            slot.state = match core::mem::replace(&mut slot.state, State::Free) {
                // Settled before leaving: the outcome stays for its emit to collect.
                State::Settled(outcome) => State::SettledLeft(outcome),
                _ => {
                    slot.generation = slot.generation.wrapping_add(1);
                    State::Free
                }
            };
        });
        self.emitter.settled.wake_all();
    }
}

impl<E, Er, const N: usize> fmt::Debug for Subscriber<'_, E, Er, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber").field("id", &self.id).finish()
    }
}

/// The acknowledgement owed for one event: [`settle`](Ack::settle) it with the handler's
/// result. Dropped unsettled, the event is reported [`Handled::Abandoned`].
#[must_use = "settle the event; dropped, it is reported abandoned"]
pub struct Ack<'a, E, Er, const N: usize> {
    emitter: &'a FixedEmitter<E, Er, N>,
    id: usize,
}

impl<E, Er, const N: usize> Ack<'_, E, Er, N> {
    /// Reports how the handler did.
    pub fn settle(self, result: Result<(), Er>) {
        let outcome = match result {
            Ok(()) => Handled::Succeeded,
            Err(e) => Handled::Failed(e),
        };
        self.finish(outcome);
        core::mem::forget(self);
    }

    fn finish(&self, outcome: Handled<Er>) {
        self.emitter.slots.with_lock(|slots| {
            let slot = &mut slots[self.id];
            slot.state = match slot.state {
                State::Running => State::Settled(outcome),
                // The emit gave up on it: nobody is waiting for this outcome.
                _ => State::Idle,
            };
        });
        self.emitter.settled.wake_all();
    }
}

impl<E, Er, const N: usize> Drop for Ack<'_, E, Er, N> {
    fn drop(&mut self) {
        self.finish(Handled::Abandoned);
    }
}

impl<E, Er, const N: usize> fmt::Debug for Ack<'_, E, Er, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ack").field("id", &self.id).finish()
    }
}
