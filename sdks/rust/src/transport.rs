//! Delivery of one HTTP request: the `Transport` trait and its reqwest and ureq implementations.
//!
//! A transport only posts bytes and reports the answer. Batching, gzip, retries, backoff,
//! `Retry-After` and drop counting live in the worker, so every transport behaves the same.

use std::fmt;
use std::time::Duration;

/// At most this much of an error answer is read (for the message printed about it).
pub const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// One POST of a gzip-compressed JSON batch.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// `{endpoint}/api/v1/events/batch`
    pub url: String,
    /// `Content-Type`, `Content-Encoding`, `X-PulseKit-Key`, `User-Agent`.
    pub headers: Vec<(&'static str, String)>,
    /// The gzip-compressed body.
    pub body: Vec<u8>,
    /// Connect + response timeout.
    pub timeout: Duration,
}

/// What the server answered.
#[derive(Debug, Clone, Default)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// The start of the body (at most [`MAX_ERROR_BODY_BYTES`]); read for error answers.
    pub body: Vec<u8>,
}

/// The request did not get an answer (connection refused, timeout, TLS…); it will be retried.
#[derive(Debug)]
pub struct TransportError(pub Box<dyn std::error::Error + Send + Sync>);

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

/// Sends requests for the SDK's worker thread. Implement it to use another HTTP client, or to
/// hand events to something other than HTTP; set it in `Options::transport`.
pub trait Transport: Send + Sync {
    /// Posts `request`; any answer is `Ok` (the worker reads its status), no answer is `Err`.
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// The default transport: reqwest's blocking client with rustls.
///
/// Built on the worker thread: reqwest's blocking client must not be created inside an async
/// runtime, and `init` may well be called from one.
#[cfg(feature = "reqwest")]
pub struct ReqwestTransport {
    client: reqwest::blocking::Client,
}

#[cfg(feature = "reqwest")]
impl ReqwestTransport {
    /// A client that follows no redirects and uses no proxy from the environment.
    pub fn new() -> Result<Self, TransportError> {
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| TransportError(Box::new(e)))?;
        Ok(ReqwestTransport { client })
    }
}

#[cfg(feature = "reqwest")]
impl Transport for ReqwestTransport {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        use std::io::Read;
        let mut builder = self
            .client
            .post(&request.url)
            .timeout(request.timeout)
            .body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let response = builder.send().map_err(|e| TransportError(Box::new(e)))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        if status >= 300 {
            let _ = response
                .take(MAX_ERROR_BODY_BYTES as u64)
                .read_to_end(&mut body);
        }
        Ok(HttpResponse {
            status,
            retry_after,
            body,
        })
    }
}

/// The lighter transport: ureq with rustls (no async runtime, fewer dependencies).
#[cfg(feature = "ureq")]
pub struct UreqTransport {
    agent: ureq::Agent,
}

#[cfg(feature = "ureq")]
impl UreqTransport {
    /// An agent that follows no redirects and treats every status as an answer.
    pub fn new(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(timeout))
            .proxy(None)
            .build();
        UreqTransport {
            agent: config.into(),
        }
    }
}

#[cfg(feature = "ureq")]
impl Transport for UreqTransport {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut builder = self.agent.post(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let mut response = builder
            .send(&request.body[..])
            .map_err(|e| TransportError(Box::new(e)))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = if status >= 300 {
            response
                .body_mut()
                .with_config()
                .limit(MAX_ERROR_BODY_BYTES as u64)
                .read_to_vec()
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        Ok(HttpResponse {
            status,
            retry_after,
            body,
        })
    }
}

/// The transport used when `Options::transport` is unset.
pub(crate) fn default_transport(timeout: Duration) -> Result<Box<dyn Transport>, TransportError> {
    let _ = timeout;
    #[cfg(feature = "reqwest")]
    {
        Ok(Box::new(ReqwestTransport::new()?))
    }
    #[cfg(all(feature = "ureq", not(feature = "reqwest")))]
    {
        Ok(Box::new(UreqTransport::new(timeout)))
    }
    #[cfg(not(any(feature = "reqwest", feature = "ureq")))]
    {
        Err(TransportError("no HTTP client feature enabled".into()))
    }
}
