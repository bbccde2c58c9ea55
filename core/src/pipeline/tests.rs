use core::cell::Cell;
use core::future::{Future, pending, ready};
use core::pin::pin;
use core::task::Poll;
use core::time::Duration;
use std::string::ToString;

use super::*;
use crate::breaker::{CircuitBreaker, Outcome, State};
use crate::bulkhead::{Bulkhead, Rejected};
use crate::limiter::RateLimiter;
use crate::retry::{GiveUpReason, Jitter, RetryBudget, RetryPolicy};
use crate::test_util::schedule::Sim;
use crate::test_util::schedules;
use crate::{Instant, Timer, VirtualTimer};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn run<F: Future>(timer: &VirtualTimer, f: F) -> F::Output {
    futures_executor::block_on(timer.auto_advance(f))
}

fn policy(attempts: u32, delay: Duration) -> RetryPolicy {
    RetryPolicy::builder()
        .max_attempts(attempts)
        .constant(delay)
        .build()
        .unwrap()
}

fn consecutive(k: u32, open_for: Duration) -> CircuitBreaker<1> {
    CircuitBreaker::builder()
        .consecutive_failures(k)
        .open_for(open_for)
        .build()
        .unwrap()
}

/// An operation that fails `fails` times, then gives its attempt number; counts the
/// attempts that ran (were polled).
fn flaky<'a>(
    attempts: &'a Cell<u32>,
    fails: u32,
) -> impl FnMut() -> core::pin::Pin<std::boxed::Box<dyn Future<Output = Result<u32, &'static str>> + 'a>>
+ 'a {
    move || {
        std::boxed::Box::pin(async move {
            attempts.set(attempts.get() + 1);
            let n = attempts.get();
            if n <= fails { Err("503") } else { Ok(n) }
        })
    }
}

static BREAKER: CircuitBreaker = CircuitBreaker::builder()
    .consecutive_failures(5)
    .build_const();
static BULKHEAD: Bulkhead = Bulkhead::new(4);
static LIMITER: RateLimiter = RateLimiter::builder(100, Duration::from_secs(1)).build_const();
static BUDGET: RetryBudget = RetryBudget::new();
/// Every stage, in a `static`.
static FULL: Pipeline<'static> = Pipeline::builder()
    .total_timeout(Duration::from_secs(10))
    .retry(RetryPolicy::builder().max_attempts(3).build_const())
    .budget(&BUDGET)
    .breaker(&BREAKER)
    .limiter(&LIMITER)
    .bulkhead(&BULKHEAD)
    .attempt_timeout(Duration::from_secs(1))
    .build_const();

#[test]
fn a_static_pipeline_runs_every_stage_and_gives_everything_back() {
    let timer = VirtualTimer::new();
    let attempts = Cell::new(0);
    let out = run(&timer, FULL.call(&timer, flaky(&attempts, 2)));
    assert_eq!(out, Ok(3));
    // Two backoff sleeps of 100 ms and 200 ms.
    assert_eq!(timer.now(), Instant::from_nanos(300_000_000));
    assert_eq!(BULKHEAD.metrics().in_flight, 0);
    let m = BREAKER.metrics(timer.now());
    assert_eq!((m.state, m.consecutive_failures), (State::Closed, 0));
    assert_eq!(LIMITER.metrics(timer.now()).waiters, 0);
}

#[test]
fn no_stage_runs_the_operation_once() {
    let timer = VirtualTimer::new();
    let p = Pipeline::builder().build().unwrap();
    let attempts = Cell::new(0);
    let err = run(&timer, p.call(&timer, flaky(&attempts, 1))).unwrap_err();
    assert_eq!(err, PipelineError::Failed("503"));
    assert_eq!(attempts.get(), 1);
    assert_eq!(timer.now(), Instant::from_nanos(0));
}

#[test]
fn the_breaker_inside_retry_sees_each_attempt() {
    let timer = VirtualTimer::new();
    let b = consecutive(10, secs(30));
    let p = Pipeline::builder()
        .retry(policy(4, secs(1)))
        .breaker(&b)
        .build()
        .unwrap();
    let attempts = Cell::new(0);
    let err = run(&timer, p.call(&timer, flaky(&attempts, 10))).unwrap_err();
    let PipelineError::RetriesExhausted(r) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (r.attempts(), r.reason()),
        (4, GiveUpReason::AttemptsExhausted)
    );
    assert_eq!(r.error(), Some(&"503"));
    // One logical call, four failures recorded.
    assert_eq!(b.metrics(timer.now()).consecutive_failures, 4);
}

#[test]
fn an_open_circuit_cuts_the_retry_short() {
    let timer = VirtualTimer::new();
    let b = consecutive(2, secs(30));
    let budget = RetryBudget::builder().min_retries(100).build().unwrap();
    let p = Pipeline::builder()
        .retry(policy(10, secs(1)))
        .budget(&budget)
        .breaker(&b)
        .build()
        .unwrap();
    let attempts = Cell::new(0);
    let err = run(&timer, p.call(&timer, flaky(&attempts, 100))).unwrap_err();
    let PipelineError::CircuitOpen(open) = err else {
        panic!("{err:?}")
    };
    assert_eq!(open.state(), State::Open);
    // Two attempts tripped it; the third was refused and not retried (no deadline to fit a
    // wait in): one sleep before the third.
    assert_eq!(attempts.get(), 2);
    assert_eq!(timer.now(), Instant::from_nanos(secs(2).as_nanos() as u64));
    assert_eq!(
        err_retry_after(&PipelineError::<()>::CircuitOpen(open)),
        Some(secs(29))
    );
}

fn err_retry_after<E>(e: &PipelineError<E>) -> Option<Duration> {
    e.retry_after()
}

#[test]
fn an_open_circuit_is_retried_when_its_wait_fits_the_deadline() {
    let timer = VirtualTimer::new();
    let b = consecutive(1, secs(5));
    let p = Pipeline::builder()
        .total_timeout(secs(20))
        .retry(policy(5, secs(1)))
        .breaker(&b)
        .build()
        .unwrap();
    let attempts = Cell::new(0);
    // Fails once (tripping the breaker), then succeeds as the half-open probe.
    let out = run(&timer, p.call(&timer, flaky(&attempts, 1)));
    assert_eq!(out, Ok(2));
    // 1 s of backoff, refused (open until 5 s), then waited the breaker's 4 s.
    assert_eq!(timer.now(), Instant::from_nanos(5_000_000_000));
    assert_eq!(b.state(timer.now()), State::Closed);
}

#[test]
fn an_open_circuit_whose_wait_does_not_fit_ends_the_call_at_once() {
    let timer = VirtualTimer::new();
    let b = consecutive(1, secs(60));
    let p = Pipeline::builder()
        .total_timeout(secs(20))
        .retry(policy(5, secs(1)))
        .breaker(&b)
        .build()
        .unwrap();
    let attempts = Cell::new(0);
    let err = run(&timer, p.call(&timer, flaky(&attempts, 1))).unwrap_err();
    assert!(matches!(err, PipelineError::CircuitOpen(_)), "{err:?}");
    assert_eq!(attempts.get(), 1);
    assert_eq!(timer.now(), Instant::from_nanos(1_000_000_000));
}

#[test]
fn an_attempt_timeout_is_a_breaker_failure_frees_the_permit_and_is_retried() {
    let timer = VirtualTimer::new();
    let b = consecutive(10, secs(30));
    let bulkhead = Bulkhead::new(1);
    let p = Pipeline::builder()
        .retry(policy(3, Duration::ZERO))
        .breaker(&b)
        .bulkhead(&bulkhead)
        .attempt_timeout(secs(2))
        .build()
        .unwrap();
    let attempts = Cell::new(0);
    let t = timer.clone();
    let op = || {
        attempts.set(attempts.get() + 1);
        let n = attempts.get();
        let t = t.clone();
        async move {
            if n < 3 {
                t.sleep(secs(60)).await;
            }
            Ok::<_, ()>(n)
        }
    };
    assert_eq!(run(&timer, p.call(&timer, op)), Ok(3));
    assert_eq!(timer.now(), Instant::from_nanos(4_000_000_000));
    // Two timeouts counted, then the success reset the count.
    assert_eq!(b.metrics(timer.now()).consecutive_failures, 0);
    assert_eq!(bulkhead.metrics().in_flight, 0);

    // Without retry: the attempt timeout itself.
    let p = Pipeline::builder()
        .attempt_timeout(secs(2))
        .build()
        .unwrap();
    let err = run(&timer, p.call(&timer, pending::<Result<(), ()>>)).unwrap_err();
    assert_eq!(err, PipelineError::AttemptTimeout(secs(2)));
}

#[test]
fn the_total_timeout_drops_the_running_attempt_and_its_permit() {
    let timer = VirtualTimer::new();
    let bulkhead = Bulkhead::new(1);
    let p = Pipeline::builder()
        .total_timeout(secs(3))
        .retry(policy(3, secs(1)))
        .bulkhead(&bulkhead)
        .build()
        .unwrap();
    let fut = p.call(&timer, || async {
        assert_eq!(bulkhead.metrics().in_flight, 1);
        pending::<Result<(), ()>>().await
    });
    let err = run(&timer, fut).unwrap_err();
    assert_eq!(err, PipelineError::Timeout(secs(3)));
    assert_eq!(err.to_string(), "total timeout of 3s passed");
    assert_eq!(timer.now(), Instant::from_nanos(3_000_000_000));
    assert_eq!(bulkhead.metrics().in_flight, 0);
}

#[test]
fn retry_stops_before_the_deadline_rather_than_sleeping_into_it() {
    let timer = VirtualTimer::new();
    let p = Pipeline::builder()
        .total_timeout(secs(10))
        .retry(policy(10, secs(4)))
        .build()
        .unwrap();
    let attempts = Cell::new(0);
    let err = run(&timer, p.call(&timer, flaky(&attempts, 100))).unwrap_err();
    let PipelineError::RetriesExhausted(r) = &err else {
        panic!("{err:?}")
    };
    // Attempts at 0, 4 and 8 s; a sleep to 12 s would pass the deadline.
    assert_eq!((r.attempts(), r.reason()), (3, GiveUpReason::Deadline));
    assert_eq!(timer.now(), Instant::from_nanos(8_000_000_000));
}

#[test]
fn the_limiter_charges_each_attempt_and_its_wait_is_bounded_by_the_deadline() {
    let timer = VirtualTimer::new();
    let limiter = RateLimiter::builder(1, secs(10)).build().unwrap();
    let p = Pipeline::builder()
        .total_timeout(secs(5))
        .limiter(&limiter)
        .build()
        .unwrap();
    assert_eq!(run(&timer, p.call(&timer, || ready(Ok::<_, ()>(1)))), Ok(1));
    // The next cell is 10 s away, past the deadline: refused at once, with the wait.
    let err = run(&timer, p.call(&timer, || ready(Ok::<_, ()>(2)))).unwrap_err();
    assert_eq!(err.retry_after(), Some(secs(10)));
    assert!(matches!(err, PipelineError::RateLimited(_)));
    assert_eq!(timer.now(), Instant::from_nanos(0));
    // Without a deadline the attempt waits its turn.
    let p = Pipeline::builder().limiter(&limiter).build().unwrap();
    assert_eq!(run(&timer, p.call(&timer, || ready(Ok::<_, ()>(3)))), Ok(3));
    assert_eq!(timer.now(), Instant::from_nanos(10_000_000_000));
}

#[test]
fn a_bulkhead_rejection_is_not_retried() {
    let timer = VirtualTimer::new();
    let bulkhead = Bulkhead::builder(1).reject_when_full().build().unwrap();
    let p = Pipeline::builder()
        .retry(policy(5, secs(1)))
        .bulkhead(&bulkhead)
        .build()
        .unwrap();
    let _held = bulkhead.try_acquire().unwrap();
    let attempts = Cell::new(0);
    let err = run(&timer, p.call(&timer, flaky(&attempts, 0))).unwrap_err();
    assert_eq!(err, PipelineError::BulkheadRejected(Rejected::Full));
    assert_eq!(attempts.get(), 0, "the operation did not run");
    assert_eq!(timer.now(), Instant::from_nanos(0));
}

#[test]
fn a_permanent_error_is_not_retried_and_classify_tells_the_breaker() {
    let timer = VirtualTimer::new();
    let b = consecutive(1, secs(30));
    let p = Pipeline::builder()
        .retry(policy(5, secs(1)))
        .breaker(&b)
        .build()
        .unwrap();
    let attempts = Cell::new(0);
    let call = p
        .call(&timer, flaky(&attempts, 100))
        .retry_when(|e| *e != "503")
        .classify(|_| Outcome::Ignored);
    assert_eq!(run(&timer, call), Err(PipelineError::Failed("503")));
    assert_eq!(attempts.get(), 1);
    assert_eq!(b.state(timer.now()), State::Closed);
}

#[test]
fn an_error_suggested_delay_replaces_the_backoff() {
    let timer = VirtualTimer::new();
    let p = Pipeline::builder()
        .retry(policy(2, secs(1)))
        .build()
        .unwrap();
    let attempts = Cell::new(0);
    let call = p
        .call(&timer, flaky(&attempts, 1))
        .retry_after(|_| Some(secs(7)));
    assert_eq!(run(&timer, call), Ok(2));
    assert_eq!(timer.now(), Instant::from_nanos(7_000_000_000));
}

#[test]
fn the_outermost_bulkhead_holds_one_permit_through_every_retry() {
    let timer = VirtualTimer::new();
    let bulkhead = Bulkhead::new(1);
    let inner = inner_builder(&bulkhead).build().unwrap();
    let outer = inner_builder(&bulkhead)
        .bulkhead_outermost()
        .build()
        .unwrap();
    let order = std::cell::RefCell::new(std::vec::Vec::new());
    for (p, name) in [(&inner, "per attempt"), (&outer, "per call")] {
        order.borrow_mut().clear();
        let a = Cell::new(0);
        let b = Cell::new(0);
        let first = p.call(&timer, || {
            a.set(a.get() + 1);
            order.borrow_mut().push('a');
            ready(if a.get() < 3 { Err(()) } else { Ok(()) })
        });
        let second = p.call(&timer, || {
            b.set(b.get() + 1);
            order.borrow_mut().push('b');
            ready(Ok::<_, ()>(()))
        });
        let (x, y) = run(&timer, futures_util::future::join(first, second));
        assert_eq!((x, y), (Ok(()), Ok(())));
        let order: std::string::String = order.borrow().iter().collect();
        match name {
            // The second call runs while the first sleeps between attempts.
            "per attempt" => assert_eq!(order, "abaa", "{name}"),
            // The first call keeps its permit through its sleeps.
            _ => assert_eq!(order, "aaab", "{name}"),
        }
    }
    assert_eq!(bulkhead.metrics().in_flight, 0);
}

fn inner_builder(bulkhead: &Bulkhead) -> PipelineBuilder<'_> {
    Pipeline::builder()
        .retry(policy(3, secs(1)))
        .bulkhead(bulkhead)
}

#[test]
fn fallback_a_value_or_a_future_for_chosen_failures() {
    let timer = VirtualTimer::new();
    let p = Pipeline::builder().total_timeout(secs(1)).build().unwrap();
    let slow = || pending::<Result<u32, &'static str>>();
    let timed_out = |e: &PipelineError<&'static str>| matches!(e, PipelineError::Timeout(_));
    let call = p.call(&timer, slow).fallback_value(timed_out, 7);
    assert_eq!(run(&timer, call), Ok(7));
    // Not chosen: passes through.
    let call = p
        .call(&timer, || ready(Err::<u32, _>("bad")))
        .fallback_value(timed_out, 7);
    assert_eq!(run(&timer, call), Err(PipelineError::Failed("bad")));
    // A future made from the error, which may give an error back.
    let call = p.call(&timer, || ready(Err::<u32, _>("bad"))).fallback(
        |_| true,
        |e| async move {
            assert_eq!(e.error(), Some(&"bad"));
            Ok(9)
        },
    );
    assert_eq!(run(&timer, call), Ok(9));
    let call = p
        .call(&timer, || ready(Ok::<u32, &'static str>(1)))
        .fallback(|_| true, |e| async move { Err(e) });
    assert_eq!(run(&timer, call), Ok(1));
}

#[test]
fn each_build_rule_is_a_config_error_naming_the_field() {
    let window: CircuitBreaker = CircuitBreaker::builder()
        .time_window(secs(3), 3, 5)
        .build()
        .unwrap();
    let slow: CircuitBreaker = CircuitBreaker::builder()
        .slow_calls(secs(2), 50)
        .build()
        .unwrap();
    let bulkhead = Bulkhead::new(1);
    let timed_policy = RetryPolicy::builder()
        .attempt_timeout(secs(1))
        .build()
        .unwrap();
    let cases: [(PipelineBuilder<'_>, &str, &str); 8] = [
        (
            Pipeline::builder().total_timeout(Duration::ZERO),
            "total_timeout",
            "must be above zero",
        ),
        (
            Pipeline::builder().attempt_timeout(Duration::ZERO),
            "attempt_timeout",
            "must be above zero",
        ),
        (
            Pipeline::builder()
                .total_timeout(secs(1))
                .attempt_timeout(secs(2)),
            "attempt_timeout",
            "must be at most the total timeout",
        ),
        (
            Pipeline::builder()
                .breaker(&window)
                .attempt_timeout(secs(2)),
            "breaker",
            "its time window must be at least twice the attempt timeout",
        ),
        (
            Pipeline::builder().breaker(&slow).attempt_timeout(secs(2)),
            "breaker",
            "its slow-call threshold must be below the attempt timeout \
             (an attempt cut at the timeout is a failure, never a slow call)",
        ),
        (
            Pipeline::builder().retry(timed_policy),
            "retry",
            "has an attempt timeout of its own: set it on the pipeline \
             (`attempt_timeout`), where it runs inside the breaker and the bulkhead",
        ),
        (
            Pipeline::builder()
                .total_timeout(secs(5))
                .retry(policy(3, secs(5))),
            "retry",
            "its first delay does not fit the total timeout: no retry could start",
        ),
        (
            Pipeline::builder().bulkhead_outermost(),
            "bulkhead_outermost",
            "needs a bulkhead",
        ),
    ];
    for (builder, field, problem) in cases {
        let err = builder.build().unwrap_err();
        assert_eq!(
            (err.pattern(), err.field(), err.problem()),
            ("pipeline", field, problem)
        );
    }
    // The limits themselves pass.
    Pipeline::builder()
        .total_timeout(secs(2))
        .attempt_timeout(secs(2))
        .build()
        .unwrap();
    Pipeline::builder()
        .breaker(&window)
        .attempt_timeout(Duration::from_millis(1500))
        .bulkhead(&bulkhead)
        .bulkhead_outermost()
        .build()
        .unwrap();
    // Full jitter can make the first delay short: no rejection.
    let jittered = RetryPolicy::builder()
        .constant(secs(5))
        .jitter(Jitter::Full)
        .build()
        .unwrap();
    Pipeline::builder()
        .total_timeout(secs(5))
        .retry(jittered)
        .build()
        .unwrap();
    // The retry policy's own attempt timeout is rejected, its deadline kept.
    let elapsed = RetryPolicy::builder().max_elapsed(secs(1)).build().unwrap();
    Pipeline::builder().retry(elapsed).build().unwrap();
}

#[test]
fn errors_are_send_sync_errors_with_the_operation_error_as_source() {
    fn is_error<E: core::error::Error + Send + Sync + 'static>() {}
    is_error::<PipelineError<std::io::Error>>();
    let e = PipelineError::Failed(std::io::Error::other("reset"));
    assert_eq!(e.to_string(), "the operation failed");
    let source = core::error::Error::source(&e).unwrap();
    assert_eq!(source.to_string(), "reset");
    let open = PipelineError::<std::io::Error>::BulkheadRejected(Rejected::Closed);
    assert!(core::error::Error::source(&open).is_none());
    assert!(open.is_refusal());
    assert_eq!(open.to_string(), "bulkhead closed");
    fn is_sync<S: Send + Sync>() {}
    is_sync::<Pipeline<'static>>();
    is_sync::<Call<'static, VirtualTimer, fn() -> core::future::Ready<Result<(), ()>>>>();
}

#[test]
fn the_happy_path_reads_no_clock_without_a_deadline() {
    // A closed count breaker, a bulkhead, a retry: nothing needs the time.
    struct Clockless;
    impl Clone for Clockless {
        fn clone(&self) -> Self {
            Clockless
        }
    }
    impl Timer for Clockless {
        type Sleep = core::future::Pending<()>;
        fn now(&self) -> Instant {
            panic!("the clock was read")
        }
        fn sleep_until(&self, _: Instant) -> Self::Sleep {
            panic!("a sleep was made")
        }
    }
    let b: CircuitBreaker = CircuitBreaker::builder().build().unwrap();
    let bulkhead = Bulkhead::new(1);
    let p = Pipeline::builder()
        .retry(policy(3, secs(1)))
        .breaker(&b)
        .bulkhead(&bulkhead)
        .build()
        .unwrap();
    let out = futures_executor::block_on(p.call(&Clockless, || ready(Ok::<_, ()>(1))));
    assert_eq!(out, Ok(1));
}

/// A full pipeline under random schedules, retrying or hedging, with callers cancelled at
/// random points (waiting for the limiter or the bulkhead, mid-attempt, mid-sleep, with
/// hedges in flight): afterwards no permit, place in line, probe slot or sleep is held.
#[test]
fn random_schedules_of_cancelled_pipeline_calls_leak_nothing() {
    for seed in 0..schedules(10_000) {
        let timer = VirtualTimer::new();
        let b: CircuitBreaker<1> = CircuitBreaker::builder()
            .consecutive_failures(3)
            .open_for(Duration::from_nanos(50))
            .half_open_probes(2)
            .build()
            .unwrap();
        let limiter = RateLimiter::builder(1, Duration::from_nanos(5))
            .burst(2)
            .build()
            .unwrap();
        let bulkhead = Bulkhead::new(2);
        let budget = RetryBudget::new();
        let p = Pipeline::builder()
            .total_timeout(Duration::from_nanos(400))
            .retry(policy(4, Duration::from_nanos(7)))
            .budget(&budget)
            .breaker(&b)
            .limiter(&limiter)
            .bulkhead(&bulkhead)
            .attempt_timeout(Duration::from_nanos(30))
            .build()
            .unwrap();
        let hedge = crate::hedge::HedgePolicy::builder()
            .max_attempts(3)
            .delay(Duration::from_nanos(9))
            .build()
            .unwrap();
        let mut sim = Sim::new(seed, 60);
        let tasks = 2 + sim.rng.below(6);
        let finished = Cell::new(0usize);
        for _ in 0..tasks {
            let work = sim.rng.below(40) as u64;
            let fail = sim.rng.below(3) == 0;
            // A third of the calls hedge instead of retrying.
            let hedged = sim.rng.below(3) == 0;
            let (timer, p, hedge, finished) = (&timer, &p, &hedge, &finished);
            sim.spawn(
                async move {
                    let t = timer.clone();
                    let op = move || {
                        let t = t.clone();
                        async move {
                            t.sleep(Duration::from_nanos(work)).await;
                            if fail { Err(()) } else { Ok(()) }
                        }
                    };
                    let _ = if hedged {
                        p.call_hedged(timer, hedge, op).await
                    } else {
                        p.call(timer, op).await
                    };
                    finished.set(finished.get() + 1);
                },
                true,
            );
        }
        loop {
            sim.run(100_000);
            if sim.live().0 > 0 {
                assert!(bulkhead.metrics().in_flight <= 2, "seed {seed}");
            }
            if timer.advance_to_next().is_none() {
                break;
            }
        }
        assert_eq!(
            sim.live().0,
            0,
            "seed {seed}: every call ended or was cancelled"
        );
        assert_eq!(finished.get() + sim.cancelled, tasks, "seed {seed}");
        drop(sim);
        let m = bulkhead.metrics();
        assert_eq!((m.in_flight, m.waiting), (0, 0), "seed {seed}");
        let l = limiter.metrics(timer.now());
        assert_eq!((l.waiters, l.queued_cells), (0, 0), "seed {seed}");
        assert_eq!(b.metrics(timer.now()).probes_in_flight, 0, "seed {seed}");
        assert_eq!(timer.sleepers(), 0, "seed {seed}");
    }
}

#[test]
fn a_call_dropped_mid_attempt_frees_its_permit_and_probe_slot() {
    let timer = VirtualTimer::new();
    let b = consecutive(1, secs(1));
    let bulkhead = Bulkhead::new(1);
    let p = Pipeline::builder()
        .breaker(&b)
        .bulkhead(&bulkhead)
        .build()
        .unwrap();
    // Trip it, then let it go half-open.
    let _ = run(&timer, p.call(&timer, || ready(Err::<(), _>(()))));
    timer.advance(secs(1));
    assert_eq!(b.state(timer.now()), State::HalfOpen);
    {
        let mut call = pin!(p.call(&timer, pending::<Result<(), ()>>));
        let waker = futures_util::task::noop_waker();
        let mut cx = core::task::Context::from_waker(&waker);
        assert!(matches!(call.as_mut().poll(&mut cx), Poll::Pending));
        assert_eq!(b.metrics(timer.now()).probes_in_flight, 1);
        assert_eq!(bulkhead.metrics().in_flight, 1);
    }
    assert_eq!(b.metrics(timer.now()).probes_in_flight, 0);
    assert_eq!(bulkhead.metrics().in_flight, 0);
    assert_eq!(b.state(timer.now()), State::HalfOpen);
}

fn hedging(attempts: u32, delay: Duration) -> crate::hedge::HedgePolicy {
    crate::hedge::HedgePolicy::builder()
        .max_attempts(attempts)
        .delay(delay)
        .build()
        .unwrap()
}

#[test]
fn a_hedge_in_the_retrys_place_drops_its_losers_and_their_permits() {
    let timer = VirtualTimer::new();
    let b: CircuitBreaker = CircuitBreaker::builder()
        .count_window(10, 5)
        .build()
        .unwrap();
    let bulkhead = Bulkhead::new(5);
    let p = Pipeline::builder()
        .total_timeout(secs(10))
        .breaker(&b)
        .bulkhead(&bulkhead)
        .build()
        .unwrap();
    let started = Cell::new(0u32);
    let t = timer.clone();
    let op = || {
        let t = t.clone();
        let started = &started;
        async move {
            started.set(started.get() + 1);
            let n = started.get();
            if n == 1 {
                // The first replica hangs.
                pending::<()>().await;
            }
            t.sleep(secs(1)).await;
            Ok::<_, ()>(n)
        }
    };
    let policy = hedging(3, secs(2));
    let out = run(&timer, p.call_hedged(&timer, &policy, op));
    assert_eq!(out, Ok(2));
    // The hedge started at 2 s and answered 1 s later; the third never started.
    assert_eq!(timer.now(), Instant::from_nanos(3_000_000_000));
    assert_eq!(started.get(), 2);
    assert_eq!(bulkhead.metrics().in_flight, 0);
    // Only the winner was recorded: the loser's permit went back unrecorded.
    assert_eq!(b.metrics(timer.now()).calls, 1);

    // A fatal error cancels every attempt and ends the call.
    let err = run(
        &timer,
        p.call_hedged(&timer, &policy, || ready(Err::<u32, _>("bad")))
            .retry_when(|_| false),
    )
    .unwrap_err();
    assert_eq!(err, PipelineError::Failed("bad"));
    // Every attempt failing, non-fatally: hedges start at once, then the call gives up.
    let before = timer.now();
    let err = run(
        &timer,
        p.call_hedged(&timer, &policy, || ready(Err::<u32, _>("busy"))),
    )
    .unwrap_err();
    let PipelineError::RetriesExhausted(r) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (r.attempts(), r.reason()),
        (3, GiveUpReason::AttemptsExhausted)
    );
    assert_eq!(timer.now(), before);
}

#[test]
fn a_hedged_call_dropped_mid_flight_gives_everything_back() {
    let timer = VirtualTimer::new();
    let b: CircuitBreaker = CircuitBreaker::builder().build().unwrap();
    let bulkhead = Bulkhead::new(5);
    let budget = RetryBudget::builder().min_retries(10).build().unwrap();
    let p = Pipeline::builder()
        .budget(&budget)
        .breaker(&b)
        .bulkhead(&bulkhead)
        .build()
        .unwrap();
    let policy = hedging(3, Duration::ZERO);
    {
        let mut call = pin!(p.call_hedged(&timer, &policy, pending::<Result<(), ()>>));
        let waker = futures_util::task::noop_waker();
        let mut cx = core::task::Context::from_waker(&waker);
        for _ in 0..8 {
            assert!(matches!(call.as_mut().poll(&mut cx), Poll::Pending));
        }
        assert_eq!(bulkhead.metrics().in_flight, 3, "three attempts at once");
    }
    assert_eq!(bulkhead.metrics().in_flight, 0);
    assert_eq!(b.metrics(timer.now()).calls, 0);
}

#[test]
fn a_hedged_call_takes_a_fallback_too() {
    let timer = VirtualTimer::new();
    let p = Pipeline::builder().total_timeout(secs(1)).build().unwrap();
    let policy = hedging(2, Duration::from_millis(100));
    let call = p
        .call_hedged(&timer, &policy, pending::<Result<u32, ()>>)
        .fallback_value(|e| matches!(e, PipelineError::Timeout(_)), 5);
    assert_eq!(run(&timer, call), Ok(5));
    let call = p
        .call_hedged(&timer, &policy, || ready(Err::<u32, ()>(())))
        .fallback(|e| e.error().is_some(), |_| async { Ok(6) });
    assert_eq!(run(&timer, call), Ok(6));
}
