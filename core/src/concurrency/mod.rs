//! Bounded concurrency over many items, and joins that keep every outcome (asyncio's
//! `gather(..., return_exceptions=True)`, without its unbounded concurrency).
//!
//! - [`join_settled`] runs a fixed set of futures to completion and returns every output, in
//!   order: a failure (an `Err` output) cancels nothing. No heap: the futures are passed
//!   pinned, usually with [`core::pin::pin!`]. [`join_settled_all`] (feature `alloc`) takes
//!   any number of futures from an iterator and returns a `Vec`.
//! - [`map_bounded`] (feature `alloc`) maps every item of an iterator to a future and runs at
//!   most `limit` of them at once, yielding outputs as a [`Stream`]: in input order, or, with
//!   [`unordered`](MapBounded::unordered), as they complete. [`map_bounded_stream`] takes a
//!   [`Stream`] of items instead. A `limit` of 0 is a [`ConfigError`](crate::ConfigError).
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
//! - **Unordered** ([`unordered`](MapBounded::unordered)): outputs come as futures complete;
//!   `limit` bounds the futures running.
//!
//! Every wake-up polls the running futures of the stream in turn (at most `limit` of them):
//! keep `limit` modest (tens, not thousands) or use a task per item.
//!
//! Dropping the stream drops the futures still running; items not yet taken from the input
//! stay there.
//!
//! Runnable example: `cargo run -p steadfast-smol --example map_bounded` (at most three at once, in
//! order and unordered, in virtual time).
//!
//! # On tokio
//!
//! ```
//! use std::time::Duration;
//! use futures_util::StreamExt;
//! use steadfast_tokio::concurrency::map_bounded;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), steadfast_tokio::ConfigError> {
//! let fetch = |id: u64| async move {
//!     tokio::time::sleep(Duration::from_secs(id % 4 + 1)).await;
//!     id * 10
//! };
//! let out: Vec<u64> = map_bounded(1..=6, 3, fetch)?.collect().await;
//! assert_eq!(out, [10, 20, 30, 40, 50, 60]); // input order
//! # Ok(())
//! # }
//! ```
//!
//! # On smol
//!
//! ```
//! use std::time::Duration;
//! use futures_util::StreamExt;
//! use steadfast_smol::concurrency::map_bounded;
//!
//! let fetch = |ms: u64| async move {
//!     smol::Timer::after(Duration::from_millis(ms)).await;
//!     ms
//! };
//! let out: Vec<u64> = smol::block_on(map_bounded([30, 10, 20], 3, fetch).unwrap().unordered().collect());
//! assert_eq!(out, [10, 20, 30]); // as they complete
//! ```
//!
//! # Generic over the clock
//!
//! Tested on [`VirtualTimer`](crate::VirtualTimer), as a library generic over
//! [`Timer`](crate::Timer) would be:
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::time::Duration;
//! use futures_util::StreamExt;
//! use steadfast::concurrency::map_bounded;
//! use steadfast::{Timer, VirtualTimer};
//!
//! let timer = VirtualTimer::new();
//! let t = &timer;
//! let fetch = |id: u64| async move {
//!     t.sleep(Duration::from_secs(id % 4 + 1)).await;
//!     id * 10
//! };
//! let stream = map_bounded(1..=6, 3, fetch).unwrap();
//! let out: Vec<u64> = futures_executor::block_on(timer.auto_advance(stream.collect()));
//! assert_eq!(out, [10, 20, 30, 40, 50, 60]);
//! # }
//! ```
//!
//! [`Stream`]: futures_util::Stream

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

#[cfg(feature = "alloc")]
mod map;

#[cfg(feature = "alloc")]
pub use map::{JoinSettledAll, MapBounded, join_settled_all, map_bounded, map_bounded_stream};

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
