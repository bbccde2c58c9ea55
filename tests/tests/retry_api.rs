//! The retry's public face as an application meets it: its error with `?` into anyhow and
//! into `Box<dyn Error + Send + Sync>`, and an owned retry spawned on tokio.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use steadfast::retry::{GiveUpReason, MakeAttempt, RetryError, RetryPolicy};
use steadfast_tokio::TokioTimer;

type BoxError = Box<dyn StdError + Send + Sync>;

/// An application's own error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UserError {
    Busy,
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("upstream busy")
    }
}

impl StdError for UserError {}

fn policy() -> RetryPolicy {
    RetryPolicy::builder()
        .max_attempts(2)
        .constant(Duration::from_millis(5))
        .build()
        .expect("a valid policy")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime")
}

async fn io_call(timer: &TokioTimer) -> Result<(), RetryError<io::Error>> {
    (|| async { Err::<(), _>(io::Error::new(io::ErrorKind::ConnectionReset, "reset")) })
        .retry(policy(), timer)
        .await
}

async fn user_call(timer: &TokioTimer) -> Result<(), RetryError<UserError>> {
    (|| async { Err::<(), _>(UserError::Busy) })
        .retry(policy(), timer)
        .await
}

#[test]
fn question_mark_into_anyhow_reaches_the_operation_error() {
    runtime().block_on(async {
        let timer = TokioTimer::new();
        async fn io_anyhow(timer: &TokioTimer) -> anyhow::Result<()> {
            io_call(timer).await?;
            Ok(())
        }
        async fn user_anyhow(timer: &TokioTimer) -> anyhow::Result<()> {
            user_call(timer).await?;
            Ok(())
        }
        let err = io_anyhow(&timer).await.unwrap_err();
        let retry = err.downcast_ref::<RetryError<io::Error>>().unwrap();
        assert_eq!(retry.reason(), GiveUpReason::AttemptsExhausted);
        let io = err.chain().find_map(|e| e.downcast_ref::<io::Error>());
        assert_eq!(
            io.map(io::Error::kind),
            Some(io::ErrorKind::ConnectionReset)
        );
        assert_eq!(
            format!("{err:#}"),
            "gave up after 2 attempts: attempts exhausted: reset"
        );
        assert_eq!(err.root_cause().to_string(), "reset");

        let err = user_anyhow(&timer).await.unwrap_err();
        let user = err.chain().find_map(|e| e.downcast_ref::<UserError>());
        assert_eq!(user, Some(&UserError::Busy));
    });
}

#[test]
fn question_mark_into_a_boxed_error_reaches_the_operation_error() {
    runtime().block_on(async {
        let timer = TokioTimer::new();
        async fn io_boxed(timer: &TokioTimer) -> Result<(), BoxError> {
            io_call(timer).await?;
            Ok(())
        }
        async fn user_boxed(timer: &TokioTimer) -> Result<(), BoxError> {
            user_call(timer).await?;
            Ok(())
        }
        let err = io_boxed(&timer).await.unwrap_err();
        let source = err.source().and_then(|e| e.downcast_ref::<io::Error>());
        assert_eq!(
            source.map(io::Error::kind),
            Some(io::ErrorKind::ConnectionReset)
        );
        let err = user_boxed(&timer).await.unwrap_err();
        let retry = err.downcast::<RetryError<UserError>>().unwrap();
        assert_eq!(retry.error(), Some(&UserError::Busy));
        assert_eq!(retry.attempts(), 2);
    });
}

/// Errors anyhow accepts but that are not `std::error::Error` themselves come out with
/// `into_error`.
#[test]
fn anyhow_and_boxed_operation_errors_come_out_with_into_error() {
    runtime().block_on(async {
        let timer = TokioTimer::new();
        let err = (|| async { Err::<(), _>(anyhow::anyhow!("no route")) })
            .retry(policy(), &timer)
            .await
            .unwrap_err();
        let inner: anyhow::Error = err.into_error().unwrap();
        assert_eq!(inner.to_string(), "no route");
        let err = (|| async { Err::<(), BoxError>("refused".into()) })
            .retry(policy(), &timer)
            .await
            .unwrap_err();
        assert_eq!(err.into_error().unwrap().to_string(), "refused");
    });
}

#[test]
fn retry_errors_are_send_sync_and_static() {
    fn assert_traits<T: Send + Sync + 'static>() {}
    assert_traits::<RetryError<io::Error>>();
    assert_traits::<RetryError<UserError>>();
    assert_traits::<RetryError<BoxError>>();
}

/// A per-attempt timeout over `io::Error`, which cannot implement anything for timeouts: the
/// error says the last attempt timed out, and after how long.
#[test]
fn attempt_timeout_over_io_error() {
    runtime().block_on(async {
        let timer = TokioTimer::new();
        let policy = RetryPolicy::builder()
            .max_attempts(2)
            .constant(Duration::from_millis(5))
            .attempt_timeout(Duration::from_millis(20))
            .build()
            .unwrap();
        async fn hung() -> io::Result<()> {
            std::future::pending().await
        }
        let start = tokio::time::Instant::now();
        let err = hung.retry(&policy, &timer).await.unwrap_err();
        assert_eq!(start.elapsed(), Duration::from_millis(20 + 5 + 20));
        assert!(err.error().is_none());
        assert_eq!(err.timeout(), Some(Duration::from_millis(20)));
        let boxed: BoxError = err.into();
        assert_eq!(
            boxed.to_string(),
            "gave up after 2 attempts, the last timed out after 20ms: attempts exhausted"
        );
    });
}

/// A retry that owns its policy (or shares it through an `Arc`) is `'static`: tokio spawns it.
#[test]
fn an_owned_retry_spawns_on_tokio() {
    runtime().block_on(async {
        let timer = TokioTimer::new();
        let shared = Arc::new(policy());
        let mut fails = 1;
        let flaky = move || {
            let fail = fails > 0;
            fails -= 1;
            async move { if fail { Err(UserError::Busy) } else { Ok(7) } }
        };
        let by_arc = tokio::spawn(flaky.retry(shared.clone(), &timer));
        let by_value = tokio::spawn((|| async { Ok::<_, UserError>(8) }).retry(policy(), &timer));
        assert_eq!(by_arc.await.unwrap(), Ok(7));
        assert_eq!(by_value.await.unwrap(), Ok(8));
    });
}

/// A named operation, so the retry future has a type a struct (a tower `Service`'s `Future`)
/// can spell, with the policy shared through an `Arc`.
struct Fetch {
    calls: u32,
}

impl MakeAttempt for Fetch {
    type Value = u32;
    type Error = UserError;
    type Future = std::future::Ready<Result<u32, UserError>>;

    fn make_attempt(&mut self) -> Self::Future {
        self.calls += 1;
        std::future::ready(if self.calls < 2 {
            Err(UserError::Busy)
        } else {
            Ok(self.calls)
        })
    }
}

/// What a tower `Service` would return as its `Future`: no box, no closure type.
type FetchFuture = steadfast::retry::Retry<Fetch, TokioTimer, Arc<RetryPolicy>>;

fn fetch(policy: &Arc<RetryPolicy>, timer: &TokioTimer) -> FetchFuture {
    Fetch { calls: 0 }.retry(policy.clone(), timer)
}

#[test]
fn a_named_retry_future_needs_no_box() {
    runtime().block_on(async {
        let timer = TokioTimer::new();
        let policy = Arc::new(policy());
        let spawned: tokio::task::JoinHandle<Result<u32, RetryError<UserError>>> =
            tokio::spawn(fetch(&policy, &timer));
        assert_eq!(spawned.await.unwrap(), Ok(2));
    });
}
