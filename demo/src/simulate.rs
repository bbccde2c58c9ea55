//! The default mode: the tour's client, naive and protected, in the simulator, through an
//! outage and a brownout, in virtual time. Prints the comparison and writes the HTML report.

use core::cell::Cell;
use core::future::Future;
use core::time::Duration;
use std::path::PathBuf;

use steadfast_sim::{
    Brownout, Dependency, DependencyError, DependencyModel, Latency, Load, OutageMode, Report,
    Simulation,
};

use crate::client::{CallError, Client, Settings, Transport};

/// The simulation's settings, from the command line.
#[derive(Debug, Clone)]
pub(crate) struct SimArgs {
    pub(crate) seed: u64,
    pub(crate) rate: f64,
    pub(crate) duration: u64,
    pub(crate) out: PathBuf,
}

pub(crate) const USAGE: &str = "steadfast-demo [--seed N] [--rate N] [--duration SECS] [--out PATH]\n\
     \x20                                       (the simulator, the default)\n\
     steadfast-demo --real [tour flags]       (the tour on real runtimes; --real --help lists them)";

pub(crate) fn parse(args: &[String]) -> Result<SimArgs, String> {
    let mut a = SimArgs {
        seed: 7,
        rate: 500.0,
        duration: 60,
        out: default_out(),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--seed" => a.seed = crate::number(value("--seed")?, "--seed")?,
            "--rate" => a.rate = crate::number(value("--rate")?, "--rate")?,
            "--duration" => a.duration = crate::number(value("--duration")?, "--duration")?,
            "--out" => a.out = PathBuf::from(value("--out")?),
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => {
                return Err(format!(
                    "unknown flag {other:?} (the simulator takes --seed, --rate, --duration, \
                     --out; the tour's flags go after --real; try --help)"
                ));
            }
        }
    }
    if a.duration == 0 || !(a.rate.is_finite() && a.rate > 0.0) {
        return Err("--rate and --duration must be above 0".into());
    }
    Ok(a)
}

/// `target/steadfast-sim/report.html` in the workspace (or `$CARGO_TARGET_DIR`).
fn default_out() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("steadfast-sim")
        .join("report.html")
}

/// The dependency as the tour's client sees it.
struct SimTransport(Dependency);

impl Transport for SimTransport {
    fn call(&self, _id: u64, _attempt: u32) -> impl Future<Output = Result<(), CallError>> {
        let call = self.0.call();
        async move {
            call.await.map_err(|e| match e {
                DependencyError::Outage => CallError::Refused,
                DependencyError::Error => CallError::Server,
            })
        }
    }
}

/// The built-in scenario's dependency: a few milliseconds, 5% errors, 5% slow calls, a hung
/// outage from 20 s to 30 s, a brownout from 40 s to 50 s (3x latency, 10% more errors), and
/// a capacity of 64 calls beyond which it slows down.
pub(crate) fn model() -> DependencyModel {
    let (ms, s) = (Duration::from_millis, Duration::from_secs);
    DependencyModel::builder()
        .latency(Latency::lognormal(ms(6), ms(30)))
        .error_rate(0.05)
        .slow(0.05, Latency::uniform(ms(150), ms(1500)))
        .outage(s(20)..s(30), OutageMode::Hang)
        .brownout(
            Brownout::new(s(40)..s(50))
                .latency_factor(3.0)
                .extra_error_rate(0.1),
        )
        .capacity(64)
        .build()
        .expect("valid dependency model")
}

/// Runs naive against protected; the report.
pub(crate) fn run(args: &SimArgs) -> Result<Report, String> {
    let load = Load::open(args.rate)
        .duration(Duration::from_secs(args.duration))
        .build()
        .map_err(|e| e.to_string())?;
    let sim = Simulation::builder()
        .seed(args.seed)
        .dependency(model())
        .load(load)
        .slo(Duration::from_secs(1))
        .build()
        .map_err(|e| e.to_string())?;
    let (timer, dependency, observer) = (sim.timer(), sim.dependency(), sim.observer());
    // The tour's protected client, unchanged: its pipeline, on the simulator's clock.
    let client = Client::new(
        timer,
        SimTransport(dependency.clone()),
        Settings::default(),
        args.seed ^ 0x5EED,
    );
    let id = Cell::new(0u64);
    let report = sim
        .policy("naive", async || dependency.call().await)
        .policy("protected", async || {
            id.set(id.get() + 1);
            client.call_protected_observed(id.get(), &observer).await
        })
        .run_blocking();
    Ok(report)
}

/// The simulator's mode, start to end.
pub(crate) fn main(args: &[String]) -> Result<(), String> {
    let args = parse(args)?;
    let s = Settings::default();
    println!(
        "steadfast-sim: seed {}, {} requests/s for {} s of virtual time, Poisson arrivals\n\
         dependency: log-normal latency (median 6 ms, p99 30 ms), 5% errors, 5% slow \
         (150 ms-1.5 s), capacity 64;\n\
         \x20           hung from 20 s to 30 s (an outage), 3x slower with 10% more errors from \
         40 s to 50 s (a brownout)\n\
         naive: one attempt, no timeout\n\
         protected: the tour's pipeline: bulkhead {} (wait <= {:?}), {} attempts, {:?} each, \
         full-jitter backoff,\n\
         \x20          retry budget, a breaker (50% of the last 50 attempts, open 200 ms), \
         {} attempts/s (wait <= {:?})\n",
        args.seed,
        args.rate,
        args.duration,
        s.max_concurrent,
        s.max_wait,
        s.max_attempts,
        s.attempt_timeout,
        s.attempts_per_second,
        s.limiter_wait
    );
    let started = std::time::Instant::now();
    let report = run(&args)?;
    let took = started.elapsed();
    print!("{report}");
    let html = report.html();
    if let Some(dir) = args.out.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
    }
    std::fs::write(&args.out, html)
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    let requests: u64 = report.policies.iter().map(|p| p.requests).sum();
    println!(
        "\nsimulated {requests} requests in {:.2} s of wall time; report: {}",
        took.as_secs_f64(),
        args.out.canonicalize().unwrap_or(args.out).display()
    );
    Ok(())
}
