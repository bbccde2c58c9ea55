//! Acquire a resource, use it, and release it exactly once, whatever happens: what an async
//! context manager promises in Python, kept under cancellation too.
//!
//! [`bracket`]`(acquire, use, release, on_cancel)` is the async counterpart of Python's
//! `async with` and of a `try`/`finally` around the use of a resource. Once `acquire`
//! succeeded, `release` runs **exactly once**:
//!
//! | how `use` ends | what happens | what the caller gets |
//! |---|---|---|
//! | returns a value (an `Ok` or an `Err` alike) | `release` is awaited in place | `Ok(`[`Outcome`]` { value, release })`: the value and the release's result side by side |
//! | panics (feature `std`) | the panic is caught, `release` is awaited in place, then the panic resumes | the original panic |
//! | panics (without `std`) | the bracket is dropped while unwinding: as for a cancel, below | the original panic |
//! | the bracket's future is dropped (cancelled) | `release` is handed to `on_cancel` | nothing: the caller is gone |
//!
//! If `acquire` fails, nothing was acquired and nothing is released: the caller gets
//! `Err(acquire_error)`.
//!
//! # Cancellation
//!
//! Rust has no async drop: a future dropped at an await point cannot await anything more. So
//! the bracket cannot await `release` when it is dropped in the middle of `use`; it hands the
//! resource and the release function to its [`OnCancel`] target, which finishes the job:
//!
//! - a [`Spawn`](crate::Spawn)er (feature `alloc`): `release(resource)` is spawned as a
//!   detached task. Its result has nobody to report to: log inside `release` if a failure
//!   there matters.
//! - a [`ReleaseQueue`] (no heap, `const`-constructible, for embassy and other spawn-free
//!   targets): the resource is pushed onto the queue, and a task of yours takes it with
//!   [`ReleaseQueue::next`] and releases it, with the same release function (an `async fn`
//!   passed to both is the simplest). The queue never overflows and never drops a
//!   resource: a bracket **reserves its slot before it acquires**, waiting in FIFO order while
//!   all `N` slots are reserved, so at most `N` brackets are between acquire and release on one
//!   queue at a time.
//!
//! A release is never silently skipped. Two cases remain where it is not complete:
//! dropping the bracket while `release` itself runs cancels that release (it started, once,
//! and was cut off: make `release` cancel-safe, or keep the bracket alive), and a panic inside
//! `acquire` or `release` propagates like any panic.
//!
//! # Panics
//!
//! With the `std` feature the bracket catches a panic of `use` (`std::panic::catch_unwind`
//! around each poll), awaits `release` (which gets the resource as the panic left it), and
//! resumes the panic with its original payload. The release's own result is then lost, since
//! a panic has no room for it; log it in `release` if it matters. Without `std` a panic
//! unwinds or aborts as the target's panic strategy says; when it unwinds, the bracket is
//! dropped on the way out and `release` goes to `on_cancel`.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::time::Duration;
//! use steadfast::bracket::{ReleaseQueue, bracket};
//! use steadfast::{Timer, VirtualTimer, timeout::TimeoutExt};
//!
//! struct Connection { id: u32 }
//!
//! async fn close(conn: Connection) -> Result<(), &'static str> {
//!     if conn.id == 0 { Err("already closed") } else { Ok(()) }
//! }
//!
//! static RELEASES: ReleaseQueue<Connection, 4> = ReleaseQueue::new();
//!
//! let timer = VirtualTimer::new();
//! futures_executor::block_on(timer.auto_advance(async {
//!     // Success: the value and the release's result, side by side.
//!     let out = bracket(
//!         async { Ok::<_, ()>(Connection { id: 7 }) },
//!         async |conn: &mut Connection| conn.id * 2,
//!         close,
//!         &RELEASES,
//!     )
//!     .await
//!     .expect("acquired");
//!     assert_eq!((out.value, out.release), (14, Ok(())));
//!
//!     // Cancelled mid-use by a timeout: the connection goes to the release queue.
//!     let cancelled = bracket(
//!         async { Ok::<_, ()>(Connection { id: 8 }) },
//!         async |_conn: &mut Connection| timer.sleep(Duration::from_secs(60)).await,
//!         close,
//!         &RELEASES,
//!     )
//!     .timeout(&timer, Duration::from_secs(1))
//!     .await;
//!     assert!(cancelled.is_err());
//!
//!     // A task of ours (here, inline) drives the queue.
//!     let conn = RELEASES.next().await;
//!     assert_eq!(conn.id, 8);
//!     assert_eq!(close(conn).await, Ok(()));
//! }));
//! # }
//! ```

mod queue;

use core::future::{Future, IntoFuture};

pub use queue::{QueueSlot, ReleaseQueue};

/// What a [`bracket`] does with a resource it could not release itself because its future was
/// dropped before `release` ran.
///
/// Implemented by every [`Spawn`](crate::Spawn)er (feature `alloc`) and by
/// [`&ReleaseQueue`](ReleaseQueue). You may implement it for a target of your own; the
/// contract is that [`hand_off`](OnCancel::hand_off) never loses the resource silently, so
/// whatever room it needs must be secured by [`reserve`](OnCancel::reserve), which the bracket
/// awaits before it acquires.
pub trait OnCancel<R, F> {
    /// A reservation that guarantees a later hand-off room; dropped when the bracket
    /// releases in place (or when `acquire` fails).
    type Slot;

    /// Secures room for one hand-off, waiting if there is none yet.
    fn reserve(&self) -> impl Future<Output = Self::Slot>;

    /// Takes over the release of `resource`, with the bracket's `release` function. Called
    /// from `Drop`, possibly while a panic unwinds: it must not block and should not panic.
    fn hand_off(&self, slot: Self::Slot, resource: R, release: F);
}

#[cfg(feature = "alloc")]
impl<S, R, F, Fut, E> OnCancel<R, F> for S
where
    S: crate::Spawn,
    F: FnOnce(R) -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Send + 'static,
{
    type Slot = ();

    fn reserve(&self) -> impl Future<Output = ()> {
        core::future::ready(())
    }

    /// Spawns `release(resource)` as a detached task.
    fn hand_off(&self, _slot: (), resource: R, release: F) {
        drop(self.spawn(release(resource)));
    }
}

/// The use's value and the release's result, side by side: [`bracket`]'s success.
#[must_use = "the release may have failed: look at `release`"]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Outcome<T, E> {
    /// What `use` returned (itself a `Result` when `use` can fail).
    pub value: T,
    /// What `release` returned.
    pub release: Result<(), E>,
}

impl<T, E> Outcome<T, E> {
    /// The value if the release succeeded, else the release's error (the value is dropped).
    pub fn into_result(self) -> Result<T, E> {
        self.release.map(|()| self.value)
    }
}

/// Acquires a resource, lends it to `use`, and releases it exactly once (see the
/// [module docs](self) for every ending).
///
/// - `acquire`: a future giving the resource or an error (nothing is released then).
/// - `use`: an async closure borrowing the resource (`async |r: &mut R| ...`).
/// - `release`: a function taking the resource back and returning a future of
///   `Result<(), E>`, such as an `async fn close(r: R) -> Result<(), E>`.
/// - `on_cancel`: where the release goes when the bracket is dropped before it could release:
///   a [`Spawn`](crate::Spawn)er or a [`&ReleaseQueue`](ReleaseQueue). Its slot is reserved
///   before `acquire` starts.
pub async fn bracket<R, T, EA, ER, A, U, F, Fut, C>(
    acquire: A,
    use_: U,
    release: F,
    on_cancel: C,
) -> Result<Outcome<T, ER>, EA>
where
    A: IntoFuture<Output = Result<R, EA>>,
    U: AsyncFnOnce(&mut R) -> T,
    F: FnOnce(R) -> Fut,
    Fut: Future<Output = Result<(), ER>>,
    C: OnCancel<R, F>,
{
    let slot = on_cancel.reserve().await;
    let resource = acquire.await?;
    let mut guard = Guard {
        on_cancel: &on_cancel,
        armed: Some((slot, resource, release)),
    };
    let used = match guard.armed.as_mut() {
        Some((_, resource, _)) => unwind::catch(use_(resource)).await,
        None => unreachable!("the guard is armed until disarmed below"),
    };
    let (resource, release) = guard.disarm();
    let released = release(resource).await;
    match used {
        Ok(value) => Ok(Outcome {
            value,
            release: released,
        }),
        Err(panic) => unwind::resume(panic),
    }
}

/// Holds the resource while `use` runs; hands it to `on_cancel` if dropped while armed.
struct Guard<'c, R, F, C: OnCancel<R, F>> {
    on_cancel: &'c C,
    armed: Option<(C::Slot, R, F)>,
}

impl<R, F, C: OnCancel<R, F>> Guard<'_, R, F, C> {
    fn disarm(&mut self) -> (R, F) {
        match self.armed.take() {
            // The slot is dropped here: the release happens in place.
            Some((_slot, resource, release)) => (resource, release),
            None => unreachable!("disarmed once"),
        }
    }
}

impl<R, F, C: OnCancel<R, F>> Drop for Guard<'_, R, F, C> {
    fn drop(&mut self) {
        if let Some((slot, resource, release)) = self.armed.take() {
            self.on_cancel.hand_off(slot, resource, release);
        }
    }
}

#[cfg(feature = "std")]
mod unwind {
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll};
    use std::boxed::Box;
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use pin_project_lite::pin_project;

    pub(super) type Panic = Box<dyn core::any::Any + Send + 'static>;

    pin_project! {
        pub(super) struct CatchUnwind<F> {
            #[pin]
            future: F,
        }
    }

    impl<F: Future> Future for CatchUnwind<F> {
        type Output = Result<F::Output, Panic>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let future = self.project().future;
            match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
                Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
                Ok(Poll::Pending) => Poll::Pending,
                Err(panic) => Poll::Ready(Err(panic)),
            }
        }
    }

    pub(super) fn catch<F: Future>(future: F) -> CatchUnwind<F> {
        CatchUnwind { future }
    }

    pub(super) fn resume(panic: Panic) -> ! {
        std::panic::resume_unwind(panic)
    }
}

#[cfg(not(feature = "std"))]
mod unwind {
    use core::convert::Infallible;
    use core::future::Future;

    pub(super) type Panic = Infallible;

    pub(super) async fn catch<F: Future>(future: F) -> Result<F::Output, Panic> {
        Ok(future.await)
    }

    pub(super) fn resume(panic: Panic) -> ! {
        match panic {}
    }
}

#[cfg(all(test, feature = "alloc", not(loom)))]
mod tests;
