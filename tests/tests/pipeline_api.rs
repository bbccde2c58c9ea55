//! The pipeline's public face as an application meets it: its one error with `?` into anyhow
//! and into `Box<dyn Error + Send + Sync>`, a `static` pipeline's call spawned on tokio, and
//! operation errors that are not `std::error::Error` taken out with `into_error`.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use steadfast::bulkhead::Bulkhead;
use steadfast::pipeline::{Pipeline, PipelineError};
use steadfast::retry::RetryPolicy;
use steadfast_tokio::TokioTimer;

type BoxError = Box<dyn StdError + Send + Sync>;

static BULKHEAD: Bulkhead = Bulkhead::new(8);
static PIPELINE: Pipeline<'static> = Pipeline::builder()
    .total_timeout(Duration::from_secs(5))
    .retry(
        RetryPolicy::builder()
            .max_attempts(2)
            .constant(Duration::from_millis(5))
            .build_const(),
    )
    .bulkhead(&BULKHEAD)
    .build_const();

// The spawned call's own pipeline: the tests run in parallel, and this one counts permits.
static SPAWNED_BULKHEAD: Bulkhead = Bulkhead::new(8);
static SPAWNED: Pipeline<'static> = Pipeline::builder()
    .total_timeout(Duration::from_secs(5))
    .bulkhead(&SPAWNED_BULKHEAD)
    .build_const();

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime")
}

async fn reset(timer: &TokioTimer) -> Result<(), PipelineError<io::Error>> {
    PIPELINE
        .call(timer, || async {
            Err::<(), _>(io::Error::new(io::ErrorKind::ConnectionReset, "reset"))
        })
        .await
}

#[test]
fn question_mark_into_anyhow_reaches_the_operation_error() {
    runtime().block_on(async {
        async fn fetch(timer: &TokioTimer) -> anyhow::Result<()> {
            reset(timer).await?;
            Ok(())
        }
        let err = fetch(&TokioTimer::new()).await.unwrap_err();
        assert!(matches!(
            err.downcast_ref::<PipelineError<io::Error>>(),
            Some(PipelineError::RetriesExhausted(_))
        ));
        assert_eq!(
            format!("{err:#}"),
            "gave up after 2 attempts: attempts exhausted: reset"
        );
        let io = err.chain().find_map(|e| e.downcast_ref::<io::Error>());
        assert_eq!(
            io.map(io::Error::kind),
            Some(io::ErrorKind::ConnectionReset)
        );
    });
}

#[test]
fn question_mark_into_a_boxed_error_reaches_the_operation_error() {
    runtime().block_on(async {
        async fn fetch(timer: &TokioTimer) -> Result<(), BoxError> {
            reset(timer).await?;
            Ok(())
        }
        let err = fetch(&TokioTimer::new()).await.unwrap_err();
        let source = err.source().and_then(|e| e.downcast_ref::<io::Error>());
        assert_eq!(
            source.map(io::Error::kind),
            Some(io::ErrorKind::ConnectionReset)
        );
        let err = err.downcast::<PipelineError<io::Error>>().unwrap();
        assert_eq!(
            err.error().map(io::Error::kind),
            Some(io::ErrorKind::ConnectionReset)
        );
    });
}

#[test]
fn anyhow_operation_errors_come_out_with_into_error() {
    runtime().block_on(async {
        async fn fetch(timer: &TokioTimer) -> anyhow::Result<()> {
            PIPELINE
                .call(timer, || async {
                    Err::<(), _>(anyhow::anyhow!("no route"))
                })
                .await
                .map_err(|e| e.into_error().unwrap_or_else(|| anyhow::anyhow!("refused")))?;
            Ok(())
        }
        let err = fetch(&TokioTimer::new()).await.unwrap_err();
        assert_eq!(err.to_string(), "no route");
    });
}

#[test]
fn a_static_pipelines_call_spawns_on_tokio() {
    runtime().block_on(async {
        let timer = TokioTimer::new();
        let task = tokio::spawn(async move {
            SPAWNED
                .call(&timer, || async { Ok::<_, io::Error>(7) })
                .await
        });
        assert_eq!(task.await.unwrap().unwrap(), 7);
        assert_eq!(SPAWNED_BULKHEAD.metrics().in_flight, 0);
    });
}
