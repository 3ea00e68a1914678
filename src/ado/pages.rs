//! [`Client::pages`]: any [`Listing`] as a stream of typed pages, with the loop guards of
//! [`super::paging`] applied in this one place (repeated token, repeated page, de-duplication
//! by key, iteration cap) and a fired guard logged with its endpoint.

use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use super::listing::{Listing, Paging};
use super::models::git_pr::GitPullRequestIterationChanges;
use super::models::wit::StreamedBatch;
use super::models::{ListEnvelope, ListedItem, item_id_hint};
use super::paging::{GuardTrip, NextSkipPager, SkipPager, StreamPager, TokenPager};
use super::{Client, Error};
use serde_json::value::RawValue;

/// Where a listing resumes: what a cursor stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resume {
    /// The next `$skip`.
    Skip(u64),
    /// A continuation token (a reporting stream's watermark).
    Token(String),
}

/// One fetched page.
#[derive(Debug)]
pub struct Page<T> {
    /// The page's items not seen before on this walk.
    pub items: Vec<T>,
    /// When the request was sent: the observation time of the page's rows.
    pub sent_at: DateTime<Utc>,
    /// Where the next walk resumes after this page: the next offset or token, `None` once a
    /// listing is finished. A stream keeps its watermark after its last page.
    pub resume: Option<Resume>,
    /// True for the listing's last page.
    pub last: bool,
}

enum Walker<K> {
    Single { done: bool },
    Offset(SkipPager<K>),
    NextSkip(NextSkipPager<K>),
    Token(TokenPager<K>),
    Stream(StreamPager),
}

impl<K: Eq + std::hash::Hash + Clone> Walker<K> {
    fn new(paging: Paging, from: Option<Resume>) -> Self {
        match paging {
            Paging::Single => Walker::Single { done: false },
            Paging::Offset { top } => Walker::Offset(SkipPager::new(
                top,
                match from {
                    Some(Resume::Skip(s)) => s,
                    _ => 0,
                },
            )),
            Paging::NextSkip { top } => Walker::NextSkip(NextSkipPager::new(
                top,
                match from {
                    Some(Resume::Skip(s)) => s,
                    _ => 0,
                },
            )),
            Paging::HeaderToken { .. } | Paging::HeaderTokenPlainTop { .. } => {
                Walker::Token(TokenPager::new(match from {
                    Some(Resume::Token(t)) => Some(t),
                    _ => None,
                }))
            }
            Paging::Stream => Walker::Stream(StreamPager::new(match from {
                Some(Resume::Token(t)) => Some(t),
                _ => None,
            })),
        }
    }

    /// The paging parameters of the next request, or `None` when finished.
    fn next_query(&self, paging: Paging) -> Option<Vec<(&'static str, String)>> {
        match self {
            Walker::Single { done } => (!done).then(Vec::new),
            Walker::Offset(p) => p
                .next_request()
                .map(|(top, skip)| vec![("$top", top.to_string()), ("$skip", skip.to_string())]),
            Walker::NextSkip(p) => p
                .next_request()
                .map(|(top, skip)| vec![("$top", top.to_string()), ("$skip", skip.to_string())]),
            Walker::Token(p) => p.next_request().map(|token| {
                let mut q = Vec::new();
                match paging {
                    Paging::HeaderToken { top: Some(top) } => q.push(("$top", top.to_string())),
                    Paging::HeaderTokenPlainTop { top } => q.push(("top", top.to_string())),
                    _ => {}
                }
                if let Some(t) = token {
                    q.push(("continuationToken", t.to_string()));
                }
                q
            }),
            Walker::Stream(p) => p.next_request().map(|token| {
                token
                    .map(|t| vec![("continuationToken", t.to_string())])
                    .unwrap_or_default()
            }),
        }
    }
}

impl Client {
    /// Walks `listing` from `from` (a stored [`Resume`], or the start), one page per
    /// request. Each request goes through [`Client::get`] (token pool, retries,
    /// cancellation); the stream ends after the last page or at the first error.
    pub fn pages<L: Listing>(
        &self,
        listing: L,
        from: Option<Resume>,
    ) -> impl Stream<Item = Result<Page<L::Item>, Error>> + Send + 'static {
        let walker = Walker::<L::Key>::new(L::PAGING, from);
        let client = self.clone();
        futures::stream::try_unfold(
            (client, listing, walker),
            |(client, listing, mut walker)| async move {
                let Some(paging_query) = walker.next_query(L::PAGING) else {
                    return Ok(None);
                };
                let endpoint = listing.endpoint();
                let mut query = listing.query();
                query.extend(paging_query);
                let guard = |trip: GuardTrip| client.guard_fired(endpoint.label(), trip);
                let page = match &mut walker {
                    Walker::Single { done } => {
                        let r = client
                            .get::<ListEnvelope<Box<RawValue>>>(&endpoint, &query)
                            .await?;
                        *done = true;
                        Page {
                            items: client.decode::<L>(endpoint.label(), r.body.value),
                            sent_at: r.sent_at,
                            resume: None,
                            last: true,
                        }
                    }
                    Walker::Offset(p) => {
                        let r = client
                            .get::<ListEnvelope<Box<RawValue>>>(&endpoint, &query)
                            .await?;
                        let rows = r.body.value.len() as u64;
                        let items = client.decode::<L>(endpoint.label(), r.body.value);
                        let items = p.accept_of(items, rows, L::key).map_err(guard)?;
                        Page {
                            items,
                            sent_at: r.sent_at,
                            resume: (!p.is_done()).then(|| Resume::Skip(p.skip())),
                            last: p.is_done(),
                        }
                    }
                    Walker::NextSkip(p) => {
                        let r = client
                            .get::<GitPullRequestIterationChanges<Box<RawValue>>>(&endpoint, &query)
                            .await?;
                        let items = client.decode::<L>(endpoint.label(), r.body.change_entries);
                        let items = p.accept(items, r.body.next_skip, L::key).map_err(guard)?;
                        Page {
                            items,
                            sent_at: r.sent_at,
                            resume: (!p.is_done()).then(|| Resume::Skip(p.skip())),
                            last: p.is_done(),
                        }
                    }
                    Walker::Token(p) => {
                        let r = client
                            .get::<ListEnvelope<Box<RawValue>>>(&endpoint, &query)
                            .await?;
                        let next = r.continuation.clone();
                        let items = p
                            .accept(
                                client.decode::<L>(endpoint.label(), r.body.value),
                                next.clone(),
                                L::key,
                            )
                            .map_err(guard)?;
                        Page {
                            items,
                            sent_at: r.sent_at,
                            resume: if p.is_done() {
                                None
                            } else {
                                next.map(Resume::Token)
                            },
                            last: p.is_done(),
                        }
                    }
                    Walker::Stream(p) => {
                        let r = client
                            .get::<StreamedBatch<Box<RawValue>>>(&endpoint, &query)
                            .await?;
                        let next = r.body.continuation();
                        p.accept(next, r.body.is_last_batch).map_err(guard)?;
                        Page {
                            items: client.decode::<L>(endpoint.label(), r.body.values),
                            sent_at: r.sent_at,
                            resume: p.token().map(|t| Resume::Token(t.to_string())),
                            last: p.is_done(),
                        }
                    }
                };
                Ok(Some((page, (client, listing, walker))))
            },
        )
    }

    /// Every item of `listing`, and when its first request was sent.
    pub async fn list_all<L: Listing>(
        &self,
        listing: L,
    ) -> Result<(Vec<L::Item>, DateTime<Utc>), Error> {
        let mut pages = std::pin::pin!(self.pages(listing, None));
        let mut items = Vec::new();
        let mut first: Option<DateTime<Utc>> = None;
        while let Some(page) = pages.next().await {
            let page = page?;
            first.get_or_insert(page.sent_at);
            items.extend(page.items);
        }
        Ok((items, first.unwrap_or_else(Utc::now)))
    }

    /// Decodes a page's items one by one; one that does not have the expected shape is
    /// logged with its id and left out, counted in `items_skipped`.
    fn decode<L: Listing>(&self, endpoint: &str, raws: Vec<Box<RawValue>>) -> Vec<L::Item> {
        raws.into_iter()
            .filter_map(|raw| match L::Item::from_raw(raw) {
                Ok(item) => Some(item),
                Err((e, raw)) => {
                    self.metrics().item_skipped();
                    tracing::error!(
                        connector = %self.connector(),
                        endpoint,
                        item = %item_id_hint(&raw),
                        error = %e,
                        "item skipped: its JSON does not have the expected shape"
                    );
                    None
                }
            })
            .collect()
    }

    /// Logs a fired paging guard with its endpoint and turns it into an error.
    fn guard_fired(&self, endpoint: &'static str, trip: GuardTrip) -> Error {
        tracing::error!(connector = %self.connector(), endpoint, reason = %trip, "paging guard fired");
        Error::PagingGuard {
            endpoint,
            reason: trip.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::endpoint::PullRequestPath;
    use super::super::listing::{PrStatus, PullRequestIterationChanges, PullRequests};
    use super::super::tests::{capped_client, one_response_server};
    use futures::StreamExt;

    fn pr(id: i64, created: &str) -> serde_json::Value {
        serde_json::json!({
            "pullRequestId": id,
            "repository": {"id": "r", "name": "n", "project": {"id": "p", "name": "P"}},
            "status": "active",
            "creationDate": created
        })
    }

    #[tokio::test]
    async fn one_unreadable_item_is_skipped_and_the_page_goes_on() {
        let body = serde_json::json!({"count": 3, "value": [
            pr(1, "2024-03-05T08:09:10Z"),
            pr(2, "the day before yesterday"),
            pr(3, "2024-03-06T08:09:10Z"),
        ]});
        let base = one_response_server(String::new(), body.to_string().into_bytes()).await;
        let client = capped_client(&base, 1);
        let listing = PullRequests {
            project: "P".into(),
            status: PrStatus::All,
            time: None,
        };
        let pages: Vec<_> = client.pages(listing, None).collect().await;
        assert_eq!(pages.len(), 1);
        let page = pages
            .into_iter()
            .next()
            .unwrap()
            .expect("the page is not failed");
        let ids: Vec<i64> = page.items.iter().map(|p| p.value.pull_request_id).collect();
        assert_eq!(ids, vec![1, 3]);
        assert!(page.last, "three server rows of 1,000: the last page");
        assert_eq!(client.metrics().snapshot().items_skipped, 1);
    }

    fn changes(n: std::ops::Range<i64>, next_skip: Option<u64>) -> Vec<u8> {
        let entries: Vec<_> = n
            .map(|i| serde_json::json!({"changeTrackingId": i, "changeType": "add", "item": {"path": format!("/f{i}")}}))
            .collect();
        let mut body = serde_json::json!({"changeEntries": entries});
        if let Some(n) = next_skip {
            body["nextSkip"] = n.into();
        }
        body.to_string().into_bytes()
    }

    fn iteration_changes() -> PullRequestIterationChanges {
        PullRequestIterationChanges {
            pr: PullRequestPath {
                project: "P".into(),
                repository: "r".into(),
                pull_request: 1,
            },
            iteration: 1,
        }
    }

    #[tokio::test]
    async fn iteration_changes_without_next_skip_are_one_page() {
        let base = one_response_server(String::new(), changes(1..4, None)).await;
        let client = capped_client(&base, 1);
        let pages: Vec<_> = client.pages(iteration_changes(), None).collect().await;
        assert_eq!(pages.len(), 1);
        let page = pages.into_iter().next().unwrap().unwrap();
        let ids: Vec<i64> = page
            .items
            .iter()
            .map(|c| c.value.change_tracking_id)
            .collect();
        assert_eq!(ids, vec![1, 2, 3]);
        assert!(page.last && page.resume.is_none());
    }

    #[tokio::test]
    async fn a_next_skip_that_does_not_advance_fires_the_guard() {
        // The same body for every request: after the first page (to offset 2) the server
        // sends `nextSkip: 2` again, which would loop forever.
        let base = one_response_server(String::new(), changes(1..3, Some(2))).await;
        let client = capped_client(&base, 1);
        let pages: Vec<_> = client.pages(iteration_changes(), None).collect().await;
        assert_eq!(pages.len(), 2);
        let first = pages[0].as_ref().unwrap();
        assert_eq!(first.items.len(), 2);
        assert_eq!(first.resume, Some(super::Resume::Skip(2)));
        assert!(!first.last);
        let err = pages[1].as_ref().unwrap_err();
        assert!(
            matches!(
                err,
                super::super::Error::PagingGuard {
                    endpoint: "pull_request_iteration_changes",
                    ..
                }
            ),
            "{err}"
        );
    }
}
