//! Retry an operation with backoff, jitter, a deadline, per-attempt timeouts and a shared
//! retry budget.
//!
//! A [`RetryPolicy`] says how much to retry: attempts, backoff, jitter, deadline, per-attempt
//! timeout. It is built once, checked ([`build`](RetryPolicyBuilder::build) returns a
//! [`ConfigError`](crate::ConfigError); [`build_const`](RetryPolicyBuilder::build_const) makes
//! a `static`), and shared. Each call makes a [`Retry`] future from the operation, a closure
//! or any [`MakeAttempt`]: `(|| fetch(url)).retry(&policy, &timer)`, and says what to retry
//! on that future: [`when`](Retry::when) (transient versus permanent errors),
//! [`retry_on_value`](Retry::retry_on_value) ("not ready yet" values),
//! [`retry_after`](Retry::retry_after) (a delay the error suggests),
//! [`notify`](Retry::notify) (a hook before each sleep) and [`budget`](Retry::budget) (a
//! [`RetryBudget`] shared with other callers). The hooks are closures; their defaults are
//! function pointers, so a `Retry` stays nameable and allocates nothing.
//!
//! The policy is taken by reference (`&policy`, a `static`: the small form, for embassy
//! tasks), by value, or as an `Arc<RetryPolicy>`: the last two make a `'static` future, to
//! spawn or to keep in a tower `Service`'s `Future` type.
//!
//! # Attempts and retries
//!
//! The first call is **attempt 1**. Every later call is a **retry**: retry `n` is attempt
//! `n + 1` and is preceded by the delay `d(n)`. `max_attempts(4)` therefore allows three
//! retries. [`RetryError::attempts`] counts attempts, the first included, and the notify hook
//! is told the number of the attempt that just ended.
//!
//! # Delays
//!
//! `d(n)` comes from the [`Backoff`] (constant, linear, exponential `base·factorⁿ⁻¹`, a
//! sequence, or a function), is capped at `max_delay`, then jittered by the [`Jitter`] (none,
//! full, equal, decorrelated; the exact formulas are on [`Jitter`]). Arithmetic is in whole
//! nanoseconds and saturates for any attempt number. A delay suggested by the error (see
//! [`Retry::retry_after`]) replaces `d(n)` for that retry, without jitter or cap. A zero delay
//! starts the next attempt without sleeping, but never within the same `poll`: whenever an
//! attempt and its delay ended without the future having to wait, it yields once (wakes
//! itself and returns `Pending`) before the next attempt, so the executor, its timers (an
//! outer [`timeout`](crate::timeout::timeout)) and other tasks run between attempts.
//!
//! # Jitter and its seed
//!
//! Jitter draws from a small generator seeded once per call, at its first retry:
//!
//! - with [`seed(s)`](RetryPolicyBuilder::seed): `s` mixed with the clock's reading at that
//!   retry (reproducible on a virtual clock);
//! - with [`entropy(f)`](RetryPolicyBuilder::entropy): `f()` (a hardware random number);
//! - with neither: the clock's reading at that retry mixed with a process-wide count of such
//!   calls, so calls whose first retries happen at one instant still draw differently.
//!
//! The rule is the same whatever the features enabled anywhere in the build: no `std`
//! required, nothing refused. Devices whose clocks start together and agree (a fleet booting
//! at once) should give each its own `seed` or an `entropy` source.
//!
//! # Deadline
//!
//! [`max_elapsed`](RetryPolicyBuilder::max_elapsed) counts from the first poll of the
//! [`Retry`] (and [`Retry::deadline`] sets an absolute one; the earlier holds).
//! Stop-before-deadline: an attempt may begin exactly at the deadline, never after it. If the
//! deadline has passed at the first poll, no attempt is made
//! ([`RetryError::attempts`] is 0); a sleep that would end past the deadline is never started,
//! and the call gives up with [`GiveUpReason::Deadline`] instead. (A timer that wakes late
//! still starts the attempt it slept for.) A running attempt is not cut short by the
//! deadline: give attempts an [`attempt_timeout`](RetryPolicyBuilder::attempt_timeout), or
//! wrap the whole call in [`timeout`](crate::timeout::timeout) for a hard bound.
//!
//! # Per-attempt timeout
//!
//! With [`attempt_timeout`](RetryPolicyBuilder::attempt_timeout), each attempt runs inside
//! [`crate::timeout`], its clock starting at the attempt's first poll, for any error type. The
//! rule for a timed-out attempt: it is dropped, and it is always retried while the attempts,
//! the deadline and the budget allow (the error predicate is not asked: there is no error);
//! the notify hook sees it as [`Notice::timeout`], and when it was the last attempt the
//! [`RetryError`] says so ([`RetryError::timeout`], and `error()` is `None`).
//!
//! # Giving up
//!
//! The output is `Result<V, RetryError<E>>`. [`RetryError`] holds how the last attempt ended
//! (its error itself, or its timeout), the number of attempts made and the [`GiveUpReason`]:
//! attempts exhausted, deadline, budget, or a permanent error (which is never retried). It is
//! an error type when `E` is one, with the last error as its `source()`, so `?` into
//! `anyhow::Error` or `Box<dyn Error + Send + Sync>` works. When retrying a *value* stops for
//! any reason, the last value is returned as `Ok`.
//!
//! # Costs
//!
//! No allocation, ever. On the success path of the first attempt nothing else happens: the
//! clock is read only when a deadline or a budget is set (they need the start, and the budget
//! counts the call), and no random number is drawn. The future is `Send` when its parts are.
//! Dropping it cancels the call: the running attempt or the sleep is dropped and nothing else
//! starts.
//!
//! Runnable examples:
//!
//! - `cargo run -p steadfast-tokio --example retry`: backoff with full jitter, transient against
//!   permanent errors, a budget, a notify hook.
//! - `cargo run -p steadfast-smol --example retry_budget`: a hundred callers against a service that
//!   is down, their retries held to the budget, in virtual time.
//!
//! # Example
//!
//! On tokio (`steadfast-tokio`): a flaky call that fails three times, then succeeds; retries
//! wait 1 s, 2 s and 4 s (paused time here, so they pass at once):
//!
//! ```
//! use std::time::Duration;
//! use steadfast_tokio::TokioTimer;
//! use steadfast_tokio::retry::{GiveUpReason, MakeAttempt, RetryPolicy};
//!
//! #[derive(Debug, PartialEq)]
//! enum FetchError { Unavailable, NotFound }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let policy = RetryPolicy::builder()
//!     .max_attempts(5)
//!     .exponential(Duration::from_secs(1), 2.0)
//!     .max_delay(Duration::from_secs(30))
//!     .build()
//!     .expect("a valid policy");
//! let timer = TokioTimer::new();
//!
//! let mut calls = 0;
//! let fetch = || {
//!     calls += 1;
//!     let n = calls;
//!     async move { if n <= 3 { Err(FetchError::Unavailable) } else { Ok(n) } }
//! };
//! let start = tokio::time::Instant::now();
//! let mut log = Vec::new();
//! let result = fetch
//!     .retry(&policy, &timer)
//!     .when(|e| *e == FetchError::Unavailable)
//!     .notify(|n| log.push((n.attempt(), n.delay())))
//!     .await;
//! assert_eq!(result, Ok(4));
//! assert_eq!(start.elapsed(), Duration::from_secs(7));
//! assert_eq!(log[2], (3, Duration::from_secs(4)));
//!
//! // A permanent error is not retried.
//! let err = (|| async { Err::<(), _>(FetchError::NotFound) })
//!     .retry(&policy, &timer)
//!     .when(|e| *e == FetchError::Unavailable)
//!     .await
//!     .unwrap_err();
//! assert_eq!(err.reason(), GiveUpReason::Permanent);
//! assert_eq!((err.attempts(), err.error()), (1, Some(&FetchError::NotFound)));
//!
//! // Owned or shared policies make a `'static` future, to spawn.
//! let shared = std::sync::Arc::new(policy);
//! let task = tokio::spawn((|| async { Ok::<_, FetchError>("up") }).retry(shared, &timer));
//! assert_eq!(task.await.unwrap(), Ok("up"));
//! # }
//! ```
//!
//! On smol (`steadfast-smol`), with a per-attempt timeout over `std::io::Error` and `?` into
//! a boxed error:
//!
//! ```
//! use std::time::Duration;
//! use steadfast_smol::AsyncIoTimer;
//! use steadfast_smol::retry::{MakeAttempt, RetryPolicy};
//!
//! async fn read_config() -> std::io::Result<String> {
//!     Err(std::io::Error::other("connection reset"))
//! }
//!
//! async fn load() -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
//!     let policy = RetryPolicy::builder()
//!         .max_attempts(2)
//!         .constant(Duration::from_millis(1))
//!         .attempt_timeout(Duration::from_millis(50))
//!         .build()?;
//!     Ok(read_config.retry(&policy, &AsyncIoTimer::new()).await?)
//! }
//!
//! let err = smol::block_on(load()).unwrap_err();
//! assert_eq!(err.to_string(), "gave up after 2 attempts: attempts exhausted");
//! assert_eq!(err.source().unwrap().to_string(), "connection reset");
//! ```
//!
//! On embassy (`steadfast-embassy`), the policy and budget are `static`s and the future
//! borrows them, which keeps the task small:
//!
//! ```ignore
//! use core::time::Duration;
//! use steadfast_embassy::EmbassyTimer;
//! use steadfast_embassy::retry::{MakeAttempt, RetryBudget, RetryPolicy};
//!
//! static POLICY: RetryPolicy = RetryPolicy::builder()
//!     .max_attempts(4)
//!     .exponential(Duration::from_millis(10), 2.0)
//!     .build_const();
//! static BUDGET: RetryBudget = RetryBudget::new();
//!
//! #[embassy_executor::task]
//! async fn report(radio: &'static Radio) {
//!     let sent = (|| radio.send(b"hello"))
//!         .retry(&POLICY, &EmbassyTimer)
//!         .budget(&BUDGET)
//!         .await;
//! }
//! ```
//!
//! In a library generic over the clock, tested on [`VirtualTimer`](crate::VirtualTimer):
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::time::Duration;
//! use steadfast::retry::{MakeAttempt, RetryPolicy};
//! use steadfast::{Timer, VirtualTimer};
//!
//! /// Polls `ready` until it says yes, by `policy`, on any runtime's clock.
//! async fn wait_ready<T: Timer>(timer: &T, policy: &RetryPolicy, mut ready: impl FnMut() -> bool) -> bool {
//!     (|| core::future::ready(Ok::<bool, ()>(ready())))
//!         .retry(policy, timer)
//!         .retry_on_value(|up| !*up)
//!         .await
//!         .unwrap_or(false)
//! }
//!
//! let policy = RetryPolicy::builder()
//!     .max_attempts(10)
//!     .constant(Duration::from_secs(1))
//!     .build()
//!     .unwrap();
//! let timer = VirtualTimer::new();
//! let mut polls = 0;
//! let up = futures_executor::block_on(timer.auto_advance(wait_ready(&timer, &policy, || {
//!     polls += 1;
//!     polls == 3
//! })));
//! assert!(up);
//! assert_eq!(timer.now().as_nanos(), 2_000_000_000);
//! # }
//! ```

mod backoff;
mod budget;
mod error;
mod future;
mod jitter;
#[allow(unused_imports)] // The chaos stage's draws; unused where the module builds alone.
pub(crate) use jitter::Rng;
mod notice;
mod policy;

#[cfg(test)]
mod tests;

pub use backoff::{Backoff, Delays};
pub use budget::{RetryBudget, RetryBudgetBuilder};
pub use error::{GiveUpReason, RetryError};
pub use future::{MakeAttempt, Retry};
pub use jitter::Jitter;
pub use notice::Notice;
pub use policy::{RetryPolicy, RetryPolicyBuilder};
