//! Circuit breaker scenarios: each trip rule, open → half-open on the runtime's clock, probes,
//! re-opening, manual control, late results discarded, the probe lease, open durations growing
//! through a retry policy, keyed breakers. No std, no heap.

use core::future::{Future, pending, poll_fn};
use core::pin::pin;
use core::task::Poll;

use core::time::Duration;

use steadfast::breaker::{CircuitBreaker, KeyedBreaker, KeyedError, Outcome, State};
use steadfast::retry::{Jitter, RetryPolicy};
use steadfast::{Instant, Timer};

use crate::Env;

async fn fail<T: Timer>(b: &CircuitBreaker<2>, t: &T) -> bool {
    b.run(t, async { Err::<(), u8>(1) }).await.is_ok()
}

async fn succeed<T: Timer>(b: &CircuitBreaker<2>, t: &T) -> bool {
    b.run(t, async { Ok::<(), u8>(()) }).await.is_ok()
}

/// Consecutive failures trip it; open, it turns calls away without running them and says how
/// long to wait; after that wait on the runtime's clock one probe closes it again.
pub async fn consecutive_failures_trip_then_a_probe_closes<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let b: CircuitBreaker<2> = CircuitBreaker::builder()
        .consecutive_failures(3)
        .open_for(env.units(5))
        .build()
        .unwrap();
    for _ in 0..3 {
        assert!(!fail(&b, t).await);
    }
    assert_eq!(b.state(t.now()), State::Open);
    let mut ran = false;
    let open = b
        .run(t, async {
            ran = true;
            Ok::<(), u8>(())
        })
        .await
        .unwrap_err();
    assert!(!ran, "an open breaker does not run the call");
    let wait = open.circuit_open().unwrap().retry_after().unwrap();
    assert!(wait <= env.units(5));
    t.sleep(wait).await;
    assert_eq!(b.state(t.now()), State::HalfOpen);
    assert!(succeed(&b, t).await);
    assert_eq!(b.state(t.now()), State::Closed);
}

/// The failure rate over a count window trips it once enough calls are in the window.
pub async fn count_window_rate_trips<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let b: CircuitBreaker<2> = CircuitBreaker::builder()
        .count_window(10, 6)
        .failure_rate(50)
        .build()
        .unwrap();
    for _ in 0..3 {
        succeed(&b, t).await;
        fail(&b, t).await;
    }
    // 3 of 6 failed: 50 %.
    assert_eq!(b.state(t.now()), State::Open);
}

/// A time window forgets what is older than the window on the runtime's clock.
pub async fn time_window_forgets_on_the_clock<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let b: CircuitBreaker<2> = CircuitBreaker::builder()
        .time_window(env.units(4), 2, 3)
        .failure_rate(100)
        .build()
        .unwrap();
    fail(&b, t).await;
    fail(&b, t).await;
    t.sleep(env.units(5)).await;
    assert_eq!(b.metrics(t.now()).failures, 0, "the failures aged out");
    fail(&b, t).await;
    assert_eq!(b.state(t.now()), State::Closed);
    fail(&b, t).await;
    fail(&b, t).await;
    assert_eq!(b.state(t.now()), State::Open);
}

/// A failed probe re-opens it for twice as long; a half-open breaker admits no more probes
/// than allowed, and a cancelled probe frees its slot without deciding anything.
pub async fn probes_reopen_and_a_cancelled_probe_frees_its_slot<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let b: CircuitBreaker<2> = CircuitBreaker::builder()
        .consecutive_failures(1)
        .open_for(env.units(2))
        .max_open_for(env.units(8))
        .build()
        .unwrap();
    fail(&b, t).await;
    t.sleep(env.units(2)).await;
    {
        let mut probe = pin!(b.run(t, pending::<Result<(), u8>>()));
        let pending = poll_fn(|cx| Poll::Ready(probe.as_mut().poll(cx).is_pending())).await;
        assert!(pending, "the probe waits forever");
        let busy = b.run(t, async { Ok::<(), u8>(()) }).await.unwrap_err();
        assert_eq!(busy.circuit_open().unwrap().state(), State::HalfOpen);
    }
    assert!(b.would_admit(t.now()), "the cancelled probe freed its slot");
    assert!(!fail(&b, t).await);
    let after = b.try_acquire(t.now()).unwrap_err().retry_after().unwrap();
    assert!(
        after <= env.units(4) && after > env.units(3),
        "re-opened for twice as long: {after:?}"
    );
}

/// Open durations from a retry policy: exponential from 2 units, doubled, capped at 6, with
/// equal jitter (each between half the backoff and all of it), seeded.
const fn growth(unit: Duration) -> RetryPolicy {
    let unit = unit.as_nanos() as u64;
    RetryPolicy::builder()
        .exponential(Duration::from_nanos(2 * unit), 2.0)
        .max_delay(Duration::from_nanos(6 * unit))
        .jitter(Jitter::Equal)
        .seed(5)
        .build_const()
}

/// `open_backoff` takes a policy in a `static`: one for each unit the environments count in.
fn growth_for(unit: Duration) -> &'static RetryPolicy {
    static SECONDS: RetryPolicy = growth(Duration::from_secs(1));
    static CENTISECONDS: RetryPolicy = growth(Duration::from_millis(10));
    match unit.as_millis() {
        1000 => &SECONDS,
        10 => &CENTISECONDS,
        _ => panic!("no open-duration policy for this unit"),
    }
}

/// Each opening in a row lasts the retry policy's next delay, jittered within its bounds and
/// capped, on the runtime's clock; a close starts again from the first; the same seed at the
/// same instants gives the same durations.
pub async fn open_durations_grow_through_a_retry_backoff_with_jitter<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let policy = growth_for(env.unit);
    let breaker = || -> CircuitBreaker<2> {
        CircuitBreaker::builder()
            .consecutive_failures(1)
            .open_backoff(policy)
            .build()
            .unwrap()
    };
    let b = breaker();
    // A failure at `now` (a trip, or a probe's failure): how long the breaker opens for.
    let opens = |b: &CircuitBreaker<2>, now: Instant| {
        b.try_acquire(now).unwrap().record(now, Outcome::Failure);
        b.try_acquire(now).unwrap_err().retry_after().unwrap()
    };
    let mut seen = [(Instant::ZERO, Duration::ZERO); 5];
    for (i, backoff) in [2, 4, 6, 6, 2].into_iter().enumerate() {
        if i == 4 {
            assert!(succeed(&b, t).await, "the probe closes it");
        }
        let now = t.now();
        let wait = opens(&b, now);
        let d = env.units(backoff);
        assert!(
            wait <= d && wait >= d / 2,
            "opening {i}: {wait:?} not within {d:?}/2..={d:?}"
        );
        seen[i] = (now, wait);
        t.sleep(wait).await;
        assert_eq!(b.state(t.now()), State::HalfOpen);
    }
    assert!(
        seen.windows(2).any(|w| w[0].1 != w[1].1),
        "jittered durations differ"
    );
    let replay = breaker();
    for (i, (now, wait)) in seen.into_iter().enumerate() {
        if i == 4 {
            replay
                .try_acquire(now)
                .unwrap()
                .record(now, Outcome::Success);
        }
        assert_eq!(opens(&replay, now), wait, "the same seed draws the same");
    }
}

/// A call admitted before the trip that ends after it does not count; neither does a probe
/// whose lease ran out.
pub async fn late_results_and_expired_leases_are_discarded<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let b: CircuitBreaker<2> = CircuitBreaker::builder()
        .consecutive_failures(1)
        .open_for(env.units(2))
        .probe_timeout(env.units(3))
        .build()
        .unwrap();
    let early = b.try_acquire(t.now()).unwrap();
    fail(&b, t).await;
    early.record(t.now(), Outcome::Success);
    assert_eq!(
        b.state(t.now()),
        State::Open,
        "the success from before the trip is discarded"
    );
    t.sleep(env.units(2)).await;
    let hung = b.try_acquire(t.now()).unwrap();
    t.sleep(env.units(3)).await;
    assert_eq!(b.state(t.now()), State::Open, "the lease ran out");
    hung.record(t.now(), Outcome::Success);
    assert!(
        b.try_acquire(t.now()).is_err(),
        "the late success is discarded"
    );
}

/// Tripped from outside for a while, forced open, disabled, reset.
pub async fn manual_control<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let b: CircuitBreaker<2> = CircuitBreaker::builder()
        .consecutive_failures(1)
        .build()
        .unwrap();
    b.trip_for(t.now(), env.units(3));
    assert!(!succeed(&b, t).await);
    t.sleep(env.units(3)).await;
    assert!(
        succeed(&b, t).await,
        "half-open after the trip; the probe closes it"
    );
    b.force_open(t.now());
    t.sleep(env.units(100)).await;
    assert_eq!(b.state(t.now()), State::ForcedOpen);
    b.disable(t.now());
    assert!(!fail(&b, t).await);
    assert_eq!(b.state(t.now()), State::Disabled);
    b.reset(t.now());
    assert!(succeed(&b, t).await);
    assert_eq!(b.state(t.now()), State::Closed);
}

/// Runs one call for `key` through `b`: `Some(true)` if it ran and succeeded, `Some(false)` if
/// it ran and failed, `None` if it was turned away.
async fn keyed<T: Timer>(b: &KeyedBreaker<u8, 1, 2>, t: &T, key: u8, ok: bool) -> Option<bool> {
    match b
        .run(key, t, async move { if ok { Ok(()) } else { Err(()) } })
        .await
    {
        Ok(()) => Some(true),
        Err(KeyedError::Failed(())) => Some(false),
        Err(_) => None,
    }
}

/// Keyed breakers: one key trips while another stays closed; a full table of tripped keys
/// refuses a new key; once a key's probe closes it on the runtime's clock, the new key takes
/// its place.
pub async fn keyed_breakers_trip_per_key_and_evict_only_fresh_entries<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let b: KeyedBreaker<u8, 1, 2> = CircuitBreaker::builder()
        .consecutive_failures(2)
        .open_for(env.units(3))
        .build_keyed()
        .unwrap();
    for _ in 0..2 {
        assert!(keyed(&b, t, 1, false).await == Some(false));
    }
    assert_eq!(b.state(&1, t.now()), State::Open);
    assert!(keyed(&b, t, 1, true).await.is_none(), "key 1 is open");
    assert!(
        keyed(&b, t, 2, true).await == Some(true),
        "key 2 is independent"
    );
    // Key 2 has a failure: with key 1 open, no entry can give way to key 3.
    assert!(keyed(&b, t, 2, false).await == Some(false));
    assert!(matches!(
        b.try_acquire(&3, t.now()),
        Err(KeyedError::TableFull)
    ));
    assert!(keyed(&b, t, 3, true).await.is_none());
    t.sleep(env.units(3)).await;
    assert_eq!(b.state(&1, t.now()), State::HalfOpen);
    assert!(
        keyed(&b, t, 1, true).await == Some(true),
        "the probe closes key 1"
    );
    // Key 1 closed with an empty window: key 3 takes its slot; key 2 kept its failure.
    assert!(keyed(&b, t, 3, true).await == Some(true));
    assert!(keyed(&b, t, 2, false).await == Some(false));
    assert_eq!(b.state(&2, t.now()), State::Open);
}

/// Every breaker scenario.
#[macro_export]
macro_rules! breaker_scenarios {
    (list $callback:ident ! ($($args:tt)*)) => {
        $crate::breaker_scenarios!(@names $callback ($($args)*));
    };
    ($run:path) => {
        $crate::breaker_scenarios!(@names each_test ($run;));
    };
    (@names $callback:ident ($($args:tt)*)) => {
        $crate::__conformance_dispatch!($callback ($($args)*) breaker;
            consecutive_failures_trip_then_a_probe_closes,
            count_window_rate_trips,
            time_window_forgets_on_the_clock,
            probes_reopen_and_a_cancelled_probe_frees_its_slot,
            late_results_and_expired_leases_are_discarded,
            manual_control,
            open_durations_grow_through_a_retry_backoff_with_jitter,
            keyed_breakers_trip_per_key_and_evict_only_fresh_entries,
        );
    };
}
