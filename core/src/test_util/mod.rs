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

#[cfg(not(loom))]
pub(crate) mod schedule;
#[cfg(feature = "alloc")]
pub(crate) mod spawn;

/// How many random schedules a schedule test runs: `STEADFAST_SCHEDULES` when set (`ci/check`
/// sets 100,000 in release mode), else `default`; a handful under Miri, which is slow.
pub(crate) fn schedules(default: u64) -> u64 {
    if cfg!(miri) {
        return 8;
    }
    std::env::var("STEADFAST_SCHEDULES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
