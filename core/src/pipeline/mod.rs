//! One policy pipeline: the crate's timeout, retry, circuit breaker, rate limiter and
//! bulkhead composed in a checked order, with one error type and a fallback.
//!
//! A [`Pipeline`] is built once ([`Pipeline::builder`], `const`: a `static` where its parts
//! are) and called per operation: [`call(&timer, op)`](Pipeline::call), where `op` makes one
//! attempt each time it is asked (a closure returning a future, or any
//! [`MakeAttempt`]). Every stage is optional, and each is the crate's own pattern, used as it
//! is used alone: [`timeout`](crate::timeout), [`Retry`](crate::retry::Retry) with its
//! [`RetryBudget`],
//! [`CircuitBreaker::run`](crate::breaker::CircuitBreaker::run),
//! [`RateLimiter::acquire`] and
//! [`Bulkhead::acquire`]. The pipeline holds the breaker,
//! limiter, bulkhead and budget by reference (so several pipelines, say one per operation
//! with different retry rules, can share one breaker and one bulkhead) and the durations and
//! the retry policy by value; one type, [`Pipeline<'a>`](Pipeline), whatever the stages.
//!
//! # The order
//!
//! Outermost first, fixed:
//!
//! **fallback → total timeout → retry (with budget) → circuit breaker → rate limiter →
//! bulkhead → attempt timeout → operation**
//!
//! - The **total timeout** bounds everything, backoff sleeps and waits for permits included,
//!   and is the retry's deadline: no sleep that would end past it is started.
//! - **Retry outside the breaker**: the breaker counts real attempts (each one, not each
//!   logical call), and an open circuit cuts the retrying short (see below).
//! - **The breaker outside the limiter and the bulkhead**: an open circuit turns a call away
//!   before it spends a cell of the rate or waits for a permit.
//! - **The limiter and the bulkhead inside retry**: each attempt pays, which is what protects
//!   the dependency from retry storms.
//! - **The attempt timeout innermost**: a timeout counts as a breaker failure, and the
//!   bulkhead permit is released with the dropped work, never before (the permit lives as
//!   long as the work).
//! - **The fallback outermost**: it sees the final outcome, after every retry.
//!
//! # The alternative order
//!
//! [`bulkhead_outermost`](PipelineBuilder::bulkhead_outermost) moves the bulkhead to just
//! inside the fallback: **fallback → bulkhead → total timeout → retry → breaker → limiter →
//! attempt timeout → operation** (Microsoft's standard resilience handler). A permit then
//! caps *logical* calls: one caller holds it through all its attempts and backoff sleeps, so
//! retries never queue behind fresh calls and `max_concurrent` bounds the callers in
//! flight, not the attempts. The cost: a permit is held while its caller sleeps between
//! attempts, so fewer calls run per permit under failure; and the total timeout starts once
//! the permit is held (bound the wait with
//! [`bulkhead_within`](PipelineBuilder::bulkhead_within)).
//!
//! # Retry and the stages' refusals
//!
//! The retry stage sees every attempt's end:
//!
//! | the attempt ended with | retried? |
//! |---|---|
//! | a value | no: the call's value |
//! | the operation's error | when [`retry_when`](Call::retry_when) says so (default: every error), after the policy's delay or the one [`retry_after`](Call::retry_after) suggests |
//! | its attempt timeout | always (within the policy) |
//! | the breaker's [`CircuitOpen`](crate::breaker::CircuitOpen) | only when the call has a deadline and the breaker says when it lets probes through: after that wait, if it fits the deadline; otherwise the call ends at once with [`PipelineError::CircuitOpen`] |
//! | the limiter's [`LimitError`](crate::limiter::LimitError) | the same rule, with the predicted wait |
//! | the bulkhead's [`Rejected`](crate::bulkhead::Rejected) | never |
//!
//! So an open circuit cuts the retrying short instead of burning attempts and the budget on
//! refusals, and a refusal is retried only when its wait is known to fit. This is built in:
//! the caller's predicate sees only the operation's errors, so it cannot retry a refusal by
//! mistake. The deadline is the total timeout's or the retry policy's
//! [`max_elapsed`](crate::retry::RetryPolicyBuilder::max_elapsed), the earlier.
//!
//! # Rules checked at build
//!
//! [`build`](PipelineBuilder::build) returns a [`ConfigError`](crate::ConfigError) naming the
//! field when:
//!
//! - the attempt timeout exceeds the total timeout (`attempt_timeout`);
//! - the breaker judges a time window shorter than twice the attempt timeout, or has a
//!   slow-call threshold not below it (`breaker`): with the attempt timeout cutting calls,
//!   such a window sees too few outcomes to judge, and no call is ever slow;
//! - the retry policy has an attempt timeout of its own (`retry`): the pipeline's runs inside
//!   the breaker and the bulkhead, the policy's would run around them;
//! - the retry policy's first delay, at its shortest, does not fit the total timeout
//!   (`retry`): no retry could ever start.
//!
//! The sum of all retry delays is not required to fit the total timeout: the retry stage
//! stops before the deadline instead. It never starts a backoff sleep that would end past
//! it, and gives up at once with [`GiveUpReason::Deadline`](crate::retry::GiveUpReason)
//! and the last error, rather than sleeping into the timeout.
//!
//! # Errors
//!
//! A call gives `Result<V, `[`PipelineError`]`<E>>`: the operation's error, or which stage
//! refused and why (timeouts, the open circuit with when to come back, the rate limit with
//! the wait, the bulkhead's rejection, the retries exhausted with the attempts and the last
//! error). One `?` takes it into `anyhow::Error` or `Box<dyn Error + Send + Sync>`.
//!
//! # Costs and cancellation
//!
//! No allocation on any path. A closed breaker without a time window reads no clock; without
//! a total timeout, a `max_elapsed` or a budget, the happy path reads none either. Dropping a
//! call at any point gives back everything: the bulkhead permit, the breaker's probe slot
//! (unrecorded), the limiter's place in line; the retry budget is charged only for retries
//! started. Each attempt's future is made (not polled) before it is admitted, and polled once
//! the breaker, the limiter and the bulkhead let it through.
//!
//! Observers (tracing, metrics, defmt) are not part of the pipeline yet: each stage's own
//! hooks ([`on_transition`](crate::breaker::CircuitBreakerBuilder::on_transition), the
//! metrics snapshots) still work, and an observer will be a value set on the builder.
//!
//! # Hedging in the retry stage's place
//!
//! [`call_hedged(&timer, &policy, op)`](Pipeline::call_hedged) runs the same pipeline with a
//! [`HedgePolicy`] where the retry stage is: **fallback → total
//! timeout → hedge (with the budget) → breaker → limiter → bulkhead → attempt timeout →
//! operation** for each hedged attempt (Microsoft's hedging handler). A slow attempt gets a
//! concurrent hedge after the policy's delay, a failed one (an error
//! [`retry_when`](Hedged::retry_when) accepts, or its attempt timeout) at once; the first
//! success wins and the losers are dropped in that poll, each giving back its bulkhead
//! permit and its breaker permit unrecorded. The total timeout stops hedges and bounds the
//! call; the retry budget throttles them; the stages' refusals follow the retry's rule. The
//! pipeline's type is the same; the call's future is another ([`Hedged`], which holds the
//! five attempt slots), so plain calls do not pay for hedging's room.
//!
//! Runnable example: `cargo run -p steadfast-tokio --example pipeline` (a timeout, a 503 and
//! an answer within one call, the breaker tripping, a fallback value).
//!
//! # Example
//!
//! On tokio (`steadfast-tokio`), with `static` stages:
//!
//! ```
//! use std::time::Duration;
//! use steadfast_tokio::TokioTimer;
//! use steadfast_tokio::breaker::CircuitBreaker;
//! use steadfast_tokio::bulkhead::Bulkhead;
//! use steadfast_tokio::pipeline::{Pipeline, PipelineError};
//! use steadfast_tokio::retry::RetryPolicy;
//!
//! static BREAKER: CircuitBreaker = CircuitBreaker::builder().consecutive_failures(5).build_const();
//! static BULKHEAD: Bulkhead = Bulkhead::new(16);
//! static UPSTREAM: Pipeline<'static> = Pipeline::builder()
//!     .total_timeout(Duration::from_secs(10))
//!     .retry(RetryPolicy::builder().max_attempts(3).constant(Duration::from_millis(100)).build_const())
//!     .breaker(&BREAKER)
//!     .bulkhead(&BULKHEAD)
//!     .attempt_timeout(Duration::from_secs(2))
//!     .build_const();
//!
//! #[derive(Debug)]
//! struct Unavailable;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let timer = TokioTimer::new();
//! let mut calls = 0;
//! let value = UPSTREAM
//!     .call(&timer, || {
//!         calls += 1;
//!         let n = calls;
//!         async move { if n < 3 { Err(Unavailable) } else { Ok(n) } }
//!     })
//!     .await;
//! assert_eq!(value.unwrap(), 3);
//!
//! // Every attempt fails: the retries are exhausted, the error says how.
//! let err = UPSTREAM.call(&timer, || async { Err::<u32, _>(Unavailable) }).await.unwrap_err();
//! let PipelineError::RetriesExhausted(retry) = &err else { panic!("{err:?}") };
//! assert_eq!(retry.attempts(), 3);
//! # }
//! ```
//!
//! On smol or async-std (`steadfast-smol`), with a fallback value and `?` into a boxed error:
//!
//! ```
//! use std::time::Duration;
//! use steadfast_smol::AsyncIoTimer;
//! use steadfast_smol::pipeline::{Pipeline, PipelineError};
//!
//! async fn price(pipeline: &Pipeline<'_>) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
//!     let timer = AsyncIoTimer::new();
//!     let slow = || async {
//!         smol::Timer::after(Duration::from_secs(5)).await;
//!         Ok::<u32, std::io::Error>(12)
//!     };
//!     // On a timeout the cached price is served.
//!     let cached = pipeline
//!         .call(&timer, slow)
//!         .fallback_value(|e| matches!(e, PipelineError::Timeout(_)), 10)
//!         .await?;
//!     Ok(cached)
//! }
//!
//! let pipeline = Pipeline::builder().total_timeout(Duration::from_millis(5)).build().unwrap();
//! assert_eq!(smol::block_on(price(&pipeline)).unwrap(), 10);
//! ```
//!
//! On embassy (`steadfast-embassy`), everything in `static`s (`ignore`d: doc tests have no
//! time driver):
//!
//! ```ignore
//! static BREAKER: CircuitBreaker = CircuitBreaker::builder().consecutive_failures(3).build_const();
//! static RADIO: Pipeline<'static> = Pipeline::builder()
//!     .retry(RetryPolicy::builder().max_attempts(4).build_const())
//!     .breaker(&BREAKER)
//!     .attempt_timeout(Duration::from_millis(50))
//!     .build_const();
//!
//! #[embassy_executor::task]
//! async fn report(radio: &'static Radio) {
//!     let sent = RADIO.call(&EmbassyTimer, || radio.send(b"hello")).await;
//! }
//! ```
//!
//! A library generic over the clock, tested on [`VirtualTimer`](crate::VirtualTimer): the
//! breaker inside the retry counts every attempt, and once open it cuts the retrying short:
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::time::Duration;
//! use steadfast::breaker::CircuitBreaker;
//! use steadfast::pipeline::{Pipeline, PipelineError};
//! use steadfast::retry::RetryPolicy;
//! use steadfast::{Timer, VirtualTimer};
//!
//! let breaker: CircuitBreaker = CircuitBreaker::builder().consecutive_failures(2).build().unwrap();
//! let pipeline = Pipeline::builder()
//!     .retry(RetryPolicy::builder().max_attempts(5).build().unwrap())
//!     .breaker(&breaker)
//!     .build()
//!     .unwrap();
//! let timer = VirtualTimer::new();
//! let ran = core::cell::Cell::new(0);
//! let call = pipeline.call(&timer, || async {
//!     ran.set(ran.get() + 1);
//!     Err::<(), _>("503")
//! });
//! let err = futures_executor::block_on(timer.auto_advance(call)).unwrap_err();
//! // Two attempts ran and tripped the breaker; the third was turned away, and not retried.
//! assert!(matches!(err, PipelineError::CircuitOpen(_)));
//! assert_eq!(ran.get(), 2);
//! # }
//! ```

mod attempt;
mod builder;
mod call;
mod error;
mod fallback;
mod hedged;

use core::fmt;
use core::time::Duration;

pub use builder::PipelineBuilder;
pub use call::Call;
pub use error::PipelineError;
pub use fallback::Fallback;
pub use hedged::Hedged;

use crate::Timer;
use crate::breaker::AnyBreaker;
use crate::bulkhead::Bulkhead;
use crate::hedge::HedgePolicy;
use crate::limiter::RateLimiter;
use crate::retry::{MakeAttempt, RetryBudget, RetryPolicy};

/// A checked composition of the crate's patterns, called per operation. See the
/// [module docs](self) for the order and the rules.
///
/// `Copy`: a pipeline is a few durations, the retry policy and references to the shared
/// stages, so it can be built in a `static`, kept in a struct field (`Pipeline<'static>`),
/// or made per request from long-lived parts.
#[derive(Clone, Copy)]
pub struct Pipeline<'a> {
    total_timeout: Option<Duration>,
    attempt_timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    budget: Option<&'a RetryBudget>,
    breaker: Option<AnyBreaker<'a>>,
    limiter: Option<(&'a RateLimiter, Option<Duration>)>,
    bulkhead: Option<(&'a Bulkhead, Option<Duration>)>,
    bulkhead_outermost: bool,
}

impl<'a> Pipeline<'a> {
    /// A builder with no stage: a pipeline built from it runs the operation once, as it is.
    pub const fn builder() -> PipelineBuilder<'a> {
        PipelineBuilder::new()
    }

    /// Runs one operation through the pipeline on `timer`'s clock: `op` makes one attempt
    /// each time the retry stage asks (a closure `|| async { .. }`, or any
    /// [`MakeAttempt`]). Nothing runs until the [`Call`] is polled; set the retry
    /// predicate, the breaker's classification or a fallback on it.
    pub fn call<'p, T: Timer, M: MakeAttempt>(&'p self, timer: &T, op: M) -> Call<'p, T, M> {
        let this: &'p Pipeline<'p> = self;
        Call::new(this, timer, op)
    }

    /// Runs one operation through the pipeline with `policy`'s hedging in the retry stage's
    /// place (the pipeline's retry policy is not used): the attempts run concurrently, each
    /// through the breaker, the limiter, the bulkhead and the attempt timeout, the first
    /// success wins and the losers are dropped at once; see [`Hedged`]. Hedge only operations
    /// that are safe to run more than once at a time.
    pub fn call_hedged<'p, T: Timer, M: MakeAttempt>(
        &'p self,
        timer: &T,
        policy: &HedgePolicy,
        op: M,
    ) -> Hedged<'p, T, M> {
        let this: &'p Pipeline<'p> = self;
        Hedged::new(this, timer, *policy, op)
    }

    /// The total timeout, if set.
    #[must_use]
    pub const fn total_timeout(&self) -> Option<Duration> {
        self.total_timeout
    }

    /// The attempt timeout, if set.
    #[must_use]
    pub const fn attempt_timeout(&self) -> Option<Duration> {
        self.attempt_timeout
    }
}

impl fmt::Debug for Pipeline<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("total_timeout", &self.total_timeout)
            .field("retry", &self.retry)
            .field("budget", &self.budget.is_some())
            .field("breaker", &self.breaker.is_some())
            .field("limiter", &self.limiter.map(|l| l.1))
            .field("bulkhead", &self.bulkhead.map(|b| b.1))
            .field("bulkhead_outermost", &self.bulkhead_outermost)
            .field("attempt_timeout", &self.attempt_timeout)
            .finish()
    }
}

#[cfg(all(test, not(loom), feature = "alloc"))]
mod tests;
