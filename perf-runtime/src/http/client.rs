//! The client: a pool of HTTP/1.1 connections per host (a semaphore of
//! `pool_size` permits, idle connections reused most recent first), the
//! request builder, and the per-phase timings recorded into the running
//! iteration's notes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, Uri};
use tokio::sync::Semaphore;

use super::io::{IoClock, TimedIo};
use super::{HttpError, Response};
use crate::measure::names::intern;
use crate::measure::notes::{self, Value};

/// Builds a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    pool_size: usize,
    keep_alive: bool,
    timeout: Duration,
    timings: bool,
    fail_on: fn(u16) -> bool,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            pool_size: 100,
            keep_alive: true,
            timeout: Duration::from_secs(30),
            timings: true,
            fail_on: |status| status >= 400,
        }
    }
}

impl ClientBuilder {
    /// Connections kept (and open at once) per host; a request beyond them
    /// waits, and the wait is `http_req_blocked` (default 100).
    pub fn pool_size(mut self, n: usize) -> Self {
        self.pool_size = n.max(1);
        self
    }

    /// `false`: a new connection for every request (`Connection: close`),
    /// for cold-path tests (default `true`: connections are reused).
    pub fn keep_alive(mut self, on: bool) -> Self {
        self.keep_alive = on;
        self
    }

    /// The longest a request may take, connection included (default 30 s);
    /// past it the request is an [`HttpError::Timeout`].
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// `false`: record counts only, not the phases (their clock reads cost
    /// a little per request; the `http` benchmark measures how much).
    pub fn timings(mut self, on: bool) -> Self {
        self.timings = on;
        self
    }

    /// Which statuses fail the request (default: 400 and above).
    pub fn fail_on(mut self, failed: fn(u16) -> bool) -> Self {
        self.fail_on = failed;
        self
    }

    /// The client.
    pub fn build(self) -> Client {
        Client {
            inner: Arc::new(Inner {
                config: self,
                hosts: Mutex::new(HashMap::new()),
            }),
        }
    }
}

/// A measured HTTP/1.1 client; cheap to clone (one pool for all clones).
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ClientBuilder,
    hosts: Mutex<HashMap<(String, u16), Arc<Host>>>,
}

/// One host's connections.
#[derive(Debug)]
struct Host {
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Conn>>,
}

#[derive(Debug)]
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    clock: Arc<IoClock>,
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

impl Client {
    /// A client with the defaults of [`ClientBuilder`].
    pub fn new() -> Client {
        ClientBuilder::default().build()
    }

    /// Settings other than the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A `GET` of `url`.
    pub fn get(&self, url: &str) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// A `POST` to `url` (give it a [`body`](RequestBuilder::body) or
    /// [`json`](RequestBuilder::json)).
    pub fn post(&self, url: &str) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// A request of any method.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        RequestBuilder {
            client: self.clone(),
            method,
            url: url.to_owned(),
            headers: Vec::new(),
            body: Bytes::new(),
            timeout: None,
            invalid: None,
        }
    }

    fn host(&self, name: &str, port: u16) -> Arc<Host> {
        let mut hosts = self
            .inner
            .hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        hosts
            .entry((name.to_owned(), port))
            .or_insert_with(|| {
                Arc::new(Host {
                    permits: Arc::new(Semaphore::new(self.inner.config.pool_size)),
                    idle: Mutex::new(Vec::new()),
                })
            })
            .clone()
    }
}

/// A request being built: [`send`](Self::send) it.
#[derive(Debug)]
pub struct RequestBuilder {
    client: Client,
    method: Method,
    url: String,
    headers: Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>,
    body: Bytes,
    timeout: Option<Duration>,
    invalid: Option<String>,
}

impl RequestBuilder {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (
            hyper::header::HeaderName::try_from(name),
            hyper::header::HeaderValue::try_from(value),
        ) {
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

    /// Sends the request and reads the whole response, recording its
    /// phases and counts into the running iteration.
    pub async fn send(self) -> Result<Response, HttpError> {
        let timeout = self.timeout.unwrap_or(self.client.inner.config.timeout);
        let url = self.url.clone();
        let outcome = match tokio::time::timeout(timeout, self.exchange()).await {
            Ok(result) => result,
            Err(_) => Err(HttpError::Timeout {
                url,
                after: timeout,
            }),
        };
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
            .map_err(|e| HttpError::Invalid(format!("`{}` is not a URL: {e}", self.url)))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(HttpError::Unsupported(format!(
                    "{}: https is not supported yet (no TLS in perf_runtime::http)",
                    self.url
                )))
            }
            _ => {
                return Err(HttpError::Invalid(format!(
                    "`{}` is not an http:// URL",
                    self.url
                )))
            }
        }
        let name = uri
            .host()
            .ok_or_else(|| HttpError::Invalid(format!("`{}` has no host", self.url)))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(80);
        let start = Instant::now();
        let host = self.client.host(&name, port);
        let permit = host
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| HttpError::Invalid("the pool was closed".into()))?;
        let idle = host
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let blocked = start.elapsed();
        let (mut conn, mut reused) = match idle.filter(|c| !c.sender.is_closed()) {
            Some(c) => (c, true),
            None => (
                connect(&name, port, &self.url, config.timings).await?,
                false,
            ),
        };
        let authority = match uri.port_u16() {
            Some(p) => format!("{name}:{p}"),
            None => name.clone(),
        };
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let build = || {
            let mut request = Request::builder()
                .method(self.method.clone())
                .uri(path)
                .header(hyper::header::HOST, authority.as_str());
            if !config.keep_alive {
                request = request.header(hyper::header::CONNECTION, "close");
            }
            for (n, v) in &self.headers {
                request = request.header(n, v);
            }
            request
                .body(Full::new(self.body.clone()))
                .map_err(|e| HttpError::Invalid(e.to_string()))
        };
        let protocol = |e: hyper::Error| HttpError::Protocol {
            url: self.url.clone(),
            reason: e.to_string(),
        };
        let idempotent = matches!(
            self.method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        let (response, sent_at, sent_before, read_before) = loop {
            let (sent_before, read_before) = conn.clock.bytes();
            conn.clock.begin();
            let sent_at = Instant::now();
            let request = build()?;
            let attempt = async {
                conn.sender.ready().await?;
                conn.sender.send_request(request).await
            };
            match attempt.await {
                Ok(r) => break (r, sent_at, sent_before, read_before),
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
                    conn = connect(&name, port, &self.url, config.timings).await?;
                    reused = false;
                }
                Err(e) => return Err(protocol(e)),
            }
        };
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(protocol)?.to_bytes();
        let done = Instant::now();
        let (sent_after, read_after) = conn.clock.bytes();
        let close = parts
            .headers
            .get(hyper::header::CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        let clock = conn.clock.clone();
        if config.keep_alive && !close && !conn.sender.is_closed() {
            host.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
        }
        // The connection is back in the pool (or closed): its slot is free.
        drop(permit);
        let status = parts.status.as_u16();
        notes::value("http_reqs", Value::Count(1));
        notes::value(intern(&format!("http_status_{status}")), Value::Count(1));
        notes::value("http_bytes_sent", Value::Count(sent_after - sent_before));
        notes::value(
            "http_bytes_received",
            Value::Count(read_after - read_before),
        );
        notes::value(
            if reused {
                "http_conn_reused"
            } else {
                "http_conn_opened"
            },
            Value::Count(1),
        );
        if config.timings {
            let (last_write, first_read) = clock.marks();
            let duration = |name: &'static str, d: Duration| notes::value(name, Value::Duration(d));
            duration("http_req_blocked", blocked);
            let last_write = last_write.unwrap_or(sent_at).max(sent_at);
            let first_read = first_read.unwrap_or(done).max(last_write).min(done);
            duration("http_req_sending", last_write - sent_at);
            duration("http_req_waiting", first_read - last_write);
            duration("http_req_receiving", done - first_read);
            duration("http_req_duration", done - sent_at);
        }
        let response = Response {
            status,
            headers: parts.headers,
            body,
        };
        if (config.fail_on)(status) {
            return Err(HttpError::Status {
                method: self.method.to_string(),
                url: self.url,
                status,
                response: Box::new(response),
            });
        }
        Ok(response)
    }
}

/// A new connection: resolution (for a name), TCP, the HTTP/1.1 handshake,
/// and its driver on the runtime; `http_req_dns` and
/// `http_req_connecting` recorded.
async fn connect(name: &str, port: u16, url: &str, timed: bool) -> Result<Conn, HttpError> {
    let failed = |reason: String| HttpError::Connect {
        url: url.to_owned(),
        reason,
    };
    let addr: SocketAddr = match name.parse::<std::net::IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port),
        Err(_) => {
            let start = Instant::now();
            let mut found = tokio::net::lookup_host((name, port))
                .await
                .map_err(|e| failed(format!("resolving {name}: {e}")))?;
            let addr = found
                .next()
                .ok_or_else(|| failed(format!("{name} has no address")))?;
            if timed {
                notes::value("http_req_dns", Value::Duration(start.elapsed()));
            }
            addr
        }
    };
    let start = Instant::now();
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| failed(e.to_string()))?;
    if timed {
        notes::value("http_req_connecting", Value::Duration(start.elapsed()));
    }
    let _ = stream.set_nodelay(true);
    let clock = IoClock::new();
    let io = hyper_util::rt::TokioIo::new(TimedIo::new(stream, clock.clone(), timed));
    let (sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| failed(e.to_string()))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Conn { sender, clock })
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
    fn classes_follow_the_failure() {
        let status = |s: u16| HttpError::Status {
            method: "GET".into(),
            url: "u".into(),
            status: s,
            response: Box::new(Response {
                status: s,
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
