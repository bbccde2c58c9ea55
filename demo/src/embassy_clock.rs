//! embassy-time on a host, in real time: a time driver on the OS clock, and a `block_on`.
//!
//! The steadfast adapter picks no driver, as every embassy library must; a firmware's HAL
//! supplies one. On a host, this file does.

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use embassy_time_queue_utils::Queue;

struct HostDriver {
    queue: Mutex<Queue>,
    changed: Condvar,
}

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

fn ticks_now() -> u64 {
    let micros = origin().elapsed().as_micros() * u128::from(embassy_time::TICK_HZ) / 1_000_000;
    u64::try_from(micros).unwrap_or(u64::MAX)
}

impl embassy_time_driver::Driver for HostDriver {
    fn now(&self) -> u64 {
        ticks_now()
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        start_alarm_thread();
        if self.queue.lock().unwrap().schedule_wake(at, waker) {
            self.changed.notify_all();
        }
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: HostDriver = HostDriver {
    queue: Mutex::new(Queue::new()),
    changed: Condvar::new(),
});

/// One thread wakes timers when they are due.
fn start_alarm_thread() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        std::thread::spawn(|| {
            let mut queue = DRIVER.queue.lock().unwrap();
            loop {
                let now = ticks_now();
                let next = queue.next_expiration(now);
                queue = if next == u64::MAX {
                    DRIVER.changed.wait(queue).unwrap()
                } else {
                    let ticks = next.saturating_sub(now);
                    let wait = Duration::from_micros(
                        ticks.saturating_mul(1_000_000) / embassy_time::TICK_HZ,
                    );
                    DRIVER.changed.wait_timeout(queue, wait).unwrap().0
                };
            }
        });
    });
}

struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on this thread, parking while it waits.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}
