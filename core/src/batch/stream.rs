//! The stream adapter: a stream of items in, a stream of batches out.

use alloc::vec::Vec;
use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_util::Stream;
use pin_project_lite::pin_project;

use super::{Builder, Config};
use crate::{ConfigError, Timer};

/// The most items a new batch reserves room for up front.
const MAX_PREALLOCATED: usize = 1024;

pin_project! {
    #[project = ArmProj]
    enum Arm<S> {
        Idle,
        Armed { #[pin] sleep: S },
    }
}

pin_project! {
    /// A stream adapter: the items of a stream in, batches out, by the
    /// [batching rule](super#the-rule): a batch is yielded when it holds `batch_size` items,
    /// or `flush_interval` after its first item arrived, whichever comes first; never an
    /// empty one. When the source stream ends, the partial batch is yielded, then this stream
    /// ends. Built with [`Batches::builder`].
    ///
    /// The interval counts from the moment the first item of a batch is taken from the
    /// source. Batching happens as the consumer polls: a consumer that stops polling holds up
    /// the batches (and the source stream) meanwhile, which is the stream's own backpressure;
    /// a batch due while nobody polled is yielded at the next poll. Dropping the adapter drops
    /// the partial batch with the source stream.
    ///
    /// ```
    /// use core::time::Duration;
    /// use futures_util::StreamExt;
    /// use steadfast::batch::Batches;
    /// use steadfast::{Timer, VirtualTimer};
    ///
    /// let timer = VirtualTimer::new();
    /// let t = timer.clone();
    /// // Items 0..5, one per second.
    /// let items = futures_util::stream::unfold(0u32, move |i| {
    ///     let t = t.clone();
    ///     async move {
    ///         if i == 5 { return None; }
    ///         t.sleep(Duration::from_secs(1)).await;
    ///         Some((i, i + 1))
    ///     }
    /// });
    /// let batches = Batches::builder(timer.clone())
    ///     .batch_size(3)
    ///     .flush_interval(Duration::from_millis(1500))
    ///     .build(items)
    ///     .unwrap();
    /// let out: Vec<(u64, Vec<u32>)> = futures_executor::block_on(timer.auto_advance(
    ///     batches.map(|b| (timer.now().as_nanos() / 1_000_000, b)).collect(),
    /// ));
    /// // Item 0 arrives at 1 s, so its batch is due at 2.5 s; item 2 at 3 s, due at 4.5 s; the
    /// // stream ends at 5 s with item 4 held.
    /// assert_eq!(out, [(2500, vec![0, 1]), (4500, vec![2, 3]), (5000, vec![4])]);
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct Batches<St: Stream, Tm: Timer> {
        #[pin]
        stream: St,
        #[pin]
        sleep: Arm<Tm::Sleep>,
        timer: Tm,
        config: Config,
        batch: Vec<St::Item>,
        // The room the next batch reserves at its first item: a full batch's after a size
        // cut, about the last batch's length after a time cut (bounded either way).
        room: usize,
        done: bool,
    }
}

impl<St: Stream, Tm: Timer> Batches<St, Tm> {
    /// The builder: set the batch size and the flush interval, then `build` over a stream.
    pub const fn builder(timer: Tm) -> Builder<Self, Tm> {
        Builder::new(timer)
    }
}

impl<St: Stream, Tm: Timer> Builder<Batches<St, Tm>, Tm> {
    /// Checks the settings and batches the items of `stream`.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming `batch_size` when it is 0 (or unset), or `flush_interval` when
    /// it is zero (or unset).
    pub fn build(self, stream: St) -> Result<Batches<St, Tm>, ConfigError> {
        self.config.check(self.config.batch_size)?;
        Ok(Batches {
            stream,
            sleep: Arm::Idle,
            timer: self.timer,
            config: self.config,
            batch: Vec::new(),
            room: 0,
            done: false,
        })
    }
}

impl<St: Stream, Tm: Timer> fmt::Debug for Batches<St, Tm> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batches")
            .field("held", &self.batch.len())
            .field("config", &self.config)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<St: Stream, Tm: Timer> Stream for Batches<St, Tm> {
    type Item = Vec<St::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        let size = this.config.batch_size;
        while !*this.done {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    if this.batch.is_empty() {
                        this.batch.reserve(*this.room);
                        let deadline = this.timer.now() + this.config.flush_interval;
                        this.sleep.set(Arm::Armed {
                            sleep: this.timer.sleep_until(deadline),
                        });
                    }
                    this.batch.push(item);
                    if this.batch.len() >= size {
                        this.sleep.set(Arm::Idle);
                        // The next batch starts with room for a full one rather than
                        // regrowing from empty.
                        *this.room = size.min(MAX_PREALLOCATED);
                        return Poll::Ready(Some(core::mem::take(this.batch)));
                    }
                }
                Poll::Ready(None) => *this.done = true,
                Poll::Pending => break,
            }
        }
        if *this.done {
            this.sleep.set(Arm::Idle);
            return Poll::Ready((!this.batch.is_empty()).then(|| core::mem::take(this.batch)));
        }
        if let ArmProj::Armed { sleep } = this.sleep.as_mut().project() {
            if sleep.poll(cx).is_ready() {
                this.sleep.set(Arm::Idle);
                // Batches cut by time tend to hold about as many as the last one: the next
                // reserves that, rounded up to a power of two, in one allocation.
                let held = this.batch.len().next_power_of_two();
                *this.room = held.min(size).min(MAX_PREALLOCATED);
                return Poll::Ready(Some(core::mem::take(this.batch)));
            }
        }
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            return (
                usize::from(!self.batch.is_empty()),
                Some(usize::from(!self.batch.is_empty())),
            );
        }
        let (_, upper) = self.stream.size_hint();
        let size = self.config.batch_size;
        let held = self.batch.len();
        (0, upper.map(|u| u.saturating_add(held).div_ceil(size)))
    }
}
