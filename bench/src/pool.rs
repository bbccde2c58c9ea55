//! Worker pool throughput: one producer feeds 4 workers small items (`u64`, trivial work) on a
//! 2-worker tokio multi-thread runtime, beside the hand-written tokio pool (`mpsc` +
//! `Arc<Mutex<Receiver>>` + spawned workers) and an async-channel worker pool. Both of our
//! forms are measured: [`DetachedPool`] (outcomes to a pool-level handler) and [`WorkerPool`]
//! (a completion handle per item, dropped unawaited here).
//!
//! A third case awaits every item's outcome (a window of 64 outstanding): `WorkerPool` beside
//! tokio's mpsc workers replying through a oneshot per item, and a task spawned per item under
//! a semaphore.
//!
//! Every contender builds its pool and spawns its workers inside the round, runs the producer
//! as a spawned task, and stops the clock once every item has been run: for the peers when the
//! channel is closed and every worker task has ended, for ours after `close` + `wait_idle`.
//! Time per item, so 2x the throughput is a ratio of 0.5.

use std::collections::VecDeque;
use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use steadfast::pool::{DetachedPool, WorkerPool};
use steadfast_tokio::TokioSpawner;

use crate::{Config, Record, Runner, compare};

const WORKERS: usize = 4;
const CAPACITY: usize = 1024;

/// The work each contender does per item.
fn work(x: u64) -> u64 {
    black_box(black_box(x) * 2)
}

/// Times one round: `round(n)` runs as a spawned task on `rt` (not on the blocked thread).
fn on<'a, F, Fut>(rt: &'a tokio::runtime::Runtime, round: F) -> Runner<'a>
where
    F: Fn(u64) -> Fut + 'a,
    Fut: Future<Output = ()> + Send + 'static,
{
    Box::new(move |n: u64| -> Duration {
        let start = Instant::now();
        rt.block_on(rt.spawn(round(n))).expect("round");
        start.elapsed()
    })
}

pub(crate) fn cases(cfg: &Config) -> Vec<Record> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.workers)
        .build()
        .expect("tokio runtime");

    let detached = |n: u64| async move {
        let pool = DetachedPool::builder()
            .workers(WORKERS)
            .capacity(CAPACITY)
            .spawn(
                &TokioSpawner::current(),
                |x: u64| async move { work(x) },
                |out| {
                    black_box(out.expect("no panic"));
                },
            )
            .expect("settings");
        for i in 0..n {
            pool.submit(i).await.expect("open");
        }
        pool.close();
        pool.wait_idle().await;
    };
    let completion = |n: u64| async move {
        let pool = WorkerPool::builder()
            .workers(WORKERS)
            .capacity(CAPACITY)
            .spawn(&TokioSpawner::current(), |x: u64| async move { work(x) })
            .expect("settings");
        for i in 0..n {
            drop(black_box(pool.submit(i).await.expect("open")));
        }
        pool.close();
        pool.wait_idle().await;
    };
    let tokio_mutex = |n: u64| async move {
        let (tx, rx) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let rx = rx.clone();
                tokio::spawn(async move {
                    loop {
                        let next = rx.lock().await.recv().await;
                        match next {
                            Some(x) => {
                                work(x);
                            }
                            None => break,
                        }
                    }
                })
            })
            .collect();
        for i in 0..n {
            tx.send(i).await.expect("open");
        }
        drop(tx);
        for w in workers {
            w.await.expect("worker");
        }
    };
    let async_channel = |n: u64| async move {
        let (tx, rx) = async_channel::bounded::<u64>(CAPACITY);
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let rx = rx.clone();
                tokio::spawn(async move {
                    while let Ok(x) = rx.recv().await {
                        work(x);
                    }
                })
            })
            .collect();
        for i in 0..n {
            tx.send(i).await.expect("open");
        }
        drop(tx);
        for w in workers {
            w.await.expect("worker");
        }
    };

    let mut out = Vec::new();
    for (case, ours) in [
        ("pool 1 producer/4 workers, detached", on(&rt, detached)),
        ("pool 1 producer/4 workers, Completion", on(&rt, completion)),
    ] {
        out.extend(compare(
            cfg,
            case,
            100_000,
            ours,
            vec![
                ("tokio mpsc + Mutex<Receiver>", on(&rt, tokio_mutex)),
                ("async-channel workers", on(&rt, async_channel)),
            ],
        ));
    }
    out.extend(reply_per_item(cfg, &rt));
    out
}

/// Replies awaited in order, at most this many items outstanding.
const WINDOW: usize = 64;

/// Awaits the oldest reply once `window` holds [`WINDOW`], and all of them at the end.
struct Replies<R>(VecDeque<R>);

impl<R: Future> Replies<R> {
    async fn push(&mut self, reply: R) {
        self.0.push_back(reply);
        if self.0.len() == WINDOW {
            let oldest = self.0.pop_front().expect("full");
            black_box(oldest.await);
        }
    }
    async fn finish(mut self) {
        while let Some(r) = self.0.pop_front() {
            black_box(r.await);
        }
    }
}

/// Every item's outcome awaited by the producer (a window of [`WINDOW`] outstanding): our
/// `WorkerPool` and its `Completion`, beside tokio's mpsc + `Mutex<Receiver>` workers with a
/// oneshot per item, and a task spawned per item under a semaphore of [`WORKERS`] permits
/// (the reply is its `JoinHandle`).
fn reply_per_item(cfg: &Config, rt: &tokio::runtime::Runtime) -> Vec<Record> {
    let ours = |n: u64| async move {
        let pool = WorkerPool::builder()
            .workers(WORKERS)
            .capacity(CAPACITY)
            .spawn(&TokioSpawner::current(), |x: u64| async move { work(x) })
            .expect("settings");
        let mut replies = Replies(VecDeque::new());
        for i in 0..n {
            replies.push(pool.submit(i).await.expect("open")).await;
        }
        replies.finish().await;
        pool.close();
    };
    let mpsc_oneshot = |n: u64| async move {
        type Job = (u64, tokio::sync::oneshot::Sender<u64>);
        let (tx, rx) = tokio::sync::mpsc::channel::<Job>(CAPACITY);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..WORKERS {
            let rx = rx.clone();
            tokio::spawn(async move {
                loop {
                    let next = rx.lock().await.recv().await;
                    match next {
                        Some((x, reply)) => {
                            let _ = reply.send(work(x));
                        }
                        None => break,
                    }
                }
            });
        }
        let mut replies = Replies(VecDeque::new());
        for i in 0..n {
            let (reply, done) = tokio::sync::oneshot::channel();
            tx.send((i, reply)).await.expect("open");
            replies.push(done).await;
        }
        replies.finish().await;
    };
    let spawn_per_item = |n: u64| async move {
        let permits = Arc::new(tokio::sync::Semaphore::new(WORKERS));
        let mut replies = Replies(VecDeque::new());
        for i in 0..n {
            let permit = permits.clone().acquire_owned().await.expect("open");
            replies
                .push(tokio::spawn(async move {
                    let out = work(i);
                    drop(permit);
                    out
                }))
                .await;
        }
        replies.finish().await;
    };
    compare(
        cfg,
        "pool reply per item, window 64",
        50_000,
        on(rt, ours),
        vec![
            ("tokio mpsc + Mutex + oneshot", on(rt, mpsc_oneshot)),
            ("spawn per item + Semaphore", on(rt, spawn_per_item)),
        ],
    )
}
