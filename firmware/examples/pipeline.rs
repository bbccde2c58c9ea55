//! Footprint: `minimal.rs` plus an attempt timeout, retry, circuit breaker and bulkhead as one
//! `Pipeline`, around the same sleep (`nested.rs` nests the same four by hand).
#![no_std]
#![no_main]

use core::time::Duration;

use cortex_m_rt::entry;
use steadfast::breaker::CircuitBreaker;
use steadfast::bulkhead::Bulkhead;
use steadfast::pipeline::Pipeline;
use steadfast::retry::RetryPolicy;
use steadfast_embassy::EmbassyTimer;
use steadfast_firmware_tests::{VirtualDriver, fail, pass, run};

embassy_time_driver::time_driver_impl!(static DRIVER: VirtualDriver = VirtualDriver::new());

static BREAKER: CircuitBreaker = CircuitBreaker::builder()
    .consecutive_failures(3)
    .build_const();
static BULKHEAD: Bulkhead = Bulkhead::new(2);
/// Built at compile time, as firmware would: no builder code in the image.
static PIPELINE: Pipeline<'static> = Pipeline::builder()
    .retry(
        RetryPolicy::builder()
            .max_attempts(3)
            .exponential(Duration::from_millis(1), 2.0)
            .build_const(),
    )
    .breaker(&BREAKER)
    .bulkhead(&BULKHEAD)
    .attempt_timeout(Duration::from_millis(50))
    .build_const();

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
    match PIPELINE.call(&timer, call).await {
        Ok(2) => pass(),
        _ => fail("the protected call did not succeed on its second attempt"),
    }
}

#[entry]
fn main() -> ! {
    run(|spawner| spawner.spawn(work().expect("spawn")), &DRIVER)
}
