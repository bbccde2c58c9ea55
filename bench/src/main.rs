//! steadfast's patterns beside the peers a user would pick instead, in one process.
//!
//! Each case runs ours and each peer in alternating rounds and reports the median time per
//! operation (min and max kept), the ratio ours / peer (below 1 means faster), and heap
//! allocations per operation counted by a global allocator. Prints a table and writes
//! `target/bench/summary.json`. `--quick` is a smoke run (CI asserts only that it ran).

mod batch;
mod breaker;
mod bulkhead;
mod hedge;
mod limiter;
mod pipeline;
mod pool;
mod retry;
mod sim;
mod sizes;
mod timeout;
mod tower_layers;

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How long to measure.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    /// Rounds per contender; the median is reported.
    pub(crate) rounds: usize,
    /// Scales every case's operation count.
    pub(crate) scale: u64,
    /// Worker threads of the multi-threaded runtime in the contended cases (`--workers N`).
    pub(crate) workers: usize,
}

/// A group of cases.
type Cases = fn(&Config) -> Vec<Record>;

/// One contender's runs: a closure that performs `n` operations and returns the time taken.
pub(crate) type Runner<'a> = Box<dyn FnMut(u64) -> Duration + 'a>;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Stats {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    allocs_per_op: f64,
}

/// One line of the summary: ours against one peer.
#[derive(Debug)]
pub(crate) struct Record {
    case: String,
    pub(crate) ours: Stats,
    peer: String,
    pub(crate) peer_stats: Stats,
}

/// Runs `per_thread(n / threads)` on each of `threads` threads at once; the wall time.
pub(crate) fn on_threads(threads: u64, n: u64, per_thread: &(dyn Fn(u64) + Sync)) -> Duration {
    let start = std::time::Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| per_thread(n / threads));
        }
    });
    start.elapsed()
}

/// Runs ours and every peer `cfg.rounds` times each, interleaved, `ops` operations a round.
pub(crate) fn compare(
    cfg: &Config,
    case: &str,
    ops: u64,
    mut ours: Runner<'_>,
    mut peers: Vec<(&str, Runner<'_>)>,
) -> Vec<Record> {
    let ops = (ops * cfg.scale).max(1);
    // Warm-up round for everyone.
    ours(ops / 10 + 1);
    for (_, p) in &mut peers {
        p(ops / 10 + 1);
    }
    let mut ours_samples = Vec::new();
    let mut peer_samples = vec![Vec::new(); peers.len()];
    for _ in 0..cfg.rounds {
        ours_samples.push(timed(&mut ours, ops));
        for (i, (_, p)) in peers.iter_mut().enumerate() {
            peer_samples[i].push(timed(p, ops));
        }
    }
    let ours = stats(&ours_samples);
    peers
        .iter()
        .zip(peer_samples)
        .map(|((name, _), samples)| Record {
            case: case.to_string(),
            ours,
            peer: (*name).to_string(),
            peer_stats: stats(&samples),
        })
        .collect()
}

/// (ns per op, allocations per op) of one round.
fn timed(run: &mut Runner<'_>, ops: u64) -> (f64, f64) {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let elapsed = run(ops);
    let allocs = ALLOCATIONS.load(Ordering::Relaxed) - before;
    (
        elapsed.as_nanos() as f64 / ops as f64,
        allocs as f64 / ops as f64,
    )
}

fn stats(samples: &[(f64, f64)]) -> Stats {
    let mut ns: Vec<f64> = samples.iter().map(|s| s.0).collect();
    ns.sort_by(f64::total_cmp);
    let mut allocs: Vec<f64> = samples.iter().map(|s| s.1).collect();
    allocs.sort_by(f64::total_cmp);
    Stats {
        median: ns[ns.len() / 2],
        min: ns[0],
        max: ns[ns.len() - 1],
        allocs_per_op: allocs[allocs.len() / 2],
    }
}

fn main() {
    if let Some(kind) = std::env::args().skip_while(|a| a != "--rss-child").nth(1) {
        sizes::rss_child(&kind);
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let workers = match std::env::args().skip_while(|a| a != "--workers").nth(1) {
        None => 2,
        Some(n) => match n.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!(
                    "steadfast-bench: --workers wants a number of threads above 0, got {n:?}"
                );
                std::process::exit(2);
            }
        },
    };
    let (rounds, scale) = if quick { (3, 1) } else { (11, 10) };
    let cfg = Config {
        rounds,
        scale,
        workers,
    };
    println!(
        "steadfast-bench ({} mode, {} rounds, {} runtime workers, median ns/op; ratio = ours / peer, below 1 is faster)\n",
        if quick { "quick" } else { "full" },
        cfg.rounds,
        cfg.workers
    );
    let only = std::env::args()
        .skip_while(|a| a != "--only")
        .nth(1)
        .unwrap_or_default();
    let groups: [(&str, Cases); 11] = [
        ("timeout", timeout::cases),
        ("bulkhead", bulkhead::cases),
        ("retry", retry::cases),
        ("hedge", hedge::cases),
        ("breaker", breaker::cases),
        ("limiter", limiter::cases),
        ("pipeline", pipeline::cases),
        ("pool", pool::cases),
        ("batch", batch::cases),
        ("tower", tower_layers::cases),
        ("sim", sim::cases),
    ];
    let mut records = Vec::new();
    for (name, cases) in groups {
        if name.contains(only.as_str()) {
            records.extend(cases(&cfg));
        }
    }

    if "sizes".contains(only.as_str()) {
        println!("memory (--only sizes):\n");
        sizes::print();
        println!();
    }

    println!(
        "{:<34} {:>10} {:>7} {:<28} {:>10} {:>7} {:>7}",
        "case", "ours ns", "allocs", "peer", "peer ns", "allocs", "ratio"
    );
    for r in &records {
        println!(
            "{:<34} {:>10.1} {:>7.2} {:<28} {:>10.1} {:>7.2} {:>7.2}",
            r.case,
            r.ours.median,
            r.ours.allocs_per_op,
            r.peer,
            r.peer_stats.median,
            r.peer_stats.allocs_per_op,
            r.ours.median / r.peer_stats.median
        );
    }
    write_summary(&records);
}

fn write_summary(records: &[Record]) {
    let mut json = String::from("[\n");
    for (i, r) in records.iter().enumerate() {
        let _ = writeln!(
            json,
            "  {{\"case\": \"{}\", \"ours_ns\": {:.2}, \"ours_min_ns\": {:.2}, \"ours_max_ns\": {:.2}, \
             \"peer\": \"{}\", \"peer_ns\": {:.2}, \"peer_min_ns\": {:.2}, \"peer_max_ns\": {:.2}, \
             \"ratio\": {:.4}, \"ours_allocs_per_op\": {:.4}, \"peer_allocs_per_op\": {:.4}}}{}",
            r.case,
            r.ours.median,
            r.ours.min,
            r.ours.max,
            r.peer,
            r.peer_stats.median,
            r.peer_stats.min,
            r.peer_stats.max,
            r.ours.median / r.peer_stats.median,
            r.ours.allocs_per_op,
            r.peer_stats.allocs_per_op,
            if i + 1 == records.len() { "" } else { "," }
        );
    }
    json.push_str("]\n");
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("bench");
    let path = dir.join("summary.json");
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, json)) {
        Ok(()) => println!("\nwrote {}", path.display()),
        Err(e) => {
            eprintln!("steadfast-bench: cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
    }
}
