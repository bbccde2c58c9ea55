//! Events as counters and histograms through the `metrics` facade, under Polly's names.

use super::{Event, Observer};

/// An observer that counts every event and records attempt and call durations through the
/// `metrics` facade (whatever recorder the application installed; with none, each event
/// costs an atomic load). The names follow Polly's meter, under `resilience.steadfast`:
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `resilience.steadfast.events` | counter | `event.name` ([`Event::name`]), `strategy.name` ([`Event::pattern`]), `pipeline.name` |
/// | `resilience.steadfast.attempt.duration` | histogram, ms | `strategy.name` (`retry`, `hedge`), `pipeline.name`, `attempt.handled` (`true` for an attempt that failed) |
/// | `resilience.steadfast.pipeline.duration` | histogram, ms | `pipeline.name`, `outcome` (`success`, `failure`) |
///
/// Every label is a `&'static str`: the cardinality is bounded by the code, never by the
/// calls. `pipeline.name` is the name given to [`new`](Metrics::new).
///
/// ```
/// use steadfast::observe::Metrics;
///
/// static UPSTREAM_METRICS: Metrics = Metrics::new("upstream");
/// // pipeline.call(&timer, op).observe(&UPSTREAM_METRICS).await
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metrics {
    pipeline: &'static str,
}

impl Metrics {
    /// Metrics labelled `pipeline.name = pipeline`.
    #[must_use]
    pub const fn new(pipeline: &'static str) -> Self {
        Metrics { pipeline }
    }
}

fn millis(d: core::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Observer for Metrics {
    fn on_event(&self, event: &Event) {
        let pipeline = self.pipeline;
        metrics::counter!(
            "resilience.steadfast.events",
            "event.name" => event.name(),
            "strategy.name" => event.pattern(),
            "pipeline.name" => pipeline,
        )
        .increment(1);
        match *event {
            Event::AttemptEnded {
                pattern,
                duration,
                ok,
                ..
            } => metrics::histogram!(
                "resilience.steadfast.attempt.duration",
                "strategy.name" => pattern,
                "pipeline.name" => pipeline,
                "attempt.handled" => if ok { "false" } else { "true" },
            )
            .record(millis(duration)),
            Event::CallEnded { duration, ok } => metrics::histogram!(
                "resilience.steadfast.pipeline.duration",
                "pipeline.name" => pipeline,
                "outcome" => if ok { "success" } else { "failure" },
            )
            .record(millis(duration)),
            _ => {}
        }
    }
}
