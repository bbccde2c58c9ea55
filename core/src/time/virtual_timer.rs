//! Deterministic time for tests and simulations.

use alloc::sync::Arc;
use alloc::task::Wake;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, Waker};
use core::time::Duration;

use maitake_sync::blocking::Mutex;
use pin_project_lite::pin_project;

use super::{Instant, Timer};

/// How many consecutive yields to the executor, with no wake-up of the driven future and no
/// registration on the timer, [`AutoAdvance`] waits before it judges the system idle.
const SETTLE_YIELDS: u32 = 16;

/// A deterministic clock for tests and simulations: time moves only when told to.
///
/// `VirtualTimer` implements [`Timer`] on any executor. Its clock starts at [`Instant::ZERO`]
/// and moves in two ways:
///
/// - by hand: [`advance`](VirtualTimer::advance) and
///   [`advance_to_next`](VirtualTimer::advance_to_next);
/// - automatically: [`auto_advance`](VirtualTimer::auto_advance) wraps a future and, whenever
///   nothing else can make progress, jumps the clock to the next deadline, so an hour of
///   backoff runs in microseconds.
///
/// Sleepers whose deadlines pass are woken in deadline order (ties in registration order).
/// A sleep until [`Instant::MAX`] never completes: `MAX` means "never". Dropping a sleep
/// unregisters it. Clones share one clock.
///
/// # Example
///
/// ```
/// use core::time::Duration;
/// use steadfast::{Timer, VirtualTimer};
///
/// let timer = VirtualTimer::new();
/// let mut sleep = core::pin::pin!(timer.sleep(Duration::from_secs(5)));
/// let waker = core::task::Waker::noop();
/// let mut cx = core::task::Context::from_waker(&waker);
///
/// assert!(sleep.as_mut().poll(&mut cx).is_pending());
/// timer.advance(Duration::from_secs(4));
/// assert!(sleep.as_mut().poll(&mut cx).is_pending());
/// timer.advance(Duration::from_secs(1));
/// assert!(sleep.as_mut().poll(&mut cx).is_ready());
/// ```
#[derive(Clone, Default)]
pub struct VirtualTimer {
    shared: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    now: u64,
    next_id: u64,
    /// Registered, unexpired sleepers (unordered).
    sleepers: Vec<Sleeper>,
    /// Counts registrations, unregistrations and clock moves: [`AutoAdvance`] reads it to tell
    /// whether anything happened while it yielded.
    activity: u64,
    /// Woken on every registration, so an idle [`AutoAdvance`] resumes.
    observer: Option<Waker>,
}

struct Sleeper {
    deadline: u64,
    id: u64,
    waker: Waker,
}

impl core::fmt::Debug for VirtualTimer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.shared.with_lock(|s| {
            f.debug_struct("VirtualTimer")
                .field("now", &Instant(s.now))
                .field("sleepers", &s.sleepers.len())
                .finish()
        })
    }
}

impl VirtualTimer {
    /// A clock at [`Instant::ZERO`] with no sleepers.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `d` and wakes every sleeper whose deadline has come, in
    /// deadline order. Saturates: the clock stops at the last instant before
    /// [`Instant::MAX`], which stands for "never", so sleeps to `MAX` are never woken and
    /// every other sleeper is woken by `advance(Duration::MAX)`.
    pub fn advance(&self, d: Duration) {
        let target = self.now().saturating_add(d);
        self.advance_to(target);
    }

    /// Moves the clock to `target` (never backwards; [`Instant::MAX`] stands for the last
    /// instant before it) and wakes every sleeper whose deadline has come, in deadline order.
    pub fn advance_to(&self, target: Instant) {
        let target = target.0.min(u64::MAX - 1);
        let woken = self.shared.with_lock(|s| {
            if target > s.now {
                s.now = target;
            }
            s.activity = s.activity.wrapping_add(1);
            s.take_expired()
        });
        wake_all(woken);
    }

    /// Jumps the clock to the earliest registered deadline, if one lies in the future, and
    /// wakes the sleepers due then. Returns the new time, or `None` when no sleeper is waiting
    /// (sleepers until [`Instant::MAX`] do not count).
    pub fn advance_to_next(&self) -> Option<Instant> {
        let (now, woken) = self.shared.with_lock(|s| {
            let next = s.next_deadline()?;
            s.now = s.now.max(next);
            s.activity = s.activity.wrapping_add(1);
            Some((Instant(s.now), s.take_expired()))
        })?;
        wake_all(woken);
        Some(now)
    }

    /// The earliest deadline a sleeper waits for, if any ([`Instant::MAX`] excluded).
    #[must_use]
    pub fn next_deadline(&self) -> Option<Instant> {
        self.shared.with_lock(|s| s.next_deadline().map(Instant))
    }

    /// How many sleeps are registered and not yet expired. Dropped sleeps are not counted.
    #[must_use]
    pub fn sleepers(&self) -> usize {
        self.shared.with_lock(|s| s.sleepers.len())
    }

    /// Wraps `future` so that the clock jumps to the next deadline whenever nothing else can
    /// make progress.
    ///
    /// "Nothing else can make progress" is judged by yielding to the executor: once the wrapped
    /// future has gone 16 consecutive polls without being woken, and no
    /// sleep was registered or dropped on this timer meanwhile, the clock jumps to the earliest
    /// deadline and the sleepers due then are woken. Sleepers are therefore woken one deadline
    /// at a time, each seeing [`now`](Timer::now) equal to its deadline. While no sleeper is
    /// registered the wrapper waits without using CPU, and resumes when one is.
    ///
    /// Tasks spawned elsewhere that sleep on this timer are covered too; a task that computes
    /// for long stretches on another thread without touching the timer may see the clock jump
    /// meanwhile. Use one `auto_advance` per timer at a time.
    ///
    /// ```
    /// use core::time::Duration;
    /// use steadfast::{Timer, VirtualTimer};
    ///
    /// let timer = VirtualTimer::new();
    /// let t = timer.clone();
    /// let elapsed = futures_executor::block_on(timer.auto_advance(async move {
    ///     let start = t.now();
    ///     t.sleep(Duration::from_secs(3600)).await;
    ///     t.now() - start
    /// }));
    /// assert_eq!(elapsed, Duration::from_secs(3600));
    /// ```
    pub fn auto_advance<F: Future>(&self, future: F) -> AutoAdvance<F> {
        let flag = Arc::new(WakeFlag {
            woken: AtomicBool::new(false),
            parent: Mutex::new(None),
        });
        AutoAdvance {
            future,
            timer: self.clone(),
            waker: Waker::from(flag.clone()),
            flag,
            idle: 0,
            seen: u64::MAX,
        }
    }

    fn unregister(&self, id: u64) {
        self.shared.with_lock(|s| {
            if let Some(i) = s.sleepers.iter().position(|e| e.id == id) {
                s.sleepers.swap_remove(i);
                s.activity = s.activity.wrapping_add(1);
            }
        });
    }
}

impl State {
    fn next_deadline(&self) -> Option<u64> {
        self.sleepers
            .iter()
            .map(|e| e.deadline)
            .filter(|&d| d != u64::MAX)
            .min()
    }

    /// Removes the sleepers whose deadline has come, sorted by deadline then registration.
    fn take_expired(&mut self) -> Vec<Waker> {
        let now = self.now;
        let mut expired: Vec<Sleeper> = Vec::new();
        let mut i = 0;
        while i < self.sleepers.len() {
            if self.sleepers[i].deadline <= now {
                expired.push(self.sleepers.swap_remove(i));
            } else {
                i += 1;
            }
        }
        expired.sort_unstable_by_key(|e| (e.deadline, e.id));
        expired.into_iter().map(|e| e.waker).collect()
    }
}

fn wake_all(wakers: Vec<Waker>) {
    for w in wakers {
        w.wake();
    }
}

impl Timer for VirtualTimer {
    type Sleep = VirtualSleep;

    fn now(&self) -> Instant {
        Instant(self.shared.with_lock(|s| s.now))
    }

    fn sleep_until(&self, deadline: Instant) -> VirtualSleep {
        VirtualSleep {
            timer: self.clone(),
            deadline,
            id: None,
        }
    }
}

/// The future returned by [`VirtualTimer`]'s [`Timer::sleep_until`]. Dropping it unregisters it.
#[must_use = "a sleep does nothing unless awaited"]
pub struct VirtualSleep {
    timer: VirtualTimer,
    deadline: Instant,
    id: Option<u64>,
}

impl core::fmt::Debug for VirtualSleep {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VirtualSleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl Future for VirtualSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let deadline = this.deadline.0;
        let (done, observer) = this.timer.shared.with_lock(|s| {
            if deadline != u64::MAX && s.now >= deadline {
                return (true, None);
            }
            match this.id {
                Some(id) => {
                    if let Some(e) = s.sleepers.iter_mut().find(|e| e.id == id) {
                        e.waker.clone_from(cx.waker());
                        return (false, None);
                    }
                    // Woken and removed by an advance that has not reached us yet: re-register.
                }
                None => {
                    this.id = Some(s.next_id);
                    s.next_id += 1;
                }
            }
            let id = this.id.unwrap_or_default();
            s.sleepers.push(Sleeper {
                deadline,
                id,
                waker: cx.waker().clone(),
            });
            s.activity = s.activity.wrapping_add(1);
            (false, s.observer.clone())
        });
        if let Some(o) = observer {
            o.wake();
        }
        if done {
            if let Some(id) = this.id.take() {
                this.timer.unregister(id);
            }
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for VirtualSleep {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.timer.unregister(id);
        }
    }
}

struct WakeFlag {
    woken: AtomicBool,
    parent: Mutex<Option<Waker>>,
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        if let Some(w) = self.parent.with_lock(|p| p.clone()) {
            w.wake();
        }
    }
}

pin_project! {
    /// The future returned by [`VirtualTimer::auto_advance`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct AutoAdvance<F> {
        #[pin]
        future: F,
        timer: VirtualTimer,
        flag: Arc<WakeFlag>,
        waker: Waker,
        idle: u32,
        seen: u64,
    }
}

impl<F: Future> Future for AutoAdvance<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        this.flag.parent.with_lock(|p| match p {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => *p = Some(cx.waker().clone()),
        });
        this.flag.woken.store(false, Ordering::Release);
        if let Poll::Ready(out) = this.future.poll(&mut Context::from_waker(this.waker)) {
            this.timer.shared.with_lock(|s| s.observer = None);
            return Poll::Ready(out);
        }
        if this.flag.woken.swap(false, Ordering::AcqRel) {
            *this.idle = 0;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let (activity, waiting) = this.timer.shared.with_lock(|s| {
            match &s.observer {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => s.observer = Some(cx.waker().clone()),
            }
            (s.activity, s.next_deadline().is_some())
        });
        if activity != *this.seen {
            *this.seen = activity;
            *this.idle = 0;
        }
        if !waiting {
            // Nothing to advance to: park until a wake-up or a new sleeper.
            return Poll::Pending;
        }
        *this.idle += 1;
        if *this.idle >= SETTLE_YIELDS {
            *this.idle = 0;
            this.timer.advance_to_next();
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
