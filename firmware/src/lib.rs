//! What every firmware here shares: the executor loop, the two time drivers, and the
//! semihosting exit. Each `tests/*.rs` is one firmware: it picks a driver with
//! `embassy_time_driver::time_driver_impl!` and runs the conformance scenarios.
//!
//! Every scenario that needs no heap runs here (see [`run_all!`]). Those that need one do not:
//! the spawn scenarios and everything spawned through `Spawn` (`WorkerPool`, `Batcher`,
//! `TaskGroup`, bracket release by a spawner), `map_bounded`, the batch stream adapter and the
//! heap `Emitter`; each has a no-heap form that does run here.
#![no_std]

use core::cell::{Cell, RefCell};
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use core::task::Waker;

use cortex_m_semihosting::{debug, hprintln};
use critical_section::Mutex;
use embassy_executor::{Spawner, raw};
use embassy_time_queue_utils::Queue;
#[cfg(not(feature = "quiet-panic"))]
use panic_semihosting as _;
use static_cell::StaticCell;

pub use cortex_m_semihosting::hprintln as println;

/// Runs each named scenario of a conformance module in turn, printing its name first so a
/// failure names the scenario that failed.
#[macro_export]
macro_rules! run_each {
    ($env:expr; $module:ident; $($name:ident),* $(,)?) => {
        $(
            $crate::println!("scenario {}::{}", stringify!($module), stringify!($name));
            steadfast_conformance::$module::$name($env).await;
        )*
    };
}

/// Runs every conformance scenario that needs no heap, in `$env` (an expression building a
/// fresh `Env` for each scenario).
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

/// A panic handler that formats nothing (`firmware/footprint` measures what that saves): it
/// ends QEMU with a failure status.
#[cfg(feature = "quiet-panic")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    #[allow(clippy::empty_loop)]
    loop {}
}

/// Ends QEMU with status 0.
pub fn pass() -> ! {
    hprintln!("all scenarios passed");
    debug::exit(debug::EXIT_SUCCESS);
    #[allow(clippy::empty_loop)]
    loop {}
}

/// Ends QEMU with a failure status.
pub fn fail(why: &str) -> ! {
    hprintln!("FAILED: {}", why);
    debug::exit(debug::EXIT_FAILURE);
    #[allow(clippy::empty_loop)]
    loop {}
}

static PENDED: AtomicBool = AtomicBool::new(false);

/// The context of the executor that [`start_pendsv_executor`] starts; the thread-mode
/// executor of [`run`] has a null one.
const PENDSV_CONTEXT: *mut () = core::ptr::dangling_mut();

#[unsafe(export_name = "__pender")]
fn pender(context: *mut ()) {
    if context == PENDSV_CONTEXT {
        cortex_m::peripheral::SCB::set_pendsv();
    } else {
        PENDED.store(true, Ordering::SeqCst);
    }
}

/// The executor of [`start_pendsv_executor`], once started.
static PENDSV_EXECUTOR: AtomicPtr<raw::Executor> = AtomicPtr::new(core::ptr::null_mut());

/// Starts a second executor that runs in the PendSV exception, above thread mode: what
/// embassy-executor's `InterruptExecutor` is (an executor polled from an exception handler and
/// pended by its pender), on an exception every Cortex-M has, as there is no device crate
/// here to name an interrupt. `start` spawns its tasks; the firmware's `PendSV` handler calls
/// [`on_pendsv`].
pub fn start_pendsv_executor(start: impl FnOnce(Spawner)) {
    static EXECUTOR: StaticCell<raw::Executor> = StaticCell::new();
    let executor: &'static raw::Executor = EXECUTOR.init(raw::Executor::new(PENDSV_CONTEXT));
    PENDSV_EXECUTOR.store(core::ptr::from_ref(executor).cast_mut(), Ordering::SeqCst);
    start(executor.spawner());
}

/// Polls the executor of [`start_pendsv_executor`]; call from the `PendSV` exception handler.
pub fn on_pendsv() {
    // SAFETY: the pointer is null or a `&'static raw::Executor` (stored above); only the
    // PendSV handler polls this executor, and PendSV never preempts itself.
    if let Some(executor) = unsafe { PENDSV_EXECUTOR.load(Ordering::SeqCst).as_ref() } {
        unsafe { executor.poll() };
    }
}

/// What the executor loop does when no task is runnable.
pub trait Idle {
    /// Called with nothing runnable; returns once something may be.
    fn idle(&self);
}

/// Runs an embassy executor forever: `start` spawns the tasks, `idle` is called whenever no
/// task is runnable.
pub fn run(start: impl FnOnce(Spawner), idle: &dyn Idle) -> ! {
    static EXECUTOR: StaticCell<raw::Executor> = StaticCell::new();
    let executor: &'static raw::Executor = EXECUTOR.init(raw::Executor::new(core::ptr::null_mut()));
    start(executor.spawner());
    loop {
        PENDED.store(false, Ordering::SeqCst);
        // SAFETY: `poll` is only ever called here, never reentrantly: the pender above only
        // sets a flag.
        unsafe { executor.poll() };
        if !PENDED.load(Ordering::SeqCst) {
            idle.idle();
        }
    }
}

/// A time driver whose clock moves only when the executor is idle: it jumps to the earliest
/// deadline. Deterministic and instant; an idle executor with no deadline is a deadlock and
/// fails the run instead of hanging.
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

impl Idle for VirtualDriver {
    fn idle(&self) {
        critical_section::with(|cs| {
            let mut state = self.state.borrow_ref_mut(cs);
            let (now, queue) = &mut *state;
            let next = queue.next_expiration(*now);
            if PENDED.load(Ordering::SeqCst) {
                return; // something was due already
            }
            if next == u64::MAX {
                fail("deadlock: no task runnable and no timer pending");
            }
            *now = next;
            queue.next_expiration(next);
        });
    }
}

/// A time driver on the SysTick interrupt: real (emulated) time, one interrupt a millisecond.
pub struct SysTickDriver {
    ticks: Mutex<Cell<u64>>,
    queue: Mutex<RefCell<Queue>>,
}

/// embassy ticks per SysTick interrupt (1 ms at 1 MHz ticks).
const TICKS_PER_INTERRUPT: u64 = embassy_time::TICK_HZ / 1_000;

/// The core clock of the board, for the SysTick reload value.
#[cfg(board = "microbit")]
const CORE_HZ: u32 = 16_000_000;
#[cfg(not(board = "microbit"))]
const CORE_HZ: u32 = 12_000_000;

impl SysTickDriver {
    /// A clock at tick 0; call [`start`](Self::start) to make it run.
    pub const fn new() -> Self {
        SysTickDriver {
            ticks: Mutex::new(Cell::new(0)),
            queue: Mutex::new(RefCell::new(Queue::new())),
        }
    }

    /// Starts the 1 kHz SysTick interrupt.
    pub fn start(&self, mut syst: cortex_m::peripheral::SYST) {
        use cortex_m::peripheral::syst::SystClkSource;
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(CORE_HZ / 1_000 - 1);
        syst.clear_current();
        syst.enable_counter();
        syst.enable_interrupt();
    }

    /// Call from the SysTick exception handler.
    pub fn on_tick(&self) {
        critical_section::with(|cs| {
            let ticks = self.ticks.borrow(cs);
            let now = ticks.get().saturating_add(TICKS_PER_INTERRUPT);
            ticks.set(now);
            self.queue.borrow_ref_mut(cs).next_expiration(now);
        });
    }
}

impl Default for SysTickDriver {
    fn default() -> Self {
        Self::new()
    }
}

impl embassy_time_driver::Driver for SysTickDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.ticks.borrow(cs).get())
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let now = self.ticks.borrow(cs).get();
            let mut queue = self.queue.borrow_ref_mut(cs);
            queue.schedule_wake(at, waker);
            // Wake what is already due; the rest waits for the next tick.
            queue.next_expiration(now);
        });
    }
}

impl Idle for SysTickDriver {
    fn idle(&self) {
        // Sleep until the next interrupt. A wake-up that raced in after the check above costs
        // at most one tick.
        cortex_m::asm::wfi();
    }
}
