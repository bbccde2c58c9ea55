//! Fetch many items with at most three requests in flight: the futures are made lazily, as
//! slots free up, and the results come back in input order (or, `.unordered()`, as they
//! finish). Runs on smol in virtual time.
//!
//! `cargo run -p steadfast-smol --example map_bounded`.

use smol::stream::StreamExt;
use std::cell::Cell;
use std::time::Duration;
use steadfast_smol::concurrency::map_bounded;
use steadfast_smol::{Timer, VirtualTimer};

fn main() {
    let timer = VirtualTimer::new();
    let (running, most) = (Cell::new(0), Cell::new(0));
    let fetch = |id: u64| {
        let (timer, running, most) = (&timer, &running, &most);
        async move {
            running.set(running.get() + 1);
            most.set(most.get().max(running.get()));
            timer.sleep(Duration::from_millis(100 * (id % 4 + 1))).await;
            running.set(running.get() - 1);
            id * 10
        }
    };

    let ordered: Vec<u64> = smol::block_on(
        timer.auto_advance(
            map_bounded(1..=9, 3, fetch)
                .expect("limit is 1 or more")
                .collect(),
        ),
    );
    println!(
        "in input order: {ordered:?}; at most {} at once",
        most.get()
    );
    assert_eq!(ordered, [10, 20, 30, 40, 50, 60, 70, 80, 90]);
    assert_eq!(most.get(), 3);

    let unordered: Vec<u64> = smol::block_on(
        timer.auto_advance(
            map_bounded(1..=9, 3, fetch)
                .expect("limit is 1 or more")
                .unordered()
                .collect(),
        ),
    );
    println!("as they finish: {unordered:?}");
    assert_eq!(unordered.len(), 9);
}
