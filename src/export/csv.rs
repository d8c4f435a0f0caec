//! The CSV flattening: spreadsheet-friendly tables next to the lossless NDJSON.
//!
//! Each dataset has a fixed, documented list of columns (README, "CSV columns"), so a file can be
//! streamed without first scanning every record. Nested objects become dotted columns
//! (`payment.total_amount`); arrays of objects (an order's line items, a product's SKUs) get their
//! own file, one row per element, keyed by the parent's id. Money stays the platform's decimal
//! string; a missing field is an empty cell; anything else nested is written as compact JSON.
//! Fields not listed are still in the NDJSON, which remains the complete copy.

mod flatten;
mod pipe;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use self::flatten::{FlattenError, Flattener};
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

/// A [`HashedFile`] shared between the `csv::Writer` that fills it and the code that commits it
/// (the csv crate hands out no mutable access to its inner writer).
#[derive(Debug, Clone)]
struct Shared(Arc<Mutex<HashedFile>>);

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashedFile> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.lock().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.lock().flush()
    }
}

/// One CSV file being written.
#[derive(Debug)]
struct Table {
    name: String,
    writer: csv::Writer<Shared>,
    file: Shared,
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
            let path = dir.join(&name);
            let (file, new) = match kept.remove(&name) {
                Some(prefix) => (prefix.resume()?, false),
                None => (HashedFile::create(&path)?, true),
            };
            let file = Shared(Arc::new(Mutex::new(file)));
            let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(file.clone());
            if new {
                writer.write_record(table.header()).map_err(|e| csv_error(&path, e))?;
            }
            tables.push(Table { name, writer, file });
        }
        Ok(CsvWriter { dataset, flattener: Flattener::new(&spec.csv), tables })
    }

    /// Adds the rows of one record.
    pub fn write(&mut self, record: &RawRecord) -> Result<()> {
        let text = record.as_str();
        self.flattener.read(text).map_err(|e| invalid(self.dataset, e))?;
        for (i, table) in self.tables.iter_mut().enumerate() {
            self.flattener.write(i, text, &mut table.writer).map_err(|e| match e {
                FlattenError::Json(e) => invalid(self.dataset, e),
                FlattenError::Csv(e) => csv_error(table.file.lock().path(), e),
            })?;
        }
        Ok(())
    }

    /// Flushes and syncs every file; returns each file's durable size and the SHA-256 of it.
    pub fn commit(&mut self) -> Result<Vec<FileEntry>> {
        self.tables
            .iter_mut()
            .map(|table| {
                table.writer.flush().map_err(|e| Error::io("cannot write", table.file.lock().path(), e))?;
                let mut file = table.file.lock();
                let bytes = file.commit()?;
                Ok(FileEntry { file: table.name.clone(), bytes, sha256: file.digest() })
            })
            .collect()
    }

    /// Finishes every file: name, size and SHA-256 of each.
    pub fn finish(self) -> Result<Vec<FileEntry>> {
        self.tables
            .into_iter()
            .map(|Table { name, writer, file }| {
                let path = file.lock().path().to_owned();
                writer
                    .into_inner()
                    .map_err(|e| Error::io("cannot write", &path, std::io::Error::other(e.error().to_string())))?;
                let file = Arc::try_unwrap(file.0)
                    .map_err(|_| Error::internal("a CSV file is still in use"))?
                    .into_inner()
                    .unwrap_or_else(|p| p.into_inner());
                let (bytes, sha256) = file.finish()?;
                Ok(FileEntry { file: name, bytes, sha256 })
            })
            .collect()
    }
}

fn invalid(dataset: Dataset, e: serde_json::Error) -> Error {
    Error::platform(format!("a {dataset} record is not valid JSON")).with_source(e)
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    Error::internal(format!("cannot write {}", path.display())).with_source(e)
}

#[cfg(test)]
mod tests;
