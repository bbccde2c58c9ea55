//! Observer scenarios: a recording observer sees exactly the documented events, in order, for
//! each pattern alone and for a pipeline (retry + breaker + bulkhead + timeouts, and
//! hedging). No std, no heap.

use core::future::{pending, ready};

use portable_atomic::{AtomicU8, AtomicUsize, Ordering};
use steadfast::Timer;
use steadfast::breaker::CircuitBreaker;
use steadfast::bulkhead::Bulkhead;
use steadfast::hedge::HedgePolicy;
use steadfast::limiter::RateLimiter;
use steadfast::observe::{Event, Observer};
use steadfast::pipeline::Pipeline;
use steadfast::retry::{MakeAttempt, RetryPolicy};
use steadfast::timeout::timeout;

use crate::Env;

/// Every event name, for the recorder's codes.
const NAMES: [&str; 18] = [
    "call_started",
    "call_ended",
    "attempt_started",
    "attempt_ended",
    "retry_scheduled",
    "budget_refused",
    "timeout",
    "circuit_opened",
    "circuit_half_opened",
    "circuit_closed",
    "circuit_disabled",
    "circuit_rejected",
    "limiter_waiting",
    "limiter_rejected",
    "bulkhead_queued",
    "bulkhead_rejected",
    "hedge_launched",
    "hedge_won",
];

/// Records the names of the events it sees, in order, without a heap (up to 32).
pub struct Recorder {
    len: AtomicUsize,
    codes: [AtomicU8; 32],
}

impl Recorder {
    /// An empty recorder.
    pub const fn new() -> Self {
        Recorder {
            len: AtomicUsize::new(0),
            codes: [const { AtomicU8::new(0) }; 32],
        }
    }

    fn seen(&self) -> impl Iterator<Item = &'static str> + '_ {
        let len = self.len.load(Ordering::SeqCst).min(32);
        self.codes[..len]
            .iter()
            .map(|c| NAMES[usize::from(c.load(Ordering::SeqCst))])
    }

    /// Panics unless the events seen are exactly `expected`, in order.
    pub fn assert_seen(&self, expected: &[&str]) {
        struct Seen<'a>(&'a Recorder);
        impl core::fmt::Debug for Seen<'_> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_list().entries(self.0.seen()).finish()
            }
        }
        assert!(
            self.seen().eq(expected.iter().copied()),
            "seen {:?}, expected {:?}",
            Seen(self),
            expected
        );
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Observer for Recorder {
    fn on_event(&self, event: &Event) {
        let code = NAMES.iter().position(|n| *n == event.name()).unwrap_or(0);
        let i = self.len.fetch_add(1, Ordering::SeqCst);
        if let Some(slot) = self.codes.get(i) {
            slot.store(code as u8, Ordering::SeqCst);
        }
    }
}

/// A retry alone: each attempt's start and end, the retry between them.
pub async fn a_retry_reports_its_attempts<T: Timer>(env: Env<T>) {
    let rec = Recorder::new();
    let policy = RetryPolicy::builder()
        .max_attempts(3)
        .constant(env.unit)
        .build()
        .unwrap();
    let mut n = 0;
    let op = || {
        n += 1;
        ready(if n < 2 { Err(()) } else { Ok(n) })
    };
    let out = op.retry(&policy, &env.timer).observe(&rec).await;
    assert_eq!(out, Ok(2));
    rec.assert_seen(&[
        "attempt_started",
        "attempt_ended",
        "retry_scheduled",
        "attempt_started",
        "attempt_ended",
    ]);
}

/// A timeout alone: its expiry.
pub async fn a_timeout_reports_its_expiry<T: Timer>(env: Env<T>) {
    let rec = Recorder::new();
    let out = timeout(&env.timer, env.unit, pending::<()>())
        .observe(&rec)
        .await;
    assert!(out.is_err());
    rec.assert_seen(&["timeout"]);
}

/// A bulkhead alone: a caller queued, then turned away after its wait.
pub async fn a_bulkhead_reports_queueing_and_rejection<T: Timer>(env: Env<T>) {
    let rec = Recorder::new();
    let bulkhead = Bulkhead::new(1);
    let held = bulkhead.try_acquire().unwrap();
    let out = bulkhead
        .acquire_within(&env.timer, env.unit)
        .observe(&rec)
        .await;
    assert!(out.is_err());
    drop(held);
    rec.assert_seen(&["bulkhead_queued", "bulkhead_rejected"]);
}

/// Work run under a bulkhead, observed through `run` and `call`: queued, then turned away;
/// then run at once when there is room, which reports nothing.
pub async fn a_bulkhead_run_reports_its_wait<T: Timer>(env: Env<T>) {
    let rec = Recorder::new();
    let bulkhead = Bulkhead::new(1);
    let held = bulkhead.try_acquire().unwrap();
    let out = bulkhead
        .run_within(&env.timer, env.unit, async { 1 })
        .observe(&rec)
        .await;
    assert!(out.is_err());
    rec.assert_seen(&["bulkhead_queued", "bulkhead_rejected"]);
    drop(held);
    let out = bulkhead.call(async { Ok::<_, ()>(2) }).observe(&rec).await;
    assert_eq!(out.ok(), Some(2));
    let out = bulkhead.run(async { 3 }).observe(&rec).await;
    assert_eq!(out.ok(), Some(3));
    rec.assert_seen(&["bulkhead_queued", "bulkhead_rejected"]);
    assert_eq!(bulkhead.metrics().in_flight, 0);
}

/// A limiter alone: a caller refused at once, as its wait would be too long.
pub async fn a_limiter_reports_its_refusal<T: Timer>(env: Env<T>) {
    let rec = Recorder::new();
    let limiter = RateLimiter::builder(1, env.units(10)).build().unwrap();
    limiter.acquire(&env.timer, 1).observe(&rec).await.unwrap();
    let out = limiter
        .acquire_within(&env.timer, 1, env.unit)
        .observe(&rec)
        .await;
    assert!(out.is_err());
    rec.assert_seen(&["limiter_rejected"]);
}

/// A breaker alone: the failure that opens it, then a rejection.
pub async fn a_breaker_reports_its_transitions_and_rejections<T: Timer>(env: Env<T>) {
    let rec = Recorder::new();
    let breaker: CircuitBreaker<2> = CircuitBreaker::builder()
        .consecutive_failures(1)
        .open_for(env.units(10))
        .build()
        .unwrap();
    let out = breaker
        .run(&env.timer, ready(Err::<(), _>(())))
        .observe(&rec)
        .await;
    assert!(out.is_err());
    let out = breaker
        .run(&env.timer, ready(Ok::<_, ()>(())))
        .observe(&rec)
        .await;
    assert!(out.is_err());
    rec.assert_seen(&["circuit_opened", "circuit_rejected"]);
}

/// Hedging alone: a slow first attempt, a hedge launched after the delay that wins.
pub async fn a_hedge_reports_its_launch_and_winner<T: Timer>(env: Env<T>) {
    let rec = Recorder::new();
    let policy = HedgePolicy::builder()
        .max_attempts(2)
        .delay(env.unit)
        .build()
        .unwrap();
    let mut n = 0;
    let op = || {
        n += 1;
        let first = n == 1;
        async move {
            if first {
                pending::<()>().await;
            }
            Ok::<_, ()>(n)
        }
    };
    let out = policy.run(&env.timer, op).observe(&rec).await;
    assert_eq!(out.ok(), Some(2));
    rec.assert_seen(&[
        "attempt_started",
        "hedge_launched",
        "attempt_started",
        "attempt_ended",
        "hedge_won",
    ]);
}

/// A pipeline of retry, breaker, bulkhead and attempt timeout: one observer sees every
/// stage, in order: the first attempt times out inside the bulkhead, the retry waits, the
/// second attempt passes.
pub async fn a_pipeline_reports_every_stage<T: Timer>(env: Env<T>) {
    let rec = Recorder::new();
    let breaker: CircuitBreaker<2> = CircuitBreaker::builder()
        .consecutive_failures(5)
        .build()
        .unwrap();
    let bulkhead = Bulkhead::new(1);
    let pipeline = Pipeline::builder()
        .total_timeout(env.units(20))
        .retry(
            RetryPolicy::builder()
                .max_attempts(3)
                .constant(env.unit)
                .build()
                .unwrap(),
        )
        .breaker(&breaker)
        .bulkhead(&bulkhead)
        .attempt_timeout(env.units(2))
        .build()
        .unwrap();
    let mut n = 0;
    let out = pipeline
        .call(&env.timer, || {
            n += 1;
            let first = n == 1;
            async move {
                if first {
                    pending::<()>().await;
                }
                Ok::<_, ()>(n)
            }
        })
        .observe(&rec)
        .await;
    assert_eq!(out.ok(), Some(2));
    assert_eq!(bulkhead.metrics().in_flight, 0);
    rec.assert_seen(&[
        "call_started",
        "attempt_started",
        "timeout",
        "attempt_ended",
        "retry_scheduled",
        "attempt_started",
        "attempt_ended",
        "call_ended",
    ]);
}

/// A hedged pipeline call: the hedge stage's events inside the call's.
pub async fn a_hedged_pipeline_reports_the_hedge<T: Timer>(env: Env<T>) {
    let rec = Recorder::new();
    let bulkhead = Bulkhead::new(2);
    let pipeline = Pipeline::builder().bulkhead(&bulkhead).build().unwrap();
    let policy = HedgePolicy::builder()
        .max_attempts(2)
        .delay(env.unit)
        .build()
        .unwrap();
    let mut n = 0;
    let out = pipeline
        .call_hedged(&env.timer, &policy, || {
            n += 1;
            let first = n == 1;
            async move {
                if first {
                    pending::<()>().await;
                }
                Ok::<_, ()>(n)
            }
        })
        .observe(&rec)
        .await;
    assert_eq!(out.ok(), Some(2));
    assert_eq!(bulkhead.metrics().in_flight, 0);
    rec.assert_seen(&[
        "call_started",
        "attempt_started",
        "hedge_launched",
        "attempt_started",
        "attempt_ended",
        "hedge_won",
        "call_ended",
    ]);
}

/// A pipeline whose full bulkhead turns the call away: the rejection, not retried.
pub async fn a_pipeline_reports_a_refusal<T: Timer>(env: Env<T>) {
    let rec = Recorder::new();
    let bulkhead = Bulkhead::builder(1).reject_when_full().build().unwrap();
    let held = bulkhead.try_acquire().unwrap();
    let pipeline = Pipeline::builder()
        .retry(RetryPolicy::builder().max_attempts(3).build().unwrap())
        .bulkhead(&bulkhead)
        .build()
        .unwrap();
    let out = pipeline
        .call(&env.timer, || ready(Ok::<_, ()>(())))
        .observe(&rec)
        .await;
    assert!(out.is_err());
    drop(held);
    rec.assert_seen(&[
        "call_started",
        "attempt_started",
        "bulkhead_rejected",
        "attempt_ended",
        "call_ended",
    ]);
}

/// Expands the observer scenarios (see [`pipeline_scenarios!`](crate::pipeline_scenarios)).
#[macro_export]
macro_rules! observe_scenarios {
    (list $callback:ident ! ($($args:tt)*)) => {
        $crate::observe_scenarios!(@names $callback ($($args)*));
    };
    ($run:path) => {
        $crate::observe_scenarios!(@names each_test ($run;));
    };
    (@names $callback:ident ($($args:tt)*)) => {
        $crate::__conformance_dispatch!($callback ($($args)*) observe;
            a_retry_reports_its_attempts,
            a_timeout_reports_its_expiry,
            a_bulkhead_reports_queueing_and_rejection,
            a_bulkhead_run_reports_its_wait,
            a_limiter_reports_its_refusal,
            a_breaker_reports_its_transitions_and_rejections,
            a_hedge_reports_its_launch_and_winner,
            a_pipeline_reports_every_stage,
            a_hedged_pipeline_reports_the_hedge,
            a_pipeline_reports_a_refusal,
        );
    };
}
