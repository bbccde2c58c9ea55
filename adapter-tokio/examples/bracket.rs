//! Acquire, use, release exactly once: after success, error, panic or cancellation. A use cut
//! off by a timeout has its release run in a task of its own.
//!
//! `cargo run -p steadfast-tokio --example bracket`. Paused clock: the timeout passes at once.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use steadfast_tokio::bracket::bracket;
use steadfast_tokio::timeout::TimeoutExt;
use steadfast_tokio::{TokioSpawner, TokioTimer};

static OPEN: AtomicU32 = AtomicU32::new(0);

struct Lease {
    id: u32,
}

async fn take_lease(id: u32) -> Result<Lease, std::io::Error> {
    OPEN.fetch_add(1, Ordering::SeqCst);
    Ok(Lease { id })
}

async fn give_back(lease: Lease) -> Result<(), std::io::Error> {
    println!("  lease {} given back", lease.id);
    OPEN.fetch_sub(1, Ordering::SeqCst);
    Ok(())
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<(), std::io::Error> {
    let (timer, spawner) = (TokioTimer::new(), TokioSpawner::current());

    // The use returns: the release is awaited in place, its result beside the value.
    let out = bracket(
        take_lease(1),
        async |l: &mut Lease| l.id * 2,
        give_back,
        spawner.clone(),
    )
    .await?;
    println!("used lease 1: {}", out.into_result()?);

    // The use is cancelled by a timeout: the release is handed to the spawner.
    let stuck = async |_l: &mut Lease| tokio::time::sleep(Duration::from_secs(60)).await;
    let cut = bracket(take_lease(2), stuck, give_back, spawner)
        .timeout(&timer, Duration::from_secs(1))
        .await;
    println!("lease 2: {}", cut.unwrap_err());
    tokio::task::yield_now().await; // the release task runs
    assert_eq!(OPEN.load(Ordering::SeqCst), 0, "every lease given back");
    Ok(())
}
