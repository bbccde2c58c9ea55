//! Hedging scenarios: the hedge after the delay, a non-fatal failure hedging at once, a
//! fatal one cancelling all, losers and a dropped caller giving back what they hold, the
//! budget's tokens, no hedge after the deadline, bad settings. No std, no heap.

use core::future::{Future, pending};
use core::time::Duration;

use portable_atomic::{AtomicBool, AtomicU32, Ordering};
use steadfast::Timer;
use steadfast::breaker::CircuitBreaker;
use steadfast::bulkhead::Bulkhead;
use steadfast::hedge::HedgePolicy;
use steadfast::retry::{GiveUpReason, RetryBudget};
use steadfast::timeout::timeout;

use crate::{Clock, Env, SetOnDrop};

/// An attempt's error: `Busy` is non-fatal, `Gone` fatal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fail {
    Busy,
    Gone,
}

fn non_fatal(e: &Fail) -> bool {
    *e == Fail::Busy
}

/// How attempt `n` (from 1) ends: after how many units, with what (`None`: never).
type Plan = fn(u32) -> (u32, Option<Result<u32, Fail>>);

/// The attempts of one call: how many were made, and which were dropped.
struct Log {
    made: AtomicU32,
    dropped: [AtomicBool; 5],
}

impl Log {
    const fn new() -> Self {
        Log {
            made: AtomicU32::new(0),
            dropped: [const { AtomicBool::new(false) }; 5],
        }
    }

    fn made(&self) -> u32 {
        self.made.load(Ordering::SeqCst)
    }

    fn dropped(&self, n: u32) -> bool {
        self.dropped[n as usize - 1].load(Ordering::SeqCst)
    }
}

/// The next attempt of a call by `plan`, counted in `log`, sleeping on `env`'s timer.
fn attempt<'a, T: Timer>(
    env: &'a Env<T>,
    log: &'a Log,
    plan: Plan,
) -> impl Future<Output = Result<u32, Fail>> + 'a {
    let n = log.made.fetch_add(1, Ordering::SeqCst) + 1;
    let (units, out) = plan(n);
    let guard = SetOnDrop(&log.dropped[n as usize - 1]);
    async move {
        let _guard = guard;
        env.timer.sleep(env.units(units)).await;
        match out {
            Some(out) => out,
            None => pending().await,
        }
    }
}

fn policy(max: u32, delay: Duration) -> HedgePolicy {
    HedgePolicy::builder()
        .max_attempts(max)
        .delay(delay)
        .build()
        .unwrap()
}

/// The first attempt answers before the delay: it is the only one.
pub async fn a_fast_first_attempt_is_the_only_one<T: Timer>(env: Env<T>) {
    let log = Log::new();
    let start = env.timer.now();
    let plan: Plan = |n| (1, Some(Ok(n)));
    let out = policy(3, env.units(5))
        .run(&env.timer, || attempt(&env, &log, plan))
        .await;
    assert_eq!(out, Ok(1));
    assert_eq!(log.made(), 1);
    env.assert_elapsed(start, env.units(1));
}

/// Slow attempts are hedged one delay apart; the first success wins, and when the result is
/// returned every loser has been dropped already, its bulkhead permit with it.
pub async fn losers_are_dropped_before_the_result_is_returned<T: Timer>(env: Env<T>) {
    let log = Log::new();
    let bulkhead = Bulkhead::new(3);
    let start = env.timer.now();
    let plan: Plan = |n| match n {
        3 => (1, Some(Ok(3))),
        n => (20, Some(Ok(n))),
    };
    let out = policy(3, env.units(1))
        .run(&env.timer, || {
            let work = bulkhead.run(attempt(&env, &log, plan));
            async move { work.await.unwrap_or(Err(Fail::Gone)) }
        })
        .await;
    assert_eq!(out, Ok(3));
    assert!(log.dropped(1) && log.dropped(2), "the losers are gone");
    assert_eq!(
        bulkhead.metrics().in_flight,
        0,
        "and their permits with them"
    );
    assert_eq!(log.made(), 3);
    env.assert_elapsed(start, env.units(3));
}

/// A loser's circuit breaker permit goes back unrecorded: the breaker counts the winner's
/// outcome only, not a failure for the attempt that was cancelled.
pub async fn losers_give_back_their_breaker_permits_unrecorded<T: Timer>(env: Env<T>) {
    let log = Log::new();
    let breaker: CircuitBreaker<2> = CircuitBreaker::builder()
        .count_window(10, 1)
        .build()
        .unwrap();
    let plan: Plan = |n| match n {
        1 => (20, Some(Ok(1))),
        n => (1, Some(Ok(n))),
    };
    let out = policy(2, env.units(1))
        .run(&env.timer, || {
            let work = breaker.run(&env.timer, attempt(&env, &log, plan));
            async move {
                work.await
                    .map_err(|e| e.into_failed().unwrap_or(Fail::Gone))
            }
        })
        .await;
    assert_eq!(out, Ok(2));
    assert!(log.dropped(1));
    let m = breaker.metrics(env.timer.now());
    assert_eq!((m.calls, m.failures), (1, 0), "the loser recorded nothing");
}

/// A non-fatal failure starts the next hedge at once: the delay is not waited.
pub async fn a_non_fatal_failure_hedges_with_no_delay_waited<T: Timer>(env: Env<T>) {
    let log = Log::new();
    let start = env.timer.now();
    let plan: Plan = |n| match n {
        1 => (1, Some(Err(Fail::Busy))),
        n => (1, Some(Ok(n))),
    };
    let out = policy(2, env.units(10))
        .run(&env.timer, || attempt(&env, &log, plan))
        .when(non_fatal)
        .await;
    assert_eq!(out, Ok(2));
    env.assert_elapsed(start, env.units(2));
}

/// An error's suggested delay puts the next hedge off by that much instead of starting it at
/// once, even with no attempt left in flight.
pub async fn a_suggested_delay_puts_the_next_hedge_off<T: Timer>(env: Env<T>) {
    let log = Log::new();
    let start = env.timer.now();
    let plan: Plan = |n| match n {
        1 => (1, Some(Err(Fail::Busy))),
        n => (1, Some(Ok(n))),
    };
    let wait = env.units(2);
    let out = policy(2, env.units(10))
        .run(&env.timer, || attempt(&env, &log, plan))
        .retry_after(|_| Some(wait))
        .await;
    assert_eq!(out, Ok(2));
    // 1 fails at 1, 2 starts at 3 and answers at 4.
    env.assert_elapsed(start, env.units(4));
}

/// A fatal failure cancels every attempt in flight and ends the call with that error.
pub async fn a_fatal_failure_cancels_all<T: Timer>(env: Env<T>) {
    let log = Log::new();
    let start = env.timer.now();
    let plan: Plan = |n| match n {
        3 => (1, Some(Err(Fail::Gone))),
        n => (20, Some(Ok(n))),
    };
    let err = policy(3, env.units(1))
        .run(&env.timer, || attempt(&env, &log, plan))
        .when(non_fatal)
        .await
        .unwrap_err();
    assert!(err.is_fatal());
    assert_eq!(err.reason(), GiveUpReason::Permanent);
    assert_eq!(err.error(), Some(&Fail::Gone));
    assert!(log.dropped(1) && log.dropped(2));
    assert_eq!((err.attempts(), log.made()), (3, 3));
    env.assert_elapsed(start, env.units(3));
}

/// The caller dropping the hedge mid-flight (here a timeout around it) drops every attempt
/// and gives back every permit.
pub async fn the_caller_dropped_mid_hedge_drops_everything<T: Timer>(env: Env<T>) {
    let log = Log::new();
    let bulkhead = Bulkhead::new(3);
    let plan: Plan = |n| (20, Some(Ok(n)));
    let hedge = policy(3, env.units(1)).run(&env.timer, || {
        let work = bulkhead.run(attempt(&env, &log, plan));
        async move { work.await.unwrap_or(Err(Fail::Gone)) }
    });
    let limit = env.units(2) + env.unit / 2;
    assert!(timeout(&env.timer, limit, hedge).await.is_err());
    let made = log.made();
    if env.clock == Clock::Virtual {
        assert_eq!(made, 3);
    }
    assert!((1..=made).all(|n| log.dropped(n)), "every attempt is gone");
    assert_eq!(bulkhead.metrics().in_flight, 0);
}

/// Each hedge spends one budget token as it starts, and only then; an empty budget sends no
/// hedge, while the first attempt still goes.
pub async fn budget_tokens_are_conserved<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let budget = RetryBudget::builder()
        .min_retries(1)
        .percent(0)
        .window(env.units(1000))
        .build()
        .unwrap();
    let log = Log::new();
    let plan: Plan = |n| match n {
        1 => (20, Some(Ok(1))),
        n => (1, Some(Ok(n))),
    };
    let out = policy(3, env.units(1))
        .run(t, || attempt(&env, &log, plan))
        .budget(&budget)
        .await;
    assert_eq!(out, Ok(2));
    assert_eq!(budget.recent_counts(t.now()), (1, 1));

    let log = Log::new();
    let plan: Plan = |_| (1, Some(Err(Fail::Busy)));
    let err = policy(3, env.units(1))
        .run(t, || attempt(&env, &log, plan))
        .budget(&budget)
        .await
        .unwrap_err();
    assert_eq!((err.attempts(), err.reason()), (1, GiveUpReason::Budget));
    assert_eq!(budget.recent_counts(t.now()), (2, 1));
}

/// No hedge starts after the deadline; the attempts started before it run to their end.
pub async fn no_hedge_after_the_deadline<T: Timer>(env: Env<T>) {
    let log = Log::new();
    let start = env.timer.now();
    let plan: Plan = |_| (5, Some(Err(Fail::Busy)));
    let policy = HedgePolicy::builder()
        .max_attempts(5)
        .delay(env.units(1))
        .max_elapsed(env.units(2) + env.unit / 2)
        .build()
        .unwrap();
    let err = policy
        .run(&env.timer, || attempt(&env, &log, plan))
        .await
        .unwrap_err();
    assert_eq!(err.reason(), GiveUpReason::Deadline);
    assert_eq!(err.error(), Some(&Fail::Busy));
    if env.clock == Clock::Virtual {
        // Hedges at 1 and 2; the one due at 3 is past the deadline.
        assert_eq!(err.attempts(), 3);
        env.assert_elapsed(start, env.units(7));
    } else {
        assert!((2..=3).contains(&err.attempts()));
    }
}

/// Settings out of range are refused, naming the field.
pub async fn bad_settings_are_rejected<T: Timer>(_env: Env<T>) {
    for n in [0, 6] {
        let err = HedgePolicy::builder().max_attempts(n).build().unwrap_err();
        assert_eq!((err.pattern(), err.field()), ("hedge", "max_attempts"));
    }
    assert!(HedgePolicy::builder().max_attempts(5).build().is_ok());
}

/// Every hedging scenario.
#[macro_export]
macro_rules! hedge_scenarios {
    (list $callback:ident ! ($($args:tt)*)) => {
        $crate::hedge_scenarios!(@names $callback ($($args)*));
    };
    ($run:path) => {
        $crate::hedge_scenarios!(@names each_test ($run;));
    };
    (@names $callback:ident ($($args:tt)*)) => {
        $crate::__conformance_dispatch!($callback ($($args)*) hedge;
            a_fast_first_attempt_is_the_only_one,
            losers_are_dropped_before_the_result_is_returned,
            losers_give_back_their_breaker_permits_unrecorded,
            a_non_fatal_failure_hedges_with_no_delay_waited,
            a_suggested_delay_puts_the_next_hedge_off,
            a_fatal_failure_cancels_all,
            the_caller_dropped_mid_hedge_drops_everything,
            budget_tokens_are_conserved,
            no_hedge_after_the_deadline,
            bad_settings_are_rejected,
        );
    };
}
