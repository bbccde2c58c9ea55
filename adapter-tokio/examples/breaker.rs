//! A circuit breaker in front of a dependency that goes down: calls are refused at once while
//! it is open, one probe tests it after the open time, and its success closes the breaker.
//!
//! `cargo run -p steadfast-tokio --example breaker`. Paused clock: the open time passes at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use steadfast_tokio::TokioTimer;
use steadfast_tokio::breaker::{BreakerError, CircuitBreaker, State, Transition};

fn log_transition(t: &Transition) {
    println!("  breaker: {:?} -> {:?}", t.from, t.to);
}

/// Opens after three failures in a row, for ten seconds; one probe then decides.
static UPSTREAM: CircuitBreaker = CircuitBreaker::builder()
    .consecutive_failures(3)
    .open_for(Duration::from_secs(10))
    .on_transition(log_transition)
    .build_const();

static DOWN: AtomicBool = AtomicBool::new(true);

async fn call_upstream() -> Result<&'static str, &'static str> {
    tokio::time::sleep(Duration::from_millis(20)).await;
    if DOWN.load(Ordering::Relaxed) {
        Err("503")
    } else {
        Ok("ok")
    }
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let timer = TokioTimer::new();
    for i in 1..=5 {
        match UPSTREAM.run(&timer, call_upstream()).await {
            Ok(v) => println!("call {i}: {v}"),
            Err(BreakerError::Open(open)) => {
                println!(
                    "call {i}: refused without calling, come back in {:?}",
                    open.retry_after()
                );
            }
            Err(e) => println!("call {i}: failed: {:?}", e.into_failed()),
        }
    }
    assert_eq!(UPSTREAM.state(timer.now()), State::Open);

    // The dependency recovers; after the open time one probe goes through and closes it.
    DOWN.store(false, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let probe = UPSTREAM.run(&timer, call_upstream()).await;
    println!("probe: {probe:?}");
    assert_eq!(probe, Ok("ok"));
    assert_eq!(UPSTREAM.state(timer.now()), State::Closed);
}
