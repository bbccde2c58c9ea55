//! The `Spawn` contract: what every spawner and its task handles promise, checked the same
//! way on every runtime. A new spawner runs it with one [`spawn_contract!`](crate::spawn_contract) call.

use alloc::sync::Arc;
use core::future::pending;
use portable_atomic::{AtomicBool, Ordering};

use steadfast::{JoinError, Spawn, TaskHandle};

use crate::{wait_for_flag, yield_now};

/// How many yields a scenario waits for another task before calling it lost.
const PATIENCE: u32 = 100_000;

/// A task that finishes hands its value to the awaiting handle.
pub async fn finished_task_returns_its_value<S: Spawn>(spawner: S) {
    let handle = spawner.spawn(async { 6 * 7 });
    assert_eq!(handle.await.expect("the task finished"), 42);
}

/// A panic in a task becomes [`JoinError::Panicked`] with the panic's message; the awaiting
/// task goes on.
pub async fn panic_is_reported_not_propagated<S: Spawn>(spawner: S) {
    let handle = spawner.spawn(async {
        if wait_for_flag(&AtomicBool::new(true), 1).await {
            panic!("worker exploded");
        }
        1u8
    });
    let err = handle.await.expect_err("the task panicked");
    match &err {
        JoinError::Panicked(p) => assert_eq!(p.message(), Some("worker exploded")),
        other => panic!("a panic was reported as {other:?}"),
    }
    assert!(err.is_panic() && !err.is_cancelled());
    assert_eq!(err.panic_message(), Some("worker exploded"));
}

/// `abort` on a task that has already finished changes nothing: the handle still gives the
/// task's value.
pub async fn abort_after_finish_keeps_the_value<S: Spawn>(spawner: S) {
    let mut handle = spawner.spawn(async { 42u32 });
    let mut patience = PATIENCE;
    while !handle.is_finished() {
        assert!(patience > 0, "the task never finished");
        patience -= 1;
        yield_now().await;
    }
    handle.abort();
    assert_eq!(handle.await.expect("the task had finished"), 42);
}

/// An aborted task's handle says `Cancelled` only once the task's future has been dropped:
/// whatever the future held (a permit, a connection) is back by then.
pub async fn aborted_handle_resolves_after_the_future_is_dropped<S: Spawn>(spawner: S) {
    let started = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicBool::new(false));
    let (s, guard) = (started.clone(), OwnedSetOnDrop(dropped.clone()));
    let mut handle = spawner.spawn(async move {
        let _guard = guard;
        s.store(true, Ordering::SeqCst);
        pending::<()>().await;
    });
    assert!(
        wait_for_flag(&started, PATIENCE).await,
        "the task never started"
    );
    assert!(!handle.is_finished());
    handle.abort();
    let err = handle.await.expect_err("the task was aborted");
    assert!(err.is_cancelled(), "{err:?}");
    assert!(
        dropped.load(Ordering::SeqCst),
        "the handle said Cancelled while the task's future was alive"
    );
}

/// A task aborted before it ever ran is cancelled too, and its future (with what it
/// captured) is dropped by the time its handle says so.
pub async fn abort_before_the_first_poll<S: Spawn>(spawner: S) {
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = OwnedSetOnDrop(dropped.clone());
    let mut handle = spawner.spawn(async move {
        let _guard = guard;
        pending::<()>().await;
    });
    handle.abort();
    let err = handle.await.expect_err("the task was aborted");
    assert!(err.is_cancelled(), "{err:?}");
    assert!(
        dropped.load(Ordering::SeqCst),
        "the future outlived its handle"
    );
}

/// Dropping a handle detaches the task: it still runs to completion.
pub async fn dropped_handle_detaches<S: Spawn>(spawner: S) {
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    drop(spawner.spawn(async move {
        yield_now().await;
        d.store(true, Ordering::SeqCst);
    }));
    assert!(
        wait_for_flag(&done, PATIENCE).await,
        "the detached task did not finish"
    );
}

struct OwnedSetOnDrop(Arc<AtomicBool>);

impl Drop for OwnedSetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Expands to one `#[test]` per clause of the [`Spawn`] contract, each calling
/// `$run(|spawner| clause(spawner))`.
#[macro_export]
macro_rules! spawn_contract {
    ($run:path) => {
        $crate::__conformance_dispatch!(each_test ($run;) spawn;
            finished_task_returns_its_value,
            panic_is_reported_not_propagated,
            abort_after_finish_keeps_the_value,
            aborted_handle_resolves_after_the_future_is_dropped,
            abort_before_the_first_poll,
            dropped_handle_detaches,
        );
    };
}
