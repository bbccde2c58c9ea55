//! A tour of steadfast: the same timeout code, written once against `Timer`, run on tokio,
//! smol, async-std and embassy-time with real clocks. Each runtime serves the same seeded
//! sequence of slow and fast calls; the outcomes must match.

mod embassy_clock;

use std::time::Duration;

use steadfast::Timer;
use steadfast::timeout::TimeoutExt;

/// What one runtime saw.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Report {
    outcomes: Vec<Outcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Answered,
    TimedOut,
}

const DEADLINE: Duration = Duration::from_millis(40);

/// The library code: one call path, bounded by a timeout, generic over the runtime's clock.
async fn call_service<T: Timer>(timer: &T, latency: Duration) -> Outcome {
    let service = async {
        timer.sleep(latency).await;
        "pong"
    };
    match service
        .timeout(timer, DEADLINE)
        .context("calling the service")
        .await
    {
        Ok(_) => Outcome::Answered,
        Err(_) => Outcome::TimedOut,
    }
}

async fn tour<T: Timer>(timer: T, latencies: &[Duration]) -> (Report, Duration) {
    let start = timer.now();
    let mut outcomes = Vec::with_capacity(latencies.len());
    for &latency in latencies {
        outcomes.push(call_service(&timer, latency).await);
    }
    (Report { outcomes }, timer.now() - start)
}

/// Latencies far from the deadline on either side (5-15 ms or 200 ms), so real clocks on a
/// busy machine agree on every outcome.
fn latencies(seed: u64, n: usize) -> Vec<Duration> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x % 3 == 0 {
                Duration::from_millis(200)
            } else {
                Duration::from_millis(5 + x % 11)
            }
        })
        .collect()
}

fn main() {
    let seed = std::env::args()
        .skip_while(|a| a != "--seed")
        .nth(1)
        .map(|s| {
            s.parse::<u64>()
                .unwrap_or_else(|_| fail(&format!("--seed wants a number, got {s:?}")))
        })
        .unwrap_or(7);
    let plan = latencies(seed, 12);
    println!(
        "steadfast tour: {} calls, deadline {DEADLINE:?}, seed {seed}; one generic function, four runtimes\n",
        plan.len()
    );
    println!(
        "{:<28} {:>8} {:>9} {:>10}",
        "runtime", "answered", "timed out", "wall time"
    );

    let runs: Vec<(&str, (Report, Duration))> = vec![
        ("tokio (multi-thread)", {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_time()
                .build()
                .unwrap_or_else(|e| fail(&format!("cannot start tokio: {e}")));
            rt.block_on(tour(steadfast_tokio::TokioTimer::new(), &plan))
        }),
        (
            "smol",
            smol::block_on(tour(steadfast_smol::AsyncIoTimer::new(), &plan)),
        ),
        (
            "async-std",
            async_std::task::block_on(tour(steadfast_smol::AsyncIoTimer::new(), &plan)),
        ),
        (
            "embassy-time (host clock)",
            embassy_clock::block_on(tour(steadfast_embassy::EmbassyTimer, &plan)),
        ),
    ];

    for (name, (report, wall)) in &runs {
        let answered = report
            .outcomes
            .iter()
            .filter(|o| **o == Outcome::Answered)
            .count();
        println!(
            "{name:<28} {answered:>8} {:>9} {:>10.1?}",
            report.outcomes.len() - answered,
            wall
        );
    }
    let first = &runs[0].1.0;
    if runs.iter().all(|(_, (r, _))| r == first) {
        println!("\nsame outcome, call by call, on every runtime");
    } else {
        fail("runtimes disagreed");
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("steadfast-demo: {msg}");
    std::process::exit(2)
}
