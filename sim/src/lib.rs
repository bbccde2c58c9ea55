//! Runs your exact steadfast resilience policy (your `Pipeline`, `CircuitBreaker`,
//! `Bulkhead`, `RetryBudget`, `RateLimiter`, configured as in production) against a seeded
//! fault model of a dependency and a load, in virtual time, and reports what it does:
//! success rate, caller-seen latency, load amplification on the dependency, what each
//! pattern refused, and a per-second timeline. A run is exactly reproducible from its seed,
//! on any executor, and takes a fraction of a second for minutes of traffic.
//!
//! Retry counts, timeouts, breaker thresholds and bulkhead sizes are usually picked by
//! guesswork; here they are tried against an outage before production tries them.
//!
//! # The pieces
//!
//! - A [`DependencyModel`]: latency ([`Latency`]: fixed, uniform, log-normal, Pareto), an
//!   error rate, outage windows (failing or hanging: [`OutageMode`]), [`Brownout`] windows,
//!   a slow fraction of calls, a capacity beyond which latency climbs.
//! - A [`Load`]: open-loop arrivals (Poisson or even) or closed-loop clients.
//! - Policies: your code, one async closure each, called per request. It calls the
//!   [`Dependency`] (`dependency.call()`, a future giving `Result<(), DependencyError>`)
//!   through your patterns built on the [`SimTimer`], and passes the [`SimObserver`] to the
//!   calls (`.observe(&observer)`) so the patterns' events are counted.
//! - A [`Report`]: one [`PolicyReport`] per policy, printed side by side by `Display`, or a
//!   self-contained HTML page ([`Report::html`]).
//!
//! # Simulate your policy
//!
//! ```
//! use std::time::Duration;
//! use steadfast::breaker::CircuitBreaker;
//! use steadfast::pipeline::Pipeline;
//! use steadfast::retry::RetryPolicy;
//! use steadfast_sim::{DependencyModel, Latency, Load, OutageMode, Simulation};
//!
//! let ms = Duration::from_millis;
//! let secs = Duration::from_secs;
//! let sim = Simulation::builder()
//!     .seed(7)
//!     .dependency(
//!         DependencyModel::builder()
//!             .latency(Latency::lognormal(ms(20), ms(120)))
//!             .error_rate(0.02)
//!             .outage(secs(10)..secs(20), OutageMode::Hang)
//!             .build()
//!             .unwrap(),
//!     )
//!     .load(Load::open(200.0).duration(secs(30)).build().unwrap())
//!     .build()
//!     .unwrap();
//! let (timer, dependency, observer) = (sim.timer(), sim.dependency(), sim.observer());
//!
//! // Your policy, as in production.
//! let breaker: CircuitBreaker = CircuitBreaker::builder()
//!     .count_window(50, 20)
//!     .failure_rate(50)
//!     .open_for(ms(500))
//!     .build()
//!     .unwrap();
//! let pipeline = Pipeline::builder()
//!     .retry(RetryPolicy::builder().max_attempts(3).constant(ms(50)).seed(1).build().unwrap())
//!     .breaker(&breaker)
//!     .attempt_timeout(ms(250))
//!     .build()
//!     .unwrap();
//!
//! let report = sim
//!     .policy("naive", async || dependency.call().await)
//!     .policy("protected", async || {
//!         pipeline.call(&timer, || dependency.call()).observe(&observer).await
//!     })
//!     .run_blocking();
//! println!("{report}");
//!
//! let (naive, protected) = (&report.policies[0], &report.policies[1]);
//! assert!(protected.breaker_opened > 0);
//! assert!(protected.dependency_calls < naive.dependency_calls * 2);
//! assert!(protected.latency.quantile(0.99) < Duration::from_secs(2));
//! assert!(naive.latency.quantile(0.99) > Duration::from_secs(5)); // hung until the outage ended
//! ```
//!
//! # Determinism
//!
//! A run is a pure function of its settings and its seed: arrivals come from a seeded
//! stream, each dependency call's draws from its request's number and its own number within
//! the request (so two policies meet the same faults on the same attempt of the same request),
//! and the engine polls tasks in a fixed order (at one instant, deadlines before arrivals,
//! then tasks in the order they were woken). The numbers are the same bit for bit on one
//! platform; the log-normal and Pareto draws use the platform's `ln`, `exp` and `powf`, which
//! may differ in their last bit elsewhere. Seed your retry policy's jitter
//! (`RetryPolicy::builder().seed(..)`): an unseeded one mixes in a process-wide count, so two
//! runs in one process would differ.
//!
//! # The engine
//!
//! Each request is a task (its future boxed once) in a slab, woken by its own waker into a
//! ready queue; deadlines live in a binary heap. When no task is ready, the clock jumps to
//! the next deadline or arrival. The whole simulation is one future ([`Simulation::run`]) that
//! needs nothing from its executor ([`Simulation::run_blocking`] needs none); it is not
//! `Send` (a policy's futures need not be). Memory follows
//! what is in flight and the duration (the timeline has one entry per second; the latency
//! histograms are fixed-size), not the number of requests.

mod engine;
mod handles;
mod histogram;
mod html;
mod load;
mod model;
mod record;
mod report;
mod rng;
mod shared;
mod simulation;

pub use handles::{Dependency, DependencyCall, DependencyError, SimObserver, SimSleep, SimTimer};
pub use histogram::Histogram;
pub use load::{Load, LoadBuilder};
pub use model::{Brownout, DependencyModel, DependencyModelBuilder, Latency, OutageMode};
pub use report::{EngineStats, PolicyReport, Report, Second};
pub use simulation::{Outcome, Simulation, SimulationBuilder};
/// The one error of bad settings, the core's: here its `pattern` is the model at fault
/// (`"dependency"`, `"load"` or `"simulation"`) and its `field` the builder method.
pub use steadfast::ConfigError;
