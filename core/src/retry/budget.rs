//! A retry budget shared by many callers.

use core::fmt;
use core::time::Duration;

use crate::loom::{AtomicU32, Ordering, loom_const_fn};

use crate::time::{div_rem_with_reciprocal, duration_to_nanos};
use crate::{ConfigError, Instant};

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
/// The defaults are 20 percent and a floor of 10 retries; [`RetryBudget::builder`] changes
/// them. A window's counts are forgotten once the window after it has ended, however long the
/// gap between two uses (years of a 1 ms window included): after a quiet spell the floor is
/// back.
///
/// Counts saturate at `u32::MAX`; they never go below zero, and withdrawals never pass the
/// allowance, except that callers racing at a window boundary may see a few calls or retries
/// counted in neither window, or a retry judged against the counts of the window that just
/// ended: a budget is a statistical limit, not a lock (`ci/loom-budget` models these races).
///
/// # Sharing
///
/// Atomics only, no allocation, no lock; `const` construction for `static`s
/// ([`new`](Self::new), [`RetryBudgetBuilder::build_const`]). A
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
    /// The latest window seen: the low 32 bits of its number.
    epoch: AtomicU32,
    /// The era of the latest window seen (see [`era`]): tells a gap of 2³¹ windows or more,
    /// which the 32 bits of `epoch` cannot, from a short one. Never decreases.
    era: AtomicU32,
    /// Calls and retries of windows `epoch` and `epoch − 1`, indexed by window parity.
    deposits: [AtomicU32; 2],
    withdrawals: [AtomicU32; 2],
}

/// The defaults: 20 percent, a floor of 10, windows of 10 s.
const DEFAULT: RetryBudgetBuilder = RetryBudgetBuilder {
    percent: 20,
    min_retries: 10,
    window: Duration::from_secs(10),
};

/// `window_number / 2²⁹`, saturating at `u32::MAX` (reached only for windows under 8 ns, past
/// 2⁶¹ of them). Two eras apart means more than 2²⁹ windows apart.
const fn era(window_number: u64) -> u32 {
    let era = window_number >> 29;
    if era > u32::MAX as u64 {
        u32::MAX
    } else {
        era as u32
    }
}

impl RetryBudget {
    loom_const_fn! {
        /// The default budget: retries up to 20 percent of recent calls plus 10, in windows
        /// of 10 seconds.
        #[must_use]
        pub fn new() -> Self {
            DEFAULT.build_const()
        }
    }

    /// A builder with the defaults of [`new`](Self::new), to change them.
    pub const fn builder() -> RetryBudgetBuilder {
        DEFAULT
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
        let share = quotient(share, 100, u64::MAX / 100);
        let share = u32::try_from(share).unwrap_or(u32::MAX);
        self.min_retries.saturating_add(share)
    }

    /// Moves the budget to the window of `now`, clearing windows that are no longer recent;
    /// returns the slot of the current window.
    fn roll(&self, now: Instant) -> usize {
        let number = quotient(now.as_nanos(), self.window, self.window_recip);
        // Wrapping: the low 32 bits; `era` tells the long gaps these cannot.
        let target = number as u32;
        let target_era = era(number);
        let mut seen = self.epoch.load(Ordering::Acquire);
        loop {
            let seen_era = self.era.load(Ordering::Acquire);
            // More than 2²⁹ windows ahead (or behind): whatever the low bits say.
            let far = target_era.saturating_sub(seen_era) >= 2;
            let far_behind = seen_era.saturating_sub(target_era) >= 2;
            let ahead = target.wrapping_sub(seen);
            // Same window, or an instant slightly older than the latest one seen (a caller
            // that read the clock before another rolled the window): count it as current.
            if far_behind || (!far && (ahead == 0 || ahead > u32::MAX / 2)) {
                return (seen & 1) as usize;
            }
            match self
                .epoch
                .compare_exchange(seen, target, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    self.era.fetch_max(target_era, Ordering::AcqRel);
                    let slot = (target & 1) as usize;
                    // The current window starts empty; the previous one is kept only when it
                    // is the window just before.
                    self.deposits[slot].store(0, Ordering::Release);
                    self.withdrawals[slot].store(0, Ordering::Release);
                    if far || ahead > 1 {
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

/// Builds a [`RetryBudget`]: [`build`](Self::build) checks the settings,
/// [`build_const`](Self::build_const) makes a `static` one. Every method is `const`.
///
/// ```
/// use core::time::Duration;
/// use steadfast::retry::RetryBudget;
///
/// static BUDGET: RetryBudget = RetryBudget::builder()
///     .percent(10)
///     .min_retries(5)
///     .window(Duration::from_secs(1))
///     .build_const();
///
/// let err = RetryBudget::builder().window(Duration::ZERO).build().unwrap_err();
/// assert_eq!(err.field(), "window");
/// ```
#[derive(Clone, Copy, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct RetryBudgetBuilder {
    percent: u32,
    min_retries: u32,
    window: Duration,
}

impl RetryBudgetBuilder {
    /// Recent retries allowed per 100 recent calls (20 by default); may pass 100.
    pub const fn percent(self, percent: u32) -> Self {
        RetryBudgetBuilder { percent, ..self }
    }

    /// Retries allowed whatever the calls: the floor (10 by default).
    pub const fn min_retries(self, min_retries: u32) -> Self {
        RetryBudgetBuilder {
            min_retries,
            ..self
        }
    }

    /// The length of a window (10 s by default); longer than zero.
    pub const fn window(self, window: Duration) -> Self {
        RetryBudgetBuilder { window, ..self }
    }

    loom_const_fn! {
        /// Checks the settings and builds the budget.
        ///
        /// # Errors
        ///
        /// A [`ConfigError`] for the field `window` when it is zero.
        pub fn build(self) -> Result<RetryBudget, ConfigError> {
            let window = duration_to_nanos(self.window);
            if window == 0 {
                return Err(ConfigError::new(
                    "retry budget",
                    "window",
                    "must be longer than zero",
                ));
            }
            Ok(self.assemble(window))
        }
    }

    loom_const_fn! {
        /// Builds the budget in a `const` or `static`.
        ///
        /// # Panics
        ///
        /// On a setting [`build`](Self::build) refuses; in a `static`, that is a compile
        /// error:
        ///
        /// ```compile_fail,E0080
        /// use core::time::Duration;
        /// use steadfast::retry::RetryBudget;
        /// static NO_WINDOW: RetryBudget = RetryBudget::builder().window(Duration::ZERO).build_const();
        /// ```
        pub fn build_const(self) -> RetryBudget {
            match self.build() {
                Ok(budget) => budget,
                Err(_) => panic!("invalid retry budget setting `window`: must be longer than zero"),
            }
        }
    }

    loom_const_fn! {
        fn assemble(self, window: u64) -> RetryBudget {
            RetryBudget {
                percent: self.percent,
                min_retries: self.min_retries,
                window,
                window_recip: u64::MAX / window,
                epoch: AtomicU32::new(0),
                era: AtomicU32::new(0),
                deposits: [AtomicU32::new(0), AtomicU32::new(0)],
                withdrawals: [AtomicU32::new(0), AtomicU32::new(0)],
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
    /// [`RetryBudget::new`].
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

/// `n / d` given `recip = u64::MAX / d` ([`div_rem_with_reciprocal`]), one copy for the
/// budget's two divisions: on a microcontroller its 64-by-64 product is long code.
#[inline(never)]
fn quotient(n: u64, d: u64, recip: u64) -> u64 {
    div_rem_with_reciprocal(n, d, recip).0
}
