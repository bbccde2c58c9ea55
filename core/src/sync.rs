//! The semaphore every pattern uses: maitake-sync's, with every operation that takes its
//! waiter lock run inside [`guarded`].
//!
//! maitake-sync's blocking `Mutex` and `WaitQueue` honour its `critical-section` feature
//! (the core's `critical-section` forwards to it), but its `Semaphore` always locks a plain
//! spinlock: its lock type must be a guard-style `RawMutex`, which a critical section is not.
//! On one core, a permit released at interrupt priority while thread mode holds that spinlock
//! would spin forever; holding a critical section around each locking call rules that out.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use maitake_sync::semaphore as inner;
pub(crate) use maitake_sync::semaphore::TryAcquireError;
use pin_project_lite::pin_project;

use crate::loom::loom_const_fn;

/// Runs `f` inside a critical section with the `critical-section` feature, directly without
/// it (and under loom, whose model has no interrupts).
#[inline(always)]
pub(crate) fn guarded<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(all(feature = "critical-section", not(loom)))]
    return critical_section::with(|_| f());
    #[cfg(not(all(feature = "critical-section", not(loom))))]
    f()
}

/// maitake-sync's semaphore, each locking operation [`guarded`].
pub(crate) struct Semaphore(inner::Semaphore);

impl Semaphore {
    /// The most permits a semaphore holds.
    pub(crate) const MAX_PERMITS: usize =
        inner::Semaphore::<maitake_sync::spin::Spinlock>::MAX_PERMITS;

    loom_const_fn! {
        pub(crate) fn new(permits: usize) -> Self {
            Semaphore(inner::Semaphore::new(permits))
        }
    }

    /// Waits for `permits` permits, FIFO (maitake-sync's `acquire`).
    pub(crate) fn acquire(&self, permits: usize) -> Acquire<'_> {
        Acquire {
            inner: Some(self.0.acquire(permits)),
        }
    }

    /// Takes `permits` permits if they are there and nobody waits; atomics only, no lock.
    pub(crate) fn try_acquire(&self, permits: usize) -> Result<Permit<'_>, TryAcquireError> {
        self.0.try_acquire(permits).map(|p| Permit(Some(p)))
    }

    pub(crate) fn add_permits(&self, permits: usize) {
        guarded(|| self.0.add_permits(permits));
    }

    pub(crate) fn close(&self) {
        guarded(|| self.0.close());
    }

    pub(crate) fn available_permits(&self) -> usize {
        self.0.available_permits()
    }
}

impl core::fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.fmt(f)
    }
}

/// Permits of a [`Semaphore`], given back when dropped.
#[derive(Debug)]
pub(crate) struct Permit<'a>(Option<inner::Permit<'a>>);

impl Permit<'_> {
    /// Keeps the permits out of the semaphore for good.
    pub(crate) fn forget(mut self) {
        if let Some(permit) = self.0.take() {
            // maitake-sync's forgotten permit still locks to give back zero permits.
            guarded(|| permit.forget());
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(permit) = self.0.take() {
            guarded(|| drop(permit));
        }
    }
}

pin_project! {
    /// The future of [`Semaphore::acquire`]; dropping it leaves the queue (a woken waiter
    /// hands its wake-up on), inside [`guarded`].
    pub(crate) struct Acquire<'a> {
        #[pin]
        inner: Option<inner::Acquire<'a>>,
    }

    impl PinnedDrop for Acquire<'_> {
        fn drop(this: Pin<&mut Self>) {
            let mut inner = this.project().inner;
            guarded(|| inner.set(None));
        }
    }
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<Permit<'a>, maitake_sync::Closed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.as_pin_mut() {
            Some(acquire) => guarded(|| acquire.poll(cx)).map_ok(|p| Permit(Some(p))),
            None => Poll::Pending,
        }
    }
}

impl core::fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Acquire")
    }
}
