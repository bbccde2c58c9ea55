//! What a simulation reports: per policy, counts, latency and a per-second timeline.

use core::fmt;
use core::time::Duration;

use steadfast::breaker::Transition;

use crate::{DependencyModel, Histogram, Load};

/// One second of a policy's run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Second {
    /// Requests that arrived.
    pub arrivals: u64,
    /// Requests that ended with success.
    pub successes: u64,
    /// Requests that ended with a failure.
    pub failures: u64,
    /// Calls that reached the dependency.
    pub dependency_calls: u64,
    /// Timeouts observed.
    pub timeouts: u64,
    /// The most requests in flight in the caller at once.
    pub max_in_flight: u64,
    /// The most calls in flight at the dependency at once.
    pub max_dependency_in_flight: u64,
    /// How long the breaker was open in this second (from its observed transitions; an open
    /// breaker turns half-open lazily, at the first call after its open time).
    pub open: Duration,
    /// Whether the breaker went half-open in this second.
    pub half_open: bool,
}

impl Second {
    /// Successes over ended requests, 0 to 1 (`None` when none ended).
    #[must_use]
    pub fn success_rate(&self) -> Option<f64> {
        let ended = self.successes + self.failures;
        (ended > 0).then(|| self.successes as f64 / ended as f64)
    }
}

/// What the engine held, to show that memory follows what is in flight and the duration,
/// not the number of requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// The most request tasks alive at once.
    pub peak_tasks: u64,
    /// Slots of the task table (it grows to the peak and is reused).
    pub task_slots: u64,
    /// The most deadlines in the heap at once (stale ones included until they surface).
    pub peak_timers: u64,
    /// Slots of the deadline table.
    pub timer_slots: u64,
    /// Task polls.
    pub polls: u64,
}

/// One policy's run. Fields are public, for assertions in tests; counts that come from the
/// core's events (attempts, retries, timeouts, the breaker's, the limiter's and the
/// bulkhead's) are counted from observed calls only (`.observe(&sim.observer())`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyReport {
    /// The policy's name.
    pub name: String,
    /// Requests that arrived.
    pub requests: u64,
    /// Requests whose policy future ended with success.
    pub successes: u64,
    /// Requests whose policy future ended with a failure.
    pub failures: u64,
    /// Requests still running when the simulation ended (hung, or past the drain time);
    /// neither successes nor failures, and not in the latency histograms.
    pub unfinished: u64,
    /// Successes within the simulation's [`slo`](crate::SimulationBuilder::slo) (all
    /// successes when none is set).
    pub good: u64,
    /// The simulation's SLO, if set.
    pub slo: Option<Duration>,
    /// Caller-seen latency of every ended request, from its arrival to its end.
    pub latency: Histogram,
    /// Caller-seen latency of the successful requests.
    pub success_latency: Histogram,
    /// Calls that reached the dependency (polled at least once).
    pub dependency_calls: u64,
    /// Dependency calls that ended with an error.
    pub dependency_errors: u64,
    /// Dependency calls dropped before their end (a timeout, a hedge's loser).
    pub dependency_cancelled: u64,
    /// Attempts started (`AttemptStarted` events: the retry's and the hedge's).
    pub attempts: u64,
    /// Retries scheduled.
    pub retries: u64,
    /// Retries (or hedges) the retry budget refused.
    pub budget_refusals: u64,
    /// Timeouts (attempt and total).
    pub timeouts: u64,
    /// Calls the breaker turned away.
    pub breaker_rejections: u64,
    /// Times the breaker opened.
    pub breaker_opened: u64,
    /// Every breaker transition, counted.
    pub transitions_total: u64,
    /// The first 1,024 breaker transitions, with their instants (from the run's start).
    pub transitions: Vec<Transition>,
    /// Attempts the rate limiter turned away.
    pub limiter_rejections: u64,
    /// Attempts that waited for the rate limiter.
    pub limiter_waits: u64,
    /// Calls the bulkhead turned away.
    pub bulkhead_rejections: u64,
    /// Calls that queued for a bulkhead permit.
    pub bulkhead_queued: u64,
    /// Hedges launched.
    pub hedges: u64,
    /// The most requests in flight in the caller at once.
    pub max_in_flight: u64,
    /// The most calls in flight at the dependency at once.
    pub max_dependency_in_flight: u64,
    pub(crate) dependency_in_flight_now: u64,
    /// One entry per second of virtual time, from the start to the end of the run.
    pub timeline: Vec<Second>,
    /// The virtual time the run took (its last event).
    pub elapsed: Duration,
    /// What the engine held.
    pub engine: EngineStats,
}

impl PolicyReport {
    /// Successes over requests, 0 to 1 (unfinished requests count as not successful).
    #[must_use]
    pub fn success_rate(&self) -> f64 {
        self.successes as f64 / self.requests.max(1) as f64
    }

    /// Successes within the SLO over requests, 0 to 1 (the success rate when no SLO is set).
    #[must_use]
    pub fn good_rate(&self) -> f64 {
        self.good as f64 / self.requests.max(1) as f64
    }

    /// Dependency calls per request: the load the policy puts on the dependency for each
    /// request (1 without retries or hedges; above 1 is amplification).
    #[must_use]
    pub fn attempts_per_request(&self) -> f64 {
        self.dependency_calls as f64 / self.requests.max(1) as f64
    }

    /// The caller-seen latency at quantile `q` (every ended request).
    #[must_use]
    pub fn latency_quantile(&self, q: f64) -> Duration {
        self.latency.quantile(q)
    }

    /// The seconds in which the breaker was open at some point.
    #[must_use]
    pub fn seconds_open(&self) -> usize {
        self.timeline.iter().filter(|s| !s.open.is_zero()).count()
    }
}

/// A whole simulation: the scenario and one [`PolicyReport`] per policy, in the order they
/// were added. `Display` prints them side by side; [`html`](Report::html) writes a page.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The seed.
    pub seed: u64,
    /// The dependency's model.
    pub dependency: DependencyModel,
    /// The load.
    pub load: Load,
    /// One report per policy.
    pub policies: Vec<PolicyReport>,
}

impl Report {
    /// The report of the policy named `name`.
    #[must_use]
    pub fn policy(&self, name: &str) -> Option<&PolicyReport> {
        self.policies.iter().find(|p| p.name == name)
    }
}

/// `1.2ms`, `340µs`, `2.50s`: three significant figures or so.
pub(crate) fn short(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 100.0 {
        format!("{s:.0}s")
    } else if s >= 1.0 {
        format!("{s:.2}s")
    } else if s >= 1e-3 {
        let ms = s * 1e3;
        if ms >= 100.0 {
            format!("{ms:.0}ms")
        } else {
            format!("{ms:.1}ms")
        }
    } else {
        format!("{:.0}µs", s * 1e6)
    }
}

/// The table's rows: a label and the value for each policy.
pub(crate) fn rows(policies: &[PolicyReport]) -> Vec<(String, Vec<String>)> {
    let col = |f: &dyn Fn(&PolicyReport) -> String| policies.iter().map(f).collect::<Vec<_>>();
    let mut rows = vec![
        ("requests".to_string(), col(&|p| p.requests.to_string())),
        (
            "success".to_string(),
            col(&|p| format!("{:.2}%", p.success_rate() * 100.0)),
        ),
        ("unfinished".to_string(), col(&|p| p.unfinished.to_string())),
        (
            "latency p50".to_string(),
            col(&|p| short(p.latency.quantile(0.5))),
        ),
        (
            "latency p90".to_string(),
            col(&|p| short(p.latency.quantile(0.9))),
        ),
        (
            "latency p99".to_string(),
            col(&|p| short(p.latency.quantile(0.99))),
        ),
        ("latency max".to_string(), col(&|p| short(p.latency.max()))),
        (
            "dependency calls".to_string(),
            col(&|p| p.dependency_calls.to_string()),
        ),
        (
            "calls per request".to_string(),
            col(&|p| format!("{:.3}", p.attempts_per_request())),
        ),
        (
            "max in flight (caller)".to_string(),
            col(&|p| p.max_in_flight.to_string()),
        ),
        (
            "max in flight (dependency)".to_string(),
            col(&|p| p.max_dependency_in_flight.to_string()),
        ),
        ("retries".to_string(), col(&|p| p.retries.to_string())),
        (
            "budget refusals".to_string(),
            col(&|p| p.budget_refusals.to_string()),
        ),
        ("timeouts".to_string(), col(&|p| p.timeouts.to_string())),
        (
            "breaker opened (s open)".to_string(),
            col(&|p| format!("{} ({})", p.breaker_opened, p.seconds_open())),
        ),
        (
            "breaker rejections".to_string(),
            col(&|p| p.breaker_rejections.to_string()),
        ),
        (
            "limiter rejected/waited".to_string(),
            col(&|p| format!("{}/{}", p.limiter_rejections, p.limiter_waits)),
        ),
        (
            "bulkhead rejected/queued".to_string(),
            col(&|p| format!("{}/{}", p.bulkhead_rejections, p.bulkhead_queued)),
        ),
    ];
    if let Some(slo) = policies.first().and_then(|p| p.slo) {
        let label = format!("success within {}", short(slo));
        rows.insert(
            2,
            (label, col(&|p| format!("{:.2}%", p.good_rate() * 100.0))),
        );
    }
    rows
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = rows(&self.policies);
        let label_w = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
        let widths: Vec<usize> = self
            .policies
            .iter()
            .enumerate()
            .map(|(i, p)| {
                rows.iter()
                    .map(|r| r.1[i].chars().count())
                    .chain([p.name.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        write!(f, "{:<label_w$}", "")?;
        for (p, w) in self.policies.iter().zip(&widths) {
            write!(f, "  {:>w$}", p.name)?;
        }
        writeln!(f)?;
        for (label, values) in &rows {
            write!(f, "{label:<label_w$}")?;
            for (v, w) in values.iter().zip(&widths) {
                write!(f, "  {v:>w$}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
