//! What a run counts while it runs, into a [`PolicyReport`].

use core::time::Duration;

use steadfast::breaker::{State, Transition};
use steadfast::observe::Event;

use crate::report::{PolicyReport, Second};

/// Breaker transitions kept with their instants; later ones are only counted.
pub(crate) const KEPT_TRANSITIONS: usize = 1024;
const SECOND: u64 = 1_000_000_000;

#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) report: PolicyReport,
    in_flight: u64,
    open_since: Option<u64>,
}

impl Recorder {
    pub(crate) fn new(name: &str, slo: Option<Duration>) -> Self {
        let mut r = Recorder::default();
        r.report.name = name.to_string();
        r.report.slo = slo;
        r
    }

    /// The second holding `now`, the timeline grown to it (new seconds start at the levels
    /// in flight now).
    fn second(&mut self, now: u64) -> &mut Second {
        let i = (now / SECOND) as usize;
        let t = &mut self.report.timeline;
        if t.len() <= i {
            let fill = Second {
                max_in_flight: self.in_flight,
                max_dependency_in_flight: self.report.dependency_in_flight_now,
                ..Second::default()
            };
            t.resize(i + 1, fill);
        }
        &mut t[i]
    }

    pub(crate) fn arrival(&mut self, now: u64) {
        self.in_flight += 1;
        let n = self.in_flight;
        self.report.requests += 1;
        self.report.max_in_flight = self.report.max_in_flight.max(n);
        let s = self.second(now);
        s.arrivals += 1;
        s.max_in_flight = s.max_in_flight.max(n);
    }

    pub(crate) fn ended(&mut self, now: u64, arrived: u64, ok: bool) {
        self.in_flight -= 1;
        let latency = Duration::from_nanos(now - arrived);
        self.report.latency.record(latency);
        if ok {
            self.report.successes += 1;
            if self.report.slo.is_none_or(|slo| latency <= slo) {
                self.report.good += 1;
            }
            self.report.success_latency.record(latency);
        } else {
            self.report.failures += 1;
        }
        let s = self.second(now);
        if ok {
            s.successes += 1;
        } else {
            s.failures += 1;
        }
    }

    pub(crate) fn unfinished(&mut self) {
        self.in_flight -= 1;
        self.report.unfinished += 1;
    }

    pub(crate) fn dependency_call(&mut self, now: u64, in_flight: u32) {
        let n = u64::from(in_flight);
        self.report.dependency_calls += 1;
        self.report.dependency_in_flight_now = n;
        self.report.max_dependency_in_flight = self.report.max_dependency_in_flight.max(n);
        let s = self.second(now);
        s.dependency_calls += 1;
        s.max_dependency_in_flight = s.max_dependency_in_flight.max(n);
    }

    pub(crate) fn dependency_ended(&mut self, ok: bool) {
        self.report.dependency_in_flight_now =
            self.report.dependency_in_flight_now.saturating_sub(1);
        if !ok {
            self.report.dependency_errors += 1;
        }
    }

    pub(crate) fn dependency_cancelled(&mut self) {
        self.report.dependency_in_flight_now =
            self.report.dependency_in_flight_now.saturating_sub(1);
        self.report.dependency_cancelled += 1;
    }

    pub(crate) fn event(&mut self, now: u64, event: &Event) {
        let r = &mut self.report;
        match *event {
            Event::AttemptStarted { .. } => r.attempts += 1,
            Event::RetryScheduled { .. } => r.retries += 1,
            Event::BudgetRefused { .. } => r.budget_refusals += 1,
            Event::TimedOut { .. } => {
                r.timeouts += 1;
                self.second(now).timeouts += 1;
            }
            Event::BreakerTransition(t) => self.transition(now, t),
            Event::BreakerRejected { .. } => r.breaker_rejections += 1,
            Event::LimiterWaiting => r.limiter_waits += 1,
            Event::LimiterRejected { .. } => r.limiter_rejections += 1,
            Event::BulkheadQueued => r.bulkhead_queued += 1,
            Event::BulkheadRejected(_) => r.bulkhead_rejections += 1,
            Event::HedgeLaunched { .. } => r.hedges += 1,
            _ => {}
        }
    }

    fn transition(&mut self, now: u64, t: Transition) {
        let r = &mut self.report;
        r.transitions_total += 1;
        if r.transitions.len() < KEPT_TRANSITIONS {
            r.transitions.push(t);
        }
        let open = |s: State| matches!(s, State::Open | State::ForcedOpen);
        if open(t.to) {
            r.breaker_opened += 1;
            if self.open_since.is_none() {
                self.open_since = Some(now);
            }
        } else if let Some(since) = self.open_since.take() {
            self.add_open(since, now);
        }
        if t.to == State::HalfOpen {
            self.second(now).half_open = true;
        }
    }

    /// Counts `[from, to)` as open time, second by second.
    fn add_open(&mut self, from: u64, to: u64) {
        if to <= from {
            return;
        }
        self.second(to - 1);
        let mut t = from;
        while t < to {
            let end = ((t / SECOND) + 1).saturating_mul(SECOND).min(to);
            let s = &mut self.report.timeline[(t / SECOND) as usize];
            s.open += Duration::from_nanos(end - t);
            t = end;
        }
    }

    /// Closes the books at `now`.
    pub(crate) fn finish(&mut self, now: u64) -> PolicyReport {
        if let Some(since) = self.open_since.take() {
            self.add_open(since, now);
        }
        self.report.elapsed = Duration::from_nanos(now);
        core::mem::take(&mut self.report)
    }
}
