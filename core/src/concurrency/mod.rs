//! Bounded concurrency over many items, and joins that keep every outcome (asyncio's
//! `gather(..., return_exceptions=True)`, without its unbounded concurrency).
//!
//! - [`join_settled`] runs a fixed set of futures to completion and returns every output, in
//!   order: a failure (an `Err` output) cancels nothing. No heap: the futures are passed
//!   pinned, usually with [`core::pin::pin!`]. [`join_settled_all`] (feature `alloc`) takes
//!   any number of futures from an iterator and returns a `Vec`.
//! - [`map_bounded`] and [`map_bounded_unordered`] (feature `alloc`) map every item of an
//!   iterator to a future and run at most `limit` of them at once, yielding outputs as a
//!   [`Stream`]: in input order, or as they complete. The `_stream` forms take a [`Stream`]
//!   of items instead.
//!
//! # map_bounded
//!
//! Futures are made **lazily**: `f` is called for an item only when a slot is free, never for
//! all items up front, and nothing is spawned: every future runs inside the returned stream,
//! which must be polled for them to make progress. The stream keeps at most `limit` slots,
//! each a heap cell made once and reused for later items, so there is no allocation per item.
//!
//! - **Ordered** ([`map_bounded`]): outputs come in input order. `limit` bounds the items
//!   started and not yet yielded, so an output that is ready before its predecessors waits in
//!   its slot (like `futures`' `buffered`).
//! - **Unordered** ([`map_bounded_unordered`]): outputs come as futures complete; `limit`
//!   bounds the futures running.
//!
//! Every wake-up polls the running futures of the stream in turn (at most `limit` of them):
//! keep `limit` modest (tens, not thousands) or use a task per item.
//!
//! Dropping the stream drops the futures still running; items not yet taken from the input
//! stay there.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::num::NonZeroUsize;
//! use core::time::Duration;
//! use futures_util::StreamExt;
//! use steadfast::concurrency::map_bounded;
//! use steadfast::{Timer, VirtualTimer};
//!
//! let timer = VirtualTimer::new();
//! let limit = NonZeroUsize::new(3).unwrap();
//! let t = &timer;
//! let fetch = |id: u64| async move {
//!     t.sleep(Duration::from_secs(id % 4 + 1)).await;
//!     id * 10
//! };
//! let out: Vec<u64> =
//!     futures_executor::block_on(timer.auto_advance(map_bounded(1..=6, limit, fetch).collect()));
//! assert_eq!(out, [10, 20, 30, 40, 50, 60]); // input order
//! # }
//! ```

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

#[cfg(feature = "alloc")]
mod map;

pub use futures_util::Stream;
#[cfg(feature = "alloc")]
pub use map::{
    JoinSettledAll, MapBounded, join_settled_all, map_bounded, map_bounded_stream,
    map_bounded_unordered, map_bounded_unordered_stream,
};

/// Runs every future to completion, concurrently, and returns all outputs in the order given.
///
/// No future is cancelled because another failed: with `Result` outputs, the errors come back
/// beside the successes. The futures are polled in order on each wake-up; a finished one is
/// not polled again. Takes `Unpin` futures, so pin them first, without a heap, with
/// [`core::pin::pin!`] (or `Box::pin`). No allocation.
///
/// ```
/// use core::pin::pin;
/// use steadfast::concurrency::join_settled;
///
/// async fn check(n: u32) -> Result<u32, u32> {
///     if n % 2 == 0 { Ok(n) } else { Err(n) }
/// }
///
/// let out = futures_executor::block_on(join_settled([
///     pin!(check(1)),
///     pin!(check(2)),
///     pin!(check(3)),
/// ]));
/// assert_eq!(out, [Err(1), Ok(2), Err(3)]);
/// ```
pub fn join_settled<P: Future + Unpin, const N: usize>(futures: [P; N]) -> JoinSettled<P, N> {
    JoinSettled {
        futures,
        outputs: [const { None }; N],
        done: false,
    }
}

/// The future returned by [`join_settled`].
#[must_use = "futures do nothing unless awaited"]
pub struct JoinSettled<P: Future, const N: usize> {
    futures: [P; N],
    outputs: [Option<P::Output>; N],
    done: bool,
}

// Nothing in a `JoinSettled` is pinned: the futures are `Unpin` and the outputs are only
// moved.
impl<P: Future + Unpin, const N: usize> Unpin for JoinSettled<P, N> {}

impl<P: Future, const N: usize> core::fmt::Debug for JoinSettled<P, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let settled = self.outputs.iter().filter(|o| o.is_some()).count();
        f.debug_struct("JoinSettled")
            .field("futures", &N)
            .field("settled", &settled)
            .finish()
    }
}

impl<P: Future + Unpin, const N: usize> Future for JoinSettled<P, N> {
    type Output = [P::Output; N];

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "`JoinSettled` polled after completion");
        let mut pending = false;
        for (future, output) in this.futures.iter_mut().zip(this.outputs.iter_mut()) {
            if output.is_none() {
                match Pin::new(future).poll(cx) {
                    Poll::Ready(out) => *output = Some(out),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            return Poll::Pending;
        }
        this.done = true;
        Poll::Ready(core::array::from_fn(|i| {
            this.outputs[i].take().expect("every future has settled")
        }))
    }
}

#[cfg(test)]
mod tests;
