//! The HTTP side: `POST /ksql`, `POST /query` (streamed), `GET /info`, with errors sorted into
//! "the server is not there" and "the server said no".

use std::time::Duration;

use serde_json::Value;

const ACCEPT: &str = "application/vnd.ksql.v1+json, application/json";

/// Why a request did not give a successful answer.
#[derive(Debug)]
pub enum RequestError {
    /// No connection (refused, unresolvable, timed out): the reason, short.
    Unreachable(String),
    /// The server answered `request` (`POST /ksql`…) with an error status; the body as sent.
    Status {
        status: u16,
        request: &'static str,
        body: String,
    },
    /// Anything else (a broken response, an invalid URL).
    Other(String),
}

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    auth: Option<(String, Option<String>)>,
}

/// `host:port` → `http://host:port`; trailing slashes dropped.
pub fn normalize_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    if url.contains("://") {
        url.to_string()
    } else {
        format!("http://{url}")
    }
}

impl Client {
    pub fn new(base: &str, auth: Option<(String, Option<String>)>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .build()?;
        Ok(Self {
            http,
            base: normalize_url(base),
            auth,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(reqwest::header::ACCEPT, ACCEPT);
        if let Some((user, password)) = &self.auth {
            r = r.basic_auth(user, password.as_ref());
        }
        r
    }

    fn check_scheme(&self) -> Result<(), RequestError> {
        if self.base.starts_with("http://") {
            Ok(())
        } else if self.base.starts_with("https://") {
            Err(RequestError::Other(
                "this shell speaks plain http only: use an http:// server URL".into(),
            ))
        } else {
            Err(RequestError::Other(format!(
                "Server URL must begin with http:// : {}",
                self.base
            )))
        }
    }

    /// `GET /info`: the `KsqlServerInfo` object, or `None` when the server has no `/info`.
    pub async fn info(&self) -> Result<Option<Value>, RequestError> {
        self.check_scheme()?;
        let resp = self
            .request(reqwest::Method::GET, "/info")
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(classify)?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body = resp.text().await.map_err(classify)?;
        if !status.is_success() {
            return Err(RequestError::Status {
                status: status.as_u16(),
                request: "GET /info",
                body,
            });
        }
        let v: Value = serde_json::from_str(&body)
            .map_err(|e| RequestError::Other(format!("bad /info response: {e}")))?;
        Ok(Some(v.get("KsqlServerInfo").cloned().unwrap_or(v)))
    }

    /// `POST /ksql`: the entity list.
    pub async fn ksql(&self, body: &Value) -> Result<Value, RequestError> {
        self.check_scheme()?;
        let resp = self
            .request(reqwest::Method::POST, "/ksql")
            .json(body)
            .send()
            .await
            .map_err(classify)?;
        let status = resp.status();
        let text = resp.text().await.map_err(classify)?;
        if !status.is_success() {
            return Err(RequestError::Status {
                status: status.as_u16(),
                request: "POST /ksql",
                body: text,
            });
        }
        serde_json::from_str(&text).map_err(|e| {
            RequestError::Other(format!("the server's answer is not JSON ({e}): {text}"))
        })
    }

    /// `POST /query`: the response, its body still to be streamed.
    pub async fn query(&self, body: &Value) -> Result<reqwest::Response, RequestError> {
        self.check_scheme()?;
        let resp = self
            .request(reqwest::Method::POST, "/query")
            .json(body)
            .send()
            .await
            .map_err(classify)?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.map_err(classify)?;
            return Err(RequestError::Status {
                status: status.as_u16(),
                request: "POST /query",
                body,
            });
        }
        Ok(resp)
    }
}

/// Sorts a reqwest error: connection failures become `Unreachable` with a short reason.
pub fn classify(e: reqwest::Error) -> RequestError {
    let mut reason = None;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            reason = Some(match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                std::io::ErrorKind::TimedOut => "connection timed out".to_string(),
                std::io::ErrorKind::ConnectionReset => "connection reset".to_string(),
                _ => io.to_string(),
            });
        } else if reason.is_none() && err.source().is_none() {
            reason = Some(err.to_string());
        }
        source = err.source();
    }
    let reason = reason.unwrap_or_else(|| e.to_string());
    if e.is_connect() || (e.is_timeout() && !e.is_body()) {
        RequestError::Unreachable(reason)
    } else {
        RequestError::Other(format!("{e} ({reason})"))
    }
}
