//! Bound calls in time: a deadline per call, with a message saying what was waited for.
//!
//! `cargo run -p steadfast-tokio --example timeout`. The clock is paused (tokio's
//! `start_paused`), so the 5-second waits pass at once; drop `start_paused` in a real program.

use std::time::Duration;
use steadfast_tokio::TokioTimer;
use steadfast_tokio::timeout::{TimeoutExt, timeout_at};

/// A lookup whose latency we do not control.
async fn lookup(latency: Duration) -> &'static str {
    tokio::time::sleep(latency).await;
    "catalogue"
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let timer = TokioTimer::new();
    let limit = Duration::from_secs(5);

    // Fast enough: the value comes through.
    let fast = lookup(Duration::from_millis(80))
        .timeout(&timer, limit)
        .await;
    println!("fast lookup: {fast:?}");
    assert_eq!(fast, Ok("catalogue"));

    // Too slow: the lookup is dropped at the deadline and the error says what was waited for.
    let slow = lookup(Duration::from_secs(60))
        .timeout(&timer, limit)
        .context("reading the catalogue")
        .await;
    let err = slow.unwrap_err();
    println!("slow lookup: {err}");
    assert_eq!(err.to_string(), "reading the catalogue: timed out after 5s");

    // One deadline shared by several steps: each step gets what is left of it.
    let deadline = timer.now() + Duration::from_secs(1);
    let first = timeout_at(&timer, deadline, lookup(Duration::from_millis(700))).await;
    let second = timeout_at(&timer, deadline, lookup(Duration::from_millis(700))).await;
    println!(
        "two steps under one 1 s deadline: {first:?}, then {}",
        second.unwrap_err()
    );
    assert!(first.is_ok());
}
