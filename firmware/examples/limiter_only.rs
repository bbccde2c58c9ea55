//! Footprint: `minimal.rs` plus steadfast's rate limiter alone: a burst, then a wait for the
//! next cell.
#![no_std]
#![no_main]
use core::time::Duration;
use cortex_m_rt::entry;
use steadfast::limiter::RateLimiter;
use steadfast_embassy::EmbassyTimer;
use steadfast_firmware_tests::{VirtualDriver, fail, pass, run};
static LIMITER: RateLimiter = RateLimiter::builder(10, Duration::from_secs(1))
    .burst(2)
    .build_const();
embassy_time_driver::time_driver_impl!(static DRIVER: VirtualDriver = VirtualDriver::new());
#[embassy_executor::task]
async fn work() {
    let timer = EmbassyTimer;
    if LIMITER.try_acquire(timer.now(), 2).is_err() {
        fail("b");
    }
    if LIMITER.acquire(&timer, 1).await.is_err() {
        fail("w");
    }
    pass();
}
#[entry]
fn main() -> ! {
    run(|spawner| spawner.spawn(work().expect("spawn")), &DRIVER)
}
