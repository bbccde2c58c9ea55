//! The one-shot reply of a `WorkerPool` item: one allocation per item, no unsafe.

use alloc::sync::Arc;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use maitake_sync::WaitCell;
use maitake_sync::blocking::Mutex;

use super::WorkError;

enum Slot<O> {
    Waiting,
    Done(Result<O, WorkError>),
    Taken,
}

struct Shared<O> {
    slot: Mutex<Slot<O>>,
    cell: WaitCell,
}

pub(super) fn channel<O>() -> (Reply<O>, Completion<O>) {
    let shared = Arc::new(Shared {
        slot: Mutex::new(Slot::Waiting),
        cell: WaitCell::new(),
    });
    (Reply(Some(shared.clone())), Completion { shared })
}

/// The sending half: dropped without sending, it reports [`WorkError::Cancelled`].
pub(super) struct Reply<O>(Option<Arc<Shared<O>>>);

impl<O> Reply<O> {
    pub(super) fn send(mut self, out: Result<O, WorkError>) {
        if let Some(shared) = self.0.take() {
            shared.slot.with_lock(|s| *s = Slot::Done(out));
            shared.cell.wake();
        }
    }
}

impl<O> Drop for Reply<O> {
    fn drop(&mut self) {
        if let Some(shared) = self.0.take() {
            shared.slot.with_lock(|s| {
                if let Slot::Waiting = s {
                    *s = Slot::Done(Err(WorkError::Cancelled));
                }
            });
            shared.cell.wake();
        }
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
        self.shared.slot.with_lock(|s| matches!(s, Slot::Done(_)))
    }

    fn take(&self) -> Option<Result<O, WorkError>> {
        self.shared
            .slot
            .with_lock(|s| match core::mem::replace(s, Slot::Taken) {
                Slot::Done(out) => Some(out),
                Slot::Waiting => {
                    *s = Slot::Waiting;
                    None
                }
                Slot::Taken => panic!("`Completion` polled after completion"),
            })
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
        loop {
            if let Some(out) = self.take() {
                return Poll::Ready(out);
            }
            match self.shared.cell.poll_wait(cx) {
                // Registered: check once more, the reply may have landed meanwhile.
                Poll::Pending => {
                    return match self.take() {
                        Some(out) => Poll::Ready(out),
                        None => Poll::Pending,
                    };
                }
                // A wake-up was stored: look again.
                Poll::Ready(Ok(())) => {}
                // Busy or closed: neither happens with one waiter and a cell never closed;
                // stay correct anyway by asking to be polled again.
                Poll::Ready(Err(_)) => {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
            }
        }
    }
}
