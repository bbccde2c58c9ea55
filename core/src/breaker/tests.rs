use core::time::Duration;
use std::cell::RefCell;
use std::string::ToString;
use std::vec::Vec;

use super::machine::QUIET;
use super::*;
use crate::test_util::schedule::Rng;

mod open;

fn at(secs: u64) -> Instant {
    Instant::from_nanos(secs * 1_000_000_000)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Records one call admitted and ended at `now`.
fn call<const N: usize>(b: &CircuitBreaker<N>, now: Instant, outcome: Outcome) -> bool {
    match b.try_acquire(now) {
        Ok(p) => {
            p.record(now, outcome);
            true
        }
        Err(_) => false,
    }
}

fn consecutive(k: u32) -> CircuitBreaker<1> {
    CircuitBreaker::builder()
        .consecutive_failures(k)
        .open_for(secs(10))
        .build()
        .unwrap()
}

#[test]
fn consecutive_failures_trip_and_a_success_resets_the_count() {
    let b = consecutive(3);
    call(&b, at(0), Outcome::Failure);
    call(&b, at(0), Outcome::Failure);
    call(&b, at(0), Outcome::Success);
    call(&b, at(0), Outcome::Failure);
    call(&b, at(0), Outcome::Failure);
    assert_eq!(b.state(at(0)), State::Closed);
    call(&b, at(1), Outcome::Failure);
    assert_eq!(b.state(at(1)), State::Open);
    let open = b.try_acquire(at(4)).unwrap_err();
    assert_eq!(open.state(), State::Open);
    assert_eq!(open.retry_after(), Some(secs(7)));
    assert_eq!(open.to_string(), "circuit open; retry after 7s");
}

#[test]
fn count_window_trips_on_the_rate_once_min_calls_are_in() {
    let b: CircuitBreaker<1> = CircuitBreaker::builder()
        .count_window(10, 4)
        .failure_rate(50)
        .build()
        .unwrap();
    // Three failures: 100 %, but below min_calls.
    for _ in 0..3 {
        call(&b, at(0), Outcome::Failure);
    }
    assert_eq!(b.state(at(0)), State::Closed);
    // A success makes four calls at 75 %: trips.
    call(&b, at(0), Outcome::Success);
    assert_eq!(b.state(at(0)), State::Closed, "a success never trips");
    call(&b, at(0), Outcome::Failure);
    assert_eq!(b.state(at(0)), State::Open);
}

#[test]
fn count_window_is_a_ring_the_oldest_outcome_leaves() {
    let b: CircuitBreaker<1> = CircuitBreaker::builder()
        .count_window(4, 4)
        .failure_rate(75)
        .build()
        .unwrap();
    for o in [
        Outcome::Failure,
        Outcome::Failure,
        Outcome::Success,
        Outcome::Success,
    ] {
        call(&b, at(0), o);
    }
    // Window: F F S S (50 %). Two more successes push both failures out.
    call(&b, at(0), Outcome::Success);
    call(&b, at(0), Outcome::Success);
    let m = b.metrics(at(0));
    assert_eq!((m.calls, m.failures), (4, 0));
    // Three failures: S F F F = 75 %: trips on the third.
    call(&b, at(0), Outcome::Failure);
    call(&b, at(0), Outcome::Failure);
    assert_eq!(b.state(at(0)), State::Closed);
    call(&b, at(0), Outcome::Failure);
    assert_eq!(b.state(at(0)), State::Open);
}

#[test]
fn time_window_forgets_old_buckets_and_a_long_gap_empties_it() {
    let b: CircuitBreaker<4> = CircuitBreaker::builder()
        .time_window(secs(4), 4, 3)
        .failure_rate(100)
        .build()
        .unwrap();
    call(&b, at(100), Outcome::Failure);
    call(&b, at(101), Outcome::Failure);
    assert_eq!(b.metrics(at(101)).failures, 2);
    // At 104 the bucket of 100 has aged out: reading changes nothing but leaves it out.
    assert_eq!(b.metrics(at(104)).failures, 1);
    assert_eq!(b.metrics(at(101)).failures, 2, "a read evicts nothing");
    call(&b, at(104), Outcome::Failure);
    assert_eq!(
        b.state(at(104)),
        State::Closed,
        "only 2 calls in the window"
    );
    // A gap of a year empties the window in one lap.
    let m = b.metrics(at(104 + 365 * 86_400));
    assert_eq!((m.calls, m.failures), (0, 0));
    call(&b, at(1_000_000), Outcome::Failure);
    call(&b, at(1_000_001), Outcome::Failure);
    call(&b, at(1_000_002), Outcome::Failure);
    assert_eq!(b.state(at(1_000_002)), State::Open);
}

#[test]
fn slow_calls_trip_whatever_their_outcome() {
    let b: CircuitBreaker<1> = CircuitBreaker::builder()
        .count_window(4, 4)
        .slow_calls(Duration::from_millis(500), 50)
        .build()
        .unwrap();
    for i in 0..4u64 {
        let start = at(i);
        let p = b.try_acquire(start).unwrap();
        // Two fast, then slow ones (exactly the threshold is not slow).
        let took = if i < 2 {
            Duration::from_millis(500)
        } else {
            secs(1)
        };
        p.record(start + took, Outcome::Success);
    }
    assert_eq!(b.metrics(at(10)).slow_calls, 2);
    assert_eq!(b.state(at(10)), State::Open);
}

/// The half-open stampede (Polly#216, tower-resilience#382): a probe counted at completion
/// lets every caller through while it is in flight. Here its slot is taken at admission.
#[test]
fn half_open_stampede_the_probe_slot_is_taken_at_admission() {
    let b = consecutive(1);
    call(&b, at(0), Outcome::Failure);
    assert_eq!(b.state(at(9)), State::Open);
    assert_eq!(b.state(at(10)), State::HalfOpen);
    let probe = b.try_acquire(at(10)).unwrap();
    assert!(probe.is_probe());
    // While the probe is in flight, every other caller is turned away.
    for _ in 0..100 {
        let e = b.try_acquire(at(11)).unwrap_err();
        assert_eq!(e.state(), State::HalfOpen);
        assert_eq!(e.retry_after(), None);
    }
    probe.record(at(12), Outcome::Success);
    assert_eq!(b.state(at(12)), State::Closed);
    assert!(call(&b, at(12), Outcome::Success));
}

/// The state read that consumes a permit (resilience4j#858).
#[test]
fn state_read_consumes_no_permit() {
    let b = consecutive(1);
    call(&b, at(0), Outcome::Failure);
    for _ in 0..10 {
        assert!(b.would_admit(at(10)));
        assert_eq!(b.state(at(10)), State::HalfOpen);
        let _ = b.metrics(at(10));
    }
    let probe = b.try_acquire(at(10)).unwrap();
    assert!(!b.would_admit(at(10)));
    drop(probe);
    assert!(b.would_admit(at(10)));
}

#[test]
fn a_cancelled_probe_frees_its_slot_and_records_nothing() {
    let b = consecutive(1);
    call(&b, at(0), Outcome::Failure);
    for _ in 0..5 {
        drop(b.try_acquire(at(10)).unwrap());
    }
    assert_eq!(b.state(at(10)), State::HalfOpen);
    assert_eq!(b.metrics(at(10)).probes_in_flight, 0);
    assert!(call(&b, at(10), Outcome::Success));
    assert_eq!(b.state(at(10)), State::Closed);
}

/// The ignored outcome that eats the probe (Polly#1979, resilience4j#545, erpc#1118).
#[test]
fn ignored_outcome_does_not_eat_the_probe() {
    let b = consecutive(1);
    call(&b, at(0), Outcome::Failure);
    assert!(call(&b, at(10), Outcome::Ignored));
    assert_eq!(b.state(at(10)), State::HalfOpen);
    assert!(call(&b, at(10), Outcome::Ignored), "the slot is free again");
    assert!(call(&b, at(10), Outcome::Success));
    assert_eq!(b.state(at(10)), State::Closed);
}

/// Late release leaking into the next cycle (failsafe-lib/failsafe#391, tower-resilience PR
/// #407): a probe of an expired cycle dropped in the next one frees none of its slots.
#[test]
fn late_release_does_not_leak_into_the_next_cycle() {
    let b: CircuitBreaker<1> = CircuitBreaker::builder()
        .consecutive_failures(1)
        .open_for(secs(10))
        .probe_timeout(secs(5))
        .build()
        .unwrap();
    call(&b, at(0), Outcome::Failure);
    let old = b.try_acquire(at(10)).unwrap();
    // The lease runs out at 15: open again until 25, then a new cycle and a new probe.
    assert!(b.try_acquire(at(15)).is_err());
    let new = b.try_acquire(at(25)).unwrap();
    assert!(new.is_probe());
    drop(old);
    let busy = b.try_acquire(at(26)).unwrap_err();
    assert_eq!(busy.state(), State::HalfOpen, "the old probe freed no slot");
    assert_eq!(b.metrics(at(26)).probes_in_flight, 1);
    new.record(at(26), Outcome::Success);
    assert_eq!(b.state(at(26)), State::Closed);
}

#[test]
fn a_late_result_from_an_older_state_is_discarded() {
    let b = consecutive(2);
    let slow = b.try_acquire(at(0)).unwrap();
    call(&b, at(1), Outcome::Failure);
    call(&b, at(1), Outcome::Failure);
    assert_eq!(b.state(at(1)), State::Open);
    // The call admitted while closed ends after the trip: its success does not count.
    slow.record(at(2), Outcome::Success);
    assert_eq!(b.state(at(2)), State::Open);
    // And a closed-state permit that outlives a whole cycle does not leak into the next one.
    let stale = b.try_acquire(at(20)).unwrap(); // a probe
    stale.record(at(20), Outcome::Success); // closes
    let old = b.try_acquire(at(21)).unwrap();
    b.reset(at(22));
    old.record(at(23), Outcome::Failure);
    assert_eq!(b.metrics(at(23)).consecutive_failures, 0);
}

/// The hung probe that holds half-open forever (resilience4j#903, #935).
#[test]
fn hung_probe_loses_its_lease_counts_as_failed_and_its_late_result_is_discarded() {
    let b: CircuitBreaker<1> = CircuitBreaker::builder()
        .consecutive_failures(1)
        .open_for(secs(10))
        .max_open_for(secs(100))
        .probe_timeout(secs(5))
        .build()
        .unwrap();
    call(&b, at(0), Outcome::Failure);
    let hung = b.try_acquire(at(10)).unwrap();
    assert_eq!(b.state(at(14)), State::HalfOpen);
    // At 15 the lease is up: the breaker reads open, and the next caller re-opens it, for
    // twice as long (a re-open).
    assert_eq!(b.state(at(15)), State::Open);
    let e = b.try_acquire(at(15)).unwrap_err();
    assert_eq!(e.retry_after(), Some(secs(20)));
    hung.record(at(16), Outcome::Success);
    assert_eq!(
        b.state(at(16)),
        State::Open,
        "the late success is discarded"
    );
    assert_eq!(b.state(at(35)), State::HalfOpen);
}

#[test]
fn several_probes_with_a_failure_rate_decide_once_all_have_reported() {
    let b: CircuitBreaker<1> = CircuitBreaker::builder()
        .consecutive_failures(1)
        .open_for(secs(10))
        .half_open_probes(4)
        .half_open_failure_rate(50)
        .build()
        .unwrap();
    call(&b, at(0), Outcome::Failure);
    let probes: Vec<_> = (0..4).map(|_| b.try_acquire(at(10)).unwrap()).collect();
    assert!(b.try_acquire(at(10)).is_err(), "never more than 4 probes");
    let mut probes = probes.into_iter();
    probes.next().unwrap().record(at(11), Outcome::Failure);
    assert_eq!(
        b.state(at(11)),
        State::HalfOpen,
        "one failure of four decides nothing"
    );
    for p in probes {
        p.record(at(11), Outcome::Success);
    }
    assert_eq!(b.state(at(11)), State::Closed, "25 % < 50 %");
}

#[test]
fn manual_control() {
    let b = consecutive(1);
    b.force_open(at(0));
    assert_eq!(
        b.try_acquire(at(1_000)).unwrap_err().state(),
        State::ForcedOpen
    );
    b.disable(at(1));
    for _ in 0..10 {
        assert!(call(&b, at(1), Outcome::Failure));
    }
    assert_eq!(b.state(at(1)), State::Disabled, "nothing is recorded");
    b.reset(at(2));
    assert_eq!(b.state(at(2)), State::Closed);
    b.trip_for(at(3), secs(60));
    assert_eq!(
        b.try_acquire(at(4)).unwrap_err().retry_after(),
        Some(secs(59))
    );
    assert_eq!(b.state(at(63)), State::HalfOpen);
    b.trip_until(at(63), Instant::MAX);
    assert_eq!(b.state(at(u64::MAX / 2_000_000_000)), State::Open);
}

std::thread_local! {
    static LOG: RefCell<Vec<(State, State)>> = const { RefCell::new(Vec::new()) };
}

static REENTRANT: CircuitBreaker<1> = CircuitBreaker::builder()
    .consecutive_failures(1)
    .open_for(Duration::from_secs(10))
    .on_transition(|t| {
        // Re-enters the breaker: would deadlock if called under its lock.
        let now_state = REENTRANT.state(t.at);
        LOG.with(|l| l.borrow_mut().push((t.from, now_state)));
    })
    .build_const();

#[test]
fn the_transition_callback_runs_outside_the_lock_and_sees_every_change() {
    call(&REENTRANT, at(0), Outcome::Failure);
    assert!(call(&REENTRANT, at(10), Outcome::Success));
    REENTRANT.force_open(at(11));
    let log = LOG.with(|l| l.borrow().clone());
    assert_eq!(
        log,
        [
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Closed),
            (State::Closed, State::ForcedOpen),
        ]
    );
}

#[test]
fn bad_settings_are_typed_errors() {
    let field = |b: CircuitBreakerBuilder| b.build::<4>().unwrap_err().field();
    let b = CircuitBreaker::builder;
    assert_eq!(field(b().consecutive_failures(0)), "consecutive_failures");
    assert_eq!(field(b().count_window(0, 1)), "count_window");
    assert_eq!(field(b().count_window(129, 1)), "count_window");
    assert!(b().count_window(32, 1).build::<1>().is_ok());
    assert!(b().count_window(33, 1).build::<1>().is_err());
    assert_eq!(field(b().count_window(10, 0)), "min_calls");
    assert_eq!(field(b().time_window(secs(1), 5, 1)), "time_window");
    assert_eq!(field(b().time_window(secs(1), 0, 1)), "time_window");
    assert_eq!(field(b().time_window(Duration::ZERO, 1, 1)), "time_window");
    assert_eq!(
        field(b().count_window(10, 1).failure_rate(0)),
        "failure_rate"
    );
    assert_eq!(
        field(b().count_window(10, 1).failure_rate(101)),
        "failure_rate"
    );
    assert_eq!(field(b().slow_calls(Duration::ZERO, 50)), "slow_calls");
    assert_eq!(field(b().slow_calls(secs(1), 101)), "slow_calls");
    assert_eq!(field(b().open_for(Duration::ZERO)), "open_for");
    assert_eq!(
        field(b().open_for(secs(2)).max_open_for(secs(1))),
        "max_open_for"
    );
    static ZERO: crate::retry::RetryPolicy = crate::retry::RetryPolicy::builder()
        .constant(Duration::ZERO)
        .build_const();
    static GROWTH: crate::retry::RetryPolicy = crate::retry::RetryPolicy::builder().build_const();
    assert_eq!(field(b().open_backoff(&ZERO)), "open_backoff");
    assert_eq!(
        field(b().open_backoff(&GROWTH).max_open_for(secs(9))),
        "max_open_for"
    );
    assert!(b().open_backoff(&GROWTH).build::<4>().is_ok());
    assert_eq!(field(b().half_open_probes(0)), "half_open_probes");
    assert_eq!(
        field(b().half_open_failure_rate(0)),
        "half_open_failure_rate"
    );
    assert_eq!(field(b().probe_timeout(Duration::ZERO)), "probe_timeout");
    let e = b().half_open_probes(0).build::<4>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid circuit breaker setting `half_open_probes`: must be at least 1"
    );
    // The default needs 100 outcomes: four slots at least.
    assert!(b().build::<3>().is_err() && b().build::<4>().is_ok());
}

/// A naive model of the count window: the last `size` outcomes in a `Vec`.
/// Whether the gate lets a success be recorded without the lock.
fn quiet<const N: usize>(b: &CircuitBreaker<N>) -> bool {
    b.gate.load(Ordering::Relaxed) & QUIET == QUIET
}

#[test]
fn successes_that_change_nothing_skip_the_lock_and_the_window_stays_exact() {
    let b: CircuitBreaker<1> = CircuitBreaker::builder()
        .count_window(4, 4)
        .failure_rate(50)
        .build()
        .unwrap();
    for _ in 0..3 {
        call(&b, at(0), Outcome::Success);
        assert!(!quiet(&b), "a ring not yet full counts each success");
    }
    call(&b, at(0), Outcome::Success);
    assert!(quiet(&b), "a full ring of successes");
    for _ in 0..10 {
        call(&b, at(0), Outcome::Success);
    }
    let m = b.metrics(at(0));
    assert_eq!((m.calls, m.failures), (4, 0));
    call(&b, at(0), Outcome::Failure);
    assert!(!quiet(&b), "a failure in the ring");
    // S S S F, then four successes push it out: quiet again.
    for _ in 0..3 {
        call(&b, at(0), Outcome::Success);
    }
    assert!(!quiet(&b), "F S S S");
    call(&b, at(0), Outcome::Success);
    assert!(quiet(&b));
    // Two failures: S S F F = 50 %: trips on the second.
    call(&b, at(0), Outcome::Failure);
    assert_eq!(b.state(at(0)), State::Closed);
    call(&b, at(0), Outcome::Failure);
    assert_eq!(b.state(at(0)), State::Open);
    assert!(!quiet(&b));

    // No window: quiet while no failure is in a row.
    let c = consecutive(2);
    assert!(quiet(&c));
    call(&c, at(0), Outcome::Failure);
    assert!(!quiet(&c));
    call(&c, at(0), Outcome::Success);
    assert!(quiet(&c));
    // A slow-call rule or a time window needs the clock for every result.
    let slow: CircuitBreaker<4> = CircuitBreaker::builder()
        .count_window(1, 1)
        .slow_calls(secs(1), 50)
        .build()
        .unwrap();
    call(&slow, at(0), Outcome::Success);
    assert!(!quiet(&slow));
    let timed: CircuitBreaker<4> = CircuitBreaker::builder()
        .time_window(secs(4), 4, 1)
        .build()
        .unwrap();
    call(&timed, at(0), Outcome::Success);
    assert!(!quiet(&timed));
}

#[test]
fn count_window_matches_a_naive_model() {
    let mut rng = Rng::new(7);
    for size in [1u32, 3, 31, 32, 33, 64, 100] {
        let mut w = super::window::Window::<4>::new();
        let shape = super::window::Shape::Count { size };
        let mut model: Vec<(bool, bool)> = Vec::new();
        // Under Miri, which is slow, enough steps to wrap the largest ring once.
        for _ in 0..if cfg!(miri) { 150 } else { 1_000 } {
            let (f, s) = (rng.below(2) == 1, rng.below(3) == 0);
            w.record(shape, 0, f, s);
            model.push((f, s));
            if model.len() > size as usize {
                model.remove(0);
            }
            assert_eq!(w.ring(size), model);
            let t = w.totals(shape, 0);
            assert_eq!(t.calls as usize, model.len());
            assert_eq!(t.failures as usize, model.iter().filter(|x| x.0).count());
            assert_eq!(t.slow as usize, model.iter().filter(|x| x.1).count());
        }
    }
}

std::thread_local! {
    static CAUSE: RefCell<Vec<Transition>> = const { RefCell::new(Vec::new()) };
}

/// Random admissions, outcomes, cancellations, lease expiries, time jumps and manual control.
/// Invariants: never more probes in flight than allowed; a cancelled probe never strands
/// half-open; the window's totals equal its ring; the lock-free gate matches the machine;
/// every transition is one the machine allows, or the manual call that caused it.
#[test]
fn random_schedules_keep_every_invariant() {
    let probes = 3u16;
    for seed in 0..crate::test_util::schedules(10_000) {
        let mut rng = Rng::new(seed);
        let b: CircuitBreaker<2> = CircuitBreaker::builder()
            .count_window(16, 4)
            .failure_rate(50)
            .slow_calls(secs(3), 60)
            .open_for(secs(10))
            .max_open_for(secs(40))
            .half_open_probes(probes)
            .probe_timeout(secs(6))
            .on_transition(|t| CAUSE.with(|c| c.borrow_mut().push(*t)))
            .build()
            .unwrap();
        let mut now = at(0);
        let mut held: Vec<Permit<'_>> = Vec::new();
        CAUSE.with(|c| c.borrow_mut().clear());
        for _ in 0..60 {
            match rng.below(10) {
                0..=3 => {
                    if let Ok(p) = b.try_acquire(now) {
                        held.push(p);
                    }
                }
                4..=6 if !held.is_empty() => {
                    let p = held.swap_remove(rng.below(held.len()));
                    let outcome =
                        [Outcome::Success, Outcome::Failure, Outcome::Ignored][rng.below(3)];
                    p.record(now, outcome);
                }
                7 if !held.is_empty() => drop(held.swap_remove(rng.below(held.len()))),
                8 => now = now + Duration::from_millis(rng.below(8_000) as u64),
                9 if rng.below(5) == 0 => {
                    // Manual control: its transition has its cause here, not in the machine.
                    let to = match rng.below(4) {
                        0 => {
                            b.trip_for(now, secs(rng.below(20) as u64));
                            State::Open
                        }
                        1 => {
                            b.force_open(now);
                            State::ForcedOpen
                        }
                        2 => {
                            b.disable(now);
                            State::Disabled
                        }
                        _ => {
                            b.reset(now);
                            State::Closed
                        }
                    };
                    let last = CAUSE.with(|c| c.borrow_mut().pop());
                    assert_eq!(last.map(|t| t.to), Some(to), "seed {seed}");
                }
                _ => now = now + Duration::from_secs(rng.below(50) as u64),
            }
            // The gate a closed breaker admits through is the machine's, as of its last change.
            let gate = b.machine.with_lock(|m| m.gate(&b.settings));
            assert_eq!(b.gate.load(Ordering::Relaxed), gate, "seed {seed}");
            let m = b.metrics(now);
            let probes_held = held.iter().filter(|p| p.is_probe()).count();
            assert!(m.probes_in_flight <= probes, "seed {seed}");
            if m.state == State::HalfOpen {
                assert!(m.probes_in_flight as usize <= probes_held, "seed {seed}");
            }
            let (shape, w) = (
                b.settings.shape,
                b.machine
                    .with_lock(|m| m.window().totals(b.settings.shape, 0)),
            );
            if let super::window::Shape::Count { size } = shape {
                let ring = b.machine.with_lock(|m| m.window().ring(size));
                assert_eq!(w.calls as usize, ring.len(), "seed {seed}");
                assert_eq!(
                    w.failures as usize,
                    ring.iter().filter(|x| x.0).count(),
                    "seed {seed}"
                );
            }
        }
        // Everything dropped and time moved on: the breaker admits again; nothing is stranded.
        held.clear();
        if matches!(b.state(now), State::ForcedOpen | State::Disabled) {
            b.reset(now);
            CAUSE.with(|c| c.borrow_mut().pop());
        }
        now = now + secs(100);
        let p = b
            .try_acquire(now)
            .unwrap_or_else(|e| panic!("seed {seed}: stranded ({e})"));
        p.record(now, Outcome::Success);
        for t in CAUSE.with(|c| c.borrow().clone()) {
            let allowed = matches!(
                (t.from, t.to),
                (State::Closed, State::Open)
                    | (State::Open, State::HalfOpen)
                    | (State::HalfOpen, State::Open)
                    | (State::HalfOpen, State::Closed)
            );
            assert!(allowed, "seed {seed}: {t:?}");
        }
    }
}

#[test]
fn run_records_the_outcome_and_a_cancelled_run_records_nothing() {
    use crate::VirtualTimer;
    use core::pin::pin;
    use core::task::{Context, Poll};

    let timer = VirtualTimer::new();
    let b = consecutive(1);
    let r = futures_executor::block_on(b.run(&timer, async { Err::<(), _>("503") }));
    assert_eq!(r.unwrap_err().into_failed(), Some("503"));
    assert_eq!(b.state(timer.now()), State::Open);
    let open = futures_executor::block_on(b.run(&timer, async { Ok::<_, ()>(1) })).unwrap_err();
    assert_eq!(open.circuit_open().unwrap().state(), State::Open);

    timer.advance(secs(10));
    // A probe polled once, then cancelled: its slot is free again.
    {
        let mut run = pin!(b.run(&timer, core::future::pending::<Result<(), ()>>()));
        let cx = &mut Context::from_waker(core::task::Waker::noop());
        assert!(run.as_mut().poll(cx).is_pending());
        assert!(!b.would_admit(timer.now()));
    }
    assert!(b.would_admit(timer.now()));
    // A 404 counted as ignored does not decide the probe.
    let r =
        futures_executor::block_on(b.run(&timer, async { Err::<(), u16>(404) }).classify(|r| {
            if r == &Err(404) {
                Outcome::Ignored
            } else {
                Outcome::Failure
            }
        }));
    assert_eq!(r, Err(BreakerError::Failed(404)));
    assert_eq!(b.state(timer.now()), State::HalfOpen);
    assert!(matches!(
        futures_executor::block_on(b.run(&timer, async { Ok::<_, u16>(()) })),
        Ok(())
    ));
    assert_eq!(b.state(timer.now()), State::Closed);
    let _ = Poll::<()>::Pending;
}

#[test]
fn errors_compose_with_question_mark() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<CircuitOpen>();
    send_sync::<BreakerError<std::io::Error>>();
    fn boxed() -> Result<(), std::boxed::Box<dyn core::error::Error + Send + Sync>> {
        Err(BreakerError::Failed(std::io::Error::other("reset")))?
    }
    let e = boxed().unwrap_err();
    assert_eq!(e.to_string(), "the call through the circuit breaker failed");
    assert_eq!(e.source().unwrap().to_string(), "reset");
}

#[test]
fn an_owned_permit_records_and_a_dropped_one_frees_its_probe_slot() {
    use crate::VirtualTimer;
    use alloc::sync::Arc;
    let timer = VirtualTimer::new();
    let b = Arc::new(consecutive(1));
    b.try_acquire_owned(&timer)
        .unwrap()
        .record(&timer, Outcome::Failure);
    assert_eq!(b.state(timer.now()), State::Open);
    assert!(b.try_acquire_owned(&timer).is_err());
    timer.advance(secs(10));
    let probe = b.try_acquire_owned(&timer).unwrap();
    assert!(probe.is_probe());
    assert!(
        b.try_acquire_owned(&timer).is_err(),
        "one probe slot, taken"
    );
    drop(probe);
    assert_eq!(b.metrics(timer.now()).probes_in_flight, 0);
    let probe = b.try_acquire_owned(&timer).unwrap();
    probe.record(&timer, Outcome::Success);
    assert_eq!(b.state(timer.now()), State::Closed);
    assert_eq!(
        Arc::strong_count(&b),
        1,
        "no permit keeps the breaker alive"
    );
}
