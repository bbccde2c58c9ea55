//! Bulkhead admission: acquire + release, uncontended on one thread, and contended (64 tasks
//! sharing 8 permits on a 2-worker tokio runtime), beside tokio's and async-lock's semaphores
//! and the raw maitake-sync semaphore the bulkhead was built on before the core had its own
//! (the crate-private semaphore cannot be benchmarked from here);
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

    for workers in worker_counts(cfg) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .build()
            .expect("tokio runtime");
        for tasks in [4, 16, 64, 256] {
            out.extend(contended(cfg, &rt, workers, tasks, false));
        }
        out.extend(contended(cfg, &rt, workers, 64, true));
    }
    out
}

/// 1 worker and `--workers` (2 unless told).
fn worker_counts(cfg: &Config) -> Vec<usize> {
    if cfg.workers == 1 {
        vec![1]
    } else {
        vec![1, cfg.workers]
    }
}

/// Holds `permit` across one yield (the one await point of the work), then releases it.
async fn hold<P>(permit: P) {
    tokio::task::yield_now().await;
    drop(black_box(permit));
}

/// `acquire` raced against one yield of the task: when the permit is not there by then, the
/// acquire is dropped (cancelled) mid-wait. `None` when it was.
async fn or_cancel<F: Future>(acquire: F) -> Option<F::Output> {
    let acquire = std::pin::pin!(acquire);
    let give_up = std::pin::pin!(tokio::task::yield_now());
    match futures_util::future::select(acquire, give_up).await {
        futures_util::future::Either::Left((p, _)) => Some(p),
        futures_util::future::Either::Right(_) => None,
    }
}

/// `tasks` tasks sharing [`PERMITS`] permits on a `workers`-thread runtime, each acquiring,
/// holding across one yield and releasing; with `cancelling`, each acquire gives up after one
/// yield (a short timeout that often fires, without a clock).
fn contended(
    cfg: &Config,
    rt: &tokio::runtime::Runtime,
    workers: usize,
    tasks: u64,
    cancelling: bool,
) -> Vec<Record> {
    type Spawner = Arc<dyn Fn(u64) -> tokio::task::JoinHandle<()> + Send + Sync>;
    let runner = |work: Spawner| {
        Box::new(move |n: u64| {
            let per_task = (n / tasks).max(1);
            rt.block_on(async {
                let start = Instant::now();
                let handles: Vec<_> = (0..tasks).map(|_| work(per_task)).collect();
                for t in handles {
                    t.await.expect("task");
                }
                start.elapsed()
            })
        }) as Runner<'_>
    };
    // One body per semaphore: `$acquire` is an expression on `s` giving the acquire future.
    macro_rules! spawner {
        ($sem:expr, |$s:ident| $acquire:expr) => {{
            let sem = $sem;
            Arc::new(move |k: u64| {
                let $s = sem.clone();
                tokio::spawn(async move {
                    for _ in 0..k {
                        if cancelling {
                            if let Some(p) = or_cancel($acquire).await {
                                hold(p).await;
                            }
                        } else {
                            hold($acquire.await).await;
                        }
                    }
                })
            }) as Spawner
        }};
    }
    let case = format!(
        "bulkhead contended {tasks} tasks/{PERMITS}, {workers} worker{}{}",
        if workers == 1 { "" } else { "s" },
        if cancelling { ", cancelling" } else { "" }
    );
    let mut peers = vec![
        (
            "tokio Semaphore",
            runner(spawner!(
                Arc::new(tokio::sync::Semaphore::new(PERMITS)),
                |s| s.acquire()
            )),
        ),
        (
            "async-lock Semaphore",
            runner(spawner!(
                Arc::new(async_lock::Semaphore::new(PERMITS)),
                |s| s.acquire()
            )),
        ),
    ];
    if !cancelling {
        peers.push((
            "maitake-sync Semaphore (raw)",
            runner(spawner!(
                Arc::new(maitake_sync::Semaphore::new(PERMITS)),
                |s| s.acquire(1)
            )),
        ));
    }
    compare(
        cfg,
        &case,
        20_000,
        runner(spawner!(Arc::new(Bulkhead::new(PERMITS)), |s| s.acquire())),
        peers,
    )
}
