//! steadfast on embassy: the whole steadfast core (re-exported, so firmware adds this one
//! dependency) and its clock seam, [`EmbassyTimer`], a [`Timer`] on `embassy-time`.
//!
//! `#![no_std]`, no heap needed. Every pattern module of the core is here under the same
//! name (`steadfast_embassy::timeout`, `steadfast_embassy::retry`,
//! `steadfast_embassy::bulkhead`, ...). The timer reads the clock without a trait import
//! (`EmbassyTimer.now()`), and its sleeps ([`EmbassySleep`]) are ready on their first poll once
//! their deadline has passed.
//!
//! # Time driver
//!
//! Like every embassy library, this crate picks no time driver: your firmware (or its HAL)
//! provides one, and the tick rate (`embassy-time`'s `tick-hz-*` features). Conversions to and
//! from steadfast's nanosecond [`Instant`] are exact to the tick (sub-millisecond at any tick
//! rate above 1 kHz), round deadlines up so a sleep never ends early, and saturate.
//!
//! # embassy-time's types
//!
//! [`EmbassyTimer::sleep`] and [`EmbassyTimer::sleep_until`] take `embassy_time::Duration`
//! and `embassy_time::Instant` as they are (their ticks, no conversion), beside steadfast's
//! `core::time::Duration` and [`Instant`]. [`with_timeout`] and [`with_deadline`] have
//! `embassy_time`'s signatures and need no timer value; they return steadfast's
//! [`Timeout`](timeout::Timeout), which counts from the first poll and fails with
//! [`Elapsed`](timeout::Elapsed):
//!
//! ```no_run
//! use embassy_time::{Duration, Instant};
//! use steadfast_embassy::{EmbassyTimer, with_deadline, with_timeout};
//!
//! # async fn read_sensor() -> u16 { 42 }
//! # async fn f() {
//! let reading = with_timeout(Duration::from_millis(50), read_sensor()).await;
//! let by_then = with_deadline(Instant::now() + Duration::from_secs(1), read_sensor()).await;
//! EmbassyTimer.sleep(Duration::from_millis(5)).await;
//! # }
//! ```
//!
//! With a tick rate that divides a second (1 MHz, 32.768 kHz does not), none of this divides
//! by 64 bits: a `core::time::Duration` becomes ticks by a 32-bit division by a constant
//! (a multiplication), and a timeout converts its duration once, when it first waits.
//!
//! # Spawning
//!
//! embassy's task functions are not generic, so there is no generic spawner here. Every
//! pattern that can spawn work also has a spawn-free form: a driver future you run inside one
//! of your own tasks (for example with `embassy_futures::join`). Patterns that need no spawner
//! (timeout, and the rest as they land) are used as on any runtime:
//!
//! ```no_run
//! use core::time::Duration;
//! use steadfast_embassy::{EmbassyTimer, timeout::TimeoutExt};
//!
//! async fn read_sensor() -> u16 { 42 }
//!
//! /// A reading bounded to 50 ms, and how long it took.
//! async fn sample() -> Option<(u16, Duration)> {
//!     let start = EmbassyTimer.now();
//!     let value = read_sensor().timeout(&EmbassyTimer, Duration::from_millis(50)).await.ok()?;
//!     Some((value, EmbassyTimer.now() - start))
//! }
//! ```
//!
//! # Cortex-M0 (thumbv6m) and other targets without compare-and-swap
//!
//! The core's synchronization needs atomics; on targets without CAS your firmware enables
//! `portable-atomic` with its `critical-section` feature and provides a critical-section
//! implementation (for example `cortex-m`'s `critical-section-single-core`):
//!
//! ```toml
//! portable-atomic = { version = "1", features = ["critical-section"] }
//! cortex-m = { version = "0.7", features = ["critical-section-single-core"] }
//! ```
//!
//! # Executors at different priorities
//!
//! A `static` bulkhead, limiter or breaker may be shared between a thread-mode executor and
//! an interrupt executor (embassy's `InterruptExecutor`): with the default `critical-section`
//! feature every lock of the core holds a critical section, so a permit released, or a waiter
//! woken, at interrupt priority never spins on a lock that thread mode holds (see the core's
//! [locks](steadfast#locks-and-interrupt-priority)). Firmware with one executor in thread mode
//! only may turn it off (`default-features = false, features = ["no-cache-pad"]`): the locks
//! are then spinlocks, which never spin there.
//!
//! # Features
//!
//! - `critical-section` (default): forwarded to the core; every internal lock also holds a
//!   critical section, so patterns can be shared between priorities (above).
//! - `no-cache-pad` (default): forwarded to the core; no cache-line padding in its wait
//!   queues, which saves bytes per queue where there is no cache to share falsely. Turn default features off to keep the padding (multi-core
//!   targets with caches).
//! - `alloc`: forwarded to the core; the heap-backed parts (the `Spawn` seam, `VirtualTimer`,
//!   the spawned pool, batcher and task group) for firmware with an allocator.
//! - `defmt`: `defmt::Format` for every error, state and metrics type of the core (and
//!   `Instant`, the retry's `Backoff` and `Jitter`), so firmware logs them with
//!   `defmt::warn!("{}", err)`; also turns on embassy-time's `defmt`.
//!
//! [`Timer`]: steadfast::Timer
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod native;

use core::num::NonZeroU64;

pub use native::{Deadline, Span, with_deadline, with_timeout};
pub use steadfast::*;

// The README's examples are compiled (and, where they can run, run) with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// A [`Timer`] on `embassy-time`'s global clock. A zero-sized value: copy
/// it freely. Its sleeps ([`EmbassySleep`]) allocate nothing.
///
/// Its clock is readable without importing [`Timer`]: [`now`](EmbassyTimer::now),
/// [`sleep`](EmbassyTimer::sleep) and [`sleep_until`](EmbassyTimer::sleep_until) are also
/// inherent.
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EmbassyTimer;

impl EmbassyTimer {
    /// The current instant on embassy's clock, exact to the tick.
    #[must_use]
    pub fn now(&self) -> Instant {
        Instant::from_nanos(ticks_to_nanos(embassy_time::Instant::now().as_ticks()))
    }

    /// A sleep until `deadline`, a steadfast [`Instant`] (rounded up to the next tick) or an
    /// [`embassy_time::Instant`] (taken as it is); ready on its first poll if the deadline has
    /// passed.
    pub fn sleep_until(&self, deadline: impl Deadline) -> EmbassySleep {
        EmbassySleep::at(deadline.to_ticks())
    }

    /// A sleep of `duration` from now, a `core::time::Duration` (rounded up to whole ticks)
    /// or an [`embassy_time::Duration`] (taken as it is), saturating: an unrepresentable end
    /// never comes.
    pub fn sleep(&self, duration: impl Span) -> EmbassySleep {
        let now = embassy_time::Instant::now().as_ticks();
        EmbassySleep::at(now.saturating_add(duration.to_ticks()))
    }
}

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Nanoseconds per tick when the tick rate divides a second exactly (1 MHz, 1 kHz, ...): the
/// conversions then need no 64-bit division, which costs code size on Cortex-M.
const NANOS_PER_TICK: Option<u64> = {
    let hz = embassy_time::TICK_HZ;
    if hz != 0 && hz <= NANOS_PER_SEC as u64 && (NANOS_PER_SEC as u64) % hz == 0 {
        Some(NANOS_PER_SEC as u64 / hz)
    } else {
        None
    }
};

/// Ticks of embassy's clock to nanoseconds, truncating, saturating at `u64::MAX`.
#[must_use]
pub fn ticks_to_nanos(ticks: u64) -> u64 {
    if let Some(per_tick) = NANOS_PER_TICK {
        return ticks.saturating_mul(per_tick);
    }
    let nanos = u128::from(ticks) * NANOS_PER_SEC / u128::from(embassy_time::TICK_HZ);
    u64::try_from(nanos).unwrap_or(u64::MAX)
}

/// Nanoseconds to ticks of embassy's clock, rounding up (a deadline never comes early),
/// saturating at `u64::MAX`.
#[must_use]
pub fn nanos_to_ticks(nanos: u64) -> u64 {
    if let Some(per_tick) = NANOS_PER_TICK {
        if per_tick <= 0xFFFF {
            // `nanos.div_ceil(per_tick)` as long division in 32-bit steps by a constant under
            // 2¹⁶ (ticks of 16 µs and finer, 1 MHz's 1000 ns among them): three divisions the
            // compiler makes multiplications, no 64-bit or 128-bit arithmetic.
            let d = per_tick as u32;
            let (hi, lo) = ((nanos >> 32) as u32, nanos as u32);
            let (q1, r1) = (hi / d, hi % d);
            // `r < d < 2¹⁶`: each step's dividend fits 32 bits, each quotient 16.
            let x = (r1 << 16) | (lo >> 16);
            let (q2, r2) = (x / d, x % d);
            let y = (r2 << 16) | (lo & 0xFFFF);
            let (q3, r3) = (y / d, y % d);
            let q = (u64::from(q1) << 32) | u64::from((q2 << 16) | q3);
            return q + u64::from(r3 != 0);
        }
        // `nanos.div_ceil(per_tick)` by a multiplication: a 64-bit division would pull in
        // a library routine of nearly a kilobyte on Cortex-M. The estimate is short by at
        // most two.
        // (A loop here would be turned back into a division by the optimiser.)
        let mut q = ((u128::from(nanos) * u128::from(u64::MAX / per_tick)) >> 64) as u64;
        let mut r = nanos - q * per_tick;
        for _ in 0..2 {
            if r >= per_tick {
                q += 1;
                r -= per_tick;
            }
        }
        return q + u64::from(r != 0);
    }
    let ticks = (u128::from(nanos) * u128::from(embassy_time::TICK_HZ)).div_ceil(NANOS_PER_SEC);
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

impl Timer for EmbassyTimer {
    type Sleep = EmbassySleep;

    fn now(&self) -> Instant {
        EmbassyTimer::now(self)
    }

    fn sleep_until(&self, deadline: Instant) -> EmbassySleep {
        EmbassyTimer::sleep_until(self, deadline)
    }

    /// In ticks: the duration is converted once, the clock reading not at all.
    fn sleep(&self, duration: core::time::Duration) -> EmbassySleep {
        EmbassyTimer::sleep(self, duration)
    }
}

/// The sleep of [`EmbassyTimer`]: a deadline in ticks, registered with the time driver's
/// queue when polled. Ready on its first poll once the deadline has passed (an
/// `embassy_time::Timer` always yields once first); allocates nothing.
#[derive(Debug)]
#[must_use = "a sleep does nothing unless awaited"]
pub struct EmbassySleep {
    /// The deadline's tick plus one, saturating: never zero, so that a future holding an
    /// optional sleep (a timeout's, a retry's) needs no room for a tag beside it. The last
    /// two ticks (some 584,000 years out at 1 MHz) are one: never.
    until: NonZeroU64,
}

impl EmbassySleep {
    fn at(tick: u64) -> Self {
        EmbassySleep {
            until: NonZeroU64::MIN.saturating_add(tick),
        }
    }
}

impl core::future::Future for EmbassySleep {
    type Output = ();

    fn poll(
        self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<()> {
        let at = self.until.get() - 1;
        if embassy_time::Instant::now().as_ticks() >= at {
            return core::task::Poll::Ready(());
        }
        embassy_time_driver::schedule_wake(at, cx.waker());
        core::task::Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_are_exact_to_the_tick_round_up_and_saturate() {
        // The default tick rate; the values below are worked out for it.
        assert_eq!(embassy_time::TICK_HZ, 1_000_000);
        assert_eq!(ticks_to_nanos(1_000_000), 1_000_000_000);
        assert_eq!(nanos_to_ticks(1_000_000_000), 1_000_000);
        // Sub-millisecond precision survives the round trip.
        assert_eq!(ticks_to_nanos(nanos_to_ticks(250_000)), 250_000);
        // Rounding up: a deadline one nanosecond past a tick waits for the next tick.
        assert_eq!(nanos_to_ticks(1), 1);
        assert_eq!(nanos_to_ticks(1_001), 2);
        assert_eq!(ticks_to_nanos(1), 1_000);
        // Saturation at both ends of the range.
        assert_eq!(ticks_to_nanos(u64::MAX), u64::MAX);
        assert_eq!(nanos_to_ticks(u64::MAX), 18_446_744_073_709_552);
    }

    #[test]
    fn nanos_to_ticks_is_the_exact_ceiling_across_the_range() {
        let per_tick = 1_000_000_000 / embassy_time::TICK_HZ;
        let mut n = 1u64;
        while n != 0 {
            for nanos in [n - 1, n, n + 1, n.wrapping_mul(3) / 2, u64::MAX - n] {
                assert_eq!(
                    nanos_to_ticks(nanos),
                    nanos.div_ceil(per_tick),
                    "{nanos} ns"
                );
            }
            n = n.wrapping_shl(1);
        }
        for nanos in [
            999,
            1_000,
            1_001,
            65_535_999,
            4_294_967_295_999,
            4_294_967_296_001,
        ] {
            assert_eq!(
                nanos_to_ticks(nanos),
                nanos.div_ceil(per_tick),
                "{nanos} ns"
            );
        }
    }
}
