//! Find code that blocks the executor: every poll of the wrapped future that takes longer than
//! a threshold is reported. This one runs on the real clock (blocking cannot be virtual): it
//! takes about 20 ms.
//!
//! `cargo run -p steadfast-tokio --example slow_poll`.

use std::time::Duration;
use steadfast_tokio::TokioTimer;
use steadfast_tokio::pitfalls::SlowPollExt;

async fn handler() -> u32 {
    tokio::task::yield_now().await;
    // A mistake: a blocking call inside async code stalls every task of this thread.
    std::thread::sleep(Duration::from_millis(20));
    7
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let timer = TokioTimer::new();
    let mut reports = Vec::new();
    let out = handler()
        .detect_slow_polls(&timer, Duration::from_millis(5), |r| reports.push(r))
        .await;
    for r in &reports {
        println!("poll {} of the handler took {:?}", r.poll, r.elapsed);
    }
    assert_eq!(out, 7);
    assert_eq!(reports.len(), 1);
}
