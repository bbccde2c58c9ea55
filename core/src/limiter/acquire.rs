//! The waiting acquisition: FIFO behind a one-permit semaphore, one timer for the head only.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, ready};

use crate::sync::{Acquire as Turn, Permit};
use pin_project_lite::pin_project;

use super::gcra::{Entered, Gcra};
use super::{LimitError, RateLimiter};
use crate::{Instant, Timer};

/// A counted waiter; dropped before its grant (cancelled), it leaves the queue's counts.
struct Queued<'a> {
    gcra: &'a Gcra,
    n: u32,
}

impl Queued<'_> {
    /// The grant took the waiter off the counts already.
    fn granted(self) {
        core::mem::forget(self);
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.gcra.leave(self.n);
    }
}

pin_project! {
    /// The future of [`RateLimiter::acquire`] and [`RateLimiter::acquire_within`]: ready
    /// with `Ok(())` once the cells are granted.
    ///
    /// Waiters are served first come, first served. Only the one at the head of the queue
    /// sleeps on the timer, until the exact instant its cells are due; the others wait for
    /// their turn without a timer. Dropping it gives up its place (a head dropped mid-wait
    /// hands its turn to the next waiter at once); it holds no cells until granted, so nothing
    /// is handed back.
    #[must_use = "futures do nothing unless polled"]
    pub struct Acquire<'a, T: Timer> {
        limiter: &'a RateLimiter,
        timer: T,
        n: u32,
        max_wait: u64,
        started: bool,
        // Declared before the permit: a cancelled waiter leaves the counts before the next
        // one takes its turn.
        queued: Option<Queued<'a>>,
        permit: Option<Permit<'a>>,
        #[pin]
        turn: Option<Turn<'a>>,
        #[pin]
        sleep: Option<T::Sleep>,
    }
}

impl<'a, T: Timer> Acquire<'a, T> {
    pub(super) fn new(limiter: &'a RateLimiter, timer: T, n: u32, max_wait: u64) -> Self {
        Acquire {
            limiter,
            timer,
            n,
            max_wait,
            started: false,
            queued: None,
            permit: None,
            turn: None,
            sleep: None,
        }
    }
}

impl<T: Timer> Future for Acquire<'_, T> {
    type Output = Result<(), LimitError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let gcra = &this.limiter.gcra;
        let n = *this.n;
        if !*this.started {
            *this.started = true;
            let now = this.timer.now().as_nanos();
            match gcra.enter(now, n, *this.max_wait) {
                Ok(Entered::Granted) => return Poll::Ready(Ok(())),
                Ok(Entered::Queued) => {
                    *this.queued = Some(Queued { gcra, n });
                    this.turn.set(Some(this.limiter.turn.acquire(1)));
                }
                Err(r) => {
                    return Poll::Ready(Err(LimitError::from_refusal(r, n, gcra.params.burst)));
                }
            }
        }
        if this.queued.is_none() {
            // Polled after completion.
            return Poll::Pending;
        }
        if let Some(turn) = this.turn.as_mut().as_pin_mut() {
            match ready!(turn.poll(cx)) {
                Ok(permit) => *this.permit = Some(permit),
                // The turn semaphore is never closed.
                Err(_) => return Poll::Pending,
            }
            this.turn.set(None);
        }
        // The head: the only waiter with a timer.
        loop {
            if let Some(sleep) = this.sleep.as_mut().as_pin_mut() {
                ready!(sleep.poll(cx));
                this.sleep.set(None);
            }
            let now = this.timer.now().as_nanos();
            match gcra.take_as_head(now, n) {
                Ok(()) => {
                    if let Some(q) = this.queued.take() {
                        q.granted();
                    }
                    // The next waiter becomes the head.
                    *this.permit = None;
                    return Poll::Ready(Ok(()));
                }
                Err(at) => this
                    .sleep
                    .set(Some(this.timer.sleep_until(Instant::from_nanos(at)))),
            }
        }
    }
}

impl<T: Timer> core::fmt::Debug for Acquire<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Acquire")
            .field("cells", &self.n)
            .field("queued", &self.queued.is_some())
            .field("head", &self.permit.is_some())
            .finish_non_exhaustive()
    }
}
