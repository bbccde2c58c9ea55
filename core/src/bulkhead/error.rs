use core::fmt;

/// Why a bulkhead turned a caller away. The caller's work was not started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejected {
    /// Every permit was taken and the bulkhead rejects at once when full
    /// ([`Config::reject_when_full`](super::Config::reject_when_full)).
    Full,
    /// Every permit was taken and the wait queue held
    /// [`max_waiting`](super::Config::max_waiting) callers already.
    QueueFull,
    /// The caller waited [`max_wait`](super::Config::max_wait) without getting a permit.
    WaitedTooLong,
    /// The bulkhead was [closed](super::Bulkhead::close).
    Closed,
}

impl Rejected {
    /// A short description, the one `Display` shows.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Rejected::Full => "bulkhead full",
            Rejected::QueueFull => "bulkhead wait queue full",
            Rejected::WaitedTooLong => "waited too long for a bulkhead permit",
            Rejected::Closed => "bulkhead closed",
        }
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for Rejected {}

pub use crate::ConfigError;

/// A bulkhead setting that cannot work: `field` is `"max_concurrent"`, `"max_waiting"` or
/// `"max_wait"`.
pub(super) const fn invalid(field: &'static str, problem: &'static str) -> ConfigError {
    ConfigError::new("bulkhead", field, problem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn display() {
        assert_eq!(Rejected::QueueFull.to_string(), "bulkhead wait queue full");
        let e = invalid("max_concurrent", "must be at least 1");
        assert_eq!(e.field(), "max_concurrent");
        assert_eq!(
            e.to_string(),
            "invalid bulkhead setting `max_concurrent`: must be at least 1"
        );
    }
}
