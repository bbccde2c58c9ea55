//! The same layer stack on smol's executor with `AsyncIoTimer` (async-io's clock, which
//! async-std uses too): no tokio anywhere in these services.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use steadfast::breaker::CircuitBreaker;
use steadfast::bulkhead::Bulkhead;
use steadfast::limiter::RateLimiter;
use steadfast::retry::RetryPolicy;
use steadfast_smol::AsyncIoTimer;
use steadfast_tower::breaker::BreakerLayer;
use steadfast_tower::bulkhead::BulkheadLayer;
use steadfast_tower::limiter::RateLimitLayer;
use steadfast_tower::retry::RetryLayer;
use steadfast_tower::timeout::TimeoutLayer;
use steadfast_tower::{BoxError, Error};
use tower::{ServiceBuilder, ServiceExt, service_fn};

/// How many calls are inside the inner service, and the most there ever were.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
    calls: AtomicUsize,
}

#[test]
fn the_stack_runs_on_smol_with_the_async_io_clock() {
    let timer = AsyncIoTimer::new();
    let bulkhead = Arc::new(Bulkhead::new(2));
    let breaker = Arc::new(
        CircuitBreaker::builder()
            .consecutive_failures(3)
            .build::<1>()
            .unwrap(),
    );
    let limiter = Arc::new(
        RateLimiter::builder(1000, Duration::from_secs(1))
            .burst(100)
            .build()
            .unwrap(),
    );
    let policy = RetryPolicy::builder()
        .max_attempts(3)
        .constant(Duration::from_millis(1))
        .build()
        .unwrap();
    let gauge = Arc::new(Gauge::default());

    let g = gauge.clone();
    let inner = service_fn(move |ms: u64| {
        let g = g.clone();
        async move {
            let n = g.now.fetch_add(1, Ordering::SeqCst) + 1;
            g.max.fetch_max(n, Ordering::SeqCst);
            let call = g.calls.fetch_add(1, Ordering::SeqCst);
            async_io::Timer::after(Duration::from_millis(ms)).await;
            g.now.fetch_sub(1, Ordering::SeqCst);
            // Every 5th call fails once: the retry covers it.
            if call % 5 == 4 {
                Err::<u64, BoxError>("flaky".into())
            } else {
                Ok(ms)
            }
        }
    });
    let svc = ServiceBuilder::new()
        .layer(RetryLayer::new(timer, policy))
        .layer(BreakerLayer::new(breaker.clone(), timer))
        .layer(RateLimitLayer::new(limiter, timer))
        .layer(BulkheadLayer::new(bulkhead.clone(), timer))
        .layer(TimeoutLayer::new(timer, Duration::from_millis(50)))
        .service(inner);

    smol::block_on(async {
        let calls = (0..8).map(|_| svc.clone().oneshot(3));
        let results = join_all(calls).await;
        assert!(results.iter().all(|r| matches!(r, Ok(3))), "{results:?}");
        assert!(
            gauge.max.load(Ordering::SeqCst) <= 2,
            "the bulkhead held the line"
        );
        assert_eq!(
            gauge.max.load(Ordering::SeqCst),
            2,
            "and let two through at once"
        );

        let start = Instant::now();
        let err = svc.clone().oneshot(10_000).await.unwrap_err();
        assert!(
            matches!(err.downcast_ref::<Error>(), Some(Error::TimedOut(_))),
            "{err}"
        );
        // Three attempts of 50 ms each, all cut at the limit.
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "cut at the limit, not after 10 s"
        );
        assert_eq!(bulkhead.metrics().in_flight, 0);
    });
    assert_eq!(
        Arc::strong_count(&breaker),
        2,
        "the layer's and the service's, no permit left"
    );
}

#[test]
fn an_open_circuit_answers_at_once_on_smol() {
    let timer = AsyncIoTimer::new();
    let breaker = Arc::new(
        CircuitBreaker::builder()
            .consecutive_failures(1)
            .build::<1>()
            .unwrap(),
    );
    let svc = ServiceBuilder::new()
        .layer(BreakerLayer::new(breaker, timer))
        .service(service_fn(|fail: bool| async move {
            if fail { Err("down") } else { Ok::<_, &str>(()) }
        }));
    smol::block_on(async {
        assert!(svc.clone().oneshot(true).await.is_err());
        let err = svc.oneshot(false).await.unwrap_err();
        assert!(matches!(
            err.downcast_ref::<Error>(),
            Some(Error::CircuitOpen(_))
        ));
    });
}
