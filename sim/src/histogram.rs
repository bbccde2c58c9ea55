//! A streamed latency histogram: log-linear buckets (128 per power of two, under 0.8% wide),
//! fixed memory whatever the number of samples, no sample stored.

use core::fmt;
use core::time::Duration;

const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;
/// Values below `SUB` nanoseconds have a bucket each; above, 128 buckets per power of two.
const BUCKETS: usize = (SUB + (64 - SUB_BITS as u64) * SUB) as usize;

/// Latencies in nanoseconds, bucketed log-linearly: a value is known to within 0.8% (one part
/// in 128), the smallest and largest exactly. Memory is fixed (about 60 KB), whatever the
/// number of samples.
#[derive(Clone, PartialEq, Eq)]
pub struct Histogram {
    counts: Box<[u64]>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

fn index(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let e = 63 - v.leading_zeros();
    let shift = e - SUB_BITS;
    let sub = (v >> shift) - SUB;
    (SUB + u64::from(shift) * SUB + sub) as usize
}

/// The smallest value of bucket `i`.
fn lower(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let shift = (i - SUB) / SUB;
    let sub = (i - SUB) % SUB;
    (SUB + sub) << shift
}

/// The largest value of bucket `i`.
fn upper(i: usize) -> u64 {
    if i + 1 >= BUCKETS {
        u64::MAX
    } else {
        lower(i + 1) - 1
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }
}

impl Histogram {
    /// An empty histogram.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one value.
    pub fn record(&mut self, d: Duration) {
        let v = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.counts[index(v)] += 1;
        self.count += 1;
        self.sum += u128::from(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// The number of values recorded.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The smallest value (zero when empty).
    #[must_use]
    pub fn min(&self) -> Duration {
        if self.count == 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos(self.min)
        }
    }

    /// The largest value (zero when empty).
    #[must_use]
    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max)
    }

    /// The mean (zero when empty).
    #[must_use]
    pub fn mean(&self) -> Duration {
        match self.count {
            0 => Duration::ZERO,
            n => Duration::from_nanos(u64::try_from(self.sum / u128::from(n)).unwrap_or(u64::MAX)),
        }
    }

    /// The value at quantile `q` (0.5 for the median, 0.99 for p99; clamped to 0..=1): the
    /// middle of the bucket holding the `ceil(q * count)`-th smallest value, kept within the
    /// smallest and the largest value recorded, so a histogram of one repeated value gives
    /// that value exactly. Zero when empty.
    #[must_use]
    pub fn quantile(&self, q: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, hi) = (lower(i), upper(i));
                let mid = lo + (hi - lo) / 2;
                return Duration::from_nanos(mid.clamp(self.min, self.max));
            }
        }
        self.max()
    }

    /// The non-empty buckets, in order: `(smallest value, largest value, count)`.
    pub fn buckets(&self) -> impl Iterator<Item = (Duration, Duration, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, &c)| {
                (
                    Duration::from_nanos(lower(i)),
                    Duration::from_nanos(upper(i)),
                    c,
                )
            })
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.count)
            .field("min", &self.min())
            .field("p50", &self.quantile(0.5))
            .field("p99", &self.quantile(0.99))
            .field("max", &self.max())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_narrow() {
        for i in 0..BUCKETS - 1 {
            assert_eq!(upper(i) + 1, lower(i + 1), "bucket {i}");
            assert_eq!(index(lower(i)), i);
            assert_eq!(index(upper(i)), i);
            let (lo, hi) = (lower(i) as f64, upper(i) as f64);
            assert!(hi - lo <= lo / 127.0 + 1.0, "bucket {i}: {lo}..{hi}");
        }
        assert_eq!(index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_within_one_percent() {
        let mut h = Histogram::new();
        for ms in 1..=1000u64 {
            h.record(Duration::from_micros(ms * 1000 + 137));
        }
        for (q, want) in [(0.5, 500.137), (0.9, 900.137), (0.99, 990.137)] {
            let got = h.quantile(q).as_secs_f64() * 1e3;
            assert!(
                (got - want).abs() / want < 0.01,
                "q{q}: {got} against {want}"
            );
        }
        assert_eq!(h.max(), Duration::from_micros(1_000_137));
        assert_eq!(h.min(), Duration::from_micros(1137));
        let mut one = Histogram::new();
        for _ in 0..10 {
            one.record(Duration::from_millis(20));
        }
        assert_eq!(one.quantile(0.5), Duration::from_millis(20));
        assert_eq!(one.quantile(0.99), Duration::from_millis(20));
    }
}
