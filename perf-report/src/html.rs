//! `perf-report html`: one self-contained page (inline SVG drawn with
//! plotters, inline CSS, no script, nothing fetched) with, per test, the
//! verdict, the load, the threshold table, the latency distribution by
//! percentile on HdrHistogram's log axis (baseline overlaid), latency
//! percentiles and throughput over time, and the resources per second.

use crate::out::outln;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use perf_runtime::stats;
use perf_runtime::{format_duration, Report};
use plotters::prelude::*;

use crate::inputs::{load, load_all, Results};

pub(crate) const WIDTH: u32 = 560;
pub(crate) const HEIGHT: u32 = 300;
/// Percentile axis: x = log10(1 / (1 − q)), from 0% to 99.999%.
const NINES: f64 = 5.0;

pub fn run(inputs: &[String], baseline: Option<&str>, out: &Path) -> Result<()> {
    let results = load_all(inputs)?;
    let baseline = baseline.map(load).transpose()?;
    let html = render(&results, baseline.as_ref())?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join("index.html");
    perf_runtime::write_atomically(&path, html.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    outln!("{}", path.display());
    Ok(())
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A latency axis's unit, chosen so that its largest value reads as a
/// number a person can compare (`3.2 ms`, `480 µs`, `55 ns`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Unit {
    pub(crate) name: &'static str,
    ns: f64,
}

impl Unit {
    pub(crate) fn for_max(max_ns: f64) -> Unit {
        let (name, ns) = if max_ns >= 1e6 {
            ("ms", 1e6)
        } else if max_ns >= 1e3 {
            ("µs", 1e3)
        } else {
            ("ns", 1.0)
        };
        Unit { name, ns }
    }

    pub(crate) fn of(self, ns: f64) -> f64 {
        ns / self.ns
    }
}

/// Points of the percentile curve: (nines, latency in nanoseconds).
fn percentile_curve(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    (0..=200)
        .map(|i| {
            let nines = NINES * f64::from(i) / 200.0;
            let q = 1.0 - 10f64.powf(-nines);
            (nines, h.value_at_quantile(q) as f64)
        })
        .collect()
}

fn top_of<'a>(values: impl Iterator<Item = &'a f64>) -> f64 {
    values.copied().fold(0.0f64, f64::max)
}

fn percentile_chart(report: &Report, baseline: Option<&Report>) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let current = percentile_curve(&report.histogram);
        let old = baseline
            .map(|b| percentile_curve(&b.histogram))
            .unwrap_or_default();
        let unit = Unit::for_max(top_of(current.iter().chain(&old).map(|p| &p.1)));
        let scaled = |curve: Vec<(f64, f64)>| -> Vec<(f64, f64)> {
            curve.into_iter().map(|(x, ns)| (x, unit.of(ns))).collect()
        };
        let (current, old) = (scaled(current), scaled(old));
        let top = top_of(current.iter().chain(&old).map(|p| &p.1)).max(1e-3) * 1.1;
        let mut chart = ChartBuilder::on(&root)
            .caption("latency by percentile", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..NINES, 0f64..top)?;
        chart
            .configure_mesh()
            .x_labels(6)
            .x_label_formatter(&|n| match n.round() as i32 {
                0 => "0%".into(),
                1 => "90%".into(),
                2 => "99%".into(),
                3 => "99.9%".into(),
                4 => "99.99%".into(),
                _ => "99.999%".into(),
            })
            .x_desc("percentile (log scale of 1 / (1 − q))")
            .y_desc(format!("latency, {}", unit.name))
            .draw()?;
        chart
            .draw_series(LineSeries::new(current, BLUE.stroke_width(2)))?
            .label("this run")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLUE.stroke_width(2)));
        if !old.is_empty() {
            chart
                .draw_series(LineSeries::new(old, RED.stroke_width(2)))?
                .label("baseline")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

/// Runs with at most this many seconds are drawn as points beside the
/// whole run's percentiles: a line through one to three points says
/// nothing.
const SHORT_RUN_SECONDS: usize = 3;

type Pick = fn(&perf_runtime::TimelinePoint) -> u64;

fn timeline_chart(report: &Report) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let points = &report.timeline;
        let short = points.len() <= SHORT_RUN_SECONDS;
        let end = points.len().max(1) as f64;
        let picks: [(&str, f64, RGBColor, Pick); 3] = [
            ("p50", 50.0, GREEN, |p| p.p50_ns),
            ("p95", 95.0, BLUE, |p| p.p95_ns),
            ("p99", 99.0, RED, |p| p.p99_ns),
        ];
        let whole = |p: f64| report.latency.percentile(p).map(|d| d.as_nanos() as f64);
        let max_ns = points
            .iter()
            .map(|p| p.p99_ns as f64)
            .chain(whole(99.0).filter(|_| short))
            .fold(0.0f64, f64::max);
        let unit = Unit::for_max(max_ns);
        let top = unit.of(max_ns).max(1e-3) * 1.1;
        let rate_top = points
            .iter()
            .map(|p| p.iterations as f64)
            .fold(0.0f64, f64::max)
            .max(1.0)
            * 1.1;
        let caption = if short {
            format!(
                "per second ({}-second run: points; dashes: whole run)",
                points.len()
            )
        } else {
            "over time (per second)".to_owned()
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .right_y_label_area_size(60)
            .build_cartesian_2d(0f64..end, 0f64..top)?
            .set_secondary_coord(0f64..end, 0f64..rate_top);
        chart
            .configure_mesh()
            .x_desc("second of the run")
            .y_desc(format!("latency, {}", unit.name))
            .draw()?;
        chart
            .configure_secondary_axes()
            .y_desc("iterations/s")
            .draw()?;
        let series = |f: Pick| -> Vec<(f64, f64)> {
            points
                .iter()
                .map(|p| (f64::from(p.second) + 0.5, unit.of(f(p) as f64)))
                .collect()
        };
        for (label, percentile, color, f) in picks {
            if short {
                chart
                    .draw_series(
                        series(f)
                            .into_iter()
                            .map(|p| Circle::new(p, 4, color.filled())),
                    )?
                    .label(label)
                    .legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
                if let Some(ns) = whole(percentile) {
                    let y = unit.of(ns);
                    chart.draw_series(DashedLineSeries::new(
                        [(0.0, y), (end, y)],
                        6,
                        4,
                        color.mix(0.6).stroke_width(1),
                    ))?;
                }
            } else {
                chart.draw_series(
                    series(f)
                        .into_iter()
                        .map(|p| Circle::new(p, 3, color.filled())),
                )?;
                chart
                    .draw_series(LineSeries::new(series(f), color.stroke_width(2)))?
                    .label(label)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                    });
            }
        }
        let rate: Vec<(f64, f64)> = points
            .iter()
            .map(|p| (f64::from(p.second) + 0.5, p.iterations as f64))
            .collect();
        let crosses =
            chart.draw_secondary_series(rate.iter().map(|&p| Cross::new(p, 4, BLACK.mix(0.6))))?;
        if short {
            crosses
                .label("iterations/s")
                .legend(|(x, y)| Cross::new((x + 8, y), 4, BLACK.mix(0.6)));
        } else {
            chart
                .draw_secondary_series(LineSeries::new(rate, BLACK.mix(0.5).stroke_width(1)))?
                .label("iterations/s")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.mix(0.5)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

fn d(ns: u64) -> String {
    format_duration(Duration::from_nanos(ns))
}

fn section(out: &mut String, report: &Report, baseline: Option<&Report>) -> Result<()> {
    let verdict = if report.passed {
        "<span class=pass>✓ passed</span>"
    } else {
        "<span class=fail>✗ failed</span>"
    };
    let _ = write!(out, "<section><h2>{} {verdict}</h2>", escape(&report.name));
    let summary = report.summary();
    let load = summary
        .lines()
        .find(|l| l.trim_start().starts_with("load"))
        .unwrap_or_default();
    let _ = write!(
        out,
        "<p class=load>{}</p><p>{} iterations in {}, {:.1}/s, {} errors ({:.2}%), p50 {}, p95 {}, p99 {}, max {}</p>",
        escape(load.trim().trim_start_matches("load").trim_start_matches('.').trim_start_matches(':').trim()),
        report.iterations,
        d(report.elapsed_ns),
        report.throughput,
        report.errors,
        report.error_rate * 100.0,
        report.latency.percentile(50.0).map_or("-".into(), format_duration),
        report.latency.percentile(95.0).map_or("-".into(), format_duration),
        report.latency.percentile(99.0).map_or("-".into(), format_duration),
        d(report.latency.max_ns),
    );
    if !report.thresholds.is_empty() {
        out.push_str("<table><tr><th></th><th>threshold</th><th>observed</th></tr>");
        for t in &report.thresholds {
            let (mark, class) = if t.passed {
                ("✓", "pass")
            } else {
                ("✗", "fail")
            };
            let default = if t.default {
                " <small>(default)</small>"
            } else {
                ""
            };
            let _ = write!(
                out,
                "<tr><td class={class}>{mark}</td><td>{}{default}</td><td>{}</td></tr>",
                escape(&t.threshold),
                escape(&t.observed_display)
            );
        }
        out.push_str("</table>");
    }
    if let Some(phases) = crate::html_phases::table(report) {
        out.push_str(&phases);
    }
    if let Some(b) = &report.baseline {
        if let Some(missing) = &b.missing {
            let _ = write!(out, "<p>{}</p>", escape(missing));
        } else {
            let _ = write!(out, "<p>compared with baseline <b>{}</b></p><table><tr><th>metric</th><th>old</th><th>new</th><th>delta</th><th>p</th><th>verdict</th></tr>", escape(&b.version));
            for m in &b.metrics {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    m.metric,
                    stats::compared_value(&m.metric, m.old),
                    stats::compared_value(&m.metric, m.new),
                    escape(&stats::delta_with_interval(m)),
                    escape(&m.p_value.map_or("-".into(), |p| stats::format_p(p, 3))),
                    m.verdict
                );
            }
            out.push_str("</table>");
        }
    }
    let _ = write!(
        out,
        "<div class=charts><figure>{}</figure><figure>{}</figure>",
        percentile_chart(report, baseline)?,
        timeline_chart(report)?
    );
    if let Some(resources) = crate::html_resources::chart(report)? {
        let _ = write!(out, "<figure>{resources}</figure>");
    }
    if let Some(capacity) = crate::html_capacity::chart(report)? {
        let _ = write!(out, "<figure>{capacity}</figure>");
    }
    out.push_str("</div></section>");
    Ok(())
}

pub fn render(results: &Results, baseline: Option<&Results>) -> Result<String> {
    let mut out = String::from(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>perf-runtime report</title><style>\
         body{font-family:sans-serif;margin:2em;color:#222}h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em}\
         table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}\
         .pass{color:#1a7f37}.fail{color:#cf222e;font-weight:bold}.load{color:#555}\
         .charts{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}section{border-top:1px solid #ddd}\
         </style></head><body><h1>perf-runtime report</h1>",
    );
    let failed = results.values().filter(|r| !r.passed).count();
    let _ = write!(out, "<p>{} tests, {} failed</p>", results.len(), failed);
    for (name, report) in results {
        if report.skipped.is_some() {
            continue;
        }
        section(&mut out, report, baseline.and_then(|b| b.get(name)))?;
    }
    out.push_str("</body></html>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_axes_take_the_unit_of_their_largest_value() {
        assert_eq!(Unit::for_max(3.2e6).name, "ms");
        assert_eq!(Unit::for_max(480e3).name, "µs");
        assert_eq!(Unit::for_max(55.0).name, "ns");
        assert_eq!(Unit::for_max(0.0).name, "ns");
        assert!((Unit::for_max(480e3).of(480e3) - 480.0).abs() < 1e-9);
    }
}
