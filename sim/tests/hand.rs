//! Known scenarios against hand calculations.

use std::time::Duration;

use steadfast::pipeline::Pipeline;
use steadfast::retry::RetryPolicy;
use steadfast_sim::{Brownout, DependencyModel, Latency, Load, OutageMode, Simulation};

const MS: fn(u64) -> Duration = Duration::from_millis;
const SECS: fn(u64) -> Duration = Duration::from_secs;

fn simulation(model: DependencyModel, load: Load) -> Simulation<'static> {
    Simulation::builder()
        .seed(3)
        .dependency(model)
        .load(load)
        .build()
        .unwrap()
}

#[test]
fn retries_against_independent_errors() {
    // Error rate p, k attempts, no backoff, no budget, no breaker.
    let (p, k, n) = (0.3f64, 3u32, 40_000u64);
    let model = DependencyModel::builder()
        .latency(Latency::fixed(MS(10)))
        .error_rate(p)
        .build()
        .unwrap();
    let sim = simulation(model, Load::open(500.0).requests(n).build().unwrap());
    let (timer, dependency, observer) = (sim.timer(), sim.dependency(), sim.observer());
    let pipeline = Pipeline::builder()
        .retry(
            RetryPolicy::builder()
                .max_attempts(k)
                .constant(Duration::ZERO)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let report = sim
        .policy("retry", async || {
            pipeline
                .call(&timer, || dependency.call())
                .observe(&observer)
                .await
        })
        .run_blocking();
    let r = &report.policies[0];
    assert_eq!(r.requests, n);
    let success = 1.0 - p.powi(k as i32);
    // Four standard deviations of a binomial proportion.
    let sd = (success * (1.0 - success) / n as f64).sqrt();
    assert!(
        (r.success_rate() - success).abs() < 4.0 * sd,
        "{} against {success}",
        r.success_rate()
    );
    let calls = success / (1.0 - p);
    // Calls per request: 1, 2 or 3 with probabilities 1-p, p(1-p), p^2.
    let second = (1.0 - p) + 4.0 * p * (1.0 - p) + 9.0 * p * p;
    let sd = ((second - calls * calls) / n as f64).sqrt();
    assert!(
        (r.attempts_per_request() - calls).abs() < 4.0 * sd,
        "{} against {calls}",
        r.attempts_per_request()
    );
    assert_eq!(r.attempts, r.dependency_calls);
    assert_eq!(r.retries, r.dependency_calls - n);
    // No backoff, fixed latency: each request takes 10 ms per attempt.
    assert_eq!(r.latency.min(), MS(10));
    assert_eq!(r.latency.max(), MS(30));
}

#[test]
fn a_fixed_latency_is_every_percentile() {
    let model = DependencyModel::builder()
        .latency(Latency::fixed(MS(20)))
        .build()
        .unwrap();
    let sim = simulation(model, Load::open(1000.0).duration(SECS(5)).build().unwrap());
    let dependency = sim.dependency();
    let report = sim
        .policy("plain", async || dependency.call().await)
        .run_blocking();
    let r = &report.policies[0];
    assert!(r.requests > 4500 && r.requests < 5500, "{}", r.requests);
    assert_eq!(r.successes, r.requests);
    for q in [0.5, 0.9, 0.99, 1.0] {
        assert_eq!(r.latency_quantile(q), MS(20), "q{q}");
    }
    assert_eq!(r.latency.max(), MS(20));
}

#[test]
fn a_timeout_below_the_latency_fails_everything() {
    let model = DependencyModel::builder()
        .latency(Latency::fixed(MS(20)))
        .build()
        .unwrap();
    let sim = simulation(model, Load::open(200.0).requests(1000).build().unwrap());
    let (timer, dependency, observer) = (sim.timer(), sim.dependency(), sim.observer());
    let pipeline = Pipeline::builder().attempt_timeout(MS(10)).build().unwrap();
    let report = sim
        .policy("impatient", async || {
            pipeline
                .call(&timer, || dependency.call())
                .observe(&observer)
                .await
        })
        .run_blocking();
    let r = &report.policies[0];
    assert_eq!(r.successes, 0);
    assert_eq!(r.success_rate(), 0.0);
    assert_eq!(r.timeouts, 1000);
    assert_eq!(r.dependency_cancelled, 1000);
    assert_eq!(r.latency.max(), MS(10));
}

#[test]
fn closed_loop_clients_send_back_to_back() {
    // 10 clients, 10 ms per call, no think time, for 2 s: 10 * 200 requests.
    let model = DependencyModel::builder()
        .latency(Latency::fixed(MS(10)))
        .build()
        .unwrap();
    let sim = simulation(model, Load::closed(10).duration(SECS(2)).build().unwrap());
    let dependency = sim.dependency();
    let report = sim
        .policy("plain", async || dependency.call().await)
        .run_blocking();
    let r = &report.policies[0];
    assert_eq!(r.requests, 2000);
    assert_eq!(r.max_in_flight, 10);

    // With 10 ms of think time, half as many.
    let model = DependencyModel::builder()
        .latency(Latency::fixed(MS(10)))
        .build()
        .unwrap();
    let load = Load::closed(10)
        .think(Latency::fixed(MS(10)))
        .duration(SECS(2))
        .build()
        .unwrap();
    let sim = simulation(model, load);
    let dependency = sim.dependency();
    let report = sim
        .policy("plain", async || dependency.call().await)
        .run_blocking();
    assert_eq!(report.policies[0].requests, 1000);
}

#[test]
fn beyond_capacity_latency_climbs_with_the_calls_in_flight() {
    // 100 clients on a dependency of capacity 10: 10 times its latency.
    let model = DependencyModel::builder()
        .latency(Latency::fixed(MS(10)))
        .capacity(10)
        .build()
        .unwrap();
    let sim = simulation(model, Load::closed(100).duration(SECS(2)).build().unwrap());
    let dependency = sim.dependency();
    let report = sim
        .policy("plain", async || dependency.call().await)
        .run_blocking();
    let p50 = report.policies[0].latency_quantile(0.5).as_secs_f64();
    assert!((p50 - 0.1).abs() < 0.002, "{p50}");
}

#[test]
fn brownouts_and_hung_outages_shape_latency() {
    let model = DependencyModel::builder()
        .latency(Latency::fixed(MS(10)))
        .brownout(Brownout::new(SECS(1)..SECS(2)).latency_factor(4.0))
        .outage(SECS(3)..SECS(4), OutageMode::Hang)
        .build()
        .unwrap();
    let sim = simulation(
        model,
        Load::open(100.0)
            .evenly()
            .duration(SECS(5))
            .build()
            .unwrap(),
    );
    let dependency = sim.dependency();
    let report = sim
        .policy("plain", async || dependency.call().await)
        .run_blocking();
    let r = &report.policies[0];
    assert_eq!(r.requests, 500);
    // 100 requests hung in the outage, failing at its end; 100 browned out at 40 ms.
    assert_eq!(r.failures, 100);
    assert_eq!(r.success_latency.max(), MS(40));
    assert_eq!(r.latency.max(), SECS(1));
    assert_eq!(r.max_dependency_in_flight, 100);
    assert_eq!(r.timeline[3].failures, 0);
    assert_eq!(r.timeline[4].failures, 100);
}

/// A request that wakes itself forever and never waits on the simulation.
struct Spin;

impl std::future::Future for Spin {
    type Output = bool;
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<bool> {
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

#[test]
#[should_panic(expected = "woke themselves")]
fn a_spinning_policy_is_told_not_hung() {
    let model = DependencyModel::builder().build().unwrap();
    let sim = simulation(model, Load::open(10.0).requests(1).build().unwrap());
    let _ = sim.policy("spins", async || Spin.await).run_blocking();
}
