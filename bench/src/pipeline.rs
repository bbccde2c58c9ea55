//! The pipeline's happy path: attempt timeout + retry + circuit breaker + bulkhead around a
//! ready call on tokio. Ours as one `Pipeline`, beside the same four patterns of ours nested
//! by hand (`.retry` around `breaker.run` around `bulkhead.run` around `timeout`), and beside
//! the nearest tower stack: tower's retry, tower-resilience's circuit breaker layer, tower's
//! concurrency limit and tower's timeout.

use std::future::{Ready, ready};
use std::hint::black_box;
use std::time::{Duration, Instant};

use steadfast::breaker::CircuitBreaker;
use steadfast::bulkhead::Bulkhead;
use steadfast::pipeline::Pipeline;
use steadfast::retry::{MakeAttempt, RetryPolicy};
use steadfast::timeout::timeout;
use steadfast_tokio::TokioTimer;
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};
use tower_resilience_circuitbreaker::CircuitBreakerLayer;

use crate::{Config, Record, compare};

const ATTEMPT: Duration = Duration::from_secs(1);

fn breaker() -> CircuitBreaker {
    CircuitBreaker::builder()
        .count_window(100, 20)
        .failure_rate(50)
        .build()
        .expect("breaker")
}

fn policy() -> RetryPolicy {
    RetryPolicy::builder()
        .max_attempts(3)
        .constant(Duration::from_millis(10))
        .build()
        .expect("policy")
}

/// The hand-nested stack's one error, as a user would write it.
#[derive(Debug)]
enum Hand {
    Failed,
    TimedOut,
    Full,
}

/// tower's retry policy: up to two retries of any error.
#[derive(Clone)]
struct Retries(u32);

impl<E> tower::retry::Policy<u64, u64, E> for Retries {
    type Future = Ready<()>;

    fn retry(&mut self, _: &mut u64, result: &mut Result<u64, E>) -> Option<Self::Future> {
        match result {
            Ok(_) => None,
            Err(_) if self.0 == 0 => None,
            Err(_) => {
                self.0 -= 1;
                Some(ready(()))
            }
        }
    }

    fn clone_request(&mut self, req: &u64) -> Option<u64> {
        Some(*req)
    }
}

pub(crate) fn cases(cfg: &Config) -> Vec<Record> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    let timer = TokioTimer::new();
    let (b1, k1) = (breaker(), Bulkhead::new(64));
    let pipeline = Pipeline::builder()
        .retry(policy())
        .breaker(&b1)
        .bulkhead(&k1)
        .attempt_timeout(ATTEMPT)
        .build()
        .expect("pipeline");
    let (b2, k2, p2) = (breaker(), Bulkhead::new(64), policy());
    let layer = CircuitBreakerLayer::builder()
        .failure_rate_threshold(0.5)
        .sliding_window_size(100)
        .build()
        .expect("tower-resilience breaker");
    let mut tower_svc = rt.block_on(async {
        ServiceBuilder::new()
            .retry(Retries(2))
            .layer(layer)
            .concurrency_limit(64)
            .timeout(ATTEMPT)
            .service(service_fn(
                |i: u64| async move { Ok::<u64, tower::BoxError>(i) },
            ))
    });

    let mut rows = compare(
        cfg,
        "pipeline: timeout+retry+breaker+bulkhead",
        500_000,
        Box::new(|n: u64| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..n {
                    let r = pipeline.call(&timer, || ready(Ok::<u64, ()>(i))).await;
                    black_box(r.ok());
                }
                start.elapsed()
            })
        }),
        vec![
            (
                "the four of ours nested by hand",
                Box::new(|n: u64| {
                    rt.block_on(async {
                        let start = Instant::now();
                        for i in 0..n {
                            let attempt = || {
                                b2.run(&timer, async {
                                    let work = timeout(&timer, ATTEMPT, ready(Ok::<u64, ()>(i)));
                                    match k2.run(work).await {
                                        Ok(Ok(r)) => r.map_err(|()| Hand::Failed),
                                        Ok(Err(_)) => Err(Hand::TimedOut),
                                        Err(_) => Err(Hand::Full),
                                    }
                                })
                            };
                            black_box(attempt.retry(&p2, &timer).await.ok());
                        }
                        start.elapsed()
                    })
                }),
            ),
            (
                "tower + tower-resilience",
                Box::new(|n: u64| {
                    rt.block_on(async {
                        let start = Instant::now();
                        for i in 0..n {
                            let svc = tower_svc.ready().await.expect("ready");
                            black_box(svc.call(i).await.ok());
                        }
                        start.elapsed()
                    })
                }),
            ),
        ],
    );
    // The same pipeline observed by a `tracing` span per call, with no subscriber: the span
    // is disabled, so each event costs a branch and no clock is read.
    rows.extend(compare(
        cfg,
        "pipeline: observed by a tracing span, no subscriber",
        500_000,
        Box::new(|n: u64| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..n {
                    let span = tracing::info_span!("call");
                    let r = pipeline
                        .call(&timer, || ready(Ok::<u64, ()>(i)))
                        .observe(&span)
                        .await;
                    black_box(r.ok());
                }
                start.elapsed()
            })
        }),
        vec![(
            "not observed",
            Box::new(|n: u64| {
                rt.block_on(async {
                    let start = Instant::now();
                    for i in 0..n {
                        let r = pipeline.call(&timer, || ready(Ok::<u64, ()>(i))).await;
                        black_box(r.ok());
                    }
                    start.elapsed()
                })
            }),
        )],
    ));
    rows
}
