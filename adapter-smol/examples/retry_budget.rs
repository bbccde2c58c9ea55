//! Many callers retry against a service that goes down: a shared retry budget caps their
//! retries to a fifth of their calls (plus a floor), so the outage is not multiplied by the
//! retries. Runs in virtual time on smol: minutes of backoff in a few milliseconds.
//!
//! `cargo run -p steadfast-smol --example retry_budget`.

use std::cell::Cell;
use std::time::Duration;
use steadfast_smol::retry::{GiveUpReason, Jitter, MakeAttempt, RetryBudget, RetryPolicy};
use steadfast_smol::{Timer, VirtualTimer};

#[derive(Debug)]
struct Unavailable;

fn main() {
    let policy = RetryPolicy::builder()
        .max_attempts(4)
        .exponential(Duration::from_millis(200), 2.0)
        .jitter(Jitter::Full)
        .seed(7) // reproducible draws on the virtual clock
        .build()
        .expect("a valid policy");
    let budget = RetryBudget::builder()
        .percent(20)
        .min_retries(10)
        .build()
        .expect("a valid budget");
    let timer = VirtualTimer::new();
    let attempts = Cell::new(0u32);

    // The service is down: every attempt fails.
    let call = || {
        attempts.set(attempts.get() + 1);
        async { Err::<(), _>(Unavailable) }
    };

    let outcomes = smol::block_on(timer.auto_advance(async {
        let mut outcomes = Vec::new();
        for _ in 0..100 {
            outcomes.push(
                call.retry(&policy, &timer)
                    .budget(&budget)
                    .await
                    .unwrap_err()
                    .reason(),
            );
        }
        outcomes
    }));
    let stopped = outcomes
        .iter()
        .filter(|r| **r == GiveUpReason::Budget)
        .count();
    println!(
        "100 calls made {} attempts in all (without a budget: 400)",
        attempts.get()
    );
    println!("{stopped} calls gave up early because the budget was spent");
    println!(
        "virtual time passed: {:?}",
        Duration::from_nanos(timer.now().as_nanos())
    );
    assert!(attempts.get() < 200, "the budget held the retries down");
}
