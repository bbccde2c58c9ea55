//! The steadfast demo, two ways.
//!
//! By default, the simulator (`steadfast-sim`): the tour's client, naive and protected (one
//! pipeline: bulkhead, retry with jitter and a retry budget, circuit breaker, rate limiter,
//! attempt timeout), against a seeded fault model through an outage and a brownout, in
//! virtual time; it prints the comparison and writes an HTML report.
//!
//! ```text
//! steadfast-demo [--seed N] [--rate N] [--duration SECS] [--out PATH]
//! ```
//!
//! With `--real`, the chaos tour: the same client library, generic over `Timer`, run on
//! tokio, smol, async-std and embassy against the same seeded flaky service on loopback,
//! naive and then protected, through random faults and an outage.
//!
//! ```text
//! steadfast-demo --real [--seed N] [--requests N | --duration SECS] [--rate N]
//!                [--runtimes tokio,smol,async-std,embassy] [--port N] [--json]
//! ```

mod client;
mod embassy_clock;
mod service;
mod simulate;
mod transport;

use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use steadfast::Timer;

use client::{Client, Failure, Settings, Transport};
use transport::{AsyncIoTransport, TokioTransport};

const RUNTIMES: [&str; 4] = ["tokio", "smol", "async-std", "embassy"];

#[derive(Debug, Clone)]
struct Args {
    seed: u64,
    requests: u64,
    duration: Option<u64>,
    rate: u64,
    runtimes: Vec<String>,
    port: u16,
    json: bool,
}

fn parse_args(argv: Vec<String>) -> Result<Args, String> {
    let mut args = Args {
        seed: 7,
        requests: 1000,
        duration: None,
        rate: 500,
        runtimes: RUNTIMES.iter().map(|s| (*s).to_string()).collect(),
        port: 0,
        json: false,
    };
    let mut it = argv.into_iter();
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--seed" => args.seed = number(&value("--seed")?, "--seed")?,
            "--requests" => args.requests = number(&value("--requests")?, "--requests")?,
            "--duration" => args.duration = Some(number(&value("--duration")?, "--duration")?),
            "--rate" => args.rate = number(&value("--rate")?, "--rate")?,
            "--port" => args.port = number(&value("--port")?, "--port")?,
            "--runtimes" => {
                args.runtimes = value("--runtimes")?
                    .split(',')
                    .map(str::to_string)
                    .collect();
                if let Some(bad) = args
                    .runtimes
                    .iter()
                    .find(|r| !RUNTIMES.contains(&r.as_str()))
                {
                    return Err(format!("unknown runtime {bad:?}; choose from {RUNTIMES:?}"));
                }
            }
            "--json" => args.json = true,
            "--help" | "-h" => {
                println!(
                    "steadfast-demo --real [--seed N] [--requests N | --duration SECS] [--rate N] \
                     [--runtimes tokio,smol,async-std,embassy] [--port N] [--json]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown flag {other:?} (try --help)")),
        }
    }
    if let Some(secs) = args.duration {
        args.requests = secs.saturating_mul(args.rate);
    }
    if args.requests == 0 || args.rate == 0 {
        return Err("--requests, --duration and --rate must be at least 1".into());
    }
    Ok(args)
}

pub(crate) fn number<N: std::str::FromStr>(s: &str, flag: &str) -> Result<N, String> {
    s.parse()
        .map_err(|_| format!("{flag} wants a number, got {s:?}"))
}

/// One run: one runtime, one mode.
#[derive(Debug, Clone)]
struct Report {
    runtime: String,
    mode: &'static str,
    requests: u64,
    ok: u64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    high_water: usize,
    limit: Option<usize>,
    retries: u64,
    budget_stops: u64,
    timeouts: u64,
    shed: u64,
    open: u64,
    limited: u64,
    throttled: u64,
    trips: u64,
}

impl Report {
    fn success_rate(&self) -> f64 {
        self.ok as f64 * 100.0 / self.requests.max(1) as f64
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Naive,
    Protected,
}

/// Runs the load on one client, open loop: request `id` arrives `id / rate` seconds into the
/// run whatever became of the ones before (as users do), so a client that fails fast does not
/// send more requests into an outage than one that hangs.
async fn load<T: Timer, X: Transport>(
    client: &Client<T, X>,
    mode: Mode,
    args: &Args,
    label: &str,
) -> (u64, Vec<Duration>, u64) {
    let done = AtomicU64::new(0);
    let ok = AtomicU64::new(0);
    let shed = AtomicU64::new(0);
    let latencies = Mutex::new(Vec::new());
    let start = client.now();
    let total = args.requests;
    let progress = !args.json && std::io::stderr().is_terminal();
    let due = |id: u64| {
        start.saturating_add(Duration::from_nanos(
            id.saturating_mul(1_000_000_000) / args.rate,
        ))
    };
    let request = |id: u64| {
        let (done, ok, shed, latencies) = (&done, &ok, &shed, &latencies);
        async move {
            client.sleep_until(due(id)).await;
            let t0 = client.now();
            let result = match mode {
                Mode::Naive => client.call_naive(id).await,
                Mode::Protected => client.call_protected(id).await,
            };
            latencies.lock().unwrap().push(client.now() - t0);
            match result {
                Ok(()) => {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
                // Turned away by the bulkhead (the breaker's and the limiter's refusals are
                // counted by the client).
                Err(Failure::Shed(_)) => {
                    shed.fetch_add(1, Ordering::Relaxed);
                }
                Err(Failure::Call(_) | Failure::Open(_) | Failure::Limited(_)) => {}
            }
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if progress && n % 25 == 0 {
                eprint!("\r  {label:<28} {n}/{total} requests   ");
                let _ = std::io::stderr().flush();
            }
        }
    };
    {
        // Each request joins the set shortly before it is due, so that memory follows the
        // requests in flight, not the length of the run.
        let ahead = Duration::from_millis(20);
        let mut pending = futures_util::stream::FuturesUnordered::new();
        let mut next = 0;
        while next < total || !pending.is_empty() {
            while next < total && due(next) <= client.now().saturating_add(ahead) {
                pending.push(request(next));
                next += 1;
            }
            if pending.is_empty() {
                // Nothing in flight: wait for the next arrival.
                client.sleep_until(due(next)).await;
                continue;
            }
            let tick = std::pin::pin!(client.sleep_until(client.now().saturating_add(ahead / 2)));
            let _ = futures_util::future::select(futures_util::StreamExt::next(&mut pending), tick)
                .await;
        }
    }
    if progress {
        eprint!("\r{:<60}\r", "");
    }
    let latencies = latencies.into_inner().unwrap();
    (ok.into_inner(), latencies, shed.into_inner())
}

/// Both modes on one runtime: the same client code, naive then protected.
async fn tour<T: Timer, X: Transport>(
    runtime: &str,
    timer: T,
    transport: impl Fn() -> X,
    args: &Args,
) -> Vec<Report> {
    let mut reports = Vec::new();
    for mode in [Mode::Naive, Mode::Protected] {
        let settings = Settings::default();
        let client = Client::new(timer.clone(), transport(), settings, args.seed ^ 0x5EED);
        let name = if mode == Mode::Naive {
            "naive"
        } else {
            "protected"
        };
        let trips = client::TRIPS.load(Ordering::Relaxed);
        let (ok, mut lat, shed) = load(&client, mode, args, &format!("{runtime} {name}")).await;
        let trips = client::TRIPS.load(Ordering::Relaxed) - trips;
        lat.sort();
        let pct = |p: usize| {
            lat.get((lat.len() * p / 100).min(lat.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        let c = &client.counters;
        let protected = mode == Mode::Protected;
        reports.push(Report {
            runtime: runtime.to_string(),
            mode: name,
            requests: lat.len() as u64,
            ok,
            p50: pct(50),
            p99: pct(99),
            max: lat.last().copied().unwrap_or_default(),
            high_water: if protected {
                client.bulkhead().metrics().high_water
            } else {
                c.high_water.load(Ordering::Relaxed)
            },
            limit: protected.then_some(settings.max_concurrent),
            retries: c.retries.load(Ordering::Relaxed),
            budget_stops: c.budget_stops.load(Ordering::Relaxed),
            timeouts: c.timeouts.load(Ordering::Relaxed),
            shed,
            open: c.open.load(Ordering::Relaxed),
            limited: c.limited.load(Ordering::Relaxed),
            throttled: c.throttled.load(Ordering::Relaxed),
            trips,
        });
    }
    reports
}

fn run_all(args: &Args, service: service::Service) -> Result<Vec<Report>, String> {
    let mut reports = Vec::new();
    for runtime in &args.runtimes {
        let r = match runtime.as_str() {
            "tokio" => tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start tokio: {e}"))?
                .block_on(tour(
                    "tokio",
                    steadfast_tokio::TokioTimer::new(),
                    || TokioTransport(service, std::time::Instant::now()),
                    args,
                )),
            "smol" => smol::block_on(tour(
                "smol",
                steadfast_smol::AsyncIoTimer::new(),
                || AsyncIoTransport(service, std::time::Instant::now()),
                args,
            )),
            "async-std" => async_std::task::block_on(tour(
                "async-std",
                steadfast_smol::AsyncIoTimer::new(),
                || AsyncIoTransport(service, std::time::Instant::now()),
                args,
            )),
            _ => embassy_clock::block_on(tour(
                "embassy",
                steadfast_embassy::EmbassyTimer,
                || AsyncIoTransport(service, std::time::Instant::now()),
                args,
            )),
        };
        reports.extend(r);
    }
    Ok(reports)
}

fn main() {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(real) = argv.iter().position(|a| a == "--real") else {
        simulate::main(&argv).unwrap_or_else(|e| fail(&e));
        return;
    };
    argv.remove(real);
    tour_main(argv);
}

/// The tour on real runtimes (`--real`).
fn tour_main(argv: Vec<String>) {
    let args = parse_args(argv).unwrap_or_else(|e| fail(&e));
    let service = service::start(args.seed, args.port).unwrap_or_else(|e| fail(&e.to_string()));
    if !args.json {
        let s = Settings::default();
        println!(
            "steadfast chaos tour: seed {}, {} requests per run arriving at {}/s, service on {}",
            args.seed, args.requests, args.rate, service.live
        );
        println!(
            "faults per attempt: 6% latency spikes, 6% errors, 4% stalls, 3% resets, 3% refused;\n\
             an outage: from {:?} to {:?} into each run the service is down\n\
             naive: one attempt, no timeout (cut at {:?} so the tour ends)\n\
             protected: bulkhead {} (wait <= {:?}), {} attempts, {:?} each, full-jitter backoff, \
             retry budget 20% + 10, a breaker (50% of the last 50 attempts, open 200 ms), \
             {} attempts/s (wait <= {:?})\n",
            service::OUTAGE.start,
            service::OUTAGE.end,
            s.naive_cap,
            s.max_concurrent,
            s.max_wait,
            s.max_attempts,
            s.attempt_timeout,
            s.attempts_per_second,
            s.limiter_wait
        );
    }
    let reports = run_all(&args, service).unwrap_or_else(|e| fail(&e));
    if args.json {
        print_json(&args, &reports);
    } else {
        print_table(&reports);
    }
}

fn print_table(reports: &[Report]) {
    println!(
        "{:<10} {:<10} {:>6} {:>8} {:>9} {:>9} {:>9} {:>10} {:>8} {:>9} {:>6} {:>9} {:>8}",
        "runtime",
        "mode",
        "reqs",
        "success",
        "p50",
        "p99",
        "max",
        "in-flight",
        "retries",
        "timeouts",
        "shed",
        "open",
        "limited"
    );
    for r in reports {
        let in_flight = match r.limit {
            Some(limit) => format!("{}/{}", r.high_water, limit),
            None => r.high_water.to_string(),
        };
        let retries = if r.budget_stops > 0 {
            format!("{}({}b)", r.retries, r.budget_stops)
        } else {
            r.retries.to_string()
        };
        let limited = format!("{}({}w)", r.limited, r.throttled);
        let open = if r.trips > 0 {
            format!("{}({}t)", r.open, r.trips)
        } else {
            r.open.to_string()
        };
        println!(
            "{:<10} {:<10} {:>6} {:>7.1}% {:>9.1?} {:>9.1?} {:>9.1?} {:>10} {:>8} {:>9} {:>6} {:>9} {:>8}",
            r.runtime,
            r.mode,
            r.requests,
            r.success_rate(),
            r.p50,
            r.p99,
            r.max,
            in_flight,
            retries,
            r.timeouts,
            r.shed,
            open,
            if r.mode == "naive" {
                "0".to_string()
            } else {
                limited
            }
        );
    }
    println!(
        "\nin-flight: highest seen (against the bulkhead limit); retries: (Nb) = stopped by the retry budget\n\
         shed: turned away by the bulkhead; open: turned away by the open circuit, (Nt) = times it opened;\n\
         limited: no cell from the rate limiter within its wait, (Nw) = attempts that waited for one"
    );
}

fn print_json(args: &Args, reports: &[Report]) {
    let rows: Vec<String> = reports
        .iter()
        .map(|r| {
            format!(
                "{{\"runtime\":\"{}\",\"mode\":\"{}\",\"requests\":{},\"ok\":{},\"success_rate\":{:.2},\
                 \"p50_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3},\"max_in_flight\":{},\"limit\":{},\
                 \"retries\":{},\"budget_stops\":{},\"timeouts\":{},\"shed\":{},\"open\":{},\
                 \"limited\":{},\"throttled\":{},\"trips\":{}}}",
                r.runtime, r.mode, r.requests, r.ok, r.success_rate(),
                r.p50.as_secs_f64() * 1e3, r.p99.as_secs_f64() * 1e3, r.max.as_secs_f64() * 1e3,
                r.high_water, r.limit.map_or("null".to_string(), |l| l.to_string()),
                r.retries, r.budget_stops, r.timeouts, r.shed, r.open, r.limited, r.throttled, r.trips
            )
        })
        .collect();
    println!("{{\"seed\":{},\"runs\":[{}]}}", args.seed, rows.join(","));
}

fn fail(msg: &str) -> ! {
    eprintln!("steadfast-demo: {msg}");
    std::process::exit(2)
}
