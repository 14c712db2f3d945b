//! The HTTP load generators side by side against nginx on loopback:
//! `cargo bench -p perf-runtime --features http --bench http` (release
//! build; needs Debian's `nginx`, `wrk` and `time`, and `oha` on the PATH
//! or in `$HOME/.cache/perf-runtime/tools/bin`, each skipped with a note
//! when missing).
//!
//! nginx answers `return 200 "ok"` with one worker, no access log and
//! `keepalive_requests 1000000`, pinned to the last core; every generator
//! is pinned to the first. Each round runs, 50 connections for
//! `BENCH_SECS` seconds (default 10) each: a perf test through
//! `perf_runtime::http` (phase timings on, then off), a hand-written hyper
//! loop (one `http1` connection per task, a histogram per task), wrk and
//! oha. Three rounds; the table shows each generator's best round by
//! requests/s, with p50/p99 and its CPU time per request.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use perf_runtime::http::Client;
use perf_runtime::PerfTest;

const CONNECTIONS: usize = 50;

#[derive(Clone, Copy, Default)]
struct Figures {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    cpu_us_per_req: f64,
}

/// This process's CPU time (user + system), from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after `)`.
    (ticks(11) + ticks(12)) / 100.0
}

fn which(name: &str) -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let cached = home.join(".cache/perf-runtime/tools/bin").join(name);
    if cached.exists() {
        return Some(cached);
    }
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&found.stdout).trim().to_owned();
    (!path.is_empty()).then(|| PathBuf::from(path))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_nginx(dir: &Path, port: u16, core: usize) -> std::process::Child {
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "worker_processes 1;\ndaemon off;\npid {pid};\nerror_log {dir}/error.log;\n\
             events {{ worker_connections 4096; }}\n\
             http {{ access_log off; keepalive_requests 1000000;\n\
             client_body_temp_path {dir}; proxy_temp_path {dir}; fastcgi_temp_path {dir};\n\
             uwsgi_temp_path {dir}; scgi_temp_path {dir};\n\
             server {{ listen 127.0.0.1:{port}; location / {{ return 200 \"ok\"; }} }} }}\n",
            pid = dir.join("nginx.pid").display(),
            dir = dir.display(),
        ),
    )
    .unwrap();
    let mut child = Command::new("taskset")
        .args(["-c", &core.to_string()])
        .arg(which("nginx").expect("nginx"))
        .args(["-c", conf.to_str().unwrap(), "-p", dir.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx starts");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("nginx did not listen on 127.0.0.1:{port}");
}

fn perf_runtime_http(url: &str, secs: u64, timings: bool) -> Figures {
    let client = Client::builder()
        .pool_size(CONNECTIONS)
        .timings(timings)
        .build();
    let url = Arc::<str>::from(url);
    let cpu = cpu_seconds();
    let report = PerfTest::new("bench::http")
        .workers(CONNECTIONS)
        .worker_threads(1)
        .duration(Duration::from_secs(secs))
        .env_overrides(false)
        .no_report_file()
        .quiet()
        .run(move |_| {
            let (client, url) = (client.clone(), url.clone());
            async move { client.get(&url).send().await.map(drop) }
        })
        .unwrap();
    let cpu = cpu_seconds() - cpu;
    let p = |q: f64| {
        report
            .latency
            .percentiles
            .iter()
            .find(|p| p.percentile == q)
            .map_or(0.0, |p| p.value_ns as f64 / 1e3)
    };
    assert_eq!(report.errors, 0, "{}", report.summary());
    Figures {
        rps: report.throughput,
        p50_us: p(50.0),
        p99_us: p(99.0),
        cpu_us_per_req: cpu * 1e6 / report.iterations.max(1) as f64,
    }
}

/// The open model at `rate` requests/s: what it achieved (iterations over
/// the run's length, dropped ones apart), and how late requests began.
fn open_model(url: &str, secs: u64, rate: f64) {
    let client = Client::builder().pool_size(CONNECTIONS).build();
    let url = Arc::<str>::from(url);
    let report = PerfTest::new("bench::http_open")
        .rate(rate)
        .workers(200)
        .worker_threads(1)
        .duration(Duration::from_secs(secs))
        .env_overrides(false)
        .no_report_file()
        .quiet()
        .run(move |_| {
            let (client, url) = (client.clone(), url.clone());
            async move { client.get(&url).send().await.map(drop) }
        })
        .unwrap();
    let achieved = report.iterations as f64 / secs as f64;
    let delay = report.start_delay.as_ref().expect("open model");
    let us = |p: f64| delay.percentile(p).map_or(0.0, |d| d.as_secs_f64() * 1e6);
    let lat = |p: f64| report.percentile(p).as_secs_f64() * 1e6;
    println!(
        "\nopen model at {rate:.0} req/s for {secs} s: achieved {achieved:.0} req/s ({:+.2}% of the rate), {} dropped, {} errors; \
         latency from the scheduled start p50 {:.0} µs p99 {:.0} µs; start delay p50 {:.1} µs p99 {:.1} µs max {:.0} µs",
        (achieved / rate - 1.0) * 100.0,
        report.dropped,
        report.errors,
        lat(50.0),
        lat(99.0),
        us(50.0),
        us(99.0),
        delay.max_ns as f64 / 1e3,
    );
}

/// 50 tasks, each with its own keep-alive `http1` connection and its own
/// histogram, sending GETs until the deadline (on one runtime thread, as
/// the perf test).
fn hyper_loop(port: u16, secs: u64) -> Figures {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Empty};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let cpu = cpu_seconds();
    let start = Instant::now();
    let histograms = rt.block_on(async move {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut tasks = Vec::new();
        for _ in 0..CONNECTIONS {
            tasks.push(tokio::spawn(async move {
                let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .unwrap();
                stream.set_nodelay(true).unwrap();
                let (mut send, conn) =
                    hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                        .await
                        .unwrap();
                tokio::spawn(conn);
                let mut h = hdrhistogram::Histogram::<u64>::new(3).unwrap();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let req = hyper::Request::get("/")
                        .header("host", "127.0.0.1")
                        .body(Empty::<Bytes>::new())
                        .unwrap();
                    // Bounded: a lost response ends the benchmark, not hangs it.
                    let exchange = async {
                        send.ready().await.unwrap();
                        let res = send.send_request(req).await.unwrap();
                        res.into_body().collect().await.unwrap()
                    };
                    tokio::time::timeout(Duration::from_secs(5), exchange)
                        .await
                        .expect("nginx answers within 5 s");
                    h.record(t.elapsed().as_nanos() as u64).unwrap();
                }
                h
            }));
        }
        let mut all = hdrhistogram::Histogram::<u64>::new(3).unwrap();
        for t in tasks {
            all.add(t.await.unwrap()).unwrap();
        }
        all
    });
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    let n = histograms.len();
    Figures {
        rps: n as f64 / elapsed,
        p50_us: histograms.value_at_quantile(0.5) as f64 / 1e3,
        p99_us: histograms.value_at_quantile(0.99) as f64 / 1e3,
        cpu_us_per_req: cpu * 1e6 / n.max(1) as f64,
    }
}

/// A generator run as a child on `core` under GNU time: its output and
/// its CPU seconds (user + system).
fn timed_child(core: usize, program: &Path, args: &[String]) -> (String, f64) {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "CPU %U %S"])
        .arg("taskset")
        .args(["-c", &core.to_string()])
        .arg(program)
        .args(args)
        .output()
        .expect("the generator runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let cpu = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("CPU "))
        .map_or(0.0, |v| {
            v.split_whitespace()
                .filter_map(|x| x.parse::<f64>().ok())
                .sum()
        });
    (stdout, cpu)
}

/// `2.10ms`, `870.00us`, `1.2s` in wrk's output, in microseconds.
fn wrk_time_us(v: &str) -> f64 {
    let (n, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1e6)
    } else {
        (v, 1.0)
    };
    n.parse::<f64>().unwrap_or(0.0) * scale
}

fn wrk(program: &Path, url: &str, secs: u64, core: usize) -> Figures {
    let args = [
        "-t1".to_owned(),
        format!("-c{CONNECTIONS}"),
        format!("-d{secs}s"),
        "--latency".to_owned(),
        url.to_owned(),
    ];
    let (out, cpu) = timed_child(core, program, &args);
    let field = |prefix: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|r| r.trim().to_owned()))
            .unwrap_or_default()
    };
    let rps: f64 = field("Requests/sec:").parse().unwrap_or(0.0);
    let total = rps * secs as f64;
    Figures {
        rps,
        p50_us: wrk_time_us(&field("50%")),
        p99_us: wrk_time_us(&field("99%")),
        cpu_us_per_req: cpu * 1e6 / total.max(1.0),
    }
}

fn oha(program: &Path, url: &str, secs: u64, core: usize) -> Figures {
    let args = [
        "-c".to_owned(),
        CONNECTIONS.to_string(),
        "-z".to_owned(),
        format!("{secs}s"),
        "--no-tui".to_owned(),
        "--output-format".to_owned(),
        "json".to_owned(),
        url.to_owned(),
    ];
    let (out, cpu) = timed_child(core, program, &args);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    let rps = json["summary"]["requestsPerSec"].as_f64().unwrap_or(0.0);
    let pct = |k: &str| json["latencyPercentiles"][k].as_f64().unwrap_or(0.0) * 1e6;
    Figures {
        rps,
        p50_us: pct("p50"),
        p99_us: pct("p99"),
        cpu_us_per_req: cpu * 1e6 / (rps * secs as f64).max(1.0),
    }
}

fn main() {
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let (Some(_), Some(wrk_bin)) = (which("nginx"), which("wrk")) else {
        println!("http benchmark skipped: needs nginx and wrk (apt-get install -y nginx wrk time)");
        return;
    };
    let oha_bin = which("oha");
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let (generator_core, nginx_core) = (0, cores - 1);
    // This process (and its threads to come) on the generator's core.
    let _ = Command::new("taskset")
        .args([
            "-a",
            "-p",
            "-c",
            &generator_core.to_string(),
            &std::process::id().to_string(),
        ])
        .stdout(Stdio::null())
        .status();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut nginx = start_nginx(dir.path(), port, nginx_core);
    let url = format!("http://127.0.0.1:{port}/");
    let names = [
        "perf_runtime::http",
        "perf_runtime::http, timings off",
        "hand-written hyper loop",
        "wrk",
        "oha",
    ];
    let mut best = [Figures::default(); 5];
    for round in 1..=3 {
        if let Ok(Some(status)) = nginx.try_wait() {
            panic!("nginx ended before round {round}: {status}");
        }
        let figures = [
            Some(perf_runtime_http(&url, secs, true)),
            Some(perf_runtime_http(&url, secs, false)),
            Some(hyper_loop(port, secs)),
            Some(wrk(&wrk_bin, &url, secs, generator_core)),
            oha_bin.as_ref().map(|o| oha(o, &url, secs, generator_core)),
        ];
        for (i, f) in figures.into_iter().enumerate() {
            if let Some(f) = f {
                println!(
                    "round {round} {:<32} {:>9.0} req/s  p50 {:>7.1} µs  p99 {:>7.1} µs  {:>5.2} µs CPU/req",
                    names[i], f.rps, f.p50_us, f.p99_us, f.cpu_us_per_req
                );
                if f.rps > best[i].rps {
                    best[i] = f;
                }
            }
        }
    }
    let rate: f64 = std::env::var("BENCH_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000.0);
    open_model(&url, secs, rate);
    let _ = nginx.kill();
    let _ = nginx.wait();
    println!(
        "\n{CONNECTIONS} connections, {secs} s per run, best of 3 rounds; nginx on core {nginx_core}, generators on core {generator_core}"
    );
    println!("| generator | req/s | p50 | p99 | CPU µs/req |\n|---|---|---|---|---|");
    for (name, f) in names.iter().zip(best) {
        if f.rps > 0.0 {
            println!(
                "| {name} | {:.0} | {:.0} µs | {:.0} µs | {:.2} |",
                f.rps, f.p50_us, f.p99_us, f.cpu_us_per_req
            );
        } else {
            println!("| {name} | not run (not installed) | | | |");
        }
    }
    let ours = best[0];
    let ratio = |other: Figures| {
        if other.rps > 0.0 {
            format!(
                "{:.2}× in req/s, {:.2}× in CPU per request",
                ours.rps / other.rps,
                other.cpu_us_per_req / ours.cpu_us_per_req.max(1e-9)
            )
        } else {
            "not run".to_owned()
        }
    };
    println!(
        "\nperf_runtime::http against the hyper loop: {}",
        ratio(best[2])
    );
    println!("perf_runtime::http against oha: {}", ratio(best[4]));
    println!("perf_runtime::http against wrk: {}", ratio(best[3]));
    println!(
        "phase timings cost {:.2} µs CPU per request",
        ours.cpu_us_per_req - best[1].cpu_us_per_req
    );
}
