//! The state one simulation run shares between its engine and the handles a policy holds:
//! the virtual clock and its deadlines (a binary heap), the task being polled, the dependency
//! model and the recorder.

use core::cell::{Cell, RefCell};
use core::task::{Context, Waker};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::model::DependencyModel;
use crate::record::Recorder;

/// No task: the engine polls none.
pub(crate) const NO_TASK: u32 = u32::MAX;

/// Whom a deadline wakes.
pub(crate) enum Target {
    /// The engine's own task in this slot: scheduled without a waker.
    Task(u32),
    /// Any other waker (a combinator's inside a task).
    Waker(Waker),
    /// Nobody (fired already).
    None,
}

struct TimerSlot {
    generation: u32,
    target: Target,
}

/// A heap entry: deadline, registration order, slot, the slot's generation.
type Entry = Reverse<(u64, u64, u32, u32)>;

pub(crate) struct Shared {
    now: Cell<u64>,
    heap: RefCell<BinaryHeap<Entry>>,
    seq: Cell<u64>,
    timers: RefCell<Vec<TimerSlot>>,
    free_timers: RefCell<Vec<u32>>,
    peak_timers: Cell<usize>,
    /// The task being polled, or `NO_TASK`.
    pub(crate) current: Cell<u32>,
    /// Each task slot's waker, for `will_wake` against the context a sleep is polled with.
    pub(crate) wakers: RefCell<Vec<Waker>>,
    /// Per task slot: the request's number and the dependency calls it made.
    pub(crate) calls: RefCell<Vec<(u64, u32)>>,
    /// Calls made outside any task (a handle polled by hand).
    stray_calls: Cell<u32>,
    pub(crate) model: DependencyModel,
    pub(crate) seed: u64,
    pub(crate) dependency_in_flight: Cell<u32>,
    pub(crate) rec: RefCell<Recorder>,
}

impl Shared {
    pub(crate) fn new(model: DependencyModel, seed: u64) -> Self {
        Shared {
            now: Cell::new(0),
            heap: RefCell::new(BinaryHeap::new()),
            seq: Cell::new(0),
            timers: RefCell::new(Vec::new()),
            free_timers: RefCell::new(Vec::new()),
            peak_timers: Cell::new(0),
            current: Cell::new(NO_TASK),
            wakers: RefCell::new(Vec::new()),
            calls: RefCell::new(Vec::new()),
            stray_calls: Cell::new(0),
            model,
            seed,
            dependency_in_flight: Cell::new(0),
            rec: RefCell::new(Recorder::default()),
        }
    }

    /// Back to time zero with no deadline, for the next policy's run.
    pub(crate) fn reset(&self, name: &str, slo: Option<core::time::Duration>) {
        self.now.set(0);
        self.heap.borrow_mut().clear();
        self.timers.borrow_mut().clear();
        self.free_timers.borrow_mut().clear();
        self.peak_timers.set(0);
        self.seq.set(0);
        self.current.set(NO_TASK);
        self.stray_calls.set(0);
        self.dependency_in_flight.set(0);
        *self.rec.borrow_mut() = Recorder::new(name, slo);
    }

    #[inline]
    pub(crate) fn now(&self) -> u64 {
        self.now.get()
    }

    pub(crate) fn set_now(&self, t: u64) {
        if t > self.now.get() {
            self.now.set(t);
        }
    }

    /// Whom to wake for a wait polled with `cx`: the polled task itself when `cx` carries its
    /// waker, else a clone of the waker.
    pub(crate) fn target(&self, cx: &Context<'_>) -> Target {
        let current = self.current.get();
        if current != NO_TASK {
            if let Some(w) = self.wakers.borrow().get(current as usize) {
                if w.will_wake(cx.waker()) {
                    return Target::Task(current);
                }
            }
        }
        Target::Waker(cx.waker().clone())
    }

    /// Registers a wake-up at `deadline` (`u64::MAX`: never, nothing registered).
    pub(crate) fn register(&self, deadline: u64, target: Target) -> Option<(u32, u32)> {
        if deadline == u64::MAX {
            return None;
        }
        let mut timers = self.timers.borrow_mut();
        let slot = match self.free_timers.borrow_mut().pop() {
            Some(s) => {
                timers[s as usize].target = target;
                s
            }
            None => {
                timers.push(TimerSlot {
                    generation: 0,
                    target,
                });
                (timers.len() - 1) as u32
            }
        };
        let generation = timers[slot as usize].generation;
        let seq = self.seq.get();
        self.seq.set(seq + 1);
        let mut heap = self.heap.borrow_mut();
        heap.push(Reverse((deadline, seq, slot, generation)));
        if heap.len() > self.peak_timers.get() {
            self.peak_timers.set(heap.len());
        }
        Some((slot, generation))
    }

    /// Points a registered wake-up at a new target (a re-poll).
    pub(crate) fn retarget(&self, (slot, generation): (u32, u32), cx: &Context<'_>) {
        let target = self.target(cx);
        let mut timers = self.timers.borrow_mut();
        let t = &mut timers[slot as usize];
        if t.generation == generation {
            t.target = target;
        }
    }

    /// Frees a registration (its sleep ended or was dropped); its heap entry goes stale.
    pub(crate) fn release(&self, (slot, generation): (u32, u32)) {
        let mut timers = self.timers.borrow_mut();
        let t = &mut timers[slot as usize];
        if t.generation == generation {
            t.generation = t.generation.wrapping_add(1);
            t.target = Target::None;
            self.free_timers.borrow_mut().push(slot);
        }
    }

    /// The earliest live deadline, dropping stale entries from the top of the heap.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        let mut heap = self.heap.borrow_mut();
        let timers = self.timers.borrow();
        while let Some(Reverse((deadline, _, slot, generation))) = heap.peek().copied() {
            let t = &timers[slot as usize];
            if t.generation == generation && !matches!(t.target, Target::None) {
                return Some(deadline);
            }
            heap.pop();
        }
        None
    }

    /// Takes the targets of every deadline due by now, in deadline order (ties in
    /// registration order), into `out`.
    pub(crate) fn take_due(&self, out: &mut Vec<Target>) {
        let now = self.now.get();
        let mut heap = self.heap.borrow_mut();
        let mut timers = self.timers.borrow_mut();
        while let Some(Reverse((deadline, _, slot, generation))) = heap.peek().copied() {
            if deadline > now {
                break;
            }
            heap.pop();
            let t = &mut timers[slot as usize];
            if t.generation == generation {
                out.push(core::mem::replace(&mut t.target, Target::None));
            }
        }
    }

    /// The request number and call number of a dependency call made now.
    pub(crate) fn call_key(&self) -> (u64, u32) {
        let current = self.current.get();
        if let Some(c) = self.calls.borrow_mut().get_mut(current as usize) {
            c.1 += 1;
            return *c;
        }
        let n = self.stray_calls.get() + 1;
        self.stray_calls.set(n);
        (u64::MAX, n)
    }

    /// (deadlines registered at most at once, slots of the deadline table).
    pub(crate) fn timer_stats(&self) -> (usize, usize) {
        (self.peak_timers.get(), self.timers.borrow().len())
    }
}
