//! The pipeline layer against tower-test's mock service, on tokio's paused clock: refusals
//! from the call, the first attempt sent only once admitted, retries of copied requests,
//! Retry-After within the total timeout, and a dropped call giving its permit back.

use std::time::Duration;

use http::{Request, Response};
use steadfast::breaker::CircuitBreaker;
use steadfast::bulkhead::Bulkhead;
use steadfast::pipeline::Pipeline;
use steadfast::retry::RetryPolicy;
use steadfast_tokio::TokioTimer;
use steadfast_tower::Error;
use steadfast_tower::pipeline::PipelineLayer;
use steadfast_tower::retry::HttpRules;
use tokio::time::Instant;
use tokio_test::{assert_pending, assert_ready_ok, task};
use tower::{Layer, ServiceExt};
use tower_test::mock;

fn no_request<T, U>(handle: &mut mock::Handle<T, U>) -> bool {
    !matches!(handle.poll_request(), std::task::Poll::Ready(Some(_)))
}

const RETRY: RetryPolicy = RetryPolicy::builder()
    .max_attempts(3)
    .constant(Duration::from_millis(100))
    .build_const();

#[tokio::test(start_paused = true)]
async fn an_open_circuit_answers_from_the_call_without_calling_the_inner_service() {
    static BREAKER: CircuitBreaker = CircuitBreaker::builder()
        .consecutive_failures(1)
        .build_const();
    static PIPELINE: Pipeline<'static> = Pipeline::builder().breaker(&BREAKER).build_const();
    let (mut svc, mut handle) =
        mock::spawn_layer::<u32, u32, _>(PipelineLayer::new(&PIPELINE, TokioTimer::new()));
    assert_ready_ok!(svc.poll_ready());
    // The request is sent when the call is first polled, once admitted: the call runs as a task.
    let first = tokio::spawn(svc.call(1));
    handle.next_request().await.unwrap().1.send_error("down");
    assert_eq!(first.await.unwrap().unwrap_err().to_string(), "down");

    assert_ready_ok!(svc.poll_ready(), "an open circuit is not a readiness error");
    let err = svc.call(2).await.unwrap_err();
    assert!(
        matches!(err.downcast_ref::<Error>(), Some(Error::CircuitOpen(_))),
        "{err}"
    );
    assert!(no_request(&mut handle), "the inner service was not called");
}

#[tokio::test(start_paused = true)]
async fn the_first_attempt_waits_for_its_permit_and_a_dropped_call_gives_it_back() {
    static BULKHEAD: Bulkhead = Bulkhead::new(1);
    static PIPELINE: Pipeline<'static> = Pipeline::builder()
        .retry(RETRY)
        .bulkhead(&BULKHEAD)
        .build_const();
    let (mut svc, mut handle) =
        mock::spawn_layer::<u32, u32, _>(PipelineLayer::new(&PIPELINE, TokioTimer::new()));
    let holder = BULKHEAD.try_acquire().unwrap();
    assert_ready_ok!(
        svc.poll_ready(),
        "the pipeline reserves nothing in poll_ready"
    );
    let mut call = task::spawn(svc.call(7));
    assert_pending!(call.poll());
    assert!(no_request(&mut handle), "not sent before it is admitted");
    drop(holder);
    assert!(call.is_woken());
    assert_pending!(call.poll());
    let (req, _reply) = handle.next_request().await.unwrap();
    assert_eq!(req, 7);
    assert_eq!(BULKHEAD.metrics().in_flight, 1);
    drop(call);
    assert_eq!(
        BULKHEAD.metrics().in_flight,
        0,
        "the dropped call gave its permit back"
    );
}

#[tokio::test(start_paused = true)]
async fn copied_requests_are_retried_after_retry_after_within_the_total_timeout() {
    static PIPELINE: Pipeline<'static> = Pipeline::builder()
        .total_timeout(Duration::from_secs(5))
        .retry(RETRY)
        .build_const();
    let (mock, mut handle) = mock::pair::<Request<()>, Response<()>>();
    let svc = PipelineLayer::new(&PIPELINE, TokioTimer::new())
        .rules(HttpRules)
        .layer(mock);
    let busy = |after: &str| {
        Response::builder()
            .status(503)
            .header("retry-after", after)
            .body(())
            .unwrap()
    };

    let start = Instant::now();
    let call = tokio::spawn(svc.clone().oneshot(Request::get("/").body(()).unwrap()));
    handle
        .next_request()
        .await
        .unwrap()
        .1
        .send_response(busy("2"));
    let (_, reply) = handle.next_request().await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    reply.send_response(Response::new(()));
    assert_eq!(call.await.unwrap().unwrap().status(), 200);

    // Past the total timeout: the 503 is the answer, at once.
    let call = tokio::spawn(svc.clone().oneshot(Request::get("/").body(()).unwrap()));
    handle
        .next_request()
        .await
        .unwrap()
        .1
        .send_response(busy("60"));
    assert_eq!(call.await.unwrap().unwrap().status(), 503);

    // A POST is never copied: one attempt.
    let call = tokio::spawn(svc.clone().oneshot(Request::post("/").body(()).unwrap()));
    handle
        .next_request()
        .await
        .unwrap()
        .1
        .send_response(busy("1"));
    assert_eq!(call.await.unwrap().unwrap().status(), 503);
    assert!(no_request(&mut handle));

    // A call that outlives the total timeout is cut there.
    let call = tokio::spawn(svc.oneshot(Request::get("/").body(()).unwrap()));
    let _stalled = handle.next_request().await.unwrap();
    let err = call.await.unwrap().unwrap_err();
    assert_eq!(
        err.downcast_ref::<Error>(),
        Some(&Error::TotalTimedOut(Duration::from_secs(5)))
    );
}
