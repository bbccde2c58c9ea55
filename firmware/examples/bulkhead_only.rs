//! Footprint: `minimal.rs` plus steadfast's bulkhead alone.
#![no_std]
#![no_main]
use core::time::Duration;
use cortex_m_rt::entry;
use steadfast::bulkhead::Bulkhead;
use steadfast_embassy::EmbassyTimer;
use steadfast_firmware_tests::{VirtualDriver, fail, pass, run};
static BULKHEAD: Bulkhead = Bulkhead::new(2);
embassy_time_driver::time_driver_impl!(static DRIVER: VirtualDriver = VirtualDriver::new());
#[embassy_executor::task]
async fn work() {
    let timer = EmbassyTimer;
    if BULKHEAD
        .run(timer.sleep(Duration::from_millis(5)))
        .await
        .is_err()
    {
        fail("b");
    }
    pass();
}
#[entry]
fn main() -> ! {
    run(|spawner| spawner.spawn(work().expect("spawn")), &DRIVER)
}
