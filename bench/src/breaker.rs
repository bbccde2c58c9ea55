//! Circuit breaker, closed state: admit a call, run it, record its success. Ours through
//! `run` (two clock reads) and through the permit API, beside tower-resilience's breaker layer
//! and failsafe-rs; on one thread and with two worker threads sharing one breaker.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::Instant;

use failsafe::CircuitBreaker as _;
use steadfast::breaker::{CircuitBreaker, Outcome};
use steadfast_tokio::TokioTimer;
use tower::{Service, ServiceExt, service_fn};
use tower_resilience_circuitbreaker::CircuitBreakerLayer;

use crate::{Config, Record, Runner, compare, on_threads};

fn ours() -> CircuitBreaker {
    CircuitBreaker::builder()
        .count_window(100, 20)
        .failure_rate(50)
        .build()
        .expect("breaker")
}

pub(crate) fn cases(cfg: &Config) -> Vec<Record> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    let mut out = Vec::new();
    let breaker = ours();
    let timer = TokioTimer::new();
    let failsafe = failsafe::Config::new().build();
    let layer = CircuitBreakerLayer::builder()
        .failure_rate_threshold(0.5)
        .sliding_window_size(100)
        .build()
        .expect("tower-resilience breaker");
    let inner = service_fn(|i: u64| async move { Ok::<u64, std::io::Error>(i) });
    let mut tower_svc = tower::Layer::layer(&layer, inner);

    out.extend(compare(
        cfg,
        "breaker closed: admit, call, record (1 thread)",
        500_000,
        Box::new(|n: u64| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..n {
                    let r = breaker.run(&timer, async { Ok::<u64, ()>(i) }).await;
                    black_box(r.ok());
                }
                start.elapsed()
            })
        }),
        vec![
            (
                "ours, permit API",
                Box::new(|n: u64| {
                    let start = Instant::now();
                    for i in 0..n {
                        let now = timer.now();
                        let p = breaker.try_acquire(now).expect("closed");
                        black_box(i);
                        p.record(timer.now(), Outcome::Success);
                    }
                    start.elapsed()
                }) as Runner<'_>,
            ),
            (
                "failsafe-rs",
                Box::new(|n: u64| {
                    let start = Instant::now();
                    for i in 0..n {
                        black_box(failsafe.call(|| Ok::<u64, ()>(i)).ok());
                    }
                    start.elapsed()
                }),
            ),
            (
                "tower-resilience",
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
    ));

    let shared = Arc::new(ours());
    let failsafe = failsafe::Config::new().build();
    out.extend(compare(
        cfg,
        "breaker closed: admit, call, record (2 threads, one breaker)",
        500_000,
        Box::new(|n: u64| {
            on_threads(2, n, &|n| {
                let timer = TokioTimer::new();
                let cx = &mut Context::from_waker(Waker::noop());
                for i in 0..n {
                    let run = pin!(shared.run(&timer, async { Ok::<u64, ()>(i) }));
                    assert!(black_box(run.poll(cx)).is_ready());
                }
            })
        }),
        vec![(
            "failsafe-rs",
            Box::new(|n: u64| {
                on_threads(2, n, &|n| {
                    for i in 0..n {
                        black_box(failsafe.call(|| Ok::<u64, ()>(i)).ok());
                    }
                })
            }) as Runner<'_>,
        )],
    ));
    out
}
