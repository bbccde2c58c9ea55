//! The bulkhead's builder.

use super::{Bulkhead, MAX_CONCURRENT, error};
use crate::ConfigError;
use crate::loom::loom_const_fn;

/// A bulkhead's settings, set with `const` methods; [`build`](BulkheadBuilder::build) checks
/// them, [`build_const`](BulkheadBuilder::build_const) builds a `static`. From
/// [`Bulkhead::builder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a builder does nothing until built"]
pub struct BulkheadBuilder {
    pub(super) max_concurrent: usize,
    pub(super) max_waiting: Option<usize>,
    /// Turned away at once when full.
    pub(super) reject: bool,
}

impl BulkheadBuilder {
    pub(super) const fn new(max_concurrent: usize) -> Self {
        BulkheadBuilder {
            max_concurrent,
            max_waiting: None,
            reject: false,
        }
    }

    /// Turns callers away with [`Rejected::QueueFull`](super::Rejected::QueueFull) once
    /// `max_waiting` callers wait already. At least 1; not with
    /// [`reject_when_full`](BulkheadBuilder::reject_when_full), where nobody waits.
    pub const fn max_waiting(mut self, max_waiting: usize) -> Self {
        self.max_waiting = Some(max_waiting);
        self
    }

    /// Callers that find every permit taken get [`Rejected::Full`](super::Rejected::Full) at
    /// once, whichever way they ask (load shedding).
    pub const fn reject_when_full(mut self) -> Self {
        self.reject = true;
        self
    }

    /// Checks the settings: `max_concurrent` in `1..=usize::MAX / 2`, `max_waiting` at least 1
    /// and not with `reject_when_full`.
    const fn check(&self) -> Result<(), ConfigError> {
        if self.max_concurrent == 0 {
            return Err(error::invalid("max_concurrent", "must be at least 1"));
        }
        if self.max_concurrent > MAX_CONCURRENT {
            return Err(error::invalid(
                "max_concurrent",
                "must be at most usize::MAX / 2",
            ));
        }
        if let Some(0) = self.max_waiting {
            return Err(error::invalid(
                "max_waiting",
                "must be at least 1 (use `reject_when_full` to let no caller wait)",
            ));
        }
        if self.max_waiting.is_some() && self.reject {
            return Err(error::invalid(
                "max_waiting",
                "has no effect when the bulkhead rejects callers at once",
            ));
        }
        Ok(())
    }

    loom_const_fn! {
        /// Checks the settings and builds the bulkhead; a bad setting is a [`ConfigError`]
        /// naming it (`max_concurrent` in `1..=usize::MAX / 2`, `max_waiting` at least 1 and
        /// not with `reject_when_full`).
        pub fn build(self) -> Result<Bulkhead, ConfigError> {
            match self.check() {
                Ok(()) => Ok(Bulkhead::from_valid(self)),
                Err(e) => Err(e),
            }
        }
    }

    loom_const_fn! {
        /// Builds the bulkhead in a `const` context, such as a `static`'s initializer, where
        /// a bad setting is a compile error. Elsewhere a bad setting panics: use
        /// [`build`](BulkheadBuilder::build) for settings known only at run time.
        ///
        /// ```compile_fail,E0080
        /// use steadfast::bulkhead::Bulkhead;
        /// // Nobody may wait where callers are turned away at once.
        /// static RADIO: Bulkhead = Bulkhead::builder(1).reject_when_full().max_waiting(4).build_const();
        /// ```
        #[must_use]
        pub fn build_const(self) -> Bulkhead {
            if let Err(e) = self.check() {
                panic!("{}", e.problem());
            }
            Bulkhead::from_valid(self)
        }
    }
}
