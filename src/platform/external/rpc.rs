//! JSON-RPC 2.0 over a child process's stdin/stdout, one message per line (docs/plugin-protocol.md §1).
//!
//! The plugin is someone else's program, so nothing it does may hang or crash shopunlink: every
//! request has a deadline, every line a length limit, and every way the conversation can go wrong
//! (the process died, it went quiet, it wrote something that is not a response to our request)
//! becomes a platform error naming the plugin. After such a failure the connection is spent: a
//! late answer could otherwise be taken for the reply to the next request.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;

use crate::error::{Error, ErrorKind, Result};

/// The longest line accepted from a plugin: a page of records travels as one line.
pub const MAX_LINE: usize = 64 * 1024 * 1024;

/// The longest stderr line forwarded to the log; longer ones are cut.
const MAX_LOG_LINE: usize = 64 * 1024;

/// A running plugin and the conversation with it.
#[derive(Debug)]
pub struct Connection {
    /// `shopunlink-platform-NAME`, for every message.
    program: String,
    io: Mutex<Io>,
}

#[derive(Debug)]
struct Io {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
    /// Why the connection can no longer be used, once it cannot.
    broken: Option<String>,
}

/// A JSON-RPC error object as a plugin sends it.
#[derive(Debug, Deserialize)]
struct RpcError {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    data: Option<Value>,
}

/// A response line, with the result left as text for the caller to parse (pages keep their
/// records' exact bytes).
#[derive(Debug, Deserialize)]
struct Envelope<'a> {
    jsonrpc: Option<&'a str>,
    #[serde(default)]
    id: Value,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<RpcError>,
}

/// The JSON-RPC code for "method not found": an optional method the plugin does not have.
pub const METHOD_NOT_FOUND: i64 = -32601;

impl Connection {
    /// Starts `path` with its stdin and stdout piped; its stderr lines go to the log.
    pub fn spawn(program: &str, path: &Path) -> Result<Connection> {
        let mut child = Command::new(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                Error::platform(format!("could not start the platform plugin {program}"))
                    .with_cause(format!("{}: {e}", path.display()))
                    .with_hint("check that the file is executable and its interpreter (#! line) is installed")
            })?;
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(Error::internal("a piped child has no pipes"));
        };
        tokio::spawn(forward_stderr(program.to_owned(), BufReader::new(stderr)));
        let io = Io { child, stdin: Some(stdin), stdout: BufReader::new(stdout), next_id: 1, broken: None };
        Ok(Connection { program: program.to_owned(), io: Mutex::new(io) })
    }

    /// The plugin's program name.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// Sends `method` and parses the result as `T`, within `timeout`.
    pub async fn call<T: DeserializeOwned>(&self, method: &str, params: Value, timeout: Duration) -> Result<T> {
        self.call_with(method, params, timeout, |raw| serde_json::from_str(raw.get())).await
    }

    /// Sends `method` and hands the raw result to `parse`, within `timeout`. Requests go one at a
    /// time: the protocol lets a plugin be a plain read-a-line, write-a-line loop.
    pub async fn call_with<T>(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
        parse: impl FnOnce(&RawValue) -> serde_json::Result<T>,
    ) -> Result<T> {
        let mut io = self.io.lock().await;
        if let Some(why) = &io.broken {
            return Err(self.failure(method, why.clone()));
        }
        let line = match tokio::time::timeout(timeout, io.exchange(method, params)).await {
            Ok(Ok(line)) => line,
            Ok(Err(why)) => return Err(self.break_with(&mut io, method, why).await),
            Err(_) => {
                let why = format!("no answer within {} s", timeout.as_secs_f32());
                let hint = format!("a slow plugin can be given longer with {}=SECONDS", super::TIMEOUT_ENV);
                return Err(self.break_with(&mut io, method, why).await.with_hint(hint));
            }
        };
        let expected = io.next_id - 1;
        match self.read_response(&line, expected, method, parse) {
            Ok(v) => Ok(v),
            Err(Failure::Protocol(why)) => Err(self.break_with(&mut io, method, why).await),
            Err(Failure::Answered(e)) => Err(e),
        }
    }

    /// Asks the plugin to exit, closes its stdin and waits a moment for it; kills it otherwise.
    pub async fn shutdown(&self, timeout: Duration) {
        let answered: Result<Value> = self.call("shutdown", serde_json::json!({}), timeout).await;
        if let Err(e) = answered {
            tracing::debug!("{}: shutdown: {}", self.program, e.message());
        }
        let mut io = self.io.lock().await;
        io.stdin = None;
        if tokio::time::timeout(timeout, io.child.wait()).await.is_err() {
            let _ = io.child.start_kill();
        }
        io.broken.get_or_insert_with(|| "the plugin was shut down".into());
    }

    /// Marks the connection unusable, stops the process, and builds the error for `method`. A
    /// plugin that had already exited says how (its exit code is often the best clue).
    async fn break_with(&self, io: &mut Io, method: &str, why: String) -> Error {
        io.broken = Some(why.clone());
        io.stdin = None;
        // A plugin that closed its output is usually exiting: give it a moment to be reaped.
        let exited = tokio::time::timeout(Duration::from_millis(200), io.child.wait()).await;
        let _ = io.child.start_kill();
        let error = self.failure(method, why);
        match exited {
            Ok(Ok(status)) if !status.success() => error.with_cause(format!("the plugin exited with {status}")),
            _ => error,
        }
    }

    fn failure(&self, method: &str, why: String) -> Error {
        Error::platform(format!("the platform plugin {} failed during {method}: {why}", self.program))
            .with_hint(format!("run with -v to see what {} logged on stderr", self.program))
            .with_detail("plugin", self.program.clone())
    }

    fn read_response<T>(
        &self,
        line: &str,
        expected: u64,
        method: &str,
        parse: impl FnOnce(&RawValue) -> serde_json::Result<T>,
    ) -> Result<T, Failure> {
        let shown = preview(line);
        let env: Envelope = serde_json::from_str(line)
            .map_err(|e| Failure::Protocol(format!("it wrote something that is not JSON ({e}): {shown}")))?;
        if env.jsonrpc != Some("2.0") || env.id != expected {
            return Err(Failure::Protocol(format!(
                "it answered with something other than a JSON-RPC 2.0 response to request {expected}: {shown}"
            )));
        }
        if let Some(error) = env.error {
            return Err(Failure::Answered(self.answered_error(method, error)));
        }
        let result = env.result.ok_or_else(|| Failure::Protocol(format!("its response has no result: {shown}")))?;
        parse(result).map_err(|e| Failure::Protocol(format!("its {method} result does not fit the protocol ({e})")))
    }

    /// The error a plugin answered, mapped to the exit-code kind it names.
    fn answered_error(&self, method: &str, error: RpcError) -> Error {
        let data = error.data.unwrap_or(Value::Null);
        let kind = data.get("kind").and_then(Value::as_str).and_then(kind_from_wire).unwrap_or(ErrorKind::Platform);
        let mut e = Error::new(kind, format!("{} ({}): {}", self.program, method, error.message))
            .with_detail("plugin", self.program.clone())
            .with_detail("rpc_code", error.code);
        if let Some(hint) = data.get("hint").and_then(Value::as_str) {
            e = e.with_hint(hint);
        }
        if error.code == METHOD_NOT_FOUND {
            e = e.with_detail("method_not_found", true);
        }
        e
    }
}

/// Why a response could not be used: the plugin broke the protocol, or it answered an error.
enum Failure {
    Protocol(String),
    Answered(Error),
}

impl Io {
    /// Writes one request and reads one line back.
    async fn exchange(&mut self, method: &str, params: Value) -> std::result::Result<String, String> {
        let id = self.next_id;
        self.next_id += 1;
        let request = serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let mut text = request.to_string();
        text.push('\n');
        let stdin = self.stdin.as_mut().ok_or("its stdin is closed")?;
        let written = async {
            stdin.write_all(text.as_bytes()).await?;
            stdin.flush().await
        };
        written.await.map_err(|e| format!("it stopped reading its input ({e}); did it exit?"))?;
        read_line(&mut self.stdout, MAX_LINE).await
    }
}

/// Reads one `\n`-terminated line of at most `max` bytes.
async fn read_line(reader: &mut (impl AsyncBufRead + Unpin), max: usize) -> std::result::Result<String, String> {
    let mut buf = Vec::new();
    let n = reader
        .take(max as u64 + 1)
        .read_until(b'\n', &mut buf)
        .await
        .map_err(|e| format!("reading its output failed: {e}"))?;
    if n == 0 {
        return Err("it exited (closed its output) without answering".into());
    }
    if buf.last() != Some(&b'\n') {
        return Err(if buf.len() > max {
            format!("it wrote a line longer than {} MiB", max / (1024 * 1024))
        } else {
            "it exited in the middle of a line".into()
        });
    }
    buf.pop();
    String::from_utf8(buf).map_err(|_| "it wrote a line that is not UTF-8".into())
}

/// Forwards the plugin's stderr to the log, one line at a time (shown at `-v`).
async fn forward_stderr(program: String, mut reader: BufReader<tokio::process::ChildStderr>) {
    loop {
        let mut buf = Vec::new();
        match (&mut reader).take(MAX_LOG_LINE as u64).read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&buf);
                tracing::info!("{program}: {}", text.trim_end());
            }
        }
    }
}

/// The first part of a line, for error messages.
fn preview(line: &str) -> String {
    const MAX: usize = 120;
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_owned(),
    }
}

/// The error kind a plugin names in `error.data.kind` (docs/plugin-protocol.md §2).
pub fn kind_from_wire(kind: &str) -> Option<ErrorKind> {
    Some(match kind {
        "usage" => ErrorKind::Usage,
        "auth" => ErrorKind::Auth,
        "safety" => ErrorKind::Refused,
        "platform" => ErrorKind::Platform,
        "not_found" => ErrorKind::NotFound,
        "verification" => ErrorKind::Verification,
        "internal" => ErrorKind::Internal,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_line_is_read_whole_and_a_long_one_refused() {
        let mut ok = BufReader::new(&b"{\"a\":1}\nrest"[..]);
        assert_eq!(read_line(&mut ok, 100).await.unwrap(), "{\"a\":1}");
        let mut long = BufReader::new(&b"0123456789\n"[..]);
        assert!(read_line(&mut long, 5).await.unwrap_err().contains("longer"));
        let mut cut = BufReader::new(&b"{\"a\""[..]);
        assert!(read_line(&mut cut, 100).await.unwrap_err().contains("middle"));
        let mut empty = BufReader::new(&b""[..]);
        assert!(read_line(&mut empty, 100).await.unwrap_err().contains("exited"));
    }

    #[test]
    fn every_documented_kind_maps_to_an_exit_code() {
        for (wire, code) in [
            ("usage", 2),
            ("auth", 4),
            ("safety", 5),
            ("platform", 6),
            ("not_found", 7),
            ("verification", 8),
            ("internal", 1),
        ] {
            assert_eq!(kind_from_wire(wire).map(ErrorKind::exit_code), Some(code), "{wire}");
        }
        assert_eq!(kind_from_wire("bogus"), None);
    }

    #[test]
    fn a_preview_is_cut_on_a_character_boundary() {
        let long = "é".repeat(300);
        assert!(preview(&long).ends_with("..."));
        assert_eq!(preview("short"), "short");
    }
}
