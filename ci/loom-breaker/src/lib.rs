//! Loom models of `steadfast::breaker::CircuitBreaker`, built from its source files with
//! loom's primitives under maitake-sync's lock.
//!
//! The breaker's state sits behind one short lock, and a gate word (epoch, an admit-all bit
//! and a bit saying a success changes nothing) that a closed breaker admits and records such
//! successes through without it; these models race what users race on
//! it: half-open admissions against each other and against a probe's result, and an admission
//! in closed state against the failure that trips it and the probe that closes it. They check what the breaker promises: never
//! more probes in flight than allowed, a result from an older state never counted, and no state
//! stranded once every permit is gone.
//!
//! Without `--cfg loom` this crate checks that the modules build on their own.

// The modules the breaker needs, from the same files as the core and at the same paths.
#[path = "../../../core/src/error.rs"]
mod error;
#[path = "../../../core/src/keyed.rs"]
mod keyed;
#[path = "../../../core/src/loom.rs"]
mod loom;
// The core's other patterns use the rest of the clock module.
#[allow(dead_code)]
#[path = "../../../core/src/time/mod.rs"]
mod time;

#[path = "../../../core/src/breaker/mod.rs"]
pub mod breaker;

// The observer hook the breaker's `Run` reports through.
#[path = "../../../core/src/observe/mod.rs"]
mod observe;

/// A stand-in for the bulkhead's refusal, which the observer's events name: these models race
/// the breaker, not the bulkhead.
#[allow(dead_code)]
mod bulkhead {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Rejected {
        Full,
    }
}

/// A stand-in for the retry policy a breaker may take its open durations from: these models
/// race admissions and results, not open durations, and the retry module does not build under
/// loom (its statics need `const` atomics).
mod retry {
    #[derive(Debug)]
    pub struct RetryPolicy;

    pub struct Backoff;

    impl Backoff {
        pub const fn base(&self) -> Option<core::time::Duration> {
            None
        }
    }

    #[allow(dead_code)]
    impl RetryPolicy {
        pub const fn backoff(&self) -> Backoff {
            Backoff
        }

        pub(crate) fn nth_delay(&self, _n: u32, _prev: u64, _now: crate::Instant) -> u64 {
            0
        }
    }
}

pub use error::ConfigError;
pub use time::{Instant, Timer};

#[cfg(all(test, loom))]
#[path = "../../loom-model.rs"]
mod model;

#[cfg(all(test, loom))]
mod models {
    use super::Instant;
    use super::breaker::{CircuitBreaker, Outcome, State};
    use crate::model::model;
    use core::time::Duration;
    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use loom::thread;

    const OPEN: Duration = Duration::from_secs(10);

    /// Tripped at 0, so half-open from 10 s.
    fn tripped(probes: u16) -> Arc<CircuitBreaker<1>> {
        let b = CircuitBreaker::builder()
            .consecutive_failures(1)
            .open_for(OPEN)
            .half_open_probes(probes)
            .build()
            .unwrap();
        b.try_acquire(Instant::ZERO)
            .unwrap()
            .record(Instant::ZERO, Outcome::Failure);
        Arc::new(b)
    }

    fn at(secs: u64) -> Instant {
        Instant::from_nanos(secs * 1_000_000_000)
    }

    /// Three callers race for one half-open probe slot: never two probes in flight at once,
    /// whatever the interleaving, and one success closes the breaker.
    #[test]
    fn half_open_admits_one_probe_at_a_time() {
        model(|| {
            let b = tripped(1);
            let in_flight = Arc::new(AtomicUsize::new(0));
            let probed = Arc::new(AtomicUsize::new(0));
            let call = {
                let (b, in_flight, probed) = (b.clone(), in_flight.clone(), probed.clone());
                move || {
                    if let Ok(p) = b.try_acquire(at(10)) {
                        if p.is_probe() {
                            assert_eq!(in_flight.fetch_add(1, SeqCst), 0, "two probes at once");
                            probed.fetch_add(1, SeqCst);
                            in_flight.fetch_sub(1, SeqCst);
                        }
                        p.record(at(10), Outcome::Success);
                    }
                }
            };
            let threads: Vec<_> = (0..2).map(|_| thread::spawn(call.clone())).collect();
            call();
            for t in threads {
                t.join().unwrap();
            }
            // The first caller to get the slot probed and closed it; the rest were turned away
            // or admitted closed.
            assert_eq!(probed.load(SeqCst), 1);
            assert_eq!(b.state(at(10)), State::Closed);
        });
    }

    /// A probe's failure races a second probe's admission with two slots: the admission either
    /// happens before the re-open (and its late result is discarded) or is turned away.
    #[test]
    fn a_failed_probe_races_another_admission() {
        model(|| {
            let b = tripped(2);
            let first = b.try_acquire(at(10)).unwrap();
            let racer = {
                let b = b.clone();
                thread::spawn(move || match b.try_acquire(at(10)) {
                    Ok(p) => {
                        p.record(at(11), Outcome::Success);
                        true
                    }
                    Err(e) => {
                        assert_eq!(e.state(), State::Open);
                        false
                    }
                })
            };
            first.record(at(10), Outcome::Failure);
            racer.join().unwrap();
            // Whatever the order, the failure re-opened it and no late success closed it.
            assert_eq!(b.state(at(11)), State::Open);
        });
    }

    /// In closed state, an admission races the failure that trips the breaker: the call is
    /// admitted (its result then belongs to the closed epoch and is discarded) or turned away;
    /// the breaker ends open either way.
    #[test]
    fn an_admission_races_the_trip() {
        model(|| {
            let b: Arc<CircuitBreaker<1>> = Arc::new(
                CircuitBreaker::builder()
                    .consecutive_failures(1)
                    .open_for(OPEN)
                    .build()
                    .unwrap(),
            );
            let tripper = b.try_acquire(at(0)).unwrap();
            let caller = {
                let b = b.clone();
                thread::spawn(move || {
                    if let Ok(p) = b.try_acquire(at(0)) {
                        p.record(at(1), Outcome::Success);
                    }
                })
            };
            tripper.record(at(0), Outcome::Failure);
            caller.join().unwrap();
            assert_eq!(b.state(at(1)), State::Open);
        });
    }

    /// A full count window of successes records a success without the lock; one races the
    /// failure that trips the breaker: recorded before it (it changes nothing), discarded after
    /// it (its epoch passed), or turned away. The breaker ends open, with the failure in it.
    #[test]
    fn a_success_without_the_lock_races_the_trip() {
        model(|| {
            let b: Arc<CircuitBreaker<1>> = Arc::new(
                CircuitBreaker::builder()
                    .count_window(2, 2)
                    .failure_rate(50)
                    .open_for(OPEN)
                    .build()
                    .unwrap(),
            );
            for _ in 0..2 {
                b.try_acquire(at(0))
                    .unwrap()
                    .record(at(0), Outcome::Success);
            }
            let tripper = b.try_acquire(at(0)).unwrap();
            let caller = {
                let b = b.clone();
                thread::spawn(move || {
                    if let Ok(p) = b.try_acquire(at(0)) {
                        p.record(at(0), Outcome::Success);
                    }
                })
            };
            tripper.record(at(0), Outcome::Failure);
            caller.join().unwrap();
            assert_eq!(b.state(at(1)), State::Open);
        });
    }

    /// A probe's success closes the breaker while another caller is admitted: it is turned
    /// away (the probe slot is taken) or admitted through the closed breaker's gate without the
    /// lock, in the closed epoch, so that its failure counts and trips the breaker again.
    #[test]
    fn an_admission_races_the_close() {
        model(|| {
            let b = tripped(1);
            let probe = b.try_acquire(at(10)).unwrap();
            let racer = {
                let b = b.clone();
                thread::spawn(move || match b.try_acquire(at(10)) {
                    Ok(p) => {
                        assert!(!p.is_probe());
                        p.record(at(10), Outcome::Failure);
                        true
                    }
                    Err(e) => {
                        assert_eq!(e.state(), State::HalfOpen);
                        false
                    }
                })
            };
            probe.record(at(10), Outcome::Success);
            let admitted = racer.join().unwrap();
            let expected = if admitted { State::Open } else { State::Closed };
            assert_eq!(b.state(at(10)), expected);
        });
    }
}
