//! A run is a pure function of its settings and its seed: the same report under every
//! executor's `block_on` and under `run_blocking`; another seed, other numbers.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use steadfast::breaker::CircuitBreaker;
use steadfast::bulkhead::Bulkhead;
use steadfast::pipeline::Pipeline;
use steadfast::retry::{Jitter, RetryPolicy};
use steadfast_sim::{Brownout, DependencyModel, Latency, Load, OutageMode, Report, Simulation};

type Run<'a> = Pin<Box<dyn Future<Output = Report> + 'a>>;

const MS: fn(u64) -> Duration = Duration::from_millis;
const SECS: fn(u64) -> Duration = Duration::from_secs;

/// Timeout, jittered retry, breaker and bulkhead through an outage and a brownout, run by
/// `exec` (`None`: `run_blocking`).
fn scenario(seed: u64, exec: Option<&dyn Fn(Run<'_>) -> Report>) -> Report {
    let model = DependencyModel::builder()
        .latency(Latency::lognormal(MS(8), MS(60)))
        .error_rate(0.05)
        .slow(0.03, Latency::pareto(MS(100), 1.5))
        .outage(SECS(8)..SECS(12), OutageMode::Hang)
        .brownout(
            Brownout::new(SECS(15)..SECS(18))
                .latency_factor(4.0)
                .extra_error_rate(0.1),
        )
        .capacity(32)
        .build()
        .unwrap();
    let sim = Simulation::builder()
        .seed(seed)
        .dependency(model)
        .load(Load::open(1000.0).duration(SECS(30)).build().unwrap())
        .build()
        .unwrap();
    let (timer, dependency, observer) = (sim.timer(), sim.dependency(), sim.observer());
    let breaker: CircuitBreaker = CircuitBreaker::builder()
        .count_window(40, 20)
        .failure_rate(50)
        .open_for(MS(300))
        .build()
        .unwrap();
    let bulkhead = Bulkhead::builder(24).build().unwrap();
    let policy = RetryPolicy::builder()
        .max_attempts(3)
        .exponential(MS(10), 2.0)
        .jitter(Jitter::Full)
        .seed(seed)
        .build()
        .unwrap();
    let pipeline = Pipeline::builder()
        .retry(policy)
        .breaker(&breaker)
        .bulkhead_within(&bulkhead, MS(50))
        .attempt_timeout(MS(120))
        .build()
        .unwrap();
    let sim = sim
        .policy("naive", async || dependency.call().await)
        .policy("protected", async || {
            pipeline
                .call(&timer, || dependency.call())
                .observe(&observer)
                .await
        });
    match exec {
        Some(exec) => exec(Box::pin(sim.run())),
        None => sim.run_blocking(),
    }
}

#[test]
fn every_executor_gives_the_same_report() {
    let reference = scenario(42, None);
    let p = &reference.policies[1];
    // Enough work that the engine yields to its executor many times.
    assert!(p.engine.polls > 3 * 16_384, "{:?}", p.engine);
    assert!(
        p.timeouts > 0 && p.retries > 0 && p.breaker_opened > 0,
        "{p:?}"
    );

    let tokio = scenario(
        42,
        Some(&|run| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(run)
        }),
    );
    let smol = scenario(42, Some(&|run| smol::block_on(run)));
    let futures = scenario(42, Some(&|run| futures_executor::block_on(run)));
    let async_std = scenario(42, Some(&|run| async_std::task::block_on(run)));
    for (name, other) in [
        ("tokio", &tokio),
        ("smol", &smol),
        ("futures", &futures),
        ("async-std", &async_std),
    ] {
        assert!(
            *other == reference,
            "{name} differs:\n{other}\nagainst\n{reference}"
        );
    }
    assert_eq!(reference.to_string(), tokio.to_string());
}

#[test]
fn another_seed_gives_other_numbers() {
    let a = scenario(1, None);
    let b = scenario(2, None);
    assert_ne!(a.policies[0].requests, b.policies[0].requests);
    assert_ne!(a.policies[1].latency, b.policies[1].latency);
    assert_ne!(
        a.policies[1].dependency_calls,
        b.policies[1].dependency_calls
    );
}

#[test]
fn policies_meet_the_same_arrivals() {
    let r = scenario(9, None);
    assert_eq!(r.policies[0].requests, r.policies[1].requests);
    let arrivals = |i: usize| {
        r.policies[i]
            .timeline
            .iter()
            .map(|s| s.arrivals)
            .collect::<Vec<_>>()
    };
    assert_eq!(arrivals(0)[..20], arrivals(1)[..20]);
}
