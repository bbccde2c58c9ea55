//! What the handlers did with one event: the outcome of each, and the reports of both
//! emitters, which share one shape.

use core::fmt;

use crate::Panicked;

/// How one handler (or subscriber) handled one emitted event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Handled<Er> {
    /// It returned (or settled with) `Ok(())`.
    Succeeded,
    /// It returned (or settled with) an error.
    Failed(Er),
    /// It panicked. [`Emitter`](super::Emitter) with the `std` feature only: a
    /// [`FixedEmitter`](super::FixedEmitter)'s subscriber that unwinds drops its
    /// [`Ack`](super::Ack), which reports [`Abandoned`](Handled::Abandoned).
    Panicked(Panicked),
    /// It ran past the emit's timeout: a heap handler is dropped then; a fixed subscriber's
    /// task is not (it is not the emitter's to cancel).
    TimedOut,
    /// A fixed subscriber dropped the event's [`Ack`](super::Ack) unsettled, or left before it
    /// took the event (its task ended, was cancelled, or unwound from a panic).
    Abandoned,
    /// The event was not delivered: the fixed subscriber was still busy with an earlier event
    /// whose emit timed out.
    Busy,
}

impl<Er> Handled<Er> {
    /// Whether the handler succeeded.
    #[must_use]
    pub fn is_success(&self) -> bool {
        matches!(self, Handled::Succeeded)
    }

    /// The handler's error, if it returned one.
    #[must_use]
    pub fn error(&self) -> Option<&Er> {
        match self {
            Handled::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// Subscribing to a [`FixedEmitter`](super::FixedEmitter) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SubscribeError {
    /// All places are taken.
    Full,
    /// The emitter was [closed](super::FixedEmitter::close).
    Closed,
}

impl fmt::Display for SubscribeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubscribeError::Full => "the event emitter is full: every subscriber place is taken",
            SubscribeError::Closed => "the event emitter is closed",
        })
    }
}

impl core::error::Error for SubscribeError {}

/// The methods both reports share, written once over `(id, outcome)` pairs.
macro_rules! report_methods {
    ($id:ty) => {
        /// How many handlers took part.
        #[must_use]
        pub fn len(&self) -> usize {
            self.iter().count()
        }

        /// Whether no handler took part.
        #[must_use]
        pub fn is_empty(&self) -> bool {
            self.len() == 0
        }

        /// How many handlers succeeded.
        #[must_use]
        pub fn succeeded(&self) -> usize {
            self.iter().filter(|(_, o)| o.is_success()).count()
        }

        /// Whether every handler succeeded (true when there were none).
        #[must_use]
        pub fn all_succeeded(&self) -> bool {
            self.iter().all(|(_, o)| o.is_success())
        }

        /// The handlers that did not succeed, with their ids.
        pub fn failures(&self) -> impl Iterator<Item = ($id, &Handled<Er>)> {
            self.iter().filter(|(_, o)| !o.is_success())
        }
    };
}

/// What every [`Emitter`](super::Emitter) handler did with one event, in registration order,
/// named by [`Subscription::id`](super::Subscription::id).
#[cfg(feature = "alloc")]
#[must_use = "the report says which handlers failed"]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmitReport<Er> {
    pub(super) outcomes: alloc::vec::Vec<(u64, Handled<Er>)>,
}

#[cfg(all(feature = "alloc", feature = "defmt"))]
impl<Er: defmt::Format> defmt::Format for EmitReport<Er> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "EmitReport {{ outcomes: {} }}", self.outcomes.as_slice());
    }
}

#[cfg(feature = "alloc")]
impl<Er> EmitReport<Er> {
    /// Each handler's id and outcome, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Handled<Er>)> {
        self.outcomes.iter().map(|(id, o)| (*id, o))
    }

    /// The outcome of the handler with this id, if it took part.
    #[must_use]
    pub fn get(&self, id: u64) -> Option<&Handled<Er>> {
        self.outcomes.iter().find(|(i, _)| *i == id).map(|(_, o)| o)
    }

    /// The ids and outcomes, owned.
    #[must_use]
    pub fn into_outcomes(self) -> alloc::vec::Vec<(u64, Handled<Er>)> {
        self.outcomes
    }

    report_methods!(u64);
}

/// What every [`FixedEmitter`](super::FixedEmitter) subscriber did with one event, named by
/// [`Subscriber::id`](super::Subscriber::id), its place.
#[must_use = "the report says which handlers failed"]
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FixedReport<Er, const N: usize> {
    pub(super) outcomes: [Option<Handled<Er>>; N],
}

impl<Er, const N: usize> FixedReport<Er, N> {
    /// Each subscriber's id and outcome, in place order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &Handled<Er>)> {
        self.outcomes
            .iter()
            .enumerate()
            .filter_map(|(i, o)| o.as_ref().map(|o| (i, o)))
    }

    /// The outcome of the subscriber with this id, if it took part.
    #[must_use]
    pub fn get(&self, id: usize) -> Option<&Handled<Er>> {
        self.outcomes.get(id)?.as_ref()
    }

    /// The outcomes, owned, by place (`None` where no subscriber took part).
    #[must_use]
    pub fn into_outcomes(self) -> [Option<Handled<Er>>; N] {
        self.outcomes
    }

    report_methods!(usize);
}

impl<Er: fmt::Debug, const N: usize> fmt::Debug for FixedReport<Er, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}
