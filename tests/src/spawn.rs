//! Spawn scenarios: a handle tells finished, panicked and cancelled apart.

use alloc::sync::Arc;
use core::future::pending;
use portable_atomic::{AtomicBool, Ordering};

use steadfast::{Spawn, TaskHandle};

use crate::{wait_for_flag, yield_now};

/// How many yields a scenario waits for another task before calling it lost.
const PATIENCE: u32 = 100_000;

/// A task that finishes hands its value to the awaiting handle.
pub async fn finished_task_returns_its_value<S: Spawn>(spawner: S) {
    let handle = spawner.spawn(async { 6 * 7 });
    assert_eq!(handle.await.expect("the task finished"), 42);
}

/// A panic in a task becomes an error of its handle, with the message; the awaiting task
/// goes on.
pub async fn panic_is_reported_not_propagated<S: Spawn>(spawner: S) {
    let handle = spawner.spawn(async {
        if wait_for_flag(&AtomicBool::new(true), 1).await {
            panic!("worker exploded");
        }
        1u8
    });
    let err = handle.await.expect_err("the task panicked");
    assert!(err.is_panic(), "{err:?}");
    assert_eq!(err.panic_message().as_deref(), Some("worker exploded"));
}

/// `abort` cancels the task, drops its future and reports `Cancelled`.
pub async fn abort_cancels_and_drops_the_future<S: Spawn>(spawner: S) {
    let started = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicBool::new(false));
    let (s, d) = (started.clone(), dropped.clone());
    let mut handle = spawner.spawn(async move {
        let _guard = OwnedSetOnDrop(d);
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
        wait_for_flag(&dropped, PATIENCE).await,
        "the aborted future was not dropped"
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

/// Expands to one `#[test]` per spawn scenario, each calling `$run(|spawner| scenario(spawner))`.
#[macro_export]
macro_rules! spawn_scenarios {
    ($run:path) => {
        $crate::spawn_scenarios!(@each $run;
            finished_task_returns_its_value,
            panic_is_reported_not_propagated,
            abort_cancels_and_drops_the_future,
            dropped_handle_detaches,
        );
    };
    (@each $run:path; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $run(|spawner| $crate::spawn::$name(spawner));
            }
        )*
    };
}
