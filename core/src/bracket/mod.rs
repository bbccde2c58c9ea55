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
//! With the `std` feature the bracket catches a panic of `use` (around each poll), awaits
//! `release` (which gets the resource as the panic left it), and resumes the panic with its
//! message (a `String` payload; a panic without a message resumes with a
//! [`Panicked`](crate::Panicked)). The release's own result is then lost, since a panic has no
//! room for it; log it in `release` if it matters. Without `std` a panic unwinds or aborts as
//! the target's panic strategy says; when it unwinds, the bracket is dropped on the way out
//! and `release` goes to `on_cancel`.
//!
//! Runnable example: `cargo run -p steadfast-tokio --example bracket` (a release awaited in place,
//! and one handed to the spawner when a timeout cancels the use).
//!
//! # Examples
//!
//! On tokio (`steadfast-tokio`), with the runtime's spawner as the cancel target: a bracket
//! cut off by a timeout has its release spawned.
//!
//! ```
//! use std::time::Duration;
//! use steadfast_tokio::bracket::bracket;
//! use steadfast_tokio::{TokioSpawner, TokioTimer, timeout::TimeoutExt};
//!
//! struct Connection { id: u32 }
//! async fn connect(id: u32) -> Result<Connection, std::io::Error> { Ok(Connection { id }) }
//! async fn close(_conn: Connection) -> Result<(), std::io::Error> { Ok(()) }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), std::io::Error> {
//! let (timer, spawner) = (TokioTimer::new(), TokioSpawner::current());
//! let out = bracket(connect(7), async |c: &mut Connection| c.id * 2, close, spawner.clone()).await?;
//! assert_eq!(out.into_result()?, 14);
//!
//! let slow = async |_c: &mut Connection| tokio::time::sleep(Duration::from_secs(60)).await;
//! let cut = bracket(connect(8), slow, close, spawner).timeout(&timer, Duration::from_secs(1)).await;
//! assert!(cut.is_err(), "timed out; `close` runs in a task of its own");
//! # Ok(())
//! # }
//! ```
//!
//! On smol (`steadfast-smol`), the same with `SmolSpawner`:
//!
//! ```
//! use steadfast_smol::SmolSpawner;
//! use steadfast_smol::bracket::bracket;
//!
//! async fn close(_file: u32) -> Result<(), std::io::Error> { Ok(()) }
//!
//! smol::block_on(async {
//!     let out = bracket(async { Ok::<_, std::io::Error>(3) }, async |f: &mut u32| *f, close, SmolSpawner::global())
//!         .await
//!         .expect("opened");
//!     assert_eq!((out.value, out.release.is_ok()), (3, true));
//! });
//! ```
//!
//! On embassy, with no spawner for generic futures, a `static` [`ReleaseQueue`] and a task
//! that drains it (`ignore`d here: doc tests have no embassy executor):
//!
//! ```ignore
//! use steadfast_embassy::bracket::{ReleaseQueue, bracket};
//!
//! static RELEASES: ReleaseQueue<Channel, 4> = ReleaseQueue::new();
//!
//! #[embassy_executor::task]
//! async fn releaser() -> ! {
//!     loop {
//!         let channel = RELEASES.next().await;
//!         let _ = close(channel).await;
//!     }
//! }
//!
//! async fn measure() -> Result<u16, Error> {
//!     let out = bracket(open(), async |ch: &mut Channel| ch.sample().await, close, &RELEASES).await?;
//!     out.into_result()
//! }
//! ```
//!
//! A library generic over [`Timer`](crate::Timer), tested on
//! [`VirtualTimer`](crate::VirtualTimer), with a release queue it drives inline:
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
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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

/// Panic containment of `use`: the crate's one catcher with `std`, a pass-through without.
#[cfg(feature = "std")]
mod unwind {
    use core::future::Future;

    use crate::Panicked;
    use crate::panic::CatchUnwind;

    pub(super) fn catch<F: Future>(future: F) -> CatchUnwind<F> {
        CatchUnwind::new(future)
    }

    /// Resumes a caught panic: with its message as a `String` payload, as `panic!` with a
    /// formatted message makes one, or with the [`Panicked`] itself when it had none.
    pub(super) fn resume(panic: Panicked) -> ! {
        match panic.message() {
            Some(message) => {
                std::panic::resume_unwind(std::boxed::Box::new(std::string::String::from(message)))
            }
            None => std::panic::resume_unwind(std::boxed::Box::new(panic)),
        }
    }
}

#[cfg(not(feature = "std"))]
mod unwind {
    use core::convert::Infallible;
    use core::future::Future;

    pub(super) async fn catch<F: Future>(future: F) -> Result<F::Output, Infallible> {
        Ok(future.await)
    }

    pub(super) fn resume(panic: Infallible) -> ! {
        match panic {}
    }
}

#[cfg(all(test, feature = "alloc", not(loom)))]
mod tests;
