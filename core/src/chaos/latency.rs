//! The latency fault's distributions, checked at construction and drawn in integer
//! arithmetic.
//!
//! The core is `no_std` and has no `ln` or `powf`; the heavy tail is drawn in fixed point
//! instead (a base-2 logarithm by repeated squaring, a power of two by a table of roots), in
//! integers only: the same seed gives the same delays to the nanosecond on every target,
//! whether it has a floating-point unit or not.

use core::time::Duration;

use super::bits::inverse_q32;
use crate::ConfigError;
use crate::time::duration_to_nanos;

/// How long a latency fault delays the work. See the [module docs](super#latency).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Latency {
    /// Always this long.
    Fixed(Duration),
    /// Uniformly between `min` and `max`, both included (to the nanosecond).
    Uniform {
        /// The shortest delay.
        min: Duration,
        /// The longest delay (at least `min`).
        max: Duration,
    },
    /// Heavy-tailed: a Pareto distribution of `scale` (the shortest delay) and `shape`
    /// (the tail index α: the smaller, the heavier the tail; `P(delay > x) = (scale / x)^α`),
    /// cut at `cap`. The median is `scale · 2^(1/α)`; with α = 1.16 a fifth of the calls
    /// take four fifths of the delay (the 80/20 rule).
    Pareto {
        /// The shortest delay, above zero.
        scale: Duration,
        /// The tail index α, a positive number.
        shape: f64,
        /// The longest delay (at least `scale`).
        cap: Duration,
    },
}

/// A [`Latency`] checked and in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Delay {
    Fixed(u64),
    Uniform {
        min: u64,
        span: u64,
    },
    Pareto {
        scale: u64,
        inv_shape: u64,
        cap: u64,
    },
}

const fn invalid(problem: &'static str) -> ConfigError {
    ConfigError::new("chaos", "latency", problem)
}

impl Latency {
    /// Checks the settings (the error names the `latency` setting).
    pub(super) const fn check(self) -> Result<Delay, ConfigError> {
        match self {
            Latency::Fixed(d) => Ok(Delay::Fixed(duration_to_nanos(d))),
            Latency::Uniform { min, max } => {
                let (min, max) = (duration_to_nanos(min), duration_to_nanos(max));
                if max < min {
                    return Err(invalid("`Uniform`'s max must be at least its min"));
                }
                Ok(Delay::Uniform {
                    min,
                    span: max - min,
                })
            }
            Latency::Pareto { scale, shape, cap } => {
                let (scale, cap) = (duration_to_nanos(scale), duration_to_nanos(cap));
                if scale == 0 {
                    return Err(invalid("`Pareto`'s scale must be above zero"));
                }
                if cap < scale {
                    return Err(invalid("`Pareto`'s cap must be at least its scale"));
                }
                // 1/α in 32.32 fixed point.
                let Some(inv_shape) = inverse_q32(shape) else {
                    return Err(invalid(
                        "`Pareto`'s shape must be a number from 2^-32 to 2^32",
                    ));
                };
                Ok(Delay::Pareto {
                    scale,
                    inv_shape,
                    cap,
                })
            }
        }
    }
}

impl Delay {
    /// The delay, in nanoseconds, for 64 random bits.
    pub(super) fn sample(self, bits: u64) -> u64 {
        match self {
            Delay::Fixed(d) => d,
            Delay::Uniform { min, span } => {
                if span == u64::MAX {
                    return bits;
                }
                // Multiply and shift: `bits · (span + 1) / 2^64`, in `0..=span`.
                min + ((u128::from(bits) * (u128::from(span) + 1)) >> 64) as u64
            }
            Delay::Pareto {
                scale,
                inv_shape,
                cap,
            } => pareto(scale, inv_shape, cap, bits),
        }
    }
}

/// `scale · U^(-1/α)`, cut at `cap`, for `U = (x + 1) / 2^53` in `(0, 1]` from the top 53
/// bits of `bits` and `inv_shape = 2^32 / α`.
fn pareto(scale: u64, inv_shape: u64, cap: u64, bits: u64) -> u64 {
    let x = (bits >> 11) + 1;
    // -log2(U) = 53 - log2(x + 1), in 32.32 fixed point.
    let e = (53u64 << 32) - log2_q32(x);
    // The exponent of 2: -log2(U) / α.
    let p = (u128::from(e) * u128::from(inv_shape)) >> 32;
    let whole = p >> 32;
    if whole >= 63 {
        return cap;
    }
    let frac = exp2_frac_q31((p & 0xFFFF_FFFF) as u32);
    let v = ((u128::from(scale) * u128::from(frac)) >> 31) << whole;
    if v >= u128::from(cap) { cap } else { v as u64 }
}

/// `log2(m)` in 32.32 fixed point, for `m >= 1`: the integer part from the leading zeros, the
/// fraction bit by bit, squaring a 1.31 mantissa (its 32 bits, the rest dropped).
fn log2_q32(m: u64) -> u64 {
    let int = 63 - u64::from(m.leading_zeros());
    let mut y = if int >= 31 {
        m >> (int - 31)
    } else {
        m << (31 - int)
    };
    let mut frac = 0u64;
    for bit in (0..32).rev() {
        // `y < 2^32`, so the square fits in 64 bits.
        y = (y * y) >> 31;
        if y >= 1 << 32 {
            frac |= 1 << bit;
            y >>= 1;
        }
    }
    (int << 32) | frac
}

/// `2^(2^-(i+1))` in 1.31 fixed point, rounded.
const ROOTS_OF_TWO: [u64; 32] = [
    0xB504_F334,
    0x9837_F052,
    0x8B95_C1E4,
    0x85AA_C368,
    0x82CD_8699,
    0x8164_D1F4,
    0x80B1_ED50,
    0x8058_D7D3,
    0x802C_6437,
    0x8016_302F,
    0x800B_179D,
    0x8005_8BAF,
    0x8002_C5D0,
    0x8001_62E6,
    0x8000_B173,
    0x8000_58B9,
    0x8000_2C5D,
    0x8000_162E,
    0x8000_0B17,
    0x8000_058C,
    0x8000_02C6,
    0x8000_0163,
    0x8000_00B1,
    0x8000_0059,
    0x8000_002C,
    0x8000_0016,
    0x8000_000B,
    0x8000_0006,
    0x8000_0003,
    0x8000_0001,
    0x8000_0001,
    0x8000_0000,
];

/// `2^f` in 1.31 fixed point for the fraction `f / 2^32`: the product of the roots of two
/// that its bits select.
fn exp2_frac_q31(f: u32) -> u64 {
    let mut r: u64 = 1 << 31;
    for (i, root) in ROOTS_OF_TWO.iter().enumerate() {
        if f & (1 << (31 - i)) != 0 {
            // Both below 2^32: the product fits.
            r = (r * root) >> 31;
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_log_and_power_of_two_are_close() {
        for m in [1u64, 2, 3, 10, 1000, 123_456_789, 1 << 53] {
            let want = (m as f64).log2();
            let got = log2_q32(m) as f64 / 4_294_967_296.0;
            assert!((got - want).abs() < 1e-8, "log2({m}) = {got}, want {want}");
        }
        for f in [0u32, 1, 1 << 31, 0xFFFF_FFFF, 0x1234_5678] {
            let want = (f64::from(f) / 4_294_967_296.0).exp2();
            let got = exp2_frac_q31(f) as f64 / 2_147_483_648.0;
            assert!((got - want).abs() < 1e-7, "2^{f} = {got}, want {want}");
        }
    }

    #[test]
    fn pareto_is_scale_times_a_root_of_the_uniform() {
        let Ok(Delay::Pareto {
            scale,
            inv_shape,
            cap,
        }) = (Latency::Pareto {
            scale: Duration::from_millis(10),
            shape: 2.0,
            cap: Duration::from_secs(100),
        })
        .check()
        else {
            panic!("a valid Pareto");
        };
        // U = 1: the scale itself; U = 1/4: twice it (α = 2); U = 2^-53: 10 ms · 2^26.5, capped.
        assert_eq!(pareto(scale, inv_shape, cap, u64::MAX), 10_000_000);
        let quarter = ((1u64 << 51) - 1) << 11;
        let got = pareto(scale, inv_shape, cap, quarter);
        assert!(got.abs_diff(20_000_000) <= 2, "{got}");
        assert_eq!(pareto(scale, inv_shape, cap, 0), 100_000_000_000);
    }
}
