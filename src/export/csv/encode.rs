//! CSV text byte for byte as the csv crate's default writer writes it, appended to a buffer.
//!
//! The csv crate's `Writer` costs a state machine step and a buffer check per field; with sixty
//! fields a record that was half the flattening. The rules it applies by default are short, and
//! the tests hold this to them: fields are separated by `,` and records end with `\n`; a field
//! holding a `,`, a `"`, a CR or an LF is quoted, with each `"` doubled; a record whose only
//! field is empty is written `""` (a bare empty line would read as no record at all).

/// Bytes that make a field quoted.
const fn quoted_bytes() -> [bool; 256] {
    let mut table = [false; 256];
    table[b',' as usize] = true;
    table[b'"' as usize] = true;
    table[b'\r' as usize] = true;
    table[b'\n' as usize] = true;
    table
}
const NEEDS_QUOTES: [bool; 256] = quoted_bytes();

/// Records appended as CSV text.
#[derive(Debug, Default)]
pub struct Records {
    bytes: Vec<u8>,
    /// Where the record being written starts in `bytes`.
    record_start: usize,
    /// Fields written to it so far.
    fields: usize,
}

impl Records {
    /// Adds a field to the record being written.
    pub fn field(&mut self, field: &[u8]) {
        if self.fields > 0 {
            self.bytes.push(b',');
        }
        self.fields += 1;
        if !field.iter().any(|&b| NEEDS_QUOTES[usize::from(b)]) {
            self.bytes.extend_from_slice(field);
            return;
        }
        self.bytes.push(b'"');
        let mut rest = field;
        while let Some(at) = memchr::memchr(b'"', rest) {
            self.bytes.extend_from_slice(&rest[..=at]);
            self.bytes.push(b'"');
            rest = &rest[at + 1..];
        }
        self.bytes.extend_from_slice(rest);
        self.bytes.push(b'"');
    }

    /// Ends the record being written.
    pub fn end(&mut self) {
        if self.bytes.len() == self.record_start {
            self.bytes.extend_from_slice(b"\"\"");
        }
        self.bytes.push(b'\n');
        self.fields = 0;
        self.record_start = self.bytes.len();
    }

    /// The text of the records ended so far.
    pub fn text(&self) -> &[u8] {
        &self.bytes[..self.record_start]
    }

    /// Forgets the records ended so far (once their text is written out).
    pub fn clear(&mut self) {
        self.bytes.drain(..self.record_start);
        self.record_start = 0;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ours(records: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let mut out = Records::default();
        for record in records {
            for field in record {
                out.field(field);
            }
            out.end();
        }
        out.text().to_vec()
    }

    fn the_csv_crates(records: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new().has_headers(false).flexible(true).from_writer(Vec::new());
        for record in records {
            w.write_record(record).unwrap();
        }
        w.into_inner().unwrap()
    }

    #[test]
    fn awkward_fields_are_written_as_the_csv_crate_writes_them() {
        let fields: [&[u8]; 12] = [
            b"",
            b"plain",
            b"a,b",
            b"say \"hi\"",
            b"\"",
            b"\"\"",
            b"line\nbreak",
            b"cr\r",
            b" spaced ",
            b"'=1+2",
            "ünï 😀".as_bytes(),
            b"#",
        ];
        let mut records: Vec<Vec<Vec<u8>>> = fields.iter().map(|f| vec![f.to_vec()]).collect();
        records.push(fields.iter().map(|f| f.to_vec()).collect());
        records.push(vec![b"".to_vec(), b"".to_vec()]);
        records.push(vec![b"".to_vec(), b"x".to_vec()]);
        assert_eq!(ours(&records), the_csv_crates(&records));
    }

    proptest! {
        #[test]
        fn any_fields_are_written_as_the_csv_crate_writes_them(
            records in prop::collection::vec(prop::collection::vec(prop::collection::vec(
                prop_oneof![Just(b','), Just(b'"'), Just(b'\n'), Just(b'\r'), Just(b'a'), Just(b' '), Just(0xc3u8)], 0..5), 0..4), 0..6)
        ) {
            prop_assert_eq!(ours(&records), the_csv_crates(&records));
        }
    }
}
