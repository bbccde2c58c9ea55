//! The pool's and batcher's public face as an application meets it: every error with `?` into
//! anyhow and into `Box<dyn Error + Send + Sync>`, a panic's message reachable through the
//! source chain, and the builders' errors.

use std::error::Error as StdError;
use std::time::Duration;

use steadfast::batch::Batcher;
use steadfast::pool::{FixedPool, WorkError, WorkerPool};
use steadfast::queue::{Closed, TrySendError};
use steadfast_tokio::{TokioSpawner, TokioTimer};

type BoxError = Box<dyn StdError + Send + Sync>;

fn send_sync<T: Send + Sync + 'static>() {}

#[test]
fn every_error_is_send_sync_and_an_error() {
    send_sync::<WorkError>();
    send_sync::<Closed<u32>>();
    send_sync::<TrySendError<u32>>();
    send_sync::<steadfast::ConfigError>();
}

/// The work's outcome, a panic included, as an application propagates it.
async fn outcome(pool: &WorkerPool<u32, u32>, n: u32) -> anyhow::Result<u32> {
    let handle = pool.submit(n).await?;
    Ok(handle.await?)
}

async fn outcome_boxed(pool: &WorkerPool<u32, u32>, n: u32) -> Result<u32, BoxError> {
    let handle = pool.try_submit(n)?;
    Ok(handle.await?)
}

#[test]
fn a_panicked_item_goes_into_anyhow_with_its_message_in_the_chain() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = WorkerPool::builder()
            .workers(2)
            .capacity(8)
            .spawn(&TokioSpawner::current(), |n: u32| async move {
                assert!(n != 3, "three is bad");
                n * 2
            })
            .map_err(anyhow::Error::from)
            .unwrap();
        assert_eq!(outcome(&pool, 2).await.unwrap(), 4);
        let err = outcome(&pool, 3).await.unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "pool work panicked: panicked: three is bad"
        );
        let work: &WorkError = err.downcast_ref().unwrap();
        assert_eq!(work.panic_message(), Some("three is bad"));
        let err = outcome_boxed(&pool, 3).await.unwrap_err();
        assert_eq!(err.source().unwrap().to_string(), "panicked: three is bad");
        pool.close();
        let err = outcome(&pool, 4).await.unwrap_err();
        assert_eq!(err.to_string(), "queue closed");
        assert!(err.downcast_ref::<Closed<u32>>().is_some());
        let err = outcome_boxed(&pool, 4).await.unwrap_err();
        assert_eq!(err.to_string(), "queue closed");
    });
}

#[test]
fn builder_errors_go_into_anyhow() {
    fn build() -> anyhow::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread().build()?;
        let _guard = rt.enter();
        let _batcher = Batcher::<u32, _>::builder(TokioTimer::new())
            .batch_size(10)
            .flush_interval(Duration::from_millis(5))
            .capacity(5)
            .spawn(
                &TokioSpawner::current(),
                |_: Vec<u32>| async { Ok::<(), std::io::Error>(()) },
                |_| {},
            )?;
        Ok(())
    }
    let err = build().unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid batcher setting `capacity`: must be at least batch_size"
    );
}

#[test]
fn the_spawn_free_pool_reports_the_same_error() {
    static POOL: FixedPool<u32, 4> = FixedPool::new();
    POOL.try_submit(1).unwrap();
    POOL.close();
    let seen = std::sync::Mutex::new(Vec::new());
    futures_executor::block_on(POOL.run::<1, _, _>(
        |_: u32| async { panic!("fixed failure") },
        |out: Result<(), WorkError>| {
            let err: BoxError = out.unwrap_err().into();
            seen.lock()
                .unwrap()
                .push(format!("{err}: {}", err.source().unwrap()));
        },
    ));
    assert_eq!(
        *seen.lock().unwrap(),
        ["pool work panicked: panicked: fixed failure"]
    );
}
