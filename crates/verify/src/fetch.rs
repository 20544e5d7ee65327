//! The one outbound HTTP call this crate makes: a request on a fresh
//! HTTP/1.1 connection (plain or rustls on aws-lc-rs with the system's
//! roots), under a timeout, with the body read up to a limit.
//!
//! The revocation stream is the one long-lived call: its body is read as
//! it comes ([`Http::open`]).
//!
//! JWKS fetches and introspection calls are rare (their answers are
//! cached), so there is no connection pool: one connection per call keeps
//! this small and free of idle-connection bookkeeping.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{HeaderMap, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use url::Url;

/// The largest response body read (a JWKS of a few keys is ~1 KiB).
const MAX_BODY: usize = 256 * 1024;

/// Why a fetch failed. Never carries a token or a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The URL is not `http://` or `https://` with a host.
    #[error("unsupported URL")]
    Url,
    /// Connecting, TLS, or the exchange failed.
    #[error("connection failed: {0}")]
    Connect(String),
    /// No answer within the timeout.
    #[error("timed out")]
    Timeout,
    /// The answer's status was not 200.
    #[error("unexpected status {0}")]
    Status(u16),
    /// The body was larger than the limit or not the expected JSON.
    #[error("invalid response body")]
    Body,
    /// The name resolved to an address the client may not connect to
    /// ([`Http::with_address_check`]).
    #[error("address {0} refused")]
    Refused(IpAddr),
}

/// A response, fully read.
pub struct Fetched {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Bytes,
}

/// The client: a timeout and the TLS configuration, made on first use.
/// Public for latchkey's own upstream calls (federation), which keep the
/// same bounds.
#[derive(Clone)]
pub struct Http {
    timeout: Duration,
    tls: Arc<OnceLock<Arc<rustls::ClientConfig>>>,
    allow: Option<Arc<AddressCheck>>,
    hosts: Option<Arc<Hosts>>,
}

/// Which addresses a call may connect to ([`Http::with_address_check`]).
type AddressCheck = dyn Fn(IpAddr) -> bool + Send + Sync;

/// Names resolved by the caller ([`Http::with_hosts`]).
type Hosts = dyn Fn(&str) -> Option<Vec<IpAddr>> + Send + Sync;

impl Http {
    /// A client whose every call ends within `timeout`.
    pub fn new(timeout: Duration) -> Http {
        Http {
            timeout,
            tls: Arc::new(OnceLock::new()),
            allow: None,
            hosts: None,
        }
    }

    /// Connects only to addresses `allow` accepts (outbound calls to
    /// addresses others chose, such as webhooks): a name is resolved first,
    /// every address it resolves to must pass, and the connection goes to
    /// an address that was checked, never through a second resolution.
    #[must_use]
    pub fn with_address_check(
        mut self,
        allow: impl Fn(IpAddr) -> bool + Send + Sync + 'static,
    ) -> Http {
        self.allow = Some(Arc::new(allow));
        self
    }

    /// Resolves names with `hosts` first (fixed routes, tests), and with the
    /// system's resolver when it answers `None`. Applies with
    /// [`Http::with_address_check`].
    #[must_use]
    pub fn with_hosts(
        mut self,
        hosts: impl Fn(&str) -> Option<Vec<IpAddr>> + Send + Sync + 'static,
    ) -> Http {
        self.hosts = Some(Arc::new(hosts));
        self
    }

    /// Sends `request` and reads the answer whatever its status (the body
    /// up to the limit). No redirect is followed: a 3xx is an answer.
    pub async fn exchange_any(
        &self,
        url: &Url,
        request: Request<Full<Bytes>>,
    ) -> Result<(StatusCode, Fetched), FetchError> {
        tokio::time::timeout(self.timeout, async {
            let (parts, body) = self.exchange(url, request).await?.into_parts();
            let body = Limited::new(body, MAX_BODY)
                .collect()
                .await
                .map_err(|_| FetchError::Body)?
                .to_bytes();
            Ok((
                parts.status,
                Fetched {
                    headers: parts.headers,
                    body,
                },
            ))
        })
        .await
        .map_err(|_| FetchError::Timeout)?
    }

    /// A connection to `host`: directly, or through the address check.
    async fn connect(&self, host: &str, port: u16) -> Result<TcpStream, FetchError> {
        let failed = |e: std::io::Error| FetchError::Connect(e.kind().to_string());
        let Some(allow) = &self.allow else {
            return TcpStream::connect((host, port)).await.map_err(failed);
        };
        let addrs: Vec<SocketAddr> = if let Ok(ip) = host.parse::<IpAddr>() {
            vec![SocketAddr::new(ip, port)]
        } else if let Some(ips) = self.hosts.as_ref().and_then(|h| h(host)) {
            ips.into_iter()
                .map(|ip| SocketAddr::new(ip, port))
                .collect()
        } else {
            tokio::net::lookup_host((host, port))
                .await
                .map_err(failed)?
                .collect()
        };
        if let Some(refused) = addrs.iter().find(|a| !allow(a.ip())) {
            return Err(FetchError::Refused(refused.ip()));
        }
        let mut last = FetchError::Connect("the name has no address".into());
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(tcp) => return Ok(tcp),
                Err(e) => last = failed(e),
            }
        }
        Err(last)
    }

    fn tls(&self) -> Result<Arc<rustls::ClientConfig>, FetchError> {
        if let Some(c) = self.tls.get() {
            return Ok(c.clone());
        }
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|_| FetchError::Connect("TLS configuration".into()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(self.tls.get_or_init(|| Arc::new(config)).clone())
    }

    /// Sends `request` (its URI absolute) and reads a 200 answer.
    pub async fn send(
        &self,
        url: &Url,
        request: Request<Full<Bytes>>,
    ) -> Result<Fetched, FetchError> {
        let (status, fetched) = self.exchange_any(url, request).await?;
        if status != StatusCode::OK {
            return Err(FetchError::Status(status.as_u16()));
        }
        Ok(fetched)
    }

    /// Sends `request` and returns the body of a 200 answer unread, for a
    /// stream (Server-Sent Events) read as it comes. The timeout bounds the
    /// connection and the answer's head, not the body.
    pub async fn open(
        &self,
        url: &Url,
        request: Request<Full<Bytes>>,
    ) -> Result<Incoming, FetchError> {
        let response = tokio::time::timeout(self.timeout, self.exchange(url, request))
            .await
            .map_err(|_| FetchError::Timeout)??;
        if response.status() != StatusCode::OK {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        Ok(response.into_body())
    }

    async fn exchange(
        &self,
        url: &Url,
        mut request: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, FetchError> {
        let host = url.host_str().ok_or(FetchError::Url)?.to_owned();
        let port = url.port_or_known_default().ok_or(FetchError::Url)?;
        let host_header = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        request.headers_mut().insert(
            hyper::header::HOST,
            host_header.parse().map_err(|_| FetchError::Url)?,
        );
        *request.uri_mut() = url[url::Position::BeforePath..]
            .parse()
            .map_err(|_| FetchError::Url)?;
        let connect_host = host.trim_start_matches('[').trim_end_matches(']');
        let tcp = self.connect(connect_host, port).await?;
        let _ = tcp.set_nodelay(true);
        let response = match url.scheme() {
            "http" => exchange_on(tcp, request).await?,
            "https" => {
                let name = rustls::pki_types::ServerName::try_from(connect_host.to_owned())
                    .map_err(|_| FetchError::Url)?;
                let tls = tokio_rustls::TlsConnector::from(self.tls()?)
                    .connect(name, tcp)
                    .await
                    .map_err(|e| FetchError::Connect(format!("TLS: {}", e.kind())))?;
                exchange_on(tls, request).await?
            }
            _ => return Err(FetchError::Url),
        };
        Ok(response)
    }
}

async fn exchange_on<S>(
    stream: S,
    request: Request<Full<Bytes>>,
) -> Result<Response<Incoming>, FetchError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| FetchError::Connect("HTTP handshake".into()))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender
        .send_request(request)
        .await
        .map_err(|_| FetchError::Connect("HTTP exchange".into()))
}
