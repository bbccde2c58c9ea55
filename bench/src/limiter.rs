//! Rate limiter: `try_acquire` always granted (a rate far above the call rate), on one thread
//! and with two threads sharing one limiter, beside governor's direct limiter `check()`; and
//! waiting throughput, 1,000 waiters drawing cells at 100,000 a second (burst 100) on a tokio
//! runtime, beside governor's `until_ready` and leaky-bucket. Armed timers while they wait:
//! ours 1 (the head only, counted on `VirtualTimer` and printed), governor one per waiter
//! (each sleeps on its own `futures_timer::Delay`), leaky-bucket 1 (its core task).

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::{Quota, RateLimiter as Governor};
use steadfast::limiter::RateLimiter;
use steadfast::{Timer, VirtualTimer};
use steadfast_tokio::TokioTimer;

use crate::{Config, Record, Runner, compare, on_threads};

/// A cell a nanosecond, a burst of 10^9: every call is granted.
fn always() -> RateLimiter {
    RateLimiter::builder(1_000_000_000, Duration::from_secs(1))
        .build()
        .expect("limiter")
}

fn governor_always() -> governor::DefaultDirectRateLimiter {
    let n = NonZeroU32::new(1_000_000_000).expect("nonzero");
    Governor::direct(Quota::per_second(n).allow_burst(n))
}

const RATE: u32 = 100_000;
const BURST: u32 = 100;

/// Timers armed while 1,000 waiters wait on our limiter, counted on the virtual timer.
fn our_armed_timers() -> usize {
    let timer = VirtualTimer::new();
    let l = RateLimiter::builder(RATE, Duration::from_secs(1))
        .burst(BURST)
        .build()
        .expect("limiter");
    l.try_acquire(timer.now(), BURST).expect("burst");
    let waiters: Vec<_> = (0..1000).map(|_| Box::pin(l.acquire(&timer, 1))).collect();
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut waiters = waiters;
    for w in &mut waiters {
        assert!(w.as_mut().poll(&mut cx).is_pending());
    }
    timer.sleepers()
}

pub(crate) fn cases(cfg: &Config) -> Vec<Record> {
    let mut out = Vec::new();
    let ours = always();
    let timer = TokioTimer::new();
    let gov = governor_always();
    out.extend(compare(
        cfg,
        "limiter try_acquire + TokioTimer::now (1 thread)",
        2_000_000,
        Box::new(|n: u64| {
            let start = Instant::now();
            for _ in 0..n {
                black_box(ours.try_acquire(timer.now(), 1).is_ok());
            }
            start.elapsed()
        }),
        vec![(
            "governor check()",
            Box::new(|n: u64| {
                let start = Instant::now();
                for _ in 0..n {
                    black_box(gov.check().is_ok());
                }
                start.elapsed()
            }) as Runner<'_>,
        )],
    ));

    // The same, with the instant handed in (a clock the caller already read, or a cheaper
    // one: std's clock, under TokioTimer, costs more than governor's quanta).
    let ours = always();
    let gov = governor_always();
    out.extend(compare(
        cfg,
        "limiter try_acquire, instant given (1 thread)",
        2_000_000,
        Box::new(|n: u64| {
            let start = Instant::now();
            for i in 0..n {
                let now = steadfast::Instant::from_nanos(i);
                black_box(ours.try_acquire(black_box(now), 1).is_ok());
            }
            start.elapsed()
        }),
        vec![(
            "governor check()",
            Box::new(|n: u64| {
                let start = Instant::now();
                for _ in 0..n {
                    black_box(gov.check().is_ok());
                }
                start.elapsed()
            }) as Runner<'_>,
        )],
    ));

    let shared = Arc::new(always());
    let gov = Arc::new(governor_always());
    out.extend(compare(
        cfg,
        "limiter try_acquire + now (2 threads, one limiter)",
        2_000_000,
        Box::new(|n: u64| {
            on_threads(2, n, &|n| {
                let timer = TokioTimer::new();
                for _ in 0..n {
                    black_box(shared.try_acquire(timer.now(), 1).is_ok());
                }
            })
        }),
        vec![(
            "governor check()",
            Box::new(|n: u64| {
                on_threads(2, n, &|n| {
                    for _ in 0..n {
                        black_box(gov.check().is_ok());
                    }
                })
            }) as Runner<'_>,
        )],
    ));

    println!(
        "limiter: timers armed by 1,000 waiting callers: ours {}, governor until_ready 1000 (one Delay each), leaky-bucket 1",
        our_armed_timers()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    let waiters = 1000 / cfg.scale.max(1);
    out.extend(compare(
        cfg,
        "limiter: 1,000 waiters, 100k cells/s",
        waiters,
        Box::new(|n: u64| {
            rt.block_on(async {
                let l = RateLimiter::builder(RATE, Duration::from_secs(1))
                    .burst(BURST)
                    .build()
                    .expect("limiter");
                let timer = TokioTimer::new();
                let start = Instant::now();
                let all = (0..n).map(|_| l.acquire(&timer, 1));
                for r in futures_util::future::join_all(all).await {
                    r.expect("granted");
                }
                start.elapsed()
            })
        }),
        vec![
            (
                "governor until_ready",
                Box::new(|n: u64| {
                    rt.block_on(async {
                        let q = Quota::per_second(NonZeroU32::new(RATE).expect("nonzero"))
                            .allow_burst(NonZeroU32::new(BURST).expect("nonzero"));
                        let g = Governor::direct(q);
                        let start = Instant::now();
                        let all = (0..n).map(|_| g.until_ready());
                        futures_util::future::join_all(all).await;
                        start.elapsed()
                    })
                }) as Runner<'_>,
            ),
            (
                "leaky-bucket",
                Box::new(|n: u64| {
                    rt.block_on(async {
                        let l = leaky_bucket::RateLimiter::builder()
                            .initial(BURST as usize)
                            .max(BURST as usize)
                            .refill(BURST as usize)
                            .interval(Duration::from_millis(1))
                            .build();
                        let start = Instant::now();
                        let all = (0..n).map(|_| l.acquire_one());
                        futures_util::future::join_all(all).await;
                        start.elapsed()
                    })
                }),
            ),
        ],
    ));
    out
}
