//! `tracing::Span` as an observer: each event a `tracing` event inside the span.

use tracing::{Level, Span};

use super::{Event, Observer};

impl Observer for Span {
    fn on_event(&self, event: &Event) {
        let (name, pattern) = (event.name(), event.pattern());
        match event {
            Event::TimedOut { .. }
            | Event::BudgetRefused { .. }
            | Event::BreakerRejected { .. }
            | Event::LimiterRejected { .. }
            | Event::BulkheadRejected(_) => tracing::event!(
                target: "steadfast",
                parent: self,
                Level::WARN,
                event = name,
                pattern,
                details = ?event,
            ),
            _ => tracing::event!(
                target: "steadfast",
                parent: self,
                Level::DEBUG,
                event = name,
                pattern,
                details = ?event,
            ),
        }
    }

    /// A disabled span (no subscriber, or one that filters it out) reports nothing and reads
    /// no clock.
    fn enabled(&self) -> bool {
        !self.is_disabled()
    }
}
