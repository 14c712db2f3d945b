//! The HTML report's capacity chart, for a report with a capacity search:
//! latency percentiles against the offered rate (the hockey stick, left
//! axis) and the achieved rate against it (right axis, with the line where
//! achieved = offered), the capacity and the knee marked. A search over
//! workers: the percentiles and the throughput against the workers.

use anyhow::Result;
use perf_runtime::{CapacityAxis, CapacityResult, CapacityStep, Report, StepOutcome};
use plotters::prelude::*;

use crate::html::{Unit, HEIGHT, WIDTH};

/// Steps that say something about the system (not generator-limited),
/// by offered rate.
fn judged(c: &CapacityResult) -> Vec<&CapacityStep> {
    let mut steps: Vec<_> = c
        .steps
        .iter()
        .filter(|s| !matches!(s.outcome, StepOutcome::GeneratorLimited { .. }))
        .collect();
    steps.sort_by(|a, b| a.offered.total_cmp(&b.offered));
    steps
}

/// The chart, if the report has a capacity search with judged steps.
pub(crate) fn chart(report: &Report) -> Result<Option<String>> {
    let Some(c) = report.capacity.as_ref() else {
        return Ok(None);
    };
    let steps = judged(c);
    if steps.is_empty() {
        return Ok(None);
    }
    // A rate search: achieved against offered on one scale (the equal
    // line is what holding looks like). A search over workers: throughput
    // on its own scale against the workers.
    let by_rate = c.axis == CapacityAxis::Rate;
    let max = |f: fn(&CapacityStep) -> f64| steps.iter().map(|s| f(s)).fold(1.0f64, f64::max);
    let (right, achieved_top) = if by_rate {
        let r = max(|s| s.offered.max(s.achieved)) * 1.05;
        (r, r)
    } else {
        (max(|s| s.offered) * 1.05, max(|s| s.achieved) * 1.05)
    };
    let unit = Unit::for_max(steps.iter().map(|s| s.p99_ns as f64).fold(0.0, f64::max));
    let top = steps
        .iter()
        .map(|s| unit.of(s.p99_ns as f64))
        .fold(1e-9f64, f64::max)
        * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            // The verdict begins with what was found ("capacity 78.0/s: …").
            .caption(&c.verdict, ("sans-serif", 13))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .right_y_label_area_size(60)
            .build_cartesian_2d(0f64..right, 0f64..top)?
            .set_secondary_coord(0f64..right, 0f64..achieved_top);
        let (x_desc, achieved_desc) = if by_rate {
            ("offered rate, per second", "achieved, per second (crosses)")
        } else {
            ("workers", "throughput, per second (crosses)")
        };
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(format!("latency, {} (lines)", unit.name))
            .draw()?;
        chart
            .configure_secondary_axes()
            .y_desc(achieved_desc)
            .draw()?;
        let colors = [BLUE, RGBColor(0xff, 0x7f, 0x0e), RED];
        for ((name, pick), color) in [
            ("p50", (|s: &CapacityStep| s.p50_ns) as fn(&_) -> u64),
            ("p95", |s| s.p95_ns),
            ("p99", |s| s.p99_ns),
        ]
        .into_iter()
        .zip(colors)
        {
            let points: Vec<(f64, f64)> = steps
                .iter()
                .map(|s| (s.offered, unit.of(pick(s) as f64)))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            chart.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )?;
        }
        if by_rate {
            chart.draw_secondary_series(DashedLineSeries::new(
                [(0.0, 0.0), (right, right)],
                5,
                3,
                BLACK.mix(0.4).stroke_width(1),
            ))?;
        }
        chart.draw_secondary_series(
            steps
                .iter()
                .map(|s| Cross::new((s.offered, s.achieved), 5, BLACK.stroke_width(2))),
        )?;
        // The knee is dashed: where it is the capacity itself (a system
        // that holds until it breaks), the capacity's line shows through.
        let marks = [
            ("capacity", c.capacity, RGBColor(0x2c, 0xa0, 0x2c), false),
            ("knee", c.knee, RGBColor(0x94, 0x67, 0xbd), true),
        ];
        for (name, at, color, dashed) in marks {
            let Some(x) = at else { continue };
            let line = [(x, 0.0), (x, top)];
            let style = color.stroke_width(2);
            let series = if dashed {
                chart.draw_series(DashedLineSeries::new(line, 6, 4, style))?
            } else {
                chart.draw_series(LineSeries::new(line, style))?
            };
            series
                .label(format!("{name} {}", c.axis.format(x)))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], style));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
        root.present()?;
    }
    Ok(Some(svg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(offered: f64, achieved: f64, p95_ms: u64, outcome: StepOutcome) -> CapacityStep {
        CapacityStep {
            offered,
            achieved,
            iterations: 100,
            dropped: 0,
            p50_ns: p95_ms * 500_000,
            p95_ns: p95_ms * 1_000_000,
            p99_ns: p95_ms * 1_100_000,
            mean_ns: p95_ms * 600_000,
            error_rate: 0.0,
            start_delay_p95_ns: None,
            cpu: None,
            outcome,
        }
    }

    #[test]
    fn a_search_gets_its_curve_and_a_plain_run_none() {
        let mut report = Report::from_parts(
            "t",
            hdrhistogram::Histogram::new(3).unwrap(),
            0,
            std::time::Duration::from_secs(3),
        );
        assert!(chart(&report).unwrap().is_none(), "no search, no chart");
        let broke = || StepOutcome::Broke {
            threshold: "p95 < 50ms".into(),
            observed: "90ms".into(),
        };
        report.capacity = Some(CapacityResult {
            axis: CapacityAxis::Rate,
            capacity: Some(360.0),
            at_least: false,
            first_broken: Some(370.0),
            broken_by: Some("p95 < 50ms".into()),
            generator_limited: None,
            knee: Some(370.0),
            range: (100.0, 5_000.0),
            steps: vec![
                step(100.0, 100.0, 12, StepOutcome::Held),
                step(506.0, 358.0, 600, broke()),
                step(360.0, 356.0, 13, StepOutcome::Held),
                step(370.0, 356.0, 54, broke()),
            ],
            verdict: "capacity 360/s: the highest rate that held".into(),
        });
        let svg = chart(&report).unwrap().unwrap();
        assert!(svg.contains("capacity 360/s"), "the capacity is marked");
        assert!(
            !svg.contains("capacity: capacity"),
            "the verdict is the caption"
        );
        assert!(svg.contains("knee 370/s"), "the knee is marked");
        assert!(svg.contains("offered rate"));
        // A search over workers: against the workers, the throughput on
        // its own scale.
        if let Some(c) = report.capacity.as_mut() {
            c.axis = CapacityAxis::Workers;
            (c.capacity, c.knee) = (Some(8.0), Some(12.0));
            c.steps = vec![
                step(4.0, 360.0, 11, StepOutcome::Held),
                step(8.0, 720.0, 11, StepOutcome::Held),
                step(12.0, 727.0, 17, broke()),
            ];
        }
        let svg = chart(&report).unwrap().unwrap();
        assert!(svg.contains("capacity 8 workers"), "{svg}");
        assert!(svg.contains("knee 12 workers") && svg.contains("throughput, per second"));
        assert!(!svg.contains("offered rate"));
        // Only generator-limited steps: nothing to draw.
        if let Some(c) = report.capacity.as_mut() {
            c.steps = vec![step(
                1e5,
                2e4,
                1,
                StepOutcome::GeneratorLimited {
                    reason: "CPU".into(),
                },
            )];
        }
        assert!(chart(&report).unwrap().is_none());
        // The largest figures a report that reads may hold are drawn,
        // not overflowed (larger ones are refused when it is read).
        if let Some(c) = report.capacity.as_mut() {
            c.axis = CapacityAxis::Rate;
            (c.capacity, c.knee, c.range) = (Some(1e9), Some(1e9), (1.0, 1e9));
            c.steps = vec![
                step(1.0, 1.0, 10, StepOutcome::Held),
                step(1e9, 1e9, 10, StepOutcome::Held),
            ];
        }
        report.check_schema().unwrap();
        assert!(chart(&report).unwrap().is_some());
    }
}
