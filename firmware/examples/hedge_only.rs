//! Footprint: `minimal.rs` plus steadfast's hedging alone (up to three attempts, a budget).
#![no_std]
#![no_main]
use core::time::Duration;
use cortex_m_rt::entry;
use steadfast::hedge::HedgePolicy;
use steadfast::retry::RetryBudget;
use steadfast_embassy::EmbassyTimer;
use steadfast_firmware_tests::{VirtualDriver, fail, pass, run};
static BUDGET: RetryBudget = RetryBudget::new();
/// Built at compile time, as firmware would: no builder code in the image.
static POLICY: HedgePolicy = HedgePolicy::builder()
    .max_attempts(3)
    .delay(Duration::from_millis(2))
    .build_const();

embassy_time_driver::time_driver_impl!(static DRIVER: VirtualDriver = VirtualDriver::new());
#[embassy_executor::task]
async fn work() {
    let timer = EmbassyTimer;

    let mut calls = 0u32;
    let call = || {
        calls += 1;
        let n = calls;
        async move {
            // The first attempt is slow: the hedge 2 ms later wins.
            timer
                .sleep(Duration::from_millis(if n == 1 { 9 } else { 5 }))
                .await;
            if n == 3 { Err(()) } else { Ok(n) }
        }
    };
    if POLICY.run(&timer, call).budget(&BUDGET).await != Ok(2) {
        fail("h");
    }
    pass();
}
#[entry]
fn main() -> ! {
    run(|spawner| spawner.spawn(work().expect("spawn")), &DRIVER)
}
