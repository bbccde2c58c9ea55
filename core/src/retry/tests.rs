//! Unit tests of the retry pattern, on a small deterministic clock of their own.

use core::cell::Cell;
use core::future::Future;
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::rc::Rc;
use std::string::ToString;
use std::vec::Vec;

use super::jitter::Rng;
use super::*;
use crate::{Instant, Timer};

mod props;

const S: Duration = Duration::from_secs(1);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A clock that jumps to the deadline of every sleep it is asked to wait for (or, when
/// `manual`, waits until moved by hand). Not `Send`: tests only.
#[derive(Clone, Default)]
struct JumpTimer {
    now: Rc<Cell<u64>>,
    manual: bool,
    sleeps: Rc<Cell<u32>>,
}

impl JumpTimer {
    fn manual() -> Self {
        JumpTimer {
            manual: true,
            ..Self::default()
        }
    }

    fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.now.get())
    }

    fn advance(&self, d: Duration) {
        self.now.set(self.now.get() + d.as_nanos() as u64);
    }
}

struct Jump {
    timer: JumpTimer,
    deadline: u64,
}

impl Future for Jump {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        let now = &self.timer.now;
        if now.get() >= self.deadline {
            return Poll::Ready(());
        }
        if self.timer.manual || self.deadline == u64::MAX {
            return Poll::Pending;
        }
        now.set(self.deadline);
        Poll::Ready(())
    }
}

impl Timer for JumpTimer {
    type Sleep = Jump;
    fn now(&self) -> Instant {
        Instant::from_nanos(self.now.get())
    }
    fn sleep_until(&self, deadline: Instant) -> Jump {
        self.sleeps.set(self.sleeps.get() + 1);
        Jump {
            timer: self.clone(),
            deadline: deadline.as_nanos(),
        }
    }
}

fn block_on<F: Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Error {
    /// Transient, carrying the number of the call that failed.
    Busy(u32),
    Gone,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{self:?}")
    }
}

fn exponential(attempts: u32) -> RetryPolicy {
    RetryPolicy::builder()
        .max_attempts(attempts)
        .exponential(S, 2.0)
        .build()
        .unwrap()
}

/// An operation that fails with `Busy(n)` on its first `failures` calls, then returns the
/// call number.
fn flaky(
    calls: &Cell<u32>,
    failures: u32,
) -> impl FnMut() -> core::future::Ready<Result<u32, Error>> + '_ {
    move || {
        calls.set(calls.get() + 1);
        let n = calls.get();
        core::future::ready(if n <= failures {
            Err(Error::Busy(n))
        } else {
            Ok(n)
        })
    }
}

#[test]
fn fails_three_times_then_succeeds_at_the_expected_instant() {
    let timer = JumpTimer::default();
    let calls = Cell::new(0);
    let result = block_on(flaky(&calls, 3).retry(&exponential(5), &timer));
    assert_eq!(result, Ok(4));
    assert_eq!(calls.get(), 4);
    assert_eq!(timer.elapsed(), secs(1 + 2 + 4));
}

#[test]
fn success_on_the_first_attempt_reads_no_clock_and_sleeps_never() {
    let timer = JumpTimer::default();
    let calls = Cell::new(0);
    let result = block_on(flaky(&calls, 0).retry(&exponential(5), &timer));
    assert_eq!(result, Ok(1));
    assert_eq!(timer.sleeps.get(), 0);
}

#[test]
fn attempts_exhausted_returns_the_last_error_and_the_count() {
    let timer = JumpTimer::default();
    let calls = Cell::new(0);
    let err = block_on(flaky(&calls, 10).retry(&exponential(3), &timer)).unwrap_err();
    assert_eq!(err.error(), Some(&Error::Busy(3)));
    assert_eq!(err.attempts(), 3);
    assert_eq!(err.reason(), GiveUpReason::AttemptsExhausted);
    assert!(err.timeout().is_none());
    assert_eq!(timer.elapsed(), secs(3));
    // The error's own text is left to the chain (`source`).
    assert_eq!(
        err.to_string(),
        "gave up after 3 attempts: attempts exhausted"
    );
    assert_eq!(err.into_error(), Some(Error::Busy(3)));
}

#[test]
fn one_attempt_means_no_retry() {
    let timer = JumpTimer::default();
    let calls = Cell::new(0);
    let err = block_on(flaky(&calls, 10).retry(&exponential(1), &timer)).unwrap_err();
    assert_eq!((err.attempts(), calls.get()), (1, 1));
    assert_eq!(
        err.to_string(),
        "gave up after 1 attempt: attempts exhausted"
    );
}

#[test]
fn permanent_error_stops_at_once() {
    let timer = JumpTimer::default();
    let calls = Cell::new(0);
    let op = || {
        calls.set(calls.get() + 1);
        async { Err::<(), _>(Error::Gone) }
    };
    let err = block_on(
        op.retry(&exponential(5), &timer)
            .when(|e| matches!(e, Error::Busy(_))),
    )
    .unwrap_err();
    assert_eq!(err.reason(), GiveUpReason::Permanent);
    assert_eq!((err.attempts(), calls.get()), (1, 1));
    assert_eq!(err.into_error(), Some(Error::Gone));
    assert_eq!(timer.elapsed(), Duration::ZERO);
}

#[test]
fn deadline_stops_before_a_sleep_that_would_end_past_it() {
    let policy = RetryPolicy::builder()
        .max_attempts(100)
        .constant(secs(2))
        .max_elapsed(secs(5))
        .build()
        .unwrap();
    let timer = JumpTimer::default();
    let calls = Cell::new(0);
    let err = block_on(flaky(&calls, 100).retry(&policy, &timer)).unwrap_err();
    // Attempts at 0, 2 and 4 s; a sleep to 6 s would pass the deadline at 5 s.
    assert_eq!(err.reason(), GiveUpReason::Deadline);
    assert_eq!(err.attempts(), 3);
    assert_eq!(timer.elapsed(), secs(4));
}

#[test]
fn an_attempt_may_start_exactly_at_the_deadline() {
    let policy = RetryPolicy::builder()
        .max_attempts(100)
        .constant(secs(2))
        .max_elapsed(secs(4))
        .build()
        .unwrap();
    let timer = JumpTimer::default();
    let calls = Cell::new(0);
    let err = block_on(flaky(&calls, 100).retry(&policy, &timer)).unwrap_err();
    assert_eq!((err.attempts(), err.reason()), (3, GiveUpReason::Deadline));
    assert_eq!(timer.elapsed(), secs(4));
}

#[test]
fn deadline_counts_from_the_first_poll_and_an_explicit_deadline_also_holds() {
    let policy = RetryPolicy::builder()
        .max_attempts(100)
        .constant(secs(1))
        .max_elapsed(secs(10))
        .build()
        .unwrap();
    let timer = JumpTimer::default();
    let calls = Cell::new(0);
    let fut = flaky(&calls, 100).retry(&policy, &timer);
    timer.advance(secs(50));
    let err = block_on(fut).unwrap_err();
    assert_eq!(err.attempts(), 11);
    assert_eq!(timer.elapsed(), secs(60));

    // The earlier of the two deadlines holds.
    let calls = Cell::new(0);
    let start = timer.now();
    let err = block_on(
        flaky(&calls, 100)
            .retry(&policy, &timer)
            .deadline(start + secs(3)),
    )
    .unwrap_err();
    assert_eq!((err.attempts(), err.reason()), (4, GiveUpReason::Deadline));
    assert_eq!(timer.now() - start, secs(3));
}

#[test]
fn a_slow_attempt_past_the_deadline_is_not_retried() {
    let policy = RetryPolicy::builder()
        .max_attempts(100)
        .constant(Duration::ZERO)
        .max_elapsed(secs(5))
        .build()
        .unwrap();
    let timer = JumpTimer::default();
    let t = timer.clone();
    let calls = Cell::new(0);
    let op = || {
        calls.set(calls.get() + 1);
        let sleep = t.sleep(secs(3));
        async move {
            sleep.await;
            Err::<(), _>(Error::Busy(0))
        }
    };
    let err = block_on(op.retry(&policy, &timer)).unwrap_err();
    // Attempts at 0 and 3 s; the second ends at 6 s, past the deadline.
    assert_eq!((err.attempts(), err.reason()), (2, GiveUpReason::Deadline));
    assert_eq!(timer.elapsed(), secs(6));
}

#[test]
fn retry_after_overrides_the_backoff_for_that_retry_only() {
    let policy = RetryPolicy::builder()
        .max_attempts(4)
        .constant(S)
        .max_delay(secs(2))
        .build()
        .unwrap();
    let timer = JumpTimer::default();
    let calls = Cell::new(0);
    let mut delays = Vec::new();
    let err = block_on(
        flaky(&calls, 10)
            .retry(&policy, &timer)
            .retry_after(|e| (*e == Error::Busy(1)).then_some(secs(10)))
            .notify(|n| delays.push((n.attempt(), n.error().cloned(), n.delay()))),
    )
    .unwrap_err();
    assert_eq!(err.attempts(), 4);
    // Not capped by max_delay, not jittered.
    assert_eq!(
        delays,
        [
            (1, Some(Error::Busy(1)), secs(10)),
            (2, Some(Error::Busy(2)), S),
            (3, Some(Error::Busy(3)), S)
        ]
    );
    assert_eq!(timer.elapsed(), secs(12));
}

#[test]
fn retry_after_is_still_bound_by_the_deadline() {
    let policy = RetryPolicy::builder()
        .max_attempts(4)
        .constant(S)
        .max_elapsed(secs(5))
        .build()
        .unwrap();
    let timer = JumpTimer::default();
    let calls = Cell::new(0);
    let err = block_on(
        flaky(&calls, 10)
            .retry(&policy, &timer)
            .retry_after(|_| Some(secs(6))),
    )
    .unwrap_err();
    assert_eq!((err.attempts(), err.reason()), (1, GiveUpReason::Deadline));
    assert_eq!(timer.elapsed(), Duration::ZERO);
}

#[test]
fn values_can_be_retried_and_the_last_one_is_returned_when_retrying_stops() {
    let timer = JumpTimer::default();
    let calls = Cell::new(0);
    let mut notified = Vec::new();
    let result = block_on(
        flaky(&calls, 0)
            .retry(&exponential(5), &timer)
            .retry_on_value(|n| *n < 3)
            .notify(|n| notified.push((n.attempt(), n.value().copied()))),
    );
    assert_eq!(result, Ok(3));
    assert_eq!(notified, [(1, Some(1)), (2, Some(2))]);
    assert_eq!(timer.elapsed(), secs(3));

    let calls = Cell::new(0);
    let result = block_on(
        flaky(&calls, 0)
            .retry(&exponential(2), &timer)
            .retry_on_value(|_| true),
    );
    assert_eq!(result, Ok(2));
}

#[cfg(feature = "alloc")]
#[test]
fn a_timed_out_attempt_is_retried_without_asking_the_predicate() {
    use crate::VirtualTimer;

    let policy = RetryPolicy::builder()
        .max_attempts(3)
        .constant(S)
        .attempt_timeout(secs(3))
        .build()
        .unwrap();
    assert_eq!(policy.attempt_timeout(), Some(secs(3)));
    let timer = VirtualTimer::new();
    let t = timer.clone();
    let calls = Cell::new(0);
    // Any error type: this one knows nothing of timeouts.
    let op = || {
        calls.set(calls.get() + 1);
        let slow = calls.get() == 1;
        let sleep = t.sleep(secs(100));
        async move {
            if slow {
                sleep.await;
            }
            Ok::<_, Error>(7)
        }
    };
    let mut seen = Vec::new();
    let asked = Cell::new(0);
    let result = block_on(
        timer.auto_advance(
            op.retry(&policy, &timer)
                .when(|_| {
                    asked.set(asked.get() + 1);
                    false
                })
                .notify(|n| seen.push((n.attempt(), n.timeout()))),
        ),
    );
    assert_eq!(result, Ok(7));
    assert_eq!(seen, [(1, Some(secs(3)))]);
    assert_eq!(asked.get(), 0);
    assert_eq!(timer.now(), Instant::ZERO + secs(3 + 1));

    // When every attempt times out, the error says the last one did.
    let start = timer.now();
    let op = || {
        let sleep = t.sleep(secs(100));
        async move {
            sleep.await;
            Ok::<(), Error>(())
        }
    };
    let err = block_on(timer.auto_advance(op.retry(&policy, &timer))).unwrap_err();
    assert_eq!(err.error(), None);
    assert_eq!(err.timeout(), Some(secs(3)));
    assert_eq!(
        (err.attempts(), err.reason()),
        (3, GiveUpReason::AttemptsExhausted)
    );
    assert_eq!(
        err.to_string(),
        "gave up after 3 attempts, the last timed out after 3s: attempts exhausted"
    );
    assert_eq!(timer.now() - start, secs(3 + 1 + 3 + 1 + 3));
}

#[test]
fn a_deadline_passed_at_the_first_poll_makes_no_attempt() {
    let timer = JumpTimer::default();
    timer.advance(secs(10));
    let calls = Cell::new(0);
    let policy = exponential(5);
    let err = block_on(
        flaky(&calls, 0)
            .retry(&policy, &timer)
            .deadline(Instant::ZERO + secs(9)),
    )
    .unwrap_err();
    assert_eq!(calls.get(), 0);
    assert_eq!((err.attempts(), err.reason()), (0, GiveUpReason::Deadline));
    assert_eq!((err.error(), err.timeout()), (None, None));
    assert_eq!(
        err.to_string(),
        "gave up before the first attempt: deadline reached"
    );
    // Exactly at the deadline, the attempt is made.
    let ok = block_on(
        flaky(&calls, 0)
            .retry(&policy, &timer)
            .deadline(Instant::ZERO + secs(10)),
    );
    assert_eq!(ok, Ok(1));
}

#[test]
fn dropping_during_a_backoff_sleep_starts_no_further_attempt() {
    let timer = JumpTimer::manual();
    let calls = Cell::new(0);
    let policy = exponential(5);
    {
        let mut fut = pin!(flaky(&calls, 10).retry(&policy, &timer));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert_eq!(fut.attempts(), 1);
        timer.advance(Duration::from_millis(500));
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }
    timer.advance(secs(100));
    assert_eq!(calls.get(), 1);
}

#[test]
fn zero_delays_retry_without_sleeping() {
    let policy = RetryPolicy::builder()
        .max_attempts(5)
        .constant(Duration::ZERO)
        .build()
        .unwrap();
    let timer = JumpTimer::default();
    let calls = Cell::new(0);
    assert_eq!(block_on(flaky(&calls, 4).retry(&policy, &timer)), Ok(5));
    assert_eq!(timer.sleeps.get(), 0);
}

#[test]
fn a_zero_delay_retry_yields_so_an_outer_timeout_can_end_it() {
    let policy = RetryPolicy::builder()
        .max_attempts(100_000)
        .constant(Duration::ZERO)
        .build()
        .unwrap();
    let timer = JumpTimer::manual();
    let calls = Cell::new(0u32);
    // Every attempt takes 1 ms of (virtual) clock and fails.
    let op = || {
        calls.set(calls.get() + 1);
        timer.advance(Duration::from_millis(1));
        core::future::ready(Err::<(), _>(Error::Busy(calls.get())))
    };
    let cut = block_on(crate::timeout::timeout(
        &timer,
        Duration::from_millis(50),
        op.retry(&policy, &timer),
    ));
    assert!(cut.is_err(), "the timeout did not end the retry");
    // The first attempt runs before the timeout's clock starts (at its first `Pending`).
    assert!(calls.get() <= 52, "{} attempts in 50 ms", calls.get());
    assert_eq!(timer.sleeps.get(), 1, "only the timeout slept");
}

#[test]
fn budget_stops_retries_with_the_original_error() {
    static BUDGET: RetryBudget = RetryBudget::builder()
        .percent(0)
        .min_retries(2)
        .build_const();
    let timer = JumpTimer::default();
    let calls = Cell::new(0);
    let err = block_on(
        flaky(&calls, 10)
            .retry(&exponential(5), &timer)
            .budget(&BUDGET),
    )
    .unwrap_err();
    assert_eq!(err.reason(), GiveUpReason::Budget);
    assert_eq!(err.attempts(), 3);
    assert_eq!(err.into_error(), Some(Error::Busy(3)));
    assert_eq!(BUDGET.recent_counts(timer.now()), (1, 2));

    // The budget is shared: the next call gets no retry at all.
    let calls = Cell::new(0);
    let err = block_on(
        flaky(&calls, 10)
            .retry(&exponential(5), &timer)
            .budget(&BUDGET),
    )
    .unwrap_err();
    assert_eq!((err.attempts(), err.reason()), (1, GiveUpReason::Budget));
}

#[cfg(feature = "alloc")]
#[test]
fn budget_through_an_arc() {
    let budget = alloc::sync::Arc::new(RetryBudget::new());
    let timer = JumpTimer::default();
    let calls = Cell::new(0);
    let result = block_on(
        flaky(&calls, 3)
            .retry(&exponential(5), &timer)
            .budget(budget.clone()),
    );
    assert_eq!(result, Ok(4));
    assert_eq!(budget.recent_counts(timer.now()), (1, 3));
}

#[test]
fn budget_allows_a_share_of_recent_calls_plus_a_floor() {
    let budget = RetryBudget::builder().min_retries(3).build().unwrap();
    let t0 = Instant::ZERO;
    assert_eq!(budget.available(t0), 3);
    for _ in 0..10 {
        budget.deposit(t0);
    }
    assert_eq!(budget.available(t0), 5);
    assert!((0..5).all(|_| budget.try_withdraw(t0)));
    assert!(!budget.try_withdraw(t0));
    assert_eq!(budget.available(t0), 0);
    // The next window still remembers the previous one.
    let t1 = t0 + secs(12);
    assert_eq!(budget.recent_counts(t1), (10, 5));
    assert!(!budget.try_withdraw(t1));
    // Two windows later everything is forgotten: the floor again.
    let t2 = t0 + secs(21);
    assert_eq!(budget.recent_counts(t2), (0, 0));
    assert_eq!(budget.available(t2), 3);
    // A far jump clears both windows too.
    budget.deposit(t2);
    let t3 = t0 + secs(1_000);
    assert_eq!(budget.recent_counts(t3), (0, 0));
    // An instant slightly older than the latest is counted in the current window.
    budget.deposit(t3);
    budget.deposit(t0 + secs(985));
    assert_eq!(budget.recent_counts(t3), (2, 0));
}

#[test]
fn the_budget_restores_its_floor_however_long_the_gap_between_two_uses() {
    let ms = Duration::from_millis(1);
    let start = Instant::ZERO + secs(1);
    let gaps = [
        1u64 << 31,
        (1 << 31) + 1,
        1 << 32,
        (1 << 32) + 1,
        3 << 31,
        1 << 40,
        u64::MAX / 1_000_000 - 2_000,
    ];
    for gap in gaps {
        let budget = RetryBudget::builder()
            .percent(0)
            .min_retries(1)
            .window(ms)
            .build()
            .unwrap();
        budget.deposit(start);
        assert!(budget.try_withdraw(start));
        assert!(!budget.try_withdraw(start));
        let later = start + Duration::from_millis(gap);
        assert_eq!(budget.recent_counts(later), (0, 0), "after {gap} windows");
        assert!(budget.try_withdraw(later), "after {gap} windows");
        assert!(!budget.try_withdraw(later));
        // And it keeps rolling from there.
        assert!(budget.try_withdraw(later + ms * 2), "after {gap} windows");
    }
    // The end of the clock, with the shortest window.
    let budget = RetryBudget::builder()
        .percent(0)
        .min_retries(1)
        .window(Duration::from_nanos(1))
        .build()
        .unwrap();
    assert!(budget.try_withdraw(Instant::ZERO));
    assert!(!budget.try_withdraw(Instant::ZERO));
    assert!(budget.try_withdraw(Instant::MAX));
}

#[test]
fn budget_settings_are_checked() {
    let err = RetryBudget::builder()
        .window(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!((err.pattern(), err.field()), ("retry budget", "window"));
    let b = RetryBudget::builder()
        .percent(u32::MAX)
        .min_retries(u32::MAX)
        .window(secs(1))
        .build()
        .unwrap();
    b.deposit(Instant::ZERO);
    assert_eq!(b.available(Instant::ZERO), u32::MAX);
    assert!(b.try_withdraw(Instant::ZERO));
    let dbg = std::format!("{:?}", RetryBudget::default());
    assert!(dbg.contains("percent: 20"), "{dbg}");
}

#[test]
fn builder_rejects_impossible_settings_naming_the_field() {
    let b = RetryPolicy::builder;
    let cases = [
        (b().max_attempts(0).build().unwrap_err(), "max_attempts"),
        (
            b().constant(secs(5))
                .max_delay(secs(4))
                .build()
                .unwrap_err(),
            "max_delay",
        ),
        (
            b().linear(secs(5), S)
                .max_delay(secs(4))
                .build()
                .unwrap_err(),
            "max_delay",
        ),
        (b().exponential(S, 0.5).build().unwrap_err(), "factor"),
        (b().exponential(S, f64::NAN).build().unwrap_err(), "factor"),
        (
            b().exponential(S, f64::INFINITY).build().unwrap_err(),
            "factor",
        ),
        (b().sequence(&[]).build().unwrap_err(), "sequence"),
        (
            b().jitter(Jitter::Decorrelated { multiplier: 0 })
                .seed(1)
                .build()
                .unwrap_err(),
            "jitter",
        ),
    ];
    for (err, field) in cases {
        assert_eq!((err.pattern(), err.field()), ("retry", field));
        assert!(err.to_string().contains(field), "{err}");
    }
    // Jitter without a seed: fine, with or without `std`.
    assert!(b().jitter(Jitter::Full).build().is_ok());
    assert!(b().jitter(Jitter::Full).entropy(|| 4).build().is_ok());
    // Equal delay and cap, factor 1, a huge factor: all fine.
    assert!(b().constant(S).max_delay(S).build().is_ok());
    assert!(b().exponential(S, 1.0).build().is_ok());
    assert!(b().exponential(S, 1e300).build().is_ok());
    let p = RetryPolicy::default();
    assert_eq!(p.max_attempts(), 3);
    assert_eq!(p.max_delay(), Duration::from_nanos(u64::MAX));
    assert!(std::format!("{p:?}").contains("max_attempts: 3"));
}

fn take(policy: &RetryPolicy, n: usize) -> Vec<Duration> {
    policy.delays(0).take(n).collect()
}

#[test]
fn backoff_shapes() {
    let b = RetryPolicy::builder;
    let ms = Duration::from_millis;
    assert_eq!(take(&b().constant(ms(7)).build().unwrap(), 3), [ms(7); 3]);
    assert_eq!(
        take(
            &b().linear(ms(10), ms(5)).max_delay(ms(22)).build().unwrap(),
            5
        ),
        [ms(10), ms(15), ms(20), ms(22), ms(22)]
    );
    assert_eq!(
        take(
            &b().exponential(ms(100), 2.0)
                .max_delay(ms(1000))
                .build()
                .unwrap(),
            6
        ),
        [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
    );
    assert_eq!(
        take(&b().exponential(ms(100), 1.5).build().unwrap(), 4),
        [ms(100), ms(150), ms(225), Duration::from_micros(337_500)]
    );
    static SEQ: [Duration; 3] = [
        Duration::from_millis(3),
        Duration::from_millis(1),
        Duration::from_millis(9),
    ];
    assert_eq!(
        take(&b().sequence(&SEQ).max_delay(ms(5)).build().unwrap(), 5),
        [ms(3), ms(1), ms(5), ms(5), ms(5)]
    );
    let custom = b()
        .backoff(Backoff::Custom(|n| Duration::from_secs(u64::from(n) * 10)))
        .build()
        .unwrap();
    assert_eq!(take(&custom, 3), [secs(10), secs(20), secs(30)]);
    // Tiny bases still grow with a fractional factor.
    let tiny = b()
        .exponential(Duration::from_nanos(1), 1.5)
        .build()
        .unwrap();
    assert_eq!(take(&tiny, 6), [1, 1, 2, 3, 5, 7].map(Duration::from_nanos));
}

#[test]
fn arithmetic_saturates_for_any_attempt_number() {
    let b = RetryPolicy::builder;
    // Exponential: grows to the uncapped maximum and stays there.
    let mut d = b().exponential(secs(1), 1e300).build().unwrap().delays(0);
    assert_eq!(d.next(), Some(secs(1)));
    assert!(d.next() > Some(secs(1)));
    assert_eq!(d.next(), Some(Duration::from_nanos(u64::MAX)));
    assert_eq!(d.next(), Some(Duration::from_nanos(u64::MAX)));
    let mut d = b().exponential(secs(1), 2.0).build().unwrap().delays(0);
    let last = d.nth(200).unwrap();
    assert_eq!(last, Duration::from_nanos(u64::MAX));
    // Linear at the last attempt numbers.
    let linear = b().linear(Duration::MAX, Duration::MAX).build().unwrap();
    let mut d = linear.delays(0);
    d.skip_to(u32::MAX - 1);
    assert_eq!(d.next(), Some(Duration::from_nanos(u64::MAX)));
    assert_eq!(d.next(), Some(Duration::from_nanos(u64::MAX)));
    let custom = b()
        .backoff(Backoff::Custom(|n| Duration::from_nanos(u64::from(n))))
        .build()
        .unwrap();
    let mut d = custom.delays(0);
    d.skip_to(u32::MAX - 1);
    assert_eq!(d.next(), Some(Duration::from_nanos(u64::from(u32::MAX))));
    assert_eq!(d.next(), Some(Duration::from_nanos(u64::from(u32::MAX))));
    let mut d = b().sequence(&[S]).build().unwrap().delays(0);
    d.skip_to(u32::MAX);
    assert_eq!(d.next(), Some(S));
}

#[test]
fn jitter_stays_in_its_bounds_and_follows_the_seed() {
    let b = RetryPolicy::builder;
    let policy = |j| {
        b().exponential(secs(1), 2.0)
            .max_delay(secs(60))
            .jitter(j)
            .seed(9)
            .build()
            .unwrap()
    };
    let un: Vec<_> = take(&policy(Jitter::None), 12);
    for seed in 0..50 {
        for (i, d) in policy(Jitter::Full).delays(seed).take(12).enumerate() {
            assert!(d <= un[i]);
        }
        for (i, d) in policy(Jitter::Equal).delays(seed).take(12).enumerate() {
            assert!(d >= un[i] / 2 && d <= un[i], "{d:?} vs {:?}", un[i]);
        }
        for d in policy(Jitter::DECORRELATED).delays(seed).take(12) {
            assert!(d >= secs(1) && d <= secs(60));
        }
    }
    let a: Vec<_> = policy(Jitter::Full).delays(5).take(8).collect();
    let again: Vec<_> = policy(Jitter::Full).delays(5).take(8).collect();
    let other: Vec<_> = policy(Jitter::Full).delays(6).take(8).collect();
    assert_eq!(a, again);
    assert_ne!(a, other);
}

#[test]
fn decorrelated_jitter_does_not_cluster_at_the_cap() {
    let policy = RetryPolicy::builder()
        .constant(secs(1))
        .max_delay(secs(10))
        .jitter(Jitter::DECORRELATED)
        .seed(1)
        .build()
        .unwrap();
    // Miri draws fewer: it interprets every draw.
    let n = if cfg!(miri) { 1_000 } else { 10_000 };
    let draws: Vec<_> = policy.delays(42).take(n).collect();
    let at_cap = draws.iter().filter(|d| **d == secs(10)).count();
    assert!(at_cap * 1_000 < n, "{at_cap} of {n} delays at the cap");
    let high = draws.iter().filter(|d| **d > secs(5)).count();
    assert!(high * 10 > n, "the range is used: {high} of {n}");
}

#[test]
fn runs_of_one_policy_get_different_jitter_on_a_real_clock() {
    let policy = RetryPolicy::builder()
        .max_attempts(2)
        .constant(secs(100))
        .jitter(Jitter::Full)
        .seed(3)
        .build()
        .unwrap();
    let mut delays = Vec::new();
    for start in 0..4u64 {
        let timer = JumpTimer::default();
        timer.advance(Duration::from_nanos(start));
        let calls = Cell::new(0);
        let _ = block_on(
            flaky(&calls, 10)
                .retry(&policy, &timer)
                .notify(|n| delays.push(n.delay())),
        );
    }
    delays.sort();
    delays.dedup();
    assert_eq!(delays.len(), 4);
}

/// No seed, no `std` needed: runs whose first retries happen at one instant still draw
/// different jitter (the clock mixed with a count of such runs).
#[test]
fn unseeded_jitter_differs_between_runs_at_one_instant() {
    let policy = RetryPolicy::builder()
        .max_attempts(2)
        .constant(secs(100))
        .jitter(Jitter::Full)
        .build()
        .unwrap();
    let mut delays = Vec::new();
    for _ in 0..4 {
        let timer = JumpTimer::default();
        let calls = Cell::new(0);
        let err = block_on(
            flaky(&calls, 10)
                .retry(&policy, &timer)
                .notify(|n| delays.push(n.delay())),
        )
        .unwrap_err();
        assert_eq!(err.attempts(), 2);
    }
    assert!(delays.iter().all(|d| *d <= secs(100)));
    delays.sort();
    delays.dedup();
    assert_eq!(delays.len(), 4, "{delays:?}");
}

#[test]
fn rng_ranges() {
    let mut rng = Rng::new(1);
    assert_eq!(rng.between(5, 5), 5);
    assert_eq!(rng.between(9, 3), 9);
    let _ = rng.between(0, u64::MAX);
    assert!((0..1000).all(|_| rng.between(10, 12) <= 12));
    let mut seen = [false; 3];
    for _ in 0..100 {
        seen[(rng.between(10, 12) - 10) as usize] = true;
    }
    assert_eq!(seen, [true; 3]);
}

#[test]
fn the_future_is_send_when_its_parts_are() {
    #[derive(Clone)]
    struct SendTimer;
    impl Timer for SendTimer {
        type Sleep = core::future::Ready<()>;
        fn now(&self) -> Instant {
            Instant::ZERO
        }
        fn sleep_until(&self, _: Instant) -> Self::Sleep {
            core::future::ready(())
        }
    }
    fn assert_send<T: Send>(_: &T) {}
    static BUDGET: RetryBudget = RetryBudget::new();
    let policy = exponential(3);
    let fut = (|| async { Err::<(), Error>(Error::Gone) })
        .retry(&policy, &SendTimer)
        .when(|_| true)
        .retry_after(|_| None)
        .notify(|_| {})
        .budget(&BUDGET);
    assert_send(&fut);
    assert!(std::format!("{fut:?}").starts_with("Retry"));
    assert_eq!(block_on(fut).unwrap_err().attempts(), 3);
}

#[test]
#[should_panic(expected = "must be at least 1")]
fn build_const_refuses_what_build_refuses() {
    let _ = RetryPolicy::builder().max_attempts(0).build_const();
}

#[test]
#[should_panic(expected = "must be longer than zero")]
fn budget_build_const_refuses_a_zero_window() {
    let _ = RetryBudget::builder().window(Duration::ZERO).build_const();
}

#[test]
fn build_const_builds_in_a_static_what_build_builds() {
    const fn settings() -> crate::retry::RetryPolicyBuilder {
        RetryPolicy::builder()
            .max_attempts(6)
            .exponential(Duration::from_millis(20), 3.0)
            .max_delay(Duration::from_secs(1))
            .jitter(Jitter::Full)
            .max_elapsed(Duration::from_secs(5))
            .attempt_timeout(Duration::from_millis(300))
            .seed(7)
    }
    static POLICY: RetryPolicy = settings().build_const();
    static BUDGET: RetryBudget = RetryBudget::builder()
        .percent(50)
        .min_retries(1)
        .window(Duration::from_secs(1))
        .build_const();
    let built = settings().build().unwrap();
    assert_eq!(std::format!("{POLICY:?}"), std::format!("{built:?}"));
    let a: Vec<_> = POLICY.delays(3).take(6).collect();
    let b: Vec<_> = built.delays(3).take(6).collect();
    assert_eq!(a, b);
    // 1 + 50% of 4 calls.
    for _ in 0..4 {
        BUDGET.deposit(Instant::ZERO);
    }
    assert_eq!(BUDGET.available(Instant::ZERO), 3);
}

/// The delay before retry `n` drawn alone (the breaker's open durations) is the sequence's
/// `n`th, for every shape, without jitter; with jitter it stays within the jitter's bounds.
#[test]
fn a_delay_drawn_alone_is_the_sequences_nth() {
    let b = RetryPolicy::builder;
    static STEPS: [Duration; 3] = [
        Duration::from_secs(1),
        Duration::from_secs(5),
        Duration::ZERO,
    ];
    let policies = [
        b().exponential(secs(1), 1.5)
            .max_delay(secs(40))
            .build()
            .unwrap(),
        b().exponential(Duration::from_nanos(1), 1.000_001)
            .build()
            .unwrap(),
        b().exponential(secs(3), 1.0).build().unwrap(),
        b().linear(secs(1), secs(2))
            .max_delay(secs(9))
            .build()
            .unwrap(),
        b().sequence(&STEPS).build().unwrap(),
        b().backoff(Backoff::Custom(|n| secs(u64::from(n % 4))))
            .build()
            .unwrap(),
    ];
    let now = Instant::from_nanos(3);
    for policy in policies {
        let sequence: Vec<u64> = policy
            .delays(0)
            .take(60)
            .map(|d| d.as_nanos() as u64)
            .collect();
        for (n, d) in (1..).zip(&sequence) {
            assert_eq!(policy.nth_delay(n, 0, now), *d, "{policy:?} retry {n}");
        }
    }
    let full = b()
        .exponential(secs(1), 2.0)
        .max_delay(secs(8))
        .jitter(Jitter::Full)
        .seed(1)
        .build()
        .unwrap();
    for n in 1..10 {
        let cap = 1u64 << (n - 1).min(3);
        assert!(full.nth_delay(n, 0, now) <= cap * 1_000_000_000);
    }
}
