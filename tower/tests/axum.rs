//! An axum router whose routes go through the layers, under load on loopback (bounded in
//! count and in time): the bulkhead's limit and the breaker's trip are visible in the
//! responses, and nothing is left held once the server is gone.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use steadfast::breaker::{CircuitBreaker, Outcome};
use steadfast::bulkhead::Bulkhead;
use steadfast_tokio::TokioTimer;
use steadfast_tower::breaker::BreakerLayer;
use steadfast_tower::bulkhead::BulkheadLayer;
use steadfast_tower::{BoxError, Error};
use tokio::sync::watch;
use tower::ServiceBuilder;

/// A refusal of the layers as an HTTP answer: 503 with the reason, and `Retry-After` when the
/// layer knows when to come back.
async fn refusal(err: BoxError) -> Response {
    let Some(ours) = err.downcast_ref::<Error>() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response();
    };
    let mut res = (StatusCode::SERVICE_UNAVAILABLE, ours.to_string()).into_response();
    if let Some(after) = ours.retry_after() {
        let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

fn by_status(r: &Result<Response, std::convert::Infallible>) -> Outcome {
    match r {
        Ok(res) if res.status().is_server_error() => Outcome::Failure,
        _ => Outcome::Success,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bulkhead_limit_and_the_breaker_trip_show_in_the_responses() {
    tokio::time::timeout(Duration::from_secs(20), run())
        .await
        .expect("the load run ends well within its time bound");
}

async fn run() {
    const LIMIT: usize = 4;
    const CALLERS: usize = 16;
    let timer = TokioTimer::new();
    let bulkhead = Arc::new(Bulkhead::builder(LIMIT).reject_when_full().build().unwrap());
    let breaker = Arc::new(
        CircuitBreaker::builder()
            .consecutive_failures(3)
            .open_for(Duration::from_secs(60))
            .build::<1>()
            .unwrap(),
    );
    let (open_gate, gate) = watch::channel(false);

    let slow = get(move || {
        let mut gate = gate.clone();
        async move {
            gate.wait_for(|open| *open).await.unwrap();
            "done"
        }
    })
    .route_layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(refusal))
            .layer(BulkheadLayer::new(Arc::clone(&bulkhead), timer)),
    );
    let flaky = get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "upstream broke") })
        .route_layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(refusal))
                .layer(
                    BreakerLayer::new(Arc::clone(&breaker), timer)
                        .classify(by_status as fn(&Result<Response, _>) -> Outcome),
                ),
        );
    let app = Router::new().route("/slow", slow).route("/flaky", flaky);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });

    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let fetch = |path: &'static str| {
        let client = client.clone();
        async move {
            let uri = format!("http://{addr}{path}").parse().unwrap();
            let res = client.get(uri).await.unwrap();
            let status = res.status();
            let retry_after = res.headers().get(header::RETRY_AFTER).cloned();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                retry_after,
                String::from_utf8(body.to_vec()).unwrap(),
            )
        }
    };

    // 16 callers at once on a route limited to 4: 4 get in and wait at the gate, 12 are
    // turned away at once.
    let callers: Vec<_> = (0..CALLERS).map(|_| tokio::spawn(fetch("/slow"))).collect();
    let mut rejected = 0;
    let mut pending = Vec::new();
    for caller in callers {
        if caller.is_finished() {
            let (status, _, body) = caller.await.unwrap();
            assert_eq!(
                (status, body.as_str()),
                (StatusCode::SERVICE_UNAVAILABLE, "bulkhead: full")
            );
            rejected += 1;
        } else {
            pending.push(caller);
        }
    }
    // Wait until every refusal is in: the 4 admitted hold their permits at the gate.
    while bulkhead.metrics().rejected_full < CALLERS - LIMIT {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(bulkhead.metrics().in_flight, LIMIT);
    open_gate.send(true).unwrap();
    let mut ok = 0;
    for caller in pending {
        let (status, _, body) = caller.await.unwrap();
        match status {
            StatusCode::OK => {
                assert_eq!(body, "done");
                ok += 1;
            }
            _ => {
                assert_eq!(
                    (status, body.as_str()),
                    (StatusCode::SERVICE_UNAVAILABLE, "bulkhead: full")
                );
                rejected += 1;
            }
        }
    }
    assert_eq!((ok, rejected), (LIMIT, CALLERS - LIMIT));
    let m = bulkhead.metrics();
    assert_eq!(
        (m.in_flight, m.high_water, m.rejected_full),
        (0, LIMIT, CALLERS - LIMIT)
    );

    // Three 500s trip the breaker; from then on the route answers 503 with Retry-After and
    // the handler is not run.
    for _ in 0..3 {
        let (status, _, body) = fetch("/flaky").await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::INTERNAL_SERVER_ERROR, "upstream broke")
        );
    }
    for _ in 0..5 {
        let (status, retry_after, body) = fetch("/flaky").await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, "breaker: circuit open")
        );
        assert_eq!(retry_after.unwrap(), "60");
    }
    let m = breaker.metrics(timer.now());
    assert_eq!(
        (m.state, m.probes_in_flight),
        (steadfast::breaker::State::Open, 0)
    );

    // Nothing leaked: with the server and the client gone, the test holds the only references.
    drop(client);
    stop.send(()).unwrap();
    server.await.unwrap();
    // The last connection tasks may still be unwinding: give them a bounded moment.
    let released = async {
        while Arc::strong_count(&bulkhead) + Arc::strong_count(&breaker) > 2 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(2), released)
        .await
        .expect("every service clone is dropped with its connection");
    assert_eq!(bulkhead.metrics().in_flight, 0);
}
