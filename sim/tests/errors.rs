//! Bad settings give typed errors naming the setting.

use std::time::Duration;

use steadfast_sim::{
    Brownout, ConfigError, DependencyModel, Latency, Load, OutageMode, Simulation,
};

const MS: fn(u64) -> Duration = Duration::from_millis;

fn dep(
    f: impl FnOnce(steadfast_sim::DependencyModelBuilder) -> steadfast_sim::DependencyModelBuilder,
) -> ConfigError {
    f(DependencyModel::builder()).build().unwrap_err()
}

#[test]
fn dependency_settings() {
    let cases: Vec<(ConfigError, &str)> = vec![
        (dep(|b| b.error_rate(1.5)), "error_rate"),
        (dep(|b| b.error_rate(f64::NAN)), "error_rate"),
        (
            dep(|b| b.latency(Latency::uniform(MS(5), MS(1)))),
            "latency",
        ),
        (
            dep(|b| b.latency(Latency::lognormal(MS(10), MS(5)))),
            "latency",
        ),
        (
            dep(|b| b.latency(Latency::lognormal(Duration::ZERO, MS(5)))),
            "latency",
        ),
        (dep(|b| b.latency(Latency::pareto(MS(1), 0.0))), "latency"),
        (
            dep(|b| b.latency(Latency::pareto(Duration::ZERO, 2.0))),
            "latency",
        ),
        (dep(|b| b.slow(-0.1, Latency::fixed(MS(1)))), "slow"),
        (
            dep(|b| b.slow(0.1, Latency::pareto(MS(1), f64::INFINITY))),
            "slow",
        ),
        (dep(|b| b.outage(MS(5)..MS(5), OutageMode::Fail)), "outage"),
        (dep(|b| b.brownout(Brownout::new(MS(5)..MS(1)))), "brownout"),
        (
            dep(|b| b.brownout(Brownout::new(MS(1)..MS(5)).latency_factor(0.0))),
            "brownout",
        ),
        (
            dep(|b| b.brownout(Brownout::new(MS(1)..MS(5)).extra_error_rate(2.0))),
            "brownout",
        ),
        (dep(|b| b.capacity(0)), "capacity"),
    ];
    for (err, setting) in cases {
        assert_eq!(err.pattern(), "dependency");
        assert_eq!(err.field(), setting, "{err}");
        assert!(
            err.to_string()
                .starts_with(&format!("invalid dependency setting `{setting}`: "))
        );
    }
    assert!(
        DependencyModel::builder()
            .latency(Latency::pareto(MS(1), 1.1))
            .build()
            .is_ok()
    );
}

#[test]
fn load_settings() {
    let cases = [
        (Load::open(0.0).requests(10).build(), "rate"),
        (Load::open(f64::NAN).requests(10).build(), "rate"),
        (Load::open(f64::INFINITY).requests(10).build(), "rate"),
        (Load::open(10.0).build(), "requests"),
        (Load::open(10.0).requests(0).build(), "requests"),
        (
            Load::open(10.0).duration(Duration::ZERO).build(),
            "duration",
        ),
        (Load::closed(0).requests(10).build(), "clients"),
        (
            Load::closed(3)
                .think(Latency::uniform(MS(2), MS(1)))
                .requests(10)
                .build(),
            "think",
        ),
    ];
    for (result, setting) in cases {
        let err = result.unwrap_err();
        assert_eq!((err.pattern(), err.field()), ("load", setting), "{err}");
    }
}

#[test]
fn simulation_settings() {
    let err = Simulation::builder()
        .load(Load::open(1.0).requests(1).build().unwrap())
        .build()
        .unwrap_err();
    assert_eq!((err.pattern(), err.field()), ("simulation", "dependency"));
    let err = Simulation::builder()
        .dependency(DependencyModel::builder().build().unwrap())
        .build()
        .unwrap_err();
    assert_eq!((err.pattern(), err.field()), ("simulation", "load"));
    let _: &dyn std::error::Error = &err;
}
