//! An observer that logs through defmt.

use super::{Event, Observer};

/// An observer that logs each event with `defmt` (level `debug`, a `warn` for refusals and
/// timeouts): for firmware, `.observe(Defmt)`. Only the interned format string's index and
/// the event's fields go over the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Defmt;

impl Observer for Defmt {
    fn on_event(&self, event: &Event) {
        match event {
            Event::TimedOut { .. }
            | Event::BudgetRefused { .. }
            | Event::BreakerRejected { .. }
            | Event::LimiterRejected { .. }
            | Event::BulkheadRejected(_) => {
                defmt::warn!("steadfast {}: {}", event.pattern(), event)
            }
            _ => defmt::debug!("steadfast {}: {}", event.pattern(), event),
        }
    }
}
