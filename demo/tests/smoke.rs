//! A tiny run of the tour: against the same seeded faults, the protected path beats the naive
//! one on success rate, on every runtime, and the bulkhead's limit holds.

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
        .args(["--requests", "150", "--seed", "3", "--json"])
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
        .args(["--requests", "many"])
        .output()
        .expect("the demo runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--requests wants a number"));

    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = busy.local_addr().unwrap().port().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_steadfast-demo"))
        .args(["--port", &port, "--requests", "1"])
        .output()
        .expect("the demo runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
}
