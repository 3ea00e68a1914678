//! Publishing and delivering events: matching subscriptions, the envelope, the HTTP POST, and
//! ADO's retry and probation policy (API_FACTS §6 [TS]).
//!
//! The sender is a bare hyper HTTP/1.1 client: hyper and hyper-util are already in the tree
//! through axum, and one POST per attempt over plain HTTP is all the local receivers of tests
//! and demos need; reqwest would bring a TLS stack and its configuration for nothing.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use base64::Engine as _;
use serde::Serialize;
use serde_json::{Value, json};

use super::payload::{self, Source};
use super::subscriptions::{Subscription, guid, ts};
use super::{DELIVERY_LOG_CAP, Delivery, SubscriptionStatus};
use crate::model::Org;
use crate::{Sim, lock};

/// Waits before the 1st … 8th retry of a transient failure, in seconds (API_FACTS §6 [TS]:
/// "up to 8 retries waiting ~1, 2, 4, 8, 16, 32, 60, 60 s").
const RETRY_DELAYS: [f64; 8] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0];

/// One attempt's limit (connect, send, answer).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);

const EVENT_SALT: u64 = 0x4E0C_E7E7;

/// One delivery to run.
struct Job {
    notification: u64,
    subscription: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    subscription_id: &'a str,
    notification_id: u64,
    id: &'a str,
    event_type: &'a str,
    publisher_id: &'static str,
    scope: &'static str,
    message: &'a Value,
    detailed_message: &'a Value,
    resource: &'a Value,
    resource_version: &'a Value,
    resource_containers: &'a Value,
    created_date: &'a str,
}

/// The headers a subscription's consumer inputs ask for (API_FACTS §6 [CON]): `httpHeaders`
/// is one `Key:value` a line; `basicAuthUsername` / `basicAuthPassword` become a standard
/// Basic `Authorization` (there is no signature).
fn headers_of(s: &Subscription) -> Vec<(String, String)> {
    let mut out = vec![(
        "Content-Type".to_string(),
        "application/json; charset=utf-8".to_string(),
    )];
    if let Some(lines) = s.input("httpHeaders") {
        for line in lines.lines() {
            if let Some((k, v)) = line.split_once(':') {
                let (k, v) = (k.trim(), v.trim());
                let valid = HeaderName::from_bytes(k.as_bytes()).is_ok()
                    && HeaderValue::from_str(v).is_ok();
                if valid {
                    out.push((k.to_string(), v.to_string()));
                }
            }
        }
    }
    let (user, pass) = (s.input("basicAuthUsername"), s.input("basicAuthPassword"));
    if user.is_some() || pass.is_some() {
        let pair = format!("{}:{}", user.unwrap_or(""), pass.unwrap_or(""));
        let b64 = base64::engine::general_purpose::STANDARD.encode(pair);
        out.push(("Authorization".to_string(), format!("Basic {b64}")));
    }
    out
}

impl Sim {
    /// Turns what the last mutation call did into deliveries. Called with the org's write
    /// lock held, at the end of every mutation entry point; sending happens on spawned tasks.
    pub(crate) fn publish(&self, org: &mut Org) {
        let recorded = std::mem::take(&mut org.hook_events);
        let mark = org.hook_stream_mark.min(org.boards.stream.len());
        org.hook_stream_mark = org.boards.stream.len();
        let hooks = &self.inner.hooks;
        if !hooks.enabled.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let org: &Org = org;
        let base = self.base_url();
        let now = self.now();
        let created = ts(now);
        let seed = self.inner.seed;
        let mut data = lock(&hooks.data);
        if !data.subs.iter().any(|s| s.status.active()) {
            return;
        }
        let revisions = org.boards.stream[mark..].iter().map(|e| Source::WorkItem {
            id: e.id,
            rev: e.rev,
        });
        let sources = recorded.into_iter().map(Source::Recorded).chain(revisions);
        let mut jobs = Vec::new();
        for src in sources {
            let Some((event_type, project)) = payload::kind(org, src) else {
                continue;
            };
            let targets: Vec<usize> = (0..data.subs.len())
                .filter(|&i| {
                    let s = &data.subs[i];
                    s.status.active()
                        && s.event_type == event_type
                        && s.project.is_none_or(|p| p == project)
                })
                .collect();
            if targets.is_empty() {
                continue;
            }
            let Some(content) = payload::content(&base, org, src, event_type) else {
                continue;
            };
            data.next_event += 1;
            let event_id = guid(seed, EVENT_SALT, data.next_event);
            let root = format!("{base}/");
            let containers = json!({
                "collection": { "id": org.instance_id, "baseUrl": root },
                "account": { "id": org.deployment_id, "baseUrl": root },
                "project": { "id": org.projects[project].id, "baseUrl": root },
            });
            for i in targets {
                data.next_notification += 1;
                let notification = data.next_notification;
                let s = &data.subs[i];
                // ADO sends the version the subscription pinned; the samples show "1.0"
                // where none was.
                let version = match &s.resource_version {
                    Value::String(v) if !v.trim().is_empty() => Value::String(v.clone()),
                    _ => Value::String("1.0".to_string()),
                };
                let body = serde_json::to_vec(&Envelope {
                    subscription_id: &s.id,
                    notification_id: notification,
                    id: &event_id,
                    event_type,
                    publisher_id: "tfs",
                    scope: "all",
                    message: &content.message,
                    detailed_message: &content.detailed,
                    resource: &content.resource,
                    resource_version: &version,
                    resource_containers: &containers,
                    created_date: &created,
                })
                .unwrap_or_default();
                let job = Job {
                    notification,
                    subscription: s.id.clone(),
                    url: s.url().to_string(),
                    headers: headers_of(s),
                    body,
                };
                if data.deliveries.len() >= DELIVERY_LOG_CAP {
                    data.deliveries.pop_front();
                }
                data.deliveries.push_back(Delivery {
                    notification_id: notification,
                    event_id: event_id.clone(),
                    event_type: event_type.to_string(),
                    subscription_id: job.subscription.clone(),
                    url: job.url.clone(),
                    result: "pending".to_string(),
                    status: "queued".to_string(),
                    status_code: None,
                    error: None,
                    attempts: 0,
                    headers: job.headers.clone(),
                    body: job.body.clone(),
                    created: now,
                    modified: now,
                    completed: None,
                });
                jobs.push(job);
            }
        }
        drop(data);
        if jobs.is_empty() {
            return;
        }
        hooks.pending.send_modify(|n| *n += jobs.len());
        let runtime = hooks.runtime();
        for job in jobs {
            match &runtime {
                Some(rt) => {
                    let sim = self.clone();
                    rt.spawn(async move { sim.deliver(job).await });
                }
                None => {
                    let msg = "No tokio runtime to deliver on.".to_string();
                    self.finish(job.notification, false, None, Some(msg));
                    hooks.pending.send_modify(|n| *n = n.saturating_sub(1));
                }
            }
        }
    }

    /// Sends one notification until it succeeds, fails for good, or runs out of retries.
    async fn deliver(self, job: Job) {
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let now = self.now();
            if let Some(d) = lock(&self.inner.hooks.data).delivery_mut(job.notification) {
                d.attempts = attempt;
                d.status = "requestInProgress".to_string();
                d.modified = now;
            }
            let outcome = tokio::time::timeout(ATTEMPT_TIMEOUT, send(&job)).await;
            let (code, verdict) = match outcome {
                Err(_) => (
                    None,
                    Verdict::Transient("The operation has timed out.".into()),
                ),
                Ok(Err(Failure::Connect(e))) => (
                    None,
                    Verdict::Transient(format!("Unable to connect to the remote server: {e}")),
                ),
                Ok(Err(Failure::Unsupported(e))) => (None, Verdict::Failed(e)),
                Ok(Ok(code)) => (Some(code), classify(code)),
            };
            match verdict {
                Verdict::Succeeded => {
                    self.finish(job.notification, true, code, None);
                    // A success ends probation (API_FACTS §6 [TS]).
                    self.set_status_if(&job.subscription, SubscriptionStatus::Enabled, |s| {
                        s == SubscriptionStatus::OnProbation
                    });
                    break;
                }
                Verdict::Gone(msg) => {
                    // 410 Gone is terminal and disables the subscription (API_FACTS §6).
                    self.finish(job.notification, false, code, Some(msg));
                    self.set_status_if(
                        &job.subscription,
                        SubscriptionStatus::DisabledBySystem,
                        |_| true,
                    );
                    break;
                }
                Verdict::Transient(msg)
                    if (attempt as usize) <= RETRY_DELAYS.len() && self.still_active(&job) =>
                {
                    let now = self.now();
                    if let Some(d) = lock(&self.inner.hooks.data).delivery_mut(job.notification) {
                        d.status = "queued".to_string();
                        d.status_code = code;
                        d.error = Some(msg);
                        d.modified = now;
                    }
                    let wait = RETRY_DELAYS[attempt as usize - 1] * self.inner.hooks.retry_scale();
                    tokio::time::sleep(Duration::from_secs_f64(wait)).await;
                }
                Verdict::Transient(msg) | Verdict::Failed(msg) => {
                    // Exhausted retries and enduring failures put the subscription on
                    // probation ("Enabled (restricted)", API_FACTS §6).
                    self.finish(job.notification, false, code, Some(msg));
                    self.set_status_if(&job.subscription, SubscriptionStatus::OnProbation, |s| {
                        s == SubscriptionStatus::Enabled
                    });
                    break;
                }
            }
        }
        self.inner
            .hooks
            .pending
            .send_modify(|n| *n = n.saturating_sub(1));
    }

    fn still_active(&self, job: &Job) -> bool {
        lock(&self.inner.hooks.data)
            .subs
            .iter()
            .any(|s| s.id == job.subscription && s.status.active())
    }

    fn finish(&self, id: u64, ok: bool, code: Option<u16>, error: Option<String>) {
        let now = self.now();
        if let Some(d) = lock(&self.inner.hooks.data).delivery_mut(id) {
            d.result = if ok { "succeeded" } else { "failed" }.to_string();
            d.status = "completed".to_string();
            d.status_code = code.or(d.status_code);
            d.error = error;
            d.modified = now;
            d.completed = Some(now);
        }
    }

    fn set_status_if(
        &self,
        id: &str,
        to: SubscriptionStatus,
        when: impl Fn(SubscriptionStatus) -> bool,
    ) {
        let now = self.now();
        let mut data = lock(&self.inner.hooks.data);
        if let Some(s) = data.sub_mut(id)
            && when(s.status)
            && s.status != to
        {
            s.status = to;
            s.modified = now;
        }
    }
}

enum Verdict {
    Succeeded,
    Gone(String),
    Transient(String),
    Failed(String),
}

fn error_message(code: u16) -> String {
    let reason = StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown");
    format!("The remote server returned an error: ({code}) {reason}.")
}

/// ADO's classes of answers (API_FACTS §6 [TS]).
fn classify(code: u16) -> Verdict {
    match code {
        200..=299 => Verdict::Succeeded,
        410 => Verdict::Gone(error_message(code)),
        408 | 502 | 503 | 504 => Verdict::Transient(error_message(code)),
        _ => Verdict::Failed(error_message(code)),
    }
}

enum Failure {
    /// Could not connect or the connection broke: transient.
    Connect(String),
    /// The simulator cannot send there at all.
    Unsupported(String),
}

/// One POST; answers the status code.
async fn send(job: &Job) -> Result<u16, Failure> {
    let uri: axum::http::Uri = job
        .url
        .parse()
        .map_err(|e| Failure::Unsupported(format!("Invalid URL '{}': {e}", job.url)))?;
    if !uri
        .scheme_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("http"))
    {
        return Err(Failure::Unsupported(format!(
            "The simulator delivers over plain HTTP only, not to '{}'.",
            job.url
        )));
    }
    let (Some(host), Some(authority)) = (uri.host(), uri.authority().cloned()) else {
        return Err(Failure::Unsupported(format!("No host in '{}'.", job.url)));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| Failure::Connect(e.to_string()))?;
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| Failure::Connect(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut req = axum::http::Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::HOST, authority.as_str());
    for (k, v) in &job.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req
        .body(axum::body::Body::from(job.body.clone()))
        .map_err(|e| Failure::Unsupported(e.to_string()))?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| Failure::Connect(e.to_string()))?;
    Ok(resp.status().as_u16())
}
