//! The HTML report's resource chart: per second, the CPU of the test
//! process and of each monitored process (as a share of the cores, left
//! axis) and their RSS (right axis), from the report's `resources`. CPU
//! is drawn only for intervals of half a second or more, and not at all
//! for a run under a second: the kernel counts CPU time in 10 ms ticks, so
//! a short interval's share is mostly rounding (the summary says "not
//! measured" for the same reason).

use anyhow::Result;
use perf_runtime::resources::{Resources, MIN_CPU_WINDOW_S};
use perf_runtime::Report;
use plotters::prelude::*;

use crate::html::{HEIGHT, WIDTH};

const COLORS: [RGBColor; 5] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
];

/// The shortest interval whose CPU share is drawn.
const MIN_POINT_S: f64 = 0.5;

/// One line of the chart: a name and its (second, CPU share if measured,
/// RSS MiB).
struct Line {
    name: String,
    points: Vec<(f64, Option<f64>, f64)>,
}

/// `(end of the interval, CPU as a share of one core, RSS)` as points,
/// with the CPU left out of intervals too short to measure it.
fn points(
    samples: impl Iterator<Item = (f64, f64, u64)>,
    cores: f64,
    cpu: bool,
) -> Vec<(f64, Option<f64>, f64)> {
    let mut previous = 0.0;
    samples
        .map(|(at_s, cpu_cores, rss)| {
            let long = at_s - previous >= MIN_POINT_S;
            previous = at_s;
            let share = (cpu && long).then(|| 100.0 * cpu_cores / cores);
            (at_s, share, rss as f64 / f64::from(1u32 << 20))
        })
        .collect()
}

fn lines(r: &Resources) -> Vec<Line> {
    let cores = r.cores.max(1.0);
    let cpu = r.window_s >= MIN_CPU_WINDOW_S;
    let mut all = vec![Line {
        name: "this test".to_owned(),
        points: points(
            r.samples.iter().map(|s| (s.at_s, s.cpu_cores, s.rss_bytes)),
            cores,
            cpu,
        ),
    }];
    all.extend(
        r.processes
            .iter()
            .filter(|p| !p.samples.is_empty())
            .take(COLORS.len() - 1)
            .map(|p| Line {
                name: p.name.clone(),
                points: points(
                    p.samples.iter().map(|s| (s.at_s, s.cpu_cores, s.rss_bytes)),
                    cores,
                    cpu,
                ),
            }),
    );
    all
}

/// The chart, if the run sampled its resources.
pub(crate) fn chart(report: &Report) -> Result<Option<String>> {
    let Some(r) = report.resources.as_ref().filter(|r| !r.samples.is_empty()) else {
        return Ok(None);
    };
    let lines = lines(r);
    let end = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .fold(1.0f64, f64::max);
    let rss_top = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.2))
        .fold(1.0f64, f64::max)
        * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                if r.window_s >= MIN_CPU_WINDOW_S {
                    format!("resources per second ({} cores)", r.cores)
                } else {
                    format!(
                        "resources ({} cores; CPU not measured: a run under {MIN_CPU_WINDOW_S} s)",
                        r.cores
                    )
                },
                ("sans-serif", 16),
            )
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .right_y_label_area_size(60)
            .build_cartesian_2d(0f64..end, 0f64..105f64)?
            .set_secondary_coord(0f64..end, 0f64..rss_top);
        chart
            .configure_mesh()
            .x_desc("second of the run")
            .y_desc("CPU, % of the cores (solid)")
            .draw()?;
        chart
            .configure_secondary_axes()
            .y_desc("RSS, MiB (dashed)")
            .draw()?;
        for (line, color) in lines.iter().zip(COLORS) {
            let cpu: Vec<(f64, f64)> = line
                .points
                .iter()
                .filter_map(|p| Some((p.0, p.1?)))
                .collect();
            let rss: Vec<(f64, f64)> = line.points.iter().map(|p| (p.0, p.2)).collect();
            chart
                .draw_series(LineSeries::new(cpu.clone(), color.stroke_width(2)))?
                .label(line.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            chart.draw_series(cpu.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
            chart.draw_secondary_series(DashedLineSeries::new(
                rss,
                5,
                3,
                color.mix(0.7).stroke_width(1),
            ))?;
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
    use perf_runtime::resources::{ProcessResources, ProcessSample, ResourceSample};

    #[test]
    fn one_line_per_process_and_none_without_samples() {
        let sample = |at_s: f64, cpu_cores: f64| ResourceSample {
            at_s,
            cpu_cores,
            rss_bytes: 64 << 20,
            threads: 3,
            net_sent_bytes: 0,
            net_recv_bytes: 0,
        };
        let mut report = Report::from_parts(
            "t",
            hdrhistogram::Histogram::new(3).unwrap(),
            0,
            std::time::Duration::from_secs(3),
        );
        assert!(chart(&report).unwrap().is_none(), "no resources, no chart");
        let resources = Resources {
            cores: 2.0,
            window_s: 3.0,
            cpu_seconds: 3.0,
            cpu_user_seconds: 3.0,
            cpu_avg: 0.5,
            cpu_max: 0.5,
            rss_peak_bytes: 64 << 20,
            rss_held_before_bytes: 0,
            threads_max: 3,
            voluntary_switches: 0,
            involuntary_switches: 0,
            net: None,
            saturated_s: 0.0,
            samples: vec![sample(1.0, 1.0), sample(2.0, 1.0), sample(3.0, 1.0)],
            processes: vec![ProcessResources {
                name: "orders-fn".into(),
                monitor: "name:orders-fn".into(),
                cpu_seconds: 1.5,
                cpu_avg: 0.25,
                cpu_max: 0.25,
                rss_peak_bytes: 10 << 20,
                processes_max: 1,
                samples: vec![ProcessSample {
                    at_s: 1.0,
                    cpu_cores: 0.5,
                    rss_bytes: 10 << 20,
                }],
            }],
        };
        let l = lines(&resources);
        assert_eq!(l.len(), 2);
        assert_eq!(
            l[0].points[0],
            (1.0, Some(50.0), 64.0),
            "one core of two, 64 MiB"
        );
        assert_eq!(l[1].name, "orders-fn");
        report.resources = Some(resources.clone());
        let svg = chart(&report).unwrap().unwrap();
        assert!(svg.contains("orders-fn") && svg.contains("RSS, MiB"));

        // A last interval of 0.2 s has no CPU point; a run of 0.4 s none.
        let mut tail = resources.clone();
        tail.samples.push(sample(3.2, 0.0));
        assert_eq!(lines(&tail)[0].points[3], (3.2, None, 64.0));
        let short = Resources {
            window_s: 0.4,
            samples: vec![sample(0.4, 0.0)],
            ..resources
        };
        assert!(lines(&short)
            .iter()
            .all(|l| l.points.iter().all(|p| p.1.is_none())));
        report.resources = Some(short);
        let svg = chart(&report).unwrap().unwrap();
        assert!(svg.contains("CPU not measured"), "the chart says why");
    }
}
