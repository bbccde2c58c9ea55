use super::*;

use core::cell::{Cell, RefCell};
use std::vec::Vec;

use crate::test_util::schedule::{Sim, yield_n};
use crate::test_util::schedules;

/// Brackets on one release queue under random schedules, cancelled before they reserve,
/// while they wait for a slot, mid-acquire, mid-use and mid-release, with a driver that
/// drains the queue. At quiescence: every acquired resource had its release started exactly
/// once (in place, or by the driver after a hand-off), nothing acquired after a failed
/// acquire, every slot is back, the queue is empty, and no bracket is left waiting for a
/// slot while one is free.
#[test]
fn random_schedules_release_every_resource_exactly_once() {
    const N: usize = 2;
    let mut cancelled = 0;
    for seed in 0..schedules(10_000) {
        let queue: ReleaseQueue<u32, N> = ReleaseQueue::new();
        let acquired = RefCell::new(Vec::new());
        let released = RefCell::new(Vec::new());
        let handed_off = Cell::new(0usize);
        let release = |id: u32| {
            let released = &released;
            async move {
                // Counted when the release starts: a release cut off by a drop started once.
                released.borrow_mut().push(id);
                yield_n(u64::from(id % 2)).await;
                Ok::<(), ()>(())
            }
        };
        let mut sim = Sim::new(seed, 150);
        let brackets = sim.rng.below(6) + 1;
        for id in 0..brackets as u32 {
            let steps = sim.rng.below(4) as u64;
            let fails = sim.rng.below(5) == 0;
            let (queue, acquired) = (&queue, &acquired);
            sim.spawn(
                async move {
                    let acquire = async move {
                        yield_n(steps % 2).await;
                        if fails {
                            return Err("refused");
                        }
                        acquired.borrow_mut().push(id);
                        Ok(id)
                    };
                    let out = bracket(
                        acquire,
                        async |r: &mut u32| {
                            yield_n(steps).await;
                            *r
                        },
                        release,
                        queue,
                    )
                    .await;
                    match out {
                        Ok(out) => assert_eq!((out.value, out.release), (id, Ok(()))),
                        Err(e) => assert!(fails, "seed {seed}: {e}"),
                    }
                },
                true,
            );
        }
        let (queue_ref, handed) = (&queue, &handed_off);
        sim.spawn(
            async move {
                loop {
                    let id = queue_ref.next().await;
                    handed.set(handed.get() + 1);
                    assert_eq!(release(id).await, Ok(()));
                }
            },
            false,
        );
        sim.run(usize::MAX);
        assert_eq!(
            sim.live(),
            (1, 0),
            "seed {seed}: a bracket waits though the driver freed every slot"
        );
        cancelled += sim.cancelled;
        drop(sim);
        let mut acquired = acquired.take();
        let mut released = released.take();
        acquired.sort_unstable();
        released.sort_unstable();
        assert_eq!(
            acquired, released,
            "seed {seed}: a release skipped or repeated"
        );
        assert!(queue.is_empty(), "seed {seed}");
        assert_eq!(queue.free_slots(), N, "seed {seed}: a slot leaked");
    }
    assert!(
        cancelled as u64 > schedules(10_000) / 10,
        "cancellations were exercised"
    );
}
