pub use crate::ConfigError;

/// A batcher setting that cannot work: `field` is `"batch_size"`, `"flush_interval"` or
/// `"capacity"`.
pub(super) const fn invalid(field: &'static str, problem: &'static str) -> ConfigError {
    ConfigError::new("batcher", field, problem)
}
