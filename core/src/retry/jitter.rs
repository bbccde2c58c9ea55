//! Jitter kinds and the small seedable random source behind them.

/// How a delay is randomised, so that callers that failed together do not retry together.
///
/// In the formulas, `d` is the un-jittered delay the [`Backoff`](super::Backoff) gives for this
/// retry (already capped by `max_delay`), `b` the backoff's delay before the first retry
/// (capped the same way), `cap` is `max_delay`, `prev` the jittered delay used before the
/// previous retry (`b` before the first), and `uniform[lo, hi]` a whole number of nanoseconds
/// drawn uniformly from `lo..=hi`:
///
/// | jitter | delay | bounds |
/// |---|---|---|
/// | [`None`](Jitter::None) | `d` | exactly `d` |
/// | [`Full`](Jitter::Full) | `uniform[0, d]` | `0 ..= d` |
/// | [`Equal`](Jitter::Equal) | `⌊d/2⌋ + uniform[0, ⌈d/2⌉]` | `⌊d/2⌋ ..= d` |
/// | [`Decorrelated`](Jitter::Decorrelated) | `uniform[b, min(cap, multiplier·prev)]` | `b ..= cap` |
///
/// Decorrelated jitter is a backoff of its own: it follows only `b` and `cap`, not the shape of
/// the chosen backoff. It differs from the widely copied formula
/// `min(cap, uniform[b, 3·prev])` in one place: the upper bound is capped **before** drawing,
/// so delays stay uniform over their range instead of clustering at `cap` (with the copied
/// formula, once a delay reaches `cap`, about two thirds of the next draws land exactly on it,
/// and callers fall back into lockstep).
///
/// No jitter result ever exceeds `max_delay`. A delay suggested by the error itself (see
/// [`Retry::retry_after`](super::Retry::retry_after)) is used as given, without jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Jitter {
    /// The backoff's delays, unchanged.
    #[default]
    None,
    /// `uniform[0, d]`: the most spread; the usual choice for many clients of one service.
    Full,
    /// `⌊d/2⌋ + uniform[0, ⌈d/2⌉]`: keeps at least half of the backoff.
    Equal,
    /// `uniform[b, min(cap, multiplier·prev)]`, see the table above.
    Decorrelated {
        /// How far the upper bound may grow from one retry to the next; at least 1 (3 is the
        /// customary value, see [`Jitter::DECORRELATED`]).
        multiplier: u32,
    },
}

impl Jitter {
    /// Decorrelated jitter with the customary multiplier of 3.
    pub const DECORRELATED: Jitter = Jitter::Decorrelated { multiplier: 3 };

    pub(crate) const fn is_random(&self) -> bool {
        !matches!(self, Jitter::None)
    }
}

/// A small, fast, seedable pseudo-random source (SplitMix64), good for jitter and nothing
/// cryptographic.
///
/// Equal seeds give equal sequences on every platform, which keeps virtual-time tests
/// reproducible.
/// SplitMix64's increment.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// A source whose sequence is fixed by `seed`.
    #[must_use]
    pub(crate) const fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub(crate) const fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix(self.state)
    }

    /// The `n`-th output (counted from 0) of the sequence seeded with `seed`, without the
    /// ones before it: for callers that share one atomic count of their draws.
    pub(crate) const fn nth(seed: u64, n: u64) -> u64 {
        mix(seed.wrapping_add(n.wrapping_add(1).wrapping_mul(GOLDEN)))
    }

    /// A number in `lo..=hi` (`lo` when `hi < lo`), by multiply-and-shift: the bias is below
    /// one part in 2⁶⁴⁻ᵏ for a range of 2ᵏ values, far under anything a delay can show.
    pub(crate) const fn between(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        let span = hi - lo;
        let x = self.next_u64();
        if span == u64::MAX {
            return x;
        }
        // `span + 1` fits: a 64-by-64 product, not a 128-bit one.
        lo + ((x as u128 * (span + 1) as u128) >> 64) as u64
    }
}

/// Applies `jitter` to the un-jittered delay `d` (nanoseconds), given the first delay `b`, the
/// cap and the previous jittered delay. All values are already capped.
pub(crate) fn apply(jitter: Jitter, rng: &mut Rng, d: u64, b: u64, cap: u64, prev: u64) -> u64 {
    match jitter {
        Jitter::None => d,
        Jitter::Full => rng.between(0, d),
        Jitter::Equal => {
            let half = d / 2;
            half + rng.between(0, d - half)
        }
        Jitter::Decorrelated { multiplier } => {
            let hi = prev.saturating_mul(u64::from(multiplier)).min(cap).max(b);
            rng.between(b, hi)
        }
    }
}
