//! Stay under a quota: a GCRA rate limiter with a burst, fair waiting, and a bounded wait that
//! is refused at once when it cannot be met.
//!
//! `cargo run -p steadfast-tokio --example limiter`. Paused clock: the waits pass at once.

use std::time::Duration;
use steadfast_tokio::TokioTimer;
use steadfast_tokio::limiter::{LimitError, RateLimiter};

/// The partner API allows 10 calls a second, 5 at once.
static PARTNER_API: RateLimiter = RateLimiter::builder(10, Duration::from_secs(1))
    .burst(5)
    .build_const();

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let timer = TokioTimer::new();
    let start = tokio::time::Instant::now();

    // The burst goes at once.
    for _ in 0..5 {
        PARTNER_API
            .try_acquire(timer.now(), 1)
            .expect("within the burst");
    }
    // Then one cell every 100 ms.
    let refused = PARTNER_API.try_acquire(timer.now(), 1).unwrap_err();
    println!("burst spent: {refused}");
    assert_eq!(refused.retry_after(), Some(Duration::from_millis(100)));

    // A caller that may wait 150 ms at most for 3 cells is told at once that it would take 300.
    let err = PARTNER_API
        .acquire_within(&timer, 3, Duration::from_millis(150))
        .await
        .unwrap_err();
    println!("bounded wait: {err}");
    assert_eq!(
        err,
        LimitError::RateLimited {
            retry_after: Duration::from_millis(300)
        }
    );

    // Ten callers wait their turn, first come first served, on one timer.
    let tasks: Vec<_> = (0..10)
        .map(|_| tokio::spawn(async move { PARTNER_API.acquire(&timer, 1).await }))
        .collect();
    for task in tasks {
        task.await.expect("no panic").expect("granted");
    }
    println!(
        "ten more calls granted after {:?} (virtual)",
        start.elapsed()
    );
    assert_eq!(start.elapsed(), Duration::from_secs(1));
}
