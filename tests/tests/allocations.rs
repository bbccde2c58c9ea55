//! Hot paths allocate nothing: counted with a global allocator that tallies every allocation
//! made on the test's thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::{pending, ready};
use std::time::Duration;

use steadfast::timeout::TimeoutExt;
use steadfast_tokio::TokioTimer;

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

#[test]
fn timeout_allocates_nothing_on_either_path() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let timer = TokioTimer::new();
        // Warm up: the runtime's lazily built structures are not ours to count.
        let _ = pending::<()>()
            .timeout(&timer, Duration::from_millis(1))
            .await;

        let before = allocations();
        for i in 0..1_000u32 {
            assert_eq!(
                ready(i).timeout(&timer, Duration::from_secs(1)).await,
                Ok(i)
            );
        }
        assert_eq!(allocations() - before, 0, "ready path allocated");

        let before = allocations();
        for _ in 0..100 {
            let r = pending::<()>()
                .timeout(&timer, Duration::from_millis(3))
                .await;
            assert!(r.is_err());
        }
        assert_eq!(allocations() - before, 0, "firing path allocated");
    });
}

#[test]
fn bulkhead_admission_allocates_nothing() {
    use steadfast::bulkhead::{Bulkhead, Rejected};

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let timer = TokioTimer::new();
        let bulkhead = Bulkhead::builder(1).max_waiting(4).build().unwrap();
        let wait = Duration::from_millis(5);
        let contended = || async {
            let hold = bulkhead.run_within(&timer, wait, timer.sleep(Duration::from_millis(1)));
            let wait = bulkhead.run_within(&timer, wait, ready(()));
            let late = async {
                let permit = bulkhead.acquire().await;
                drop(permit);
            };
            let (a, b, ()) = futures_util::future::join3(hold, wait, late).await;
            assert_eq!((a, b), (Ok(()), Ok(())));
        };
        // Warm up: the runtime's lazily built structures are not ours to count.
        contended().await;

        let before = allocations();
        for i in 0..1_000u32 {
            assert_eq!(bulkhead.run(ready(i)).await, Ok(i));
            assert_eq!(bulkhead.run_within(&timer, wait, ready(i)).await, Ok(i));
            let permit = bulkhead.try_acquire().unwrap();
            assert_eq!(bulkhead.try_acquire().unwrap_err(), Rejected::Full);
            drop(permit);
        }
        assert_eq!(allocations() - before, 0, "uncontended admission allocated");

        let before = allocations();
        for _ in 0..100 {
            contended().await;
        }
        assert_eq!(allocations() - before, 0, "waiting admission allocated");
    });
}

#[test]
fn a_pipeline_call_allocates_nothing_on_the_happy_path_or_through_retries() {
    use steadfast::breaker::CircuitBreaker;
    use steadfast::bulkhead::Bulkhead;
    use steadfast::limiter::RateLimiter;
    use steadfast::pipeline::Pipeline;
    use steadfast::retry::{RetryBudget, RetryPolicy};

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let breaker: CircuitBreaker = CircuitBreaker::builder()
        .consecutive_failures(1_000)
        .build()
        .unwrap();
    let limiter = RateLimiter::builder(1_000_000, Duration::from_secs(1))
        .build()
        .unwrap();
    let bulkhead = Bulkhead::new(4);
    let budget = RetryBudget::builder().min_retries(1_000).build().unwrap();
    let p = Pipeline::builder()
        .total_timeout(Duration::from_secs(10))
        .retry(
            RetryPolicy::builder()
                .max_attempts(3)
                .constant(Duration::from_millis(1))
                .build()
                .unwrap(),
        )
        .budget(&budget)
        .breaker(&breaker)
        .limiter(&limiter)
        .bulkhead(&bulkhead)
        .attempt_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    rt.block_on(async {
        let timer = TokioTimer::new();
        // Warm up: the runtime's lazily built structures are not ours to count.
        let _ = p.call(&timer, || ready(Err::<u32, u8>(1))).await;

        let before = allocations();
        for i in 0..1_000u32 {
            assert_eq!(p.call(&timer, || ready(Ok::<_, u8>(i))).await, Ok(i));
        }
        assert_eq!(allocations() - before, 0, "happy path allocated");

        let before = allocations();
        for _ in 0..100 {
            let mut n = 0;
            let out = p
                .call(&timer, || {
                    n += 1;
                    ready(if n < 3 { Err(1u8) } else { Ok(n) })
                })
                .await;
            assert_eq!(out, Ok(3));
        }
        assert_eq!(allocations() - before, 0, "retries allocated");

        // Observed: the events are borrowed values, built on the stack.
        let recorder = steadfast_conformance::observe::Recorder::new();
        let before = allocations();
        for _ in 0..100 {
            let mut n = 0;
            let out = p
                .call(&timer, || {
                    n += 1;
                    ready(if n < 2 { Err(1u8) } else { Ok(n) })
                })
                .observe(&recorder)
                .await;
            assert_eq!(out, Ok(2));
        }
        assert_eq!(allocations() - before, 0, "an observed call allocated");
    });
}

#[test]
fn hedging_allocates_nothing_on_the_happy_path_or_when_it_hedges() {
    use steadfast::hedge::HedgePolicy;
    static POLICY: HedgePolicy = HedgePolicy::builder()
        .max_attempts(3)
        .delay(Duration::from_millis(5))
        .build_const();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let timer = TokioTimer::new();
        let slow = |n: u32| {
            let t = timer;
            async move {
                if n == 1 {
                    t.sleep(Duration::from_millis(50)).await;
                }
                Ok::<u32, ()>(n)
            }
        };
        // Warm up the runtime's timer structures.
        let mut n = 0;
        let _ = POLICY
            .run(&timer, || {
                n += 1;
                slow(n)
            })
            .await;

        let before = allocations();
        for i in 0..1_000u32 {
            assert_eq!(POLICY.run(&timer, || ready(Ok::<_, ()>(i))).await, Ok(i));
        }
        assert_eq!(allocations() - before, 0, "happy path allocated");

        let before = allocations();
        for _ in 0..100 {
            let mut n = 0;
            let out = POLICY
                .run(&timer, || {
                    n += 1;
                    slow(n)
                })
                .await;
            assert_eq!(out, Ok(2));
        }
        assert_eq!(allocations() - before, 0, "hedging path allocated");
    });
}

#[test]
fn the_limiters_allocate_nothing_granting_or_waiting() {
    use steadfast::limiter::{KeyedRateLimiter, RateLimiter};

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let plain = RateLimiter::builder(1_000, Duration::from_secs(1))
        .burst(10)
        .build()
        .unwrap();
    let keyed: KeyedRateLimiter<u32, 8> = RateLimiter::builder(1_000, Duration::from_secs(1))
        .burst(10)
        .build_keyed()
        .unwrap();
    rt.block_on(async {
        let timer = TokioTimer::new();
        // Warm up: the runtime's lazily built structures are not ours to count.
        tokio::time::sleep(Duration::from_millis(1)).await;

        let before = allocations();
        // Bursts granted at once, then waits of a millisecond a cell (the paused clock
        // advances), for 16 keys in a table of 8: keys are evicted and taken again.
        for i in 0..1_000u32 {
            let _ = plain.try_acquire(timer.now(), 1);
            plain.acquire(&timer, 1).await.unwrap();
            let _ = keyed.try_acquire(&(i % 16), timer.now(), 1);
            keyed.acquire(i % 4, &timer, 2).await.unwrap();
        }
        assert_eq!(allocations() - before, 0, "the limiters allocated");
    });
}

#[test]
fn batches_cut_by_time_allocate_once_each() {
    use futures_util::StreamExt;
    use steadfast::batch::Batches;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        // An item every millisecond, cut every 10 ms with room for 100: batches of about 10.
        let items = futures_util::stream::unfold(0u32, |i| async move {
            if i == 400 {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
            Some((i, i + 1))
        });
        let batches = Batches::builder(TokioTimer::new())
            .batch_size(100)
            .flush_interval(Duration::from_millis(10))
            .build(items)
            .unwrap();
        let mut batches = std::pin::pin!(batches);
        // The first batch grows from empty; the others are counted.
        let first = batches.next().await.unwrap();
        let (before, mut count, mut held) = (allocations(), 0u64, first.len());
        while let Some(batch) = batches.next().await {
            count += 1;
            held += batch.len();
        }
        assert_eq!(held, 400);
        assert!(count >= 30, "{count} batches: not cut by time");
        let made = allocations() - before;
        assert!(made <= count, "{made} allocations for {count} batches");
    });
}
