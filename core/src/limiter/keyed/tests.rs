use core::future::Future;
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::boxed::Box;
use std::vec::Vec;

use super::*;
use crate::VirtualTimer;
use crate::limiter::RateLimiter;
use crate::test_util::schedule::Rng;

const MS: u64 = 1_000_000;

fn at_ms(ms: u64) -> Instant {
    Instant::from_nanos(ms * MS)
}

/// 10 cells a second, `burst` at once, `CAP` keys.
fn keyed<const CAP: usize>(burst: u32) -> KeyedRateLimiter<u32, CAP> {
    RateLimiter::builder(10, Duration::from_secs(1))
        .burst(burst)
        .build_keyed()
        .unwrap()
}

fn poll_once<F: Future>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

fn keys<const CAP: usize>(l: &KeyedRateLimiter<u32, CAP>) -> Vec<u32> {
    l.entries.with_lock(|e| e.iter().map(|e| e.key).collect())
}

#[test]
fn a_zero_capacity_is_a_config_error_and_a_static_is_const_built() {
    let b = RateLimiter::builder(1, Duration::from_secs(1));
    assert_eq!(b.build_keyed::<u8, 0>().unwrap_err().field(), "CAP");
    assert_eq!(
        b.burst(0).build_keyed::<u8, 4>().unwrap_err().field(),
        "burst"
    );
    static BY_CLIENT: KeyedRateLimiter<u32, 4> =
        RateLimiter::builder(1, Duration::from_secs(1)).build_keyed_const();
    assert_eq!(BY_CLIENT.capacity(), 4);
    assert!(BY_CLIENT.is_empty());
}

#[test]
fn each_key_has_its_own_bucket() {
    let l = keyed::<4>(2);
    l.try_acquire(&1, at_ms(0), 2).unwrap();
    assert_eq!(
        l.try_acquire(&1, at_ms(0), 1),
        Err(LimitError::RateLimited {
            retry_after: Duration::from_millis(100)
        })
    );
    l.try_acquire(&2, at_ms(0), 2).unwrap();
    assert_eq!(l.len(), 2);
    assert_eq!(l.metrics(&1, at_ms(100)).available, 1);
    // A key not in the table reads a full bucket and is not added.
    assert_eq!(l.metrics(&3, at_ms(0)).available, 2);
    assert_eq!(l.len(), 2);
    // Zero cells and more than the burst take no entry.
    assert_eq!(l.try_acquire(&5, at_ms(0), 0), Ok(()));
    assert!(matches!(
        l.try_acquire(&5, at_ms(0), 3),
        Err(LimitError::InsufficientCapacity { .. })
    ));
    assert_eq!(l.len(), 2);
    l.drain(&2, at_ms(300)).unwrap();
    assert_eq!(l.metrics(&2, at_ms(300)).available, 0);
    assert_eq!(l.metrics(&2, at_ms(400)).available, 1);
}

#[test]
fn only_a_full_bucket_nobody_waits_on_is_evicted() {
    let l = keyed::<2>(2);
    l.try_acquire(&1, at_ms(0), 2).unwrap();
    l.try_acquire(&2, at_ms(50), 1).unwrap();
    // Key 1 is full again at 200 ms, key 2 at 150 ms: neither before.
    assert_eq!(l.try_acquire(&3, at_ms(149), 1), Err(LimitError::TableFull));
    assert_eq!(l.drain(&3, at_ms(149)), Err(LimitError::TableFull));
    l.try_acquire(&3, at_ms(150), 1).unwrap();
    assert_eq!(keys(&l), [1, 3]);
    // Key 1 full again: it goes for key 4, which starts with a full bucket.
    l.try_acquire(&4, at_ms(200), 2).unwrap();
    assert_eq!(keys(&l), [4, 3]);
    // Key 1 comes back fresh: its earlier spending was fully refilled.
    assert_eq!(l.try_acquire(&1, at_ms(249), 1), Err(LimitError::TableFull));
    assert_eq!(l.metrics(&1, at_ms(249)).available, 2);
}

#[test]
fn an_entry_with_a_waiter_stays_and_a_full_table_refuses_a_waiting_caller_at_once() {
    let timer = VirtualTimer::new();
    let l = keyed::<1>(1);
    l.try_acquire(&1, timer.now(), 1).unwrap();
    let mut w = pin!(l.acquire(1, &timer, 1));
    assert!(poll_once(w.as_mut()).is_pending());
    assert_eq!(timer.sleepers(), 1);
    // Past the waiter's grant time, before it runs: the bucket's TAT has passed, but the
    // entry has a waiter.
    timer.advance(Duration::from_millis(150));
    let mut other = pin!(l.acquire(2, &timer, 1));
    assert_eq!(
        poll_once(other.as_mut()),
        Poll::Ready(Err(LimitError::TableFull))
    );
    assert_eq!(poll_once(w.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(l.metrics(&1, timer.now()).waiters, 0);
    // Granted at 150 ms, the bucket is full again at 250 ms.
    assert_eq!(l.try_acquire(&2, at_ms(249), 1), Err(LimitError::TableFull));
    l.try_acquire(&2, at_ms(250), 1).unwrap();
}

#[test]
fn waiters_of_one_key_are_served_in_order_beside_another_key() {
    let timer = VirtualTimer::new();
    let l = keyed::<4>(1);
    l.try_acquire(&1, timer.now(), 1).unwrap();
    l.try_acquire(&2, timer.now(), 1).unwrap();
    let mut a = pin!(l.acquire(1, &timer, 1));
    let mut b = pin!(l.acquire(1, &timer, 1));
    let mut c = pin!(l.acquire_within(2, &timer, 1, Duration::from_millis(100)));
    let mut over = pin!(l.acquire_within(1, &timer, 1, Duration::from_millis(250)));
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    assert!(poll_once(c.as_mut()).is_pending());
    // Behind a and b, a third cell of key 1 is 300 ms away: refused at once.
    assert_eq!(
        poll_once(over.as_mut()),
        Poll::Ready(Err(LimitError::RateLimited {
            retry_after: Duration::from_millis(300)
        }))
    );
    // One head per key sleeps.
    assert_eq!(timer.sleepers(), 2);
    assert_eq!(timer.advance_to_next(), Some(at_ms(100)));
    assert_eq!(poll_once(c.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(poll_once(a.as_mut()), Poll::Ready(Ok(())));
    assert!(poll_once(b.as_mut()).is_pending());
    assert_eq!(timer.advance_to_next(), Some(at_ms(200)));
    assert_eq!(poll_once(b.as_mut()), Poll::Ready(Ok(())));
}

#[test]
fn a_cancelled_head_hands_its_turn_on_and_leaves_its_entry_evictable() {
    let timer = VirtualTimer::new();
    let l = keyed::<1>(2);
    l.try_acquire(&1, timer.now(), 2).unwrap();
    let mut head = Some(Box::pin(l.acquire(1, &timer, 2)));
    let mut next = pin!(l.acquire(1, &timer, 1));
    assert!(poll_once(head.as_mut().unwrap().as_mut()).is_pending());
    assert!(poll_once(next.as_mut()).is_pending());
    head = None;
    drop(head);
    assert!(poll_once(next.as_mut()).is_pending());
    assert_eq!(timer.next_deadline(), Some(at_ms(100)));
    timer.advance_to_next();
    assert_eq!(poll_once(next.as_mut()), Poll::Ready(Ok(())));
    // Full again 200 ms after the grant, with nobody waiting: key 2 may take the slot.
    l.try_acquire(&2, at_ms(300), 1).unwrap();
    assert_eq!(keys(&l), [2]);
}

/// Random keys, costs, waiters, cancellations and pauses on a table of 3 entries, beside an
/// unbounded limiter per key: every key is granted, refused and waits exactly as its own
/// limiter, a key leaves the table only when its own limiter is full and unwaited, and a new
/// key is refused only when no entry could give way.
#[test]
fn random_schedules_match_one_limiter_per_key() {
    const KEYS: u32 = 5;
    const CAP: usize = 3;
    let builder = || {
        RateLimiter::builder(1, Duration::from_nanos(10))
            .burst(3)
            .max_waiters(4)
    };
    type Pair<'a> = (
        u32,
        Pin<Box<KeyedAcquire<'a, u32, VirtualTimer>>>,
        Pin<Box<crate::limiter::Acquire<'a, VirtualTimer>>>,
    );
    for seed in 0..crate::test_util::schedules(10_000) {
        let mut rng = Rng::new(seed);
        let timer = VirtualTimer::new();
        let keyed: KeyedRateLimiter<u32, CAP> = builder().build_keyed().unwrap();
        let refs: Vec<RateLimiter> = (0..KEYS).map(|_| builder().build().unwrap()).collect();
        let mut waiting: Vec<Pair<'_>> = Vec::new();
        for _ in 0..80 {
            let now = timer.now();
            let before = keys(&keyed);
            let k = (rng.next() % u64::from(KEYS)) as u32;
            let n = (rng.next() % 4) as u32;
            let r = &refs[k as usize];
            let table_full = match rng.next() % 6 {
                0 => match keyed.try_acquire(&k, now, n) {
                    Err(LimitError::TableFull) => true,
                    ours => {
                        assert_eq!(ours, r.try_acquire(now, n), "seed {seed}: key {k}");
                        false
                    }
                },
                1 | 2 => {
                    let max_wait = Duration::from_nanos(rng.next() % 60);
                    let mut ours = Box::pin(keyed.acquire_within(k, &timer, n, max_wait));
                    let mut theirs = Box::pin(r.acquire_within(&timer, n, max_wait));
                    match poll_once(ours.as_mut()) {
                        Poll::Ready(Err(LimitError::TableFull)) => true,
                        p => {
                            assert_eq!(p, poll_once(theirs.as_mut()), "seed {seed}: key {k}");
                            if p.is_pending() {
                                waiting.push((k, ours, theirs));
                            }
                            false
                        }
                    }
                }
                3 if !waiting.is_empty() => {
                    let i = (rng.next() % waiting.len() as u64) as usize;
                    drop(waiting.remove(i));
                    false
                }
                _ => {
                    timer.advance(Duration::from_nanos(rng.next() % 40));
                    false
                }
            };
            if table_full {
                assert!(!before.contains(&k), "seed {seed}: a present key refused");
                assert_eq!(before.len(), CAP, "seed {seed}");
                for &j in &before {
                    let m = refs[j as usize].metrics(now);
                    assert!(
                        m.available < m.burst || m.waiters > 0,
                        "seed {seed}: {j} could have gone"
                    );
                }
            }
            // Every waiter, in the order they came, fares as its key's own limiter's.
            let now = timer.now();
            waiting.retain_mut(|(k, ours, theirs)| {
                let p = poll_once(ours.as_mut());
                assert_eq!(p, poll_once(theirs.as_mut()), "seed {seed}: key {k}");
                p.is_pending()
            });
            let after = keys(&keyed);
            for j in before.iter().filter(|j| !after.contains(j)) {
                let m = refs[*j as usize].metrics(now);
                assert_eq!(
                    (m.available, m.waiters),
                    (m.burst, 0),
                    "seed {seed}: {j} evicted with a history"
                );
            }
            for k in 0..KEYS {
                assert_eq!(
                    keyed.metrics(&k, now),
                    refs[k as usize].metrics(now),
                    "seed {seed}: key {k}"
                );
            }
        }
    }
}
