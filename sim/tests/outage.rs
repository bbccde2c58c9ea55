//! Through an outage the breaker opens inside the window, and the protected policy sends the
//! dependency far fewer calls than the naive one.

use std::time::Duration;

use steadfast::breaker::{CircuitBreaker, State};
use steadfast::pipeline::Pipeline;
use steadfast::retry::RetryPolicy;
use steadfast_sim::{DependencyModel, Latency, Load, OutageMode, Simulation};

const MS: fn(u64) -> Duration = Duration::from_millis;
const SECS: fn(u64) -> Duration = Duration::from_secs;

fn run(mode: OutageMode) {
    let model = DependencyModel::builder()
        .latency(Latency::lognormal(MS(10), MS(40)))
        .error_rate(0.01)
        .outage(SECS(10)..SECS(20), mode)
        .build()
        .unwrap();
    let sim = Simulation::builder()
        .seed(11)
        .dependency(model)
        .load(Load::open(300.0).duration(SECS(30)).build().unwrap())
        .build()
        .unwrap();
    let (timer, dependency, observer) = (sim.timer(), sim.dependency(), sim.observer());
    let breaker: CircuitBreaker = CircuitBreaker::builder()
        .count_window(20, 10)
        .failure_rate(50)
        .open_for(SECS(1))
        .build()
        .unwrap();
    let pipeline = Pipeline::builder()
        .retry(
            RetryPolicy::builder()
                .max_attempts(3)
                .constant(MS(20))
                .build()
                .unwrap(),
        )
        .breaker(&breaker)
        .attempt_timeout(MS(200))
        .build()
        .unwrap();
    let report = sim
        .policy("naive", async || dependency.call().await)
        .policy("protected", async || {
            pipeline
                .call(&timer, || dependency.call())
                .observe(&observer)
                .await
        })
        .run_blocking();
    let (naive, protected) = (&report.policies[0], &report.policies[1]);

    // Every opening happened inside the window (or as it ended: the last probe's failure).
    let opened: Vec<_> = protected
        .transitions
        .iter()
        .filter(|t| t.to == State::Open)
        .collect();
    assert!(!opened.is_empty(), "{protected:?}");
    assert_eq!(protected.breaker_opened as usize, opened.len());
    for t in &opened {
        let at = t.at.since_origin();
        assert!(at >= SECS(10) && at <= SECS(21), "opened at {at:?}");
    }
    assert!(
        opened[0].at.since_origin() < SECS(11),
        "opened late: {:?}",
        opened[0]
    );
    assert!(
        protected
            .transitions
            .iter()
            .any(|t| t.to == State::Closed && t.at.since_origin() >= SECS(20))
    );
    // Open for most of the outage, closed outside it.
    assert!(
        protected.seconds_open() >= 9,
        "{}",
        protected.seconds_open()
    );
    assert!(protected.timeline[..10].iter().all(|s| s.open.is_zero()));
    assert!(protected.timeline[22..].iter().all(|s| s.open.is_zero()));

    let during = |r: &steadfast_sim::PolicyReport| -> u64 {
        r.timeline[10..20].iter().map(|s| s.dependency_calls).sum()
    };
    let (n, p) = (during(naive), during(protected));
    assert!(n > 2500, "naive {n}");
    assert!(p * 10 < n, "protected {p} against naive {n}");
    assert!(protected.breaker_rejections > 2000, "{protected:?}");
}

#[test]
fn failing_outage() {
    run(OutageMode::Fail);
}

#[test]
fn hung_outage() {
    run(OutageMode::Hang);
}
