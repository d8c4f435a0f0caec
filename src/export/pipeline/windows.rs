//! Reading one dataset in several time windows side by side (see `split.rs`).
//!
//! Up to `chains` windows are fetched at once, each by its own cursor into a small buffer of
//! pages, and a window starts only when one before it has ended and the writer is near enough;
//! the pages are handed to the dataset's writer window by window, oldest first, so the file's
//! order is fixed whatever the timing. Only the writer's position is checkpointed
//! (`w<k>:<cursor>`): pages fetched ahead for later windows are dropped by a crash and fetched
//! again on resume.
//!
//! Memory stays flat whatever the shop's size, the records' size or the number of shops: at most
//! `chains` + [`LOOK_AHEAD`] windows hold pages; what each may hold is bounded in bytes
//! ([`WINDOW_KIB`]); and what all the windows of the process hold ahead of their writers is
//! bounded together ([`AHEAD_KIB`]). The window being written takes nothing from the shared
//! budget: later windows filling it can then slow the reading down, never stop it (were the
//! window being written to wait for room held by the windows after it, nothing would move).

use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock};

use tokio::sync::mpsc::{Receiver, Sender, channel};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinHandle;

use super::reconcile::Chain;
use super::{Fetched, Run};
use crate::error::{Error, Result};
use crate::platform::{Dataset, Page, TimeRange};

/// KiB of records one window may hold before its writer takes them.
const WINDOW_KIB: usize = 4 * 1024;
/// KiB of records all the windows of the process (every dataset of every shop) may hold ahead of
/// their writers: enough to keep the cursors of ten shops busy when records are small, and a
/// bound on memory when they are large (a TikTok order can be several KB).
const AHEAD_KIB: usize = 24 * 1024;
/// The shared budget of [`AHEAD_KIB`].
static AHEAD: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(AHEAD_KIB)));
/// Pages a window may hold ahead, whatever their size (a bound on the channel itself).
const AHEAD_PAGES: usize = 1024;
/// Windows that may have started beyond the cursors at work: ended windows wait for the writer
/// there, so a slow window does not stall the others while memory stays bounded.
const LOOK_AHEAD: usize = 2;

/// A fetched page (or the error in its place) with the shares of the budgets it holds until the
/// writer has it.
type Ahead = (Result<Page>, Share);

/// What a page holds of its window's budget and of the shared one.
struct Share {
    _window: Option<OwnedSemaphorePermit>,
    _shared: Option<OwnedSemaphorePermit>,
}

/// The checkpoint cursor for "window `k`, at `inner`" (`None`: its start).
fn encode(k: usize, inner: Option<&str>) -> String {
    format!("w{k}:{}", inner.unwrap_or(""))
}

/// The window and the cursor within it that a checkpoint cursor names.
fn decode(dataset: Dataset, cursor: Option<&str>, windows: usize) -> Result<(usize, Option<String>)> {
    let Some(cursor) = cursor else { return Ok((0, None)) };
    let parsed = cursor.strip_prefix('w').and_then(|rest| rest.split_once(':')).and_then(|(k, inner)| {
        let k: usize = k.parse().ok()?;
        (k < windows).then(|| (k, (!inner.is_empty()).then(|| inner.to_owned())))
    });
    parsed.ok_or_else(|| {
        Error::usage(format!("the saved {dataset} cursor {cursor:?} is not one this version wrote"))
            .with_hint("rerun the export with --fresh")
    })
}

/// A window to read: its range, the page it starts with when its count brought one, and where its
/// pages go.
struct Reading {
    range: TimeRange,
    first_page: Option<Page>,
    tx: Sender<Ahead>,
}

/// Fetches `windows`, `chains` at a time, from the checkpoint `cursor` on, and hands their pages
/// to the writer through `tx` in window order. `first_pages` are the windows' first pages where
/// the cutting brought them (none on a resume).
pub(super) async fn fetch(
    run: &Arc<Run>,
    dataset: Dataset,
    windows: &[TimeRange],
    mut first_pages: Vec<Option<Page>>,
    chains: usize,
    cursor: Option<String>,
    tx: Sender<Fetched>,
) -> Result<()> {
    let (start, inner) = decode(dataset, cursor.as_deref(), windows.len())?;
    first_pages.resize(windows.len(), None);
    let mut receivers = Vec::new();
    let mut readings = Vec::new();
    for ((k, window), first_page) in windows.iter().enumerate().zip(first_pages).skip(start) {
        let (window_tx, window_rx) = channel(AHEAD_PAGES);
        readings.push((k, Reading { range: *window, first_page, tx: window_tx }));
        receivers.push((k, window_rx));
    }
    let (writing, position) = watch::channel(start);
    let launcher = tokio::spawn(launch(run.clone(), dataset, chains.max(1), readings, inner, position));
    let last_window = windows.len() - 1;
    let handed = async move {
        for (k, rx) in receivers {
            let _ = writing.send(k);
            if !hand_over(run, dataset, k, k == last_window, rx, &tx).await? {
                return Ok(()); // stopped: the writer commits what it has
            }
        }
        Ok(())
    }
    .await;
    // Every receiver is gone now, so the launcher starts nothing more and each fetcher ends at its
    // next send or stop check. They are waited for, never aborted: one may be in the middle of a
    // token refresh, whose rotated refresh token must still be saved.
    for fetcher in launcher.await.unwrap_or_default() {
        let _ = fetcher.await;
    }
    handed
}

/// Starts each window's fetcher in order, once a cursor is free and the writer (at `position`)
/// is at most `chains` + [`LOOK_AHEAD`] windows behind; stops starting them once the writer has
/// gone (its receivers dropped) or the run stops.
async fn launch(
    run: Arc<Run>,
    dataset: Dataset,
    chains: usize,
    readings: Vec<(usize, Reading)>,
    mut first: Option<String>,
    mut position: watch::Receiver<usize>,
) -> Vec<JoinHandle<()>> {
    let cursors = Arc::new(Semaphore::new(chains));
    let mut fetchers = Vec::new();
    for (k, reading) in readings {
        let Ok(cursor) = cursors.clone().acquire_owned().await else { break };
        while *position.borrow() + chains + LOOK_AHEAD <= k {
            if position.changed().await.is_err() {
                break;
            }
        }
        if reading.tx.is_closed() || run.should_stop() {
            break;
        }
        let (run, inner, position) = (run.clone(), first.take(), position.clone());
        fetchers.push(tokio::spawn(async move {
            pages(&run, dataset, k, reading, inner, position).await;
            drop(cursor);
        }));
    }
    fetchers
}

/// Passes window `k`'s pages on until its end; false when the run stopped first.
async fn hand_over(
    run: &Run,
    dataset: Dataset,
    k: usize,
    last_window: bool,
    mut rx: Receiver<Ahead>,
    tx: &Sender<Fetched>,
) -> Result<bool> {
    // The budget share is given back once the page is the writer's.
    while let Some((item, _share)) = rx.recv().await {
        let page = item.map_err(|e| {
            if !e.is_missing_scope() {
                run.stop.store(true, Ordering::SeqCst);
            }
            e.context(format!("the {dataset} export failed"))
        })?;
        let ended = page.is_last();
        let cursor_after = match (ended, last_window) {
            (false, _) => Some(encode(k, page.next.as_deref())),
            (true, false) => Some(encode(k + 1, None)),
            (true, true) => None,
        };
        let last = ended && last_window;
        if tx.send(Fetched { page, cursor_after, last }).await.is_err() {
            return Ok(false); // the writer stopped (it reports why)
        }
        if ended {
            return Ok(true);
        }
    }
    Ok(false) // the fetcher stopped on a stop request before the window's end
}

/// Window `k`'s pages, from `cursor` (or its first page) to its end, or a stop request, or the
/// first error; `position` is the window being written.
async fn pages(
    run: &Run,
    dataset: Dataset,
    k: usize,
    reading: Reading,
    mut cursor: Option<String>,
    mut position: watch::Receiver<usize>,
) {
    let Reading { range: window, mut first_page, tx } = reading;
    let budget = Arc::new(Semaphore::new(WINDOW_KIB));
    // A window read from its start knows its count; a resumed one does not (its earlier records
    // are on disk among other windows'), so only its cursors are checked.
    let mut chain = Chain::new(dataset, cursor.is_none().then_some(0));
    loop {
        if run.should_stop() {
            return;
        }
        let page = super::next_page(run, dataset, &window, cursor.as_deref(), &mut first_page).await.and_then(|p| {
            chain.page(&p)?;
            if p.is_last() {
                chain.end()?;
            }
            Ok(p)
        });
        let next = page.as_ref().ok().filter(|p| !p.is_last()).and_then(|p| p.next.clone());
        let end = next.is_none();
        let share = match &page {
            Ok(p) => {
                let kib = p.records.iter().map(|r| r.as_str().len()).sum::<usize>() / 1024;
                let window = budget.clone().acquire_many_owned(permits(kib, WINDOW_KIB)).await.ok();
                Share { _window: window, _shared: shared_room(&AHEAD, k, permits(kib, AHEAD_KIB), &mut position).await }
            }
            Err(_) => Share { _window: None, _shared: None },
        };
        if tx.send((page, share)).await.is_err() || end {
            return;
        }
        cursor = next;
    }
}

/// `kib` as permits of a budget of `of`: at least one, at most the whole budget.
fn permits(kib: usize, of: usize) -> u32 {
    u32::try_from(kib.clamp(1, of)).unwrap_or(1)
}

/// Waits for `kib` of the shared `budget`, unless window `k` is (or becomes, while it waits) the
/// one being written, which takes none.
async fn shared_room(
    budget: &Arc<Semaphore>,
    k: usize,
    kib: u32,
    position: &mut watch::Receiver<usize>,
) -> Option<OwnedSemaphorePermit> {
    loop {
        if *position.borrow_and_update() >= k {
            return None;
        }
        tokio::select! {
            permit = budget.clone().acquire_many_owned(kib) => return permit.ok(),
            changed = position.changed() => if changed.is_err() { return None },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The window being written never waits for the shared budget: a later window waiting for
    /// room goes on without it as soon as the writer reaches it.
    #[tokio::test]
    async fn the_window_being_written_takes_nothing_from_a_full_budget() {
        // A budget of its own: the process-wide one is not this test's to fill.
        let budget = Arc::new(Semaphore::new(AHEAD_KIB));
        let all = u32::try_from(AHEAD_KIB).unwrap();
        let held = budget.clone().acquire_many_owned(all).await.unwrap();
        let (writing, mut position) = watch::channel(1usize);
        assert!(shared_room(&budget, 1, 10, &mut position).await.is_none(), "the window being written");
        let mut later = position.clone();
        let shared = budget.clone();
        let waiting = tokio::spawn(async move { shared_room(&shared, 2, 10, &mut later).await });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a later window waits for room");
        writing.send(2).unwrap();
        assert!(waiting.await.unwrap().is_none(), "reached by the writer, it waits no more");
        drop(held);
        let mut later = position.clone();
        assert!(shared_room(&budget, 3, 10, &mut later).await.is_some(), "with room, a later window takes its share");
    }

    #[test]
    fn cursors_name_their_window() {
        assert_eq!(decode(Dataset::new("orders"), None, 3).unwrap(), (0, None));
        let c = encode(2, Some("a/b+c=:d"));
        assert_eq!(decode(Dataset::new("orders"), Some(&c), 3).unwrap(), (2, Some("a/b+c=:d".into())));
        assert_eq!(decode(Dataset::new("orders"), Some(&encode(1, None)), 3).unwrap(), (1, None));
        assert!(decode(Dataset::new("orders"), Some(&encode(3, None)), 3).is_err(), "no such window");
        assert!(decode(Dataset::new("orders"), Some("plain-token"), 3).is_err());
    }
}
