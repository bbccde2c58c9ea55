//! The semaphore: permits in one atomic word, waiters in an intrusive FIFO list of nodes
//! pinned inside their [`Acquire`] futures, the list behind maitake-sync's blocking mutex.
//!
//! # The state word
//!
//! `state` is the count of free permits, or `QUEUED` (`usize::MAX`) while callers wait. While
//! nobody waits, permits come and go with one compare-and-swap, no lock. The first waiter
//! stores `QUEUED` under the lock, taking the permits there were (too few for it) as a part
//! of its request; whoever empties the queue, under the lock, stores the count again. While
//! it is `QUEUED` the word changes only under the lock, a release takes the lock to hand its
//! permits to the head of the queue, and `try_acquire` fails: nobody barges past a waiter.
//! `closed` is a flag beside it, set under the lock by `close`, which then wakes every waiter;
//! permits still come and go (and count) after it, but no acquire takes them.
//!
//! # A grant
//!
//! Under the lock, the releaser subtracts its permits from the head's need; once that reaches
//! zero it unlinks the node, takes its waker and, last, stores `GRANTED` (or `CLOSED`) in the
//! node's `state` with `Release`. It never touches the node again. The waiter reads that
//! `state` with `Acquire`, and, granted or closed, returns or drops its node without the lock.
//! The waker is woken after the lock is released; a release that could serve more than one
//! waiter takes the lock once per waiter served.
//!
//! # Memory
//!
//! A node is linked only under the lock, after its future is pinned, and unlinked under the
//! lock before its future is gone (by a grant, a close, or the future's drop, which takes the
//! lock unless the node was unlinked already): a linked node is always alive. Every field of
//! a node but `state` is touched only under the lock.

use core::ptr::NonNull;
use core::task::{Poll, Waker};

use maitake_sync::blocking::Mutex;

use super::waiter::{Acquire, CLOSED, GRANTED, Node};
use crate::loom::{AtomicBool, AtomicUsize, Ordering, loom_const_fn};

/// `Semaphore::state` while callers wait: the permits are theirs.
const QUEUED: usize = usize::MAX;

/// Why [`Semaphore::try_acquire`] took nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TryAcquireError {
    /// The semaphore is closed.
    Closed,
    /// Too few permits, or callers wait for them.
    InsufficientPermits,
}

/// Why an [`Acquire`] ends without permits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AcquireError {
    /// The semaphore is closed.
    Closed,
    /// It would have waited, and as many callers as its cap wait already.
    QueueFull,
}

pub(super) type Link = Option<NonNull<Node>>;

/// The ends of the queue of waiters, guarded by the semaphore's lock.
pub(super) struct Queue {
    head: Link,
    tail: Link,
}

// SAFETY: the pointers are to nodes touched only under the lock that guards this queue (see
// the module docs); a `Queue` moved to another thread carries no access with it.
unsafe impl Send for Queue {}

/// A counting semaphore, FIFO; see the module docs.
pub(crate) struct Semaphore {
    state: AtomicUsize,
    /// Set under the lock by `close`.
    closed: AtomicBool,
    /// Callers in the queue: written under the lock, read without it.
    pub(super) waiting: AtomicUsize,
    pub(super) queue: Mutex<Queue>,
}

impl Semaphore {
    /// The most permits a semaphore holds; adding more saturates.
    pub(crate) const MAX_PERMITS: usize = usize::MAX - 1;

    loom_const_fn! {
        pub(crate) fn new(permits: usize) -> Self {
            debug_assert!(permits <= Self::MAX_PERMITS);
            Semaphore {
                state: AtomicUsize::new(permits),
                closed: AtomicBool::new(false),
                waiting: AtomicUsize::new(0),
                queue: Mutex::new(Queue { head: None, tail: None }),
            }
        }
    }

    /// Waits for `permits` permits, FIFO: a request at the head of the queue that the free
    /// permits do not cover holds up smaller ones behind it.
    pub(crate) fn acquire(&self, permits: usize) -> Acquire<'_> {
        self.acquire_capped(permits, usize::MAX)
    }

    /// [`acquire`](Self::acquire), refused with [`AcquireError::QueueFull`] instead of
    /// waiting when `max_waiting` callers wait already.
    pub(crate) fn acquire_capped(&self, permits: usize, max_waiting: usize) -> Acquire<'_> {
        debug_assert!(permits <= Self::MAX_PERMITS);
        Acquire::new(self, permits, max_waiting)
    }

    /// Takes `permits` permits if they are there and nobody waits: atomics only, no lock.
    // The lock-free paths are inlined on hosted targets, for speed, and left out of line on
    // bare metal, where each inlined copy costs flash (about 100 B a pattern on thumbv7m).
    #[cfg_attr(not(target_os = "none"), inline)]
    pub(crate) fn try_acquire(&self, permits: usize) -> Result<Permit<'_>, TryAcquireError> {
        if self.is_closed() {
            return Err(TryAcquireError::Closed);
        }
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            if cur == QUEUED || cur < permits {
                return Err(TryAcquireError::InsufficientPermits);
            }
            // Acquire: the permits' last release happens before their use.
            match self.state.compare_exchange_weak(
                cur,
                cur - permits,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(self.permit(permits)),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Gives `permits` permits back: to the waiters first, in order, then to the pool (which
    /// saturates at [`MAX_PERMITS`](Self::MAX_PERMITS)). No lock while nobody waits.
    #[cfg_attr(not(target_os = "none"), inline)]
    pub(crate) fn add_permits(&self, permits: usize) {
        if permits == 0 {
            return;
        }
        let mut cur = self.state.load(Ordering::Relaxed);
        while cur != QUEUED {
            // Release: pairs with the next taker's Acquire.
            match self.state.compare_exchange_weak(
                cur,
                add(cur, permits),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
        self.hand_to_waiters(permits);
    }

    /// The rest of [`add_permits`](Self::add_permits) once callers wait: under the lock, one
    /// waiter served at a time. Out of line on hosted targets, so the inlined fast path stays
    /// small.
    #[cfg_attr(not(target_os = "none"), inline(never))]
    fn hand_to_waiters(&self, permits: usize) {
        let mut left = permits;
        while left > 0 {
            let (waker, rest) = self.queue.with_lock(|q| self.hand_on(q, left));
            if let Some(waker) = waker {
                waker.wake();
            }
            left = rest;
        }
    }

    /// Closes the semaphore: every waiter is woken with [`AcquireError::Closed`], every later
    /// acquire fails. Permits held stay valid, and are counted when given back.
    pub(crate) fn close(&self) {
        let mut returned = 0usize;
        loop {
            let waker = self.queue.with_lock(|q| {
                self.closed.store(true, Ordering::Release);
                let Some(head) = q.head else {
                    // Nobody waits now: the closed waiters' parts go back to the pool.
                    self.put_back(returned);
                    return None;
                };
                // SAFETY: a linked node is alive and touched only under the lock, held here.
                let (waker, handed) = unsafe { self.leave(q, head) };
                returned = returned.saturating_add(handed);
                // SAFETY: still alive: its owner sees `CLOSED` (stored last) before it drops it.
                unsafe { head.as_ref() }
                    .state
                    .store(CLOSED, Ordering::Release);
                Some(waker)
            });
            match waker {
                Some(Some(waker)) => waker.wake(),
                Some(None) => {}
                None => return,
            }
        }
    }

    /// Whether [`close`](Self::close) was called.
    #[cfg_attr(not(target_os = "none"), inline)]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The permits free now (not counting those handed to waiters).
    #[cfg_attr(not(target_os = "none"), inline)]
    pub(crate) fn available_permits(&self) -> usize {
        match self.state.load(Ordering::Relaxed) {
            QUEUED => 0,
            free => free,
        }
    }

    /// The callers waiting now.
    #[cfg_attr(not(target_os = "none"), inline)]
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    pub(super) fn permit(&self, permits: usize) -> Permit<'_> {
        Permit {
            semaphore: self,
            permits,
        }
    }

    /// Under the lock: hands `permits` to the head of the queue. Returns the waker of a waiter
    /// it granted, and the permits still to hand on once the lock is released (nonzero only
    /// when a waiter was granted and others wait). Once nobody waits, the permits go back
    /// into the state word.
    pub(super) fn hand_on(&self, q: &mut Queue, permits: usize) -> (Option<Waker>, usize) {
        let Some(head) = q.head else {
            self.put_back(permits);
            return (None, 0);
        };
        // SAFETY: a linked node is alive and touched only under the lock, held here.
        let needed = unsafe { head.as_ref() }.waiter.with_mut(|w| {
            // SAFETY: as above; no other reference to the waiter exists meanwhile.
            let w = unsafe { &mut *w };
            let needed = w.needed;
            w.needed = needed.saturating_sub(permits);
            needed
        });
        if needed > permits {
            return (None, 0);
        }
        // SAFETY: as above.
        let (waker, _) = unsafe { self.leave(q, head) };
        // SAFETY: still alive: its owner sees `GRANTED` (stored last) before it drops it.
        unsafe { head.as_ref() }
            .state
            .store(GRANTED, Ordering::Release);
        let left = permits - needed;
        if q.head.is_none() {
            self.put_back(left);
            return (waker, 0);
        }
        (waker, left)
    }

    /// Under the lock, with nobody queued: adds `permits` to the pool, which ends `QUEUED`.
    /// Lock-free takers and releasers may race once the word is a count.
    fn put_back(&self, permits: usize) {
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            let new = match cur {
                QUEUED => permits.min(Semaphore::MAX_PERMITS),
                free => add(free, permits),
            };
            if new == cur {
                return;
            }
            match self
                .state
                .compare_exchange_weak(cur, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The first poll's slow path, under the lock: permits if they are there and nobody waits,
    /// else a place at the tail of the queue (with the permits there are), unless closed or
    /// the queue is at `max_waiting`.
    pub(super) fn enqueue(
        &self,
        q: &mut Queue,
        node: NonNull<Node>,
        permits: usize,
        max_waiting: usize,
        waker: &Waker,
    ) -> Poll<Result<(), AcquireError>> {
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            if self.closed.load(Ordering::Relaxed) {
                return Poll::Ready(Err(AcquireError::Closed));
            }
            if cur != QUEUED && cur >= permits {
                match self.state.compare_exchange_weak(
                    cur,
                    cur - permits,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Poll::Ready(Ok(())),
                    Err(actual) => cur = actual,
                }
                continue;
            }
            if self.waiting() >= max_waiting {
                return Poll::Ready(Err(AcquireError::QueueFull));
            }
            if cur == QUEUED {
                // Changed only under the lock now: nothing to swap, and no free permit.
                break;
            }
            match self
                .state
                .compare_exchange_weak(cur, QUEUED, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        // SAFETY: the node is pinned in its future, which unlinks it under this lock before it
        // goes; it is not linked yet, and touched only under the lock.
        unsafe {
            node.as_ref().waiter.with_mut(|w| {
                let w = &mut *w;
                // The free permits there were (fewer than asked) are its already.
                w.needed = if cur == QUEUED {
                    permits
                } else {
                    permits - cur
                };
                w.waker = Some(waker.clone());
                w.prev = q.tail;
                w.next = None;
            });
            match q.tail {
                Some(tail) => tail.as_ref().waiter.with_mut(|w| (*w).next = Some(node)),
                None => q.head = Some(node),
            }
        }
        q.tail = Some(node);
        self.waiting.store(self.waiting() + 1, Ordering::Relaxed);
        Poll::Pending
    }
}

/// `free` permits and `permits` more, saturating at `MAX_PERMITS`.
fn add(free: usize, permits: usize) -> usize {
    free.saturating_add(permits).min(Semaphore::MAX_PERMITS)
}

impl Semaphore {
    /// Takes `node` out of the queue `q` (this semaphore's, under its lock) and the count of
    /// waiters, returning its waker and the permits it has been handed.
    ///
    /// # Safety
    ///
    /// Under the semaphore's lock, `node` linked into `q`.
    pub(super) unsafe fn leave(
        &self,
        q: &mut Queue,
        node: NonNull<Node>,
    ) -> (Option<Waker>, usize) {
        self.waiting.store(self.waiting() - 1, Ordering::Relaxed);
        // SAFETY: the caller's contract.
        unsafe { q.unlink(node) }
    }
}

impl Queue {
    /// Unlinks `node`, returning its waker and the permits it has been handed.
    ///
    /// # Safety
    ///
    /// Under the semaphore's lock, `node` linked into this queue.
    unsafe fn unlink(&mut self, node: NonNull<Node>) -> (Option<Waker>, usize) {
        // SAFETY: the caller's contract: every node reached is linked, alive, and ours to
        // touch under the lock.
        unsafe {
            let (prev, next, waker, asked, needed) = node.as_ref().waiter.with_mut(|w| {
                let w = &mut *w;
                (
                    w.prev.take(),
                    w.next.take(),
                    w.waker.take(),
                    w.asked,
                    w.needed,
                )
            });
            match prev {
                Some(p) => p.as_ref().waiter.with_mut(|w| (*w).next = next),
                None => self.head = next,
            }
            match next {
                Some(n) => n.as_ref().waiter.with_mut(|w| (*w).prev = prev),
                None => self.tail = prev,
            }
            (waker, asked - needed)
        }
    }
}

impl core::fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Semaphore")
            .field("permits", &self.available_permits())
            .field("waiting", &self.waiting())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Permits of a [`Semaphore`], given back when dropped.
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    semaphore: &'a Semaphore,
    permits: usize,
}

impl Permit<'_> {
    /// Keeps the permits out of the semaphore for good.
    pub(crate) fn forget(self) {
        core::mem::forget(self);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.semaphore.add_permits(self.permits);
    }
}
