//! steadfast on the smol family: the whole steadfast core (re-exported, so this crate is the
//! one dependency an application needs) and its two seams:
//!
//! - [`AsyncIoTimer`], a [`Timer`] on `async-io`, the reactor under smol and async-std; it
//!   works under any executor, since async-io drives its own reactor thread when needed. Every
//!   `AsyncIoTimer` of the process counts from one origin, so instants from any two are
//!   comparable.
//! - [`SmolSpawner`], a [`Spawn`] on smol's global executor or on an
//!   `async_executor::Executor` you supply; its task handles ([`SmolTask`]) report a panic as
//!   [`JoinError::Panicked`] with its message.
//!
//! Every pattern module of the core is here under the same name (`steadfast_smol::timeout`,
//! `steadfast_smol::retry`, `steadfast_smol::bulkhead`, ...), as are [`Instant`],
//! [`JoinError`] and the rest.
//!
//! ```
//! use std::time::Duration;
//! use steadfast_smol::{AsyncIoTimer, Spawn, SmolSpawner, timeout::TimeoutExt};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! smol::block_on(async {
//!     let timer = AsyncIoTimer::new();
//!     // Bound a call; the error says what was waited for, and how long.
//!     let err = std::future::pending::<()>()
//!         .timeout(&timer, Duration::from_millis(5))
//!         .context("waiting for the sensor")
//!         .await
//!         .unwrap_err();
//!     assert_eq!(err.to_string(), "waiting for the sensor: timed out after 5ms");
//!
//!     // Spawn on smol's executor; a panic or an abort comes back as a `JoinError`.
//!     let handle = SmolSpawner::global().spawn(async { 6 * 7 });
//!     assert_eq!(handle.await?, 42);
//!     Ok(())
//! })
//! # }
//! ```
//!
//! # async-std
//!
//! async-std is discontinued upstream; its maintainers point to smol. This crate serves
//! async-std programs all the same: async-std runs on async-io, so [`AsyncIoTimer`] is its
//! timer, and [`SmolSpawner::global`] spawns on smol's global executor from inside async-std
//! tasks. There is no separate async-std adapter.
//!
//! # Features
//!
//! - `smol` (default): [`SmolSpawner::global`], on smol's global executor. Without it the
//!   crate needs only `async-io` and `async-executor`, and spawns on an executor you supply
//!   ([`SmolSpawner::new`], [`SmolSpawner::from_static`]).
//!
//! The crate turns on the core's `std` feature (panic containment, the heap-backed patterns).

#![cfg_attr(docsrs, feature(doc_cfg))]

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use async_executor::{Executor, FallibleTask};
use futures_util::FutureExt as _;
use futures_util::future::{CatchUnwind, Map};
pub use steadfast::*;

// The README's examples are compiled (and, where they can run, run) with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The one origin of every [`AsyncIoTimer`] in the process: its first use.
fn origin() -> std::time::Instant {
    static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
    *ORIGIN.get_or_init(std::time::Instant::now)
}

/// A [`Timer`] on `async-io`: works under smol, under async-std (which runs
/// on async-io) and under any executor, since async-io drives its own reactor.
///
/// Every `AsyncIoTimer` in the process counts its [`Instant`]s from one origin (the first use
/// of any of them), so a timer made per request and one shared timer read the same clock. A
/// zero-sized `Copy` value. Its clock is readable without importing [`Timer`]:
/// [`now`](AsyncIoTimer::now), [`sleep`](AsyncIoTimer::sleep) and
/// [`sleep_until`](AsyncIoTimer::sleep_until) are also inherent. Deadlines past what the OS
/// clock can represent become `async_io::Timer::never()`.
#[derive(Clone, Copy, Debug, Default)]
pub struct AsyncIoTimer {
    _private: (),
}

impl AsyncIoTimer {
    /// A timer on the OS's monotonic clock. Every timer shares one origin, so this is as good
    /// as a clone of any other; usable in a `static`.
    #[must_use]
    pub const fn new() -> Self {
        AsyncIoTimer { _private: () }
    }

    /// The current instant.
    #[must_use]
    pub fn now(&self) -> Instant {
        let nanos = origin().elapsed().as_nanos();
        Instant::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// A sleep until `deadline`; ready on its first poll if the deadline has passed.
    pub fn sleep_until(&self, deadline: Instant) -> AsyncIoSleep {
        let at = (deadline != Instant::MAX)
            .then(|| origin().checked_add(deadline.since_origin()))
            .flatten();
        AsyncIoSleep(at.map_or_else(async_io::Timer::never, async_io::Timer::at))
    }

    /// A sleep of `duration` from now, saturating: an unrepresentable end never comes.
    pub fn sleep(&self, duration: Duration) -> AsyncIoSleep {
        self.sleep_until(self.now().saturating_add(duration))
    }
}

impl Timer for AsyncIoTimer {
    type Sleep = AsyncIoSleep;

    fn now(&self) -> Instant {
        AsyncIoTimer::now(self)
    }

    fn sleep_until(&self, deadline: Instant) -> AsyncIoSleep {
        AsyncIoTimer::sleep_until(self, deadline)
    }
}

/// The sleep of [`AsyncIoTimer`]: an `async_io::Timer`, unregistered when dropped.
#[derive(Debug)]
#[must_use = "a sleep does nothing unless awaited"]
pub struct AsyncIoSleep(async_io::Timer);

impl Future for AsyncIoSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

#[derive(Clone, Debug)]
enum Target {
    #[cfg(feature = "smol")]
    Global,
    Shared(Arc<Executor<'static>>),
    Static(&'static Executor<'static>),
}

/// A [`Spawn`] on smol's global executor or on an `async_executor::Executor`.
///
/// A panic in a spawned task is caught inside the task and surfaces as
/// [`JoinError::Panicked`]; it never unwinds into the executor.
/// An aborted task, or one whose executor was dropped, ends as
/// [`JoinError::Cancelled`].
#[derive(Clone, Debug)]
pub struct SmolSpawner {
    target: Target,
}

impl SmolSpawner {
    /// Spawns on smol's global executor (`smol::spawn`), which runs tasks on its own threads.
    #[cfg(feature = "smol")]
    #[must_use]
    pub fn global() -> Self {
        SmolSpawner {
            target: Target::Global,
        }
    }

    /// Spawns on `executor`; tasks run while someone drives it (`executor.run(..)`).
    #[must_use]
    pub fn new(executor: Arc<Executor<'static>>) -> Self {
        SmolSpawner {
            target: Target::Shared(executor),
        }
    }

    /// Spawns on an executor in a `static`.
    #[must_use]
    pub fn from_static(executor: &'static Executor<'static>) -> Self {
        SmolSpawner {
            target: Target::Static(executor),
        }
    }
}

/// A spawned future: its panics caught, the payload turned into [`Panicked`] in the task.
type Contained<F> = Map<
    CatchUnwind<AssertUnwindSafe<F>>,
    fn(Result<<F as Future>::Output, Box<dyn Any + Send>>) -> Output<<F as Future>::Output>,
>;

fn contain<F: Future>(future: F) -> Contained<F> {
    fn keep_message<T>(r: Result<T, Box<dyn Any + Send>>) -> Output<T> {
        r.map_err(|payload| Panicked::from_payload(&*payload))
    }
    AssertUnwindSafe(future)
        .catch_unwind()
        .map(keep_message::<F::Output> as fn(_) -> _)
}

impl Spawn for SmolSpawner {
    type Handle<T: Send + 'static> = SmolTask<T>;

    fn spawn<F>(&self, future: F) -> SmolTask<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let future = contain(future);
        let task = match &self.target {
            #[cfg(feature = "smol")]
            Target::Global => smol::spawn(future),
            Target::Shared(ex) => ex.spawn(future),
            Target::Static(ex) => ex.spawn(future),
        };
        SmolTask(State::Running(task.fallible()))
    }
}

/// What a task's future gives: its value, or its panic.
type Output<T> = Result<T, Panicked>;

/// async-task's cancellation: resolves once the task's future has been dropped, with the
/// output if the task had finished first.
type Cancelling<T> = Pin<Box<dyn Future<Output = Option<Output<T>>> + Send + Sync>>;

enum State<T> {
    Running(FallibleTask<Output<T>>),
    /// Aborted; waiting for the executor to drop the task's future.
    Aborting(Cancelling<T>),
    /// The outcome, until the handle gives it (then `None`).
    Ended(Option<Result<T, JoinError>>),
}

/// The handle of a task spawned by [`SmolSpawner`]. Dropping it detaches the task.
///
/// [`abort`](TaskHandle::abort) cancels the task at once; the handle then resolves, with
/// [`JoinError::Cancelled`], only after the executor has dropped the task's future, so
/// whatever the future held is released by then. A task that had already finished keeps its
/// value. After `abort`, [`is_finished`](TaskHandle::is_finished) is `true`: the task will
/// not run again.
#[must_use = "dropping the handle detaches the task; await it to see how it ended"]
pub struct SmolTask<T>(State<T>);

// The handle never pins its output: it holds it only to hand it over by value.
impl<T> Unpin for SmolTask<T> {}

impl<T> std::fmt::Debug for SmolTask<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.0 {
            State::Running(_) => "running",
            State::Aborting(_) => "aborting",
            State::Ended(_) => "ended",
        };
        f.debug_tuple("SmolTask").field(&state).finish()
    }
}

fn outcome<T>(output: Option<Output<T>>) -> Result<T, JoinError> {
    match output {
        Some(Ok(value)) => Ok(value),
        Some(Err(panicked)) => Err(JoinError::Panicked(panicked)),
        None => Err(JoinError::Cancelled),
    }
}

impl<T: Send + 'static> Future for SmolTask<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let out = match &mut self.0 {
            State::Running(task) => std::task::ready!(Pin::new(task).poll(cx)),
            State::Aborting(cancelling) => std::task::ready!(cancelling.as_mut().poll(cx)),
            State::Ended(out) => {
                return Poll::Ready(out.take().unwrap_or(Err(JoinError::Cancelled)));
            }
        };
        self.0 = State::Ended(None);
        Poll::Ready(outcome(out))
    }
}

impl<T: Send + 'static> TaskHandle<T> for SmolTask<T> {
    fn abort(&mut self) {
        let State::Running(_) = self.0 else { return };
        let State::Running(task) = std::mem::replace(&mut self.0, State::Ended(None)) else {
            return;
        };
        let mut cancelling: Cancelling<T> = Box::pin(task.cancel());
        // The first poll marks the task cancelled, so the executor drops its future now
        // rather than when the handle is next awaited.
        self.0 = match cancelling
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(out) => State::Ended(Some(outcome(out))),
            Poll::Pending => State::Aborting(cancelling),
        };
    }

    fn is_finished(&self) -> bool {
        match &self.0 {
            State::Running(task) => task.is_finished(),
            State::Aborting(_) | State::Ended(_) => true,
        }
    }
}

impl<T> Drop for SmolTask<T> {
    fn drop(&mut self) {
        if let State::Running(task) = std::mem::replace(&mut self.0, State::Ended(None)) {
            task.detach();
        }
    }
}
