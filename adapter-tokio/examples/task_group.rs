//! Fan out work as tracked tasks: at most four at once, every outcome back (a panic included),
//! the rest cancelled on the first failure, and nothing left running when the group goes.
//!
//! `cargo run -p steadfast-tokio --example task_group`. Paused clock: the sleeps pass at once.

use std::time::Duration;
use steadfast_tokio::task_group::TaskGroup;
use steadfast_tokio::{ConfigError, JoinError, TokioSpawner};

async fn resize(image: u32) -> Result<u32, String> {
    tokio::time::sleep(Duration::from_millis(100 * u64::from(image % 3 + 1))).await;
    match image {
        7 => panic!("image 7 is corrupt"),
        _ => Ok(image * 10),
    }
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<(), ConfigError> {
    // Rust's panic hook would print the panic below as if it ended the program; it does not.
    std::panic::set_hook(Box::new(|info| eprintln!("(a task panicked: {info})")));
    // Every outcome, whatever the others do; a panic is one task's outcome, not the group's.
    let mut group = TaskGroup::builder(TokioSpawner::current())
        .limit(4)
        .build()?;
    for image in 0..10 {
        group.spawn(resize(image));
    }
    let outcomes = group.join().await;
    for (image, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Ok(Ok(size)) => println!("image {image}: {size}"),
            Ok(Err(e)) => println!("image {image}: failed: {e}"),
            Err(JoinError::Panicked(p)) => println!("image {image}: {p}"),
            Err(e) => println!("image {image}: {e}"),
        }
    }
    assert_eq!(
        outcomes.iter().filter(|o| matches!(o, Ok(Ok(_)))).count(),
        9
    );

    // All or nothing: the first failure cancels the rest.
    let mut group = TaskGroup::builder(TokioSpawner::current())
        .limit(2)
        .cancel_on_error()
        .build()?;
    group.spawn(async { Ok::<u32, String>(1) });
    group.spawn(async { Err::<u32, String>("disk full".into()) });
    group.spawn(async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok::<u32, String>(3)
    });
    let outcomes = group.join().await;
    println!("all or nothing: {outcomes:?}");
    assert!(matches!(outcomes[2], Err(JoinError::Cancelled)));
    Ok(())
}
