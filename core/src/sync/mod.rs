//! The semaphore every pattern that waits for permits uses: the crate's own, FIFO, with no
//! heap and `const` construction (see `semaphore.rs` for how it works).
//!
//! Its one lock is maitake-sync's blocking `Mutex`, which takes a critical section while held
//! under the core's `critical-section` feature (forwarded to maitake-sync): a permit released
//! at interrupt priority while thread mode holds the lock cannot spin on it. Everything
//! else it does is atomics.
//!
//! A waiter is granted under the releaser's lock and returns without taking it; a release or
//! an acquire that finds nobody waiting takes no lock at all.

// The core's only `unsafe`: the intrusive list of waiters is linked through pointers into
// pinned futures. Each block argues its case (`// SAFETY:`); `ci/loom-semaphore` models the
// races, and the unit tests run under Miri.
#[allow(unsafe_code)]
mod semaphore;
#[allow(unsafe_code)]
mod waiter;

// Not every crate built from this module (the loom models) names every item.
#[allow(unused_imports)]
pub(crate) use semaphore::{AcquireError, Permit, Semaphore, TryAcquireError};
#[allow(unused_imports)]
pub(crate) use waiter::Acquire;

#[cfg(all(test, not(loom)))]
mod tests;
