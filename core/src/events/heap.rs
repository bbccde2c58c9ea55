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

/// Identifies a registered handler; the [`EmitReport`](super::EmitReport) names handlers by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HandlerId(pub(super) u64);

/// An event emitter for events of type `E` whose handlers fail with `Er`. See the
/// [module docs](super).
///
/// Clones share the handlers. Registering, unregistering and emitting take a short lock; no
/// handler runs under it.
pub struct Emitter<E, Er> {
    shared: Arc<Registry<E, Er>>,
}

struct Registry<E, Er> {
    handlers: Mutex<Handlers<E, Er>>,
}

struct Handlers<E, Er> {
    next_id: u64,
    entries: Vec<(HandlerId, Handler<E, Er>)>,
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
                    entries: Vec::new(),
                }),
            }),
        }
    }
}

impl<E, Er> fmt::Debug for Emitter<E, Er> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emitter")
            .field("handlers", &self.handler_count())
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
    /// unregisters it. Dropping the subscription keeps the handler registered.
    pub fn on<H, Fut>(&self, handler: H) -> Subscription<E, Er>
    where
        H: Fn(E) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Er>> + Send + 'static,
    {
        let handler: Handler<E, Er> = Arc::new(move |event| Box::pin(handler(event)));
        let id = self.shared.handlers.with_lock(|h| {
            let id = HandlerId(h.next_id);
            h.next_id += 1;
            h.entries.push((id, handler));
            id
        });
        Subscription {
            registry: Arc::downgrade(&self.shared),
            id,
        }
    }

    /// [`on`](Self::on) while building: registers `handler` for good and returns the emitter.
    #[must_use = "`with` returns the emitter it registered the handler on"]
    pub fn with<H, Fut>(self, handler: H) -> Self
    where
        H: Fn(E) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Er>> + Send + 'static,
    {
        drop(self.on(handler));
        self
    }

    /// Unregisters the handler `id`; returns whether it was registered. Emits already running
    /// still run it.
    pub fn off(&self, id: HandlerId) -> bool {
        self.shared.remove(id)
    }

    /// How many handlers are registered.
    #[must_use]
    pub fn handler_count(&self) -> usize {
        self.shared.handlers.with_lock(|h| h.entries.len())
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

    fn snapshot(&self) -> Vec<(HandlerId, Handler<E, Er>)> {
        self.shared.handlers.with_lock(|h| h.entries.clone())
    }
}

impl<E, Er> Registry<E, Er> {
    fn remove(&self, id: HandlerId) -> bool {
        self.handlers.with_lock(|h| {
            let before = h.entries.len();
            h.entries.retain(|(i, _)| *i != id);
            h.entries.len() != before
        })
    }
}

/// A registered handler: [`unsubscribe`](Subscription::unsubscribe) removes it. Dropping the
/// subscription keeps the handler registered, as a decorator would; it does not keep the
/// emitter alive.
pub struct Subscription<E, Er> {
    registry: Weak<Registry<E, Er>>,
    id: HandlerId,
}

impl<E, Er> Subscription<E, Er> {
    /// The handler's id, as the [`EmitReport`](super::EmitReport) names it.
    #[must_use]
    pub fn id(&self) -> HandlerId {
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
