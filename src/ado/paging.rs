//! Pagination state machines with loop guards, independent of HTTP so they can be tested
//! exhaustively: `$top/$skip` offset paging, offset paging led by the body's `nextSkip`,
//! continuation-token paging and reporting streams.
//! [`super::Client::pages`] drives them for any [`super::listing::Listing`]; no other code
//! pages.
//!
//! ADO paging is not always trustworthy (API_FACTS §1.1: build continuation tokens observed to
//! return the first page again; §1.2: undocumented default page sizes), so every loop stops on a
//! repeated continuation token, a page identical to the previous one, or an iteration cap, and
//! de-duplicates items by id. A guard that fires is reported as `GuardTrip` with the reason, and
//! the caller logs it with the endpoint.

use std::collections::HashSet;
use std::hash::Hash;

/// Default iteration cap: far above any real listing (1,000 × 1,000-item pages).
pub const DEFAULT_MAX_PAGES: u32 = 100_000;

/// Why a paging loop was stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardTrip {
    /// The server returned a continuation token it already returned.
    RepeatedToken(String),
    /// The server returned exactly the previous page again.
    RepeatedPage,
    /// More pages than the cap allows.
    TooManyPages(u32),
    /// A `nextSkip` that does not move past the offset just read (`at`).
    SkipNotAdvancing { at: u64, next: u64 },
}

impl std::fmt::Display for GuardTrip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuardTrip::RepeatedToken(t) => write!(f, "continuation token `{t}` repeated"),
            GuardTrip::RepeatedPage => write!(f, "the same page came back twice"),
            GuardTrip::TooManyPages(n) => write!(f, "more than {n} pages"),
            GuardTrip::SkipNotAdvancing { at, next } => {
                write!(f, "nextSkip {next} does not move past the offset {at}")
            }
        }
    }
}

/// `$top/$skip` paging: ask for `top` items at `skip`; a page shorter than `top` is the last.
#[derive(Debug)]
pub struct SkipPager<K> {
    top: u32,
    skip: u64,
    pages: u32,
    max_pages: u32,
    done: bool,
    seen: HashSet<K>,
    last_page: Option<Vec<K>>,
    repeats: u32,
}

/// Identical consecutive pages tolerated before the walk is stopped. One repeat can be
/// legitimate: on a newest-first list, exactly `$top` items created between two requests
/// shift the previous page into the next offset. A server that ignores `$skip` repeats
/// forever.
const MAX_PAGE_REPEATS: u32 = 2;

impl<K: Eq + Hash + Clone> SkipPager<K> {
    /// Starts at `skip` (non-zero when resuming from a cursor).
    pub fn new(top: u32, skip: u64) -> Self {
        Self {
            top: top.max(1),
            skip,
            pages: 0,
            max_pages: DEFAULT_MAX_PAGES,
            done: false,
            seen: HashSet::new(),
            last_page: None,
            repeats: 0,
        }
    }

    pub fn with_max_pages(mut self, max_pages: u32) -> Self {
        self.max_pages = max_pages;
        self
    }

    /// The next `($top, $skip)` to request, or `None` when finished.
    pub fn next_request(&self) -> Option<(u32, u64)> {
        (!self.done).then_some((self.top, self.skip))
    }

    /// The offset the next request starts at (what a cursor stores to resume).
    pub fn skip(&self) -> u64 {
        self.skip
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Takes a fetched page: returns the items not seen before on this walk, advances the
    /// offset by the page's length (not by the de-duplicated count: offsets count server rows).
    pub fn accept<T>(&mut self, items: Vec<T>, key: impl Fn(&T) -> K) -> Result<Vec<T>, GuardTrip> {
        let len = items.len() as u64;
        self.accept_of(items, len, key)
    }

    /// [`Self::accept`] for a page of `server_rows` rows of which only `items` could be read:
    /// the offset still moves by what the server sent.
    pub fn accept_of<T>(
        &mut self,
        items: Vec<T>,
        server_rows: u64,
        key: impl Fn(&T) -> K,
    ) -> Result<Vec<T>, GuardTrip> {
        self.pages += 1;
        if self.pages > self.max_pages {
            self.done = true;
            return Err(GuardTrip::TooManyPages(self.max_pages));
        }
        let keys: Vec<K> = items.iter().map(&key).collect();
        if !keys.is_empty() && self.last_page.as_ref() == Some(&keys) {
            self.repeats += 1;
            if self.repeats > MAX_PAGE_REPEATS {
                self.done = true;
                return Err(GuardTrip::RepeatedPage);
            }
        } else {
            self.repeats = 0;
        }
        let len = server_rows;
        self.skip += len;
        if len < u64::from(self.top) {
            self.done = true;
        }
        let fresh = items
            .into_iter()
            .zip(keys.iter())
            .filter(|(_, k)| self.seen.insert((*k).clone()))
            .map(|(t, _)| t)
            .collect();
        self.last_page = Some(keys);
        Ok(fresh)
    }
}

/// Offset paging where the body names the next offset (PR iteration changes: `nextSkip`,
/// "zero if there are no more changes", API_FACTS §1.2). Unlike [`SkipPager`] a short page
/// does not end the walk: ADO may cap a page below `$top` and still say where to go on. A
/// `nextSkip` that does not move forward stops the walk.
#[derive(Debug)]
pub struct NextSkipPager<K> {
    top: u32,
    skip: u64,
    pages: u32,
    max_pages: u32,
    done: bool,
    seen: HashSet<K>,
}

impl<K: Eq + Hash + Clone> NextSkipPager<K> {
    /// Starts at `skip` (non-zero when resuming from a cursor).
    pub fn new(top: u32, skip: u64) -> Self {
        Self {
            top: top.max(1),
            skip,
            pages: 0,
            max_pages: DEFAULT_MAX_PAGES,
            done: false,
            seen: HashSet::new(),
        }
    }

    pub fn with_max_pages(mut self, max_pages: u32) -> Self {
        self.max_pages = max_pages;
        self
    }

    /// The next `($top, $skip)` to request, or `None` when finished.
    pub fn next_request(&self) -> Option<(u32, u64)> {
        (!self.done).then_some((self.top, self.skip))
    }

    /// The offset the next request starts at.
    pub fn skip(&self) -> u64 {
        self.skip
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Takes a page and its `nextSkip`; returns the items not seen before on this walk.
    pub fn accept<T>(
        &mut self,
        items: Vec<T>,
        next_skip: Option<u64>,
        key: impl Fn(&T) -> K,
    ) -> Result<Vec<T>, GuardTrip> {
        self.pages += 1;
        if self.pages > self.max_pages {
            self.done = true;
            return Err(GuardTrip::TooManyPages(self.max_pages));
        }
        match next_skip.filter(|&n| n != 0) {
            None => self.done = true,
            Some(next) if next <= self.skip => {
                self.done = true;
                return Err(GuardTrip::SkipNotAdvancing {
                    at: self.skip,
                    next,
                });
            }
            Some(next) => self.skip = next,
        }
        Ok(items
            .into_iter()
            .filter(|t| self.seen.insert(key(t)))
            .collect())
    }
}

/// Continuation-token paging: a response without a token is the last.
#[derive(Debug)]
pub struct TokenPager<K> {
    token: Option<String>,
    started: bool,
    done: bool,
    pages: u32,
    max_pages: u32,
    seen_tokens: HashSet<String>,
    seen: HashSet<K>,
}

impl<K: Eq + Hash + Clone> TokenPager<K> {
    /// Starts from `token` (a stored cursor) or from the beginning.
    pub fn new(token: Option<String>) -> Self {
        Self {
            token,
            started: false,
            done: false,
            pages: 0,
            max_pages: DEFAULT_MAX_PAGES,
            seen_tokens: HashSet::new(),
            seen: HashSet::new(),
        }
    }

    pub fn with_max_pages(mut self, max_pages: u32) -> Self {
        self.max_pages = max_pages;
        self
    }

    /// `None` when finished; `Some(None)` for the first request without a token.
    pub fn next_request(&self) -> Option<Option<&str>> {
        if self.done {
            None
        } else if !self.started {
            Some(self.token.as_deref())
        } else {
            self.token.as_deref().map(Some)
        }
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Takes a page and the token that came with it; returns the items not seen before.
    pub fn accept<T>(
        &mut self,
        items: Vec<T>,
        next_token: Option<String>,
        key: impl Fn(&T) -> K,
    ) -> Result<Vec<T>, GuardTrip> {
        self.started = true;
        self.pages += 1;
        if self.pages > self.max_pages {
            self.done = true;
            return Err(GuardTrip::TooManyPages(self.max_pages));
        }
        let fresh = items
            .into_iter()
            .filter(|t| self.seen.insert(key(t)))
            .collect();
        match next_token.filter(|t| !t.is_empty()) {
            None => {
                self.done = true;
                self.token = None;
            }
            Some(t) => {
                if !self.seen_tokens.insert(t.clone()) || self.token.as_deref() == Some(&t) {
                    self.done = true;
                    return Err(GuardTrip::RepeatedToken(t));
                }
                self.token = Some(t);
            }
        }
        Ok(fresh)
    }
}

/// A reporting stream (API_FACTS §1.6): pages until `isLastBatch`; every page's token is a
/// watermark, kept after the last page so the next run resumes from it. A stream that is not
/// at its end must move on: a missing or repeated token stops it.
#[derive(Debug)]
pub struct StreamPager {
    token: Option<String>,
    started: bool,
    done: bool,
    pages: u32,
    max_pages: u32,
    seen_tokens: HashSet<String>,
}

impl StreamPager {
    /// Starts from `token` (a stored watermark) or from the beginning.
    pub fn new(token: Option<String>) -> Self {
        Self {
            token,
            started: false,
            done: false,
            pages: 0,
            max_pages: DEFAULT_MAX_PAGES,
            seen_tokens: HashSet::new(),
        }
    }

    /// `None` when finished; otherwise the token to send (none on a first request).
    pub fn next_request(&self) -> Option<Option<&str>> {
        (!self.done).then_some(self.token.as_deref())
    }

    /// The watermark after the pages accepted so far.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Takes a page's token and last-batch flag.
    pub fn accept(&mut self, next: Option<String>, last: bool) -> Result<(), GuardTrip> {
        self.pages += 1;
        let first = !self.started;
        self.started = true;
        if self.pages > self.max_pages {
            self.done = true;
            return Err(GuardTrip::TooManyPages(self.max_pages));
        }
        let next = next.filter(|t| !t.is_empty());
        if last {
            self.done = true;
            if next.is_some() {
                self.token = next;
            }
            return Ok(());
        }
        match next {
            Some(t)
                if self.seen_tokens.insert(t.clone())
                    && (first || self.token.as_deref() != Some(&t)) =>
            {
                self.token = Some(t);
                Ok(())
            }
            other => {
                self.done = true;
                Err(GuardTrip::RepeatedToken(other.unwrap_or_default()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A well-behaved server over `0..n` with page size `top`.
    fn serve(n: u64, top: u32, skip: u64) -> Vec<u64> {
        (skip..(skip + u64::from(top)).min(n)).collect()
    }

    proptest! {
        #[test]
        fn skip_pager_reads_everything_exactly_once(n in 0u64..5000, top in 1u32..1200) {
            let mut p = SkipPager::new(top, 0);
            let mut got = Vec::new();
            let mut requests = 0;
            while let Some((t, s)) = p.next_request() {
                requests += 1;
                got.extend(p.accept(serve(n, t, s), |x| *x).unwrap());
            }
            prop_assert_eq!(got, (0..n).collect::<Vec<_>>());
            // Minimum requests: one per full page plus the final short one.
            prop_assert_eq!(requests, n / u64::from(top) + 1);
        }

        #[test]
        fn skip_pager_survives_inserts_at_the_front(n in 10u64..3000, top in 1u32..500, inserts in 0u64..50) {
            // Newest-first lists shift when items are created mid-walk; duplicates are dropped
            // and nothing is lost. One item is created per request, every other request once
            // `top` is 1 (then a page may legitimately equal the previous one, once).
            let mut p = SkipPager::new(top, 0);
            let mut got = HashSet::new();
            let mut front = 0u64; // items created before the walk's current position
            while let Some((t, s)) = p.next_request() {
                let total = n + front;
                // The server's list: newest (largest) first.
                let page: Vec<u64> = (s..(s + u64::from(t)).min(total)).map(|i| total - 1 - i).collect();
                for x in p.accept(page, |x| *x).unwrap() {
                    prop_assert!(got.insert(x));
                }
                if front < inserts && (top > 1 || p.skip() % 2 == 0) { front += 1; }
            }
            for x in 0..n { prop_assert!(got.contains(&x)); }
        }

        #[test]
        fn next_skip_pager_reads_everything_exactly_once(
            n in 0u64..6000, top in 1u32..2500, cap in 1u32..2500, zero_at_end in any::<bool>(),
        ) {
            // A server that caps pages at `cap` (below `$top` or not) and names the next
            // offset while there is more; at the end it sends 0 or leaves `nextSkip` out.
            let mut p = NextSkipPager::new(top, 0);
            let mut got = Vec::new();
            let mut requests = 0u64;
            while let Some((t, s)) = p.next_request() {
                requests += 1;
                let end = (s + u64::from(t.min(cap))).min(n);
                let next = if end < n { Some(end) } else if zero_at_end { Some(0) } else { None };
                got.extend(p.accept((s..end).collect(), next, |x| *x).unwrap());
            }
            prop_assert_eq!(got, (0..n).collect::<Vec<_>>());
            let page = u64::from(top.min(cap));
            prop_assert_eq!(requests, n.div_ceil(page).max(1));
        }

        #[test]
        fn next_skip_pager_stops_on_any_skip_that_does_not_advance(
            nexts in proptest::collection::vec(proptest::option::of(0u64..40), 1..60),
        ) {
            let mut p = NextSkipPager::<u64>::new(10, 0);
            let mut i = 0;
            while let Some((_, at)) = p.next_request() {
                let next = nexts.get(i).copied().flatten();
                i += 1;
                match (p.accept(vec![i as u64], next, |x| *x), next) {
                    (Ok(_), None | Some(0)) => prop_assert!(p.is_done()),
                    (Ok(_), Some(n)) => prop_assert!(n > at && p.skip() == n),
                    (Err(GuardTrip::SkipNotAdvancing { at: a, next: b }), Some(n)) => {
                        prop_assert!(n <= at && n != 0 && a == at && b == n);
                        prop_assert!(p.next_request().is_none());
                    }
                    (other, _) => prop_assert!(false, "unexpected {:?}", other),
                }
                // Every request either moves forward or ends the walk.
                prop_assert!(i <= nexts.len() + 1);
            }
        }

        #[test]
        fn token_pager_stops_on_any_repeated_token(tokens in proptest::collection::vec(0u8..20, 1..60)) {
            let mut p = TokenPager::<u32>::new(None);
            let mut i = 0;
            let mut seen = HashSet::new();
            let mut tripped = false;
            while p.next_request().is_some() {
                let tok = tokens.get(i).map(|t| t.to_string());
                i += 1;
                match p.accept(vec![i as u32], tok.clone(), |x| *x) {
                    Ok(_) => { if let Some(t) = tok { prop_assert!(seen.insert(t)); } }
                    Err(GuardTrip::RepeatedToken(t)) => { prop_assert!(seen.contains(&t)); tripped = true; }
                    Err(other) => prop_assert!(false, "unexpected {:?}", other),
                }
                prop_assert!(i <= tokens.len() + 1);
            }
            let distinct: HashSet<_> = tokens.iter().collect();
            prop_assert_eq!(tripped, distinct.len() < tokens.len());
        }
    }

    #[test]
    fn a_page_repeating_forever_stops_the_walk() {
        let mut p = SkipPager::new(2, 0);
        assert_eq!(p.accept(vec![1, 2], |x| *x).unwrap(), vec![1, 2]);
        // Once or twice can be a shift by exactly `$top` new items: tolerated, nothing new.
        assert_eq!(p.accept(vec![1, 2], |x| *x).unwrap(), Vec::<i32>::new());
        assert_eq!(p.accept(vec![1, 2], |x| *x).unwrap(), Vec::<i32>::new());
        assert_eq!(p.accept(vec![1, 2], |x| *x), Err(GuardTrip::RepeatedPage));
        assert!(p.next_request().is_none());
    }

    #[test]
    fn a_full_page_with_an_unreadable_item_is_not_the_last() {
        let mut p = SkipPager::new(3, 0);
        // Three rows sent, one could not be read: the offset moves by three, the walk goes on.
        assert_eq!(p.accept_of(vec![1, 3], 3, |x| *x).unwrap(), vec![1, 3]);
        assert_eq!(p.skip(), 3);
        assert_eq!(p.next_request(), Some((3, 3)));
    }

    #[test]
    fn iteration_cap_stops_a_server_that_never_ends() {
        let mut p = TokenPager::new(None).with_max_pages(3);
        let mut n = 0u32;
        let mut last = Ok(vec![]);
        while p.next_request().is_some() {
            n += 1;
            last = p.accept(vec![n], Some(format!("t{n}")), |x| *x);
        }
        assert_eq!(last, Err(GuardTrip::TooManyPages(3)));
    }

    #[test]
    fn a_stream_keeps_its_watermark_and_stops_on_a_stuck_token() {
        let mut p = StreamPager::new(Some("w0".into()));
        assert_eq!(p.next_request(), Some(Some("w0")));
        p.accept(Some("w1".into()), false).unwrap();
        p.accept(Some("w2".into()), true).unwrap();
        assert!(p.next_request().is_none());
        assert_eq!(
            p.token(),
            Some("w2"),
            "the last token is the next run's start"
        );

        let mut stuck = StreamPager::new(None);
        stuck.accept(Some("a".into()), false).unwrap();
        assert_eq!(
            stuck.accept(Some("a".into()), false),
            Err(GuardTrip::RepeatedToken("a".into()))
        );
        let mut lost = StreamPager::new(None);
        assert!(lost.accept(None, false).is_err(), "not last, no token");
    }

    #[test]
    fn next_skip_pager_drops_items_seen_on_an_earlier_page_and_caps_pages() {
        let mut p = NextSkipPager::new(2, 0);
        assert_eq!(p.accept(vec![1, 2], Some(2), |x| *x).unwrap(), vec![1, 2]);
        assert_eq!(p.accept(vec![2, 3], Some(4), |x| *x).unwrap(), vec![3]);
        assert_eq!(p.accept(vec![4], None, |x| *x).unwrap(), vec![4]);
        assert!(p.next_request().is_none());

        let mut endless = NextSkipPager::new(1, 0).with_max_pages(3);
        let mut last = Ok(vec![]);
        while let Some((_, s)) = endless.next_request() {
            last = endless.accept(vec![s], Some(s + 1), |x| *x);
        }
        assert_eq!(last, Err(GuardTrip::TooManyPages(3)));
    }

    #[test]
    fn resume_starts_at_the_stored_offset() {
        let p = SkipPager::<u64>::new(1000, 3000);
        assert_eq!(p.next_request(), Some((1000, 3000)));
        let t = TokenPager::<u64>::new(Some("813;350;1".into()));
        assert_eq!(t.next_request(), Some(Some("813;350;1")));
    }
}
