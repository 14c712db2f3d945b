//! The SDK's HTTP client, tuned: timeouts and the connection pool.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::ConfigLoader;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// Settings of the SDK's HTTP client (hyper 1 with rustls, as the SDK's
/// default) that matter for latency measurements. `None` keeps the SDK's
/// default.
///
/// | field | SDK setting | SDK default |
/// |---|---|---|
/// | `connect_timeout` | `TimeoutConfig::connect_timeout` | 3.1 s |
/// | `read_timeout` | `TimeoutConfig::read_timeout` (first byte of the response) | none |
/// | `operation_timeout` | `TimeoutConfig::operation_timeout` (whole call) | none |
/// | `pool_idle_timeout` | idle connections closed after this | 90 s (hyper) |
/// | `max_idle_per_host` | idle connections kept per host; `Some(0)` disables reuse | unlimited |
///
/// A client-side timeout is classed `timeout` by this crate's measured calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpTuning {
    /// Time to establish a connection (TCP + TLS).
    pub connect_timeout: Option<Duration>,
    /// Time from sending a request to the first byte of its response.
    pub read_timeout: Option<Duration>,
    /// Time for a whole call, all attempts included.
    pub operation_timeout: Option<Duration>,
    /// How long an idle pooled connection is kept.
    pub pool_idle_timeout: Option<Duration>,
    /// How many idle connections are kept per host (`Some(0)`: a new
    /// connection for every request).
    pub max_idle_per_host: Option<usize>,
}

impl HttpTuning {
    /// No connection reuse: every request opens a new connection (for
    /// measuring what reuse saves).
    pub fn no_reuse() -> Self {
        HttpTuning {
            max_idle_per_host: Some(0),
            ..HttpTuning::default()
        }
    }

    /// Applies these settings to an aws-config loader.
    pub fn apply(&self, mut loader: ConfigLoader) -> ConfigLoader {
        if self.connect_timeout.is_some()
            || self.read_timeout.is_some()
            || self.operation_timeout.is_some()
        {
            loader = loader.timeout_config(self.timeouts());
        }
        if self.pool_idle_timeout.is_some() || self.max_idle_per_host.is_some() {
            let mut builder = aws_smithy_http_client::Builder::new();
            if let Some(t) = self.pool_idle_timeout {
                builder = builder.pool_idle_timeout(t);
            }
            if let Some(n) = self.max_idle_per_host {
                builder = builder.pool_max_idle_per_host(n);
            }
            let client = builder
                .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
                .build_https();
            loader = loader.http_client(client);
        }
        loader
    }

    fn timeouts(&self) -> TimeoutConfig {
        // Setting any timeout replaces the SDK's defaults: keep its
        // connect timeout unless one is given.
        let mut timeouts = TimeoutConfig::builder()
            .connect_timeout(self.connect_timeout.unwrap_or(Duration::from_millis(3_100)));
        if let Some(t) = self.read_timeout {
            timeouts = timeouts.read_timeout(t);
        }
        if let Some(t) = self.operation_timeout {
            timeouts = timeouts.operation_timeout(t);
        }
        timeouts.build()
    }
}
