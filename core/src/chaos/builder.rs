//! The chaos stage's settings and their builder.

use super::bits::{BadRate, rate_units};
use super::latency::Latency;
use super::{Action, Chaos, MAX_FAULTS, ONE, Slot};
use crate::ConfigError;

/// A fault as set, before its checks.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Error,
    Outcome,
    Latency(Latency),
    Stall,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Entry {
    kind: Kind,
    rate: f64,
}

const EMPTY: Entry = Entry {
    kind: Kind::Error,
    rate: 0.0,
};

/// Settings for a [`Chaos`] stage, from [`Chaos::builder`]. The faults take consecutive
/// ranges of one uniform draw in the order they are added (see the
/// [module docs](super#one-draw-per-call)); at most 8.
#[derive(Clone, Copy, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ChaosBuilder {
    faults: [Entry; MAX_FAULTS],
    len: usize,
    too_many: bool,
    seed: u64,
    enabled: bool,
}

impl ChaosBuilder {
    pub(super) const fn new() -> Self {
        ChaosBuilder {
            faults: [EMPTY; MAX_FAULTS],
            len: 0,
            too_many: false,
            seed: 0,
            enabled: true,
        }
    }

    const fn push(mut self, kind: Kind, rate: f64) -> Self {
        if self.len == MAX_FAULTS {
            self.too_many = true;
        } else {
            self.faults[self.len] = Entry { kind, rate };
            self.len += 1;
        }
        self
    }

    /// At `rate` (a fraction of the calls, `0.0..=1.0`), the call ends at once with
    /// [`Injected::Error`](super::Injected::Error); the work does not run.
    pub const fn error(self, rate: f64) -> Self {
        self.push(Kind::Error, rate)
    }

    /// At `rate`, the call ends at once with the result its future was given by
    /// [`outcome`](super::Run::outcome) (a fake HTTP 500, an empty reply); the work does not
    /// run. A future given none fails with [`Injected::Outcome`](super::Injected::Outcome).
    pub const fn outcome(self, rate: f64) -> Self {
        self.push(Kind::Outcome, rate)
    }

    /// At `rate`, the work runs after a delay drawn from `latency`.
    pub const fn latency(self, rate: f64, latency: Latency) -> Self {
        self.push(Kind::Latency(latency), rate)
    }

    /// At `rate`, the call never completes: its future stays pending until dropped, and the
    /// work does not run. Pair it with a timeout to see what the caller does about a hung
    /// dependency.
    pub const fn stall(self, rate: f64) -> Self {
        self.push(Kind::Stall, rate)
    }

    /// The seed of the draws (the default is 0): equal seeds and equal sequences of calls
    /// draw equal faults.
    pub const fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether the stage starts enabled (the default) or disabled, to be switched on with
    /// [`Chaos::enable`].
    pub const fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Checks the settings and builds the stage.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first impossible setting: a rate that is not a number or
    /// is outside `0.0..=1.0` (named by its fault: `error`, `outcome`, `latency`, `stall`),
    /// rates adding up to more than 1 (`rates`), more than 8 faults (`faults`), or a latency
    /// whose bounds are out of order or whose Pareto shape is not a positive number
    /// (`latency`).
    pub const fn build(self) -> Result<Chaos, ConfigError> {
        match self.slots() {
            Ok(slots) => Ok(Chaos::with_slots(
                slots,
                self.len as u8,
                self.seed,
                self.enabled,
            )),
            Err(e) => Err(e),
        }
    }

    /// [`build`](Self::build) for a `const` or `static`: a bad setting fails const evaluation
    /// (a compile error); at run time it panics with the error's field.
    pub const fn build_const(self) -> Chaos {
        match self.build() {
            Ok(chaos) => chaos,
            Err(e) => panic!("{}", e.field()),
        }
    }

    const fn slots(&self) -> Result<[Slot; MAX_FAULTS], ConfigError> {
        if self.too_many {
            return Err(invalid("faults", "at most 8 faults"));
        }
        let mut slots = [Slot {
            bound: 0,
            action: Action::Error,
        }; MAX_FAULTS];
        let mut bound: u64 = 0;
        let mut i = 0;
        while i < self.len {
            let Entry { kind, rate } = self.faults[i];
            let field = match kind {
                Kind::Error => "error",
                Kind::Outcome => "outcome",
                Kind::Latency(_) => "latency",
                Kind::Stall => "stall",
            };
            let units = match rate_units(rate) {
                Ok(units) => units,
                Err(BadRate::NotANumber) => {
                    return Err(invalid(field, "the rate must be a number"));
                }
                Err(BadRate::OutOfRange) => {
                    return Err(invalid(field, "the rate must be between 0 and 1"));
                }
            };
            let action = match kind {
                Kind::Error => Action::Error,
                Kind::Outcome => Action::Outcome,
                Kind::Stall => Action::Stall,
                Kind::Latency(l) => match l.check() {
                    Ok(d) => Action::Delay(d),
                    Err(e) => return Err(e),
                },
            };
            // The rate in units of 2^-53, rounded: exact for every rate a double can hold
            // down to 2^-53, and 1.0 is all of them.
            bound += units;
            // Rounding may carry rates that add up to 1 a unit or so past it.
            if bound > ONE + self.len as u64 {
                return Err(invalid("rates", "the rates together must be at most 1"));
            }
            slots[i] = Slot {
                bound: if bound > ONE { ONE } else { bound },
                action,
            };
            i += 1;
        }
        Ok(slots)
    }
}

const _: () = assert!(MAX_FAULTS == 8, "the errors say 8");

const fn invalid(field: &'static str, problem: &'static str) -> ConfigError {
    ConfigError::new("chaos", field, problem)
}
