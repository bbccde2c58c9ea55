//! steadfast on tokio: the whole steadfast core (re-exported, so this crate is the one
//! dependency an application needs) and its two seams on tokio:
//!
//! - [`TokioTimer`], a [`Timer`] on `tokio::time`: paused time (`start_paused`,
//!   `tokio::time::advance`) is honoured, so tests run hours of timeouts and backoff at once;
//!   every `TokioTimer` of the process counts from one origin, so instants from any two are
//!   comparable (a budget or a deadline can be shared between timers made anywhere).
//! - [`TokioSpawner`], a [`Spawn`] on `tokio::spawn` or on a runtime [`Handle`], whose task
//!   handles ([`TokioTask`]) report a panic as [`JoinError::Panicked`] with its message.
//!
//! Every pattern module of the core is here under the same name (`steadfast_tokio::timeout`,
//! `steadfast_tokio::retry`, `steadfast_tokio::bulkhead`, ...), as are [`Instant`],
//! [`JoinError`] and the rest.
//!
//! ```
//! use std::time::Duration;
//! use steadfast_tokio::{Spawn, TokioSpawner, TokioTimer, timeout::TimeoutExt};
//!
//! async fn lookup(id: u32) -> u32 {
//!     tokio::time::sleep(Duration::from_millis(10 * u64::from(id))).await;
//!     id * 2
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let timer = TokioTimer::new();
//! let start = timer.now();
//! // Bound a call; the error says how long it waited.
//! let err = lookup(9).timeout(&timer, Duration::from_millis(50)).await.unwrap_err();
//! assert_eq!(err.to_string(), "timed out after 50ms");
//! assert_eq!(timer.now() - start, Duration::from_millis(50));
//!
//! // Spawn a bounded call; a panic or an abort comes back as a `JoinError`, which `?` takes.
//! let spawner = TokioSpawner::current();
//! let handle = spawner.spawn(async move { lookup(2).timeout(&timer, Duration::from_secs(1)).await });
//! assert_eq!(handle.await??, 4);
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! This crate has no features of its own. It turns on the core's `std` feature (panic
//! containment, the heap-backed patterns) and needs tokio's `rt` and `time`; a sleep must be
//! polled inside a tokio runtime with time enabled.

#![cfg_attr(docsrs, feature(doc_cfg))]

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

pub use steadfast::*;

// The README's examples are compiled (and, where they can run, run) with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
use tokio::runtime::Handle;

/// How far ahead a deadline that tokio's clock cannot represent is put: about 30 years, as
/// tokio itself does for `sleep(Duration::MAX)`.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// How far before its first use the process-wide origin is put, at most: tokio instants of a
/// runtime started earlier with a paused clock lie before that first use, and must still
/// count from zero upwards.
const ORIGIN_LEAD: [Duration; 3] = [
    Duration::from_secs(3_600),
    Duration::from_secs(60),
    Duration::from_secs(1),
];

/// The one origin of every [`TokioTimer`] in the process.
fn origin() -> tokio::time::Instant {
    static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
    let origin = *ORIGIN.get_or_init(|| {
        let now = std::time::Instant::now();
        ORIGIN_LEAD
            .iter()
            .find_map(|lead| now.checked_sub(*lead))
            .unwrap_or(now)
    });
    // `from_std` keeps the instant on tokio's clock, paused or not.
    tokio::time::Instant::from_std(origin)
}

/// A [`Timer`] on `tokio::time`.
///
/// Honours tokio's paused clock (`start_paused`, `tokio::time::pause`, `advance`), so tests
/// and doc examples run hours of timeouts and backoff instantly. Every `TokioTimer` in the
/// process counts its [`Instant`]s from one fixed origin (an hour, or as much as the system
/// clock allows, before the first use of any of them), so a `TokioTimer::new()` per request
/// and one shared timer read the same clock. A zero-sized `Copy` value.
///
/// Its clock is readable without importing [`Timer`]: [`now`](TokioTimer::now),
/// [`sleep`](TokioTimer::sleep) and [`sleep_until`](TokioTimer::sleep_until) are also
/// inherent. Sleeps ([`TokioSleep`]) allocate nothing and need a tokio runtime with time
/// enabled when polled.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioTimer {
    _private: (),
}

impl TokioTimer {
    /// A timer on tokio's clock. Every timer shares one origin, so this is as good as a
    /// clone of any other; usable in a `static`.
    #[must_use]
    pub const fn new() -> Self {
        TokioTimer { _private: () }
    }

    /// The current instant on tokio's clock (paused or not).
    #[must_use]
    pub fn now(&self) -> Instant {
        let nanos = tokio::time::Instant::now()
            .saturating_duration_since(origin())
            .as_nanos();
        Instant::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// A sleep until `deadline`; ready on its first poll if the deadline has passed.
    pub fn sleep_until(&self, deadline: Instant) -> TokioSleep {
        TokioSleep {
            sleep: tokio::time::sleep_until(self.to_tokio(deadline)),
        }
    }

    /// A sleep of `duration` from now, saturating: an unrepresentable end never comes.
    pub fn sleep(&self, duration: Duration) -> TokioSleep {
        self.sleep_until(self.now().saturating_add(duration))
    }

    /// The tokio instant corresponding to `instant`; deadlines past what tokio can represent
    /// become a far-future instant.
    #[must_use]
    pub fn to_tokio(&self, instant: Instant) -> tokio::time::Instant {
        if instant == Instant::MAX {
            return far_future();
        }
        origin()
            .checked_add(instant.since_origin())
            .unwrap_or_else(far_future)
    }
}

fn far_future() -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(FAR_FUTURE).unwrap_or(now)
}

impl Timer for TokioTimer {
    type Sleep = TokioSleep;

    fn now(&self) -> Instant {
        TokioTimer::now(self)
    }

    fn sleep_until(&self, deadline: Instant) -> TokioSleep {
        TokioTimer::sleep_until(self, deadline)
    }
}

pin_project_lite::pin_project! {
    /// The sleep of [`TokioTimer`]: a `tokio::time::Sleep`, allocation-free, unregistered
    /// when dropped, and ready on its first poll once its deadline has passed (tokio's own
    /// sleep waits for the next millisecond tick of its timer wheel).
    #[derive(Debug)]
    #[must_use = "a sleep does nothing unless awaited"]
    pub struct TokioSleep {
        #[pin]
        sleep: tokio::time::Sleep,
    }
}

impl Future for TokioSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let sleep = self.project().sleep;
        if sleep.deadline() <= tokio::time::Instant::now() {
            return Poll::Ready(());
        }
        sleep.poll(cx)
    }
}

/// A [`Spawn`] on a tokio runtime.
///
/// Panics in spawned tasks are caught by tokio and surface as [`JoinError::Panicked`], with
/// the panic's message; an aborted task, or one whose runtime shut down, as
/// [`JoinError::Cancelled`].
#[derive(Clone, Debug)]
pub struct TokioSpawner {
    handle: Handle,
}

impl TokioSpawner {
    /// A spawner on the runtime this is called from.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime; see [`try_current`](Self::try_current).
    #[must_use]
    pub fn current() -> Self {
        Self::from_handle(Handle::current())
    }

    /// A spawner on the runtime this is called from, or `None` outside a runtime.
    #[must_use]
    pub fn try_current() -> Option<Self> {
        Handle::try_current().ok().map(Self::from_handle)
    }

    /// A spawner on the runtime behind `handle`; usable from any thread.
    #[must_use]
    pub fn from_handle(handle: Handle) -> Self {
        TokioSpawner { handle }
    }
}

impl Spawn for TokioSpawner {
    type Handle<T: Send + 'static> = TokioTask<T>;

    fn spawn<F>(&self, future: F) -> TokioTask<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        TokioTask(self.handle.spawn(future))
    }
}

/// The handle of a task spawned by [`TokioSpawner`]: a `tokio::task::JoinHandle`. Dropping
/// it detaches the task; after [`abort`](TaskHandle::abort) it resolves once the task's future
/// has been dropped, or with the value if the task had finished.
#[derive(Debug)]
#[must_use = "dropping the handle detaches the task; await it to see how it ended"]
pub struct TokioTask<T>(tokio::task::JoinHandle<T>);

impl<T> Future for TokioTask<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|r| {
            r.map_err(|e| match e.try_into_panic() {
                Ok(payload) => JoinError::Panicked(Panicked::from_payload(&*payload)),
                Err(_) => JoinError::Cancelled,
            })
        })
    }
}

impl<T> TaskHandle<T> for TokioTask<T> {
    fn abort(&mut self) {
        self.0.abort();
    }

    fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn paused_clock_is_exact_and_far_deadlines_do_not_panic() {
        let timer = TokioTimer::new();
        let start = timer.now();
        timer.sleep(Duration::from_millis(1500)).await;
        assert_eq!(timer.now() - start, Duration::from_millis(1500));
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(timer.now() - start, Duration::from_millis(4500));
        let far = timer.to_tokio(Instant::MAX);
        assert!(far > tokio::time::Instant::now() + Duration::from_secs(86_400 * 365));
        // A sleep that never ends can be created, polled and dropped.
        let r = tokio::time::timeout(Duration::from_secs(1), timer.sleep(Duration::MAX)).await;
        assert!(r.is_err());
    }
}
