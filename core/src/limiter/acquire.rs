//! The waiting acquisition: FIFO behind a one-permit semaphore, one timer for the head only.
//! [`Waiting`] is the part a limiter and a keyed limiter's entry share, from a caller counted
//! as a waiter to its grant.

use core::future::Future;
use core::marker::PhantomData;
use core::pin::Pin;
use core::task::{Context, Poll, ready};

use crate::sync::{Acquire as Turn, Permit, Semaphore};
use pin_project_lite::pin_project;

use super::gcra::Entered;
use super::{LimitError, RateLimiter};
use crate::observe::{Event, Observe};
use crate::{Instant, Timer};

/// What a waiter needs of the bucket it waits on: a limiter, or one entry of a keyed limiter
/// (which stays in place while anyone waits on it).
pub(super) trait Bucket<'a>: Copy {
    /// The head of the queue takes its `n` cells at `now` and leaves the queue, or learns the
    /// instant it can.
    fn take_as_head(self, now: u64, n: u32) -> Result<(), u64>;
    /// A waiter asking for `n` cells left the queue without them.
    fn leave(self, n: u32);
    /// The one-permit semaphore whose holder heads the queue.
    fn turn(self) -> &'a Semaphore;
}

impl<'a> Bucket<'a> for &'a RateLimiter {
    fn take_as_head(self, now: u64, n: u32) -> Result<(), u64> {
        self.gcra.take_as_head(now, n)
    }
    fn leave(self, n: u32) {
        self.gcra.leave(n);
    }
    fn turn(self) -> &'a Semaphore {
        &self.turn
    }
}

/// A counted waiter; dropped before its grant (cancelled), it leaves the queue's counts.
struct Queued<'a, B: Bucket<'a>> {
    bucket: B,
    n: u32,
    _turn: PhantomData<&'a Semaphore>,
}

impl<'a, B: Bucket<'a>> Queued<'a, B> {
    /// The grant took the waiter off the counts already.
    fn granted(self) {
        core::mem::forget(self);
    }
}

impl<'a, B: Bucket<'a>> Drop for Queued<'a, B> {
    fn drop(&mut self) {
        self.bucket.leave(self.n);
    }
}

pin_project! {
    /// A caller counted as a waiter of `bucket`, from its place in the queue to its grant.
    pub(super) struct Waiting<'a, B, T: Timer>
    where
        B: Bucket<'a>,
    {
        // Declared before the permit: a cancelled waiter leaves the counts before the next
        // one takes its turn.
        queued: Option<Queued<'a, B>>,
        permit: Option<Permit<'a>>,
        #[pin]
        turn: Option<Turn<'a>>,
        #[pin]
        sleep: Option<T::Sleep>,
    }
}

impl<'a, B: Bucket<'a>, T: Timer> Waiting<'a, B, T> {
    /// Waits for its turn in `bucket`, where the caller was just counted.
    pub(super) fn new(bucket: B, n: u32) -> Self {
        Waiting {
            queued: Some(Queued {
                bucket,
                n,
                _turn: PhantomData,
            }),
            permit: None,
            turn: Some(bucket.turn().acquire(1)),
            sleep: None,
        }
    }

    /// Ready once granted; pending for good after that.
    pub(super) fn poll(self: Pin<&mut Self>, timer: &T, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let Some(&Queued { bucket, n, .. }) = this.queued.as_ref() else {
            return Poll::Pending;
        };
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
            match bucket.take_as_head(timer.now().as_nanos(), n) {
                Ok(()) => {
                    if let Some(q) = this.queued.take() {
                        q.granted();
                    }
                    // The next waiter becomes the head.
                    *this.permit = None;
                    return Poll::Ready(());
                }
                Err(at) => this
                    .sleep
                    .set(Some(timer.sleep_until(Instant::from_nanos(at)))),
            }
        }
    }

    /// Whether the caller is still waiting, and whether it heads the queue.
    pub(super) fn position(&self) -> (bool, bool) {
        (self.queued.is_some(), self.permit.is_some())
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
    /// is handed back. `O` is its [observer](crate::observe), `()` unless set with
    /// [`observe`](Acquire::observe).
    #[must_use = "futures do nothing unless polled"]
    pub struct Acquire<'a, T: Timer, O = ()> {
        // Taken on the first poll.
        limiter: Option<&'a RateLimiter>,
        timer: T,
        n: u32,
        max_wait: u64,
        #[pin]
        waiting: Option<Waiting<'a, &'a RateLimiter, T>>,
        observer: O,
    }
}

impl<'a, T: Timer> Acquire<'a, T> {
    pub(super) fn new(limiter: &'a RateLimiter, timer: T, n: u32, max_wait: u64) -> Self {
        Acquire {
            limiter: Some(limiter),
            timer,
            n,
            max_wait,
            waiting: None,
            observer: (),
        }
    }
}

impl<'a, T: Timer, O> Acquire<'a, T, O> {
    /// Reports waiting ([`Event::LimiterWaiting`]) and a refusal
    /// ([`Event::LimiterRejected`]) to `observer` (see [`crate::observe`]).
    #[inline(always)]
    pub fn observe<O2: Observe>(self, observer: O2) -> Acquire<'a, T, O2> {
        Acquire {
            limiter: self.limiter,
            timer: self.timer,
            n: self.n,
            max_wait: self.max_wait,
            waiting: self.waiting,
            observer,
        }
    }
}

impl<T: Timer, O: Observe> Future for Acquire<'_, T, O> {
    type Output = Result<(), LimitError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Some(l) = this.limiter.take() {
            let n = *this.n;
            match l.gcra.enter(this.timer.now().as_nanos(), n, *this.max_wait) {
                Ok(Entered::Granted) => return Poll::Ready(Ok(())),
                Ok(Entered::Queued) => {
                    this.observer.emit(|| Event::LimiterWaiting);
                    this.waiting.set(Some(Waiting::new(l, n)));
                }
                Err(r) => {
                    let e = l.refused(r, n);
                    let retry_after = e.retry_after();
                    this.observer
                        .emit(|| Event::LimiterRejected { retry_after });
                    return Poll::Ready(Err(e));
                }
            }
        }
        match this.waiting.as_pin_mut() {
            Some(w) => w.poll(this.timer, cx).map(Ok),
            // Polled after completion.
            None => Poll::Pending,
        }
    }
}

impl<T: Timer, O> core::fmt::Debug for Acquire<'_, T, O> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (queued, head) = self
            .waiting
            .as_ref()
            .map_or((false, false), Waiting::position);
        f.debug_struct("Acquire")
            .field("cells", &self.n)
            .field("queued", &queued)
            .field("head", &head)
            .finish_non_exhaustive()
    }
}
