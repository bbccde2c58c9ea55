//! Footprint: `minimal.rs` plus steadfast's timeout alone.
#![no_std]
#![no_main]
use core::time::Duration;
use cortex_m_rt::entry;
use steadfast::timeout::TimeoutExt;
use steadfast_embassy::EmbassyTimer;
use steadfast_firmware_tests::{VirtualDriver, fail, pass, run};
embassy_time_driver::time_driver_impl!(static DRIVER: VirtualDriver = VirtualDriver::new());
#[embassy_executor::task]
async fn work() {
    let timer = EmbassyTimer;
    if timer
        .sleep(Duration::from_millis(5))
        .timeout(&timer, Duration::from_millis(50))
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
