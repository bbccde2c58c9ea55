//! Property tests: delay bounds, monotonic backoff, jitter formulas, the deadline and the
//! budget's accounting.

use core::cell::Cell;
use core::time::Duration;
use std::vec::Vec;

use proptest::prelude::*;

use super::{JumpTimer, block_on};
use crate::Instant;
use crate::retry::*;

/// Cases per property; a few under Miri, which is slow.
const CASES: u32 = if cfg!(miri) { 4 } else { 64 };

#[derive(Clone, Copy, Debug)]
enum Shape {
    Constant,
    Linear(u64),
    Exponential(f64),
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Constant),
        (0u64..=u64::MAX).prop_map(Shape::Linear),
        (0u64..5_000_000).prop_map(Shape::Linear),
        (1.0f64..4.0).prop_map(Shape::Exponential),
        (1.0f64..1.001).prop_map(Shape::Exponential),
        (4.0f64..1e30).prop_map(Shape::Exponential),
    ]
}

fn jitter() -> impl Strategy<Value = Jitter> {
    prop_oneof![
        Just(Jitter::None),
        Just(Jitter::Full),
        Just(Jitter::Equal),
        (1u32..10).prop_map(|multiplier| Jitter::Decorrelated { multiplier }),
    ]
}

/// A base in nanoseconds: tiny, realistic or huge.
fn base() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..100, 1_000u64..10_000_000_000, 0u64..=u64::MAX]
}

fn policy(shape: Shape, base: u64, cap_over_base: u64, jitter: Jitter) -> RetryPolicy {
    let base_d = Duration::from_nanos(base);
    let b = RetryPolicy::builder()
        .max_attempts(u32::MAX)
        .max_delay(Duration::from_nanos(base.saturating_add(cap_over_base)))
        .jitter(jitter)
        .seed(7);
    let b = match shape {
        Shape::Constant => b.constant(base_d),
        Shape::Linear(step) => b.linear(base_d, Duration::from_nanos(step)),
        Shape::Exponential(factor) => b.exponential(base_d, factor),
    };
    b.build().expect("valid settings")
}

fn un_jittered(p: &RetryPolicy) -> RetryPolicy {
    let mut p = *p;
    p.jitter = Jitter::None;
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn delays_never_exceed_max_delay(
        shape in shape(), base in base(), over in 0u64..=u64::MAX, jitter in jitter(), seed: u64,
    ) {
        let p = policy(shape, base, over, jitter);
        for d in p.delays(seed).take(200) {
            prop_assert!(d <= p.max_delay());
        }
    }

    #[test]
    fn un_jittered_delays_never_decrease_and_stay_at_the_cap(
        shape in shape(), base in base(), over in 0u64..=u64::MAX,
    ) {
        let p = policy(shape, base, over, Jitter::None);
        let delays: Vec<_> = p.delays(0).take(300).collect();
        for pair in delays.windows(2) {
            prop_assert!(pair[0] <= pair[1], "{:?} then {:?}", pair[0], pair[1]);
            if pair[0] == p.max_delay() {
                prop_assert_eq!(pair[1], p.max_delay());
            }
        }
    }

    #[test]
    fn jittered_delays_stay_in_their_formula_bounds(
        shape in shape(), base in base(), over in 0u64..=u64::MAX, jitter in jitter(), seed: u64,
    ) {
        let p = policy(shape, base, over, jitter);
        let plain: Vec<_> = un_jittered(&p).delays(0).take(100).collect();
        let b = plain[0];
        let mut prev = b;
        for (d, plain) in p.delays(seed).zip(plain) {
            match jitter {
                Jitter::None => prop_assert_eq!(d, plain),
                Jitter::Full => prop_assert!(d <= plain),
                Jitter::Equal => prop_assert!(d >= plain / 2 && d <= plain),
                Jitter::Decorrelated { multiplier } => {
                    let hi = prev.saturating_mul(multiplier).min(p.max_delay()).max(b);
                    prop_assert!(d >= b && d <= hi, "{:?} not in {:?}..={:?}", d, b, hi);
                }
            }
            prev = d;
        }
    }

    #[test]
    fn total_sleeping_never_passes_the_deadline(
        shape in shape(),
        base in 0u64..5_000_000_000,
        over in 0u64..60_000_000_000,
        jitter in jitter(),
        max_elapsed in 0u64..100_000_000_000,
        attempts in 1u32..500,
        hint_every in 0u32..4,
        hint in 0u64..20_000_000_000,
        work in 0u64..2_000_000_000,
    ) {
        let mut p = policy(shape, base, over, jitter);
        p.max_attempts = attempts;
        p.max_elapsed = Some(Duration::from_nanos(max_elapsed));
        let timer = JumpTimer::default();
        let t = timer.clone();
        let calls = Cell::new(0u32);
        // Each attempt ends at once or takes `work`: a deadline may pass during an attempt,
        // never during a sleep.
        let op = || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            let t = t.clone();
            async move {
                if n % 2 == 0 {
                    crate::Timer::sleep(&t, Duration::from_nanos(work)).await;
                }
                Err::<(), u32>(n)
            }
        };
        let mut slept = Duration::ZERO;
        let mut latest_sleep_end = Instant::ZERO;
        let clock = timer.clone();
        let err = block_on(
            op.retry(&p, &timer)
                .retry_after(|n| {
                    (hint_every != 0 && n % hint_every == 0).then_some(Duration::from_nanos(hint))
                })
                .notify(|n| {
                    slept += n.delay();
                    latest_sleep_end = latest_sleep_end.max(crate::Timer::now(&clock) + n.delay());
                }),
        )
        .unwrap_err();
        let deadline = Instant::ZERO + Duration::from_nanos(max_elapsed);
        prop_assert!(latest_sleep_end <= deadline, "a sleep ended at {:?}", latest_sleep_end);
        prop_assert!(slept <= Duration::from_nanos(max_elapsed));
        prop_assert!(err.attempts() <= attempts);
        prop_assert_eq!(err.attempts(), calls.get());
        // The time outside attempts fits in the deadline.
        let worked = Duration::from_nanos(work) * (err.attempts() / 2);
        prop_assert!(timer.elapsed() <= Duration::from_nanos(max_elapsed) + worked);
        if err.reason() == GiveUpReason::AttemptsExhausted {
            prop_assert_eq!(err.attempts(), attempts);
        }
    }

    #[test]
    fn budget_accounting_matches_its_formula(
        percent in 0u32..300,
        floor in 0u32..20,
        window in 1u64..100,
        ops in proptest::collection::vec((any::<bool>(), 0u64..30), 1..300),
    ) {
        let budget = RetryBudget::builder()
            .percent(percent)
            .min_retries(floor)
            .window(Duration::from_nanos(window))
            .build()
            .unwrap();
        // The model: deposits and withdrawals per window number.
        let mut windows: Vec<(u64, u64, u64)> = Vec::new();
        let mut now = 0u64;
        for (withdraw, step) in ops {
            now += step;
            let w = now / window;
            let recent = |windows: &Vec<(u64, u64, u64)>| {
                windows
                    .iter()
                    .filter(|(n, _, _)| *n == w || *n + 1 == w)
                    .fold((0u64, 0u64), |(d, r), (_, dd, rr)| (d + dd, r + rr))
            };
            if windows.last().map(|x| x.0) != Some(w) {
                windows.push((w, 0, 0));
            }
            let (deposits, retries) = recent(&windows);
            let allowance = u64::from(floor) + deposits * u64::from(percent) / 100;
            let at = Instant::from_nanos(now);
            prop_assert_eq!(budget.recent_counts(at), (deposits as u32, retries as u32));
            prop_assert_eq!(u64::from(budget.available(at)), allowance.saturating_sub(retries));
            if withdraw {
                let allowed = retries < allowance;
                prop_assert_eq!(budget.try_withdraw(at), allowed);
                if allowed {
                    windows.last_mut().unwrap().2 += 1;
                    // Never over the allowance at the moment of a withdrawal.
                    prop_assert!(retries < allowance);
                }
            } else {
                budget.deposit(at);
                windows.last_mut().unwrap().1 += 1;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// The exponential delays are the fixed-point products the backoff's docs describe:
    /// `(acc · factor) >> 32` with 32 fractional bits, capped, computed here with one
    /// 128-bit product and its overflow check.
    #[test]
    fn exponential_delays_are_the_fixed_point_products(
        base in base(), over in 0u64..=u64::MAX, factor in prop_oneof![1.0f64..4.0, 4.0f64..1e30],
    ) {
        let p = policy(Shape::Exponential(factor), base, over, Jitter::None);
        let cap = base.saturating_add(over);
        let fx = u128::from(crate::retry::backoff::factor_fixed(factor).expect("valid factor"));
        let mut acc = u128::from(base.min(cap)) << 32;
        for d in p.delays(0).take(80) {
            prop_assert_eq!(d, Duration::from_nanos((acc >> 32) as u64));
            acc = match acc.checked_mul(fx) {
                Some(x) => (x >> 32).min(u128::from(cap) << 32),
                None => u128::from(cap) << 32,
            };
        }
    }
}
