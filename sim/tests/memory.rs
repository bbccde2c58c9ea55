//! Memory follows what is in flight and the duration, not the number of requests.

use std::time::Duration;

use steadfast::breaker::CircuitBreaker;
use steadfast::bulkhead::Bulkhead;
use steadfast::pipeline::Pipeline;
use steadfast::retry::RetryPolicy;
use steadfast_sim::{DependencyModel, Latency, Load, PolicyReport, Simulation};

const MS: fn(u64) -> Duration = Duration::from_millis;

fn run(load: Load) -> PolicyReport {
    let model = DependencyModel::builder()
        .latency(Latency::lognormal(MS(5), MS(50)))
        .error_rate(0.1)
        .build()
        .unwrap();
    let sim = Simulation::builder()
        .seed(5)
        .dependency(model)
        .load(load)
        .build()
        .unwrap();
    let (timer, dependency, observer) = (sim.timer(), sim.dependency(), sim.observer());
    let breaker: CircuitBreaker = CircuitBreaker::builder()
        .consecutive_failures(20)
        .build()
        .unwrap();
    let bulkhead = Bulkhead::builder(32).build().unwrap();
    let pipeline = Pipeline::builder()
        .retry(
            RetryPolicy::builder()
                .max_attempts(3)
                .constant(MS(5))
                .build()
                .unwrap(),
        )
        .breaker(&breaker)
        .bulkhead(&bulkhead)
        .attempt_timeout(MS(100))
        .build()
        .unwrap();
    let mut report = sim
        .policy("protected", async || {
            pipeline
                .call(&timer, || dependency.call())
                .observe(&observer)
                .await
        })
        .run_blocking();
    report.policies.remove(0)
}

#[test]
fn ten_times_the_requests_hold_no_more_than_what_is_in_flight() {
    let short = run(Load::open(2000.0)
        .duration(Duration::from_secs(5))
        .build()
        .unwrap());
    let long = run(Load::open(2000.0)
        .duration(Duration::from_secs(50))
        .build()
        .unwrap());
    assert!(
        long.requests > 9 * short.requests,
        "{} {}",
        long.requests,
        short.requests
    );
    let (s, l) = (short.engine, long.engine);
    // What is in flight at 2,000 requests/s of a few milliseconds each: tens, not thousands.
    assert!(l.peak_tasks < 200, "{l:?}");
    assert!(l.peak_tasks <= 2 * s.peak_tasks, "{s:?} {l:?}");
    assert!(l.task_slots <= 2 * s.task_slots, "{s:?} {l:?}");
    assert!(l.peak_timers <= 2 * s.peak_timers, "{s:?} {l:?}");
    assert!(l.timer_slots <= 2 * s.timer_slots, "{s:?} {l:?}");
    // One timeline entry per second of virtual time, whatever the rate.
    assert_eq!(short.timeline.len(), 6);
    assert_eq!(long.timeline.len(), 51);
    assert_eq!(short.transitions.capacity(), long.transitions.capacity());
}

#[test]
fn the_rate_changes_what_is_in_flight_not_the_timeline() {
    let slow = run(Load::open(200.0)
        .duration(Duration::from_secs(5))
        .build()
        .unwrap());
    let fast = run(Load::open(2000.0)
        .duration(Duration::from_secs(5))
        .build()
        .unwrap());
    assert_eq!(slow.timeline.len(), fast.timeline.len());
    assert!(fast.engine.peak_tasks > slow.engine.peak_tasks);
}
