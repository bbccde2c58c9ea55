//! One pipeline around a flaky dependency: a total timeout, retries with a budget, a circuit
//! breaker, a bulkhead and a per-attempt timeout, in the crate's checked order, with one error
//! type and a fallback value.
//!
//! `cargo run -p steadfast-tokio --example pipeline`. Paused clock: the waits pass at once.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use steadfast_tokio::TokioTimer;
use steadfast_tokio::breaker::CircuitBreaker;
use steadfast_tokio::bulkhead::Bulkhead;
use steadfast_tokio::pipeline::{Pipeline, PipelineError};
use steadfast_tokio::retry::{Jitter, RetryBudget, RetryPolicy};

#[derive(Debug, PartialEq)]
struct Status(u16);

static BUDGET: RetryBudget = RetryBudget::new();
static SLOTS: Bulkhead = Bulkhead::new(8);
static BREAKER: CircuitBreaker = CircuitBreaker::builder()
    .consecutive_failures(4)
    .open_for(Duration::from_secs(30))
    .build_const();
static INVENTORY: Pipeline<'static> = Pipeline::builder()
    .total_timeout(Duration::from_secs(3))
    .retry(
        RetryPolicy::builder()
            .max_attempts(3)
            .exponential(Duration::from_millis(100), 2.0)
            .jitter(Jitter::Full)
            .seed(1)
            .build_const(),
    )
    .budget(&BUDGET)
    .breaker(&BREAKER)
    .bulkhead(&SLOTS)
    .attempt_timeout(Duration::from_millis(500))
    .build_const();

static CALLS: AtomicU32 = AtomicU32::new(0);

/// Slow once, a 503 once, then answers; item 0 is always down.
async fn stock(item: u32) -> Result<u32, Status> {
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    if item == 0 {
        return Err(Status(503));
    }
    match n {
        0 => {
            tokio::time::sleep(Duration::from_secs(10)).await; // cut by the attempt timeout
            Ok(0)
        }
        1 => Err(Status(503)),
        _ => Ok(item * 7),
    }
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let timer = TokioTimer::new();

    // A timeout, then a 503, then the answer: all within the one call.
    let start = tokio::time::Instant::now();
    let count = INVENTORY
        .call(&timer, || stock(6))
        .retry_when(|s| s.0 >= 500)
        .await;
    println!(
        "stock of item 6: {count:?} after {:?} and 3 attempts",
        start.elapsed()
    );
    assert_eq!(count, Ok(42));

    // Item 0 is down: its calls trip the breaker, and then are refused without calling it.
    for round in 1..=3 {
        let err = INVENTORY
            .call(&timer, || stock(0))
            .retry_when(|s| s.0 >= 500)
            .await
            .unwrap_err();
        println!("item 0, call {round}: {err}");
    }
    let refused = INVENTORY.call(&timer, || stock(0)).await.unwrap_err();
    assert!(matches!(refused, PipelineError::CircuitOpen(_)));

    // A fallback value where a stale answer beats none.
    let shown = INVENTORY
        .call(&timer, || stock(0))
        .fallback_value(|e| matches!(e, PipelineError::CircuitOpen(_)), 0)
        .await;
    println!("item 0 with a fallback: {shown:?}");
    assert_eq!(shown, Ok(0));
}
