//! The conformance suite on `EmbassyTimer`: embassy-time with a virtual time driver, on a host
//! executor that jumps the clock to the next timer whenever nothing is runnable.
//!
//! embassy-time's driver is global, so the scenarios of this file run one at a time.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use embassy_time_queue_utils::Queue;
use steadfast_conformance::{Env, timer_scenarios};
use steadfast_embassy::EmbassyTimer;

/// A time driver whose clock moves only when the executor below finds nothing to run.
struct VirtualDriver {
    state: Mutex<Clock>,
}

struct Clock {
    now: u64,
    queue: Queue,
}

impl embassy_time_driver::Driver for VirtualDriver {
    fn now(&self) -> u64 {
        self.state.lock().unwrap().now
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        self.state.lock().unwrap().queue.schedule_wake(at, waker);
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: VirtualDriver = VirtualDriver {
    state: Mutex::new(Clock { now: 0, queue: Queue::new() }),
});

/// One scenario at a time: the driver is global.
static SERIAL: Mutex<()> = Mutex::new(());

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn run<F: Future<Output = ()>>(scenario: impl FnOnce(Env<EmbassyTimer>) -> F) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut fut = pin!(scenario(Env::virtual_time(EmbassyTimer)));
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        flag.0.store(false, Ordering::SeqCst);
        if let Poll::Ready(()) = fut.as_mut().poll(&mut cx) {
            return;
        }
        if flag.0.load(Ordering::SeqCst) {
            continue;
        }
        // Nothing runnable: wake what is due now, or else jump to the next deadline.
        let mut clock = DRIVER.state.lock().unwrap();
        let now = clock.now;
        let next = clock.queue.next_expiration(now);
        if flag.0.load(Ordering::SeqCst) {
            continue;
        }
        assert!(
            next != u64::MAX,
            "deadlock: nothing runnable and no timer pending"
        );
        clock.now = next;
        clock.queue.next_expiration(next);
    }
}

timer_scenarios!(run);

/// embassy-time's own types, taken as they are by the adapter.
mod native_types {
    use core::time::Duration as StdDuration;

    use embassy_time::{Duration, Instant};
    use steadfast_embassy::{EmbassyTimer, with_deadline, with_timeout};

    use super::run;

    #[test]
    fn with_timeout_drops_the_future_after_the_embassy_duration() {
        run(|_env| async {
            let start = Instant::now();
            let err = with_timeout(Duration::from_millis(50), core::future::pending::<()>())
                .context("reading the sensor")
                .await
                .unwrap_err();
            assert_eq!(Instant::now() - start, Duration::from_millis(50));
            assert_eq!(err.duration(), Some(StdDuration::from_millis(50)));
            assert_eq!(err.context(), Some("reading the sensor"));
        });
    }

    #[test]
    fn with_timeout_lets_a_future_that_finishes_in_time_win() {
        run(|_env| async {
            let start = Instant::now();
            let work = async {
                EmbassyTimer.sleep(Duration::from_millis(49)).await;
                7
            };
            assert_eq!(with_timeout(Duration::from_millis(50), work).await, Ok(7));
            assert_eq!(Instant::now() - start, Duration::from_millis(49));
            // Sub-millisecond spans keep their ticks.
            let err = with_timeout(Duration::from_micros(3), core::future::pending::<()>())
                .await
                .unwrap_err();
            assert_eq!(err.duration(), Some(StdDuration::from_micros(3)));
            assert_eq!(Instant::now() - start, Duration::from_micros(49_003));
        });
    }

    #[test]
    fn with_deadline_ends_at_the_embassy_instant_to_the_tick() {
        run(|_env| async {
            let deadline = Instant::now() + Duration::from_ticks(12_345);
            let err = with_deadline(deadline, core::future::pending::<()>())
                .await
                .unwrap_err();
            assert_eq!(Instant::now(), deadline);
            assert_eq!(err.duration(), None);
            // A deadline already passed still polls the future once.
            assert_eq!(with_deadline(deadline, async { 1 }).await, Ok(1));
            assert!(
                with_deadline(deadline, core::future::pending::<()>())
                    .await
                    .is_err()
            );
            assert_eq!(Instant::now(), deadline);
        });
    }

    #[test]
    fn sleeps_take_embassy_and_core_types_alike() {
        run(|_env| async {
            let start = Instant::now();
            EmbassyTimer.sleep(Duration::from_ticks(3)).await;
            assert_eq!(Instant::now() - start, Duration::from_ticks(3));
            EmbassyTimer.sleep(StdDuration::from_nanos(1_001)).await;
            assert_eq!(Instant::now() - start, Duration::from_ticks(5));
            EmbassyTimer
                .sleep_until(start + Duration::from_ticks(9))
                .await;
            assert_eq!(Instant::now() - start, Duration::from_ticks(9));
            let later = EmbassyTimer
                .now()
                .saturating_add(StdDuration::from_micros(1));
            EmbassyTimer.sleep_until(later).await;
            assert_eq!(Instant::now() - start, Duration::from_ticks(10));
        });
    }
}
