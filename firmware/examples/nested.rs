//! Footprint: `minimal.rs` plus an attempt timeout, retry, circuit breaker and bulkhead nested
//! by hand, around the same sleep: what `pipeline.rs` does as one `Pipeline`.
#![no_std]
#![no_main]

use core::time::Duration;

use cortex_m_rt::entry;
use steadfast::breaker::CircuitBreaker;
use steadfast::bulkhead::Bulkhead;
use steadfast::retry::{MakeAttempt, RetryPolicy};
use steadfast::timeout::TimeoutExt;
use steadfast_embassy::EmbassyTimer;
use steadfast_firmware_tests::{VirtualDriver, fail, pass, run};

embassy_time_driver::time_driver_impl!(static DRIVER: VirtualDriver = VirtualDriver::new());

static BREAKER: CircuitBreaker = CircuitBreaker::builder()
    .consecutive_failures(3)
    .build_const();
static BULKHEAD: Bulkhead = Bulkhead::new(2);
static POLICY: RetryPolicy = RetryPolicy::builder()
    .max_attempts(3)
    .exponential(Duration::from_millis(1), 2.0)
    .build_const();

#[derive(Debug)]
enum Error {
    Flaky,
    TimedOut,
    Full,
}

#[embassy_executor::task]
async fn work() {
    let timer = EmbassyTimer;
    let mut calls = 0u32;
    let attempt = || {
        calls += 1;
        let n = calls;
        let call = async move {
            timer.sleep(Duration::from_millis(5)).await;
            if n < 2 { Err(Error::Flaky) } else { Ok(n) }
        };
        BREAKER.run(&timer, async move {
            match BULKHEAD
                .run(call.timeout(&timer, Duration::from_millis(50)))
                .await
            {
                Ok(Ok(r)) => r,
                Ok(Err(_)) => Err(Error::TimedOut),
                Err(_) => Err(Error::Full),
            }
        })
    };
    match attempt.retry(&POLICY, &timer).await {
        Ok(2) => pass(),
        _ => fail("the protected call did not succeed on its second attempt"),
    }
}

#[entry]
fn main() -> ! {
    run(|spawner| spawner.spawn(work().expect("spawn")), &DRIVER)
}
