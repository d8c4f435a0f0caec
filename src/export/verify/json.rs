//! Is a line one JSON value? The question `verify` asks of every line of every NDJSON file.
//!
//! serde_json answers it at about two thirds of the speed of SHA-256, which made the check, not
//! the hash, the slow part of `verify`. [`is_json`] first reads the line with a small strict
//! parser (RFC 8259, plain bytes skipped eight at a time) that accepts only text serde_json
//! accepts too; anything it does not accept (an error, or a rarity it leaves alone: a surrogate
//! escape, deep nesting) is decided by serde_json, so the verdict is always serde_json's.

use serde::de::IgnoredAny;

/// True when `line` is one JSON value with optional whitespace around it, as
/// `serde_json::from_slice::<IgnoredAny>` reads it.
pub fn is_json(line: &[u8]) -> bool {
    strict(line) || serde_json::from_slice::<IgnoredAny>(line).is_ok()
}

/// True only for text that is certainly JSON; false means "ask serde_json".
fn strict(line: &[u8]) -> bool {
    let mut p = Parser { b: line, i: 0 };
    p.ws();
    if !p.value(0) {
        return false;
    }
    p.ws();
    p.i == line.len()
}

/// Deeper nesting is left to serde_json (this parser recurses).
const MAX_DEPTH: u32 = 64;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of `w` is zero.
fn has_zero(w: u64) -> bool {
    w.wrapping_sub(ONES) & !w & HIGH != 0
}

/// Whether any of the eight bytes of `w` needs a look inside a string: a quote, a backslash or
/// a control character.
fn special(w: u64) -> bool {
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0;
    control || has_zero(w ^ (ONES * u64::from(b'"'))) || has_zero(w ^ (ONES * u64::from(b'\\')))
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: u32) -> bool {
        match self.peek() {
            Some(b'{') => depth < MAX_DEPTH && self.object(depth + 1),
            Some(b'[') => depth < MAX_DEPTH && self.array(depth + 1),
            Some(b'"') => self.string(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => false,
        }
    }

    fn object(&mut self, depth: u32) -> bool {
        self.i += 1;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return true;
        }
        loop {
            if self.peek() != Some(b'"') || !self.string() {
                return false;
            }
            self.ws();
            if self.peek() != Some(b':') {
                return false;
            }
            self.i += 1;
            self.ws();
            if !self.value(depth) {
                return false;
            }
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b'}') => {
                    self.i += 1;
                    return true;
                }
                _ => return false,
            }
        }
    }

    fn array(&mut self, depth: u32) -> bool {
        self.i += 1;
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return true;
        }
        loop {
            if !self.value(depth) {
                return false;
            }
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b']') => {
                    self.i += 1;
                    return true;
                }
                _ => return false,
            }
        }
    }

    fn string(&mut self) -> bool {
        self.i += 1;
        loop {
            while let Some(word) = self.b.get(self.i..self.i + 8) {
                let w = u64::from_le_bytes([word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7]]);
                if special(w) {
                    break;
                }
                self.i += 8;
            }
            match self.peek() {
                None => return false,
                Some(b'"') => {
                    self.i += 1;
                    return true;
                }
                Some(b'\\') => {
                    if !self.escape() {
                        return false;
                    }
                }
                Some(c) if c < 0x20 => return false,
                Some(_) => self.i += 1,
            }
        }
    }

    fn escape(&mut self) -> bool {
        match self.b.get(self.i + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.i += 2;
                true
            }
            Some(b'u') => {
                let Some(hex) = self.b.get(self.i + 2..self.i + 6) else { return false };
                let mut code = 0u32;
                for &h in hex {
                    let Some(digit) = char::from(h).to_digit(16) else { return false };
                    code = code * 16 + digit;
                }
                // Surrogates (pairs or not) are serde_json's to judge.
                if (0xD800..=0xDFFF).contains(&code) {
                    return false;
                }
                self.i += 6;
                true
            }
            _ => false,
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn digits(&mut self) -> bool {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i > start
    }

    fn number(&mut self) -> bool {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return false,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !self.digits() {
                return false;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if !self.digits() {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde(line: &[u8]) -> bool {
        serde_json::from_slice::<IgnoredAny>(line).is_ok()
    }

    #[test]
    fn the_strict_reading_accepts_only_what_serde_json_accepts() {
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let lines: Vec<&[u8]> = vec![
            br#"{"id":"1","n":-12.50e+3,"a":[true,false,null,{}],"s":"\"\\\/\b\f\n\r\t\u00e9"}"#,
            b" 1 \r",
            b"-0",
            b"0.5",
            b"[]",
            br#"{"a":1,"a":2}"#,
            "{\"é\":\"ünïcode — ok\"}".as_bytes(),
            deep.as_bytes(),
            b"",
            b" ",
            b"01",
            b"1.",
            b".5",
            b"1e",
            b"-",
            b"+1",
            b"tru",
            b"nul",
            b"[1,]",
            b"{\"a\":1,}",
            b"{\"a\" 1}",
            b"{a:1}",
            b"[1 2]",
            b"\"open",
            b"\"a\tb\"",
            b"\"bad \\x escape\"",
            b"\"\\u12\"",
            b"\"\\ud800\"",
            b"\"\\ud83d\\ude00\"",
            b"[\"\xff\"]",
            b"1e400",
            b"{} {}",
            b"{}x",
            b"\"\x7f\"",
        ];
        for line in lines {
            if strict(line) {
                assert!(serde(line), "accepted what serde_json refuses: {:?}", String::from_utf8_lossy(line));
            }
            assert_eq!(is_json(line), serde(line), "{:?}", String::from_utf8_lossy(line));
        }
        assert!(strict(br#"{"id":"1","items":[{"x":1.5e-3}]}"#));
        assert!(!strict(b"01"));
    }

    #[test]
    fn every_prefix_of_a_record_agrees_with_serde_json() {
        let record = br#"{"id":"570369624532733372","address":"7086 Old Mill Rd\nUnit B","n":[1,-2.5,3e7,{"k":null}],"t":true,"u":"\u00e9\ud83d\ude00"}"#;
        for end in 0..=record.len() {
            let line = &record[..end];
            assert_eq!(is_json(line), serde(line), "{:?}", String::from_utf8_lossy(line));
            if strict(line) {
                assert!(serde(line));
            }
        }
    }
}
