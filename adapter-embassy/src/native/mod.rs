//! embassy-time's own types, accepted where the adapter takes a span or a deadline, and the
//! timeouts that take them.

use core::future::IntoFuture;

use steadfast::Instant;
use steadfast::timeout::{Timeout, timeout, timeout_at};

use crate::{EmbassyTimer, NANOS_PER_TICK, nanos_to_ticks, ticks_to_nanos};

mod sealed {
    pub trait Sealed {}
    impl Sealed for core::time::Duration {}
    impl Sealed for embassy_time::Duration {}
    impl Sealed for steadfast::Instant {}
    impl Sealed for embassy_time::Instant {}
}

/// A span of time [`EmbassyTimer::sleep`] takes: a `core::time::Duration` or an
/// [`embassy_time::Duration`]. Implemented for those two only.
pub trait Span: sealed::Sealed + Copy {
    /// The span in ticks of embassy's clock, rounded up (a sleep never ends early),
    /// saturating at `u64::MAX`. For an `embassy_time::Duration` its ticks, unconverted.
    fn to_ticks(self) -> u64;
}

/// A deadline [`EmbassyTimer::sleep_until`] takes: a steadfast [`Instant`] or an
/// [`embassy_time::Instant`]. Implemented for those two only.
pub trait Deadline: sealed::Sealed + Copy {
    /// The deadline as a tick of embassy's clock, rounded up; `u64::MAX` (never) for
    /// [`Instant::MAX`]. For an `embassy_time::Instant` its ticks, unconverted.
    fn to_ticks(self) -> u64;
}

impl Span for embassy_time::Duration {
    #[inline]
    fn to_ticks(self) -> u64 {
        self.as_ticks()
    }
}

impl Span for core::time::Duration {
    #[inline]
    fn to_ticks(self) -> u64 {
        if let Some(per_tick) = NANOS_PER_TICK {
            // Whole seconds, then the rest: a 32-bit division by a constant, which the
            // compiler makes a multiplication. No 64-bit division.
            let whole = self.as_secs().saturating_mul(embassy_time::TICK_HZ);
            let part = self.subsec_nanos().div_ceil(per_tick as u32);
            return whole.saturating_add(u64::from(part));
        }
        nanos_to_ticks(u64::try_from(self.as_nanos()).unwrap_or(u64::MAX))
    }
}

impl Deadline for embassy_time::Instant {
    #[inline]
    fn to_ticks(self) -> u64 {
        self.as_ticks()
    }
}

impl Deadline for Instant {
    #[inline]
    fn to_ticks(self) -> u64 {
        if self == Instant::MAX {
            u64::MAX
        } else {
            nanos_to_ticks(self.as_nanos())
        }
    }
}

/// `ticks` of embassy's clock as a `core::time::Duration`, without a 64-bit division when the
/// tick rate divides a second.
fn ticks_to_duration(ticks: u64) -> core::time::Duration {
    const HZ: u64 = embassy_time::TICK_HZ;
    if let Some(per_tick) = NANOS_PER_TICK {
        // `ticks / HZ` by a multiplication with the reciprocal; short by at most two.
        let mut secs = ((u128::from(ticks) * u128::from(u64::MAX / HZ)) >> 64) as u64;
        let mut rest = ticks - secs * HZ;
        for _ in 0..2 {
            if rest >= HZ {
                secs += 1;
                rest -= HZ;
            }
        }
        // `rest < HZ`, so `rest * per_tick` is under a second.
        return core::time::Duration::new(secs, (rest * per_tick) as u32);
    }
    core::time::Duration::from_nanos(ticks_to_nanos(ticks))
}

/// Runs `future` for at most `timeout` on embassy's clock, counted from the first poll (see
/// [`steadfast::timeout`]): `embassy_time::with_timeout`'s signature, with steadfast's
/// semantics and error ([`Elapsed`](steadfast::timeout::Elapsed), which tells the duration
/// and takes a [`context`](Timeout::context)). No timer value to pass.
///
/// ```no_run
/// use embassy_time::Duration;
/// use steadfast_embassy::with_timeout;
///
/// # async fn read_sensor() -> u16 { 42 }
/// # async fn f() {
/// match with_timeout(Duration::from_millis(50), read_sensor()).await {
///     Ok(value) => { /* use it */ }
///     Err(elapsed) => { /* elapsed.duration() == Some(50 ms) */ }
/// }
/// # }
/// ```
pub fn with_timeout<F: IntoFuture>(
    timeout_after: embassy_time::Duration,
    future: F,
) -> Timeout<F::IntoFuture, EmbassyTimer> {
    timeout(
        &EmbassyTimer,
        ticks_to_duration(timeout_after.as_ticks()),
        future,
    )
}

/// Runs `future` until `deadline` on embassy's clock at most: `embassy_time::with_deadline`'s
/// signature, with steadfast's error. A deadline already passed still polls the future once.
/// The deadline is exact to the tick (converted there and back without loss).
pub fn with_deadline<F: IntoFuture>(
    deadline: embassy_time::Instant,
    future: F,
) -> Timeout<F::IntoFuture, EmbassyTimer> {
    let at = if deadline == embassy_time::Instant::MAX {
        Instant::MAX
    } else {
        Instant::from_nanos(ticks_to_nanos(deadline.as_ticks()))
    };
    timeout_at(&EmbassyTimer, at, future)
}

#[cfg(test)]
mod tests;
