//! A worker pool: a bounded queue in front of N workers, backpressure for producers, every
//! item's outcome, and a shutdown that hands back the items no worker started.
//!
//! `cargo run -p steadfast-tokio --example pool`. Paused clock: the work passes at once.

use std::time::Duration;
use steadfast_tokio::TokioSpawner;
use steadfast_tokio::pool::WorkerPool;

async fn send_email(to: u32) -> String {
    tokio::time::sleep(Duration::from_millis(250)).await;
    if to == 3 {
        panic!("no address for user 3");
    }
    format!("sent to user {to}")
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    // Rust's panic hook would print the panic below as if it ended the program; it does not.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("(a worker's item panicked: {info})")
    }));
    let spawner = TokioSpawner::current();
    // Four workers; at most 16 emails queued, so producers slow down instead of piling up.
    let pool = WorkerPool::builder()
        .workers(4)
        .capacity(16)
        .spawn(&spawner, send_email)
        .expect("valid settings");

    let mut receipts = Vec::new();
    for user in 0..8 {
        receipts.push(pool.submit(user).await.expect("the pool is open"));
    }
    for receipt in receipts {
        // A panic in one item is that item's outcome; the pool goes on.
        match receipt.await {
            Ok(text) => println!("{text}"),
            Err(e) => println!(
                "failed: {e} ({})",
                e.panic_message().unwrap_or("no message")
            ),
        }
    }

    // Shutting down: what no worker started comes back, to persist or re-queue elsewhere.
    for user in 100..120 {
        if pool.try_submit(user).is_err() {
            break; // full
        }
    }
    tokio::task::yield_now().await; // the workers take their next items
    let undone = pool.shutdown();
    println!(
        "shutdown handed back {} emails: {:?}..",
        undone.len(),
        &undone[..3]
    );
    assert!(!undone.is_empty());
    pool.wait_idle().await;
}
