//! Chaos stage scenarios: a latency fault's delay on the runtime's clock, a stall cut by a
//! timeout with the work never run, errors and outcomes at once, a seeded mix drawing the
//! same faults on every runtime, the switch. No std, no heap.
//!
//! Real-time runs count in 10 ms units: every deciding event here is at least two units from
//! the next (a delay of at most 2 units against a timeout of 10), so a late wake-up under load
//! cannot change an outcome.

use core::time::Duration;

use portable_atomic::{AtomicBool, AtomicU32, Ordering};
use steadfast::Timer;
use steadfast::chaos::{Chaos, Fault, Injected, Latency};
use steadfast::timeout::TimeoutExt;

use crate::{Clock, Env};

/// A call site's own error, taking injected faults through `From`.
#[derive(Debug, PartialEq, Eq)]
enum CallError {
    Injected(Injected),
    Status(u16),
}

impl From<Injected> for CallError {
    fn from(i: Injected) -> Self {
        CallError::Injected(i)
    }
}

/// Asserts that `expected` has passed since `start`, the time of `sleeps` sleeps: at least
/// that, and on a virtual clock at most a millisecond more a sleep (tokio's paused clock
/// rounds a sleep up to the millisecond, embassy's to its tick).
#[track_caller]
fn assert_slept<T: Timer>(
    env: &Env<T>,
    start: steadfast::Instant,
    expected: Duration,
    sleeps: u32,
) {
    let elapsed = env.timer.now() - start;
    assert!(elapsed >= expected, "{elapsed:?} < {expected:?}");
    if env.clock == Clock::Virtual {
        let most = expected + Duration::from_millis(1) * sleeps;
        assert!(elapsed <= most, "{elapsed:?} > {most:?}");
    }
}

/// A latency fault runs the work after its delay, on the runtime's clock.
pub async fn latency_runs_the_work_after_its_delay<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let chaos = Chaos::builder()
        .latency(1.0, Latency::Fixed(env.units(2)))
        .build()
        .unwrap();
    let start = t.now();
    let ran_at = chaos.run(t, async { t.now() }).await.unwrap();
    assert!(
        ran_at - start >= env.units(2),
        "the work ran before the delay"
    );
    env.assert_elapsed(start, env.units(2));
    assert_eq!(chaos.metrics().latencies, 1);
}

/// A stall never ends: a timeout cuts it, and the work never starts.
pub async fn a_stall_is_cut_by_a_timeout_and_the_work_never_runs<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let chaos = Chaos::builder().stall(1.0).build().unwrap();
    let started = AtomicBool::new(false);
    let start = t.now();
    let work = async {
        started.store(true, Ordering::SeqCst);
    };
    let err = chaos
        .run(t, work)
        .timeout(t, env.units(3))
        .await
        .unwrap_err();
    assert_eq!(err.duration(), Some(env.units(3)));
    env.assert_elapsed(start, env.units(3));
    assert!(!started.load(Ordering::SeqCst));
    assert_eq!(chaos.metrics().stalls, 1);
}

/// Errors and outcomes end the call at once, without the work: an error converted into the
/// call site's type, an outcome as the result the call site supplied.
pub async fn errors_and_outcomes_end_at_once_without_the_work<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let chaos = Chaos::builder().error(0.5).outcome(0.5).build().unwrap();
    let ran = AtomicU32::new(0);
    let start = t.now();
    let (mut errors, mut outcomes) = (0, 0);
    for _ in 0..100 {
        let work = async {
            ran.fetch_add(1, Ordering::SeqCst);
            Ok::<u16, CallError>(200)
        };
        match chaos
            .call(t, work)
            .outcome(|| Err(CallError::Status(503)))
            .await
        {
            Err(CallError::Injected(Injected::Error)) => errors += 1,
            Err(CallError::Status(503)) => outcomes += 1,
            _ => panic!("neither the injected error nor the outcome"),
        }
    }
    env.assert_elapsed(start, Duration::ZERO);
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    let m = chaos.metrics();
    assert_eq!((m.errors, m.outcomes), (errors, outcomes));
    assert!(
        errors > 20 && outcomes > 20,
        "{errors} errors, {outcomes} outcomes"
    );
}

/// A seeded mix of faults draws the same faults on every runtime as a twin stage with the
/// same seed draws by itself: each call ends as its draw says, and the time taken is the sum
/// of the delays and of the cut stalls.
pub async fn a_seeded_mix_draws_the_same_faults_on_every_runtime<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let build = || {
        Chaos::builder()
            .error(0.2)
            .latency(
                0.3,
                Latency::Uniform {
                    min: env.units(1),
                    max: env.units(2),
                },
            )
            .stall(0.1)
            .seed(2024)
            .build()
            .unwrap()
    };
    let (chaos, twin) = (build(), build());
    let cut = env.units(10);
    let start = t.now();
    let (mut expected, mut sleeps) = (Duration::ZERO, 0);
    for i in 0..20u32 {
        let drawn = twin.draw();
        let call_start = t.now();
        let out = chaos
            .call(t, async { Ok::<u32, CallError>(i) })
            .timeout(t, cut)
            .await;
        match drawn {
            None => assert!(out == Ok(Ok(i)), "no fault: the work's output"),
            Some(Fault::Error) => assert!(
                out == Ok(Err(CallError::Injected(Injected::Error))),
                "an error fault: the injected error"
            ),
            Some(Fault::Latency(d)) => {
                assert!(out == Ok(Ok(i)), "a latency fault: the work's output");
                assert!(t.now() - call_start >= d, "the delay was not waited out");
                expected += d;
                sleeps += 1;
            }
            Some(Fault::Stall) => {
                assert!(out.is_err(), "a stall is cut by the timeout");
                expected += cut;
                sleeps += 1;
            }
            Some(_) => panic!("a fault this stage was not given"),
        }
    }
    assert_slept(&env, start, expected, sleeps);
    let m = chaos.metrics();
    assert!(m == twin.metrics(), "the same counts as the twin");
    assert!(
        m.errors > 0 && m.latencies > 0 && m.stalls > 0,
        "the seed draws every kind"
    );
}

/// A disabled stage runs every call's work untouched and draws nothing; enabled again, it
/// injects.
pub async fn disabled_runs_the_work_untouched<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let chaos = Chaos::builder().error(1.0).enabled(false).build().unwrap();
    let start = t.now();
    for i in 0..10 {
        assert!(chaos.run(t, async { i }).await == Ok(i));
    }
    env.assert_elapsed(start, Duration::ZERO);
    chaos.enable();
    assert!(chaos.run(t, async { 0 }).await == Err(Injected::Error));
    let m = chaos.metrics();
    assert_eq!((m.calls, m.drawn, m.errors), (11, 1, 1));
}

/// Every chaos scenario.
#[macro_export]
macro_rules! chaos_scenarios {
    (list $callback:ident ! ($($args:tt)*)) => {
        $crate::chaos_scenarios!(@names $callback ($($args)*));
    };
    ($run:path) => {
        $crate::chaos_scenarios!(@names each_test ($run;));
    };
    (@names $callback:ident ($($args:tt)*)) => {
        $crate::__conformance_dispatch!($callback ($($args)*) chaos;
            latency_runs_the_work_after_its_delay,
            a_stall_is_cut_by_a_timeout_and_the_work_never_runs,
            errors_and_outcomes_end_at_once_without_the_work,
            a_seeded_mix_draws_the_same_faults_on_every_runtime,
            disabled_runs_the_work_untouched,
        );
    };
}
