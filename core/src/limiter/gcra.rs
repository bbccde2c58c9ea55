//! The limiter's state: one theoretical arrival time (TAT) and the queue's counters, and the
//! generic cell rate algorithm on them.
//!
//! With 64-bit atomics the TAT lives in one `AtomicU64`, the state word, while nobody waits:
//! [`Gcra::try_acquire`] is a load and a compare-and-swap, as governor's `check()` is. The
//! queue's counters sit behind a short lock that only the waiting path takes; while anyone
//! waits the word reads [`HELD`] and the TAT moves behind that lock too, so a try sees the
//! queue in the very word it would swap and cannot overtake a waiter. Without 64-bit atomics
//! (32-bit Cortex-M and RISC-V) the whole state is behind the lock.
//!
//! All arithmetic is on `u64` nanoseconds of the timer's clock and saturates. The hot path
//! (a grant) multiplies and adds only: the one division (the cells available, for
//! [`metrics`](super::RateLimiter::metrics)) uses a reciprocal computed at construction.

use maitake_sync::blocking::Mutex;

use crate::loom::loom_const_fn;
#[cfg(target_has_atomic = "64")]
use crate::loom::{AtomicU64, Ordering};

/// The state word while anyone waits (the TAT is then behind the lock). A TAT in the word
/// saturates one nanosecond short of it.
#[cfg(target_has_atomic = "64")]
const HELD: u64 = u64::MAX;

/// The limiter's constants, derived and checked at construction.
#[derive(Clone, Copy, Debug)]
pub(super) struct Params {
    /// The emission interval: nanoseconds per cell.
    pub(super) t: u64,
    /// The tolerance, `t * (burst - 1)`: how far the TAT may run ahead of the clock.
    pub(super) tau: u64,
    /// The most cells taken at once, and held when idle.
    pub(super) burst: u32,
    /// `u64::MAX / t`, for [`crate::time::div_rem_with_reciprocal`].
    pub(super) recip: u64,
    /// The most callers waiting at once.
    pub(super) max_waiters: u32,
}

/// Why cells were not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Not now: the wait, in nanoseconds, until they could be.
    Wait(u64),
    /// The waiters' cap is reached.
    QueueFull,
    /// More cells than the burst: never.
    TooMany,
}

/// What [`Gcra::enter`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Entered {
    /// Granted at once (nobody was waiting and the cells were there).
    Granted,
    /// Counted as a waiter; wait for the head's turn.
    Queued,
}

/// One bucket's state: the theoretical arrival time and the queue's counts.
#[derive(Clone, Copy, Debug)]
pub(super) struct State {
    /// Theoretical arrival time, ns. 0 (a full bucket) at start.
    tat: u64,
    /// Callers queued or heading the queue.
    waiters: u32,
    /// The cells they ask for.
    queued: u64,
}

impl Params {
    /// Whether `n` cells take anything (`Ok(false)`: 0 cells, granted at once), or can never
    /// be granted.
    pub(super) fn takes(&self, n: u32) -> Result<bool, Refusal> {
        if n > self.burst {
            return Err(Refusal::TooMany);
        }
        Ok(n > 0)
    }

    /// The TAT after `n` cells (`1 <= n <= burst`) taken at `now` from a bucket at `tat`, or
    /// the earliest instant they can be taken.
    fn take(&self, tat: u64, now: u64, n: u32) -> Result<u64, u64> {
        // `n <= burst`, and `t * burst` was checked at construction: no overflow.
        let cost = self.t.wrapping_mul(u64::from(n));
        let at = tat.saturating_add(cost - self.t).saturating_sub(self.tau);
        if at > now {
            return Err(at);
        }
        Ok(tat.max(now).saturating_add(cost))
    }
}

impl State {
    /// A full bucket nobody waits on.
    pub(super) const FRESH: State = State {
        tat: 0,
        waiters: 0,
        queued: 0,
    };

    /// Whether the state is indistinguishable from [`FRESH`](Self::FRESH) at `now` and from
    /// then on: a full bucket (the TAT at or before `now`) and nobody waiting.
    pub(super) fn is_fresh(&self, now: u64) -> bool {
        self.tat <= now && self.waiters == 0
    }

    /// Takes `n` cells at `now` if they are there; else the instant they will be.
    // One copy for the try, the queue's entry and the head's grant: 64-bit arithmetic is
    // long on 32-bit cores.
    #[cfg_attr(not(target_has_atomic = "64"), inline(never))]
    fn take(&mut self, p: &Params, now: u64, n: u32) -> Result<(), u64> {
        self.tat = p.take(self.tat, now, n)?;
        Ok(())
    }

    /// The wait for `n` cells behind every cell already queued.
    fn predicted(&self, p: &Params, now: u64, n: u32) -> u64 {
        let cells = self.queued.saturating_add(u64::from(n) - 1);
        self.tat
            .saturating_add(p.t.saturating_mul(cells))
            .saturating_sub(p.tau)
            .saturating_sub(now)
    }

    /// [`Gcra::try_acquire`] on this state, for `1 <= n <= burst`.
    pub(super) fn try_acquire(&mut self, p: &Params, now: u64, n: u32) -> Result<(), Refusal> {
        if self.waiters > 0 {
            return Err(Refusal::Wait(self.predicted(p, now, n).max(1)));
        }
        self.take(p, now, n)
            .map_err(|at| Refusal::Wait(at.saturating_sub(now)))
    }

    /// [`Gcra::enter`] on this state, for `1 <= n <= burst`.
    pub(super) fn enter(
        &mut self,
        p: &Params,
        now: u64,
        n: u32,
        max_wait: u64,
    ) -> Result<Entered, Refusal> {
        if self.waiters == 0 && self.take(p, now, n).is_ok() {
            return Ok(Entered::Granted);
        }
        if self.waiters >= p.max_waiters {
            return Err(Refusal::QueueFull);
        }
        let wait = self.predicted(p, now, n);
        if wait > max_wait {
            return Err(Refusal::Wait(wait));
        }
        self.waiters = self.waiters.saturating_add(1);
        self.queued = self.queued.saturating_add(u64::from(n));
        Ok(Entered::Queued)
    }

    /// [`Gcra::take_as_head`] on this state: its cells, then out of the queue.
    pub(super) fn take_as_head(&mut self, p: &Params, now: u64, n: u32) -> Result<(), u64> {
        self.take(p, now, n)?;
        self.leave(n);
        Ok(())
    }

    /// [`Gcra::leave`] on this state.
    pub(super) fn leave(&mut self, n: u32) {
        self.waiters = self.waiters.saturating_sub(1);
        self.queued = self.queued.saturating_sub(u64::from(n));
    }

    /// [`Gcra::drain`] on this state.
    pub(super) fn drain(&mut self, p: &Params, now: u64) {
        let empty = now.saturating_add(p.tau).saturating_add(p.t);
        if self.tat < empty {
            self.tat = empty;
        }
    }

    /// Cells available at `now`, waiters, and the cells they ask for.
    pub(super) fn snapshot(&self, p: &Params, now: u64) -> (u32, u32, u64) {
        let full = now.saturating_add(p.tau).saturating_add(p.t);
        let cells = if full <= self.tat {
            0
        } else {
            let (q, _) = crate::time::div_rem_with_reciprocal(full - self.tat, p.t, p.recip);
            if q > u64::from(p.burst) {
                p.burst
            } else {
                q as u32
            }
        };
        (cells, self.waiters, self.queued)
    }
}

/// The state word and the lock.
pub(super) struct Gcra {
    pub(super) params: Params,
    /// The TAT while nobody waits, else [`HELD`].
    #[cfg(target_has_atomic = "64")]
    word: AtomicU64,
    /// The queue's counts; its TAT is current only while the word is [`HELD`] (with 64-bit
    /// atomics; without them, always).
    state: Mutex<State>,
}

impl Gcra {
    loom_const_fn! {
        pub(super) fn new(params: Params) -> Self {
            Gcra {
                params,
                #[cfg(target_has_atomic = "64")]
                word: AtomicU64::new(0),
                state: Mutex::new(State::FRESH),
            }
        }
    }

    /// `f` on the whole state, under the lock.
    #[cfg(not(target_has_atomic = "64"))]
    fn with_state<R>(&self, f: impl FnMut(&mut State) -> R) -> R {
        self.state.with_lock(f)
    }

    /// `f` on the whole state, under the lock: its TAT read from the word (unless `HELD`)
    /// and put back by compare-and-swap, `HELD` if anyone waits afterwards; `f` runs again on
    /// the new TAT if a [`try_acquire`](Self::try_acquire) moved it in between.
    #[cfg(target_has_atomic = "64")]
    fn with_state<R>(&self, mut f: impl FnMut(&mut State) -> R) -> R {
        self.state.with_lock(|locked| {
            loop {
                let word = self.word.load(Ordering::Acquire);
                let mut s = *locked;
                if word != HELD {
                    // Nobody waits: the word holds the TAT.
                    s.tat = word;
                }
                let r = f(&mut s);
                let new = if s.waiters > 0 {
                    HELD
                } else {
                    s.tat.min(HELD - 1)
                };
                // A `HELD` word changes only under the lock: that swap cannot fail.
                if new == word
                    || self
                        .word
                        .compare_exchange(word, new, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                {
                    *locked = s;
                    return r;
                }
            }
        })
    }

    /// Takes `n` cells at `now`, or says how long until they could be taken. Refuses while
    /// anyone waits (first come, first served).
    pub(super) fn try_acquire(&self, now: u64, n: u32) -> Result<(), Refusal> {
        let p = &self.params;
        if !p.takes(n)? {
            return Ok(());
        }
        #[cfg(target_has_atomic = "64")]
        {
            let mut tat = self.word.load(Ordering::Acquire);
            // `HELD`: someone waits, and the lock knows for how long.
            while tat != HELD {
                let next = p
                    .take(tat, now, n)
                    .map_err(|at| Refusal::Wait(at.saturating_sub(now)))?;
                match self.word.compare_exchange_weak(
                    tat,
                    next.min(HELD - 1),
                    Ordering::Release,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Ok(()),
                    Err(current) => tat = current,
                }
            }
        }
        self.with_state(|s| s.try_acquire(p, now, n))
    }

    /// The first step of a waiting acquisition: granted at once if nobody waits and the cells
    /// are there; else refused if the queue is full or the predicted wait exceeds
    /// `max_wait` ns; else counted as a waiter.
    pub(super) fn enter(&self, now: u64, n: u32, max_wait: u64) -> Result<Entered, Refusal> {
        let p = &self.params;
        if !p.takes(n)? {
            return Ok(Entered::Granted);
        }
        self.with_state(|s| s.enter(p, now, n, max_wait))
    }

    /// The head of the queue takes its `n` cells at `now` and leaves the queue, or learns the
    /// instant it can.
    pub(super) fn take_as_head(&self, now: u64, n: u32) -> Result<(), u64> {
        self.with_state(|s| s.take_as_head(&self.params, now, n))
    }

    /// A waiter asking for `n` cells left the queue without them.
    pub(super) fn leave(&self, n: u32) {
        self.with_state(|s| s.leave(n));
    }

    /// Empties the bucket at `now`: the next cell comes one interval later.
    pub(super) fn drain(&self, now: u64) {
        self.with_state(|s| s.drain(&self.params, now));
    }

    /// A copy of the state.
    pub(super) fn state(&self) -> State {
        self.with_state(|s| *s)
    }
}
