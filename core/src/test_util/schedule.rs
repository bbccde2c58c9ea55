//! A seeded random scheduler for tests: polls woken tasks in random order and cancels
//! (drops) random cancellable tasks, so that many interleavings of producers being cancelled
//! mid-wait are explored deterministically.

use std::boxed::Box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Wake;
use std::vec::Vec;

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

/// xorshift64*: small, fast, good enough to pick schedules.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

struct Task<'a> {
    future: Pin<Box<dyn Future<Output = ()> + 'a>>,
    woken: Arc<Flag>,
    waker: Waker,
    cancellable: bool,
}

/// Tasks polled only when woken, in an order and with cancellations drawn from a seed.
pub(crate) struct Sim<'a> {
    tasks: Vec<Task<'a>>,
    pub(crate) rng: Rng,
    /// Cancellations, out of 1000 steps.
    cancel_per_mille: usize,
    pub(crate) cancelled: usize,
}

impl<'a> Sim<'a> {
    pub(crate) fn new(seed: u64, cancel_per_mille: usize) -> Self {
        Sim {
            tasks: Vec::new(),
            rng: Rng::new(seed),
            cancel_per_mille,
            cancelled: 0,
        }
    }

    pub(crate) fn spawn(&mut self, future: impl Future<Output = ()> + 'a, cancellable: bool) {
        let woken = Arc::new(Flag(AtomicBool::new(true)));
        self.tasks.push(Task {
            future: Box::pin(future),
            waker: Waker::from(woken.clone()),
            woken,
            cancellable,
        });
    }

    /// Live tasks, and live cancellable tasks.
    pub(crate) fn live(&self) -> (usize, usize) {
        let c = self.tasks.iter().filter(|t| t.cancellable).count();
        (self.tasks.len(), c)
    }

    /// One step: maybe cancel a random cancellable task, else poll a random woken task.
    /// Returns `false` when no task is woken (the system is stalled).
    pub(crate) fn step(&mut self) -> bool {
        if self.cancel_per_mille > 0 && self.rng.below(1000) < self.cancel_per_mille {
            let cancellable: Vec<usize> = (0..self.tasks.len())
                .filter(|&i| self.tasks[i].cancellable)
                .collect();
            if !cancellable.is_empty() {
                let i = cancellable[self.rng.below(cancellable.len())];
                drop(self.tasks.swap_remove(i));
                self.cancelled += 1;
                return true;
            }
        }
        let woken: Vec<usize> = (0..self.tasks.len())
            .filter(|&i| self.tasks[i].woken.0.load(Ordering::SeqCst))
            .collect();
        if woken.is_empty() {
            return false;
        }
        let i = woken[self.rng.below(woken.len())];
        let task = &mut self.tasks[i];
        task.woken.0.store(false, Ordering::SeqCst);
        let waker = task.waker.clone();
        if let Poll::Ready(()) = task.future.as_mut().poll(&mut Context::from_waker(&waker)) {
            drop(self.tasks.swap_remove(i));
        }
        true
    }

    /// Steps until stalled or `max` steps were taken; returns the steps taken.
    pub(crate) fn run(&mut self, max: usize) -> usize {
        let mut n = 0;
        while n < max && self.step() {
            n += 1;
        }
        n
    }
}

/// Yields `n` times.
pub(crate) async fn yield_n(n: u64) {
    for _ in 0..n {
        let mut yielded = false;
        core::future::poll_fn(|cx| {
            if yielded {
                Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await;
    }
}
