//! The load: open-loop arrivals at a rate, or closed-loop clients.

use core::time::Duration;

use crate::{ConfigError, Latency};

/// How requests arrive. Built with [`Load::open`] or [`Load::closed`], bounded by
/// [`requests`](LoadBuilder::requests) and/or [`duration`](LoadBuilder::duration) (the first
/// reached ends the arrivals), checked by [`build`](LoadBuilder::build).
///
/// - **Open loop** ([`Load::open`]): requests arrive at `rate` per second whatever became of
///   the earlier ones, as users of a service do: Poisson arrivals (exponential gaps, seeded),
///   or evenly spaced with [`evenly`](LoadBuilder::evenly). A policy that fails fast does not
///   get fewer requests than one that hangs.
/// - **Closed loop** ([`Load::closed`]): `clients` callers each send a request, wait for its
///   end, think ([`think`](LoadBuilder::think), zero by default) and send the next: the load
///   adapts to the latency, as a batch job's workers do.
#[derive(Clone, Debug, PartialEq)]
pub struct Load {
    pub(crate) kind: Kind,
    pub(crate) requests: Option<u64>,
    pub(crate) duration: Option<Duration>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    Open { rate: f64, poisson: bool },
    Closed { clients: u32, think: Latency },
}

/// The settings of a [`Load`].
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until built"]
pub struct LoadBuilder {
    load: Load,
}

impl Load {
    /// Open loop: `rate` requests per second, Poisson arrivals.
    pub fn open(rate: f64) -> LoadBuilder {
        LoadBuilder {
            load: Load {
                kind: Kind::Open {
                    rate,
                    poisson: true,
                },
                requests: None,
                duration: None,
            },
        }
    }

    /// Closed loop: `clients` callers, each sending its next request when its last ended.
    pub fn closed(clients: u32) -> LoadBuilder {
        LoadBuilder {
            load: Load {
                kind: Kind::Closed {
                    clients,
                    think: Latency::Fixed(Duration::ZERO),
                },
                requests: None,
                duration: None,
            },
        }
    }

    /// The arrivals' end, when bounded by a duration.
    #[must_use]
    pub fn duration(&self) -> Option<Duration> {
        self.duration
    }

    /// The number of requests, when bounded by a count.
    #[must_use]
    pub fn requests(&self) -> Option<u64> {
        self.requests
    }
}

impl LoadBuilder {
    /// At most `n` requests arrive.
    pub fn requests(mut self, n: u64) -> Self {
        self.load.requests = Some(n);
        self
    }

    /// Requests arrive for `d` of virtual time.
    pub fn duration(mut self, d: Duration) -> Self {
        self.load.duration = Some(d);
        self
    }

    /// Open loop: evenly spaced arrivals, `1 / rate` apart, instead of Poisson.
    pub fn evenly(mut self) -> Self {
        if let Kind::Open { poisson, .. } = &mut self.load.kind {
            *poisson = false;
        }
        self
    }

    /// Closed loop: each client waits this long between the end of a request and its next.
    pub fn think(mut self, think: Latency) -> Self {
        if let Kind::Closed { think: t, .. } = &mut self.load.kind {
            *t = think;
        }
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] (model `"load"`): a rate not above zero or not finite, no clients,
    /// neither a request count nor a duration (`requests`), a count or a duration of zero, a
    /// think time out of shape.
    pub fn build(self) -> Result<Load, ConfigError> {
        let l = self.load;
        let bad = |setting, problem| Err(ConfigError::new("load", setting, problem));
        match l.kind {
            Kind::Open { rate, .. } if !(rate.is_finite() && rate > 0.0) => {
                return bad(
                    "rate",
                    "must be a finite number of requests per second above zero",
                );
            }
            Kind::Closed { clients: 0, .. } => return bad("clients", "must be at least 1"),
            Kind::Closed { think, .. } => think.check("load", "think")?,
            Kind::Open { .. } => {}
        }
        match (l.requests, l.duration) {
            (None, None) => return bad("requests", "set a request count or a duration, or both"),
            (Some(0), _) => return bad("requests", "must be at least 1"),
            (_, Some(d)) if d.is_zero() => return bad("duration", "must be above zero"),
            _ => {}
        }
        Ok(l)
    }
}
