//! The emitter with a heap: any number of handlers, each an async function.

use alloc::boxed::Box;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::pin::Pin;

use maitake_sync::blocking::Mutex;

use super::emit::Emit;

pub(super) type BoxFuture<O> = Pin<Box<dyn Future<Output = O> + Send + 'static>>;
pub(super) type Handler<E, Er> =
    Arc<dyn Fn(E) -> BoxFuture<Result<(), Er>> + Send + Sync + 'static>;

/// An event emitter for events of type `E` whose handlers fail with `Er`. See the
/// [module docs](super).
///
/// Clones share the handlers. Subscribing, unsubscribing and emitting take a short lock; no
/// handler runs under it.
pub struct Emitter<E, Er> {
    shared: Arc<Registry<E, Er>>,
}

struct Registry<E, Er> {
    handlers: Mutex<Handlers<E, Er>>,
}

struct Handlers<E, Er> {
    next_id: u64,
    closed: bool,
    entries: Vec<(u64, Handler<E, Er>)>,
}

impl<E, Er> Clone for Emitter<E, Er> {
    fn clone(&self) -> Self {
        Emitter {
            shared: self.shared.clone(),
        }
    }
}

impl<E, Er> Default for Emitter<E, Er> {
    fn default() -> Self {
        Emitter {
            shared: Arc::new(Registry {
                handlers: Mutex::new(Handlers {
                    next_id: 0,
                    closed: false,
                    entries: Vec::new(),
                }),
            }),
        }
    }
}

impl<E, Er> fmt::Debug for Emitter<E, Er> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emitter")
            .field("subscribers", &self.subscriber_count())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<E, Er> Emitter<E, Er> {
    /// An emitter with no handlers.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `handler`, to run on every later emit; returns the subscription that
    /// unregisters it. Dropping the subscription keeps the handler registered, as a decorator
    /// would. Once the emitter is [closed](Self::close), registers nothing (the subscription's
    /// [`unsubscribe`](Subscription::unsubscribe) says `false`).
    pub fn subscribe<H, Fut>(&self, handler: H) -> Subscription<E, Er>
    where
        H: Fn(E) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Er>> + Send + 'static,
    {
        let handler: Handler<E, Er> = Arc::new(move |event| Box::pin(handler(event)));
        let id = self.shared.handlers.with_lock(|h| {
            let id = h.next_id;
            h.next_id = h.next_id.saturating_add(1);
            if !h.closed {
                h.entries.push((id, handler));
            }
            id
        });
        Subscription {
            registry: Arc::downgrade(&self.shared),
            id,
        }
    }

    /// How many handlers are registered.
    #[must_use]
    pub fn subscriber_count(&self) -> usize {
        self.shared.handlers.with_lock(|h| h.entries.len())
    }

    /// Closes the emitter: every handler is unregistered (and dropped, with what it holds, once
    /// the emits already running are done: those still run it to the end), later emits run
    /// no handler and report none, later subscriptions register nothing.
    pub fn close(&self) {
        let handlers = self.shared.handlers.with_lock(|h| {
            h.closed = true;
            core::mem::take(&mut h.entries)
        });
        // Dropped outside the lock: a handler's drop may use the emitter.
        drop(handlers);
    }

    /// Whether [`close`](Self::close) was called.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.shared.handlers.with_lock(|h| h.closed)
    }

    /// Runs every handler registered now on a clone of `event`, concurrently, and reports
    /// each one's outcome. Await the returned future, or first set a per-handler timeout or a
    /// concurrency limit on it.
    pub fn emit(&self, event: E) -> Emit<E, Er>
    where
        E: Clone,
    {
        Emit::new(self.snapshot(), event)
    }

    fn snapshot(&self) -> Vec<(u64, Handler<E, Er>)> {
        self.shared.handlers.with_lock(|h| h.entries.clone())
    }
}

impl<E, Er> Registry<E, Er> {
    fn remove(&self, id: u64) -> bool {
        let removed = self.handlers.with_lock(|h| {
            let i = h.entries.iter().position(|(i, _)| *i == id)?;
            Some(h.entries.remove(i))
        });
        removed.is_some()
    }
}

/// A registered handler: [`unsubscribe`](Subscription::unsubscribe) removes it. Dropping the
/// subscription keeps the handler registered, as a decorator would; it does not keep the
/// emitter alive.
pub struct Subscription<E, Er> {
    registry: Weak<Registry<E, Er>>,
    id: u64,
}

impl<E, Er> Subscription<E, Er> {
    /// The handler's id, unique in its emitter, as the [`EmitReport`](super::EmitReport)
    /// names it.
    #[must_use]
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Unregisters the handler; returns whether it was still registered (and its emitter still
    /// alive). Emits already running still run it.
    pub fn unsubscribe(self) -> bool {
        self.registry.upgrade().is_some_and(|r| r.remove(self.id))
    }
}

impl<E, Er> fmt::Debug for Subscription<E, Er> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .finish()
    }
}
