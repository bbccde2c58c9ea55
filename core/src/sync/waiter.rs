//! A waiter: its node in the semaphore's queue, and the [`Acquire`] future the node is pinned
//! in. See the semaphore's module docs for who touches a node when.

use core::future::Future;
use core::marker::PhantomPinned;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;

use super::semaphore::{AcquireError, Link, Permit, Semaphore, TryAcquireError};
use crate::loom::{AtomicU32, Ordering, UnsafeCell};

/// A node's `state`: linked, waiting.
pub(super) const WAITING: u32 = 0;
/// A node's `state`: unlinked with all its permits.
pub(super) const GRANTED: u32 = 1;
/// A node's `state`: unlinked by `close`, without permits.
pub(super) const CLOSED: u32 = 2;

/// A waiter's place in the queue, inside its `Acquire` future.
pub(super) struct Node {
    /// `WAITING`, `GRANTED` or `CLOSED`; stored last by whoever unlinks the node.
    pub(super) state: AtomicU32,
    /// Touched only under the semaphore's lock.
    pub(super) waiter: UnsafeCell<Waiter>,
    /// Linked into the queue by address: never moved once linked.
    _pin: PhantomPinned,
}

pub(super) struct Waiter {
    pub(super) prev: Link,
    pub(super) next: Link,
    /// The permits this waiter asked for.
    pub(super) asked: usize,
    /// Those of them still to be handed to it.
    pub(super) needed: usize,
    pub(super) waker: Option<Waker>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Start,
    Queued,
    Done,
}

pin_project! {
    /// The future of [`Semaphore::acquire`]. Dropping it leaves the queue, handing on any
    /// permits it was handed (granted but not yet polled: all of them).
    pub(crate) struct Acquire<'a> {
        semaphore: &'a Semaphore,
        permits: usize,
        max_waiting: usize,
        step: Step,
        #[pin]
        node: Node,
    }

    impl PinnedDrop for Acquire<'_> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if *this.step != Step::Queued {
                return;
            }
            let semaphore = *this.semaphore;
            let node: &Node = this.node.into_ref().get_ref();
            // Acquire: after a grant, its permits are ours to give back.
            let state = || node.state.load(Ordering::Acquire);
            let permits = *this.permits;
            let handed = match state() {
                GRANTED => permits,
                CLOSED => 0,
                _ => {
                    let (waker, left) = semaphore.queue.with_lock(|q| match state() {
                        // Granted or closed since: as above.
                        GRANTED => (None, permits),
                        CLOSED => (None, 0),
                        _ => {
                            // SAFETY: still linked (`WAITING`), under the lock.
                            let (_, handed) = unsafe { semaphore.leave(q, NonNull::from(node)) };
                            semaphore.hand_on(q, handed)
                        }
                    });
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                    left
                }
            };
            semaphore.add_permits(handed);
        }
    }
}

// SAFETY: a node's fields but `state` (atomic) are touched only under its semaphore's lock,
// whichever thread holds it; its waker is `Send + Sync`.
unsafe impl Send for Node {}
// SAFETY: as above: shared references to a node touch it under the lock only.
unsafe impl Sync for Node {}

impl<'a> Future for Acquire<'a> {
    type Output = Result<Permit<'a>, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let semaphore: &'a Semaphore = this.semaphore;
        let permits = *this.permits;
        let node: &Node = this.node.into_ref().get_ref();
        // Acquire: after a grant, its permits are ours.
        let state = || node.state.load(Ordering::Acquire);
        let result = match *this.step {
            Step::Start => match semaphore.try_acquire(permits) {
                Ok(permit) => Ok(permit),
                Err(TryAcquireError::Closed) => Err(AcquireError::Closed),
                Err(TryAcquireError::InsufficientPermits) => {
                    let max = *this.max_waiting;
                    let waker = cx.waker();
                    match semaphore.queue.with_lock(|q| {
                        semaphore.enqueue(q, NonNull::from(node), permits, max, waker)
                    }) {
                        Poll::Pending => {
                            *this.step = Step::Queued;
                            return Poll::Pending;
                        }
                        Poll::Ready(r) => r.map(|()| semaphore.permit(permits)),
                    }
                }
            },
            Step::Queued => {
                let mut now = state();
                if now == WAITING {
                    now = semaphore.queue.with_lock(|_q| {
                        let now = state();
                        if now == WAITING {
                            // SAFETY: linked (`WAITING`), under the lock.
                            unsafe { node_waker(NonNull::from(node), cx.waker()) };
                        }
                        now
                    });
                }
                match now {
                    WAITING => return Poll::Pending,
                    GRANTED => Ok(semaphore.permit(permits)),
                    _ => Err(AcquireError::Closed),
                }
            }
            Step::Done => return Poll::Pending,
        };
        *this.step = Step::Done;
        Poll::Ready(result)
    }
}

/// `node` wakes `waker` when granted.
///
/// # Safety
///
/// Under the semaphore's lock, `node` linked.
unsafe fn node_waker(node: NonNull<Node>, waker: &Waker) {
    // SAFETY: the caller's contract: alive, and touched by nobody else meanwhile.
    unsafe { node.as_ref() }.waiter.with_mut(|w| {
        // SAFETY: as above.
        let slot = unsafe { &mut (*w).waker };
        match slot {
            Some(old) if old.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    });
}

impl core::fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Acquire")
    }
}

impl<'a> Acquire<'a> {
    pub(super) fn new(semaphore: &'a Semaphore, permits: usize, max_waiting: usize) -> Self {
        Acquire {
            semaphore,
            permits,
            max_waiting,
            step: Step::Start,
            node: Node {
                state: AtomicU32::new(WAITING),
                waiter: UnsafeCell::new(Waiter {
                    prev: None,
                    next: None,
                    asked: permits,
                    needed: permits,
                    waker: None,
                }),
                _pin: PhantomPinned,
            },
        }
    }
}
