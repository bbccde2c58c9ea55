//! steadfast-tower's layers beside tower's own (`Timeout`, `ConcurrencyLimit`, `Retry`,
//! `RateLimit`, `Hedge`) and tower-resilience's circuit breaker: the per-call cost on the
//! happy path, `ready().await` then `call(..).await` on a service that answers at once, one
//! thread.

use std::future::{Ready, ready};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use steadfast::breaker::CircuitBreaker;
use steadfast::bulkhead::Bulkhead;
use steadfast::hedge::HedgePolicy;
use steadfast::limiter::RateLimiter;
use steadfast::pipeline::Pipeline;
use steadfast::retry::RetryPolicy;
use steadfast_tokio::TokioTimer;
use steadfast_tower::BoxError;
use tower::{Layer, Service, ServiceExt, service_fn};

use crate::{Config, Record, Runner, compare};

/// tower's `Retry` needs a policy: up to `0` retries of errors, the request copied.
#[derive(Clone)]
struct Attempts(usize);

impl<E> tower::retry::Policy<u64, u64, E> for Attempts {
    type Future = Ready<()>;

    fn retry(&mut self, _: &mut u64, result: &mut Result<u64, E>) -> Option<Self::Future> {
        match result {
            Err(_) if self.0 > 0 => {
                self.0 -= 1;
                Some(ready(()))
            }
            _ => None,
        }
    }

    fn clone_request(&mut self, req: &u64) -> Option<u64> {
        Some(*req)
    }
}

/// tower's `Retry` with the backoff its docs offer (`ExponentialBackoff`, from 100 ms, no
/// jitter), as our default policy has: up to `attempts` retries of errors, the request copied.
#[derive(Clone)]
struct Backoff {
    attempts: usize,
    backoff: tower::retry::backoff::ExponentialBackoff,
}

impl Backoff {
    fn new(attempts: usize) -> Self {
        use tower::retry::backoff::{ExponentialBackoffMaker, MakeBackoff};
        let mut maker = ExponentialBackoffMaker::new(
            Duration::from_millis(100),
            Duration::from_secs(3600),
            0.0,
            tower::util::rng::HasherRng::default(),
        )
        .expect("backoff");
        Backoff {
            attempts,
            backoff: maker.make_backoff(),
        }
    }
}

impl<E> tower::retry::Policy<u64, u64, E> for Backoff {
    type Future = tokio::time::Sleep;

    fn retry(&mut self, _: &mut u64, result: &mut Result<u64, E>) -> Option<Self::Future> {
        use tower::retry::backoff::Backoff as _;
        match result {
            Err(_) if self.attempts > 0 => {
                self.attempts -= 1;
                Some(self.backoff.next_backoff())
            }
            _ => None,
        }
    }

    fn clone_request(&mut self, req: &u64) -> Option<u64> {
        Some(*req)
    }
}

/// `n` calls, each `ready` then `call`, on a current-thread runtime.
fn calls<'a, S>(rt: &'a tokio::runtime::Runtime, mut svc: S) -> Runner<'a>
where
    S: Service<u64, Response = u64> + 'a,
    S::Error: std::fmt::Debug,
{
    Box::new(move |n: u64| {
        rt.block_on(async {
            let start = Instant::now();
            for i in 0..n {
                let svc = svc.ready().await.expect("ready");
                black_box(svc.call(i).await.expect("answered"));
            }
            start.elapsed()
        })
    })
}

fn inner()
-> impl Service<u64, Response = u64, Error = BoxError, Future = Ready<Result<u64, BoxError>>> + Clone
{
    service_fn(|i: u64| ready(Ok::<u64, BoxError>(i)))
}

pub(crate) fn cases(cfg: &Config) -> Vec<Record> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    let timer = TokioTimer::new();
    let mut out = Vec::new();
    let ops = 200_000;

    let limit = Duration::from_secs(60);
    out.extend(compare(
        cfg,
        "tower timeout layer",
        ops,
        calls(
            &rt,
            steadfast_tower::timeout::TimeoutLayer::new(timer, limit).layer(inner()),
        ),
        vec![(
            "tower Timeout",
            calls(&rt, tower::timeout::TimeoutLayer::new(limit).layer(inner())),
        )],
    ));

    let bulkhead = Arc::new(Bulkhead::new(8));
    out.extend(compare(
        cfg,
        "tower bulkhead layer (8 permits)",
        ops,
        calls(
            &rt,
            steadfast_tower::bulkhead::BulkheadLayer::new(bulkhead, timer).layer(inner()),
        ),
        vec![(
            "tower ConcurrencyLimit",
            calls(
                &rt,
                tower::limit::ConcurrencyLimitLayer::new(8).layer(inner()),
            ),
        )],
    ));

    let policy = RetryPolicy::builder()
        .max_attempts(3)
        .build()
        .expect("policy");
    out.extend(compare(
        cfg,
        "tower retry layer (success path)",
        ops,
        calls(
            &rt,
            steadfast_tower::retry::RetryLayer::new(timer, policy).layer(inner()),
        ),
        vec![
            (
                "tower Retry, exponential backoff",
                calls(
                    &rt,
                    tower::retry::RetryLayer::new(Backoff::new(2)).layer(inner()),
                ),
            ),
            (
                "tower Retry, no delay",
                calls(
                    &rt,
                    tower::retry::RetryLayer::new(Attempts(2)).layer(inner()),
                ),
            ),
        ],
    ));

    let breaker = Arc::new(
        CircuitBreaker::builder()
            .count_window(100, 20)
            .failure_rate(50)
            .build::<10>()
            .expect("breaker"),
    );
    let resilience = tower_resilience_circuitbreaker::CircuitBreakerLayer::builder()
        .failure_rate_threshold(0.5)
        .sliding_window_size(100)
        .build()
        .expect("tower-resilience breaker");
    out.extend(compare(
        cfg,
        "tower breaker layer (closed)",
        ops,
        calls(
            &rt,
            steadfast_tower::breaker::BreakerLayer::new(breaker, timer).layer(inner()),
        ),
        vec![(
            "tower-resilience breaker",
            calls(&rt, resilience.layer(inner())),
        )],
    ));

    // A rate no run reaches: the cost of taking a cell.
    let limiter = Arc::new(
        RateLimiter::builder(1_000_000_000, Duration::from_secs(1))
            .burst(1_000_000)
            .build()
            .expect("limiter"),
    );
    out.extend(compare(
        cfg,
        "tower rate-limit layer (under the rate)",
        ops,
        calls(
            &rt,
            steadfast_tower::limiter::RateLimitLayer::new(limiter, timer).layer(inner()),
        ),
        vec![(
            "tower RateLimit",
            calls(&rt, {
                // tower's RateLimit builds its tokio sleep at construction.
                let _in_runtime = rt.enter();
                tower::limit::RateLimitLayer::new(1_000_000_000, Duration::from_secs(1))
                    .layer(inner())
            }),
        )],
    ));

    // The first attempt answers at once: no hedge is sent. tower's `Hedge` has its delay
    // from the p90 of a latency histogram, filled here with 10 ms latencies.
    let hedge = HedgePolicy::builder()
        .max_attempts(2)
        .delay(crate::hedge::DELAY)
        .build()
        .expect("policy");
    out.extend(compare(
        cfg,
        "tower hedge layer (happy path)",
        ops,
        calls(
            &rt,
            steadfast_tower::hedge::HedgeLayer::new(timer, hedge).layer(inner()),
        ),
        vec![(
            "tower hedge (p90 of 10 ms)",
            calls(
                &rt,
                tower::hedge::Hedge::new_with_mock_latencies(
                    inner(),
                    crate::hedge::HedgeAll,
                    10,
                    0.9,
                    Duration::from_secs(3600),
                    &[10; 100],
                ),
            ),
        )],
    ));

    static BREAKER: CircuitBreaker = CircuitBreaker::builder()
        .count_window(100, 20)
        .failure_rate(50)
        .build_const();
    static BULKHEAD: Bulkhead = Bulkhead::new(8);
    static PIPELINE: Pipeline<'static> = Pipeline::builder()
        .retry(RetryPolicy::builder().max_attempts(3).build_const())
        .breaker(&BREAKER)
        .bulkhead(&BULKHEAD)
        .attempt_timeout(Duration::from_secs(60))
        .build_const();
    let resilience = tower_resilience_circuitbreaker::CircuitBreakerLayer::builder()
        .failure_rate_threshold(0.5)
        .sliding_window_size(100)
        .build()
        .expect("tower-resilience breaker");
    let peer_stack = tower::ServiceBuilder::new()
        .layer(tower::retry::RetryLayer::new(Attempts(2)))
        .layer(resilience)
        .layer(tower::limit::ConcurrencyLimitLayer::new(8))
        .layer(tower::timeout::TimeoutLayer::new(limit))
        .service(inner());
    out.extend(compare(
        cfg,
        "tower pipeline layer (retry, breaker, bulkhead, attempt timeout)",
        ops,
        calls(
            &rt,
            steadfast_tower::pipeline::PipelineLayer::new(&PIPELINE, timer).layer(inner()),
        ),
        vec![(
            "tower Retry+ConcurrencyLimit+Timeout, tower-resilience breaker",
            calls(&rt, peer_stack),
        )],
    ));
    out
}
