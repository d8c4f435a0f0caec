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
use crate::platform::{Dataset, RawRecord};

/// One CSV file of a dataset.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// File name suffix: `orders.csv` for `""`, `orders.line_items.csv` for `"line_items"`.
    pub suffix: &'static str,
    /// For child tables: the array in each record whose elements are the rows.
    pub rows_from: Option<&'static str>,
    /// Column names, each also the dotted path of its value (`^id` is the parent record's id).
    pub columns: &'static [&'static str],
}

const ORDER_COLUMNS: &[&str] = &[
    "id",
    "status",
    "create_time",
    "update_time",
    "paid_time",
    "user_id",
    "buyer_email",
    "buyer_message",
    "recipient_address.name",
    "recipient_address.phone_number",
    "recipient_address.address_line1",
    "recipient_address.city",
    "recipient_address.state",
    "recipient_address.postal_code",
    "recipient_address.region_code",
    "payment.currency",
    "payment.sub_total",
    "payment.shipping_fee",
    "payment.seller_discount",
    "payment.platform_discount",
    "payment.tax",
    "payment.total_amount",
    "delivery_option_name",
    "shipping_provider",
    "tracking_number",
    "fulfillment_type",
    "is_cod",
];
const LINE_ITEM_COLUMNS: &[&str] = &[
    "^id",
    "id",
    "product_id",
    "product_name",
    "sku_id",
    "sku_name",
    "seller_sku",
    "sale_price",
    "original_price",
    "currency",
    "display_status",
];
const PRODUCT_COLUMNS: &[&str] =
    &["id", "title", "status", "create_time", "update_time", "audit.status", "is_not_for_sale", "description"];
const SKU_COLUMNS: &[&str] =
    &["^id", "id", "seller_sku", "price.tax_exclusive_price", "price.sale_price", "price.currency", "inventory"];
const STATEMENT_COLUMNS: &[&str] = &[
    "id",
    "statement_time",
    "currency",
    "revenue_amount",
    "fee_amount",
    "adjustment_amount",
    "shipping_cost_amount",
    "settlement_amount",
    "payment_status",
    "payment_id",
];
const TRANSACTION_COLUMNS: &[&str] = &[
    "id",
    "type",
    "statement_id",
    "order_id",
    "order_create_time",
    "currency",
    "revenue_amount",
    "fee_amount",
    "shipping_cost_amount",
    "adjustment_amount",
    "settlement_amount",
];
const PAYMENT_COLUMNS: &[&str] = &[
    "id",
    "create_time",
    "paid_time",
    "status",
    "amount.value",
    "amount.currency",
    "settlement_amount.value",
    "reserve_amount.value",
    "exchange_rate",
    "bank_account",
];
const WITHDRAWAL_COLUMNS: &[&str] = &["id", "type", "amount", "currency", "status", "create_time"];

/// The CSV tables of `dataset`.
pub fn tables(dataset: Dataset) -> Vec<Table> {
    let main = |columns| Table { suffix: "", rows_from: None, columns };
    match dataset {
        Dataset::Orders => vec![
            main(ORDER_COLUMNS),
            Table { suffix: "line_items", rows_from: Some("line_items"), columns: LINE_ITEM_COLUMNS },
        ],
        Dataset::Products => {
            vec![main(PRODUCT_COLUMNS), Table { suffix: "skus", rows_from: Some("skus"), columns: SKU_COLUMNS }]
        }
        Dataset::Statements => vec![main(STATEMENT_COLUMNS)],
        Dataset::StatementTransactions => vec![main(TRANSACTION_COLUMNS)],
        Dataset::Payments => vec![main(PAYMENT_COLUMNS)],
        Dataset::Withdrawals => vec![main(WITHDRAWAL_COLUMNS)],
    }
}

impl Table {
    /// The file name for `dataset`.
    pub fn file_name(&self, dataset: Dataset) -> String {
        if self.suffix.is_empty() { format!("{dataset}.csv") } else { format!("{dataset}.{}.csv", self.suffix) }
    }

    /// The header row (a parent id column is named `<parent>_id`).
    fn header(&self, dataset: Dataset) -> Vec<String> {
        let parent = match dataset {
            Dataset::Orders => "order_id",
            Dataset::Products => "product_id",
            _ => "parent_id",
        };
        self.columns.iter().map(|c| if *c == "^id" { parent.to_owned() } else { (*c).to_owned() }).collect()
    }
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
    files: Vec<(Table, csv::Writer<Shared>, Shared)>,
}

impl CsvWriter {
    /// Opens the dataset's CSV files in `dir`, keeping `durable(file)` bytes of each (0 = new).
    pub fn open(dir: &Path, dataset: Dataset, durable: impl Fn(&str) -> u64) -> Result<CsvWriter> {
        let mut files = Vec::new();
        for table in tables(dataset) {
            let name = table.file_name(dataset);
            let path = dir.join(&name);
            let keep = durable(&name);
            let file = if keep == 0 { HashedFile::create(&path)? } else { HashedFile::resume(&path, keep)? };
            let shared = Shared(Arc::new(Mutex::new(file)));
            let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(shared.clone());
            if keep == 0 {
                writer.write_record(table.header(dataset)).map_err(|e| csv_error(&path, e))?;
            }
            files.push((table, writer, shared));
        }
        Ok(CsvWriter { dataset, files })
    }

    /// Adds the rows of one record.
    pub fn write(&mut self, record: &RawRecord) -> Result<()> {
        let value: Value = serde_json::from_str(record.as_str())
            .map_err(|e| Error::platform(format!("a {} record is not valid JSON", self.dataset)).with_cause(e))?;
        for (table, writer, shared) in &mut self.files {
            let parent_id = value.get("id");
            let rows: Vec<&Value> = match table.rows_from {
                None => vec![&value],
                Some(key) => value.get(key).and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default(),
            };
            for row in rows {
                let cells =
                    table.columns.iter().map(|c| if *c == "^id" { cell(parent_id) } else { cell(lookup(row, c)) });
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
    Error::internal(format!("cannot write {}", path.display())).with_cause(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn awkward_text_round_trips_and_rows_match_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = CsvWriter::open(dir.path(), Dataset::Orders, |_| 0).unwrap();
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
