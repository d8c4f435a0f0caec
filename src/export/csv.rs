//! The CSV flattening: spreadsheet-friendly tables next to the lossless NDJSON.
//!
//! Each dataset has a fixed, documented list of columns (README, "CSV columns"), so a file can be
//! streamed without first scanning every record. Nested objects become dotted columns
//! (`payment.total_amount`); arrays of objects (an order's line items, a product's SKUs) get their
//! own file, one row per element, keyed by the parent's id. Money stays the platform's decimal
//! string; a number is written exactly as the platform sent it (an id above 2^53 keeps every
//! digit); a missing field is an empty cell; anything else nested is written as compact JSON.
//! Fields not listed are still in the NDJSON, which remains the complete copy.
//!
//! [`flatten`] reads each record's text without building a tree, [`encode`] writes the rows as
//! the csv crate would, and [`CsvPipe`] runs it all on a thread of its own beside the NDJSON.

mod encode;
mod flatten;
mod pipe;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use self::encode::Records;
use self::flatten::Flattener;
pub use self::pipe::CsvPipe;
use super::checkpoint::DatasetProgress;
use super::hashed_file::{HashedFile, PrefixHash};
use super::manifest::FileEntry;
use crate::error::{Error, Result};
use crate::platform::{CsvTable, Dataset, DatasetSpec, RawRecord};

/// File names and headers of a dataset's tables.
trait TableExt {
    fn file_name(&self, dataset: Dataset) -> String;
    fn header(&self) -> Vec<String>;
}

impl TableExt for CsvTable {
    /// `orders.csv` for the main table, `orders.line_items.csv` for a child table.
    fn file_name(&self, dataset: Dataset) -> String {
        if self.suffix.is_empty() { format!("{dataset}.csv") } else { format!("{dataset}.{}.csv", self.suffix) }
    }

    /// The header row (the parent id column is named by the table).
    fn header(&self) -> Vec<String> {
        self.columns.iter().map(|c| if c == "^id" { self.parent_column.clone() } else { c.clone() }).collect()
    }
}

/// The CSV file names of a dataset's tables.
pub fn file_names(spec: &DatasetSpec) -> Vec<String> {
    spec.csv.iter().map(|t| t.file_name(spec.name)).collect()
}

/// Rows are handed to the file this many bytes at a time.
const STAGE: usize = 64 << 10;

/// One CSV file being written.
#[derive(Debug)]
struct Table {
    name: String,
    file: HashedFile,
    /// Rows not yet handed to the file.
    rows: Records,
}

impl Table {
    fn hand_over(&mut self) -> Result<()> {
        self.file.write_all(self.rows.text()).map_err(|e| Error::io("cannot write", self.file.path(), e))?;
        self.rows.clear();
        Ok(())
    }
}

/// The CSV files of one dataset, written alongside its NDJSON.
#[derive(Debug)]
pub struct CsvWriter {
    dataset: Dataset,
    flattener: Flattener,
    tables: Vec<Table>,
}

impl CsvWriter {
    /// Opens the dataset's CSV files in `dir`. Resuming (`progress` vouches for some bytes of a
    /// file), each kept prefix must first prove it is the one the checkpoint recorded (its
    /// SHA-256), or nothing is appended; anything after it (a torn tail) is cut.
    pub fn open(dir: &Path, spec: &DatasetSpec, progress: &DatasetProgress) -> Result<CsvWriter> {
        let mut kept = BTreeMap::new();
        for (name, len) in progress.csv_bytes.iter().filter(|(_, len)| **len > 0) {
            let expected = progress.csv_sha256.get(name).map(String::as_str);
            kept.insert(name.clone(), PrefixHash::verified(&dir.join(name), *len, expected)?);
        }
        let dataset = spec.name;
        let mut tables = Vec::new();
        for table in &spec.csv {
            let name = table.file_name(dataset);
            let (file, new) = match kept.remove(&name) {
                Some(prefix) => (prefix.resume()?, false),
                None => (HashedFile::create(&dir.join(&name))?, true),
            };
            let mut rows = Records::default();
            if new {
                table.header().iter().for_each(|h| rows.field(h.as_bytes()));
                rows.end();
            }
            tables.push(Table { name, file, rows });
        }
        Ok(CsvWriter { dataset, flattener: Flattener::new(&spec.csv), tables })
    }

    /// Adds the rows of one record.
    pub fn write(&mut self, record: &RawRecord) -> Result<()> {
        let text = record.as_str();
        let invalid = |e| Error::platform(format!("a {} record is not valid JSON", self.dataset)).with_source(e);
        self.flattener.read(text).map_err(invalid)?;
        for (i, table) in self.tables.iter_mut().enumerate() {
            self.flattener.write(i, text, &mut table.rows).map_err(invalid)?;
            if table.rows.text().len() >= STAGE {
                table.hand_over()?;
            }
        }
        Ok(())
    }

    /// Flushes and syncs every file; returns each file's durable size and the SHA-256 of it.
    pub fn commit(&mut self) -> Result<Vec<FileEntry>> {
        self.tables
            .iter_mut()
            .map(|table| {
                table.hand_over()?;
                let bytes = table.file.commit()?;
                Ok(FileEntry { file: table.name.clone(), bytes, sha256: table.file.digest() })
            })
            .collect()
    }

    /// Finishes every file: name, size and SHA-256 of each.
    pub fn finish(self) -> Result<Vec<FileEntry>> {
        self.tables
            .into_iter()
            .map(|mut table| {
                table.hand_over()?;
                let (bytes, sha256) = table.file.finish()?;
                Ok(FileEntry { file: table.name, bytes, sha256 })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
