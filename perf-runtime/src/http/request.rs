//! A request: its builder, and sending it with its phases and counts
//! recorded into the running iteration's notes.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};

use super::check::{self, Predicate};
use super::client::Client;
use super::connect::{connect, Protocol, Target};
use super::{HttpError, Response};
use crate::measure::errors::redact_url;
use crate::measure::names::intern;
use crate::measure::notes::{self, Value};

/// A request being built: [`send`](Self::send) it.
pub struct RequestBuilder {
    client: Client,
    method: Method,
    url: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    timeout: Option<Duration>,
    body_limit: Option<BodyLimit>,
    invalid: Option<String>,
    checks: Vec<(String, Predicate)>,
}

/// What becomes of a response's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyLimit {
    /// Kept, up to this many bytes; past them the request fails
    /// ([`HttpError::BodyTooLarge`]).
    Max(u64),
    /// Read to its end (the connection stays reusable, the bytes are
    /// counted) and dropped: [`Response::body`] is empty.
    Discard,
}

impl std::fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("method", &self.method)
            .field("url", &redact_url(&self.url))
            // Names only: values carry credentials (Authorization, API keys).
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .field(
                "checks",
                &self.checks.iter().map(|c| &c.0).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl RequestBuilder {
    pub(crate) fn new(client: Client, method: Method, url: String, body: Bytes) -> Self {
        RequestBuilder {
            client,
            method,
            url,
            headers: Vec::new(),
            body,
            timeout: None,
            body_limit: None,
            invalid: None,
            checks: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(n), Ok(v)) => self.headers.push((n, v)),
            _ => self.invalid = Some(format!("header `{name}: {value}` is not valid HTTP")),
        }
        self
    }

    /// Adds `key=value` pairs to the URL's query, percent-encoded.
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        for (k, v) in pairs {
            let sep = if self.url.contains('?') { '&' } else { '?' };
            self.url = format!("{}{sep}{}={}", self.url, encode(k), encode(v));
        }
        self
    }

    /// The body, as given.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// A JSON body, with `Content-Type: application/json`.
    pub fn json<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(v) => self.body = v.into(),
            Err(e) => self.invalid = Some(format!("the JSON body: {e}")),
        }
        self.header("content-type", "application/json")
    }

    /// This request's timeout instead of the client's.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// The most of this response's body kept, in bytes, instead of the
    /// client's [`max_body`](super::ClientBuilder::max_body).
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.body_limit = Some(BodyLimit::Max(bytes));
        self
    }

    /// Read this response's body to its end without keeping it (see
    /// [`ClientBuilder::discard_body`](super::ClientBuilder::discard_body)).
    pub fn discard_body(mut self) -> Self {
        self.body_limit = Some(BodyLimit::Discard);
        self
    }

    /// A check on the response (k6's `check`), counted under `name` as a
    /// pass rate: `.check("status is 200", |r| r.status() == 200)`. It runs
    /// on every response, a failed status's included; a request that got
    /// no response fails its checks. A failed check does not fail the
    /// request unless the client says so
    /// ([`ClientBuilder::fail_on_check`](super::ClientBuilder::fail_on_check)).
    pub fn check(
        mut self,
        name: &str,
        predicate: impl Fn(&Response) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.checks.push((name.to_owned(), Arc::new(predicate)));
        self
    }

    /// Sends the request and reads the whole response, recording its
    /// phases, counts and checks into the running iteration.
    pub async fn send(mut self) -> Result<Response, HttpError> {
        let timeout = self.timeout.unwrap_or(self.client.inner.config.timeout);
        let url = redact_url(&self.url).into_owned();
        let checks = std::mem::take(&mut self.checks);
        let fail_on_check = self.client.inner.config.checks.fail_iteration;
        let mut outcome = match tokio::time::timeout(timeout, self.exchange()).await {
            Ok(result) => result,
            Err(_) => Err(HttpError::Timeout {
                url: url.clone(),
                after: timeout,
            }),
        };
        if !checks.is_empty() {
            let response = match &outcome {
                Ok(r) => Some(r),
                Err(HttpError::Status { response, .. }) => Some(&**response),
                Err(_) => None,
            };
            let failed = check::run(&checks, response);
            if fail_on_check && !failed.is_empty() {
                if let Ok(response) = outcome {
                    outcome = Err(HttpError::Check {
                        url,
                        failed,
                        response: Box::new(response),
                    });
                }
            }
        }
        if let Err(e) = &outcome {
            notes::class(e.class());
        }
        outcome
    }

    async fn exchange(self) -> Result<Response, HttpError> {
        if let Some(why) = self.invalid {
            return Err(HttpError::Invalid(why));
        }
        let config = &self.client.inner.config;
        let uri: Uri = self
            .url
            .parse()
            .map_err(|e| HttpError::Invalid(format!("`{}` is not a URL: {e}", self.shown_url())))?;
        let tls = match uri.scheme_str() {
            Some("http") => None,
            Some("https") => Some(self.client.tls().map_err(HttpError::Invalid)?),
            _ => {
                return Err(HttpError::Invalid(format!(
                    "`{}` is not an http:// or https:// URL",
                    self.shown_url()
                )))
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| HttpError::Invalid(format!("`{}` has no host", self.shown_url())))?
            .as_str();
        let name = uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = uri
            .port_u16()
            .unwrap_or(if tls.is_some() { 443 } else { 80 });
        let target = Target {
            name,
            port,
            tls,
            protocol: config.protocol,
            timed: config.timings,
            url: &self.url,
        };
        let start = Instant::now();
        let host = self.client.host(target.tls.is_some(), name, port);
        let permit = host
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| HttpError::Invalid("the pool was closed".into()))?;
        let checked_out = host.checkout();
        let blocked = start.elapsed();
        let (mut conn, mut reused) = match checked_out {
            Some(c) => (c, true),
            None => (connect(&target).await?, false),
        };
        if let Some(shared) = conn.share().filter(|_| !reused && config.keep_alive) {
            // A new HTTP/2 connection: the requests that start while this
            // one is in flight share it rather than open their own.
            host.checkin(shared);
        }
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let build = |h2: bool| {
            // HTTP/2 carries the scheme and authority as pseudo-headers
            // (from the full URI); HTTP/1.1 the path and a Host header.
            let mut request = Request::builder().method(self.method.clone());
            request = if h2 {
                request.uri(&uri)
            } else {
                request.uri(path).header(hyper::header::HOST, authority)
            };
            if !config.keep_alive && !h2 {
                request = request.header(hyper::header::CONNECTION, "close");
            }
            for (n, v) in &self.headers {
                request = request.header(n, v);
            }
            let mut request = request
                .body(Full::new(self.body.clone()))
                .map_err(|e| HttpError::Invalid(e.to_string()))?;
            if let Some(signer) = &config.signer {
                signer.sign(&mut request, &self.url, &self.body, SystemTime::now())?;
            }
            Ok::<_, HttpError>(request)
        };
        let protocol = |e: hyper::Error| HttpError::Protocol {
            url: self.shown_url(),
            reason: super::reason(&e),
        };
        let idempotent = matches!(
            self.method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        let (response, sent_at) = loop {
            let read_before = conn.clock.bytes().1;
            conn.clock.begin();
            let sent_at = Instant::now();
            let request = build(conn.is_h2())?;
            match conn.sender.send(request).await {
                Ok(r) => break (r, sent_at),
                // A pooled connection the server had closed while it was
                // idle: nothing of the response came back, so the request
                // goes once more on a new connection (as hyper-util's
                // client does for a request never sent).
                Err(e)
                    if reused
                        && conn.clock.bytes().1 == read_before
                        && (e.is_canceled()
                            || e.is_closed()
                            || (idempotent && e.is_incomplete_message())) =>
                {
                    conn = connect(&target).await?;
                    reused = false;
                }
                Err(e) => return Err(protocol(e)),
            }
        };
        let head_at = Instant::now();
        let (parts, body) = response.into_parts();
        let limit = self.body_limit.unwrap_or(config.body_limit);
        let body = match read_body(body, &parts.headers, limit).await {
            Ok(body) => body,
            // The connection goes with the unread rest of the body: it
            // is not reusable, so it is dropped (and its slot freed).
            Err(BodyError::TooLarge(limit)) => {
                return Err(HttpError::BodyTooLarge {
                    url: self.shown_url(),
                    limit,
                })
            }
            Err(BodyError::Read(e)) => return Err(protocol(e)),
        };
        let done = Instant::now();
        let close = parts
            .headers
            .get(hyper::header::CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        let clock = conn.clock.clone();
        let h2 = conn.is_h2();
        // Taken before the connection goes back: the next request's bytes
        // are its own.
        let (sent, read) = clock.take_bytes();
        if config.keep_alive && !close {
            host.checkin(conn);
        }
        // The connection is back in the pool (or closed): its slot is free.
        drop(permit);
        let status = parts.status.as_u16();
        let conn_metric = if reused {
            "http_conn_reused"
        } else {
            "http_conn_opened"
        };
        // One lock for all of them: counts, then the phases.
        let mut noted = [("http_reqs", Value::Count(1)); 10];
        noted[1] = (status_metric(status), Value::Count(1));
        noted[2] = ("http_bytes_sent", Value::Count(sent));
        noted[3] = ("http_bytes_received", Value::Count(read));
        noted[4] = (conn_metric, Value::Count(1));
        let mut n = 5;
        if config.timings {
            // HTTP/1.1: the socket's clock tells the last byte written and
            // the first read. HTTP/2 streams share the socket, so the
            // response's head arriving ends `waiting` and `sending` is not
            // told apart (0).
            let (last_write, first_read) = if h2 {
                (sent_at, head_at)
            } else {
                let (w, r) = clock.marks();
                let w = w.unwrap_or(sent_at).max(sent_at);
                (w, r.unwrap_or(done).max(w).min(done))
            };
            let d = Value::Duration;
            noted[5..].copy_from_slice(&[
                ("http_req_blocked", d(blocked)),
                ("http_req_sending", d(last_write - sent_at)),
                ("http_req_waiting", d(first_read - last_write)),
                ("http_req_receiving", d(done - first_read)),
                ("http_req_duration", d(done - sent_at)),
            ]);
            n = 10;
        }
        notes::values(&noted[..n]);
        let response = Response {
            status,
            version: parts.version,
            headers: parts.headers,
            body,
        };
        if (config.fail_on)(status) {
            return Err(HttpError::Status {
                method: self.method.to_string(),
                url: self.shown_url(),
                status,
                response: Box::new(response),
            });
        }
        Ok(response)
    }
}

impl RequestBuilder {
    /// The URL as errors show it ([`redact_url`]).
    fn shown_url(&self) -> String {
        redact_url(&self.url).into_owned()
    }
}

enum BodyError {
    TooLarge(u64),
    Read(hyper::Error),
}

/// Reads a body frame by frame, keeping at most `limit`'s bytes: an
/// endless or huge body ends the request instead of filling the memory.
/// A `Content-Length` over the limit fails before a byte is read.
async fn read_body(
    mut body: hyper::body::Incoming,
    headers: &hyper::HeaderMap,
    limit: BodyLimit,
) -> Result<Bytes, BodyError> {
    let max = match limit {
        BodyLimit::Max(max) => Some(max),
        BodyLimit::Discard => None,
    };
    let declared = headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if let (Some(max), Some(len)) = (max, declared) {
        if len > max {
            return Err(BodyError::TooLarge(max));
        }
    }
    let mut first: Option<Bytes> = None;
    let mut kept = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(BodyError::Read)?.into_data() else {
            continue; // trailers
        };
        let Some(max) = max else {
            continue;
        };
        let total = first.as_ref().map_or(0, Bytes::len) + kept.len() + data.len();
        if total as u64 > max {
            return Err(BodyError::TooLarge(max));
        }
        // One frame (the common case) is kept as it came, without a copy.
        match first.take() {
            None if kept.is_empty() => first = Some(data),
            None => kept.extend_from_slice(&data),
            Some(f) => {
                kept.reserve(f.len() + data.len());
                kept.extend_from_slice(&f);
                kept.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| kept.freeze()))
}

impl Protocol {
    /// For a [`Response::version`] read by people.
    pub(crate) fn name(version: hyper::Version) -> &'static str {
        match version {
            hyper::Version::HTTP_2 => "HTTP/2",
            hyper::Version::HTTP_10 => "HTTP/1.0",
            hyper::Version::HTTP_3 => "HTTP/3",
            _ => "HTTP/1.1",
        }
    }
}

/// `http_status_<code>`, made once per code (not a `format!` and an
/// interning lock per request).
fn status_metric(status: u16) -> &'static str {
    static NAMES: [OnceLock<&'static str>; 1000] = [const { OnceLock::new() }; 1000];
    match NAMES.get(usize::from(status)) {
        Some(slot) => slot.get_or_init(|| intern(&format!("http_status_{status}"))),
        None => intern(&format!("http_status_{status}")),
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved kept).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_percent_encoded_and_appended() {
        let c = Client::new();
        let r = c
            .get("http://127.0.0.1/orders")
            .query(&[("id", "42"), ("q", "a b&c")]);
        assert_eq!(r.url, "http://127.0.0.1/orders?id=42&q=a%20b%26c");
        let r = c.get("http://127.0.0.1/x?a=1").query(&[("b", "2")]);
        assert_eq!(r.url, "http://127.0.0.1/x?a=1&b=2");
    }

    #[test]
    fn status_names_are_made_once() {
        assert_eq!(status_metric(503), "http_status_503");
        assert!(std::ptr::eq(status_metric(200), status_metric(200)));
        assert_eq!(status_metric(1200), "http_status_1200");
    }

    #[test]
    fn classes_follow_the_failure() {
        let status = |s: u16| HttpError::Status {
            method: "GET".into(),
            url: "u".into(),
            status: s,
            response: Box::new(Response {
                status: s,
                version: hyper::Version::HTTP_11,
                headers: Default::default(),
                body: Bytes::new(),
            }),
        };
        assert_eq!(status(503).class(), "http_5xx");
        assert_eq!(status(404).class(), "http_4xx");
        let t = HttpError::Timeout {
            url: "u".into(),
            after: Duration::from_secs(1),
        };
        assert_eq!(t.class(), "http_timeout");
        assert!(t.to_string().contains("within 1s"), "{t}");
    }
}
