//! Hedging: when an attempt is slow, start another beside it, and take the first success.
//!
//! A [`HedgePolicy`] says how many attempts a call may run at once (1 to 5, the first
//! included), the delay before each hedge (fixed, or a function of the attempt number) and
//! how long hedges may start. It is built once, checked ([`build`](HedgePolicyBuilder::build)
//! returns a [`ConfigError`](crate::ConfigError) naming the field;
//! [`build_const`](HedgePolicyBuilder::build_const) makes a `static`), and shared. Each call
//! makes a [`Hedge`] future with [`HedgePolicy::run`] from the operation, a closure or any
//! [`MakeAttempt`](crate::retry::MakeAttempt) (the trait retries use), and says on that future
//! which errors are fatal ([`when`](Hedge::when)), which delay an error suggests before the
//! next hedge ([`retry_after`](Hedge::retry_after)), which
//! [`RetryBudget`](crate::retry::RetryBudget) throttles its hedges ([`budget`](Hedge::budget))
//! and its deadline ([`deadline`](Hedge::deadline)).
//!
//! Hedge only operations that are safe to run more than once at the same time (idempotent
//! reads, requests carrying an idempotency key): a losing attempt is dropped, but what it
//! already did downstream is not undone.
//!
//! # Semantics (gRPC A6)
//!
//! - **Attempt 1** starts at the first poll. **Attempt `n + 1`** (a hedge) starts `delay(n)`
//!   after attempt `n` started, while fewer than `max_attempts` have started; the attempts
//!   already running go on beside it. A delay of zero starts every attempt at once; a delay of
//!   [`Duration::MAX`](core::time::Duration::MAX) starts a hedge only on a failure.
//! - **A non-fatal failure** starts the next hedge **at once**, without waiting for the
//!   delay (the hedges after it are again `delay` apart, counted from it).
//! - **Pushback**: with [`retry_after`](Hedge::retry_after), a non-fatal error may put the
//!   next hedge off by the delay it suggests (a Retry-After, an open breaker's wait), or stop
//!   hedging when that delay ends past the deadline; the call then waits for that hedge even
//!   with no attempt in flight.
//! - **A fatal failure** cancels every attempt in flight and ends the call with that error.
//! - **The first success wins**: every other attempt is dropped in the same poll, before the
//!   value is returned (no waiting for losers, unlike Polly, which cancels and awaits them).
//!   Dropping a loser's future is what gives back what it holds: a bulkhead permit, a circuit
//!   breaker permit (released without a result), a rate limiter's place in line.
//! - **When every attempt failed**, the [`HedgeError`] holds the last error to arrive and the
//!   number of attempts started, with the reason no further one was
//!   ([`GiveUpReason`](crate::retry::GiveUpReason)): attempts exhausted, the deadline, the
//!   budget, or a fatal error. There is no retry after the last hedge.
//! - **The deadline** ([`max_elapsed`](HedgePolicyBuilder::max_elapsed) from the first poll,
//!   or [`Hedge::deadline`]; the earlier holds) stops hedges, as retry's stops retries: a hedge
//!   may start at the deadline, never after it. Running attempts are not cut short; wrap the
//!   call in [`timeout`](crate::timeout::timeout) for a hard bound.
//! - **The budget**: the call deposits one call at its first poll, and each hedge is
//!   withdrawn as it starts, as a retry is. A refused hedge is not started, nor any after it
//!   (throttled, not delayed); the attempts in flight go on. A started hedge keeps its
//!   withdrawal whether it wins or loses.
//! - **Dropping the [`Hedge`]** drops every attempt in flight and its sleep; nothing else
//!   starts.
//!
//! Defaults: 2 attempts, a 2 s delay, every error non-fatal (as every error is transient to
//! a retry; gRPC, whose `nonFatalStatusCodes` default to none, treats every error as fatal:
//! pass `.when(|_| false)` for that), no budget, no deadline.
//!
//! # Costs
//!
//! No allocation: the attempts live in five slots inside the future (size: five attempt
//! futures, a sleep and a few words). The attempts are polled by the task that polls the
//! hedge, each time it is woken. On the happy path (the first attempt succeeds before the
//! delay) no clock is read and no sleep is made unless the first attempt has to wait, a
//! deadline or a budget is set.
//!
//! Runnable example: `cargo run -p steadfast-tokio --example hedge` (replicas with a slow
//! tail, hedged after 50 ms, under a shared budget).
//!
//! # Example
//!
//! On tokio (`steadfast-tokio`): the first replica hangs, the hedge 50 ms later answers
//! (paused time here, so it passes at once):
//!
//! ```
//! use std::time::Duration;
//! use steadfast_tokio::TokioTimer;
//! use steadfast_tokio::hedge::HedgePolicy;
//!
//! static POLICY: HedgePolicy = HedgePolicy::builder()
//!     .max_attempts(3)
//!     .delay(Duration::from_millis(50))
//!     .build_const();
//!
//! async fn query(replica: u32) -> Result<&'static str, std::io::Error> {
//!     if replica == 1 {
//!         std::future::pending::<()>().await; // a stuck replica
//!     }
//!     Ok("row")
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let timer = TokioTimer::new();
//! let start = tokio::time::Instant::now();
//! let mut replica = 0;
//! let row = POLICY
//!     .run(&timer, || {
//!         replica += 1;
//!         query(replica)
//!     })
//!     .await;
//! assert_eq!(row.unwrap(), "row");
//! assert_eq!(start.elapsed(), Duration::from_millis(50));
//! # }
//! ```
//!
//! On smol (`steadfast-smol`), with a fatal error that cancels the rest, a shared budget and
//! `?` into a boxed error:
//!
//! ```
//! use std::time::Duration;
//! use steadfast_smol::AsyncIoTimer;
//! use steadfast_smol::hedge::HedgePolicy;
//! use steadfast_smol::retry::RetryBudget;
//!
//! static BUDGET: RetryBudget = RetryBudget::new();
//!
//! async fn lookup() -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
//!     let policy = HedgePolicy::builder()
//!         .max_attempts(2)
//!         .delay(Duration::from_millis(5))
//!         .build()?;
//!     let call = || async { Err::<u32, _>(std::io::Error::from(std::io::ErrorKind::NotFound)) };
//!     let value = policy
//!         .run(&AsyncIoTimer::new(), call)
//!         .when(|e| e.kind() != std::io::ErrorKind::NotFound)
//!         .budget(&BUDGET)
//!         .await?;
//!     Ok(value)
//! }
//!
//! let err = smol::block_on(lookup()).unwrap_err();
//! assert_eq!(err.to_string(), "hedged call failed after 1 attempt: fatal error");
//! assert_eq!(err.source().unwrap().to_string(), "entity not found");
//! ```
//!
//! On embassy (`steadfast-embassy`), the policy is a `static` and the attempts live in the
//! task's future:
//!
//! ```ignore
//! use core::time::Duration;
//! use steadfast_embassy::EmbassyTimer;
//! use steadfast_embassy::hedge::HedgePolicy;
//!
//! static POLICY: HedgePolicy = HedgePolicy::builder()
//!     .max_attempts(2)
//!     .delay(Duration::from_millis(20))
//!     .build_const();
//!
//! #[embassy_executor::task]
//! async fn read(sensors: &'static Sensors) {
//!     let mut bus = 0;
//!     let value = POLICY
//!         .run(&EmbassyTimer, || {
//!             bus += 1;
//!             sensors.read(bus)
//!         })
//!         .await;
//! }
//! ```
//!
//! In a library generic over the clock, tested on [`VirtualTimer`](crate::VirtualTimer): a
//! non-fatal failure starts the hedge at once, with no delay waited:
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::time::Duration;
//! use steadfast::hedge::HedgePolicy;
//! use steadfast::{Timer, VirtualTimer};
//!
//! let policy = HedgePolicy::builder()
//!     .max_attempts(2)
//!     .delay(Duration::from_secs(10))
//!     .build()
//!     .unwrap();
//! let timer = VirtualTimer::new();
//! let mut n = 0;
//! let call = || {
//!     n += 1;
//!     let attempt = n;
//!     async move { if attempt == 1 { Err("busy") } else { Ok(attempt) } }
//! };
//! let out = futures_executor::block_on(timer.auto_advance(policy.run(&timer, call)));
//! assert_eq!(out, Ok(2));
//! assert_eq!(timer.now().as_nanos(), 0);
//! # }
//! ```

mod error;
mod future;
mod policy;

#[cfg(test)]
mod tests;

pub use error::HedgeError;
pub use future::Hedge;
pub use policy::{HedgePolicy, HedgePolicyBuilder};
