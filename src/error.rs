//! One error type for the whole program.
//!
//! Every failure carries a [`ErrorKind`], and the kind alone decides the exit code (SPEC §4), so a
//! command can never pick an exit code by accident. Messages are written for the user: `message`
//! says what went wrong, `causes` say why (outermost first), `hints` say what to do about it.

use std::fmt;
use std::path::Path;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

/// What kind of failure this is; decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A bug or an I/O error outside the cases below (exit 1).
    Internal,
    /// Bad flags or arguments, or input needed under `--no-input` (exit 2).
    Usage,
    /// The user declined a confirmation (exit 3).
    Cancelled,
    /// Missing or invalid credentials, or a wrong second factor (exit 4).
    Auth,
    /// A preflight check refuses the operation (exit 5).
    Refused,
    /// Network, 5xx, rate limiting after retries, or an unreadable response (exit 6).
    Platform,
    /// Unknown shop or link (exit 7).
    NotFound,
    /// An export is incomplete, altered or corrupt (exit 8).
    Verification,
    /// A guided disconnect did its part, but `--wait` ran out before the owner finished theirs
    /// (exit 9): not a failure of the tool, yet not the "gone" a script waited for either.
    Pending,
    /// Ctrl-C or SIGTERM (exit 130).
    Interrupted,
}

impl ErrorKind {
    /// The documented process exit code for this kind.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Internal => 1,
            ErrorKind::Usage => 2,
            ErrorKind::Cancelled => 3,
            ErrorKind::Auth => 4,
            ErrorKind::Refused => 5,
            ErrorKind::Platform => 6,
            ErrorKind::NotFound => 7,
            ErrorKind::Verification => 8,
            ErrorKind::Pending => 9,
            ErrorKind::Interrupted => 130,
        }
    }
}

/// A user-facing error: kind, message, cause chain, hints and machine-readable details.
/// Boxed so that `Result<T>` stays one pointer wide on the happy path.
#[derive(Debug)]
pub struct Error(Box<Inner>);

/// The `reason` detail of an auth error that means "nothing is stored" (as opposed to a token the
/// platform refused): after a guided disconnect forgot the tokens, that is the expected state.
pub const NO_CREDENTIALS: &str = "no_credentials";

/// The `reason` detail of an auth error for a dataset or API the credentials may not read (the
/// app lacks a scope); the `scope` detail names it. An export lists such a dataset as skipped.
pub const MISSING_SCOPE: &str = "missing_scope";

/// The `reason` detail of an auth error whose token the platform refused as invalid: what a
/// platform answers once the owner removed the authorisation, and also to a wrong token.
pub const TOKEN_REFUSED: &str = "token_refused";

/// The parts of an [`Error`]. `source` keeps the underlying error object, so `source()` walks
/// the real chain; `causes` holds its text (and any plain-text causes) for the user.
#[derive(thiserror::Error)]
#[error("{message}")]
struct Inner {
    kind: ErrorKind,
    message: String,
    causes: Vec<String>,
    hints: Vec<String>,
    details: Map<String, Value>,
    /// Top-level fields of the `--json` document beside `error`: a command whose result document
    /// says what failed (verify's per-dataset report) keeps that shape when it fails.
    document: Map<String, Value>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// Written by hand so a debug print (a panic message, a log at `-vv`) shows only the texts the
/// user sees, never a source error's own debug form (a request's full URL, say).
impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("causes", &self.causes)
            .field("hints", &self.hints)
            .finish_non_exhaustive()
    }
}

/// The crate-wide result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with a one-line message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(Box::new(Inner {
            kind,
            message: message.into(),
            causes: Vec::new(),
            hints: Vec::new(),
            details: Map::new(),
            document: Map::new(),
            source: None,
        }))
    }

    /// Exit 1: something that should not happen.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    /// Exit 2: bad input from the user.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }
    /// Exit 4: credentials or second factor.
    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Auth, message)
    }
    /// Exit 5: a safety check said no.
    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Refused, message)
    }
    /// Exit 6: the platform failed or answered something unreadable.
    pub fn platform(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Platform, message)
    }
    /// Exit 7: unknown shop or link.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    /// Exit 8: an export did not verify.
    pub fn verification(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Verification, message)
    }
    /// Exit 9: the owner still has a step to take in the platform's own UI.
    pub fn pending(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Pending, message)
    }
    /// Exit 3: the user said no.
    pub fn cancelled(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Cancelled, message)
    }
    /// Exit 130: interrupted by a signal.
    pub fn interrupted(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Interrupted, message)
    }

    /// An I/O failure on `path`, phrased as `what` (e.g. "cannot write").
    pub fn io(what: &str, path: &Path, err: std::io::Error) -> Self {
        Self::internal(format!("{what} {}", path.display()))
            .with_source(err)
            .with_detail("path", path.display().to_string())
    }

    /// Keeps `source` as this error's cause: its text and that of every error behind it become
    /// "caused by" lines, and `std::error::Error::source` returns it.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(&source);
        while let Some(e) = next {
            let text = e.to_string();
            if self.0.causes.last() != Some(&text) {
                self.0.causes.push(text);
            }
            next = e.source();
        }
        if self.0.source.is_none() {
            self.0.source = Some(Box::new(source));
        }
        self
    }

    /// Adds a "caused by" line.
    pub fn with_cause(mut self, cause: impl fmt::Display) -> Self {
        self.0.causes.push(cause.to_string());
        self
    }

    /// Adds a "hint" line.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.0.hints.push(hint.into());
        self
    }

    /// Adds a machine-readable field to the `--json` error document.
    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.details.insert(key.to_owned(), value.into());
        self
    }

    /// Puts the fields of `document` (a struct or map) at the top of the `--json` error document,
    /// beside `schema_version` and `error`, which they never replace.
    pub fn with_document(mut self, document: &impl Serialize) -> Self {
        if let Ok(Value::Object(fields)) = serde_json::to_value(document) {
            self.0.document = fields;
        }
        self
    }

    /// Wraps this error in a higher-level message, keeping kind, hints and details.
    pub fn context(mut self, message: impl Into<String>) -> Self {
        let inner = std::mem::replace(&mut self.0.message, message.into());
        self.0.causes.insert(0, inner);
        self
    }

    /// Changes the kind (and so the exit code), keeping everything else.
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.0.kind = kind;
        self
    }

    /// The kind, which decides the exit code.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }
    /// The one-line message.
    pub fn message(&self) -> &str {
        &self.0.message
    }
    /// The "caused by" lines, outermost first.
    pub fn causes(&self) -> &[String] {
        &self.0.causes
    }
    /// The "hint" lines.
    pub fn hints(&self) -> &[String] {
        &self.0.hints
    }
    /// True when the credentials may not read what was asked (reason [`MISSING_SCOPE`]).
    pub fn is_missing_scope(&self) -> bool {
        self.detail("reason").and_then(Value::as_str) == Some(MISSING_SCOPE)
    }

    /// A detail previously attached with [`Error::with_detail`].
    pub fn detail(&self, key: &str) -> Option<&Value> {
        self.0.details.get(key)
    }

    /// The `{"error": {...}}` document printed under `--json` (SPEC §4). A detail or document
    /// field never replaces one of the fixed fields.
    pub fn document(&self) -> ErrorDoc {
        let fixed = |k: &String| !["kind", "message", "causes", "hint", "exit_code"].contains(&k.as_str());
        let details = self.0.details.iter().filter(|(k, _)| fixed(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
        let document = self
            .0
            .document
            .iter()
            .filter(|(k, _)| !["schema_version", "error"].contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        ErrorDoc {
            schema_version: 1,
            document,
            error: ErrorBody {
                kind: self.0.kind,
                message: self.0.message.clone(),
                causes: self.0.causes.clone(),
                hint: (!self.0.hints.is_empty()).then(|| self.0.hints.join("\n")),
                exit_code: self.0.kind.exit_code(),
                details,
            },
        }
    }

    /// [`Error::document`] as a JSON value.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.document()).unwrap_or(Value::Null)
    }
}

/// The `--json` document of a failing command (SPEC §4): what went wrong in `error`, and, for a
/// command whose own document says what failed (verify's report, a blocked dry run's receipt,
/// doctor's checks, the all-shops results), that document's fields beside it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorDoc {
    /// Always 1.
    schema_version: u32,
    /// The fields of the command's own document, when it has one.
    #[serde(flatten)]
    document: Map<String, Value>,
    /// What went wrong.
    error: ErrorBody,
}

/// What went wrong, for a script to act on.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorBody {
    /// What kind of failure it is; the kind alone decides the exit code.
    kind: ErrorKind,
    /// What went wrong, in one line.
    message: String,
    /// Why, outermost first.
    causes: Vec<String>,
    /// What to do about it (several hints on separate lines); null when there is nothing to add.
    hint: Option<String>,
    /// The process's exit code (SPEC §4).
    exit_code: u8,
    /// Machine-readable details of this failure (`path`, `flag`, `preflight`, `receipt`, ...).
    #[serde(flatten)]
    details: Map<String, Value>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)?;
        for cause in &self.0.causes {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&*self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_spec() {
        assert_eq!(ErrorKind::Usage.exit_code(), 2);
        assert_eq!(ErrorKind::Refused.exit_code(), 5);
        assert_eq!(ErrorKind::Verification.exit_code(), 8);
        assert_eq!(ErrorKind::Pending.exit_code(), 9);
        assert_eq!(ErrorKind::Interrupted.exit_code(), 130);
    }

    #[test]
    fn a_source_error_is_kept_for_the_chain_and_its_text_for_the_user() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = Error::io("cannot write", Path::new("/x"), io);
        assert_eq!(e.causes(), ["denied"]);
        assert_eq!(e.source().map(ToString::to_string).as_deref(), Some("denied"));
        assert!(!format!("{e:?}").contains("Os {"), "debug shows texts only");
    }

    #[test]
    fn context_keeps_kind_and_pushes_the_old_message_down() {
        let e = Error::not_found("no link x").with_hint("try y").context("cannot disconnect");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.message(), "cannot disconnect");
        assert_eq!(e.causes(), ["no link x"]);
        let json = e.to_json();
        assert_eq!(json["error"]["exit_code"], 7);
        assert_eq!(json["error"]["hint"], "try y");
    }
}
