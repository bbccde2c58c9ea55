//! Bound a future by a duration or a deadline.
//!
//! [`timeout`] and [`timeout_at`] wrap any future; [`TimeoutExt`] lets you write
//! `fut.timeout(&timer, d)`. If the deadline passes first, the inner future is **dropped at
//! once** (its work is cancelled, and whatever it held, such as a bulkhead permit, is released)
//! and the caller gets an [`Elapsed`] error carrying the duration and an optional context
//! message shown by `Display`.
//!
//! # When the clock starts
//!
//! The deadline of [`timeout`] is counted from the **first poll**: precisely, it is
//! `now + duration`, read right after the inner future's first poll returns `Pending`. A
//! timeout built and awaited later does not lose budget in between, and a future that is ready
//! on its first poll never reads the clock (the fast path costs one branch). This differs from
//! `tokio::time::timeout`, which counts from the call. Use [`timeout_at`] for a fixed deadline.
//!
//! # Ties and edge cases
//!
//! - The inner future is polled before the deadline is checked, so a future that is ready at
//!   the deadline wins.
//! - A zero duration still polls the inner future once: a ready future succeeds, any other
//!   times out on that same poll.
//! - Durations too large for the clock, such as [`Duration::MAX`], saturate to
//!   [`Instant::MAX`], a deadline that never comes; nothing panics.
//! - No allocation, whatever the timer (the sleep is stored inline and created only when the
//!   inner future first has to wait).
//!
//! Runnable example: `cargo run -p steadfast-tokio --example timeout` (a per-call bound, a context
//! message, one deadline shared by two steps).
//!
//! # Examples
//!
//! On tokio (`steadfast-tokio`):
//!
//! ```
//! use std::time::Duration;
//! use steadfast_tokio::{TokioTimer, timeout::TimeoutExt};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let timer = TokioTimer::new();
//! let never = std::future::pending::<&str>();
//! let err = never.timeout(&timer, Duration::from_secs(5)).context("reading the catalogue").await.unwrap_err();
//! assert_eq!(err.to_string(), "reading the catalogue: timed out after 5s");
//! # }
//! ```
//!
//! On smol or async-std (`steadfast-smol`), with `AsyncIoTimer`:
//!
//! ```
//! use std::time::Duration;
//! use steadfast_smol::{AsyncIoTimer, timeout::timeout};
//!
//! smol::block_on(async {
//!     let timer = AsyncIoTimer::new();
//!     let quick = timeout(&timer, Duration::from_secs(5), async { 7 }).await;
//!     assert_eq!(quick, Ok(7));
//!     let stuck = timeout(&timer, Duration::from_millis(2), std::future::pending::<()>()).await;
//!     assert_eq!(stuck.unwrap_err().duration(), Some(Duration::from_millis(2)));
//! });
//! ```
//!
//! On embassy (`steadfast-embassy`), with `EmbassyTimer` (`ignore`d here: doc tests have no
//! time driver):
//!
//! ```ignore
//! use core::time::Duration;
//! use steadfast_embassy::{EmbassyTimer, timeout::TimeoutExt};
//!
//! #[embassy_executor::task]
//! async fn poll_sensor(mut sensor: Sensor) {
//!     loop {
//!         match sensor.read().timeout(&EmbassyTimer, Duration::from_millis(20)).await {
//!             Ok(sample) => publish(sample),
//!             Err(elapsed) => defmt::warn!("sensor: {}", defmt::Display2Format(&elapsed)),
//!         }
//!     }
//! }
//! ```
//!
//! A library generic over the clock, tested on [`VirtualTimer`](crate::VirtualTimer):
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::time::Duration;
//! use steadfast::{Timer, VirtualTimer, timeout::TimeoutExt};
//!
//! let timer = VirtualTimer::new();
//! let t = timer.clone();
//! let slow = async move { t.sleep(Duration::from_secs(10)).await; "data" };
//!
//! let result = futures_executor::block_on(timer.auto_advance(
//!     slow.timeout(&timer, Duration::from_secs(5))
//!         .context("fetching from the inventory service"),
//! ));
//! let err = result.unwrap_err();
//! assert_eq!(err.duration(), Some(Duration::from_secs(5)));
//! assert_eq!(
//!     err.to_string(),
//!     "fetching from the inventory service: timed out after 5s"
//! );
//! assert_eq!(timer.now().as_nanos(), 5_000_000_000);
//! # }
//! ```

mod error;

use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use pin_project_lite::pin_project;

use crate::observe::{Event, Observe};
use crate::{Instant, Timer};
pub use error::{Elapsed, Message};

/// Runs `future` for at most `duration`, counted from the first poll (see the
/// [module docs](self)). On expiry the future is dropped and [`Elapsed`] returned.
pub fn timeout<T: Timer, F: IntoFuture>(
    timer: &T,
    duration: Duration,
    future: F,
) -> Timeout<F::IntoFuture, T> {
    Timeout::new(timer, Limit::After(duration), future.into_future(), ())
}

/// [`timeout`] reporting to `observer`, built in place (for the patterns built on it).
pub(crate) fn timeout_observed<T: Timer, F: Future, O>(
    timer: &T,
    duration: Duration,
    future: F,
    observer: O,
) -> Timeout<F, T, O> {
    Timeout::new(timer, Limit::After(duration), future, observer)
}

/// [`timeout_at`] reporting to `observer`, built in place (for the patterns built on it).
pub(crate) fn timeout_at_observed<T: Timer, F: Future, O>(
    timer: &T,
    deadline: Instant,
    future: F,
    observer: O,
) -> Timeout<F, T, O> {
    Timeout::new(timer, Limit::At(deadline), future, observer)
}

/// Runs `future` until `deadline` at most. On expiry the future is dropped and [`Elapsed`]
/// returned. A deadline already passed still polls the future once.
pub fn timeout_at<T: Timer, F: IntoFuture>(
    timer: &T,
    deadline: Instant,
    future: F,
) -> Timeout<F::IntoFuture, T> {
    Timeout::new(timer, Limit::At(deadline), future.into_future(), ())
}

/// `fut.timeout(&timer, d)`: [`timeout`] and [`timeout_at`] as methods on every future.
pub trait TimeoutExt: Future + Sized {
    /// See [`timeout`].
    fn timeout<T: Timer>(self, timer: &T, duration: Duration) -> Timeout<Self, T> {
        timeout(timer, duration, self)
    }

    /// See [`timeout_at`].
    fn timeout_at<T: Timer>(self, timer: &T, deadline: Instant) -> Timeout<Self, T> {
        timeout_at(timer, deadline, self)
    }
}

impl<F: Future> TimeoutExt for F {}

#[derive(Clone, Copy, Debug)]
enum Limit {
    After(Duration),
    At(Instant),
}

pin_project! {
    #[project = InnerProj]
    enum Inner<F> {
        Running { #[pin] future: F },
        Done,
    }
}

pin_project! {
    #[project = ArmProj]
    enum Arm<S> {
        Idle,
        Armed { #[pin] sleep: S },
    }
}

pin_project! {
    /// The future returned by [`timeout`], [`timeout_at`] and [`TimeoutExt`]. `O` is its
    /// [observer](crate::observe), `()` unless set with [`observe`](Timeout::observe).
    #[must_use = "a timeout does nothing unless awaited"]
    pub struct Timeout<F, T: Timer, O = ()> {
        #[pin]
        inner: Inner<F>,
        #[pin]
        sleep: Arm<T::Sleep>,
        timer: T,
        limit: Limit,
        context: Option<Message>,
        observer: O,
    }
}

impl<F, T: Timer, O> Timeout<F, T, O> {
    fn new(timer: &T, limit: Limit, future: F, observer: O) -> Self {
        Timeout {
            inner: Inner::Running { future },
            sleep: Arm::Idle,
            timer: timer.clone(),
            limit,
            context: None,
            observer,
        }
    }

    /// Reports the expiry ([`Event::TimedOut`]) to `observer` (see [`crate::observe`]).
    #[inline(always)]
    pub fn observe<O2: Observe>(self, observer: O2) -> Timeout<F, T, O2> {
        Timeout {
            inner: self.inner,
            sleep: self.sleep,
            timer: self.timer,
            limit: self.limit,
            context: self.context,
            observer,
        }
    }

    /// The same timeout around `f(future)`, not yet polled (for the patterns built on it).
    pub(crate) fn map<G>(self, f: impl FnOnce(F) -> G) -> Timeout<G, T, O> {
        Timeout {
            inner: match self.inner {
                Inner::Running { future } => Inner::Running { future: f(future) },
                Inner::Done => Inner::Done,
            },
            sleep: self.sleep,
            timer: self.timer,
            limit: self.limit,
            context: self.context,
            observer: self.observer,
        }
    }

    /// Attaches a message that the [`Elapsed`] error shows, such as what was being waited
    /// for. Takes `&'static str`, and with the `alloc` feature also
    /// `String`.
    #[inline(always)]
    pub fn context(mut self, message: impl Into<Message>) -> Self {
        self.context = Some(message.into());
        self
    }
}

impl<F: core::fmt::Debug, T: Timer, O> core::fmt::Debug for Timeout<F, T, O> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Timeout")
            .field("limit", &self.limit)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl<F: Future, T: Timer, O: Observe> Future for Timeout<F, T, O> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        match this.inner.as_mut().project() {
            InnerProj::Running { future } => {
                if let Poll::Ready(out) = future.poll(cx) {
                    this.inner.set(Inner::Done);
                    return Poll::Ready(Ok(out));
                }
            }
            InnerProj::Done => panic!("`Timeout` polled after completion"),
        }
        if let ArmProj::Idle = this.sleep.as_mut().project() {
            // `sleep(d)` rather than `sleep_until(now + d)`: a timer that counts in its own
            // ticks (embassy's) then converts the duration once, not the clock reading and
            // the deadline.
            let sleep = match *this.limit {
                Limit::After(d) => this.timer.sleep(d),
                Limit::At(deadline) => this.timer.sleep_until(deadline),
            };
            this.sleep.set(Arm::Armed { sleep });
        }
        if let ArmProj::Armed { sleep } = this.sleep.as_mut().project() {
            if sleep.poll(cx).is_ready() {
                // Drop the inner future now: its work stops and what it holds is released.
                // (The sleep, over, stays until the timeout is dropped.)
                this.inner.set(Inner::Done);
                let duration = match *this.limit {
                    Limit::After(d) => Some(d),
                    Limit::At(_) => None,
                };
                this.observer.emit(|| Event::TimedOut { limit: duration });
                return Poll::Ready(Err(Elapsed::new(duration, this.context.take())));
            }
        }
        Poll::Pending
    }
}
