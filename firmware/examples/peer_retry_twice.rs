//! Footprint peer of `retry_twice.rs`: `peer_retry_only.rs` plus a second retried call site.
#![no_std]
#![no_main]
use backon::{EmbassySleeper, ExponentialBuilder, Retryable};
use core::time::Duration;
use cortex_m_rt::entry;
use embassy_time::Timer;
use steadfast_firmware_tests::{VirtualDriver, fail, pass, run};
/// backon counts retries, not attempts: 2 retries are 3 attempts.
const BACKOFF: ExponentialBuilder = ExponentialBuilder::new()
    .with_max_times(2)
    .with_min_delay(Duration::from_millis(1))
    .with_factor(2.0)
    .with_jitter();

embassy_time_driver::time_driver_impl!(static DRIVER: VirtualDriver = VirtualDriver::new());
#[embassy_executor::task]
async fn work() {
    let mut calls = 0u32;
    let call = || {
        calls += 1;
        let n = calls;
        async move {
            Timer::after_millis(5).await;
            if n < 2 { Err(()) } else { Ok(n) }
        }
    };
    if call.retry(BACKOFF).sleep(EmbassySleeper).await.is_err() {
        fail("r");
    }
    let mut reads = 0u8;
    let read = || {
        reads += 1;
        let n = reads;
        async move {
            Timer::after_millis(3).await;
            if n < 2 { Err(()) } else { Ok(n) }
        }
    };
    if read.retry(BACKOFF).sleep(EmbassySleeper).await.is_err() {
        fail("r2");
    }
    pass();
}
#[entry]
fn main() -> ! {
    run(|spawner| spawner.spawn(work().expect("spawn")), &DRIVER)
}
