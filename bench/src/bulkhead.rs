//! Bulkhead admission: acquire + release, uncontended on one thread, and contended (64 tasks
//! sharing 8 permits on a 2-worker tokio runtime), beside tokio's and async-lock's semaphores
//! and the raw maitake-sync semaphore the bulkhead is built on (which shows our own overhead);
//! and a bounded wait (`acquire_within`) uncontended, beside tokio's semaphore under
//! `tokio::time::timeout` and our own plain `acquire` (which shows what the bound costs when
//! a permit is free).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use std::time::Duration;

use steadfast::bulkhead::Bulkhead;
use steadfast_tokio::TokioTimer;

use crate::{Config, Record, Runner, compare};

const TASKS: u64 = 64;
const PERMITS: usize = 8;

pub(crate) fn cases(cfg: &Config) -> Vec<Record> {
    let mut out = Vec::new();

    let ours = Bulkhead::new(PERMITS);
    let tokio_sem = tokio::sync::Semaphore::new(PERMITS);
    let lock_sem = async_lock::Semaphore::new(PERMITS);
    let raw = maitake_sync::Semaphore::new(PERMITS);
    out.extend(compare(
        cfg,
        "bulkhead uncontended",
        1_000_000,
        Box::new(|n: u64| {
            futures_executor::block_on(async {
                let start = Instant::now();
                for _ in 0..n {
                    drop(black_box(ours.acquire().await.expect("open")));
                }
                start.elapsed()
            })
        }),
        vec![
            (
                "tokio Semaphore",
                Box::new(|n: u64| {
                    futures_executor::block_on(async {
                        let start = Instant::now();
                        for _ in 0..n {
                            drop(black_box(tokio_sem.acquire().await.expect("open")));
                        }
                        start.elapsed()
                    })
                }) as Runner<'_>,
            ),
            (
                "async-lock Semaphore",
                Box::new(|n: u64| {
                    futures_executor::block_on(async {
                        let start = Instant::now();
                        for _ in 0..n {
                            drop(black_box(lock_sem.acquire().await));
                        }
                        start.elapsed()
                    })
                }),
            ),
            (
                "maitake-sync Semaphore (raw)",
                Box::new(|n: u64| {
                    futures_executor::block_on(async {
                        let start = Instant::now();
                        for _ in 0..n {
                            drop(black_box(raw.acquire(1).await.expect("open")));
                        }
                        start.elapsed()
                    })
                }),
            ),
        ],
    ));

    let clock = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    let ours = Bulkhead::new(PERMITS);
    let tokio_sem = tokio::sync::Semaphore::new(PERMITS);
    let wait = Duration::from_secs(1);
    let (clock, ours, tokio_sem) = (&clock, &ours, &tokio_sem);
    out.extend(compare(
        cfg,
        "bulkhead acquire_within uncontended",
        1_000_000,
        Box::new(move |n: u64| {
            clock.block_on(async {
                let timer = TokioTimer::new();
                let start = Instant::now();
                for _ in 0..n {
                    drop(black_box(
                        ours.acquire_within(&timer, wait).await.expect("open"),
                    ));
                }
                start.elapsed()
            })
        }),
        vec![
            (
                "tokio Semaphore + tokio timeout",
                Box::new(move |n: u64| {
                    clock.block_on(async {
                        let start = Instant::now();
                        for _ in 0..n {
                            let permit = tokio::time::timeout(wait, tokio_sem.acquire()).await;
                            drop(black_box(permit.expect("in time").expect("open")));
                        }
                        start.elapsed()
                    })
                }) as Runner<'_>,
            ),
            (
                "our plain acquire",
                Box::new(move |n: u64| {
                    clock.block_on(async {
                        let start = Instant::now();
                        for _ in 0..n {
                            drop(black_box(ours.acquire().await.expect("open")));
                        }
                        start.elapsed()
                    })
                }),
            ),
        ],
    ));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.workers)
        .build()
        .expect("tokio runtime");
    let contended = |work: Arc<dyn Fn(u64) -> tokio::task::JoinHandle<()> + Send + Sync>| {
        let rt = &rt;
        Box::new(move |n: u64| {
            let per_task = (n / TASKS).max(1);
            rt.block_on(async {
                let start = Instant::now();
                let tasks: Vec<_> = (0..TASKS).map(|_| work(per_task)).collect();
                for t in tasks {
                    t.await.expect("task");
                }
                start.elapsed()
            })
        }) as Runner<'_>
    };
    let ours = Arc::new(Bulkhead::new(PERMITS));
    let tokio_sem = Arc::new(tokio::sync::Semaphore::new(PERMITS));
    let lock_sem = Arc::new(async_lock::Semaphore::new(PERMITS));
    let raw = Arc::new(maitake_sync::Semaphore::new(PERMITS));
    out.extend(compare(
        cfg,
        "bulkhead contended 64 tasks/8",
        200_000,
        contended(Arc::new(move |k| {
            let b = ours.clone();
            tokio::spawn(async move {
                for _ in 0..k {
                    let p = b.acquire().await.expect("open");
                    tokio::task::yield_now().await;
                    drop(p);
                }
            })
        })),
        vec![
            (
                "tokio Semaphore",
                contended(Arc::new(move |k| {
                    let s = tokio_sem.clone();
                    tokio::spawn(async move {
                        for _ in 0..k {
                            let p = s.acquire().await.expect("open");
                            tokio::task::yield_now().await;
                            drop(p);
                        }
                    })
                })),
            ),
            (
                "async-lock Semaphore",
                contended(Arc::new(move |k| {
                    let s = lock_sem.clone();
                    tokio::spawn(async move {
                        for _ in 0..k {
                            let p = s.acquire().await;
                            tokio::task::yield_now().await;
                            drop(p);
                        }
                    })
                })),
            ),
            (
                "maitake-sync Semaphore (raw)",
                contended(Arc::new(move |k| {
                    let s = raw.clone();
                    tokio::spawn(async move {
                        for _ in 0..k {
                            let p = s.acquire(1).await.expect("open");
                            tokio::task::yield_now().await;
                            drop(p);
                        }
                    })
                })),
            ),
        ],
    ));
    out
}
