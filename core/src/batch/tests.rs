use super::*;

#[test]
fn config_errors_name_the_field() {
    assert_eq!(
        BatchConfig::new(0, Duration::from_secs(1))
            .unwrap_err()
            .field(),
        "batch_size"
    );
    assert_eq!(
        BatchConfig::new(1, Duration::ZERO).unwrap_err().field(),
        "flush_interval"
    );
    let config = BatchConfig::new(9, Duration::from_secs(1)).unwrap();
    #[derive(Clone)]
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
    let err = FixedBatcher::<u8, _, 8>::try_new(NoTimer, config).unwrap_err();
    assert_eq!(err.field(), "capacity");
    assert_eq!(
        std::string::ToString::to_string(&err),
        "invalid batcher setting `capacity`: must be at least batch_size"
    );
}

/// No item lost or duplicated, no empty or oversized batch, across 10,000 random schedules of
/// producers cancelled mid-`add` (some waiting for room, some for their turn in time), with the
/// batcher closed at a random point.
#[cfg(feature = "alloc")]
#[test]
fn random_schedules_lose_and_duplicate_nothing() {
    use crate::VirtualTimer;
    use crate::test_util::schedule::{Sim, yield_n};
    use core::cell::RefCell;
    use std::vec::Vec;

    let mut cancellations = 0;
    for seed in 0..10_000u64 {
        let timer = VirtualTimer::new();
        let config = BatchConfig::new(3, Duration::from_secs(10)).unwrap();
        let batcher: FixedBatcher<u32, VirtualTimer, 4> = FixedBatcher::new(timer.clone(), config);
        let accepted = RefCell::new(Vec::new());
        let flushed: RefCell<Vec<Vec<u32>>> = RefCell::new(Vec::new());
        let mut sim = Sim::new(seed, 100);
        let flushes = &flushed;
        sim.spawn(
            batcher.run(
                move |batch: FixedBatch<u32, 4>| {
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
        for i in 0..10u32 {
            let (batcher, accepted, timer) = (&batcher, &accepted, &timer);
            sim.spawn(
                async move {
                    timer.sleep(Duration::from_secs(u64::from(i % 4) * 4)).await;
                    if batcher.add(i).await.is_ok() {
                        accepted.borrow_mut().push(i);
                    }
                },
                true,
            );
        }
        let close_after = sim.rng.below(120);
        let mut steps = 0;
        loop {
            let n = sim.run(close_after.saturating_sub(steps).max(1));
            steps += n;
            if steps >= close_after && !batcher.is_closed() {
                batcher.close();
                continue;
            }
            if n == 0 && timer.advance_to_next().is_none() {
                break;
            }
        }
        if !batcher.is_closed() {
            batcher.close();
            sim.run(usize::MAX);
        }
        assert_eq!(sim.live(), (0, 0), "seed {seed}: a task was left waiting");
        cancellations += sim.cancelled;
        drop(sim);
        let batches = flushed.take();
        assert!(
            batches.iter().all(|b| !b.is_empty() && b.len() <= 3),
            "seed {seed}: {batches:?}"
        );
        let mut out: Vec<u32> = batches.into_iter().flatten().collect();
        let mut accepted = accepted.take();
        out.sort_unstable();
        accepted.sort_unstable();
        assert_eq!(accepted, out, "seed {seed}");
    }
    assert!(cancellations > 10_000, "cancellations were exercised");
}
