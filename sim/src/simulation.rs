//! The simulation: its builder, its handles and its policies.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::rc::Rc;

use crate::engine::Engine;
use crate::shared::Shared;
use crate::{ConfigError, Dependency, DependencyModel, Load, Report, SimObserver, SimTimer};

/// What a policy's request future gives: whether the request succeeded.
pub trait Outcome {
    /// Whether the request counts as a success.
    fn is_success(&self) -> bool;
}

impl Outcome for bool {
    fn is_success(&self) -> bool {
        *self
    }
}

impl<T, E> Outcome for Result<T, E> {
    fn is_success(&self) -> bool {
        self.is_ok()
    }
}

pub(crate) type Request<'s> = Pin<Box<dyn Future<Output = bool> + 's>>;

/// A policy, type-erased: makes one request's future.
pub(crate) trait Policy {
    fn request(&self) -> Request<'_>;
}

impl<F, R> Policy for F
where
    F: AsyncFn() -> R,
    R: Outcome,
{
    fn request(&self) -> Request<'_> {
        Box::pin(async move { self().await.is_success() })
    }
}

/// A simulation: a dependency model, a load, a seed, and the policies to run against them,
/// each in turn, each from time zero against a fresh dependency. See the [crate docs](crate).
pub struct Simulation<'a> {
    shared: Rc<Shared>,
    load: Load,
    drain: Duration,
    slo: Option<Duration>,
    policies: Vec<(String, Box<dyn Policy + 'a>)>,
}

/// The settings of a [`Simulation`], from [`Simulation::builder`].
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until built"]
pub struct SimulationBuilder {
    seed: u64,
    dependency: Option<DependencyModel>,
    load: Option<Load>,
    drain: Duration,
    slo: Option<Duration>,
}

impl Simulation<'_> {
    /// A builder: seed 0, a drain of 60 s, no dependency or load yet (both required).
    pub fn builder() -> SimulationBuilder {
        SimulationBuilder {
            seed: 0,
            dependency: None,
            load: None,
            drain: Duration::from_secs(60),
            slo: None,
        }
    }
}

impl SimulationBuilder {
    /// The seed of the arrivals and of every dependency call's draws.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The dependency's fault model.
    pub fn dependency(mut self, model: DependencyModel) -> Self {
        self.dependency = Some(model);
        self
    }

    /// The load.
    pub fn load(mut self, load: Load) -> Self {
        self.load = Some(load);
        self
    }

    /// How long, after the last arrival, requests still running may take before the run
    /// ends and counts them unfinished (60 s by default).
    pub fn drain(mut self, drain: Duration) -> Self {
        self.drain = drain;
        self
    }

    /// The caller's latency objective: a success within `slo` is *good*
    /// ([`PolicyReport::good`](crate::PolicyReport::good)), and the table shows the share of
    /// good requests: an answer after the user gave up is not one. None by default.
    pub fn slo(mut self, slo: Duration) -> Self {
        self.slo = Some(slo);
        self
    }

    /// The simulation, with no policy yet (add them with [`Simulation::policy`]).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] (model `"simulation"`) when the dependency or the load is missing.
    pub fn build<'a>(self) -> Result<Simulation<'a>, ConfigError> {
        let bad = |setting, problem| ConfigError::new("simulation", setting, problem);
        let model = self.dependency.ok_or(bad("dependency", "is required"))?;
        let load = self.load.ok_or(bad("load", "is required"))?;
        Ok(Simulation {
            shared: Rc::new(Shared::new(model, self.seed)),
            load,
            drain: self.drain,
            slo: self.slo,
            policies: Vec::new(),
        })
    }
}

impl<'a> Simulation<'a> {
    /// The virtual clock: the timer to build the policies' patterns on.
    #[must_use]
    pub fn timer(&self) -> SimTimer {
        SimTimer {
            shared: self.shared.clone(),
        }
    }

    /// The simulated dependency, to call from the policies.
    #[must_use]
    pub fn dependency(&self) -> Dependency {
        Dependency {
            shared: self.shared.clone(),
        }
    }

    /// The observer that counts the core's events into the running policy's report.
    #[must_use]
    pub fn observer(&self) -> SimObserver {
        SimObserver {
            shared: self.shared.clone(),
        }
    }

    /// Adds a policy: `request` is called once per arriving request and its future is the
    /// request, from arrival to end; it gives a `bool` or a `Result` (success: `true` or
    /// `Ok`). It is your code: typically your pipeline's call of the dependency, on
    /// [`timer`](Self::timer), observed by [`observer`](Self::observer). It may borrow what
    /// it uses (a `Pipeline`, a `CircuitBreaker`): the simulation lives no longer.
    ///
    /// A policy should wait only on the simulation's timer and dependency (or on patterns
    /// driven by them, such as a bulkhead's queue): the clock jumps whenever nothing is
    /// ready, so a wait on anything else (a real timer, a channel fed from outside) would not
    /// be simulated.
    pub fn policy<F, R>(mut self, name: impl Into<String>, request: F) -> Self
    where
        F: AsyncFn() -> R + 'a,
        R: Outcome,
    {
        self.policies.push((name.into(), Box::new(request)));
        self
    }

    /// Runs every policy, one after the other, each from time zero against a fresh
    /// dependency with the same seed. The future runs the simulation in virtual time: under
    /// any executor's `block_on` it gives the same report (it yields to the executor now and
    /// then, and needs nothing from it).
    pub async fn run(self) -> Report {
        let mut reports = Vec::with_capacity(self.policies.len());
        for (name, policy) in &self.policies {
            self.shared.reset(name, self.slo);
            let mut engine = Engine::new(&self.shared, &**policy, &self.load, self.drain);
            core::future::poll_fn(|cx| engine.poll(cx)).await;
            reports.push(engine.finish());
        }
        Report {
            seed: self.shared.seed,
            dependency: self.shared.model.clone(),
            load: self.load.clone(),
            policies: reports,
        }
    }

    /// [`run`](Self::run) on the calling thread, with no executor.
    pub fn run_blocking(self) -> Report {
        let mut run = core::pin::pin!(self.run());
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(report) = run.as_mut().poll(&mut cx) {
                return report;
            }
        }
    }
}

impl core::fmt::Debug for Simulation<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Simulation")
            .field("seed", &self.shared.seed)
            .field("dependency", &self.shared.model)
            .field("load", &self.load)
            .field("drain", &self.drain)
            .field(
                "policies",
                &self.policies.iter().map(|p| &p.0).collect::<Vec<_>>(),
            )
            .finish()
    }
}
