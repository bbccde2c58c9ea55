//! Scenarios for `join_settled` and, with the `alloc` feature, `map_bounded`.

use core::pin::pin;
use core::time::Duration;

use steadfast::Timer;
use steadfast::concurrency::join_settled;

use crate::Env;

/// Sleeps for `d`, then succeeds with `n` when `ok`, fails with `n` otherwise.
async fn settle<T: Timer>(t: &T, d: Duration, n: u32, ok: bool) -> Result<u32, u32> {
    t.sleep(d).await;
    if ok { Ok(n) } else { Err(n) }
}

/// An early failure cancels nothing: every outcome comes back, in order, once the slowest is
/// done.
pub async fn join_settled_keeps_every_outcome<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let start = t.now();
    let a = pin!(settle(t, env.units(1), 1, false));
    let b = pin!(settle(t, env.units(3), 2, true));
    let c = pin!(settle(t, env.units(2), 3, false));
    let out = join_settled([a, b, c]).await;
    assert_eq!(out, [Err(1), Ok(2), Err(3)]);
    env.assert_elapsed(start, env.units(3));
}

#[cfg(feature = "alloc")]
mod with_alloc {
    use portable_atomic::{AtomicUsize, Ordering};

    use futures_util::StreamExt;
    use steadfast::Timer;
    use steadfast::concurrency::map_bounded;

    use crate::Env;

    /// Items with their durations in units: `(index, units)`.
    const ITEMS: [(usize, u32); 6] = [(0, 4), (1, 1), (2, 1), (3, 1), (4, 3), (5, 1)];

    pub(super) async fn map<T: Timer>(env: &Env<T>, ordered: bool) -> [usize; 6] {
        let t = &env.timer;
        let limit = 2;
        let (running, peak, made, yielded) = (
            AtomicUsize::new(0),
            AtomicUsize::new(0),
            AtomicUsize::new(0),
            AtomicUsize::new(0),
        );
        let f = |(i, units): (usize, u32)| {
            let made_now = made.fetch_add(1, Ordering::SeqCst) + 1;
            assert!(
                made_now <= yielded.load(Ordering::SeqCst) + 2,
                "a future was made before a slot was free"
            );
            let d = env.units(units);
            let (running, peak) = (&running, &peak);
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                t.sleep(d).await;
                running.fetch_sub(1, Ordering::SeqCst);
                i
            }
        };
        let stream = map_bounded(ITEMS, limit, f).expect("a limit of 2 is valid");
        let stream = if ordered { stream } else { stream.unordered() };
        let mut stream = core::pin::pin!(stream);
        let mut out = [usize::MAX; 6];
        let mut n = 0;
        while let Some(i) = stream.next().await {
            yielded.fetch_add(1, Ordering::SeqCst);
            out[n] = i;
            n += 1;
        }
        assert_eq!(n, 6);
        assert_eq!(peak.load(Ordering::SeqCst), 2, "at most `limit` at once");
        out
    }
}

/// `map_bounded` yields in input order, runs at most `limit` futures and makes each only
/// when a slot is free.
#[cfg(feature = "alloc")]
pub async fn map_bounded_in_order<T: Timer>(env: Env<T>) {
    let start = env.timer.now();
    assert_eq!(with_alloc::map(&env, true).await, [0, 1, 2, 3, 4, 5]);
    // 0 holds its slot until 4; 2 and 3 run 4..5; 4 runs 5..8.
    env.assert_elapsed(start, env.units(8));
}

/// `map_bounded_unordered` yields as futures complete, with at most `limit` running.
#[cfg(feature = "alloc")]
pub async fn map_bounded_as_completed<T: Timer>(env: Env<T>) {
    let start = env.timer.now();
    let mut out = with_alloc::map(&env, false).await;
    if env.clock == crate::Clock::Virtual {
        assert_eq!(out, [1, 2, 3, 0, 5, 4]);
    } else {
        // A late clock may wake two futures due 1 unit apart in one go.
        out.sort_unstable();
        assert_eq!(out, [0, 1, 2, 3, 4, 5]);
    }
    env.assert_elapsed(start, env.units(6));
}

/// Expands to one `#[test]` per `join_settled` scenario (no heap), each calling
/// `$run(|env| scenario(env))`; `list callback!(args)` calls
/// `callback!(args concurrency; name, ...)` instead.
#[macro_export]
macro_rules! concurrency_scenarios {
    (list $callback:ident ! ($($args:tt)*)) => {
        $crate::concurrency_scenarios!(@names $callback ($($args)*));
    };
    ($run:path) => {
        $crate::concurrency_scenarios!(@names each_test ($run;));
    };
    (@names $callback:ident ($($args:tt)*)) => {
        $crate::__conformance_dispatch!($callback ($($args)*) concurrency;
            join_settled_keeps_every_outcome,
        );
    };
}

/// Expands to one `#[test]` per `map_bounded` scenario, each calling
/// `$run(|env| scenario(env))`. Needs this crate's `alloc` feature (on by default).
#[cfg(feature = "alloc")]
#[macro_export]
macro_rules! map_bounded_scenarios {
    ($run:path) => {
        $crate::__conformance_dispatch!(each_test ($run;) concurrency;
            map_bounded_in_order,
            map_bounded_as_completed,
        );
    };
}
