//! The emitter without a heap: a fixed number of subscribers, each a task of yours.

use core::fmt;
use core::time::Duration;

use maitake_sync::blocking::Mutex as BlockingMutex;
use maitake_sync::{Mutex, WaitCell, WaitQueue};

use super::{FixedReport, Handled, SubscribeError, Subscriber};
use crate::Timer;
use crate::loom::{AtomicBool, Ordering};
use crate::timeout::timeout;

/// An event emitter with room for `N` subscribers and no heap, `const`-constructible for a
/// `static` (see the [module docs](super#without-a-heap)).
///
/// A handler is a loop in a task of yours, holding a [`Subscriber`]: it takes each event with
/// [`Subscriber::next`] (or lets [`Subscriber::run`] loop for it) and settles it with the
/// [`Ack`](super::Ack) that comes with the event. [`emit`](FixedEmitter::emit) hands the event to every
/// subscriber at once, waits until each has settled, and returns a [`FixedReport`]. So the
/// handlers run concurrently, each in its own task, and one failing handler stops no other.
/// [`close`](FixedEmitter::close) ends the subscribers' loops.
///
/// With `N = 0` every [`subscribe`](FixedEmitter::subscribe) is refused
/// ([`SubscribeError::Full`]) and every emit reports nobody.
pub struct FixedEmitter<E, Er, const N: usize> {
    pub(super) slots: BlockingMutex<[Slot<E, Er>; N]>,
    /// Where each subscriber waits for its next event.
    pub(super) ready: [WaitCell; N],
    /// Set by `close`: nothing more is delivered, subscribers' loops end.
    pub(super) closed: AtomicBool,
    /// Where an emit waits for acknowledgements.
    pub(super) settled: WaitQueue,
    /// One emit at a time, in FIFO order.
    turn: Mutex<()>,
}

pub(super) struct Slot<E, Er> {
    /// Bumped whenever the slot changes hands, so an emit can tell its subscriber left.
    pub(super) generation: u32,
    pub(super) state: State<E, Er>,
}

impl<E, Er> Slot<E, Er> {
    /// Takes a settled outcome (the state must be `Settled` or `SettledLeft`); an idle place
    /// stays the subscriber's, a left one is freed.
    fn take_settled(&mut self) -> Handled<Er> {
        match core::mem::replace(&mut self.state, State::Idle) {
            State::Settled(outcome) => outcome,
            State::SettledLeft(outcome) => {
                self.generation = self.generation.wrapping_add(1);
                self.state = State::Free;
                outcome
            }
            other => {
                self.state = other;
                Handled::Abandoned
            }
        }
    }
}

pub(super) enum State<E, Er> {
    /// No subscriber.
    Free,
    /// Subscribed, no event.
    Idle,
    /// An event waits to be taken.
    Delivered(E),
    /// The subscriber took the event and has not settled it yet.
    Running,
    /// Settled, waiting for the emit to collect it.
    Settled(Handled<Er>),
    /// Settled, and the subscriber has left since: the emit collects the outcome and frees the
    /// place.
    SettledLeft(Handled<Er>),
    /// Still running an event whose emit gave up waiting (timeout); its settlement is
    /// discarded.
    Late,
}

impl<E, Er, const N: usize> FixedEmitter<E, Er, N> {
    /// An emitter with room for `N` subscribers and none yet.
    #[must_use]
    pub const fn new() -> Self {
        FixedEmitter {
            slots: BlockingMutex::new(
                [const {
                    Slot {
                        generation: 0,
                        state: State::Free,
                    }
                }; N],
            ),
            ready: [const { WaitCell::new() }; N],
            closed: AtomicBool::new(false),
            settled: WaitQueue::new(),
            turn: Mutex::new(()),
        }
    }

    /// How many subscribers the emitter has room for, `N`.
    #[must_use]
    pub const fn capacity(&self) -> usize {
        N
    }

    /// How many subscribers there are.
    #[must_use]
    pub fn subscriber_count(&self) -> usize {
        self.slots.with_lock(|slots| {
            slots
                .iter()
                .filter(|s| !matches!(s.state, State::Free | State::SettledLeft(_)))
                .count()
        })
    }

    /// Takes a free place: [`SubscribeError::Full`] when all `N` are taken,
    /// [`SubscribeError::Closed`] once closed. Dropping the subscriber gives the place back
    /// (unsubscribes).
    pub fn subscribe(&self) -> Result<Subscriber<'_, E, Er, N>, SubscribeError> {
        if self.is_closed() {
            return Err(SubscribeError::Closed);
        }
        self.slots.with_lock(|slots| {
            let (id, slot) = slots
                .iter_mut()
                .enumerate()
                .find(|(_, s)| matches!(s.state, State::Free))
                .ok_or(SubscribeError::Full)?;
            slot.generation = slot.generation.wrapping_add(1);
            slot.state = State::Idle;
            Ok(Subscriber::new(self, id))
        })
    }

    /// Closes the emitter: no event is delivered any more (later emits report nobody), and
    /// each subscriber's [`next`](Subscriber::next) gives `None` once it has taken the events
    /// already delivered to it, so its loop ([`run`](Subscriber::run)) ends. Emits already
    /// delivered still collect their outcomes; later subscriptions are refused.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        for ready in &self.ready {
            ready.wake();
        }
    }

    /// Whether [`close`](Self::close) was called.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

impl<E: Clone, Er, const N: usize> FixedEmitter<E, Er, N> {
    /// Hands a clone of `event` to every subscriber, waits until each has settled it, and
    /// reports. Emits take turns, in FIFO order. Dropping the future gives up on the
    /// subscribers, as a timeout does, without a report.
    pub async fn emit(&self, event: E) -> FixedReport<Er, N> {
        let _turn = self.turn.lock().await;
        let mut waiting = Waiting {
            emitter: self,
            pending: self.deliver(&event),
        };
        drop(event);
        // The queue is never closed.
        let _ = self
            .settled
            .wait_for(|| self.collect(&mut waiting.pending))
            .await;
        waiting.report()
    }

    /// [`emit`](Self::emit), waiting at most `duration` on `timer` for the subscribers, all of
    /// which start at once: a subscriber that has not settled by then is reported
    /// [`Handled::TimedOut`]. Its task is not cancelled (it is not ours to cancel): until it
    /// settles, later emits report it [`Handled::Busy`].
    pub async fn emit_with_timeout<T: Timer>(
        &self,
        event: E,
        timer: &T,
        duration: Duration,
    ) -> FixedReport<Er, N> {
        let _turn = self.turn.lock().await;
        let mut waiting = Waiting {
            emitter: self,
            pending: self.deliver(&event),
        };
        drop(event);
        let _ = timeout(
            timer,
            duration,
            self.settled.wait_for(|| self.collect(&mut waiting.pending)),
        )
        .await;
        waiting.report()
    }

    fn deliver(&self, event: &E) -> Pending<Er, N> {
        let mut pending = Pending::new();
        if self.is_closed() {
            return pending;
        }
        self.slots.with_lock(|slots| {
            for (i, slot) in slots.iter_mut().enumerate() {
                match slot.state {
                    State::Free | State::SettledLeft(_) => {}
                    State::Idle => {
                        slot.state = State::Delivered(event.clone());
                        pending.0[i] = Entry::Waiting(slot.generation);
                    }
                    // Busy with an event an earlier emit gave up on. (`Delivered`, `Running`
                    // and `Settled` cannot be seen here: an emit collects or retracts all of
                    // its events before it ends; they are handled alike for robustness.)
                    State::Delivered(_) | State::Running | State::Settled(_) | State::Late => {
                        pending.0[i] = Entry::Done(Handled::Busy);
                    }
                }
            }
        });
        for (i, entry) in pending.0.iter().enumerate() {
            if matches!(entry, Entry::Waiting(_)) {
                self.ready[i].wake();
            }
        }
        pending
    }

    /// Collects settled outcomes; whether every subscriber is done.
    fn collect(&self, pending: &mut Pending<Er, N>) -> bool {
        self.slots.with_lock(|slots| {
            let mut done = true;
            for (slot, entry) in slots.iter_mut().zip(pending.0.iter_mut()) {
                let Entry::Waiting(generation) = *entry else {
                    continue;
                };
                if slot.generation != generation {
                    *entry = Entry::Done(Handled::Abandoned);
                    continue;
                }
                match slot.state {
                    State::Settled(_) | State::SettledLeft(_) => {
                        *entry = Entry::Done(slot.take_settled());
                    }
                    State::Delivered(_) | State::Running => done = false,
                    // Cannot happen while the event is out; never wait for it.
                    State::Idle | State::Free | State::Late => {
                        *entry = Entry::Done(Handled::Abandoned);
                    }
                }
            }
            done
        })
    }

    /// Gives up waiting: what has settled is collected, what has not is timed out: an event
    /// not yet taken is taken back, a subscriber still running one is marked late. All under
    /// one lock, so a settlement racing with the timeout is either collected or discarded,
    /// never lost in between.
    fn give_up(&self, pending: &mut Pending<Er, N>) {
        self.slots.with_lock(|slots| {
            for (slot, entry) in slots.iter_mut().zip(pending.0.iter_mut()) {
                let Entry::Waiting(generation) = *entry else {
                    continue;
                };
                if slot.generation != generation {
                    *entry = Entry::Done(Handled::Abandoned);
                    continue;
                }
                if matches!(slot.state, State::Settled(_) | State::SettledLeft(_)) {
                    *entry = Entry::Done(slot.take_settled());
                    continue;
                }
                *entry = Entry::Done(match core::mem::replace(&mut slot.state, State::Idle) {
                    State::Settled(outcome) | State::SettledLeft(outcome) => outcome,
                    State::Delivered(_) => Handled::TimedOut,
                    State::Running => {
                        slot.state = State::Late;
                        Handled::TimedOut
                    }
                    other @ (State::Idle | State::Free | State::Late) => {
                        slot.state = other;
                        Handled::Abandoned
                    }
                });
            }
        });
    }
}

/// An emit's deliveries; whatever is still out when it is dropped is given up on, so no
/// subscriber stays busy with an emit that is gone.
struct Waiting<'e, E: Clone, Er, const N: usize> {
    emitter: &'e FixedEmitter<E, Er, N>,
    pending: Pending<Er, N>,
}

impl<E: Clone, Er, const N: usize> Waiting<'_, E, Er, N> {
    fn report(mut self) -> FixedReport<Er, N> {
        self.emitter.give_up(&mut self.pending);
        let outcomes = core::mem::replace(&mut self.pending, Pending::new());
        outcomes.into_report()
    }
}

impl<E: Clone, Er, const N: usize> Drop for Waiting<'_, E, Er, N> {
    fn drop(&mut self) {
        self.emitter.give_up(&mut self.pending);
    }
}

impl<E, Er, const N: usize> Default for FixedEmitter<E, Er, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E, Er, const N: usize> fmt::Debug for FixedEmitter<E, Er, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedEmitter")
            .field("capacity", &N)
            .field("subscribers", &self.subscriber_count())
            .field("closed", &self.is_closed())
            .finish()
    }
}

enum Entry<Er> {
    /// Not a subscriber when the event was emitted.
    Absent,
    /// Delivered to the subscriber of that generation; not settled yet.
    Waiting(u32),
    Done(Handled<Er>),
}

struct Pending<Er, const N: usize>([Entry<Er>; N]);

impl<Er, const N: usize> Pending<Er, N> {
    fn new() -> Self {
        Pending(core::array::from_fn(|_| Entry::Absent))
    }

    fn into_report(self) -> FixedReport<Er, N> {
        FixedReport {
            outcomes: self.0.map(|e| match e {
                Entry::Absent => None,
                Entry::Done(outcome) => Some(outcome),
                Entry::Waiting(_) => Some(Handled::TimedOut),
            }),
        }
    }
}
