//! The count of accepted items not yet finished, which `wait_idle` waits on. Every pool form
//! keeps one; a loom model (`ci/loom-pool`) builds this file on its own.

use maitake_sync::WaitQueue;
use maitake_sync::util::CachePadded;

use crate::loom::{AtomicUsize, Ordering, fence};

/// Counts items accepted and not yet finished, and wakes `wait_idle` when none is left.
///
/// Two counters rather than one, on cache lines of their own: producers count submissions
/// begun, workers count them ended, and neither side writes to the other's line on the hot
/// path. `done` looks at the idle queue only while a `wait_idle` is in progress.
pub(crate) struct Pending {
    /// Submissions begun (accepted items among them).
    begun: CachePadded<AtomicUsize>,
    /// Submissions ended: items run and reported, handed back, or never accepted.
    ended: CachePadded<AtomicUsize>,
    /// `wait_idle` calls in progress.
    watchers: AtomicUsize,
    idle: WaitQueue,
}

impl Pending {
    crate::loom::loom_const_fn! {
        pub(crate) fn new() -> Self {
        Pending {
            begun: CachePadded::new(AtomicUsize::new(0)),
            ended: CachePadded::new(AtomicUsize::new(0)),
            watchers: AtomicUsize::new(0),
            idle: WaitQueue::new(),
        }
    }
    }

    pub(crate) fn get(&self) -> usize {
        // `ended` first: a submission ends after it begins, so this never reads more ended
        // than begun, and equal counts mean that there was an instant with nothing pending.
        let ended = self.ended.load(Ordering::SeqCst);
        self.begun.load(Ordering::SeqCst).wrapping_sub(ended)
    }

    /// Counts one more, and returns a guard that counts it off when dropped unless
    /// [`keep`](PendingGuard::keep) is called.
    pub(crate) fn add(&self) -> PendingGuard<'_> {
        self.begun.fetch_add(1, Ordering::SeqCst);
        PendingGuard(Some(self))
    }

    pub(crate) fn done(&self, n: usize) {
        if n == 0 {
            return;
        }
        self.ended.fetch_add(n, Ordering::SeqCst);
        // Either a watcher counted itself in before this load and is woken here, or it did so
        // after the `fetch_add` above and its own check sees the count this left. The fences
        // (here and in `wait_idle`) make that so whatever the accesses' own ordering.
        fence(Ordering::SeqCst);
        if self.watchers.load(Ordering::SeqCst) != 0 && self.get() == 0 {
            self.idle.wake_all();
        }
    }

    /// Whether a `wait_idle` is in progress.
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    pub(crate) fn watched(&self) -> bool {
        self.watchers.load(Ordering::SeqCst) != 0
    }

    pub(crate) async fn wait_idle(&self) {
        self.watchers.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let _watching = Watching(&self.watchers);
        // The queue is never closed, so `wait_for` only returns `Ok`.
        let _ = self.idle.wait_for(|| self.get() == 0).await;
    }
}

/// Counts a `wait_idle` call out when it ends or is dropped.
struct Watching<'a>(&'a AtomicUsize);

impl Drop for Watching<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Counts a pending item off when dropped (also while unwinding), unless kept.
pub(crate) struct PendingGuard<'a>(Option<&'a Pending>);

impl<'a> PendingGuard<'a> {
    /// Counts off one item already counted, when dropped.
    pub(crate) fn new(pending: &'a Pending) -> Self {
        PendingGuard(Some(pending))
    }

    /// The item was accepted: it stays counted until [`Pending::done`].
    pub(crate) fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            p.done(1);
        }
    }
}
