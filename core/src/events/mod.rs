//! Typed events with async handlers, run concurrently, every outcome reported.
//!
//! Two emitters, one vocabulary: [`subscribe`](Emitter::subscribe) a handler,
//! [`emit`](Emitter::emit) an event and get a report with one [`Handled`] outcome per handler
//! (succeeded, failed, panicked, timed out, ...), [`subscriber_count`](Emitter::subscriber_count),
//! [`close`](Emitter::close). One failing handler never stops the others (asyncio's
//! `gather(..., return_exceptions=True)`, with the outcomes kept rather than dropped).
//!
//! | | [`Emitter`] (feature `alloc`) | [`FixedEmitter`] |
//! |---|---|---|
//! | a handler is | an async function, registered with [`subscribe`](Emitter::subscribe) | a loop in a task of yours around a [`Subscriber`] |
//! | handlers | any number | at most `N`, no heap, `const` for a `static` |
//! | report | [`EmitReport`], handlers named by [`Subscription::id`] | [`FixedReport`], subscribers named by place |
//! | timeout | per handler, [`Emit::handler_timeout`] (the handler is dropped) | per emit, [`emit_with_timeout`](FixedEmitter::emit_with_timeout) (the task is not the emitter's to drop) |
//! | panics | caught with `std`: [`Handled::Panicked`] | unwinding drops the [`Ack`]: [`Handled::Abandoned`] |
//! | close | unregisters every handler | ends the subscribers' loops |
//!
//! # The heap emitter
//!
//! An [`Emitter<E, Er>`](Emitter) carries one event type `E` (the typed counterpart of string
//! event names: one emitter per event type, for instance as fields of a struct). Handlers are
//! async functions `Fn(E) -> impl Future<Output = Result<(), Er>>`; pass the `async fn` itself
//! to [`subscribe`](Emitter::subscribe), as a Python decorator (`@events.on("user_created")`)
//! would register it. [`emit`] runs every handler subscribed at that moment **concurrently**
//! and returns an [`EmitReport`].
//!
//! On tokio (`steadfast-tokio`):
//!
//! ```
//! use std::time::Duration;
//! use steadfast_tokio::TokioTimer;
//! use steadfast_tokio::events::{Emitter, Handled};
//!
//! #[derive(Clone)]
//! struct UserCreated { id: u32 }
//!
//! async fn send_welcome_email(user: UserCreated) -> Result<(), String> { Ok(()) }
//! async fn create_profile(user: UserCreated) -> Result<(), String> {
//!     Err(format!("no profile store for user {}", user.id))
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), steadfast_tokio::ConfigError> {
//! let user_created = Emitter::new();
//! let email = user_created.subscribe(send_welcome_email);
//! let profile = user_created.subscribe(create_profile);
//!
//! let report = user_created
//!     .emit(UserCreated { id: 7 })
//!     .handler_timeout(&TokioTimer::new(), Duration::from_secs(5))
//!     .max_concurrent(8)?
//!     .await;
//! assert_eq!((report.len(), report.succeeded()), (2, 1));
//! assert_eq!(report.get(email.id()), Some(&Handled::Succeeded));
//! let (id, failure) = report.failures().next().unwrap();
//! assert_eq!(id, profile.id());
//! assert_eq!(failure.error().map(String::as_str), Some("no profile store for user 7"));
//! # Ok(())
//! # }
//! ```
//!
//! On smol (`steadfast-smol`), the same, with `steadfast_smol::AsyncIoTimer`:
//!
//! ```
//! use std::time::Duration;
//! use steadfast_smol::AsyncIoTimer;
//! use steadfast_smol::events::{Emitter, Handled};
//!
//! let alerts: Emitter<&str, std::io::Error> = Emitter::new();
//! alerts.subscribe(|text| async move {
//!     smol::Timer::after(Duration::from_secs(60)).await; // a pager that hangs
//!     Ok(())
//! });
//! let report = smol::block_on(
//!     alerts.emit("disk full").handler_timeout(&AsyncIoTimer::new(), Duration::from_millis(10)),
//! );
//! assert!(matches!(report.iter().next(), Some((_, Handled::TimedOut))));
//! ```
//!
//! - [`handler_timeout`](Emit::handler_timeout): each handler gets at most that long, counted
//!   from its own start; an expired handler is dropped and reported [`Handled::TimedOut`].
//! - [`max_concurrent`](Emit::max_concurrent): at most that many handlers of this emit run at
//!   once; the others start, in registration order, as earlier ones finish, and their timeouts
//!   start with them. To bound handlers across all emits, guard their bodies with a
//!   [`Bulkhead`](crate::bulkhead::Bulkhead).
//! - The handlers run inside the emit's future (nothing is spawned), each as its own boxed
//!   future; every wake-up polls the running handlers in turn.
//! - The set of handlers is taken when [`emit`] is called: a handler subscribed or removed
//!   after that takes part from the next emit on. Each handler gets its own clone of the event.
//! - Dropping the emit's future drops every handler still running.
//! - With the `std` feature a panic in a handler (while it is created or polled) is caught and
//!   reported as [`Handled::Panicked`], with its message; the other handlers go on. Without
//!   `std` a panic propagates through the emit, as the target's panic strategy says.
//!
//! Generic over the clock, tested on [`VirtualTimer`](crate::VirtualTimer) (for library
//! authors):
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::time::Duration;
//! use steadfast::events::{Emitter, Handled};
//! use steadfast::{Timer, VirtualTimer};
//!
//! let timer = VirtualTimer::new();
//! let pings: Emitter<u64, &str> = Emitter::new();
//! let t = timer.clone();
//! let slow = pings.subscribe(move |secs: u64| {
//!     let t = t.clone();
//!     async move {
//!         t.sleep(Duration::from_secs(secs)).await;
//!         Ok(())
//!     }
//! });
//! let quick = pings.subscribe(|_| async { Ok(()) });
//!
//! let emit = pings.emit(60).handler_timeout(&timer, Duration::from_secs(5)).max_concurrent(1);
//! let report = futures_executor::block_on(timer.auto_advance(emit.unwrap()));
//! assert_eq!(report.get(slow.id()), Some(&Handled::TimedOut));
//! assert_eq!(report.get(quick.id()), Some(&Handled::Succeeded));
//! assert_eq!(timer.now().as_nanos(), 5_000_000_000);
//!
//! assert!(slow.unsubscribe());
//! assert_eq!(pings.subscriber_count(), 1);
//! # }
//! ```
//!
//! # Without a heap
//!
//! [`FixedEmitter<E, Er, N>`](FixedEmitter) has room for `N` subscribers, no heap, and a
//! `const fn new`, for a `static` on embassy. Without a heap the emitter cannot hold
//! arbitrary handler futures, so each handler is a loop in a task of yours (embassy tasks are
//! made for this) around a [`Subscriber`]: [`subscribe`](FixedEmitter::subscribe) takes a
//! place, or fails with [`SubscribeError::Full`] when all `N` are taken, and dropping the
//! subscriber gives it back. [`emit`](FixedEmitter::emit) hands a clone of the event to every
//! subscriber at once, waits until each has settled it through its [`Ack`], and returns a
//! [`FixedReport`]; [`emit_with_timeout`](FixedEmitter::emit_with_timeout) waits at most that
//! long. The number of subscribers is the concurrency limit. [`close`](FixedEmitter::close)
//! ends every subscriber's [`run`](Subscriber::run) loop once it has handled what was
//! delivered to it.
//!
//! On embassy:
//!
//! ```ignore
//! use steadfast_embassy::EmbassyTimer;
//! use steadfast_embassy::events::FixedEmitter;
//!
//! static READINGS: FixedEmitter<u16, &str, 2> = FixedEmitter::new();
//!
//! #[embassy_executor::task]
//! async fn display() {
//!     let mut me = READINGS.subscribe().unwrap();
//!     me.run(|celsius| async move { if celsius < 100 { Ok(()) } else { Err("off the scale") } })
//!         .await;
//! }
//!
//! #[embassy_executor::task]
//! async fn sensor() {
//!     loop {
//!         let report = READINGS
//!             .emit_with_timeout(read_celsius().await, &EmbassyTimer, Duration::from_millis(50))
//!             .await;
//!         if !report.all_succeeded() {
//!             defmt::warn!("{} handler(s) failed", report.len() - report.succeeded());
//!         }
//!     }
//! }
//! ```
//!
//! The same, with the handler tasks as futures joined with the emitting code:
//!
//! ```
//! use futures_util::future::join3;
//! use steadfast::events::{FixedEmitter, Handled};
//!
//! static READINGS: FixedEmitter<u16, &str, 2> = FixedEmitter::new();
//!
//! let mut display = READINGS.subscribe().unwrap();
//! let mut logger = READINGS.subscribe().unwrap();
//! assert!(READINGS.subscribe().is_err(), "full");
//!
//! futures_executor::block_on(join3(
//!     display.run(|celsius| async move {
//!         if celsius < 100 { Ok(()) } else { Err("off the scale") }
//!     }),
//!     logger.run(|_| async { Ok(()) }),
//!     async {
//!         let report = READINGS.emit(21).await;
//!         assert!(report.all_succeeded());
//!         let report = READINGS.emit(150).await;
//!         assert_eq!(report.get(0), Some(&Handled::Failed("off the scale")));
//!         assert_eq!(report.get(1), Some(&Handled::Succeeded));
//!         READINGS.close(); // both `run` loops end
//!     },
//! ));
//! ```
//!
//! [`emit`]: Emitter::emit
//!
//! Runnable example: `cargo run -p steadfast-tokio --example events` (a failing handler and a
//! hanging one, each reported).

mod fixed;
mod report;
mod subscriber;

pub use fixed::FixedEmitter;
#[cfg(feature = "alloc")]
pub use report::EmitReport;
pub use report::{FixedReport, Handled, SubscribeError};
pub use subscriber::{Ack, Subscriber};

#[cfg(feature = "alloc")]
mod emit;
#[cfg(feature = "alloc")]
mod heap;
#[cfg(feature = "alloc")]
pub use emit::Emit;
#[cfg(feature = "alloc")]
pub use heap::{Emitter, Subscription};

#[cfg(test)]
mod tests;
