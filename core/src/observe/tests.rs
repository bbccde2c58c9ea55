use core::future::{pending, ready};
use core::time::Duration;
use std::sync::Mutex;
use std::vec::Vec;

use super::{Event, Observer};
use crate::VirtualTimer;
use crate::pipeline::Pipeline;
use crate::retry::RetryPolicy;

#[derive(Default)]
struct Events(Mutex<Vec<Event>>);

impl Observer for Events {
    fn on_event(&self, event: &Event) {
        self.0.lock().unwrap().push(*event);
    }
}

fn pipeline() -> Pipeline<'static> {
    Pipeline::builder()
        .retry(
            RetryPolicy::builder()
                .max_attempts(3)
                .constant(Duration::from_millis(10))
                .build()
                .unwrap(),
        )
        .attempt_timeout(Duration::from_millis(50))
        .build()
        .unwrap()
}

/// Runs a call whose first attempt hangs until its timeout and whose second answers.
fn call_once<O: super::Observe>(observer: O) -> Result<u32, crate::pipeline::PipelineError<()>> {
    let p = pipeline();
    let timer = VirtualTimer::new();
    let mut n = 0;
    let call = p
        .call(&timer, || {
            n += 1;
            let first = n == 1;
            async move {
                if first {
                    pending::<()>().await;
                }
                Ok::<_, ()>(n)
            }
        })
        .observe(observer);
    futures_executor::block_on(timer.auto_advance(call))
}

#[test]
fn the_events_carry_durations_delays_and_outcomes() {
    let events = Events::default();
    assert_eq!(call_once(&events), Ok(2));
    let ms = Duration::from_millis;
    assert_eq!(
        *events.0.lock().unwrap(),
        [
            Event::CallStarted,
            Event::AttemptStarted {
                pattern: "retry",
                attempt: 1
            },
            Event::TimedOut {
                limit: Some(ms(50))
            },
            Event::AttemptEnded {
                pattern: "retry",
                attempt: 1,
                duration: ms(50),
                ok: false
            },
            Event::RetryScheduled {
                attempt: 1,
                delay: ms(10)
            },
            Event::AttemptStarted {
                pattern: "retry",
                attempt: 2
            },
            Event::AttemptEnded {
                pattern: "retry",
                attempt: 2,
                duration: ms(0),
                ok: true
            },
            Event::CallEnded {
                duration: ms(60),
                ok: true
            },
        ]
    );
}

/// An observer that says it is disabled is told nothing.
#[test]
fn a_disabled_observer_is_told_nothing() {
    struct Off(Events);
    impl Observer for Off {
        fn on_event(&self, event: &Event) {
            self.0.on_event(event);
        }
        fn enabled(&self) -> bool {
            false
        }
    }
    let off = Off(Events::default());
    assert_eq!(call_once(&off), Ok(2));
    assert!(off.0.0.lock().unwrap().is_empty());
}

/// `()` changes nothing: the call's future is the size it was.
#[test]
fn the_unit_observer_adds_nothing_to_a_call() {
    let p = pipeline();
    let timer = VirtualTimer::new();
    let plain = p.call(&timer, || ready(Ok::<_, ()>(1)));
    let with_unit = p.call(&timer, || ready(Ok::<_, ()>(1))).observe(());
    assert_eq!(
        core::mem::size_of_val(&plain),
        core::mem::size_of_val(&with_unit)
    );
}

#[cfg(feature = "tracing")]
mod tracing_span {
    use std::string::{String, ToString};
    use std::sync::Mutex;
    use std::vec::Vec;

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    /// Captures span names and each event's `event` field with its parent span.
    #[derive(Default)]
    struct Capture {
        spans: Mutex<Vec<String>>,
        events: Mutex<Vec<(Option<u64>, String)>>,
    }

    struct Name(String);
    impl Visit for Name {
        fn record_str(&mut self, field: &Field, value: &str) {
            if field.name() == "event" {
                self.0 = value.to_string();
            }
        }
        fn record_debug(&mut self, _: &Field, _: &dyn core::fmt::Debug) {}
    }

    impl Subscriber for &'static Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            let mut spans = self.spans.lock().unwrap();
            spans.push(span.metadata().name().to_string());
            Id::from_u64(spans.len() as u64)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut name = Name(String::new());
            event.record(&mut name);
            let parent = event.parent().map(Id::into_u64);
            self.events.lock().unwrap().push((parent, name.0));
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    #[test]
    fn a_span_per_call_with_an_event_per_transition() {
        let capture: &'static Capture = std::boxed::Box::leak(std::boxed::Box::default());
        tracing::subscriber::with_default(capture, || {
            let span = tracing::info_span!("upstream");
            assert_eq!(super::call_once(span), Ok(2));
        });
        assert_eq!(*capture.spans.lock().unwrap(), ["upstream"]);
        let events = capture.events.lock().unwrap();
        let names: Vec<_> = events.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "call_started",
                "attempt_started",
                "timeout",
                "attempt_ended",
                "retry_scheduled",
                "attempt_started",
                "attempt_ended",
                "call_ended"
            ]
        );
        assert!(events.iter().all(|(parent, _)| *parent == Some(1)));
    }

    /// With no subscriber the span is disabled: nothing is reported.
    #[test]
    fn without_a_subscriber_nothing_is_reported() {
        let span = tracing::info_span!("upstream");
        assert!(span.is_disabled());
        assert_eq!(super::call_once(span), Ok(2));
    }
}

#[cfg(feature = "metrics")]
mod metrics_recorder {
    use std::string::{String, ToString};
    use std::sync::{Arc, Mutex};
    use std::vec::Vec;

    use metrics::{
        Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
    };

    use crate::observe::Metrics;

    /// Every counter increment and histogram record: the name and the labels.
    type Log = Arc<Mutex<Vec<(String, Vec<(String, String)>, f64)>>>;

    struct Entry(Log, Key);

    impl metrics::CounterFn for Entry {
        fn increment(&self, value: u64) {
            self.log(value as f64);
        }
        fn absolute(&self, _: u64) {}
    }

    impl metrics::HistogramFn for Entry {
        fn record(&self, value: f64) {
            self.log(value);
        }
    }

    impl Entry {
        fn log(&self, value: f64) {
            let labels = self
                .1
                .labels()
                .map(|l| (l.key().to_string(), l.value().to_string()))
                .collect();
            self.0
                .lock()
                .unwrap()
                .push((self.1.name().to_string(), labels, value));
        }
    }

    #[derive(Default)]
    struct Rec(Log);

    impl Recorder for Rec {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            Counter::from_arc(Arc::new(Entry(self.0.clone(), key.clone())))
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }
        fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::from_arc(Arc::new(Entry(self.0.clone(), key.clone())))
        }
    }

    fn label<'a>(labels: &'a [(String, String)], key: &str) -> &'a str {
        labels
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    #[test]
    fn counters_and_histograms_under_polly_names() {
        static METRICS: Metrics = Metrics::new("upstream");
        let rec = Rec::default();
        metrics::with_local_recorder(&rec, || assert_eq!(super::call_once(METRICS), Ok(2)));
        let log = rec.0.lock().unwrap();
        let events: Vec<_> = log
            .iter()
            .filter(|(name, ..)| name == "resilience.steadfast.events")
            .map(|(_, labels, _)| label(labels, "event.name"))
            .collect();
        assert_eq!(events.len(), 8);
        assert_eq!(events[2], "timeout");
        assert!(
            log.iter()
                .all(|(_, labels, _)| label(labels, "pipeline.name") == "upstream")
        );
        let attempts: Vec<_> = log
            .iter()
            .filter(|(name, ..)| name == "resilience.steadfast.attempt.duration")
            .map(|(_, labels, ms)| (label(labels, "attempt.handled"), *ms))
            .collect();
        assert_eq!(attempts, [("true", 50.0), ("false", 0.0)]);
        let calls: Vec<_> = log
            .iter()
            .filter(|(name, ..)| name == "resilience.steadfast.pipeline.duration")
            .map(|(_, labels, ms)| (label(labels, "outcome"), *ms))
            .collect();
        assert_eq!(calls, [("success", 60.0)]);
    }
}
