//! Footprint: `minimal.rs` plus steadfast's circuit breaker alone, with a 64-outcome ring.
#![no_std]
#![no_main]
use core::time::Duration;
use cortex_m_rt::entry;
use steadfast::breaker::CircuitBreaker;
use steadfast_embassy::EmbassyTimer;
use steadfast_firmware_tests::{VirtualDriver, fail, pass, run};
static BREAKER: CircuitBreaker<2> = CircuitBreaker::builder().count_window(64, 10).build_const();
embassy_time_driver::time_driver_impl!(static DRIVER: VirtualDriver = VirtualDriver::new());
#[embassy_executor::task]
async fn work() {
    let timer = EmbassyTimer;
    let call = async {
        timer.sleep(Duration::from_millis(5)).await;
        Ok::<(), ()>(())
    };
    if BREAKER.run(&timer, call).await.is_err() {
        fail("c");
    }
    pass();
}
#[entry]
fn main() -> ! {
    run(|spawner| spawner.spawn(work().expect("spawn")), &DRIVER)
}
