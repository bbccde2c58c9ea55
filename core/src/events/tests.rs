use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

#[cfg(feature = "alloc")]
mod heap {
    use super::*;
    use crate::events::Emitter;

    #[test]
    #[should_panic(expected = "`Emit` polled after completion")]
    fn emit_polled_after_completion_panics() {
        let emitter: Emitter<u8, ()> = Emitter::new();
        let _sub = emitter.subscribe(|_| async { Err(()) });
        let mut emit = emitter.emit(1);
        let mut cx = Context::from_waker(Waker::noop());
        let Poll::Ready(report) = Pin::new(&mut emit).poll(&mut cx) else {
            panic!("a ready handler settles on the first poll");
        };
        assert_eq!(report.succeeded(), 0);
        // A second poll must not make up a report of every handler succeeding.
        let _ = Pin::new(&mut emit).poll(&mut cx);
    }

    #[cfg(feature = "std")]
    #[test]
    fn a_panicking_handler_is_reported_with_its_message_and_the_others_go_on() {
        use crate::events::Handled;
        let emitter: Emitter<u8, ()> = Emitter::new();
        let calm = emitter.subscribe(|_| async { Ok(()) });
        let loud = emitter.subscribe(|n| async move {
            if n > 0 {
                panic!("handler saw {n}");
            }
            Ok(())
        });
        let report = futures_executor::block_on(emitter.emit(3));
        assert_eq!(report.get(calm.id()), Some(&Handled::Succeeded));
        match report.get(loud.id()) {
            Some(Handled::Panicked(p)) => assert_eq!(p.message(), Some("handler saw 3")),
            other => panic!("expected a panic, got {other:?}"),
        }
    }

    #[test]
    fn max_concurrent_of_zero_is_a_config_error() {
        let emitter: Emitter<u8, ()> = Emitter::new();
        let err = emitter.emit(1).max_concurrent(0).unwrap_err();
        assert_eq!((err.pattern(), err.field()), ("emit", "max_concurrent"));
    }

    #[test]
    fn close_unregisters_every_handler_and_later_emits_run_none() {
        use core::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let calls = Arc::new(AtomicUsize::new(0));
        let emitter: Emitter<u8, ()> = Emitter::new();
        let c = calls.clone();
        let sub = emitter.subscribe(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        });
        // An emit made before the close still runs its handlers.
        let before = emitter.emit(1);
        emitter.close();
        assert!(emitter.is_closed());
        assert_eq!(emitter.subscriber_count(), 0);
        assert_eq!(futures_executor::block_on(before).succeeded(), 1);
        assert!(futures_executor::block_on(emitter.emit(2)).is_empty());
        let late = emitter.subscribe(|_| async { Ok(()) });
        assert_eq!(
            emitter.subscriber_count(),
            0,
            "a closed emitter registers nothing"
        );
        assert!(!late.unsubscribe() && !sub.unsubscribe());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}

mod fixed {
    use crate::events::{FixedEmitter, Handled, SubscribeError};

    #[test]
    fn errors_are_send_and_sync() {
        fn error<T: core::error::Error + Send + Sync + 'static>() {}
        error::<SubscribeError>();
        error::<crate::task_group::Cancelled>();
        error::<crate::Panicked>();
    }

    #[test]
    fn no_room_refuses_every_subscriber() {
        let emitter: FixedEmitter<u8, (), 0> = FixedEmitter::new();
        assert_eq!(emitter.subscribe().unwrap_err(), SubscribeError::Full);
        assert!(futures_executor::block_on(emitter.emit(1)).is_empty());
    }

    #[test]
    fn close_ends_the_subscribers_loops_after_what_was_delivered() {
        let emitter: FixedEmitter<u8, u8, 2> = FixedEmitter::new();
        let mut a = emitter.subscribe().unwrap();
        let mut b = emitter.subscribe().unwrap();
        let mut seen = [0u32; 2];
        let (sa, sb) = seen.split_at_mut(1);
        let ((), (), report) = futures_executor::block_on(futures_util::future::join3(
            a.run(|_| {
                sa[0] += 1;
                async { Ok(()) }
            }),
            b.run(|n| {
                sb[0] += 1;
                async move { Err(n) }
            }),
            async {
                let report = emitter.emit(7).await;
                emitter.close();
                report
            },
        ));
        assert_eq!(report.get(0), Some(&Handled::Succeeded));
        assert_eq!(report.get(1), Some(&Handled::Failed(7)));
        assert_eq!(seen, [1, 1]);
        assert!(emitter.is_closed());
        assert_eq!(emitter.subscribe().unwrap_err(), SubscribeError::Closed);
        assert!(futures_executor::block_on(emitter.emit(8)).is_empty());
    }
}

/// What a handler does with an event, drawn from the event and the handler's index: how often
/// it yields, and whether it fails (or, for a fixed subscriber, drops its acknowledgement).
#[cfg(feature = "alloc")]
fn behaviour(event: u64, handler: usize) -> (u64, u8) {
    let mut rng = crate::test_util::schedule::Rng::new(event.wrapping_mul(31) ^ handler as u64);
    (rng.below(4) as u64, rng.below(5) as u8)
}

#[cfg(feature = "alloc")]
mod heap_schedules {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::{Arc, Mutex};
    use std::vec::Vec;

    use crate::events::{Emitter, Handled, Subscription};
    use crate::test_util::schedule::{Rng, Sim, yield_n};

    #[derive(Default)]
    struct Books {
        /// Handler futures alive now, and per emit.
        live: AtomicUsize,
        per_emit: Mutex<BTreeMap<u64, (usize, usize)>>,
        /// How often each handler was called with each event.
        calls: Mutex<BTreeMap<(u64, usize), u32>>,
    }

    struct Alive(Arc<Books>, u64);

    impl Drop for Alive {
        fn drop(&mut self) {
            self.0.live.fetch_sub(1, SeqCst);
            self.0.per_emit.lock().unwrap().get_mut(&self.1).unwrap().0 -= 1;
        }
    }

    fn subscribe(
        emitter: &Emitter<u64, usize>,
        books: &Arc<Books>,
        i: usize,
    ) -> Subscription<u64, usize> {
        let books = books.clone();
        emitter.subscribe(move |event: u64| {
            let books = books.clone();
            *books.calls.lock().unwrap().entry((event, i)).or_default() += 1;
            async move {
                books.live.fetch_add(1, SeqCst);
                {
                    let mut per = books.per_emit.lock().unwrap();
                    let (now, most) = per.entry(event).or_default();
                    *now += 1;
                    *most = (*most).max(*now);
                }
                let _alive = Alive(books.clone(), event);
                let (yields, fail) = behaviour(event, i);
                yield_n(yields).await;
                if fail == 0 { Err(i) } else { Ok(()) }
            }
        })
    }

    #[test]
    fn random_schedules_settle_every_handler_once_per_event() {
        for seed in 0..crate::test_util::schedules(10_000) {
            let mut plan = Rng::new(seed);
            let books = Arc::new(Books::default());
            let emitter: Emitter<u64, usize> = Emitter::new();
            // Subscription index -> handler index.
            let subs: Mutex<Vec<(Subscription<u64, usize>, usize)>> = Mutex::new(Vec::new());
            let handlers = 1 + plan.below(4);
            for i in 0..handlers {
                subs.lock()
                    .unwrap()
                    .push((subscribe(&emitter, &books, i), i));
            }
            // Per emit: the handlers registered at the call, the limit, and the report.
            type Seen = (Vec<usize>, usize, Option<Vec<(usize, Option<usize>)>>);
            let seen: Mutex<BTreeMap<u64, Seen>> = Mutex::new(BTreeMap::new());
            let ids: Mutex<BTreeMap<u64, usize>> = Mutex::new(BTreeMap::new());
            let current: Mutex<std::collections::BTreeSet<usize>> = Mutex::default();
            for (s, i) in subs.lock().unwrap().iter() {
                ids.lock().unwrap().insert(s.id(), *i);
                current.lock().unwrap().insert(*i);
            }
            let mut sim = Sim::new(seed, 15);
            let emits = 1 + plan.below(3);
            for t in 0..emits {
                let (emitter, books, seen, ids, current) =
                    (&emitter, &books, &seen, &ids, &current);
                let limit = plan.below(4);
                let event = seed * 10 + t as u64;
                let _ = books;
                sim.spawn(
                    async move {
                        yield_n(t as u64).await;
                        let registered: Vec<usize> =
                            current.lock().unwrap().iter().copied().collect();
                        let mut emit = emitter.emit(event);
                        if limit > 0 {
                            emit = emit.max_concurrent(limit).unwrap();
                        }
                        seen.lock()
                            .unwrap()
                            .insert(event, (registered, limit, None));
                        let report = emit.await;
                        let outcomes = report
                            .iter()
                            .map(|(id, o)| {
                                let i = ids.lock().unwrap()[&id];
                                let failed = match o {
                                    Handled::Succeeded => None,
                                    Handled::Failed(e) => Some(*e),
                                    other => panic!("seed {seed}: unexpected {other:?}"),
                                };
                                (i, failed)
                            })
                            .collect();
                        seen.lock().unwrap().get_mut(&event).unwrap().2 = Some(outcomes);
                    },
                    true,
                );
            }
            // Churn: a handler leaves and another comes, between emits.
            {
                let (emitter, books, subs, ids, current) =
                    (&emitter, &books, &subs, &ids, &current);
                let leave = plan.below(handlers);
                sim.spawn(
                    async move {
                        yield_n(1).await;
                        let (s, i) = subs.lock().unwrap().remove(leave);
                        current.lock().unwrap().remove(&i);
                        assert!(s.unsubscribe());
                        let s = subscribe(emitter, books, handlers);
                        ids.lock().unwrap().insert(s.id(), handlers);
                        current.lock().unwrap().insert(handlers);
                        subs.lock().unwrap().push((s, handlers));
                    },
                    false,
                );
            }
            sim.run(100_000);
            assert_eq!(sim.live().0, 0, "seed {seed}: stalled");
            drop(sim);
            assert_eq!(
                books.live.load(SeqCst),
                0,
                "seed {seed}: a handler outlived its emit"
            );
            let calls = books.calls.lock().unwrap();
            for (event, (registered, limit, report)) in seen.lock().unwrap().iter() {
                let most = books.per_emit.lock().unwrap().get(event).map_or(0, |p| p.1);
                if *limit > 0 {
                    assert!(
                        most <= *limit,
                        "seed {seed}: {most} handlers ran at once, limit {limit}"
                    );
                }
                for &i in registered {
                    assert!(
                        calls.get(&(*event, i)).copied().unwrap_or(0) <= 1,
                        "seed {seed}"
                    );
                }
                let Some(report) = report else { continue };
                let reported: Vec<usize> = report.iter().map(|(i, _)| *i).collect();
                assert_eq!(
                    &reported, registered,
                    "seed {seed}: one outcome per handler"
                );
                for &(i, failed) in report {
                    assert_eq!(
                        calls.get(&(*event, i)),
                        Some(&1),
                        "seed {seed}: called once"
                    );
                    let expected = (behaviour(*event, i).1 == 0).then_some(i);
                    assert_eq!(failed, expected, "seed {seed}: handler {i}'s own outcome");
                }
            }
        }
    }
}

#[cfg(feature = "alloc")]
mod fixed_schedules {
    use super::*;
    use core::time::Duration;
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    use std::vec::Vec;

    use crate::VirtualTimer;
    use crate::events::{FixedEmitter, Handled};
    use crate::test_util::schedule::{Rng, Sim, yield_n};

    /// What a subscriber did with an event: settled with this result, or dropped the ack.
    type Outcomes = Vec<(usize, Handled<usize>)>;
    type Settlements = Mutex<BTreeMap<(u64, usize), Vec<Option<Result<(), usize>>>>>;

    async fn subscriber(
        mut sub: crate::events::Subscriber<'_, u64, usize, 3>,
        done: &Settlements,
        forever: bool,
    ) {
        let id = sub.id();
        loop {
            let Some((event, ack)) = sub.next().await else {
                return;
            };
            let (yields, what) = behaviour(event, id);
            yield_n(yields).await;
            let settled = match what {
                0 => Some(Err(id)),
                1 => None,
                _ => Some(Ok(())),
            };
            done.lock()
                .unwrap()
                .entry((event, id))
                .or_default()
                .push(settled);
            match settled {
                Some(result) => ack.settle(result),
                None => drop(ack),
            }
            if !forever && what == 4 {
                return; // leaves: unsubscribes
            }
        }
    }

    #[test]
    fn random_schedules_settle_every_event_once_and_free_every_subscriber() {
        for seed in 0..crate::test_util::schedules(10_000) {
            let mut plan = Rng::new(seed);
            let emitter: FixedEmitter<u64, usize, 3> = FixedEmitter::new();
            let timer = VirtualTimer::new();
            let done: Settlements = Mutex::default();
            let reports: Mutex<Vec<(u64, bool, Outcomes)>> = Mutex::default();
            let report: Mutex<Option<Outcomes>> = Mutex::default();
            let mut sim = Sim::new(seed, 10);
            let subscribers = 1 + plan.below(3);
            for _ in 0..subscribers {
                let forever = plan.below(2) == 0;
                let cancellable = plan.below(3) == 0;
                let sub = emitter.subscribe().expect("room for three");
                sim.spawn(subscriber(sub, &done, forever), cancellable);
            }
            for t in 0..1 + plan.below(2) {
                let timed = plan.below(2) == 0;
                let (emitter, timer, reports) = (&emitter, &timer, &reports);
                let cancellable = plan.below(3) == 0;
                sim.spawn(
                    async move {
                        for j in 0..3 {
                            let event = seed * 100 + t as u64 * 10 + j;
                            let report = if timed {
                                emitter
                                    .emit_with_timeout(event, timer, Duration::from_secs(2))
                                    .await
                            } else {
                                emitter.emit(event).await
                            };
                            let outcomes = report.iter().map(|(i, o)| (i, o.clone())).collect();
                            reports.lock().unwrap().push((event, timed, outcomes));
                        }
                    },
                    cancellable,
                );
            }
            {
                let timer = &timer;
                sim.spawn(
                    async move {
                        for _ in 0..40 {
                            yield_n(1).await;
                            timer.advance(Duration::from_secs(1));
                        }
                    },
                    false,
                );
            }
            // Sometimes the emitter is closed along the way: the subscribers' loops end.
            let closes = plan.below(3) == 0;
            if closes {
                let (emitter, after) = (&emitter, plan.below(30) as u64);
                sim.spawn(
                    async move {
                        yield_n(after).await;
                        emitter.close();
                    },
                    false,
                );
            }
            sim.run(100_000);
            if closes {
                assert_eq!(sim.live().0, 0, "seed {seed}: a task outlived the close");
                assert_eq!(emitter.subscriber_count(), 0, "seed {seed}");
            }
            // Every settlement happened once per event and subscriber.
            for (key, settled) in done.lock().unwrap().iter() {
                assert_eq!(settled.len(), 1, "seed {seed}: {key:?} settled twice");
            }
            for (event, timed, outcomes) in reports.lock().unwrap().iter() {
                for (id, outcome) in outcomes {
                    let settled = done.lock().unwrap().get(&(*event, *id)).map(|s| s[0]);
                    match outcome {
                        Handled::Succeeded => {
                            assert_eq!(settled, Some(Some(Ok(()))), "seed {seed}")
                        }
                        Handled::Failed(e) => {
                            assert_eq!(settled, Some(Some(Err(*e))), "seed {seed}")
                        }
                        Handled::TimedOut => {
                            assert!(*timed, "seed {seed}: timed out with no timeout")
                        }
                        Handled::Abandoned => assert!(
                            !matches!(settled, Some(Some(_))),
                            "seed {seed}: a settled event reported abandoned"
                        ),
                        Handled::Busy => {}
                        Handled::Panicked(p) => panic!("seed {seed}: no subscriber panics: {p}"),
                    }
                }
            }
            if closes {
                continue;
            }
            // At quiescence no subscriber is stuck: one more emit reaches every one left, and
            // each settles it.
            let left = emitter.subscriber_count();
            let last = seed * 100 + 99;
            {
                let (emitter, report) = (&emitter, &report);
                sim.spawn(
                    async move {
                        let r = emitter.emit(last).await;
                        *report.lock().unwrap() =
                            Some(r.iter().map(|(i, o)| (i, o.clone())).collect());
                    },
                    false,
                );
            }
            while sim.step() {}
            let report = report
                .lock()
                .unwrap()
                .take()
                .unwrap_or_else(|| panic!("seed {seed}: the last emit never ended"));
            // Cancellations go on: a subscriber may be cancelled before the last emit.
            let now = emitter.subscriber_count();
            assert!(
                now <= report.len() && report.len() <= left,
                "seed {seed}: every subscriber takes part"
            );
            for (id, outcome) in report {
                let (_, what) = behaviour(last, id);
                assert!(
                    !matches!(outcome, Handled::Busy | Handled::TimedOut),
                    "seed {seed}: subscriber {id} stuck: {outcome:?}"
                );
                if outcome == Handled::Abandoned {
                    // Only a subscriber cancelled meanwhile abandons a settled-for event.
                    assert!(
                        what == 1 || emitter.subscriber_count() < left,
                        "seed {seed}"
                    );
                } else if what >= 2 {
                    assert_eq!(outcome, Handled::Succeeded, "seed {seed}");
                }
            }
        }
    }
}
