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
//!
//! # Features
//!
//! - `alloc`: the [`Spawn`] seam and [`VirtualTimer`].
//! - `std`: implies `alloc`.
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
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

mod time;
pub mod timeout;

#[cfg(feature = "alloc")]
mod spawn;

#[cfg(feature = "alloc")]
pub use time::virtual_timer::{AutoAdvance, VirtualSleep, VirtualTimer};
pub use time::{Instant, Timer};

#[cfg(feature = "alloc")]
pub use spawn::{JoinError, Spawn, TaskHandle};
