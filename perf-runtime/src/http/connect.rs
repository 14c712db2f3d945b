//! Opening a connection: resolution (for a name), TCP, TLS (rustls), the
//! HTTP/1.1 or HTTP/2 handshake and the connection's driver on the
//! runtime; `http_req_dns`, `http_req_connecting` and
//! `http_req_tls_handshaking` recorded into the running iteration.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};

use super::io::{IoClock, TimedIo};
use super::{HttpError, MAX_HEADERS, MAX_HEAD_BYTES};
use crate::measure::errors::redact_url;
use crate::measure::notes::{self, Value};

/// Which HTTP versions a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// HTTP/2 when a TLS server offers it (ALPN), else HTTP/1.1.
    Auto,
    /// HTTP/1.1 only.
    Http1Only,
    /// HTTP/2 without asking (h2c on plain TCP, and over TLS).
    Http2PriorKnowledge,
}

/// A connection's request half.
#[derive(Debug)]
pub(crate) enum Sender {
    H1(http1::SendRequest<Full<Bytes>>),
    H2(http2::SendRequest<Full<Bytes>>),
}

impl Sender {
    pub(crate) fn is_closed(&self) -> bool {
        match self {
            Sender::H1(s) => s.is_closed(),
            Sender::H2(s) => s.is_closed(),
        }
    }

    /// Sends a request once the connection can take it; the response's
    /// head.
    pub(crate) async fn send(
        &mut self,
        request: Request<Full<Bytes>>,
    ) -> Result<hyper::Response<Incoming>, hyper::Error> {
        match self {
            Sender::H1(s) => {
                s.ready().await?;
                s.send_request(request).await
            }
            Sender::H2(s) => {
                s.ready().await?;
                s.send_request(request).await
            }
        }
    }
}

/// An open connection and its socket's clock.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) sender: Sender,
    pub(crate) clock: Arc<IoClock>,
}

impl Conn {
    /// Whether its requests share it (HTTP/2 streams).
    pub(crate) fn is_h2(&self) -> bool {
        matches!(self.sender, Sender::H2(_))
    }

    /// Another handle on an HTTP/2 connection (its streams are
    /// multiplexed); `None` for HTTP/1.1, which carries one request at a
    /// time.
    pub(crate) fn share(&self) -> Option<Conn> {
        match &self.sender {
            Sender::H2(s) => Some(Conn {
                sender: Sender::H2(s.clone()),
                clock: self.clock.clone(),
            }),
            Sender::H1(_) => None,
        }
    }
}

/// Where to connect, and how.
#[derive(Debug)]
pub(crate) struct Target<'a> {
    pub(crate) name: &'a str,
    pub(crate) port: u16,
    /// The TLS configuration for an `https` URL.
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    pub(crate) protocol: Protocol,
    pub(crate) timed: bool,
    /// For error messages.
    pub(crate) url: &'a str,
}

/// A new connection to `target`.
pub(crate) async fn connect(target: &Target<'_>) -> Result<Conn, HttpError> {
    let failed = |reason: String| HttpError::Connect {
        url: redact_url(target.url).into_owned(),
        reason,
    };
    let (name, port, timed) = (target.name, target.port, target.timed);
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
    let io = TimedIo::new(stream, clock.clone(), timed);
    let handshake_failed =
        |e: hyper::Error| failed(format!("HTTP handshake: {}", super::reason(&e)));
    let sender = match &target.tls {
        None => handshake(io, target.protocol == Protocol::Http2PriorKnowledge)
            .await
            .map_err(handshake_failed)?,
        Some(config) => {
            let tls_failed = |reason: String| HttpError::Tls {
                url: redact_url(target.url).into_owned(),
                reason,
            };
            let server = rustls::pki_types::ServerName::try_from(name.to_owned())
                .map_err(|e| tls_failed(format!("`{name}` is not a TLS server name: {e}")))?;
            let start = Instant::now();
            let tls = tokio_rustls::TlsConnector::from(config.clone())
                .connect(server, io)
                .await
                .map_err(|e| tls_failed(e.to_string()))?;
            if timed {
                notes::value("http_req_tls_handshaking", Value::Duration(start.elapsed()));
            }
            let h2 = target.protocol == Protocol::Http2PriorKnowledge
                || tls.get_ref().1.alpn_protocol() == Some(b"h2");
            handshake(tls, h2).await.map_err(handshake_failed)?
        }
    };
    Ok(Conn { sender, clock })
}

/// The HTTP handshake on an open socket, its driver spawned.
async fn handshake<I>(io: I, h2: bool) -> Result<Sender, hyper::Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    if h2 {
        let (sender, connection) = http2::Builder::new(TokioExecutor::new())
            .max_header_list_size(MAX_HEAD_BYTES as u32)
            .handshake(io)
            .await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Sender::H2(sender))
    } else {
        // hyper's default of 100 headers is kept: a set count moves them
        // to the heap for every response.
        debug_assert_eq!(MAX_HEADERS, 100);
        let (sender, connection) = http1::Builder::new()
            .max_header_size(MAX_HEAD_BYTES)
            .handshake(io)
            .await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Sender::H1(sender))
    }
}
