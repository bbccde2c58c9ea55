use super::*;
use core::cell::RefCell;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::vec::Vec;

fn poll<F: core::future::Future>(f: core::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn driver_runs_every_item_once_and_ends_after_close() {
    let pool: FixedPool<u32, 4> = FixedPool::new();
    let seen = RefCell::new(Vec::new());
    for i in 0..4 {
        pool.try_submit(i).unwrap();
    }
    assert!(pool.try_submit(9).unwrap_err().is_full());
    assert_eq!(pool.pending(), 4);
    let mut driver =
        pin!(pool.run::<2, _, _>(|n: u32| async move { n * 2 }, |o| seen.borrow_mut().push(o)));
    assert!(poll(driver.as_mut()).is_pending());
    assert_eq!(*seen.borrow(), [0, 2, 4, 6]);
    assert_eq!(pool.pending(), 0);
    let mut idle = pin!(pool.wait_idle());
    assert!(poll(idle.as_mut()).is_ready());
    pool.close();
    assert!(poll(driver.as_mut()).is_ready());
}

#[test]
fn shutdown_returns_the_unstarted_items() {
    let pool: FixedPool<u32, 8> = FixedPool::new();
    for i in 0..5 {
        pool.try_submit(i).unwrap();
    }
    // One worker, whose work never finishes: item 0 is started, 1..5 are not.
    let mut driver =
        std::boxed::Box::pin(pool.run::<1, _, _>(|_: u32| core::future::pending::<()>(), |_| {}));
    assert!(poll(driver.as_mut()).is_pending());
    let undone: Vec<u32> = pool.shutdown().collect();
    assert_eq!(undone, [1, 2, 3, 4]);
    assert_eq!(pool.pending(), 1);
    assert_eq!(pool.try_submit(7), Err(TrySendError::Closed(7)));
    drop(driver);
    assert_eq!(pool.pending(), 0, "a dropped driver counts its item off");
}

/// No item lost or duplicated across 10,000 random schedules of submitters cancelled
/// mid-`submit`, with and without an immediate shutdown midway; and no wake-up lost (a stall
/// with a submitter still waiting would be one).
#[test]
fn random_schedules_lose_and_duplicate_nothing() {
    use crate::test_util::schedule::{Sim, yield_n};
    const ITEMS: u32 = 8;
    let mut cancellations = 0;
    for seed in 0..10_000u64 {
        let pool: FixedPool<u32, 2> = FixedPool::new();
        let accepted = RefCell::new(Vec::new());
        let reported = RefCell::new(Vec::new());
        let work = |n: u32| async move {
            yield_n(u64::from(n % 3)).await;
            n
        };
        let report = |n| reported.borrow_mut().push(n);
        let mut sim = Sim::new(seed, 150);
        for _ in 0..2 {
            sim.spawn(pool.worker(&work, &report), false);
        }
        for i in 0..ITEMS {
            let (pool, accepted) = (&pool, &accepted);
            sim.spawn(
                async move {
                    if pool.submit(i).await.is_ok() {
                        accepted.borrow_mut().push(i);
                    }
                },
                true,
            );
        }
        let mut returned = Vec::new();
        let limit = sim.rng.below(60);
        sim.run(limit);
        if seed % 2 == 1 {
            returned.extend(pool.shutdown());
        }
        sim.run(usize::MAX);
        assert_eq!(sim.live().1, 0, "seed {seed}: a submitter was left waiting");
        pool.close();
        sim.run(usize::MAX);
        assert_eq!(sim.live(), (0, 0), "seed {seed}: a worker did not end");
        assert_eq!(pool.pending(), 0, "seed {seed}");
        cancellations += sim.cancelled;
        drop(sim);
        let mut accepted = accepted.take();
        let mut done = reported.take();
        done.extend(returned);
        accepted.sort_unstable();
        done.sort_unstable();
        assert_eq!(accepted, done, "seed {seed}");
    }
    assert!(cancellations > 10_000, "cancellations were exercised");
}
