//! The hedge layer against tower-test's mock service, on tokio's paused clock: a slow first
//! attempt gets a hedge after the delay and the first answer wins; a request that cannot be
//! copied is sent once; a retryable failure starts the next hedge at once.

use std::time::Duration;

use steadfast::hedge::HedgePolicy;
use steadfast_tokio::TokioTimer;
use steadfast_tower::hedge::HedgeLayer;
use steadfast_tower::retry::Rules;
use tokio::time::Instant;
use tower::{Layer, ServiceExt};
use tower_test::mock;

fn no_request<T, U>(handle: &mut mock::Handle<T, U>) -> bool {
    !matches!(handle.poll_request(), std::task::Poll::Ready(Some(_)))
}

fn policy() -> HedgePolicy {
    HedgePolicy::builder()
        .max_attempts(2)
        .delay(Duration::from_millis(50))
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
async fn a_slow_first_attempt_gets_a_hedge_and_the_first_answer_wins() {
    let (mock, mut handle) = mock::pair::<u32, u32>();
    let svc = HedgeLayer::new(TokioTimer::new(), policy()).layer(mock);
    let start = Instant::now();
    let call = tokio::spawn(svc.oneshot(2));
    let (req, slow) = handle.next_request().await.unwrap();
    assert_eq!(req, 2);
    let (req, fast) = handle.next_request().await.unwrap();
    assert_eq!((req, start.elapsed()), (2, Duration::from_millis(50)));
    fast.send_response(20);
    assert_eq!(call.await.unwrap().unwrap(), 20);
    slow.send_response(99); // the loser's answer goes nowhere
    assert!(no_request(&mut handle));
}

#[tokio::test(start_paused = true)]
async fn a_request_that_cannot_be_copied_is_sent_once() {
    let (mock, mut handle) = mock::pair::<u32, u32>();
    let svc = HedgeLayer::new(TokioTimer::new(), policy())
        .rules(EvenOnly)
        .layer(mock);
    let call = tokio::spawn(svc.oneshot(1));
    let (_, reply) = handle.next_request().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        no_request(&mut handle),
        "no hedge of a request with no copy"
    );
    reply.send_response(10);
    assert_eq!(call.await.unwrap().unwrap(), 10);
}

#[tokio::test(start_paused = true)]
async fn a_retryable_failure_starts_the_next_hedge_at_once() {
    let (mock, mut handle) = mock::pair::<u32, u32>();
    let svc = HedgeLayer::new(TokioTimer::new(), policy()).layer(mock);
    let start = Instant::now();
    let call = tokio::spawn(svc.oneshot(4));
    handle.next_request().await.unwrap().1.send_error("flaky");
    let (_, reply) = handle.next_request().await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO, "not after the 50 ms delay");
    reply.send_response(40);
    assert_eq!(call.await.unwrap().unwrap(), 40);
}
