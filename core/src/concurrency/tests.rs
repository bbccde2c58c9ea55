use super::*;

use core::cell::Cell;
use core::pin::pin;
use core::task::Waker;
use std::vec::Vec;

use crate::test_util::counted;

#[test]
fn join_settled_keeps_every_outcome_and_polls_finished_futures_no_more() {
    let polls = [Cell::new(0u32), Cell::new(0), Cell::new(0)];
    let a = pin!(counted(&polls[0], 1, Err(1)));
    let b = pin!(counted(&polls[1], 3, Ok(2)));
    let c = pin!(counted(&polls[2], 2, Err(3)));
    let mut join = pin!(join_settled([a, b, c]));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(join.as_mut().poll(&mut cx).is_pending());
    assert!(join.as_mut().poll(&mut cx).is_pending());
    assert_eq!(
        join.as_mut().poll(&mut cx),
        Poll::Ready([Err(1), Ok(2), Err(3)])
    );
    // The early failure cancelled nothing; finished futures were not polled again.
    let counts: Vec<u32> = polls.iter().map(Cell::get).collect();
    assert_eq!(counts, [1, 3, 2]);
}

#[test]
fn join_settled_of_nothing_is_ready() {
    let empty: [core::future::Ready<()>; 0] = [];
    let mut join = pin!(join_settled(empty));
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(join.as_mut().poll(&mut cx), Poll::Ready([]));
}

#[cfg(feature = "alloc")]
mod with_alloc {
    use super::*;
    use crate::{Timer, VirtualTimer};
    use core::time::Duration;
    use futures_util::{Stream, StreamExt};

    /// Runs `map` over delays, recording how many run at once and how many were made.
    fn run(ordered: bool, delays: &[u64], n: usize) -> (Vec<usize>, usize, u64) {
        let timer = VirtualTimer::new();
        let t = &timer;
        let running = Cell::new(0usize);
        let peak = Cell::new(0usize);
        let made = Cell::new(0usize);
        let yielded = Cell::new(0usize);
        let f = |(i, d): (usize, u64)| {
            made.set(made.get() + 1);
            assert!(
                made.get() <= yielded.get() + n,
                "futures made ahead of the limit"
            );
            let (running, peak) = (&running, &peak);
            async move {
                running.set(running.get() + 1);
                peak.set(peak.get().max(running.get()));
                t.sleep(Duration::from_secs(d)).await;
                running.set(running.get() - 1);
                i
            }
        };
        let items = delays.iter().copied().enumerate();
        let out = futures_executor::block_on(timer.auto_advance(async {
            let mut out = Vec::new();
            let stream = map_bounded(items, n, f).unwrap();
            let stream = if ordered { stream } else { stream.unordered() };
            let mut stream = pin!(stream);
            while let Some(i) = stream.next().await {
                yielded.set(yielded.get() + 1);
                out.push(i);
            }
            out
        }));
        assert!(peak.get() <= n);
        (out, peak.get(), timer.now().as_nanos() / 1_000_000_000)
    }

    #[test]
    fn ordered_yields_in_input_order_with_at_most_limit_running() {
        let (out, peak, secs) = run(true, &[4, 1, 1, 1, 3, 1], 2);
        assert_eq!(out, [0, 1, 2, 3, 4, 5]);
        assert_eq!(peak, 2);
        // 0 runs 0..4 and holds a slot until yielded; 1 runs 0..1 and waits for 0; 2 and 3
        // start as 0 and 1 are yielded at 4; then 4 and 5.
        assert_eq!(secs, 4 + 1 + 3);
    }

    #[test]
    fn unordered_yields_as_completed() {
        let (out, peak, secs) = run(false, &[4, 1, 1, 1, 3, 1], 2);
        assert_eq!(out, [1, 2, 3, 0, 5, 4]);
        assert_eq!(peak, 2);
        // 1, 2 and 3 run one after another beside 0 (0..4); 4 runs 3..6, 5 runs 4..5.
        assert_eq!(secs, 6);
    }

    #[test]
    fn cells_are_reused() {
        let stream = map_bounded(0..100u32, 3, |i| async move { i })
            .unwrap()
            .unordered();
        let mut stream = pin!(stream);
        let mut cx = Context::from_waker(Waker::noop());
        let mut n = 0;
        while let Poll::Ready(Some(_)) = stream.as_mut().poll_next(&mut cx) {
            n += 1;
            assert!(stream.cells() <= 3);
        }
        assert_eq!(n, 100);
    }

    #[test]
    fn a_limit_of_zero_is_a_config_error() {
        let err = map_bounded(0..3u8, 0, |i| async move { i }).unwrap_err();
        assert_eq!((err.pattern(), err.field()), ("map_bounded", "limit"));
        let items = futures_util::stream::iter(0..3u8);
        assert!(map_bounded_stream(items, 0, |i| async move { i }).is_err());
    }

    #[test]
    #[should_panic(expected = "`JoinSettledAll` polled after completion")]
    fn join_settled_all_polled_after_completion_panics() {
        let mut join = pin!(join_settled_all([async { 1u8 }]));
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(join.as_mut().poll(&mut cx), Poll::Ready(std::vec![1]));
        let _ = join.as_mut().poll(&mut cx);
    }

    #[test]
    fn join_settled_all_keeps_every_outcome() {
        let out = futures_executor::block_on(join_settled_all(
            (0..5).map(|i| async move { if i % 2 == 0 { Ok(i) } else { Err(i) } }),
        ));
        assert_eq!(out, [Ok(0), Err(1), Ok(2), Err(3), Ok(4)]);
    }
}
