//! With the `defmt` feature, every error, state and metrics type can be logged with defmt.

use core::convert::Infallible;

use crate::{ConfigError, Instant, Panicked, batch, bracket, breaker, bulkhead, events};
use crate::{limiter, pipeline, pool, queue, retry, task_group, timeout};

fn format<T: defmt::Format + ?Sized>() {}

/// A user's error type, as firmware would define it.
#[derive(defmt::Format)]
struct SensorError;

#[test]
fn every_error_state_and_metrics_type_is_format() {
    format::<ConfigError>();
    format::<Instant>();
    format::<Panicked>();
    format::<timeout::Elapsed>();
    format::<bulkhead::Rejected>();
    format::<bulkhead::BulkheadError<SensorError>>();
    format::<bulkhead::Metrics>();
    format::<retry::RetryError<SensorError>>();
    format::<retry::GiveUpReason>();
    format::<retry::Backoff>();
    format::<retry::Jitter>();
    format::<breaker::State>();
    format::<breaker::Outcome>();
    format::<breaker::Transition>();
    format::<breaker::Metrics>();
    format::<breaker::CircuitOpen>();
    format::<breaker::BreakerError<SensorError>>();
    format::<breaker::KeyedError>();
    format::<breaker::KeyedError<SensorError>>();
    format::<limiter::LimitError>();
    format::<limiter::Metrics>();
    format::<pipeline::PipelineError<SensorError>>();
    format::<pool::WorkError>();
    format::<pool::Metrics>();
    format::<batch::Metrics>();
    format::<bracket::Outcome<u8, SensorError>>();
    format::<events::Handled<SensorError>>();
    format::<events::SubscribeError>();
    format::<events::FixedReport<SensorError, 4>>();
    format::<queue::Closed<u8>>();
    format::<queue::TrySendError<u8>>();
    format::<queue::TryRecvError>();
    format::<task_group::Cancelled>();
    format::<Infallible>();
    #[cfg(feature = "alloc")]
    {
        format::<crate::JoinError>();
        format::<events::EmitReport<SensorError>>();
    }
}
