//! The engine that runs one policy's requests as tasks inside one future, jumping the
//! virtual clock whenever no task is ready.

use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Wake;

use crate::load::Kind;
use crate::model::duration_nanos;
use crate::report::EngineStats;
use crate::rng::Rng;
use crate::shared::{NO_TASK, Shared, Target};
use crate::simulation::{Policy, Request};
use crate::{Load, PolicyReport};

/// Task polls between two yields to the executor running the simulation.
const POLLS_PER_YIELD: u32 = 1 << 14;
/// Task polls with neither the clock moving nor a request ending (beyond 64 per request in
/// flight), after which a policy is judged to spin: to wake itself without waiting on
/// anything the simulation drives.
const SPIN_POLLS: u64 = 1_000_000;

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

pub(crate) struct Engine<'s> {
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
    /// Polls since the clock last moved or a request last ended.
    idle_polls: u64,
    stats: EngineStats,
}

impl<'s> Engine<'s> {
    pub(crate) fn new(
        shared: &'s Shared,
        policy: &'s dyn Policy,
        load: &'s Load,
        drain: Duration,
    ) -> Self {
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
            idle_polls: 0,
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
        self.idle_polls += 1;
        assert!(
            self.idle_polls < SPIN_POLLS.saturating_add(self.live.saturating_mul(64)),
            "steadfast-sim: a policy's requests woke themselves {} times at {:?} of virtual \
             time with no request ending: they wait on something the simulation does not drive \
             (a real timer, an outside channel), or spin",
            self.idle_polls,
            core::time::Duration::from_nanos(self.shared.now())
        );
        self.shared.current.set(slot);
        let wakers = self.shared.wakers.borrow();
        let mut cx = Context::from_waker(&wakers[i]);
        let polled = task.future.as_mut().poll(&mut cx);
        drop(wakers);
        self.shared.current.set(NO_TASK);
        if let Poll::Ready(ok) = polled {
            self.idle_polls = 0;
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

    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
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
            if next > self.shared.now() {
                self.idle_polls = 0;
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
    pub(crate) fn finish(mut self) -> PolicyReport {
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
