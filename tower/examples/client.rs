//! A hyper-util client stack under steadfast's layers, against an upstream on loopback that
//! goes down for a while and comes back, in one process that stops by itself.
//!
//! ```sh
//! cargo run -p steadfast-tower --example client
//! ```
//!
//! The stack, outermost first: retry (4 attempts, 503s and their `Retry-After` honoured,
//! within 500 ms, a shared budget) → circuit breaker (5xx responses count as failures; trips
//! after 5 in a row, open 300 ms) → rate limit (100 a second, waiting its turn) → timeout of
//! each attempt (200 ms) → hyper-util's client.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{Request, Response, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use steadfast::breaker::{CircuitBreaker, Outcome};
use steadfast::limiter::RateLimiter;
use steadfast::retry::{RetryBudget, RetryPolicy};
use steadfast_tokio::TokioTimer;
use steadfast_tower::breaker::BreakerLayer;
use steadfast_tower::limiter::RateLimitLayer;
use steadfast_tower::retry::{HttpRules, RetryLayer};
use steadfast_tower::timeout::TimeoutLayer;
use steadfast_tower::{BoxError, Error};
use tower::{Service, ServiceBuilder, ServiceExt};

/// The upstream: answers while `up`, else 503. Counts what it is sent.
#[derive(Clone, Default)]
struct Upstream {
    up: Arc<AtomicBool>,
    seen: Arc<AtomicU64>,
}

async fn answer(State(u): State<Upstream>) -> axum::response::Response {
    u.seen.fetch_add(1, Ordering::Relaxed);
    if u.up.load(Ordering::Relaxed) {
        "ok".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "down").into_response()
    }
}

/// 5xx responses count against the upstream.
fn by_status<E>(r: &Result<Response<Incoming>, E>) -> Outcome {
    match r {
        Ok(res) if res.status().is_server_error() => Outcome::Failure,
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Failure,
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    tokio::time::timeout(Duration::from_secs(30), run()).await?
}

async fn run() -> Result<(), BoxError> {
    let upstream = Upstream::default();
    upstream.up.store(true, Ordering::Relaxed);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let uri: axum::http::Uri = format!("http://{}/", listener.local_addr()?).parse()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = Router::new()
        .route("/", get(answer))
        .with_state(upstream.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });

    let timer = TokioTimer::new();
    let breaker = Arc::new(
        CircuitBreaker::builder()
            .consecutive_failures(5)
            .open_for(Duration::from_millis(300))
            .build::<1>()?,
    );
    let budget = Arc::new(RetryBudget::builder().percent(20).min_retries(5).build()?);
    let policy = RetryPolicy::builder()
        .max_attempts(4)
        .exponential(Duration::from_millis(5), 2.0)
        .max_elapsed(Duration::from_millis(500))
        .build()?;
    let mut client = ServiceBuilder::new()
        .layer(
            RetryLayer::new(timer, policy)
                .rules(HttpRules)
                .budget(budget),
        )
        .layer(
            BreakerLayer::new(Arc::clone(&breaker), timer)
                .classify(by_status as fn(&Result<Response<Incoming>, _>) -> Outcome),
        )
        .layer(RateLimitLayer::new(
            Arc::new(
                RateLimiter::builder(100, Duration::from_secs(1))
                    .burst(10)
                    .build()?,
            ),
            timer,
        ))
        .layer(TimeoutLayer::new(timer, Duration::from_millis(200)))
        .service(Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>());

    for (phase, up, calls) in [("up", true, 20), ("down", false, 20), ("back up", true, 20)] {
        upstream.up.store(up, Ordering::Relaxed);
        if phase == "back up" {
            // Past the open time: the next call is the half-open probe.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let (seen, start) = (upstream.seen.load(Ordering::Relaxed), Instant::now());
        let (mut ok, mut failed, mut open) = (0, 0, 0);
        for _ in 0..calls {
            let req = Request::get(uri.clone()).body(Full::new(Bytes::new()))?;
            // `ready` then `call`: the rate limiter paces the caller in `poll_ready`.
            match client.ready().await?.call(req).await {
                Ok(res) if res.status().is_success() => ok += 1,
                Ok(_) => failed += 1,
                Err(err) if matches!(err.downcast_ref::<Error>(), Some(Error::CircuitOpen(_))) => {
                    open += 1;
                }
                Err(err) => return Err(err),
            }
        }
        println!(
            "upstream {phase:<8} {calls} calls in {:>4} ms: {ok:>2} ok, {failed:>2} failed, {open:>2} refused by the open circuit; the upstream saw {}",
            start.elapsed().as_millis(),
            upstream.seen.load(Ordering::Relaxed) - seen,
        );
    }
    println!("breaker: {:?}", breaker.state(timer.now()));

    drop(client);
    let _ = stop.send(());
    server.await??;
    Ok(())
}
