//! [`steadfast`]'s seams on tokio: [`TokioTimer`] (a [`Timer`] on `tokio::time`) and
//! [`TokioSpawner`] (a [`Spawn`] on `tokio::spawn` or a runtime [`Handle`]).
//!
//! This crate re-exports the whole core, so one dependency is enough:
//!
//! ```
//! use std::time::Duration;
//! use steadfast_tokio::{TokioTimer, timeout::TimeoutExt};
//!
//! #[tokio::main(flavor = "current_thread", start_paused = true)]
//! async fn main() {
//!     let timer = TokioTimer::new();
//!     let never = std::future::pending::<()>();
//!     // Paused tokio time: the five seconds pass at once, and exactly.
//!     let start = tokio::time::Instant::now();
//!     let err = never.timeout(&timer, Duration::from_secs(5)).await.unwrap_err();
//!     assert_eq!(err.duration(), Some(Duration::from_secs(5)));
//!     assert_eq!(start.elapsed(), Duration::from_secs(5));
//! }
//! ```
//!
//! [`Timer`]: steadfast::Timer
//! [`Spawn`]: steadfast::Spawn

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

pub use steadfast::*;
use tokio::runtime::Handle;

/// How far ahead a deadline that tokio's clock cannot represent is put: about 30 years, as
/// tokio itself does for `sleep(Duration::MAX)`.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// A [`Timer`] on `tokio::time`.
///
/// Honours tokio's paused clock (`start_paused`, `tokio::time::pause`, `advance`), so tests
/// and doc examples run hours of timeouts and backoff instantly. Its [`Instant`]s count from
/// the moment the timer was created; clones share that origin, separately created timers do
/// not. Sleeps are `tokio::time::Sleep`, which allocates nothing. Needs a tokio runtime with
/// time enabled when a sleep is polled.
#[derive(Clone, Copy, Debug)]
pub struct TokioTimer {
    origin: tokio::time::Instant,
}

impl TokioTimer {
    /// A timer whose origin is now on tokio's clock.
    #[must_use]
    pub fn new() -> Self {
        TokioTimer {
            origin: tokio::time::Instant::now(),
        }
    }

    /// The tokio instant corresponding to `instant`; deadlines past what tokio can represent
    /// become a far-future instant.
    #[must_use]
    pub fn to_tokio(&self, instant: Instant) -> tokio::time::Instant {
        if instant == Instant::MAX {
            return self.far_future();
        }
        self.origin
            .checked_add(instant.since_origin())
            .unwrap_or_else(|| self.far_future())
    }

    fn far_future(&self) -> tokio::time::Instant {
        let now = tokio::time::Instant::now();
        now.checked_add(FAR_FUTURE).unwrap_or(now)
    }
}

impl Default for TokioTimer {
    fn default() -> Self {
        Self::new()
    }
}

impl Timer for TokioTimer {
    type Sleep = TokioSleep;

    fn now(&self) -> Instant {
        let nanos = tokio::time::Instant::now()
            .saturating_duration_since(self.origin)
            .as_nanos();
        Instant::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    fn sleep_until(&self, deadline: Instant) -> TokioSleep {
        TokioSleep {
            sleep: tokio::time::sleep_until(self.to_tokio(deadline)),
        }
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
/// Panics in spawned tasks are caught by tokio and surface as
/// [`JoinError::Panicked`]; an aborted task, or one whose
/// runtime shut down, as [`JoinError::Cancelled`].
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

/// The handle of a task spawned by [`TokioSpawner`]. Dropping it detaches the task.
#[derive(Debug)]
#[must_use = "dropping the handle detaches the task; await it to see how it ended"]
pub struct TokioTask<T>(tokio::task::JoinHandle<T>);

impl<T> Future for TokioTask<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|r| {
            r.map_err(|e| match e.try_into_panic() {
                Ok(payload) => JoinError::Panicked(payload),
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
        timer.sleep(Duration::from_millis(1500)).await;
        assert_eq!(timer.now(), Instant::from_nanos(1_500_000_000));
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(timer.now(), Instant::from_nanos(4_500_000_000));
        let far = timer.to_tokio(Instant::MAX);
        assert!(far > tokio::time::Instant::now() + Duration::from_secs(86_400 * 365));
        // A sleep that never ends can be created, polled and dropped.
        let r = tokio::time::timeout(Duration::from_secs(1), timer.sleep(Duration::MAX)).await;
        assert!(r.is_err());
    }
}
