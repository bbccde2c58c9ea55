//! Footprint baseline: an embassy executor, a time driver and one task that sleeps. Measured
//! against `patterns.rs`, which adds steadfast's patterns to the same firmware.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use embassy_time::{Duration, Timer};
use steadfast_firmware_tests::{VirtualDriver, pass, run};

embassy_time_driver::time_driver_impl!(static DRIVER: VirtualDriver = VirtualDriver::new());

#[embassy_executor::task]
async fn work() {
    Timer::after(Duration::from_millis(5)).await;
    pass();
}

#[entry]
fn main() -> ! {
    run(|spawner| spawner.spawn(work().expect("spawn")), &DRIVER)
}
