//! An axum app whose own route and whose outbound calls go through steadfast's layers, run
//! against a flaky upstream on loopback, in one process that stops by itself.
//!
//! ```sh
//! cargo run -p steadfast-tower --example axum
//! ```
//!
//! - The app's route `/quote` sheds load: a rate limit (200 a second, bursts of 20) and a
//!   bulkhead (8 at once, no queue) answer 503 with the reason, and `Retry-After` when known.
//! - Each `/quote` calls the upstream through a client stack: retry (3 attempts, Retry-After
//!   honoured, within 1 s) → circuit breaker → bulkhead (4 at once) → timeout of each attempt
//!   (100 ms).
//! - The upstream answers 503 with `Retry-After: 0` to one request in four and stalls one in
//!   ten past the attempt timeout.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::State;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use steadfast::breaker::CircuitBreaker;
use steadfast::bulkhead::Bulkhead;
use steadfast::limiter::RateLimiter;
use steadfast::retry::RetryPolicy;
use steadfast_tokio::TokioTimer;
use steadfast_tower::breaker::BreakerLayer;
use steadfast_tower::bulkhead::BulkheadLayer;
use steadfast_tower::limiter::RateLimitLayer;
use steadfast_tower::retry::{HttpRules, RetryLayer};
use steadfast_tower::timeout::TimeoutLayer;
use steadfast_tower::{BoxError, Error};
use tower::{ServiceBuilder, ServiceExt};

/// A refusal of the layers as an HTTP answer: 503 with the reason, and `Retry-After` (whole
/// seconds, rounded up) when the layer knows when to come back.
async fn refusal(err: BoxError) -> Response {
    let Some(ours) = err.downcast_ref::<Error>() else {
        return (StatusCode::BAD_GATEWAY, err.to_string()).into_response();
    };
    let mut res = (StatusCode::SERVICE_UNAVAILABLE, ours.to_string()).into_response();
    if let Some(after) = ours.retry_after() {
        let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

/// The flaky upstream: counts its requests.
async fn upstream(State(seen): State<Arc<AtomicU64>>) -> Response {
    let n = seen.fetch_add(1, Ordering::Relaxed);
    if n % 4 == 1 {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "0")],
            "busy",
        )
            .into_response();
    }
    if n % 10 == 7 {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    format!("quote #{n}").into_response()
}

async fn serve(
    app: Router,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (addr, stop, task)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // Bounded in time, whatever happens.
    tokio::time::timeout(Duration::from_secs(30), run()).await?
}

async fn run() -> Result<(), BoxError> {
    let timer = TokioTimer::new();
    let seen = Arc::new(AtomicU64::new(0));
    let (up_addr, stop_up, up_task) = serve(
        Router::new()
            .route("/", get(upstream))
            .with_state(Arc::clone(&seen)),
    )
    .await;

    // The outbound stack, around hyper-util's client.
    let breaker = Arc::new(CircuitBreaker::builder().build::<10>()?);
    let out_bulkhead = Arc::new(Bulkhead::builder(4).max_waiting(64).build()?);
    let policy = RetryPolicy::builder()
        .max_attempts(3)
        .exponential(Duration::from_millis(10), 2.0)
        .max_elapsed(Duration::from_secs(1))
        .build()?;
    let outbound = ServiceBuilder::new()
        .layer(RetryLayer::new(timer, policy).rules(HttpRules))
        .layer(BreakerLayer::new(Arc::clone(&breaker), timer))
        .layer(BulkheadLayer::new(Arc::clone(&out_bulkhead), timer))
        .layer(TimeoutLayer::new(timer, Duration::from_millis(100)))
        .service(Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>());

    // The app: its own route sheds load, and calls the upstream through the stack.
    let limiter = Arc::new(
        RateLimiter::builder(200, Duration::from_secs(1))
            .burst(20)
            .build()?,
    );
    let in_bulkhead = Arc::new(Bulkhead::builder(8).reject_when_full().build()?);
    let upstream_uri: axum::http::Uri = format!("http://{up_addr}/").parse()?;
    let quote = get(move || {
        let (outbound, uri) = (outbound.clone(), upstream_uri.clone());
        async move {
            let req = Request::get(uri).body(Full::new(Bytes::new())).unwrap();
            match outbound.oneshot(req).await {
                Ok(res) if res.status().is_success() => {
                    let body = res.into_body().collect().await.map(|b| b.to_bytes());
                    (StatusCode::OK, body.unwrap_or_default()).into_response()
                }
                Ok(res) => (
                    StatusCode::BAD_GATEWAY,
                    format!("upstream {}", res.status()),
                )
                    .into_response(),
                Err(err) => refusal(err).await,
            }
        }
    })
    .route_layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(refusal))
            .layer(RateLimitLayer::new(Arc::clone(&limiter), timer).reject())
            .layer(BulkheadLayer::new(Arc::clone(&in_bulkhead), timer)),
    );
    let (app_addr, stop_app, app_task) = serve(Router::new().route("/quote", quote)).await;

    // A burst of 60 callers at once.
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let calls = (0..60).map(|_| {
        let client = client.clone();
        tokio::spawn(async move {
            let res = client
                .get(format!("http://{app_addr}/quote").parse()?)
                .await?;
            let status = res.status();
            let body = res.into_body().collect().await?.to_bytes();
            let label = if status.is_success() {
                "quote".to_owned()
            } else {
                String::from_utf8_lossy(&body).into_owned()
            };
            Ok::<_, BoxError>((status, label))
        })
    });
    let mut tally: BTreeMap<(u16, String), u32> = BTreeMap::new();
    for call in calls.collect::<Vec<_>>() {
        let (status, label) = call.await??;
        *tally.entry((status.as_u16(), label)).or_default() += 1;
    }

    println!("60 callers at once on /quote:");
    for ((status, label), n) in &tally {
        println!("  {n:>3} x {status} {label}");
    }
    // Then 30 callers one after another, within the rate: the retries cover the upstream's
    // flakiness.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = seen.load(Ordering::Relaxed);
    let mut ok = 0;
    for _ in 0..30 {
        let res = client
            .get(format!("http://{app_addr}/quote").parse()?)
            .await?;
        ok += u32::from(res.status().is_success());
        res.into_body().collect().await?;
    }
    println!(
        "30 callers one by one: {ok} x 200, the upstream saw {} requests for them",
        seen.load(Ordering::Relaxed) - before
    );
    println!(
        "in all, the upstream saw {} requests (retries included); outbound breaker {:?}; outbound bulkhead high-water {}/4; app bulkhead high-water {}/8",
        seen.load(Ordering::Relaxed),
        breaker.state(timer.now()),
        out_bulkhead.metrics().high_water,
        in_bulkhead.metrics().high_water,
    );

    drop(client);
    let _ = stop_app.send(());
    app_task.await?;
    let _ = stop_up.send(());
    up_task.await?;
    assert_eq!(in_bulkhead.metrics().in_flight, 0);
    assert_eq!(out_bulkhead.metrics().in_flight, 0);
    Ok(())
}
