//! Ctrl-C and SIGTERM.
//!
//! - Work that can stop cleanly (an export, which checkpoints; a disconnect before the platform is
//!   asked, which records that it was cancelled) registers a grace period: the first signal asks
//!   it to stop at the next safe point, and if it has not within the grace, the process exits.
//! - Inside a critical section (a disconnect between the platform call and its receipt) a signal
//!   is noted and the section finishes, so nothing is left half-done; the user is told why.
//! - Anything else, a second signal, or a signal at a prompt exits at once with code 130, after
//!   restoring the terminal (echo and cursor) a prompt may have changed. So no command outlives a
//!   SIGTERM by more than its grace.
//! - Work that must leave a record when it is cut short (a disconnect before the platform call:
//!   the audit log's `cancelled` line) registers it with [`on_cancel`]; whichever comes first, the
//!   exit on a signal or the command's own orderly stop ([`settle_cancel`]), writes it, once.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static IN_PROMPT: AtomicBool = AtomicBool::new(false);
static CRITICAL: AtomicBool = AtomicBool::new(false);
/// Seconds the running work may take to stop cleanly after the first signal; 0: exit at once.
static GRACE_SECS: AtomicU64 = AtomicU64::new(0);
/// What to record if the process exits on a signal; taken (and run) once.
static ON_CANCEL: Mutex<Option<Box<dyn FnOnce() + Send>>> = Mutex::new(None);
/// The terminal's settings (`stty -g`) from before the first prompt, to put back on exit.
static SAVED_TERMINAL: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// Registers `hook` to run if the process exits on a signal (at a prompt, a second signal, or a
/// grace that ran out), replacing any earlier one.
pub fn on_cancel(hook: impl FnOnce() + Send + 'static) {
    *ON_CANCEL.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(hook));
}

/// Drops the registered hook and runs `f` instead, holding the hook's lock meanwhile: an exit on
/// a signal that arrives while `f` runs waits for it, and does not run the hook as well. For a
/// command that stops in an orderly way (it writes its own record) or passes the point where a
/// cancel is possible (`f` does nothing).
pub fn settle_cancel<R>(f: impl FnOnce() -> R) -> R {
    let mut hook = ON_CANCEL.lock().unwrap_or_else(|p| p.into_inner());
    hook.take();
    f()
}

fn run_cancel_hook() {
    let mut hook = ON_CANCEL.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(h) = hook.take() {
        h();
    }
}

/// Registers work that stops cleanly when [`requested`] turns true, given `secs` to do so.
pub fn set_grace(secs: u64) {
    GRACE_SECS.store(secs, Ordering::SeqCst);
}

/// Enters (or leaves) a section a signal must not cut short.
pub fn set_critical(on: bool) {
    CRITICAL.store(on, Ordering::SeqCst);
}

/// True once the user has asked the program to stop.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Marks that a prompt is open (or closed); a signal during a prompt exits immediately. The first
/// prompt notes the terminal's settings, so an exit from the middle of one can put them back.
pub fn set_in_prompt(open: bool) {
    if open {
        SAVED_TERMINAL.get_or_init(terminal_settings);
    }
    IN_PROMPT.store(open, Ordering::SeqCst);
}

fn exit_now() -> ! {
    run_cancel_hook();
    restore_terminal();
    if CRITICAL.load(Ordering::SeqCst) {
        // A prompt after the platform call (the owner's "Done?"): what was done is in the audit log.
        let _ = dialoguer::console::Term::stderr().write_line(
            "stopped at the prompt; the platform's part is done and in the audit log: run the same command again to finish",
        );
    }
    std::process::exit(130);
}

/// `stty -g` of the terminal on stdin, when it is one.
fn terminal_settings() -> Option<String> {
    #[cfg(unix)]
    {
        use std::io::IsTerminal;
        if !std::io::stdin().is_terminal() {
            return None;
        }
        let out = std::process::Command::new("stty")
            .arg("-g")
            .stdin(std::process::Stdio::inherit())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        let saved = String::from_utf8(out.stdout).ok()?.trim().to_owned();
        (out.status.success() && !saved.is_empty()).then_some(saved)
    }
    #[cfg(not(unix))]
    None
}

/// The terminal as it was before the first prompt (echo, line editing), and the cursor shown: a
/// prompt reads key by key with echo off, and an exit from the middle of one leaves the terminal
/// that way otherwise.
fn restore_terminal() {
    let term = dialoguer::console::Term::stderr();
    let _ = term.show_cursor();
    let _ = term.write_line("");
    #[cfg(unix)]
    if term.is_term() {
        let settings = SAVED_TERMINAL.get().cloned().flatten().unwrap_or_else(|| "echo".to_owned());
        let _ = std::process::Command::new("stty").arg(settings).stdin(std::process::Stdio::inherit()).status();
    }
}

fn on_signal() {
    // At a prompt after the platform call (the owner's "Done?") there is nothing to finish: the
    // audit log holds what was done, and a rerun picks up there. Elsewhere in the critical
    // section, the step finishes first.
    if CRITICAL.load(Ordering::SeqCst) && !IN_PROMPT.load(Ordering::SeqCst) {
        REQUESTED.store(true, Ordering::SeqCst);
        let _ = dialoguer::console::Term::stderr().write_line(
            "\nstopping after this step: the platform has been asked, so shopunlink finishes and writes the receipt",
        );
        return;
    }
    let again = REQUESTED.swap(true, Ordering::SeqCst);
    let grace = GRACE_SECS.load(Ordering::SeqCst);
    if again {
        say("\na second signal: stopping now");
    }
    if IN_PROMPT.load(Ordering::SeqCst) || again || grace == 0 {
        exit_now();
    }
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(grace));
        if !CRITICAL.load(Ordering::SeqCst) {
            say(&format!("\nthe step did not stop within {grace} s: stopping now"));
            exit_now();
        }
    });
}

/// A line on stderr saying why the process is about to exit.
fn say(line: &str) {
    let _ = dialoguer::console::Term::stderr().write_line(line);
}

/// Installs the handlers on the current tokio runtime.
pub fn install() {
    tokio::spawn(async {
        loop {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            on_signal();
        }
    });
    #[cfg(unix)]
    tokio::spawn(async {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else { return };
        while term.recv().await.is_some() {
            on_signal();
        }
    });
}
