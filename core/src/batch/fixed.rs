//! The spawn-free form: up to `N` items in place, flushed by a driver future.

use core::fmt;
use core::future::Future;

use heapless::Deque;

use super::{Builder, Inner, Metrics};
use crate::queue::{Closed, TrySendError};
use crate::{ConfigError, Instant, Timer};

/// A batch of the spawn-free form: a fixed-capacity vector (`heapless::Vec`), holding at most
/// the batcher's capacity `N`.
pub type FixedBatch<T, const N: usize> = heapless::Vec<T, N>;

/// A batcher holding up to `N` items in place, with no heap: the spawn-free form. Flushing
/// runs in the driver future [`run`](Self::run), which you run in your own task. See the
/// [module docs](super) for the rule and the semantics.
///
/// Built with [`FixedBatcher::builder`]; `build_const` puts it in a `static`:
///
/// ```
/// use core::time::Duration;
/// use steadfast::batch::FixedBatcher;
/// # #[derive(Clone, Copy)] struct MyTimer;
/// # impl steadfast::Timer for MyTimer {
/// #     type Sleep = core::future::Pending<()>;
/// #     fn now(&self) -> steadfast::Instant { steadfast::Instant::ZERO }
/// #     fn sleep_until(&self, _: steadfast::Instant) -> Self::Sleep { core::future::pending() }
/// # }
///
/// static READINGS: FixedBatcher<u16, MyTimer, 32> = FixedBatcher::builder(MyTimer)
///     .batch_size(16)
///     .flush_interval(Duration::from_millis(500))
///     .build_const(); // a bad setting is a compile error here
/// assert_eq!(READINGS.metrics().capacity, 32);
/// ```
pub struct FixedBatcher<T, Tm, const N: usize> {
    pub(super) inner: Inner<T, Tm, Deque<(Instant, T), N>>,
}

impl<T, Tm: Timer, const N: usize> FixedBatcher<T, Tm, N> {
    /// The builder: set the batch size and the flush interval, then `build` (or
    /// `build_const` in a `static`). The capacity is `N`, at least the batch size.
    pub const fn builder(timer: Tm) -> Builder<Self, Tm> {
        Builder::new(timer)
    }

    /// Submits `item`, waiting while the batcher is full. Hands the item back in [`Closed`]
    /// if the batcher is closed or closes meanwhile. Cancel-safe (see the
    /// [module docs](super)).
    pub async fn submit(&self, item: T) -> Result<(), Closed<T>> {
        self.inner.submit(item).await
    }

    /// Submits `item` if there is room now; otherwise hands it back, telling full from
    /// closed. Room freed while producers wait in [`submit`](Self::submit) is theirs:
    /// `try_submit` does not take it.
    pub fn try_submit(&self, item: T) -> Result<(), TrySendError<T>> {
        self.inner.try_submit(item)
    }

    /// Stops intake and makes the driver flush everything held at once, then end. Idempotent.
    pub fn close(&self) {
        self.inner.close();
    }

    /// Whether the batcher was closed.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// The counters now: items held and not yet taken into a flush, and the capacity `N`.
    #[must_use]
    pub fn metrics(&self) -> Metrics {
        self.inner.metrics()
    }

    /// The driver: flushes batches by the rule, one at a time, passing every error `flush`
    /// returns to `on_error`. Completes once the batcher is closed and everything held was
    /// flushed. Run one driver per batcher.
    pub async fn run<E, Fut>(
        &self,
        flush: impl FnMut(FixedBatch<T, N>) -> Fut,
        on_error: impl FnMut(E),
    ) where
        Fut: Future<Output = Result<(), E>>,
    {
        self.inner.run(flush, on_error).await;
    }
}

impl<T, Tm: Timer, const N: usize> Builder<FixedBatcher<T, Tm, N>, Tm> {
    /// Checks the settings and builds the batcher.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming `batch_size` when it is 0 (or unset), `flush_interval` when it
    /// is zero (or unset), or `capacity` when `N` is smaller than the batch size.
    pub fn build(self) -> Result<FixedBatcher<T, Tm, N>, ConfigError> {
        self.config.check(N)?;
        Ok(FixedBatcher {
            inner: Inner::new(self.timer, self.config, N, Deque::new()),
        })
    }
}

impl<T, Tm: Timer + Copy, const N: usize> Builder<FixedBatcher<T, Tm, N>, Tm> {
    /// Builds the batcher in a `const` or `static`, where a bad setting is a compile error.
    /// Needs a `Copy` timer, such as embassy's.
    ///
    /// # Panics
    ///
    /// On a setting [`build`](Self::build) refuses: in a `static` or `const`, that is a
    /// compile error.
    pub const fn build_const(self) -> FixedBatcher<T, Tm, N> {
        if let Err(e) = self.config.check(N) {
            panic!("{}", e.problem());
        }
        FixedBatcher {
            inner: Inner::new(self.timer, self.config, N, Deque::new()),
        }
    }
}

impl<T, Tm, const N: usize> fmt::Debug for FixedBatcher<T, Tm, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (held, closed) = self.inner.state.with_lock(|s| (s.store.len(), s.closed));
        f.debug_struct("FixedBatcher")
            .field("held", &held)
            .field("capacity", &N)
            .field("closed", &closed)
            .field("config", &self.inner.config)
            .finish()
    }
}
