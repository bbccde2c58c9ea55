//! The executor loop, the virtual time driver and the semihosting exit of the RISC-V
//! firmware: `firmware/`'s (Cortex-M) counterparts for QEMU's `virt` board. Every scenario
//! that needs no heap runs (see [`run_all!`]).
#![no_std]

use core::cell::RefCell;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::Waker;

use critical_section::Mutex;
use embassy_executor::{Spawner, raw};
use embassy_time_queue_utils::Queue;
use riscv_semihosting::debug;
use static_cell::StaticCell;

pub use riscv_semihosting::hprintln as println;

/// Runs each named scenario of a conformance module in turn, printing its name first.
#[macro_export]
macro_rules! run_each {
    ($env:expr; $module:ident; $($name:ident),* $(,)?) => {
        $(
            $crate::println!("scenario {}::{}", stringify!($module), stringify!($name));
            steadfast_conformance::$module::$name($env).await;
        )*
    };
}

/// Runs every conformance scenario that needs no heap, in `$env`: the list of `firmware/`.
#[macro_export]
macro_rules! run_all {
    ($env:expr) => {
        steadfast_conformance::timer_contract!(list run_each!($env;));
        steadfast_conformance::timeout_scenarios!(list run_each!($env;));
        steadfast_conformance::bulkhead_scenarios!(list run_each!($env;));
        steadfast_conformance::breaker_scenarios!(list run_each!($env;));
        steadfast_conformance::limiter_scenarios!(list run_each!($env;));
        steadfast_conformance::chaos_scenarios!(list run_each!($env;));
        steadfast_conformance::concurrency_scenarios!(list run_each!($env;));
        steadfast_conformance::scoped_group_scenarios!(list run_each!($env;));
        steadfast_conformance::retry_scenarios!(list run_each!($env;));
        steadfast_conformance::pool_scenarios!(list run_each!($env;));
        steadfast_conformance::batch_scenarios!(list run_each!($env;));
        steadfast_conformance::bracket_scenarios!(list run_each!($env;));
        steadfast_conformance::fixed_events_scenarios!(list run_each!($env;));
        steadfast_conformance::pitfalls_scenarios!(list run_each!($env;));
    };
}

/// Ends QEMU with status 0.
pub fn pass() -> ! {
    println!("all scenarios passed");
    debug::exit(debug::EXIT_SUCCESS);
    #[allow(clippy::empty_loop)]
    loop {}
}

/// Ends QEMU with a failure status.
pub fn fail(why: &str) -> ! {
    println!("FAILED: {}", why);
    debug::exit(debug::EXIT_FAILURE);
    #[allow(clippy::empty_loop)]
    loop {}
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("panicked: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    #[allow(clippy::empty_loop)]
    loop {}
}

static PENDED: AtomicBool = AtomicBool::new(false);

#[unsafe(export_name = "__pender")]
fn pender(_context: *mut ()) {
    PENDED.store(true, Ordering::SeqCst);
}

/// Runs an embassy executor forever: `start` spawns the tasks; with nothing runnable the
/// virtual clock jumps to the next deadline.
pub fn run(start: impl FnOnce(Spawner), driver: &VirtualDriver) -> ! {
    static EXECUTOR: StaticCell<raw::Executor> = StaticCell::new();
    let executor: &'static raw::Executor = EXECUTOR.init(raw::Executor::new(core::ptr::null_mut()));
    start(executor.spawner());
    loop {
        PENDED.store(false, Ordering::SeqCst);
        // SAFETY: `poll` is only ever called here, never reentrantly: the pender only sets a
        // flag.
        unsafe { executor.poll() };
        if !PENDED.load(Ordering::SeqCst) {
            driver.advance();
        }
    }
}

/// A time driver whose clock moves only when the executor is idle: it jumps to the earliest
/// deadline. An idle executor with no deadline is a deadlock and fails the run.
pub struct VirtualDriver {
    state: Mutex<RefCell<(u64, Queue)>>,
}

impl VirtualDriver {
    /// A clock at tick 0.
    pub const fn new() -> Self {
        VirtualDriver {
            state: Mutex::new(RefCell::new((0, Queue::new()))),
        }
    }

    fn advance(&self) {
        critical_section::with(|cs| {
            let mut state = self.state.borrow_ref_mut(cs);
            let (now, queue) = &mut *state;
            let next = queue.next_expiration(*now);
            if PENDED.load(Ordering::SeqCst) {
                return;
            }
            if next == u64::MAX {
                fail("deadlock: no task runnable and no timer pending");
            }
            *now = next;
            queue.next_expiration(next);
        });
    }
}

impl Default for VirtualDriver {
    fn default() -> Self {
        Self::new()
    }
}

impl embassy_time_driver::Driver for VirtualDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.state.borrow_ref(cs).0)
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            self.state.borrow_ref_mut(cs).1.schedule_wake(at, waker);
        });
    }
}
