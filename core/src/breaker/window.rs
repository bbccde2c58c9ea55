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
    /// No window: trip after `failures` failures in a row, kept in a counter.
    Consecutive { failures: u32 },
    /// The last `size` outcomes, two bits each (failure, slow), 32 to a slot.
    Count { size: u32 },
    /// `buckets` buckets of `bucket_nanos` each; one slot per bucket, packing three 21-bit
    /// counters (calls, failures, slow). `recip = u64::MAX / bucket_nanos`. Their code is
    /// reached through [`TIME`], so that a breaker without a time window links none of it.
    Time {
        buckets: u32,
        bucket_nanos: u64,
        recip: u64,
        code: &'static TimeCode,
    },
}

/// A time window's record and read, behind pointers the builder stores in its shape.
#[derive(Debug)]
pub(super) struct TimeCode {
    record: fn(&mut Cursor, &mut [u64], Shape, u64, bool, bool),
    totals: fn(&Cursor, &[u64], Shape, u64) -> Totals,
}

/// The time window's code.
pub(super) const TIME: TimeCode = TimeCode {
    record: record_in_bucket,
    totals: bucket_totals,
};

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

/// Where the window stands, whatever its size.
#[derive(Debug)]
pub(super) struct Cursor {
    /// Count: the next position written. Time: the slot of the newest bucket.
    head: u32,
    /// Time: the number (`instant / bucket_nanos`) of the newest bucket.
    head_bucket: u64,
    totals: Totals,
}

/// The window's state; its shape lives in the breaker's settings.
#[derive(Debug)]
pub(super) struct Window<const N: usize> {
    slots: [u64; N],
    cursor: Cursor,
}

impl<const N: usize> Window<N> {
    pub(super) const fn new() -> Self {
        Window {
            slots: [0; N],
            cursor: Cursor {
                head: 0,
                head_bucket: 0,
                totals: Totals {
                    calls: 0,
                    failures: 0,
                    slow: 0,
                },
            },
        }
    }

    /// Forgets every outcome (field by field: a small window is cleared without a call to
    /// `memset`; the newest bucket's number need not go, its bucket and the totals are empty).
    pub(super) fn clear(&mut self) {
        self.slots.fill(0);
        self.cursor.head = 0;
        self.cursor.totals = Totals::default();
    }

    /// Whether a count window of `size` holds `size` outcomes, none of them a failure or slow.
    pub(super) const fn is_full_and_clean(&self, size: u32) -> bool {
        let t = &self.cursor.totals;
        t.calls == size && t.failures == 0 && t.slow == 0
    }

    /// Records one outcome at `now_nanos`.
    #[inline]
    pub(super) fn record(&mut self, shape: Shape, now_nanos: u64, failure: bool, slow: bool) {
        match shape {
            Shape::Consecutive { .. } => {}
            Shape::Count { size } => {
                let head = self.cursor.head;
                let t = &mut self.cursor.totals;
                // A count window holds as many outcomes as it has counted calls.
                if t.calls == size {
                    let (f, s) = self.bits(head);
                    let t = &mut self.cursor.totals;
                    t.failures -= f as u32;
                    t.slow -= s as u32;
                } else {
                    t.calls += 1;
                }
                self.set_bits(head, failure, slow);
                self.cursor.head = if head + 1 == size { 0 } else { head + 1 };
                let t = &mut self.cursor.totals;
                t.failures += failure as u32;
                t.slow += slow as u32;
            }
            Shape::Time { code, .. } => (code.record)(
                &mut self.cursor,
                &mut self.slots,
                shape,
                now_nanos,
                failure,
                slow,
            ),
        }
    }

    /// The totals as of `now_nanos`, without changing the window (a time window's buckets that
    /// have aged out are left out, not evicted).
    pub(super) fn totals(&self, shape: Shape, now_nanos: u64) -> Totals {
        match shape {
            Shape::Time { code, .. } => (code.totals)(&self.cursor, &self.slots, shape, now_nanos),
            _ => self.cursor.totals,
        }
    }

    /// Outcome `i`'s bits, `(failure, slow)`. Outcomes 0 to 15 of a slot sit in its low 32
    /// bits, 16 to 31 in its high ones: 32-bit shifts, cheap on every target.
    fn bits(&self, i: u32) -> (bool, bool) {
        let word = self.slots.get((i / 32) as usize).copied().unwrap_or(0);
        let half = if i & 16 == 0 { word } else { word >> 32 } as u32;
        let shift = (i % 16) * 2;
        ((half >> shift) & 1 == 1, (half >> (shift + 1)) & 1 == 1)
    }

    fn set_bits(&mut self, i: u32, failure: bool, slow: bool) {
        let Some(word) = self.slots.get_mut((i / 32) as usize) else {
            return;
        };
        let shift = (i % 16) * 2;
        let set =
            |half: u32| half & !(0b11 << shift) | ((failure as u32) | (slow as u32) << 1) << shift;
        let (lo, hi) = (*word as u32, (*word >> 32) as u32);
        let (lo, hi) = if i & 16 == 0 {
            (set(lo), hi)
        } else {
            (lo, set(hi))
        };
        *word = lo as u64 | (hi as u64) << 32;
    }

    /// Count window: the outcomes held, oldest first, as `(failure, slow)` (for tests).
    #[cfg(all(test, not(loom)))]
    pub(super) fn ring(&self, size: u32) -> std::vec::Vec<(bool, bool)> {
        let start = if self.cursor.totals.calls == size {
            self.cursor.head
        } else {
            0
        };
        (0..self.cursor.totals.calls)
            .map(|k| self.bits((start + k) % size))
            .collect()
    }
}

/// A time window's record: moves the head to `now_nanos`'s bucket, then counts the outcome in
/// it.
fn record_in_bucket(
    c: &mut Cursor,
    slots: &mut [u64],
    shape: Shape,
    now_nanos: u64,
    failure: bool,
    slow: bool,
) {
    let Shape::Time {
        buckets,
        bucket_nanos,
        recip,
        ..
    } = shape
    else {
        return;
    };
    roll(
        c,
        slots,
        buckets,
        div_rem_with_reciprocal(now_nanos, bucket_nanos, recip).0,
    );
    let Some(slot) = slots.get_mut(c.head as usize) else {
        return;
    };
    let mut b = unpack(*slot);
    // A bucket's counters saturate at 2^21 - 1; the totals follow the buckets.
    if b.calls < FIELD as u32 {
        b.calls += 1;
        b.failures += failure as u32;
        b.slow += slow as u32;
        *slot = pack(b);
        c.totals.calls += 1;
        c.totals.failures += failure as u32;
        c.totals.slow += slow as u32;
    }
}

/// A time window's totals as of `now_nanos`, leaving out the buckets that have aged out.
fn bucket_totals(c: &Cursor, slots: &[u64], shape: Shape, now_nanos: u64) -> Totals {
    let Shape::Time {
        buckets,
        bucket_nanos,
        recip,
        ..
    } = shape
    else {
        return c.totals;
    };
    let now_bucket = div_rem_with_reciprocal(now_nanos, bucket_nanos, recip).0;
    let age = now_bucket.saturating_sub(c.head_bucket);
    if age == 0 {
        return c.totals;
    }
    let mut t = Totals::default();
    // Bucket `k` slots behind the head is `age + k` buckets old; it counts while that is
    // less than the number of buckets.
    let mut k = 0;
    while (age + k as u64) < buckets as u64 {
        let slot = if c.head >= k {
            c.head - k
        } else {
            c.head + buckets - k
        };
        let b = unpack(slots.get(slot as usize).copied().unwrap_or(0));
        t.calls += b.calls;
        t.failures += b.failures;
        t.slow += b.slow;
        k += 1;
    }
    t
}

/// Moves the head to bucket `target`, evicting the buckets it passes; at most one lap.
fn roll(c: &mut Cursor, slots: &mut [u64], buckets: u32, target: u64) {
    if target <= c.head_bucket {
        return;
    }
    let steps = (target - c.head_bucket).min(buckets as u64) as u32;
    for _ in 0..steps {
        c.head = if c.head + 1 == buckets { 0 } else { c.head + 1 };
        let old = unpack(slots.get_mut(c.head as usize).map_or(0, core::mem::take));
        c.totals.calls -= old.calls;
        c.totals.failures -= old.failures;
        c.totals.slow -= old.slow;
    }
    c.head_bucket = target;
}
