//! Slow-poll detector scenarios: a blocking poll is caught, a well-behaved future is not.
//!
//! A blocking poll is simulated, on every runtime, with a clock that a future moves forward
//! from inside its own `poll` ([`BlockingClock`]): exactly what a `poll` that blocks for that
//! long looks like to the detector, with no real sleep. None of this needs std or a heap.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use portable_atomic::{AtomicU32, Ordering};

use steadfast::pitfalls::{SlowPoll, SlowPollExt};
use steadfast::{Instant, Timer};

use crate::{Clock, Env, yield_now};

/// The runtime's clock, plus time "spent blocking" added by [`BlockingClock::block`].
#[derive(Debug)]
pub struct BlockingClock<'a, T> {
    inner: &'a T,
    unit: Duration,
    blocked_units: &'a AtomicU32,
}

impl<T> Clone for BlockingClock<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for BlockingClock<'_, T> {}

impl<T: Timer> BlockingClock<'_, T> {
    /// Moves this clock `units` units forward, as a blocking call that long would.
    pub fn block(&self, units: u32) {
        let now = self.blocked_units.load(Ordering::SeqCst);
        self.blocked_units.store(now + units, Ordering::SeqCst);
    }
}

impl<T: Timer> BlockingClock<'_, T> {
    fn blocked(&self) -> Duration {
        self.unit
            .saturating_mul(self.blocked_units.load(Ordering::SeqCst))
    }
}

impl<T: Timer> Timer for BlockingClock<'_, T> {
    type Sleep = T::Sleep;

    fn now(&self) -> Instant {
        self.inner.now().saturating_add(self.blocked())
    }

    /// Sleeps on the runtime's clock until `deadline` on this one.
    fn sleep_until(&self, deadline: Instant) -> T::Sleep {
        let shift = u64::try_from(self.blocked().as_nanos()).unwrap_or(u64::MAX);
        self.inner.sleep_until(Instant::from_nanos(
            deadline.as_nanos().saturating_sub(shift),
        ))
    }
}

/// A future that blocks `units` units on its first poll, then yields once and finishes.
struct BlocksOnce<'a, T> {
    clock: BlockingClock<'a, T>,
    units: u32,
    polls: u32,
}

impl<T: Timer> Future for BlocksOnce<'_, T> {
    type Output = u32;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.polls += 1;
        if self.polls == 1 {
            self.clock.block(self.units);
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(self.polls)
    }
}

/// A poll that blocks for 5 units, against a threshold of 1 unit, is reported once, with how
/// long it took; the quick poll after it is not.
pub async fn slow_poll_is_reported<T: Timer>(env: Env<T>) {
    let blocked_units = AtomicU32::new(0);
    let clock = BlockingClock {
        inner: &env.timer,
        unit: env.unit,
        blocked_units: &blocked_units,
    };
    let mut reports = 0u32;
    let mut seen: Option<SlowPoll> = None;
    let blocking = BlocksOnce {
        clock,
        units: 5,
        polls: 0,
    };
    let out = blocking
        .detect_slow_polls(&clock, env.units(1), |r| {
            reports += 1;
            seen = Some(r);
        })
        .await;
    assert_eq!(out, 2, "the output passes through");
    assert_eq!(reports, 1);
    let r = seen.expect("reported");
    assert_eq!((r.poll, r.ready, r.threshold), (1, false, env.units(1)));
    match env.clock {
        Clock::Virtual => assert_eq!(r.elapsed, env.units(5)),
        // On a real clock the poll also took its own (tiny) real time.
        Clock::Real { slack } => assert!(
            r.elapsed >= env.units(5) && r.elapsed <= env.units(5) + slack,
            "{r:?}"
        ),
    }
}

/// A future that waits by sleeping and yielding, never by blocking, is never reported, however
/// long it runs: on a virtual clock not even with a threshold of zero.
pub async fn well_behaved_future_is_quiet<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let start = t.now();
    let mut reports = 0u32;
    let nice = async {
        for _ in 0..3 {
            t.sleep(env.units(2)).await;
            yield_now().await;
        }
        "done"
    };
    // A real clock also counts the executor's hiccups: allow a loaded machine its slack.
    let threshold = match env.clock {
        Clock::Virtual => Duration::ZERO,
        Clock::Real { slack } => slack,
    };
    let out = nice.detect_slow_polls(t, threshold, |_| reports += 1).await;
    assert_eq!(out, "done");
    assert_eq!(reports, 0);
    env.assert_elapsed(start, env.units(6));
}

/// Expands to one `#[test]` per slow-poll scenario, each calling `$run(|env| scenario(env))`;
/// `list name!(args)` instead passes the names to a macro.
#[macro_export]
macro_rules! pitfalls_scenarios {
    (list $callback:ident ! ($($args:tt)*)) => {
        $crate::pitfalls_scenarios!(@names $callback ($($args)*));
    };
    ($run:path) => {
        $crate::pitfalls_scenarios!(@names each_test ($run;));
    };
    (@names $callback:ident ($($args:tt)*)) => {
        $crate::__conformance_dispatch!($callback ($($args)*) pitfalls;
            slow_poll_is_reported,
            well_behaved_future_is_quiet,
        );
    };
}
