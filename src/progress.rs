//! Export progress on stderr, drawn only when it is a terminal.
//!
//! - One shop: a bar per dataset ([`ExportProgress`]), with total, percentage and ETA once the
//!   platform says how many records there are.
//! - Every shop at once (`--all-shops`): one line per shop and one for the whole run
//!   ([`ShopsProgress`]). Ten shops' datasets would be a hundred bars; a seller wants to know which
//!   shops are done and how far the rest have come.
//!
//! Records saved by an earlier, interrupted run are shown but never counted as this run's speed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use indicatif::{HumanCount, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::export::Observer;
use crate::platform::Dataset;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A bar style with `{rate}`: records per second as a whole number (`1,234/s`).
fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()).with_key(
        "rate",
        |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{}/s", HumanCount(state.per_sec().max(0.0) as u64));
        },
    )
}

/// Progress bars for one shop's export: one per dataset.
#[derive(Debug)]
pub struct ExportProgress {
    multi: Option<MultiProgress>,
    bars: Mutex<BTreeMap<Dataset, ProgressBar>>,
}

impl ExportProgress {
    /// Bars on stderr when `draw` (a terminal, not quiet); silent otherwise.
    pub fn new(draw: bool) -> Arc<ExportProgress> {
        let multi = draw.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Arc::new(ExportProgress { multi, bars: Mutex::default() })
    }

    fn bar(&self, dataset: Dataset) -> Option<ProgressBar> {
        lock(&self.bars).get(&dataset).cloned()
    }

    /// Removes the bars (before the summary is printed).
    pub fn clear(&self) {
        if let Some(m) = &self.multi {
            let _ = m.clear();
        }
    }
}

impl Observer for ExportProgress {
    fn start(&self, dataset: Dataset, records: u64, total: Option<u64>) {
        let Some(multi) = &self.multi else { return };
        let mut bars = lock(&self.bars);
        let first = !bars.contains_key(&dataset);
        let bar =
            bars.entry(dataset).or_insert_with(|| multi.add(ProgressBar::new(0).with_prefix(dataset.to_string())));
        match total {
            // `wide_bar` takes what the line leaves, so an 80-column terminal never wraps.
            Some(t) => {
                bar.set_style(style("{prefix:>22} {wide_bar} {human_pos}/{human_len} {percent}% {rate} {eta}"));
                bar.set_length(t);
            }
            None => bar.set_style(style("{prefix:>22} {spinner} {human_pos} records {rate}")),
        }
        if first && records > 0 {
            let _ = multi.println(format!("resuming {dataset} from {records} records already saved"));
        }
        bar.set_position(records);
        // Records saved by an earlier run are not this run's speed.
        bar.reset_eta();
    }

    fn advance(&self, dataset: Dataset, records: u64, _bytes: u64) {
        if let Some(bar) = self.bar(dataset) {
            bar.set_position(records);
        }
    }

    fn finish(&self, dataset: Dataset, records: u64, _bytes: u64) {
        if let Some(bar) = self.bar(dataset) {
            bar.set_length(records);
            bar.finish_with_message("done");
        }
    }
}

/// One view of an `--all-shops` export: a line per shop, a line for the run.
#[derive(Debug)]
pub struct ShopsProgress {
    multi: Option<MultiProgress>,
    overall: Option<ProgressBar>,
    /// Every shop's records at its last report (the run's line is their sum), and the shops done.
    tally: Mutex<(BTreeMap<String, u64>, u64)>,
}

impl ShopsProgress {
    /// The view of `shops` shops, on stderr when `draw`.
    pub fn new(draw: bool, shops: usize) -> Arc<ShopsProgress> {
        let multi = draw.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let overall = multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new(shops as u64));
            bar.set_style(style("{prefix:>22} {pos}/{len} shops done, {msg} records"));
            bar.set_prefix("all shops");
            bar.set_message("0");
            bar
        });
        Arc::new(ShopsProgress { multi, overall, tally: Mutex::default() })
    }

    /// The observer of one shop's export, drawn as one line named `name`.
    pub fn shop(self: &Arc<Self>, name: &str, datasets: usize) -> Arc<ShopProgress> {
        let bar = self.multi.as_ref().map(|m| {
            let bar = m.insert_before(self.overall.as_ref().unwrap_or(&ProgressBar::hidden()), ProgressBar::new(0));
            bar.set_style(style("{prefix:>22} {spinner} {human_pos} records, {msg} {rate}"));
            bar.set_prefix(truncate(name, 22));
            bar.set_message("starting");
            bar
        });
        Arc::new(ShopProgress { view: self.clone(), name: name.to_owned(), bar, datasets, state: Mutex::default() })
    }

    /// Removes the view (before the summary is printed).
    pub fn clear(&self) {
        if let Some(m) = &self.multi {
            let _ = m.clear();
        }
    }

    fn report(&self, shop: &str, records: u64, done: bool) {
        let (total, finished) = {
            let mut tally = lock(&self.tally);
            tally.0.insert(shop.to_owned(), records);
            tally.1 += u64::from(done);
            (tally.0.values().sum::<u64>(), tally.1)
        };
        if let Some(bar) = &self.overall {
            bar.set_message(HumanCount(total).to_string());
            bar.set_position(finished);
        }
    }
}

/// A name cut to `width` terminal columns (a shop name longer than the column would wrap the
/// line); wide characters (CJK, emoji) count as the two columns they take.
fn truncate(name: &str, width: usize) -> String {
    dialoguer::console::truncate_str(name, width, "…").into_owned()
}

/// Where each dataset of one shop stands.
#[derive(Debug, Default)]
struct ShopState {
    /// Records on disk per dataset, and how many of them an earlier run saved.
    datasets: BTreeMap<Dataset, (u64, u64)>,
    finished: usize,
}

/// One shop's line of a [`ShopsProgress`]: the sum of its datasets.
#[derive(Debug)]
pub struct ShopProgress {
    view: Arc<ShopsProgress>,
    name: String,
    bar: Option<ProgressBar>,
    datasets: usize,
    state: Mutex<ShopState>,
}

impl ShopProgress {
    fn update(&self, change: impl FnOnce(&mut ShopState)) {
        let (records, fresh, finished) = {
            let mut state = lock(&self.state);
            change(&mut state);
            let records = state.datasets.values().map(|(r, _)| r).sum::<u64>();
            let earlier = state.datasets.values().map(|(_, e)| e).sum::<u64>();
            (records, records.saturating_sub(earlier), state.finished)
        };
        let done = finished == self.datasets;
        if let Some(bar) = &self.bar {
            // The bar counts this run's records, so its rate is this run's speed.
            bar.set_position(fresh);
            bar.set_message(if done { "done".to_owned() } else { format!("{finished}/{} datasets", self.datasets) });
            if done {
                // `finish` moves the bar to its length; keep the count instead.
                bar.set_length(fresh);
                bar.finish();
            }
        }
        self.view.report(&self.name, records, done);
    }
}

impl Observer for ShopProgress {
    fn start(&self, dataset: Dataset, records: u64, _total: Option<u64>) {
        self.update(|s| {
            s.datasets.entry(dataset).or_insert((records, records));
        });
    }

    fn advance(&self, dataset: Dataset, records: u64, _bytes: u64) {
        self.update(|s| s.datasets.entry(dataset).or_insert((0, 0)).0 = records);
    }

    fn finish(&self, dataset: Dataset, records: u64, _bytes: u64) {
        self.update(|s| {
            s.datasets.entry(dataset).or_insert((0, 0)).0 = records;
            s.finished += 1;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_shop_sums_its_datasets_and_the_run_counts_finished_shops() {
        // Hidden bars still keep their positions: the view is checked without a terminal.
        let view = ShopsProgress::new(false, 2);
        let a = view.shop("Luna Beauty", 2);
        let b = view.shop("Luna Outlet", 1);
        let orders = Dataset::new("orders");
        let products = Dataset::new("products");
        a.start(orders, 100, None);
        a.advance(orders, 150, 0);
        a.start(products, 0, Some(10));
        a.finish(products, 10, 0);
        assert_eq!(lock(&view.tally).0["Luna Beauty"], 160);
        assert_eq!(lock(&view.tally).1, 0, "one dataset of two is not the shop");
        a.finish(orders, 200, 0);
        b.start(orders, 0, None);
        b.finish(orders, 5, 0);
        assert_eq!(lock(&view.tally).1, 2);
        assert_eq!(lock(&view.tally).0.values().sum::<u64>(), 215);
        assert_eq!(lock(&a.state).datasets[&orders], (200, 100), "earlier records are kept apart");
    }

    #[test]
    fn long_names_are_cut_to_the_column() {
        assert_eq!(truncate("Luna", 22), "Luna");
        let cut = truncate("A very long shop name that wraps", 22);
        assert_eq!(cut.chars().count(), 22);
        assert!(cut.ends_with('…'));
        let wide = truncate("东京美妆旗舰店官方直营店铺名称很长", 22);
        assert!(dialoguer::console::measure_text_width(&wide) <= 22, "{wide}");
        assert!(wide.ends_with('…'));
    }
}
