//! The only place that writes to stdout/stderr or prompts.
//!
//! Commands hand it text or a serialisable document; it decides between human text and JSON,
//! colour or not, and whether a prompt is allowed at all. A prompt that is not allowed fails with
//! exit 2 naming the flag that answers it, so scripts never hang on a question.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;

use dialoguer::console::Term;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::interrupt;
use crate::settings::Settings;

/// Text styles, kept to a few so output stays calm.
#[derive(Debug, Clone, Copy)]
pub enum Style {
    /// Headings and names.
    Bold,
    /// Success.
    Green,
    /// Warnings.
    Yellow,
    /// Errors and blockers.
    Red,
    /// Secondary facts.
    Dim,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Bold => "1",
            Style::Green => "32",
            Style::Yellow => "33",
            Style::Red => "31",
            Style::Dim => "2",
        }
    }
}

/// The output and prompt handle every command receives.
#[derive(Debug, Clone)]
pub struct Ui {
    json: bool,
    verbosity: i8,
    color_stdout: bool,
    color_stderr: bool,
    interactive: bool,
    progress: bool,
}

impl Ui {
    /// Builds the handle from resolved settings and installs the log subscriber.
    pub fn new(settings: &Settings) -> Ui {
        let ui = Ui {
            json: settings.json,
            verbosity: settings.verbosity,
            color_stdout: settings.color_stdout,
            color_stderr: settings.color_stderr,
            interactive: settings.interactive,
            progress: settings.stderr_is_terminal && settings.verbosity >= 0,
        };
        ui.init_logging(settings.log_filter.as_deref());
        ui
    }

    fn init_logging(&self, filter: Option<&str>) {
        let level = match self.verbosity {
            i8::MIN..=-1 => "error",
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        };
        let default = format!("warn,shopunlink={level}");
        let filter = tracing_subscriber::EnvFilter::try_new(filter.unwrap_or(&default))
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&default));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(self.color_stderr)
            .with_target(false)
            .without_time()
            .try_init();
    }

    /// True under `--json`.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// True when prompts may be shown.
    pub fn is_interactive(&self) -> bool {
        self.interactive
    }

    /// True when progress bars should be drawn (stderr is a terminal, not quiet).
    pub fn shows_progress(&self) -> bool {
        self.progress
    }

    /// True when not silenced with `-q`.
    pub fn is_quiet(&self) -> bool {
        self.verbosity < 0
    }

    /// Styles `text` for stdout.
    pub fn paint(&self, style: Style, text: &str) -> String {
        paint(self.color_stdout, style, text)
    }

    /// Styles `text` for stderr.
    pub fn paint_err(&self, style: Style, text: &str) -> String {
        paint(self.color_stderr, style, text)
    }

    /// Writes human text to stdout (ignored under `--json`). A closed pipe is not an error.
    pub fn print(&self, text: &str) {
        if !self.json {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
        }
    }

    /// How many columns a line on stdout may take: the terminal's width, or `None` when stdout is
    /// not a terminal (a file or a pipe gets whole lines).
    pub fn width(&self) -> Option<usize> {
        Term::stdout().size_checked().map(|(_, cols)| usize::from(cols)).filter(|c| *c > 0)
    }

    /// Writes raw text to stdout whatever the mode (e.g. completions, a bare code).
    pub fn print_raw(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// Writes the JSON document to stdout (only under `--json`).
    pub fn print_json<T: Serialize>(&self, doc: &T) {
        if self.json {
            let mut value = serde_json::to_value(doc).unwrap_or_else(|e| serde_json::json!({"error": e.to_string()}));
            // Fields are only ever added: a run that had to replace the environment's tokens says so.
            if let Some(fields) = value.as_object_mut().filter(|_| crate::credentials::tokens_rotated()) {
                fields.insert("tokens_rotated".into(), true.into());
            }
            let text = serde_json::to_string_pretty(&value).unwrap_or_default();
            self.print_raw(&format!("{text}\n"));
        }
    }

    /// The usage text on stderr, whatever `-q` says (a usage error is not chatter).
    pub fn print_usage(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{text}");
        let _ = err.flush();
    }

    /// A progress or status line on stderr (silenced by `-q`).
    pub fn note(&self, text: &str) {
        if self.verbosity >= 0 {
            eprintln!("{text}");
        }
    }

    /// A warning on stderr (shown even with `-q`).
    pub fn warn(&self, text: &str) {
        eprintln!("{} {text}", self.paint_err(Style::Yellow, "warning:"));
    }

    /// Prints an error: one `error:` line, `caused by:` lines, `hint:` lines; under `--json` also
    /// the error document on stdout.
    pub fn error(&self, err: &Error) {
        use crate::net::redact_urls;
        eprintln!("{} {}", self.paint_err(Style::Red, "error:"), redact_urls(err.message()));
        for cause in err.causes() {
            eprintln!("  caused by: {}", redact_urls(cause));
        }
        for hint in err.hints() {
            eprintln!("  {} {}", self.paint_err(Style::Dim, "hint:"), redact_urls(hint));
        }
        if self.json {
            let doc = serde_json::to_string_pretty(&err.to_json()).unwrap_or_default();
            self.print_raw(&format!("{}\n", redact_urls(&doc)));
        }
    }

    /// Asks for a line of text. Without a terminal, fails with exit 2 naming `flag`.
    pub fn prompt(&self, question: &str, flag: &str) -> Result<String> {
        self.require_interactive(question, flag)?;
        interrupt::set_in_prompt(true);
        let answer = tokio::task::block_in_place(|| read_line(&Term::stderr(), question, |_| Ok(())));
        interrupt::set_in_prompt(false);
        answer.map_err(|e| prompt_error(e.into()))
    }

    /// Asks a yes/no question (default no). Without a terminal, fails with exit 2 naming `flag`.
    pub fn ask_yes_no(&self, question: &str, flag: &str) -> Result<bool> {
        self.require_interactive(question, flag)?;
        interrupt::set_in_prompt(true);
        let answer = tokio::task::block_in_place(|| read_yes_no(&Term::stderr(), question));
        interrupt::set_in_prompt(false);
        answer.map_err(|e| prompt_error(e.into()))
    }

    /// Asks for a one-time code of `digits` digits, shown as typed (it is void once used, and a
    /// typo is easier to see); anything else is refused at the prompt without spending a try.
    pub fn prompt_code(&self, question: &str, digits: usize, flag: &str) -> Result<String> {
        self.require_interactive(question, flag)?;
        interrupt::set_in_prompt(true);
        let answer = tokio::task::block_in_place(|| {
            read_line(&Term::stderr(), question, |text| {
                let t = text.trim().replace(' ', "");
                if t.len() == digits && t.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(())
                } else {
                    Err(format!("a code is {digits} digits"))
                }
            })
        });
        interrupt::set_in_prompt(false);
        answer.map(|a| a.trim().replace(' ', "")).map_err(|e| prompt_error(e.into()))
    }

    /// Asks for a secret without echoing it. Without a terminal, fails with exit 2 naming `flag`.
    pub fn prompt_secret(&self, question: &str, flag: &str) -> Result<String> {
        self.require_interactive(question, flag)?;
        interrupt::set_in_prompt(true);
        let answer = tokio::task::block_in_place(|| read_secret(&Term::stderr(), question));
        interrupt::set_in_prompt(false);
        answer.map_err(|e| prompt_error(e.into()))
    }

    /// Reads all of standard input (for `--with-token`), trimmed. Only ever used when the user
    /// asked for it with a flag, so a script can pipe a secret in instead of passing it as an
    /// argument (which `ps` would show).
    pub fn read_stdin(&self, what: &str) -> Result<String> {
        use std::io::Read;
        let mut text = String::new();
        tokio::task::block_in_place(|| std::io::stdin().read_to_string(&mut text))
            .map_err(|e| Error::usage(format!("cannot read {what} from standard input")).with_source(e))?;
        Ok(text.trim().to_owned())
    }

    fn require_interactive(&self, question: &str, flag: &str) -> Result<()> {
        if self.interactive {
            return Ok(());
        }
        Err(Error::usage(format!("cannot ask {question:?}: prompting is off"))
            .with_hint(format!("pass {flag}"))
            .with_hint("prompts need a terminal on stdin and stderr, no --no-input, no CI variable")
            .with_detail("flag", flag))
    }
}

/// The keys every question treats alike: Ctrl-D on an empty answer is end of input (a cancel,
/// not a character silently dropped, as dialoguer did), Ctrl-C an interrupt.
fn ending_key(key: &dialoguer::console::Key, empty: bool) -> Option<std::io::Error> {
    use dialoguer::console::Key;
    match key {
        Key::Char('\u{4}') if empty => Some(std::io::ErrorKind::UnexpectedEof.into()),
        Key::CtrlC => Some(std::io::ErrorKind::Interrupted.into()),
        _ => None,
    }
}

/// Asks a yes/no question key by key: `y` is yes; `n` or Enter is no (the default); the answer
/// is written after the question.
fn read_yes_no(term: &Term, question: &str) -> std::io::Result<bool> {
    use dialoguer::console::Key;
    term.write_str(&format!("{question} [y/N] "))?;
    loop {
        let key = term.read_key()?;
        if let Some(end) = ending_key(&key, true) {
            term.write_line("")?;
            return Err(end);
        }
        let yes = match key {
            Key::Char('y' | 'Y') => true,
            Key::Char('n' | 'N') | Key::Enter => false,
            _ => continue,
        };
        term.write_line(if yes { "yes" } else { "no" })?;
        return Ok(yes);
    }
}

/// Reads a secret with the terminal's echo off for the whole line, so nothing is drawn, not even
/// a mask (its length is part of the secret), and no keystroke typed between two reads is echoed
/// (reading key by key turns echo back on between keys). The terminal edits the line itself;
/// an empty answer or Ctrl-D is no answer.
fn read_secret(term: &Term, question: &str) -> std::io::Result<String> {
    term.write_str(&format!("{question}: "))?;
    let secret = term.read_secure_line()?;
    if secret.is_empty() {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(secret)
}

/// Reads a line at the terminal key by key, as a shell does: printable characters are shown as
/// typed, Backspace takes one back, Enter ends the line, and Ctrl-D and Ctrl-C end the question
/// ([`ending_key`]). An answer `check` refuses is said under the question, which is asked again.
fn read_line(
    term: &Term,
    question: &str,
    check: impl Fn(&str) -> std::result::Result<(), String>,
) -> std::io::Result<String> {
    use dialoguer::console::Key;
    loop {
        term.write_str(&format!("{question}: "))?;
        let mut line = String::new();
        loop {
            let key = term.read_key()?;
            if let Some(end) = ending_key(&key, line.is_empty()) {
                term.write_line("")?;
                return Err(end);
            }
            match key {
                Key::Enter => break,
                Key::Backspace if line.pop().is_some() => term.clear_chars(1)?,
                Key::Char(c) if !c.is_control() => {
                    line.push(c);
                    term.write_str(c.encode_utf8(&mut [0; 4]))?;
                }
                _ => {}
            }
        }
        term.write_line("")?;
        match check(&line) {
            Ok(()) => return Ok(line),
            Err(problem) => term.write_line(&format!("  {problem}"))?,
        }
    }
}

/// `lead` then `text`, its words wrapped at `width` columns with the lines after the first
/// indented by `hang` spaces, as a terminal would not (it cuts words in two). Without a width (a
/// pipe, a file) the text stays on one line for the tools that read it. `lead` may be painted: its
/// width is measured without escape codes. A word longer than a line keeps its own line whole.
pub fn wrap(lead: &str, hang: usize, text: &str, width: Option<usize>) -> String {
    let Some(width) = width else { return format!("{lead}{text}") };
    let mut out = lead.to_owned();
    let mut column = dialoguer::console::measure_text_width(lead);
    let mut line_start = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let len = dialoguer::console::measure_text_width(word);
        if !line_start && column + 1 + len > width {
            out.push('\n');
            out.push_str(&" ".repeat(hang));
            column = hang;
            line_start = true;
        }
        if !line_start {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += len;
        line_start = false;
    }
    out
}

fn paint(enabled: bool, style: Style, text: &str) -> String {
    if enabled { format!("\x1b[{}m{text}\x1b[0m", style.code()) } else { text.to_owned() }
}

impl Ui {
    /// An export observer that draws a bar per dataset when stderr is a terminal and stays
    /// silent otherwise.
    pub fn export_progress(&self) -> std::sync::Arc<crate::progress::ExportProgress> {
        crate::progress::ExportProgress::new(self.progress)
    }

    /// The one view of an `--all-shops` export of `shops` shops (same rule).
    pub fn shops_progress(&self, shops: usize) -> std::sync::Arc<crate::progress::ShopsProgress> {
        crate::progress::ShopsProgress::new(self.progress, shops)
    }
}

/// What a failed prompt means: Ctrl-C (the read was interrupted) is exit 130 with the terminal
/// restored, end of input (Ctrl-D) is a "no" (exit 3), anything else a terminal failure.
fn prompt_error(e: dialoguer::Error) -> Error {
    let dialoguer::Error::IO(io) = &e;
    match io.kind() {
        std::io::ErrorKind::Interrupted => {
            let _ = Term::stderr().show_cursor();
            Error::interrupted("interrupted at the prompt; nothing was changed")
        }
        std::io::ErrorKind::UnexpectedEof => Error::cancelled("no answer (end of input); nothing was changed"),
        _ => Error::internal("cannot read from the terminal").with_source(e),
    }
}

/// Platforms talk to the user only through this (their login flows and own subcommands).
impl crate::platform::Interaction for Ui {
    fn print(&self, text: &str) {
        Ui::print(self, text);
    }

    fn print_json_value(&self, doc: &serde_json::Value) {
        self.print_json(doc);
    }

    fn note(&self, text: &str) {
        Ui::note(self, text);
    }

    fn warn(&self, text: &str) {
        Ui::warn(self, text);
    }

    fn prompt(&self, question: &str, flag: &str) -> Result<String> {
        Ui::prompt(self, question, flag)
    }

    fn prompt_secret(&self, question: &str, flag: &str) -> Result<crate::credentials::Secret> {
        Ui::prompt_secret(self, question, flag).map(crate::credentials::Secret::new)
    }

    fn read_stdin(&self, what: &str) -> Result<String> {
        Ui::read_stdin(self, what)
    }
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn words_wrap_under_a_hanging_indent_and_pipes_get_one_line() {
        let text = "the app is missing the affiliate scope package so creators are not listed";
        assert_eq!(wrap("  ! ", 4, text, None), format!("  ! {text}"));
        let wrapped = wrap("  \u{1b}[33m!\u{1b}[0m ", 4, text, Some(30));
        let lines: Vec<&str> = wrapped.lines().collect();
        assert!(lines.len() > 1, "{wrapped}");
        for line in &lines {
            assert!(dialoguer::console::measure_text_width(line) <= 30, "{line:?}");
        }
        assert!(lines[1..].iter().all(|l| l.starts_with("    ") && !l.starts_with("     ")), "{lines:?}");
        let words: Vec<&str> = wrapped.split_whitespace().skip(1).collect();
        assert_eq!(words.join(" "), text, "no word lost or cut");
        assert_eq!(wrap("> ", 2, "averyveryverylongword short", Some(10)), "> averyveryverylongword\n  short");
    }
}
