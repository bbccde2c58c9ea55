//! The error of a call that a chaos stage failed on purpose.

use core::fmt;

/// A fault injected by a [`Chaos`](super::Chaos) stage in place of the work's own result: the
/// work did not run. Says which fault; `Send + Sync + 'static`, an [`Error`](core::error::Error),
/// so `?` takes it into `anyhow::Error` or `Box<dyn Error + Send + Sync>`, and a call site's
/// own error type takes it through `From<Injected>` (see [`Chaos::call`](super::Chaos::call)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Injected {
    /// An error fault.
    Error,
    /// An outcome fault whose future was given no replacement result
    /// (see [`Run::outcome`](super::Run::outcome)): it fails as an error fault does.
    Outcome,
}

impl Injected {
    /// A short label: `"error"` or `"outcome"`.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Injected::Error => "error",
            Injected::Outcome => "outcome",
        }
    }
}

impl fmt::Display for Injected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Injected::Error => f.write_str("chaos: injected error"),
            Injected::Outcome => f.write_str("chaos: injected outcome (no replacement result set)"),
        }
    }
}

impl core::error::Error for Injected {}
