//! Memory: the size of each future a caller holds, beside the peer's future for the same work
//! over the same inner future, and the resident memory of 100,000 tasks waiting on one
//! bulkhead beside 100,000 waiting on a tokio semaphore (each measured in a child process of
//! its own, so one does not inherit the other's heap).
//!
//! Sizes are exact (`size_of_val` of the future before its first poll); the resident set is
//! read from `/proc/self/statm` before the tasks are spawned and once every task waits.

use std::future::{pending, ready};
use std::mem::size_of_val;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use steadfast::breaker::CircuitBreaker;
use steadfast::bulkhead::Bulkhead;
use steadfast::limiter::RateLimiter;
use steadfast::pool::DetachedPool;
use steadfast::retry::{MakeAttempt, RetryPolicy};
use steadfast::timeout::TimeoutExt;
use steadfast_tokio::{TokioSpawner, TokioTimer};

/// How many waiting tasks the resident-memory rows spawn.
const WAITERS: usize = 100_000;

/// The inner future every row wraps: it holds a `u64`, as a small request would.
async fn work(x: u64) -> Result<u64, ()> {
    Ok(std::hint::black_box(x))
}

/// Prints the size table and the resident-memory rows.
pub(crate) fn print() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    let _guard = rt.enter();
    let timer = TokioTimer::new();
    let second = Duration::from_secs(1);
    let bulkhead = Bulkhead::new(8);
    let tokio_sem = tokio::sync::Semaphore::new(8);
    let lock_sem = async_lock::Semaphore::new(8);
    let policy = RetryPolicy::builder()
        .max_attempts(4)
        .exponential(Duration::from_millis(10), 2.0)
        .build()
        .expect("policy");
    let breaker: CircuitBreaker = CircuitBreaker::builder()
        .count_window(100, 10)
        .build()
        .expect("breaker");
    let limiter = RateLimiter::builder(1_000, second)
        .build()
        .expect("limiter");
    let governor = governor::RateLimiter::direct(governor::Quota::per_second(
        std::num::NonZeroU32::new(1_000).expect("non-zero"),
    ));

    let pool = DetachedPool::builder()
        .workers(2)
        .capacity(64)
        .spawn(&TokioSpawner::current(), work, |_| {})
        .expect("pool");
    let (tx, _rx) = tokio::sync::mpsc::channel::<u64>(64);

    let rows: Vec<(&str, usize, &str, usize)> = vec![
        ("inner future alone", size_of_val(&work(1)), "", 0),
        (
            "timeout(work)",
            size_of_val(&work(1).timeout(&timer, second)),
            "tokio::time::timeout(work)",
            size_of_val(&tokio::time::timeout(second, work(1))),
        ),
        (
            "bulkhead acquire()",
            size_of_val(&bulkhead.acquire()),
            "tokio Semaphore::acquire()",
            size_of_val(&tokio_sem.acquire()),
        ),
        (
            "bulkhead acquire()",
            size_of_val(&bulkhead.acquire()),
            "async-lock Semaphore::acquire()",
            size_of_val(&lock_sem.acquire()),
        ),
        (
            "bulkhead run(work)",
            size_of_val(&bulkhead.run(work(1))),
            "tokio acquire, then work, by hand",
            size_of_val(&async {
                let _permit = tokio_sem.acquire().await;
                work(1).await
            }),
        ),
        (
            "retry(work), policy borrowed",
            size_of_val(&MakeAttempt::retry(|| work(1), &policy, &timer)),
            "backon retry(work)",
            size_of_val(&Retryable::retry(
                || work(1),
                ExponentialBuilder::default().with_max_times(3),
            )),
        ),
        (
            "pool submit(item)",
            size_of_val(&pool.submit(1)),
            "tokio mpsc Sender::send(item)",
            size_of_val(&tx.send(1)),
        ),
        (
            "breaker run(work)",
            size_of_val(&breaker.run(&timer, work(1))),
            "",
            0,
        ),
        (
            "limiter acquire(1)",
            size_of_val(&limiter.acquire(&timer, 1)),
            "governor until_ready()",
            size_of_val(&governor.until_ready()),
        ),
    ];
    println!(
        "{:<34} {:>7}   {:<36} {:>7}",
        "future (ours)", "bytes", "peer", "bytes"
    );
    for (ours, ours_size, peer, peer_size) in rows {
        if peer.is_empty() {
            println!("{ours:<34} {ours_size:>7}   {:<36} {:>7}", "-", "-");
        } else {
            println!("{ours:<34} {ours_size:>7}   {peer:<36} {peer_size:>7}");
        }
    }
    drop(_guard);

    println!();
    let ours = child_rss("bulkhead");
    let peer = child_rss("tokio");
    match (ours, peer) {
        (Some(ours), Some(peer)) => println!(
            "resident memory of {WAITERS} tasks waiting: bulkhead {} B/task, tokio Semaphore {} B/task, ratio {:.2}",
            ours / WAITERS,
            peer / WAITERS,
            ours as f64 / peer as f64
        ),
        _ => println!(
            "resident memory of {WAITERS} waiting tasks: not measured (no /proc/self/statm)"
        ),
    }
}

/// Runs this binary again as `--rss-child KIND` and reads the growth it prints.
fn child_rss(kind: &str) -> Option<usize> {
    let exe = std::env::current_exe().ok()?;
    let out = std::process::Command::new(exe)
        .args(["--rss-child", kind])
        .output()
        .ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

/// Resident set size in bytes.
fn rss() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// The child side: spawns [`WAITERS`] tasks that each wait for a permit that never comes, and
/// prints how much the resident set grew once all of them wait.
pub(crate) fn rss_child(kind: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    let grown = rt.block_on(async {
        let waiting = Arc::new(AtomicUsize::new(0));
        let bulkhead = Arc::new(Bulkhead::new(1));
        let tokio_sem = Arc::new(tokio::sync::Semaphore::new(1));
        let _held = (
            bulkhead.try_acquire_owned(),
            tokio_sem.clone().try_acquire_owned(),
        );
        let before = rss()?;
        for _ in 0..WAITERS {
            let waiting = waiting.clone();
            match kind {
                "bulkhead" => {
                    let b = bulkhead.clone();
                    tokio::spawn(async move {
                        waiting.fetch_add(1, Ordering::Relaxed);
                        let _p = b.acquire().await;
                        pending::<()>().await;
                    })
                }
                _ => {
                    let s = tokio_sem.clone();
                    tokio::spawn(async move {
                        waiting.fetch_add(1, Ordering::Relaxed);
                        let _p = s.acquire().await;
                        pending::<()>().await;
                    })
                }
            };
        }
        while waiting.load(Ordering::Relaxed) < WAITERS {
            tokio::task::yield_now().await;
        }
        ready(()).await;
        Some(rss()?.saturating_sub(before))
    });
    if let Some(grown) = grown {
        println!("{grown}");
    }
}
