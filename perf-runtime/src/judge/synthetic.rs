//! Synthetic latencies with known distributions, for the judge's tests
//! (coverage, verdict error, optional stopping): no clock, seeded.

use rand::{rngs::StdRng, SeedableRng};
use rand_distr::{Distribution, Exp, LogNormal};

/// Latencies in nanoseconds from three distributions, with their true
/// quantile function and mean.
pub(crate) enum Shape {
    LogNormal,
    Exponential,
    Bimodal,
}

impl Shape {
    pub(crate) fn sample(&self, rng: &mut StdRng) -> f64 {
        match self {
            Shape::LogNormal => LogNormal::new(13.8, 0.5).unwrap().sample(rng),
            Shape::Exponential => 1e5 + Exp::new(1.0 / 1e6).unwrap().sample(rng),
            Shape::Bimodal => {
                let slow = rand_distr::Bernoulli::new(0.1).unwrap().sample(rng);
                let centre = if slow { 8e6 } else { 1e6 };
                LogNormal::new(f64::ln(centre), 0.1).unwrap().sample(rng)
            }
        }
    }

    /// The true quantile and mean, from a million samples of a seed
    /// of their own (the truth is known to far better than the
    /// intervals' width at 20,000 samples).
    pub(crate) fn truth(&self, q: &[f64]) -> (Vec<f64>, f64) {
        let mut rng = StdRng::seed_from_u64(0xC0FFEE);
        let mut v: Vec<f64> = (0..1_000_000).map(|_| self.sample(&mut rng)).collect();
        v.sort_by(f64::total_cmp);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let quantiles = q
            .iter()
            .map(|q| v[((q * v.len() as f64) as usize).min(v.len() - 1)])
            .collect();
        (quantiles, mean)
    }
}
