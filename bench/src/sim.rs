//! The simulator's speed: simulated requests per second of wall time, for a policy of
//! attempt timeout + retry + circuit breaker + bulkhead against a dependency with errors,
//! slow calls and an outage (so that the retries, the timeouts and the breaker all work),
//! beside the same load through a plain call on the same engine (the engine's own cost).

use std::hint::black_box;
use std::time::{Duration, Instant};

use steadfast::breaker::CircuitBreaker;
use steadfast::bulkhead::Bulkhead;
use steadfast::pipeline::Pipeline;
use steadfast::retry::{Jitter, RetryPolicy};
use steadfast_sim::{DependencyModel, Latency, Load, OutageMode, Simulation};

use crate::{Config, Record, compare};

const MS: fn(u64) -> Duration = Duration::from_millis;
/// Arrivals per second of virtual time.
const RATE: f64 = 2000.0;

/// One simulation of `n` requests, protected or plain; its wall time.
pub(crate) fn simulate(n: u64, protected: bool) -> Duration {
    let model = DependencyModel::builder()
        .latency(Latency::lognormal(MS(5), MS(40)))
        .error_rate(0.05)
        .slow(0.02, Latency::uniform(MS(100), MS(400)))
        // An outage through the middle of every run, whatever its length.
        .outage(
            Duration::from_secs_f64(n as f64 / RATE * 0.4)
                ..Duration::from_secs_f64(n as f64 / RATE * 0.5),
            OutageMode::Hang,
        )
        .build()
        .expect("model");
    let sim = Simulation::builder()
        .seed(n)
        .dependency(model)
        .load(Load::open(RATE).requests(n.max(1)).build().expect("load"))
        .build()
        .expect("simulation");
    let (timer, dependency, observer) = (sim.timer(), sim.dependency(), sim.observer());
    let breaker: CircuitBreaker = CircuitBreaker::builder()
        .count_window(50, 20)
        .failure_rate(50)
        .open_for(MS(200))
        .build()
        .expect("breaker");
    let bulkhead = Bulkhead::builder(32).build().expect("bulkhead");
    let pipeline = Pipeline::builder()
        .retry(
            RetryPolicy::builder()
                .max_attempts(3)
                .exponential(MS(10), 2.0)
                .jitter(Jitter::Full)
                .seed(1)
                .build()
                .expect("policy"),
        )
        .breaker(&breaker)
        .bulkhead_within(&bulkhead, MS(50))
        .attempt_timeout(MS(50))
        .build()
        .expect("pipeline");
    let start = Instant::now();
    let report = if protected {
        sim.policy("protected", async || {
            pipeline
                .call(&timer, || dependency.call())
                .observe(&observer)
                .await
        })
        .run_blocking()
    } else {
        sim.policy("plain", async || dependency.call().await)
            .run_blocking()
    };
    let took = start.elapsed();
    assert_eq!(report.policies[0].requests, n.max(1));
    black_box(report);
    took
}

pub(crate) fn cases(cfg: &Config) -> Vec<Record> {
    let rows = compare(
        cfg,
        "sim: timeout+retry+breaker+bulkhead, per request",
        20_000,
        Box::new(|n| simulate(n, true)),
        vec![(
            "sim: a plain call, per request",
            Box::new(|n| simulate(n, false)),
        )],
    );
    for r in &rows {
        println!(
            "sim: {:.0} simulated requests/s of wall time (timeout+retry+breaker+bulkhead; \
             min {:.0}, max {:.0} over {} rounds); a plain call: {:.0}/s\n",
            1e9 / r.ours.median,
            1e9 / r.ours.max,
            1e9 / r.ours.min,
            cfg.rounds,
            1e9 / r.peer_stats.median
        );
    }
    rows
}
