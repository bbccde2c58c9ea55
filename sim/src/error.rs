//! The one error of the simulator's settings.

use core::fmt;

/// A setting of a [`DependencyModel`](crate::DependencyModel), a [`Load`](crate::Load) or a
/// [`Simulation`](crate::Simulation) that cannot be simulated: which model, which setting,
/// and why. Given by the builders' `build`, never a panic at run time.
///
/// ```
/// use std::time::Duration;
/// use steadfast_sim::DependencyModel;
///
/// let err = DependencyModel::builder().error_rate(1.5).build().unwrap_err();
/// assert_eq!((err.model(), err.setting()), ("dependency", "error_rate"));
/// assert_eq!(err.to_string(), "dependency: error_rate: must be within 0 and 1");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConfigError {
    model: &'static str,
    setting: &'static str,
    problem: &'static str,
}

impl ConfigError {
    pub(crate) const fn new(
        model: &'static str,
        setting: &'static str,
        problem: &'static str,
    ) -> Self {
        ConfigError {
            model,
            setting,
            problem,
        }
    }

    /// The model at fault: `"dependency"`, `"load"` or `"simulation"`.
    #[must_use]
    pub const fn model(&self) -> &'static str {
        self.model
    }

    /// The setting at fault, as its builder method is named (`"error_rate"`, `"outage"`).
    #[must_use]
    pub const fn setting(&self) -> &'static str {
        self.setting
    }

    /// What is wrong with it.
    #[must_use]
    pub const fn problem(&self) -> &'static str {
        self.problem
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.model, self.setting, self.problem)
    }
}

impl std::error::Error for ConfigError {}
