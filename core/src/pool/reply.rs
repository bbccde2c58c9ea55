//! The one-shot reply of a `WorkerPool` item: one small allocation per item (the outcome and
//! the waiting handle's waker behind one short lock), no unsafe.

use alloc::sync::Arc;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use maitake_sync::blocking::Mutex;

use super::WorkError;

enum Slot<O> {
    // The waker of the handle's last poll, if it was polled.
    Waiting(Option<Waker>),
    Done(Result<O, WorkError>),
    Taken,
}

type Shared<O> = Mutex<Slot<O>>;

pub(super) fn channel<O>() -> (Reply<O>, Completion<O>) {
    let shared = Arc::new(Mutex::new(Slot::Waiting(None)));
    (Reply(Some(shared.clone())), Completion { shared })
}

/// The sending half: dropped without sending, it reports [`WorkError::Cancelled`].
pub(super) struct Reply<O>(Option<Arc<Shared<O>>>);

impl<O> Reply<O> {
    pub(super) fn send(mut self, out: Result<O, WorkError>) {
        if let Some(shared) = self.0.take() {
            put(&shared, out);
        }
    }
}

impl<O> Drop for Reply<O> {
    fn drop(&mut self) {
        if let Some(shared) = self.0.take() {
            put(&shared, Err(WorkError::Cancelled));
        }
    }
}

/// Stores the outcome (the one `Reply` does so once) and wakes the handle, outside the lock.
fn put<O>(shared: &Shared<O>, out: Result<O, WorkError>) {
    if let Slot::Waiting(Some(waker)) = shared.with_lock(|s| core::mem::replace(s, Slot::Done(out)))
    {
        waker.wake();
    }
}

/// The outcome of one submitted item: `Ok(output)`, or a [`WorkError`] when the work panicked
/// or never finished. Dropping the handle does not cancel the work; its outcome is then
/// discarded.
#[must_use = "the outcome of the item, a panic included, is only seen through this handle"]
pub struct Completion<O> {
    shared: Arc<Shared<O>>,
}

impl<O> Completion<O> {
    /// Whether the outcome is there (awaiting the handle returns at once).
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.shared.with_lock(|s| matches!(s, Slot::Done(_)))
    }
}

impl<O> fmt::Debug for Completion<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completion")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<O> Future for Completion<O> {
    type Output = Result<O, WorkError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // The waker it replaces is dropped after the lock.
        let mut replaced = None;
        let out = self
            .shared
            .with_lock(|s| match core::mem::replace(s, Slot::Taken) {
                Slot::Done(out) => Some(out),
                Slot::Waiting(mut waker) => {
                    if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        replaced = waker.replace(cx.waker().clone());
                    }
                    *s = Slot::Waiting(waker);
                    None
                }
                Slot::Taken => panic!("`Completion` polled after completion"),
            });
        drop(replaced);
        match out {
            Some(out) => Poll::Ready(out),
            None => Poll::Pending,
        }
    }
}
