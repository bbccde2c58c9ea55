//! The simulation: its builder, and the engine that runs one policy's requests as tasks
//! inside one future, jumping the virtual clock whenever no task is ready.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Wake;

use crate::load::Kind;
use crate::model::duration_nanos;
use crate::report::EngineStats;
use crate::rng::Rng;
use crate::shared::{NO_TASK, Shared, Target};
use crate::{
    ConfigError, Dependency, DependencyModel, Load, PolicyReport, Report, SimObserver, SimTimer,
};

/// Task polls between two yields to the executor running the simulation.
const POLLS_PER_YIELD: u32 = 1 << 14;

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

type Request<'s> = Pin<Box<dyn Future<Output = bool> + 's>>;

/// A policy, type-erased: makes one request's future.
trait Policy {
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
    /// ([`PolicyReport::good`]), and the table shows the share of good requests: an answer
    /// after the user gave up is not one. None by default.
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
    pub fn run(self) -> impl Future<Output = Report> + 'a {
        async move {
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

/// Task slots woken from outside the engine (through a `Waker`).
#[derive(Default)]
struct Inbox(Mutex<Vec<u32>>);

/// A task slot's waker: queues the slot once until it is polled.
struct SlotWaker {
    slot: u32,
    queued: AtomicBool,
    inbox: Arc<Inbox>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            let mut q = self.inbox.0.lock().unwrap_or_else(|e| e.into_inner());
            q.push(self.slot);
        }
    }
}

struct Task<'s> {
    future: Request<'s>,
    arrived: u64,
    client: u32,
}

struct Engine<'s> {
    shared: &'s Shared,
    policy: &'s dyn Policy,
    load: &'s Load,
    drain: u64,
    tasks: Vec<Option<Task<'s>>>,
    free: Vec<u32>,
    slot_wakers: Vec<Arc<SlotWaker>>,
    inbox: Arc<Inbox>,
    ready: VecDeque<u32>,
    /// Arrivals to come: instant, order, client (closed loop).
    arrivals: BinaryHeap<Reverse<(u64, u64, u32)>>,
    arrival_seq: u64,
    issued: u64,
    /// No arrival comes after this (the load's duration).
    arrivals_end: u64,
    /// The run ends here (the last arrival plus the drain), once known.
    stop_at: u64,
    rng: Rng,
    live: u64,
    due: Vec<Target>,
    stats: EngineStats,
}

impl<'s> Engine<'s> {
    fn new(shared: &'s Shared, policy: &'s dyn Policy, load: &'s Load, drain: Duration) -> Self {
        let mut e = Engine {
            shared,
            policy,
            load,
            drain: duration_nanos(drain),
            tasks: Vec::new(),
            free: Vec::new(),
            slot_wakers: Vec::new(),
            inbox: Arc::new(Inbox::default()),
            ready: VecDeque::new(),
            arrivals: BinaryHeap::new(),
            arrival_seq: 0,
            issued: 0,
            arrivals_end: load.duration.map_or(u64::MAX, duration_nanos),
            stop_at: u64::MAX,
            rng: Rng::new(shared.seed ^ 0xA771_7A15),
            live: 0,
            due: Vec::new(),
            stats: EngineStats::default(),
        };
        shared.wakers.borrow_mut().clear();
        shared.calls.borrow_mut().clear();
        match load.kind {
            Kind::Open { rate, poisson } => {
                let first = if poisson { e.gap(rate) } else { 0 };
                e.push_arrival(first, 0);
            }
            Kind::Closed { clients, .. } => {
                for c in 0..clients {
                    e.push_arrival(0, c);
                }
            }
        }
        e
    }

    /// The next open-loop gap, in nanoseconds.
    fn gap(&mut self, rate: f64) -> u64 {
        let u = self.rng.unit();
        (-(1.0 - u).ln() / rate * 1e9) as u64
    }

    /// Schedules an arrival at `at`, unless the load is over by then.
    fn push_arrival(&mut self, at: u64, client: u32) {
        let queued = self.issued + self.arrivals.len() as u64;
        let count_left = self.load.requests.is_none_or(|n| queued < n);
        if at < self.arrivals_end && count_left {
            self.arrivals.push(Reverse((at, self.arrival_seq, client)));
            self.arrival_seq += 1;
        } else if self.arrivals.is_empty() && self.stop_at == u64::MAX {
            self.stop_at = self.shared.now().saturating_add(self.drain);
        }
    }

    fn schedule(&mut self, slot: u32) {
        if !self.slot_wakers[slot as usize]
            .queued
            .swap(true, Ordering::AcqRel)
        {
            self.ready.push_back(slot);
        }
    }

    fn drain_inbox(&mut self) {
        let mut q = self.inbox.0.lock().unwrap_or_else(|e| e.into_inner());
        self.ready.extend(q.drain(..));
    }

    fn spawn(&mut self, client: u32) {
        let now = self.shared.now();
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                let s = self.tasks.len() as u32;
                let w = Arc::new(SlotWaker {
                    slot: s,
                    queued: AtomicBool::new(false),
                    inbox: self.inbox.clone(),
                });
                self.shared.wakers.borrow_mut().push(Waker::from(w.clone()));
                self.shared.calls.borrow_mut().push((0, 0));
                self.slot_wakers.push(w);
                self.tasks.push(None);
                s
            }
        };
        self.shared.calls.borrow_mut()[slot as usize] = (self.issued, 0);
        self.issued += 1;
        self.live += 1;
        self.stats.peak_tasks = self.stats.peak_tasks.max(self.live);
        self.shared.rec.borrow_mut().arrival(now);
        self.tasks[slot as usize] = Some(Task {
            future: self.policy.request(),
            arrived: now,
            client,
        });
        self.schedule(slot);
        if let Kind::Open { rate, poisson } = self.load.kind {
            let next = if poisson {
                now.saturating_add(self.gap(rate))
            } else {
                (self.issued as f64 * 1e9 / rate) as u64
            };
            self.push_arrival(next, 0);
        }
    }

    fn poll_task(&mut self, slot: u32) {
        let i = slot as usize;
        self.slot_wakers[i].queued.store(false, Ordering::Release);
        let Some(task) = self.tasks[i].as_mut() else {
            return;
        };
        self.stats.polls += 1;
        self.shared.current.set(slot);
        let wakers = self.shared.wakers.borrow();
        let mut cx = Context::from_waker(&wakers[i]);
        let polled = task.future.as_mut().poll(&mut cx);
        drop(wakers);
        self.shared.current.set(NO_TASK);
        if let Poll::Ready(ok) = polled {
            let task = self.tasks[i].take().expect("polled");
            self.free.push(slot);
            self.live -= 1;
            let now = self.shared.now();
            self.shared.rec.borrow_mut().ended(now, task.arrived, ok);
            let client = task.client;
            drop(task);
            if let Kind::Closed { think, .. } = self.load.kind {
                let (u, v) = (self.rng.unit(), self.rng.unit());
                let pause = (think.sample(u, v) * 1e9) as u64;
                self.push_arrival(now.saturating_add(pause), client);
            }
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut budget = POLLS_PER_YIELD;
        loop {
            if self.ready.is_empty() {
                self.drain_inbox();
            }
            while let Some(slot) = self.ready.pop_front() {
                self.poll_task(slot);
                if self.ready.is_empty() {
                    self.drain_inbox();
                }
                budget -= 1;
                if budget == 0 {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
            }
            let next_timer = self.shared.next_deadline();
            let next_arrival = self.arrivals.peek().map(|a| a.0.0);
            let next = match (next_timer, next_arrival) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => return Poll::Ready(()),
            };
            if next > self.stop_at {
                self.shared.set_now(self.stop_at);
                return Poll::Ready(());
            }
            self.shared.set_now(next);
            let now = self.shared.now();
            // At one instant, deadlines first: what ends then ends before what arrives then
            // (the arrivals come on the next turn, once the woken tasks have run).
            if next_timer != Some(next) {
                while let Some(&Reverse((at, _, client))) = self.arrivals.peek() {
                    if at > now {
                        break;
                    }
                    self.arrivals.pop();
                    self.spawn(client);
                }
                continue;
            }
            let mut due = core::mem::take(&mut self.due);
            self.shared.take_due(&mut due);
            for target in due.drain(..) {
                match target {
                    Target::Task(slot) => self.schedule(slot),
                    Target::Waker(w) => w.wake(),
                    Target::None => {}
                }
            }
            self.due = due;
        }
    }

    /// Drops what still runs (unfinished) and closes the report.
    fn finish(mut self) -> PolicyReport {
        for task in self.tasks.iter_mut() {
            if let Some(task) = task.take() {
                drop(task);
                self.shared.rec.borrow_mut().unfinished();
            }
        }
        let now = self.shared.now();
        let mut report = self.shared.rec.borrow_mut().finish(now);
        let (peak_timers, timer_slots) = self.shared.timer_stats();
        self.stats.task_slots = self.tasks.len() as u64;
        self.stats.peak_timers = peak_timers as u64;
        self.stats.timer_slots = timer_slots as u64;
        report.engine = self.stats;
        report
    }
}
