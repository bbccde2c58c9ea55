//! The HTML report: one chart of each kind per policy, nothing fetched, tags balanced.

use std::time::Duration;

use steadfast::breaker::CircuitBreaker;
use steadfast::pipeline::Pipeline;
use steadfast_sim::{DependencyModel, Latency, Load, OutageMode, Report, Simulation};

const MS: fn(u64) -> Duration = Duration::from_millis;

fn report() -> Report {
    let model = DependencyModel::builder()
        .latency(Latency::lognormal(MS(5), MS(40)))
        .outage(
            Duration::from_secs(2)..Duration::from_secs(3),
            OutageMode::Fail,
        )
        .build()
        .unwrap();
    let sim = Simulation::builder()
        .dependency(model)
        .load(
            Load::open(300.0)
                .duration(Duration::from_secs(5))
                .build()
                .unwrap(),
        )
        .slo(Duration::from_millis(100))
        .build()
        .unwrap();
    let (timer, dependency, observer) = (sim.timer(), sim.dependency(), sim.observer());
    let breaker: CircuitBreaker = CircuitBreaker::builder()
        .consecutive_failures(5)
        .build()
        .unwrap();
    let pipeline = Pipeline::builder().breaker(&breaker).build().unwrap();
    sim.policy("naive <one> & \"only\"", async || dependency.call().await)
        .policy("breaker", async || {
            pipeline
                .call(&timer, || dependency.call())
                .observe(&observer)
                .await
        })
        .policy("always fails", async || false)
        .run_blocking()
}

/// Checks that every opened element is closed in order; the elements left open, if any.
fn unbalanced(html: &str) -> Result<(), String> {
    const VOID: [&str; 6] = ["meta", "br", "img", "input", "link", "hr"];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').ok_or("a tag is not closed")? + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') || tag.ends_with('/') {
            continue;
        }
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if name.is_empty() {
            return Err(format!("a bad tag: <{tag}>"));
        }
        if VOID.contains(&name.as_str()) {
            continue;
        }
        if tag.starts_with('/') {
            match stack.pop() {
                Some(open) if open == name => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
        } else {
            stack.push(name);
        }
    }
    if stack.is_empty() {
        Ok(())
    } else {
        Err(format!("left open: {stack:?}"))
    }
}

#[test]
fn the_page_is_self_contained_and_well_formed() {
    let r = report();
    let html = r.html();
    assert_eq!(html.matches("<svg").count(), 2 * r.policies.len());
    assert_eq!(html.matches("</svg>").count(), 2 * r.policies.len());
    for forbidden in [
        "http://", "https://", "<script", "src=", "href=", "@import", "url(",
    ] {
        assert!(!html.contains(forbidden), "{forbidden} in the page");
    }
    unbalanced(&html).unwrap();
    // Names are escaped; every policy has its section and its column.
    assert!(html.contains("naive &lt;one&gt; &amp; &quot;only&quot;"));
    assert!(!html.contains("<one>"));
    assert!(html.contains("<h2>breaker</h2>") && html.contains("<h2>always fails</h2>"));
    assert!(html.contains("success within 100ms"));
    // The breaker opened during the outage: its band shows it.
    assert!(r.policies[1].breaker_opened > 0);
    assert!(html.contains("#d64545\" fill-opacity"));
    assert!(html.len() > 10_000);
}

#[test]
fn the_checker_catches_broken_pages() {
    assert!(unbalanced("<p><b></p></b>").is_err());
    assert!(unbalanced("<div>").is_err());
    assert!(unbalanced("<svg><rect/></svg><meta charset=\"x\">").is_ok());
}

#[test]
fn the_table_lines_up() {
    let r = report();
    let text = r.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("breaker") && lines[0].contains("always fails"));
    let width = lines[0].chars().count();
    assert!(lines.iter().all(|l| l.chars().count() == width), "{text}");
    assert!(text.contains("success within 100ms"));
    let fails = r.policy("always fails").unwrap();
    assert_eq!(fails.successes, 0);
    assert_eq!(fails.dependency_calls, 0);
}
