//! The fault model of the dependency: latency, errors, outages, brownouts, slow calls and a
//! capacity.

use core::ops::Range;
use core::time::Duration;

use crate::ConfigError;

/// The longest latency a draw gives (heavy tails are cut here): one hour.
const LONGEST: f64 = 3600.0;

/// A latency distribution. Validated when the model using it is built.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Latency {
    /// Always this long.
    Fixed(Duration),
    /// Uniform between the two, both included.
    Uniform(Duration, Duration),
    /// Log-normal with this median, and this 99th percentile (at least the median).
    LogNormal {
        /// The median.
        median: Duration,
        /// The 99th percentile.
        p99: Duration,
    },
    /// Pareto (heavy-tailed): never below `min`; `shape` above zero (smaller is heavier;
    /// at 1 or below the mean is infinite, and draws are cut at one hour).
    Pareto {
        /// The smallest latency, the distribution's scale.
        min: Duration,
        /// The tail index.
        shape: f64,
    },
}

impl Latency {
    /// Always `d`.
    #[must_use]
    pub const fn fixed(d: Duration) -> Self {
        Latency::Fixed(d)
    }

    /// Uniform between `lo` and `hi`.
    #[must_use]
    pub const fn uniform(lo: Duration, hi: Duration) -> Self {
        Latency::Uniform(lo, hi)
    }

    /// Log-normal with this median and 99th percentile.
    #[must_use]
    pub const fn lognormal(median: Duration, p99: Duration) -> Self {
        Latency::LogNormal { median, p99 }
    }

    /// Pareto from `min`, with tail index `shape`.
    #[must_use]
    pub const fn pareto(min: Duration, shape: f64) -> Self {
        Latency::Pareto { min, shape }
    }

    pub(crate) fn check(
        &self,
        model: &'static str,
        setting: &'static str,
    ) -> Result<(), ConfigError> {
        let bad = |problem| Err(ConfigError::new(model, setting, problem));
        match *self {
            Latency::Fixed(_) => Ok(()),
            Latency::Uniform(lo, hi) if lo > hi => {
                bad("uniform: the low end is above the high end")
            }
            Latency::Uniform(..) => Ok(()),
            Latency::LogNormal { median, .. } if median.is_zero() => {
                bad("lognormal: the median must be above zero")
            }
            Latency::LogNormal { median, p99 } if p99 < median => {
                bad("lognormal: the p99 must be at least the median")
            }
            Latency::LogNormal { .. } => Ok(()),
            Latency::Pareto { min, .. } if min.is_zero() => bad("pareto: min must be above zero"),
            Latency::Pareto { shape, .. } if !(shape.is_finite() && shape > 0.0) => {
                bad("pareto: shape must be a finite number above zero")
            }
            Latency::Pareto { .. } => Ok(()),
        }
    }

    /// A draw, in seconds, from two uniforms in `[0, 1)`.
    pub(crate) fn sample(&self, u: f64, v: f64) -> f64 {
        let s = match *self {
            Latency::Fixed(d) => d.as_secs_f64(),
            Latency::Uniform(lo, hi) => {
                lo.as_secs_f64() + (hi.as_secs_f64() - lo.as_secs_f64()) * u
            }
            Latency::LogNormal { median, p99 } => {
                // z of the 99th percentile of the standard normal.
                let sigma = (p99.as_secs_f64() / median.as_secs_f64()).ln() / 2.326_347_874;
                // Box-Muller; 1 - u lies in (0, 1].
                let z = (-2.0 * (1.0 - u).ln()).sqrt() * (core::f64::consts::TAU * v).cos();
                median.as_secs_f64() * (sigma * z).exp()
            }
            Latency::Pareto { min, shape } => min.as_secs_f64() / (1.0 - u).powf(1.0 / shape),
        };
        if s.is_finite() {
            s.clamp(0.0, LONGEST)
        } else {
            LONGEST
        }
    }
}

impl core::fmt::Display for Latency {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use crate::report::short;
        match *self {
            Latency::Fixed(d) => write!(f, "{}", short(d)),
            Latency::Uniform(lo, hi) => write!(f, "uniform {}-{}", short(lo), short(hi)),
            Latency::LogNormal { median, p99 } => {
                write!(
                    f,
                    "log-normal, median {}, p99 {}",
                    short(median),
                    short(p99)
                )
            }
            Latency::Pareto { min, shape } => {
                write!(f, "Pareto from {}, shape {shape}", short(min))
            }
        }
    }
}

/// What the dependency does during an [`outage`](DependencyModelBuilder::outage).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutageMode {
    /// A call fails at once ([`DependencyError::Outage`](crate::DependencyError)): nothing
    /// listens (connection refused).
    Fail,
    /// A call gets no answer until the outage ends, then fails
    /// ([`DependencyError::Outage`](crate::DependencyError)): a hung dependency that resets
    /// its connections when it comes back.
    Hang,
}

/// A window of degraded service: latencies multiplied, errors added.
#[derive(Clone, Debug, PartialEq)]
pub struct Brownout {
    pub(crate) window: Range<Duration>,
    pub(crate) latency_factor: f64,
    pub(crate) extra_error_rate: f64,
}

impl Brownout {
    /// A brownout from `window.start` to `window.end` (on the simulation's clock, from its
    /// start), changing nothing until set.
    #[must_use]
    pub fn new(window: Range<Duration>) -> Self {
        Brownout {
            window,
            latency_factor: 1.0,
            extra_error_rate: 0.0,
        }
    }

    /// Every call's latency is multiplied by `factor` (above zero; 1 by default).
    #[must_use]
    pub fn latency_factor(mut self, factor: f64) -> Self {
        self.latency_factor = factor;
        self
    }

    /// This much error rate is added to the model's (0 to 1; 0 by default).
    #[must_use]
    pub fn extra_error_rate(mut self, rate: f64) -> Self {
        self.extra_error_rate = rate;
        self
    }
}

/// The dependency a policy calls, as a fault model: each call, on its first poll, draws its
/// latency and its outcome from the model at that virtual instant. Built with
/// [`DependencyModel::builder`].
///
/// How one call is decided, in order:
///
/// 1. Inside an outage window: it fails at once, or hangs until the window's end and then
///    fails ([`OutageMode`]).
/// 2. Its latency: from the slow calls' distribution for the slow fraction, else the model's.
/// 3. Times the latency factor of every brownout window it falls in.
/// 4. Over capacity: with `n` calls in flight (this one included) above the capacity `c`,
///    times `n / c` (a server sharing itself among its callers).
/// 5. It fails ([`DependencyError::Error`](crate::DependencyError)) with the error rate plus
///    every brownout's extra rate (at most 1), after its latency; else it succeeds.
///
/// A call's draws are a pure function of the seed, the request's number and the call's number
/// within the request, so two policies meet the same faults for the same attempt of the same
/// request (common random numbers: their differences are the policies', not the dice's).
#[derive(Clone, Debug, PartialEq)]
pub struct DependencyModel {
    pub(crate) latency: Latency,
    pub(crate) error_rate: f64,
    pub(crate) slow: Option<(f64, Latency)>,
    pub(crate) outages: Vec<(Range<Duration>, OutageMode)>,
    pub(crate) brownouts: Vec<Brownout>,
    pub(crate) capacity: Option<u32>,
}

/// The settings of a [`DependencyModel`], checked by [`build`](Self::build).
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until built"]
pub struct DependencyModelBuilder {
    model: DependencyModel,
}

impl DependencyModel {
    /// A dependency answering every call successfully after 10 ms, until set otherwise.
    pub fn builder() -> DependencyModelBuilder {
        DependencyModelBuilder {
            model: DependencyModel {
                latency: Latency::Fixed(Duration::from_millis(10)),
                error_rate: 0.0,
                slow: None,
                outages: Vec::new(),
                brownouts: Vec::new(),
                capacity: None,
            },
        }
    }

    /// The outage windows.
    #[must_use]
    pub fn outages(&self) -> &[(Range<Duration>, OutageMode)] {
        &self.outages
    }

    /// The brownout windows.
    pub fn brownouts(&self) -> impl Iterator<Item = &Range<Duration>> + '_ {
        self.brownouts.iter().map(|b| &b.window)
    }
}

impl DependencyModelBuilder {
    /// The latency of a call (10 ms fixed by default).
    pub fn latency(mut self, latency: Latency) -> Self {
        self.model.latency = latency;
        self
    }

    /// The fraction of calls that fail, 0 to 1 (0 by default).
    pub fn error_rate(mut self, rate: f64) -> Self {
        self.model.error_rate = rate;
        self
    }

    /// A fraction of calls (0 to 1) is slow: their latency comes from `latency`.
    pub fn slow(mut self, fraction: f64, latency: Latency) -> Self {
        self.model.slow = Some((fraction, latency));
        self
    }

    /// An outage from `window.start` to `window.end` (from the simulation's start). Windows
    /// may repeat; they may not be empty.
    pub fn outage(mut self, window: Range<Duration>, mode: OutageMode) -> Self {
        self.model.outages.push((window, mode));
        self
    }

    /// A brownout window.
    pub fn brownout(mut self, brownout: Brownout) -> Self {
        self.model.brownouts.push(brownout);
        self
    }

    /// Above `calls` in flight at once, latency climbs in proportion to the calls in flight
    /// (see [`DependencyModel`]). At least 1.
    pub fn capacity(mut self, calls: u32) -> Self {
        self.model.capacity = Some(calls);
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] (model `"dependency"`) naming the setting: a rate outside 0 to 1, a
    /// latency distribution out of shape, an empty window, a brownout factor not above zero,
    /// a capacity of zero.
    pub fn build(self) -> Result<DependencyModel, ConfigError> {
        let m = self.model;
        let bad = |setting, problem| Err(ConfigError::new("dependency", setting, problem));
        let rate = |r: f64| (0.0..=1.0).contains(&r);
        m.latency.check("dependency", "latency")?;
        if !rate(m.error_rate) {
            return bad("error_rate", "must be within 0 and 1");
        }
        if let Some((fraction, latency)) = &m.slow {
            if !rate(*fraction) {
                return bad("slow", "the fraction must be within 0 and 1");
            }
            latency.check("dependency", "slow")?;
        }
        if m.outages.iter().any(|(w, _)| w.start >= w.end) {
            return bad("outage", "the window must end after it starts");
        }
        for b in &m.brownouts {
            if b.window.start >= b.window.end {
                return bad("brownout", "the window must end after it starts");
            }
            if !(b.latency_factor.is_finite() && b.latency_factor > 0.0) {
                return bad(
                    "brownout",
                    "the latency factor must be a finite number above zero",
                );
            }
            if !rate(b.extra_error_rate) {
                return bad("brownout", "the extra error rate must be within 0 and 1");
            }
        }
        if m.capacity == Some(0) {
            return bad("capacity", "must be at least 1");
        }
        Ok(m)
    }
}

/// What one call does, decided on its first poll.
pub(crate) enum Decision {
    /// Answers after this many nanoseconds, with this result.
    After(u64, Result<(), crate::DependencyError>),
    /// Fails at this instant (nanoseconds).
    At(u64),
}

impl DependencyModel {
    /// Decides a call made at `now` (nanoseconds) with `in_flight` calls in flight, this one
    /// included.
    pub(crate) fn decide(&self, now: u64, in_flight: u32, draws: crate::rng::Draws) -> Decision {
        let t = Duration::from_nanos(now);
        for (w, mode) in &self.outages {
            if w.contains(&t) {
                return match mode {
                    OutageMode::Fail => Decision::After(0, Err(crate::DependencyError::Outage)),
                    OutageMode::Hang => Decision::At(duration_nanos(w.end)),
                };
            }
        }
        let latency = match &self.slow {
            Some((fraction, slow)) if draws.unit(0) < *fraction => slow,
            _ => &self.latency,
        };
        let mut secs = latency.sample(draws.unit(1), draws.unit(2));
        let mut error_rate = self.error_rate;
        for b in &self.brownouts {
            if b.window.contains(&t) {
                secs *= b.latency_factor;
                error_rate += b.extra_error_rate;
            }
        }
        if let Some(c) = self.capacity {
            if in_flight > c {
                secs *= f64::from(in_flight) / f64::from(c);
            }
        }
        let nanos = (secs.min(LONGEST) * 1e9) as u64;
        let result = if draws.unit(3) < error_rate {
            Err(crate::DependencyError::Error)
        } else {
            Ok(())
        };
        Decision::After(nanos, result)
    }
}

pub(crate) fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
