//! Cap the calls in flight to a dependency, and decide what happens to the rest.
//!
//! `cargo run -p steadfast-tokio --example bulkhead`. Paused clock: the waits pass at once.

use std::time::Duration;
use steadfast_tokio::TokioTimer;
use steadfast_tokio::bulkhead::{Bulkhead, Rejected};

/// A call to the slow dependency the bulkhead protects.
async fn report(id: u32) -> Result<u32, std::io::Error> {
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(id)
}

/// Four reports at once; up to four more callers wait, each at most one second. A `static`:
/// every request handler shares it, and a bad setting would be a compile error.
static REPORTS: Bulkhead = Bulkhead::builder(4).max_waiting(4).build_const();

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let timer = TokioTimer::new();
    // Ten requests arrive at once, each in a task of its own.
    let tasks: Vec<_> = (0..10)
        .map(|id| {
            tokio::spawn(async move {
                REPORTS
                    .call_within(&timer, Duration::from_secs(1), report(id))
                    .await
            })
        })
        .collect();

    let mut served = 0;
    let (mut waited_too_long, mut queue_full) = (0, 0);
    for task in tasks {
        match task.await.expect("no panic").map_err(|e| e.rejected()) {
            Ok(_) => served += 1,
            Err(Some(Rejected::WaitedTooLong)) => waited_too_long += 1,
            Err(Some(Rejected::QueueFull)) => queue_full += 1,
            Err(other) => panic!("unexpected: {other:?}"),
        }
    }
    println!(
        "served {served}, waited too long {waited_too_long}, turned away at once {queue_full}"
    );
    assert_eq!((served, waited_too_long, queue_full), (4, 4, 2));

    let m = REPORTS.metrics();
    println!("metrics: {m:?}");
    assert_eq!(m.high_water, 4);
}
