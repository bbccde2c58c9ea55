//! Footprint peer of `patterns.rs`: the same flaky call retried by backon (with jitter), bounded
//! by `embassy_time::with_timeout`, holding a permit of an embassy-sync `FairSemaphore`.
#![no_std]
#![no_main]
use backon::{EmbassySleeper, ExponentialBuilder, Retryable};
use core::time::Duration;
use cortex_m_rt::entry;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::semaphore::{FairSemaphore, Semaphore};
use embassy_time::{Timer, with_timeout};
use steadfast_firmware_tests::{VirtualDriver, fail, pass, run};

/// backon counts retries, not attempts: 2 retries are 3 attempts.
const BACKOFF: ExponentialBuilder = ExponentialBuilder::new()
    .with_max_times(2)
    .with_min_delay(Duration::from_millis(1))
    .with_factor(2.0)
    .with_jitter();

embassy_time_driver::time_driver_impl!(static DRIVER: VirtualDriver = VirtualDriver::new());

static BULKHEAD: FairSemaphore<CriticalSectionRawMutex, 4> = FairSemaphore::new(2);

#[derive(Debug)]
struct Flaky;

#[embassy_executor::task]
async fn work() {
    let mut calls = 0u32;
    let call = || {
        calls += 1;
        let n = calls;
        async move {
            Timer::after_millis(5).await;
            if n < 2 { Err(Flaky) } else { Ok(n) }
        }
    };
    let Ok(_permit) = BULKHEAD.acquire(1).await else {
        fail("the permit was refused");
    };
    let protected = with_timeout(
        embassy_time::Duration::from_millis(50),
        call.retry(BACKOFF).sleep(EmbassySleeper),
    );
    match protected.await {
        Ok(Ok(2)) => pass(),
        _ => fail("the protected call did not succeed on its second attempt"),
    }
}

#[entry]
fn main() -> ! {
    run(|spawner| spawner.spawn(work().expect("spawn")), &DRIVER)
}
