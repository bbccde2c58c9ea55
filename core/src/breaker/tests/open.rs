//! Open durations: doubled up to a cap, taken from a retry policy (jitter included), and
//! saturating.

use core::time::Duration;
use std::vec::Vec;

use super::{at, call, secs};
use crate::Instant;
use crate::breaker::{CircuitBreaker, Outcome, State};

#[test]
fn open_duration_doubles_on_each_reopen_up_to_the_cap_and_a_close_starts_again() {
    let b: CircuitBreaker<1> = CircuitBreaker::builder()
        .consecutive_failures(1)
        .open_for(secs(10))
        .max_open_for(secs(30))
        .build()
        .unwrap();
    let mut now = at(0);
    call(&b, now, Outcome::Failure);
    // Closed → Open(10) → HalfOpen → Open(20) → HalfOpen → Open(30, capped) → HalfOpen.
    for wait in [10, 20, 30, 30] {
        assert_eq!(
            b.try_acquire(now).unwrap_err().retry_after(),
            Some(secs(wait))
        );
        now = now + secs(wait);
        assert!(call(&b, now, Outcome::Failure));
    }
    now = now + secs(30);
    assert!(call(&b, now, Outcome::Success));
    assert_eq!(b.state(now), State::Closed);
    call(&b, now, Outcome::Failure);
    assert_eq!(
        b.try_acquire(now).unwrap_err().retry_after(),
        Some(secs(10))
    );
}

/// The open duration each failure at `now` meets: trips (or re-opens) and reads how long.
fn open_after_failure<const N: usize>(b: &CircuitBreaker<N>, now: Instant) -> Duration {
    assert!(call(b, now, Outcome::Failure), "admitted");
    b.try_acquire(now).unwrap_err().retry_after().unwrap()
}

/// A flow Closed → Open → HalfOpen → Open → … → Closed: each opening in a row lasts the
/// retry policy's next delay, up to its cap; a close starts again from the first.
#[test]
fn open_durations_follow_the_retry_policy_backoff_up_to_its_cap() {
    use crate::retry::RetryPolicy;
    static GROWTH: RetryPolicy = RetryPolicy::builder()
        .exponential(Duration::from_secs(10), 3.0)
        .max_delay(Duration::from_secs(100))
        .build_const();
    let b: CircuitBreaker<1> = CircuitBreaker::builder()
        .consecutive_failures(1)
        .open_backoff(&GROWTH)
        .build()
        .unwrap();
    let mut now = at(0);
    for wait in [10, 30, 90, 100, 100] {
        assert_eq!(open_after_failure(&b, now), secs(wait));
        now = now + secs(wait);
    }
    assert!(call(&b, now, Outcome::Success));
    assert_eq!(b.state(now), State::Closed);
    assert_eq!(
        open_after_failure(&b, now),
        secs(10),
        "a close starts again"
    );
    // An external trip is no re-open: the probe's failure after it is the second in a row.
    b.trip_for(now, secs(1));
    assert_eq!(open_after_failure(&b, now + secs(1)), secs(30));
}

/// Jittered open durations stay within the jitter's bounds of the backoff, differ from one
/// opening to the next, and repeat exactly for the same seed at the same instants.
#[test]
fn open_durations_are_jittered_within_bounds_and_reproducible_with_a_seed() {
    use crate::retry::{Jitter, RetryPolicy};
    static FULL: RetryPolicy = RetryPolicy::builder()
        .exponential(Duration::from_secs(10), 2.0)
        .max_delay(Duration::from_secs(80))
        .jitter(Jitter::Full)
        .seed(7)
        .build_const();
    static EQUAL: RetryPolicy = RetryPolicy::builder()
        .exponential(Duration::from_secs(10), 2.0)
        .max_delay(Duration::from_secs(80))
        .jitter(Jitter::Equal)
        .seed(7)
        .build_const();
    static DECORRELATED: RetryPolicy = RetryPolicy::builder()
        .constant(Duration::from_secs(10))
        .max_delay(Duration::from_secs(80))
        .jitter(Jitter::DECORRELATED)
        .seed(7)
        .build_const();
    let flow = |policy: &'static RetryPolicy| {
        let b: CircuitBreaker<1> = CircuitBreaker::builder()
            .consecutive_failures(1)
            .open_backoff(policy)
            .build()
            .unwrap();
        let mut now = at(0);
        let mut waits = Vec::new();
        for _ in 0..8 {
            let wait = open_after_failure(&b, now);
            waits.push(wait);
            now = now + wait;
        }
        waits
    };
    let backoff = [10, 20, 40, 80, 80, 80, 80, 80].map(secs);
    let full = flow(&FULL);
    assert_eq!(
        full,
        flow(&FULL),
        "same seed, same instants: same durations"
    );
    for (w, d) in full.iter().zip(backoff) {
        assert!(*w <= d, "full jitter: {w:?} within 0..={d:?}");
    }
    for (w, d) in flow(&EQUAL).iter().zip(backoff) {
        assert!(
            *w <= d && *w >= d / 2,
            "equal jitter: {w:?} within {d:?}/2..={d:?}"
        );
    }
    let decorrelated = flow(&DECORRELATED);
    for w in &decorrelated {
        assert!(*w >= secs(10) && *w <= secs(80), "decorrelated: {w:?}");
    }
    for waits in [full, decorrelated] {
        assert!(
            waits.windows(2).any(|w| w[0] != w[1]),
            "jittered: {waits:?}"
        );
        assert!(
            waits.iter().any(|w| w.subsec_nanos() != 0),
            "drawn: {waits:?}"
        );
    }
}

#[test]
fn durations_saturate() {
    let b: CircuitBreaker<1> = CircuitBreaker::builder()
        .consecutive_failures(1)
        .open_for(Duration::MAX)
        .max_open_for(Duration::MAX)
        .probe_timeout(Duration::MAX)
        .build()
        .unwrap();
    call(&b, at(5), Outcome::Failure);
    assert_eq!(b.state(Instant::from_nanos(u64::MAX - 1)), State::Open);
    b.trip_until(at(0), at(1));
    for _ in 0..70 {
        // Re-opens from half-open double the duration past 2^64 ns without overflow.
        let now = Instant::from_nanos(u64::MAX - 1);
        let _ = b.try_acquire(now).map(|p| p.record(now, Outcome::Failure));
    }
}
