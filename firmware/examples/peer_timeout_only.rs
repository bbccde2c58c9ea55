//! Footprint peer of `timeout_only.rs`: the same sleep bounded by `embassy_time::with_timeout`.
#![no_std]
#![no_main]
use cortex_m_rt::entry;
use embassy_time::{Duration, Timer, with_timeout};
use steadfast_firmware_tests::{VirtualDriver, fail, pass, run};
embassy_time_driver::time_driver_impl!(static DRIVER: VirtualDriver = VirtualDriver::new());
#[embassy_executor::task]
async fn work() {
    if with_timeout(
        Duration::from_millis(50),
        Timer::after(Duration::from_millis(5)),
    )
    .await
    .is_err()
    {
        fail("t");
    }
    pass();
}
#[entry]
fn main() -> ! {
    run(|spawner| spawner.spawn(work().expect("spawn")), &DRIVER)
}
