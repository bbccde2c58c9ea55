//! The fixed-capacity tables of the keyed patterns (the keyed breaker and the keyed rate
//! limiter): entries in a `heapless::Vec` found by a linear scan, filled in order and then
//! replaced in place, so an entry's index never changes while it is in use.

use heapless::Vec;

/// The index of the entry `is_key` picks; else the index of a new entry `fresh()`, pushed
/// into a free slot or, when the table is full, put in place of the first entry `evictable`
/// lets go (one indistinguishable from a fresh entry). `None` when the table is full and no
/// entry can go.
pub(crate) fn find_or_insert<E, const CAP: usize>(
    entries: &mut Vec<E, CAP>,
    is_key: impl Fn(&E) -> bool,
    evictable: impl Fn(&E) -> bool,
    fresh: impl FnOnce() -> E,
) -> Option<usize> {
    if let Some(i) = entries.iter().position(is_key) {
        return Some(i);
    }
    if entries.is_full() {
        let i = entries.iter().position(evictable)?;
        entries[i] = fresh();
        Some(i)
    } else {
        entries.push(fresh()).ok()?;
        Some(entries.len() - 1)
    }
}
