//! A retry budget shared by many callers.

use core::fmt;
use core::time::Duration;

use crate::loom::{AtomicU32, Ordering};

use super::error::PolicyError;
use crate::Instant;
use crate::time::{div_rem_with_reciprocal, duration_to_nanos};

/// Caps the retries of many callers together to a fraction of their recent calls, plus a
/// floor: when a dependency is down, retries stop adding load to it (the retry budget of
/// Finagle and Envoy).
///
/// # Accounting
///
/// Time is cut into windows of `window` (10 s by default) on the caller's clock. The budget
/// counts calls (**deposits**: one per call, at its first attempt) and retries (**withdrawals**)
/// over the current and the previous window, which it calls *recent*. A retry is allowed
/// while
///
/// ```text
/// recent retries < min_retries + ⌊recent calls · percent / 100⌋
/// ```
///
/// and is then counted; otherwise it is refused and the [`Retry`](super::Retry) gives up with
/// [`GiveUpReason::Budget`](super::GiveUpReason::Budget), handing the caller the error it has.
/// The defaults are 20 percent and a floor of 10 retries.
///
/// Counts saturate at `u32::MAX`; they never go below zero, and withdrawals never pass the
/// allowance, except that callers racing at a window boundary may see a few calls or retries
/// counted in neither window: a budget is a statistical limit, not a lock.
///
/// # Sharing
///
/// Atomics only, no allocation, no lock; a `const fn` constructor for `static`s. A
/// [`Retry`](super::Retry) takes it by reference or through any pointer that dereferences to
/// it (`&'static RetryBudget`, `Arc<RetryBudget>`). All callers must use instants of one clock.
///
/// ```
/// use steadfast::retry::RetryBudget;
/// use steadfast::Instant;
///
/// static BUDGET: RetryBudget = RetryBudget::new();
///
/// let now = Instant::ZERO;
/// for _ in 0..100 {
///     BUDGET.deposit(now);
/// }
/// // 10 + 20% of 100 calls.
/// assert_eq!(BUDGET.available(now), 30);
/// assert!((0..30).all(|_| BUDGET.try_withdraw(now)));
/// assert!(!BUDGET.try_withdraw(now));
/// ```
pub struct RetryBudget {
    percent: u32,
    min_retries: u32,
    window: u64,
    /// `u64::MAX / window`: divides by the window without a 64-bit division.
    window_recip: u64,
    /// The latest window seen (its number, wrapping).
    epoch: AtomicU32,
    /// Calls and retries of windows `epoch` and `epoch − 1`, indexed by window parity.
    deposits: [AtomicU32; 2],
    withdrawals: [AtomicU32; 2],
}

impl RetryBudget {
    /// The default budget: retries up to 20 percent of recent calls plus 10, in windows of
    /// 10 seconds.
    #[must_use]
    pub const fn new() -> Self {
        RetryBudget::with_parts(20, 10, 10_000_000_000)
    }

    /// A budget allowing `min_retries + ⌊recent calls · percent / 100⌋` recent retries, with
    /// windows of `window` (see the [type docs](Self)). `percent` may pass 100.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Window`] when `window` is zero.
    pub const fn with_settings(
        percent: u32,
        min_retries: u32,
        window: Duration,
    ) -> Result<Self, PolicyError> {
        let window = duration_to_nanos(window);
        if window == 0 {
            return Err(PolicyError::Window);
        }
        Ok(RetryBudget::with_parts(percent, min_retries, window))
    }

    const fn with_parts(percent: u32, min_retries: u32, window: u64) -> Self {
        RetryBudget {
            percent,
            min_retries,
            window,
            window_recip: u64::MAX / window,
            epoch: AtomicU32::new(0),
            deposits: [AtomicU32::new(0), AtomicU32::new(0)],
            withdrawals: [AtomicU32::new(0), AtomicU32::new(0)],
        }
    }

    /// Counts one call (a first attempt) made at `now`.
    pub fn deposit(&self, now: Instant) {
        let slot = self.roll(now);
        saturating_increment(&self.deposits[slot]);
    }

    /// Takes one retry at `now` if the budget allows it; `false` means: do not retry.
    pub fn try_withdraw(&self, now: Instant) -> bool {
        let slot = self.roll(now);
        let cell = &self.withdrawals[slot];
        let other = &self.withdrawals[slot ^ 1];
        let mut current = cell.load(Ordering::Acquire);
        loop {
            let used = current.saturating_add(other.load(Ordering::Acquire));
            if used >= self.allowance() {
                return false;
            }
            match cell.compare_exchange_weak(
                current,
                current.saturating_add(1),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }

    /// How many retries the budget would allow at `now`.
    #[must_use]
    pub fn available(&self, now: Instant) -> u32 {
        self.roll(now);
        self.allowance()
            .saturating_sub(self.recent(&self.withdrawals))
    }

    /// Recent calls and recent retries at `now`, as counted by the budget.
    #[must_use]
    pub fn recent_counts(&self, now: Instant) -> (u32, u32) {
        self.roll(now);
        (self.recent(&self.deposits), self.recent(&self.withdrawals))
    }

    fn recent(&self, cells: &[AtomicU32; 2]) -> u32 {
        cells[0]
            .load(Ordering::Acquire)
            .saturating_add(cells[1].load(Ordering::Acquire))
    }

    fn allowance(&self) -> u32 {
        let calls = u64::from(self.recent(&self.deposits));
        let share = calls.saturating_mul(u64::from(self.percent));
        let share = div_rem_with_reciprocal(share, 100, u64::MAX / 100).0;
        let share = u32::try_from(share).unwrap_or(u32::MAX);
        self.min_retries.saturating_add(share)
    }

    /// Moves the budget to the window of `now`, clearing windows that are no longer recent;
    /// returns the slot of the current window.
    fn roll(&self, now: Instant) -> usize {
        let target =
            div_rem_with_reciprocal(now.as_nanos(), self.window, self.window_recip).0 as u32;
        let mut seen = self.epoch.load(Ordering::Acquire);
        loop {
            let ahead = target.wrapping_sub(seen);
            // Same window, or an instant slightly older than the latest one seen (a caller
            // that read the clock before another rolled the window): count it as current.
            if ahead == 0 || ahead > u32::MAX / 2 {
                return (seen & 1) as usize;
            }
            match self
                .epoch
                .compare_exchange(seen, target, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    let slot = (target & 1) as usize;
                    // The current window starts empty; the previous one is kept only when it
                    // is the window just before.
                    self.deposits[slot].store(0, Ordering::Release);
                    self.withdrawals[slot].store(0, Ordering::Release);
                    if ahead > 1 {
                        self.deposits[slot ^ 1].store(0, Ordering::Release);
                        self.withdrawals[slot ^ 1].store(0, Ordering::Release);
                    }
                    return slot;
                }
                Err(actual) => seen = actual,
            }
        }
    }
}

fn saturating_increment(cell: &AtomicU32) {
    let mut current = cell.load(Ordering::Acquire);
    while current != u32::MAX {
        match cell.compare_exchange_weak(current, current + 1, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget::new()
    }
}

impl fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget")
            .field("percent", &self.percent)
            .field("min_retries", &self.min_retries)
            .field("window", &Duration::from_nanos(self.window))
            .field("deposits", &self.recent(&self.deposits))
            .field("withdrawals", &self.recent(&self.withdrawals))
            .finish()
    }
}
