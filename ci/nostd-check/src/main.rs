//! Links the steadfast core and the embassy adapter with neither std nor an allocator.
#![no_std]
#![no_main]

use core::future::Future;
use core::pin::pin;
use core::sync::atomic::{AtomicU32, Ordering};
use core::task::{Context, Poll, Waker};
use core::time::Duration;

use steadfast::timeout::{TimeoutExt, timeout};
use steadfast_embassy::EmbassyTimer;

/// A time driver whose clock moves one tick per reading; it wakes sleepers at once, so an
/// executor busy-polls. Enough to link and run the code paths.
struct CountingDriver(AtomicU32);

impl embassy_time_driver::Driver for CountingDriver {
    fn now(&self) -> u64 {
        // A load and a store, no compare-and-swap: fine on Cortex-M0 in a single thread.
        let t = self.0.load(Ordering::Relaxed);
        self.0.store(t.wrapping_add(1), Ordering::Relaxed);
        u64::from(t)
    }

    fn schedule_wake(&self, _at: u64, waker: &Waker) {
        waker.wake_by_ref();
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: CountingDriver = CountingDriver(AtomicU32::new(0)));

fn poll_to_end<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let quick = poll_to_end(timeout(&EmbassyTimer, Duration::from_millis(5), async {
        1u8
    }));
    let slow =
        poll_to_end(core::future::pending::<u8>().timeout(&EmbassyTimer, Duration::from_micros(3)));
    core::hint::black_box((quick.ok(), slow.err().and_then(|e| e.duration())));
    #[allow(clippy::empty_loop)]
    loop {}
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

/// The host's prebuilt `core` refers to the unwinding personality even with `panic = "abort"`;
/// nothing calls it. Bare-metal targets need no such symbol.
#[cfg(not(target_os = "none"))]
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}
