//! The client library a service owner would publish: it depends only on the `steadfast` core
//! and is generic over the runtime's [`Timer`] and over a [`Transport`], so its users pick the
//! runtime. One call path, two ways: [`Client::call_naive`] (one attempt, no timeout of its
//! own) and [`Client::call_protected`] (one [`Pipeline`]: a bulkhead around retries with jitter
//! and a retry budget, a circuit breaker seeing each attempt, a rate limiter on attempts, each
//! attempt under a timeout).

use core::cell::Cell;
use core::future::Future;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use core::time::Duration;

use steadfast::breaker::{CircuitBreaker, CircuitOpen, State, Transition};
use steadfast::bulkhead::{Bulkhead, Rejected};
use steadfast::limiter::{LimitError, RateLimiter};
use steadfast::observe::Observe;
use steadfast::pipeline::{Pipeline, PipelineBuilder, PipelineError};
use steadfast::retry::{GiveUpReason, Jitter, RetryBudget, RetryPolicy};
use steadfast::timeout::TimeoutExt;
use steadfast::{Instant, Timer};

/// Carries one attempt of a request to the service.
pub(crate) trait Transport {
    /// Sends attempt `attempt` (1 for the first) of request `id`; `Ok` when the service
    /// answered OK.
    fn call(&self, id: u64, attempt: u32) -> impl Future<Output = Result<(), CallError>>;
}

/// Why an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallError {
    /// Nothing listens there.
    Refused,
    /// The connection was reset.
    Reset,
    /// The connection closed without an answer.
    Closed,
    /// The service answered ERR.
    Server,
    /// Another I/O failure.
    Io,
    /// The attempt ran out of time.
    TimedOut,
}

/// Why a request failed, as its caller sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The last attempt's error.
    Call(CallError),
    /// The bulkhead turned the request away.
    Shed(Rejected),
    /// The circuit breaker turned the request away.
    Open(CircuitOpen),
    /// The rate limiter had no cell for an attempt within its wait.
    Limited(LimitError),
}

/// The protection settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// Requests in flight at once.
    pub(crate) max_concurrent: usize,
    /// How long a request may wait for a slot before it is shed.
    pub(crate) max_wait: Duration,
    /// Each attempt's timeout.
    pub(crate) attempt_timeout: Duration,
    /// Attempts per request, the first included.
    pub(crate) max_attempts: u32,
    /// Attempts per second sent to the service (the limiter's rate and burst).
    pub(crate) attempts_per_second: u32,
    /// How long an attempt may wait for the limiter.
    pub(crate) limiter_wait: Duration,
    /// The naive path's only bound: a stall would otherwise hang it for good.
    pub(crate) naive_cap: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_concurrent: 16,
            max_wait: Duration::from_millis(250),
            attempt_timeout: Duration::from_millis(100),
            max_attempts: 4,
            attempts_per_second: 600,
            limiter_wait: Duration::from_millis(20),
            naive_cap: Duration::from_millis(1500),
        }
    }
}

/// Counters of what the protections did.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    in_flight: AtomicUsize,
    /// The most requests in flight at once (naive path; the bulkhead keeps its own).
    pub(crate) high_water: AtomicUsize,
    /// Retries made (attempts after the first).
    pub(crate) retries: AtomicU64,
    /// Attempts cut by their timeout.
    pub(crate) timeouts: AtomicU64,
    /// Requests the retry budget stopped.
    pub(crate) budget_stops: AtomicU64,
    /// Requests the open circuit turned away.
    pub(crate) open: AtomicU64,
    /// Requests the rate limiter turned away.
    pub(crate) limited: AtomicU64,
    /// Attempts that waited for the rate limiter before they went out.
    pub(crate) throttled: AtomicU64,
}

/// Times any breaker opened, process-wide (the transition hook is a plain function); a run
/// reads it before and after.
pub(crate) static TRIPS: AtomicU64 = AtomicU64::new(0);

fn count_trips(t: &Transition) {
    if t.to == State::Open {
        TRIPS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts an attempt that ends without an answer (its timeout dropped it).
struct Unanswered<'a>(Option<&'a AtomicU64>);

impl Drop for Unanswered<'_> {
    fn drop(&mut self) {
        if let Some(count) = self.0 {
            count.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A client of the flaky service.
pub(crate) struct Client<T: Timer, X> {
    timer: T,
    transport: X,
    settings: Settings,
    policy: RetryPolicy,
    budget: RetryBudget,
    bulkhead: Bulkhead,
    breaker: CircuitBreaker,
    limiter: RateLimiter,
    pub(crate) counters: Counters,
}

impl<T: Timer, X: Transport> Client<T, X> {
    /// A client with `settings`; `seed` seeds the retry jitter.
    pub(crate) fn new(timer: T, transport: X, settings: Settings, seed: u64) -> Self {
        let policy = RetryPolicy::builder()
            .max_attempts(settings.max_attempts)
            .exponential(Duration::from_millis(10), 2.0)
            .max_delay(Duration::from_millis(200))
            .jitter(Jitter::Full)
            .seed(seed)
            .build()
            .expect("valid retry settings");
        let bulkhead = Bulkhead::builder(settings.max_concurrent)
            .build()
            .expect("valid bulkhead settings");
        // Trips only on a sustained outage: half of the last 50 attempts failed.
        let breaker = CircuitBreaker::builder()
            .count_window(50, 20)
            .failure_rate(50)
            .open_for(Duration::from_millis(200))
            .on_transition(count_trips)
            .build()
            .expect("valid breaker settings");
        let limiter = RateLimiter::builder(settings.attempts_per_second, Duration::from_secs(1))
            .burst(20)
            .build()
            .expect("valid limiter settings");
        let client = Client {
            timer,
            transport,
            settings,
            policy,
            budget: RetryBudget::new(),
            bulkhead,
            breaker,
            limiter,
            counters: Counters::default(),
        };
        client.stages().build().expect("valid pipeline settings");
        client
    }

    /// The protected path's stages, outermost first: the bulkhead (a slot per request, shed
    /// after `max_wait`), retries with the budget, the breaker, the limiter (an attempt waits
    /// at most `limiter_wait` for a cell), each attempt's timeout.
    fn stages(&self) -> PipelineBuilder<'_> {
        Pipeline::builder()
            .bulkhead_within(&self.bulkhead, self.settings.max_wait)
            .bulkhead_outermost()
            .retry(self.policy)
            .budget(&self.budget)
            .breaker(&self.breaker)
            .limiter_within(&self.limiter, self.settings.limiter_wait)
            .attempt_timeout(self.settings.attempt_timeout)
    }

    /// The bulkhead, for its metrics.
    pub(crate) fn bulkhead(&self) -> &Bulkhead {
        &self.bulkhead
    }

    /// One attempt and no timeout of its own, as most code is written (bounded only by
    /// `naive_cap`, so that a stall cannot hang the tour).
    pub(crate) async fn call_naive(&self, id: u64) -> Result<(), Failure> {
        let now = self.counters.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.counters.high_water.fetch_max(now, Ordering::Relaxed);
        let result = self
            .transport
            .call(id, 1)
            .timeout(&self.timer, self.settings.naive_cap)
            .await;
        self.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
        match result {
            Ok(r) => r.map_err(Failure::Call),
            Err(_) => Err(Failure::Call(CallError::TimedOut)),
        }
    }

    /// The protected path, one [`Pipeline`]: a bulkhead slot (shed after `max_wait`), then up
    /// to `max_attempts` attempts through the breaker and the limiter, each under
    /// `attempt_timeout`, with full-jitter exponential backoff, as long as the shared retry
    /// budget allows.
    pub(crate) async fn call_protected(&self, id: u64) -> Result<(), Failure> {
        self.call_protected_observed(id, ()).await
    }

    /// [`call_protected`](Self::call_protected), its events told to `observer`.
    pub(crate) async fn call_protected_observed<O: Observe>(
        &self,
        id: u64,
        observer: O,
    ) -> Result<(), Failure> {
        // Checked in `new`: the settings have not changed since.
        let pipeline = self.stages().build_const();
        let attempt = Cell::new(0u32);
        let c = &self.counters;
        let op = || {
            attempt.set(attempt.get() + 1);
            let n = attempt.get();
            if n > 1 {
                c.retries.fetch_add(1, Ordering::Relaxed);
            }
            // The stages between the attempt's making and its start: only the limiter waits
            // there (the bulkhead is outermost, the breaker answers at once).
            let made = self.timer.now();
            async move {
                // A cell comes every 1/rate seconds: a shorter gap is scheduling, not a wait.
                if self.timer.now() - made > Duration::from_micros(500) {
                    c.throttled.fetch_add(1, Ordering::Relaxed);
                }
                let mut unanswered = Unanswered(Some(&c.timeouts));
                let result = self.transport.call(id, n).await;
                unanswered.0 = None;
                result
            }
        };
        match pipeline.call(&self.timer, op).observe(observer).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.gave_up(e)),
        }
    }

    fn gave_up(&self, e: PipelineError<CallError>) -> Failure {
        match e {
            PipelineError::RetriesExhausted(r) => {
                if r.reason() == GiveUpReason::Budget {
                    self.counters.budget_stops.fetch_add(1, Ordering::Relaxed);
                }
                // No error: the last attempt timed out.
                Failure::Call(r.into_error().unwrap_or(CallError::TimedOut))
            }
            PipelineError::BulkheadRejected(rejected) => Failure::Shed(rejected),
            PipelineError::CircuitOpen(open) => {
                self.counters.open.fetch_add(1, Ordering::Relaxed);
                Failure::Open(open)
            }
            PipelineError::RateLimited(limited) => {
                self.counters.limited.fetch_add(1, Ordering::Relaxed);
                Failure::Limited(limited)
            }
            e => Failure::Call(e.into_error().unwrap_or(CallError::TimedOut)),
        }
    }

    /// The timer's clock.
    pub(crate) fn now(&self) -> Instant {
        self.timer.now()
    }

    /// Waits on the timer until `at`.
    pub(crate) async fn sleep_until(&self, at: Instant) {
        self.timer.sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    //! The client on fake transports with seeded faults in virtual time, on several runtimes.
    use super::*;
    use crate::service::{Fault, OUTAGE, fault};
    use steadfast::VirtualTimer;

    /// Answers like the flaky service, in the timer's time, without a network, down during
    /// the outage.
    struct Fake<T> {
        timer: T,
        seed: u64,
        start: Instant,
    }

    impl<T: Timer> Transport for Fake<T> {
        async fn call(&self, id: u64, attempt: u32) -> Result<(), CallError> {
            if OUTAGE.contains(&(self.timer.now() - self.start)) {
                return Err(CallError::Refused);
            }
            match fault(self.seed, id, attempt) {
                Fault::Healthy(d) | Fault::Spike(d) => {
                    self.timer.sleep(d).await;
                    Ok(())
                }
                Fault::Error => Err(CallError::Server),
                Fault::Stall => core::future::pending().await,
                Fault::Reset => Err(CallError::Reset),
                Fault::Refused => Err(CallError::Refused),
            }
        }
    }

    /// 200 requests arriving every 10 ms, open loop (each at its time, whatever became of the
    /// ones before), through the outage: how many succeeded, and the client, for its counters.
    async fn run<T: Timer>(timer: &T, protected: bool) -> (usize, Client<T, Fake<T>>) {
        let fake = Fake {
            timer: timer.clone(),
            seed: 11,
            start: timer.now(),
        };
        let client = Client::new(timer.clone(), fake, Settings::default(), 5);
        let begin = client.now();
        let client_ref = &client;
        let results = futures_util::future::join_all((0..200).map(|id| async move {
            let due = begin.saturating_add(Duration::from_millis(10 * id));
            client_ref.sleep_until(due).await;
            let result = if protected {
                client_ref.call_protected(id).await
            } else {
                client_ref.call_naive(id).await
            };
            if protected {
                // The bulkhead's wait of 250 ms, then 4 attempts of 100 ms, each after at most
                // 20 ms for the limiter, and at most 3 sleeps of 200 ms.
                assert!(client_ref.now() - due <= Duration::from_millis(1330));
            }
            result.is_ok()
        }))
        .await;
        let ok = results.into_iter().filter(|ok| *ok).count();
        (ok, client)
    }

    async fn scenario<T: Timer>(timer: T) -> (usize, usize) {
        let (naive_ok, _) = run(&timer, false).await;
        let (protected_ok, client) = run(&timer, true).await;
        assert!(
            protected_ok > naive_ok,
            "naive {naive_ok}, protected {protected_ok}"
        );
        let c = &client.counters;
        assert!(c.timeouts.load(Ordering::Relaxed) > 0);
        assert!(c.retries.load(Ordering::Relaxed) > 0);
        // The outage opened the circuit, which turned requests away instead of retrying them.
        assert!(c.open.load(Ordering::Relaxed) > 0);
        assert_eq!(client.bulkhead().metrics().in_flight, 0);
        (naive_ok, protected_ok)
    }

    #[test]
    fn protected_beats_naive_and_runtimes_agree() {
        let timer = VirtualTimer::new();
        let on_virtual = futures_executor::block_on(timer.auto_advance(scenario(timer.clone())));
        let on_tokio = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(scenario(steadfast_tokio::TokioTimer::new()));
        let timer = VirtualTimer::new();
        let on_smol = smol::block_on(timer.auto_advance(scenario(timer.clone())));
        let timer = VirtualTimer::new();
        let on_async_std = async_std::task::block_on(timer.auto_advance(scenario(timer.clone())));
        // Same seeds and virtual time everywhere: the very same outcomes.
        assert_eq!(on_virtual, on_tokio);
        assert_eq!(on_virtual, on_smol);
        assert_eq!(on_virtual, on_async_std);
    }
}
