//! Loom models of the pools' pending count, built from its source file with loom's
//! primitives: maitake-sync's wait queue and the count's own atomics alike.
//!
//! Every pool form counts an item in before it is queued and off once it was reported or
//! handed back; `wait_idle` counts itself in as a watcher and waits for zero. Workers of the
//! detached pool count off in bulk, and after every item only while a watcher is there. These
//! models check that `wait_idle` never misses the last count-off (no lost wake-up), and never
//! returns while an item it could see is pending.
//!
//! Without `--cfg loom` this crate checks that the module builds on its own.

#[path = "../../../core/src/loom.rs"]
mod loom;

// The pools use the rest of the module (the guard that counts a running item off).
#[allow(dead_code)]
#[path = "../../../core/src/pool/pending.rs"]
mod pending;

#[cfg(all(test, loom))]
#[path = "../../loom-model.rs"]
mod model;

#[cfg(all(test, loom))]
mod models {
    use super::pending::Pending;
    use crate::model::model;
    use loom::future::block_on;
    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use loom::thread;

    /// A worker finishes the last item while `wait_idle` begins: the watcher is woken (or
    /// sees zero at once), and returns only once the item was counted off.
    #[test]
    fn the_last_count_off_wakes_the_watcher() {
        model(|| {
            let pending = Arc::new(Pending::new());
            pending.add().keep();
            let finished = Arc::new(AtomicBool::new(false));
            let worker = {
                let (pending, finished) = (pending.clone(), finished.clone());
                thread::spawn(move || {
                    finished.store(true, SeqCst);
                    pending.done(1);
                })
            };
            block_on(pending.wait_idle());
            assert!(finished.load(SeqCst), "idle before the item was done");
            assert_eq!(pending.get(), 0);
            worker.join().unwrap();
        });
    }

    /// A submission in progress keeps `wait_idle` waiting; a refused one (its guard dropped)
    /// counts itself off and wakes the watcher.
    #[test]
    fn a_refused_submission_wakes_the_watcher() {
        model(|| {
            let pending = Arc::new(Pending::new());
            let submitter = {
                let pending = pending.clone();
                thread::spawn(move || {
                    let guard = pending.add();
                    // Refused: the guard counts the submission off.
                    drop(guard);
                })
            };
            block_on(pending.wait_idle());
            submitter.join().unwrap();
            assert_eq!(pending.get(), 0);
        });
    }

    /// The detached pool's bulk count-off: a worker finishes two items, counting each off at
    /// once only while a watcher is there, and the rest when it finds the queue empty. The
    /// watcher, arriving at any point, returns only once both were counted off.
    #[test]
    fn bulk_count_off_while_a_watcher_arrives() {
        model(|| {
            let pending = Arc::new(Pending::new());
            pending.add().keep();
            pending.add().keep();
            let done = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
            let worker = {
                let (pending, done) = (pending.clone(), done.clone());
                thread::spawn(move || {
                    let mut owed = 0;
                    for _ in 0..2 {
                        done.fetch_add(1, SeqCst);
                        owed += 1;
                        if pending.watched() {
                            pending.done(core::mem::take(&mut owed));
                        }
                    }
                    // The queue is empty: count off what is owed before waiting for more.
                    pending.done(owed);
                })
            };
            block_on(pending.wait_idle());
            assert_eq!(done.load(SeqCst), 2, "idle before both items were done");
            assert_eq!(pending.get(), 0);
            worker.join().unwrap();
        });
    }
}
