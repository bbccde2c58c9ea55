//! The retry layer against tower-test's mock service, on tokio's paused clock: which requests
//! are retried (the copied ones), Retry-After from the response and from the error, within the
//! deadline, the budget, and readiness of the clone each retry runs on.

use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use steadfast::bulkhead::{Bulkhead, Rejected};
use steadfast::limiter::{LimitError, RateLimiter};
use steadfast::retry::{RetryBudget, RetryPolicy};
use steadfast_tokio::TokioTimer;
use steadfast_tower::bulkhead::BulkheadLayer;
use steadfast_tower::limiter::RateLimitLayer;
use steadfast_tower::retry::{HttpRules, RetryLayer, Rules, Verdict};
use steadfast_tower::{BoxError, Error};
use tokio::time::Instant;
use tower::{Layer, ServiceBuilder, ServiceExt};
use tower_test::mock;

/// Whether no request reached the mock (none queued; the channel may be closed).
fn no_request<T, U>(handle: &mut mock::Handle<T, U>) -> bool {
    !matches!(handle.poll_request(), std::task::Poll::Ready(Some(_)))
}

fn policy(attempts: u32, max_elapsed: Duration) -> RetryPolicy {
    RetryPolicy::builder()
        .max_attempts(attempts)
        .constant(Duration::from_millis(100))
        .max_elapsed(max_elapsed)
        .build()
        .unwrap()
}

/// Copies even requests only.
#[derive(Clone)]
struct EvenOnly;

impl Rules<u32, u32> for EvenOnly {
    fn clone_request(&self, req: &u32) -> Option<u32> {
        (req % 2 == 0).then_some(*req)
    }
}

#[tokio::test(start_paused = true)]
async fn only_requests_that_could_be_copied_are_retried() {
    let layer =
        RetryLayer::new(TokioTimer::new(), policy(3, Duration::from_secs(10))).rules(EvenOnly);
    let (svc, mut handle) = mock::pair::<u32, u32>();
    let svc = layer.layer(svc);

    let odd = tokio::spawn(svc.clone().oneshot(1));
    let (req, reply) = handle.next_request().await.unwrap();
    assert_eq!(req, 1);
    reply.send_error("flaky");
    assert_eq!(odd.await.unwrap().unwrap_err().to_string(), "flaky");

    let even = tokio::spawn(svc.oneshot(2));
    let (req, reply) = handle.next_request().await.unwrap();
    assert_eq!(req, 2);
    reply.send_error("flaky");
    let (req, reply) = handle.next_request().await.unwrap();
    assert_eq!(req, 2, "the kept copy is sent again");
    reply.send_response(20);
    assert_eq!(even.await.unwrap().unwrap(), 20);
    assert!(no_request(&mut handle), "the odd request was sent once");
}

type Http = mock::Mock<Request<()>, Response<()>>;

fn busy(retry_after: &str) -> Response<()> {
    Response::builder()
        .status(503)
        .header("retry-after", retry_after)
        .body(())
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn retry_after_from_the_response_is_honoured_within_the_deadline() {
    let (mock, mut handle): (Http, _) = mock::pair();
    let layer =
        RetryLayer::new(TokioTimer::new(), policy(3, Duration::from_secs(5))).rules(HttpRules);
    let svc = layer.layer(mock);
    let start = Instant::now();
    let call = tokio::spawn(svc.clone().oneshot(Request::get("/a").body(()).unwrap()));
    handle
        .next_request()
        .await
        .unwrap()
        .1
        .send_response(busy("2"));
    let (_, reply) = handle.next_request().await.unwrap();
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(2),
        "2 s, the header's, not the policy's 100 ms"
    );
    reply.send_response(Response::new(()));
    assert_eq!(call.await.unwrap().unwrap().status(), 200);

    // A Retry-After past the deadline: no retry, the 503 itself is the answer, at once.
    let start = Instant::now();
    let call = tokio::spawn(svc.clone().oneshot(Request::get("/a").body(()).unwrap()));
    handle
        .next_request()
        .await
        .unwrap()
        .1
        .send_response(busy("60"));
    assert_eq!(call.await.unwrap().unwrap().status(), 503);
    assert_eq!(start.elapsed(), Duration::ZERO);

    // A POST is not idempotent: never copied, never retried.
    let call = tokio::spawn(svc.oneshot(Request::post("/a").body(()).unwrap()));
    handle
        .next_request()
        .await
        .unwrap()
        .1
        .send_response(busy("1"));
    assert_eq!(call.await.unwrap().unwrap().status(), 503);
    assert!(no_request(&mut handle));
}

#[tokio::test(start_paused = true)]
async fn the_deadline_counts_from_the_call_the_first_attempt_included() {
    let (mock, mut handle): (Http, _) = mock::pair();
    let layer =
        RetryLayer::new(TokioTimer::new(), policy(3, Duration::from_secs(5))).rules(HttpRules);
    let call = tokio::spawn(
        layer
            .layer(mock)
            .oneshot(Request::get("/a").body(()).unwrap()),
    );
    let (_, reply) = handle.next_request().await.unwrap();
    // The first attempt takes 4 s of the 5: a retry after 2 s would end past the deadline.
    tokio::time::sleep(Duration::from_secs(4)).await;
    reply.send_response(busy("2"));
    assert_eq!(call.await.unwrap().unwrap().status(), 503);
    assert!(no_request(&mut handle));
}

#[tokio::test(start_paused = true)]
async fn the_attempt_timeout_cuts_the_first_attempt_short_too() {
    let (mock, mut handle) = mock::pair::<u32, u32>();
    let policy = RetryPolicy::builder()
        .max_attempts(2)
        .constant(Duration::ZERO)
        .attempt_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let call = tokio::spawn(
        RetryLayer::new(TokioTimer::new(), policy)
            .layer(mock)
            .oneshot(3),
    );
    let start = Instant::now();
    let (_, slow) = handle.next_request().await.unwrap();
    let (req, reply) = tokio::time::timeout(Duration::from_secs(60), handle.next_request())
        .await
        .expect("a retry once the first attempt ran out of time")
        .unwrap();
    assert_eq!(req, 3);
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(1),
        "the first attempt was dropped at its limit and retried"
    );
    drop(slow);
    reply.send_response(30);
    assert_eq!(call.await.unwrap().unwrap(), 30);
}

#[tokio::test(start_paused = true)]
async fn retry_after_from_the_error_is_honoured_within_the_deadline() {
    let timer = TokioTimer::new();
    let limiter = Arc::new(
        RateLimiter::builder(1, Duration::from_secs(1))
            .build()
            .unwrap(),
    );
    let stack = |max_elapsed| {
        ServiceBuilder::new()
            .layer(RetryLayer::new(timer, policy(3, max_elapsed)))
            .layer(RateLimitLayer::new(limiter.clone(), timer).reject())
    };
    let (mock, mut handle) = mock::pair::<u32, u32>();
    let replies = tokio::spawn(async move {
        while let Some((n, reply)) = handle.next_request().await {
            reply.send_response(n * 10);
        }
    });

    let start = Instant::now();
    assert_eq!(
        stack(Duration::from_secs(5))
            .service(mock.clone())
            .oneshot(1)
            .await
            .unwrap(),
        10
    );
    assert_eq!(start.elapsed(), Duration::ZERO);
    // Refused with "come back in 1 s": the retry sleeps exactly that, then gets through.
    assert_eq!(
        stack(Duration::from_secs(5))
            .service(mock.clone())
            .oneshot(2)
            .await
            .unwrap(),
        20
    );
    assert_eq!(start.elapsed(), Duration::from_secs(1));

    // The wait would end past the deadline: the refusal itself is the answer, at once.
    let err = stack(Duration::from_millis(500))
        .service(mock)
        .oneshot(3)
        .await
        .unwrap_err();
    let err = err.downcast_ref::<Error>().unwrap();
    assert!(matches!(
        err,
        Error::RateLimited(LimitError::RateLimited { .. })
    ));
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    replies.abort();
}

#[tokio::test(start_paused = true)]
async fn a_permanent_refusal_is_not_retried_and_the_budget_caps_retries() {
    let timer = TokioTimer::new();
    let closed = Arc::new(Bulkhead::new(1));
    closed.close();
    let (mock, mut handle) = mock::pair::<u32, u32>();
    let svc = ServiceBuilder::new()
        .layer(RetryLayer::new(timer, policy(5, Duration::from_secs(5))))
        .layer(BulkheadLayer::new(closed, timer))
        .service(mock.clone());
    let err = svc.oneshot(1).await.unwrap_err();
    assert_eq!(
        err.downcast_ref::<Error>(),
        Some(&Error::Bulkhead(Rejected::Closed))
    );

    // A budget with nothing to give: the first error is the answer.
    let empty = Arc::new(
        RetryBudget::builder()
            .min_retries(0)
            .percent(0)
            .build()
            .unwrap(),
    );
    let svc = RetryLayer::new(timer, policy(5, Duration::from_secs(5)))
        .budget(empty)
        .layer(mock);
    let call = tokio::spawn(svc.oneshot(1));
    handle.next_request().await.unwrap().1.send_error("flaky");
    assert_eq!(call.await.unwrap().unwrap_err().to_string(), "flaky");
    assert!(no_request(&mut handle), "no retry was made");
}

#[tokio::test(start_paused = true)]
async fn each_retry_waits_its_turn_at_an_inner_bulkhead() {
    let timer = TokioTimer::new();
    let bulkhead = Arc::new(Bulkhead::new(1));
    let (mock, mut handle) = mock::pair::<u32, u32>();
    let svc = ServiceBuilder::new()
        .layer(RetryLayer::new(timer, policy(3, Duration::from_secs(5))))
        .layer(BulkheadLayer::new(bulkhead.clone(), timer))
        .service(mock);
    let holder = bulkhead.try_acquire_owned().unwrap();
    let call = tokio::spawn(svc.oneshot(7));
    tokio::task::yield_now().await;
    assert!(
        no_request(&mut handle),
        "the first attempt waits for the permit"
    );
    drop(holder);
    handle.next_request().await.unwrap().1.send_error("flaky");
    let (req, reply) = handle.next_request().await.unwrap();
    assert_eq!(req, 7);
    assert_eq!(
        bulkhead.metrics().in_flight,
        1,
        "the retry holds the one permit"
    );
    reply.send_response(70);
    assert_eq!(call.await.unwrap().unwrap(), 70);
    assert_eq!(bulkhead.metrics().in_flight, 0);
}

#[test]
fn the_default_verdict_follows_the_refusal() {
    use steadfast_tower::retry::default_retry_error;
    let closed: BoxError = Error::Bulkhead(Rejected::Closed).into();
    let full: BoxError = Error::Bulkhead(Rejected::Full).into();
    let other: BoxError = "anything".into();
    assert_eq!(default_retry_error(&closed), Verdict::Done);
    assert_eq!(default_retry_error(&full), Verdict::Retry);
    assert_eq!(default_retry_error(&other), Verdict::Retry);
}
