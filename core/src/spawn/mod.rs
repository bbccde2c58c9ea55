//! The spawn seam: run a future as its own task and await its outcome.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use core::any::Any;
use core::fmt;
use core::future::Future;

/// Spawns `Send + 'static` futures as tasks of a runtime.
///
/// Implementations live in the adapter crates (`TokioSpawner`, `SmolSpawner`). embassy has no
/// generic spawner (its task functions are not generic): every pattern that can spawn also has
/// a spawn-free form, a driver future you run inside your own task.
///
/// The handle's output tells the three endings apart: `Ok(value)` when the task finished,
/// [`JoinError::Panicked`] when it panicked (the panic does not reach the awaiting task), and
/// [`JoinError::Cancelled`] when it was aborted or its runtime shut down.
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
    /// running). Awaiting the handle afterwards gives [`JoinError::Cancelled`], unless the task
    /// had already finished.
    fn abort(&mut self);

    /// Whether the task has ended, in any way.
    fn is_finished(&self) -> bool;
}

/// Why a spawned task produced no value.
#[non_exhaustive]
pub enum JoinError {
    /// The task was aborted, or its runtime shut down before it finished.
    Cancelled,
    /// The task panicked; the payload is the value given to `panic!`.
    Panicked(Box<dyn Any + Send + 'static>),
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

    /// The panic message, when the task panicked with a string (as `panic!("...")` does).
    #[must_use]
    pub fn panic_message(&self) -> Option<Cow<'_, str>> {
        match self {
            JoinError::Panicked(p) => p
                .downcast_ref::<&'static str>()
                .map(|s| Cow::Borrowed(*s))
                .or_else(|| {
                    p.downcast_ref::<alloc::string::String>()
                        .map(|s| Cow::Borrowed(s.as_str()))
                }),
            JoinError::Cancelled => None,
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("Cancelled"),
            JoinError::Panicked(_) => f
                .debug_tuple("Panicked")
                .field(
                    &self
                        .panic_message()
                        .unwrap_or(Cow::Borrowed("<non-string payload>")),
                )
                .finish(),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("task was cancelled"),
            JoinError::Panicked(_) => match self.panic_message() {
                Some(m) => write!(f, "task panicked: {m}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl core::error::Error for JoinError {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn join_error_reports_panic_messages() {
        let e = JoinError::Panicked(Box::new("boom"));
        assert!(e.is_panic() && !e.is_cancelled());
        assert_eq!(e.to_string(), "task panicked: boom");
        let e = JoinError::Panicked(Box::new(alloc::format!("code {}", 7)));
        assert_eq!(e.panic_message().as_deref(), Some("code 7"));
        assert_eq!(
            JoinError::Panicked(Box::new(7u8)).to_string(),
            "task panicked"
        );
        assert_eq!(JoinError::Cancelled.to_string(), "task was cancelled");
        assert_eq!(alloc::format!("{:?}", JoinError::Cancelled), "Cancelled");
    }
}
