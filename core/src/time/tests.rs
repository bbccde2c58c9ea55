//! Tests of the clock seam: `Instant` arithmetic and `VirtualTimer`.

use super::*;

#[test]
fn instant_arithmetic_saturates() {
    assert_eq!(Instant::MAX + Duration::from_nanos(1), Instant::MAX);
    assert_eq!(Instant::ZERO + Duration::MAX, Instant::MAX);
    assert_eq!(Instant::from_nanos(5).checked_add(Duration::MAX), None);
    assert_eq!(Instant::MAX.checked_add(Duration::from_nanos(1)), None);
    assert_eq!(
        Instant::from_nanos(5).checked_add(Duration::from_nanos(7)),
        Some(Instant::from_nanos(12))
    );
    assert_eq!(Instant::ZERO - Instant::MAX, Duration::ZERO);
    assert_eq!(Instant::MAX - Instant::ZERO, Duration::from_nanos(u64::MAX));
    assert_eq!(
        duration_to_nanos(Duration::new(u64::MAX, 999_999_999)),
        u64::MAX
    );
}

#[test]
fn division_by_reciprocal_is_exact() {
    for d in [
        1u64,
        2,
        3,
        7,
        100,
        1_000,
        1_000_000_007,
        u64::MAX / 3,
        u64::MAX,
    ] {
        let recip = u64::MAX / d;
        for n in [
            0u64,
            1,
            d - 1,
            d,
            d.saturating_add(1),
            12_345_678_901,
            u64::MAX - 1,
            u64::MAX,
        ] {
            assert_eq!(
                div_rem_with_reciprocal(n, d, recip),
                (n / d, n % d),
                "{n} / {d}"
            );
        }
    }
}

#[test]
fn debug_names_never() {
    assert_eq!(std::format!("{:?}", Instant::MAX), "Instant::MAX");
    assert_eq!(
        std::format!("{:?}", Instant::from_nanos(1_500_000)),
        "Instant(1.5ms)"
    );
}

#[cfg(feature = "alloc")]
mod virtual_timer {
    use alloc::sync::Arc;
    use alloc::task::Wake;
    use alloc::vec::Vec;
    use core::future::Future;
    use core::pin::Pin;
    use core::sync::atomic::{AtomicUsize, Ordering};
    use core::task::{Context, Poll, Waker};
    use core::time::Duration;
    use std::vec;

    use crate::VirtualTimer;
    use crate::time::{Instant, Timer};

    struct Order(std::sync::Mutex<Vec<u32>>, u32);
    impl Wake for Order {
        fn wake(self: Arc<Self>) {
            self.0.lock().unwrap().push(self.1);
        }
    }

    fn poll_once<F: Future + Unpin>(f: &mut F, waker: &Waker) -> Poll<F::Output> {
        Pin::new(f).poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn wakes_in_deadline_order_then_registration_order() {
        let timer = VirtualTimer::new();
        let log = Arc::new(Order(std::sync::Mutex::new(Vec::new()), 0));
        let mut sleeps = Vec::new();
        for (tag, secs) in [(1, 30u64), (2, 10), (3, 20), (4, 10)] {
            let mut s = timer.sleep(Duration::from_secs(secs));
            let w = Waker::from(Arc::new(Tagged(log.clone(), tag)));
            assert!(poll_once(&mut s, &w).is_pending());
            sleeps.push(s);
        }
        timer.advance(Duration::from_secs(60));
        assert_eq!(*log.0.lock().unwrap(), vec![2, 4, 3, 1]);
        assert_eq!(timer.sleepers(), 0);
    }

    struct Tagged(Arc<Order>, u32);
    impl Wake for Tagged {
        fn wake(self: Arc<Self>) {
            self.0.0.lock().unwrap().push(self.1);
        }
    }

    #[test]
    fn dropping_a_sleep_unregisters_it() {
        let timer = VirtualTimer::new();
        let mut s = timer.sleep(Duration::from_secs(1));
        assert!(poll_once(&mut s, Waker::noop()).is_pending());
        assert_eq!(timer.sleepers(), 1);
        assert_eq!(
            timer.next_deadline(),
            Some(Instant::from_nanos(1_000_000_000))
        );
        drop(s);
        assert_eq!(timer.sleepers(), 0);
        assert_eq!(timer.advance_to_next(), None);
        assert_eq!(timer.now(), Instant::ZERO);
    }

    #[test]
    fn advance_to_next_moves_exactly_to_the_deadline() {
        let timer = VirtualTimer::new();
        let mut a = timer.sleep(Duration::from_millis(7));
        let mut b = timer.sleep(Duration::from_millis(9));
        assert!(poll_once(&mut a, Waker::noop()).is_pending());
        assert!(poll_once(&mut b, Waker::noop()).is_pending());
        assert_eq!(
            timer.advance_to_next(),
            Some(Instant::from_nanos(7_000_000))
        );
        assert!(poll_once(&mut a, Waker::noop()).is_ready());
        assert!(poll_once(&mut b, Waker::noop()).is_pending());
        assert_eq!(
            timer.advance_to_next(),
            Some(Instant::from_nanos(9_000_000))
        );
        assert!(poll_once(&mut b, Waker::noop()).is_ready());
    }

    #[test]
    fn never_is_never() {
        let timer = VirtualTimer::new();
        let mut s = timer.sleep(Duration::MAX);
        assert!(poll_once(&mut s, Waker::noop()).is_pending());
        assert_eq!(timer.advance_to_next(), None);
        timer.advance(Duration::MAX);
        assert!(poll_once(&mut s, Waker::noop()).is_pending());
        timer.advance_to(Instant::MAX);
        assert!(poll_once(&mut s, Waker::noop()).is_pending());
    }

    #[test]
    fn advancing_by_duration_max_moves_the_clock_and_wakes_every_sleeper_due() {
        let timer = VirtualTimer::new();
        timer.advance(Duration::from_secs(1));
        let mut far = timer.sleep_until(Instant::from_nanos(u64::MAX - 1));
        let mut never = timer.sleep_until(Instant::MAX);
        assert!(poll_once(&mut far, Waker::noop()).is_pending());
        assert!(poll_once(&mut never, Waker::noop()).is_pending());
        timer.advance(Duration::MAX);
        assert_eq!(timer.now(), Instant::from_nanos(u64::MAX - 1));
        assert!(poll_once(&mut far, Waker::noop()).is_ready());
        assert!(poll_once(&mut never, Waker::noop()).is_pending());
        // The clock stays there: still no going back, still no reaching "never".
        timer.advance_to(Instant::from_nanos(5));
        timer.advance(Duration::MAX);
        assert_eq!(timer.now(), Instant::from_nanos(u64::MAX - 1));
    }

    #[test]
    fn auto_advance_idles_without_sleepers() {
        let timer = VirtualTimer::new();
        let polls = Arc::new(AtomicUsize::new(0));
        let p = polls.clone();
        let mut fut = core::pin::pin!(timer.auto_advance(core::future::poll_fn(move |_| {
            p.fetch_add(1, Ordering::Relaxed);
            Poll::<()>::Pending
        })));
        let woken = Arc::new(Order(std::sync::Mutex::new(Vec::new()), 9));
        let w = Waker::from(woken.clone());
        assert!(fut.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
        // No sleeper: no self wake-up, so an executor would park.
        assert!(woken.0.lock().unwrap().is_empty());
        assert_eq!(polls.load(Ordering::Relaxed), 1);
    }
}

#[test]
fn durations_in_nanoseconds_are_exact_and_saturate() {
    use super::duration_to_nanos;
    let last = u64::MAX / 1_000_000_000; // 18446744073 s
    for d in [
        Duration::ZERO,
        Duration::new(1, 1),
        Duration::new(last, 0),
        Duration::new(last, 709_551_615),
        Duration::new(last, 709_551_616),
        Duration::new(last, 999_999_999),
        Duration::new(last + 1, 0),
        Duration::MAX,
    ] {
        let expected = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        assert_eq!(duration_to_nanos(d), expected, "{d:?}");
    }
}
