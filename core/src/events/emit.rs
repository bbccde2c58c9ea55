//! One emit: the builder, the future that runs the handlers, and the report.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::any::Any;
use core::fmt;
use core::future::Future;
use core::num::NonZeroUsize;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use super::heap::{BoxFuture, Handler, HandlerId};
use crate::Timer;
use crate::timeout::{Elapsed, timeout};

type TimedFuture<Er> = BoxFuture<Result<Result<(), Er>, Elapsed>>;
type Wrap<Er> = Box<dyn Fn(BoxFuture<Result<(), Er>>) -> TimedFuture<Er> + Send + Sync>;

/// How one handler's run ended.
#[non_exhaustive]
pub enum Settled<Er> {
    /// It returned `Ok(())`.
    Succeeded,
    /// It returned an error.
    Failed(Er),
    /// It panicked (caught with the `std` feature only).
    Panicked(HandlerPanic),
    /// It ran past the per-handler timeout and was dropped.
    TimedOut(Elapsed),
}

impl<Er> Settled<Er> {
    /// Whether the handler succeeded.
    #[must_use]
    pub fn is_success(&self) -> bool {
        matches!(self, Settled::Succeeded)
    }

    /// The handler's error, if it returned one.
    #[must_use]
    pub fn error(&self) -> Option<&Er> {
        match self {
            Settled::Failed(e) => Some(e),
            _ => None,
        }
    }
}

impl<Er: fmt::Debug> fmt::Debug for Settled<Er> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Settled::Succeeded => f.write_str("Succeeded"),
            Settled::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
            Settled::Panicked(p) => f.debug_tuple("Panicked").field(p).finish(),
            Settled::TimedOut(e) => f.debug_tuple("TimedOut").field(e).finish(),
        }
    }
}

/// The payload of a handler's panic.
pub struct HandlerPanic(Box<dyn Any + Send + 'static>);

impl HandlerPanic {
    /// The panic message, when the handler panicked with a string (as `panic!("...")` does).
    #[must_use]
    pub fn message(&self) -> Option<Cow<'_, str>> {
        self.0
            .downcast_ref::<&'static str>()
            .map(|s| Cow::Borrowed(*s))
            .or_else(|| {
                self.0
                    .downcast_ref::<alloc::string::String>()
                    .map(|s| Cow::Borrowed(s.as_str()))
            })
    }

    /// The payload as given to `panic!`.
    #[must_use]
    pub fn into_payload(self) -> Box<dyn Any + Send + 'static> {
        self.0
    }
}

impl fmt::Debug for HandlerPanic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message() {
            Some(m) => fmt::Debug::fmt(&m, f),
            None => f.write_str("<non-string payload>"),
        }
    }
}

/// One handler's outcome in an [`EmitReport`].
#[derive(Debug)]
#[non_exhaustive]
pub struct HandlerOutcome<Er> {
    /// Which handler.
    pub id: HandlerId,
    /// How its run ended.
    pub result: Settled<Er>,
}

/// What every handler of one emit did, in registration order.
#[must_use = "the report says which handlers failed"]
#[derive(Debug)]
pub struct EmitReport<Er> {
    outcomes: Vec<HandlerOutcome<Er>>,
}

impl<Er> EmitReport<Er> {
    /// Every handler's outcome, in registration order.
    #[must_use]
    pub fn outcomes(&self) -> &[HandlerOutcome<Er>] {
        &self.outcomes
    }

    /// The outcomes, owned.
    #[must_use]
    pub fn into_outcomes(self) -> Vec<HandlerOutcome<Er>> {
        self.outcomes
    }

    /// How many handlers ran.
    #[must_use]
    pub fn len(&self) -> usize {
        self.outcomes.len()
    }

    /// Whether no handler was registered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }

    /// How many handlers succeeded.
    #[must_use]
    pub fn succeeded(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.result.is_success())
            .count()
    }

    /// Whether every handler succeeded (true when there were none).
    #[must_use]
    pub fn all_succeeded(&self) -> bool {
        self.outcomes.iter().all(|o| o.result.is_success())
    }

    /// The handlers that failed, panicked or timed out.
    pub fn failures(&self) -> impl Iterator<Item = &HandlerOutcome<Er>> {
        self.outcomes.iter().filter(|o| !o.result.is_success())
    }
}

/// One emit, to configure and then await (see [`Emitter::emit`](super::Emitter::emit)): the
/// future that runs the handlers and gives the [`EmitReport`].
#[must_use = "an emit runs no handler unless awaited"]
pub struct Emit<E, Er> {
    handlers: Vec<(HandlerId, Handler<E, Er>)>,
    event: E,
    wrap: Option<Wrap<Er>>,
    limit: Option<NonZeroUsize>,
    /// At most `limit` slots, each running one handler (its index and future); made on the
    /// first poll.
    running: Vec<Option<(usize, Running<Er>)>>,
    results: Vec<Option<Settled<Er>>>,
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
    pub(super) fn new(handlers: Vec<(HandlerId, Handler<E, Er>)>, event: E) -> Self {
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
    /// poll; a handler past it is dropped and reported [`Settled::TimedOut`]. Set it before
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
    /// order as running ones finish. Set it before the first poll.
    pub fn max_concurrent(mut self, limit: NonZeroUsize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Calls handler `i`; its future, or how it ended if calling it panicked.
    fn start(&mut self, i: usize) -> Result<Running<Er>, Settled<Er>> {
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
            let limit = this.limit.map_or(n, NonZeroUsize::get).min(n);
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
                        Ok(Ok(())) => Settled::Succeeded,
                        Ok(Err(e)) => Settled::Failed(e),
                        Err(panic) => panic,
                    }),
                    Running::Timed(f) => unwind::poll(f.as_mut(), cx).map(|r| match r {
                        Ok(Ok(Ok(()))) => Settled::Succeeded,
                        Ok(Ok(Err(e))) => Settled::Failed(e),
                        Ok(Err(elapsed)) => Settled::TimedOut(elapsed),
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
            .map(|((id, _), result)| HandlerOutcome {
                id: *id,
                result: result.take().unwrap_or(Settled::Succeeded),
            })
            .collect();
        this.done = true;
        Poll::Ready(EmitReport { outcomes })
    }
}

#[cfg(feature = "std")]
mod unwind {
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll};
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use super::{HandlerPanic, Settled};

    pub(super) fn call<T, Er>(f: impl FnOnce() -> T) -> Result<T, Settled<Er>> {
        catch_unwind(AssertUnwindSafe(f)).map_err(|p| Settled::Panicked(HandlerPanic(p)))
    }

    pub(super) fn poll<F: Future + ?Sized, Er>(
        f: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<F::Output, Settled<Er>>> {
        match catch_unwind(AssertUnwindSafe(|| f.poll(cx))) {
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(p) => Poll::Ready(Err(Settled::Panicked(HandlerPanic(p)))),
        }
    }
}

#[cfg(not(feature = "std"))]
mod unwind {
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll};

    use super::Settled;

    pub(super) fn call<T, Er>(f: impl FnOnce() -> T) -> Result<T, Settled<Er>> {
        Ok(f())
    }

    pub(super) fn poll<F: Future + ?Sized, Er>(
        f: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<F::Output, Settled<Er>>> {
        f.poll(cx).map(Ok)
    }
}
