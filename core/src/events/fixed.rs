//! The emitter without a heap: a fixed number of subscribers, each a task of yours.

use core::fmt;
use core::future::Future;
use core::time::Duration;

use maitake_sync::blocking::Mutex as BlockingMutex;
use maitake_sync::{Mutex, WaitCell, WaitQueue};

use crate::Timer;
use crate::timeout::timeout;

/// An event emitter with room for `N` subscribers and no heap, `const`-constructible for a
/// `static` (see the [module docs](super#without-a-heap)).
///
/// A handler is a loop in a task of yours, holding a [`Subscriber`]: it takes each event with
/// [`Subscriber::next`] (or lets [`Subscriber::run`] loop for it) and settles it with the
/// [`Ack`] that comes with the event. [`emit`](FixedEmitter::emit) hands the event to every
/// subscriber at once, waits until each has settled, and returns a [`FixedReport`]. So the
/// handlers run concurrently, each in its own task, and one failing handler stops no other.
///
/// `N = 0` is rejected at compile time:
///
/// ```compile_fail
/// use steadfast::events::FixedEmitter;
/// static NOBODY: FixedEmitter<u32, (), 0> = FixedEmitter::new();
/// ```
pub struct FixedEmitter<E, Er, const N: usize> {
    slots: BlockingMutex<[Slot<E, Er>; N]>,
    /// Where each subscriber waits for its next event.
    ready: [WaitCell; N],
    /// Where an emit waits for acknowledgements.
    settled: WaitQueue,
    /// One emit at a time, in FIFO order.
    turn: Mutex<()>,
}

struct Slot<E, Er> {
    /// Bumped whenever the slot changes hands, so an emit can tell its subscriber left.
    generation: u32,
    state: State<E, Er>,
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

enum State<E, Er> {
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

/// How one subscriber handled one emitted event, in a [`FixedReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Handled<Er> {
    /// Settled with `Ok(())`.
    Succeeded,
    /// Settled with an error.
    Failed(Er),
    /// Not settled within the emit's timeout.
    TimedOut,
    /// The subscriber dropped the event's [`Ack`] unsettled, or unsubscribed before it settled
    /// (its task ended, was cancelled, or unwound from a panic).
    Abandoned,
    /// The event was not delivered: the subscriber was still busy with an earlier event whose
    /// emit timed out.
    Busy,
}

impl<Er> Handled<Er> {
    /// Whether the subscriber succeeded.
    #[must_use]
    pub fn is_success(&self) -> bool {
        matches!(self, Handled::Succeeded)
    }
}

/// Subscribing failed: all `N` places of the emitter are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full {
    capacity: usize,
}

impl Full {
    /// The emitter's capacity.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl fmt::Display for Full {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the event emitter is full: all {} subscriber places are taken",
            self.capacity
        )
    }
}

impl core::error::Error for Full {}

/// What every subscriber did with one event, by subscriber place.
#[must_use = "the report says which handlers failed"]
pub struct FixedReport<Er, const N: usize> {
    outcomes: [Option<Handled<Er>>; N],
}

impl<Er, const N: usize> FixedReport<Er, N> {
    /// Each subscriber's outcome, with its [`id`](Subscriber::id), in place order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &Handled<Er>)> {
        self.outcomes
            .iter()
            .enumerate()
            .filter_map(|(i, o)| o.as_ref().map(|o| (i, o)))
    }

    /// The outcome of the subscriber with this id, if it took part.
    #[must_use]
    pub fn get(&self, id: usize) -> Option<&Handled<Er>> {
        self.outcomes.get(id)?.as_ref()
    }

    /// How many subscribers took part.
    #[must_use]
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there was no subscriber.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many subscribers succeeded.
    #[must_use]
    pub fn succeeded(&self) -> usize {
        self.iter().filter(|(_, o)| o.is_success()).count()
    }

    /// Whether every subscriber succeeded (true when there were none).
    #[must_use]
    pub fn all_succeeded(&self) -> bool {
        self.iter().all(|(_, o)| o.is_success())
    }
}

impl<Er: fmt::Debug, const N: usize> fmt::Debug for FixedReport<Er, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<E, Er, const N: usize> FixedEmitter<E, Er, N> {
    const NONZERO: () = assert!(N > 0, "a FixedEmitter needs room for at least 1 subscriber");

    /// An emitter with room for `N` subscribers and none yet.
    #[must_use]
    pub const fn new() -> Self {
        let () = Self::NONZERO;
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
    pub fn subscribers(&self) -> usize {
        self.slots.with_lock(|slots| {
            slots
                .iter()
                .filter(|s| !matches!(s.state, State::Free | State::SettledLeft(_)))
                .count()
        })
    }

    /// Takes a free place; [`Full`] when all `N` are taken. Dropping the subscriber gives the
    /// place back (unsubscribes).
    pub fn subscribe(&self) -> Result<Subscriber<'_, E, Er, N>, Full> {
        self.slots.with_lock(|slots| {
            let (id, slot) = slots
                .iter_mut()
                .enumerate()
                .find(|(_, s)| matches!(s.state, State::Free))
                .ok_or(Full { capacity: N })?;
            slot.generation = slot.generation.wrapping_add(1);
            slot.state = State::Idle;
            Ok(Subscriber { emitter: self, id })
        })
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
            .field("subscribers", &self.subscribers())
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

/// A place among a [`FixedEmitter`]'s subscribers; dropping it unsubscribes.
#[must_use = "dropping the subscriber unsubscribes at once"]
pub struct Subscriber<'a, E, Er, const N: usize> {
    emitter: &'a FixedEmitter<E, Er, N>,
    id: usize,
}

impl<'a, E, Er, const N: usize> Subscriber<'a, E, Er, N> {
    /// This subscriber's place, as the [`FixedReport`] names it. Reused after it unsubscribes.
    #[must_use]
    pub fn id(&self) -> usize {
        self.id
    }

    /// Waits for the next event; settle it with the [`Ack`]. Dropping this future takes
    /// nothing.
    pub async fn next(&mut self) -> (E, Ack<'_, E, Er, N>) {
        let emitter = self.emitter;
        let id = self.id;
        loop {
            let taken = emitter.ready[id]
                .wait_for_value(|| {
                    emitter.slots.with_lock(|slots| {
                        let slot = &mut slots[id];
                        match core::mem::replace(&mut slot.state, State::Running) {
                            State::Delivered(event) => Some(event),
                            other => {
                                slot.state = other;
                                None
                            }
                        }
                    })
                })
                .await;
            if let Ok(event) = taken {
                return (event, Ack { emitter, id });
            }
        }
    }

    /// Handles every event with `handler` (such as an `async fn(E) -> Result<(), Er>`),
    /// forever: the usual body of a subscriber's task.
    pub async fn run<H, Fut>(&mut self, mut handler: H) -> !
    where
        H: FnMut(E) -> Fut,
        Fut: Future<Output = Result<(), Er>>,
    {
        loop {
            let (event, ack) = self.next().await;
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
