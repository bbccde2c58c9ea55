use super::*;
use crate::queue::TrySendError;
use crate::test_util::schedule::{Sim, yield_n};
use crate::test_util::schedules;
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use std::boxed::Box;
use std::vec::Vec;

fn poll<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn driver_runs_every_item_once_and_ends_after_close() {
    let pool: FixedPool<u32, 4> = FixedPool::new();
    let seen = RefCell::new(Vec::new());
    for i in 0..4 {
        pool.try_submit(i).unwrap();
    }
    assert!(pool.try_submit(9).unwrap_err().is_full());
    assert_eq!(pool.metrics().pending, 4);
    let mut driver = pin!(pool.run::<2, _, _>(
        |n: u32| async move { n * 2 },
        |o| seen.borrow_mut().push(o.unwrap())
    ));
    assert!(poll(driver.as_mut()).is_pending());
    assert_eq!(*seen.borrow(), [0, 2, 4, 6]);
    assert_eq!(pool.metrics().pending, 0);
    let mut idle = pin!(pool.wait_idle());
    assert!(poll(idle.as_mut()).is_ready());
    pool.close();
    assert!(poll(driver.as_mut()).is_ready());
}

#[test]
fn shutdown_returns_the_unstarted_items() {
    let pool: FixedPool<u32, 8> = FixedPool::new();
    for i in 0..5 {
        pool.try_submit(i).unwrap();
    }
    // One worker, whose work never finishes: item 0 is started, 1..5 are not.
    let mut driver = Box::pin(pool.run::<1, _, _>(|_: u32| core::future::pending::<()>(), |_| {}));
    assert!(poll(driver.as_mut()).is_pending());
    let undone: Vec<u32> = pool.shutdown().collect();
    assert_eq!(undone, [1, 2, 3, 4]);
    assert_eq!(pool.metrics().pending, 1);
    assert_eq!(pool.try_submit(7), Err(TrySendError::Closed(7)));
    drop(driver);
    assert_eq!(
        pool.metrics().pending,
        0,
        "a dropped driver counts its item off"
    );
}

/// Dropping a driver loses nothing: the item it was running is reported cancelled, the
/// queued ones stay queued (`wait_idle` keeps waiting for them) and a new driver runs them.
#[test]
fn a_dropped_driver_reports_its_item_and_leaves_the_queue() {
    let pool: FixedPool<u32, 8> = FixedPool::new();
    for i in 0..3 {
        pool.try_submit(i).unwrap();
    }
    let reports = RefCell::new(Vec::new());
    let report = |o: Result<u32, WorkError>| reports.borrow_mut().push(o);
    let mut driver = Box::pin(pool.run::<1, _, _>(
        |n: u32| async move {
            core::future::pending::<()>().await;
            n
        },
        &report,
    ));
    assert!(poll(driver.as_mut()).is_pending());
    drop(driver);
    assert_eq!(*reports.borrow(), [Err(WorkError::Cancelled)]);
    assert_eq!(pool.metrics().pending, 2, "items 1 and 2 are still pending");
    let mut idle = Box::pin(pool.wait_idle());
    assert!(
        poll(idle.as_mut()).is_pending(),
        "not idle: two items undone"
    );
    let mut driver = Box::pin(pool.run::<1, _, _>(|n: u32| async move { n }, &report));
    assert!(poll(driver.as_mut()).is_pending());
    assert_eq!(*reports.borrow(), [Err(WorkError::Cancelled), Ok(1), Ok(2)]);
    assert!(poll(idle.as_mut()).is_ready());
}

#[test]
fn a_panic_in_the_work_is_reported_and_the_driver_goes_on() {
    let pool: FixedPool<u32, 4> = FixedPool::new();
    let reports = RefCell::new(Vec::new());
    for i in 0..3 {
        pool.try_submit(i).unwrap();
    }
    pool.close();
    let mut driver = pin!(pool.run::<1, _, _>(
        |n: u32| async move {
            assert!(n != 1, "one is bad");
            n
        },
        |o| {
            reports
                .borrow_mut()
                .push(o.map_err(|e| e.panic_message().map(Into::into)))
        }
    ));
    assert!(poll(driver.as_mut()).is_ready());
    let expected: [Result<u32, Option<std::string::String>>; 3] =
        [Ok(0), Err(Some("one is bad".into())), Ok(2)];
    assert_eq!(*reports.borrow(), expected);
}

#[test]
fn work_error_is_an_error_with_the_panic_as_its_source() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<WorkError>();
    let p = crate::panic::catch(|| panic!("boom")).unwrap_err();
    let e = WorkError::Panicked(p);
    assert_eq!(std::string::ToString::to_string(&e), "pool work panicked");
    let source = core::error::Error::source(&e).unwrap();
    assert_eq!(std::string::ToString::to_string(source), "panicked: boom");
    assert!(WorkError::Cancelled.is_cancelled());
}

// Spawners for the spawned forms.

#[cfg(feature = "alloc")]
mod spawners {
    use crate::{JoinError, Spawn, TaskHandle};
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll};

    use crate::test_util::spawn::Detached;

    /// A spawner whose tasks never run: the queue only moves when the test moves it.
    #[derive(Clone)]
    pub(super) struct Never;

    impl Spawn for Never {
        type Handle<T: Send + 'static> = Detached<T>;
        fn spawn<F>(&self, future: F) -> Detached<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            drop(future);
            Detached(core::marker::PhantomData)
        }
    }

    /// One thread per task, each running its future to completion.
    #[derive(Clone)]
    pub(super) struct Threads;

    pub(super) struct Joined<T>(Option<std::thread::JoinHandle<T>>);
    impl<T> Unpin for Joined<T> {}
    impl<T> Future for Joined<T> {
        type Output = Result<T, JoinError>;
        fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
            let handle = self.0.take().expect("polled after completion");
            Poll::Ready(handle.join().map_err(|_| JoinError::Cancelled))
        }
    }
    impl<T> TaskHandle<T> for Joined<T> {
        fn abort(&mut self) {}
        fn is_finished(&self) -> bool {
            self.0
                .as_ref()
                .is_none_or(std::thread::JoinHandle::is_finished)
        }
    }

    impl Spawn for Threads {
        type Handle<T: Send + 'static> = Joined<T>;
        fn spawn<F>(&self, future: F) -> Joined<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            Joined(Some(std::thread::spawn(move || {
                futures_executor::block_on(future)
            })))
        }
    }
}

#[cfg(feature = "alloc")]
use crate::test_util::spawn::Inbox;
#[cfg(feature = "alloc")]
use spawners::{Never, Threads};

// Random schedules, shared by the three forms.

/// What one random schedule saw.
#[derive(Default)]
struct Book {
    /// Items in the order their submission began.
    arrivals: RefCell<Vec<u32>>,
    /// Items in the order they were accepted.
    accepted: RefCell<Vec<u32>>,
    /// Submissions in progress (begun, not yet accepted, refused or dropped).
    waiting: Cell<usize>,
    /// A `try_submit` was accepted while a `submit` was waiting: it barged past a waiter.
    barged: Cell<bool>,
}

/// Counts a submission in progress until dropped.
struct Waiting<'a>(&'a Cell<usize>);

impl<'a> Waiting<'a> {
    fn new(waiting: &'a Cell<usize>) -> Self {
        waiting.set(waiting.get() + 1);
        Waiting(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

impl Book {
    /// A producer: waits in `submit` (the future it is given), which is `true` if accepted.
    async fn submit(&self, item: u32, submit: impl Future<Output = bool>) {
        self.arrivals.borrow_mut().push(item);
        let waiting = Waiting::new(&self.waiting);
        let accepted = submit.await;
        drop(waiting);
        if accepted {
            self.accepted.borrow_mut().push(item);
        }
    }

    /// A producer that will not wait: `try_submit` is `true` if accepted. `room` is the
    /// capacity less what is queued now. The waiting producers own a slot each, granted or
    /// to come: a newcomer that finds no slot left beside theirs and is accepted barged.
    fn try_submit(&self, item: u32, room: usize, try_submit: impl FnOnce(u32) -> bool) {
        self.arrivals.borrow_mut().push(item);
        if try_submit(item) {
            if self.waiting.get() >= room {
                self.barged.set(true);
            }
            self.accepted.borrow_mut().push(item);
        }
    }

    /// The invariants once the schedule is over: no barging; accepted in arrival order when
    /// slots are granted one at a time (`capacity` 1); the workers started items in the
    /// order they were accepted; every accepted item was started once or handed back.
    fn check(&self, seed: u64, capacity: usize, started: &[u32], returned: &[u32]) {
        assert!(!self.barged.get(), "seed {seed}: a try_submit barged");
        let accepted = self.accepted.borrow();
        if capacity == 1 {
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
        assert_eq!(
            started,
            &accepted[..started.len()],
            "seed {seed}: not started in FIFO order"
        );
        let mut done: Vec<u32> = started.iter().chain(returned).copied().collect();
        let mut accepted = accepted.clone();
        done.sort_unstable();
        accepted.sort_unstable();
        assert_eq!(accepted, done, "seed {seed}: an item was lost or run twice");
    }
}

/// Items per schedule: most `submit` (cancellable), every fourth `try_submit`s.
const ITEMS: u32 = 8;

/// No item lost or duplicated, FIFO and no barging, across random schedules of submitters
/// cancelled mid-`submit` and workers dropped mid-item, with and without a shutdown midway;
/// and no wake-up lost (a stall with a submitter waiting next to a free slot would be one).
#[test]
fn fixed_pool_random_schedules() {
    fn one<const N: usize>(seed: u64) -> usize {
        let pool: FixedPool<u32, N> = FixedPool::new();
        let book = Book::default();
        let started = RefCell::new(Vec::new());
        let (ok, cancelled) = (RefCell::new(Vec::new()), Cell::new(0));
        let work = |n: u32| {
            started.borrow_mut().push(n);
            async move {
                yield_n(u64::from(n % 3)).await;
                n
            }
        };
        let report = |o: Result<u32, WorkError>| match o {
            Ok(n) => ok.borrow_mut().push(n),
            Err(e) => {
                assert!(e.is_cancelled());
                cancelled.set(cancelled.get() + 1);
            }
        };
        let mut sim = Sim::new(seed, 150);
        // On some seeds the workers are cancellable too: a dropped driver.
        let drop_workers = seed % 4 == 3;
        for _ in 0..2 {
            sim.spawn(pool.worker(&work, &report), drop_workers);
        }
        for i in 0..ITEMS {
            let (pool, book) = (&pool, &book);
            if i % 4 == 3 {
                sim.spawn(
                    async move {
                        let queued = pool.metrics().queued;
                        book.try_submit(i, N - queued, |i| pool.try_submit(i).is_ok());
                    },
                    false,
                );
            } else {
                sim.spawn(
                    book.submit(i, async move { pool.submit(i).await.is_ok() }),
                    true,
                );
            }
        }
        let mut returned = Vec::new();
        let limit = sim.rng.below(60);
        sim.run(limit);
        if seed % 2 == 1 {
            returned.extend(pool.shutdown());
        }
        sim.run(usize::MAX);
        if book.waiting.get() > 0 {
            assert!(
                pool.metrics().queued == N,
                "seed {seed}: a submitter waits next to a free slot"
            );
        }
        // What the dropped workers left queued is handed back.
        returned.extend(pool.shutdown());
        sim.run(usize::MAX);
        assert_eq!(sim.live(), (0, 0), "seed {seed}: a task did not end");
        assert_eq!(pool.metrics().pending, 0, "seed {seed}");
        let c = sim.cancelled;
        drop(sim);
        let started = started.take();
        assert_eq!(
            ok.borrow().len() + cancelled.get(),
            started.len(),
            "seed {seed}: every started item is reported once"
        );
        book.check(seed, N, &started, &returned);
        c
    }
    let mut cancellations = 0;
    for seed in 0..schedules(10_000) {
        cancellations += if seed % 3 == 0 {
            one::<1>(seed)
        } else {
            one::<2>(seed)
        };
    }
    assert!(
        cancellations > schedules(10_000) as usize,
        "cancellations were exercised"
    );
}

#[cfg(feature = "alloc")]
mod spawned {
    use super::*;
    use crate::queue::Closed;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    fn pool(capacity: usize) -> Result<WorkerPool<u32, u32>, crate::ConfigError> {
        WorkerPool::builder()
            .capacity(capacity)
            .spawn(&Never, |n: u32| async move { n })
    }

    fn detached(capacity: usize) -> Result<DetachedPool<u32>, crate::ConfigError> {
        DetachedPool::builder()
            .capacity(capacity)
            .spawn(&Never, |n: u32| async move { n }, |_| {})
    }

    #[test]
    fn a_reply_wakes_the_last_poller_once_and_a_dropped_reply_reports_cancelled() {
        let (reply, mut done) = super::super::reply::channel::<u32>();
        let ((first, w1), (second, w2)) = (counter(), counter());
        for w in [&w1, &w2] {
            assert!(
                Pin::new(&mut done)
                    .poll(&mut Context::from_waker(w))
                    .is_pending()
            );
        }
        assert!(!done.is_finished());
        reply.send(Ok(7));
        assert_eq!(
            first.0.load(Ordering::SeqCst),
            0,
            "a replaced waker is not woken"
        );
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
        assert!(done.is_finished());
        assert!(matches!(poll(Pin::new(&mut done)), Poll::Ready(Ok(7))));

        let (reply, mut done) = super::super::reply::channel::<u32>();
        let (count, w) = counter();
        assert!(
            Pin::new(&mut done)
                .poll(&mut Context::from_waker(&w))
                .is_pending()
        );
        drop(reply);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(matches!(
            poll(Pin::new(&mut done)),
            Poll::Ready(Err(WorkError::Cancelled))
        ));
    }

    #[test]
    fn bad_settings_are_config_errors_naming_the_field() {
        let field = |r: Result<WorkerPool<u32, u32>, crate::ConfigError>| r.unwrap_err().field();
        let spawn = |b: Builder<WorkerPool<u32, u32>>| b.spawn(&Never, |n: u32| async move { n });
        assert_eq!(field(spawn(WorkerPool::builder().workers(0))), "workers");
        assert_eq!(field(spawn(WorkerPool::builder().capacity(0))), "capacity");
        let e = detached(0).unwrap_err();
        assert_eq!(e.field(), "capacity");
        let e = DetachedPool::<u32>::builder().workers(0).spawn(
            &Never,
            |n: u32| async move { n },
            |_| {},
        );
        assert_eq!(e.unwrap_err().field(), "workers");
    }

    /// `usize::MAX` is refused with an error, not a panic; a capacity too large to allocate
    /// at once allocates nothing up front and works.
    #[test]
    fn a_huge_capacity_is_an_error_or_grows_as_needed() {
        let e = pool(usize::MAX).unwrap_err();
        assert_eq!(
            (e.field(), e.problem()),
            ("capacity", "must be less than usize::MAX")
        );
        assert_eq!(detached(usize::MAX).unwrap_err().field(), "capacity");
        let big = 1 << 40;
        let p = pool(big).unwrap();
        let d = detached(big).unwrap();
        assert_eq!(p.metrics().capacity, big);
        for i in 0..100 {
            drop(p.try_submit(i).unwrap());
            d.try_submit(i).unwrap();
        }
        assert_eq!((p.metrics().queued, d.metrics().queued), (100, 100));
        assert_eq!(p.shutdown().len(), 100);
    }

    /// A slot freed while a producer waits is that producer's: a `try_submit` arriving
    /// before it runs is refused, and the waiter gets the slot.
    #[test]
    fn try_submit_does_not_barge_past_a_woken_waiter() {
        let pool = pool(1).unwrap();
        let _zero = pool.try_submit(0).unwrap();
        let (woken, w) = counter();
        let mut waiter = Box::pin(pool.submit(1));
        assert!(
            waiter
                .as_mut()
                .poll(&mut Context::from_waker(&w))
                .is_pending()
        );
        // A worker takes item 0: the slot goes to the waiter, which has not run yet.
        let job = pool.intake.shared().chan.try_recv().ok().unwrap();
        assert_eq!(job.item, 0);
        assert_eq!(woken.0.load(Ordering::SeqCst), 1);
        assert!(
            pool.try_submit(2).unwrap_err().is_full(),
            "the newcomer barged"
        );
        assert!(matches!(
            waiter.as_mut().poll(&mut Context::from_waker(&w)),
            Poll::Ready(Ok(_))
        ));
        assert_eq!(pool.shutdown(), [1]);

        let pool = detached(1).unwrap();
        pool.try_submit(0).unwrap();
        let mut waiter = Box::pin(pool.submit(1));
        assert!(
            waiter
                .as_mut()
                .poll(&mut Context::from_waker(&w))
                .is_pending()
        );
        assert_eq!(pool.intake.shared().chan.try_recv(), Ok(0));
        assert!(
            pool.try_submit(2).unwrap_err().is_full(),
            "the newcomer barged"
        );
        assert!(matches!(
            waiter.as_mut().poll(&mut Context::from_waker(&w)),
            Poll::Ready(Ok(()))
        ));
        assert_eq!(pool.shutdown(), [1]);
    }

    #[test]
    fn dropped_head_submitter_passes_its_slot_on() {
        let pool = pool(1).unwrap();
        let _zero = pool.try_submit(0).unwrap();
        let (a_woken, a) = counter();
        let (b_woken, b) = counter();
        let mut first = Box::pin(pool.submit(1));
        let mut second = Box::pin(pool.submit(2));
        assert!(
            first
                .as_mut()
                .poll(&mut Context::from_waker(&a))
                .is_pending()
        );
        assert!(
            second
                .as_mut()
                .poll(&mut Context::from_waker(&b))
                .is_pending()
        );
        assert_eq!(pool.metrics().pending, 3);
        // A worker takes item 0: the slot goes to the head waiter, which is dropped unpolled.
        let job = pool.intake.shared().chan.try_recv().ok().unwrap();
        assert_eq!(job.item, 0);
        assert_eq!(a_woken.0.load(Ordering::SeqCst), 1);
        drop(first);
        assert!(
            b_woken.0.load(Ordering::SeqCst) >= 1,
            "the wake-up was passed on"
        );
        assert!(matches!(
            second.as_mut().poll(&mut Context::from_waker(&b)),
            Poll::Ready(Ok(_))
        ));
        assert_eq!(
            pool.metrics().pending,
            2,
            "the dropped submission counts off"
        );
        // Shutdown hands back item 2; its handle says `Cancelled`.
        assert_eq!(pool.shutdown(), [2]);
        drop(job);
    }

    #[test]
    fn detached_pool_hands_outcomes_and_panics_to_the_handler() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let pool = DetachedPool::builder()
            .workers(3)
            .capacity(4)
            .spawn(
                &Threads,
                |n: u32| async move {
                    assert!(n != 3, "item three exploded");
                    n * 10
                },
                move |out: Result<u32, WorkError>| {
                    // A panicking handler loses that outcome only; the worker goes on.
                    assert!(!matches!(out, Ok(50)), "the handler exploded");
                    let out = out.map_err(|e| e.panic_message().map(std::string::String::from));
                    s.lock().unwrap().push(out);
                },
            )
            .unwrap();
        futures_executor::block_on(async {
            for i in 0..20 {
                pool.submit(i).await.unwrap();
            }
            pool.wait_idle().await;
        });
        assert_eq!(pool.metrics().pending, 0);
        let mut seen = core::mem::take(&mut *seen.lock().unwrap());
        seen.sort();
        let mut expected: Vec<_> = (0..20)
            .filter(|&i| i != 3 && i != 5)
            .map(|i| Ok(i * 10))
            .collect();
        expected.push(Err(Some("item three exploded".into())));
        expected.sort();
        assert_eq!(seen, expected);
        pool.close();
        assert!(matches!(pool.try_submit(1), Err(TrySendError::Closed(1))));
    }

    #[test]
    fn detached_pool_wait_idle_sees_every_outcome_of_busy_workers() {
        // Workers count items off in bulk: `wait_idle` must still return, and only once the
        // handler has seen every item, however the submissions and the workers interleave.
        let handled = Arc::new(AtomicUsize::new(0));
        let h = handled.clone();
        let pool = DetachedPool::builder()
            .workers(4)
            .capacity(8)
            .spawn(
                &Threads,
                |n: u32| async move { n },
                move |_| {
                    h.fetch_add(1, Ordering::SeqCst);
                },
            )
            .unwrap();
        // Miri runs a few rounds: it interprets each thread switch.
        let rounds = if cfg!(miri) { 6 } else { 200 };
        futures_executor::block_on(async {
            for round in 1..=rounds {
                for i in 0..(round % 37) {
                    pool.submit(i).await.unwrap();
                }
                pool.wait_idle().await;
                let expected = (1..=round).map(|r| r % 37).sum::<u32>() as usize;
                assert_eq!(handled.load(Ordering::SeqCst), expected, "round {round}");
                assert_eq!(pool.metrics().pending, 0);
            }
        });
        pool.close();
    }

    #[test]
    fn detached_pool_pushes_back_and_shutdown_returns_the_queued_items() {
        let pool = detached(2).unwrap();
        assert_eq!(pool.metrics().capacity, 2);
        pool.try_submit(0).unwrap();
        pool.try_submit(1).unwrap();
        assert!(matches!(pool.try_submit(2), Err(TrySendError::Full(2))));
        let m = pool.metrics();
        assert_eq!((m.queued, m.pending), (2, 2));
        let mut blocked = Box::pin(pool.submit(3));
        assert!(poll(blocked.as_mut()).is_pending());
        assert_eq!(pool.metrics().pending, 3, "a submission in progress counts");
        assert_eq!(pool.shutdown(), [0, 1]);
        assert!(matches!(
            poll(blocked.as_mut()),
            Poll::Ready(Err(Closed(3)))
        ));
        drop(blocked);
        assert_eq!(pool.metrics().pending, 0);
        assert!(pool.is_closed());
        assert!(matches!(pool.try_submit(4), Err(TrySendError::Closed(4))));
        assert!(futures_executor::block_on(pool.submit(5)).is_err());
    }

    /// Dropping every handle closes the pool: the workers drain the queue and end.
    #[test]
    fn dropping_the_last_handle_closes_and_drains() {
        let inbox = Inbox::default();
        let pool = WorkerPool::builder()
            .spawn(&inbox, |n: u32| async move { n })
            .unwrap();
        let done = pool.try_submit(7).unwrap();
        drop(pool.clone());
        drop(pool);
        let mut workers = inbox.take();
        assert_eq!(workers.len(), 1);
        assert!(
            poll(workers[0].as_mut()).is_ready(),
            "the worker drained and ended"
        );
        assert_eq!(futures_executor::block_on(done), Ok(7));
    }

    /// Moves what was spawned into the schedule, then steps until stalled or `max` steps.
    fn run(sim: &mut Sim<'_>, inbox: &Inbox, cancellable: bool, max: usize) {
        let mut n = 0;
        loop {
            for task in inbox.take() {
                sim.spawn(task, cancellable);
            }
            if n >= max || !sim.step() {
                if inbox.is_empty() {
                    return;
                }
                continue;
            }
            n += 1;
        }
    }

    /// What the spawned workers saw, shared with them (`Send`).
    #[derive(Default)]
    struct Seen {
        started: Mutex<Vec<u32>>,
        live: AtomicUsize,
    }

    /// Counts a live worker.
    struct Live(Arc<Seen>);
    impl Drop for Live {
        fn drop(&mut self) {
            self.0.live.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// The spawned forms under random schedules: submitters cancelled mid-`submit`, workers
    /// dropped mid-item on some seeds (a runtime shutting down), a shutdown midway on others.
    /// Every accepted item is run once (reported `Ok`, or `Cancelled` when its worker was
    /// dropped) or handed back; FIFO; no barging; nobody left waiting next to a free slot.
    #[test]
    fn spawned_pools_random_schedules() {
        let mut cancellations = 0;
        for seed in 0..schedules(10_000) {
            let capacity = if seed % 3 == 0 { 1 } else { 2 };
            let detached_form = seed % 2 == 0;
            let drop_workers = seed % 8 >= 6;
            let seen = Arc::new(Seen::default());
            let inbox = Inbox::default();
            let outcomes = Arc::new(Mutex::new(Vec::new()));
            let work = {
                let seen = seen.clone();
                move |n: u32| {
                    seen.started.lock().unwrap().push(n);
                    seen.live.fetch_add(1, Ordering::SeqCst);
                    let live = Live(seen.clone());
                    async move {
                        yield_n(u64::from(n % 3)).await;
                        drop(live);
                        n
                    }
                }
            };
            // `live` counts items running; the workers' own liveness is the schedule's.
            enum Form {
                Handles(WorkerPool<u32, u32>),
                Detached(DetachedPool<u32>),
            }
            let form = if detached_form {
                let o = outcomes.clone();
                Form::Detached(
                    DetachedPool::builder()
                        .workers(2)
                        .capacity(capacity)
                        .spawn(&inbox, work, move |out| o.lock().unwrap().push(out))
                        .unwrap(),
                )
            } else {
                Form::Handles(
                    WorkerPool::builder()
                        .workers(2)
                        .capacity(capacity)
                        .spawn(&inbox, work)
                        .unwrap(),
                )
            };
            let book = Book::default();
            let completions = RefCell::new(Vec::new());
            let mut sim = Sim::new(seed, 150);
            for task in inbox.take() {
                sim.spawn(task, drop_workers);
            }
            for i in 0..ITEMS {
                let (form, book, completions) = (&form, &book, &completions);
                let queued = || match form {
                    Form::Handles(p) => p.metrics().queued,
                    Form::Detached(p) => p.metrics().queued,
                };
                if i % 4 == 3 {
                    sim.spawn(
                        async move {
                            let room = capacity - queued();
                            book.try_submit(i, room, |i| match form {
                                Form::Handles(p) => match p.try_submit(i) {
                                    Ok(c) => {
                                        completions.borrow_mut().push(c);
                                        true
                                    }
                                    Err(_) => false,
                                },
                                Form::Detached(p) => p.try_submit(i).is_ok(),
                            });
                        },
                        false,
                    );
                } else {
                    sim.spawn(
                        book.submit(i, async move {
                            match form {
                                Form::Handles(p) => match p.submit(i).await {
                                    Ok(c) => {
                                        completions.borrow_mut().push(c);
                                        true
                                    }
                                    Err(_) => false,
                                },
                                Form::Detached(p) => p.submit(i).await.is_ok(),
                            }
                        }),
                        true,
                    );
                }
            }
            let shutdown = || match &form {
                Form::Handles(p) => p.shutdown(),
                Form::Detached(p) => p.shutdown(),
            };
            let metrics = || match &form {
                Form::Handles(p) => p.metrics(),
                Form::Detached(p) => p.metrics(),
            };
            let mut returned = Vec::new();
            let limit = sim.rng.below(60);
            run(&mut sim, &inbox, drop_workers, limit);
            if seed % 4 == 1 {
                returned.extend(shutdown());
            }
            run(&mut sim, &inbox, drop_workers, usize::MAX);
            if book.waiting.get() > 0 {
                assert!(
                    metrics().queued == capacity,
                    "seed {seed}: a submitter waits next to a free slot"
                );
            }
            returned.extend(shutdown());
            run(&mut sim, &inbox, drop_workers, usize::MAX);
            assert_eq!(sim.live(), (0, 0), "seed {seed}: a task did not end");
            assert_eq!(metrics().pending, 0, "seed {seed}");
            cancellations += sim.cancelled;
            drop(sim);
            let started = seen.started.lock().unwrap().clone();
            // Every started item has one outcome: `Ok`, or `Cancelled` if its worker went.
            let outs: Vec<Result<u32, WorkError>> = match &form {
                Form::Handles(_) => completions
                    .take()
                    .into_iter()
                    .map(|c| {
                        assert!(c.is_finished(), "seed {seed}: a handle never resolved");
                        futures_executor::block_on(c)
                    })
                    .collect(),
                Form::Detached(_) => outcomes.lock().unwrap().clone(),
            };
            let ok = outs.iter().filter(|o| o.is_ok()).count();
            let cancelled = outs.iter().filter(|o| o.is_err()).count();
            assert!(
                outs.iter()
                    .all(|o| matches!(o, Ok(_) | Err(WorkError::Cancelled)))
            );
            let handed_back = if detached_form { 0 } else { returned.len() };
            assert_eq!(
                ok + cancelled,
                started.len() + handed_back,
                "seed {seed}: an outcome is missing or doubled"
            );
            assert!(
                drop_workers || cancelled == handed_back,
                "seed {seed}: cancelled without a dropped worker"
            );
            assert_eq!(seen.live.load(Ordering::SeqCst), 0, "seed {seed}");
            book.check(seed, capacity, &started, &returned);
        }
        assert!(
            cancellations > schedules(10_000) as usize,
            "cancellations were exercised"
        );
    }
}
