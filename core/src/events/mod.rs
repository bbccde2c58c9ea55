//! Typed events with async handlers, run concurrently, every outcome reported.
//!
//! With the `alloc` feature, an [`Emitter<E, Er>`](Emitter) carries one event type `E` (the
//! typed counterpart of string event names: one emitter per event type, for instance as
//! fields of a struct). Handlers are async functions
//! `Fn(E) -> impl Future<Output = Result<(), Er>>`, registered with [`on`](Emitter::on),
//! which returns a [`Subscription`] that unregisters. [`emit`] runs every handler registered
//! at that moment **concurrently** and returns an
//! [`EmitReport`]: for each handler, whether it succeeded, failed, panicked or timed out. One
//! failing handler never stops the others (asyncio's `gather(..., return_exceptions=True)`,
//! with the outcomes kept rather than dropped).
//!
//! # Registering, decorator style
//!
//! Python emitters often register handlers with a decorator, `@events.on("user_created")`,
//! which only works if `on` returns a decorator rather than taking the handler. In Rust the
//! same intent, "this async function handles that event", is one line per handler and needs
//! no wrapper: pass the `async fn` itself, either to [`on`](Emitter::on) or, while building, to
//! [`with`](Emitter::with):
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use steadfast::events::Emitter;
//!
//! #[derive(Clone)]
//! struct UserCreated { id: u32 }
//!
//! async fn send_welcome_email(user: UserCreated) -> Result<(), String> { Ok(()) }
//! async fn create_profile(user: UserCreated) -> Result<(), String> {
//!     Err(format!("no profile store for user {}", user.id))
//! }
//!
//! let user_created = Emitter::new().with(send_welcome_email).with(create_profile);
//!
//! let report = futures_executor::block_on(user_created.emit(UserCreated { id: 7 }));
//! assert_eq!(report.len(), 2);
//! assert_eq!(report.succeeded(), 1);
//! let failure = report.failures().next().unwrap();
//! assert_eq!(failure.result.error(), Some(&"no profile store for user 7".to_string()));
//! # }
//! ```
//!
//! # Emitting
//!
//! [`emit`] returns an [`Emit`] future; await it as is, or first set
//! [`handler_timeout`](Emit::handler_timeout) (each handler gets at most that long, counted
//! from its own start; an expired handler is dropped and reported [`Settled::TimedOut`]) and
//! [`max_concurrent`](Emit::max_concurrent) (at most that many handlers of this emit run at
//! once; the others start, in registration order, as earlier ones finish, and their timeouts
//! start with them). To bound handlers across all emits, guard their bodies with a
//! [`Bulkhead`](crate::bulkhead::Bulkhead).
//!
//! - The handlers run inside the emit's future (nothing is spawned), each as its own boxed
//!   future; every wake-up polls the running handlers in turn.
//! - The set of handlers is taken when [`emit`] is called: a handler registered or removed
//!   after that takes part from the next emit on.
//! - Each handler gets its own clone of the event.
//! - Dropping the emit's future drops every handler still running.
//! - With the `std` feature a panic in a handler (while it is created or polled) is caught and
//!   reported as [`Settled::Panicked`]; the other handlers go on. Without `std` a panic
//!   propagates through the emit, as the target's panic strategy says.
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::num::NonZeroUsize;
//! use core::time::Duration;
//! use steadfast::events::{Emitter, Settled};
//! use steadfast::{Timer, VirtualTimer};
//!
//! let timer = VirtualTimer::new();
//! let pings: Emitter<u64, &str> = Emitter::new();
//! let t = timer.clone();
//! let slow = pings.on(move |secs: u64| {
//!     let t = t.clone();
//!     async move {
//!         t.sleep(Duration::from_secs(secs)).await;
//!         Ok(())
//!     }
//! });
//! let _quick = pings.on(|_| async { Ok(()) });
//!
//! let report = futures_executor::block_on(timer.auto_advance(
//!     pings
//!         .emit(60)
//!         .handler_timeout(&timer, Duration::from_secs(5))
//!         .max_concurrent(NonZeroUsize::new(1).unwrap()),
//! ));
//! assert!(matches!(report.outcomes()[0].result, Settled::TimedOut(_)));
//! assert!(report.outcomes()[1].result.is_success());
//! assert_eq!(timer.now().as_nanos(), 5_000_000_000);
//!
//! assert!(slow.unsubscribe());
//! assert_eq!(pings.handler_count(), 1);
//! # }
//! ```
//!
//! # Without a heap
//!
//! [`FixedEmitter<E, Er, N>`](FixedEmitter) has room for `N` subscribers, no heap, and a
//! `const fn new`, for a `static` on embassy. Without a heap the emitter cannot hold
//! arbitrary handler futures, so each handler is a loop in a task of yours (embassy tasks are
//! made for this) around a [`Subscriber`]: [`subscribe`](FixedEmitter::subscribe) takes a
//! place, or fails with [`Full`] when all `N` are taken, and dropping the subscriber gives it
//! back. [`emit`](FixedEmitter::emit) hands a clone of the event to every subscriber at once,
//! waits until each has settled it through its [`Ack`], and returns a [`FixedReport`] with a
//! [`Handled`] outcome per subscriber; [`emit_with_timeout`](FixedEmitter::emit_with_timeout)
//! waits at most that long. The number of subscribers is the concurrency limit. A handler's
//! panic, without `std`, is the target's panic strategy's business; if it unwinds, the dropped
//! [`Ack`] reports the event [`Handled::Abandoned`].
//!
//! ```
//! use futures_util::future::{join, select};
//! use steadfast::events::{FixedEmitter, Handled};
//!
//! static READINGS: FixedEmitter<u16, &str, 2> = FixedEmitter::new();
//!
//! let mut display = READINGS.subscribe().unwrap();
//! let mut logger = READINGS.subscribe().unwrap();
//! assert!(READINGS.subscribe().is_err(), "full");
//!
//! // Two handler tasks (here, futures joined with the emitting code).
//! let handlers = core::pin::pin!(join(
//!     display.run(|celsius| async move {
//!         if celsius < 100 { Ok(()) } else { Err("off the scale") }
//!     }),
//!     logger.run(|_| async { Ok(()) }),
//! ));
//! let emits = core::pin::pin!(async {
//!     let report = READINGS.emit(21).await;
//!     assert!(report.all_succeeded());
//!     let report = READINGS.emit(150).await;
//!     assert_eq!(report.get(0), Some(&Handled::Failed("off the scale")));
//!     assert_eq!(report.get(1), Some(&Handled::Succeeded));
//! });
//! futures_executor::block_on(select(emits, handlers));
//! ```
//!
//! [`emit`]: Emitter::emit

mod fixed;
pub use fixed::{Ack, FixedEmitter, FixedReport, Full, Handled, Subscriber};

#[cfg(feature = "alloc")]
mod emit;
#[cfg(feature = "alloc")]
mod heap;
#[cfg(feature = "alloc")]
pub use emit::{Emit, EmitReport, HandlerOutcome, HandlerPanic, Settled};
#[cfg(feature = "alloc")]
pub use heap::{Emitter, HandlerId, Subscription};

#[cfg(test)]
mod tests;
