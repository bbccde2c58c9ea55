use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::boxed::Box;
use std::string::ToString;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering as O};
use std::vec::Vec;

use super::*;
use crate::timeout::TimeoutExt;
use crate::{Instant, VirtualTimer};

const N: u64 = 100_000;
/// Draws for the tests that check sequences rather than statistics: fewer under Miri, which
/// runs them a thousand times slower (the stage has no `unsafe` of its own to check).
const DRAWS: u64 = if cfg!(miri) { 400 } else { 10_000 };
const MS: Duration = Duration::from_millis(1);

fn poll_once<F: Future>(f: core::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

/// Asserts `count` of `N` draws is within 5 standard deviations of `rate`.
#[track_caller]
fn assert_rate(count: u64, rate: f64) {
    let mean = N as f64 * rate;
    let sigma = (N as f64 * rate * (1.0 - rate)).sqrt();
    assert!(
        (count as f64 - mean).abs() <= 5.0 * sigma,
        "{count} of {N}, expected {mean} ± {}",
        5.0 * sigma
    );
}

fn faults(chaos: &Chaos, n: u64) -> Vec<Option<Fault>> {
    (0..n).map(|_| chaos.draw()).collect()
}

fn delays(latency: Latency, n: u64) -> Vec<Duration> {
    let chaos = Chaos::builder().latency(1.0, latency).build().unwrap();
    (0..n)
        .map(|_| match chaos.draw() {
            Some(Fault::Latency(d)) => d,
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
#[cfg_attr(miri, ignore = "statistics over 100,000 draws, too slow under Miri")]
fn each_fault_injects_at_its_rate() {
    let chaos = Chaos::builder()
        .error(0.1)
        .outcome(0.05)
        .latency(0.2, Latency::Fixed(MS))
        .stall(0.15)
        .seed(3)
        .build()
        .unwrap();
    let drawn = faults(&chaos, N);
    let count = |want: Option<Fault>| drawn.iter().filter(|f| **f == want).count() as u64;
    assert_rate(count(Some(Fault::Error)), 0.1);
    assert_rate(count(Some(Fault::Outcome)), 0.05);
    assert_rate(count(Some(Fault::Latency(MS))), 0.2);
    assert_rate(count(Some(Fault::Stall)), 0.15);
    assert_rate(count(None), 0.5);
    let m = chaos.metrics();
    assert_eq!((m.calls, m.drawn), (N, N));
    assert_eq!(m.errors, count(Some(Fault::Error)));
    assert_eq!(m.outcomes, count(Some(Fault::Outcome)));
    assert_eq!(m.latencies, count(Some(Fault::Latency(MS))));
    assert_eq!(m.stalls, count(Some(Fault::Stall)));
    assert_eq!(m.injected(), N - count(None));
}

#[test]
fn rates_of_zero_and_one_are_never_and_always() {
    let always = Chaos::builder().error(0.0).stall(1.0).build().unwrap();
    assert!(
        faults(&always, DRAWS)
            .iter()
            .all(|f| *f == Some(Fault::Stall))
    );
    let never = Chaos::builder().error(0.0).build().unwrap();
    assert!(faults(&never, DRAWS).iter().all(Option::is_none));
    let none = Chaos::builder().build().unwrap();
    assert_eq!(none.draw(), None);
    assert_eq!(none.metrics().drawn, 1);
}

#[test]
fn faults_take_consecutive_ranges_of_one_draw_in_builder_order() {
    // The same draws: [0, 0.3) fails in both, [0.3, 0.6) stalls in the first and fails in
    // the second.
    let split = Chaos::builder()
        .error(0.3)
        .stall(0.3)
        .seed(9)
        .build()
        .unwrap();
    let whole = Chaos::builder().error(0.6).seed(9).build().unwrap();
    let swapped = Chaos::builder()
        .stall(0.3)
        .error(0.3)
        .seed(9)
        .build()
        .unwrap();
    for _ in 0..DRAWS {
        let (a, b, c) = (split.draw(), whole.draw(), swapped.draw());
        assert_eq!(a.is_some(), b.is_some());
        assert_eq!(a.is_some(), c.is_some());
        // Swapping the order swaps which fault a draw in either range gets.
        assert_eq!(a == Some(Fault::Error), c == Some(Fault::Stall));
    }
}

#[test]
fn the_same_seed_draws_the_same_faults_and_another_seed_others() {
    let build = |seed| {
        Chaos::builder()
            .error(0.2)
            .latency(
                0.3,
                Latency::Uniform {
                    min: MS,
                    max: 100 * MS,
                },
            )
            .seed(seed)
            .build()
            .unwrap()
    };
    let a = faults(&build(1), 1000);
    assert_eq!(a, faults(&build(1), 1000));
    let b = faults(&build(2), 1000);
    assert_ne!(a, b);
    let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert!(differ > 300, "only {differ} of 1000 differ");
}

#[test]
fn racing_threads_draw_each_number_once() {
    let chaos = Chaos::builder()
        .error(0.25)
        .stall(0.25)
        .seed(5)
        .build()
        .unwrap();
    let sequential = faults(&chaos, 4 * DRAWS);
    let count = |v: &[Option<Fault>], f| v.iter().filter(|x| **x == f).count();
    let chaos = Chaos::builder()
        .error(0.25)
        .stall(0.25)
        .seed(5)
        .build()
        .unwrap();
    let raced: Vec<Option<Fault>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| faults(&chaos, DRAWS))).collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    for f in [None, Some(Fault::Error), Some(Fault::Stall)] {
        assert_eq!(count(&raced, f), count(&sequential, f), "{f:?}");
    }
}

#[test]
fn disabled_injects_nothing_and_takes_no_draw() {
    let build = || Chaos::builder().error(0.5).seed(11).build().unwrap();
    let reference = faults(&build(), 200);
    let chaos = build();
    let mut seen = faults(&chaos, 100);
    chaos.disable();
    assert!(!chaos.is_enabled());
    assert!(faults(&chaos, 1000).iter().all(Option::is_none));
    let timer = VirtualTimer::new();
    let out = futures_executor::block_on(chaos.run(&timer, async { 5 }));
    assert_eq!(out, Ok(5));
    chaos.enable();
    assert!(chaos.is_enabled());
    seen.extend(faults(&chaos, 100));
    assert_eq!(seen, reference, "the sequence goes on where it stopped");
    let m = chaos.metrics();
    assert_eq!((m.calls, m.drawn), (1201, 200));
    let off = Chaos::builder().error(1.0).enabled(false).build().unwrap();
    assert_eq!(off.draw(), None);
}

#[test]
#[cfg_attr(miri, ignore = "statistics over 100,000 draws, too slow under Miri")]
fn fixed_and_uniform_latency_stay_in_their_bounds() {
    assert!(
        delays(Latency::Fixed(7 * MS), 100)
            .iter()
            .all(|d| *d == 7 * MS)
    );
    let (min, max) = (10 * MS, 110 * MS);
    let d = delays(Latency::Uniform { min, max }, N);
    assert!(d.iter().all(|d| (min..=max).contains(d)));
    let mean = d.iter().map(Duration::as_secs_f64).sum::<f64>() / N as f64;
    // The mean of U(10, 110) ms is 60 ms, its sample standard error 0.09 ms.
    assert!((mean - 0.060).abs() < 0.0005, "mean {mean}");
    assert!(d.iter().any(|d| *d < 11 * MS) && d.iter().any(|d| *d > 109 * MS));
    let point = delays(Latency::Uniform { min, max: min }, 10);
    assert!(point.iter().all(|d| *d == min));
}

fn quantile(sorted: &[Duration], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q) as usize].as_secs_f64()
}

#[test]
#[cfg_attr(miri, ignore = "statistics over 100,000 draws, too slow under Miri")]
fn the_heavy_tail_holds_its_cap_and_is_heavier_than_uniform() {
    let (scale, cap) = (10 * MS, Duration::from_secs(2));
    let mut p = delays(
        Latency::Pareto {
            scale,
            shape: 1.5,
            cap,
        },
        N,
    );
    p.sort();
    assert!(p.iter().all(|d| (scale..=cap).contains(d)));
    assert!(p.contains(&cap), "P(> 2 s) = 200^-1.5: about 35 of 100,000");
    // The median is scale · 2^(1/1.5) = 15.87 ms, p99 scale · 100^(1/1.5) = 215.4 ms.
    let (p50, p99) = (quantile(&p, 0.5), quantile(&p, 0.99));
    assert!((p50 - 0.015_874).abs() < 0.000_3, "p50 {p50}");
    assert!((p99 - 0.215_4).abs() < 0.02, "p99 {p99}");
    let mut u = delays(
        Latency::Uniform {
            min: scale,
            max: 3 * scale,
        },
        N,
    );
    u.sort();
    let (tail, flat) = (p99 / p50, quantile(&u, 0.99) / quantile(&u, 0.5));
    assert!(
        tail > 10.0 && flat < 2.0,
        "p99/p50: Pareto {tail}, uniform {flat}"
    );
}

#[test]
fn latency_delays_the_work_in_virtual_time() {
    let chaos = Chaos::builder()
        .latency(1.0, Latency::Fixed(Duration::from_secs(3)))
        .build()
        .unwrap();
    let timer = VirtualTimer::new();
    let started = AtomicU32::new(0);
    let t = timer.clone();
    let work = async {
        started.fetch_add(1, O::SeqCst);
        t.now()
    };
    let mut run = pin!(chaos.run(&timer, work));
    assert_eq!(run.fault(), Some(Fault::Latency(Duration::from_secs(3))));
    assert!(poll_once(run.as_mut()).is_pending());
    assert_eq!(started.load(O::SeqCst), 0, "the work waits for the delay");
    let at = futures_executor::block_on(timer.auto_advance(run)).unwrap();
    assert_eq!(at.as_nanos(), 3_000_000_000);
    assert_eq!(started.load(O::SeqCst), 1);
}

#[test]
fn a_stall_never_completes_and_holds_nothing() {
    let chaos = Chaos::builder().stall(1.0).build().unwrap();
    let timer = VirtualTimer::new();
    let (started, dropped) = (AtomicBool::new(false), AtomicBool::new(false));
    struct SetOnDrop<'a>(&'a AtomicBool);
    impl Drop for SetOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, O::SeqCst);
        }
    }
    let guard = SetOnDrop(&dropped);
    let work = async {
        let _guard = guard;
        started.store(true, O::SeqCst);
    };
    let mut run = pin!(chaos.run(&timer, work));
    assert!(
        dropped.load(O::SeqCst),
        "the work is dropped, unpolled, at once"
    );
    for _ in 0..100 {
        assert!(poll_once(run.as_mut()).is_pending());
    }
    assert!(!started.load(O::SeqCst));
    // A timeout around it ends it; the stage's future goes with the timeout.
    let cut = chaos
        .run(&timer, async { 1 })
        .timeout(&timer, Duration::from_secs(5));
    let err = futures_executor::block_on(timer.auto_advance(cut)).unwrap_err();
    assert_eq!(err.duration(), Some(Duration::from_secs(5)));
    assert_eq!(timer.now().as_nanos(), 5_000_000_000);
    assert_eq!(chaos.metrics().stalls, 2);
}

#[test]
fn an_error_ends_the_call_without_running_the_work() {
    let chaos = Chaos::builder().error(1.0).build().unwrap();
    let timer = VirtualTimer::new();
    let started = AtomicBool::new(false);
    let out = futures_executor::block_on(chaos.run(&timer, async {
        started.store(true, O::SeqCst);
        1
    }));
    assert_eq!(out, Err(Injected::Error));
    assert!(!started.load(O::SeqCst));
}

#[test]
fn an_outcome_ends_with_the_replacement_or_fails_without_one() {
    let chaos = Chaos::builder().outcome(1.0).build().unwrap();
    let timer = VirtualTimer::new();
    let started = AtomicBool::new(false);
    let work = || async {
        started.store(true, O::SeqCst);
        Ok::<u16, Injected>(200)
    };
    let run = chaos.run(&timer, work()).outcome(|| Ok(500));
    assert_eq!(futures_executor::block_on(run), Ok(Ok(500)));
    let call = chaos.call(&timer, work()).outcome(|| Ok(503));
    assert_eq!(futures_executor::block_on(call), Ok(503));
    let bare = chaos.call(&timer, work());
    assert_eq!(futures_executor::block_on(bare), Err(Injected::Outcome));
    assert!(!started.load(O::SeqCst));

    // No fault: the replacement is never made.
    let calm = Chaos::builder().build().unwrap();
    let made = AtomicBool::new(false);
    let call = calm.call(&timer, work()).outcome(|| {
        made.store(true, O::SeqCst);
        Ok(500)
    });
    assert_eq!(futures_executor::block_on(call), Ok(200));
    assert!(!made.load(O::SeqCst));
}

#[derive(Debug, PartialEq)]
enum AppError {
    Chaos(Injected),
    Down,
}

impl From<Injected> for AppError {
    fn from(i: Injected) -> Self {
        AppError::Chaos(i)
    }
}

#[test]
fn call_converts_the_fault_into_the_call_sites_error() {
    let timer = VirtualTimer::new();
    let failing = Chaos::builder().error(1.0).build().unwrap();
    let out = futures_executor::block_on(failing.call(&timer, async { Ok::<u8, AppError>(1) }));
    assert_eq!(out, Err(AppError::Chaos(Injected::Error)));
    let calm = Chaos::builder().build().unwrap();
    let out = futures_executor::block_on(calm.call(&timer, async { Err::<u8, _>(AppError::Down) }));
    assert_eq!(
        out,
        Err(AppError::Down),
        "the work's own error passes unchanged"
    );

    // `?` into a boxed error, with the fault's text.
    async fn boxed(chaos: &Chaos) -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
        let timer = VirtualTimer::new();
        Ok(chaos.run(&timer, async { 1 }).await?)
    }
    let err = futures_executor::block_on(boxed(&failing)).unwrap_err();
    assert_eq!(err.to_string(), "chaos: injected error");
    assert_eq!(err.downcast_ref::<Injected>(), Some(&Injected::Error));
    assert_eq!(Injected::Outcome.as_str(), "outcome");
}

#[test]
fn bad_settings_name_the_setting() {
    let field = |b: ChaosBuilder| b.build().unwrap_err().field();
    let b = Chaos::builder;
    assert_eq!(field(b().error(f64::NAN)), "error");
    assert_eq!(field(b().outcome(-0.1)), "outcome");
    assert_eq!(field(b().stall(1.5)), "stall");
    assert_eq!(
        field(b().latency(f64::INFINITY, Latency::Fixed(MS))),
        "latency"
    );
    assert_eq!(field(b().error(0.6).stall(0.5)), "rates");
    let nine = (0..9).fold(b(), |b, _| b.error(0.01));
    assert_eq!(field(nine), "faults");
    let uniform = Latency::Uniform {
        min: 2 * MS,
        max: MS,
    };
    assert_eq!(field(b().latency(0.1, uniform)), "latency");
    for (scale, shape, cap) in [
        (Duration::ZERO, 1.0, MS),
        (MS, 0.0, MS),
        (MS, -1.0, MS),
        (MS, f64::NAN, MS),
        (MS, f64::INFINITY, MS),
        (2 * MS, 1.0, MS),
    ] {
        let pareto = Latency::Pareto { scale, shape, cap };
        assert_eq!(field(b().latency(0.1, pareto)), "latency", "{pareto:?}");
    }
    let err = b().error(2.0).build().unwrap_err();
    assert_eq!(err.pattern(), "chaos");
    assert_eq!(
        err.to_string(),
        "invalid chaos setting `error`: the rate must be between 0 and 1"
    );
    // Rates that add up to 1 in decimal, if not quite in binary, are accepted.
    let full = b().error(0.1).outcome(0.2).stall(0.7).build().unwrap();
    assert!(faults(&full, 1000).iter().all(Option::is_some));
    assert!(b().error(1.0).stall(f64::MIN_POSITIVE).build().is_ok());
    assert_eq!(field(b().error(1.0).stall(1e-9)), "rates");
}

static STATIC: Chaos = Chaos::builder()
    .error(0.5)
    .latency(
        0.5,
        Latency::Pareto {
            scale: MS,
            shape: 1.16,
            cap: Duration::from_secs(1),
        },
    )
    .seed(0xC0FFEE)
    .build_const();

#[test]
fn build_const_makes_a_static() {
    assert!(faults(&STATIC, 1000).iter().all(Option::is_some));
    assert_eq!(STATIC.metrics().calls, 1000);
    let dbg = std::format!("{STATIC:?}");
    assert!(dbg.starts_with("Chaos { faults: ["), "{dbg}");
}

#[test]
fn a_dropped_delay_leaves_no_sleep_behind() {
    let chaos = Chaos::builder()
        .latency(1.0, Latency::Fixed(Duration::from_secs(1)))
        .build()
        .unwrap();
    let timer = VirtualTimer::new();
    {
        let mut run = pin!(chaos.run(&timer, async { 1 }));
        assert!(poll_once(run.as_mut()).is_pending());
        assert_eq!(
            timer.next_deadline().map(Instant::as_nanos),
            Some(1_000_000_000)
        );
    }
    assert_eq!(timer.next_deadline(), None);
}
