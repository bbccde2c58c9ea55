//! A tiny run of the tour (`--real`): against the same seeded faults, the protected path beats
//! the naive one on success rate, on every runtime, and the bulkhead's limit holds. And the
//! default mode, the simulator: its table, its report file, its errors.

use std::process::Command;

fn field(run: &str, name: &str) -> f64 {
    let key = format!("\"{name}\":");
    let start = run
        .find(&key)
        .unwrap_or_else(|| panic!("{name} missing in {run}"))
        + key.len();
    let rest = &run[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end]
        .trim_matches('"')
        .parse()
        .unwrap_or_else(|_| panic!("{name} in {run}"))
}

#[test]
fn protected_beats_naive_on_every_runtime() {
    let out = Command::new(env!("CARGO_BIN_EXE_steadfast-demo"))
        .args(["--real", "--requests", "150", "--seed", "3", "--json"])
        .output()
        .expect("the demo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = String::from_utf8(out.stdout).expect("utf-8");
    let runs: Vec<&str> = json.split("{\"runtime\":").skip(1).collect();
    assert_eq!(runs.len(), 8, "{json}");
    for pair in runs.chunks(2) {
        let (naive, protected) = (pair[0], pair[1]);
        assert!(
            naive.contains("\"mode\":\"naive\"") && protected.contains("\"mode\":\"protected\"")
        );
        let (n, p) = (
            field(naive, "success_rate"),
            field(protected, "success_rate"),
        );
        assert!(p > n, "protected {p}% should beat naive {n}%: {protected}");
        assert!(field(protected, "max_in_flight") <= field(protected, "limit"));
        assert_eq!(field(naive, "requests"), 150.0);
    }
}

#[test]
fn bad_flags_and_busy_ports_get_clear_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_steadfast-demo"))
        .args(["--real", "--requests", "many"])
        .output()
        .expect("the demo runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--requests wants a number"));

    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = busy.local_addr().unwrap().port().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_steadfast-demo"))
        .args(["--port", &port, "--requests", "1", "--real"])
        .output()
        .expect("the demo runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
}

#[test]
fn the_simulator_prints_the_comparison_and_writes_the_report() {
    let dir = std::env::temp_dir().join(format!("steadfast-demo-{}", std::process::id()));
    let out = dir.join("nested").join("report.html");
    let run = |seed: &str| {
        Command::new(env!("CARGO_BIN_EXE_steadfast-demo"))
            .args(["--seed", seed, "--duration", "40", "--out"])
            .arg(&out)
            .output()
            .expect("the demo runs")
    };
    let first = run("5");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let stdout = String::from_utf8(first.stdout).expect("utf-8");
    for row in [
        "requests",
        "success within 1.00s",
        "latency p99",
        "breaker opened",
        "calls per request",
    ] {
        assert!(stdout.contains(row), "{row} missing:\n{stdout}");
    }
    let header = stdout
        .lines()
        .find(|l| l.starts_with(' ') && l.trim_start().starts_with("naive"))
        .expect("a header");
    assert!(header.contains("protected"), "{header}");
    assert!(
        stdout.contains(&out.display().to_string()) || stdout.contains("report.html"),
        "{stdout}"
    );
    let html = std::fs::read_to_string(&out).expect("the report is written");
    assert_eq!(html.matches("<svg").count(), 4);
    assert!(html.len() > 10_000);
    // The same seed, the same numbers.
    let again = run("5");
    assert_eq!(
        String::from_utf8(again.stdout)
            .unwrap()
            .lines()
            .take(30)
            .filter(|l| !l.starts_with("simulated"))
            .collect::<Vec<_>>(),
        stdout
            .lines()
            .take(30)
            .filter(|l| !l.starts_with("simulated"))
            .collect::<Vec<_>>()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_simulator_refuses_unknown_flags() {
    for args in [
        &["--requests", "10"][..],
        &["--json"],
        &["--seed"],
        &["--rate", "0"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_steadfast-demo"))
            .args(args)
            .output()
            .expect("the demo runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("steadfast-demo: "), "{stderr}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_steadfast-demo"))
        .args(["--json"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--real"));
}
