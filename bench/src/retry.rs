//! Retry: the success path (the first attempt succeeds) and a three-failure path with zero
//! delays, beside backon, tokio-retry2 and a hand-written loop.

use std::hint::black_box;
use std::time::{Duration, Instant};

use backon::{ConstantBuilder, ExponentialBuilder, Retryable};
use steadfast::retry::{MakeAttempt, RetryPolicy};
use steadfast_tokio::TokioTimer;
use tokio_retry2::strategy::{ExponentialFactorBackoff, FixedInterval};

use crate::{Config, Record, Runner, compare};

#[derive(Debug)]
struct Transient;

pub(crate) fn cases(cfg: &Config) -> Vec<Record> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    let mut out = Vec::new();

    let policy = RetryPolicy::builder()
        .max_attempts(4)
        .exponential(Duration::from_millis(10), 2.0)
        .max_delay(Duration::from_secs(1))
        .seed(1)
        .build()
        .expect("policy");
    out.extend(compare(
        cfg,
        "retry success path",
        500_000,
        Box::new(|n: u64| {
            rt.block_on(async {
                let timer = TokioTimer::new();
                let start = Instant::now();
                for i in 0..n {
                    let op = || async { Ok::<u64, Transient>(i) };
                    let r = MakeAttempt::retry(op, &policy, &timer).await;
                    black_box(r.ok());
                }
                start.elapsed()
            })
        }),
        vec![
            (
                "backon",
                Box::new(|n: u64| {
                    rt.block_on(async {
                        let start = Instant::now();
                        for i in 0..n {
                            let op = || async { Ok::<u64, Transient>(i) };
                            let builder = ExponentialBuilder::default().with_max_times(3);
                            let r = Retryable::retry(op, builder).await;
                            black_box(r.ok());
                        }
                        start.elapsed()
                    })
                }) as Runner<'_>,
            ),
            (
                "tokio-retry2",
                Box::new(|n: u64| {
                    rt.block_on(async {
                        let start = Instant::now();
                        for i in 0..n {
                            let op = || async { Ok::<u64, tokio_retry2::RetryError<Transient>>(i) };
                            let strategy = ExponentialFactorBackoff::from_millis(10, 2.0).take(3);
                            let r = tokio_retry2::Retry::spawn(strategy, op).await;
                            black_box(r.ok());
                        }
                        start.elapsed()
                    })
                }),
            ),
            (
                "hand loop",
                Box::new(|n: u64| {
                    rt.block_on(async {
                        let start = Instant::now();
                        for i in 0..n {
                            black_box(hand_loop(0, i, Duration::from_millis(10)).await.ok());
                        }
                        start.elapsed()
                    })
                }),
            ),
        ],
    ));

    // Zero delays on tokio's paused clock: a sleep of zero still goes through tokio's timer
    // (backon sleeps it; we and the hand loop skip it), and on a real clock that timer's
    // millisecond granularity would dominate. Paused time measures the CPU cost alone.
    let paused = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("tokio runtime");
    let zero = RetryPolicy::builder()
        .max_attempts(4)
        .constant(Duration::ZERO)
        .build()
        .expect("policy");
    out.extend(compare(
        cfg,
        "retry 3 failures, zero delay (paused)",
        20_000,
        Box::new(|n: u64| {
            paused.block_on(async {
                let timer = TokioTimer::new();
                let start = Instant::now();
                for i in 0..n {
                    let mut calls = 0;
                    let op = || {
                        calls += 1;
                        let c = calls;
                        async move { if c <= 3 { Err(Transient) } else { Ok(i) } }
                    };
                    let r = MakeAttempt::retry(op, &zero, &timer).await;
                    black_box(r.ok());
                }
                start.elapsed()
            })
        }),
        vec![
            (
                "backon",
                Box::new(|n: u64| {
                    paused.block_on(async {
                        let start = Instant::now();
                        for i in 0..n {
                            let mut calls = 0;
                            let op = || {
                                calls += 1;
                                let c = calls;
                                async move { if c <= 3 { Err(Transient) } else { Ok(i) } }
                            };
                            let builder = ConstantBuilder::default()
                                .with_delay(Duration::ZERO)
                                .with_max_times(3);
                            let r = Retryable::retry(op, builder).await;
                            black_box(r.ok());
                        }
                        start.elapsed()
                    })
                }) as Runner<'_>,
            ),
            (
                "tokio-retry2",
                Box::new(|n: u64| {
                    paused.block_on(async {
                        let start = Instant::now();
                        for i in 0..n {
                            let mut calls = 0;
                            let op = || {
                                calls += 1;
                                let c = calls;
                                async move {
                                    if c <= 3 {
                                        Err(tokio_retry2::RetryError::transient(Transient))
                                    } else {
                                        Ok(i)
                                    }
                                }
                            };
                            let strategy = FixedInterval::new(Duration::ZERO).take(3);
                            let r = tokio_retry2::Retry::spawn(strategy, op).await;
                            black_box(r.ok());
                        }
                        start.elapsed()
                    })
                }),
            ),
            (
                "hand loop",
                Box::new(|n: u64| {
                    paused.block_on(async {
                        let start = Instant::now();
                        for i in 0..n {
                            black_box(hand_loop(3, i, Duration::ZERO).await.ok());
                        }
                        start.elapsed()
                    })
                }),
            ),
        ],
    ));
    out
}

/// What a user writes without a library: fail `failures` times, then succeed; sleep between
/// attempts (skipped when the delay is zero, as a careful hand loop would).
async fn hand_loop(failures: u32, value: u64, delay: Duration) -> Result<u64, Transient> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = async {
            if attempt <= failures {
                Err(Transient)
            } else {
                Ok(value)
            }
        }
        .await;
        match result {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= 4 => return Err(e),
            Err(_) if delay.is_zero() => {}
            Err(_) => tokio::time::sleep(delay).await,
        }
    }
}
