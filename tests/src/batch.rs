//! Batcher scenarios: the spawn-free [`FixedBatcher`] on every runtime (no heap), the stream
//! adapter, and the spawned [`Batcher`](steadfast::batch::Batcher) where the runtime can spawn.

use core::convert::Infallible;
use core::future::ready;
use core::time::Duration;
use portable_atomic::{AtomicU32, AtomicUsize, Ordering};

use futures_util::future::{join, join4};
use steadfast::batch::{FixedBatch, FixedBatcher};
use steadfast::queue::{Closed, TrySendError};
use steadfast::timeout::TimeoutExt;
use steadfast::{Instant, Timer};

use crate::pool::{Rng, Tally};
use crate::{Clock, Env};

/// Flushes seen: the instant of each and its items (up to eight items below 255 per batch).
/// 32-bit atomics, loads and stores only (Cortex-M0 has neither 64-bit atomics nor
/// read-modify-write); one writer at a time.
struct Log {
    /// Nanoseconds since the start: high and low halves.
    at: [[AtomicU32; 2]; 16],
    /// Packed items: high and low halves.
    items: [[AtomicU32; 2]; 16],
    len: AtomicUsize,
}

fn store64(cell: &[AtomicU32; 2], v: u64) {
    cell[0].store((v >> 32) as u32, Ordering::SeqCst);
    cell[1].store(v as u32, Ordering::SeqCst);
}

fn load64(cell: &[AtomicU32; 2]) -> u64 {
    (u64::from(cell[0].load(Ordering::SeqCst)) << 32) | u64::from(cell[1].load(Ordering::SeqCst))
}

impl Log {
    fn new() -> Self {
        Log {
            at: core::array::from_fn(|_| [AtomicU32::new(0), AtomicU32::new(0)]),
            items: core::array::from_fn(|_| [AtomicU32::new(0), AtomicU32::new(0)]),
            len: AtomicUsize::new(0),
        }
    }

    fn record(&self, since_start: Duration, batch: &[u32]) {
        assert!(!batch.is_empty(), "an empty batch was flushed");
        let i = self.len.load(Ordering::SeqCst);
        store64(&self.at[i], since_start.as_nanos() as u64);
        store64(&self.items[i], pack(batch));
        self.len.store(i + 1, Ordering::SeqCst);
    }

    fn flushes(&self) -> usize {
        self.len.load(Ordering::SeqCst)
    }

    fn items(&self, i: usize) -> u64 {
        load64(&self.items[i])
    }

    /// Asserts the flushes: `(instant in units since start, items)`, exactly on a virtual
    /// clock, within the slack on a real one.
    #[track_caller]
    fn assert<T: Timer>(&self, env: &Env<T>, expected: &[(u32, &[u32])]) {
        assert_eq!(self.flushes(), expected.len(), "number of flushes");
        for (i, (units, items)) in expected.iter().enumerate() {
            assert_eq!(self.items(i), pack(items), "items of flush {i}");
            let at = Duration::from_nanos(load64(&self.at[i]));
            assert_at(env, at, env.units(*units), i);
        }
    }
}

fn pack(items: &[u32]) -> u64 {
    assert!(items.len() <= 8);
    items
        .iter()
        .fold(0u64, |acc, &i| (acc << 8) | u64::from(i.min(254) + 1))
}

#[track_caller]
fn assert_at<T: Timer>(env: &Env<T>, actual: Duration, expected: Duration, flush: usize) {
    match env.clock {
        Clock::Virtual => assert_eq!(actual, expected, "instant of flush {flush}"),
        Clock::Real { slack } => assert!(
            actual >= expected && actual <= expected + slack,
            "flush {flush} at {actual:?}, expected {expected:?} (slack {slack:?})"
        ),
    }
}

fn fixed<T: Timer, const N: usize>(
    timer: T,
    batch_size: usize,
    interval: Duration,
) -> FixedBatcher<u32, T, N> {
    FixedBatcher::builder(timer)
        .batch_size(batch_size)
        .flush_interval(interval)
        .build()
        .expect("valid settings")
}

/// The flush function of most scenarios: logs the batch and its instant, then takes `pause`.
/// The future of [`logging`]'s flush function.
type Flushing<S> = futures_util::future::Either<
    core::future::Ready<Result<(), Infallible>>,
    futures_util::future::Map<S, fn(()) -> Result<(), Infallible>>,
>;

fn logging<'a, T: Timer>(
    log: &'a Log,
    timer: &'a T,
    start: Instant,
    pause: Duration,
) -> impl FnMut(FixedBatch<u32, 8>) -> Flushing<T::Sleep> + 'a {
    use futures_util::FutureExt;
    move |batch| {
        log.record(timer.now() - start, &batch);
        if pause.is_zero() {
            futures_util::future::Either::Left(ready(Ok(())))
        } else {
            let ok: fn(()) -> Result<(), Infallible> = |()| Ok(());
            futures_util::future::Either::Right(timer.sleep(pause).map(ok))
        }
    }
}

/// `sleep`, as a successful flush.
async fn ok_after<S: core::future::Future<Output = ()>>(sleep: S) -> Result<(), Infallible> {
    sleep.await;
    Ok(())
}

/// Bad settings are refused with an error naming the field.
pub async fn batch_config_errors_name_the_field<T: Timer>(env: Env<T>) {
    let field = |r: Result<FixedBatcher<u32, T, 4>, steadfast::ConfigError>| {
        r.map(|_| ()).unwrap_err().field()
    };
    let builder = || FixedBatcher::<u32, T, 4>::builder(env.timer.clone());
    let b = builder().batch_size(0).flush_interval(env.units(1));
    assert_eq!(field(b.build()), "batch_size");
    assert_eq!(field(builder().batch_size(1).build()), "flush_interval");
    let b = builder().batch_size(5).flush_interval(env.units(1));
    assert_eq!(field(b.build()), "capacity");
}

/// Size-triggered flushes happen at the instant the batch fills; closing with nothing held
/// ends the driver at once.
pub async fn size_triggered_flush_instants<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let start = t.now();
    let batcher: FixedBatcher<u32, T, 8> = fixed(t.clone(), 3, env.units(10));
    let log = Log::new();
    let driver = batcher.run(logging(&log, t, start, Duration::ZERO), |e| match e {});
    let producer = async {
        for i in 0..3 {
            batcher.submit(i).await.unwrap();
        }
        t.sleep(env.units(2)).await;
        for i in 3..6 {
            batcher.submit(i).await.unwrap();
        }
        t.sleep(env.units(1)).await;
        batcher.close();
    };
    join(driver, producer).await;
    env.assert_elapsed(start, env.units(3));
    log.assert(&env, &[(0, &[0, 1, 2]), (2, &[3, 4, 5])]);
}

/// Time-triggered flushes happen `flush_interval` after the first item of their batch; a
/// batch that fills first flushes at once; `close` flushes the rest at once.
pub async fn time_triggered_flush_instants<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let start = t.now();
    let batcher: FixedBatcher<u32, T, 8> = fixed(t.clone(), 3, env.units(5));
    let log = Log::new();
    let driver = batcher.run(logging(&log, t, start, Duration::ZERO), |e| match e {});
    let at = |units| t.sleep_until(start + env.units(units));
    let producer = async {
        batcher.submit(0).await.unwrap();
        at(2).await;
        batcher.submit(1).await.unwrap(); // due at 5
        at(6).await;
        batcher.submit(2).await.unwrap(); // due at 11
        at(12).await;
        batcher.submit(3).await.unwrap();
        at(13).await;
        batcher.submit(4).await.unwrap();
        at(14).await;
        batcher.submit(5).await.unwrap(); // full at 14
        at(15).await;
        batcher.submit(6).await.unwrap();
        at(16).await;
        batcher.close(); // 6 is flushed at once
    };
    join(driver, producer).await;
    env.assert_elapsed(start, env.units(16));
    log.assert(
        &env,
        &[(5, &[0, 1]), (11, &[2]), (14, &[3, 4, 5]), (16, &[6])],
    );
}

/// A close during a flush lets that flush finish, then flushes everything held, one batch at
/// a time, and only then ends the driver; adds after the close get their item back.
pub async fn close_during_a_flush<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let start = t.now();
    let batcher: FixedBatcher<u32, T, 8> = fixed(t.clone(), 2, env.units(10));
    let log = Log::new();
    let driver = batcher.run(logging(&log, t, start, env.units(4)), |e| match e {});
    let producer = async {
        batcher.submit(0).await.unwrap();
        batcher.submit(1).await.unwrap(); // flushed 0..4
        t.sleep(env.units(1)).await;
        for i in 2..5 {
            batcher.submit(i).await.unwrap();
        }
        t.sleep(env.units(1)).await;
        batcher.close(); // during the first flush
        assert_eq!(batcher.try_submit(5), Err(TrySendError::Closed(5)));
        match batcher.submit(6).await {
            Err(Closed(6)) => {}
            other => panic!("a closed batcher hands the item back: {other:?}"),
        }
        assert_eq!(batcher.metrics().held, 3);
    };
    join(driver, producer).await;
    env.assert_elapsed(start, env.units(12));
    log.assert(&env, &[(0, &[0, 1]), (4, &[2, 3]), (8, &[4])]);
    assert_eq!(batcher.metrics().held, 0);
}

/// When flushing is slower than intake, `try_submit` refuses and `submit` waits until the driver
/// takes a batch and frees room, at that instant.
pub async fn add_waits_when_full<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let start = t.now();
    let batcher: FixedBatcher<u32, T, 2> = fixed(t.clone(), 2, env.units(10));
    let log = Log::new();
    let driver = batcher.run(
        |batch: FixedBatch<u32, 2>| {
            log.record(t.now() - start, &batch);
            ok_after(t.sleep(env.units(3)))
        },
        |e| match e {},
    );
    let producer = async {
        for i in 0..4 {
            batcher.submit(i).await.unwrap(); // 0 and 1 are taken into a flush at once
        }
        assert_eq!(batcher.try_submit(4), Err(TrySendError::Full(4)));
        batcher.submit(4).await.unwrap();
        env.assert_elapsed(start, env.units(3));
        batcher.close();
    };
    join(driver, producer).await;
    env.assert_elapsed(start, env.units(9));
    log.assert(&env, &[(0, &[0, 1]), (3, &[2, 3]), (6, &[4])]);
}

/// Every error the flush function returns reaches the handler; the batcher goes on.
pub async fn flush_errors_reach_the_handler<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let batcher: FixedBatcher<u32, T, 8> = fixed(t.clone(), 2, env.units(5));
    let flushed = Tally::new();
    let errors = AtomicU32::new(0);
    let driver = batcher.run(
        |batch: FixedBatch<u32, 8>| {
            for &i in &batch {
                flushed.record(i);
            }
            ready(if batch[0] % 4 == 0 {
                Err(batch[0])
            } else {
                Ok(())
            })
        },
        |first| {
            errors.store(
                errors.load(Ordering::SeqCst) | (1 << first),
                Ordering::SeqCst,
            );
        },
    );
    let producer = async {
        for i in 0..10 {
            batcher.submit(i).await.unwrap();
        }
        batcher.close();
    };
    join(driver, producer).await;
    assert!((0..10).all(|i| flushed.count(i) == 1));
    // Batches start at 0, 2, 4, 6, 8: those at 0, 4 and 8 failed.
    assert_eq!(
        errors.load(Ordering::SeqCst),
        (1 << 0) | (1 << 4) | (1 << 8)
    );
}

/// Held items belong to the batcher: a driver dropped while it waits loses nothing, and the
/// next driver flushes them when their interval, counted from their `submit`, runs out.
pub async fn dropped_driver_loses_nothing<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let start = t.now();
    let batcher: FixedBatcher<u32, T, 8> = fixed(t.clone(), 3, env.units(5));
    let log = Log::new();
    batcher.try_submit(0).unwrap();
    batcher.try_submit(1).unwrap();
    let first = batcher
        .run(logging(&log, t, start, Duration::ZERO), |e| match e {})
        .timeout(t, env.units(2))
        .await;
    assert!(first.is_err(), "the first driver was dropped while waiting");
    assert_eq!(batcher.metrics().held, 2);
    let driver = batcher.run(logging(&log, t, start, Duration::ZERO), |e| match e {});
    let closer = async {
        t.sleep_until(start + env.units(6)).await;
        batcher.close();
    };
    join(driver, closer).await;
    log.assert(&env, &[(5, &[0, 1])]);
}

/// Random schedules on the runtime itself: four producers add 16 items each, each `submit`
/// under a random timeout that cancels some mid-wait (the batcher is small and flushing is
/// slow); every accepted item is flushed exactly once and no other item is.
pub async fn cancelled_submitters_lose_nothing<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    for seed in 0..4u64 {
        let batcher: FixedBatcher<u32, T, 4> = fixed(t.clone(), 3, env.units(2));
        let flushed = Tally::new();
        let accepted = Tally::new();
        let unit = env.units(1);
        let driver = batcher.run(
            |batch: FixedBatch<u32, 4>| {
                assert!(!batch.is_empty() && batch.len() <= 3);
                for &i in &batch {
                    flushed.record(i);
                }
                ok_after(t.sleep(unit * (batch[0] % 2)))
            },
            |e| match e {},
        );
        let producer = |p: u32| {
            let (batcher, accepted) = (&batcher, &accepted);
            async move {
                let mut rng = Rng::new(seed * 4 + u64::from(p));
                for i in p * 16..p * 16 + 16 {
                    let patience = unit * rng.below(3);
                    if let Ok(r) = batcher.submit(i).timeout(t, patience).await {
                        r.expect("the batcher is open");
                        accepted.record(i);
                    }
                }
            }
        };
        let producers = async {
            join4(producer(0), producer(1), producer(2), producer(3)).await;
            batcher.close();
        };
        join(driver, producers).await;
        let mut n = 0;
        for i in 0..64 {
            assert_eq!(flushed.count(i), accepted.count(i), "seed {seed}, item {i}");
            n += accepted.count(i);
        }
        assert!(
            n > 0 && n < 64,
            "seed {seed}: some but not all adds were cancelled ({n})"
        );
    }
}

/// Expands to one `#[test]` per spawn-free batcher scenario, each calling
/// `$run(|env| scenario(env))`.
///
/// `batch_scenarios!(list m!(args;))` instead expands to `m!(args; batch; name, name, ...)`,
/// for runners without a test harness (firmware).
#[macro_export]
macro_rules! batch_scenarios {
    (list $callback:ident ! ($($args:tt)*)) => {
        $crate::batch_scenarios!(@names $callback ($($args)*));
    };
    ($run:path) => {
        $crate::batch_scenarios!(@names each_test ($run;));
    };
    (@names $callback:ident ($($args:tt)*)) => {
        $crate::__conformance_dispatch!($callback ($($args)*) batch;
            batch_config_errors_name_the_field,
            size_triggered_flush_instants,
            time_triggered_flush_instants,
            close_during_a_flush,
            add_waits_when_full,
            flush_errors_reach_the_handler,
            dropped_driver_loses_nothing,
            cancelled_submitters_lose_nothing,
        );
    };
}

#[cfg(feature = "alloc")]
pub use with_alloc::*;

#[cfg(feature = "alloc")]
mod with_alloc {
    use alloc::sync::Arc;
    use alloc::vec;
    use alloc::vec::Vec;
    use core::future::ready;
    use core::time::Duration;
    use portable_atomic::{AtomicUsize, Ordering};

    use futures_util::StreamExt;
    use steadfast::batch::{Batcher, Batches};
    use steadfast::{Spawn, Timer, VirtualTimer};

    use super::{Log, pack};
    use crate::Env;

    const PATIENCE: u32 = 100_000;

    /// The stream adapter: batches by size or by time since the first item, the rest when the
    /// source ends; never an empty batch.
    pub async fn stream_batches_by_size_or_time<T: Timer>(env: Env<T>) {
        let t = &env.timer;
        let start = t.now();
        // Items 0..7 arrive at units 1, 2, 3, 4, 14, 15, 30 (then the source ends at 30):
        // every arrival at least 3 units from the flush it must come before or after, so
        // that a real clock's late wake-ups under load change no batch.
        let arrivals = [1u32, 2, 3, 4, 14, 15, 30];
        let items = futures_util::stream::iter(arrivals.into_iter().enumerate()).then(|(i, at)| {
            let sleep = t.sleep_until(start + env.units(at));
            async move {
                sleep.await;
                i as u32
            }
        });
        let out: Vec<(Duration, Vec<u32>)> = Batches::builder(t.clone())
            .batch_size(3)
            .flush_interval(env.units(5))
            .build(items)
            .expect("valid settings")
            .map(|b| (t.now() - start, b))
            .collect()
            .await;
        let expected = [
            (3, vec![0, 1, 2]), // full at 3
            (9, vec![3]),       // 3 arrived at 4: due at 9
            (19, vec![4, 5]),   // 4 arrived at 14: due at 19
            (30, vec![6]),      // the source ended
        ];
        assert_eq!(out.len(), expected.len(), "{out:?}");
        for (i, ((at, items), (units, want))) in out.iter().zip(expected).enumerate() {
            assert_eq!(items, &want, "batch {i}");
            super::assert_at(&env, *at, env.units(units), i);
        }
    }

    /// The spawned batcher: size- and time-triggered flushes in the background, flush errors
    /// to the handler, and dropping every handle flushes what is held and ends the task.
    pub async fn spawned_batcher_flushes_and_drop_flushes_the_rest<S: Spawn>(spawner: S) {
        let timer = VirtualTimer::new();
        let log = Arc::new(Log::new());
        let errors = Arc::new(AtomicUsize::new(0));
        let (sink, errs) = (log.clone(), errors.clone());
        let (batcher, task) = Batcher::builder(timer.clone())
            .batch_size(3)
            .flush_interval(Duration::from_secs(10))
            .capacity(8)
            .spawn(
                &spawner,
                move |batch: Vec<u32>| {
                    sink.record(Duration::ZERO, &batch);
                    ready(if batch.contains(&3) {
                        Err("three")
                    } else {
                        Ok(())
                    })
                },
                move |e: &str| {
                    assert_eq!(e, "three");
                    errs.fetch_add(1, Ordering::SeqCst);
                },
            )
            .expect("valid settings");
        let flushes = |n: usize| {
            let log = log.clone();
            async move {
                for _ in 0..PATIENCE {
                    if log.flushes() >= n {
                        return true;
                    }
                    crate::yield_now().await;
                }
                false
            }
        };
        for i in 0..3 {
            batcher.submit(i).await.unwrap();
        }
        assert!(flushes(1).await, "a full batch was not flushed");
        batcher.submit(3).await.unwrap();
        // Time-triggered: wait until the driver sleeps on the interval, then pass it.
        for _ in 0..PATIENCE {
            if timer.sleepers() > 0 {
                break;
            }
            crate::yield_now().await;
        }
        timer.advance(Duration::from_secs(10));
        assert!(flushes(2).await, "a due batch was not flushed");
        batcher.submit(4).await.unwrap();
        batcher.submit(5).await.unwrap();
        let clone = batcher.clone();
        drop(batcher);
        assert!(!clone.is_closed(), "a clone keeps it open");
        drop(clone);
        task.await.expect("the background task ended normally");
        assert_eq!(log.flushes(), 3);
        let packed: Vec<u64> = (0..3).map(|i| log.items(i)).collect();
        assert_eq!(packed, [pack(&[0, 1, 2]), pack(&[3]), pack(&[4, 5])]);
        assert_eq!(errors.load(Ordering::SeqCst), 1);
    }

    /// A panic in the flush function ends the background task and is reported by its handle.
    pub async fn spawned_batcher_reports_a_flush_panic<S: Spawn>(spawner: S) {
        let timer = VirtualTimer::new();
        let (batcher, task) = Batcher::builder(timer)
            .batch_size(1)
            .flush_interval(Duration::from_secs(1))
            .capacity(4)
            .spawn(
                &spawner,
                |batch: Vec<u32>| {
                    if batch[0] == 13 {
                        panic!("unlucky batch");
                    }
                    ready(Ok::<(), ()>(()))
                },
                |()| {},
            )
            .expect("valid settings");
        batcher.submit(13).await.unwrap();
        let err = task.await.expect_err("the flush panicked");
        assert_eq!(err.panic_message(), Some("unlucky batch"));
        assert!(batcher.is_closed(), "a batcher with no flushing closes");
        assert!(batcher.submit(14).await.is_err(), "the item comes back");
    }

    /// Expands to one `#[test]` per stream adapter scenario, each calling
    /// `$run(|env| scenario(env))`.
    #[macro_export]
    macro_rules! batch_stream_scenarios {
        ($run:path) => {
            #[test]
            fn stream_batches_by_size_or_time() {
                $run(|env| $crate::batch::stream_batches_by_size_or_time(env));
            }
        };
    }

    /// Expands to one `#[test]` per spawned batcher scenario, each calling
    /// `$run(|spawner| scenario(spawner))`.
    #[macro_export]
    macro_rules! batcher_spawn_scenarios {
        ($run:path) => {
            #[test]
            fn spawned_batcher_flushes_and_drop_flushes_the_rest() {
                $run(|spawner| {
                    $crate::batch::spawned_batcher_flushes_and_drop_flushes_the_rest(spawner)
                });
            }
            #[test]
            fn spawned_batcher_reports_a_flush_panic() {
                $run(|spawner| $crate::batch::spawned_batcher_reports_a_flush_panic(spawner));
            }
        };
    }
}
