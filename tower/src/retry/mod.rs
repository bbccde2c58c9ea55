//! [`RetryLayer`]: retries by a [`RetryPolicy`] (attempts, backoff, jitter, deadline), within
//! a shared [`RetryBudget`], honouring `Retry-After` from the response or from the error.
//!
//! # Which requests are retried: the cloning rule
//!
//! An attempt consumes its request, so a request is retried only if it could be copied
//! **before** its first attempt: [`Rules::clone_request`] is asked once per call, and a
//! request it gives no copy of (a streaming body, a non-idempotent method) is sent once and
//! never retried; its response or error passes through unchanged and it spends no budget.
//! `()`, the default rules, copies any `Req: Clone` (an `http::Request<B>` whose body `B` is
//! `Clone`, such as `Full<Bytes>`); [`HttpRules`] (feature `http`) copies only idempotent
//! requests. Each retry sends a fresh copy of the kept one.
//!
//! # What is retried
//!
//! [`Rules`] decide, returning a [`Verdict`]: by default every error but a permanent refusal
//! of this crate ([`Error::is_transient`]) is retried, after the error's own
//! [`retry_after`](Error::retry_after) when it has one (an open circuit, a rate limit);
//! responses are not retried. [`HttpRules`] also retries 429, 502, 503 and 504 responses,
//! after their `Retry-After` (delta-seconds). A suggested delay replaces the policy's delay
//! for that retry, and the deadline (the policy's
//! [`max_elapsed`](steadfast::retry::RetryPolicyBuilder::max_elapsed)) still holds: a retry
//! whose wait would end past it is not made.
//!
//! When retrying stops (attempts, deadline, budget, or a verdict of [`Verdict::Done`]), the
//! last response is returned as a response, and the last error as the error, unchanged (as
//! tower's `Retry` does), so `downcast_ref` on it finds what the inner layers raised.
//!
//! # Readiness and clones
//!
//! The first attempt is called on the service that `poll_ready` made ready. Later attempts
//! run on a clone of it, taken at `call`, which is polled for readiness before each retry:
//! a bulkhead or a rate limit inside the retry makes each attempt wait its turn (and clones
//! of this crate's services start unready, so the clone holds nothing until then).
//!
//! # Cost
//!
//! On the happy path a call clones the request once and the inner service once (as tower's
//! `Retry` does), shares the policy (each service holds it in an `Arc`, made once by the
//! layer) and allocates nothing of its own; cloning an `http::Request` copies its
//! header map, which allocates. Sleeps run on the layer's [`Timer`]. The first attempt runs
//! in the response future itself, the core's retry taking over only if it is to be retried:
//! an answer in the first poll reads no clock (but for a shared budget's deposit), and the
//! policy's deadline and attempt timeout, counted from the first poll, read it only once the
//! first attempt has to wait.
//!
//! ```
//! use std::time::Duration;
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use steadfast::retry::RetryPolicy;
//! use steadfast_tokio::TokioTimer;
//! use steadfast_tower::retry::RetryLayer;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! static CALLS: AtomicU32 = AtomicU32::new(0);
//! let policy = RetryPolicy::builder().max_attempts(3).constant(Duration::from_millis(10)).build().unwrap();
//! let svc = ServiceBuilder::new()
//!     .layer(RetryLayer::new(TokioTimer::new(), policy))
//!     .service(service_fn(|x: u32| async move {
//!         if CALLS.fetch_add(1, Ordering::Relaxed) < 2 { Err("flaky") } else { Ok(x + 1) }
//!     }));
//! assert_eq!(svc.oneshot(41).await.unwrap(), 42);
//! assert_eq!(CALLS.load(Ordering::Relaxed), 3);
//! # }
//! ```

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use steadfast::Timer;
use steadfast::retry::{RetryBudget, RetryPolicy};
use tower_layer::Layer;
use tower_service::Service;

use crate::error::{BoxError, Error};

pub(crate) mod future;
#[cfg(feature = "http")]
mod http;

pub use future::ResponseFuture;
use future::Setup;
#[cfg(feature = "http")]
pub use http::HttpRules;

/// What to do with an attempt's response or error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Return it to the caller.
    Done,
    /// Retry after the policy's delay.
    Retry,
    /// Retry after this delay instead of the policy's (a `Retry-After`), if it fits the
    /// deadline.
    RetryAfter(Duration),
}

/// Which requests may be retried (by being copied before their first attempt), and which
/// responses and errors are retried. Implemented by `()`, the default, for every `Req: Clone`.
///
/// ```
/// use steadfast_tower::BoxError;
/// use steadfast_tower::retry::{Rules, Verdict};
///
/// /// Copies every request but uploads; retries only `"busy"` errors.
/// #[derive(Clone)]
/// struct Uploads;
///
/// impl Rules<(bool, u32), u32> for Uploads {
///     fn clone_request(&self, &(upload, n): &(bool, u32)) -> Option<(bool, u32)> {
///         (!upload).then_some((upload, n))
///     }
///     fn retry_error(&self, error: &BoxError) -> Verdict {
///         if error.to_string() == "busy" { Verdict::Retry } else { Verdict::Done }
///     }
/// }
/// ```
pub trait Rules<Req, Res> {
    /// A copy of `req` for later attempts, asked once per call before the first attempt (and
    /// for each retry, of the kept copy). `None`: the request is sent once and not retried.
    fn clone_request(&self, req: &Req) -> Option<Req>;

    /// Whether to retry a response. By default: [`Verdict::Done`].
    fn retry_response(&self, response: &Res) -> Verdict {
        let _ = response;
        Verdict::Done
    }

    /// Whether to retry an error (the inner service's, boxed). By default
    /// [`default_retry_error`].
    fn retry_error(&self, error: &BoxError) -> Verdict {
        default_retry_error(error)
    }
}

impl<Req: Clone, Res> Rules<Req, Res> for () {
    fn clone_request(&self, req: &Req) -> Option<Req> {
        Some(req.clone())
    }
}

/// The default verdict on an error: an [`Error`] of this crate is retried if it is
/// [transient](Error::is_transient), after its [`retry_after`](Error::retry_after) when it
/// has one; any other error is retried after the policy's delay.
#[must_use]
pub fn default_retry_error(error: &BoxError) -> Verdict {
    match error.downcast_ref::<Error>() {
        Some(ours) if !ours.is_transient() => Verdict::Done,
        Some(ours) => ours
            .retry_after()
            .map_or(Verdict::Retry, Verdict::RetryAfter),
        None => Verdict::Retry,
    }
}

/// Retries the requests of the services it wraps. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct RetryLayer<T, R = ()> {
    timer: T,
    policy: RetryPolicy,
    budget: Option<Arc<RetryBudget>>,
    rules: R,
}

impl<T: Timer> RetryLayer<T> {
    /// Retries by `policy`, sleeping on `timer`, with the default [`Rules`] (`()`).
    pub const fn new(timer: T, policy: RetryPolicy) -> Self {
        RetryLayer {
            timer,
            policy,
            budget: None,
            rules: (),
        }
    }
}

impl<T, R> RetryLayer<T, R> {
    /// Shares `budget` among every service of this layer (and anyone else holding it): each
    /// retryable call deposits one call, each retry withdraws one.
    #[must_use]
    pub fn budget(mut self, budget: Arc<RetryBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Decides with `rules` which requests are copied and which outcomes are retried.
    pub fn rules<R2>(self, rules: R2) -> RetryLayer<T, R2> {
        RetryLayer {
            timer: self.timer,
            policy: self.policy,
            budget: self.budget,
            rules,
        }
    }
}

impl<S, T: Timer, R: Clone> Layer<S> for RetryLayer<T, R> {
    type Service = RetryService<S, T, R>;

    fn layer(&self, inner: S) -> Self::Service {
        RetryService {
            inner,
            timer: self.timer.clone(),
            policy: Arc::new(self.policy),
            budget: self.budget.clone(),
            rules: self.rules.clone(),
        }
    }
}

/// The service of a [`RetryLayer`]. Clones share the budget and the policy.
#[derive(Clone)]
pub struct RetryService<S, T, R = ()> {
    inner: S,
    timer: T,
    // Shared with each call's response future: a call copies a pointer, not the policy.
    policy: Arc<RetryPolicy>,
    budget: Option<Arc<RetryBudget>>,
    rules: R,
}

impl<S, T, R> RetryService<S, T, R> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

impl<S: fmt::Debug, T, R> fmt::Debug for RetryService<S, T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryService")
            .field("inner", &self.inner)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<S, T, R, Req> Service<Req> for RetryService<S, T, R>
where
    S: Service<Req> + Clone,
    S::Error: Into<BoxError>,
    T: Timer,
    R: Rules<Req, S::Response> + Clone,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S, Req, T, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let Some(kept) = self.rules.clone_request(&req) else {
            return ResponseFuture::once(self.inner.call(req));
        };
        ResponseFuture::first(
            self.inner.call(req),
            Setup {
                service: self.inner.clone(),
                kept,
                rules: self.rules.clone(),
                timer: self.timer.clone(),
                policy: Arc::clone(&self.policy),
                budget: self.budget.clone(),
                deadline: None,
            },
        )
    }
}
