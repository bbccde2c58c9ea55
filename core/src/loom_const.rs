//! `loom_const_fn!`, for the modules that the loom models in `ci/` build from source.
//!
//! A loom model builds a core module from its source file with `RUSTFLAGS="--cfg loom"`:
//! `maitake-sync` then uses loom's primitives, and so does the module's own synchronization,
//! so loom explores every interleaving of both. Loom's primitives have no `const`
//! constructors; every real build (without `cfg(loom)`) keeps its `const fn`s.

/// `const fn`, except under `cfg(loom)`, where loom's atomics and `maitake-sync`'s
/// constructors are not `const`.
macro_rules! loom_const_fn {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($args:tt)*) -> $ret:ty $body:block) => {
        $(#[$meta])*
        #[cfg(not(loom))]
        $vis const fn $name($($args)*) -> $ret $body

        $(#[$meta])*
        #[cfg(loom)]
        $vis fn $name($($args)*) -> $ret $body
    };
}
pub(crate) use loom_const_fn;
