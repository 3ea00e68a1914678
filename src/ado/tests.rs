//! Tests of the client: classification, URLs, body limits, writes.

use super::*;
use response::envelope;

#[test]
fn envelope_extracts_type_key_and_message() {
    let body = br#"{"$id":"1","innerException":null,"message":"VS402337: too many","typeName":"x","typeKey":"WorkItemTrackingQueryResultSizeLimitExceededException","errorCode":0,"eventId":3200}"#;
    let (k, m) = envelope(body);
    assert_eq!(k, "WorkItemTrackingQueryResultSizeLimitExceededException");
    assert_eq!(m, "VS402337: too many");
    assert_eq!(envelope(b"<html>\n<body>").1, "<html> <body>");
}

#[test]
fn classify_maps_statuses_to_variants() {
    let h = HeaderMap::new();
    assert!(matches!(
        classify::<serde_json::Value>("projects", 503, &h, b"{}"),
        Err(Error::Transient { .. })
    ));
    assert!(matches!(
        classify::<serde_json::Value>("projects", 403, &h, b"{}"),
        Err(Error::Permission { .. })
    ));
    assert!(matches!(
        classify::<serde_json::Value>("projects", 404, &h, b"{}"),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        classify::<serde_json::Value>(
            "projects",
            400,
            &h,
            b"{\"typeKey\":\"K\",\"message\":\"M\"}"
        ),
        Err(Error::Api { status: 400, .. })
    ));
    assert!(matches!(
        classify::<Vec<u32>>("projects", 200, &h, b"{\"not\":\"a list\"}"),
        Err(Error::BadResponse { .. })
    ));
}

#[test]
fn url_appends_segments_and_api_version() {
    let pool = Arc::new(TokenPool::new(
        "repos",
        Vec::<auth::Entry>::new(),
        1.0,
        1,
        Default::default(),
    ));
    let c = Client::new(
        "repos",
        &Hosts::single("https://ado.corp.example/tfs/DefaultCollection/"),
        "7.1",
        &HttpSettings::default(),
        1,
        pool,
        Default::default(),
        CancellationToken::new(),
    )
    .unwrap();
    let u = c
        .url(
            &Endpoint::ProjectPullRequests {
                project: "My Project".into(),
            },
            &[("$top", "1000".into())],
        )
        .unwrap();
    assert_eq!(
        u.as_str(),
        "https://ado.corp.example/tfs/DefaultCollection/My%20Project/_apis/git/pullrequests?%24top=1000&api-version=7.1"
    );
}

#[test]
fn only_the_sign_in_page_counts_as_a_refused_token() {
    let sign_in = br#"<html><head><title>Azure DevOps Services | Sign In</title></head>
        <body><a href="https://app.vssps.visualstudio.com/_signin?realm=dev.azure.com">
        </a></body></html>"#;
    assert!(is_sign_in_page(sign_in));
    let maintenance = b"<!DOCTYPE html><html><body><h1>Down for maintenance</h1></body></html>";
    assert!(!is_sign_in_page(maintenance));
    assert!(!is_sign_in_page(b""));
}

/// Serves `body` (with `headers`) to every connection on a local port; returns the base URL.
pub(crate) async fn one_response_server(headers: String, body: Vec<u8>) -> String {
    status_response_server(
        "200 OK",
        format!("content-type: application/json\r\n{headers}"),
        body,
    )
    .await
}

/// Serves `status` with `headers` and `body` to every connection; returns the base URL.
pub(crate) async fn status_response_server(
    status: &'static str,
    headers: String,
    body: Vec<u8>,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (headers, body) = (headers.clone(), body.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 {status}\r\n{headers}\
                     content-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
            });
        }
    });
    format!("http://{addr}/org")
}

pub(crate) fn capped_client(base: &str, max_body_mib: u64) -> Client {
    let token = crate::config::Token {
        name: "t".into(),
        secret: secrecy::SecretString::from("s".to_string()),
    };
    let pool = Arc::new(TokenPool::new(
        "repos",
        vec![token],
        1000.0,
        10,
        Default::default(),
    ));
    let settings = HttpSettings {
        max_body_mib,
        max_retries: 0,
        ..HttpSettings::default()
    };
    Client::new(
        "repos",
        &Hosts::single(base),
        "7.1",
        &settings,
        1,
        pool,
        Default::default(),
        CancellationToken::new(),
    )
    .unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[tokio::test]
async fn an_empty_204_is_no_content_not_a_transient_page() {
    // What a build whose YAML failed to compile answers for its timeline.
    let base = status_response_server("204 No Content", String::new(), Vec::new()).await;
    let err = capped_client(&base, 1)
        .get::<serde_json::Value>(&Endpoint::Projects, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoContent { .. }), "{err:?}");
    assert_eq!(err.kind(), "no_content");
}

#[tokio::test]
async fn a_gzip_bomb_is_refused_at_the_body_limit() {
    // 1 MiB limit; 8 MiB of JSON that compresses to a few KiB.
    let mut json = b"[".to_vec();
    json.extend(std::iter::repeat_n(b' ', 8 * 1024 * 1024));
    json.push(b']');
    let bomb = gzip(&json);
    assert!(bomb.len() < 64 * 1024, "the bomb is small on the wire");
    let base = one_response_server("content-encoding: gzip\r\n".into(), bomb).await;
    let err = capped_client(&base, 1)
        .get::<Vec<u32>>(&Endpoint::Projects, &[])
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::BodyTooLarge { limit_mib: 1, .. }),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("http.max_body_mib"), "{err}");
}

#[tokio::test]
async fn bodies_under_the_limit_are_read_compressed_or_not() {
    let json = b"[1, 2, 3]".to_vec();
    let base = one_response_server("content-encoding: gzip\r\n".into(), gzip(&json)).await;
    let got = capped_client(&base, 1)
        .get::<Vec<u32>>(&Endpoint::Projects, &[])
        .await
        .unwrap();
    assert_eq!(got.body, vec![1, 2, 3]);
    // A plain body over the limit is refused from its Content-Length, before it is read.
    let mut big = b"[".to_vec();
    big.extend(std::iter::repeat_n(b' ', 2 * 1024 * 1024));
    big.push(b']');
    let base = one_response_server(String::new(), big).await;
    let err = capped_client(&base, 1)
        .get::<Vec<u32>>(&Endpoint::Projects, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BodyTooLarge { .. }), "{err}");
}

#[test]
fn hooks_endpoints_are_below_the_organization() {
    let c = capped_client("https://dev.azure.com/fabrikam", 1);
    let id = "fd672255-8b6b-4769-9260-beea83d752ce".to_string();
    let url = |e: Endpoint| c.url(&e, &[]).unwrap().to_string();
    assert_eq!(
        url(Endpoint::HooksSubscriptions),
        "https://dev.azure.com/fabrikam/_apis/hooks/subscriptions?api-version=7.1"
    );
    assert_eq!(
        url(Endpoint::HooksSubscription { id: id.clone() }),
        format!("https://dev.azure.com/fabrikam/_apis/hooks/subscriptions/{id}?api-version=7.1")
    );
    assert_eq!(
        url(Endpoint::HooksNotifications { id: id.clone() }),
        format!(
            "https://dev.azure.com/fabrikam/_apis/hooks/subscriptions/{id}/notifications?api-version=7.1"
        )
    );
    assert_eq!(
        Endpoint::HooksNotifications { id }.label(),
        "hooks_notifications"
    );
}

/// A request as [`scripted_server`] received it.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    target: String,
    content_type: Option<String>,
    body: String,
}

/// Answers each connection with the next of `answers` (status line, extra headers, body;
/// the last one repeats) and records what it received.
async fn scripted_server(
    answers: Vec<(&'static str, &'static str, &'static str)>,
) -> (String, Arc<std::sync::Mutex<Vec<Received>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = log.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the head, then as much body as Content-Length says.
            let (head, body) = loop {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                buf.extend_from_slice(&chunk[..n]);
                if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    let len = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    while buf.len() < end + 4 + len {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let body = String::from_utf8_lossy(&buf[end + 4..]).to_string();
                    break (head, body);
                }
                if n == 0 {
                    break (String::new(), String::new());
                }
            };
            let mut first = head.lines().next().unwrap_or_default().split(' ');
            let header = |name: &str| {
                head.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                })
            };
            let received = Received {
                method: first.next().unwrap_or_default().to_string(),
                target: first.next().unwrap_or_default().to_string(),
                content_type: header("content-type"),
                body,
            };
            let index = {
                let mut log = seen.lock().unwrap();
                log.push(received);
                log.len() - 1
            };
            let (status, headers, body) = answers[index.min(answers.len() - 1)];
            let answer = format!(
                "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(answer.as_bytes()).await;
        }
    });
    (format!("http://{addr}/org"), log)
}

/// A client with `retries` retries and millisecond backoff.
fn retrying_client(base: &str, retries: usize) -> Client {
    let token = crate::config::Token {
        name: "t".into(),
        secret: secrecy::SecretString::from("s".to_string()),
    };
    let pool = Arc::new(TokenPool::new(
        "repos",
        vec![token],
        1000.0,
        10,
        Default::default(),
    ));
    let settings = HttpSettings {
        max_retries: retries,
        min_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        ..HttpSettings::default()
    };
    Client::new(
        "repos",
        &Hosts::single(base),
        "7.1",
        &settings,
        1,
        pool,
        Default::default(),
        CancellationToken::new(),
    )
    .unwrap()
}

const JSON: &str = "content-type: application/json\r\n";

#[tokio::test]
async fn a_post_sends_its_json_body_and_decodes_the_answer() {
    let (base, log) = scripted_server(vec![("200 OK", JSON, r#"{"id":"s-1"}"#)]).await;
    let got: serde_json::Value = retrying_client(&base, 3)
        .post(
            &Endpoint::HooksSubscriptions,
            &serde_json::json!({"eventType": "git.pullrequest.created"}),
        )
        .await
        .unwrap();
    assert_eq!(got["id"], "s-1");
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].method, "POST");
    assert_eq!(
        log[0].target,
        "/org/_apis/hooks/subscriptions?api-version=7.1"
    );
    assert_eq!(log[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(log[0].body, r#"{"eventType":"git.pullrequest.created"}"#);
}

#[tokio::test]
async fn a_delete_takes_an_empty_204_and_put_sends_its_body() {
    let (base, log) = scripted_server(vec![
        ("204 No Content", "", ""),
        ("200 OK", JSON, r#"{"id":"s-1","status":"enabled"}"#),
    ])
    .await;
    let c = retrying_client(&base, 3);
    let one = Endpoint::HooksSubscription { id: "s-1".into() };
    c.delete(&one).await.unwrap();
    let put: serde_json::Value = c.put(&one, &serde_json::json!({"a": 1})).await.unwrap();
    assert_eq!(put["status"], "enabled");
    let log = log.lock().unwrap();
    assert_eq!(
        log.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(),
        ["DELETE", "PUT"]
    );
    assert!(log[0].body.is_empty() && log[0].content_type.is_none());
    assert_eq!(log[1].body, r#"{"a":1}"#);
}

#[tokio::test]
async fn a_post_that_may_have_run_is_not_sent_again_but_a_put_is() {
    // A 500 may come after the subscription was created: a second POST could duplicate it.
    let failing = vec![("500 Internal Server Error", JSON, r#"{"message":"boom"}"#)];
    let (base, log) = scripted_server(failing.clone()).await;
    let err = retrying_client(&base, 3)
        .post::<_, serde_json::Value>(&Endpoint::HooksSubscriptions, &serde_json::json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transient {
                status: Some(500),
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(log.lock().unwrap().len(), 1, "the POST is sent once");
    let (base, log) = scripted_server(failing).await;
    let one = Endpoint::HooksSubscription { id: "s-1".into() };
    retrying_client(&base, 3)
        .put::<_, serde_json::Value>(&one, &serde_json::json!({}))
        .await
        .unwrap_err();
    assert_eq!(log.lock().unwrap().len(), 4, "a PUT retries like a GET");
}

#[tokio::test]
async fn a_post_refused_before_running_is_sent_again() {
    for refusal in [
        (
            "429 Too Many Requests",
            "retry-after: 0\r\ncontent-type: application/json\r\n",
        ),
        (
            "503 Service Unavailable",
            "retry-after: 0\r\ncontent-type: application/json\r\n",
        ),
    ] {
        let (base, log) = scripted_server(vec![
            (refusal.0, refusal.1, "{}"),
            ("200 OK", JSON, r#"{"id":"s-2"}"#),
        ])
        .await;
        let got: serde_json::Value = retrying_client(&base, 3)
            .post(&Endpoint::HooksSubscriptions, &serde_json::json!({}))
            .await
            .unwrap();
        assert_eq!(got["id"], "s-2", "{}", refusal.0);
        assert_eq!(log.lock().unwrap().len(), 2, "{}", refusal.0);
    }
}

#[tokio::test]
async fn a_400_carries_ados_message() {
    let (base, _) = scripted_server(vec![(
        "400 Bad Request",
        JSON,
        r#"{"message":"TF26198: The consumer input url is not valid.","typeKey":"InvalidArgumentValueException"}"#,
    )])
    .await;
    let err = retrying_client(&base, 3)
        .post::<_, serde_json::Value>(&Endpoint::HooksSubscriptions, &serde_json::json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { status: 400, .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("TF26198: The consumer input url is not valid."),
        "{err}"
    );
}

const OUT_OF_RANGE: &str = r#"{"message":"The requested REST API version of 7.1 is out of range for this server. The latest REST API version this server supports is 7.0.","typeKey":"VssVersionOutOfRangeException"}"#;

#[tokio::test]
async fn an_out_of_range_version_is_negotiated_down_once() {
    let (base, log) = scripted_server(vec![
        ("400 Bad Request", JSON, OUT_OF_RANGE),
        ("200 OK", JSON, r#"{"count":0,"value":[]}"#),
    ])
    .await;
    let client = retrying_client(&base, 3);
    assert!(client.speaks(version::PR_TIME_FILTERS));
    let got: serde_json::Value = client.get(&Endpoint::Projects, &[]).await.unwrap().body;
    assert_eq!(got["count"], 0);
    // A second client of the same organization (another connector) starts at 7.0.
    let other = retrying_client(&base, 3);
    other
        .get::<serde_json::Value>(
            &Endpoint::PolicyEvaluations {
                project: "P".into(),
            },
            &[],
        )
        .await
        .unwrap();
    let targets: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.target.clone())
        .collect();
    assert_eq!(targets.len(), 3, "{targets:?}");
    assert!(targets[0].ends_with("api-version=7.1"), "{targets:?}");
    assert!(targets[1].ends_with("api-version=7.0"), "{targets:?}");
    assert!(
        targets[2].ends_with("api-version=7.0-preview.1"),
        "{targets:?}"
    );
    assert!(!client.speaks(version::PR_TIME_FILTERS));
}

#[tokio::test]
async fn a_server_refusing_the_version_it_names_is_not_asked_forever() {
    // Says 7.1 is out of range and that it supports 7.1: not a lower version, so no retry.
    let (base, log) = scripted_server(vec![(
        "400 Bad Request",
        JSON,
        r#"{"message":"The requested REST API version of 7.1 is out of range for this server. The latest REST API version this server supports is 7.1.","typeKey":"VssVersionOutOfRangeException"}"#,
    )])
    .await;
    let err = retrying_client(&base, 3)
        .get::<serde_json::Value>(&Endpoint::Projects, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { status: 400, .. }), "{err:?}");
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_endpoint_under_preview_is_asked_again_as_a_preview() {
    let (base, log) = scripted_server(vec![
        (
            "400 Bad Request",
            JSON,
            r#"{"message":"The requested version \"7.1\" of the resource is under preview. The -preview flag must be supplied in the api-version for such requests. For example: \"7.1-preview\"","typeKey":"VssInvalidPreviewVersionException"}"#,
        ),
        ("200 OK", JSON, r#"{"count":0,"value":[]}"#),
    ])
    .await;
    let client = retrying_client(&base, 3);
    let envs = Endpoint::Environments {
        project: "P".into(),
    };
    client.get::<serde_json::Value>(&envs, &[]).await.unwrap();
    client.get::<serde_json::Value>(&envs, &[]).await.unwrap();
    client
        .get::<serde_json::Value>(&Endpoint::Projects, &[])
        .await
        .unwrap();
    let targets: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.target.clone())
        .collect();
    assert_eq!(targets.len(), 4, "{targets:?}");
    assert!(targets[0].ends_with("api-version=7.1"), "{targets:?}");
    assert!(
        targets[1].ends_with("api-version=7.1-preview"),
        "{targets:?}"
    );
    assert!(
        targets[2].ends_with("api-version=7.1-preview"),
        "{targets:?}"
    );
    // Only the endpoint that needs it.
    assert!(targets[3].ends_with("api-version=7.1"), "{targets:?}");
}
