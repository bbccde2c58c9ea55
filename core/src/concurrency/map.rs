//! The heap-backed parts: `map_bounded` and `join_settled_all`.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_util::Stream;
use futures_util::future::JoinAll;
use futures_util::stream::Iter;
use pin_project_lite::pin_project;

use crate::ConfigError;

/// Runs every future from `futures` to completion, concurrently, and returns all outputs in
/// the order given. Like [`join_settled`](super::join_settled), for any number of futures
/// of one type; takes them unpinned. No future is cancelled because another failed.
pub fn join_settled_all<I>(futures: I) -> JoinSettledAll<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    JoinSettledAll {
        inner: futures_util::future::join_all(futures),
        done: false,
    }
}

/// The future returned by [`join_settled_all`].
#[must_use = "futures do nothing unless awaited"]
pub struct JoinSettledAll<F: Future> {
    inner: JoinAll<F>,
    done: bool,
}

impl<F: Future> core::fmt::Debug for JoinSettledAll<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JoinSettledAll").finish_non_exhaustive()
    }
}

impl<F: Future> Future for JoinSettledAll<F> {
    type Output = Vec<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        assert!(!self.done, "`JoinSettledAll` polled after completion");
        let out = Pin::new(&mut self.inner).poll(cx);
        self.done = out.is_ready();
        out
    }
}

/// Maps each item of `items` to a future with `f`, runs at most `limit` at once, and yields
/// the outputs **in input order** ([`unordered`](MapBounded::unordered): as they complete).
/// A [`ConfigError`] for a `limit` of 0. See the [module docs](super#map_bounded).
pub fn map_bounded<I, F, Fut>(
    items: I,
    limit: usize,
    f: F,
) -> Result<MapBounded<Iter<I::IntoIter>, F, Fut>, ConfigError>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future,
{
    MapBounded::new(futures_util::stream::iter(items), limit, f)
}

/// [`map_bounded`] over a [`Stream`] of items; an item is taken from the stream only when a
/// slot is free.
pub fn map_bounded_stream<S, F, Fut>(
    items: S,
    limit: usize,
    f: F,
) -> Result<MapBounded<S, F, Fut>, ConfigError>
where
    S: Stream,
    F: FnMut(S::Item) -> Fut,
    Fut: Future,
{
    MapBounded::new(items, limit, f)
}

/// One item's place: its future while it runs, then its output until yielded. The cell is
/// reused for later items.
struct Slot<Fut: Future> {
    future: Pin<Box<Option<Fut>>>,
    output: Option<Fut::Output>,
}

pin_project! {
    /// The stream returned by [`map_bounded`] and [`map_bounded_stream`].
    #[must_use = "streams do nothing unless polled"]
    pub struct MapBounded<S, F, Fut: Future> {
        #[pin]
        items: S,
        items_done: bool,
        f: F,
        limit: usize,
        ordered: bool,
        // Started and not yet yielded, in input order when `ordered`.
        slots: Vec<Slot<Fut>>,
        // Cells of yielded items, kept for reuse.
        spare: Vec<Pin<Box<Option<Fut>>>>,
    }
}

impl<S, F, Fut: Future> core::fmt::Debug for MapBounded<S, F, Fut> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MapBounded")
            .field("limit", &self.limit)
            .field("ordered", &self.ordered)
            .field("in_progress", &self.slots.len())
            .field("items_done", &self.items_done)
            .finish_non_exhaustive()
    }
}

impl<S, F, Fut: Future> MapBounded<S, F, Fut> {
    fn new(items: S, limit: usize, f: F) -> Result<Self, ConfigError> {
        if limit == 0 {
            return Err(ConfigError::new(
                "map_bounded",
                "limit",
                "must be at least 1",
            ));
        }
        Ok(MapBounded {
            items,
            items_done: false,
            f,
            limit,
            ordered: true,
            slots: Vec::new(),
            spare: Vec::new(),
        })
    }

    /// Yields the outputs **as they complete** instead of in input order; `limit` then bounds
    /// the futures running (finished outputs do not hold a slot).
    pub fn unordered(mut self) -> Self {
        self.ordered = false;
        self
    }

    /// Items started and not yet yielded.
    #[must_use]
    pub fn in_progress(&self) -> usize {
        self.slots.len()
    }

    #[cfg(test)]
    pub(super) fn cells(&self) -> usize {
        self.slots.len() + self.spare.len()
    }
}

impl<S, F, Fut> Stream for MapBounded<S, F, Fut>
where
    S: Stream,
    F: FnMut(S::Item) -> Fut,
    Fut: Future,
{
    type Item = Fut::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Fut::Output>> {
        let mut this = self.project();
        // Start futures for new items while there is room.
        while !*this.items_done && this.slots.len() < *this.limit {
            match this.items.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    let future = (this.f)(item);
                    let mut cell = this.spare.pop().unwrap_or_else(|| Box::pin(None));
                    cell.set(Some(future));
                    this.slots.push(Slot {
                        future: cell,
                        output: None,
                    });
                }
                Poll::Ready(None) => *this.items_done = true,
                Poll::Pending => break,
            }
        }
        // Poll what runs; a finished future is dropped at once, its output kept.
        for slot in this.slots.iter_mut() {
            if let Some(future) = slot.future.as_mut().as_pin_mut() {
                if let Poll::Ready(out) = future.poll(cx) {
                    slot.future.set(None);
                    slot.output = Some(out);
                }
            }
        }
        // Yield one output: the oldest item's when ordered, any finished one otherwise.
        let ready = if *this.ordered {
            this.slots
                .first()
                .is_some_and(|s| s.output.is_some())
                .then_some(0)
        } else {
            this.slots.iter().position(|s| s.output.is_some())
        };
        if let Some(i) = ready {
            // `remove`, not `swap_remove`: the slots stay in input order.
            let slot = this.slots.remove(i);
            this.spare.push(slot.future);
            return Poll::Ready(slot.output);
        }
        if *this.items_done && this.slots.is_empty() {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (lo, hi) = if self.items_done {
            (0, Some(0))
        } else {
            self.items.size_hint()
        };
        let n = self.slots.len();
        (lo.saturating_add(n), hi.and_then(|h| h.checked_add(n)))
    }
}
