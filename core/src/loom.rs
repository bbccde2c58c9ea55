//! The one place the core takes its atomics (and its `UnsafeCell`) from, and `loom_const_fn!`.
//!
//! A loom model (`ci/loom-*`) builds a core module from its source file with
//! `RUSTFLAGS="--cfg loom"`: `maitake-sync` then uses loom's primitives, and every module that
//! imports its atomics from here gets loom's too, so loom explores every interleaving of both.
//! Without `cfg(loom)` these are `portable-atomic`'s (the core's atomics on every target,
//! Cortex-M0 included). Loom's primitives have no `const` constructors; every real build keeps
//! its `const fn`s.

/// Only where the target has 64-bit atomics: elsewhere portable-atomic would need its
/// `fallback` or `critical-section` feature, which a bare library build does not have.
#[cfg(all(loom, target_has_atomic = "64"))]
#[allow(unused_imports)]
pub(crate) use loom::sync::atomic::AtomicU64;
#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering, fence};
#[cfg(all(not(loom), target_has_atomic = "64"))]
#[allow(unused_imports)]
pub(crate) use portable_atomic::AtomicU64;
#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use portable_atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering, fence};

#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::cell::UnsafeCell;

/// `core::cell::UnsafeCell` behind loom's closure API: under loom, loom's cell, which checks
/// that no two threads touch the value without synchronization between them.
#[cfg(not(loom))]
#[allow(dead_code)]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
#[allow(dead_code)]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(core::cell::UnsafeCell::new(value))
    }

    /// Calls `f` with a pointer to the value, to read it.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Calls `f` with a pointer to the value, to change it.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// `const fn`, except under `cfg(loom)`, where loom's atomics and `maitake-sync`'s
/// constructors are not `const`. Generic parameters go in brackets: `fn name[const N: usize](..)`.
macro_rules! loom_const_fn {
    ($(#[$meta:meta])* $vis:vis fn $name:ident $([$($gen:tt)*])? ($($args:tt)*) -> $ret:ty $body:block) => {
        $(#[$meta])*
        #[cfg(not(loom))]
        $vis const fn $name $(<$($gen)*>)? ($($args)*) -> $ret $body

        $(#[$meta])*
        #[cfg(loom)]
        $vis fn $name $(<$($gen)*>)? ($($args)*) -> $ret $body
    };
}
pub(crate) use loom_const_fn;
