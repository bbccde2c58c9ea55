//! Batch writes: rows go in one at a time, and out in batches of 100, or 50 ms after a batch's
//! first row, whichever comes first; closing flushes the rest.
//!
//! `cargo run -p steadfast-tokio --example batch`. Paused clock: the intervals pass at once.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use steadfast_tokio::batch::Batcher;
use steadfast_tokio::{TokioSpawner, TokioTimer};

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let written = Arc::new(Mutex::new(Vec::new()));
    let sink = written.clone();
    let (batcher, task) = Batcher::builder(TokioTimer::new())
        .batch_size(100)
        .flush_interval(Duration::from_millis(50))
        .capacity(1_000)
        .spawn(
            &TokioSpawner::current(),
            move |rows: Vec<u32>| {
                let sink = sink.clone();
                async move {
                    // One round trip for the whole batch.
                    sink.lock().unwrap().push(rows.len());
                    Ok::<(), std::io::Error>(())
                }
            },
            |err| eprintln!("a batch was not written: {err}"),
        )
        .expect("valid settings");

    for row in 0..250 {
        batcher.submit(row).await.expect("open");
    }
    // A straggler arrives later; its batch goes out 50 ms after it, not at 100 rows.
    tokio::time::sleep(Duration::from_millis(200)).await;
    batcher.submit(999).await.expect("open");
    tokio::time::sleep(Duration::from_millis(60)).await;

    batcher.close(); // flushes what is held
    task.await.expect("the flush task ended cleanly");
    let sizes = written.lock().unwrap().clone();
    println!("batches written: {sizes:?}");
    assert_eq!(sizes, [100, 100, 50, 1]);
}
