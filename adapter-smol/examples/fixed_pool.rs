//! The spawn-free worker pool, as firmware uses it: a `static` pool with a fixed queue, its
//! workers running inside one driver future of yours, no heap. Here the driver runs beside a
//! producer on smol, in virtual time; on embassy it would be a task of its own.
//!
//! `cargo run -p steadfast-smol --example fixed_pool`.

use std::cell::Cell;
use std::time::Duration;
use steadfast_smol::pool::FixedPool;
use steadfast_smol::{Timer, VirtualTimer};

/// Up to eight readings queued; producers wait when it is full.
static READINGS: FixedPool<u32, 8> = FixedPool::new();

fn main() {
    let timer = VirtualTimer::new();
    let stored = Cell::new(0u32);
    smol::block_on(timer.auto_advance(async {
        let t = &timer;
        // Two workers, each taking 10 ms per reading; outcomes go to the report callback.
        let driver = READINGS.run::<2, _, _>(
            |reading: u32| async move {
                t.sleep(Duration::from_millis(10)).await;
                reading
            },
            |outcome| stored.set(stored.get() + outcome.expect("stored")),
        );
        let producer = async {
            for reading in 1..=20 {
                READINGS.submit(reading).await.expect("the pool is open");
            }
            READINGS.wait_idle().await;
            READINGS.close(); // the driver ends once the queue is drained
        };
        smol::future::zip(driver, producer).await;
    }));
    println!(
        "stored readings summing to {}, in {:?} of virtual time",
        stored.get(),
        Duration::from_nanos(timer.now().as_nanos())
    );
    assert_eq!(stored.get(), 210);
    assert_eq!(timer.now().as_nanos(), 100_000_000); // 20 readings, two at a time, 10 ms each
}
