//! The breaker's state machine: plain data fed `Instant`s, no lock, no clock, no allocation.
//! The handle in `mod.rs` keeps one behind a lock and calls these with the time.

use super::builder::{HalfOpenRule, Settings};
use super::window::{Shape, Window};
use super::{CircuitOpen, Outcome, State, Transition};
use crate::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Closed,
    Open {
        until: Instant,
    },
    HalfOpen {
        in_flight: u16,
        successes: u16,
        failures: u16,
        /// When the outstanding probes' lease runs out (meaningful while `in_flight > 0`).
        lease_until: Instant,
    },
    ForcedOpen,
    Disabled,
}

/// What an admitted call holds: the epoch of the state that admitted it, and whether it is a
/// half-open probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Ticket {
    pub(super) epoch: u32,
    pub(super) probe: bool,
    /// Its outcome is in (or it was never admitted): dropping it frees nothing.
    pub(super) recorded: bool,
}

impl Ticket {
    /// The ticket of a call not admitted yet: it holds nothing.
    pub(super) const NONE: Ticket = Ticket {
        epoch: 0,
        probe: false,
        recorded: true,
    };
}

/// Counters read by `metrics`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Counts {
    pub(super) state: State,
    pub(super) calls: u32,
    pub(super) failures: u32,
    pub(super) slow: u32,
    pub(super) consecutive_failures: u32,
    pub(super) probes_in_flight: u16,
}

#[derive(Debug)]
pub(super) struct Machine<const N: usize> {
    mode: Mode,
    /// Bumped on every change of state (30 bits, wrapping): a result carrying an older epoch
    /// is discarded.
    epoch: u32,
    consecutive_failures: u32,
    /// Re-opens from half-open since the last close: the open duration grows with them.
    reopens: u32,
    /// The last open duration in nanoseconds (a decorrelated jitter draws from it).
    last_open: u64,
    window: Window<N>,
}

/// The time of an admission or a result, read from the clock only if the machine needs it: a
/// closed breaker without a time window or a slow-call rule never does.
pub(super) struct Now<'a> {
    read: Option<&'a dyn Fn() -> Instant>,
    at: Instant,
}

impl<'a> Now<'a> {
    /// A time already known.
    pub(super) const fn at(at: Instant) -> Self {
        Now { read: None, at }
    }

    /// The clock, read at most once, on first need.
    pub(super) const fn lazy(read: &'a dyn Fn() -> Instant) -> Self {
        Now {
            read: Some(read),
            at: Instant::ZERO,
        }
    }

    // One copy for every caller: the machine reads the time at several points.
    #[inline(never)]
    pub(super) fn get(&mut self) -> Instant {
        if let Some(read) = self.read.take() {
            self.at = read();
        }
        self.at
    }
}

impl Settings {
    /// Whether closed-state bookkeeping needs the time: a time window or a slow-call rule.
    pub(super) const fn needs_time(&self) -> bool {
        self.slow_nanos != 0 || matches!(self.shape, Shape::Time { .. })
    }
}

/// The gate's bits of an admission through it ([`Machine::gate`]): every call is admitted, and
/// a success recorded changes nothing.
pub(super) const QUIET: u32 = 0b11;

/// The epoch after `epoch`: 30 bits, so that [`Machine::gate`] packs it with two flags.
const fn next_epoch(epoch: u32) -> u32 {
    epoch.wrapping_add(1) & (u32::MAX >> 2)
}

/// `now` plus `nanos`, saturating at [`Instant::MAX`] ("never").
const fn later(now: Instant, nanos: u64) -> Instant {
    Instant::from_nanos(now.as_nanos().saturating_add(nanos))
}

const fn public(mode: Mode) -> State {
    match mode {
        Mode::Closed => State::Closed,
        Mode::Open { .. } => State::Open,
        Mode::HalfOpen { .. } => State::HalfOpen,
        Mode::ForcedOpen => State::ForcedOpen,
        Mode::Disabled => State::Disabled,
    }
}

impl<const N: usize> Machine<N> {
    pub(super) const fn new() -> Self {
        Machine {
            mode: Mode::Closed,
            epoch: 0,
            consecutive_failures: 0,
            reopens: 0,
            last_open: 0,
            window: Window::new(),
        }
    }

    /// The gate word a closed breaker admits and records through without its lock: the epoch
    /// shifted left by two, bit 0 set when every call is admitted (closed or disabled), bit 1
    /// when a success (or an ignored outcome) of a call admitted so would change nothing
    /// ([`QUIET`]).
    pub(super) const fn gate(&self, s: &Settings) -> u32 {
        let open_door = matches!(self.mode, Mode::Closed | Mode::Disabled);
        (self.epoch << 2) | (open_door as u32) | ((self.success_is_noop(s) as u32) << 1)
    }

    /// Whether recording a success changes nothing: disabled (nothing is recorded), or closed
    /// with no failures in a row, no slow-call rule, and either no window or a full count
    /// window with no failure in it (a success then pushes out a success: the ring of
    /// all-successes is the same from any position).
    const fn success_is_noop(&self, s: &Settings) -> bool {
        match self.mode {
            Mode::Disabled => true,
            Mode::Closed => {
                self.consecutive_failures == 0
                    && s.slow_nanos == 0
                    && match s.shape {
                        Shape::Consecutive { .. } => true,
                        Shape::Count { size } => self.window.is_full_and_clean(size),
                        Shape::Time { .. } => false,
                    }
            }
            _ => false,
        }
    }

    /// The state a call at `now` would meet, without changing anything: an open breaker
    /// whose time is up reads half-open, a half-open one whose probe lease ran out reads open.
    pub(super) fn state(&self, now: Instant) -> State {
        match self.mode {
            Mode::Open { until } if now >= until => State::HalfOpen,
            Mode::HalfOpen {
                in_flight,
                lease_until,
                ..
            } if in_flight > 0 && now >= lease_until => State::Open,
            mode => public(mode),
        }
    }

    /// Whether this breaker is indistinguishable from a new one: closed, with no failure or
    /// slow call in its window and (under the consecutive-failures rule) no failures in a row.
    pub(super) fn is_fresh(&self, s: &Settings, now: Instant) -> bool {
        let t = self.window.totals(s.shape, now.as_nanos());
        let in_a_row =
            matches!(s.shape, Shape::Consecutive { .. }) && self.consecutive_failures > 0;
        matches!(self.mode, Mode::Closed) && !in_a_row && t.failures == 0 && t.slow == 0
    }

    pub(super) fn counts(&self, s: &Settings, now: Instant) -> Counts {
        let t = self.window.totals(s.shape, now.as_nanos());
        let probes_in_flight = match self.mode {
            Mode::HalfOpen { in_flight, .. } if self.state(now) == State::HalfOpen => in_flight,
            _ => 0,
        };
        Counts {
            state: self.state(now),
            calls: t.calls,
            failures: t.failures,
            slow: t.slow,
            consecutive_failures: self.consecutive_failures,
            probes_in_flight,
        }
    }

    /// Admits a call, or says why not. The ticket comes with the admission time (read only
    /// when the slow-call rule or a time window needs it, [`Instant::ZERO`] otherwise).
    pub(super) fn admit(
        &mut self,
        s: &Settings,
        clock: &mut Now<'_>,
    ) -> (Result<(Ticket, Instant), CircuitOpen>, Option<Transition>) {
        let quiet = matches!(self.mode, Mode::Closed | Mode::Disabled) && !s.needs_time();
        let now = if quiet { Instant::ZERO } else { clock.get() };
        let transition = if quiet { None } else { self.catch_up(s, now) };
        let ticket = |epoch, probe| Ticket {
            epoch,
            probe,
            recorded: false,
        };
        let result = match &mut self.mode {
            Mode::Closed | Mode::Disabled => Ok((ticket(self.epoch, false), now)),
            Mode::Open { until } => Err(CircuitOpen::new(
                State::Open,
                Some(until.as_nanos().saturating_sub(now.as_nanos())),
            )),
            Mode::ForcedOpen => Err(CircuitOpen::new(State::ForcedOpen, None)),
            Mode::HalfOpen {
                in_flight,
                successes,
                failures,
                lease_until,
            } => {
                if *in_flight + *successes + *failures < s.probes {
                    if *in_flight == 0 {
                        *lease_until = later(now, s.probe_timeout_nanos);
                    }
                    *in_flight += 1;
                    Ok((ticket(self.epoch, true), now))
                } else {
                    Err(CircuitOpen::new(State::HalfOpen, None))
                }
            }
        };
        (result, transition)
    }

    /// Records the result of a call admitted at `admitted`. A result from an older state (its
    /// epoch passed) is discarded.
    pub(super) fn record(
        &mut self,
        s: &Settings,
        ticket: Ticket,
        clock: &mut Now<'_>,
        admitted: Instant,
        outcome: Outcome,
    ) -> Option<Transition> {
        if !matches!(self.mode, Mode::Closed | Mode::Disabled) {
            if let Some(t) = self.catch_up(s, clock.get()) {
                // The lease ran out before this result came: it is discarded with its epoch.
                return Some(t);
            }
        }
        if ticket.epoch != self.epoch {
            return None;
        }
        let slow = s.slow_nanos != 0
            && clock.get().as_nanos().saturating_sub(admitted.as_nanos()) > s.slow_nanos;
        let failure = match outcome {
            Outcome::Ignored => return self.release(ticket),
            Outcome::Failure => true,
            Outcome::Success => false,
        };
        match &mut self.mode {
            Mode::Closed => {
                self.consecutive_failures = if failure {
                    self.consecutive_failures.saturating_add(1)
                } else {
                    0
                };
                // A count window or a consecutive rule reads the clock only to trip.
                let now = if s.needs_time() {
                    clock.get()
                } else {
                    Instant::ZERO
                };
                self.window.record(s.shape, now.as_nanos(), failure, slow);
                if (failure || slow) && self.should_trip(s, now) {
                    return Some(self.open(s, clock.get(), false));
                }
                None
            }
            Mode::HalfOpen {
                in_flight,
                successes,
                failures,
                ..
            } if ticket.probe => {
                *in_flight -= 1;
                // In half-open a slow probe is as bad as a failed one.
                if failure || slow {
                    *failures += 1;
                } else {
                    *successes += 1;
                }
                let decided = *successes + *failures >= s.probes;
                let reopen = match s.half_open {
                    HalfOpenRule::FirstFailure => *failures > 0,
                    HalfOpenRule::Rate(pct) => {
                        decided && (*failures as u32) * 100 >= pct as u32 * s.probes as u32
                    }
                };
                if reopen {
                    Some(self.open(s, clock.get(), true))
                } else if decided {
                    Some(self.close(clock.get()))
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Frees a probe slot without a result (the call was cancelled, or its outcome ignored).
    pub(super) fn release(&mut self, ticket: Ticket) -> Option<Transition> {
        if let Mode::HalfOpen { in_flight, .. } = &mut self.mode {
            if ticket.probe && ticket.epoch == self.epoch {
                *in_flight -= 1;
            }
        }
        None
    }

    /// Opens until `until`, whatever the state (an external trip, e.g. a 429's Retry-After).
    pub(super) fn trip_until(&mut self, until: Instant, now: Instant) -> Option<Transition> {
        self.set(Mode::Open { until }, now)
    }

    /// Holds the breaker open until it is reset or disabled.
    pub(super) fn force_open(&mut self, now: Instant) -> Option<Transition> {
        self.set(Mode::ForcedOpen, now)
    }

    /// Admits every call and records nothing until it is reset or forced open.
    pub(super) fn disable(&mut self, now: Instant) -> Option<Transition> {
        self.set(Mode::Disabled, now)
    }

    /// Closed, with an empty window.
    pub(super) fn reset(&mut self, now: Instant) -> Option<Transition> {
        Some(self.close(now))
    }

    fn set(&mut self, mode: Mode, now: Instant) -> Option<Transition> {
        let from = self.state(now);
        self.mode = mode;
        self.epoch = next_epoch(self.epoch);
        Some(Transition {
            from,
            to: public(mode),
            at: now,
        })
    }

    /// Moves the state on with time: open → half-open when its time is up, and an expired
    /// probe lease counts as a failed probe (re-open).
    fn catch_up(&mut self, s: &Settings, now: Instant) -> Option<Transition> {
        match self.mode {
            Mode::Open { until } if now >= until => {
                self.mode = Mode::HalfOpen {
                    in_flight: 0,
                    successes: 0,
                    failures: 0,
                    lease_until: Instant::MAX,
                };
                self.epoch = next_epoch(self.epoch);
                Some(Transition {
                    from: State::Open,
                    to: State::HalfOpen,
                    at: now,
                })
            }
            Mode::HalfOpen {
                in_flight,
                lease_until,
                ..
            } if in_flight > 0 && now >= lease_until => Some(self.open(s, now, true)),
            _ => None,
        }
    }

    fn should_trip(&self, s: &Settings, now: Instant) -> bool {
        match s.shape {
            Shape::Consecutive { failures } => self.consecutive_failures >= failures,
            Shape::Count { .. } | Shape::Time { .. } => {
                let t = self.window.totals(s.shape, now.as_nanos());
                let calls = t.calls as u64;
                calls >= s.min_calls as u64
                    && (t.failures as u64 * 100 >= s.failure_pct as u64 * calls
                        || s.slow_nanos != 0 && t.slow as u64 * 100 >= s.slow_pct as u64 * calls)
            }
        }
    }

    /// Opens for the retry policy's delay for this opening in a row, or for the base duration
    /// doubled for each re-open since the last close, capped.
    fn open(&mut self, s: &Settings, now: Instant, reopen: bool) -> Transition {
        let from = public(self.mode);
        self.reopens = if reopen {
            self.reopens.saturating_add(1)
        } else {
            0
        };
        let nanos = match s.growth {
            Some(g) => (g.delay)(
                g.policy,
                self.reopens.saturating_add(1),
                self.last_open,
                now,
            ),
            None => {
                // Doubled once per re-open, saturating, until the cap: no 64-bit shift.
                let mut nanos = s.open_nanos;
                for _ in 0..self.reopens {
                    if nanos >= s.max_open_nanos {
                        break;
                    }
                    nanos = nanos.saturating_add(nanos);
                }
                nanos.min(s.max_open_nanos)
            }
        };
        self.last_open = nanos;
        self.mode = Mode::Open {
            until: later(now, nanos),
        };
        self.epoch = next_epoch(self.epoch);
        Transition {
            from,
            to: State::Open,
            at: now,
        }
    }

    fn close(&mut self, now: Instant) -> Transition {
        let from = public(self.mode);
        self.mode = Mode::Closed;
        self.epoch = next_epoch(self.epoch);
        self.consecutive_failures = 0;
        self.reopens = 0;
        self.window.clear();
        Transition {
            from,
            to: State::Closed,
            at: now,
        }
    }

    #[cfg(all(test, not(loom)))]
    pub(super) fn window(&self) -> &Window<N> {
        &self.window
    }
}
