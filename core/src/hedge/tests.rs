//! Unit tests of hedging, in virtual time.

use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::rc::Rc;
use std::string::ToString;
use std::vec::Vec;

use super::*;
use crate::bulkhead::Bulkhead;
use crate::retry::{GiveUpReason, RetryBudget};
use crate::test_util::schedule::{Rng, Sim};
use crate::test_util::schedules;
use crate::{Instant, Timer, VirtualTimer};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn at(n: u64) -> Instant {
    Instant::from_nanos(n * 1_000_000_000)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fail {
    Soft(u32),
    Fatal(u32),
}

fn non_fatal(e: &Fail) -> bool {
    matches!(e, Fail::Soft(_))
}

/// How attempt `n` ends: after how long, with what (`None`: never).
type Plan = fn(u32) -> (Duration, Option<Result<u32, Fail>>);

/// What the attempts did: when each started, and how many are alive (made, not dropped).
#[derive(Default)]
struct Log {
    starts: RefCell<Vec<Instant>>,
    live: Cell<u32>,
}

struct Alive<'a>(&'a Log);

impl Drop for Alive<'_> {
    fn drop(&mut self) {
        self.0.live.set(self.0.live.get() - 1);
    }
}

/// The attempts of a call, by `plan`, on `timer`.
fn attempts<'a>(
    timer: &'a VirtualTimer,
    log: &'a Log,
    plan: Plan,
) -> impl FnMut() -> Pin<std::boxed::Box<dyn Future<Output = Result<u32, Fail>> + 'a>> + 'a {
    move || {
        log.starts.borrow_mut().push(timer.now());
        let n = log.starts.borrow().len() as u32;
        log.live.set(log.live.get() + 1);
        let alive = Alive(log);
        let (after, out) = plan(n);
        std::boxed::Box::pin(async move {
            let _alive = alive;
            timer.sleep(after).await;
            match out {
                Some(out) => out,
                None => core::future::pending().await,
            }
        })
    }
}

/// Polls `fut` to its end, moving the clock to the next deadline whenever it waits; when it
/// ends, checks that every attempt is gone already.
fn drive<F: Future>(timer: &VirtualTimer, log: &Log, fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            assert_eq!(
                log.live.get(),
                0,
                "every attempt is dropped before the result"
            );
            return out;
        }
        timer
            .advance_to_next()
            .expect("the hedge waits on the clock");
    }
}

fn policy(max: u32, delay: Duration) -> HedgePolicy {
    HedgePolicy::builder()
        .max_attempts(max)
        .delay(delay)
        .build()
        .unwrap()
}

fn starts(log: &Log) -> Vec<Instant> {
    log.starts.borrow().clone()
}

#[test]
fn a_first_attempt_that_succeeds_before_the_delay_is_all_there_is() {
    let (timer, log) = (VirtualTimer::new(), Log::default());
    let plan: Plan = |_| (secs(1), Some(Ok(7)));
    let out = drive(
        &timer,
        &log,
        policy(3, secs(2)).run(&timer, attempts(&timer, &log, plan)),
    );
    assert_eq!(out, Ok(7));
    assert_eq!(starts(&log), [at(0)]);
    assert_eq!(timer.now(), at(1));
    assert_eq!(timer.sleepers(), 0);
}

#[test]
fn a_ready_first_attempt_reads_no_clock_and_makes_no_sleep() {
    struct Counting(VirtualTimer, Rc<Cell<u32>>);
    impl Clone for Counting {
        fn clone(&self) -> Self {
            Counting(self.0.clone(), self.1.clone())
        }
    }
    impl Timer for Counting {
        type Sleep = <VirtualTimer as Timer>::Sleep;
        fn now(&self) -> Instant {
            self.1.set(self.1.get() + 1);
            self.0.now()
        }
        fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
            self.1.set(self.1.get() + 100);
            self.0.sleep_until(deadline)
        }
    }
    let reads = Rc::new(Cell::new(0));
    let timer = Counting(VirtualTimer::new(), reads.clone());
    let hedge = policy(3, secs(2)).run(&timer, || async { Ok::<_, Fail>(1) });
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(pin!(hedge).poll(&mut cx), Poll::Ready(Ok(1)));
    assert_eq!(reads.get(), 0);
}

#[test]
fn a_slow_attempt_is_hedged_after_the_delay_and_the_loser_dropped_before_the_result() {
    let (timer, log) = (VirtualTimer::new(), Log::default());
    // The first hangs; the second answers after 1 s.
    let plan: Plan = |n| match n {
        1 => (secs(100), Some(Ok(1))),
        _ => (secs(1), Some(Ok(2))),
    };
    let out = drive(
        &timer,
        &log,
        policy(2, secs(3)).run(&timer, attempts(&timer, &log, plan)),
    );
    assert_eq!(out, Ok(2));
    assert_eq!(starts(&log), [at(0), at(3)]);
    assert_eq!(timer.now(), at(4));
    assert_eq!(timer.sleepers(), 0, "the loser's sleep went with it");
}

#[test]
fn hedges_are_delay_apart_from_the_attempt_before_them() {
    let (timer, log) = (VirtualTimer::new(), Log::default());
    let plan: Plan = |n| match n {
        4 => (secs(1), Some(Ok(4))),
        _ => (secs(100), Some(Ok(n))),
    };
    let out = drive(
        &timer,
        &log,
        policy(5, secs(2)).run(&timer, attempts(&timer, &log, plan)),
    );
    assert_eq!(out, Ok(4));
    assert_eq!(starts(&log), [at(0), at(2), at(4), at(6)]);
}

#[test]
fn a_non_fatal_failure_starts_the_next_hedge_at_once_and_the_delay_counts_again() {
    let (timer, log) = (VirtualTimer::new(), Log::default());
    // 1 fails at 1 s (delay 10 s not waited); 2 hangs; 3 comes 10 s after 2 and wins.
    let plan: Plan = |n| match n {
        1 => (secs(1), Some(Err(Fail::Soft(1)))),
        2 => (secs(100), Some(Ok(2))),
        _ => (secs(1), Some(Ok(3))),
    };
    let hedge = policy(3, secs(10))
        .run(&timer, attempts(&timer, &log, plan))
        .when(non_fatal);
    assert_eq!(drive(&timer, &log, hedge), Ok(3));
    assert_eq!(starts(&log), [at(0), at(1), at(11)]);
}

#[test]
fn a_failure_at_the_first_poll_hedges_within_that_poll() {
    let (timer, log) = (VirtualTimer::new(), Log::default());
    let plan: Plan = |n| match n {
        1 => (Duration::ZERO, Some(Err(Fail::Soft(1)))),
        _ => (Duration::ZERO, Some(Ok(n))),
    };
    let hedge = policy(2, secs(10)).run(&timer, attempts(&timer, &log, plan));
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(pin!(hedge).poll(&mut cx), Poll::Ready(Ok(2)));
    assert_eq!(starts(&log), [at(0), at(0)]);
}

#[test]
fn a_suggested_delay_puts_the_next_hedge_off_even_with_nothing_in_flight() {
    let (timer, log) = (VirtualTimer::new(), Log::default());
    // 1 fails at 1 asking for 3 s: 2 starts at 4 (not at once, not at 10), fails at once
    // without a hint: 3 starts at 4 too, and 4 at 14.
    let plan: Plan = |n| match n {
        1 => (secs(1), Some(Err(Fail::Soft(3)))),
        2 => (Duration::ZERO, Some(Err(Fail::Soft(0)))),
        3 => (secs(100), Some(Ok(3))),
        _ => (secs(1), Some(Ok(4))),
    };
    let hedge = policy(4, secs(10))
        .run(&timer, attempts(&timer, &log, plan))
        .retry_after(|e| match e {
            Fail::Soft(0) => None,
            Fail::Soft(s) => Some(secs(u64::from(*s))),
            Fail::Fatal(_) => None,
        });
    assert_eq!(drive(&timer, &log, hedge), Ok(4));
    assert_eq!(starts(&log), [at(0), at(4), at(4), at(14)]);
}

#[test]
fn a_suggested_delay_past_the_deadline_or_endless_starts_no_further_hedge() {
    for (deadline, hint) in [(Some(secs(5)), secs(6)), (None, Duration::MAX)] {
        let (timer, log) = (VirtualTimer::new(), Log::default());
        let plan: Plan = |n| match n {
            1 => (secs(1), Some(Err(Fail::Soft(1)))),
            _ => (secs(3), Some(Err(Fail::Soft(2)))),
        };
        let mut b = HedgePolicy::builder().max_attempts(3).delay(secs(2));
        if let Some(d) = deadline {
            b = b.max_elapsed(d);
        }
        // 1 fails at 1 with the hint: no hedge after it; the one due at 2 does not start.
        let hedge = b
            .build()
            .unwrap()
            .run(&timer, attempts(&timer, &log, plan))
            .retry_after(move |_| Some(hint));
        let err = drive(&timer, &log, hedge).unwrap_err();
        assert_eq!((err.attempts(), err.reason()), (1, GiveUpReason::Deadline));
        assert_eq!(starts(&log), [at(0)]);
        assert_eq!(timer.now(), at(1), "no hang on an endless hint");
    }
}

#[test]
fn a_fatal_failure_cancels_every_attempt_and_returns_it() {
    let (timer, log) = (VirtualTimer::new(), Log::default());
    let plan: Plan = |n| match n {
        2 => (secs(1), Some(Err(Fail::Fatal(2)))),
        _ => (secs(100), Some(Ok(n))),
    };
    let hedge = policy(4, secs(1))
        .run(&timer, attempts(&timer, &log, plan))
        .when(non_fatal);
    let err = drive(&timer, &log, hedge).unwrap_err();
    assert_eq!(err.reason(), GiveUpReason::Permanent);
    assert!(err.is_fatal());
    assert_eq!(err.error(), Some(&Fail::Fatal(2)));
    // 1 at 0, 2 at 1; 2 fails at 2, when 3 was due: the failure is seen first, and 3 never
    // starts.
    assert_eq!(err.attempts(), 2);
    assert_eq!(starts(&log), [at(0), at(1)]);
    assert_eq!(timer.now(), at(2));
    assert_eq!(timer.sleepers(), 0);
    assert_eq!(
        err.to_string(),
        "hedged call failed after 2 attempts: fatal error"
    );
}

#[test]
fn when_every_attempt_fails_the_error_holds_the_last_and_the_count() {
    let (timer, log) = (VirtualTimer::new(), Log::default());
    // 1 fails last (at 10 s), 2 and 3 earlier.
    let plan: Plan = |n| match n {
        1 => (secs(10), Some(Err(Fail::Soft(1)))),
        n => (secs(1), Some(Err(Fail::Soft(n)))),
    };
    let err = drive(
        &timer,
        &log,
        policy(3, secs(2)).run(&timer, attempts(&timer, &log, plan)),
    )
    .unwrap_err();
    assert_eq!(err.reason(), GiveUpReason::AttemptsExhausted);
    assert_eq!((err.attempts(), err.into_error()), (3, Some(Fail::Soft(1))));
    // 2 at 2 fails at 3, so 3 starts at 3 and fails at 4; 1 fails at 10.
    assert_eq!(starts(&log), [at(0), at(2), at(3)]);
    assert_eq!(timer.now(), at(10));
}

#[test]
fn a_zero_delay_starts_every_attempt_at_once() {
    let (timer, log) = (VirtualTimer::new(), Log::default());
    let plan: Plan = |n| (secs(u64::from(10 - n)), Some(Ok(n)));
    let out = drive(
        &timer,
        &log,
        policy(5, Duration::ZERO).run(&timer, attempts(&timer, &log, plan)),
    );
    assert_eq!(out, Ok(5));
    assert_eq!(starts(&log), [at(0); 5]);
    assert_eq!(timer.now(), at(5));
}

#[test]
fn an_endless_delay_hedges_only_on_failures() {
    let (timer, log) = (VirtualTimer::new(), Log::default());
    let plan: Plan = |n| match n {
        1 => (secs(5), Some(Err(Fail::Soft(1)))),
        _ => (secs(5), Some(Ok(n))),
    };
    let out = drive(
        &timer,
        &log,
        policy(3, Duration::MAX).run(&timer, attempts(&timer, &log, plan)),
    );
    assert_eq!(out, Ok(2));
    assert_eq!(starts(&log), [at(0), at(5)]);
    assert_eq!(timer.now(), at(10));
}

#[test]
fn a_delay_function_gives_each_hedge_its_delay() {
    let (timer, log) = (VirtualTimer::new(), Log::default());
    let plan: Plan = |n| (secs(100), Some(Ok(n)));
    let p = HedgePolicy::builder()
        .max_attempts(4)
        .delay_fn(|n| secs(u64::from(n)))
        .build()
        .unwrap();
    assert_eq!(p.delay_after(3), secs(3));
    let out = drive(&timer, &log, p.run(&timer, attempts(&timer, &log, plan)));
    assert_eq!(out, Ok(1));
    assert_eq!(starts(&log), [at(0), at(1), at(3), at(6)]);
}

#[test]
fn no_hedge_starts_after_the_deadline() {
    let (timer, log) = (VirtualTimer::new(), Log::default());
    // Hedges at 0, 3; the next (6) would be past the 5 s deadline.
    let plan: Plan = |n| (secs(20), Some(Err(Fail::Soft(n))));
    let p = HedgePolicy::builder()
        .max_attempts(5)
        .delay(secs(3))
        .max_elapsed(secs(5))
        .build()
        .unwrap();
    let err = drive(&timer, &log, p.run(&timer, attempts(&timer, &log, plan))).unwrap_err();
    assert_eq!(starts(&log), [at(0), at(3)]);
    assert_eq!((err.attempts(), err.reason()), (2, GiveUpReason::Deadline));
    assert_eq!(err.error(), Some(&Fail::Soft(2)));
}

#[test]
fn a_failure_after_the_deadline_starts_no_hedge_but_one_at_it_does() {
    let (timer, log) = (VirtualTimer::new(), Log::default());
    let plan: Plan = |n| match n {
        1 => (secs(5), Some(Err(Fail::Soft(1)))),
        2 => (secs(1), Some(Err(Fail::Soft(2)))),
        _ => (secs(1), Some(Ok(3))),
    };
    let p = policy(3, Duration::MAX);
    let t0 = timer.now();
    let hedge = p
        .run(&timer, attempts(&timer, &log, plan))
        .deadline(t0 + secs(5));
    let err = drive(&timer, &log, hedge).unwrap_err();
    // 1 fails at 5 (at the deadline: 2 starts), 2 fails at 6 (past it: no third).
    assert_eq!(starts(&log), [at(0), at(5)]);
    assert_eq!((err.attempts(), err.reason()), (2, GiveUpReason::Deadline));
}

#[test]
fn a_deadline_passed_at_the_first_poll_makes_no_attempt() {
    let (timer, log) = (VirtualTimer::new(), Log::default());
    timer.advance(secs(10));
    let plan: Plan = |n| (secs(1), Some(Ok(n)));
    let hedge = policy(2, secs(1))
        .run(&timer, attempts(&timer, &log, plan))
        .deadline(at(9));
    let err = drive(&timer, &log, hedge).unwrap_err();
    assert_eq!(
        (err.attempts(), err.reason(), err.error()),
        (0, GiveUpReason::Deadline, None)
    );
    assert_eq!(
        err.to_string(),
        "hedged call made no attempt: deadline reached"
    );
    assert!(starts(&log).is_empty());
}

#[test]
fn an_empty_budget_sends_no_hedge_but_the_first_attempt_goes() {
    let (timer, log) = (VirtualTimer::new(), Log::default());
    let budget = RetryBudget::builder()
        .min_retries(0)
        .percent(0)
        .build()
        .unwrap();
    let plan: Plan = |n| (secs(5), Some(Err(Fail::Soft(n))));
    let hedge = policy(3, secs(1))
        .run(&timer, attempts(&timer, &log, plan))
        .budget(&budget);
    let err = drive(&timer, &log, hedge).unwrap_err();
    assert_eq!(starts(&log), [at(0)]);
    assert_eq!((err.attempts(), err.reason()), (1, GiveUpReason::Budget));
    assert_eq!(budget.recent_counts(timer.now()), (1, 0));
}

#[test]
fn budget_tokens_are_spent_only_by_hedges_that_start() {
    let (timer, log) = (VirtualTimer::new(), Log::default());
    // A floor of 3 hedges for every call together.
    let budget = RetryBudget::builder()
        .min_retries(3)
        .percent(0)
        .window(secs(3600))
        .build()
        .unwrap();
    let plan: Plan = |n| match n {
        3 => (secs(1), Some(Ok(3))),
        _ => (secs(100), Some(Ok(n))),
    };
    let hedge = policy(5, secs(1))
        .run(&timer, attempts(&timer, &log, plan))
        .budget(&budget);
    assert_eq!(drive(&timer, &log, hedge), Ok(3));
    // Attempts 1..=3 started (2 hedges), 3 won at 3 s before 4 was due: 2 tokens spent.
    assert_eq!(starts(&log), [at(0), at(1), at(2)]);
    assert_eq!(budget.recent_counts(timer.now()), (1, 2));
    // The next call gets the one left, then none.
    let log = Log::default();
    let plan: Plan = |n| (secs(100), Some(Err(Fail::Soft(n))));
    let hedge = policy(5, secs(1))
        .run(&timer, attempts(&timer, &log, plan))
        .budget(&budget);
    let err = drive(&timer, &log, hedge).unwrap_err();
    assert_eq!((err.attempts(), err.reason()), (2, GiveUpReason::Budget));
    assert_eq!(budget.recent_counts(timer.now()), (2, 3));
}

#[test]
fn dropping_the_hedge_mid_flight_drops_every_attempt_and_the_sleep() {
    let (timer, log) = (VirtualTimer::new(), Log::default());
    let plan: Plan = |n| (secs(100), Some(Ok(n)));
    {
        let mut hedge = pin!(policy(3, secs(1)).run(&timer, attempts(&timer, &log, plan)));
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..2 {
            assert!(hedge.as_mut().poll(&mut cx).is_pending());
            timer.advance_to_next();
        }
        assert!(hedge.as_mut().poll(&mut cx).is_pending());
        assert_eq!((hedge.attempts(), hedge.in_flight()), (3, 3));
        assert_eq!(log.live.get(), 3);
    }
    assert_eq!(log.live.get(), 0);
    assert_eq!(timer.sleepers(), 0);
}

#[test]
fn losers_give_back_their_bulkhead_permits() {
    let (timer, log) = (VirtualTimer::new(), Log::default());
    let bulkhead = Bulkhead::new(2);
    let plan: Plan = |n| match n {
        2 => (secs(1), Some(Ok(2))),
        _ => (secs(100), Some(Ok(n))),
    };
    let mut make = attempts(&timer, &log, plan);
    let hedge = policy(2, secs(1)).run(&timer, || {
        let work = bulkhead.run(make());
        async move { work.await.unwrap_or(Err(Fail::Fatal(0))) }
    });
    assert_eq!(drive(&timer, &log, hedge), Ok(2));
    let m = bulkhead.metrics();
    assert_eq!((m.in_flight, m.waiting, m.high_water), (0, 0, 2));
}

#[test]
fn one_attempt_is_no_hedge() {
    let (timer, log) = (VirtualTimer::new(), Log::default());
    let plan: Plan = |n| (secs(5), Some(Err(Fail::Soft(n))));
    let err = drive(
        &timer,
        &log,
        policy(1, secs(1)).run(&timer, attempts(&timer, &log, plan)),
    )
    .unwrap_err();
    assert_eq!(
        (err.attempts(), err.reason()),
        (1, GiveUpReason::AttemptsExhausted)
    );
    assert_eq!(
        err.to_string(),
        "hedged call failed after 1 attempt: attempts exhausted"
    );
}

#[test]
fn bad_settings_are_rejected_naming_the_field() {
    for n in [0, 6, u32::MAX] {
        let err = HedgePolicy::builder().max_attempts(n).build().unwrap_err();
        assert_eq!((err.pattern(), err.field()), ("hedge", "max_attempts"));
    }
    assert_eq!(
        HedgePolicy::builder()
            .max_attempts(0)
            .build()
            .unwrap_err()
            .problem(),
        "must be at least 1"
    );
    for n in 1..=5 {
        assert_eq!(
            HedgePolicy::builder()
                .max_attempts(n)
                .build()
                .unwrap()
                .max_attempts(),
            n
        );
    }
    let p = HedgePolicy::default();
    assert_eq!(
        (p.max_attempts(), p.delay_after(1), p.max_elapsed()),
        (2, secs(2), None)
    );
    assert_eq!(policy(2, Duration::MAX).delay_after(1), Duration::MAX);
}

#[test]
#[should_panic(expected = "must be at most 5")]
fn build_const_panics_on_a_bad_setting() {
    let _ = HedgePolicy::builder().max_attempts(9).build_const();
}

#[test]
fn the_error_follows_the_crate_conventions() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<HedgeError<std::io::Error>>();
    let err = HedgeError::new(
        Some(std::io::Error::other("reset")),
        2,
        GiveUpReason::AttemptsExhausted,
    );
    let source = core::error::Error::source(&err).unwrap();
    assert_eq!(source.to_string(), "reset");
    assert!(!err.to_string().contains("reset"));
    let none: HedgeError<std::io::Error> = HedgeError::new(None, 0, GiveUpReason::Deadline);
    assert!(core::error::Error::source(&none).is_none());
    assert!(std::format!("{err:?}").contains("attempts: 2"));
}

#[test]
#[should_panic(expected = "polled after completion")]
fn polling_after_completion_panics() {
    let timer = VirtualTimer::new();
    let mut hedge = pin!(policy(2, secs(1)).run(&timer, || async { Ok::<_, Fail>(1) }));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(hedge.as_mut().poll(&mut cx).is_ready());
    let _ = hedge.as_mut().poll(&mut cx);
}

/// Random schedules: several hedged calls over one bulkhead and one budget, attempts that
/// succeed, fail (fatally or not) or hang, callers cancelled at random points. Nothing leaks:
/// every attempt and permit is gone, no sleep is left, the budget counts exactly the calls and
/// hedges that started, and no call starts more than its attempts or any after its deadline.
#[test]
fn random_schedules_with_cancellation_leak_nothing() {
    // Over all seeds: calls ended by a value, by each reason, cancelled; hedges started.
    let (mut cancelled, mut hedges) = (0, 0);
    let ended = Cell::new((0u32, 0u32, 0u32));
    for seed in 0..schedules(10_000) {
        let mut rng = Rng::new(seed);
        let timer = VirtualTimer::new();
        let bulkhead = Bulkhead::new(1 + rng.below(3));
        let budget = RetryBudget::builder()
            .min_retries(rng.below(6) as u32)
            .percent(0)
            .window(secs(1 << 20))
            .build()
            .unwrap();
        let live = Cell::new(0u32);
        // Budgeted calls whose first attempt started, and their hedges.
        let calls_made = Cell::new(0u32);
        let made = Cell::new(0u32);
        let mut sim = Sim::new(seed, rng.below(60));
        for _ in 0..1 + rng.below(4) {
            let max = 1 + rng.below(5) as u32;
            let delay = match rng.below(4) {
                0 => Duration::ZERO,
                1 => Duration::MAX,
                _ => secs(1 + rng.below(3) as u64),
            };
            let elapsed = rng.below(3).checked_sub(1).map(|s| secs(2 * s as u64));
            let mut b = HedgePolicy::builder().max_attempts(max).delay(delay);
            if let Some(e) = elapsed {
                b = b.max_elapsed(e);
            }
            let p = b.build().unwrap();
            let outcomes: Vec<(u64, u8)> = (0..5)
                .map(|_| (rng.below(4) as u64, rng.below(10) as u8))
                .collect();
            let use_budget = rng.below(2) == 0;
            let pushback = rng.below(2) == 0;
            let (timer, bulkhead, budget) = (&timer, &bulkhead, &budget);
            let (live, made, calls_made, ended) = (&live, &made, &calls_made, &ended);
            let mine = Rc::new(Cell::new(0u32));
            sim.spawn(
                async move {
                    let t0 = timer.now();
                    let mut n = 0usize;
                    let mine2 = mine.clone();
                    let make = move || {
                        if let Some(e) = elapsed {
                            assert!(timer.now() <= t0 + e, "a hedge after the deadline");
                        }
                        let (after, kind) = outcomes[n];
                        n += 1;
                        assert!(n as u32 <= max, "more attempts than allowed");
                        if use_budget {
                            let counter = if n == 1 { calls_made } else { made };
                            counter.set(counter.get() + 1);
                        }
                        live.set(live.get() + 1);
                        mine2.set(mine2.get() + 1);
                        let guard = Guard(live, mine2.clone());
                        let work = bulkhead.run(async move {
                            let _guard = guard;
                            timer.sleep(secs(after)).await;
                            match kind {
                                0..=2 => Ok(kind),
                                3..=6 => Err(Fail::Soft(u32::from(kind))),
                                7 => Err(Fail::Fatal(7)),
                                _ => core::future::pending().await,
                            }
                        });
                        async move { work.await.unwrap_or(Err(Fail::Fatal(0))) }
                    };
                    let own = RetryBudget::new();
                    let b = if use_budget { budget } else { &own };
                    // Some errors suggest a delay, or an endless one.
                    let hint = move |e: &Fail| match (pushback, e) {
                        (true, Fail::Soft(4)) => Some(secs(1)),
                        (true, Fail::Soft(5)) => Some(Duration::MAX),
                        _ => None,
                    };
                    let out = p
                        .run(timer, make)
                        .when(non_fatal)
                        .retry_after(hint)
                        .budget(b)
                        .await;
                    assert_eq!(mine.get(), 0, "an attempt outlived its call");
                    let (w, f, x) = ended.get();
                    match out {
                        Ok(_) => ended.set((w + 1, f, x)),
                        Err(e) => {
                            assert!(e.attempts() <= max);
                            if e.is_fatal() {
                                ended.set((w, f + 1, x));
                            } else {
                                ended.set((w, f, x + 1));
                            }
                        }
                    }
                },
                true,
            );
        }
        loop {
            sim.run(10_000);
            if timer.advance_to_next().is_none() {
                break;
            }
        }
        cancelled += sim.cancelled;
        drop(sim);
        assert_eq!(live.get(), 0, "seed {seed}: an attempt leaked");
        let m = bulkhead.metrics();
        assert_eq!(
            (m.in_flight, m.waiting),
            (0, 0),
            "seed {seed}: a permit leaked"
        );
        assert_eq!(timer.sleepers(), 0, "seed {seed}: a sleep leaked");
        let (deposits, withdrawals) = budget.recent_counts(timer.now());
        // One deposit per call that started, one withdrawal per hedge that started.
        assert_eq!(
            (deposits, withdrawals),
            (calls_made.get(), made.get()),
            "seed {seed}"
        );
        hedges += withdrawals;
    }
    let (won, fatal, exhausted) = ended.get();
    if schedules(10_000) >= 1_000 {
        assert!(won > 0 && fatal > 0 && exhausted > 0 && cancelled > 0 && hedges > 0);
    }
}

struct Guard<'a>(&'a Cell<u32>, Rc<Cell<u32>>);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
        self.1.set(self.1.get() - 1);
    }
}
