//! Chaos testing a pipeline: a dependency that always answers, behind a chaos stage injecting
//! errors, heavy-tailed latency and stalls; the pipeline around it retries, with a timeout per
//! attempt and in all. How many calls still succeed with chaos on, and with it off?
//!
//! `cargo run -p steadfast-tokio --example chaos`. Paused clock: the delays pass at once.

use std::time::Duration;
use steadfast_tokio::TokioTimer;
use steadfast_tokio::chaos::{Chaos, Injected, Latency};
use steadfast_tokio::pipeline::{Pipeline, PipelineError};
use steadfast_tokio::retry::{Jitter, RetryPolicy};

#[derive(Debug)]
enum FetchError {
    Chaos(Injected),
}

impl From<Injected> for FetchError {
    fn from(i: Injected) -> Self {
        FetchError::Chaos(i)
    }
}

/// 10 % errors, 20 % slow (Pareto from 20 ms, a long tail cut at 5 s), 5 % hung.
static CHAOS: Chaos = Chaos::builder()
    .error(0.10)
    .latency(
        0.20,
        Latency::Pareto {
            scale: Duration::from_millis(20),
            shape: 1.2,
            cap: Duration::from_secs(5),
        },
    )
    .stall(0.05)
    .seed(42)
    .build_const();

/// Three attempts, each cut at 250 ms, 1 s in all.
static PIPELINE: Pipeline<'static> = Pipeline::builder()
    .total_timeout(Duration::from_secs(1))
    .retry(
        RetryPolicy::builder()
            .max_attempts(3)
            .exponential(Duration::from_millis(50), 2.0)
            .jitter(Jitter::Full)
            .seed(7)
            .build_const(),
    )
    .attempt_timeout(Duration::from_millis(250))
    .build_const();

/// The dependency itself: always answers, in 5 ms.
async fn lookup(id: u32) -> Result<u32, FetchError> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    Ok(id * 2)
}

const CALLS: u32 = 1000;

/// `CALLS` calls without the pipeline (one attempt, cut at 250 ms) and through it: the
/// successes of each, and the slowest successful call through the pipeline.
async fn round(timer: &TokioTimer) -> (u32, u32, Duration) {
    let (mut bare, mut piped, mut slowest) = (0, 0, Duration::ZERO);
    for id in 0..CALLS {
        let once = tokio::time::timeout(Duration::from_millis(250), CHAOS.call(timer, lookup(id)));
        if matches!(once.await, Ok(Ok(_))) {
            bare += 1;
        }
        let start = tokio::time::Instant::now();
        match PIPELINE.call(timer, || CHAOS.call(timer, lookup(id))).await {
            Ok(v) => {
                assert_eq!(v, id * 2);
                piped += 1;
                slowest = slowest.max(start.elapsed());
            }
            Err(e @ (PipelineError::RetriesExhausted(_) | PipelineError::Timeout(_))) => {
                match e.error() {
                    Some(FetchError::Chaos(injected)) => {
                        println!("  call {id}: gave up on {injected}")
                    }
                    None => println!("  call {id}: {e}"),
                }
            }
            Err(other) => panic!("unexpected: {other:?}"),
        }
    }
    (bare, piped, slowest)
}

fn percent(n: u32) -> f64 {
    f64::from(n) * 100.0 / f64::from(CALLS)
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let timer = TokioTimer::new();

    let (bare, piped, slowest) = round(&timer).await;
    let m = CHAOS.metrics();
    println!(
        "chaos on:  {:5.1} % of single calls succeed, {:5.1} % through the pipeline (slowest success {slowest:?})",
        percent(bare),
        percent(piped),
    );
    println!(
        "           {} draws: {} errors, {} delayed, {} stalled",
        m.drawn, m.errors, m.latencies, m.stalls
    );
    assert!(piped > bare, "retries recover most injected faults");
    assert!(
        percent(piped) > 95.0,
        "a call fails only when all its attempts do"
    );

    CHAOS.disable();
    let (bare, piped, _) = round(&timer).await;
    println!(
        "chaos off: {:5.1} % of single calls succeed, {:5.1} % through the pipeline",
        percent(bare),
        percent(piped),
    );
    assert_eq!((bare, piped), (CALLS, CALLS));
    assert_eq!(CHAOS.metrics().drawn, m.drawn, "no draws while off");
}
