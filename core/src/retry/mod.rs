//! Retry an operation with backoff, jitter, a deadline, per-attempt timeouts and a shared
//! retry budget.
//!
//! A [`RetryPolicy`] says how much to retry: attempts, backoff, jitter, deadline, per-attempt
//! timeout. It is built once, checked, and shared. Each call makes a [`Retry`] future from a
//! closure, `(|| fetch(url)).retry(&policy, &timer)` (the [`RetryExt`] trait), and says what
//! to retry on that future: [`when`](Retry::when) (transient versus permanent errors),
//! [`retry_on_value`](Retry::retry_on_value) ("not ready yet" values),
//! [`retry_after`](Retry::retry_after) (a delay the error suggests),
//! [`notify`](Retry::notify) (a hook before each sleep) and [`budget`](Retry::budget) (a
//! [`RetryBudget`] shared with other callers).
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
//! starts the next attempt at once.
//!
//! Jitter needs random numbers: a small seedable generator ([`Rng`]) lives in the crate. Give
//! the policy a [`seed`](RetryPolicyBuilder::seed) or an
//! [`entropy`](RetryPolicyBuilder::entropy) source; with the `std` feature, a policy without
//! either draws a fresh seed per call from the standard library's randomly keyed hasher.
//! Without `std`, building a jittered policy with neither fails with [`PolicyError::Seed`]:
//! two devices must not share one sequence by accident.
//!
//! # Deadline
//!
//! [`max_elapsed`](RetryPolicyBuilder::max_elapsed) counts from the first poll of the
//! [`Retry`] (and [`Retry::deadline`] sets an absolute one). Stop-before-deadline: a sleep
//! that would end past the deadline is never started; the call gives up with
//! [`GiveUpReason::Deadline`] instead. An attempt may begin exactly at the deadline, never
//! after it. A running attempt is not cut short by the deadline: give attempts a
//! [`attempt_timeout`](RetryPolicyBuilder::attempt_timeout), or wrap the whole call in
//! [`timeout`](crate::timeout::timeout) for a hard bound.
//!
//! # Per-attempt timeout
//!
//! Each attempt runs inside [`crate::timeout`], its clock starting at the attempt's first
//! poll. A timed-out attempt is dropped and becomes the operation's own error through
//! `From<`[`Elapsed`](crate::timeout::Elapsed)`>` (the policy's type,
//! `RetryPolicy<`[`WithAttemptTimeout`]`>`, asks for that bound at compile time), so the error
//! predicate judges it like any other error and the [`RetryError`] carries it if it was the
//! last.
//!
//! # Giving up
//!
//! The output is `Result<V, RetryError<E>>`. [`RetryError`] holds the last error itself (not a
//! wrapper around a description of it), the number of attempts made and the
//! [`GiveUpReason`]: attempts exhausted, deadline, budget, or a permanent error (which is
//! never retried). When retrying a *value* stops for any reason, the last value is returned as
//! `Ok`.
//!
//! # Costs
//!
//! No allocation, ever. A [`Retry`] borrows its policy rather than copying it, which keeps the
//! future small (on embassy a task's future lives in a `static`): keep the policy in a
//! variable, a `const` or a `static` while the call runs. On the success path of the first attempt the clock is not read unless
//! a deadline or a budget is set, and no random number is drawn. The future is `Send` when its
//! parts are. Dropping it cancels the call: the running attempt or the sleep is dropped and
//! nothing else starts.
//!
//! # Example
//!
//! A flaky call that fails three times, then succeeds; retries wait 1 s, 2 s and 4 s on a
//! virtual clock, so the test takes microseconds:
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::cell::Cell;
//! use core::time::Duration;
//! use steadfast::retry::{GiveUpReason, RetryExt, RetryPolicy};
//! use steadfast::{Timer, VirtualTimer};
//!
//! #[derive(Debug, PartialEq)]
//! enum FetchError { Unavailable, NotFound }
//!
//! let policy = RetryPolicy::builder()
//!     .max_attempts(5)
//!     .exponential(Duration::from_secs(1), 2.0)
//!     .max_delay(Duration::from_secs(30))
//!     .build()
//!     .expect("a valid policy");
//!
//! let timer = VirtualTimer::new();
//! let calls = Cell::new(0);
//! let fetch = || {
//!     calls.set(calls.get() + 1);
//!     let n = calls.get();
//!     async move { if n <= 3 { Err(FetchError::Unavailable) } else { Ok(n) } }
//! };
//! let mut log = Vec::new();
//! let result = futures_executor::block_on(timer.auto_advance(
//!     fetch
//!         .retry(&policy, &timer)
//!         .when(|e: &FetchError| *e == FetchError::Unavailable)
//!         .notify(|n| log.push((n.attempt(), n.delay()))),
//! ));
//! assert_eq!(result, Ok(4));
//! assert_eq!(timer.now().as_nanos(), 7_000_000_000);
//! assert_eq!(log[2], (3, Duration::from_secs(4)));
//!
//! // A permanent error is not retried.
//! let err = futures_executor::block_on(timer.auto_advance(
//!     (|| async { Err::<(), _>(FetchError::NotFound) })
//!         .retry(&policy, &timer)
//!         .when(|e: &FetchError| *e == FetchError::Unavailable),
//! ))
//! .unwrap_err();
//! assert_eq!(err.reason(), GiveUpReason::Permanent);
//! assert_eq!((err.attempts(), err.error()), (1, &FetchError::NotFound));
//! # }
//! ```

mod backoff;
mod budget;
mod error;
mod future;
mod jitter;
mod policy;

#[cfg(test)]
mod tests;

pub use backoff::{Backoff, Delays};
pub use budget::{RetryBudget, RetryBudgetBuilder};
pub use error::{GiveUpReason, PolicyError, RetryError};
pub use future::{
    AnyError, NoHint, NoNotify, NoValue, Notice, Notify, Retry, RetryAfter, RetryExt, RetryIf,
    RetryOnValue, retry,
};
pub use jitter::{Jitter, Rng};
pub use policy::{
    AttemptTimeoutMode, NoAttemptTimeout, RetryPolicy, RetryPolicyBuilder, WithAttemptTimeout,
};
