//! The release queue: where brackets without a spawner leave what they could not release.

use core::fmt;

use crate::sync::{Permit, Semaphore};
use maitake_sync::WaitQueue;
use maitake_sync::blocking::Mutex;

use super::OnCancel;

/// A fixed-capacity queue of resources whose [`bracket`](super::bracket) was dropped before it
/// could release them; a task of yours takes them out and releases them. No heap, and
/// `const`-constructible, so it can live in a `static`.
///
/// Each bracket using the queue reserves one of its `N` slots before it acquires and gives the
/// slot back when it releases in place, so a hand-off always finds room: nothing is ever
/// dropped for lack of space. When all `N` slots are reserved (by brackets in flight, or by
/// resources waiting here to be released), the next bracket waits for a slot, in FIFO order,
/// before it acquires. Take resources out promptly to keep brackets flowing.
///
/// Resources come out in the order they were handed off. `N = 0` is rejected at compile time:
///
/// ```compile_fail
/// use steadfast::bracket::ReleaseQueue;
/// static NO_ROOM: ReleaseQueue<u32, 0> = ReleaseQueue::new();
/// ```
///
/// ```
/// use steadfast::bracket::ReleaseQueue;
///
/// static RELEASES: ReleaseQueue<u32, 8> = ReleaseQueue::new();
/// assert_eq!(RELEASES.capacity(), 8);
/// assert!(RELEASES.is_empty());
/// assert_eq!(RELEASES.try_next(), None);
/// ```
///
/// The driver is a loop in a task of yours (on embassy, an `#[embassy_executor::task]`):
///
/// ```no_run
/// # use steadfast::bracket::ReleaseQueue;
/// # struct Connection;
/// # async fn close(_: Connection) -> Result<(), ()> { Ok(()) }
/// static RELEASES: ReleaseQueue<Connection, 4> = ReleaseQueue::new();
///
/// async fn releaser() -> ! {
///     loop {
///         let conn = RELEASES.next().await;
///         if close(conn).await.is_err() {
///             // Log it: nobody else will hear of it.
///         }
///     }
/// }
/// ```
pub struct ReleaseQueue<R, const N: usize> {
    /// One permit per free slot; a bracket holds one from before acquire until it releases.
    slots: Semaphore,
    ring: Mutex<Ring<R, N>>,
    ready: WaitQueue,
}

impl<R, const N: usize> ReleaseQueue<R, N> {
    const NONZERO: () = assert!(N > 0, "a ReleaseQueue needs a capacity of at least 1");

    /// An empty queue with `N` slots.
    #[must_use]
    pub const fn new() -> Self {
        let () = Self::NONZERO;
        ReleaseQueue {
            slots: Semaphore::new(N),
            ring: Mutex::new(Ring::new()),
            ready: WaitQueue::new(),
        }
    }

    /// The number of slots, `N`.
    #[must_use]
    pub const fn capacity(&self) -> usize {
        N
    }

    /// How many resources wait to be released.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ring.with_lock(|r| r.len)
    }

    /// Whether no resource waits to be released.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slots neither reserved by a bracket in flight nor taken by a waiting resource.
    #[must_use]
    pub fn free_slots(&self) -> usize {
        self.slots.available_permits()
    }

    /// Takes the oldest waiting resource, if any, and frees its slot. Release it.
    #[must_use = "a resource taken from the queue must be released"]
    pub fn try_next(&self) -> Option<R> {
        let resource = self.ring.with_lock(Ring::pop)?;
        self.slots.add_permits(1);
        Some(resource)
    }

    /// Waits for the next resource to release, takes it and frees its slot. Several tasks may
    /// wait; each resource goes to one of them. Dropping the future takes nothing.
    pub async fn next(&self) -> R {
        loop {
            if let Ok(resource) = self.ready.wait_for_value(|| self.try_next()).await {
                return resource;
            }
        }
    }
}

impl<R, const N: usize> Default for ReleaseQueue<R, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R, const N: usize> fmt::Debug for ReleaseQueue<R, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReleaseQueue")
            .field("capacity", &N)
            .field("waiting", &self.len())
            .field("free_slots", &self.free_slots())
            .finish()
    }
}

/// A slot of a [`ReleaseQueue`] reserved by a bracket in flight; dropping it frees the slot.
#[must_use = "dropping the slot frees it at once"]
pub struct QueueSlot<'q>(Permit<'q>);

impl fmt::Debug for QueueSlot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueSlot")
    }
}

impl<'q, R, F, const N: usize> OnCancel<R, F> for &'q ReleaseQueue<R, N> {
    type Slot = QueueSlot<'q>;

    async fn reserve(&self) -> QueueSlot<'q> {
        let queue: &'q ReleaseQueue<R, N> = self;
        loop {
            // The semaphore is never closed, so the wait always ends with a permit.
            if let Ok(permit) = queue.slots.acquire(1).await {
                return QueueSlot(permit);
            }
        }
    }

    /// Pushes the resource; the release function is dropped (the queue's driver releases).
    fn hand_off(&self, slot: QueueSlot<'q>, resource: R, _release: F) {
        // The slot moves from the bracket to the waiting resource; `try_next` frees it.
        slot.0.forget();
        let pushed = self.ring.with_lock(|r| r.push(resource));
        // Every waiting resource holds a slot, so the ring (of `N` places) always has room.
        debug_assert!(pushed.is_ok(), "a reserved slot always has room");
        drop(pushed);
        self.ready.wake();
    }
}

/// A FIFO ring of `N` places.
struct Ring<R, const N: usize> {
    items: [Option<R>; N],
    head: usize,
    len: usize,
}

impl<R, const N: usize> Ring<R, N> {
    const fn new() -> Self {
        Ring {
            items: [const { None }; N],
            head: 0,
            len: 0,
        }
    }

    fn push(&mut self, item: R) -> Result<(), R> {
        if self.len == N {
            return Err(item);
        }
        self.items[(self.head + self.len) % N] = Some(item);
        self.len += 1;
        Ok(())
    }

    fn pop(&mut self) -> Option<R> {
        let item = self.items[self.head].take()?;
        self.head = (self.head + 1) % N;
        self.len -= 1;
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_is_fifo_and_bounded() {
        let mut r: Ring<u8, 2> = Ring::new();
        assert_eq!(r.pop(), None);
        assert_eq!(r.push(1), Ok(()));
        assert_eq!(r.push(2), Ok(()));
        assert_eq!(r.push(3), Err(3));
        assert_eq!(r.pop(), Some(1));
        assert_eq!(r.push(3), Ok(()));
        assert_eq!(r.pop(), Some(2));
        assert_eq!(r.pop(), Some(3));
        assert_eq!(r.pop(), None);
    }
}
