//! Flattening a record into CSV cells straight from its JSON text.
//!
//! A dataset's tables name a few dozen dotted paths; a record holds many more fields. Building a
//! `serde_json::Value` tree of every record (and a `String` per cell) cost three times the work
//! of writing the NDJSON. Here the column paths are compiled once into a [`Trie`]; a record is
//! walked by serde_json without building anything: keys no column wants are skipped, and a wanted
//! value is only *located* (a byte span of the record text, through `RawValue`). Cells are then
//! written from those spans: strings without escapes as borrowed slices, numbers as the very
//! text the platform sent (so an id above 2^53 is never rounded through a float), nested values
//! as compact JSON.
//!
//! The lookup rules are those of `serde_json::Value` (`value.get(key)` along the path): a path
//! only descends into objects, a key given twice counts with its last value, a missing or `null`
//! value is an empty cell.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::encode::Records;
use crate::platform::CsvTable;

/// Where a value sits in the record text: byte offset and length.
type Span = (usize, usize);

/// One node of the column paths: a key reached along a path from the record (or row) root.
#[derive(Debug, Default)]
struct Node {
    /// The keys below this one, with their node.
    children: Vec<(String, usize)>,
    /// The slot this node's value is located into, when a column (or a child table) wants it.
    slot: Option<usize>,
    /// The slots of this node and of every node below it (numbered depth first, so contiguous):
    /// emptied when the key appears again, as a later duplicate replaces the whole value.
    subtree: Range<usize>,
}

/// Column paths compiled into a tree of keys; node 0 is the root.
#[derive(Debug)]
struct Trie {
    nodes: Vec<Node>,
    slots: usize,
}

impl Trie {
    /// Builds the tree of `paths` (each a list of keys); returns it and each path's slot.
    fn build(paths: &[Vec<String>]) -> (Trie, Vec<usize>) {
        let mut nodes = vec![Node::default()];
        let mut ends = Vec::with_capacity(paths.len());
        for path in paths {
            let mut at = 0;
            for key in path {
                at = match nodes[at].children.iter().find(|(k, _)| k == key) {
                    Some(&(_, child)) => child,
                    None => {
                        nodes.push(Node::default());
                        let child = nodes.len() - 1;
                        nodes[at].children.push((key.clone(), child));
                        child
                    }
                };
            }
            ends.push(at);
        }
        let wanted: Vec<bool> = (0..nodes.len()).map(|n| ends.contains(&n)).collect();
        let mut trie = Trie { nodes, slots: 0 };
        trie.number(0, &wanted);
        let slots = ends.iter().map(|&n| trie.nodes[n].slot.unwrap_or(usize::MAX)).collect();
        (trie, slots)
    }

    /// Numbers the wanted nodes' slots depth first and records each subtree's range.
    fn number(&mut self, node: usize, wanted: &[bool]) {
        let start = self.slots;
        if wanted[node] {
            self.nodes[node].slot = Some(self.slots);
            self.slots += 1;
        }
        let children: Vec<usize> = self.nodes[node].children.iter().map(|&(_, c)| c).collect();
        for child in children {
            self.number(child, wanted);
        }
        self.nodes[node].subtree = start..self.slots;
    }

    /// The node below `node` for `key`. A record has a few dozen keys and a node a few dozen
    /// children: comparing length and end bytes first leaves one full comparison per key, where a
    /// binary search spent a quarter of the flattening in `memcmp`.
    fn child(&self, node: usize, key: &str) -> Option<usize> {
        let key = key.as_bytes();
        let same = |k: &[u8]| k.len() == key.len() && k.first() == key.first() && k.last() == key.last() && k == key;
        self.nodes[node].children.iter().find(|(k, _)| same(k.as_bytes())).map(|&(_, child)| child)
    }
}

/// Where a cell's value comes from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// A slot of the record's root.
    Record(usize),
    /// A slot of the current element of a child table's array.
    Row(usize),
}

/// A table's rows: one per record, or one per element of an array of the record.
#[derive(Debug)]
enum Rows {
    Record,
    Each { array: usize, trie: Trie },
}

#[derive(Debug)]
struct TablePlan {
    rows: Rows,
    cells: Vec<Source>,
}

/// The flattening of one dataset's records into its tables, with buffers reused from record to
/// record (so flattening allocates nothing in the common case).
#[derive(Debug)]
pub struct Flattener {
    root: Trie,
    tables: Vec<TablePlan>,
    /// The located values of the current record's root.
    record: Vec<Option<Span>>,
    /// The located values of each element of the array being written, one after another.
    rows: Vec<Option<Span>>,
    /// An unescaped string, a defused one or a compacted nested value.
    text: String,
    field: Vec<u8>,
}

fn dotted(column: &str) -> Vec<String> {
    column.split('.').map(str::to_owned).collect()
}

impl Flattener {
    /// Compiles the column paths of `tables`.
    pub fn new(tables: &[CsvTable]) -> Flattener {
        // The record's paths: its id (for `^id`, first), every main table's columns and each
        // child table's array (a single key, as `value.get(rows_from)` reads it, dots and all).
        // Cells name a root path by its index until the root's slots are numbered.
        let mut paths: Vec<Vec<String>> = vec![vec!["id".to_owned()]];
        let mut add = |path: Vec<String>| {
            paths.push(path);
            paths.len() - 1
        };
        let mut pending = Vec::new();
        for table in tables {
            let (rows, cells) = match &table.rows_from {
                None => {
                    let cells = table
                        .columns
                        .iter()
                        .map(|c| Source::Record(if c == "^id" { 0 } else { add(dotted(c)) }))
                        .collect();
                    (Rows::Record, cells)
                }
                Some(key) => {
                    let array = add(vec![key.clone()]);
                    let own: Vec<Vec<String>> =
                        table.columns.iter().filter(|c| *c != "^id").map(|c| dotted(c)).collect();
                    let (trie, slots) = Trie::build(&own);
                    let mut slots = slots.into_iter();
                    let cells = table
                        .columns
                        .iter()
                        .map(|c| if c == "^id" { Source::Record(0) } else { Source::Row(slots.next().unwrap_or(0)) })
                        .collect();
                    (Rows::Each { array, trie }, cells)
                }
            };
            pending.push(TablePlan { rows, cells });
        }
        let (root, root_slots) = Trie::build(&paths);
        for plan in &mut pending {
            if let Rows::Each { array, .. } = &mut plan.rows {
                *array = root_slots[*array];
            }
            for cell in &mut plan.cells {
                if let Source::Record(path) = cell {
                    *path = root_slots[*path];
                }
            }
        }
        let record = vec![None; root.slots];
        Flattener { root, tables: pending, record, rows: Vec::new(), text: String::new(), field: Vec::new() }
    }

    /// Reads `record` (one JSON value) and locates every value the tables want. Fails when it is
    /// not valid JSON; nothing is written then.
    pub fn read(&mut self, record: &str) -> Result<(), serde_json::Error> {
        self.record.fill(None);
        locate(record, &self.root, 0, &mut self.record, record.as_ptr() as usize)
    }

    /// Writes table `table`'s rows of the record last [`Flattener::read`] (which must be `record`).
    pub fn write(&mut self, table: usize, record: &str, out: &mut Records) -> Result<(), serde_json::Error> {
        let plan = &self.tables[table];
        let cells = &plan.cells;
        match &plan.rows {
            Rows::Record => {
                for &cell in cells {
                    let Source::Record(slot) = cell else { continue };
                    write_cell(out, value(record, self.record[slot]), &mut self.text, &mut self.field)?;
                }
                out.end();
            }
            Rows::Each { array, trie } => {
                let Some(array) = value(record, self.record[*array]).filter(|a| a.starts_with('[')) else {
                    return Ok(());
                };
                self.rows.clear();
                let base = record.as_ptr() as usize;
                let mut de = serde_json::Deserializer::from_str(array);
                let count = de.deserialize_seq(Elements { trie, rows: &mut self.rows, base })?;
                for i in 0..count {
                    let row = &self.rows[i * trie.slots..(i + 1) * trie.slots];
                    write_row(out, cells, record, &self.record, row, &mut self.text, &mut self.field)?;
                }
            }
        }
        Ok(())
    }
}

fn write_row(
    out: &mut Records,
    cells: &[Source],
    record: &str,
    root: &[Option<Span>],
    row: &[Option<Span>],
    text: &mut String,
    field: &mut Vec<u8>,
) -> Result<(), serde_json::Error> {
    for &cell in cells {
        let span = match cell {
            Source::Record(slot) => root[slot],
            Source::Row(slot) => row[slot],
        };
        write_cell(out, value(record, span), text, field)?;
    }
    out.end();
    Ok(())
}

fn value(record: &str, span: Option<Span>) -> Option<&str> {
    span.map(|(start, len)| &record[start..start + len])
}

/// Writes one cell: nothing for a missing value or `null`; a string's text (defused, see
/// [`risky`]); a number or boolean exactly as written; an object or array as compact JSON.
fn write_cell(
    out: &mut Records,
    value: Option<&str>,
    text: &mut String,
    field: &mut Vec<u8>,
) -> Result<(), serde_json::Error> {
    let Some(value) = value else {
        out.field(b"");
        return Ok(());
    };
    match value.as_bytes().first() {
        None | Some(b'n') => out.field(b""),
        Some(b'"') => {
            let s = unescape(value, text)?;
            if risky(s) {
                field.clear();
                field.push(b'\'');
                field.extend_from_slice(s.as_bytes());
                out.field(field);
            } else {
                out.field(s.as_bytes());
            }
        }
        Some(b'{' | b'[') => {
            field.clear();
            compact(value, field)?;
            out.field(field);
        }
        Some(_) => out.field(value.as_bytes()),
    }
    Ok(())
}

/// Text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets a leading
/// `'`, as OWASP advises: buyer messages and product names are written by strangers, and the CSV
/// exists to be opened in a spreadsheet. Numbers such as a negative amount are left alone, and
/// the NDJSON keeps every value exactly.
pub fn risky(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err()
}

/// The text of the JSON string literal `literal`: borrowed when it has no escapes, else decoded
/// into `buf`.
fn unescape<'a>(literal: &'a str, buf: &'a mut String) -> Result<&'a str, serde_json::Error> {
    let inner = &literal[1..literal.len() - 1];
    if !inner.contains('\\') {
        return Ok(inner);
    }
    buf.clear();
    let mut rest = inner;
    while let Some(at) = rest.find('\\') {
        buf.push_str(&rest[..at]);
        let simple = match rest.as_bytes().get(at + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            // `\uXXXX` (surrogate pairs and all): serde_json's own decoding.
            _ => {
                *buf = serde_json::from_str::<String>(literal)?;
                return Ok(buf);
            }
        };
        buf.push(simple);
        rest = &rest[at + 2..];
    }
    buf.push_str(rest);
    Ok(buf)
}

/// Writes `raw` (an object or array) as compact JSON, as `serde_json::Value`'s `to_string` does
/// (keys in their order, a repeated key once, at its first place, with its last value; strings
/// escaped by serde_json), except that numbers keep their text.
fn compact(raw: &str, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    match raw.as_bytes().first() {
        Some(b'{') => {
            let entries = serde_json::from_str::<Entries<'_>>(raw)?.0;
            out.push(b'{');
            for (i, (key, value)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key.as_ref())?;
                out.push(b':');
                compact(value.get(), out)?;
            }
            out.push(b'}');
        }
        Some(b'[') => {
            let items = serde_json::from_str::<Vec<&RawValue>>(raw)?;
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                compact(item.get(), out)?;
            }
            out.push(b']');
        }
        Some(b'"') => {
            let s = serde_json::from_str::<Cow<'_, str>>(raw)?;
            serde_json::to_writer(&mut *out, s.as_ref())?;
        }
        _ => out.extend_from_slice(raw.as_bytes()),
    }
    Ok(())
}

/// An object's entries in order, a repeated key keeping its first place and its last value.
struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut entries: Vec<(Cow<'de, str>, &'de RawValue)> = Vec::new();
                while let Some(Key(key)) = map.next_key()? {
                    let value: &'de RawValue = map.next_value()?;
                    match entries.iter_mut().find(|(k, _)| *k == key) {
                        Some(entry) => entry.1 = value,
                        None => entries.push((key, value)),
                    }
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(V)
    }
}

/// An object key, borrowed from the record unless it has escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Locates the values `trie` wants below `node` in `text` (one JSON value, part of the record
/// whose first byte is at address `base`) into `slots`.
fn locate(text: &str, trie: &Trie, node: usize, slots: &mut [Option<Span>], base: usize) -> serde_json::Result<()> {
    let mut de = serde_json::Deserializer::from_str(text);
    Locate { trie, node, slots, base }.deserialize(&mut de)?;
    de.end()
}

/// Walks one value: an object is searched for the keys of `node`; anything else holds none.
struct Locate<'t, 's> {
    trie: &'t Trie,
    node: usize,
    slots: &'s mut [Option<Span>],
    base: usize,
}

impl<'de> DeserializeSeed<'de> for Locate<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Locate<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Locate { trie, node, slots, base } = self;
        while let Some(Key(key)) = map.next_key()? {
            let Some(child) = trie.child(node, &key) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let found = &trie.nodes[child];
            slots[found.subtree.clone()].fill(None);
            match found.slot {
                Some(slot) => {
                    let raw: &'de RawValue = map.next_value()?;
                    let text = raw.get();
                    slots[slot] = Some((text.as_ptr() as usize - base, text.len()));
                    if !found.children.is_empty() {
                        locate(text, trie, child, slots, base).map_err(de::Error::custom)?;
                    }
                }
                None => map.next_value_seed(Locate { trie, node: child, slots: &mut *slots, base })?,
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// The elements of a child table's array, each located with the table's own trie into `rows`.
struct Elements<'t, 'r> {
    trie: &'t Trie,
    rows: &'r mut Vec<Option<Span>>,
    base: usize,
}

impl<'de> Visitor<'de> for Elements<'_, '_> {
    /// How many elements there were.
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let width = self.trie.slots;
        let mut count = 0;
        loop {
            let start = self.rows.len();
            self.rows.resize(start + width, None);
            let element = Locate { trie: self.trie, node: 0, slots: &mut self.rows[start..], base: self.base };
            if seq.next_element_seed(element)?.is_none() {
                self.rows.truncate(start);
                return Ok(count);
            }
            count += 1;
        }
    }
}
