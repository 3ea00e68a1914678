//! A tiny HTTP/1.1 client for the simulator's tests: one request per connection
//! (`Connection: close`), enough to see statuses, headers, and bodies that break midway.

#![allow(dead_code)]

use std::net::SocketAddr;

use ado_sim::{RunningSim, Sim, SimConfig};
use base64::Engine as _;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// False when the connection broke before the body was complete.
    pub complete: bool,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn basic(user: &str, token: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"))
    )
}

pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<&str>,
) -> Resp {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() || method == "POST" {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.expect("write");

    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut clean_eof = true;
    loop {
        match s.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(_) => {
                clean_eof = false;
                break;
            }
        }
    }
    parse(&raw, clean_eof)
}

fn parse(raw: &[u8], clean_eof: bool) -> Resp {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response has a header block");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let find = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let (body, complete) = if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        dechunk(rest)
    } else if let Some(len) = find("content-length").and_then(|v| v.parse::<usize>().ok()) {
        (rest[..rest.len().min(len)].to_vec(), rest.len() >= len)
    } else {
        (rest.to_vec(), clean_eof)
    };
    Resp {
        status,
        headers,
        body,
        complete,
    }
}

/// Decodes a chunked body; `complete` is false without the terminating zero-size chunk.
fn dechunk(mut b: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return (out, false);
        };
        let size_str = String::from_utf8_lossy(&b[..eol]);
        let Ok(size) = usize::from_str_radix(size_str.split(';').next().unwrap_or("").trim(), 16)
        else {
            return (out, false);
        };
        b = &b[eol + 2..];
        if size == 0 {
            return (out, true);
        }
        if b.len() < size + 2 {
            out.extend_from_slice(&b[..b.len().min(size)]);
            return (out, false);
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

/// A served simulator plus helpers that speak to it as an authenticated client.
pub struct Client {
    pub running: RunningSim,
    pub token: String,
    /// What `get_json`/`post_json` send: 7.1, or the newest a Server-mode sim answers.
    pub api_version: String,
}

impl Client {
    pub async fn start(cfg: SimConfig) -> Client {
        let api_version = cfg.server.as_ref().map_or("7.1".to_string(), |s| {
            let (a, b) = s.release.max_api_version();
            format!("{a}.{b}")
        });
        let running = Sim::new(cfg)
            .serve("127.0.0.1:0".parse().unwrap())
            .await
            .expect("serve");
        Client {
            running,
            token: ado_sim::DEMO_PAT.to_string(),
            api_version,
        }
    }

    pub fn sim(&self) -> &Sim {
        &self.running.sim
    }

    pub fn addr(&self) -> SocketAddr {
        self.running.addr
    }

    /// The organization URL's path: `/{org}`, or `/{virtual directory}/{collection}` in Server
    /// mode.
    pub fn root(&self) -> String {
        let base = self.running.base_url();
        let after_scheme = base.split_once("://").map_or(base.as_str(), |(_, r)| r);
        after_scheme[after_scheme.find('/').unwrap_or(after_scheme.len())..].to_string()
    }

    /// `GET {root}{path}` with the PAT; `path` must carry the query (add api-version yourself).
    pub async fn get(&self, path: &str) -> Resp {
        self.get_with(path, &[]).await
    }

    pub async fn get_with(&self, path: &str, extra: &[(&str, String)]) -> Resp {
        let mut headers = vec![("Authorization", basic("", &self.token))];
        headers.extend(extra.iter().cloned());
        let full = format!("{}{path}", self.root());
        // Boxed so that test futures awaiting many requests stay small.
        Box::pin(request(self.addr(), "GET", &full, &headers, None)).await
    }

    /// `GET` with [`Self::api_version`] appended, expecting 200 JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        let sep = if path.contains('?') { '&' } else { '?' };
        let v = &self.api_version;
        let r = self.get(&format!("{path}{sep}api-version={v}")).await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        r.json()
    }

    pub async fn admin(&self, method: &str, path: &str, body: Option<&str>) -> Resp {
        request(self.addr(), method, path, &[], body).await
    }
}

impl Client {
    /// `POST {root}{path}` with the PAT and a JSON body.
    pub async fn post(&self, path: &str, body: &str) -> Resp {
        let headers = vec![("Authorization", basic("", &self.token))];
        let full = format!("{}{path}", self.root());
        Box::pin(request(self.addr(), "POST", &full, &headers, Some(body))).await
    }

    /// `POST` with [`Self::api_version`] appended, expecting 200 JSON.
    pub async fn post_json(&self, path: &str, body: &str) -> Value {
        let sep = if path.contains('?') { '&' } else { '?' };
        let v = &self.api_version;
        let r = self
            .post(&format!("{path}{sep}api-version={v}"), body)
            .await;
        assert_eq!(r.status, 200, "POST {path}: {}", r.text());
        r.json()
    }
}
