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

use tokio::time::Instant;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use crate::error::Result;
use crate::platform::{Census, Dataset, Platform, Shop, TimeRange};

/// Requests a window takes at least (fewer is all overhead: a count per window) and at most (a
/// window is fetched ahead whole: its pages must fit in memory beside the other cursors').
const WINDOW_REQUESTS: std::ops::RangeInclusive<u64> = 3..=20;
/// Cursors per dataset at most, whatever the round trip.
pub(super) const MAX_CHAINS: usize = 16;
/// A range is cut into at most this many spans at a time.
const FAN_OUT: u64 = 16;
/// Counts in flight at once.
const COUNTS_IN_FLIGHT: usize = 8;

/// How a dataset is read: its windows, oldest first, and how many are read at once.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Split {
    /// Together exactly the export's range, without overlap; one window is a single cursor.
    pub windows: Vec<TimeRange>,
    /// Windows fetched at the same time.
    pub chains: usize,
}

impl Split {
    fn single(range: &TimeRange) -> Split {
        Split { windows: vec![*range], chains: 1 }
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

/// A span `[lo, hi)` in Unix seconds and the records in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    lo: i64,
    hi: i64,
    records: u64,
}

fn at(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
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
    let Some(census) = platform.census(shop, dataset, range).await? else { return Ok(Split::single(range)) };
    let chains = chains(platform.rate_limit(), started.elapsed());
    let per_request = u64::from(census.per_request.max(1));
    let requests = census.records.div_ceil(per_request);
    if chains < 2 || requests < 2 * WINDOW_REQUESTS.start() {
        return Ok(Split::single(range));
    }
    let window_requests = requests.div_ceil(chains as u64).clamp(*WINDOW_REQUESTS.start(), *WINDOW_REQUESTS.end());
    let target = window_requests * per_request;
    let lo = range.since.or(census.first).map_or(0, |t| t.timestamp());
    let hi = range.until.or(census.last.map(|t| t + chrono::Duration::seconds(1))).unwrap_or(now).timestamp();
    let hi = if range.until.is_none() { hi.max(lo + 1) } else { hi };
    if hi - lo < 2 {
        return Ok(Split::single(range));
    }
    let leaves = cut(platform, shop, dataset, Piece { lo, hi, records: census.records }, target).await?;
    let windows = join(&leaves, target, range);
    tracing::debug!(%dataset, records = census.records, windows = windows.len(), chains, "cut into windows by count");
    Ok(Split { chains: chains.min(windows.len()), windows })
}

/// Cuts `root` until every piece holds at most `target` records (or one second), level by level,
/// the counts of a level side by side.
async fn cut(platform: &dyn Platform, shop: &Shop, dataset: Dataset, root: Piece, target: u64) -> Result<Vec<Piece>> {
    let mut leaves = Vec::new();
    let mut crowded = vec![root];
    // A guard against a platform whose counts never shrink: the cutting stops, the windows are
    // then only larger than wished.
    let mut budget = 64 + 4 * root.records.div_ceil(target.max(1)) * FAN_OUT;
    while !crowded.is_empty() && budget > 0 {
        let spans: Vec<(i64, i64)> = crowded.drain(..).flat_map(|p| spans(p, target)).collect();
        budget = budget.saturating_sub(spans.len() as u64);
        let counted: Vec<Result<Piece>> = futures_util::stream::iter(spans)
            .map(|(lo, hi)| async move {
                let window = TimeRange { since: at(lo), until: at(hi) };
                let census: Option<Census> = platform.census(shop, dataset, &window).await?;
                // A platform that counted the whole range counts its parts.
                Ok(Piece { lo, hi, records: census.map_or(u64::MAX, |c| c.records) })
            })
            .buffered(COUNTS_IN_FLIGHT)
            .collect()
            .await;
        for piece in counted {
            let piece = piece?;
            if piece.records <= target || piece.hi - piece.lo <= 1 {
                leaves.push(piece);
            } else {
                crowded.push(piece);
            }
        }
    }
    leaves.extend(crowded);
    leaves.sort_by_key(|p| p.lo);
    Ok(leaves)
}

/// `piece` cut into equal spans of time, as many as it holds targets' worth of records (2 to
/// [`FAN_OUT`]).
fn spans(piece: Piece, target: u64) -> Vec<(i64, i64)> {
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
/// starts and the last ends where `range` does.
fn join(leaves: &[Piece], target: u64, range: &TimeRange) -> Vec<TimeRange> {
    let mut bounds: Vec<i64> = Vec::new();
    let mut held = 0u64;
    for leaf in leaves {
        if held > 0 && held.saturating_add(leaf.records) > target {
            bounds.push(leaf.lo);
            held = 0;
        }
        held = held.saturating_add(leaf.records);
    }
    let mut windows = Vec::with_capacity(bounds.len() + 1);
    let mut since = range.since;
    for b in bounds {
        windows.push(TimeRange { since, until: at(b) });
        since = at(b);
    }
    windows.push(TimeRange { since, until: range.until });
    windows
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::credentials::Secret;
    use crate::platform::{
        Challenge, ChallengeAnswer, DatasetSpec, DisconnectOutcome, Grant, KindSpec, Link, Page, PageRequest, Readiness,
    };

    /// A platform that knows when each record was stamped and counts exactly.
    struct Counting {
        times: Vec<i64>,
        round_trip: std::time::Duration,
        counts: AtomicUsize,
        asked: Mutex<Vec<TimeRange>>,
    }

    impl Counting {
        fn new(times: Vec<i64>, round_trip_ms: u64) -> Counting {
            Counting {
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
    impl Platform for Counting {
        fn name(&self) -> &'static str {
            "counting"
        }
        fn display_name(&self) -> &'static str {
            "Counting"
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
        async fn census(&self, _shop: &Shop, _dataset: Dataset, range: &TimeRange) -> Result<Option<Census>> {
            self.counts.fetch_add(1, Ordering::SeqCst);
            self.asked.lock().unwrap().push(*range);
            tokio::time::sleep(self.round_trip).await;
            let inside: Vec<i64> = self.times.iter().copied().filter(|t| range.contains(at(*t).unwrap())).collect();
            Ok(Some(Census {
                records: inside.len() as u64,
                per_request: 100,
                first: inside.iter().min().and_then(|t| at(*t)),
                last: range.until.is_none().then(|| inside.iter().max().and_then(|t| at(*t))).flatten(),
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
        let platform = Counting::new(times.clone(), round_trip_ms);
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
        assert_eq!(split, Split::single(&TimeRange::default()));
        assert_eq!(counts, 1);
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
        let s = spans(Piece { lo: 0, hi: 100, records: 1000 }, 100);
        assert_eq!(s.len(), 10);
        assert_eq!((s[0].0, s[9].1), (0, 100));
        assert!(s.windows(2).all(|w| w[0].1 == w[1].0));
        assert_eq!(spans(Piece { lo: 5, hi: 7, records: 1000 }, 1), [(5, 6), (6, 7)]);
    }
}
