use super::*;
use crate::test_util::schedules;
use core::task::{Context, Poll, Waker};
use std::boxed::Box;

#[derive(Clone, Copy)]
struct NoTimer;
impl Timer for NoTimer {
    type Sleep = core::future::Pending<()>;
    fn now(&self) -> Instant {
        Instant::ZERO
    }
    fn sleep_until(&self, _: Instant) -> Self::Sleep {
        core::future::pending()
    }
}

fn fixed<const N: usize>(batch_size: usize) -> Result<FixedBatcher<u32, NoTimer, N>, ConfigError> {
    FixedBatcher::builder(NoTimer)
        .batch_size(batch_size)
        .flush_interval(Duration::from_secs(1))
        .build()
}

#[test]
fn config_errors_name_the_field() {
    assert_eq!(fixed::<8>(0).unwrap_err().field(), "batch_size");
    let unset = FixedBatcher::<u8, _, 8>::builder(NoTimer)
        .batch_size(2)
        .build();
    assert_eq!(unset.unwrap_err().field(), "flush_interval");
    let err = fixed::<8>(9).unwrap_err();
    assert_eq!(err.field(), "capacity");
    assert_eq!(
        std::string::ToString::to_string(&err),
        "invalid batcher setting `capacity`: must be at least batch_size"
    );
}

static STATIC: FixedBatcher<u8, NoTimer, 4> = FixedBatcher::builder(NoTimer)
    .batch_size(2)
    .flush_interval(Duration::from_secs(1))
    .build_const();

#[test]
fn build_const_makes_a_static() {
    STATIC.try_submit(1).unwrap();
    assert_eq!(
        STATIC.metrics(),
        Metrics {
            held: 1,
            capacity: 4
        }
    );
}

/// Room freed while a producer waits is that producer's: a `try_submit` arriving before it
/// runs is refused, and the waiter gets the room.
#[test]
fn try_submit_does_not_barge_past_a_woken_waiter() {
    let b = fixed::<1>(1).unwrap();
    b.try_submit(0).unwrap();
    let mut waiter = Box::pin(b.submit(1));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(waiter.as_mut().poll(&mut cx).is_pending());
    // The driver takes item 0 into a flush that does not end: the room goes to the waiter.
    let mut driver = Box::pin(b.run(
        |batch: FixedBatch<u32, 1>| {
            assert_eq!(batch, [0]);
            core::future::pending::<Result<(), ()>>()
        },
        |()| {},
    ));
    assert!(driver.as_mut().poll(&mut cx).is_pending());
    assert_eq!(b.metrics().held, 0);
    assert!(
        b.try_submit(2).unwrap_err().is_full(),
        "the newcomer barged"
    );
    assert_eq!(waiter.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    assert_eq!(b.metrics().held, 1);
}

/// What one random schedule of a batcher saw.
#[cfg(feature = "alloc")]
mod schedule {
    use super::*;
    use crate::VirtualTimer;
    use crate::test_util::schedule::{Sim, yield_n};
    use crate::test_util::spawn::Inbox;
    use core::cell::{Cell, RefCell};
    use std::vec::Vec;

    #[derive(Default)]
    pub(super) struct Book {
        pub(super) arrivals: RefCell<Vec<u32>>,
        pub(super) accepted: RefCell<Vec<u32>>,
        pub(super) waiting: Cell<usize>,
        pub(super) barged: Cell<bool>,
    }

    struct Waiting<'a>(&'a Cell<usize>);
    impl Drop for Waiting<'_> {
        fn drop(&mut self) {
            self.0.set(self.0.get() - 1);
        }
    }

    impl Book {
        pub(super) async fn submit(&self, item: u32, submit: impl Future<Output = bool>) {
            self.arrivals.borrow_mut().push(item);
            self.waiting.set(self.waiting.get() + 1);
            let waiting = Waiting(&self.waiting);
            let accepted = submit.await;
            drop(waiting);
            if accepted {
                self.accepted.borrow_mut().push(item);
            }
        }

        /// `room` is the capacity less what is held now; each waiting producer owns a slot
        /// of it, granted or to come.
        pub(super) fn try_submit(&self, item: u32, room: usize, ok: impl FnOnce(u32) -> bool) {
            self.arrivals.borrow_mut().push(item);
            if ok(item) {
                if self.waiting.get() >= room {
                    self.barged.set(true);
                }
                self.accepted.borrow_mut().push(item);
            }
        }

        /// No barging, nothing lost or doubled, batches in order of acceptance, none empty
        /// or oversized; first come first served when room is freed one item at a time.
        pub(super) fn check(
            &self,
            seed: u64,
            size: usize,
            one_at_a_time: bool,
            batches: &[Vec<u32>],
        ) {
            assert!(!self.barged.get(), "seed {seed}: a try_submit barged");
            assert!(
                batches.iter().all(|b| !b.is_empty() && b.len() <= size),
                "seed {seed}: {batches:?}"
            );
            let accepted = self.accepted.borrow();
            let out: Vec<u32> = batches.iter().flatten().copied().collect();
            assert_eq!(*accepted, out, "seed {seed}: lost, doubled or out of order");
            if one_at_a_time {
                let arrived: Vec<u32> = self
                    .arrivals
                    .borrow()
                    .iter()
                    .copied()
                    .filter(|i| accepted.contains(i))
                    .collect();
                assert_eq!(
                    *accepted, arrived,
                    "seed {seed}: not first come first served"
                );
            }
        }
    }

    /// Spawns ten producers, each sleeping a random while first; every third `try_submit`s.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn producers<'a>(
        sim: &mut Sim<'a>,
        book: &'a Book,
        timer: &'a VirtualTimer,
        capacity: usize,
        held: &'a (dyn Fn() -> usize + 'a),
        submit: &'a (dyn Fn(u32) -> core::pin::Pin<Box<dyn Future<Output = bool> + 'a>> + 'a),
        try_submit: &'a (dyn Fn(u32) -> bool + 'a),
    ) {
        for i in 0..10u32 {
            let pause = Duration::from_secs(sim.rng.below(3) as u64 * 4);
            if i % 3 == 2 {
                sim.spawn(
                    async move {
                        timer.sleep(pause).await;
                        book.try_submit(i, capacity - held(), try_submit);
                    },
                    false,
                );
            } else {
                sim.spawn(
                    async move {
                        timer.sleep(pause).await;
                        book.submit(i, submit(i)).await;
                    },
                    true,
                );
            }
        }
    }

    /// Runs `sim`, advancing the virtual clock when stalled, closing at a random step.
    /// At every stall, nobody waits next to free room.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run(
        sim: &mut Sim<'_>,
        timer: &VirtualTimer,
        book: &Book,
        close: &dyn Fn(),
        closed: &dyn Fn() -> bool,
        room_left: &dyn Fn() -> bool,
        seed: u64,
        between: &mut dyn FnMut(&mut Sim<'_>),
    ) {
        let close_after = sim.rng.below(120);
        let mut steps = 0;
        loop {
            between(sim);
            let n = sim.run(close_after.saturating_sub(steps).max(1));
            between(sim);
            steps += n;
            if steps >= close_after && !closed() {
                close();
                continue;
            }
            if n == 0 {
                assert!(
                    book.waiting.get() == 0 || !room_left(),
                    "seed {seed}: a producer waits next to free room"
                );
                if timer.advance_to_next().is_none() {
                    break;
                }
            }
        }
        if !closed() {
            close();
            between(sim);
            sim.run(usize::MAX);
            between(sim);
        }
    }

    /// The spawn-free form under random schedules of producers cancelled mid-`submit`, some
    /// waiting for room, some for their turn in time, with the batcher closed at a random
    /// point.
    #[test]
    fn fixed_batcher_random_schedules() {
        fn one<const N: usize>(seed: u64) -> usize {
            let timer = VirtualTimer::new();
            let size = N.min(3);
            let batcher: FixedBatcher<u32, VirtualTimer, N> = FixedBatcher::builder(timer.clone())
                .batch_size(size)
                .flush_interval(Duration::from_secs(10))
                .build()
                .unwrap();
            let book = Book::default();
            let flushed: RefCell<Vec<Vec<u32>>> = RefCell::new(Vec::new());
            let mut sim = Sim::new(seed, 100);
            let flushes = &flushed;
            sim.spawn(
                batcher.run(
                    move |batch: FixedBatch<u32, N>| {
                        flushes.borrow_mut().push(batch.to_vec());
                        let pause = batch.len() as u64;
                        async move {
                            yield_n(pause).await;
                            Ok::<(), ()>(())
                        }
                    },
                    |()| {},
                ),
                false,
            );
            let b = &batcher;
            let held = || b.metrics().held;
            let submit = |i| -> core::pin::Pin<Box<dyn Future<Output = bool> + '_>> {
                Box::pin(async move { b.submit(i).await.is_ok() })
            };
            let try_submit = |i| b.try_submit(i).is_ok();
            producers(&mut sim, &book, &timer, N, &held, &submit, &try_submit);
            run(
                &mut sim,
                &timer,
                &book,
                &|| b.close(),
                &|| b.is_closed(),
                &|| b.metrics().held < N,
                seed,
                &mut |_| {},
            );
            assert_eq!(sim.live(), (0, 0), "seed {seed}: a task was left waiting");
            let c = sim.cancelled;
            drop(sim);
            book.check(seed, size, N == 1, &flushed.take());
            c
        }
        let mut cancellations = 0;
        for seed in 0..schedules(10_000) {
            cancellations += if seed % 3 == 0 {
                one::<1>(seed)
            } else {
                one::<4>(seed)
            };
        }
        assert!(
            cancellations > schedules(10_000) as usize,
            "cancellations were exercised"
        );
    }

    /// The spawned form under the same schedules, its background task in the schedule.
    #[test]
    fn spawned_batcher_random_schedules() {
        use std::sync::{Arc, Mutex};
        let mut cancellations = 0;
        for seed in 0..schedules(10_000) {
            let timer = VirtualTimer::new();
            let capacity = if seed % 3 == 0 { 1 } else { 4 };
            let size = capacity.min(3);
            let inbox = Inbox::default();
            let flushed = Arc::new(Mutex::new(Vec::new()));
            let f = flushed.clone();
            let (batcher, _task) = Batcher::builder(timer.clone())
                .batch_size(size)
                .flush_interval(Duration::from_secs(10))
                .capacity(capacity)
                .spawn(
                    &inbox,
                    move |batch: Vec<u32>| {
                        let pause = batch.len() as u64;
                        f.lock().unwrap().push(batch);
                        async move {
                            yield_n(pause).await;
                            Ok::<(), ()>(())
                        }
                    },
                    |()| {},
                )
                .unwrap();
            let book = Book::default();
            let mut sim = Sim::new(seed, 100);
            let b = &batcher;
            let held = || b.metrics().held;
            let submit = |i| -> core::pin::Pin<Box<dyn Future<Output = bool> + '_>> {
                Box::pin(async move { b.submit(i).await.is_ok() })
            };
            let try_submit = |i| b.try_submit(i).is_ok();
            producers(
                &mut sim,
                &book,
                &timer,
                capacity,
                &held,
                &submit,
                &try_submit,
            );
            run(
                &mut sim,
                &timer,
                &book,
                &|| b.close(),
                &|| b.is_closed(),
                &|| b.metrics().held < capacity,
                seed,
                &mut |sim| {
                    for task in inbox.take() {
                        sim.spawn(task, false);
                    }
                },
            );
            assert_eq!(sim.live(), (0, 0), "seed {seed}: a task was left waiting");
            cancellations += sim.cancelled;
            drop(sim);
            let batches = core::mem::take(&mut *flushed.lock().unwrap());
            book.check(seed, size, capacity == 1, &batches);
        }
        assert!(
            cancellations > schedules(10_000) as usize,
            "cancellations were exercised"
        );
    }

    /// The stream adapter under random schedules of a source that yields and sleeps: every
    /// item comes out once, in order, in batches neither empty nor oversized, none later than
    /// its interval.
    #[test]
    fn batches_stream_random_schedules() {
        use crate::test_util::schedule::Rng;
        use futures_util::StreamExt;
        for seed in 0..schedules(10_000) {
            let timer = VirtualTimer::new();
            let mut rng = Rng::new(seed);
            let pauses: Vec<(u64, u64)> =
                (0..12).map(|_| (rng.next() % 3, rng.next() % 7)).collect();
            let t = timer.clone();
            let items = futures_util::stream::iter(pauses.into_iter().enumerate()).then(
                move |(i, (yields, secs))| {
                    let t = t.clone();
                    async move {
                        yield_n(yields).await;
                        t.sleep(Duration::from_secs(secs)).await;
                        (i as u32, t.now())
                    }
                },
            );
            let size = 1 + (seed % 4) as usize;
            let interval = Duration::from_secs(5);
            let batches = Batches::builder(timer.clone())
                .batch_size(size)
                .flush_interval(interval)
                .build(items)
                .unwrap();
            let out = RefCell::new(Vec::new());
            let mut sim = Sim::new(seed, 0);
            let (o, t) = (&out, &timer);
            sim.spawn(
                batches.for_each(move |b| {
                    o.borrow_mut().push((t.now(), b));
                    core::future::ready(())
                }),
                false,
            );
            while sim.run(usize::MAX) > 0 || timer.advance_to_next().is_some() {}
            assert_eq!(sim.live(), (0, 0), "seed {seed}");
            drop(sim);
            let out = out.take();
            let items: Vec<u32> = out
                .iter()
                .flat_map(|(_, b)| b.iter().map(|x| x.0))
                .collect();
            assert_eq!(items, (0..12).collect::<Vec<_>>(), "seed {seed}");
            for (at, b) in &out {
                assert!(!b.is_empty() && b.len() <= size, "seed {seed}");
                assert!(*at <= b[0].1 + interval, "seed {seed}: a batch came late");
            }
        }
    }
}
