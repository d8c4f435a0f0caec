//! The CSV flattening: spreadsheet-friendly tables next to the lossless NDJSON.
//!
//! Each dataset has a fixed, documented list of columns (README, "CSV columns"), so a file can be
//! streamed without first scanning every record. Nested objects become dotted columns
//! (`payment.total_amount`); arrays of objects (an order's line items, a product's SKUs) get their
//! own file, one row per element, keyed by the parent's id. Money stays the platform's decimal
//! string; a missing field is an empty cell; anything else nested is written as compact JSON.
//! Fields not listed are still in the NDJSON, which remains the complete copy.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::hashed_file::HashedFile;
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

fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// One cell: strings as they are, numbers and booleans as JSON text, nested values as compact JSON.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => defuse(s),
        Some(other) => other.to_string(),
    }
}

/// Text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets a leading
/// `'`, as OWASP advises: buyer messages and product names are written by strangers, and the CSV
/// exists to be opened in a spreadsheet. Numbers such as a negative amount are left alone, and
/// the NDJSON keeps every value exactly.
fn defuse(s: &str) -> String {
    let risky = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && s.parse::<f64>().is_err() { format!("'{s}") } else { s.to_owned() }
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

/// The CSV files of one dataset, written alongside its NDJSON.
#[derive(Debug)]
pub struct CsvWriter {
    dataset: Dataset,
    files: Vec<(CsvTable, csv::Writer<Shared>, Shared)>,
}

impl CsvWriter {
    /// Opens the dataset's CSV files in `dir`, keeping `durable(file)` bytes of each (0 = new).
    pub fn open(dir: &Path, spec: &DatasetSpec, durable: impl Fn(&str) -> u64) -> Result<CsvWriter> {
        let dataset = spec.name;
        let mut files = Vec::new();
        for table in spec.csv.iter().cloned() {
            let name = table.file_name(dataset);
            let path = dir.join(&name);
            let keep = durable(&name);
            let file = if keep == 0 { HashedFile::create(&path)? } else { HashedFile::resume(&path, keep)? };
            let shared = Shared(Arc::new(Mutex::new(file)));
            let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(shared.clone());
            if keep == 0 {
                writer.write_record(table.header()).map_err(|e| csv_error(&path, e))?;
            }
            files.push((table, writer, shared));
        }
        Ok(CsvWriter { dataset, files })
    }

    /// Adds the rows of one record.
    pub fn write(&mut self, record: &RawRecord) -> Result<()> {
        let value: Value = serde_json::from_str(record.as_str())
            .map_err(|e| Error::platform(format!("a {} record is not valid JSON", self.dataset)).with_source(e))?;
        for (table, writer, shared) in &mut self.files {
            let parent_id = value.get("id");
            let rows: Vec<&Value> = match table.rows_from.as_deref() {
                None => vec![&value],
                Some(key) => value.get(key).and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default(),
            };
            for row in rows {
                let cells =
                    table.columns.iter().map(|c| if c == "^id" { cell(parent_id) } else { cell(lookup(row, c)) });
                writer.write_record(cells).map_err(|e| csv_error(shared.lock().path(), e))?;
            }
        }
        Ok(())
    }

    /// Flushes and syncs every file; returns each file's durable size by name.
    pub fn commit(&mut self) -> Result<Vec<(String, u64)>> {
        let dataset = self.dataset;
        self.files
            .iter_mut()
            .map(|(table, w, shared)| {
                w.flush().map_err(|e| Error::io("cannot write", shared.lock().path(), e))?;
                Ok((table.file_name(dataset), shared.lock().commit()?))
            })
            .collect()
    }

    /// Finishes every file: name, size and SHA-256 of each.
    pub fn finish(self) -> Result<Vec<(String, u64, String)>> {
        let dataset = self.dataset;
        self.files
            .into_iter()
            .map(|(table, w, shared)| {
                let path = shared.lock().path().to_owned();
                w.into_inner()
                    .map_err(|e| Error::io("cannot write", &path, std::io::Error::other(e.error().to_string())))?;
                let file = Arc::try_unwrap(shared.0)
                    .map_err(|_| Error::internal("a CSV file is still in use"))?
                    .into_inner()
                    .unwrap_or_else(|p| p.into_inner());
                let (bytes, sha) = file.finish()?;
                Ok((table.file_name(dataset), bytes, sha))
            })
            .collect()
    }
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    Error::internal(format!("cannot write {}", path.display())).with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn awkward_text_round_trips_and_rows_match_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let spec = DatasetSpec {
            name: Dataset::new("orders"),
            description: String::new(),
            csv: vec![
                CsvTable::main(&["id", "status", "buyer_message", "payment.total_amount"]),
                CsvTable::child("line_items", "order_id", &["^id", "id", "product_id", "product_name"]),
            ],
        };
        let mut w = CsvWriter::open(dir.path(), &spec, |_| 0).unwrap();
        let text = "a, \"quoted\"\nnew line — ünïcode";
        let rec = serde_json::json!({"id": "1", "buyer_message": text, "payment": {"total_amount": "12.50"},
            "line_items": [{"id": "a"}, {"id": "b", "product_name": text}]});
        w.write(&RawRecord::from_trusted(rec.to_string())).unwrap();
        w.finish().unwrap();

        let mut r = csv::Reader::from_path(dir.path().join("orders.csv")).unwrap();
        let header = r.headers().unwrap().clone();
        let rows: Vec<_> = r.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].len(), header.len());
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        assert_eq!(&rows[0][col("buyer_message")], text);
        assert_eq!(&rows[0][col("payment.total_amount")], "12.50");

        let mut items = csv::Reader::from_path(dir.path().join("orders.line_items.csv")).unwrap();
        let rows: Vec<_> = items.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!((&rows[1][0], &rows[1][3]), ("1", text));
        assert_eq!(&items.headers().unwrap()[0], "order_id");
    }

    #[test]
    fn text_a_spreadsheet_would_run_is_defused_but_numbers_are_not() {
        assert_eq!(defuse("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
        assert_eq!(defuse("+1 call me"), "'+1 call me");
        assert_eq!(defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse("\tcmd"), "'\tcmd");
        assert_eq!(defuse("-12.50"), "-12.50");
        assert_eq!(defuse("+3"), "+3");
        assert_eq!(defuse("plain = text"), "plain = text");
        assert_eq!(defuse(""), "");
    }
}
