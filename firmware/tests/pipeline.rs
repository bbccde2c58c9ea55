//! The pipeline's and the observers' conformance scenarios on an embassy executor with
//! virtual time, in an image of their own (the Cortex-M0 board's flash holds the other
//! scenarios' image already).
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use steadfast_conformance::Env;
use steadfast_embassy::EmbassyTimer;
use steadfast_firmware_tests::{VirtualDriver, pass, run, run_each};

embassy_time_driver::time_driver_impl!(static DRIVER: VirtualDriver = VirtualDriver::new());

#[embassy_executor::task]
async fn scenarios() {
    steadfast_conformance::pipeline_scenarios!(list run_each!(Env::virtual_time(EmbassyTimer);));
    steadfast_conformance::observe_scenarios!(list run_each!(Env::virtual_time(EmbassyTimer);));
    pass();
}

#[entry]
fn main() -> ! {
    run(
        |spawner| spawner.spawn(scenarios().expect("spawn the scenarios")),
        &DRIVER,
    )
}
