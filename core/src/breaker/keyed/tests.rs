use core::time::Duration;
use std::string::ToString;
use std::vec::Vec;

use super::*;
use crate::breaker::CircuitBreaker;
use crate::test_util::schedule::Rng;

fn at(secs: u64) -> Instant {
    Instant::from_nanos(secs * 1_000_000_000)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn builder() -> CircuitBreakerBuilder {
    CircuitBreaker::builder()
        .consecutive_failures(2)
        .open_for(secs(10))
}

fn table<const CAP: usize>() -> KeyedBreaker<&'static str, 1, CAP> {
    builder().build_keyed().unwrap()
}

/// One call for `key`, admitted and ended at `now`; `Err` if it was turned away.
fn call<const CAP: usize>(
    b: &KeyedBreaker<&'static str, 1, CAP>,
    key: &'static str,
    now: Instant,
    outcome: Outcome,
) -> Result<(), KeyedError> {
    b.try_acquire(&key, now).map(|p| p.record(now, outcome))
}

#[test]
fn keys_are_independent() {
    let b = table::<4>();
    call(&b, "a", at(0), Outcome::Failure).unwrap();
    call(&b, "a", at(0), Outcome::Failure).unwrap();
    assert_eq!(b.state(&"a", at(0)), State::Open);
    let open = call(&b, "a", at(1), Outcome::Success).unwrap_err();
    assert_eq!(open.circuit_open().unwrap().retry_after(), Some(secs(9)));
    // "b" is untouched by "a" tripping, and one failure of its own does not trip it.
    call(&b, "b", at(1), Outcome::Failure).unwrap();
    assert_eq!(b.state(&"b", at(1)), State::Closed);
    assert!(call(&b, "b", at(1), Outcome::Success).is_ok());
    // A key never seen reads closed, and reading it takes no slot.
    assert_eq!(b.state(&"c", at(1)), State::Closed);
    assert_eq!(b.len(), 2);
    // "a" goes half-open on time and a probe closes it.
    assert_eq!(b.state(&"a", at(10)), State::HalfOpen);
    call(&b, "a", at(10), Outcome::Success).unwrap();
    assert_eq!(b.state(&"a", at(10)), State::Closed);
}

#[test]
fn eviction_takes_only_entries_that_look_fresh() {
    let b = table::<2>();
    // "a" has a failure in a row: evicting it would forget it.
    call(&b, "a", at(0), Outcome::Failure).unwrap();
    // "b" has only successes: indistinguishable from a new breaker.
    call(&b, "b", at(0), Outcome::Success).unwrap();
    call(&b, "c", at(0), Outcome::Failure).unwrap();
    assert_eq!(b.len(), 2);
    // "a" kept its failure: one more trips it.
    call(&b, "a", at(0), Outcome::Failure).unwrap();
    assert_eq!(b.state(&"a", at(0)), State::Open);
    // "c" took "b"'s place and kept its own failure too.
    call(&b, "c", at(0), Outcome::Failure).unwrap();
    assert_eq!(b.state(&"c", at(0)), State::Open);
    assert_eq!(b.state(&"b", at(0)), State::Closed);
}

#[test]
fn a_rate_window_with_a_failure_in_it_is_not_evicted_until_it_ages_out() {
    let b: KeyedBreaker<u8, 2, 1> = CircuitBreaker::builder()
        .time_window(secs(10), 2, 5)
        .build_keyed()
        .unwrap();
    b.try_acquire(&1, at(0))
        .unwrap()
        .record(at(0), Outcome::Failure);
    assert_eq!(b.try_acquire(&2, at(1)).unwrap_err(), KeyedError::TableFull);
    // Once the failure has left the window, the entry looks fresh and gives way.
    assert!(b.try_acquire(&2, at(20)).is_ok());
    assert_eq!(b.len(), 1);
}

#[test]
fn a_full_table_of_tripped_keys_refuses_a_new_key() {
    let b = table::<2>();
    for key in ["a", "b"] {
        call(&b, key, at(0), Outcome::Failure).unwrap();
        call(&b, key, at(0), Outcome::Failure).unwrap();
    }
    let full = call(&b, "c", at(1), Outcome::Success).unwrap_err();
    assert_eq!(full, KeyedError::TableFull);
    assert!(full.circuit_open().is_none());
    assert_eq!(
        full.to_string(),
        "keyed circuit breaker full: no entry can be evicted for a new key"
    );
    assert_eq!(b.trip_for(&"c", at(1), secs(5)), Err(KeyedError::TableFull));
    // Half-open is not evictable either.
    assert_eq!(b.state(&"a", at(10)), State::HalfOpen);
    assert_eq!(
        call(&b, "c", at(10), Outcome::Success),
        Err(KeyedError::TableFull)
    );
    // The refused call took no probe slot of "a": its probe still goes through.
    call(&b, "a", at(10), Outcome::Success).unwrap();
    // "a" closed with an empty window: now "c" may take its place.
    call(&b, "c", at(10), Outcome::Success).unwrap();
    assert_eq!(b.state(&"b", at(10)), State::HalfOpen);
}

#[test]
fn forced_and_tripped_entries_stay() {
    let b = table::<1>();
    b.trip_for(&"a", at(0), secs(3)).unwrap();
    assert_eq!(b.state(&"a", at(1)), State::Open);
    assert_eq!(
        call(&b, "b", at(1), Outcome::Success),
        Err(KeyedError::TableFull)
    );
    b.reset(&"a", at(1));
    assert_eq!(b.state(&"a", at(1)), State::Closed);
    call(&b, "b", at(1), Outcome::Success).unwrap();
}

#[test]
fn a_held_permit_keeps_its_entry() {
    let b = table::<1>();
    let p = b.try_acquire(&"a", at(0)).unwrap();
    // "a" is closed and clean, but its call is in flight: its failure must land.
    assert_eq!(
        call(&b, "b", at(0), Outcome::Success),
        Err(KeyedError::TableFull)
    );
    p.record(at(1), Outcome::Failure);
    assert_eq!(
        call(&b, "b", at(1), Outcome::Success),
        Err(KeyedError::TableFull)
    );
    call(&b, "a", at(1), Outcome::Failure).unwrap();
    assert_eq!(b.state(&"a", at(1)), State::Open);
    // A cancelled call (its permit dropped) lets the entry go.
    let b = table::<1>();
    drop(b.try_acquire(&"a", at(0)).unwrap());
    call(&b, "b", at(0), Outcome::Success).unwrap();
}

#[test]
fn a_late_result_after_a_reset_is_discarded() {
    let b = table::<2>();
    let late = b.try_acquire(&"a", at(0)).unwrap();
    call(&b, "a", at(0), Outcome::Failure).unwrap();
    b.reset(&"a", at(1));
    late.record(at(2), Outcome::Failure);
    // Only the call after the reset counts: one failure, still closed.
    call(&b, "a", at(2), Outcome::Failure).unwrap();
    assert_eq!(b.state(&"a", at(2)), State::Closed);
}

#[test]
fn a_result_for_a_replaced_entry_is_discarded() {
    let b = table::<1>();
    let late = b.try_acquire(&"a", at(0)).unwrap();
    // The table lets go of the entry as if the permit had ended (the entry's identity is all
    // that stops its result landing on the next key in the slot).
    b.table.with_lock(|t| t.entries[0].held = 0);
    call(&b, "b", at(0), Outcome::Failure).unwrap();
    late.record(at(1), Outcome::Failure);
    assert_eq!(
        b.state(&"b", at(1)),
        State::Closed,
        "a's result did not land on b"
    );
    call(&b, "b", at(1), Outcome::Failure).unwrap();
    assert_eq!(b.state(&"b", at(1)), State::Open);
}

#[test]
fn half_open_probes_are_per_key_and_a_dropped_probe_frees_its_slot() {
    let b = table::<2>();
    for _ in 0..2 {
        call(&b, "a", at(0), Outcome::Failure).unwrap();
    }
    let probe = b.try_acquire(&"a", at(10)).unwrap();
    assert!(probe.is_probe());
    let busy = b.try_acquire(&"a", at(10)).unwrap_err();
    assert_eq!(busy.circuit_open().unwrap().state(), State::HalfOpen);
    assert!(!b.try_acquire(&"b", at(10)).unwrap().is_probe());
    drop(probe);
    call(&b, "a", at(10), Outcome::Success).unwrap();
    assert_eq!(b.state(&"a", at(10)), State::Closed);
}

#[test]
fn bad_settings_are_config_errors() {
    let e = builder().build_keyed::<u8, 1, 0>().unwrap_err();
    assert_eq!(e.field(), "CAP");
    let e = builder()
        .consecutive_failures(0)
        .build_keyed::<u8, 1, 4>()
        .unwrap_err();
    assert_eq!(e.field(), "consecutive_failures");
    let e = CircuitBreaker::builder()
        .count_window(100, 10)
        .build_keyed::<u8, 1, 4>()
        .unwrap_err();
    assert_eq!(e.field(), "count_window");
}

#[test]
fn a_static_keyed_breaker() {
    static HOSTS: KeyedBreaker<u16, 1, 4> = CircuitBreaker::builder()
        .consecutive_failures(1)
        .build_keyed_const();
    HOSTS
        .try_acquire(&80, at(0))
        .unwrap()
        .record(at(0), Outcome::Failure);
    assert_eq!(HOSTS.state(&80, at(0)), State::Open);
    assert_eq!(HOSTS.state(&443, at(0)), State::Closed);
    assert_eq!(HOSTS.capacity(), 4);
}

#[test]
fn run_records_per_key_and_refuses_when_full() {
    futures_executor::block_on(async {
        let timer = crate::VirtualTimer::new();
        let b: KeyedBreaker<u8, 1, 1> = builder().build_keyed().unwrap();
        for _ in 0..2 {
            let r = b.run(1, &timer, async { Err::<(), _>("503") }).await;
            assert_eq!(r, Err(KeyedError::Failed("503")));
        }
        let mut ran = false;
        let r = b
            .run(2, &timer, async {
                ran = true;
                Ok::<_, &str>(())
            })
            .await;
        assert_eq!(r, Err(KeyedError::TableFull));
        assert!(!ran);
        let r = b.run(1, &timer, async { Ok::<_, &str>(()) }).await;
        assert!(r.unwrap_err().circuit_open().is_some());
    });
}

/// Random admissions, outcomes, cancellations and time jumps on a small table, against one
/// unbounded breaker per key: every key reads what its own breaker reads, a key leaves the
/// table only when its breaker looks new with no call in flight, and a new key is refused
/// only when no entry could give way.
#[test]
fn random_schedules_match_one_breaker_per_key() {
    const KEYS: u8 = 5;
    let settings = || {
        CircuitBreaker::builder()
            .consecutive_failures(2)
            .open_for(secs(3))
            .half_open_probes(2)
            .probe_timeout(secs(4))
    };
    for seed in 0..crate::test_util::schedules(10_000) {
        let mut rng = Rng::new(seed);
        let keyed: KeyedBreaker<u8, 1, 3> = settings().build_keyed().unwrap();
        let refs: Vec<CircuitBreaker<1>> = (0..KEYS).map(|_| settings().build().unwrap()).collect();
        let mut held = Vec::new();
        let mut now = 0u64;
        for _ in 0..60 {
            let t = Instant::from_nanos(now);
            match rng.next() % 5 {
                0 | 1 => {
                    let k = (rng.next() % KEYS as u64) as u8;
                    let before: Vec<u8> = keyed
                        .table
                        .with_lock(|t| t.entries.iter().map(|e| e.key).collect());
                    match keyed.try_acquire(&k, t) {
                        Ok(p) => {
                            let r = refs[k as usize].try_acquire(t);
                            let r = r.unwrap_or_else(|e| panic!("seed {seed}: ref refused {e}"));
                            assert_eq!(p.is_probe(), r.is_probe(), "seed {seed}");
                            held.push((k, p, r));
                        }
                        Err(KeyedError::Open(o)) => {
                            let r = refs[k as usize].try_acquire(t).map(drop);
                            assert_eq!(r, Err(o), "seed {seed}");
                        }
                        Err(KeyedError::TableFull) => {
                            assert!(!before.contains(&k), "seed {seed}: a present key refused");
                            assert_eq!(before.len(), 3, "seed {seed}");
                            for &j in &before {
                                let busy = held.iter().any(|(h, ..)| *h == j);
                                let b = &refs[j as usize];
                                let fresh = b.machine.with_lock(|m| m.is_fresh(&b.settings, t));
                                assert!(busy || !fresh, "seed {seed}: {j} could have gone");
                            }
                        }
                        Err(e) => panic!("seed {seed}: {e}"),
                    }
                    let after: Vec<u8> = keyed
                        .table
                        .with_lock(|t| t.entries.iter().map(|e| e.key).collect());
                    for j in before.into_iter().filter(|j| !after.contains(j)) {
                        let b = &refs[j as usize];
                        assert!(
                            b.machine.with_lock(|m| m.is_fresh(&b.settings, t)),
                            "seed {seed}: {j} evicted with a history"
                        );
                        assert!(!held.iter().any(|(h, ..)| *h == j), "seed {seed}");
                        // Evicted: the key starts again as a new breaker.
                        b.reset(t);
                    }
                }
                2 if !held.is_empty() => {
                    let i = (rng.next() % held.len() as u64) as usize;
                    let (_, p, r) = held.swap_remove(i);
                    let o = [Outcome::Success, Outcome::Failure, Outcome::Ignored]
                        [(rng.next() % 3) as usize];
                    p.record(t, o);
                    r.record(t, o);
                }
                3 if !held.is_empty() => {
                    let i = (rng.next() % held.len() as u64) as usize;
                    drop(held.swap_remove(i));
                }
                _ => now += rng.next() % 2_500_000_000,
            }
            let t = Instant::from_nanos(now);
            for k in 0..KEYS {
                assert_eq!(
                    keyed.state(&k, t),
                    refs[k as usize].state(t),
                    "seed {seed}: key {k}"
                );
            }
        }
    }
}
