//! The happy path of every layer allocates nothing: `ready` then `call` on a service that
//! answers at once, counted with a global allocator that tallies every allocation made on
//! the test's thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::time::Duration;

use steadfast::breaker::CircuitBreaker;
use steadfast::bulkhead::Bulkhead;
use steadfast::hedge::HedgePolicy;
use steadfast::limiter::RateLimiter;
use steadfast::pipeline::Pipeline;
use steadfast::retry::{RetryBudget, RetryPolicy};
use steadfast_tokio::TokioTimer;
use steadfast_tower::BoxError;
use steadfast_tower::breaker::BreakerLayer;
use steadfast_tower::bulkhead::BulkheadLayer;
use steadfast_tower::hedge::HedgeLayer;
use steadfast_tower::limiter::RateLimitLayer;
use steadfast_tower::pipeline::PipelineLayer;
use steadfast_tower::retry::RetryLayer;
use steadfast_tower::timeout::TimeoutLayer;
use tower::{Layer, Service, ServiceExt, service_fn};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator unchanged; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

fn inner()
-> impl Service<u64, Response = u64, Error = BoxError, Future = Ready<Result<u64, BoxError>>> + Clone
{
    service_fn(|i: u64| ready(Ok::<u64, BoxError>(i)))
}

/// Allocations made by 1,000 calls on `svc`, after one call to warm up.
fn allocations_per_1000<S>(mut svc: S) -> u64
where
    S: Service<u64, Response = u64>,
    S::Error: std::fmt::Debug,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let _ = svc.ready().await.unwrap().call(0).await.unwrap();
        let before = allocations();
        for i in 0..1_000 {
            assert_eq!(svc.ready().await.unwrap().call(i).await.unwrap(), i);
        }
        allocations() - before
    })
}

#[test]
fn every_layer_answers_without_allocating() {
    let timer = TokioTimer::new();
    let secs = Duration::from_secs(60);
    let policy = RetryPolicy::builder().max_attempts(3).build().unwrap();
    let budget = Arc::new(RetryBudget::builder().build().unwrap());
    let breaker = Arc::new(CircuitBreaker::builder().build::<10>().unwrap());
    let limiter = Arc::new(
        RateLimiter::builder(1_000_000, Duration::from_secs(1))
            .build()
            .unwrap(),
    );
    let hedge = HedgePolicy::builder()
        .max_attempts(2)
        .delay(Duration::from_millis(10))
        .build()
        .unwrap();
    static BULKHEAD: Bulkhead = Bulkhead::new(8);
    static PIPELINE: Pipeline<'static> = Pipeline::builder()
        .retry(RetryPolicy::builder().max_attempts(3).build_const())
        .bulkhead(&BULKHEAD)
        .attempt_timeout(Duration::from_secs(60))
        .build_const();

    let counts = [
        (
            "timeout",
            allocations_per_1000(TimeoutLayer::new(timer, secs).layer(inner())),
        ),
        (
            "bulkhead",
            allocations_per_1000(
                BulkheadLayer::new(Arc::new(Bulkhead::new(8)), timer).layer(inner()),
            ),
        ),
        (
            "retry",
            allocations_per_1000(RetryLayer::new(timer, policy).layer(inner())),
        ),
        (
            "retry with a budget and a deadline",
            allocations_per_1000(
                RetryLayer::new(
                    timer,
                    RetryPolicy::builder().max_elapsed(secs).build().unwrap(),
                )
                .budget(budget)
                .layer(inner()),
            ),
        ),
        (
            "breaker",
            allocations_per_1000(BreakerLayer::new(breaker, timer).layer(inner())),
        ),
        (
            "rate limit",
            allocations_per_1000(RateLimitLayer::new(limiter, timer).layer(inner())),
        ),
        (
            "hedge",
            allocations_per_1000(HedgeLayer::new(timer, hedge).layer(inner())),
        ),
        (
            "pipeline",
            allocations_per_1000(PipelineLayer::new(&PIPELINE, timer).layer(inner())),
        ),
    ];
    for (layer, count) in counts {
        assert_eq!(count, 0, "the {layer} layer allocated");
    }
}
