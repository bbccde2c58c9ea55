//! The breaker's settings and their builder.

use core::time::Duration;

use super::window::{self, Shape};
use super::{CircuitBreaker, Transition};
use crate::loom::loom_const_fn;
use crate::retry::RetryPolicy;
use crate::time::duration_to_nanos;
use crate::{ConfigError, Instant};

/// How the breaker decides to trip.
#[derive(Clone, Copy, Debug)]
pub(super) enum Model {
    /// After this many failures in a row.
    Consecutive(u32),
    /// When the failure (or slow-call) rate over the window reaches its threshold.
    Rate,
}

/// What a half-open breaker does with a probe's failure.
#[derive(Clone, Copy, Debug)]
pub(super) enum HalfOpenRule {
    /// The first failure re-opens.
    FirstFailure,
    /// Once every probe has reported, re-open if failures reach this percentage.
    Rate(u8),
}

/// Open durations from a retry policy's delays (see
/// [`open_backoff`](CircuitBreakerBuilder::open_backoff)). The builder stores the policy's
/// function beside it, so that a breaker without a policy links none of the policy's code.
#[derive(Clone, Copy, Debug)]
pub(super) struct Growth {
    pub(super) policy: &'static RetryPolicy,
    /// `(policy, n, previous duration in ns, now)`: the duration of the `n`th opening in a row.
    pub(super) delay: fn(&RetryPolicy, u32, u64, Instant) -> u64,
}

/// Every setting of a breaker, checked.
#[derive(Clone, Copy, Debug)]
pub(super) struct Settings {
    pub(super) shape: Shape,
    pub(super) min_calls: u32,
    pub(super) failure_pct: u8,
    /// A call slower than this many nanoseconds is slow; zero: no slow-call rule.
    pub(super) slow_nanos: u64,
    /// The slow-call rate that trips (with a slow-call rule).
    pub(super) slow_pct: u8,
    pub(super) open_nanos: u64,
    pub(super) max_open_nanos: u64,
    pub(super) growth: Option<Growth>,
    pub(super) probes: u16,
    pub(super) half_open: HalfOpenRule,
    pub(super) probe_timeout_nanos: u64,
    pub(super) on_transition: Option<fn(&Transition)>,
}

/// Settings for a [`CircuitBreaker`], checked by [`build`](Self::build) or, in a `static`,
/// by [`build_const`](Self::build_const).
///
/// Defaults: the failure rate over the last 100 outcomes, tripping at 50 % once 20 calls are
/// in the window; no slow-call rule; open for 30 s, the same on every re-open; one half-open
/// probe, whose first failure re-opens; a probe lease of 30 s.
#[derive(Clone, Copy, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct CircuitBreakerBuilder {
    model: Model,
    count: u32,
    time: Option<(Duration, u32)>,
    min_calls: u32,
    failure_pct: u8,
    slow: Option<(Duration, u8)>,
    open_for: Duration,
    max_open_for: Option<Duration>,
    open_backoff: Option<&'static RetryPolicy>,
    probes: u16,
    half_open: HalfOpenRule,
    probe_timeout: Duration,
    on_transition: Option<fn(&Transition)>,
}

const fn rate_ok(percent: u8) -> bool {
    percent >= 1 && percent <= 100
}

const fn invalid(field: &'static str, problem: &'static str) -> ConfigError {
    ConfigError::new("circuit breaker", field, problem)
}

impl CircuitBreakerBuilder {
    pub(super) const fn new() -> Self {
        CircuitBreakerBuilder {
            model: Model::Rate,
            count: 100,
            time: None,
            min_calls: 20,
            failure_pct: 50,
            slow: None,
            open_for: Duration::from_secs(30),
            max_open_for: None,
            open_backoff: None,
            probes: 1,
            half_open: HalfOpenRule::FirstFailure,
            probe_timeout: Duration::from_secs(30),
            on_transition: None,
        }
    }

    /// Trip after `failures` failures in a row (a success resets the count). No window is
    /// kept; the rate settings do not apply.
    pub const fn consecutive_failures(mut self, failures: u32) -> Self {
        self.model = Model::Consecutive(failures);
        self
    }

    /// Judge the rates over the last `size` outcomes (a ring: each outcome pushes the oldest
    /// out), once at least `min_calls` are in it. At most 32 outcomes per slot of the breaker
    /// (`CircuitBreaker<N>` holds `32 * N`).
    pub const fn count_window(mut self, size: u32, min_calls: u32) -> Self {
        self.model = Model::Rate;
        self.count = size;
        self.time = None;
        self.min_calls = min_calls;
        self
    }

    /// Judge the rates over the outcomes of the last `window` of the timer's monotonic clock,
    /// in `buckets` buckets of `window / buckets` (the oldest bucket is dropped whole as time
    /// moves on), once at least `min_calls` are in it. At most one bucket per slot of the
    /// breaker.
    pub const fn time_window(mut self, window: Duration, buckets: u32, min_calls: u32) -> Self {
        self.model = Model::Rate;
        self.time = Some((window, buckets));
        self.min_calls = min_calls;
        self
    }

    /// Trip when failures make up at least `percent` of the calls in the window (1 to 100).
    pub const fn failure_rate(mut self, percent: u8) -> Self {
        self.failure_pct = percent;
        self
    }

    /// Count a call that took longer than `threshold` as slow (whatever its outcome), and trip
    /// when slow calls make up at least `percent` of the window (1 to 100). Window models only.
    pub const fn slow_calls(mut self, threshold: Duration, percent: u8) -> Self {
        self.slow = Some((threshold, percent));
        self
    }

    /// How long the breaker stays open before it lets probes through.
    pub const fn open_for(mut self, duration: Duration) -> Self {
        self.open_for = duration;
        self
    }

    /// Grow the open duration on each re-open from half-open without a close in between:
    /// doubled each time, up to `max`. A close starts again from [`open_for`](Self::open_for).
    /// For another growth, or jitter, see [`open_backoff`](Self::open_backoff).
    pub const fn max_open_for(mut self, max: Duration) -> Self {
        self.max_open_for = Some(max);
        self
    }

    /// Take the open durations from a retry policy's delays: a trip from closed opens for the
    /// policy's delay before retry 1, and the `n`th re-open from half-open without a close in
    /// between for its delay before retry `n + 1`. The policy's backoff, `max_delay` cap,
    /// jitter and seed apply as they do to a retry (the jitter is drawn at each opening, seeded
    /// from the policy's seed setting and the instant of the opening); its attempts, deadline
    /// and timeouts do not. Replaces [`open_for`](Self::open_for) and
    /// [`max_open_for`](Self::max_open_for).
    ///
    /// A jittered draw of zero opens for no time: the next call is a probe.
    ///
    /// ```
    /// use core::time::Duration;
    /// use steadfast::breaker::CircuitBreaker;
    /// use steadfast::retry::{Jitter, RetryPolicy};
    ///
    /// // 5 s, 10 s, 20 s, ... up to 5 min, each between half of that and all of it.
    /// static OPEN: RetryPolicy = RetryPolicy::builder()
    ///     .exponential(Duration::from_secs(5), 2.0)
    ///     .max_delay(Duration::from_secs(300))
    ///     .jitter(Jitter::Equal)
    ///     .seed(0x5eed)
    ///     .build_const();
    ///
    /// static UPSTREAM: CircuitBreaker = CircuitBreaker::builder()
    ///     .consecutive_failures(5)
    ///     .open_backoff(&OPEN)
    ///     .build_const();
    /// # let _ = &UPSTREAM;
    /// ```
    pub const fn open_backoff(mut self, policy: &'static RetryPolicy) -> Self {
        self.open_backoff = Some(policy);
        self
    }

    /// How many calls a half-open breaker admits at once as probes; it closes once that many
    /// have succeeded.
    pub const fn half_open_probes(mut self, probes: u16) -> Self {
        self.probes = probes;
        self
    }

    /// Instead of re-opening on the first failed probe, wait for every probe's result and
    /// re-open when failures make up at least `percent` of them (1 to 100).
    pub const fn half_open_failure_rate(mut self, percent: u8) -> Self {
        self.half_open = HalfOpenRule::Rate(percent);
        self
    }

    /// The probes' lease: probes outstanding this long after the first of them was admitted
    /// count as a failure, and their results, when they come, are discarded.
    pub const fn probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout;
        self
    }

    /// Calls `f` on every change of state, after the breaker's lock is released (so `f` may
    /// use the breaker).
    pub const fn on_transition(mut self, f: fn(&Transition)) -> Self {
        self.on_transition = Some(f);
        self
    }

    loom_const_fn! {
        /// Checks the settings and builds the breaker.
        ///
        /// # Errors
        ///
        /// A [`ConfigError`] naming the first impossible setting: a zero count, size, duration
        /// or probe number, a rate outside 1..=100, a window larger than `N` slots hold,
        /// `max_open_for` below `open_for`, `max_open_for` beside `open_backoff`, or an
        /// `open_backoff` whose first delay is zero.
        pub fn build[const N: usize](self) -> Result<CircuitBreaker<N>, ConfigError> {
            match self.settings(N) {
                Ok(settings) => Ok(CircuitBreaker::with_settings(settings)),
                Err(e) => Err(e),
            }
        }
    }

    loom_const_fn! {
        /// [`build`](Self::build) for a `const` or `static`: a bad setting fails const
        /// evaluation (a compile error); at run time it panics with the error's field.
        pub fn build_const[const N: usize](self) -> CircuitBreaker<N> {
            match self.build() {
                Ok(b) => b,
                Err(e) => panic!("{}", e.field()),
            }
        }
    }

    const fn settings(self, slots: usize) -> Result<Settings, ConfigError> {
        let shape = match (self.model, self.time) {
            (Model::Consecutive(0), _) => {
                return Err(invalid("consecutive_failures", "must be at least 1"));
            }
            (Model::Consecutive(failures), _) => Shape::Consecutive { failures },
            (Model::Rate, None) => {
                if self.count == 0 {
                    return Err(invalid("count_window", "must hold at least 1 outcome"));
                }
                if self.count as u64 > 32 * slots as u64 {
                    return Err(invalid(
                        "count_window",
                        "holds more outcomes than the breaker's slots (32 each)",
                    ));
                }
                Shape::Count { size: self.count }
            }
            (Model::Rate, Some((window, buckets))) => {
                if buckets == 0 {
                    return Err(invalid("time_window", "needs at least 1 bucket"));
                }
                if buckets as usize > slots {
                    return Err(invalid(
                        "time_window",
                        "has more buckets than the breaker has slots",
                    ));
                }
                let bucket_nanos = duration_to_nanos(window) / buckets as u64;
                if bucket_nanos == 0 {
                    return Err(invalid("time_window", "must be at least 1 ns per bucket"));
                }
                Shape::Time {
                    buckets,
                    bucket_nanos,
                    recip: u64::MAX / bucket_nanos,
                    code: &window::TIME,
                }
            }
        };
        if matches!(self.model, Model::Rate) {
            if self.min_calls == 0 {
                return Err(invalid("min_calls", "must be at least 1"));
            }
            if !rate_ok(self.failure_pct) {
                return Err(invalid(
                    "failure_rate",
                    "must be between 1 and 100 (percent)",
                ));
            }
        }
        let (slow_nanos, slow_pct) = match self.slow {
            None => (0, 0),
            Some((threshold, pct)) => {
                if threshold.is_zero() {
                    return Err(invalid("slow_calls", "threshold must be above zero"));
                }
                if !rate_ok(pct) {
                    return Err(invalid(
                        "slow_calls",
                        "rate must be between 1 and 100 (percent)",
                    ));
                }
                // At least 1: a zero threshold is refused above.
                (duration_to_nanos(threshold), pct)
            }
        };
        if self.open_for.is_zero() {
            return Err(invalid("open_for", "must be above zero"));
        }
        let open_nanos = duration_to_nanos(self.open_for);
        let max_open_nanos = match self.max_open_for {
            None => open_nanos,
            Some(max) => {
                let max = duration_to_nanos(max);
                if max < open_nanos {
                    return Err(invalid("max_open_for", "must be at least open_for"));
                }
                max
            }
        };
        let growth = match self.open_backoff {
            None => None,
            Some(policy) => {
                if self.max_open_for.is_some() {
                    return Err(invalid(
                        "max_open_for",
                        "does not apply with open_backoff (its policy's max_delay caps it)",
                    ));
                }
                if let Some(base) = policy.backoff().base() {
                    if base.is_zero() {
                        return Err(invalid("open_backoff", "first delay must be above zero"));
                    }
                }
                Some(Growth {
                    policy,
                    delay: RetryPolicy::nth_delay,
                })
            }
        };
        if self.probes == 0 {
            return Err(invalid("half_open_probes", "must be at least 1"));
        }
        if let HalfOpenRule::Rate(p) = self.half_open {
            if !rate_ok(p) {
                return Err(invalid(
                    "half_open_failure_rate",
                    "must be between 1 and 100 (percent)",
                ));
            }
        }
        if self.probe_timeout.is_zero() {
            return Err(invalid("probe_timeout", "must be above zero"));
        }
        Ok(Settings {
            shape,
            min_calls: self.min_calls,
            failure_pct: self.failure_pct,
            slow_nanos,
            slow_pct,
            open_nanos,
            max_open_nanos,
            growth,
            probes: self.probes,
            half_open: self.half_open,
            probe_timeout_nanos: duration_to_nanos(self.probe_timeout),
            on_transition: self.on_transition,
        })
    }
}
