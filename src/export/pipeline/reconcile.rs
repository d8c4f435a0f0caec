//! Every list is reconciled as it is read, so a misbehaving platform ends the export with exit 6
//! instead of running forever or finishing short.
//!
//! Per chain of pages (one dataset, or one time window of it): a cursor handed out twice means the
//! listing loops; more records than the platform's `total_count` means pages repeat; and at the
//! end the records read must be the last `total_count` given. The check knows nothing of any
//! platform: it reads only the pages' `next` and `total`.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::error::{Error, Result};
use crate::platform::{Dataset, Page};

/// One chain of pages being read.
#[derive(Debug)]
pub(super) struct Chain {
    dataset: Dataset,
    /// Hashes of the cursors handed out so far (hashes: a million-record export has tens of
    /// thousands of tokens, and only equality matters).
    seen: HashSet<u64>,
    /// Records read in this chain, those already on disk included; `None` when unknown (a
    /// resumed window, whose earlier records are mixed with other windows' on disk).
    records: Option<u64>,
    /// The latest `total_count`.
    total: Option<u64>,
}

impl Chain {
    /// A chain whose first `already` records were read by an earlier run (`None`: unknown).
    pub(super) fn new(dataset: Dataset, already: Option<u64>) -> Chain {
        Chain { dataset, seen: HashSet::new(), records: already, total: None }
    }

    /// Checks one page before it is written.
    pub(super) fn page(&mut self, page: &Page) -> Result<()> {
        if let Some(next) = page.next.as_deref().filter(|_| !page.is_last()) {
            let mut h = DefaultHasher::new();
            next.hash(&mut h);
            if !self.seen.insert(h.finish()) {
                return Err(self.broken(format!(
                    "the listing handed out the page cursor {next:?} a second time: it would never end"
                )));
            }
        }
        self.total = page.total.or(self.total);
        self.records = self.records.map(|n| n + page.records.len() as u64);
        if let (Some(n), Some(total)) = (self.records, self.total)
            && n > total
        {
            return Err(
                self.broken(format!("it sent {n} records so far, more than its total_count of {total}: pages repeat"))
            );
        }
        Ok(())
    }

    /// Checks the count at the end of the chain.
    pub(super) fn end(&self) -> Result<()> {
        match (self.records, self.total) {
            (Some(n), Some(total)) if n != total => Err(self.broken(format!(
                "it sent {n} records in all, but its total_count says {total}: the list is short or padded"
            ))),
            _ => Ok(()),
        }
    }

    fn broken(&self, what: String) -> Error {
        Error::platform(format!("the {} listing cannot be trusted", self.dataset))
            .with_cause(what)
            .with_hint("stopped rather than write a wrong export; rerun later, and report it if it persists")
            .with_detail("dataset", self.dataset.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: usize, next: Option<&str>, total: Option<u64>) -> Page {
        let records = (0..n)
            .map(|i| {
                crate::platform::RawRecord::from_raw(&serde_json::value::RawValue::from_string(format!("{i}")).unwrap())
            })
            .collect();
        Page { records, next: next.map(str::to_owned), total }
    }

    #[test]
    fn a_repeated_cursor_an_overrun_and_a_short_list_are_caught() {
        let mut c = Chain::new(Dataset::new("orders"), Some(0));
        c.page(&page(2, Some("a"), Some(10))).unwrap();
        c.page(&page(2, Some("b"), None)).unwrap();
        assert!(c.page(&page(2, Some("a"), None)).unwrap_err().to_string().contains("second time"));

        let mut over = Chain::new(Dataset::new("orders"), Some(0));
        over.page(&page(3, Some("a"), Some(4))).unwrap();
        assert!(
            over.page(&page(3, Some("b"), None)).unwrap_err().to_string().contains("more than its total_count of 4")
        );

        let mut short = Chain::new(Dataset::new("orders"), Some(0));
        short.page(&page(3, None, Some(5))).unwrap();
        let e = short.end().unwrap_err().to_string();
        assert!(e.contains("3 records") && e.contains("total_count says 5"), "{e}");

        let mut unknown = Chain::new(Dataset::new("orders"), None);
        unknown.page(&page(3, None, Some(1))).unwrap();
        unknown.end().unwrap();
    }
}
