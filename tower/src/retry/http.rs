//! [`HttpRules`]: retry rules for `http` requests and responses.

use std::time::Duration;

use http::{HeaderMap, Method, Request, Response, StatusCode, header};

use super::{Rules, Verdict};

/// Retry rules for HTTP (feature `http`):
///
/// - only **idempotent** requests (`GET`, `HEAD`, `PUT`, `DELETE`, `OPTIONS`, `TRACE`) are
///   copied, hence retried: a `POST` or `PATCH` is sent once. The body type must be `Clone`
///   (`Full<Bytes>`, `String`, `()`); a streaming body cannot be copied and such requests
///   do not compile with these rules: give them rules of your own that answer `None`;
/// - responses `429 Too Many Requests`, `502`, `503` and `504` are retried, after their
///   `Retry-After` when it is a number of seconds (an HTTP date is ignored: the layers run on
///   a monotonic clock, not the wall clock); others are returned;
/// - errors: the [default](super::default_retry_error).
///
/// ```
/// use std::time::Duration;
/// use http::{Request, Response};
/// use steadfast_tower::retry::{HttpRules, Rules, Verdict};
///
/// type Get = Request<()>;
/// let rules: &dyn Rules<Get, Response<()>> = &HttpRules;
/// let busy = Response::builder().status(503).header("retry-after", "2").body(()).unwrap();
/// assert_eq!(rules.retry_response(&busy), Verdict::RetryAfter(Duration::from_secs(2)));
/// assert!(rules.clone_request(&Request::get("/a").body(()).unwrap()).is_some());
/// assert!(rules.clone_request(&Request::post("/a").body(()).unwrap()).is_none(), "not idempotent");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct HttpRules;

impl HttpRules {
    /// The `Retry-After` header as a delay, when it is a number of seconds.
    #[must_use]
    pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
        let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?;
        value.trim().parse::<u64>().ok().map(Duration::from_secs)
    }
}

impl<B: Clone, RB> Rules<Request<B>, Response<RB>> for HttpRules {
    fn clone_request(&self, req: &Request<B>) -> Option<Request<B>> {
        let idempotent = matches!(
            *req.method(),
            Method::GET
                | Method::HEAD
                | Method::PUT
                | Method::DELETE
                | Method::OPTIONS
                | Method::TRACE
        );
        idempotent.then(|| req.clone())
    }

    fn retry_response(&self, response: &Response<RB>) -> Verdict {
        match response.status() {
            StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT => HttpRules::retry_after(response.headers())
                .map_or(Verdict::Retry, Verdict::RetryAfter),
            _ => Verdict::Done,
        }
    }
}
