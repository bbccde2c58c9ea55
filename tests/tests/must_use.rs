//! Pitfall 2, "not awaiting": every future, builder and guard of steadfast is `#[must_use]`.
//!
//! This test compiles a small crate against steadfast with `#![deny(unused_must_use)]`, in
//! which each line marked `// CASE` drops one such value unused, and checks that the compiler
//! rejects exactly those lines: a missing `#[must_use]` makes the test fail. Each pattern's
//! futures, builders and guards get a line here. It runs cargo offline, on the lockfile of
//! this workspace, in a target directory of its own.

use std::path::Path;
use std::process::Command;

const CASES: &str = r#"#![deny(unused_must_use)]
#![allow(unused_variables, unused_imports, dead_code)]

use core::future::{pending, ready};
use core::num::NonZeroUsize;
use core::time::Duration;
use steadfast::bracket::{ReleaseQueue, bracket};
use steadfast::bulkhead::Bulkhead;
use steadfast::events::{Emitter, FixedEmitter};
use steadfast::pitfalls::{SlowPollExt, detect_slow_polls};
use steadfast::timeout::{TimeoutExt, timeout, timeout_at};
use steadfast::{Instant, Timer, VirtualTimer};

static QUEUE: ReleaseQueue<u8, 1> = ReleaseQueue::new();
static BULKHEAD: Bulkhead = Bulkhead::new(1);
static FIXED: FixedEmitter<u8, (), 1> = FixedEmitter::new();

async fn close(_: u8) -> Result<(), ()> {
    Ok(())
}

async fn handler(_: u8) -> Result<(), ()> {
    Ok(())
}

pub async fn cases(timer: VirtualTimer, emitter: Emitter<u8, ()>) {
    // Time and timeouts.
    VirtualTimer::new(); // CASE
    timer.sleep(Duration::from_secs(1)); // CASE
    timer.auto_advance(ready(())); // CASE
    timeout(&timer, Duration::ZERO, ready(())); // CASE
    timeout_at(&timer, Instant::ZERO, ready(())); // CASE
    ready(()).timeout(&timer, Duration::ZERO); // CASE
    ready(()).timeout(&timer, Duration::ZERO).context("why"); // CASE
    // Bulkhead: builders, futures, guards.
    Bulkhead::builder(2); // CASE
    Bulkhead::builder(2).max_waiting(1); // CASE
    Bulkhead::builder(2).reject_when_full(); // CASE
    Bulkhead::builder(2).build(); // CASE
    BULKHEAD.acquire(); // CASE
    BULKHEAD.acquire_within(&timer, Duration::ZERO); // CASE
    BULKHEAD.run(ready(())); // CASE
    BULKHEAD.run_within(&timer, Duration::ZERO, ready(())); // CASE
    BULKHEAD.call(ready(Ok::<(), ()>(()))); // CASE
    BULKHEAD.call_within(&timer, Duration::ZERO, ready(Ok::<(), ()>(()))); // CASE
    BULKHEAD.metrics(); // CASE
    BULKHEAD.try_acquire(); // CASE
    let permit = BULKHEAD.try_acquire().unwrap();
    permit; // CASE
    // Bracket.
    ReleaseQueue::<u8, 1>::new(); // CASE
    bracket(ready(Ok::<u8, ()>(1)), async |_: &mut u8| 2, close, &QUEUE); // CASE
    bracket(ready(Ok::<u8, ()>(1)), async |_: &mut u8| 2, close, &QUEUE).await; // CASE
    bracket(ready(Ok::<u8, ()>(1)), async |_: &mut u8| 2, close, &QUEUE).await.unwrap(); // CASE
    QUEUE.next(); // CASE
    QUEUE.try_next(); // CASE
    // Slow-poll detector.
    detect_slow_polls(&timer, Duration::ZERO, ready(()), |_| {}); // CASE
    ready(()).detect_slow_polls(&timer, Duration::ZERO, |_| {}); // CASE
    // Event emitter.
    Emitter::<u8, ()>::new(); // CASE
    emitter.emit(1); // CASE
    emitter.emit(1).handler_timeout(&timer, Duration::ZERO); // CASE
    emitter.emit(1).max_concurrent(1); // CASE
    emitter.emit(1).await; // CASE
    FixedEmitter::<u8, (), 1>::new(); // CASE
    FIXED.emit(1); // CASE
    FIXED.emit(1).await; // CASE
    FIXED.emit_with_timeout(1, &timer, Duration::ZERO); // CASE
    FIXED.subscribe(); // CASE
    FIXED.subscribe().unwrap(); // CASE
    let mut subscriber = FIXED.subscribe().unwrap();
    subscriber.next(); // CASE
    subscriber.next().await; // CASE
    subscriber.run(handler); // CASE

    // Not cases: used values raise nothing.
    let _ = emitter.emit(1);
    drop(timeout(&timer, Duration::ZERO, pending::<()>()));
}

pub async fn pool_and_batch_cases(
    timer: VirtualTimer,
    pool: steadfast::pool::WorkerPool<u8, u8>,
    detached: steadfast::pool::DetachedPool<u8>,
    batcher: steadfast::batch::Batcher<u8, VirtualTimer>,
) {
    use steadfast::batch::{FixedBatch, FixedBatcher};
    use steadfast::pool::FixedPool;
    use steadfast::queue::BoundedQueue;
    static Q: BoundedQueue<u8, 1> = BoundedQueue::new();
    static POOL: FixedPool<u8, 1> = FixedPool::new();
    let fixed = FixedBatcher::<u8, _, 1>::builder(timer.clone())
        .batch_size(1)
        .flush_interval(Duration::from_secs(1))
        .build()
        .unwrap();
    // Queue.
    BoundedQueue::<u8, 1>::new(); // CASE
    Q.send(1); // CASE
    Q.recv(); // CASE
    Q.shutdown(); // CASE
    // Pool.
    FixedPool::<u8, 1>::new(); // CASE
    POOL.submit(1); // CASE
    POOL.wait_idle(); // CASE
    POOL.run::<1, _, _>(|n: u8| ready(n), |_| {}); // CASE
    POOL.metrics(); // CASE
    POOL.shutdown(); // CASE
    pool.submit(1); // CASE
    pool.submit(1).await.unwrap(); // CASE
    pool.wait_idle(); // CASE
    pool.clone(); // CASE
    pool.metrics(); // CASE
    detached.clone(); // CASE
    steadfast::pool::WorkerPool::<u8, u8>::builder(); // CASE
    steadfast::pool::WorkerPool::<u8, u8>::builder().workers(2); // CASE
    steadfast::pool::DetachedPool::<u8>::builder().capacity(2); // CASE
    // Batcher.
    FixedBatcher::<u8, _, 1>::builder(timer.clone()); // CASE
    FixedBatcher::<u8, _, 1>::builder(timer.clone()).batch_size(1); // CASE
    fixed.submit(1); // CASE
    fixed.metrics(); // CASE
    fixed.run(|_: FixedBatch<u8, 1>| ready(Ok::<(), ()>(())), |_| {}); // CASE
    batcher.submit(1); // CASE
    batcher.clone(); // CASE
}
"#;

#[test]
fn the_compiler_warns_on_every_unused_future_builder_and_guard() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let core = manifest
        .join("../core")
        .canonicalize()
        .expect("the core crate");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("must_use");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"must-use-check\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
             publish = false\n\n[workspace]\n\n[lib]\npath = \"src/lib.rs\"\n\n\
             [dependencies]\nsteadfast = {{ path = {:?}, features = [\"std\"] }}\n",
            core.display().to_string()
        ),
    )
    .unwrap();
    std::fs::copy(manifest.join("../Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), CASES).unwrap();

    let out = Command::new(env!("CARGO"))
        .args(["check", "--offline", "--quiet", "--message-format", "short"])
        .arg("--target-dir")
        .arg(dir.join("target"))
        .current_dir(&dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .expect("run cargo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "every case should fail: {stderr}");

    let expected: Vec<usize> = CASES
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_end().ends_with("// CASE"))
        .map(|(i, _)| i + 1)
        .collect();
    let mut reported: Vec<usize> = stderr
        .lines()
        .filter(|l| l.contains("error: unused"))
        .filter_map(|l| l.strip_prefix("src/lib.rs:"))
        .filter_map(|l| l.split(':').next()?.parse().ok())
        .collect();
    reported.dedup();
    let missing: Vec<&str> = expected
        .iter()
        .filter(|n| !reported.contains(n))
        .map(|n| CASES.lines().nth(n - 1).unwrap().trim())
        .collect();
    assert!(
        missing.is_empty(),
        "no `unused_must_use` error for:\n{}\n\ncargo said:\n{stderr}",
        missing.join("\n")
    );
    let other: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("error") && !l.contains("error: unused"))
        .filter(|l| !l.starts_with("error: could not compile"))
        .collect();
    assert!(other.is_empty(), "unexpected errors:\n{}", other.join("\n"));
    assert_eq!(reported, expected, "errors on lines that are not cases");
}
