//! The builder of every batcher form.

use core::fmt;
use core::marker::PhantomData;
use core::time::Duration;

use super::Config;

/// The settings of a batcher `B`: a [`FixedBatcher`](super::FixedBatcher), a
/// [`Batcher`](super::Batcher) or the [`Batches`](super::Batches) stream adapter, from their
/// `builder(timer)`. Set both [`batch_size`](Self::batch_size) and
/// [`flush_interval`](Self::flush_interval) (there is no default: left unset, they are
/// refused), then end with the form's `build`, `build_const` or `spawn`, which checks them.
#[must_use = "a builder does nothing until it is built"]
pub struct Builder<B, Tm> {
    pub(super) timer: Tm,
    pub(super) config: Config,
    pub(super) capacity: Option<usize>,
    pub(super) _form: PhantomData<fn() -> B>,
}

impl<B, Tm> Builder<B, Tm> {
    pub(super) const fn new(timer: Tm) -> Self {
        Builder {
            timer,
            config: Config {
                batch_size: 0,
                flush_interval: Duration::ZERO,
            },
            capacity: None,
            _form: PhantomData,
        }
    }

    /// The most items in one batch: a batch is flushed as soon as it holds this many. At
    /// least 1, and at most the batcher's capacity.
    pub const fn batch_size(mut self, batch_size: usize) -> Self {
        self.config.batch_size = batch_size;
        self
    }

    /// The longest an item waits for its batch to fill, counted from the batch's first item:
    /// a batch is flushed this long after its first item was added, full or not. More than
    /// zero.
    pub const fn flush_interval(mut self, flush_interval: Duration) -> Self {
        self.config.flush_interval = flush_interval;
        self
    }
}

impl<B, Tm: Clone> Clone for Builder<B, Tm> {
    fn clone(&self) -> Self {
        Builder {
            timer: self.timer.clone(),
            config: self.config,
            capacity: self.capacity,
            _form: PhantomData,
        }
    }
}

impl<B, Tm> fmt::Debug for Builder<B, Tm> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("batch_size", &self.config.batch_size)
            .field("flush_interval", &self.config.flush_interval)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}
