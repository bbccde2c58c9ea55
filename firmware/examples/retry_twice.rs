//! Footprint: `retry_only.rs` plus a second retried call site (another operation, so another
//! future type): what each further call site costs.
#![no_std]
#![no_main]
use core::time::Duration;
use cortex_m_rt::entry;
use steadfast::retry::{MakeAttempt, RetryBudget, RetryPolicy};
use steadfast_embassy::EmbassyTimer;
use steadfast_firmware_tests::{VirtualDriver, fail, pass, run};
static BUDGET: RetryBudget = RetryBudget::new();
/// Built at compile time, as firmware would: no builder code in the image.
static POLICY: RetryPolicy = RetryPolicy::builder()
    .max_attempts(3)
    .exponential(Duration::from_millis(1), 2.0)
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
            timer.sleep(Duration::from_millis(5)).await;
            if n < 2 { Err(()) } else { Ok(n) }
        }
    };
    if call.retry(&POLICY, &timer).budget(&BUDGET).await.is_err() {
        fail("r");
    }
    let mut reads = 0u8;
    let read = || {
        reads += 1;
        let n = reads;
        async move {
            timer.sleep(Duration::from_millis(3)).await;
            if n < 2 { Err(()) } else { Ok(n) }
        }
    };
    if read.retry(&POLICY, &timer).budget(&BUDGET).await.is_err() {
        fail("r2");
    }
    pass();
}
#[entry]
fn main() -> ! {
    run(|spawner| spawner.spawn(work().expect("spawn")), &DRIVER)
}
