//! The report as one self-contained HTML page: inline CSS and SVG, no script, nothing
//! fetched.

use core::fmt::Write as _;
use core::time::Duration;

use crate::report::{rows, short};
use crate::{PolicyReport, Report};

const W: f64 = 560.0;
const LAT_H: f64 = 220.0;
const TL_H: f64 = 262.0;
/// Margins: left, right, top, bottom.
const M: (f64, f64, f64, f64) = (46.0, 46.0, 14.0, 34.0);
/// The timeline's bottom margin (two lines of legend).
const TL_B: f64 = 46.0;
const BINS: usize = 48;

const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;\
margin:24px;color:#1d2430;background:#fbfbfd}h1{font-size:22px;margin:0 0 4px}\
h2{font-size:17px;margin:26px 0 8px}.meta{color:#5a6472;margin:0 0 14px}\
table{border-collapse:collapse;background:#fff;border:1px solid #dde1e8}\
th,td{padding:3px 12px;text-align:right;border-bottom:1px solid #eef0f4}\
th:first-child,td:first-child{text-align:left;color:#3c4656}thead th{background:#f1f3f7}\
.charts{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;max-width:560px;background:#fff;\
border:1px solid #dde1e8;padding:8px}figcaption{font-weight:600;margin:0 0 4px}\
svg text{font:11px system-ui,sans-serif;fill:#5a6472}.k{display:inline-block;width:10px;\
height:10px;margin:0 4px 0 10px;vertical-align:-1px}";

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl Report {
    /// The report as one self-contained HTML page (inline CSS and SVG; no script, font or
    /// anything fetched): the side-by-side table, then per policy its latency distribution
    /// (log scale, with the CDF) and its timeline (success rate and calls in flight per
    /// second, the breaker's state as a band, outages and brownouts shaded).
    #[must_use]
    pub fn html(&self) -> String {
        let mut h = String::new();
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>steadfast-sim report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
             <h1>steadfast-sim report</h1>\n<p class=\"meta\">{}</p>\n",
            esc(&self.scenario())
        );
        self.table(&mut h);
        let lat = LatencyAxis::new(&self.policies);
        let seconds = self
            .policies
            .iter()
            .map(|p| p.timeline.len())
            .max()
            .unwrap_or(0)
            .max(1);
        for p in &self.policies {
            let _ = write!(
                h,
                "<h2>{}</h2>\n<div class=\"charts\">\n<figure>\n<figcaption>Latency, caller-seen \
                 (log scale; line: cumulative)</figcaption>\n",
                esc(&p.name)
            );
            latency_chart(&mut h, p, &lat);
            h.push_str("</figure>\n<figure>\n<figcaption>Timeline (per second)</figcaption>\n");
            let peak = p.max_in_flight.max(p.max_dependency_in_flight).max(1);
            self.timeline_chart(&mut h, p, seconds, peak);
            h.push_str("</figure>\n</div>\n");
        }
        h.push_str("</body>\n</html>\n");
        h
    }

    /// One line saying what was simulated.
    fn scenario(&self) -> String {
        let load = match self.load.kind {
            crate::load::Kind::Open { rate, poisson } => format!(
                "{rate} requests/s{}",
                if poisson { " (Poisson)" } else { " (even)" }
            ),
            crate::load::Kind::Closed { clients, .. } => format!("{clients} closed-loop clients"),
        };
        let bound = match (self.load.requests, self.load.duration) {
            (Some(n), Some(d)) => format!("{n} requests or {}", short(d)),
            (Some(n), None) => format!("{n} requests"),
            (None, Some(d)) => format!("for {}", short(d)),
            (None, None) => String::new(),
        };
        let d = &self.dependency;
        let mut s = format!(
            "seed {}; {load}, {bound}; dependency: latency {}, error rate {}",
            self.seed, d.latency, d.error_rate
        );
        if let Some((fraction, latency)) = &d.slow {
            let _ = write!(s, ", {fraction} slow ({latency})");
        }
        if let Some(c) = d.capacity {
            let _ = write!(s, ", capacity {c}");
        }
        for (w, mode) in &d.outages {
            let mode = match mode {
                crate::OutageMode::Fail => "failing",
                crate::OutageMode::Hang => "hung",
            };
            let _ = write!(s, "; outage {}–{} ({mode})", short(w.start), short(w.end));
        }
        for b in &d.brownouts {
            let _ = write!(
                s,
                "; brownout {}–{} (latency ×{}, +{} errors)",
                short(b.window.start),
                short(b.window.end),
                b.latency_factor,
                b.extra_error_rate
            );
        }
        s
    }

    fn table(&self, h: &mut String) {
        h.push_str("<table>\n<thead><tr><th></th>");
        for p in &self.policies {
            let _ = write!(h, "<th>{}</th>", esc(&p.name));
        }
        h.push_str("</tr></thead>\n<tbody>\n");
        for (label, values) in rows(&self.policies) {
            let _ = write!(h, "<tr><td>{label}</td>");
            for v in values {
                let _ = write!(h, "<td>{}</td>", esc(&v));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody>\n</table>\n");
    }

    fn timeline_chart(&self, h: &mut String, p: &PolicyReport, seconds: usize, peak: u64) {
        let (l, r, t, _) = M;
        let b = TL_B;
        let band = 14.0;
        let plot_h = TL_H - t - b - band - 6.0;
        let x = |s: f64| l + (W - l - r) * s / seconds as f64;
        let y_rate = |f: f64| t + plot_h * (1.0 - f);
        let y_fl = |n: f64| t + plot_h * (1.0 - n / peak as f64);
        let _ = writeln!(
            h,
            "<svg width=\"{W}\" height=\"{TL_H}\" viewBox=\"0 0 {W} {TL_H}\" role=\"img\">"
        );
        let secs = |d: Duration| d.as_secs_f64();
        for (w, _) in &self.dependency.outages {
            let (x0, x1) = (
                x(secs(w.start).min(seconds as f64)),
                x(secs(w.end).min(seconds as f64)),
            );
            let _ = writeln!(
                h,
                "<rect x=\"{x0:.1}\" y=\"{t}\" width=\"{:.1}\" height=\"{plot_h}\" fill=\"#e3e5ea\"/>",
                (x1 - x0).max(0.0)
            );
        }
        for bw in &self.dependency.brownouts {
            let w = &bw.window;
            let (x0, x1) = (
                x(secs(w.start).min(seconds as f64)),
                x(secs(w.end).min(seconds as f64)),
            );
            let _ = writeln!(
                h,
                "<rect x=\"{x0:.1}\" y=\"{t}\" width=\"{:.1}\" height=\"{plot_h}\" fill=\"#fbefd5\"/>",
                (x1 - x0).max(0.0)
            );
        }
        // Axes and grid.
        for f in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let yy = y_rate(f);
            let _ = writeln!(
                h,
                "<line x1=\"{l}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#eef0f4\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{:.0}%</text>\
                 <text x=\"{:.1}\" y=\"{:.1}\">{:.0}</text>",
                W - r,
                l - 4.0,
                yy + 4.0,
                f * 100.0,
                W - r + 4.0,
                yy + 4.0,
                f * peak as f64
            );
        }
        let step = nice_step(seconds);
        let mut s = 0;
        while s <= seconds {
            let _ = writeln!(
                h,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{s}s</text>",
                x(s as f64),
                TL_H - b + 14.0
            );
            s += step;
        }
        // Series: in flight at the dependency and in the caller, then the success rate.
        let mut dep = String::new();
        let mut caller = String::new();
        // The success rate, in runs of seconds in which some request ended.
        let mut rates: Vec<String> = vec![String::new()];
        for (i, sec) in p.timeline.iter().enumerate() {
            let xm = x(i as f64 + 0.5);
            let _ = write!(
                dep,
                "{xm:.1},{:.1} ",
                y_fl(sec.max_dependency_in_flight as f64)
            );
            let _ = write!(caller, "{xm:.1},{:.1} ", y_fl(sec.max_in_flight as f64));
            match sec.success_rate() {
                Some(f) => {
                    let run = rates.last_mut().expect("one run at least");
                    let _ = write!(run, "{xm:.1},{:.1} ", y_rate(f));
                }
                None if !rates.last().is_some_and(String::is_empty) => rates.push(String::new()),
                None => {}
            }
        }
        let _ = writeln!(
            h,
            "<polyline points=\"{caller}\" fill=\"none\" stroke=\"#9b7ad8\" stroke-width=\"1.2\" \
             stroke-dasharray=\"3 2\"/>\n<polyline points=\"{dep}\" fill=\"none\" \
             stroke=\"#3b7dd8\" stroke-width=\"1.4\"/>"
        );
        for run in rates.iter().filter(|r| !r.is_empty()) {
            let _ = writeln!(
                h,
                "<polyline points=\"{run}\" fill=\"none\" stroke=\"#1f9d55\" stroke-width=\"1.8\"/>"
            );
        }
        // The breaker's band.
        let by = t + plot_h + 6.0;
        let _ = writeln!(
            h,
            "<rect x=\"{l}\" y=\"{by:.1}\" width=\"{:.1}\" height=\"{band}\" fill=\"#e6f4ea\"/>",
            W - l - r
        );
        for (i, sec) in p.timeline.iter().enumerate() {
            let open = sec.open.as_secs_f64().min(1.0);
            let (fill, opacity) = if open > 0.0 {
                ("#d64545", 0.25 + 0.75 * open)
            } else if sec.half_open {
                ("#e0a100", 0.8)
            } else {
                continue;
            };
            let _ = writeln!(
                h,
                "<rect x=\"{:.1}\" y=\"{by:.1}\" width=\"{:.2}\" height=\"{band}\" fill=\"{fill}\" \
                 fill-opacity=\"{opacity:.2}\"/>",
                x(i as f64),
                x(1.0) - x(0.0)
            );
        }
        let _ = writeln!(
            h,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">breaker</text>",
            l - 4.0,
            by + 11.0
        );
        // Legend.
        let ly = TL_H - 19.0;
        let _ = writeln!(
            h,
            "<text x=\"{l}\" y=\"{ly}\"><tspan fill=\"#1f9d55\">— success rate (left axis)</tspan>  \
             <tspan fill=\"#3b7dd8\">— most calls in flight at the dependency (right)</tspan>  \
             <tspan fill=\"#9b7ad8\">- - in the caller</tspan></text>\n<text x=\"{l}\" y=\"{:.1}\">\
             breaker: <tspan fill=\"#d64545\">■ open</tspan> <tspan fill=\"#e0a100\">■ half-open</tspan> \
             <tspan fill=\"#7fbf8f\">■ closed</tspan>; shaded: outage (grey), brownout (sand)</text>",
            ly + 13.0
        );
        h.push_str("</svg>\n");
    }
}

/// A tick step giving about eight ticks.
fn nice_step(n: usize) -> usize {
    let raw = (n / 8).max(1);
    [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 1800, 3600]
        .into_iter()
        .find(|s| *s >= raw)
        .unwrap_or(raw)
}

/// The latency charts' shared log axis, in seconds.
struct LatencyAxis {
    lo: f64,
    hi: f64,
}

impl LatencyAxis {
    fn new(policies: &[PolicyReport]) -> Self {
        // Instant answers (refusals) fall in the first bar: the axis starts at the smallest
        // latency above zero.
        let lo = policies
            .iter()
            .filter_map(|p| p.latency.buckets().find(|b| !b.0.is_zero()))
            .map(|b| b.0.as_secs_f64())
            .fold(f64::INFINITY, f64::min);
        let hi = policies
            .iter()
            .map(|p| p.latency.max().as_secs_f64())
            .fold(0.0, f64::max);
        let lo = if lo.is_finite() { lo.max(1e-6) } else { 1e-3 };
        let lo = 10f64.powf(lo.log10().floor());
        let hi = 10f64.powf(hi.max(lo * 10.0).log10().ceil());
        LatencyAxis { lo, hi }
    }

    /// 0 to 1 along the axis.
    fn at(&self, secs: f64) -> f64 {
        let s = secs.max(self.lo);
        ((s / self.lo).log10() / (self.hi / self.lo).log10()).clamp(0.0, 1.0)
    }
}

fn latency_chart(h: &mut String, p: &PolicyReport, axis: &LatencyAxis) {
    let (l, r, t, b) = M;
    let plot_w = W - l - r;
    let plot_h = LAT_H - t - b;
    let x = |f: f64| l + plot_w * f;
    let _ = writeln!(
        h,
        "<svg width=\"{W}\" height=\"{LAT_H}\" viewBox=\"0 0 {W} {LAT_H}\" role=\"img\">"
    );
    let mut bins = [0u64; BINS];
    for (lo, hi, c) in p.latency.buckets() {
        let mid = (lo.as_secs_f64() + hi.as_secs_f64()) / 2.0;
        let i = ((axis.at(mid) * BINS as f64) as usize).min(BINS - 1);
        bins[i] += c;
    }
    let total = p.latency.count().max(1) as f64;
    let tallest = bins.iter().copied().max().unwrap_or(0).max(1) as f64;
    // Decade ticks.
    let mut d = axis.lo;
    while d <= axis.hi * 1.0001 {
        let xx = x(axis.at(d));
        let _ = writeln!(
            h,
            "<line x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{t}\" y2=\"{:.1}\" stroke=\"#eef0f4\"/>\
             <text x=\"{xx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            t + plot_h,
            LAT_H - b + 14.0,
            short(Duration::from_secs_f64(d))
        );
        d *= 10.0;
    }
    for f in [0.0, 0.5, 1.0] {
        let yy = t + plot_h * (1.0 - f);
        let _ = writeln!(
            h,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{:.0}%</text>\
             <text x=\"{:.1}\" y=\"{:.1}\">{:.0}%</text>",
            l - 4.0,
            yy + 4.0,
            f * tallest / total * 100.0,
            W - r + 4.0,
            yy + 4.0,
            f * 100.0
        );
    }
    let bw = plot_w / BINS as f64;
    let mut cdf = String::new();
    let mut seen = 0u64;
    for (i, &c) in bins.iter().enumerate() {
        seen += c;
        let _ = write!(
            cdf,
            "{:.1},{:.1} ",
            x((i + 1) as f64 / BINS as f64),
            t + plot_h * (1.0 - seen as f64 / total)
        );
        if c == 0 {
            continue;
        }
        let bh = plot_h * c as f64 / tallest;
        let _ = writeln!(
            h,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#3b7dd8\" \
             fill-opacity=\"0.55\"/>",
            l + bw * i as f64 + 0.5,
            t + plot_h - bh,
            (bw - 1.0).max(0.5)
        );
    }
    let _ = writeln!(
        h,
        "<polyline points=\"{:.1},{:.1} {cdf}\" fill=\"none\" stroke=\"#1d2430\" stroke-width=\"1.3\"/>",
        l,
        t + plot_h
    );
    for (q, label) in [(0.5, "p50"), (0.99, "p99")] {
        let xx = x(axis.at(p.latency.quantile(q).as_secs_f64()));
        let _ = writeln!(
            h,
            "<line x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{t}\" y2=\"{:.1}\" stroke=\"#d64545\" \
             stroke-dasharray=\"4 3\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#d64545\">{label}</text>",
            t + plot_h,
            xx + 3.0,
            t + 10.0
        );
    }
    h.push_str("</svg>\n");
}
