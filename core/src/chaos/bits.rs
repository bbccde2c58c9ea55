//! Settings given as `f64`, read from their bits: integer arithmetic only, so that a stage
//! built at run time on a microcontroller without an FPU links no software floating point
//! (about 3 KiB on Cortex-M0), and the results are exact.

/// A finite, non-negative `f64` as `m · 2^e` (`m < 2^53`); `None` for NaN, an infinity or a
/// negative number (`-0.0` is 0).
const fn parts(x: f64) -> Option<(u64, i32)> {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7FF) as i32;
    let frac = bits & ((1 << 52) - 1);
    if exp == 0x7FF || (bits >> 63 == 1 && bits << 1 != 0) {
        return None;
    }
    if exp == 0 {
        // Zero or subnormal.
        Some((frac, -1074))
    } else {
        Some((frac | 1 << 52, exp - 1075))
    }
}

/// Why a rate was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BadRate {
    NotANumber,
    OutOfRange,
}

/// `rate · 2^53`, rounded to the nearest integer (halves up), for a rate in `0.0..=1.0`.
pub(super) const fn rate_units(rate: f64) -> Result<u64, BadRate> {
    if rate.to_bits() << 1 > 0x7FF0_0000_0000_0000 << 1 {
        return Err(BadRate::NotANumber);
    }
    let Some((m, e)) = parts(rate) else {
        return Err(BadRate::OutOfRange);
    };
    // `m · 2^(e + 53)`.
    let shift = e + 53;
    if shift > 0 {
        // Exactly 2^53 (a rate of 1.0) or above 1.
        if m == 1 << 52 && shift == 1 {
            return Ok(1 << 53);
        }
        return if m == 0 {
            Ok(0)
        } else {
            Err(BadRate::OutOfRange)
        };
    }
    let s = -shift;
    if s >= 64 {
        return Ok(0);
    }
    if s == 0 {
        return Ok(m);
    }
    Ok((m >> s) + ((m >> (s - 1)) & 1))
}

/// `2^32 / x`, truncated, for a positive finite `x`; `None` if `x` is not one, or the quotient
/// is 0 or does not fit 64 bits. Long division, one bit a step: no division instruction,
/// at construction only.
pub(super) const fn inverse_q32(x: f64) -> Option<u64> {
    let Some((m, e)) = parts(x) else {
        return None;
    };
    if m == 0 {
        return None;
    }
    // 2^32 / (m · 2^e) = 2^(32 - e) / m.
    let k = 32 - e;
    if k < 0 {
        return None;
    }
    let (mut q, mut r): (u64, u64) = (0, 1);
    // The first quotient bits are zero until the remainder reaches `m`; `r < m < 2^53`.
    if r >= m {
        q = 1;
        r -= m;
    }
    let mut i = 0;
    while i < k {
        if q >> 63 != 0 {
            return None;
        }
        q <<= 1;
        r <<= 1;
        if r >= m {
            q |= 1;
            r -= m;
        }
        i += 1;
    }
    if q == 0 { None } else { Some(q) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_from_their_bits_match_float_arithmetic() {
        for rate in [
            0.0,
            -0.0,
            1.0,
            0.5,
            0.1,
            0.2,
            0.7,
            1e-9,
            0.999_999_9,
            f64::MIN_POSITIVE,
            5e-324,
        ] {
            // The float reference rounds `+ 0.5` itself: one unit either way.
            let want = (rate * 9_007_199_254_740_992.0 + 0.5) as u64;
            let got = rate_units(rate).unwrap();
            assert!(got.abs_diff(want) <= 1, "{rate}: {got}, want {want}");
        }
        assert_eq!(rate_units(f64::NAN), Err(BadRate::NotANumber));
        assert_eq!(rate_units(-f64::NAN), Err(BadRate::NotANumber));
        for bad in [
            -0.1,
            1.000_000_000_000_000_2,
            2.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -5e-324,
        ] {
            assert_eq!(rate_units(bad), Err(BadRate::OutOfRange), "{bad}");
        }
    }

    #[test]
    fn exact_rates_are_exact() {
        assert_eq!(rate_units(1.0), Ok(1 << 53));
        assert_eq!(rate_units(0.5), Ok(1 << 52));
        assert_eq!(rate_units(0.25), Ok(1 << 51));
        assert_eq!(rate_units(0.0), Ok(0));
        // 2^-54 is half a unit: rounded up; 2^-55 is a quarter: down.
        assert_eq!(rate_units(1.0 / 18_014_398_509_481_984.0), Ok(1));
        assert_eq!(rate_units(1.0 / 36_028_797_018_963_968.0), Ok(0));
        assert_eq!(inverse_q32(1.0), Some(1 << 32));
        assert_eq!(inverse_q32(2.0), Some(1 << 31));
        assert_eq!(inverse_q32(0.5), Some(1 << 33));
    }

    #[test]
    fn the_inverse_is_two_to_the_32_over_x() {
        for x in [1.0, 1.16, 1.5, 2.0, 3.0, 0.5, 0.001, 1e6, 4_294_967_296.0] {
            // The float quotient is rounded, the integer one truncated: one unit apart at most.
            let want = (4_294_967_296.0 / x) as u64;
            let got = inverse_q32(x).unwrap();
            assert!(got.abs_diff(want) <= 1, "{x}: {got}, want {want}");
        }
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-10, 1e10, 5e-324] {
            assert_eq!(inverse_q32(bad), None, "{bad}");
        }
    }
}
