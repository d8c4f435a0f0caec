//! Cutting a dataset's range into windows of about equal record count, so that enough cursors
//! read it side by side to use the platform's whole rate limit.
//!
//! One cursor fetches a page per round trip: at 80 ms it reads 12 pages a second where the limit
//! allows 50. Cutting by date ("the last 7 days, 30 days, a year") fails the shops whose records
//! are old or bunched; cutting by count does not. The platform counts a range with one small
//! request ([`Platform::census`]); a range holding more than a window's worth is cut into equal
//! spans of time, each counted, and the crowded ones are cut again. Leaves are then joined, in
//! time order, into windows of up to the target. The counts are exact, so the windows are too;
//! time only decides where to look.
//!
//! The round trip of the first count sizes the work: about `rate × round trip` cursors keep the
//! limit busy ([`Split::chains`]), and each window is a few pages, so that the windows a cursor
//! fetches ahead of the writer fit in memory whole.
//!
//! A count costs a request from the same budget as a page, so where the platform can, a count is
//! also the first page of its span ([`CensusRequest::first_page`]): a span that becomes a window
//! of its own starts from that page, and counting then costs almost nothing. That is asked only
//! when the dataset makes few windows (they all run at once, their first pages are needed at
//! once, and holding them is cheap); a big dataset is counted with small requests.

use tokio::time::Instant;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use crate::error::Result;
use crate::platform::{CensusRequest, Dataset, Page, Platform, Shop, TimeRange};

/// Requests a window takes at least (fewer is all overhead: a count per window) and at most (a
/// window is fetched ahead whole: its pages must fit in memory beside the other cursors').
const WINDOW_REQUESTS: std::ops::RangeInclusive<u64> = 3..=20;
/// Cursors per dataset at most, whatever the round trip.
pub(super) const MAX_CHAINS: usize = 16;
/// A range is cut into at most this many spans at a time.
const FAN_OUT: u64 = 16;
/// Counts in flight at once (the platform's limiter paces them).
const COUNTS_IN_FLIGHT: usize = FAN_OUT as usize;

/// How a dataset is read: its windows, oldest first, and how many are read at once.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Split {
    /// Together exactly the export's range, without overlap; one window is a single cursor.
    pub windows: Vec<TimeRange>,
    /// Each window's first page, when its count brought it (as long as `windows`).
    pub first_pages: Vec<Option<Page>>,
    /// Windows fetched at the same time.
    pub chains: usize,
}

impl Split {
    fn single(range: &TimeRange, first_page: Option<Page>) -> Split {
        Split { windows: vec![*range], first_pages: vec![first_page], chains: 1 }
    }
}

/// Cursors that keep `rate` requests a second busy when each takes `round_trip`: the product,
/// with room for pages slower than the one-record count, and one more while one waits on the
/// writer. No known limit: a handful.
fn chains(rate: Option<u32>, round_trip: std::time::Duration) -> usize {
    let Some(rate) = rate else { return 4 };
    let busy = f64::from(rate) * round_trip.as_secs_f64() * 1.5;
    (busy.ceil() as usize + 1).clamp(1, MAX_CHAINS)
}

/// A span `[lo, hi)` in Unix seconds, the records in it, and its first page when the count
/// brought it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    lo: i64,
    hi: i64,
    records: u64,
    page: Option<Page>,
}

fn at(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

/// The export's range and the seconds `[lo, hi)` its cutting works in: `lo`/`hi` are the range's
/// own bounds, or where its records start and end when it is open.
#[derive(Debug, Clone, Copy)]
struct Edges<'a> {
    range: &'a TimeRange,
    lo: i64,
    hi: i64,
}

impl Edges<'_> {
    /// The time range of the span `[lo, hi)`: the export's own bounds at its edges (an open end
    /// stays open, so records newer than the count are read too), so a span's count is made with
    /// the very query its window is read with, and its first page can start the window.
    fn range_of(&self, lo: i64, hi: i64) -> TimeRange {
        TimeRange {
            since: if lo == self.lo { self.range.since } else { at(lo) },
            until: if hi == self.hi { self.range.until } else { at(hi) },
        }
    }
}

/// Chooses how `dataset` of `shop` is read over `range`; `now` closes an open-ended range for the
/// cutting (records newer than it fall in the last window, whose end stays open).
pub(super) async fn plan(
    platform: &dyn Platform,
    shop: &Shop,
    dataset: Dataset,
    range: &TimeRange,
    now: DateTime<Utc>,
) -> Result<Split> {
    let started = Instant::now();
    let request = CensusRequest { dataset, range, first_page: true, ends: true };
    let Some(census) = platform.census(shop, request).await? else { return Ok(Split::single(range, None)) };
    let chains = chains(platform.rate_limit(), started.elapsed());
    let per_request = u64::from(census.per_request.max(1));
    let requests = census.records.div_ceil(per_request);
    if chains < 2 || requests < 2 * WINDOW_REQUESTS.start() {
        return Ok(Split::single(range, census.page));
    }
    let window_requests = requests.div_ceil(chains as u64).clamp(*WINDOW_REQUESTS.start(), *WINDOW_REQUESTS.end());
    let target = window_requests * per_request;
    let lo = range.since.or(census.first).map_or(0, |t| t.timestamp());
    let hi = range.until.or(census.last.map(|t| t + chrono::Duration::seconds(1))).unwrap_or(now).timestamp();
    let hi = if range.until.is_none() { hi.max(lo + 1) } else { hi };
    if hi - lo < 2 {
        return Ok(Split::single(range, census.page));
    }
    let edges = Edges { range, lo, hi };
    let counting =
        Counting { platform, shop, dataset, edges, first_pages: census.records.div_ceil(target) <= MAX_CHAINS as u64 };
    let leaves = counting.cut(Piece { lo, hi, records: census.records, page: None }, target).await?;
    let (windows, first_pages) = join(leaves, target, &edges);
    tracing::debug!(%dataset, records = census.records, windows = windows.len(), chains, "cut into windows by count");
    // Few enough windows all run at once: with one cursor short, the last window would start
    // alone when the others end and be read at one page per round trip.
    let chains = if windows.len() <= MAX_CHAINS { windows.len() } else { chains };
    Ok(Split { chains, windows, first_pages })
}

/// What the cutting counts with.
struct Counting<'a> {
    platform: &'a dyn Platform,
    shop: &'a Shop,
    dataset: Dataset,
    edges: Edges<'a>,
    /// Whether each span's count brings its first page.
    first_pages: bool,
}

impl Counting<'_> {
    /// Cuts `root` until every piece holds at most `target` records (or one second), level by
    /// level, the counts of a level side by side.
    async fn cut(&self, root: Piece, target: u64) -> Result<Vec<Piece>> {
        let mut leaves = Vec::new();
        // A guard against a platform whose counts never shrink: the cutting stops, the windows
        // are then only larger than wished.
        let mut budget = 64 + 4 * root.records.div_ceil(target.max(1)) * FAN_OUT;
        let mut crowded = vec![root];
        while !crowded.is_empty() && budget > 0 {
            let spans: Vec<(i64, i64)> = crowded.drain(..).flat_map(|p| spans(&p, target)).collect();
            budget = budget.saturating_sub(spans.len() as u64);
            let counted: Vec<Result<Piece>> = futures_util::stream::iter(spans)
                .map(|(lo, hi)| self.count(lo, hi))
                .buffered(COUNTS_IN_FLIGHT)
                .collect()
                .await;
            for piece in counted {
                let piece = piece?;
                if piece.records <= target || piece.hi - piece.lo <= 1 {
                    leaves.push(piece);
                } else {
                    crowded.push(Piece { page: None, ..piece });
                }
            }
        }
        leaves.extend(crowded);
        leaves.sort_by_key(|p| p.lo);
        Ok(leaves)
    }

    /// The span `[lo, hi)` counted.
    async fn count(&self, lo: i64, hi: i64) -> Result<Piece> {
        let range = self.edges.range_of(lo, hi);
        let request = CensusRequest { dataset: self.dataset, range: &range, first_page: self.first_pages, ends: false };
        Ok(match self.platform.census(self.shop, request).await? {
            Some(c) => Piece { lo, hi, records: c.records, page: c.page },
            // A platform that counted the whole range counts its parts.
            None => Piece { lo, hi, records: u64::MAX, page: None },
        })
    }
}

/// `piece` cut into equal spans of time, as many as it holds targets' worth of records (2 to
/// [`FAN_OUT`]).
fn spans(piece: &Piece, target: u64) -> Vec<(i64, i64)> {
    let parts = piece.records.div_ceil(target.max(1)).clamp(2, FAN_OUT);
    let width = piece.hi - piece.lo;
    let parts = parts.min(u64::try_from(width).unwrap_or(1).max(1));
    let mut cuts: Vec<i64> = (0..=parts)
        .map(|k| piece.lo + i64::try_from(i128::from(width) * i128::from(k) / i128::from(parts)).unwrap_or(piece.hi))
        .collect();
    cuts.dedup();
    cuts.windows(2).map(|w| (w[0], w[1])).collect()
}

/// Joins the leaves, in time order, into windows of up to `target` records each; the first
/// starts and the last ends where the export's range does. A window of one leaf keeps the leaf's
/// first page.
fn join(leaves: Vec<Piece>, target: u64, edges: &Edges<'_>) -> (Vec<TimeRange>, Vec<Option<Page>>) {
    let mut groups: Vec<Vec<Piece>> = Vec::new();
    let mut held = 0u64;
    for leaf in leaves {
        if groups.is_empty() || (held > 0 && held.saturating_add(leaf.records) > target) {
            groups.push(Vec::new());
            held = 0;
        }
        held = held.saturating_add(leaf.records);
        groups.last_mut().expect("a group was just opened").push(leaf);
    }
    let mut windows = Vec::with_capacity(groups.len());
    let mut pages = Vec::with_capacity(groups.len());
    let last = groups.len().saturating_sub(1);
    for (k, mut group) in groups.into_iter().enumerate() {
        // The cover is exact: the first window starts at the range's start and the last ends at
        // its end, whatever the leaves say.
        let lo = if k == 0 { edges.lo } else { group[0].lo };
        let hi = if k == last { edges.hi } else { group[group.len() - 1].hi };
        windows.push(edges.range_of(lo, hi));
        // The page is the window's only if the leaf was counted with the window's very query.
        let alone = group.len() == 1 && (group[0].lo, group[0].hi) == (lo, hi);
        pages.push(if alone { group.pop().and_then(|leaf| leaf.page) } else { None });
    }
    (windows, pages)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::credentials::Secret;
    use crate::platform::{
        Census, Challenge, ChallengeAnswer, DatasetSpec, DisconnectOutcome, Grant, KindSpec, Link, PageRequest,
        RawRecord, Readiness,
    };

    /// A platform that knows when each record was stamped and counts exactly.
    struct Stamped {
        times: Vec<i64>,
        round_trip: std::time::Duration,
        counts: AtomicUsize,
        asked: Mutex<Vec<TimeRange>>,
    }

    impl Stamped {
        fn new(times: Vec<i64>, round_trip_ms: u64) -> Stamped {
            Stamped {
                times,
                round_trip: std::time::Duration::from_millis(round_trip_ms),
                counts: AtomicUsize::new(0),
                asked: Mutex::new(Vec::new()),
            }
        }
    }

    fn unused<T>() -> Result<T> {
        Err(crate::error::Error::internal("not used by the cutting"))
    }

    #[async_trait]
    impl Platform for Stamped {
        fn name(&self) -> &'static str {
            "counting"
        }
        fn display_name(&self) -> &'static str {
            "Stamped"
        }
        async fn shops(&self) -> Result<Vec<Shop>> {
            unused()
        }
        async fn readiness(&self, _shop: &Shop) -> Result<Readiness> {
            unused()
        }
        fn datasets(&self) -> Vec<DatasetSpec> {
            Vec::new()
        }
        fn link_kinds(&self) -> Vec<KindSpec> {
            Vec::new()
        }
        async fn census(&self, _shop: &Shop, request: CensusRequest<'_>) -> Result<Option<Census>> {
            let range = request.range;
            self.counts.fetch_add(1, Ordering::SeqCst);
            self.asked.lock().unwrap().push(*range);
            tokio::time::sleep(self.round_trip).await;
            let inside = inside(&self.times, range);
            let page = request.first_page.then(|| Page {
                records: inside.iter().take(100).map(|t| record(*t)).collect(),
                next: (inside.len() > 100).then(|| "p2".to_owned()),
                total: Some(inside.len() as u64),
            });
            Ok(Some(Census {
                records: inside.len() as u64,
                per_request: 100,
                first: inside.first().and_then(|t| at(*t)),
                last: (request.ends && range.until.is_none()).then(|| inside.last().and_then(|t| at(*t))).flatten(),
                page,
            }))
        }
        fn rate_limit(&self) -> Option<u32> {
            Some(50)
        }
        async fn page(&self, _shop: &Shop, _request: PageRequest<'_>) -> Result<Page> {
            unused()
        }
        async fn start_challenge(&self, _shop: &Shop, _link: &Link) -> Result<Option<Challenge>> {
            unused()
        }
        async fn answer_challenge(&self, _challenge: &Challenge, _code: &Secret) -> Result<ChallengeAnswer> {
            unused()
        }
        async fn disconnect(&self, _shop: &Shop, _link: &Link, _grant: &Grant) -> Result<DisconnectOutcome> {
            unused()
        }
        fn manual_steps(&self, _shop: &Shop, _link: &Link) -> Vec<String> {
            Vec::new()
        }
    }

    /// The stamps in `range`, oldest first.
    fn inside(times: &[i64], range: &TimeRange) -> Vec<i64> {
        let mut inside: Vec<i64> = times.iter().copied().filter(|t| range.contains(at(*t).unwrap())).collect();
        inside.sort_unstable();
        inside
    }

    fn record(t: i64) -> RawRecord {
        RawRecord::from_trusted(format!("{{\"create_time\":{t}}}"))
    }

    fn shop() -> Shop {
        Shop {
            id: "1".into(),
            name: "Shop".into(),
            region: "GB".into(),
            links: Vec::new(),
            data_changed_at: None,
            handle: "h".into(),
            notes: Vec::new(),
        }
    }

    fn count_in(times: &[i64], w: &TimeRange) -> u64 {
        times.iter().filter(|t| w.contains(at(**t).unwrap())).count() as u64
    }

    async fn split_of(times: Vec<i64>, round_trip_ms: u64, range: TimeRange) -> (Split, Vec<i64>, usize) {
        let platform = Stamped::new(times.clone(), round_trip_ms);
        let now = at(2_000_000_000).unwrap();
        let split = plan(&platform, &shop(), Dataset::new("orders"), &range, now).await.unwrap();
        let counts = platform.counts.load(Ordering::SeqCst);
        (split, times, counts)
    }

    /// The windows cover the range exactly, in order, without overlap.
    fn assert_exact_cover(split: &Split, range: &TimeRange) {
        assert_eq!(split.windows.first().unwrap().since, range.since);
        assert_eq!(split.windows.last().unwrap().until, range.until);
        for w in split.windows.windows(2) {
            assert_eq!(w[0].until, w[1].since);
            assert!(w[0].until.is_some());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn old_orders_are_cut_by_count_not_by_date() {
        // 15,000 orders, all more than a year old, one a minute: date windows from today would
        // leave them in one; counted windows share them out.
        let times: Vec<i64> = (0..15_000).map(|i| 1_000_000_000 + i * 60).collect();
        let range = TimeRange::default();
        let (split, times, counts) = split_of(times, 80, range).await;
        assert_exact_cover(&split, &range);
        assert!(split.chains >= 6, "80 ms at 50/s needs several cursors: {}", split.chains);
        assert!(split.windows.len() >= split.chains, "{} windows", split.windows.len());
        let sizes: Vec<u64> = split.windows.iter().map(|w| count_in(&times, w)).collect();
        assert_eq!(sizes.iter().sum::<u64>(), 15_000);
        let target = sizes.iter().max().unwrap();
        assert!(*target <= 2000, "every window a few pages: {sizes:?}");
        assert!(sizes.iter().all(|s| *s > 0), "no empty window: {sizes:?}");
        assert!(counts < 3 * split.windows.len() + 4, "{counts} counts for {} windows", split.windows.len());
    }

    #[tokio::test(start_paused = true)]
    async fn bunched_records_are_cut_again_where_they_crowd() {
        // A few old orders, then 10,000 in one day.
        let mut times: Vec<i64> = (0..50).map(|i| 1_000_000_000 + i * 86_400).collect();
        times.extend((0..10_000).map(|i| 1_900_000_000 + i * 8));
        let range = TimeRange { since: at(900_000_000), until: None };
        let (split, times, _) = split_of(times, 80, range).await;
        assert_exact_cover(&split, &range);
        let sizes: Vec<u64> = split.windows.iter().map(|w| count_in(&times, w)).collect();
        assert_eq!(sizes.iter().sum::<u64>(), 10_050);
        assert!(sizes.iter().all(|s| *s <= 2000), "{sizes:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_small_or_fast_dataset_keeps_one_cursor() {
        let times: Vec<i64> = (0..300).map(|i| 1_000_000_000 + i).collect();
        let (split, _, counts) = split_of(times, 80, TimeRange::default()).await;
        assert_eq!(split.windows, [TimeRange::default()]);
        assert_eq!(split.chains, 1);
        assert_eq!(counts, 1);
        let first = split.first_pages[0].as_ref().expect("the count brought the first page");
        assert_eq!(first.records.len(), 100);
        assert_eq!(first.next.as_deref(), Some("p2"), "read on from the count's page");
        let many: Vec<i64> = (0..15_000).map(|i| 1_000_000_000 + i).collect();
        let (split, _, _) = split_of(many, 0, TimeRange::default()).await;
        assert_eq!(split.windows.len(), 1, "no round trip to hide: {split:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn records_stamped_in_one_second_stay_together() {
        let times = vec![1_500_000_000; 5000];
        let range = TimeRange { since: at(1_400_000_000), until: at(1_600_000_000) };
        let (split, times, _) = split_of(times, 80, range).await;
        assert_exact_cover(&split, &range);
        let sizes: Vec<u64> = split.windows.iter().map(|w| count_in(&times, w)).collect();
        assert!(sizes.contains(&5000), "{sizes:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn each_window_starts_from_the_page_its_count_brought() {
        let times: Vec<i64> = (0..15_000).map(|i| 1_000_000_000 + i * 60).collect();
        let range = TimeRange::default();
        let (split, times, counts) = split_of(times, 80, range).await;
        assert_exact_cover(&split, &range);
        assert_eq!(split.first_pages.len(), split.windows.len());
        assert_eq!(split.chains, split.windows.len(), "few windows: all at once");
        for (window, page) in split.windows.iter().zip(&split.first_pages) {
            let page = page.as_ref().expect("evenly spread orders: every window is one counted span");
            let expected: Vec<RawRecord> = inside(&times, window).into_iter().take(100).map(record).collect();
            assert_eq!(page.records, expected, "the first page of {window:?}");
        }
        // The whole range's count, then one count per window: each is a window's first page.
        assert_eq!(counts, 1 + split.windows.len());
    }

    #[tokio::test(start_paused = true)]
    async fn a_big_dataset_is_counted_with_small_requests() {
        // 60,000 orders make more windows than run at once: their first pages would wait in
        // memory, so the spans are counted without them.
        let times: Vec<i64> = (0..60_000).map(|i| 1_000_000_000 + i * 60).collect();
        let (split, _, _) = split_of(times, 80, TimeRange::default()).await;
        assert!(split.windows.len() > MAX_CHAINS, "{} windows", split.windows.len());
        assert!(split.first_pages.iter().all(Option::is_none));
    }

    #[test]
    fn chains_follow_rate_times_round_trip() {
        use std::time::Duration;
        assert_eq!(chains(Some(50), Duration::ZERO), 1);
        assert_eq!(chains(Some(50), Duration::from_millis(80)), 7);
        assert_eq!(chains(Some(50), Duration::from_secs(5)), MAX_CHAINS);
        assert_eq!(chains(None, Duration::from_millis(80)), 4);
    }

    #[test]
    fn spans_are_equal_and_cover_the_piece() {
        let s = spans(&Piece { lo: 0, hi: 100, records: 1000, page: None }, 100);
        assert_eq!(s.len(), 10);
        assert_eq!((s[0].0, s[9].1), (0, 100));
        assert!(s.windows(2).all(|w| w[0].1 == w[1].0));
        assert_eq!(spans(&Piece { lo: 5, hi: 7, records: 1000, page: None }, 1), [(5, 6), (6, 7)]);
    }
}
