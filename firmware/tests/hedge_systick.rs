//! The hedging scenarios on an embassy executor with a real SysTick clock, in a firmware of
//! their own (see `hedge.rs`): assertions on embassy time, with a tolerance.
#![no_std]
#![no_main]

use core::time::Duration;

use cortex_m_rt::{entry, exception};
use steadfast_conformance::Env;
use steadfast_embassy::EmbassyTimer;
use steadfast_firmware_tests::{SysTickDriver, pass, run, run_each};

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver::new());

#[exception]
fn SysTick() {
    DRIVER.on_tick();
}

fn env() -> Env<EmbassyTimer> {
    Env::real_time(
        EmbassyTimer,
        Duration::from_millis(10),
        Duration::from_millis(3),
    )
}

#[embassy_executor::task]
async fn scenarios() {
    steadfast_conformance::hedge_scenarios!(list run_each!(env();));
    pass();
}

#[entry]
fn main() -> ! {
    let peripherals = cortex_m::Peripherals::take().expect("the core peripherals");
    DRIVER.start(peripherals.SYST);
    run(
        |spawner| spawner.spawn(scenarios().expect("spawn the scenarios")),
        &DRIVER,
    )
}
