//! Worker pool scenarios: the spawn-free [`FixedPool`] and its [`BoundedQueue`] on every
//! runtime (no heap), and the spawned [`WorkerPool`](steadfast::pool::WorkerPool) where the
//! runtime can spawn.

use core::future::poll_fn;
use core::pin::pin;
use core::task::Poll;
use portable_atomic::{AtomicU32, Ordering};

use futures_util::future::{join, join4};
use steadfast::Timer;
use steadfast::pool::FixedPool;
use steadfast::queue::{BoundedQueue, Closed, TrySendError};
use steadfast::timeout::TimeoutExt;

use crate::Env;

/// How many times each item was reported, for items `0..64`.
pub(crate) struct Tally([AtomicU32; 64]);

impl Tally {
    pub(crate) fn new() -> Self {
        Tally(core::array::from_fn(|_| AtomicU32::new(0)))
    }

    /// Counts one more report of `item`. A load and a store, no read-modify-write (which
    /// Cortex-M0 lacks): the callers share one task.
    pub(crate) fn record(&self, item: u32) {
        let n = &self.0[item as usize];
        n.store(n.load(Ordering::SeqCst) + 1, Ordering::SeqCst);
    }

    pub(crate) fn count(&self, item: u32) -> u32 {
        self.0[item as usize].load(Ordering::SeqCst)
    }
}

/// Six items of two units each on three workers: every item runs exactly once, three at a
/// time, so the pool is idle after exactly four units; `close` then ends the driver.
pub async fn fixed_pool_runs_each_item_once<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let pool: FixedPool<u32, 8> = FixedPool::new();
    let tally = Tally::new();
    let start = t.now();
    let each = env.units(2);
    let driver = pool.run::<3, _, _>(
        |n: u32| async move {
            t.sleep(each).await;
            n
        },
        |n| tally.record(n.expect("no panic")),
    );
    let producer = async {
        for i in 0..6 {
            pool.submit(i).await.expect("the pool is open");
        }
        pool.wait_idle().await;
        env.assert_elapsed(start, env.units(4));
        assert_eq!(pool.metrics().pending, 0);
        pool.close();
    };
    join(driver, producer).await;
    for i in 0..6 {
        assert_eq!(tally.count(i), 1, "item {i}");
    }
    env.assert_elapsed(start, env.units(4));
}

/// A full queue pushes back: `try_submit` hands the item back, `submit` waits until a worker
/// takes an item off the queue, at the instant it does.
pub async fn fixed_pool_backpressure<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let pool: FixedPool<u32, 2> = FixedPool::new();
    let tally = Tally::new();
    pool.try_submit(0).unwrap();
    pool.try_submit(1).unwrap();
    assert_eq!(pool.try_submit(2), Err(TrySendError::Full(2)));
    let start = t.now();
    let unit = env.units(1);
    let driver = pool.run::<1, _, _>(
        |n: u32| async move {
            t.sleep(unit).await;
            n
        },
        |n| tally.record(n.expect("no panic")),
    );
    let producer = async {
        // The worker takes item 0 at once, freeing a slot.
        pool.submit(2).await.unwrap();
        env.assert_elapsed(start, env.units(0));
        // Items 1 and 2 fill the queue: item 1 leaves it when item 0 is done.
        pool.submit(3).await.unwrap();
        env.assert_elapsed(start, env.units(1));
        pool.wait_idle().await;
        env.assert_elapsed(start, env.units(4));
        pool.close();
    };
    join(driver, producer).await;
    assert!((0..4).all(|i| tally.count(i) == 1));
}

/// `close` stops intake (items come back to the caller) and the workers drain what is queued,
/// then the driver ends.
pub async fn fixed_pool_close_drains<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let pool: FixedPool<u32, 8> = FixedPool::new();
    let tally = Tally::new();
    for i in 0..4 {
        pool.try_submit(i).unwrap();
    }
    pool.close();
    assert!(pool.is_closed());
    assert_eq!(pool.try_submit(9), Err(TrySendError::Closed(9)));
    match pool.submit(10).await {
        Err(Closed(10)) => {}
        other => panic!("a closed pool hands the item back: {other:?}"),
    }
    let start = t.now();
    let unit = env.units(1);
    pool.run::<2, _, _>(
        |n: u32| async move {
            t.sleep(unit).await;
            n
        },
        |n| tally.record(n.expect("no panic")),
    )
    .await;
    env.assert_elapsed(start, env.units(2));
    assert!((0..4).all(|i| tally.count(i) == 1));
    assert_eq!(tally.count(9) + tally.count(10), 0);
    assert_eq!(pool.metrics().pending, 0);
}

/// An immediate shutdown returns exactly the items no worker started, oldest first; the
/// started ones finish and are reported; nothing else runs.
pub async fn fixed_pool_shutdown_returns_the_undone_items<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let pool: FixedPool<u32, 8> = FixedPool::new();
    let tally = Tally::new();
    for i in 0..6 {
        pool.try_submit(i).unwrap();
    }
    let start = t.now();
    let each = env.units(3);
    let driver = pool.run::<2, _, _>(
        |n: u32| async move {
            t.sleep(each).await;
            n
        },
        |n| tally.record(n.expect("no panic")),
    );
    let stopper = async {
        t.sleep(env.units(1)).await;
        let mut undone = [u32::MAX; 8];
        let mut n = 0;
        for (slot, item) in undone.iter_mut().zip(pool.shutdown()) {
            *slot = item;
            n += 1;
        }
        assert_eq!(&undone[..n], &[2, 3, 4, 5]);
        assert_eq!(
            pool.metrics().pending,
            2,
            "the two started items are still pending"
        );
    };
    join(driver, stopper).await;
    env.assert_elapsed(start, env.units(3));
    assert_eq!((tally.count(0), tally.count(1)), (1, 1));
    assert!((2..6).all(|i| tally.count(i) == 0));
    assert_eq!(pool.metrics().pending, 0);
}

/// Dropping the driver loses nothing: the items it was running are reported as cancelled, the
/// queued ones stay for the next driver, and `wait_idle` waits for them meanwhile.
pub async fn fixed_pool_dropped_driver_loses_nothing<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let pool: FixedPool<u32, 8> = FixedPool::new();
    let tally = Tally::new();
    let cancelled = AtomicU32::new(0);
    let report = |out: Result<u32, steadfast::pool::WorkError>| match out {
        Ok(n) => tally.record(n),
        Err(e) => {
            assert!(e.is_cancelled(), "{e:?}");
            cancelled.store(cancelled.load(Ordering::SeqCst) + 1, Ordering::SeqCst);
        }
    };
    for i in 0..5 {
        pool.try_submit(i).unwrap();
    }
    let unit = env.units(1);
    let work = |n: u32| async move {
        if n < 2 {
            // Items 0 and 1 never finish: whatever the clock, they are running at the cut.
            core::future::pending::<()>().await;
        }
        t.sleep(unit).await;
        n
    };
    // Two workers start items 0 and 1; the driver is dropped while they run.
    let cut = pool
        .run::<2, _, _>(work, report)
        .timeout(t, env.units(1))
        .await;
    assert!(cut.is_err(), "the driver was cut off");
    assert_eq!(cancelled.load(Ordering::SeqCst), 2);
    assert_eq!(
        pool.metrics().pending,
        3,
        "items 2, 3 and 4 are still pending"
    );
    let idle = pool.wait_idle().timeout(t, env.units(1)).await;
    assert!(idle.is_err(), "not idle while items wait");
    let driver = pool.run::<2, _, _>(work, report);
    let producer = async {
        pool.wait_idle().await;
        pool.close();
    };
    join(driver, producer).await;
    assert!((2..5).all(|i| tally.count(i) == 1));
    assert_eq!(tally.count(0) + tally.count(1), 0);
}

/// A producer that is granted a free slot and dropped before it runs passes the slot on to
/// the next waiting producer; a consumer granted an item and dropped passes the item on.
pub async fn queue_dropped_head_waiter_passes_its_wakeup<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    // Producers.
    let q: BoundedQueue<u32, 1> = BoundedQueue::new();
    q.try_send(0).unwrap();
    let mut second = pin!(q.send(2));
    {
        let mut first = pin!(q.send(1));
        poll_fn(|cx| {
            assert!(first.as_mut().poll(cx).is_pending());
            assert!(second.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        // The slot goes to `first`, which is dropped without running.
        assert_eq!(q.try_recv(), Ok(0));
    }
    let r = second.as_mut().timeout(t, env.units(1)).await;
    assert!(matches!(r, Ok(Ok(()))), "the slot was not passed on: {r:?}");
    assert_eq!(q.try_recv(), Ok(2));

    // Consumers.
    let q: BoundedQueue<u32, 4> = BoundedQueue::new();
    let mut second = pin!(q.recv());
    {
        let mut first = pin!(q.recv());
        poll_fn(|cx| {
            assert!(first.as_mut().poll(cx).is_pending());
            assert!(second.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        q.try_send(7).unwrap();
    }
    let r = second.as_mut().timeout(t, env.units(1)).await;
    assert_eq!(r, Ok(Some(7)), "the item was not passed on");
}

/// A small seeded PRNG (xorshift) for random schedules.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn below(&mut self, n: u32) -> u32 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as u32 % n
    }
}

/// Random schedules on the runtime itself: four producers submit 16 items each, each submit
/// under a random timeout that cancels some of them mid-wait, to two workers with random work
/// times. Every accepted item runs exactly once, no other item runs, nobody is left waiting.
pub async fn fixed_pool_cancelled_submitters_lose_nothing<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    for seed in 0..4u64 {
        let pool: FixedPool<u32, 3> = FixedPool::new();
        let tally = Tally::new();
        let accepted = Tally::new();
        let unit = env.units(1);
        let driver = pool.run::<2, _, _>(
            |n: u32| async move {
                t.sleep(unit * (n % 3)).await;
                n
            },
            |n| tally.record(n.expect("no panic")),
        );
        let producer = |p: u32| {
            let (pool, accepted) = (&pool, &accepted);
            async move {
                let mut rng = Rng::new(seed * 4 + u64::from(p));
                for i in p * 16..p * 16 + 16 {
                    let patience = unit * rng.below(3);
                    if let Ok(r) = pool.submit(i).timeout(t, patience).await {
                        r.expect("the pool is open");
                        accepted.record(i);
                    }
                }
            }
        };
        let producers = async {
            join4(producer(0), producer(1), producer(2), producer(3)).await;
            pool.wait_idle().await;
            pool.close();
        };
        join(driver, producers).await;
        let mut accepted_count = 0;
        for i in 0..64 {
            assert_eq!(tally.count(i), accepted.count(i), "seed {seed}, item {i}");
            accepted_count += accepted.count(i);
        }
        assert!(
            accepted_count > 0 && accepted_count < 64,
            "seed {seed}: some but not all submissions were cancelled ({accepted_count})"
        );
        assert_eq!(pool.metrics().pending, 0);
    }
}

/// Expands to one `#[test]` per spawn-free pool scenario, each calling
/// `$run(|env| scenario(env))`.
///
/// `pool_scenarios!(list m!(args;))` instead expands to `m!(args; pool; name, name, ...)`, for
/// runners without a test harness (firmware).
#[macro_export]
macro_rules! pool_scenarios {
    (list $callback:ident ! ($($args:tt)*)) => {
        $crate::pool_scenarios!(@names $callback ($($args)*));
    };
    ($run:path) => {
        $crate::pool_scenarios!(@names each_test ($run;));
    };
    (@names $callback:ident ($($args:tt)*)) => {
        $crate::__conformance_dispatch!($callback ($($args)*) pool;
            fixed_pool_runs_each_item_once,
            fixed_pool_backpressure,
            fixed_pool_close_drains,
            fixed_pool_shutdown_returns_the_undone_items,
            fixed_pool_dropped_driver_loses_nothing,
            queue_dropped_head_waiter_passes_its_wakeup,
            fixed_pool_cancelled_submitters_lose_nothing,
        );
    };
}

#[cfg(feature = "alloc")]
pub use spawned::*;

#[cfg(feature = "alloc")]
mod spawned {
    use alloc::sync::Arc;
    use alloc::vec::Vec;
    use portable_atomic::{AtomicBool, AtomicU32, Ordering};

    use steadfast::ConfigError;
    use steadfast::Spawn;
    use steadfast::pool::{DetachedPool, WorkError, WorkerPool};
    use steadfast::queue::TrySendError;

    use crate::{wait_for_flag, yield_now};

    const PATIENCE: u32 = 10_000_000;

    /// Zero workers or capacity is refused with an error naming the field.
    pub async fn worker_pool_rejects_bad_settings<S>(spawner: S)
    where
        S: Spawn + Send + Sync + 'static,
        S::Handle<u32>: Send,
    {
        let e: ConfigError = WorkerPool::<u32, u32>::builder()
            .workers(0)
            .capacity(4)
            .spawn(&spawner, |n: u32| async move { n })
            .unwrap_err();
        assert_eq!(e.field(), "workers");
        let e = WorkerPool::<u32, u32>::builder()
            .workers(2)
            .capacity(0)
            .spawn(&spawner, |n: u32| async move { n })
            .unwrap_err();
        assert_eq!(e.field(), "capacity");
        // Too large to count is refused; large but representable allocates nothing up front.
        let e = WorkerPool::<u32, u32>::builder()
            .capacity(usize::MAX)
            .spawn(&spawner, |n: u32| async move { n })
            .unwrap_err();
        assert_eq!(e.field(), "capacity");
        let huge = WorkerPool::<u32, u32>::builder()
            .capacity(usize::MAX - 1)
            .spawn(&spawner, |n: u32| async move { n })
            .unwrap();
        assert_eq!(huge.submit(4).await.unwrap().await.unwrap(), 4);
        huge.close();
        huge.wait_idle().await;
    }

    /// Outputs come back through each item's handle; a panic and an error are reported for
    /// their item only, and the pool goes on.
    pub async fn worker_pool_contains_panics_and_errors<S>(spawner: S)
    where
        S: Spawn + Send + Sync + 'static,
        S::Handle<Result<u32, &'static str>>: Send,
    {
        let pool = WorkerPool::builder()
            .workers(3)
            .capacity(8)
            .spawn(&spawner, |n: u32| async move {
                yield_now().await;
                match n {
                    3 => panic!("item three exploded"),
                    5 => Err("five is invalid"),
                    n => Ok(n * 10),
                }
            })
            .unwrap();
        let mut handles = Vec::new();
        for i in 0..8 {
            handles.push(pool.submit(i).await.expect("the pool is open"));
        }
        for (i, h) in (0..).zip(handles) {
            let out = h.await;
            match i {
                3 => {
                    let e = out.expect_err("item 3 panicked");
                    assert!(e.is_panic(), "{e:?}");
                    assert_eq!(e.panic_message(), Some("item three exploded"));
                }
                5 => assert_eq!(out.expect("no panic"), Err("five is invalid")),
                i => assert_eq!(out.expect("no panic"), Ok(i * 10)),
            }
        }
        // Still working after the panic.
        let after = pool.submit(9).await.unwrap();
        assert_eq!(after.await.unwrap(), Ok(90));
        pool.close();
        pool.wait_idle().await;
        assert_eq!(pool.metrics().pending, 0);
    }

    /// `close` stops intake and the workers drain the queue; `wait_idle` returns after.
    pub async fn worker_pool_close_drains<S>(spawner: S)
    where
        S: Spawn + Send + Sync + 'static,
        S::Handle<()>: Send,
    {
        let done = Arc::new(AtomicU32::new(0));
        let d = done.clone();
        let pool = WorkerPool::builder()
            .workers(2)
            .capacity(16)
            .spawn(&spawner, move |_: u32| {
                let d = d.clone();
                async move {
                    yield_now().await;
                    d.fetch_add(1, Ordering::SeqCst);
                }
            })
            .unwrap();
        let mut handles = Vec::new();
        for i in 0..10 {
            handles.push(pool.submit(i).await.unwrap());
        }
        pool.close();
        assert!(matches!(pool.try_submit(99), Err(TrySendError::Closed(99))));
        assert!(pool.submit(100).await.is_err());
        pool.wait_idle().await;
        assert_eq!(done.load(Ordering::SeqCst), 10);
        for h in handles {
            h.await.expect("drained, not dropped");
        }
    }

    /// An immediate shutdown returns exactly the items no worker started; their handles say
    /// `Cancelled`; the started one finishes normally.
    pub async fn worker_pool_shutdown_returns_the_undone_items<S>(spawner: S)
    where
        S: Spawn + Send + Sync + 'static,
        S::Handle<u32>: Send,
    {
        let started = Arc::new(AtomicBool::new(false));
        let gate = Arc::new(AtomicBool::new(false));
        let (s, g) = (started.clone(), gate.clone());
        let pool = WorkerPool::builder()
            .workers(1)
            .capacity(8)
            .spawn(&spawner, move |n: u32| {
                let (s, g) = (s.clone(), g.clone());
                async move {
                    s.store(true, Ordering::SeqCst);
                    assert!(wait_for_flag(&g, PATIENCE).await, "the gate never opened");
                    n
                }
            })
            .unwrap();
        let mut handles = Vec::new();
        for i in 0..5 {
            handles.push(pool.submit(i).await.unwrap());
        }
        assert!(
            wait_for_flag(&started, PATIENCE).await,
            "item 0 never started"
        );
        let undone = pool.shutdown();
        assert_eq!(undone, [1, 2, 3, 4]);
        gate.store(true, Ordering::SeqCst);
        let mut handles = handles.into_iter();
        assert_eq!(handles.next().unwrap().await.unwrap(), 0);
        for h in handles {
            assert!(h.await.unwrap_err().is_cancelled());
        }
        pool.wait_idle().await;
        assert_eq!(pool.metrics().pending, 0);
    }

    /// A full queue pushes back: `try_submit` hands the item back.
    pub async fn worker_pool_backpressure<S>(spawner: S)
    where
        S: Spawn + Send + Sync + 'static,
        S::Handle<u32>: Send,
    {
        let gate = Arc::new(AtomicBool::new(false));
        let g = gate.clone();
        let pool = WorkerPool::builder()
            .workers(1)
            .capacity(2)
            .spawn(&spawner, move |n: u32| {
                let g = g.clone();
                async move {
                    assert!(wait_for_flag(&g, PATIENCE).await);
                    n
                }
            })
            .unwrap();
        assert_eq!(pool.metrics().capacity, 2);
        // One item runs (blocked on the gate), two wait in the queue; then it is full.
        let mut handles = Vec::new();
        handles.push(pool.try_submit(0).unwrap());
        for _ in 0..PATIENCE {
            if pool.metrics().queued == 0 {
                break;
            }
            yield_now().await;
        }
        assert_eq!(pool.metrics().queued, 0, "the worker never took item 0");
        handles.push(pool.try_submit(1).unwrap());
        handles.push(pool.try_submit(2).unwrap());
        let refused = pool.try_submit(3).expect_err("the queue is full");
        assert!(refused.is_full(), "{refused:?}");
        assert_eq!(refused.into_inner(), 3);
        gate.store(true, Ordering::SeqCst);
        for (i, h) in (0..).zip(handles) {
            assert_eq!(h.await.unwrap(), i);
        }
        pool.close();
    }

    /// The detached form: every accepted item's outcome reaches the pool's handler exactly
    /// once, a panic included (as `WorkError::Panicked` for that item), through a queue small
    /// enough to push back; `wait_idle` returns after the handler saw them all.
    pub async fn detached_pool_reports_every_outcome<S>(spawner: S)
    where
        S: Spawn + Send + Sync + 'static,
        S::Handle<u32>: Send,
    {
        let seen: Arc<Vec<AtomicU32>> = Arc::new((0..32).map(|_| AtomicU32::new(0)).collect());
        let panics = Arc::new(AtomicU32::new(0));
        let (s, p) = (seen.clone(), panics.clone());
        let pool = DetachedPool::builder()
            .workers(3)
            .capacity(4)
            .spawn(
                &spawner,
                |n: u32| async move {
                    yield_now().await;
                    assert!(n != 7, "item seven exploded");
                    n
                },
                move |out: Result<u32, WorkError>| match out {
                    Ok(n) => {
                        s[n as usize].fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => {
                        assert!(e.is_panic(), "{e:?}");
                        assert_eq!(e.panic_message(), Some("item seven exploded"));
                        p.fetch_add(1, Ordering::SeqCst);
                    }
                },
            )
            .unwrap();
        for i in 0..32 {
            pool.submit(i).await.expect("the pool is open");
        }
        pool.wait_idle().await;
        assert_eq!(pool.metrics().pending, 0);
        for i in 0..32 {
            let expected = u32::from(i != 7);
            assert_eq!(
                seen[i as usize].load(Ordering::SeqCst),
                expected,
                "item {i}"
            );
        }
        assert_eq!(panics.load(Ordering::SeqCst), 1);
        // Still working after the panic; `close` drains.
        pool.try_submit(0).expect("room in the queue");
        pool.close();
        assert!(matches!(pool.try_submit(1), Err(TrySendError::Closed(1))));
        pool.wait_idle().await;
        assert_eq!(seen[0].load(Ordering::SeqCst), 2);
    }

    /// The detached form's immediate shutdown returns exactly the items no worker started,
    /// which never reach the handler; the started one finishes and is reported.
    pub async fn detached_pool_shutdown_returns_the_undone_items<S>(spawner: S)
    where
        S: Spawn + Send + Sync + 'static,
        S::Handle<u32>: Send,
    {
        let started = Arc::new(AtomicBool::new(false));
        let gate = Arc::new(AtomicBool::new(false));
        let reported = Arc::new(AtomicU32::new(0));
        let (s, g, r) = (started.clone(), gate.clone(), reported.clone());
        let pool = DetachedPool::builder()
            .workers(1)
            .capacity(8)
            .spawn(
                &spawner,
                move |n: u32| {
                    let (s, g) = (s.clone(), g.clone());
                    async move {
                        s.store(true, Ordering::SeqCst);
                        assert!(wait_for_flag(&g, PATIENCE).await, "the gate never opened");
                        n
                    }
                },
                move |out: Result<u32, WorkError>| {
                    assert_eq!(out.expect("no panic"), 0, "only item 0 ran");
                    r.fetch_add(1, Ordering::SeqCst);
                },
            )
            .unwrap();
        for i in 0..5 {
            pool.submit(i).await.unwrap();
        }
        assert!(
            wait_for_flag(&started, PATIENCE).await,
            "item 0 never started"
        );
        assert_eq!(pool.shutdown(), [1, 2, 3, 4]);
        assert_eq!(
            pool.metrics().pending,
            1,
            "the started item is still pending"
        );
        gate.store(true, Ordering::SeqCst);
        pool.wait_idle().await;
        assert_eq!(reported.load(Ordering::SeqCst), 1);
        assert_eq!(pool.metrics().pending, 0);
    }

    /// Expands to one `#[test]` per spawned pool scenario, each calling
    /// `$run(|spawner| scenario(spawner))`.
    #[macro_export]
    macro_rules! worker_pool_scenarios {
        ($run:path) => {
            $crate::worker_pool_scenarios!(@each $run;
                worker_pool_rejects_bad_settings,
                worker_pool_contains_panics_and_errors,
                worker_pool_close_drains,
                worker_pool_shutdown_returns_the_undone_items,
                worker_pool_backpressure,
                detached_pool_reports_every_outcome,
                detached_pool_shutdown_returns_the_undone_items,
            );
        };
        (@each $run:path; $($name:ident),* $(,)?) => {
            $(
                #[test]
                fn $name() {
                    $run(|spawner| $crate::pool::$name(spawner));
                }
            )*
        };
    }
}
