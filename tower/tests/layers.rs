//! Every layer against tower-test's mock service, on tokio's paused clock: readiness,
//! backpressure, cancellation, clones, drop before call, refusals from `call`.

use std::sync::Arc;
use std::time::Duration;

use steadfast::breaker::{CircuitBreaker, State as BreakerState};
use steadfast::bulkhead::{Bulkhead, Rejected};
use steadfast::limiter::{LimitError, RateLimiter};
use steadfast_tokio::TokioTimer;
use steadfast_tower::breaker::BreakerLayer;
use steadfast_tower::bulkhead::BulkheadLayer;
use steadfast_tower::limiter::RateLimitLayer;
use steadfast_tower::timeout::TimeoutLayer;
use steadfast_tower::{BoxError, Error, Stage};
use tokio_test::{assert_pending, assert_ready_ok, task};
use tower_test::mock;

fn ours(err: &BoxError) -> &Error {
    err.downcast_ref::<Error>()
        .unwrap_or_else(|| panic!("not a steadfast-tower error: {err}"))
}

fn bulkhead(n: usize) -> Arc<Bulkhead> {
    Arc::new(Bulkhead::new(n))
}

// ---- bulkhead ----

#[tokio::test(start_paused = true)]
async fn bulkhead_backpressure_holds_the_second_caller_until_the_first_response_ends() {
    let b = bulkhead(1);
    let (mut first, mut handle) =
        mock::spawn_layer::<u32, u32, _>(BulkheadLayer::new(b.clone(), TokioTimer::new()));
    let mut second = first.clone();

    assert_ready_ok!(first.poll_ready());
    assert_eq!(
        b.metrics().in_flight,
        1,
        "the permit is reserved by poll_ready"
    );
    assert_pending!(second.poll_ready());

    let mut response = task::spawn(first.call(1));
    let (req, reply) = handle.next_request().await.unwrap();
    assert_eq!(req, 1);
    assert_pending!(response.poll());
    assert_pending!(
        second.poll_ready(),
        "the permit moved into the response future"
    );

    reply.send_response(10);
    assert_eq!(assert_ready_ok!(response.poll()), 10);
    assert_eq!(
        b.metrics().in_flight,
        1,
        "handed straight to the waiting clone"
    );
    assert!(second.is_woken());
    assert_ready_ok!(second.poll_ready());
    drop(second);
    assert_eq!(b.metrics().in_flight, 0);
}

#[tokio::test(start_paused = true)]
async fn bulkhead_a_clone_starts_unready_and_dropping_a_ready_service_releases_its_permit() {
    let b = bulkhead(1);
    let (mut svc, _handle) =
        mock::spawn_layer::<u32, u32, _>(BulkheadLayer::new(b.clone(), TokioTimer::new()));
    assert_ready_ok!(svc.poll_ready());
    let mut clone = svc.clone();
    assert_eq!(
        b.metrics().in_flight,
        1,
        "the clone did not copy the permit"
    );
    assert_pending!(clone.poll_ready());
    drop(svc);
    assert!(
        clone.is_woken(),
        "the dropped service's permit went to the waiting clone"
    );
    assert_ready_ok!(clone.poll_ready());
    drop(clone);
    assert_eq!(b.metrics().in_flight, 0);
}

#[tokio::test(start_paused = true)]
async fn bulkhead_a_dropped_response_future_gives_its_permit_back() {
    let b = bulkhead(1);
    let (mut svc, mut handle) =
        mock::spawn_layer::<u32, u32, _>(BulkheadLayer::new(b.clone(), TokioTimer::new()));
    assert_ready_ok!(svc.poll_ready());
    let response = svc.call(1);
    let _request = handle.next_request().await.unwrap();
    assert_eq!(b.metrics().in_flight, 1);
    drop(response);
    assert_eq!(b.metrics().in_flight, 0);
    assert_ready_ok!(svc.poll_ready());
}

#[tokio::test(start_paused = true)]
async fn bulkhead_full_in_reject_mode_answers_from_call_without_calling_inner() {
    let b = Arc::new(Bulkhead::builder(1).reject_when_full().build().unwrap());
    let (mut svc, mut handle) =
        mock::spawn_layer::<u32, u32, _>(BulkheadLayer::new(b.clone(), TokioTimer::new()));
    let mut other = svc.clone();
    assert_ready_ok!(svc.poll_ready());
    assert_ready_ok!(other.poll_ready(), "a refusal is not a readiness error");
    let err = other.call(2).await.unwrap_err();
    assert_eq!(ours(&err), &Error::Bulkhead(Rejected::Full));
    assert_eq!(ours(&err).stage(), Stage::Bulkhead);
    assert!(
        handle.poll_request().is_pending(),
        "the inner service was not called"
    );
    assert_eq!(b.metrics().rejected_full, 1);
}

#[tokio::test(start_paused = true)]
async fn bulkhead_max_wait_and_a_full_queue_and_close_answer_from_call() {
    let b = Arc::new(Bulkhead::builder(1).max_waiting(1).build().unwrap());
    let layer = BulkheadLayer::new(b.clone(), TokioTimer::new()).max_wait(Duration::from_secs(1));
    let (mut holder, _handle) = mock::spawn_layer::<u32, u32, _>(layer);
    let (mut waiter, mut queued_out) = (holder.clone(), holder.clone());
    assert_ready_ok!(holder.poll_ready());
    assert_pending!(waiter.poll_ready());
    assert_ready_ok!(queued_out.poll_ready(), "one may wait, and one does");
    let err = queued_out.call(3).await.unwrap_err();
    assert_eq!(ours(&err), &Error::Bulkhead(Rejected::QueueFull));

    tokio::time::advance(Duration::from_secs(1)).await;
    assert_ready_ok!(waiter.poll_ready());
    let err = waiter.call(2).await.unwrap_err();
    assert_eq!(ours(&err), &Error::Bulkhead(Rejected::WaitedTooLong));

    b.close();
    let mut late = holder.clone();
    assert_ready_ok!(late.poll_ready());
    assert_eq!(
        ours(&late.call(4).await.unwrap_err()),
        &Error::Bulkhead(Rejected::Closed)
    );
}

#[tokio::test(start_paused = true)]
async fn bulkhead_inner_readiness_errors_pass_through_and_the_permit_goes_with_the_service() {
    let b = bulkhead(1);
    let (mut svc, mut handle) =
        mock::spawn_layer::<u32, u32, _>(BulkheadLayer::new(b.clone(), TokioTimer::new()));
    handle.allow(0);
    assert_pending!(
        svc.poll_ready(),
        "waiting for the inner service, permit held"
    );
    assert_eq!(b.metrics().in_flight, 1);
    handle.send_error("inner broke");
    let err = svc.poll_ready().map(|r| r.unwrap_err());
    assert_eq!(
        err.map(|e| e.to_string()),
        std::task::Poll::Ready("inner broke".into())
    );
    drop(svc);
    assert_eq!(b.metrics().in_flight, 0);
}

// ---- circuit breaker ----

fn trips_after(k: u32) -> Arc<CircuitBreaker<1>> {
    Arc::new(
        CircuitBreaker::builder()
            .consecutive_failures(k)
            .open_for(Duration::from_secs(10))
            .build()
            .unwrap(),
    )
}

#[tokio::test(start_paused = true)]
async fn breaker_open_answers_from_call_with_retry_after_and_readiness_stays_ok() {
    let br = trips_after(1);
    let (mut svc, mut handle) =
        mock::spawn_layer::<u32, u32, _>(BreakerLayer::new(br.clone(), TokioTimer::new()));
    let mut clone = svc.clone();

    assert_ready_ok!(svc.poll_ready());
    let response = svc.call(1);
    let (_, reply) = handle.next_request().await.unwrap();
    reply.send_error("boom");
    assert_eq!(response.await.unwrap_err().to_string(), "boom");
    assert_eq!(br.state(TokioTimer::new().now()), BreakerState::Open);

    assert_ready_ok!(
        clone.poll_ready(),
        "an open circuit is not a readiness error"
    );
    let err = clone.call(2).await.unwrap_err();
    assert!(matches!(ours(&err), Error::CircuitOpen(_)));
    assert_eq!(ours(&err).retry_after(), Some(Duration::from_secs(10)));
    assert!(
        handle.poll_request().is_pending(),
        "the inner service was not called"
    );
}

#[tokio::test(start_paused = true)]
async fn breaker_a_cancelled_probe_frees_its_slot_and_a_ready_service_holds_none() {
    let br = trips_after(1);
    let timer = TokioTimer::new();
    let (mut svc, mut handle) =
        mock::spawn_layer::<u32, u32, _>(BreakerLayer::new(br.clone(), timer));
    br.trip_for(timer.now(), Duration::from_secs(1));
    tokio::time::advance(Duration::from_secs(1)).await;

    let mut idle = svc.clone();
    assert_ready_ok!(idle.poll_ready());
    assert_eq!(
        br.metrics(timer.now()).probes_in_flight,
        0,
        "readiness takes no probe slot"
    );

    assert_ready_ok!(svc.poll_ready());
    let probe = svc.call(1);
    let _request = handle.next_request().await.unwrap();
    assert_eq!(br.metrics(timer.now()).probes_in_flight, 1);
    drop(probe);
    assert_eq!(br.metrics(timer.now()).probes_in_flight, 0);

    let probe = idle.call(2);
    let (_, reply) = handle.next_request().await.unwrap();
    reply.send_response(20);
    assert_eq!(probe.await.unwrap(), 20);
    assert_eq!(br.state(timer.now()), BreakerState::Closed);
}

// ---- rate limiter ----

fn per_second(n: u32) -> Arc<RateLimiter> {
    Arc::new(
        RateLimiter::builder(n, Duration::from_secs(1))
            .build()
            .unwrap(),
    )
}

#[tokio::test(start_paused = true)]
async fn limiter_clones_share_one_rate() {
    let lim = per_second(1);
    let layer = RateLimitLayer::new(lim.clone(), TokioTimer::new()).reject();
    let (mut a, mut handle) = mock::spawn_layer::<u32, u32, _>(layer);
    let mut b = a.clone();

    assert_ready_ok!(a.poll_ready());
    let response = a.call(1);
    handle.next_request().await.unwrap().1.send_response(1);
    assert_eq!(response.await.unwrap(), 1);

    assert_ready_ok!(b.poll_ready(), "a refusal is not a readiness error");
    let err = b.call(2).await.unwrap_err();
    assert!(matches!(
        ours(&err),
        Error::RateLimited(LimitError::RateLimited { .. })
    ));
    assert_eq!(ours(&err).retry_after(), Some(Duration::from_secs(1)));
    assert!(handle.poll_request().is_pending());
}

#[tokio::test(start_paused = true)]
async fn limiter_waits_in_poll_ready_and_a_clone_starts_unready() {
    let lim = per_second(1);
    let (mut a, mut handle) =
        mock::spawn_layer::<u32, u32, _>(RateLimitLayer::new(lim.clone(), TokioTimer::new()));
    assert_ready_ok!(a.poll_ready());
    let mut b = a.clone();
    assert_pending!(b.poll_ready(), "the cell is a's; b waits for the next one");
    let _sent = a.call(1);
    handle.next_request().await.unwrap();
    tokio::time::advance(Duration::from_millis(999)).await;
    assert_pending!(b.poll_ready());
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_ready_ok!(b.poll_ready());
}

#[tokio::test(start_paused = true)]
async fn limiter_max_wait_refuses_at_once_when_the_wait_is_too_long() {
    let lim = per_second(1);
    let layer = RateLimitLayer::new(lim, TokioTimer::new()).max_wait(Duration::from_millis(500));
    let (mut a, _handle) = mock::spawn_layer::<u32, u32, _>(layer);
    assert_ready_ok!(a.poll_ready());
    let _sent = a.call(1);
    assert_ready_ok!(a.poll_ready(), "refused at once: the next cell is 1 s away");
    let err = a.call(2).await.unwrap_err();
    assert_eq!(ours(&err).stage(), Stage::RateLimit);
}

// ---- timeout ----

#[tokio::test(start_paused = true)]
async fn timeout_drops_the_inner_call_and_with_it_an_inner_bulkhead_permit() {
    let b = bulkhead(1);
    let timer = TokioTimer::new();
    let (mut svc, mut handle) = mock::spawn_layer::<u32, u32, _>(tower::layer::layer_fn(|s| {
        tower_layer::Layer::layer(
            &TimeoutLayer::new(timer, Duration::from_secs(2)),
            tower_layer::Layer::layer(&BulkheadLayer::new(b.clone(), timer), s),
        )
    }));
    assert_ready_ok!(svc.poll_ready());
    let mut response = task::spawn(svc.call(1));
    let _request = handle.next_request().await.unwrap();
    assert_pending!(response.poll());
    tokio::time::advance(Duration::from_secs(2)).await;
    let err = response.await.unwrap_err();
    assert!(matches!(ours(&err), Error::TimedOut(_)));
    assert_eq!(
        b.metrics().in_flight,
        0,
        "the timed-out call's permit is back"
    );
}
