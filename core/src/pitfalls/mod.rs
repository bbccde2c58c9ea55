//! Guards for the common async pitfalls.
//!
//! | pitfall | guard |
//! |---|---|
//! | 1. blocking the executor (`std::thread::sleep`, heavy CPU work inside async code) | [`detect_slow_polls`]: reports every `poll` that takes longer than a threshold |
//! | 2. not awaiting a future | every future, builder and guard of this crate is `#[must_use]` with a message, so the compiler warns when one is dropped unused (a test of the crate checks it) |
//! | 3. spawning tasks without tracking them | [`task_group`](crate::task_group): every task tracked, every outcome (a panic included) reported, nothing orphaned when the group is dropped; spawned or spawn-free. Every [`Spawn`](crate::Spawn) handle tells finished, panicked and cancelled apart |
//! | 4. unbounded concurrency | [`Bulkhead`](crate::bulkhead::Bulkhead) (at most N futures at once, the rest wait or are turned away), [`concurrency`](crate::concurrency) (`map_bounded`: at most N of many items at once, futures made lazily), and the task group's limit |
//!
//! # Detecting blocking polls
//!
//! A future that blocks inside `poll` stalls every other task of its executor thread (on a
//! single-threaded executor, all of them). [`detect_slow_polls`] (or
//! [`SlowPollExt::detect_slow_polls`]) wraps a future, reads the [`Timer`]'s clock right
//! before and right after each `poll` of it, and calls your callback with a [`SlowPoll`]
//! report for every poll that took **longer than** the threshold.
//!
//! It works on any runtime, with any [`Timer`]. Its cost when no poll is slow is two clock
//! reads, one subtraction and one comparison per poll: the floor for measuring anything (on
//! tokio a clock read is about 28 ns). It allocates nothing. The measure covers the wrapped
//! future only, including everything it polls inside; wrap smaller pieces to find the
//! culprit. On a virtual clock (tests) time moves only when told, so a poll is "slow" exactly
//! when the clock was advanced during it.
//!
//! On tokio (`steadfast-tokio`), around a request handler that blocks by mistake (the clock
//! is tokio's; here it runs for real, as the blocking does):
//!
//! ```
//! use std::time::Duration;
//! use steadfast_tokio::{TokioTimer, pitfalls::SlowPollExt};
//!
//! async fn handler() -> u32 {
//!     std::thread::sleep(Duration::from_millis(10)); // blocks the executor thread
//!     7
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let timer = TokioTimer::new();
//! let mut slow = Vec::new();
//! let out = handler()
//!     .detect_slow_polls(&timer, Duration::from_millis(2), |report| slow.push(report))
//!     .await;
//! assert_eq!(out, 7);
//! assert!(slow[0].elapsed >= Duration::from_millis(10));
//! # }
//! ```
//!
//! On smol or async-std (`steadfast-smol`), the same with `AsyncIoTimer`, here logging each
//! report:
//!
//! ```
//! use std::time::Duration;
//! use steadfast_smol::{AsyncIoTimer, pitfalls::detect_slow_polls};
//!
//! smol::block_on(async {
//!     let timer = AsyncIoTimer::new();
//!     let work = async { smol::Timer::after(Duration::from_millis(1)).await; "done" };
//!     let out = detect_slow_polls(&timer, Duration::from_millis(50), work, |r| {
//!         eprintln!("poll {} took {:?}", r.poll, r.elapsed);
//!     })
//!     .await;
//!     assert_eq!(out, "done");
//! });
//! ```
//!
//! On embassy (`steadfast-embassy`), around a task's loop body, reporting polls that hold
//! the executor longer than a millisecond (`ignore`d here: doc tests have no time driver):
//!
//! ```ignore
//! use core::time::Duration;
//! use steadfast_embassy::{EmbassyTimer, pitfalls::SlowPollExt};
//!
//! #[embassy_executor::task]
//! async fn control_loop() {
//!     loop {
//!         step()
//!             .detect_slow_polls(&EmbassyTimer, Duration::from_millis(1), |r| {
//!                 defmt::warn!("slow poll: {} us", r.elapsed.as_micros() as u32)
//!             })
//!             .await;
//!     }
//! }
//! ```
//!
//! A library generic over [`Timer`], tested on [`VirtualTimer`](crate::VirtualTimer), where a
//! poll is slow exactly when the clock was moved during it:
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::cell::Cell;
//! use core::time::Duration;
//! use steadfast::pitfalls::SlowPollExt;
//! use steadfast::{Timer, VirtualTimer};
//!
//! let timer = VirtualTimer::new();
//! let slow_polls = Cell::new(0);
//!
//! // A well-behaved future: it waits on the timer, never blocks.
//! let t = timer.clone();
//! let nice = async move { t.sleep(Duration::from_secs(5)).await };
//! futures_executor::block_on(timer.auto_advance(
//!     nice.detect_slow_polls(&timer, Duration::from_millis(10), |_| {
//!         slow_polls.set(slow_polls.get() + 1)
//!     }),
//! ));
//! assert_eq!(slow_polls.get(), 0);
//!
//! // A blocking one: 50 ms pass inside a single poll (simulated on the virtual clock).
//! let t = timer.clone();
//! let blocking = async move { t.advance(Duration::from_millis(50)) };
//! let mut report = None;
//! futures_executor::block_on(
//!     blocking.detect_slow_polls(&timer, Duration::from_millis(10), |r| report = Some(r)),
//! );
//! let report = report.expect("the blocking poll was reported");
//! assert_eq!(report.elapsed, Duration::from_millis(50));
//! assert_eq!((report.poll, report.ready), (1, true));
//! # }
//! ```
//!
//! Runnable example: `cargo run -p steadfast-tokio --example slow_poll` (a blocking call inside a
//! handler, reported).

use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use pin_project_lite::pin_project;

use crate::{Instant, Timer};

/// A poll that took longer than the threshold, as given to the callback of
/// [`detect_slow_polls`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlowPoll {
    /// How long the poll took.
    pub elapsed: Duration,
    /// The threshold it exceeded.
    pub threshold: Duration,
    /// When the poll started, on the timer's clock.
    pub started: Instant,
    /// Which poll it was, counting from 1.
    pub poll: u64,
    /// Whether the future completed on that poll.
    pub ready: bool,
}

/// Wraps `future` so that every `poll` of it taking longer than `threshold` on `timer`'s clock
/// is reported to `on_slow` (see the [module docs](self)).
pub fn detect_slow_polls<T, F, C>(
    timer: &T,
    threshold: Duration,
    future: F,
    on_slow: C,
) -> DetectSlowPolls<F::IntoFuture, T, C>
where
    T: Timer,
    F: IntoFuture,
    C: FnMut(SlowPoll),
{
    DetectSlowPolls {
        future: future.into_future(),
        timer: timer.clone(),
        threshold,
        on_slow,
        polls: 0,
    }
}

/// `fut.detect_slow_polls(&timer, threshold, on_slow)`: [`detect_slow_polls`] as a method on
/// every future.
pub trait SlowPollExt: Future + Sized {
    /// See [`detect_slow_polls`].
    fn detect_slow_polls<T, C>(
        self,
        timer: &T,
        threshold: Duration,
        on_slow: C,
    ) -> DetectSlowPolls<Self, T, C>
    where
        T: Timer,
        C: FnMut(SlowPoll),
    {
        detect_slow_polls(timer, threshold, self, on_slow)
    }
}

impl<F: Future> SlowPollExt for F {}

pin_project! {
    /// The future returned by [`detect_slow_polls`]: the wrapped future's output, unchanged.
    #[must_use = "the detector does nothing unless awaited"]
    pub struct DetectSlowPolls<F, T, C> {
        #[pin]
        future: F,
        timer: T,
        threshold: Duration,
        on_slow: C,
        polls: u64,
    }
}

impl<F, T, C> core::fmt::Debug for DetectSlowPolls<F, T, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DetectSlowPolls")
            .field("threshold", &self.threshold)
            .field("polls", &self.polls)
            .finish_non_exhaustive()
    }
}

impl<F, T, C> Future for DetectSlowPolls<F, T, C>
where
    F: Future,
    T: Timer,
    C: FnMut(SlowPoll),
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let started = this.timer.now();
        let poll = this.future.poll(cx);
        let elapsed = this.timer.now() - started;
        *this.polls = this.polls.saturating_add(1);
        if elapsed > *this.threshold {
            (this.on_slow)(SlowPoll {
                elapsed,
                threshold: *this.threshold,
                started,
                poll: *this.polls,
                ready: poll.is_ready(),
            });
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant as StdInstant;

    /// The real clock, for the one test that blocks for real.
    #[derive(Clone)]
    struct StdClock(StdInstant);

    impl Timer for StdClock {
        type Sleep = core::future::Pending<()>;
        fn now(&self) -> Instant {
            Instant::from_nanos(u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX))
        }
        fn sleep_until(&self, _deadline: Instant) -> Self::Sleep {
            core::future::pending()
        }
    }

    #[test]
    fn catches_a_real_thread_sleep() {
        let clock = StdClock(StdInstant::now());
        let mut yielded = false;
        let blocking = core::future::poll_fn(|cx| {
            if yielded {
                std::thread::sleep(std::time::Duration::from_millis(10));
                Poll::Ready(7)
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        });
        let mut reports = std::vec::Vec::new();
        let out = futures_executor::block_on(blocking.detect_slow_polls(
            &clock,
            Duration::from_millis(5),
            |r| reports.push(r),
        ));
        assert_eq!(out, 7);
        // The quick first poll is not checked: a loaded machine may preempt it. Quiet polls
        // are checked exactly on virtual time, in the conformance suite.
        let r = reports
            .iter()
            .find(|r| r.poll == 2)
            .expect("the sleeping poll is reported");
        assert!(r.elapsed >= Duration::from_millis(10), "{r:?}");
        assert_eq!((r.ready, r.threshold), (true, Duration::from_millis(5)));
    }
}
