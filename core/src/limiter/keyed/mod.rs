//! Keyed rate limiters: a fixed-capacity table of GCRA buckets, one per key, sharing one set
//! of settings, each with its own fair queue of waiters.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use heapless::Vec;
use maitake_sync::blocking::Mutex;
use pin_project_lite::pin_project;

use super::acquire::{Bucket, Waiting};
use super::gcra::{Entered, Params, State};
use super::{LimitError, Metrics, RateLimiterBuilder};
use crate::sync::Semaphore;
use crate::time::duration_to_nanos;
use crate::{ConfigError, Instant, Timer};

/// One key's bucket.
#[derive(Debug)]
struct Entry<K> {
    key: K,
    state: State,
}

/// One rate limiter per key (per client, per tenant, per endpoint) in a table of fixed
/// capacity, all with the same settings. Built by [`RateLimiterBuilder::build_keyed`].
///
/// A `KeyedRateLimiter<K, CAP>` holds up to `CAP` keys, each with its own bucket and its
/// own first-come-first-served queue of waiters (only the head of each queue holds a timer),
/// as [`RateLimiter`](super::RateLimiter) has: no heap, `const`-constructible into a
/// `static`. A key not in the table has a full bucket.
///
/// # Bounded memory without forgetting a spent bucket
///
/// When a new key needs a slot and the table is full, the table evicts an entry that is
/// indistinguishable from a fresh one: its bucket full again (its theoretical arrival time
/// at or before now) and nobody waiting on it. Dropping it changes nothing a caller could
/// observe. An entry whose bucket is not full is never evicted, since forgetting it would let
/// its key burst again above its rate. When no entry can go, the new key is refused with
/// [`LimitError::TableFull`] (at once, also from [`acquire`](Self::acquire)): the table fails
/// closed. Size `CAP` for the keys that can be active within one burst's refill time
/// (`burst / rate`); an entry frees itself that long after its key's last grant.
///
/// Keys are found by a linear scan comparing with `==`: no hashing, so a key needs only
/// `Eq + Clone` (cloned once, when it takes a slot), and a lookup costs at most `CAP`
/// comparisons, which suits tables of tens of keys.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use steadfast_tokio::{TokioTimer, Timer, limiter::{KeyedRateLimiter, LimitError, RateLimiter}};
///
/// // Up to 64 clients, each 2 calls a second.
/// static CLIENTS: KeyedRateLimiter<u32, 64> = RateLimiter::builder(2, Duration::from_secs(1))
///     .build_keyed_const();
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let timer = TokioTimer::new();
/// CLIENTS.try_acquire(&7, timer.now(), 2).unwrap();
/// // Client 7 has spent its burst; client 8 has not.
/// let err = CLIENTS.try_acquire(&7, timer.now(), 1).unwrap_err();
/// assert_eq!(err.retry_after(), Some(Duration::from_millis(500)));
/// CLIENTS.try_acquire(&8, timer.now(), 1).unwrap();
/// // Client 7 waits its turn.
/// CLIENTS.acquire(7, &timer, 1).await.unwrap();
/// # }
/// ```
///
/// On smol or async-std, `steadfast_smol::AsyncIoTimer` takes `TokioTimer`'s place; on embassy,
/// `steadfast_embassy::EmbassyTimer`.
pub struct KeyedRateLimiter<K, const CAP: usize = 16> {
    params: Params,
    /// Filled in order, then replaced in place: an entry's index never changes while anyone
    /// waits on it.
    entries: Mutex<Vec<Entry<K>, CAP>>,
    /// The turn of each entry's queue, by index.
    turns: [Semaphore; CAP],
}

impl RateLimiterBuilder {
    /// Checks the settings and builds a [`KeyedRateLimiter`] of `CAP` keys, each with these
    /// settings.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for what [`build`](Self::build) refuses, or a zero `CAP`.
    pub const fn build_keyed<K, const CAP: usize>(
        self,
    ) -> Result<KeyedRateLimiter<K, CAP>, ConfigError> {
        match self.keyed_params::<CAP>() {
            Ok(p) => Ok(KeyedRateLimiter::with_params(p)),
            Err(e) => Err(e),
        }
    }

    /// [`build_keyed`](Self::build_keyed) for a `const` or `static`: a bad setting fails const
    /// evaluation (a compile error); at run time it panics with the error's field.
    pub const fn build_keyed_const<K, const CAP: usize>(self) -> KeyedRateLimiter<K, CAP> {
        match self.keyed_params::<CAP>() {
            Ok(p) => KeyedRateLimiter::with_params(p),
            Err(e) => panic!("{}", e.field()),
        }
    }

    const fn keyed_params<const CAP: usize>(self) -> Result<Params, ConfigError> {
        if CAP == 0 {
            return Err(ConfigError::new(
                "rate limiter",
                "CAP",
                "a keyed limiter must hold at least 1 key",
            ));
        }
        self.params()
    }
}

impl<K, const CAP: usize> KeyedRateLimiter<K, CAP> {
    const fn with_params(params: Params) -> Self {
        KeyedRateLimiter {
            params,
            entries: Mutex::new(Vec::new()),
            turns: [const { Semaphore::new(1) }; CAP],
        }
    }

    /// How many keys the table can hold.
    #[must_use]
    pub const fn capacity(&self) -> usize {
        CAP
    }

    /// How many keys the table holds now (evictable ones included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.with_lock(|e| e.len())
    }

    /// Whether the table holds no key.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn refused(&self, r: super::gcra::Refusal, n: u32) -> LimitError {
        LimitError::from_refusal(r, n, self.params.burst)
    }
}

impl<K: Eq + Clone + Send, const CAP: usize> KeyedRateLimiter<K, CAP> {
    /// `f` on the state of `key`'s entry, made (in a free slot, or in place of a fresh one) if
    /// absent, and its index; [`LimitError::TableFull`] when no entry can go.
    fn with_entry<R>(
        &self,
        key: &K,
        now: u64,
        f: impl FnOnce(&mut State) -> R,
    ) -> Result<(R, usize), LimitError> {
        self.entries.with_lock(|entries| {
            let i = crate::keyed::find_or_insert(
                entries,
                |e| e.key == *key,
                |e| e.state.is_fresh(now),
                || Entry {
                    key: key.clone(),
                    state: State::FRESH,
                },
            )
            .ok_or(LimitError::TableFull)?;
            Ok((f(&mut entries[i].state), i))
        })
    }

    /// Takes `n` cells of `key`'s bucket at `now`, or refuses at once.
    ///
    /// # Errors
    ///
    /// As [`RateLimiter::try_acquire`](super::RateLimiter::try_acquire), and
    /// [`LimitError::TableFull`] when `key` is new and no entry can be evicted for it.
    pub fn try_acquire(&self, key: &K, now: Instant, n: u32) -> Result<(), LimitError> {
        let p = &self.params;
        if !p.takes(n).map_err(|r| self.refused(r, n))? {
            return Ok(());
        }
        let now = now.as_nanos();
        let (taken, _) = self.with_entry(key, now, |s| s.try_acquire(p, now, n))?;
        taken.map_err(|r| self.refused(r, n))
    }

    /// Waits for `n` cells of `key`'s bucket, first come, first served among the callers of
    /// that key; see [`KeyedAcquire`]. Refused at once as
    /// [`RateLimiter::acquire`](super::RateLimiter::acquire) is, or with
    /// [`LimitError::TableFull`].
    pub fn acquire<T: Timer>(&self, key: K, timer: &T, n: u32) -> KeyedAcquire<'_, K, T> {
        KeyedAcquire::new(self, key, timer.clone(), n, u64::MAX)
    }

    /// Waits as [`acquire`](Self::acquire) does if the predicted wait is at most `max_wait`;
    /// otherwise ready at once with [`LimitError::RateLimited`] and the predicted wait.
    pub fn acquire_within<T: Timer>(
        &self,
        key: K,
        timer: &T,
        n: u32,
        max_wait: Duration,
    ) -> KeyedAcquire<'_, K, T> {
        KeyedAcquire::new(self, key, timer.clone(), n, duration_to_nanos(max_wait))
    }

    /// Empties `key`'s bucket at `now` (for instance on a 429 for that key); see
    /// [`RateLimiter::drain`](super::RateLimiter::drain).
    ///
    /// # Errors
    ///
    /// [`LimitError::TableFull`] when `key` is new and no entry can be evicted for it.
    pub fn drain(&self, key: &K, now: Instant) -> Result<(), LimitError> {
        let now = now.as_nanos();
        self.with_entry(key, now, |s| s.drain(&self.params, now))
            .map(|_| ())
    }

    /// `key`'s cells available at `now` and its queue (a key not in the table: a full
    /// bucket, nobody waiting). Changes nothing.
    #[must_use]
    pub fn metrics(&self, key: &K, now: Instant) -> Metrics {
        let state = self.entries.with_lock(|entries| {
            entries
                .iter()
                .find(|e| e.key == *key)
                .map_or(State::FRESH, |e| e.state)
        });
        Metrics::of(&state, &self.params, now)
    }
}

/// The entry at `slot` of a keyed limiter, for its waiters.
struct Slot<'a, K> {
    limiter: &'a (dyn Entries<K> + Sync + 'a),
    slot: usize,
}

impl<K> Clone for Slot<'_, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K> Copy for Slot<'_, K> {}

impl<'a, K> Bucket<'a> for Slot<'a, K> {
    fn take_as_head(self, now: u64, n: u32) -> Result<(), u64> {
        self.limiter.take_as_head(self.slot, now, n)
    }
    fn leave(self, n: u32) {
        self.limiter.leave(self.slot, n);
    }
    fn turn(self) -> &'a Semaphore {
        self.limiter.turn(self.slot)
    }
}

/// What a keyed acquisition needs of its limiter, whatever its capacity. The entry at a
/// waiter's index stays in place while its waiters are counted.
trait Entries<K> {
    /// Granted at once (`None`), or counted as a waiter of the entry at the index returned.
    fn enter(&self, key: &K, now: u64, n: u32, max_wait: u64) -> Result<Option<usize>, LimitError>;
    /// [`Bucket::take_as_head`] for the entry at `slot`.
    fn take_as_head(&self, slot: usize, now: u64, n: u32) -> Result<(), u64>;
    /// [`Bucket::leave`] for the entry at `slot`.
    fn leave(&self, slot: usize, n: u32);
    /// [`Bucket::turn`] for the entry at `slot`.
    fn turn(&self, slot: usize) -> &Semaphore;
}

impl<K: Eq + Clone + Send, const CAP: usize> Entries<K> for KeyedRateLimiter<K, CAP> {
    fn enter(&self, key: &K, now: u64, n: u32, max_wait: u64) -> Result<Option<usize>, LimitError> {
        let p = &self.params;
        if !p.takes(n).map_err(|r| self.refused(r, n))? {
            return Ok(None);
        }
        match self.with_entry(key, now, |s| s.enter(p, now, n, max_wait))? {
            (Ok(Entered::Granted), _) => Ok(None),
            (Ok(Entered::Queued), i) => Ok(Some(i)),
            (Err(r), _) => Err(self.refused(r, n)),
        }
    }

    fn take_as_head(&self, slot: usize, now: u64, n: u32) -> Result<(), u64> {
        let p = &self.params;
        self.entries.with_lock(|e| match e.get_mut(slot) {
            Some(e) => e.state.take_as_head(p, now, n),
            None => Ok(()),
        })
    }

    fn leave(&self, slot: usize, n: u32) {
        self.entries.with_lock(|e| {
            if let Some(e) = e.get_mut(slot) {
                e.state.leave(n);
            }
        });
    }

    fn turn(&self, slot: usize) -> &Semaphore {
        &self.turns[slot]
    }
}

impl<K, const CAP: usize> fmt::Debug for KeyedRateLimiter<K, CAP> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedRateLimiter")
            .field("params", &self.params)
            .field("capacity", &CAP)
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// The future of [`KeyedRateLimiter::acquire`] and [`KeyedRateLimiter::acquire_within`]:
    /// ready with `Ok(())` once the key's cells are granted. Waits as
    /// [`Acquire`](super::Acquire) does, in the queue of its key; while it waits, its key's
    /// entry is not evicted.
    #[must_use = "futures do nothing unless polled"]
    pub struct KeyedAcquire<'a, K, T: Timer> {
        // Taken on the first poll.
        limiter: Option<&'a (dyn Entries<K> + Sync + 'a)>,
        key: K,
        timer: T,
        n: u32,
        max_wait: u64,
        #[pin]
        waiting: Option<Waiting<'a, Slot<'a, K>, T>>,
    }
}

impl<'a, K, T: Timer> KeyedAcquire<'a, K, T> {
    fn new(
        limiter: &'a (dyn Entries<K> + Sync + 'a),
        key: K,
        timer: T,
        n: u32,
        max_wait: u64,
    ) -> Self {
        KeyedAcquire {
            limiter: Some(limiter),
            key,
            timer,
            n,
            max_wait,
            waiting: None,
        }
    }
}

impl<K, T: Timer> Future for KeyedAcquire<'_, K, T> {
    type Output = Result<(), LimitError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Some(l) = this.limiter.take() {
            let n = *this.n;
            match l.enter(this.key, this.timer.now().as_nanos(), n, *this.max_wait) {
                Ok(None) => return Poll::Ready(Ok(())),
                Ok(Some(slot)) => this
                    .waiting
                    .set(Some(Waiting::new(Slot { limiter: l, slot }, n))),
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        match this.waiting.as_pin_mut() {
            Some(w) => w.poll(this.timer, cx).map(Ok),
            // Polled after completion.
            None => Poll::Pending,
        }
    }
}

impl<K, T: Timer> fmt::Debug for KeyedAcquire<'_, K, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (queued, head) = self
            .waiting
            .as_ref()
            .map_or((false, false), Waiting::position);
        f.debug_struct("KeyedAcquire")
            .field("cells", &self.n)
            .field("queued", &queued)
            .field("head", &head)
            .finish_non_exhaustive()
    }
}

// The tests drive the limiter on `VirtualTimer`, which needs `alloc`.
#[cfg(all(test, feature = "alloc"))]
mod tests;
