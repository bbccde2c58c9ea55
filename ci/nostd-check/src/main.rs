//! Links the steadfast core and the embassy adapter with neither std nor an allocator.
#![no_std]
#![no_main]

use core::future::Future;
use core::pin::pin;
use core::sync::atomic::{AtomicU32, Ordering};
use core::task::{Context, Poll, Waker};
use core::time::Duration;

use steadfast::batch::{FixedBatch, FixedBatcher};
use steadfast::bulkhead::Bulkhead;
use steadfast::pool::FixedPool;
use steadfast::retry::{Jitter, MakeAttempt, RetryBudget, RetryPolicy};
use steadfast::timeout::{TimeoutExt, timeout};
use steadfast_embassy::EmbassyTimer;

// The single-core critical section that portable-atomic (on Cortex-M0) and the core's locks
// (steadfast-embassy's default `critical-section` feature) use.
#[cfg(target_arch = "arm")]
use cortex_m as _;

/// Elsewhere (the host, RISC-V) a critical section for this single-threaded link check, which
/// never runs with interrupts enabled. Firmware takes its HAL's (on RISC-V, for example, the
/// `riscv` crate's `critical-section-single-core`).
#[cfg(not(target_arch = "arm"))]
mod single_threaded {
    struct NoInterrupts;
    critical_section::set_impl!(NoInterrupts);
    // SAFETY: one thread and no interrupt handlers in this binary: nothing to exclude.
    unsafe impl critical_section::Impl for NoInterrupts {
        unsafe fn acquire() -> critical_section::RawRestoreState {}
        unsafe fn release(_: critical_section::RawRestoreState) {}
    }
}

static BULKHEAD: Bulkhead = Bulkhead::new(2);
static BUDGET: RetryBudget = RetryBudget::new();
static POOL: FixedPool<u32, 4> = FixedPool::new();
static BATCHER: FixedBatcher<u8, EmbassyTimer, 4> = FixedBatcher::builder(EmbassyTimer)
    .batch_size(2)
    .flush_interval(Duration::from_millis(1))
    .build_const();

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

    let policy = RetryPolicy::builder()
        .max_attempts(3)
        .exponential(Duration::from_micros(10), 2.0)
        // Jitter without a seed: no `std` needed.
        .jitter(Jitter::Full)
        .build();
    if let Ok(policy) = policy {
        let mut calls = 0u32;
        let op = || {
            calls += 1;
            let n = calls;
            async move { if n < 2 { Err(n) } else { Ok(n) } }
        };
        let retried = poll_to_end(op.retry(&policy, &EmbassyTimer).budget(&BUDGET));
        core::hint::black_box(retried.ok());
    }

    let admitted = poll_to_end(BULKHEAD.run(async { 7u8 }));
    core::hint::black_box(admitted.ok());

    let _ = POOL.try_submit(5);
    POOL.close();
    let total = core::cell::Cell::new(0u32);
    poll_to_end(POOL.run::<2, _, _>(
        |n: u32| async move { n * 2 },
        |out| total.set(total.get() + out.unwrap_or(0)),
    ));
    core::hint::black_box(total.get());

    let _ = BATCHER.try_submit(1);
    BATCHER.close();
    poll_to_end(BATCHER.run(
        |batch: FixedBatch<u8, 4>| {
            core::hint::black_box(batch.len());
            async { Ok::<(), ()>(()) }
        },
        |_err| {},
    ));
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
