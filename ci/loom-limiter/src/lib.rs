//! Loom model of the rate limiter's state, `core/src/limiter/gcra.rs`, built with loom's
//! atomics and lock: the state word's compare-and-swap in `try_acquire` racing other tries,
//! the queue's entries and exits (the word `HELD` and back), the head's grant and a drain.
//! Concurrent grants never exceed the burst, a try never overtakes a queued caller, and the
//! counts end as they began, whatever the interleaving.
//!
//! Without `--cfg loom` this crate checks that the module builds on its own.
#![allow(dead_code)]

#[path = "../../../core/src/loom.rs"]
mod loom;
// The core's other patterns use the rest of the clock module.
#[allow(dead_code, unused_imports)]
#[path = "../../../core/src/time/mod.rs"]
mod time;

#[path = "../../../core/src/limiter/gcra.rs"]
mod gcra;

#[cfg(all(test, loom))]
#[path = "../../loom-model.rs"]
mod model;

#[cfg(all(test, loom))]
mod models {
    use super::gcra::{Entered, Gcra, Params, Refusal};
    use crate::model::model;
    use loom::sync::Arc;
    use loom::thread;

    fn gcra(burst: u32) -> Gcra {
        let t = 10;
        Gcra::new(Params {
            t,
            tau: t * (u64::from(burst) - 1),
            burst,
            recip: u64::MAX / t,
            max_waiters: 8,
        })
    }

    /// Three callers race for a burst of two cells at one instant: exactly two get one.
    #[test]
    fn racing_grants_never_exceed_the_burst() {
        model(|| {
            let g = Arc::new(gcra(2));
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let g = g.clone();
                    thread::spawn(move || g.try_acquire(0, 1).is_ok())
                })
                .collect();
            let mine = g.try_acquire(0, 1).is_ok();
            let granted = threads
                .into_iter()
                .map(|t| t.join().unwrap())
                .filter(|&b| b)
                .count()
                + usize::from(mine);
            assert_eq!(granted, 2);
            assert_eq!(g.state().snapshot(&g.params, 0), (0, 0, 0));
        });
    }

    /// A caller queues and leaves while another tries: the try is refused only while the
    /// queue is non-empty, and the counts end empty.
    #[test]
    fn a_queued_caller_blocks_tries_until_it_leaves() {
        model(|| {
            let g = Arc::new(gcra(1));
            assert_eq!(g.try_acquire(0, 1), Ok(()));
            let q = g.clone();
            let waiter = thread::spawn(move || {
                assert_eq!(q.enter(0, 1, u64::MAX), Ok(Entered::Queued));
                q.leave(1);
            });
            let tried = g.try_acquire(10, 1);
            waiter.join().unwrap();
            match tried {
                Ok(()) => assert_eq!(g.try_acquire(10, 1), Err(Refusal::Wait(10))),
                Err(Refusal::Wait(_)) => assert_eq!(g.try_acquire(10, 1), Ok(())),
                Err(other) => panic!("{other:?}"),
            }
            assert_eq!(g.state().snapshot(&g.params, 10).1, 0);
        });
    }

    /// A queued caller becomes the head and takes its cell while a try races it: the try is
    /// refused unless the head was granted first (and the bucket had a cell more), and never
    /// both take the last cell.
    #[test]
    fn a_try_never_overtakes_the_head() {
        model(|| {
            let g = Arc::new(gcra(2));
            assert_eq!(g.try_acquire(0, 2), Ok(()));
            assert_eq!(g.enter(0, 1, u64::MAX), Ok(Entered::Queued));
            let head = g.clone();
            let granted = thread::spawn(move || head.take_as_head(10, 1));
            let tried = g.try_acquire(10, 1);
            assert_eq!(granted.join().unwrap(), Ok(()));
            // One cell came at 10: the head's. The try gets none.
            assert!(matches!(tried, Err(Refusal::Wait(_))), "{tried:?}");
            assert_eq!(g.state().snapshot(&g.params, 10), (0, 0, 0));
            assert_eq!(g.try_acquire(20, 1), Ok(()));
        });
    }

    /// A drain races a try on the state word: the try is granted only if it came first, and
    /// the bucket ends empty, its next cell one interval away, either way.
    #[test]
    fn a_drain_and_a_try_agree() {
        model(|| {
            let g = Arc::new(gcra(2));
            let d = g.clone();
            let drained = thread::spawn(move || d.drain(0));
            let tried = g.try_acquire(0, 1);
            drained.join().unwrap();
            assert!(matches!(tried, Ok(()) | Err(Refusal::Wait(_))), "{tried:?}");
            assert_eq!(g.state().snapshot(&g.params, 0), (0, 0, 0));
            // The next cell comes one interval after the drain, whoever won.
            assert_eq!(g.try_acquire(0, 1), Err(Refusal::Wait(10)));
        });
    }
}
