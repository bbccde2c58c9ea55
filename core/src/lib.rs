//! Async resilience and concurrency patterns, written once against two small seams and run
//! unchanged on tokio, smol, async-std and embassy.
//!
//! The core is `#![no_std]` and needs no heap with default features. A pattern never names a
//! runtime: it is generic over [`Timer`] (a clock and sleeps) and, where it spawns work,
//! [`Spawn`] (behind the `alloc` feature). The adapter crates
//! (`steadfast-tokio`, `steadfast-smol`, `steadfast-embassy`) implement those seams and
//! re-export this crate, so an application adds one dependency.
//!
//! # Patterns
//!
//! | module | what it does |
//! |---|---|
//! | [`timeout`] | bound a future by a duration or a deadline; the future is dropped on expiry |
//! | [`bulkhead`] | at most N futures at once; the rest wait (FIFO, optionally capped or timed) or are turned away |
//! | [`concurrency`] | `join_settled` (every outcome, none cancelled by another's failure) and `map_bounded` (at most N of many items at once, futures made lazily) |
//! | [`task_group`] | tracked tasks: every outcome (panics included), optional limit and cancel-on-failure, nothing orphaned; spawned or spawn-free |
//! | [`pool`] | N workers on a bounded queue: backpressure, per-item outcome (panics contained), `wait_idle`, draining `close`, `shutdown` that returns the undone items; spawned or spawn-free |
//! | [`batch`] | items in, batches out: flush at `batch_size` items or `flush_interval` after a batch's first item, bounded intake, close flushes the rest; spawned, spawn-free, or as a stream adapter |
//! | [`queue`] | the bounded, closeable, cancel-safe MPMC queue with fixed capacity under the spawn-free pool, usable on its own |
//! | [`retry`] | retry with backoff, jitter, a deadline, per-attempt timeouts and a shared retry budget; gives up with the last error, the attempt count and the reason |
//! | [`hedge`] | hedged calls: up to 5 attempts at once, the next after a delay or at once on a non-fatal failure, the first success wins and the losers are dropped in that poll; budget-throttled, no heap |
//! | [`breaker`] | circuit breaker: stop calling a failing dependency, probe it after a while, close when it answers; no heap, `static`-able |
//! | [`limiter`] | rate limiter (GCRA): bursts, costs, fair FIFO waiting with one timer for any number of waiters, fail-fast bounded waits; no heap, `static`-able |
//! | [`pipeline`] | timeout, retry, breaker, limiter and bulkhead composed in one checked order, with one error type and a fallback; no heap, `static`-able |
//! | [`chaos`] | fault injection for tests and simulations: errors, fake outcomes, latency (fixed, uniform, heavy-tailed) and stalls at set rates, drawn deterministically from a seed, switchable at run time; no heap, `static`-able |
//! | [`bracket`] | acquire, use, release exactly once: after success, error, panic or cancellation |
//! | [`events`] | typed event emitter: async handlers run concurrently, each one's success, failure, panic or timeout reported; a fixed-capacity form without a heap |
//! | [`pitfalls`] | guards for the async pitfalls: a slow-poll detector for blocking code, and where the others are covered |
//!
//! # Learning
//!
//! The [`guide`] has the recipes (a server on tokio, smol, embassy firmware, a runtime-agnostic
//! library), the order to compose the patterns in, testing in virtual time, and comparisons
//! with backon, tower, tokio-util, futures, asyncio, Polly and resilience4j.
//!
//! # Features
//!
//! - `alloc`: the [`Spawn`] seam and [`VirtualTimer`]; owned bulkhead permits, `map_bounded`,
//!   `join_settled_all`, the spawned `TaskGroup`, `WorkerPool` and `Batcher`, and the
//!   `batches` stream adapter.
//! - `std`: implies `alloc`.
//! - `defmt`: `defmt::Format` for every error, state and metrics type, [`Instant`], and the
//!   retry's `Backoff` and `Jitter`, for firmware that logs with defmt.
//! - `critical-section`: every internal lock also holds a critical section (see below);
//!   on by default in `steadfast-embassy`.
//! - `no-cache-pad`: no cache-line padding in the wait queues (smaller statics
//!   on microcontrollers; `steadfast-embassy` turns it on).
//!
//! # Locks and interrupt priority
//!
//! The patterns keep their shared state (semaphores, wait queues, a breaker's or a limiter's
//! state) behind short blocking locks: maitake-sync's blocking `Mutex` (the core's own
//! semaphore keeps its waiters behind one, and is atomics otherwise), held for a few
//! instructions, never across an `.await` or across user code. Which lock that is, is chosen
//! by a feature, never by a type a user spells:
//!
//! | build | the lock | right for |
//! |---|---|---|
//! | default (hosts, `std` included) | a spinlock | threads on any number of cores; firmware whose every use of a given pattern runs at one priority (thread mode only) |
//! | `critical-section` (the default of `steadfast-embassy`) | the spinlock inside a critical section | firmware that shares a pattern between priorities: a permit released, or a waiter woken, from an interrupt executor while a thread-mode task holds the lock |
//!
//! On one core a plain spinlock held by thread mode and wanted by an interrupt handler spins
//! forever: the holder never runs again. The critical section defers the interrupt until the
//! lock is released instead (for a few instructions). The firmware provides the
//! critical-section implementation (`cortex-m`'s `critical-section-single-core`; every
//! embassy HAL has one).
//!
//! On `std` the spinlock is kept rather than an OS mutex: no lock is held long enough for
//! parking to pay, a panic never poisons it, and the benchmarks are measured on it. Where
//! `critical-section` is turned on in a host build (by `steadfast-embassy` in the same build),
//! the host's critical section (`critical-section`'s `std` implementation, one process-wide
//! lock) is taken too: still correct, only serialised.
//!
//! # Example
//!
//! A function written against [`Timer`] runs on any runtime. Here it runs on the deterministic
//! [`VirtualTimer`], where an hour passes in microseconds:
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::time::Duration;
//! use steadfast::{Timer, VirtualTimer, timeout::TimeoutExt};
//!
//! async fn fetch<T: Timer>(timer: &T) -> Result<u32, steadfast::timeout::Elapsed> {
//!     // A call that never answers, bounded to one hour.
//!     core::future::pending::<u32>().timeout(timer, Duration::from_secs(3600)).await
//! }
//!
//! let timer = VirtualTimer::new();
//! let err = futures_executor::block_on(timer.auto_advance(fetch(&timer))).unwrap_err();
//! assert_eq!(err.duration(), Some(Duration::from_secs(3600)));
//! assert_eq!(timer.now().as_nanos(), 3_600_000_000_000);
//! # }
//! ```
#![no_std]
// The docs name the heap-backed items (the `Spawn` seam, `VirtualTimer`, ...) whatever the
// features; without `alloc` those links have no target.
#![cfg_attr(not(feature = "alloc"), allow(rustdoc::broken_intra_doc_links))]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod batch;
pub mod bracket;
pub mod breaker;
pub mod bulkhead;
pub mod chaos;
pub mod concurrency;
mod error;
pub mod events;
pub mod guide;
pub mod hedge;
mod keyed;
pub mod limiter;
mod loom;
pub mod observe;
mod panic;
pub mod pipeline;
pub mod pitfalls;
pub mod pool;
pub mod queue;
pub mod retry;
mod sync;
pub mod task_group;
#[cfg(test)]
mod test_util;
mod time;
pub mod timeout;

#[cfg(feature = "alloc")]
mod spawn;

#[cfg(all(test, feature = "defmt"))]
mod defmt_tests;

pub use error::ConfigError;
pub use panic::Panicked;
#[cfg(feature = "alloc")]
pub use time::virtual_timer::{AutoAdvance, VirtualSleep, VirtualTimer};
pub use time::{Instant, Timer};

#[cfg(feature = "alloc")]
pub use spawn::{JoinError, Spawn, TaskHandle};

// The README's example is compiled and run with the doc tests.
#[cfg(all(doctest, feature = "alloc"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
