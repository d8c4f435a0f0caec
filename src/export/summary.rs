//! The summary a seller can read: per dataset, how many records, the first and last date, and
//! the money totals per currency where the dataset has money (`export` prints it, and it is kept
//! as `README.txt` in the export for whoever opens the folder years later).
//!
//! It is read back from the written files at the end, so a resumed export sums every record, not
//! only this run's. Only the fields the platform names are decoded (everything else is skipped
//! unparsed), and the datasets are read side by side.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::manifest::Manifest;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::platform::{DatasetSpec, Decimal};

/// One dataset's summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line {
    /// Dataset name.
    pub name: String,
    /// Records.
    pub records: u64,
    /// The earliest and latest time of the dataset's time field.
    pub first: Option<DateTime<Utc>>,
    /// See `first`.
    pub last: Option<DateTime<Utc>>,
    /// Totals: (what, currency) → sum.
    pub totals: BTreeMap<(String, String), Decimal>,
    /// Why it has no figures (skipped).
    pub note: Option<String>,
}

/// Decodes only the top-level keys in `want` (as values) and skips the rest unparsed.
struct Fields<'a>(&'a HashSet<String>);

impl<'de> DeserializeSeed<'de> for Fields<'_> {
    type Value = BTreeMap<String, Value>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Fields<'_> {
    type Value = BTreeMap<String, Value>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if self.0.contains(key.as_ref()) {
                out.insert(key.into_owned(), map.next_value::<Value>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

fn at<'v>(fields: &'v BTreeMap<String, Value>, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let first = fields.get(parts.next()?)?;
    parts.try_fold(first, |v, k| v.get(k))
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn summarise(dir: &Path, file: &str, spec: &DatasetSpec) -> Result<Line> {
    let mut want: HashSet<String> = HashSet::new();
    want.extend(spec.time_field.iter().cloned());
    for m in &spec.money {
        want.extend([&m.amount, &m.currency].iter().filter_map(|p| p.split('.').next()).map(str::to_owned));
    }
    let mut line = Line { name: spec.name.to_string(), ..Line::default() };
    let path = dir.join(file);
    let reader = std::io::BufReader::new(fsutil::open_nofollow(&path).map_err(|e| Error::io("cannot read", &path, e))?);
    for record in reader.lines() {
        let record = record.map_err(|e| Error::io("cannot read", &path, e))?;
        line.records += 1;
        if want.is_empty() {
            continue;
        }
        let mut de = serde_json::Deserializer::from_str(&record);
        let Ok(fields) = Fields(&want).deserialize(&mut de) else { continue };
        if let Some(t) = spec.time_field.as_deref().and_then(|f| fields.get(f)).and_then(Value::as_i64) {
            let t = DateTime::from_timestamp(t, 0);
            line.first = line.first.min(t).or(t);
            line.last = line.last.max(t);
        }
        for m in &spec.money {
            let amount = text(at(&fields, &m.amount)).and_then(|a| a.parse::<Decimal>().ok());
            let (Some(amount), Some(currency)) = (amount, text(at(&fields, &m.currency))) else { continue };
            let sum = line.totals.entry((m.label.clone(), currency)).or_insert(Decimal::ZERO);
            *sum = sum.plus(amount);
        }
    }
    Ok(line)
}

/// The summary of the export in `dir`, datasets read side by side.
pub fn read(dir: &Path, manifest: &Manifest, specs: &[DatasetSpec]) -> Result<Vec<Line>> {
    std::thread::scope(|scope| {
        let jobs: Vec<_> = manifest
            .datasets
            .iter()
            .map(|d| {
                scope.spawn(move || {
                    if let Some(s) = &d.skipped {
                        return Ok(Line {
                            name: d.name.clone(),
                            note: Some(format!("skipped: {}", s.reason)),
                            ..Line::default()
                        });
                    }
                    match specs.iter().find(|s| s.name.as_str() == d.name) {
                        Some(spec) => summarise(dir, &d.file, spec),
                        None => Ok(Line { name: d.name.clone(), records: d.records, ..Line::default() }),
                    }
                })
            })
            .collect();
        jobs.into_iter()
            .map(|j| j.join().unwrap_or_else(|_| Err(Error::internal("a summary thread panicked"))))
            .collect()
    })
}

fn day(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d").to_string())
}

fn money(line: &Line) -> String {
    let parts: Vec<String> = line.totals.iter().map(|((what, cur), sum)| format!("{what} {sum} {cur}")).collect();
    if parts.is_empty() { line.note.clone().unwrap_or_default() } else { parts.join("; ") }
}

/// The summary as a table: dataset, records, first and last date, money.
pub fn table(lines: &[Line]) -> String {
    let mut out = format!("{:<24} {:>10}  {:<10}  {:<10}  {}\n", "DATASET", "RECORDS", "FIRST", "LAST", "MONEY");
    for l in lines {
        let _ =
            writeln!(out, "{:<24} {:>10}  {:<10}  {:<10}  {}", l.name, l.records, day(l.first), day(l.last), money(l));
    }
    out
}

/// `README.txt`: what the folder is, the summary, and how to check it.
pub fn readme(manifest: &Manifest, lines: &[Line]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "shopunlink export of {} (shop id {}, {})",
        manifest.shop.name, manifest.shop.id, manifest.shop.region
    );
    let _ = writeln!(out, "platform {}, profile {}", manifest.platform, manifest.profile);
    let _ = writeln!(
        out,
        "started {}, finished {}\n",
        manifest.started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        manifest.finished_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    out.push_str(&table(lines));
    if !manifest.media.is_empty() || !manifest.media_missing.is_empty() {
        let _ = writeln!(
            out,
            "\npictures: {} kept in media/, {} missing (see manifest.json, media_missing)",
            manifest.media.len(),
            manifest.media_missing.len()
        );
    }
    out.push_str(
        "\nEach <dataset>.ndjson holds one record per line exactly as the platform sent it; the .csv files are a\n\
         flattening for spreadsheets. manifest.json lists every file with its size and SHA-256.\n\
         Check the folder is complete and unaltered with: shopunlink verify <this folder>\n\
         It holds customers' personal data: keep it private, and delete it when you no longer need it.\n",
    );
    out
}
