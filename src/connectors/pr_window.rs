//! Where a pull-request backfill stands: a creation-time boundary, not an offset (DESIGN.md
//! "Offsets are not cursors"). Pure bookkeeping; the Repos connector does the requests.
//!
//! The backfill walks a project's `status=all` list newest first. An offset into that list
//! (`$skip`, API_FACTS §1.2) counts rows before it, so when rows before it vanish — a
//! repository deleted, disabled or hidden between two pages, or between a crash and the
//! resume — every later row moves up and the walk jumps over as many PRs as vanished, which
//! no later pass reads again. A creation time does not move: after a committed page the next
//! request asks only for PRs created up to the oldest creation date on that page
//! (`searchCriteria.maxTime` with `queryTimeRangeType=created`, API_FACTS §4.3), so PRs that
//! vanish drop out of the listing without shifting anything, and PRs created during the walk
//! are newer than every window (the incremental pass after the walk finds them: they are
//! active, or closed after the walk started).
//!
//! The edge is where this can lose PRs, so each window reaches [`OVERLAP`] above the boundary:
//! the spec says only "created before this date" (not whether the bound is inclusive), and
//! ADO has been observed to compare these times at about a millisecond, not at the 100 ns
//! its JSON prints (Azure/azure-rest-api-specs#26287: `minTime` equal to a PR's date, and a
//! millisecond later, still listed it). PRs at the boundary instant are therefore always
//! listed again, and the ones already committed are recognised by id ([`Boundary::seen`]).
//! Listing order: ADO sorts the list by `pullRequestId` descending, and ids are handed out at
//! creation, so a page's oldest creation date bounds everything not yet listed. A server
//! that lists PRs newer than the bound has no time filter (older Servers, API_FACTS §4.3);
//! the walk then goes on by offset, as it did before windows.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// How far above the boundary each window reaches: far more than ADO's observed comparison
/// precision (about a millisecond), and few PRs are created that close together, so the
/// overlap costs about one re-listed PR per page.
pub const OVERLAP: TimeDelta = TimeDelta::seconds(1);

/// A backfill walk's position: every PR created after `created + OVERLAP` (and before the
/// walk started) is committed, and so are the PRs named in `seen` and the first `skip` rows
/// of the window `created ≤ created + OVERLAP`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Boundary {
    /// The oldest creation date committed; `None` before the first full page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
    /// PRs created within `OVERLAP` of `created` that are already committed: the next window
    /// lists them again, and they are not written twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<i64>,
    /// Rows of the next window already read. Zero unless a whole page fell within `OVERLAP`
    /// of the boundary (a thousand PRs created in one second, or a page with no readable
    /// item), where the boundary cannot move and only an offset inside the window advances.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skip: u64,
    /// The server ignores `maxTime`: a window listed PRs newer than its bound. The time
    /// filters exist only from api-version 7.1 and Azure DevOps Server 2022.1 (API_FACTS
    /// §4.3), so on an older Server the walk can only go by offset, as before windows.
    #[serde(default, skip_serializing_if = "is_false")]
    pub by_offset: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What the next request of a walk asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// `searchCriteria.maxTime` (creation); `None` lists from the newest PR.
    pub max_time: Option<DateTime<Utc>>,
    /// `$skip` inside that window.
    pub skip: u64,
}

impl Boundary {
    /// The request that continues the walk from here.
    pub fn request(&self) -> Request {
        Request {
            max_time: self
                .created
                .filter(|_| !self.by_offset)
                .map(|c| c + OVERLAP),
            skip: self.skip,
        }
    }

    /// Whether a listed PR was already committed by an earlier page of this walk.
    pub fn is_seen(&self, id: i64) -> bool {
        self.seen.contains(&id)
    }

    /// The position after a full page (`rows` server rows, of which `items` — id and creation
    /// date — could be read) has been committed. A page shorter than `$top` ends the walk
    /// instead.
    pub fn after_page(&self, items: &[(i64, DateTime<Utc>)], rows: u64) -> Boundary {
        let bound = self.request().max_time;
        let ignored = bound.is_some_and(|m| items.iter().any(|(_, c)| *c > m + OVERLAP));
        if self.by_offset || ignored {
            // The page is the one at `skip` of the whole list: continue after it.
            return Boundary {
                created: self.created,
                seen: Vec::new(),
                skip: self.skip + rows,
                by_offset: true,
            };
        }
        let oldest = items.iter().map(|(_, c)| *c).min();
        match oldest {
            Some(oldest) if self.created.is_none_or(|b| oldest < b) => Boundary {
                created: Some(oldest),
                seen: items
                    .iter()
                    .filter(|(_, c)| *c <= oldest + OVERLAP)
                    .map(|(id, _)| *id)
                    .collect(),
                skip: 0,
                by_offset: false,
            },
            // The window did not move: step over the page inside it.
            _ => {
                let mut seen = self.seen.clone();
                seen.extend(
                    items
                        .iter()
                        .map(|(id, _)| *id)
                        .filter(|id| !self.is_seen(*id)),
                );
                Boundary {
                    created: self.created,
                    seen,
                    skip: self.skip + rows,
                    by_offset: false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    type Pr = (i64, DateTime<Utc>);

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_700_000_000_000 + ms).unwrap()
    }

    /// A server's creation-time comparison: exclusive or inclusive `maxTime`, at a precision;
    /// `precision_ms: 0` ignores `maxTime` (a Server older than 2022.1).
    #[derive(Clone, Copy, Debug)]
    struct Server {
        inclusive: bool,
        precision_ms: i64,
    }

    impl Server {
        /// The newest-first page of `prs` (ascending by id and creation) for `req`.
        fn page(&self, prs: &[Pr], req: Request, top: usize) -> Vec<Pr> {
            let round = |t: DateTime<Utc>| t.timestamp_millis().div_euclid(self.precision_ms);
            prs.iter()
                .rev()
                .filter(|(_, c)| {
                    req.max_time
                        .filter(|_| self.precision_ms > 0)
                        .is_none_or(|m| {
                            if self.inclusive {
                                round(*c) <= round(m)
                            } else {
                                round(*c) < round(m)
                            }
                        })
                })
                .skip(req.skip as usize)
                .take(top)
                .copied()
                .collect()
        }
    }

    const SERVERS: [Server; 3] = [
        Server {
            inclusive: false,
            precision_ms: 1,
        },
        Server {
            inclusive: true,
            precision_ms: 1,
        },
        Server {
            inclusive: false,
            precision_ms: 3,
        },
    ];

    /// Walks `prs` with pages of `top`, calling `between(page_no, prs)` after each committed
    /// page (and a cursor round trip, as after a crash); returns the ids committed, the PRs
    /// that exist at the end, and the number of requests.
    fn walk(
        server: Server,
        mut prs: Vec<Pr>,
        top: usize,
        mut between: impl FnMut(usize, &mut Vec<Pr>),
    ) -> (BTreeSet<i64>, BTreeSet<i64>, usize) {
        let mut b = Boundary::default();
        let mut committed = BTreeSet::new();
        for n in 1..1000 {
            let page = server.page(&prs, b.request(), top);
            committed.extend(page.iter().map(|(id, _)| *id).filter(|id| !b.is_seen(*id)));
            if page.len() < top {
                let exist = prs.iter().map(|p| p.0).collect();
                return (committed, exist, n);
            }
            b = b.after_page(&page, page.len() as u64);
            b = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
            between(n, &mut prs);
        }
        panic!("the walk did not end");
    }

    /// 100 PRs, 7 s apart, with runs of one creation date at 30..=33 and 60..=63.
    fn history() -> Vec<Pr> {
        (1..=100)
            .map(|id| {
                let t = match id {
                    30..=33 => 30,
                    60..=63 => 60,
                    _ => id,
                };
                (id, at(t * 7_000))
            })
            .collect()
    }

    fn missed(exist: &BTreeSet<i64>, got: &BTreeSet<i64>) -> Vec<i64> {
        exist.difference(got).copied().collect()
    }

    #[test]
    fn a_shrinking_list_hides_no_pr() {
        for server in SERVERS {
            // After the first page a "repository" (every third id) vanishes, newest PRs and
            // unread ones alike; after the third, every fifth id above 20.
            let (got, exist, _) = walk(server, history(), 10, |n, prs| match n {
                1 => prs.retain(|(id, _)| id % 3 != 0),
                3 => prs.retain(|(id, _)| id % 5 != 0 || *id <= 20),
                _ => {}
            });
            assert!(exist.len() < 70);
            assert_eq!(missed(&exist, &got), Vec::<i64>::new(), "{server:?}");
        }
    }

    /// The same shrinking list walked by `$skip`, as the backfill did before: the scenario
    /// above does catch the offset bug.
    #[test]
    fn an_offset_walk_of_the_same_list_misses_prs() {
        let mut prs = history();
        let mut got = BTreeSet::new();
        for (n, skip) in (0..).step_by(10).enumerate() {
            let page: Vec<Pr> = prs.iter().rev().skip(skip).take(10).copied().collect();
            got.extend(page.iter().map(|p| p.0));
            if page.len() < 10 {
                break;
            }
            if n == 0 {
                prs.retain(|(id, _)| id % 3 != 0);
            }
        }
        let exist: BTreeSet<i64> = prs.iter().map(|p| p.0).collect();
        assert_eq!(missed(&exist, &got), vec![86, 88, 89], "jumped over");
    }

    #[test]
    fn pages_cut_through_runs_of_one_creation_date_lose_nothing() {
        for server in SERVERS {
            for top in [3, 4, 5, 10] {
                let (got, exist, requests) = walk(server, history(), top, |_, _| {});
                assert_eq!(
                    missed(&exist, &got),
                    Vec::<i64>::new(),
                    "{server:?} top {top}"
                );
                // About one re-listed PR per page, so hardly more requests than pages.
                assert!(
                    requests <= 100 / (top - 1) + 2,
                    "{server:?} top {top}: {requests} requests"
                );
            }
        }
    }

    #[test]
    fn prs_created_during_the_walk_stay_out_of_its_windows() {
        for server in SERVERS {
            let (got, exist, _) = walk(server, history(), 10, |n, prs| {
                prs.push((200 + n as i64, at(10_000_000 + n as i64 * 7_000)));
            });
            assert_eq!(got.iter().filter(|id| **id > 100).count(), 0, "{server:?}");
            let old: BTreeSet<i64> = exist.into_iter().filter(|id| *id <= 100).collect();
            assert_eq!(missed(&old, &got), Vec::<i64>::new(), "{server:?}");
        }
    }

    #[test]
    fn a_server_without_the_time_filter_is_walked_by_offset() {
        let server = Server {
            inclusive: false,
            precision_ms: 0,
        };
        let (got, exist, requests) = walk(server, history(), 10, |_, _| {});
        assert_eq!(missed(&exist, &got), Vec::<i64>::new());
        assert_eq!(requests, 12, "one wasted request, then offsets");
    }

    #[test]
    fn a_page_within_one_instant_steps_over_by_offset() {
        // 25 PRs created at the same millisecond, then 15 ten seconds apart; pages of 10.
        let prs: Vec<Pr> = (1..=25)
            .map(|id| (id, at(0)))
            .chain((26..=40).map(|id| (id, at(id * 10_000))))
            .collect();
        for server in SERVERS {
            let (got, exist, _) = walk(server, prs.clone(), 10, |_, _| {});
            assert_eq!(missed(&exist, &got), Vec::<i64>::new(), "{server:?}");
        }
    }

    #[test]
    fn the_window_reaches_overlap_above_the_boundary() {
        let page = [(9, at(5_000)), (8, at(3_500)), (7, at(3_000))];
        let b = Boundary::default().after_page(&page, 3);
        assert_eq!(b.created, Some(at(3_000)));
        assert_eq!(
            b.seen,
            vec![8, 7],
            "the PRs within a second of the boundary"
        );
        assert_eq!(
            b.request(),
            Request {
                max_time: Some(at(4_000)),
                skip: 0
            }
        );
        assert_eq!(
            serde_json::to_string(&b).unwrap(),
            r#"{"created":"2023-11-14T22:13:23Z","seen":[8,7]}"#
        );
    }
}
