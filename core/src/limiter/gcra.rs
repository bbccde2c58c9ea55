//! The limiter's state: one theoretical arrival time (TAT) and the queue's counters, behind
//! one short lock, and the generic cell rate algorithm on them.
//!
//! All arithmetic is on `u64` nanoseconds of the timer's clock and saturates. The hot path
//! (a grant) multiplies and adds only: the one division (the cells available, for
//! [`metrics`](super::RateLimiter::metrics)) uses a reciprocal computed at construction.

use maitake_sync::blocking::Mutex;

use crate::loom::loom_const_fn;

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

    /// The earliest instant `n` cells (`1 <= n <= burst`) can be taken.
    fn allow_at(&self, p: &Params, n: u32) -> u64 {
        // `n <= burst`, and `t * burst` was checked at construction: no overflow.
        let ahead = p.t.wrapping_mul(u64::from(n) - 1);
        self.tat.saturating_add(ahead).saturating_sub(p.tau)
    }

    /// Takes `n` cells at `now` if they are there; else the instant they will be.
    fn take(&mut self, p: &Params, now: u64, n: u32) -> Result<(), u64> {
        let at = self.allow_at(p, n);
        if at > now {
            return Err(at);
        }
        let from = if self.tat > now { self.tat } else { now };
        self.tat = from.saturating_add(p.t.wrapping_mul(u64::from(n)));
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
        self.waiters += 1;
        self.queued = self.queued.saturating_add(u64::from(n));
        Ok(Entered::Queued)
    }

    /// [`Gcra::take_as_head`] on this state.
    pub(super) fn take_as_head(&mut self, p: &Params, now: u64, n: u32) -> Result<(), u64> {
        self.take(p, now, n)?;
        self.waiters -= 1;
        self.queued = self.queued.saturating_sub(u64::from(n));
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

/// The state word and its lock.
pub(super) struct Gcra {
    pub(super) params: Params,
    state: Mutex<State>,
}

impl Gcra {
    loom_const_fn! {
        pub(super) fn new(params: Params) -> Self {
            Gcra {
                params,
                state: Mutex::new(State::FRESH),
            }
        }
    }

    /// Takes `n` cells at `now`, or says how long until they could be taken. Refuses while
    /// anyone waits (first come, first served).
    pub(super) fn try_acquire(&self, now: u64, n: u32) -> Result<(), Refusal> {
        let p = &self.params;
        if !p.takes(n)? {
            return Ok(());
        }
        self.state.with_lock(|s| s.try_acquire(p, now, n))
    }

    /// The first step of a waiting acquisition: granted at once if nobody waits and the cells
    /// are there; else refused if the queue is full or the predicted wait exceeds
    /// `max_wait` ns; else counted as a waiter.
    pub(super) fn enter(&self, now: u64, n: u32, max_wait: u64) -> Result<Entered, Refusal> {
        let p = &self.params;
        if !p.takes(n)? {
            return Ok(Entered::Granted);
        }
        self.state.with_lock(|s| s.enter(p, now, n, max_wait))
    }

    /// The head of the queue takes its `n` cells at `now` and leaves the queue, or learns the
    /// instant it can.
    pub(super) fn take_as_head(&self, now: u64, n: u32) -> Result<(), u64> {
        self.state
            .with_lock(|s| s.take_as_head(&self.params, now, n))
    }

    /// A waiter asking for `n` cells left the queue without them.
    pub(super) fn leave(&self, n: u32) {
        self.state.with_lock(|s| s.leave(n));
    }

    /// Empties the bucket at `now`: the next cell comes one interval later.
    pub(super) fn drain(&self, now: u64) {
        self.state.with_lock(|s| s.drain(&self.params, now));
    }

    /// A copy of the state.
    pub(super) fn state(&self) -> State {
        self.state.with_lock(|s| *s)
    }
}
