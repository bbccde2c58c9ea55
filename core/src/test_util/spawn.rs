//! A spawner for tests whose tasks a test runs itself, for instance in a [`Sim`](super::schedule::Sim).

use crate::{JoinError, Spawn, TaskHandle};
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::boxed::Box;
use std::sync::{Arc, Mutex};
use std::vec::Vec;

/// A handle that never resolves, for detached tasks.
pub(crate) struct Detached<T>(pub(crate) core::marker::PhantomData<fn() -> T>);

impl<T> Unpin for Detached<T> {}

impl<T> Future for Detached<T> {
    type Output = Result<T, JoinError>;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Pending
    }
}

impl<T> TaskHandle<T> for Detached<T> {
    fn abort(&mut self) {}
    fn is_finished(&self) -> bool {
        false
    }
}

/// A spawned task, as the [`Inbox`] keeps it.
pub(crate) type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A spawner that collects its tasks for the test to run; their handles never resolve.
#[derive(Clone, Default)]
pub(crate) struct Inbox(Arc<Mutex<Vec<Task>>>);

impl Inbox {
    /// The tasks spawned since the last call.
    pub(crate) fn take(&self) -> Vec<Task> {
        core::mem::take(&mut *self.0.lock().unwrap())
    }

    /// Whether no task was spawned since the last [`take`](Self::take).
    pub(crate) fn is_empty(&self) -> bool {
        self.0.lock().unwrap().is_empty()
    }
}

impl Spawn for Inbox {
    type Handle<T: Send + 'static> = Detached<T>;
    fn spawn<F>(&self, future: F) -> Detached<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.lock().unwrap().push(Box::pin(async move {
            future.await;
        }));
        Detached(core::marker::PhantomData)
    }
}
