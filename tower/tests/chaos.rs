//! The chaos layer against tower-test's mock service, on tokio's paused clock: each fault at
//! its rate, latency delaying the inner response, a stall that never answers and never calls
//! the inner service, the outcome rule, the switch.

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use steadfast::chaos::{Chaos, Injected, Latency};
use steadfast_tokio::TokioTimer;
use steadfast_tower::BoxError;
use steadfast_tower::chaos::ChaosLayer;
use tokio_test::{assert_pending, assert_ready_ok, task};
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};
use tower_test::mock;

fn injected(err: &BoxError) -> Injected {
    *err.downcast_ref::<Injected>()
        .unwrap_or_else(|| panic!("not an injected fault: {err}"))
}

fn chaos(b: steadfast::chaos::ChaosBuilder) -> Arc<Chaos> {
    Arc::new(b.build().unwrap())
}

#[tokio::test(start_paused = true)]
async fn an_error_is_injected_at_its_rate_and_the_inner_service_sees_the_rest() {
    const N: u32 = 20_000;
    let stage = chaos(Chaos::builder().error(0.2).seed(4));
    let inner_calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let seen = inner_calls.clone();
    let mut svc = ServiceBuilder::new()
        .layer(ChaosLayer::new(stage.clone(), TokioTimer::new()))
        .service(service_fn(move |n: u32| {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { Ok::<_, std::convert::Infallible>(n) }
        }));
    let mut failed = 0;
    for n in 0..N {
        match svc.ready().await.unwrap().call(n).await {
            Ok(out) => assert_eq!(out, n),
            Err(e) => {
                assert_eq!(injected(&e), Injected::Error);
                failed += 1;
            }
        }
    }
    // 20 % of 20,000: 4,000 ± 5 σ (σ = 56.6).
    assert!((3717..=4283).contains(&failed), "{failed}");
    let m = stage.metrics();
    assert_eq!((m.calls, m.errors), (u64::from(N), u64::from(failed)));
    assert_eq!(
        inner_calls.load(std::sync::atomic::Ordering::SeqCst),
        N - failed,
        "a failed call does not reach the inner service"
    );
}

#[tokio::test(start_paused = true)]
async fn latency_delays_the_inner_response() {
    let stage = chaos(Chaos::builder().latency(1.0, Latency::Fixed(Duration::from_secs(2))));
    let (mut svc, mut handle) =
        mock::spawn_layer::<u32, u32, _>(ChaosLayer::new(stage, TokioTimer::new()));
    assert_ready_ok!(svc.poll_ready());
    let start = tokio::time::Instant::now();
    let mut response = task::spawn(svc.call(7));
    let (req, reply) = handle.next_request().await.unwrap();
    assert_eq!(req, 7, "the inner service is called at once");
    reply.send_response(70);
    assert_pending!(response.poll(), "the response waits for the delay");
    tokio::time::sleep(Duration::from_millis(1999)).await;
    assert_pending!(response.poll());
    assert_eq!(response.await.unwrap(), 70);
    assert_eq!(start.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn a_stall_never_answers_and_never_calls_the_inner_service() {
    let stage = chaos(Chaos::builder().stall(1.0));
    let (mut svc, mut handle) =
        mock::spawn_layer::<u32, u32, _>(ChaosLayer::new(stage.clone(), TokioTimer::new()));
    assert_ready_ok!(svc.poll_ready());
    let mut response = task::spawn(svc.call(1));
    assert_pending!(response.poll());
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_pending!(response.poll());
    drop(response);
    assert!(
        handle.next_request().now_or_never().is_none(),
        "no request reached the inner service"
    );
    assert_eq!(stage.metrics().stalls, 1);
}

#[tokio::test(start_paused = true)]
async fn an_outcome_is_the_rules_response_without_calling_the_inner_service() {
    fn unavailable(req: &u32) -> u32 {
        500 + req
    }
    let stage = chaos(Chaos::builder().outcome(1.0));
    let layer = ChaosLayer::new(stage.clone(), TokioTimer::new()).outcome(unavailable);
    let (mut svc, mut handle) = mock::spawn_layer::<u32, u32, _>(layer);
    assert_ready_ok!(svc.poll_ready());
    assert_eq!(svc.call(3).await.unwrap(), 503);
    // Without a rule, the outcome fault fails as an error does.
    let (mut bare, _h) =
        mock::spawn_layer::<u32, u32, _>(ChaosLayer::new(stage, TokioTimer::new()));
    assert_ready_ok!(bare.poll_ready());
    assert_eq!(
        injected(&bare.call(3).await.unwrap_err()),
        Injected::Outcome
    );
    assert!(handle.next_request().now_or_never().is_none());
}

#[tokio::test(start_paused = true)]
async fn disabled_passes_every_call_and_readiness_is_the_inner_services() {
    let stage = chaos(Chaos::builder().error(1.0).enabled(false));
    let (mut svc, mut handle) =
        mock::spawn_layer::<u32, u32, _>(ChaosLayer::new(stage.clone(), TokioTimer::new()));
    handle.allow(0);
    assert_pending!(svc.poll_ready(), "not ready while the inner service is not");
    handle.allow(100);
    for n in 0..100 {
        assert_ready_ok!(svc.poll_ready());
        let mut response = task::spawn(svc.call(n));
        let (req, reply) = handle.next_request().await.unwrap();
        reply.send_response(req * 2);
        assert_eq!(assert_ready_ok!(response.poll()), n * 2);
    }
    let m = stage.metrics();
    assert_eq!((m.calls, m.drawn, m.injected()), (100, 0, 0));

    // Switched on from elsewhere: every clone sees it.
    stage.enable();
    let mut clone = svc.clone();
    handle.allow(1);
    assert_ready_ok!(clone.poll_ready());
    assert_eq!(injected(&clone.call(1).await.unwrap_err()), Injected::Error);
    assert_eq!(stage.metrics().errors, 1);
}

#[tokio::test(start_paused = true)]
async fn the_inner_services_errors_pass_through_unchanged() {
    let stage = chaos(Chaos::builder());
    let svc = ServiceBuilder::new()
        .layer(ChaosLayer::new(stage, TokioTimer::new()))
        .service(service_fn(|()| async { Err::<(), _>("upstream down") }));
    let err = svc.oneshot(()).await.unwrap_err();
    assert_eq!(err.to_string(), "upstream down");
    assert!(err.downcast_ref::<Injected>().is_none());
}
