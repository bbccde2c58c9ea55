use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::boxed::Box;
use std::rc::Rc;
use std::string::ToString;
use std::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::VirtualTimer;
use crate::test_util::schedule::Sim;
use crate::test_util::schedules;

const MS: u64 = 1_000_000;

fn at_ms(ms: u64) -> Instant {
    Instant::from_nanos(ms * MS)
}

fn limiter(rate: u32, per_ms: u64, burst: u32) -> RateLimiter {
    RateLimiter::builder(rate, Duration::from_millis(per_ms))
        .burst(burst)
        .build()
        .unwrap()
}

fn poll_once<F: Future>(f: core::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

/// The reference: a token bucket counting nanoseconds of credit, `burst * t` at most.
struct Bucket {
    t: u64,
    cap: u64,
    level: u64,
    last: u64,
}

impl Bucket {
    fn new(t: u64, burst: u32) -> Self {
        let cap = t * u64::from(burst);
        Bucket {
            t,
            cap,
            level: cap,
            last: 0,
        }
    }
    fn refill(&mut self, now: u64) {
        self.level = (self.level + (now - self.last)).min(self.cap);
        self.last = now;
    }
    /// Takes `n` cells, or the wait until they are there.
    fn take(&mut self, now: u64, n: u32) -> Result<(), u64> {
        self.refill(now);
        let need = self.t * u64::from(n);
        if self.level >= need {
            self.level -= need;
            Ok(())
        } else {
            Err(need - self.level)
        }
    }
}

#[test]
fn bad_settings_are_config_errors() {
    let field = |b: RateLimiterBuilder| b.build().unwrap_err().field();
    assert_eq!(
        field(RateLimiter::builder(0, Duration::from_secs(1))),
        "rate"
    );
    assert_eq!(field(RateLimiter::builder(1, Duration::ZERO)), "per");
    assert_eq!(
        field(RateLimiter::builder(10, Duration::from_nanos(5))),
        "rate"
    );
    assert_eq!(
        field(RateLimiter::builder(1, Duration::from_secs(1)).burst(0)),
        "burst"
    );
    let huge = RateLimiter::builder(1, Duration::from_secs(1 << 40)).burst(u32::MAX);
    assert_eq!(field(huge), "burst");
    let err = RateLimiter::builder(1, Duration::from_secs(1))
        .max_waiters(0)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid rate limiter setting `max_waiters`: must be at least 1"
    );
}

#[test]
fn a_static_limiter_is_const_built() {
    static L: RateLimiter = RateLimiter::builder(2, Duration::from_secs(1)).build_const();
    assert_eq!(
        L.metrics(Instant::ZERO).burst,
        2,
        "the burst defaults to the rate"
    );
    L.try_acquire(Instant::ZERO, 2).unwrap();
    assert!(L.try_acquire(Instant::ZERO, 1).is_err());
}

#[test]
fn a_burst_then_one_cell_per_interval_with_exact_waits() {
    let l = limiter(10, 1000, 3);
    for _ in 0..3 {
        l.try_acquire(at_ms(0), 1).unwrap();
    }
    let err = l.try_acquire(at_ms(0), 1).unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_millis(100)));
    assert_eq!(err.to_string(), "rate limited; retry after 100ms");
    assert_eq!(
        l.try_acquire(at_ms(60), 1).unwrap_err().retry_after(),
        Some(Duration::from_millis(40))
    );
    l.try_acquire(at_ms(100), 1).unwrap();
    assert!(l.try_acquire(at_ms(199), 1).is_err());
    l.try_acquire(at_ms(200), 1).unwrap();
    // A long pause refills the burst, no more.
    let m = l.metrics(at_ms(10_000));
    assert_eq!((m.available, m.waiters, m.queued_cells), (3, 0, 0));
    for _ in 0..3 {
        l.try_acquire(at_ms(10_000), 1).unwrap();
    }
    assert!(l.try_acquire(at_ms(10_000), 1).is_err());
}

#[test]
fn a_cost_takes_that_many_cells_and_more_than_the_burst_is_refused() {
    let l = limiter(10, 1000, 4);
    l.try_acquire(at_ms(0), 3).unwrap();
    assert_eq!(l.metrics(at_ms(0)).available, 1);
    // 3 more cells need 2 more intervals.
    assert_eq!(
        l.try_acquire(at_ms(0), 3).unwrap_err().retry_after(),
        Some(Duration::from_millis(200))
    );
    l.try_acquire(at_ms(200), 3).unwrap();
    let err = l.try_acquire(at_ms(10_000), 5).unwrap_err();
    assert_eq!(
        err,
        LimitError::InsufficientCapacity {
            requested: 5,
            burst: 4
        }
    );
    assert_eq!(err.retry_after(), None);
    // Zero cells: granted, nothing taken.
    l.try_acquire(at_ms(10_000), 0).unwrap();
    assert_eq!(l.metrics(at_ms(10_000)).available, 4);
}

#[test]
fn drain_empties_the_bucket_until_one_interval_later() {
    let l = limiter(10, 1000, 5);
    l.drain(at_ms(0));
    assert_eq!(l.metrics(at_ms(0)).available, 0);
    assert_eq!(
        l.try_acquire(at_ms(0), 1).unwrap_err().retry_after(),
        Some(Duration::from_millis(100))
    );
    assert_eq!(l.metrics(at_ms(250)).available, 2);
}

#[test]
fn no_drift_a_million_seconds_at_one_per_second() {
    let l = RateLimiter::builder(1, Duration::from_secs(1))
        .burst(7)
        .build()
        .unwrap();
    // Miri, which is slow, runs a thousand seconds.
    let end = if cfg!(miri) { 1_000 } else { 1_000_000u64 };
    let mut granted = 0u64;
    for s in 0..=end {
        let now = Instant::from_nanos(s * 1_000_000_000);
        while l.try_acquire(now, 1).is_ok() {
            granted += 1;
        }
    }
    assert_eq!(granted, end + 7);
}

#[test]
fn saturates_at_the_end_of_the_clock() {
    // 584 years in: still exact a few seconds before the end, no overflow at it.
    let end = u64::MAX - 10_000 * MS;
    let l = limiter(1, 1000, 2);
    l.try_acquire(Instant::from_nanos(end), 2).unwrap();
    assert!(l.try_acquire(Instant::from_nanos(end), 1).is_err());
    l.drain(Instant::from_nanos(end));
    assert_eq!(l.metrics(Instant::from_nanos(end)).available, 0);
    l.drain(Instant::MAX);
    let _ = l.try_acquire(Instant::MAX, 2);
    let _ = l.metrics(Instant::MAX);
}

proptest! {
    // A few cases under Miri, which is slow.
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 256 }))]

    /// Grants and waits equal a token bucket's, exactly; and no interval sees more than
    /// `burst + rate * length` cells.
    #[test]
    fn matches_a_token_bucket(
        t in 1u64..1_000,
        burst in 1u32..8,
        steps in proptest::collection::vec((0u64..3_000, 0u32..9), 1..60),
    ) {
        let l = RateLimiter::builder(1, Duration::from_nanos(t)).burst(burst).build().unwrap();
        let mut reference = Bucket::new(t, burst);
        let mut now = 0;
        let mut grants: Vec<(u64, u32)> = Vec::new();
        for (dt, n) in steps {
            now += dt;
            let got = l.try_acquire(Instant::from_nanos(now), n);
            if n == 0 {
                prop_assert!(got.is_ok());
                continue;
            }
            if n > burst {
                prop_assert_eq!(got, Err(LimitError::InsufficientCapacity { requested: n, burst }));
                continue;
            }
            match reference.take(now, n) {
                Ok(()) => {
                    prop_assert_eq!(got, Ok(()));
                    grants.push((now, n));
                }
                Err(wait) => {
                    prop_assert_eq!(got.unwrap_err().retry_after(), Some(Duration::from_nanos(wait)));
                }
            }
        }
        for i in 0..grants.len() {
            let mut cells = 0u64;
            for g in &grants[i..] {
                cells += u64::from(g.1);
                let length = g.0 - grants[i].0;
                prop_assert!(cells <= u64::from(burst) + length / t);
            }
        }
    }
}

#[test]
fn waiters_are_granted_in_order_at_exact_instants_with_one_timer() {
    let timer = VirtualTimer::new();
    let l = limiter(10, 1000, 2);
    l.try_acquire(timer.now(), 2).unwrap();
    let mut a = pin!(l.acquire(&timer, 1));
    let mut b = pin!(l.acquire(&timer, 2));
    let mut c = pin!(l.acquire(&timer, 1));
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    assert!(poll_once(c.as_mut()).is_pending());
    assert_eq!(timer.sleepers(), 1, "only the head sleeps");
    let m = l.metrics(timer.now());
    assert_eq!((m.waiters, m.queued_cells), (3, 4));
    // Others are queued: even a fitting try_acquire waits its turn.
    assert!(l.try_acquire(at_ms(5_000), 1).is_err());

    assert_eq!(timer.advance_to_next(), Some(at_ms(100)));
    assert_eq!(poll_once(a.as_mut()), Poll::Ready(Ok(())));
    // b needs 2 cells: 200 ms after a's.
    assert!(poll_once(c.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    assert_eq!(timer.advance_to_next(), Some(at_ms(300)));
    assert_eq!(poll_once(b.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(timer.advance_to_next(), None, "c has not slept yet");
    assert!(poll_once(c.as_mut()).is_pending());
    assert_eq!(timer.advance_to_next(), Some(at_ms(400)));
    assert_eq!(poll_once(c.as_mut()), Poll::Ready(Ok(())));
    let m = l.metrics(timer.now());
    assert_eq!((m.waiters, m.queued_cells, m.available), (0, 0, 0));
}

#[test]
fn a_cancelled_head_hands_its_turn_on_at_once() {
    let timer = VirtualTimer::new();
    let l = limiter(10, 1000, 3);
    l.try_acquire(timer.now(), 3).unwrap();
    let mut head = Some(Box::pin(l.acquire(&timer, 3)));
    let mut next = pin!(l.acquire(&timer, 1));
    assert!(poll_once(head.as_mut().unwrap().as_mut()).is_pending());
    assert!(poll_once(next.as_mut()).is_pending());
    timer.advance(Duration::from_millis(50));
    head = None;
    drop(head);
    // The next waiter's one cell is due at 100 ms, as if the head had never been.
    assert!(poll_once(next.as_mut()).is_pending());
    assert_eq!(timer.sleepers(), 1);
    assert_eq!(timer.next_deadline(), Some(at_ms(100)));
    timer.advance_to_next();
    assert_eq!(poll_once(next.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(l.metrics(timer.now()).waiters, 0);
}

#[test]
fn a_full_queue_and_a_wait_over_the_bound_are_refused_at_once() {
    let timer = VirtualTimer::new();
    let l = RateLimiter::builder(10, Duration::from_secs(1))
        .burst(1)
        .max_waiters(2)
        .build()
        .unwrap();
    l.try_acquire(timer.now(), 1).unwrap();
    let mut a = pin!(l.acquire(&timer, 1));
    assert!(poll_once(a.as_mut()).is_pending());
    // Behind a's cell, one more waits 200 ms.
    let mut over = pin!(l.acquire_within(&timer, 1, Duration::from_millis(150)));
    assert_eq!(
        poll_once(over.as_mut()),
        Poll::Ready(Err(LimitError::RateLimited {
            retry_after: Duration::from_millis(200)
        }))
    );
    let mut b = pin!(l.acquire_within(&timer, 1, Duration::from_millis(200)));
    assert!(poll_once(b.as_mut()).is_pending());
    let mut c = pin!(l.acquire(&timer, 1));
    assert_eq!(
        poll_once(c.as_mut()),
        Poll::Ready(Err(LimitError::QueueFull))
    );
    let mut big = pin!(l.acquire(&timer, 2));
    assert!(matches!(
        poll_once(big.as_mut()),
        Poll::Ready(Err(LimitError::InsufficientCapacity { .. }))
    ));
    assert_eq!(timer.sleepers(), 1);
}

#[test]
fn errors_are_send_sync_errors() {
    fn is_error<E: core::error::Error + Send + Sync + 'static>() {}
    is_error::<LimitError>();
    fn is_sync<S: Send + Sync>() {}
    is_sync::<RateLimiter>();
    assert_eq!(
        LimitError::QueueFull.to_string(),
        "too many callers waiting for the rate limiter"
    );
}

/// Random cancellations of waiters with random costs: no grant lost or doubled, the head
/// never asleep past a due grant, FIFO among the survivors.
#[test]
fn random_schedules_of_cancellations_lose_nothing_and_keep_the_order() {
    for seed in 0..schedules(10_000) {
        let timer = VirtualTimer::new();
        let l = RateLimiter::builder(1, Duration::from_nanos(10))
            .burst(3)
            .max_waiters(64)
            .build()
            .unwrap();
        let entered: RefCell<Vec<(usize, u32)>> = RefCell::new(Vec::new());
        let granted: RefCell<Vec<(usize, u64, u32)>> = RefCell::new(Vec::new());
        let finished = Cell::new(0usize);
        let mut sim = Sim::new(seed, 80);
        let tasks = 2 + sim.rng.below(7);
        for id in 0..tasks {
            let n = 1 + sim.rng.below(3) as u32;
            let (timer, l, entered, granted, finished) =
                (&timer, &l, &entered, &granted, &finished);
            sim.spawn(
                async move {
                    entered.borrow_mut().push((id, n));
                    l.acquire(timer, n).await.unwrap();
                    granted.borrow_mut().push((id, timer.now().as_nanos(), n));
                    finished.set(finished.get() + 1);
                },
                true,
            );
        }
        loop {
            sim.run(100_000);
            let (live, _) = sim.live();
            if live > 0 {
                let m = l.metrics(timer.now());
                assert!(m.waiters as usize <= live, "seed {seed}");
                assert_eq!(timer.sleepers(), 1, "seed {seed}: one head sleeps");
                let due = timer.next_deadline().unwrap();
                assert!(due > timer.now(), "seed {seed}");
            }
            if timer.advance_to_next().is_none() {
                break;
            }
        }
        assert_eq!(sim.live().0, 0, "seed {seed}: every survivor was granted");
        let m = l.metrics(timer.now());
        assert_eq!((m.waiters, m.queued_cells), (0, 0), "seed {seed}");
        let cancelled = sim.cancelled;
        drop(sim);
        let granted = granted.into_inner();
        let entered = entered.into_inner();
        assert_eq!(granted.len(), finished.get());
        assert_eq!(granted.len() + cancelled, tasks, "seed {seed}");
        // FIFO among survivors.
        let order: Vec<usize> = entered
            .iter()
            .map(|e| e.0)
            .filter(|id| granted.iter().any(|g| g.0 == *id))
            .collect();
        let got: Vec<usize> = granted.iter().map(|g| g.0).collect();
        assert_eq!(got, order, "seed {seed}");
        // Never more than the rate: every grant fits the reference bucket at its instant.
        let mut reference = Bucket::new(10, 3);
        for g in &granted {
            assert_eq!(reference.take(g.1, g.2), Ok(()), "seed {seed}: {granted:?}");
        }
    }
}

#[test]
fn many_waiters_one_timer_on_auto_advance() {
    let timer = VirtualTimer::new();
    let l = Rc::new(limiter(1000, 1000, 10));
    let done = Rc::new(Cell::new(0u32));
    // Miri, which is slow, runs a hundred waiters.
    let waiters = if cfg!(miri) { 100 } else { 1000 };
    let fut = async {
        let mut all = Vec::new();
        for _ in 0..waiters {
            let (l, timer, done) = (l.clone(), timer.clone(), done.clone());
            all.push(async move {
                l.acquire(&timer, 1).await.unwrap();
                done.set(done.get() + 1);
            });
        }
        futures_util::future::join_all(all).await;
    };
    futures_executor::block_on(timer.auto_advance(fut));
    assert_eq!(done.get(), waiters);
    // 10 at once, then one a millisecond.
    assert_eq!(timer.now(), at_ms(u64::from(waiters) - 10));
}
