//! The breaker's memory of recent outcomes: a ring of the last `size` outcomes, or buckets of
//! time on the timer's monotonic clock. Both keep running totals (subtract on evict), so a
//! record is O(1) and a read is O(1) for the ring, O(buckets) for a read that must not mutate.

use crate::time::div_rem_with_reciprocal;

/// Running totals of the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Totals {
    pub(super) calls: u32,
    pub(super) failures: u32,
    pub(super) slow: u32,
}

/// How the window is laid over its `N` slots of 64 bits.
#[derive(Clone, Copy, Debug)]
pub(super) enum Shape {
    /// No window: the consecutive-failures model keeps only a counter.
    None,
    /// The last `size` outcomes, two bits each (failure, slow), 32 to a slot.
    Count { size: u32 },
    /// `buckets` buckets of `bucket_nanos` each; one slot per bucket, packing three 21-bit
    /// counters (calls, failures, slow). `recip = u64::MAX / bucket_nanos`.
    Time {
        buckets: u32,
        bucket_nanos: u64,
        recip: u64,
    },
}

const FIELD: u64 = (1 << 21) - 1;

const fn unpack(slot: u64) -> Totals {
    Totals {
        calls: (slot & FIELD) as u32,
        failures: ((slot >> 21) & FIELD) as u32,
        slow: ((slot >> 42) & FIELD) as u32,
    }
}

const fn pack(t: Totals) -> u64 {
    (t.calls as u64 & FIELD) | ((t.failures as u64 & FIELD) << 21) | ((t.slow as u64 & FIELD) << 42)
}

/// The window's state; its shape lives in the breaker's settings.
#[derive(Debug)]
pub(super) struct Window<const N: usize> {
    slots: [u64; N],
    /// Count: the next position written. Time: the slot of the newest bucket.
    head: u32,
    /// Time: the number (`instant / bucket_nanos`) of the newest bucket.
    head_bucket: u64,
    totals: Totals,
}

impl<const N: usize> Window<N> {
    pub(super) const fn new() -> Self {
        Window {
            slots: [0; N],
            head: 0,
            head_bucket: 0,
            totals: Totals {
                calls: 0,
                failures: 0,
                slow: 0,
            },
        }
    }

    /// Forgets every outcome (field by field: a small window is cleared without a call to
    /// `memset`).
    pub(super) fn clear(&mut self) {
        self.slots.fill(0);
        self.head = 0;
        self.head_bucket = 0;
        self.totals = Totals::default();
    }

    /// Whether a count window of `size` holds `size` outcomes, none of them a failure or slow.
    pub(super) const fn is_full_and_clean(&self, size: u32) -> bool {
        self.totals.calls == size && self.totals.failures == 0 && self.totals.slow == 0
    }

    /// Records one outcome at `now_nanos`.
    #[inline]
    pub(super) fn record(&mut self, shape: Shape, now_nanos: u64, failure: bool, slow: bool) {
        match shape {
            Shape::None => {}
            Shape::Count { size } => {
                // A count window holds as many outcomes as it has counted calls.
                if self.totals.calls == size {
                    let (f, s) = self.bits(self.head);
                    self.totals.failures -= f as u32;
                    self.totals.slow -= s as u32;
                } else {
                    self.totals.calls += 1;
                }
                self.set_bits(self.head, failure, slow);
                self.head = if self.head + 1 == size {
                    0
                } else {
                    self.head + 1
                };
                self.totals.failures += failure as u32;
                self.totals.slow += slow as u32;
            }
            Shape::Time {
                buckets,
                bucket_nanos,
                recip,
            } => {
                self.roll(
                    buckets,
                    div_rem_with_reciprocal(now_nanos, bucket_nanos, recip).0,
                );
                let Some(slot) = self.slots.get_mut(self.head as usize) else {
                    return;
                };
                let mut b = unpack(*slot);
                // A bucket's counters saturate at 2^21 - 1; the totals follow the buckets.
                if b.calls < FIELD as u32 {
                    b.calls += 1;
                    b.failures += failure as u32;
                    b.slow += slow as u32;
                    *slot = pack(b);
                    self.totals.calls += 1;
                    self.totals.failures += failure as u32;
                    self.totals.slow += slow as u32;
                }
            }
        }
    }

    /// The totals as of `now_nanos`, without changing the window (a time window's buckets that
    /// have aged out are left out, not evicted).
    pub(super) fn totals(&self, shape: Shape, now_nanos: u64) -> Totals {
        let Shape::Time {
            buckets,
            bucket_nanos,
            recip,
        } = shape
        else {
            return self.totals;
        };
        let now_bucket = div_rem_with_reciprocal(now_nanos, bucket_nanos, recip).0;
        let age = now_bucket.saturating_sub(self.head_bucket);
        if age == 0 {
            return self.totals;
        }
        let mut t = Totals::default();
        // Bucket `k` slots behind the head is `age + k` buckets old; it counts while that is
        // less than the number of buckets.
        let mut k = 0;
        while (age + k as u64) < buckets as u64 {
            let slot = if self.head >= k {
                self.head - k
            } else {
                self.head + buckets - k
            };
            let b = unpack(self.slots.get(slot as usize).copied().unwrap_or(0));
            t.calls += b.calls;
            t.failures += b.failures;
            t.slow += b.slow;
            k += 1;
        }
        t
    }

    /// Moves the head to bucket `target`, evicting the buckets it passes; at most one lap.
    fn roll(&mut self, buckets: u32, target: u64) {
        if target <= self.head_bucket {
            return;
        }
        let steps = (target - self.head_bucket).min(buckets as u64) as u32;
        for _ in 0..steps {
            self.head = if self.head + 1 == buckets {
                0
            } else {
                self.head + 1
            };
            let old = unpack(
                self.slots
                    .get_mut(self.head as usize)
                    .map_or(0, core::mem::take),
            );
            self.totals.calls -= old.calls;
            self.totals.failures -= old.failures;
            self.totals.slow -= old.slow;
        }
        self.head_bucket = target;
    }

    fn bits(&self, i: u32) -> (bool, bool) {
        let word = self.slots.get((i / 32) as usize).copied().unwrap_or(0);
        let shift = (i % 32) * 2;
        ((word >> shift) & 1 == 1, (word >> (shift + 1)) & 1 == 1)
    }

    fn set_bits(&mut self, i: u32, failure: bool, slow: bool) {
        let Some(word) = self.slots.get_mut((i / 32) as usize) else {
            return;
        };
        let shift = (i % 32) * 2;
        *word &= !(0b11 << shift);
        *word |= ((failure as u64) | ((slow as u64) << 1)) << shift;
    }

    /// Count window: the outcomes held, oldest first, as `(failure, slow)` (for tests).
    #[cfg(all(test, not(loom)))]
    pub(super) fn ring(&self, size: u32) -> std::vec::Vec<(bool, bool)> {
        let start = if self.totals.calls == size {
            self.head
        } else {
            0
        };
        (0..self.totals.calls)
            .map(|k| self.bits((start + k) % size))
            .collect()
    }
}
