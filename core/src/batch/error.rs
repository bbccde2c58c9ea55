use core::fmt;

/// An impossible batcher setting, found at construction. Names the field and what is wrong
/// with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConfigError {
    field: &'static str,
    problem: &'static str,
}

impl ConfigError {
    pub(super) const fn new(field: &'static str, problem: &'static str) -> Self {
        ConfigError { field, problem }
    }

    /// The setting at fault: `"batch_size"`, `"flush_interval"` or `"capacity"`.
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
            "invalid batcher setting `{}`: {}",
            self.field, self.problem
        )
    }
}

impl core::error::Error for ConfigError {}
