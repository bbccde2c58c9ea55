use super::*;

use core::cell::Cell;
use core::pin::pin;
use core::task::Waker;

use crate::test_util::counted as task;

fn poll<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn every_outcome_in_order() {
    let p = [Cell::new(0), Cell::new(0), Cell::new(0)];
    let (a, b, c) = (
        pin!(task(&p[0], 2, Ok(1))),
        pin!(task(&p[1], 1, Err(2))),
        pin!(task(&p[2], 3, Ok(3))),
    );
    let mut group = scoped([a, b, c]);
    assert!(poll(&mut group).is_pending());
    assert!(poll(&mut group).is_pending());
    assert_eq!(
        poll(&mut group),
        Poll::Ready([Ok(Ok(1)), Ok(Err(2)), Ok(Ok(3))])
    );
    assert_eq!([p[0].get(), p[1].get(), p[2].get()], [2, 1, 3]);
}

#[test]
fn limit_starts_futures_in_order_as_others_finish() {
    let p = [Cell::new(0), Cell::new(0), Cell::new(0), Cell::new(0)];
    let (a, b, c, d) = (
        pin!(task(&p[0], 3, Ok(0))),
        pin!(task(&p[1], 1, Ok(1))),
        pin!(task(&p[2], 2, Ok(2))),
        pin!(task(&p[3], 1, Ok(3))),
    );
    let mut group = scoped([a, b, c, d]).limit(NonZeroUsize::new(2).unwrap());
    let polls = || [p[0].get(), p[1].get(), p[2].get(), p[3].get()];
    // 0 runs, 1 finishes at once, so 2 starts; 3 waits.
    assert!(poll(&mut group).is_pending());
    assert_eq!(polls(), [1, 1, 1, 0]);
    // 2 finishes: 3 starts and finishes.
    assert!(poll(&mut group).is_pending());
    assert_eq!(polls(), [2, 1, 2, 1]);
    assert!(poll(&mut group).is_ready());
    assert_eq!(polls(), [3, 1, 2, 1]);
}

#[test]
fn first_failure_cancels_the_rest() {
    let p = [Cell::new(0), Cell::new(0), Cell::new(0), Cell::new(0)];
    let (a, b, c, d) = (
        pin!(task(&p[0], 1, Ok(0))),
        pin!(task(&p[1], 5, Ok(1))),
        pin!(task(&p[2], 2, Err(2))),
        pin!(task(&p[3], 9, Ok(3))),
    );
    let mut group = scoped([a, b, c, d])
        .limit(NonZeroUsize::new(3).unwrap())
        .cancel_when(Result::is_err);
    assert!(poll(&mut group).is_pending());
    assert_eq!(
        poll(&mut group),
        Poll::Ready([Ok(Ok(0)), Err(Cancelled), Ok(Err(2)), Err(Cancelled)])
    );
    // 3 started after 0 finished, and was polled once before the failure.
    assert_eq!(
        [p[0].get(), p[1].get(), p[2].get(), p[3].get()],
        [1, 2, 2, 1]
    );
}

#[test]
fn owned_futures_are_dropped_when_cancelled() {
    use core::sync::atomic::{AtomicBool, Ordering};
    static SLOW_DROPPED: AtomicBool = AtomicBool::new(false);
    static FAILING_DROPPED: AtomicBool = AtomicBool::new(false);
    struct Flag(&'static AtomicBool);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let task = |flag: &'static AtomicBool, fail: bool| {
        std::boxed::Box::pin(async move {
            let _flag = Flag(flag);
            if fail {
                return Err(());
            }
            core::future::pending::<()>().await;
            Ok(())
        })
    };
    let mut group = scoped([task(&SLOW_DROPPED, false), task(&FAILING_DROPPED, true)])
        .cancel_when(Result::is_err);
    assert_eq!(poll(&mut group), Poll::Ready([Err(Cancelled), Ok(Err(()))]));
    assert!(FAILING_DROPPED.load(Ordering::SeqCst));
    assert!(
        SLOW_DROPPED.load(Ordering::SeqCst),
        "the cancelled future was dropped"
    );
}
