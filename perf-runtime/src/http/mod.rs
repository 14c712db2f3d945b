//! Layer 8, HTTP: a measured HTTP/1.1 and HTTP/2 client (cargo feature
//! `http`) on hyper 1 and rustls. Every request records k6's per-phase
//! timings into the running iteration, without passing anything around.
//! The book's HTTP chapter has the whole story.
//!
//! ```no_run
//! use perf_runtime::http::{Client, HttpError};
//! use perf_runtime::prelude::*;
//!
//! #[perf_test(workers = 50, duration = "10s", p95 < "200ms", http_5xx_rate < 0.001,
//!             p95 of "http_req_waiting" < "150ms", checks > 0.99)]
//! async fn get_order() -> Result<(), HttpError> {
//!     static CLIENT: std::sync::LazyLock<Client> = std::sync::LazyLock::new(Client::new);
//!     CLIENT
//!         .get("http://127.0.0.1:8080/orders/42")
//!         .check("has an id", |r| r.text().contains("\"id\""))
//!         .send()
//!         .await?;
//!     Ok(())
//! }
//! ```
//!
//! Every request records these custom duration metrics, with k6's names
//! so that thresholds carry over. Each has percentiles in the summary and
//! the JSON report.
//!
//! | metric | what | only when |
//! |---|---|---|
//! | `http_req_blocked` | waiting for a connection of the pool (its size per host is [`ClientBuilder::pool_size`]) | |
//! | `http_req_dns` | resolving the host name | a new connection to a name, not an address |
//! | `http_req_connecting` | the TCP handshake | a new connection |
//! | `http_req_tls_handshaking` | the TLS handshake | a new `https` connection |
//! | `http_req_sending` | writing the request, until its last byte (0 on HTTP/2) | |
//! | `http_req_waiting` | from the last byte sent to the first received (time to first byte) | |
//! | `http_req_receiving` | from the first byte of the response to the end of its body | |
//! | `http_req_duration` | sending + waiting + receiving (k6's definition) | |
//!
//! It also records these counts:
//!
//! - `http_reqs`, and `http_status_<code>` per status;
//! - `http_bytes_sent` and `http_bytes_received` (the socket's bytes,
//!   headers and TLS included);
//! - `http_conn_opened` and `http_conn_reused` (the original framework's
//!   connection pool efficiency);
//! - the pass rates of [`RequestBuilder::check`] and [`check`], under
//!   `checks` and `check:<name>`, which `checks > 0.99` and `check "name"
//!   > 0.999` judge.
//!
//! [`ClientBuilder::timings`]`(false)` keeps the counts and drops the phase
//! clock.
//!
//! A response whose status counts as a failure is an `Err`
//! ([`HttpError::Status`]), and its iteration is classed `http_4xx` or
//! `http_5xx`. By default that is 400 and above; [`ClientBuilder::fail_on`]
//! changes it. Transport failures are `http_connect`, `http_timeout`,
//! `http_tls` and `http_protocol`. Each class is a threshold
//! (`http_5xx_rate < 0.001`).
//!
//! //! Imports: every layer before it.

mod check;
mod client;
mod connect;
mod io;
mod request;
mod sign;
mod tls;

pub use check::{check, ALL_CHECKS};
pub use client::{Client, ClientBuilder, DEFAULT_MAX_BODY};
pub use request::RequestBuilder;
pub use sign::Signer;

use std::time::Duration;

/// A response, its body read to the end.
#[derive(Debug, Clone)]
pub struct Response {
    status: u16,
    version: hyper::Version,
    headers: hyper::HeaderMap,
    body: bytes::Bytes,
}

impl Response {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The HTTP version it came in: `"HTTP/1.1"` or `"HTTP/2"`.
    pub fn version(&self) -> &'static str {
        connect::Protocol::name(self.version)
    }

    /// A header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body's bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// Why a request failed; its [`class`](Self::class) is the iteration's
/// error class. Its `Debug` is its message, so that the summary's error
/// list reads `GET http://…/orders: status 503`.
#[derive(thiserror::Error)]
pub enum HttpError {
    /// The response's status counts as a failure ([`ClientBuilder::fail_on`]).
    #[error("{method} {url}: status {status}")]
    Status {
        /// The request's method.
        method: String,
        /// The URL requested.
        url: String,
        /// The status code.
        status: u16,
        /// The response, for a look at its body.
        response: Box<Response>,
    },
    /// No connection could be opened (resolution or TCP).
    #[error("{url}: cannot connect: {reason}")]
    Connect {
        /// The URL requested.
        url: String,
        /// What the system said.
        reason: String,
    },
    /// The TLS handshake failed (an untrusted certificate, no common
    /// protocol).
    #[error("{url}: TLS: {reason}")]
    Tls {
        /// The URL requested.
        url: String,
        /// What rustls said.
        reason: String,
    },
    /// A check failed, and the client fails iterations on failed checks
    /// ([`ClientBuilder::fail_on_check`]).
    #[error("{url}: check failed: {}", failed.join(", "))]
    Check {
        /// The URL requested.
        url: String,
        /// The names of the checks that failed.
        failed: Vec<&'static str>,
        /// The response, for a look at its body.
        response: Box<Response>,
    },
    /// The request did not finish within its timeout.
    #[error("{url}: no complete response within {}", perf_spec::format_duration(*after))]
    Timeout {
        /// The URL requested.
        url: String,
        /// The timeout.
        after: Duration,
    },
    /// The connection broke or the response was not HTTP.
    #[error("{url}: {reason}")]
    Protocol {
        /// The URL requested.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The response's body was longer than the limit
    /// ([`ClientBuilder::max_body`]).
    #[error("{url}: the response body is over the limit of {} (`max_body`, or `discard_body()` for a body nobody reads)", perf_spec::format_size_limit(*limit as f64))]
    BodyTooLarge {
        /// The URL requested.
        url: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The request could not be built (a bad URL, header or body).
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl std::fmt::Debug for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// The most headers a response may have (hyper's default, which keeps
/// them on the stack); more fail the request as `http_protocol`, saying so.
pub const MAX_HEADERS: usize = 100;

/// The most bytes a response's head (status line and headers) may take;
/// more fail the request as `http_protocol`, saying so.
pub const MAX_HEAD_BYTES: usize = 64 << 10;

/// An error's text with its causes (`error reading a body from
/// connection: connection reset by peer`), the limits named for a head
/// over them.
pub(crate) fn reason(e: &hyper::Error) -> String {
    let chain = crate::measure::errors::error_chain(e);
    if !e.is_parse_too_large() {
        return chain;
    }
    let limits = format!(
        "the response head is over the client's limits ({MAX_HEADERS} headers, {})",
        perf_spec::format_size_limit(MAX_HEAD_BYTES as f64)
    );
    // hyper's own words ("message head is too large") give way to the limits.
    match chain.split_once(": ") {
        Some((_, causes)) => format!("{limits}: {causes}"),
        None => limits,
    }
}

impl HttpError {
    /// The error class this failure gives its iteration.
    pub fn class(&self) -> &'static str {
        match self {
            HttpError::Status { status, .. } if *status >= 500 => "http_5xx",
            HttpError::Status { .. } => "http_4xx",
            HttpError::Connect { .. } => "http_connect",
            HttpError::Tls { .. } => "http_tls",
            HttpError::Check { .. } => "http_check",
            HttpError::Timeout { .. } => "http_timeout",
            HttpError::Protocol { .. } => "http_protocol",
            HttpError::BodyTooLarge { .. } => "http_body_too_large",
            HttpError::Invalid(_) => "http_invalid",
        }
    }
}
