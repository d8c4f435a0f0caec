//! A quick proof that a CSV file is well-formed, for files written the way shopunlink writes them.
//!
//! The csv crate reads about 1 GB/s, half the speed of SHA-256, which made the CSV check the slow
//! part of `verify`. [`CsvShape`] reads the one dialect the export writes (RFC 4180: `,` between
//! fields, `\n` after every record, a field quoted when it holds a `,`, `"`, CR or LF, `""` for a
//! quote inside) and counts each record's fields. When every record has as many fields as the
//! first and the text is UTF-8, the csv crate reads it without error too. Anything else (another
//! dialect, a stray quote, a CR outside quotes, a blank line, unequal counts, bad UTF-8) proves
//! nothing: the caller then reads the file with the csv crate, whose verdict and message count.

/// Where the reading is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a record.
    RecordStart,
    /// At the start of a field after a `,`.
    FieldStart,
    /// Inside an unquoted field.
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// After a `"` inside a quoted field: the end of the field or the first half of `""`.
    QuoteSeen,
}

/// Bytes that end (or, if unexpected, spoil) an unquoted field.
const fn specials() -> [bool; 256] {
    let mut table = [false; 256];
    table[b',' as usize] = true;
    table[b'\n' as usize] = true;
    table[b'\r' as usize] = true;
    table[b'"' as usize] = true;
    table
}
const SPECIAL: [bool; 256] = specials();

/// Reads a CSV file chunk by chunk.
#[derive(Debug)]
pub struct CsvShape {
    state: State,
    fields: u64,
    first: Option<u64>,
    /// True once the text left the dialect (or broke a rule): nothing is proven.
    unsure: bool,
    /// The start of a UTF-8 sequence cut by the end of the previous chunk.
    utf8_tail: Vec<u8>,
}

impl Default for CsvShape {
    fn default() -> Self {
        CsvShape { state: State::RecordStart, fields: 0, first: None, unsure: false, utf8_tail: Vec::new() }
    }
}

impl CsvShape {
    /// Reads the next chunk of the file.
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.unsure {
            return;
        }
        self.check_utf8(chunk);
        let mut i = 0;
        while i < chunk.len() && !self.unsure {
            match self.state {
                State::RecordStart | State::FieldStart => match chunk[i] {
                    b'"' => {
                        self.state = State::Quoted;
                        i += 1;
                    }
                    // A blank line is skipped by the csv crate: not this dialect.
                    b'\n' if self.state == State::RecordStart => self.unsure = true,
                    end @ (b',' | b'\n') => {
                        self.end_field(end);
                        i += 1;
                    }
                    b'\r' => self.unsure = true,
                    _ => self.state = State::Unquoted,
                },
                State::Unquoted => {
                    let rest = &chunk[i..];
                    i += rest.iter().position(|&b| SPECIAL[usize::from(b)]).unwrap_or(rest.len());
                    match chunk.get(i) {
                        None => {}
                        Some(&end @ (b',' | b'\n')) => {
                            self.end_field(end);
                            i += 1;
                        }
                        Some(_) => self.unsure = true,
                    }
                }
                State::Quoted => match memchr::memchr(b'"', &chunk[i..]) {
                    None => i = chunk.len(),
                    Some(at) => {
                        i += at + 1;
                        self.state = State::QuoteSeen;
                    }
                },
                State::QuoteSeen => match chunk[i] {
                    b'"' => {
                        self.state = State::Quoted;
                        i += 1;
                    }
                    end @ (b',' | b'\n') => {
                        self.end_field(end);
                        i += 1;
                    }
                    _ => self.unsure = true,
                },
            }
        }
    }

    /// A field ended with `end`: `,` starts the next one, `\n` ends the record.
    fn end_field(&mut self, end: u8) {
        if end == b'\n' {
            self.end_record();
        } else {
            self.fields += 1;
            self.state = State::FieldStart;
        }
    }

    /// The last field of a record ended with its `\n`.
    fn end_record(&mut self) {
        self.fields += 1;
        match self.first {
            None => self.first = Some(self.fields),
            Some(n) if n != self.fields => self.unsure = true,
            Some(_) => {}
        }
        self.fields = 0;
        self.state = State::RecordStart;
    }

    fn check_utf8(&mut self, chunk: &[u8]) {
        let mut chunk = chunk;
        if let Some(&lead) = self.utf8_tail.first() {
            // Complete the sequence the previous chunk cut, then read this one after it.
            let width = match lead {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                _ => 4,
            };
            let need = width - self.utf8_tail.len();
            if chunk.len() < need {
                self.utf8_tail.extend_from_slice(chunk);
                return;
            }
            self.utf8_tail.extend_from_slice(&chunk[..need]);
            if std::str::from_utf8(&self.utf8_tail).is_err() {
                self.unsure = true;
                return;
            }
            self.utf8_tail.clear();
            chunk = &chunk[need..];
        }
        match std::str::from_utf8(chunk) {
            Ok(_) => {}
            // A sequence cut by the end of the chunk (at most 3 bytes).
            Err(e) if e.error_len().is_none() => self.utf8_tail = chunk[e.valid_up_to()..].to_vec(),
            Err(_) => self.unsure = true,
        }
    }

    /// True when the whole file was read in this dialect, every record with the first one's
    /// field count, all of it UTF-8: the csv crate reads it without error.
    pub fn proven(&self) -> bool {
        !self.unsure && self.state == State::RecordStart && self.utf8_tail.is_empty()
    }
}

/// The first error the csv crate finds reading `input` as `verify` reads a CSV file it could not
/// prove by shape (one record shape throughout); `None` when it reads to the end.
pub(super) fn csv_crate_error(input: impl std::io::Read) -> Option<String> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => return Some(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The csv crate's verdict, exactly as `verify` asks it.
    fn crate_ok(data: &[u8]) -> bool {
        csv_crate_error(data).is_none()
    }

    fn proven(data: &[u8], chunk: usize) -> bool {
        let mut shape = CsvShape::default();
        for piece in data.chunks(chunk.max(1)) {
            shape.feed(piece);
        }
        shape.proven()
    }

    fn written(rows: &[Vec<String>]) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
        for row in rows {
            w.write_record(row).unwrap();
        }
        w.into_inner().unwrap()
    }

    #[test]
    fn what_the_export_writes_is_proven_and_the_rest_left_to_the_csv_crate() {
        let proven_ok: [&[u8]; 7] = [
            b"",
            b"a,b\n1,2\n",
            b"a,b\n,\n\"\",x\n",
            b"a,b\n\"x,\ny\"\"z\r\",\"\"\n",
            "h\n\"ünï — 😀\"\n".as_bytes(),
            b"\xef\xbb\xbfa,b\n1,2\n",
            b"\"\"\n\"\"\n",
        ];
        for data in proven_ok {
            for chunk in 1..=data.len().max(1) {
                assert!(proven(data, chunk), "{:?} in chunks of {chunk}", String::from_utf8_lossy(data));
            }
            assert!(crate_ok(data));
        }
        let unsure: [&[u8]; 12] = [
            b"a,b\n1\n",
            b"a,b\n1,2",
            b"a,b\n\n1,2\n",
            b"a,b\r\n1,2\r\n",
            b"a,b\n1,\"2\"x\n",
            b"a,b\n1,2\"\n",
            b"a,b\n1,\"open\n",
            b"a\n\xff\n",
            b"a\n\xe2\x82\n",
            b"a\n\xe2\x82",
            b"a,b\n1,2,3\n",
            b"a\rb\n",
        ];
        for data in unsure {
            for chunk in 1..=data.len() {
                assert!(!proven(data, chunk), "{:?} in chunks of {chunk}", String::from_utf8_lossy(data));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Whatever the bytes, "proven" implies the csv crate agrees.
        #[test]
        fn proven_implies_the_csv_crate_reads_it_without_error(
            data in prop::collection::vec(prop_oneof![
                Just(b','), Just(b'"'), Just(b'\n'), Just(b'\r'), Just(b'a'), Just(b' '), Just(0xe2u8), Just(0x82u8), Just(0xacu8)
            ], 0..40),
            chunk in 1usize..8,
        ) {
            if proven(&data, chunk) {
                prop_assert!(crate_ok(&data), "{:?}", String::from_utf8_lossy(&data));
            }
        }

        /// What a csv writer writes (same field count per record) is proven, in any chunking.
        #[test]
        fn written_records_are_proven(
            width in 1usize..5,
            rows in prop::collection::vec(prop::collection::vec("[a,\"\n\r é😀=-]{0,6}", 5), 0..6),
            chunk in 1usize..64,
        ) {
            let rows: Vec<Vec<String>> = rows.into_iter().map(|r| r.into_iter().take(width).collect()).collect();
            let data = written(&rows);
            prop_assert!(crate_ok(&data));
            prop_assert!(proven(&data, chunk), "{:?}", String::from_utf8_lossy(&data));
        }
    }
}
