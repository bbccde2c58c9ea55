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
    let mut group = scoped([a, b, c, d]).limit(2).unwrap();
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
        .limit(3)
        .unwrap()
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

/// The bookkeeping of one random schedule: how many task bodies are alive, the most alive at
/// once, and which bodies ran to their end.
#[derive(Default)]
struct Books {
    live: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
    completed: std::sync::Mutex<std::vec::Vec<usize>>,
}

struct Alive<'a>(&'a Books);

impl Drop for Alive<'_> {
    fn drop(&mut self) {
        self.0
            .live
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A task body: counts itself alive from its first poll until dropped, yields `yields` times,
/// then fails or succeeds with its index.
async fn body<B: core::ops::Deref<Target = Books>>(
    books: B,
    i: usize,
    yields: u64,
    fails: bool,
) -> Result<usize, usize> {
    use std::sync::atomic::Ordering::SeqCst;
    let books = &*books;
    let now = books.live.fetch_add(1, SeqCst) + 1;
    books.most.fetch_max(now, SeqCst);
    let _alive = Alive(books);
    crate::test_util::schedule::yield_n(yields).await;
    books.completed.lock().unwrap().push(i);
    if fails { Err(i) } else { Ok(i) }
}

/// One random group: `(yields, fails)` per task, the limit, whether to cancel on error.
struct Plan {
    tasks: std::vec::Vec<(u64, bool)>,
    limit: Option<usize>,
    cancel: bool,
}

impl Plan {
    fn draw(rng: &mut crate::test_util::schedule::Rng) -> Self {
        let n = 1 + rng.below(6);
        Plan {
            tasks: (0..n)
                .map(|_| (rng.below(4) as u64, rng.below(4) == 0))
                .collect(),
            limit: (rng.below(2) == 0).then(|| 1 + rng.below(3)),
            cancel: rng.below(2) == 0,
        }
    }

    /// Checks the invariants at quiescence; `outcomes` as `Ok(output)` or `Err(())` for
    /// cancelled, when the group was awaited to its end.
    fn check(
        &self,
        seed: u64,
        books: &Books,
        outcomes: Option<std::vec::Vec<Result<Result<usize, usize>, ()>>>,
    ) {
        use std::sync::atomic::Ordering::SeqCst;
        assert_eq!(
            books.live.load(SeqCst),
            0,
            "seed {seed}: a task body outlived its group"
        );
        if let Some(limit) = self.limit {
            assert!(
                books.most.load(SeqCst) <= limit,
                "seed {seed}: more than {limit} ran at once"
            );
        }
        let Some(outcomes) = outcomes else { return };
        assert_eq!(
            outcomes.len(),
            self.tasks.len(),
            "seed {seed}: one outcome per task"
        );
        let completed = books.completed.lock().unwrap();
        let failed = outcomes.iter().any(|o| matches!(o, Ok(Err(_))));
        for (i, (outcome, &(_, fails))) in outcomes.iter().zip(&self.tasks).enumerate() {
            match outcome {
                Ok(out) => {
                    assert_eq!(*out, if fails { Err(i) } else { Ok(i) }, "seed {seed}");
                    assert!(
                        completed.contains(&i),
                        "seed {seed}: task {i} reported, never ran"
                    );
                }
                Err(()) => {
                    assert!(
                        self.cancel && failed,
                        "seed {seed}: task {i} cancelled for nothing"
                    );
                    assert!(
                        !completed.contains(&i),
                        "seed {seed}: task {i} finished, reported cancelled"
                    );
                }
            }
        }
        if !self.cancel {
            assert!(outcomes.iter().all(Result::is_ok), "seed {seed}");
        }
    }
}

#[test]
fn scoped_random_schedules_keep_every_promise() {
    use crate::test_util::schedule::{Rng, Sim};
    use std::boxed::Box;
    use std::vec::Vec;
    type Task<'a> = Pin<Box<dyn Future<Output = Result<usize, usize>> + 'a>>;
    for seed in 0..crate::test_util::schedules(10_000) {
        let plan = Plan::draw(&mut Rng::new(seed));
        let books = Books::default();
        let outcomes = std::cell::RefCell::new(None);
        let mut sim = Sim::new(seed, 30);
        {
            let futures: Vec<Task<'_>> = plan
                .tasks
                .iter()
                .enumerate()
                .map(|(i, &(y, f))| Box::pin(body(&books, i, y, f)) as Task<'_>)
                .collect();
            let futures: [Task<'_>; 6] = {
                let mut all: Vec<Task<'_>> = futures;
                // Pad to a fixed size with tasks that are done at once, then cut them away.
                while all.len() < 6 {
                    all.push(Box::pin(async { Ok(usize::MAX) }));
                }
                all.try_into().ok().expect("six tasks")
            };
            let mut group = scoped(futures);
            if let Some(limit) = plan.limit {
                // The padding comes last, so it starts last: the limit holds for the real ones.
                group = group.limit(limit).unwrap();
            }
            if plan.cancel {
                group = group.cancel_on_error();
            }
            let outcomes = &outcomes;
            let n = plan.tasks.len();
            sim.spawn(
                async move {
                    let out = group.await;
                    *outcomes.borrow_mut() =
                        Some(out[..n].iter().map(|o| o.map_err(|Cancelled| ())).collect());
                },
                true,
            );
            sim.run(100_000);
            assert_eq!(sim.live().0, 0, "seed {seed}: stalled");
        }
        drop(sim);
        plan.check(seed, &books, outcomes.into_inner());
    }
}

#[cfg(feature = "alloc")]
mod spawned {
    use super::*;
    use std::boxed::Box;
    use std::sync::{Arc, Mutex};
    use std::vec::Vec;

    use crate::test_util::schedule::{Rng, Sim};
    use crate::{JoinError, Spawn, TaskHandle};

    type Runner = Pin<Box<dyn Future<Output = ()> + Send>>;

    struct State<T> {
        output: Option<Result<T, JoinError>>,
        aborted: bool,
        finished: bool,
        task: Option<Waker>,
        handle: Option<Waker>,
    }

    /// Spawns into a queue that the test moves into its [`Sim`]; an aborted task's future is
    /// dropped before its handle resolves.
    #[derive(Clone, Default)]
    struct SimSpawner(Arc<Mutex<Vec<Runner>>>);

    struct SimTask<T>(Arc<Mutex<State<T>>>);

    impl Spawn for SimSpawner {
        type Handle<T: Send + 'static> = SimTask<T>;

        fn spawn<F>(&self, future: F) -> SimTask<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            let state = Arc::new(Mutex::new(State {
                output: None,
                aborted: false,
                finished: false,
                task: None,
                handle: None,
            }));
            let shared = state.clone();
            let mut future = Some(Box::pin(future));
            let runner = core::future::poll_fn(move |cx| {
                let aborted = {
                    let mut s = shared.lock().unwrap();
                    s.task = Some(cx.waker().clone());
                    s.aborted
                };
                let output = if aborted {
                    future = None;
                    Err(JoinError::Cancelled)
                } else {
                    match future
                        .as_mut()
                        .expect("polled after its end")
                        .as_mut()
                        .poll(cx)
                    {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(v) => {
                            future = None;
                            Ok(v)
                        }
                    }
                };
                let mut s = shared.lock().unwrap();
                s.output = Some(output);
                s.finished = true;
                if let Some(w) = s.handle.take() {
                    w.wake();
                }
                Poll::Ready(())
            });
            self.0.lock().unwrap().push(Box::pin(runner));
            SimTask(state)
        }
    }

    impl<T> Future for SimTask<T> {
        type Output = Result<T, JoinError>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let mut s = self.0.lock().unwrap();
            match s.output.take() {
                Some(out) => Poll::Ready(out),
                None => {
                    s.handle = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        }
    }

    impl<T> TaskHandle<T> for SimTask<T> {
        fn abort(&mut self) {
            let mut s = self.0.lock().unwrap();
            if !s.finished {
                s.aborted = true;
                if let Some(w) = s.task.take() {
                    w.wake();
                }
            }
        }

        fn is_finished(&self) -> bool {
            self.0.lock().unwrap().finished
        }
    }

    #[test]
    #[should_panic(expected = "`Join` polled after completion")]
    fn join_polled_after_completion_panics() {
        let spawner = SimSpawner::default();
        let mut group = TaskGroup::new(spawner.clone());
        group.spawn(async { 1u8 });
        for mut runner in core::mem::take(&mut *spawner.0.lock().unwrap()) {
            assert!(poll(&mut runner).is_ready());
        }
        let mut join = group.join();
        assert!(matches!(poll(&mut join), Poll::Ready(out) if matches!(out[..], [Ok(1)])));
        let _ = poll(&mut join);
    }

    #[test]
    fn limit_beyond_what_a_bulkhead_counts_is_a_config_error() {
        let build = |limit| {
            TaskGroup::<_, ()>::builder(SimSpawner::default())
                .limit(limit)
                .build()
                .map(drop)
        };
        assert!(build(usize::MAX / 2).is_ok());
        for limit in [0, usize::MAX / 2 + 1, usize::MAX] {
            let err = build(limit).unwrap_err();
            assert_eq!((err.pattern(), err.field()), ("task group", "limit"));
        }
    }

    #[test]
    fn random_schedules_keep_every_promise() {
        for seed in 0..crate::test_util::schedules(10_000) {
            let plan = Plan::draw(&mut Rng::new(seed));
            let books = Arc::new(Books::default());
            let spawner = SimSpawner::default();
            let mut builder = TaskGroup::builder(spawner.clone());
            if let Some(limit) = plan.limit {
                builder = builder.limit(limit);
            }
            if plan.cancel {
                builder = builder.cancel_on_error();
            }
            let mut group = builder.build().unwrap();
            for (i, &(yields, fails)) in plan.tasks.iter().enumerate() {
                assert_eq!(group.spawn(body(books.clone(), i, yields, fails)), i);
            }
            let outcomes = Arc::new(Mutex::new(None));
            let mut sim = Sim::new(seed, 20);
            let out = outcomes.clone();
            sim.spawn(
                async move {
                    let joined = group.join().await;
                    let joined: Vec<_> = joined
                        .into_iter()
                        .map(|o| match o {
                            Ok(v) => Ok(v),
                            Err(JoinError::Cancelled) => Err(()),
                            Err(e) => panic!("{e}"),
                        })
                        .collect();
                    *out.lock().unwrap() = Some(joined);
                },
                true,
            );
            loop {
                for runner in core::mem::take(&mut *spawner.0.lock().unwrap()) {
                    sim.spawn(runner, false);
                }
                if !sim.step() && spawner.0.lock().unwrap().is_empty() {
                    break;
                }
            }
            assert_eq!(sim.live().0, 0, "seed {seed}: a task never ended");
            drop(sim);
            plan.check(seed, &books, outcomes.lock().unwrap().take());
        }
    }
}
