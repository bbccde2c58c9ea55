//! The conformance scenarios on an embassy executor with virtual time, on RISC-V without
//! atomics: exact assertions.
#![no_std]
#![no_main]

use steadfast_conformance::Env;
use steadfast_embassy::EmbassyTimer;
use steadfast_firmware_riscv::{VirtualDriver, pass, run, run_all, run_each};

embassy_time_driver::time_driver_impl!(static DRIVER: VirtualDriver = VirtualDriver::new());

#[embassy_executor::task]
async fn scenarios() {
    run_all!(Env::virtual_time(EmbassyTimer));
    pass();
}

#[riscv_rt::entry]
fn main() -> ! {
    run(
        |spawner| spawner.spawn(scenarios().expect("spawn the scenarios")),
        &DRIVER,
    )
}
