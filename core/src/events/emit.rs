//! One emit of the heap emitter: its settings, and the future that runs the handlers.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use super::heap::{BoxFuture, Handler};
use super::{EmitReport, Handled};
use crate::timeout::{Elapsed, timeout};
use crate::{ConfigError, Timer};

type TimedFuture<Er> = BoxFuture<Result<Result<(), Er>, Elapsed>>;
type Wrap<Er> = Box<dyn Fn(BoxFuture<Result<(), Er>>) -> TimedFuture<Er> + Send + Sync>;

/// One emit, to configure and then await (see [`Emitter::emit`](super::Emitter::emit)): the
/// future that runs the handlers and gives the [`EmitReport`].
#[must_use = "an emit runs no handler unless awaited"]
pub struct Emit<E, Er> {
    handlers: Vec<(u64, Handler<E, Er>)>,
    event: E,
    wrap: Option<Wrap<Er>>,
    limit: Option<usize>,
    /// At most `limit` slots, each running one handler (its index and future); made on the
    /// first poll.
    running: Vec<Option<(usize, Running<Er>)>>,
    results: Vec<Option<Handled<Er>>>,
    /// The next handler to start.
    next: usize,
    /// The report was given.
    done: bool,
}

impl<E, Er> fmt::Debug for Emit<E, Er> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emit")
            .field("handlers", &self.handlers.len())
            .field("timeout", &self.wrap.is_some())
            .field("max_concurrent", &self.limit)
            .field("started", &self.next)
            .finish_non_exhaustive()
    }
}

impl<E: Clone, Er> Emit<E, Er> {
    pub(super) fn new(handlers: Vec<(u64, Handler<E, Er>)>, event: E) -> Self {
        Emit {
            handlers,
            event,
            wrap: None,
            limit: None,
            running: Vec::new(),
            results: Vec::new(),
            next: 0,
            done: false,
        }
    }

    /// Gives each handler at most `duration` on `timer`, counted from that handler's first
    /// poll; a handler past it is dropped and reported [`Handled::TimedOut`]. Set it before
    /// the first poll.
    pub fn handler_timeout<T>(mut self, timer: &T, duration: Duration) -> Self
    where
        T: Timer + Send + Sync + 'static,
        T::Sleep: Send + 'static,
        Er: 'static,
    {
        let timer = timer.clone();
        self.wrap = Some(Box::new(move |fut| {
            Box::pin(timeout(&timer, duration, fut)) as TimedFuture<Er>
        }));
        self
    }

    /// Runs at most `limit` handlers of this emit at once; the others start in registration
    /// order as running ones finish. Set it before the first poll. A [`ConfigError`] for 0.
    pub fn max_concurrent(mut self, limit: usize) -> Result<Self, ConfigError> {
        if limit == 0 {
            return Err(ConfigError::new(
                "emit",
                "max_concurrent",
                "must be at least 1",
            ));
        }
        self.limit = Some(limit);
        Ok(self)
    }

    /// Calls handler `i`; its future, or how it ended if calling it panicked.
    fn start(&mut self, i: usize) -> Result<Running<Er>, Handled<Er>> {
        let handler = &self.handlers[i].1;
        let event = self.event.clone();
        let fut = unwind::call(|| handler(event))?;
        Ok(match &self.wrap {
            Some(wrap) => Running::Timed(wrap(fut)),
            None => Running::Plain(fut),
        })
    }
}

enum Running<Er> {
    Plain(BoxFuture<Result<(), Er>>),
    Timed(TimedFuture<Er>),
}

// Every field is `Unpin` (the handler futures are boxed).
impl<E, Er> Unpin for Emit<E, Er> {}

impl<E: Clone, Er> Future for Emit<E, Er> {
    type Output = EmitReport<Er>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<EmitReport<Er>> {
        let this = self.get_mut();
        assert!(!this.done, "`Emit` polled after completion");
        if this.next == 0 && this.running.is_empty() {
            let n = this.handlers.len();
            let limit = this.limit.unwrap_or(n).min(n);
            this.running = (0..limit).map(|_| None).collect();
            this.results = (0..n).map(|_| None).collect();
        }
        loop {
            let mut freed = false;
            for slot in 0..this.running.len() {
                if this.running[slot].is_none() && this.next < this.handlers.len() {
                    let i = this.next;
                    this.next += 1;
                    match this.start(i) {
                        Ok(fut) => this.running[slot] = Some((i, fut)),
                        Err(settled) => {
                            this.results[i] = Some(settled);
                            freed = true;
                            continue;
                        }
                    }
                }
                let Some((i, fut)) = &mut this.running[slot] else {
                    continue;
                };
                let settled = match fut {
                    Running::Plain(f) => unwind::poll(f.as_mut(), cx).map(|r| match r {
                        Ok(Ok(())) => Handled::Succeeded,
                        Ok(Err(e)) => Handled::Failed(e),
                        Err(panic) => panic,
                    }),
                    Running::Timed(f) => unwind::poll(f.as_mut(), cx).map(|r| match r {
                        Ok(Ok(Ok(()))) => Handled::Succeeded,
                        Ok(Ok(Err(e))) => Handled::Failed(e),
                        Ok(Err(_elapsed)) => Handled::TimedOut,
                        Err(panic) => panic,
                    }),
                };
                if let Poll::Ready(settled) = settled {
                    this.results[*i] = Some(settled);
                    this.running[slot] = None;
                    freed = true;
                }
            }
            // A freed slot with handlers left to start: start them now, so they get polled.
            if !(freed && this.next < this.handlers.len()) {
                break;
            }
        }
        if this.next < this.handlers.len() || this.running.iter().any(Option::is_some) {
            return Poll::Pending;
        }
        let outcomes = this
            .handlers
            .iter()
            .zip(this.results.iter_mut())
            .map(|((id, _), result)| {
                let result = result.take().expect("every handler has settled");
                (*id, result)
            })
            .collect();
        this.done = true;
        Poll::Ready(EmitReport { outcomes })
    }
}

/// Calls and polls handlers, turning a panic into [`Handled::Panicked`] where `std` can
/// catch it (through the crate's one place that contains panics).
mod unwind {
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll};

    use super::Handled;

    pub(super) fn call<T, Er>(f: impl FnOnce() -> T) -> Result<T, Handled<Er>> {
        #[cfg(feature = "std")]
        return crate::panic::catch(f).map_err(Handled::Panicked);
        #[cfg(not(feature = "std"))]
        Ok(f())
    }

    pub(super) fn poll<F: Future + ?Sized, Er>(
        f: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<F::Output, Handled<Er>>> {
        match call(|| f.poll(cx)) {
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}
