//! One bulkhead and one rate limiter shared by a thread-mode executor and an executor at
//! exception priority (PendSV), on the real SysTick clock. SysTick wakes the high-priority
//! task at arbitrary points of the thread-mode task's work, locks included: it takes and
//! gives back bulkhead permits and limiter cells there, and waits for the permit the
//! thread-mode task holds, which that task's release hands over from below. With the core's
//! locks held inside critical sections (steadfast-embassy's default) nothing spins; with
//! plain spinlocks this firmware hangs (and QEMU's timeout fails it).
#![no_std]
#![no_main]

use core::time::Duration;
use portable_atomic::{AtomicBool, AtomicU32, Ordering};

use cortex_m_rt::{entry, exception};
use embassy_futures::yield_now;
use steadfast_embassy::EmbassyTimer;
use steadfast_embassy::bulkhead::Bulkhead;
use steadfast_embassy::limiter::RateLimiter;
use steadfast_firmware_tests::{
    SysTickDriver, fail, on_pendsv, pass, println, run, start_pendsv_executor,
};

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver::new());

#[exception]
fn SysTick() {
    DRIVER.on_tick();
}

#[exception]
fn PendSV() {
    on_pendsv();
}

/// One permit: whoever holds it makes the other wait.
static BULKHEAD: Bulkhead = Bulkhead::new(1);
/// Scarce enough that the high-priority task waits for cells now and then.
static LIMITER: RateLimiter = RateLimiter::builder(1, Duration::from_micros(1500)).build_const();

const ROUNDS: u32 = 300;

static HIGH_DONE: AtomicBool = AtomicBool::new(false);
/// The thread-mode task is between its acquire and its release.
static THREAD_IN_CALL: AtomicBool = AtomicBool::new(false);
/// High-priority rounds that ran while the thread-mode task was inside its call.
static PREEMPTED: AtomicU32 = AtomicU32::new(0);
/// High-priority rounds that found the permit taken and waited for it.
static WAITED: AtomicU32 = AtomicU32::new(0);

#[embassy_executor::task]
async fn high() {
    for _ in 0..ROUNDS {
        // Woken from SysTick, wherever thread mode is.
        EmbassyTimer.sleep(Duration::from_micros(700)).await;
        if THREAD_IN_CALL.load(Ordering::SeqCst) {
            PREEMPTED.fetch_add(1, Ordering::SeqCst);
        }
        let permit = match BULKHEAD.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                WAITED.fetch_add(1, Ordering::SeqCst);
                match BULKHEAD.acquire().await {
                    Ok(permit) => permit,
                    Err(_) => fail("the bulkhead refused the high-priority task"),
                }
            }
        };
        if LIMITER.acquire(&EmbassyTimer, 1).await.is_err() {
            fail("the limiter refused the high-priority task");
        }
        drop(permit);
    }
    HIGH_DONE.store(true, Ordering::SeqCst);
}

#[embassy_executor::task]
async fn low() {
    let start = EmbassyTimer.now();
    let mut rounds = 0u32;
    // QEMU's instruction clock is deterministic and every wait ends on a tick: without a
    // varying amount of work, SysTick would find thread mode at the same point every time.
    let mut rng = 0x9E37_79B9u32;
    while !HIGH_DONE.load(Ordering::SeqCst) {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        cortex_m::asm::delay(rng % 1024);
        THREAD_IN_CALL.store(true, Ordering::SeqCst);
        let Ok(permit) = BULKHEAD.acquire().await else {
            fail("the bulkhead refused the thread-mode task");
        };
        // Mostly refused (the high task takes the cells): the limiter's lock is what is
        // exercised, held by thread mode much of the time.
        for _ in 0..1 + (rng >> 10) % 16 {
            let _ = LIMITER.try_acquire(EmbassyTimer.now(), 1);
        }
        yield_now().await;
        drop(permit);
        THREAD_IN_CALL.store(false, Ordering::SeqCst);
        // Each release locks the semaphore's waiter list.
        for _ in 0..1 + (rng >> 20) % 16 {
            if let Ok(permit) = BULKHEAD.try_acquire() {
                drop(permit);
            }
        }
        yield_now().await;
        rounds += 1;
        if EmbassyTimer.now() - start > Duration::from_secs(5) {
            fail("the high-priority task did not finish its rounds");
        }
    }
    let (preempted, waited) = (
        PREEMPTED.load(Ordering::SeqCst),
        WAITED.load(Ordering::SeqCst),
    );
    println!(
        "{} high-priority rounds: {} inside a thread-mode call, {} waited for its permit; {} thread-mode rounds",
        ROUNDS, preempted, waited, rounds
    );
    if preempted == 0 || waited == 0 || rounds == 0 {
        fail("the two priorities did not interleave");
    }
    if BULKHEAD.metrics().in_flight != 0 || BULKHEAD.try_acquire().is_err() {
        fail("a permit was lost");
    }
    pass();
}

#[entry]
fn main() -> ! {
    let peripherals = cortex_m::Peripherals::take().expect("the core peripherals");
    DRIVER.start(peripherals.SYST);
    start_pendsv_executor(|spawner| spawner.spawn(high().expect("spawn the high-priority task")));
    run(
        |spawner| spawner.spawn(low().expect("spawn the thread-mode task")),
        &DRIVER,
    )
}
