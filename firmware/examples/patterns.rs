//! Footprint: `minimal.rs` plus steadfast's timeout, bulkhead and retry (with a retry budget)
//! around the same sleep.
#![no_std]
#![no_main]

use core::time::Duration;

use cortex_m_rt::entry;
use steadfast::bulkhead::Bulkhead;
use steadfast::retry::{MakeAttempt, RetryBudget, RetryPolicy};
use steadfast::timeout::TimeoutExt;
use steadfast_embassy::EmbassyTimer;
use steadfast_firmware_tests::{VirtualDriver, fail, pass, run};

/// Built at compile time, as firmware would: no builder code in the image.
static POLICY: RetryPolicy = RetryPolicy::builder()
    .max_attempts(3)
    .exponential(Duration::from_millis(1), 2.0)
    .build_const();

embassy_time_driver::time_driver_impl!(static DRIVER: VirtualDriver = VirtualDriver::new());

static BULKHEAD: Bulkhead = Bulkhead::new(2);
static BUDGET: RetryBudget = RetryBudget::new();

#[derive(Debug)]
struct Flaky;

#[embassy_executor::task]
async fn work() {
    let timer = EmbassyTimer;

    let mut calls = 0u32;
    let call = || {
        calls += 1;
        let n = calls;
        async move {
            timer.sleep(Duration::from_millis(5)).await;
            if n < 2 { Err(Flaky) } else { Ok(n) }
        }
    };
    let protected = BULKHEAD.run(
        call.retry(&POLICY, &timer)
            .budget(&BUDGET)
            .timeout(&timer, Duration::from_millis(50)),
    );
    match protected.await {
        Ok(Ok(Ok(2))) => pass(),
        _ => fail("the protected call did not succeed on its second attempt"),
    }
}

#[entry]
fn main() -> ! {
    run(|spawner| spawner.spawn(work().expect("spawn")), &DRIVER)
}
