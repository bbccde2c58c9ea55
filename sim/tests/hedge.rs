//! A hedged pipeline in the simulator: hedges are launched for slow calls, the losers are
//! dropped (cancelled at the dependency), and the tail shrinks.

use std::time::Duration;

use steadfast::hedge::HedgePolicy;
use steadfast::pipeline::Pipeline;
use steadfast_sim::{DependencyModel, Latency, Load, Simulation};

const MS: fn(u64) -> Duration = Duration::from_millis;

#[test]
fn hedging_cuts_the_tail_of_slow_calls() {
    // 10% of calls take a second; the rest 10 ms.
    let model = DependencyModel::builder()
        .latency(Latency::fixed(MS(10)))
        .slow(0.1, Latency::fixed(Duration::from_secs(1)))
        .build()
        .unwrap();
    let sim = Simulation::builder()
        .seed(4)
        .dependency(model)
        .load(Load::open(200.0).requests(5000).build().unwrap())
        .build()
        .unwrap();
    let (timer, dependency, observer) = (sim.timer(), sim.dependency(), sim.observer());
    let pipeline = Pipeline::builder().build().unwrap();
    let hedge = HedgePolicy::builder()
        .max_attempts(3)
        .delay(MS(50))
        .build()
        .unwrap();
    let report = sim
        .policy("plain", async || dependency.call().await)
        .policy("hedged", async || {
            pipeline
                .call_hedged(&timer, &hedge, || dependency.call())
                .observe(&observer)
                .await
        })
        .run_blocking();
    let (plain, hedged) = (&report.policies[0], &report.policies[1]);
    // About one request in ten is slow without hedging; its p99 is a second.
    assert_eq!(plain.latency_quantile(0.99), Duration::from_secs(1));
    assert!(plain.latency_quantile(0.85) == MS(10));
    // Hedged: a slow first attempt gets a hedge at 50 ms, which answers 10 ms later
    // (unless it is slow too: one in a hundred, which the third attempt mostly covers).
    assert!(
        hedged.hedges > 400 && hedged.hedges < 600,
        "{}",
        hedged.hedges
    );
    let p99 = hedged.latency_quantile(0.99).as_secs_f64();
    assert!((p99 - 0.060).abs() < 0.0006, "{p99}"); // within the histogram's 1%
    // Two slow attempts: the third answers at 110 ms; three (one request in a thousand): the
    // first, at a second.
    assert!(hedged.latency_quantile(0.995) <= MS(111));
    assert_eq!(hedged.latency.max(), Duration::from_secs(1));
    // Each winner drops its losers: the slow calls are cancelled at the dependency.
    assert_eq!(hedged.dependency_cancelled, hedged.hedges);
    assert_eq!(hedged.successes, 5000);
}
