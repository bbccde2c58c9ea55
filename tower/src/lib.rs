//! steadfast's patterns as [tower] layers: [`timeout`], [`bulkhead`], [`retry`],
//! [`breaker`] (circuit breaker), [`limiter`] (rate limiter), [`hedge`] (hedged requests),
//! [`chaos`] (fault injection for tests), and a whole
//! [`Pipeline`](steadfast::pipeline::Pipeline) of them in its checked order as one layer
//! ([`pipeline`]), generic over steadfast's
//! [`Timer`](steadfast::Timer), so the same stack runs under tokio (`TokioTimer`), smol or
//! async-std (`AsyncIoTimer`), and in tests on a `VirtualTimer` or tokio's paused clock.
//!
//! [tower]: https://docs.rs/tower
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use steadfast::{breaker::CircuitBreaker, bulkhead::Bulkhead, retry::RetryPolicy};
//! use steadfast_tokio::TokioTimer;
//! use steadfast_tower::{breaker::BreakerLayer, bulkhead::BulkheadLayer, retry::RetryLayer, timeout::TimeoutLayer};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), steadfast_tower::BoxError> {
//! let timer = TokioTimer::new();
//! let policy = RetryPolicy::builder().max_attempts(3).max_elapsed(Duration::from_secs(2)).build()?;
//! let breaker = Arc::new(CircuitBreaker::builder().build::<10>()?);
//! let bulkhead = Arc::new(Bulkhead::builder(32).max_waiting(128).build()?);
//!
//! // Outermost first: retry, then the breaker (it sees every attempt), the bulkhead, and
//! // the timeout of each attempt innermost (a timed-out attempt frees its permit).
//! let client = ServiceBuilder::new()
//!     .layer(RetryLayer::new(timer, policy))
//!     .layer(BreakerLayer::new(breaker, timer))
//!     .layer(BulkheadLayer::new(bulkhead, timer))
//!     .layer(TimeoutLayer::new(timer, Duration::from_millis(500)))
//!     .service(service_fn(|name: &'static str| async move {
//!         Ok::<_, std::convert::Infallible>(format!("hello, {name}"))
//!     }));
//! assert_eq!(client.oneshot("tower").await?, "hello, tower");
//! # Ok(())
//! # }
//! ```
//!
//! # The rules these layers keep
//!
//! tower's contract is `poll_ready`, then `call`: a service that says it is ready has
//! reserved what the call needs. Middleware gets this wrong in the field in a few known
//! ways; these layers keep the following rules, each tested with `tower-test`:
//!
//! - **A reservation lives between `poll_ready` and `call`, and no longer.** The bulkhead's
//!   permit (and the rate limiter's cell) is taken in `poll_ready` and moves into the
//!   response future at `call`. Dropping the service before `call` releases the permit;
//!   dropping the response future (the caller gave up, an outer timeout fired) releases it
//!   too; a permit goes back the moment the inner call finishes.
//! - **A clone starts unready.** Cloning a service that holds a reservation does not copy the
//!   reservation: the clone has to be polled ready itself. hyper-util's and axum's adapters
//!   clone the service per request and poll the clone, so a connection that sits idle holds
//!   nothing: no permit is ever reserved by an idle connection.
//! - **State is shared by every clone.** Each layer holds its pattern behind an `Arc`
//!   (a [`Bulkhead`](steadfast::bulkhead::Bulkhead), a
//!   [`CircuitBreaker`](steadfast::breaker::CircuitBreaker), a
//!   [`RateLimiter`](steadfast::limiter::RateLimiter), a
//!   [`RetryBudget`](steadfast::retry::RetryBudget)); every service the layer makes and every
//!   clone of those draws from it. (tower's own `RateLimit` keeps its window per instance,
//!   so each clone gets the whole rate again.)
//! - **A refusal is a response, not a readiness error.** An open circuit, a full bulkhead in
//!   reject mode, a bulkhead queue that is full or a wait that ran out, a rate limit: all are
//!   answered from `call` as an error response ([`Error`]), and `poll_ready` stays `Ok`. A
//!   readiness error would tear down a `tower::buffer::Buffer` and the connection behind it.
//!   The circuit breaker admits in `call`, and the pipeline in its response future, so a
//!   ready but idle service holds no probe slot.
//! - **Calling without `poll_ready`** (a contract breach) is admitted if the bulkhead or
//!   limiter has room at that moment, and refused otherwise; it never panics.
//!
//! # Errors
//!
//! Every service's error is [`BoxError`] (tower's own type). The inner service's errors pass
//! through boxed and unchanged; this crate's own refusals are an [`Error`], whose
//! [`stage`](Error::stage) names the layer and whose variant holds the core's error (the
//! reason, and for an open circuit or a rate limit the `retry_after`), reached by
//! `err.downcast_ref::<steadfast_tower::Error>()`.
//! The [`chaos`] layer's injected faults stand for a failing inner service: they come boxed
//! as its errors would, as the core's [`Injected`](steadfast::chaos::Injected)
//! (`err.downcast_ref::<Injected>()`).
//!
//! # Cost
//!
//! Response futures are named types (no boxing) and the happy path of every layer allocates
//! nothing (an error allocates its box). A bulkhead or rate limiter caller that has to wait
//! allocates its wait future once, as tower's `ConcurrencyLimit` does. The side-by-side
//! figures against tower's and tower-resilience's layers are in the repository's
//! `BENCHMARKS.md`.
//!
//! # Order
//!
//! Outermost first, the order that gives each pattern what it needs: retry (its budget and
//! deadline bound everything below) → circuit breaker (it counts every attempt, and an open
//! circuit cuts retries short: its `retry_after` is honoured within the deadline) → rate
//! limiter → bulkhead → timeout of each attempt (innermost, so that a timed-out attempt
//! counts as a breaker failure and gives its bulkhead permit back with the work).

mod admission;
pub mod breaker;
pub mod bulkhead;
pub mod chaos;
mod error;
pub mod hedge;
pub mod limiter;
pub mod pipeline;
pub mod retry;
pub mod timeout;

pub use error::{BoxError, Error, Stage};
