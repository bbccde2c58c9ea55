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

/// The rows of `try_acquire` on 1 and 2 threads: ours reading `now`, governor's `check`.
fn try_acquire_rows(
    cfg: &Config,
    out: &mut Vec<Record>,
    (name, now): (&str, &(dyn Fn() -> steadfast::Instant + Sync)),
    (peer, check): (&str, &(dyn Fn() -> bool + Sync)),
) {
    let ours = always();
    out.extend(compare(
        cfg,
        &format!("limiter try_acquire + {name} (1 thread)"),
        2_000_000,
        Box::new(|n: u64| {
            let start = Instant::now();
            for _ in 0..n {
                black_box(ours.try_acquire(now(), 1).is_ok());
            }
            start.elapsed()
        }),
        vec![(
            peer,
            Box::new(|n: u64| {
                let start = Instant::now();
                for _ in 0..n {
                    black_box(check());
                }
                start.elapsed()
            }) as Runner<'_>,
        )],
    ));
    let shared = Arc::new(always());
    out.extend(compare(
        cfg,
        &format!("limiter try_acquire + {name} (2 threads, one limiter)"),
        2_000_000,
        Box::new(|n: u64| {
            on_threads(2, n, &|n| {
                for _ in 0..n {
                    black_box(shared.try_acquire(now(), 1).is_ok());
                }
            })
        }),
        vec![(
            peer,
            Box::new(|n: u64| {
                on_threads(2, n, &|n| {
                    for _ in 0..n {
                        black_box(check());
                    }
                })
            }) as Runner<'_>,
        )],
    ));
}

pub(crate) fn cases(cfg: &Config) -> Vec<Record> {
    let mut out = Vec::new();
    let quota = || {
        let n = NonZeroU32::new(1_000_000_000).expect("nonzero");
        Quota::per_second(n).allow_burst(n)
    };
    // Each side reads a clock of the same kind. `TokioTimer::now()` reads std's monotonic
    // clock (it must, to follow tokio's paused clock), as governor's `MonotonicClock` does;
    // governor's default reads the TSC through quanta, as the second pair does on our side.
    let timer = TokioTimer::new();
    let gov = Governor::direct_with_clock(quota(), governor::clock::MonotonicClock);
    try_acquire_rows(
        cfg,
        &mut out,
        ("TokioTimer::now", &|| timer.now()),
        ("governor check(), MonotonicClock", &|| gov.check().is_ok()),
    );
    let tsc = quanta::Clock::new();
    let gov = governor_always();
    try_acquire_rows(
        cfg,
        &mut out,
        ("a quanta clock", &|| {
            steadfast::Instant::from_nanos(tsc.delta_as_nanos(0, tsc.raw()))
        }),
        ("governor check() (quanta clock)", &|| gov.check().is_ok()),
    );
    // With the instant handed in (a clock the caller already read).
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
            "governor check() (quanta clock)",
            Box::new(|n: u64| {
                let start = Instant::now();
                for _ in 0..n {
                    black_box(gov.check().is_ok());
                }
                start.elapsed()
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
