//! The clock seam: one [`Instant`] type for every runtime, and the [`Timer`] trait.

use core::fmt;
use core::future::Future;
use core::ops::{Add, Sub};
use core::time::Duration;

#[cfg(feature = "alloc")]
pub(crate) mod virtual_timer;

/// A point on a runtime's monotonic clock, in nanoseconds from that clock's origin.
///
/// Every runtime's clock is expressed with this one type, so policies (retry deadlines, budgets)
/// are plain state machines fed `Instant`s. The origin is chosen by the [`Timer`] that produced
/// the value. The adapters' timers have one origin per clock (any two `TokioTimer`s, any two
/// `AsyncIoTimer`s, every `EmbassyTimer` agree); a [`VirtualTimer`](crate::VirtualTimer)'s
/// clones share its own. Instants from different clocks are not comparable.
///
/// All arithmetic saturates: `Instant::MAX` stands for "never", and adding any [`Duration`] to
/// it, or adding [`Duration::MAX`] to anything, gives `Instant::MAX` instead of panicking.
///
/// ```
/// use core::time::Duration;
/// use steadfast::Instant;
///
/// let t = Instant::from_nanos(1_500);
/// assert_eq!(t + Duration::from_nanos(500), Instant::from_nanos(2_000));
/// assert_eq!(t + Duration::MAX, Instant::MAX);
/// assert_eq!(Instant::from_nanos(2_000) - t, Duration::from_nanos(500));
/// assert_eq!(t - Instant::from_nanos(2_000), Duration::ZERO); // saturates
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The clock's origin.
    pub const ZERO: Instant = Instant(0);
    /// The largest instant: a deadline that never comes.
    pub const MAX: Instant = Instant(u64::MAX);

    /// The instant `nanos` nanoseconds after the clock's origin.
    #[must_use]
    pub const fn from_nanos(nanos: u64) -> Self {
        Instant(nanos)
    }

    /// Nanoseconds since the clock's origin.
    #[must_use]
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time since the clock's origin.
    #[must_use]
    pub const fn since_origin(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// `self + d`, or `Instant::MAX` when that is not representable.
    #[must_use]
    pub const fn saturating_add(self, d: Duration) -> Self {
        Instant(self.0.saturating_add(duration_to_nanos(d)))
    }

    /// `self + d`, or `None` when that is not representable.
    #[must_use]
    pub const fn checked_add(self, d: Duration) -> Option<Self> {
        let nanos = d.as_nanos();
        if nanos > u64::MAX as u128 {
            return None;
        }
        match self.0.checked_add(nanos as u64) {
            Some(n) => Some(Instant(n)),
            None => None,
        }
    }

    /// Time from `earlier` to `self`, or zero when `earlier` is later.
    #[must_use]
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturating: see [`Instant::saturating_add`].
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturating: see [`Instant::saturating_duration_since`].
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Instant {
    fn format(&self, f: defmt::Formatter<'_>) {
        if *self == Instant::MAX {
            defmt::write!(f, "Instant::MAX");
        } else {
            defmt::write!(f, "Instant({=u64} ns)", self.0);
        }
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Instant::MAX {
            f.write_str("Instant::MAX")
        } else {
            write!(f, "Instant({:?})", self.since_origin())
        }
    }
}

/// A [`Duration`] in whole nanoseconds, saturating at `u64::MAX` (about 584 years).
#[must_use]
#[inline(never)]
pub(crate) const fn duration_to_nanos(d: Duration) -> u64 {
    // In 64 bits, the overflow told by a comparison: `as_nanos` is a 128-bit product and
    // `checked_mul` a widening one, both long code on 32-bit microcontrollers.
    let secs = d.as_secs();
    if secs > u64::MAX / 1_000_000_000 {
        return u64::MAX;
    }
    (secs * 1_000_000_000).saturating_add(d.subsec_nanos() as u64)
}

/// A duration of `n` nanoseconds, split without a 64-bit division (one copy for every
/// pattern that reports a wait).
#[must_use]
pub(crate) const fn nanos_to_duration(n: u64) -> Duration {
    const NANOS: u64 = 1_000_000_000;
    let (secs, nanos) = div_rem_with_reciprocal(n, NANOS, u64::MAX / NANOS);
    Duration::new(secs, nanos as u32)
}

/// `(n / d, n % d)` for a divisor known in advance, given `recip = u64::MAX / d` (and `d > 0`):
/// a multiplication instead of a 64-bit division, which 32-bit microcontrollers do in a
/// library routine of nearly a kilobyte.
#[must_use]
pub(crate) const fn div_rem_with_reciprocal(n: u64, d: u64, recip: u64) -> (u64, u64) {
    // `recip <= 2^64 / d`, so the estimate is at most the quotient and short of it by at
    // most two. Two explicit steps: a loop would be turned back into a division.
    let mut q = ((n as u128 * recip as u128) >> 64) as u64;
    let mut r = n - q * d;
    if r >= d {
        q += 1;
        r -= d;
    }
    if r >= d {
        q += 1;
        r -= d;
    }
    (q, r)
}

/// A runtime's clock and its sleeps: the seam every time-based pattern is written against.
///
/// Implementations live in the adapter crates (`TokioTimer`, `AsyncIoTimer`, `EmbassyTimer`)
/// and in this crate ([`VirtualTimer`](crate::VirtualTimer), for tests and simulations). A
/// library written against `Timer` lets its users pick the runtime.
///
/// Contract for implementors (the conformance crate's `timer_contract!` checks it):
/// - [`now`](Timer::now) is monotonic, and every value of the type reads the same clock, so
///   instants from any two are comparable.
/// - The future from [`sleep_until`](Timer::sleep_until) completes once `now() >= deadline`
///   (on its first poll if the deadline has passed), never earlier, allocates nothing, and unregisters itself when
///   dropped. A deadline the runtime cannot represent (such as [`Instant::MAX`]) is a sleep
///   that, for any practical purpose, never ends; it must not panic.
/// - Cloning is cheap: patterns keep a clone.
pub trait Timer: Clone {
    /// The future returned by [`sleep_until`](Timer::sleep_until).
    type Sleep: Future<Output = ()>;

    /// The current instant on this timer's clock.
    fn now(&self) -> Instant;

    /// A future that completes at `deadline`.
    fn sleep_until(&self, deadline: Instant) -> Self::Sleep;

    /// A future that completes after `duration`, counted from now. Saturates: a duration that
    /// overflows the clock sleeps until [`Instant::MAX`].
    fn sleep(&self, duration: Duration) -> Self::Sleep {
        self.sleep_until(self.now().saturating_add(duration))
    }
}

impl<T: Timer> Timer for &T {
    type Sleep = T::Sleep;
    fn now(&self) -> Instant {
        (**self).now()
    }
    fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
        (**self).sleep_until(deadline)
    }
    fn sleep(&self, duration: Duration) -> Self::Sleep {
        (**self).sleep(duration)
    }
}

#[cfg(test)]
mod tests;
