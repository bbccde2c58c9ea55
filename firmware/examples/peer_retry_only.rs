//! Footprint peer of `retry_only.rs`: the same flaky call retried by backon (3 attempts,
//! exponential from 1 ms, factor 2, jitter) sleeping with its embassy sleeper.
#![no_std]
#![no_main]
use backon::{EmbassySleeper, ExponentialBuilder, Retryable};
use core::time::Duration;
use cortex_m_rt::entry;
use embassy_time::Timer;
use steadfast_firmware_tests::{VirtualDriver, fail, pass, run};
/// backon counts retries, not attempts: 2 retries are 3 attempts. Without std its jitter
/// draws from a fixed seed.
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
    pass();
}
#[entry]
fn main() -> ! {
    run(|spawner| spawner.spawn(work().expect("spawn")), &DRIVER)
}
