//! Hedging: the happy path (the first attempt succeeds before the delay) beside a plain retry
//! and tower's `hedge` middleware, and a hedge that fires (the first attempt is slow) beside a
//! hand-written select, on tokio's paused clock.

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{Duration, Instant};

use futures_util::future::{Either, select};
use steadfast::hedge::HedgePolicy;
use steadfast::retry::{MakeAttempt, RetryPolicy};
use steadfast_tokio::TokioTimer;
use tower::{Service, ServiceExt};

use crate::{Config, Record, Runner, compare};

#[derive(Clone, Copy)]
pub(crate) struct HedgeAll;

impl tower::hedge::Policy<u64> for HedgeAll {
    fn clone_request(&self, req: &u64) -> Option<u64> {
        Some(*req)
    }
    fn can_retry(&self, _: &u64) -> bool {
        true
    }
}

pub(crate) const DELAY: Duration = Duration::from_millis(10);

pub(crate) fn cases(cfg: &Config) -> Vec<Record> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    let mut out = Vec::new();
    let policy = HedgePolicy::builder()
        .max_attempts(2)
        .delay(DELAY)
        .build()
        .expect("policy");
    let retry = RetryPolicy::builder()
        .max_attempts(2)
        .constant(DELAY)
        .build()
        .expect("policy");
    out.extend(compare(
        cfg,
        "hedge happy path",
        500_000,
        Box::new(|n: u64| {
            rt.block_on(async {
                let timer = TokioTimer::new();
                let start = Instant::now();
                for i in 0..n {
                    let op = || async move { Ok::<u64, Infallible>(i) };
                    black_box(policy.run(&timer, op).await.ok());
                }
                start.elapsed()
            })
        }),
        vec![
            (
                "retry (steadfast)",
                Box::new(|n: u64| {
                    rt.block_on(async {
                        let timer = TokioTimer::new();
                        let start = Instant::now();
                        for i in 0..n {
                            let op = || async move { Ok::<u64, Infallible>(i) };
                            black_box(MakeAttempt::retry(op, &retry, &timer).await.ok());
                        }
                        start.elapsed()
                    })
                }) as Runner<'_>,
            ),
            (
                "tower hedge (p90 of 10 ms)",
                Box::new(|n: u64| {
                    rt.block_on(async {
                        let inner =
                            tower::service_fn(|i: u64| async move { Ok::<u64, Infallible>(i) });
                        let mut svc = tower::hedge::Hedge::new_with_mock_latencies(
                            inner,
                            HedgeAll,
                            10,
                            0.9,
                            Duration::from_secs(3600),
                            &[10; 100],
                        );
                        let start = Instant::now();
                        for i in 0..n {
                            let r = svc.ready().await.expect("ready").call(i).await;
                            black_box(r.ok());
                        }
                        start.elapsed()
                    })
                }),
            ),
        ],
    ));

    // The first attempt takes 25 ms, the hedge at 10 ms answers at once: paused time, so the
    // cost measured is the CPU's (a sleep, a second attempt, the loser dropped).
    let paused = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("tokio runtime");
    let slow_first = |timer: &TokioTimer, n: u32, i: u64| {
        let t = *timer;
        async move {
            if n == 1 {
                t.sleep(Duration::from_millis(25)).await;
            }
            Ok::<u64, Infallible>(i)
        }
    };
    out.extend(compare(
        cfg,
        "hedge fires, hedge wins (paused)",
        20_000,
        Box::new(|n: u64| {
            paused.block_on(async {
                let timer = TokioTimer::new();
                let start = Instant::now();
                for i in 0..n {
                    let mut calls = 0;
                    let op = || {
                        calls += 1;
                        slow_first(&timer, calls, i)
                    };
                    black_box(policy.run(&timer, op).await.ok());
                }
                start.elapsed()
            })
        }),
        vec![(
            "hand select",
            Box::new(|n: u64| {
                paused.block_on(async {
                    let timer = TokioTimer::new();
                    let start = Instant::now();
                    for i in 0..n {
                        let first = std::pin::pin!(slow_first(&timer, 1, i));
                        let hedge = std::pin::pin!(async {
                            tokio::time::sleep(DELAY).await;
                            slow_first(&timer, 2, i).await
                        });
                        let r = match select(first, hedge).await {
                            Either::Left((r, _)) | Either::Right((r, _)) => r,
                        };
                        black_box(r.ok());
                    }
                    start.elapsed()
                })
            }) as Runner<'_>,
        )],
    ));
    out
}
