//! The error every checked constructor returns.

use core::fmt;

/// An impossible setting, found at construction: names the pattern, the field and what is
/// wrong with it. Returned by every checked constructor (`Bulkhead::builder(..).build()`,
/// `WorkerPool::builder()...spawn(..)`, ...), never a panic at run time.
///
/// ```
/// use steadfast::bulkhead::Bulkhead;
///
/// let err = Bulkhead::builder(0).build().unwrap_err();
/// assert_eq!(err.field(), "max_concurrent");
/// assert_eq!(err.to_string(), "invalid bulkhead setting `max_concurrent`: must be at least 1");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConfigError {
    pattern: &'static str,
    field: &'static str,
    problem: &'static str,
}

impl ConfigError {
    /// An error naming `pattern`, its setting `field` and the `problem` with it: for crates
    /// built on steadfast (a simulator's models, a user's own pattern), so that every bad
    /// setting in a program fails the same way.
    ///
    /// ```
    /// use steadfast::ConfigError;
    ///
    /// let err = ConfigError::new("dependency", "error_rate", "must be within 0 and 1");
    /// assert_eq!((err.pattern(), err.field()), ("dependency", "error_rate"));
    /// ```
    #[must_use]
    pub const fn new(pattern: &'static str, field: &'static str, problem: &'static str) -> Self {
        ConfigError {
            pattern,
            field,
            problem,
        }
    }

    /// The pattern whose setting is at fault, such as `"bulkhead"`.
    #[must_use]
    pub const fn pattern(&self) -> &'static str {
        self.pattern
    }

    /// The setting at fault, named as in the constructor, such as `"max_concurrent"`.
    #[must_use]
    pub const fn field(&self) -> &'static str {
        self.field
    }

    /// What is wrong with it, such as `"must be at least 1"`.
    #[must_use]
    pub const fn problem(&self) -> &'static str {
        self.problem
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} setting `{}`: {}",
            self.pattern, self.field, self.problem
        )
    }
}

impl core::error::Error for ConfigError {}
