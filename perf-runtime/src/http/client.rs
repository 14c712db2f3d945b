//! The client and its pools: per host a semaphore of `pool_size`
//! permits, idle HTTP/1.1 connections reused most recent first, and one
//! shared HTTP/2 connection whose streams the requests multiplex.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use hyper::Method;
use tokio::sync::Semaphore;

use super::check::Checks;
use super::connect::{Conn, Protocol};
use super::request::{BodyLimit, RequestBuilder};
use super::sign::Signer;
use super::tls::Trust;

/// Builds a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    pub(crate) pool_size: usize,
    pub(crate) keep_alive: bool,
    pub(crate) timeout: Duration,
    pub(crate) timings: bool,
    pub(crate) fail_on: fn(u16) -> bool,
    pub(crate) protocol: Protocol,
    pub(crate) trust: Trust,
    /// A bad `root_certificate`, reported by every `https` request.
    pub(crate) trust_error: Option<String>,
    pub(crate) signer: Option<Signer>,
    pub(crate) checks: Checks,
    pub(crate) body_limit: BodyLimit,
}

/// The most of a response's body a client keeps by default: 16 MiB.
pub const DEFAULT_MAX_BODY: u64 = 16 << 20;

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            pool_size: 100,
            keep_alive: true,
            timeout: Duration::from_secs(30),
            timings: true,
            fail_on: |status| status >= 400,
            protocol: Protocol::Auto,
            trust: Trust::default(),
            trust_error: None,
            signer: None,
            checks: Checks::default(),
            body_limit: BodyLimit::Max(DEFAULT_MAX_BODY),
        }
    }
}

impl ClientBuilder {
    /// Connections kept (and open at once) per host; a request beyond them
    /// waits, and the wait is `http_req_blocked` (default 100). On HTTP/2,
    /// the requests in flight at once per host (its streams share one
    /// connection).
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
    /// past it the request is an [`HttpError::Timeout`](super::HttpError::Timeout).
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

    /// Speak HTTP/1.1 only (by default a TLS server that offers HTTP/2 in
    /// ALPN gets HTTP/2).
    pub fn http1_only(mut self) -> Self {
        self.protocol = Protocol::Http1Only;
        self
    }

    /// Speak HTTP/2 without asking: h2c on `http://` URLs (and HTTP/2 over
    /// TLS whatever ALPN says).
    pub fn http2_prior_knowledge(mut self) -> Self {
        self.protocol = Protocol::Http2PriorKnowledge;
        self
    }

    /// Also trust the certificates of this PEM text (a test server's
    /// self-signed certificate, a private CA). Bad PEM fails every
    /// `https` request with [`HttpError::Invalid`](super::HttpError::Invalid)
    /// saying why.
    pub fn root_certificate(mut self, pem: impl AsRef<[u8]>) -> Self {
        if let Err(e) = self.trust.add_pem(pem.as_ref()) {
            self.trust_error = Some(e);
        }
        self
    }

    /// Trust only the certificates given with
    /// [`root_certificate`](Self::root_certificate), not the platform's.
    pub fn no_platform_roots(mut self) -> Self {
        self.trust.no_platform_roots = true;
        self
    }

    /// `true`: accept any server certificate (expired, self-signed, for
    /// another name). For test servers only: the connection is encrypted
    /// but nobody vouches for whom it reaches.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.trust.accept_any = accept;
        self
    }

    /// Sign every request with AWS Signature Version 4 (IAM-authorised API
    /// Gateway, Lambda function URLs): see [`Signer`].
    pub fn sigv4(mut self, signer: Signer) -> Self {
        self.signer = Some(signer);
        self
    }

    /// `true`: a failed [`check`](super::RequestBuilder::check) fails its
    /// iteration, classed `http_check` (default `false`: checks are counted,
    /// as k6's are, and judged by `checks` thresholds).
    pub fn fail_on_check(mut self, fail: bool) -> Self {
        self.checks.fail_iteration = fail;
        self
    }

    /// The most of a response's body kept, in bytes (default
    /// [`DEFAULT_MAX_BODY`], 16 MiB). A longer body (or a `Content-Length`
    /// over it) ends the request as [`HttpError::BodyTooLarge`](super::HttpError::BodyTooLarge),
    /// classed `http_body_too_large`, and its connection is closed: an
    /// endless body costs at most this much memory. Response heads are
    /// bounded too: at most [`MAX_HEADERS`](super::MAX_HEADERS) headers
    /// and [`MAX_HEAD_BYTES`](super::MAX_HEAD_BYTES) bytes.
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.body_limit = BodyLimit::Max(bytes);
        self
    }

    /// Read every response's body to its end without keeping it: the load
    /// of a test that does not look at bodies, which then costs no memory
    /// and no copy. The bytes are still counted (`http_bytes_received`)
    /// and the connection reused; [`Response::body`](super::Response::body)
    /// is empty, so a check on it fails.
    pub fn discard_body(mut self) -> Self {
        self.body_limit = BodyLimit::Discard;
        self
    }

    /// The client.
    pub fn build(self) -> Client {
        Client {
            inner: Arc::new(Inner {
                config: self,
                hosts: Mutex::new(Vec::new()),
                tls: OnceLock::new(),
            }),
        }
    }
}

/// A measured HTTP/1.1 and HTTP/2 client; cheap to clone (one pool for
/// all clones).
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: ClientBuilder,
    /// The hosts requested, found by a scan that allocates nothing (a
    /// test talks to a few hosts; the scan is faster than hashing them).
    hosts: Mutex<Vec<(HostKey, Arc<Host>)>>,
    /// Built on the first `https` request (reading the platform's roots
    /// takes milliseconds).
    tls: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
}

/// The runtime the connections are driven on, scheme (TLS or not), name,
/// port. A connection's driver task lives on the runtime that opened it and
/// ends with it: a client shared by tests that run side by side (each perf
/// test has its runtime) keeps a pool per runtime, so that no request rides
/// a connection another test's ending runtime is about to close.
type HostKey = (tokio::runtime::Id, bool, String, u16);

/// One host's connections.
#[derive(Debug)]
pub(crate) struct Host {
    pub(crate) permits: Arc<Semaphore>,
    idle: Mutex<Vec<Conn>>,
    /// The HTTP/2 connection its requests share, once there is one.
    shared: Mutex<Option<Conn>>,
}

impl Host {
    /// An open connection to reuse: the shared HTTP/2 one, else the idle
    /// HTTP/1.1 one used last.
    pub(crate) fn checkout(&self) -> Option<Conn> {
        if let Some(shared) = self
            .shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|c| !c.sender.is_closed())
        {
            return shared.share();
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(conn) = idle.pop() {
            if !conn.sender.is_closed() {
                return Some(conn);
            }
        }
        None
    }

    /// No request in it, and nothing open to reuse.
    fn is_idle_and_closed(&self, pool_size: usize) -> bool {
        self.permits.available_permits() == pool_size
            && self
                .shared
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .is_none_or(|c| c.sender.is_closed())
            && self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .all(|c| c.sender.is_closed())
    }

    /// A connection back after its request: an HTTP/2 one is shared from
    /// its first request on, an HTTP/1.1 one goes idle.
    pub(crate) fn checkin(&self, conn: Conn) {
        if conn.sender.is_closed() {
            return;
        }
        if conn.is_h2() {
            let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
            if shared.as_ref().is_none_or(|c| c.sender.is_closed()) {
                *shared = Some(conn);
            }
        } else {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
        }
    }
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

    /// A `PUT` to `url`.
    pub fn put(&self, url: &str) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// A `DELETE` of `url`.
    pub fn delete(&self, url: &str) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// A request of any method.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        RequestBuilder::new(self.clone(), method, url.to_owned(), Bytes::new())
    }

    pub(crate) fn host(&self, tls: bool, name: &str, port: u16) -> Arc<Host> {
        let runtime = tokio::runtime::Handle::current().id();
        let mut hosts = self
            .inner
            .hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((_, host)) = hosts
            .iter()
            .find(|((r, t, n, p), _)| *r == runtime && *t == tls && *p == port && n == name)
        {
            return host.clone();
        }
        // The pools of runtimes gone (their connections closed, no request
        // in them) go.
        let size = self.inner.config.pool_size;
        hosts.retain(|(_, host)| Arc::strong_count(host) > 1 || !host.is_idle_and_closed(size));
        let host = Arc::new(Host {
            permits: Arc::new(Semaphore::new(self.inner.config.pool_size)),
            idle: Mutex::new(Vec::new()),
            shared: Mutex::new(None),
        });
        hosts.push(((runtime, tls, name.to_owned(), port), host.clone()));
        host
    }

    /// The TLS configuration, built once.
    pub(crate) fn tls(&self) -> Result<Arc<rustls::ClientConfig>, String> {
        let config = &self.inner.config;
        if let Some(e) = &config.trust_error {
            return Err(e.clone());
        }
        self.inner
            .tls
            .get_or_init(|| config.trust.config(config.protocol == Protocol::Http1Only))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_runtime_has_its_pool() {
        let client = Client::builder().pool_size(3).build();
        let on = |rt: &tokio::runtime::Runtime| {
            let _guard = rt.enter();
            client.host(false, "127.0.0.1", 80)
        };
        let (a, b) = (
            tokio::runtime::Runtime::new().unwrap(),
            tokio::runtime::Runtime::new().unwrap(),
        );
        let (in_a, in_b) = (on(&a), on(&b));
        assert!(Arc::ptr_eq(&in_a, &on(&a)), "one pool per runtime and host");
        assert!(!Arc::ptr_eq(&in_a, &in_b), "a pool per runtime");
        assert!(!Arc::ptr_eq(&in_a, &{
            let _guard = a.enter();
            client.host(true, "127.0.0.1", 80)
        }));
        // A runtime's pool with nothing in it and nothing open goes when
        // another is made.
        drop((in_a, in_b));
        let c = tokio::runtime::Runtime::new().unwrap();
        let _ = on(&c);
        assert_eq!(client.inner.hosts.lock().unwrap().len(), 1);
    }
}
