//! Batcher cost per item: a stream of items in, a stream of batches of 100 out, with a flush
//! interval long enough that every batch is cut by size, on a tokio current-thread runtime.
//! Ours is [`Batches`] on [`TokioTimer`], beside tokio-stream's `chunks_timeout` and
//! futures-batch's `chunks_timeout`. Every contender gets the same always-ready source stream
//! and the consumer only looks at each batch. A second case cuts every batch by time (see
//! [`by_time`]).

use std::hint::black_box;
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use steadfast::batch::Batches;
use steadfast_tokio::TokioTimer;

use crate::{Config, Record, Runner, compare};

const BATCH: usize = 100;
const INTERVAL: Duration = Duration::from_secs(60);

/// The source: `n` items, always ready.
fn items(n: u64) -> impl Stream<Item = u64> {
    futures_util::stream::iter(0..n).map(black_box)
}

/// Drains a stream of batches, checking that every item came out.
async fn drain(n: u64, batches: impl Stream<Item = Vec<u64>>) {
    let mut batches = std::pin::pin!(batches);
    let mut seen = 0;
    while let Some(b) = batches.next().await {
        seen += b.len() as u64;
        black_box(b);
    }
    assert_eq!(seen, n);
}

pub(crate) fn cases(cfg: &Config) -> Vec<Record> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    let rt = &rt;
    let mut out = by_time(cfg);
    out.extend(compare(
        cfg,
        "batch stream, 100 per batch",
        1_000_000,
        Box::new(move |n: u64| {
            rt.block_on(async {
                let start = Instant::now();
                let batches = Batches::builder(TokioTimer::new())
                    .batch_size(BATCH)
                    .flush_interval(INTERVAL)
                    .build(items(n))
                    .expect("settings");
                drain(n, batches).await;
                start.elapsed()
            })
        }),
        vec![
            (
                "tokio-stream chunks_timeout",
                Box::new(move |n: u64| {
                    rt.block_on(async {
                        let start = Instant::now();
                        let chunks =
                            tokio_stream::StreamExt::chunks_timeout(items(n), BATCH, INTERVAL);
                        drain(n, chunks).await;
                        start.elapsed()
                    })
                }) as Runner<'_>,
            ),
            (
                "futures-batch chunks_timeout",
                Box::new(move |n: u64| {
                    rt.block_on(async {
                        let start = Instant::now();
                        let chunks = futures_batch::ChunksTimeoutStreamExt::chunks_timeout(
                            items(n),
                            BATCH,
                            INTERVAL,
                        );
                        drain(n, chunks).await;
                        start.elapsed()
                    })
                }),
            ),
        ],
    ));
    out
}

/// Batches cut by time: an item every millisecond, a flush interval of 10 ms and room for 100,
/// so every batch holds about 10, on tokio's paused clock (the sleeps cost no real time),
/// beside tokio-stream's `chunks_timeout` (futures-batch's timer runs on the real clock, so it
/// cannot take part).
fn by_time(cfg: &Config) -> Vec<Record> {
    let paused = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("tokio runtime");
    let paused = &paused;
    let tick = Duration::from_millis(1);
    let interval = Duration::from_millis(10);
    let spaced = move |n: u64| {
        futures_util::stream::unfold(0, move |i| async move {
            if i == n {
                return None;
            }
            tokio::time::sleep(tick).await;
            Some((black_box(i), i + 1))
        })
    };
    compare(
        cfg,
        "batches cut by time, about 10 per batch",
        20_000,
        Box::new(move |n: u64| {
            paused.block_on(async {
                let start = Instant::now();
                let batches = Batches::builder(TokioTimer::new())
                    .batch_size(BATCH)
                    .flush_interval(interval)
                    .build(spaced(n))
                    .expect("settings");
                drain(n, batches).await;
                start.elapsed()
            })
        }),
        vec![(
            "tokio-stream chunks_timeout",
            Box::new(move |n: u64| {
                paused.block_on(async {
                    let start = Instant::now();
                    let chunks =
                        tokio_stream::StreamExt::chunks_timeout(spaced(n), BATCH, interval);
                    drain(n, chunks).await;
                    start.elapsed()
                })
            }) as Runner<'_>,
        )],
    )
}
