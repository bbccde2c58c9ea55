//! Timeout: the ready path (the inner future is ready at once) and the firing path (the
//! deadline passes first), against `tokio::time::timeout` and an async-io timer race.
//! Ratios of the ready path are ours / peer for the whole `timeout(...).await` of a ready
//! future: the overhead a timeout adds to a call that does not time out.

use std::future::{Future, pending, ready};
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use steadfast::timeout::TimeoutExt;
use steadfast_smol::AsyncIoTimer;
use steadfast_tokio::TokioTimer;

use crate::{Config, Record, Runner, compare};

pub(crate) fn cases(cfg: &Config) -> Vec<Record> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    let mut out = Vec::new();

    let long = Duration::from_secs(60);
    let ours: Runner<'_> = Box::new(|n: u64| {
        rt.block_on(async {
            let timer = TokioTimer::new();
            let start = Instant::now();
            for i in 0..n {
                black_box(ready(i).timeout(&timer, long).await.ok());
            }
            start.elapsed()
        })
    });
    let tokio_peer: Runner<'_> = Box::new(|n: u64| {
        rt.block_on(async {
            let start = Instant::now();
            for i in 0..n {
                black_box(tokio::time::timeout(long, ready(i)).await.ok());
            }
            start.elapsed()
        })
    });
    out.extend(compare(
        cfg,
        "timeout ready path (tokio)",
        200_000,
        ours,
        vec![("tokio::time::timeout", tokio_peer)],
    ));

    let ours_io: Runner<'_> = Box::new(|n: u64| {
        futures_executor::block_on(async {
            let timer = AsyncIoTimer::new();
            let start = Instant::now();
            for i in 0..n {
                black_box(ready(i).timeout(&timer, long).await.ok());
            }
            start.elapsed()
        })
    });
    let io_peer: Runner<'_> = Box::new(|n: u64| {
        futures_executor::block_on(async {
            let start = Instant::now();
            for i in 0..n {
                black_box(Race(ready(i), async_io::Timer::after(long)).await);
            }
            start.elapsed()
        })
    });
    out.extend(compare(
        cfg,
        "timeout ready path (async-io)",
        200_000,
        ours_io,
        vec![("async-io Timer race", io_peer)],
    ));

    // The firing path on tokio's paused clock: the cost of arming, firing and dropping the
    // timer, without waiting for the timer wheel's millisecond ticks in real time.
    let paused = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("tokio runtime");
    let short = Duration::from_millis(1);
    let ours_fire: Runner<'_> = Box::new(|n: u64| {
        paused.block_on(async {
            let timer = TokioTimer::new();
            let start = Instant::now();
            for _ in 0..n {
                black_box(pending::<()>().timeout(&timer, short).await.is_err());
            }
            start.elapsed()
        })
    });
    let tokio_fire: Runner<'_> = Box::new(|n: u64| {
        paused.block_on(async {
            let start = Instant::now();
            for _ in 0..n {
                black_box(tokio::time::timeout(short, pending::<()>()).await.is_err());
            }
            start.elapsed()
        })
    });
    out.extend(compare(
        cfg,
        "timeout firing path (tokio paused)",
        20_000,
        ours_fire,
        vec![("tokio::time::timeout", tokio_fire)],
    ));
    out
}

/// The peer a smol user writes by hand: poll the future, then the timer.
struct Race<F>(F, async_io::Timer);

impl<F: Future + Unpin> Future for Race<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(v) = Pin::new(&mut self.0).poll(cx) {
            return Poll::Ready(Some(v));
        }
        Pin::new(&mut self.1).poll(cx).map(|_| None)
    }
}
