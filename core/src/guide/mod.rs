//! The guide: which pattern answers which failure, how to compose them, recipes for each kind
//! of program, testing in virtual time, and how steadfast compares with the tools you may use
//! today.
//!
//! This module holds documentation only. Every code block that can run is a doc test of the
//! crate, so the recipes compile and pass against the version you read.
//!
//! # Start here
//!
//! - [Which pattern, and in which order](choosing): the failure each pattern answers, and the
//!   order to nest them around a call, with the reasons; [`Pipeline`](crate::pipeline::Pipeline)
//!   composes them in that order for you.
//!
//! # Recipes
//!
//! - [A server on tokio](server): a client stack for a dependency (timeout, retry with a
//!   budget, bulkhead, breaker), shedding load on the inbound side, wiring into axum.
//! - [A program on smol or async-std](smol).
//! - [Firmware on embassy](firmware): statics, no heap, spawn-free drivers, Cortex-M0.
//! - [A library generic over the runtime](library): generic over [`Timer`](crate::Timer),
//!   tested on [`VirtualTimer`](crate::VirtualTimer).
//! - [Testing resilience code in virtual time](testing), on any runtime.
//! - [Observing calls](observing): events to your own observer, `tracing`, `metrics`, `defmt`.
//!
//! # Coming from another tool
//!
//! Point by point, with the semantic traps of a straight port, and when the other tool is the
//! better choice:
//!
//! - [backon](from_backon): what `max_times`, jitter and `total_delay` mean there and here.
//! - [tower and tower-resilience](from_tower).
//! - [tokio's `JoinSet`, tokio-util's `TaskTracker` and `CancellationToken`](from_tokio_util).
//! - [futures' `buffer_unordered` and `join_all`, tokio-stream's `chunks_timeout`](from_futures).
//! - [Python's asyncio](from_asyncio), where most of these patterns come from.
//! - [Polly and resilience4j](from_polly_resilience4j), for .NET and Java users.
//!
//! # Runnable examples
//!
//! Each pattern family has an example that runs in a fraction of a second (paused or virtual
//! time): `cargo run -p steadfast-tokio --example <name>` with `timeout`, `bulkhead`, `retry`,
//! `breaker`, `limiter`, `pipeline`, `hedge`, `task_group`, `pool`, `batch`, `bracket`,
//! `events` or `slow_poll`, and `cargo run -p steadfast-smol --example <name>` with
//! `retry_budget`, `map_bounded` or `fixed_pool`. Each pattern's page names its own.

#[doc = include_str!("choosing.md")]
pub mod choosing {}

#[doc = include_str!("server.md")]
pub mod server {}

#[doc = include_str!("smol.md")]
pub mod smol {}

#[doc = include_str!("firmware.md")]
pub mod firmware {}

#[doc = include_str!("library.md")]
pub mod library {}

#[doc = include_str!("testing.md")]
pub mod testing {}

#[doc = include_str!("observing.md")]
pub mod observing {}

#[doc = include_str!("from_backon.md")]
pub mod from_backon {}

#[doc = include_str!("from_tower.md")]
pub mod from_tower {}

#[doc = include_str!("from_tokio_util.md")]
pub mod from_tokio_util {}

#[doc = include_str!("from_futures.md")]
pub mod from_futures {}

#[doc = include_str!("from_asyncio.md")]
pub mod from_asyncio {}

#[doc = include_str!("from_polly_resilience4j.md")]
pub mod from_polly_resilience4j {}
