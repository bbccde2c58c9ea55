//! The conformance suite on `EmbassyTimer`: embassy-time with a virtual time driver, on a host
//! executor that jumps the clock to the next timer whenever nothing is runnable.
//!
//! embassy-time's driver is global, so the scenarios of this file run one at a time.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use embassy_time_queue_utils::Queue;
use steadfast_conformance::{Env, timer_scenarios};
use steadfast_embassy::EmbassyTimer;

/// A time driver whose clock moves only when the executor below finds nothing to run.
struct VirtualDriver {
    state: Mutex<Clock>,
}

struct Clock {
    now: u64,
    queue: Queue,
}

impl embassy_time_driver::Driver for VirtualDriver {
    fn now(&self) -> u64 {
        self.state.lock().unwrap().now
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        self.state.lock().unwrap().queue.schedule_wake(at, waker);
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: VirtualDriver = VirtualDriver {
    state: Mutex::new(Clock { now: 0, queue: Queue::new() }),
});

/// One scenario at a time: the driver is global.
static SERIAL: Mutex<()> = Mutex::new(());

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn run<F: Future<Output = ()>>(scenario: impl FnOnce(Env<EmbassyTimer>) -> F) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut fut = pin!(scenario(Env::virtual_time(EmbassyTimer)));
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        flag.0.store(false, Ordering::SeqCst);
        if let Poll::Ready(()) = fut.as_mut().poll(&mut cx) {
            return;
        }
        if flag.0.load(Ordering::SeqCst) {
            continue;
        }
        // Nothing runnable: wake what is due now, or else jump to the next deadline.
        let mut clock = DRIVER.state.lock().unwrap();
        let now = clock.now;
        let next = clock.queue.next_expiration(now);
        if flag.0.load(Ordering::SeqCst) {
            continue;
        }
        assert!(
            next != u64::MAX,
            "deadlock: nothing runnable and no timer pending"
        );
        clock.now = next;
        clock.queue.next_expiration(next);
    }
}

timer_scenarios!(run);
