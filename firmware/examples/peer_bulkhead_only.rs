//! Footprint peer of `bulkhead_only.rs`: the same sleep holding a permit of an embassy-sync
//! `FairSemaphore` (FIFO, critical-section lock, room for 4 waiters).
#![no_std]
#![no_main]
use cortex_m_rt::entry;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::semaphore::{FairSemaphore, Semaphore};
use embassy_time::{Duration, Timer};
use steadfast_firmware_tests::{VirtualDriver, fail, pass, run};
static BULKHEAD: FairSemaphore<CriticalSectionRawMutex, 4> = FairSemaphore::new(2);
embassy_time_driver::time_driver_impl!(static DRIVER: VirtualDriver = VirtualDriver::new());
#[embassy_executor::task]
async fn work() {
    match BULKHEAD.acquire(1).await {
        Ok(_permit) => Timer::after(Duration::from_millis(5)).await,
        Err(_) => fail("b"),
    }
    pass();
}
#[entry]
fn main() -> ! {
    run(|spawner| spawner.spawn(work().expect("spawn")), &DRIVER)
}
