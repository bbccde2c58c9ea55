//! The spawn seam: run a future as its own task and await its outcome.

use core::fmt;
use core::future::Future;

use crate::Panicked;

/// Spawns `Send + 'static` futures as tasks of a runtime.
///
/// Implementations live in the adapter crates (`TokioSpawner`, `SmolSpawner`). embassy has no
/// generic spawner (its task functions are not generic): every pattern that can spawn also has
/// a spawn-free form, a driver future you run inside your own task.
///
/// The handle's output tells the three endings apart: `Ok(value)` when the task finished,
/// [`JoinError::Panicked`] when it panicked (the panic does not reach the awaiting task), and
/// [`JoinError::Cancelled`] when it was aborted or its runtime shut down. The conformance
/// crate's `spawn_contract!` checks an implementation against these promises.
pub trait Spawn: Clone {
    /// The handle of a task whose future outputs `T`.
    type Handle<T: Send + 'static>: TaskHandle<T>;

    /// Starts `future` as a task and returns its handle. The task runs whether or not the
    /// handle is awaited; dropping the handle detaches the task, it does not cancel it.
    fn spawn<F>(&self, future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
}

/// A spawned task: await it for the outcome, or [`abort`](TaskHandle::abort) it.
pub trait TaskHandle<T>: Future<Output = Result<T, JoinError>> + Unpin {
    /// Cancels the task: its future is dropped at its next await point (at once if it is not
    /// running). Awaiting the handle afterwards gives [`JoinError::Cancelled`], and only once
    /// the future has been dropped (whatever it held is released by then), unless the task
    /// had already finished: then the handle still gives its value.
    fn abort(&mut self);

    /// Whether the task has ended, in any way.
    fn is_finished(&self) -> bool;
}

/// Why a spawned task produced no value.
///
/// `Send + Sync + 'static`, so `handle.await?` goes into `anyhow::Error` or
/// `Box<dyn Error + Send + Sync>`. A panic keeps its message ([`Panicked`]), which is also
/// the error's [`source`](core::error::Error::source).
///
/// ```
/// use steadfast::{JoinError, Panicked};
///
/// let err = JoinError::Panicked(Panicked::from_payload(&"boom"));
/// assert!(err.is_panic());
/// assert_eq!(err.panic_message(), Some("boom"));
/// assert_eq!(err.to_string(), "task panicked");
/// let boxed: Box<dyn core::error::Error + Send + Sync> = err.into();
/// assert_eq!(boxed.source().map(|s| s.to_string()).as_deref(), Some("panicked: boom"));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum JoinError {
    /// The task was aborted, or its runtime shut down before it finished.
    Cancelled,
    /// The task panicked; the panic did not reach the task awaiting the handle.
    Panicked(Panicked),
}

impl JoinError {
    /// Whether the task panicked.
    #[must_use]
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked(_))
    }

    /// Whether the task was cancelled.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// The panic's message, when the task panicked with one (as `panic!("...")` does).
    #[must_use]
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            JoinError::Panicked(p) => p.message(),
            JoinError::Cancelled => None,
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("Cancelled"),
            JoinError::Panicked(p) => f.debug_tuple("Panicked").field(p).finish(),
        }
    }
}

/// The panic's message is the [`source`](core::error::Error::source), not repeated here.
impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("task was cancelled"),
            JoinError::Panicked(_) => f.write_str("task panicked"),
        }
    }
}

impl core::error::Error for JoinError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            JoinError::Panicked(p) => Some(p),
            JoinError::Cancelled => None,
        }
    }
}

#[cfg(test)]
mod tests;
