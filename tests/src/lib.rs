//! steadfast's conformance suite: scenarios written once, as async functions generic over the
//! seams, and run on every runtime by the test files in `tests/`.
//!
//! The scenarios need neither std nor a heap (the spawn, spawned task group and `map_bounded`
//! scenarios excepted, behind the `alloc` feature), so the very same functions can run as
//! firmware. Each runtime's test file supplies a `run` function that builds an [`Env`] for its
//! timer and drives the scenario to completion, then expands [`timeout_scenarios!`],
//! [`bulkhead_scenarios!`], [`concurrency_scenarios!`], [`map_bounded_scenarios!`],
//! [`pipeline_scenarios!`], [`chaos_scenarios!`], [`scoped_group_scenarios!`] (and [`spawn_contract!`] and [`task_group_scenarios!`] where the
//! runtime can spawn) to get one `#[test]` per scenario.
//!
//! Two of them are contracts of the seams themselves: [`timer_contract!`] (every [`Timer`]) and
//! [`spawn_contract!`] (every [`Spawn`](steadfast::Spawn)). [`timer_scenarios!`] and
//! [`spawner_scenarios!`] include them, so an adapter that runs the scenarios runs its
//! contract too.
#![no_std]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod batch;
pub mod bracket;
pub mod breaker;
pub mod bulkhead;
pub mod chaos;
pub mod concurrency;
pub mod events;
pub mod hedge;
pub mod limiter;
pub mod observe;
pub mod pipeline;
pub mod pitfalls;
pub mod pool;
pub mod retry;
#[cfg(feature = "alloc")]
pub mod spawn;
pub mod task_group;
pub mod timeout;
pub mod timer;

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use portable_atomic::{AtomicBool, Ordering};

use steadfast::{Instant, Timer};

/// What a scenario runs against: a timer, the unit its durations are counted in, and how
/// exact that timer's clock is.
#[derive(Debug, Clone)]
pub struct Env<T> {
    /// The runtime's timer.
    pub timer: T,
    /// One unit of scenario time: scenarios speak of `env.units(5)` rather than of seconds, so
    /// a real-time run can use milliseconds where a virtual-time run uses seconds.
    pub unit: Duration,
    /// How exact the clock is.
    pub clock: Clock,
}

/// How exactly a clock keeps time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Virtual time: sleeps end exactly at their deadline; assertions are equalities.
    Virtual,
    /// A real clock: sleeps end at or after their deadline, late by at most `slack`.
    Real {
        /// How late a sleep may end on a loaded machine.
        slack: Duration,
    },
}

impl<T: Timer> Env<T> {
    /// A virtual-time environment counting in seconds.
    pub fn virtual_time(timer: T) -> Self {
        Env {
            timer,
            unit: Duration::from_secs(1),
            clock: Clock::Virtual,
        }
    }

    /// A real-time environment counting in `unit`s, with sleeps allowed to end late by `slack`.
    pub fn real_time(timer: T, unit: Duration, slack: Duration) -> Self {
        Env {
            timer,
            unit,
            clock: Clock::Real { slack },
        }
    }

    /// `n` units of scenario time.
    pub fn units(&self, n: u32) -> Duration {
        self.unit.saturating_mul(n)
    }

    /// Asserts that `expected` has passed since `start`: exactly on a virtual clock, within the
    /// slack on a real one.
    #[track_caller]
    pub fn assert_elapsed(&self, start: Instant, expected: Duration) {
        let elapsed = self.timer.now() - start;
        match self.clock {
            Clock::Virtual => assert_eq!(elapsed, expected, "elapsed time on a virtual clock"),
            Clock::Real { slack } => assert!(
                elapsed >= expected && elapsed <= expected + slack,
                "elapsed {elapsed:?}, expected {expected:?} (slack {slack:?})"
            ),
        }
    }
}

/// Sets its flag when dropped: proves that a future was dropped, and when.
#[derive(Debug)]
pub struct SetOnDrop<'a>(pub &'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Yields to the executor once.
pub fn yield_now() -> impl Future<Output = ()> {
    struct YieldNow(bool);
    impl Future for YieldNow {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    YieldNow(false)
}

/// Yields until `flag` is set, at most `max_yields` times; returns whether it was set.
pub async fn wait_for_flag(flag: &AtomicBool, max_yields: u32) -> bool {
    for _ in 0..max_yields {
        if flag.load(Ordering::SeqCst) {
            return true;
        }
        yield_now().await;
    }
    flag.load(Ordering::SeqCst)
}

/// Routes a scenario list to `#[test]` functions (`each_test`) or to a caller's macro.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_dispatch {
    (each_test ($run:path;) $module:ident; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $run(|env| $crate::$module::$name(env));
            }
        )*
    };
    ($callback:ident ($($args:tt)*) $($rest:tt)*) => {
        $callback!($($args)* $($rest)*);
    };
}

/// Expands every scenario written against an [`Env`] into `#[test]`s, one module per pattern,
/// each test calling `$run(|env| scenario(env))`: what a runtime's test file needs for its
/// timer. `$run` names a function in the invoking module.
#[macro_export]
macro_rules! timer_scenarios {
    ($run:ident) => {
        mod timer_contract {
            $crate::timer_contract!(super::$run);
        }
        mod timeout {
            $crate::timeout_scenarios!(super::$run);
        }
        mod bulkhead {
            $crate::bulkhead_scenarios!(super::$run);
        }
        mod breaker {
            $crate::breaker_scenarios!(super::$run);
        }
        mod limiter {
            $crate::limiter_scenarios!(super::$run);
        }
        mod chaos {
            $crate::chaos_scenarios!(super::$run);
        }
        mod pipeline {
            $crate::pipeline_scenarios!(super::$run);
        }
        mod observe {
            $crate::observe_scenarios!(super::$run);
        }
        mod concurrency {
            $crate::concurrency_scenarios!(super::$run);
            $crate::map_bounded_scenarios!(super::$run);
        }
        mod task_group {
            $crate::scoped_group_scenarios!(super::$run);
        }
        mod retry {
            $crate::retry_scenarios!(super::$run);
        }
        mod hedge {
            $crate::hedge_scenarios!(super::$run);
        }
        mod bracket {
            $crate::bracket_scenarios!(super::$run);
            $crate::bracket_panic_scenarios!(super::$run);
        }
        mod events {
            $crate::events_scenarios!(super::$run);
            $crate::fixed_events_scenarios!(super::$run);
            $crate::events_panic_scenarios!(super::$run);
        }
        mod pitfalls {
            $crate::pitfalls_scenarios!(super::$run);
        }
        mod pool_batch {
            $crate::pool_scenarios!(super::$run);
            $crate::batch_scenarios!(super::$run);
            $crate::batch_stream_scenarios!(super::$run);
        }
    };
}

/// Expands every scenario written against a [`Spawn`](steadfast::Spawn) into `#[test]`s, one
/// module per pattern, each test calling `$run(|spawner| scenario(spawner))`.
#[macro_export]
macro_rules! spawner_scenarios {
    ($run:ident) => {
        mod spawn_contract {
            $crate::spawn_contract!(super::$run);
        }
        mod task_group_spawned {
            $crate::task_group_scenarios!(super::$run);
        }
        mod bracket_spawned {
            $crate::bracket_spawn_scenarios!(super::$run);
        }
        mod pool_batch_spawned {
            $crate::worker_pool_scenarios!(super::$run);
            $crate::batcher_spawn_scenarios!(super::$run);
        }
    };
}
