//! The runner every loom crate in `ci/` uses, included by each with `#[path]`: loom's model
//! builder with a preemption bound of 2 unless `LOOM_MAX_PREEMPTIONS` sets one.

/// Explores the interleavings of `f`.
pub(crate) fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}
