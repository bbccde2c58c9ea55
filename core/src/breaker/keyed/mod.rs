//! Keyed breakers: a fixed-capacity table of circuit breakers, one per key, sharing one set
//! of settings. The table is filled in order and then replaced in place, so an entry's index
//! never changes while its permits are out; each occupancy of a slot has its own id.

use core::convert::Infallible;
use core::fmt;
use core::time::Duration;

use heapless::Vec;
use maitake_sync::blocking::Mutex;

use super::builder::Settings;
use super::machine::{Machine, Now, Ticket};
use super::{CircuitBreakerBuilder, CircuitOpen, Outcome, State, Transition};
use crate::loom::loom_const_fn;
use crate::{ConfigError, Instant, Timer};

mod run;

pub use run::KeyedRun;

/// One key's breaker.
#[derive(Debug)]
struct Entry<K, const N: usize> {
    key: K,
    machine: Machine<N>,
    /// Permits of this entry not yet recorded or dropped: while any is out, it stays.
    held: u32,
    /// Which occupancy of this slot the entry is: a permit of an evicted entry finds another.
    id: u32,
}

#[derive(Debug)]
struct Table<K, const N: usize, const CAP: usize> {
    /// Filled in order, then replaced in place: an entry's index never changes.
    entries: Vec<Entry<K, N>, CAP>,
    next_id: u32,
}

/// Where an admitted call's entry is.
#[derive(Clone, Copy, Debug)]
struct Slot {
    index: usize,
    id: u32,
}

/// One circuit breaker per key (per host, per tenant, per endpoint) in a table of fixed
/// capacity, all with the same settings. Built by [`CircuitBreakerBuilder::build_keyed`].
///
/// A `KeyedBreaker<K, N, CAP>` holds up to `CAP` keys, each with its own
/// breaker state (a window of `N` slots, as [`CircuitBreaker<N>`](super::CircuitBreaker)), in
/// one array behind one short lock: no heap, `const`-constructible into a `static`. A key not
/// in the table reads [`State::Closed`].
///
/// # Bounded memory without forgetting a failure
///
/// When a new key needs a slot and the table is full, the table evicts an entry that is
/// indistinguishable from a fresh breaker: closed, with no failure, no slow call and no
/// failures in a row in its window, and no call of it in flight. An open, half-open, forced-open
/// or disabled entry is never evicted, and neither is one that has seen a recent failure. When
/// no entry can go, the new key is turned away with [`KeyedError::TableFull`]: the table fails
/// closed rather than forget that a key is failing. Size `CAP` for the keys that can be
/// failing at once.
///
/// Permits carry their entry's identity and the epoch of the state that issued them, so a
/// result arriving after its entry was reset or replaced is discarded.
///
/// Keys are found by a linear scan comparing with `==`: no hashing, so a key needs only
/// `Eq + Clone` (cloned once, when it takes a slot), and a lookup costs at most `CAP`
/// comparisons, which suits tables of tens of keys.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use steadfast_tokio::{TokioTimer, breaker::{CircuitBreaker, KeyedBreaker, State}};
///
/// // Up to 8 hosts, each tripping after 2 failures in a row.
/// static HOSTS: KeyedBreaker<&str, 1, 8> = CircuitBreaker::builder()
///     .consecutive_failures(2)
///     .open_for(Duration::from_secs(5))
///     .build_keyed_const();
///
/// async fn fetch(host: &str) -> Result<u32, &'static str> {
///     if host == "down.example" { Err("503") } else { Ok(200) }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let timer = TokioTimer::new();
/// for _ in 0..2 {
///     assert!(HOSTS.run("down.example", &timer, fetch("down.example")).await.is_err());
/// }
/// // One host is open; the other is untouched.
/// let open = HOSTS.run("down.example", &timer, fetch("down.example")).await.unwrap_err();
/// assert!(open.circuit_open().is_some());
/// assert_eq!(HOSTS.run("up.example", &timer, fetch("up.example")).await, Ok(200));
/// assert_eq!(HOSTS.state(&"up.example", timer.now()), State::Closed);
/// # }
/// ```
///
/// On smol or async-std, `steadfast_smol::AsyncIoTimer` takes `TokioTimer`'s place; on embassy,
/// `steadfast_embassy::EmbassyTimer`.
///
/// [`State::Closed`]: super::State::Closed
pub struct KeyedBreaker<K, const N: usize = 10, const CAP: usize = 16> {
    settings: Settings,
    table: Mutex<Table<K, N, CAP>>,
}

impl CircuitBreakerBuilder {
    loom_const_fn! {
        /// Checks the settings and builds a [`KeyedBreaker`] of `CAP` keys, each with these
        /// settings.
        ///
        /// # Errors
        ///
        /// A [`ConfigError`] for what [`build`](Self::build) refuses, or a zero `CAP`.
        pub fn build_keyed[K, const N: usize, const CAP: usize](
            self,
        ) -> Result<KeyedBreaker<K, N, CAP>, ConfigError> {
            match self.keyed_settings::<N, CAP>() {
                Ok(settings) => Ok(KeyedBreaker::with_settings(settings)),
                Err(e) => Err(e),
            }
        }
    }

    loom_const_fn! {
        /// [`build_keyed`](Self::build_keyed) for a `const` or `static`: a bad setting fails
        /// const evaluation (a compile error); at run time it panics with the error's field.
        pub fn build_keyed_const[K, const N: usize, const CAP: usize](
            self,
        ) -> KeyedBreaker<K, N, CAP> {
            match self.keyed_settings::<N, CAP>() {
                Ok(settings) => KeyedBreaker::with_settings(settings),
                Err(e) => panic!("{}", e.field()),
            }
        }
    }

    loom_const_fn! {
        fn keyed_settings[const N: usize, const CAP: usize](self) -> Result<Settings, ConfigError> {
            if CAP == 0 {
                return Err(ConfigError::new(
                    "circuit breaker",
                    "CAP",
                    "a keyed breaker must hold at least 1 key",
                ));
            }
            match self.build::<N>() {
                Ok(b) => Ok(b.settings),
                Err(e) => Err(e),
            }
        }
    }
}

impl<K, const N: usize, const CAP: usize> KeyedBreaker<K, N, CAP> {
    loom_const_fn! {
        fn with_settings(settings: Settings) -> Self {
            KeyedBreaker {
                settings,
                table: Mutex::new(Table {
                    entries: Vec::new(),
                    next_id: 0,
                }),
            }
        }
    }
}

impl<K, const N: usize, const CAP: usize> Table<K, N, CAP> {
    fn find(&self, key: &K) -> Option<usize>
    where
        K: Eq,
    {
        self.entries.iter().position(|e| e.key == *key)
    }

    /// The entry of `key`, made (in a free slot, or in place of a fresh-looking one) if absent.
    fn entry(&mut self, s: &Settings, key: &K, now: Instant) -> Option<usize>
    where
        K: Eq + Clone,
    {
        crate::keyed::find_or_insert(
            &mut self.entries,
            |e| e.key == *key,
            |e| e.held == 0 && e.machine.is_fresh(s, now),
            || {
                let id = self.next_id;
                self.next_id = id.wrapping_add(1);
                Entry {
                    key: key.clone(),
                    machine: Machine::new(),
                    held: 0,
                    id,
                }
            },
        )
    }

    /// The entry an admitted call came from, if it is still there.
    fn slot(&mut self, slot: Slot) -> Option<&mut Entry<K, N>> {
        self.entries.get_mut(slot.index).filter(|e| e.id == slot.id)
    }
}

impl<K, const N: usize, const CAP: usize> KeyedBreaker<K, N, CAP> {
    /// How many keys the table can hold.
    #[must_use]
    pub const fn capacity(&self) -> usize {
        CAP
    }

    /// How many keys the table holds now (evictable ones included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.table.with_lock(|t| t.entries.len())
    }

    /// Whether the table holds no key.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Called with the lock released.
    fn notify(&self, transition: Option<Transition>) {
        if let (Some(t), Some(f)) = (transition, self.settings.on_transition) {
            f(&t);
        }
    }
}

impl<K: Eq + Clone + Send, const N: usize, const CAP: usize> KeyedBreaker<K, N, CAP> {
    /// Admits a call for `key` at `now`, or turns it away. Record the call's outcome through
    /// the permit; dropping it records nothing.
    ///
    /// # Errors
    ///
    /// [`KeyedError::Open`] when `key`'s breaker is open, forced open, or half-open with every
    /// probe slot taken; [`KeyedError::TableFull`] when `key` is new and no entry can be
    /// evicted for it.
    pub fn try_acquire(&self, key: &K, now: Instant) -> Result<KeyedPermit<'_>, KeyedError> {
        let (slot, ticket, admitted) = self.admit(key, now)?;
        Ok(KeyedPermit {
            breaker: self,
            slot,
            ticket,
            admitted,
        })
    }

    /// Runs `work` if `key`'s breaker admits it, recording its outcome as
    /// [`CircuitBreaker::run`](super::CircuitBreaker::run) does. A cancelled call records
    /// nothing.
    pub fn run<T, F, V, E>(&self, key: K, timer: &T, work: F) -> KeyedRun<'_, K, T, F>
    where
        T: Timer,
        F: Future<Output = Result<V, E>>,
    {
        KeyedRun::new(self, key, timer.clone(), work)
    }

    /// The state a call for `key` at `now` would meet ([`State::Closed`] for a key not in the
    /// table). Changes nothing.
    #[must_use]
    pub fn state(&self, key: &K, now: Instant) -> State {
        self.table.with_lock(|t| {
            t.find(key)
                .and_then(|i| t.entries.get(i))
                .map_or(State::Closed, |e| e.machine.state(now))
        })
    }

    /// Opens `key`'s breaker for `duration` from `now`, whatever its state (for instance on a
    /// 429 with Retry-After).
    ///
    /// # Errors
    ///
    /// [`KeyedError::TableFull`] when `key` is new and no entry can be evicted for it.
    pub fn trip_for(&self, key: &K, now: Instant, duration: Duration) -> Result<(), KeyedError> {
        let until = now.saturating_add(duration);
        let t = self.table.with_lock(|t| {
            let i = t.entry(&self.settings, key, now)?;
            t.entries
                .get_mut(i)
                .map(|e| e.machine.trip_until(until, now))
        });
        match t {
            Some(t) => {
                self.notify(t);
                Ok(())
            }
            None => Err(KeyedError::TableFull),
        }
    }

    /// Closes `key`'s breaker with an empty window (results of calls admitted before are
    /// discarded); a key not in the table is left out.
    pub fn reset(&self, key: &K, now: Instant) {
        let t = self.table.with_lock(|t| {
            let i = t.find(key)?;
            t.entries.get_mut(i).and_then(|e| e.machine.reset(now))
        });
        self.notify(t);
    }
}

/// What a keyed permit and a keyed run need of their table, whatever its sizes.
trait Slots {
    fn record(&self, slot: Slot, ticket: Ticket, now: Instant, admitted: Instant, outcome: Outcome);
    fn release(&self, slot: Slot, ticket: Ticket);
}

/// Admission by key, for [`KeyedRun`].
trait Admit<K>: Slots {
    /// The entry, the ticket, and the admission time the machine keeps for the result.
    fn admit(&self, key: &K, now: Instant) -> Result<(Slot, Ticket, Instant), KeyedError>;
    fn slots(&self) -> &(dyn Slots + Sync);
}

impl<K: Eq + Clone + Send, const N: usize, const CAP: usize> Admit<K> for KeyedBreaker<K, N, CAP> {
    fn admit(&self, key: &K, now: Instant) -> Result<(Slot, Ticket, Instant), KeyedError> {
        let s = &self.settings;
        let (admitted, transition) = self.table.with_lock(|t| {
            let Some(index) = t.entry(s, key, now) else {
                return (Err(KeyedError::TableFull), None);
            };
            let Some(e) = t.entries.get_mut(index) else {
                return (Err(KeyedError::TableFull), None);
            };
            let (ticket, transition) = e.machine.admit(s, &mut Now::at(now));
            let ticket = ticket.map(|(ticket, admitted)| {
                e.held = e.held.saturating_add(1);
                (Slot { index, id: e.id }, ticket, admitted)
            });
            (ticket.map_err(KeyedError::Open), transition)
        });
        self.notify(transition);
        admitted
    }

    fn slots(&self) -> &(dyn Slots + Sync) {
        self
    }
}

impl<K: Send, const N: usize, const CAP: usize> Slots for KeyedBreaker<K, N, CAP> {
    fn record(
        &self,
        slot: Slot,
        ticket: Ticket,
        now: Instant,
        admitted: Instant,
        outcome: Outcome,
    ) {
        let s = &self.settings;
        let t = self.table.with_lock(|t| {
            let e = t.slot(slot)?;
            e.held = e.held.saturating_sub(1);
            e.machine
                .record(s, ticket, &mut Now::at(now), admitted, outcome)
        });
        self.notify(t);
    }

    fn release(&self, slot: Slot, ticket: Ticket) {
        self.table.with_lock(|t| {
            if let Some(e) = t.slot(slot) {
                e.held = e.held.saturating_sub(1);
                e.machine.release(ticket);
            }
        });
    }
}

impl<K, const N: usize, const CAP: usize> fmt::Debug for KeyedBreaker<K, N, CAP> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedBreaker")
            .field("settings", &self.settings)
            .field("capacity", &CAP)
            .finish_non_exhaustive()
    }
}

/// A call admitted by a [`KeyedBreaker`]. [`record`](KeyedPermit::record) its outcome; dropped
/// unrecorded (the call was cancelled), it records nothing and frees its probe slot. While it
/// is out, its key's entry is not evicted (so a permit leaked with `mem::forget` holds its
/// entry for good).
#[must_use = "a permit records nothing unless `record` is called; dropping it counts the call as never made"]
pub struct KeyedPermit<'a> {
    breaker: &'a (dyn Slots + Sync),
    slot: Slot,
    ticket: Ticket,
    admitted: Instant,
}

impl KeyedPermit<'_> {
    /// Records how the call ended, at `now` (its duration is `now` less the admission time,
    /// for the slow-call rule).
    pub fn record(mut self, now: Instant, outcome: Outcome) {
        self.ticket.recorded = true;
        self.breaker
            .record(self.slot, self.ticket, now, self.admitted, outcome);
    }

    /// Whether this call is a half-open probe of its key.
    #[must_use]
    pub fn is_probe(&self) -> bool {
        self.ticket.probe
    }
}

impl Drop for KeyedPermit<'_> {
    fn drop(&mut self) {
        if !self.ticket.recorded {
            self.breaker.release(self.slot, self.ticket);
        }
    }
}

impl fmt::Debug for KeyedPermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedPermit")
            .field("probe", &self.ticket.probe)
            .field("admitted", &self.admitted)
            .finish()
    }
}

/// Why a [`KeyedBreaker`] turned a call away, or (from [`KeyedBreaker::run`]) the call's own
/// error. [`try_acquire`](KeyedBreaker::try_acquire) never fails with [`Failed`](Self::Failed).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum KeyedError<E = Infallible> {
    /// The key's breaker turned the call away; the call was not made.
    Open(CircuitOpen),
    /// The key is new, the table is full, and every entry in it is open, half-open, has
    /// recent failures or a call in flight; the call was not made.
    TableFull,
    /// The call was made and failed with its own error.
    Failed(E),
}

impl<E> KeyedError<E> {
    /// The rejection, when the key's breaker turned the call away.
    #[must_use]
    pub fn circuit_open(&self) -> Option<&CircuitOpen> {
        match self {
            KeyedError::Open(o) => Some(o),
            _ => None,
        }
    }

    /// The call's own error, when it was made.
    #[must_use]
    pub fn into_failed(self) -> Option<E> {
        match self {
            KeyedError::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// The same refusal with another call error type (for a refusal from
    /// [`try_acquire`](KeyedBreaker::try_acquire) moved into a call's error).
    fn refusal<F>(self) -> Option<KeyedError<F>> {
        match self {
            KeyedError::Open(o) => Some(KeyedError::Open(o)),
            KeyedError::TableFull => Some(KeyedError::TableFull),
            KeyedError::Failed(_) => None,
        }
    }
}

impl<E> fmt::Display for KeyedError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyedError::Open(o) => fmt::Display::fmt(o, f),
            KeyedError::TableFull => {
                f.write_str("keyed circuit breaker full: no entry can be evicted for a new key")
            }
            KeyedError::Failed(_) => f.write_str("the call through the circuit breaker failed"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for KeyedError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            KeyedError::Failed(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
