//! Retry a flaky call with exponential backoff and full jitter, only on transient errors, with
//! a retry budget shared by every caller so that an outage does not turn into a retry storm.
//!
//! `cargo run -p steadfast-tokio --example retry`. Paused clock: the backoff passes at once.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use steadfast_tokio::TokioTimer;
use steadfast_tokio::retry::{GiveUpReason, Jitter, MakeAttempt, RetryBudget, RetryPolicy};

#[derive(Debug, PartialEq)]
enum ApiError {
    /// 503: worth another try.
    Unavailable,
    /// 404: retrying cannot help.
    NotFound,
}

/// Attempt 1 and up to four retries, 100 ms · 2ⁿ⁻¹ apart at most (jitter draws within that),
/// never more than 2 s between two attempts nor 10 s in all, each attempt bounded to 1 s.
static POLICY: RetryPolicy = RetryPolicy::builder()
    .max_attempts(5)
    .exponential(Duration::from_millis(100), 2.0)
    .max_delay(Duration::from_secs(2))
    .jitter(Jitter::Full)
    .max_elapsed(Duration::from_secs(10))
    .attempt_timeout(Duration::from_secs(1))
    .build_const();

/// Retries of every caller together: at most 10 plus 20 % of recent calls.
static BUDGET: RetryBudget = RetryBudget::new();

static CALLS: AtomicU32 = AtomicU32::new(0);

/// Fails twice with a 503, then answers.
async fn get_price(item: &str) -> Result<u32, ApiError> {
    match CALLS.fetch_add(1, Ordering::Relaxed) {
        0 | 1 => Err(ApiError::Unavailable),
        _ if item == "unknown" => Err(ApiError::NotFound),
        _ => Ok(42),
    }
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let timer = TokioTimer::new();
    let start = tokio::time::Instant::now();

    let price = (|| get_price("apple"))
        .retry(&POLICY, &timer)
        .when(|e| *e == ApiError::Unavailable)
        .budget(&BUDGET)
        .notify(|n| {
            println!(
                "attempt {} failed ({:?}); next in {:?}",
                n.attempt(),
                n.error(),
                n.delay()
            )
        })
        .await;
    println!("price: {price:?} after {:?} (virtual)", start.elapsed());
    assert_eq!(price, Ok(42));

    // A permanent error ends the call at once: no retry, the error handed back.
    let err = (|| get_price("unknown"))
        .retry(&POLICY, &timer)
        .when(|e| *e == ApiError::Unavailable)
        .budget(&BUDGET)
        .await
        .unwrap_err();
    println!("unknown item: {err} (last error: {:?})", err.error());
    assert_eq!((err.reason(), err.attempts()), (GiveUpReason::Permanent, 1));
}
