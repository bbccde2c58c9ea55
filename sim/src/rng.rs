//! Seeded randomness: SplitMix64, as a stream (arrivals) and as a pure function of a key
//! (each dependency call's draws), so that every policy meets the same faults for the same
//! request and attempt.

/// SplitMix64's finaliser: a good 64-bit mix.
pub(crate) const fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform draw in `[0, 1)` from 64 random bits.
pub(crate) fn unit(x: u64) -> f64 {
    (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A stream of draws.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(mix(seed))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    pub(crate) fn unit(&mut self) -> f64 {
        unit(self.next_u64())
    }
}

/// The draws of one dependency call: a pure function of the seed, the request and the call's
/// number within the request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Draws(u64);

impl Draws {
    pub(crate) fn new(seed: u64, request: u64, call: u32) -> Self {
        Draws(mix(seed
            ^ mix(
                request.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ u64::from(call)
            )))
    }

    /// The `k`-th uniform draw of this call.
    pub(crate) fn unit(self, k: u64) -> f64 {
        unit(mix(self.0 ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
    }
}
