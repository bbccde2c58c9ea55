//! Typed events with async handlers: all of them run concurrently, and each one's success,
//! failure, panic or timeout is reported; one bad handler never stops the others.
//!
//! `cargo run -p steadfast-tokio --example events`. Paused clock: the timeout passes at once.

use std::time::Duration;
use steadfast_tokio::events::{Emitter, Handled};
use steadfast_tokio::{ConfigError, TokioTimer};

#[derive(Clone, Debug)]
struct OrderPlaced {
    id: u32,
}

async fn send_receipt(order: OrderPlaced) -> Result<(), String> {
    println!("  receipt for order {}", order.id);
    Ok(())
}

async fn update_stock(order: OrderPlaced) -> Result<(), String> {
    Err(format!("stock service refused order {}", order.id))
}

async fn notify_warehouse(_order: OrderPlaced) -> Result<(), String> {
    tokio::time::sleep(Duration::from_secs(3600)).await; // hangs
    Ok(())
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<(), ConfigError> {
    let order_placed = Emitter::new();
    order_placed.subscribe(send_receipt);
    let stock = order_placed.subscribe(update_stock);
    let warehouse = order_placed.subscribe(notify_warehouse);

    let report = order_placed
        .emit(OrderPlaced { id: 17 })
        .handler_timeout(&TokioTimer::new(), Duration::from_secs(2))
        .max_concurrent(8)?
        .await;
    println!(
        "{} handlers, {} succeeded",
        report.len(),
        report.succeeded()
    );
    for (id, failure) in report.failures() {
        println!("  handler {id:?}: {failure:?}");
    }
    assert!(matches!(report.get(stock.id()), Some(Handled::Failed(_))));
    assert_eq!(report.get(warehouse.id()), Some(&Handled::TimedOut));
    Ok(())
}
