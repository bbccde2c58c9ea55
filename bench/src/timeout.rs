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
    out.extend(firing_concurrently(cfg, &paused));
    out
}

/// Timers armed at once in the concurrent firing cases.
const CONCURRENT: u64 = 1000;

/// [`CONCURRENT`] timeouts waiting at once, each on a never-ready future, each caller timing
/// out `n / CONCURRENT` times in a row: on tokio's paused clock (wall time, all CPU), and on
/// async-io's real clock with 100 µs timeouts, where the reactor runs on the measuring thread
/// (`async_io::block_on`) and the time reported is that thread's CPU time, so waiting in real
/// time does not count.
fn firing_concurrently(cfg: &Config, paused: &tokio::runtime::Runtime) -> Vec<Record> {
    let short = Duration::from_millis(1);
    let mut out = compare(
        cfg,
        "timeout firing, 1000 at once (tokio paused)",
        20_000,
        Box::new(|n: u64| {
            paused.block_on(async {
                let timer = &TokioTimer::new();
                let start = Instant::now();
                callers(n, move || async move {
                    black_box(pending::<()>().timeout(timer, short).await.is_err());
                })
                .await;
                start.elapsed()
            })
        }),
        vec![(
            "tokio::time::timeout",
            Box::new(|n: u64| {
                paused.block_on(async {
                    let start = Instant::now();
                    callers(n, move || async move {
                        black_box(tokio::time::timeout(short, pending::<()>()).await.is_err());
                    })
                    .await;
                    start.elapsed()
                })
            }) as Runner<'_>,
        )],
    );
    let short = Duration::from_micros(100);
    out.extend(compare(
        cfg,
        "timeout firing, 1000 at once (async-io, CPU)",
        20_000,
        Box::new(|n: u64| {
            let timer = &AsyncIoTimer::new();
            on_cpu(|| {
                async_io::block_on(callers(n, move || async move {
                    black_box(pending::<()>().timeout(timer, short).await.is_err());
                }));
            })
        }),
        vec![(
            "async-io Timer race",
            Box::new(|n: u64| {
                on_cpu(|| {
                    async_io::block_on(callers(n, move || async move {
                        let race = Race(pending::<()>(), async_io::Timer::after(short));
                        black_box(race.await.is_none());
                    }));
                })
            }) as Runner<'_>,
        )],
    ));
    out
}

/// [`CONCURRENT`] callers at once, each running `one()` `n / CONCURRENT` times in a row.
async fn callers<F: Future<Output = ()>>(n: u64, one: impl Fn() -> F + Copy) {
    let each = (n / CONCURRENT).max(1);
    let all = (0..CONCURRENT).map(|_| async move {
        for _ in 0..each {
            one().await;
        }
    });
    futures_util::future::join_all(all).await;
}

/// The CPU time this thread spends in `run` (`/proc/thread-self/schedstat`), or the wall time
/// where that file does not exist.
fn on_cpu(run: impl FnOnce()) -> Duration {
    fn cpu() -> Option<Duration> {
        let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        Some(Duration::from_nanos(
            stat.split_whitespace().next()?.parse().ok()?,
        ))
    }
    let (cpu_start, wall_start) = (cpu(), Instant::now());
    run();
    match (cpu_start, cpu()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => wall_start.elapsed(),
    }
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
