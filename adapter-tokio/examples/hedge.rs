//! Hedged reads against replicas with a slow tail: when the first attempt has not answered
//! after 50 ms, a second starts beside it, and the first success wins (the loser is dropped).
//! A shared budget keeps hedges to a fraction of the calls.
//!
//! `cargo run -p steadfast-tokio --example hedge`. Paused clock: the waits pass at once.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use steadfast_tokio::TokioTimer;
use steadfast_tokio::hedge::HedgePolicy;
use steadfast_tokio::retry::RetryBudget;

/// At most two attempts at once; the hedge starts 50 ms after the first.
static READS: HedgePolicy = HedgePolicy::builder()
    .max_attempts(2)
    .delay(Duration::from_millis(50))
    .build_const();
/// Hedges of every caller together: at most 10 plus 20 % of recent calls.
static BUDGET: RetryBudget = RetryBudget::new();

static STARTED: AtomicU32 = AtomicU32::new(0);

/// One replica read; one read in four hits a replica that takes two seconds.
async fn read_row(key: u32) -> Result<String, std::io::Error> {
    let n = STARTED.fetch_add(1, Ordering::Relaxed);
    let latency = if n % 4 == 0 {
        Duration::from_secs(2)
    } else {
        Duration::from_millis(10)
    };
    tokio::time::sleep(latency).await;
    Ok(format!("row {key}"))
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let timer = TokioTimer::new();
    let mut slowest = Duration::ZERO;
    for key in 0..20 {
        let start = tokio::time::Instant::now();
        let row = READS
            .run(&timer, || read_row(key))
            .budget(&BUDGET)
            .await
            .expect("a replica answered");
        slowest = slowest.max(start.elapsed());
        assert_eq!(row, format!("row {key}"));
    }
    let attempts = STARTED.load(Ordering::Relaxed);
    println!("20 reads, {attempts} attempts started, the slowest read took {slowest:?}");
    println!("(without hedging, one read in four would take 2 s)");
    assert!(slowest < Duration::from_millis(100));
}
