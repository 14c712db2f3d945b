//! Resources of a distributed run: every shard's generator is a process of
//! its own (on a machine of its own, usually), so the merged figures are
//! the fleet's: CPU time and cores add up and the average is the share of
//! all the shards' cores; peaks (CPU, RSS, threads, saturated seconds)
//! are the busiest shard's, so that `peak_rss < "512MB"` and the
//! saturation warning hold for every generator; counters and traffic add
//! up; the per-second samples add up second by second on the merged
//! timeline. A process monitored by several shards under one name shows
//! its busiest instance's shares and peak (a threshold on it holds for
//! every instance) and the CPU time of all.

use std::collections::{BTreeMap, HashMap};

use super::{NetTraffic, ProcessResources, ResourceSample, Resources};

impl Resources {
    /// The shards' resources as one, each given with its measured phase's
    /// start in seconds after the earliest shard's.
    pub(crate) fn merge_shards(parts: &[(f64, &Resources)]) -> Option<Resources> {
        let first = parts.first()?.1;
        let sum = |f: fn(&Resources) -> f64| parts.iter().map(|(_, r)| f(r)).sum::<f64>();
        let max = |f: fn(&Resources) -> f64| parts.iter().map(|(_, r)| f(r)).fold(0.0, f64::max);
        let core_seconds: f64 = parts.iter().map(|(_, r)| r.cores * r.window_s).sum();
        let cpu_seconds = sum(|r| r.cpu_seconds);
        let net = parts
            .iter()
            .map(|(_, r)| r.net)
            .try_fold(NetTraffic::default(), |a, n| {
                let n = n?;
                Some(NetTraffic {
                    sent_bytes: a.sent_bytes.saturating_add(n.sent_bytes),
                    recv_bytes: a.recv_bytes.saturating_add(n.recv_bytes),
                    sent_packets: a.sent_packets.saturating_add(n.sent_packets),
                    recv_packets: a.recv_packets.saturating_add(n.recv_packets),
                })
            });
        let mut seconds: BTreeMap<u64, ResourceSample> = BTreeMap::new();
        for (offset, r) in parts {
            for s in &r.samples {
                let at = (offset + s.at_s).max(0.0).round() as u64;
                let e = seconds.entry(at).or_insert(ResourceSample {
                    at_s: at as f64,
                    cpu_cores: 0.0,
                    rss_bytes: 0,
                    threads: 0,
                    net_sent_bytes: 0,
                    net_recv_bytes: 0,
                });
                e.cpu_cores += s.cpu_cores;
                e.rss_bytes = e.rss_bytes.saturating_add(s.rss_bytes);
                e.threads = e.threads.saturating_add(s.threads);
                e.net_sent_bytes = e.net_sent_bytes.saturating_add(s.net_sent_bytes);
                e.net_recv_bytes = e.net_recv_bytes.saturating_add(s.net_recv_bytes);
            }
        }
        // By name, indexed: merging stays linear in the processes.
        let mut processes: Vec<ProcessResources> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for p in parts.iter().flat_map(|(_, r)| &r.processes) {
            match index.get(p.name.as_str()) {
                None => {
                    index.insert(&p.name, processes.len());
                    processes.push(p.clone());
                }
                Some(&i) => {
                    let q = &mut processes[i];
                    let cpu_seconds = q.cpu_seconds + p.cpu_seconds;
                    let processes_max = q.processes_max.saturating_add(p.processes_max);
                    let rss = q.rss_peak_bytes.max(p.rss_peak_bytes);
                    let cpu_max = q.cpu_max.max(p.cpu_max);
                    if p.cpu_avg > q.cpu_avg {
                        *q = p.clone();
                    }
                    q.cpu_seconds = cpu_seconds;
                    q.processes_max = processes_max;
                    q.rss_peak_bytes = rss;
                    q.cpu_max = cpu_max;
                }
            }
        }
        Some(Resources {
            cores: sum(|r| r.cores),
            window_s: parts
                .iter()
                .map(|(o, r)| o + r.window_s)
                .fold(0.0, f64::max),
            cpu_seconds,
            cpu_user_seconds: sum(|r| r.cpu_user_seconds),
            // At most all the cores, as each shard's (short windows read
            // whole 10 ms ticks).
            cpu_avg: if core_seconds > 0.0 {
                (cpu_seconds / core_seconds).min(1.0)
            } else {
                first.cpu_avg
            },
            cpu_max: max(|r| r.cpu_max),
            rss_peak_bytes: parts
                .iter()
                .map(|(_, r)| r.rss_peak_bytes)
                .max()
                .unwrap_or(0),
            rss_held_before_bytes: parts
                .iter()
                .map(|(_, r)| r.rss_held_before_bytes)
                .max()
                .unwrap_or(0),
            threads_max: parts.iter().map(|(_, r)| r.threads_max).max().unwrap_or(0),
            voluntary_switches: parts.iter().map(|(_, r)| r.voluntary_switches).sum(),
            involuntary_switches: parts.iter().map(|(_, r)| r.involuntary_switches).sum(),
            net,
            saturated_s: max(|r| r.saturated_s),
            samples: seconds.into_values().collect(),
            processes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(cores: f64, cpu_seconds: f64, rss: u64, per_second: &[f64]) -> Resources {
        Resources {
            cores,
            window_s: per_second.len() as f64,
            cpu_seconds,
            cpu_user_seconds: cpu_seconds / 2.0,
            cpu_avg: cpu_seconds / (cores * per_second.len() as f64),
            cpu_max: per_second.iter().fold(0.0, |a, &b| f64::max(a, b)) / cores,
            rss_peak_bytes: rss,
            rss_held_before_bytes: 0,
            threads_max: 6,
            voluntary_switches: 10,
            involuntary_switches: 1,
            net: Some(NetTraffic {
                sent_bytes: 100,
                ..NetTraffic::default()
            }),
            saturated_s: 0.0,
            samples: per_second
                .iter()
                .enumerate()
                .map(|(i, &c)| ResourceSample {
                    at_s: i as f64 + 1.0,
                    cpu_cores: c,
                    rss_bytes: rss,
                    threads: 6,
                    net_sent_bytes: 10,
                    net_recv_bytes: 0,
                })
                .collect(),
            processes: Vec::new(),
        }
    }

    fn process(name: &str, cpu_avg: f64, rss: u64) -> ProcessResources {
        ProcessResources {
            name: name.into(),
            monitor: format!("name:{name}"),
            cpu_seconds: cpu_avg * 4.0,
            cpu_avg,
            cpu_max: cpu_avg,
            rss_peak_bytes: rss,
            processes_max: 1,
            samples: Vec::new(),
        }
    }

    #[test]
    fn the_fleet_adds_up_and_its_peaks_are_the_busiest_shards() {
        // Two 2-core shards, 4 s each, the second starting 1 s later: one
        // busy 1.5 cores, the other 0.5.
        let mut a = shard(2.0, 6.0, 300, &[1.5, 1.5, 1.5, 1.5]);
        let mut b = shard(2.0, 2.0, 500, &[0.5, 0.5, 0.5, 0.5]);
        a.saturated_s = 2.0;
        a.processes = vec![process("orders-fn", 0.2, 64), process("db", 0.1, 10)];
        b.processes = vec![process("orders-fn", 0.4, 32)];
        b.net = None;
        let m = Resources::merge_shards(&[(0.0, &a), (1.0, &b)]).unwrap();
        assert_eq!(m.cores, 4.0);
        assert_eq!(m.cpu_seconds, 8.0);
        assert!(
            (m.cpu_avg - 8.0 / 16.0).abs() < 1e-12,
            "of all 16 core-seconds"
        );
        assert_eq!(m.cpu_max, 0.75, "the busiest shard's busiest second");
        assert_eq!((m.rss_peak_bytes, m.threads_max), (500, 6));
        assert_eq!((m.voluntary_switches, m.involuntary_switches), (20, 2));
        assert_eq!(m.saturated_s, 2.0);
        assert_eq!(m.window_s, 5.0);
        assert_eq!(m.net, None, "a shard without network figures");
        // Seconds 1..=5: the overlap (2, 3, 4) has both shards.
        let cpu: Vec<f64> = m.samples.iter().map(|s| s.cpu_cores).collect();
        assert_eq!(cpu, [1.5, 2.0, 2.0, 2.0, 0.5]);
        assert_eq!(m.samples[1].rss_bytes, 800);
        let orders = m.processes.iter().find(|p| p.name == "orders-fn").unwrap();
        assert_eq!((orders.cpu_avg, orders.rss_peak_bytes), (0.4, 64));
        assert!((orders.cpu_seconds - 2.4).abs() < 1e-12);
        assert_eq!(orders.processes_max, 2);
        assert_eq!(m.processes.len(), 2);
        assert!(Resources::merge_shards(&[]).is_none());
    }
}
