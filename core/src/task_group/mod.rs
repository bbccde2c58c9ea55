//! Run a group of tasks, track every one, and get every outcome: no task is fire-and-forget.
//!
//! Two forms, with the same options (a concurrency limit; cancel the rest on the first
//! failure):
//!
//! | | spawned: [`TaskGroup`] (feature `alloc`) | spawn-free: [`scoped`] |
//! |---|---|---|
//! | runs on | tasks spawned through [`Spawn`](crate::Spawn), on every core | futures polled inside one future, in your own task |
//! | tasks | any number, added with [`spawn`](TaskGroup::spawn) | a fixed array, given up front |
//! | outcome | `Result<T, JoinError>`: a panic is [`JoinError::Panicked`](crate::JoinError), the group goes on | `Result<T, Cancelled>`: a panic unwinds out of the group, as from any future |
//! | heap | one `Vec` slot per task, plus the runtime's task | none |
//!
//! # No orphans
//!
//! Dropping a [`TaskGroup`] (or its [`Join`] future) aborts every task still running: a task
//! never outlives its group unnoticed. Dropping a [`Scoped`] drops the futures it owns.
//!
//! # Cancel on failure
//!
//! With [`cancel_when`](TaskGroupBuilder::cancel_when) (or
//! [`cancel_on_error`](TaskGroupBuilder::cancel_on_error) for `Result` outputs), the first
//! task whose output is a failure, or that panicked, cancels all the others: running tasks are
//! aborted, tasks not started never start, and each reports cancelled. Outcomes that were in
//! before the failure are kept. [`Scoped`] has the same two settings.
//!
//! # Settings
//!
//! A limit is a plain number, checked: [`TaskGroupBuilder::build`] and [`Scoped::limit`]
//! return a [`ConfigError`] for 0, and the spawned group for more than
//! `usize::MAX / 2` (the most its bulkhead counts). No limit is the default of both forms.
//!
//! Runnable example: `cargo run -p steadfast-tokio --example task_group` (every outcome with a
//! panic among them, then cancel-on-error).
//!
//! # On tokio
//!
//! ```
//! use steadfast_tokio::{TokioSpawner, task_group::TaskGroup};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), steadfast_tokio::ConfigError> {
//! let mut group = TaskGroup::builder(TokioSpawner::current()).limit(4).build()?;
//! for id in 0..10u64 {
//!     group.spawn(async move {
//!         tokio::time::sleep(std::time::Duration::from_millis(id)).await;
//!         id * 2
//!     });
//! }
//! let outcomes = group.join().await;
//! assert!(outcomes.iter().all(Result::is_ok));
//! # Ok(())
//! # }
//! ```
//!
//! # On smol
//!
//! ```
//! use std::sync::Arc;
//! use steadfast_smol::{SmolSpawner, task_group::TaskGroup};
//!
//! let executor = Arc::new(smol::Executor::new());
//! let spawner = SmolSpawner::new(executor.clone());
//! smol::block_on(executor.run(async {
//!     let mut group = TaskGroup::builder(spawner).cancel_on_error().build().unwrap();
//!     group.spawn(async { Ok(1) });
//!     group.spawn(async { Err("unreachable host") });
//!     let outcomes = group.join().await;
//!     assert!(matches!(outcomes[1], Ok(Err("unreachable host"))));
//! }));
//! ```
//!
//! # Without a spawner (and on embassy)
//!
//! The spawn-free form, with no heap: the futures run inside the one future you await, in a
//! task of yours (an embassy task, a test's `block_on`).
//!
//! ```
//! use core::pin::pin;
//! use steadfast::task_group::{Cancelled, scoped};
//!
//! async fn step(n: u32) -> Result<u32, &'static str> {
//!     if n == 2 { Err("step 2 failed") } else { Ok(n) }
//! }
//!
//! # fn main() -> Result<(), steadfast::ConfigError> {
//! let out = futures_executor::block_on(
//!     scoped([pin!(step(1)), pin!(step(2)), pin!(step(3))])
//!         .limit(1)?
//!         .cancel_on_error(),
//! );
//! assert_eq!(out, [Ok(Ok(1)), Ok(Err("step 2 failed")), Err(Cancelled)]);
//! # Ok(())
//! # }
//! ```
//!
//! On embassy, inside a task:
//!
//! ```ignore
//! #[embassy_executor::task]
//! async fn start_up(sensor: Sensor, radio: Radio) {
//!     let out = scoped([pin!(sensor.calibrate()), pin!(radio.join_network())])
//!         .cancel_on_error()
//!         .await;
//!     defmt::info!("calibrated: {}, joined: {}", out[0].is_ok(), out[1].is_ok());
//! }
//! ```

#[cfg(feature = "alloc")]
mod spawned;

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use crate::ConfigError;

#[cfg(feature = "alloc")]
pub use spawned::{Join, TaskGroup, TaskGroupBuilder};

/// The outcome of a task that was cancelled before it finished, because another task of its
/// group failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task cancelled because another task of its group failed")
    }
}

impl core::error::Error for Cancelled {}

/// A group of futures driven inside one future, with no spawner and no heap: the spawn-free
/// form of a task group. Await it for every outcome, in the order given.
///
/// Takes `Unpin` futures: pin them first with [`core::pin::pin!`] (or `Box::pin`). By default
/// all run at once and none is cancelled; see [`limit`](Scoped::limit) and
/// [`cancel_when`](Scoped::cancel_when). A future that has finished, or was cancelled, is
/// dropped at once (for a `Pin<&mut F>`, the reference is; the future itself is dropped by
/// its owner).
pub fn scoped<P: Future + Unpin, const N: usize>(futures: [P; N]) -> Scoped<P, N> {
    Scoped {
        futures: futures.map(Some),
        outputs: [const { None }; N],
        limit: N,
        cancel_when: None,
        failed: false,
        done: false,
    }
}

/// The future returned by [`scoped`].
#[must_use = "futures do nothing unless awaited"]
pub struct Scoped<P: Future, const N: usize> {
    futures: [Option<P>; N],
    outputs: [Option<Result<P::Output, Cancelled>>; N],
    limit: usize,
    cancel_when: Option<fn(&P::Output) -> bool>,
    failed: bool,
    done: bool,
}

// Nothing in a `Scoped` is pinned: the futures are `Unpin` and the outputs are only moved.
impl<P: Future + Unpin, const N: usize> Unpin for Scoped<P, N> {}

impl<P: Future, const N: usize> fmt::Debug for Scoped<P, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let finished = self.outputs.iter().filter(|o| o.is_some()).count();
        f.debug_struct("Scoped")
            .field("tasks", &N)
            .field("finished", &finished)
            .field("limit", &self.limit)
            .field("failed", &self.failed)
            .finish()
    }
}

impl<P: Future + Unpin, const N: usize> Scoped<P, N> {
    /// Runs at most `limit` futures at once: the others are not polled (not started) until
    /// one finishes, and start in the order given. A [`ConfigError`] for 0.
    pub fn limit(mut self, limit: usize) -> Result<Self, ConfigError> {
        if limit == 0 {
            return Err(ConfigError::new(
                "scoped task group",
                "limit",
                "must be at least 1",
            ));
        }
        self.limit = limit;
        Ok(self)
    }

    /// Cancels every unfinished future as soon as one finishes with an output for which
    /// `is_failure` is true; they report [`Cancelled`].
    pub fn cancel_when(mut self, is_failure: fn(&P::Output) -> bool) -> Self {
        self.cancel_when = Some(is_failure);
        self
    }
}

impl<P, U, E, const N: usize> Scoped<P, N>
where
    P: Future<Output = Result<U, E>> + Unpin,
{
    /// [`cancel_when`](Scoped::cancel_when) for futures that return `Result`: the first `Err`
    /// cancels the others.
    pub fn cancel_on_error(self) -> Self {
        self.cancel_when(Result::is_err)
    }
}

impl<P: Future + Unpin, const N: usize> Future for Scoped<P, N> {
    type Output = [Result<P::Output, Cancelled>; N];

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "`Scoped` polled after completion");
        let mut running = 0;
        for i in 0..N {
            if this.failed {
                break;
            }
            let Some(future) = this.futures[i].as_mut() else {
                continue;
            };
            if running == this.limit {
                break;
            }
            match Pin::new(future).poll(cx) {
                Poll::Pending => running += 1,
                Poll::Ready(out) => {
                    this.futures[i] = None;
                    if this.cancel_when.is_some_and(|f| f(&out)) {
                        this.failed = true;
                    }
                    this.outputs[i] = Some(Ok(out));
                }
            }
        }
        if this.failed {
            for (future, output) in this.futures.iter_mut().zip(this.outputs.iter_mut()) {
                if future.take().is_some() {
                    *output = Some(Err(Cancelled));
                }
            }
        }
        if this.futures.iter().any(Option::is_some) {
            return Poll::Pending;
        }
        this.done = true;
        Poll::Ready(core::array::from_fn(|i| {
            this.outputs[i]
                .take()
                .expect("every future has finished or was cancelled")
        }))
    }
}

#[cfg(test)]
mod tests;
