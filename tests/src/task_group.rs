//! Task group scenarios: the spawn-free form over a `Timer` (no heap), and the spawned form
//! over a `Spawn` (with the `alloc` feature).

use core::pin::pin;
use core::time::Duration;

use steadfast::Timer;
use steadfast::task_group::{Cancelled, scoped};

use crate::Env;

async fn step<T: Timer>(t: &T, d: Duration, out: Result<u32, u32>) -> Result<u32, u32> {
    t.sleep(d).await;
    out
}

/// The spawn-free group runs at most `limit` futures at once, in order, and returns every
/// outcome.
pub async fn scoped_group_limits_and_keeps_every_outcome<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let start = t.now();
    let a = pin!(step(t, env.units(3), Ok(1)));
    let b = pin!(step(t, env.units(1), Err(2)));
    let c = pin!(step(t, env.units(1), Ok(3)));
    let out = scoped([a, b, c])
        .limit(2)
        .expect("a limit of 2 is valid")
        .await;
    assert_eq!(out, [Ok(Ok(1)), Ok(Err(2)), Ok(Ok(3))]);
    // `c` starts when `b` finishes, at 1, and ends at 2; `a` ends at 3.
    env.assert_elapsed(start, env.units(3));
}

/// With `cancel_when`, the first failure ends the group at once and cancels the rest.
pub async fn scoped_group_cancels_on_first_failure<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let start = t.now();
    let a = pin!(step(t, env.units(5), Ok(1)));
    let b = pin!(step(t, env.units(2), Err(2)));
    let c = pin!(step(t, env.units(9), Ok(3)));
    let out = scoped([a, b, c]).cancel_when(Result::is_err).await;
    assert_eq!(out, [Err(Cancelled), Ok(Err(2)), Err(Cancelled)]);
    env.assert_elapsed(start, env.units(2));
}

/// Expands to one `#[test]` per spawn-free task group scenario, each calling
/// `$run(|env| scenario(env))`; `list callback!(args)` calls
/// `callback!(args task_group; name, ...)` instead.
#[macro_export]
macro_rules! scoped_group_scenarios {
    (list $callback:ident ! ($($args:tt)*)) => {
        $crate::scoped_group_scenarios!(@names $callback ($($args)*));
    };
    ($run:path) => {
        $crate::scoped_group_scenarios!(@names each_test ($run;));
    };
    (@names $callback:ident ($($args:tt)*)) => {
        $crate::__conformance_dispatch!($callback ($($args)*) task_group;
            scoped_group_limits_and_keeps_every_outcome,
            scoped_group_cancels_on_first_failure,
        );
    };
}

#[cfg(feature = "alloc")]
pub use spawned::*;

#[cfg(feature = "alloc")]
mod spawned {
    use alloc::sync::Arc;
    use alloc::vec::Vec;
    use core::future::pending;
    use portable_atomic::{AtomicBool, AtomicUsize, Ordering};

    use steadfast::Spawn;
    use steadfast::task_group::TaskGroup;

    use crate::{wait_for_flag, yield_now};

    /// How many yields a scenario waits for another task before calling it lost.
    const PATIENCE: u32 = 100_000;

    struct OwnedSetOnDrop(Arc<AtomicBool>);

    impl Drop for OwnedSetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// `join` returns every outcome in spawn order, errors included; none cancels another.
    pub async fn group_returns_every_outcome_in_spawn_order<S: Spawn>(spawner: S) {
        let mut group = TaskGroup::new(spawner);
        for n in 0..5u32 {
            let index = group.spawn(async move {
                for _ in 0..(5 - n) {
                    yield_now().await;
                }
                if n % 2 == 0 { Ok(n) } else { Err(n) }
            });
            assert_eq!(index, n as usize);
        }
        assert_eq!(group.len(), 5);
        let out: Vec<Result<u32, u32>> = group
            .join()
            .await
            .into_iter()
            .map(|o| o.expect("no task panicked or was cancelled"))
            .collect();
        assert_eq!(out, [Ok(0), Err(1), Ok(2), Err(3), Ok(4)]);
    }

    /// A panic in one task is its outcome, with the message; its siblings finish.
    pub async fn group_reports_panics_and_goes_on<S: Spawn>(spawner: S) {
        let mut group = TaskGroup::new(spawner);
        group.spawn(async { 1u8 });
        group.spawn(async {
            if wait_for_flag(&AtomicBool::new(true), 1).await {
                panic!("task 1 exploded");
            }
            2u8
        });
        group.spawn(async {
            yield_now().await;
            3u8
        });
        let out = group.join().await;
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].as_ref().ok(), Some(&1));
        let err = out[1].as_ref().expect_err("task 1 panicked");
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("task 1 exploded"));
        assert_eq!(out[2].as_ref().ok(), Some(&3));
    }

    /// With `cancel_on_error`, the first `Err` aborts the siblings: their futures are
    /// dropped and they report cancelled.
    pub async fn group_cancels_siblings_on_first_error<S: Spawn>(spawner: S) {
        let mut group = TaskGroup::builder(spawner)
            .cancel_on_error()
            .build()
            .expect("valid settings");
        let started = Arc::new(AtomicUsize::new(0));
        let dropped: Vec<Arc<AtomicBool>> = (0..3).map(|_| Arc::default()).collect();
        for d in &dropped {
            let (s, d) = (started.clone(), d.clone());
            group.spawn(async move {
                let _guard = OwnedSetOnDrop(d);
                s.fetch_add(1, Ordering::SeqCst);
                pending::<Result<u32, u32>>().await
            });
        }
        let s = started.clone();
        group.spawn(async move {
            while s.load(Ordering::SeqCst) < 3 {
                yield_now().await;
            }
            Err(99)
        });
        let out = group.join().await;
        assert_eq!(out.len(), 4);
        for o in &out[..3] {
            assert!(
                o.as_ref().is_err_and(|e| e.is_cancelled()),
                "a sibling was not cancelled: {o:?}"
            );
        }
        assert_eq!(out[3].as_ref().ok(), Some(&Err(99)));
        for d in &dropped {
            assert!(
                wait_for_flag(d, PATIENCE).await,
                "a cancelled task's future was not dropped"
            );
        }
    }

    /// Dropping the group aborts every task still running: none is orphaned.
    pub async fn dropping_the_group_aborts_its_tasks<S: Spawn>(spawner: S) {
        let mut group = TaskGroup::new(spawner);
        let started = Arc::new(AtomicUsize::new(0));
        let dropped: Vec<Arc<AtomicBool>> = (0..3).map(|_| Arc::default()).collect();
        for d in &dropped {
            let (s, d) = (started.clone(), d.clone());
            group.spawn(async move {
                let _guard = OwnedSetOnDrop(d);
                s.fetch_add(1, Ordering::SeqCst);
                pending::<()>().await;
            });
        }
        for _ in 0..PATIENCE {
            if started.load(Ordering::SeqCst) == 3 {
                break;
            }
            yield_now().await;
        }
        assert_eq!(started.load(Ordering::SeqCst), 3, "the tasks never started");
        drop(group);
        for d in &dropped {
            assert!(
                wait_for_flag(d, PATIENCE).await,
                "a task outlived its group"
            );
        }
    }

    /// With a limit, at most that many tasks run their future at once, and all finish.
    pub async fn group_limit_bounds_running_tasks<S: Spawn>(spawner: S) {
        let limit = 2;
        let mut group = TaskGroup::builder(spawner)
            .limit(limit)
            .build()
            .expect("valid settings");
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        for n in 0..6u32 {
            let (running, peak) = (running.clone(), peak.clone());
            group.spawn(async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                for _ in 0..10 {
                    yield_now().await;
                }
                running.fetch_sub(1, Ordering::SeqCst);
                n
            });
        }
        let out: Vec<u32> = group
            .join()
            .await
            .into_iter()
            .map(|o| o.expect("every task finished"))
            .collect();
        assert_eq!(out, [0, 1, 2, 3, 4, 5]);
        let peak = peak.load(Ordering::SeqCst);
        assert!((1..=2).contains(&peak), "{peak} tasks ran at once");
    }

    /// Expands to one `#[test]` per spawned task group scenario, each calling
    /// `$run(|spawner| scenario(spawner))`.
    #[macro_export]
    macro_rules! task_group_scenarios {
        ($run:path) => {
            $crate::task_group_scenarios!(@each $run;
                group_returns_every_outcome_in_spawn_order,
                group_reports_panics_and_goes_on,
                group_cancels_siblings_on_first_error,
                dropping_the_group_aborts_its_tasks,
                group_limit_bounds_running_tasks,
            );
        };
        (@each $run:path; $($name:ident),* $(,)?) => {
            $(
                #[test]
                fn $name() {
                    $run(|spawner| $crate::task_group::$name(spawner));
                }
            )*
        };
    }
}
