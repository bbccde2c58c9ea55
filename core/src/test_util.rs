//! Helpers shared by the unit tests of several patterns.

use core::cell::Cell;
use core::future::Future;
use core::task::Poll;

/// Ready on poll number `ready_at` (counting from 1), waking itself until then; counts its
/// polls.
pub(crate) fn counted(
    polls: &Cell<u32>,
    ready_at: u32,
    out: Result<u8, u8>,
) -> impl Future<Output = Result<u8, u8>> + '_ {
    core::future::poll_fn(move |cx| {
        polls.set(polls.get() + 1);
        if polls.get() >= ready_at {
            Poll::Ready(out)
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}
