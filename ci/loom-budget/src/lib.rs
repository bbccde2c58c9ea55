//! Loom models of `steadfast::retry::RetryBudget`, built from its source file with loom's
//! atomics.
//!
//! The budget keeps the latest window it has seen (the low 32 bits of its number, and its era
//! for gaps too long for those bits) and the calls and retries of that window and the one
//! before. Every use first rolls the budget to the window of its instant: a compare-and-swap
//! of the window, then the clearing of the counts that are no longer recent. These models race
//! those rolls against each other and against counting, and check what the budget promises:
//! the window ends at the latest one used, no window's counts outlive the window after it, and
//! retries never pass the allowance.
//!
//! Without `--cfg loom` this crate checks that the module builds on its own.

// The modules the budget needs, from the same files as the core and at the same paths.
#[path = "../../../core/src/error.rs"]
mod error;
#[path = "../../../core/src/loom.rs"]
mod loom;
// The core's other patterns use the rest of the clock module.
#[allow(dead_code)]
#[path = "../../../core/src/time/mod.rs"]
mod time;

#[path = "../../../core/src/retry/budget.rs"]
pub mod budget;

pub use error::ConfigError;
pub use time::{Instant, Timer};

#[cfg(all(test, loom))]
#[path = "../../loom-model.rs"]
mod model;

#[cfg(all(test, loom))]
mod models {
    use super::Instant;
    use super::budget::RetryBudget;
    use crate::model::model;
    use core::time::Duration;
    use loom::sync::Arc;
    use loom::thread;

    const MS: u64 = 1_000_000;

    /// The instant at the start of window `n` of 1 ms.
    fn window(n: u64) -> Instant {
        Instant::from_nanos(n * MS)
    }

    /// A budget of windows of 1 ms, no share of calls, and a floor of `floor` retries.
    fn budget(floor: u32) -> Arc<RetryBudget> {
        Arc::new(
            RetryBudget::builder()
                .percent(0)
                .min_retries(floor)
                .window(Duration::from_millis(1))
                .build()
                .unwrap(),
        )
    }

    /// Two callers roll an exhausted budget to the same new window at once, each asking for a
    /// retry. At least one gets it (the other may still read the old window's counts before
    /// the roller cleared them, or have its retry cleared: a budget is a statistical limit),
    /// and afterwards no more than the floor is counted.
    #[test]
    fn two_callers_roll_to_the_same_window() {
        model(|| {
            let budget = budget(2);
            assert!(budget.try_withdraw(window(0)));
            assert!(budget.try_withdraw(window(0)));
            assert!(!budget.try_withdraw(window(0)));
            let other = {
                let budget = budget.clone();
                thread::spawn(move || budget.try_withdraw(window(2)))
            };
            let mine = budget.try_withdraw(window(2));
            let theirs = other.join().unwrap();
            assert!(mine || theirs);
            let (_, retries) = budget.recent_counts(window(2));
            assert!((1..=2).contains(&retries), "{retries} retries counted");
            assert_eq!(budget.available(window(2)), 2 - retries);
            assert_eq!(budget.recent_counts(window(4)), (0, 0));
        });
    }

    /// A caller that read the clock before another rolled the budget on (a stale instant)
    /// races that roll: it is counted in the window just before or in the current one, and
    /// never moves the budget back: afterwards the budget is at the later window, whose own
    /// counts were not cleared by the stale caller (its own retry may be, when it lands in
    /// the new window before the roller cleared it).
    #[test]
    fn a_stale_caller_races_a_roll() {
        model(|| {
            let budget = budget(4);
            budget.deposit(window(10));
            let stale = {
                let budget = budget.clone();
                thread::spawn(move || budget.try_withdraw(window(10)))
            };
            assert!(budget.try_withdraw(window(11)));
            assert!(stale.join().unwrap());
            let (calls, retries) = budget.recent_counts(window(11));
            // Window 10 is still recent at 11: its call was not lost.
            assert_eq!(calls, 1);
            assert!((1..=2).contains(&retries), "{retries} retries at window 11");
            // At window 12, window 10 is forgotten and window 11's retry is all that is left,
            // or nothing when the stale caller's retry landed in window 11 too (then 2).
            let (_, retries) = budget.recent_counts(window(12));
            assert!((1..=2).contains(&retries), "{retries} retries at window 12");
        });
    }

    /// After a gap too long for the window's 32 bits (2³² windows and more), callers racing
    /// to use the budget again find its floor restored, and the budget rolls on from there.
    #[test]
    fn callers_after_a_long_gap_find_the_floor() {
        model(|| {
            let budget = budget(2);
            assert!(budget.try_withdraw(window(3)));
            assert!(budget.try_withdraw(window(3)));
            assert!(!budget.try_withdraw(window(3)));
            let far = (1 << 32) + 3;
            let other = {
                let budget = budget.clone();
                thread::spawn(move || budget.try_withdraw(window(far)))
            };
            let mine = budget.try_withdraw(window(far));
            let theirs = other.join().unwrap();
            assert!(mine || theirs);
            assert!(budget.available(window(far)) <= 1);
            assert_eq!(budget.recent_counts(window(far + 2)), (0, 0));
            assert_eq!(budget.available(window(far + 2)), 2);
        });
    }

    /// Callers counting in one window (away from its boundary) never take more retries than
    /// the allowance, however their compare-and-swaps interleave with a call being counted.
    #[test]
    fn racing_withdrawals_never_pass_the_allowance() {
        model(|| {
            let budget = budget(2);
            budget.deposit(window(5));
            let others: Vec<_> = (0..2)
                .map(|_| {
                    let budget = budget.clone();
                    thread::spawn(move || {
                        budget.deposit(window(5));
                        budget.try_withdraw(window(5))
                    })
                })
                .collect();
            let mine = budget.try_withdraw(window(5));
            let granted = others
                .into_iter()
                .map(|t| usize::from(t.join().unwrap()))
                .sum::<usize>()
                + usize::from(mine);
            assert_eq!(granted, 2);
            assert_eq!(budget.recent_counts(window(5)), (3, 2));
        });
    }
}
