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

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static IN_PROMPT: AtomicBool = AtomicBool::new(false);
static CRITICAL: AtomicBool = AtomicBool::new(false);
/// Seconds the running work may take to stop cleanly after the first signal; 0: exit at once.
static GRACE_SECS: AtomicU64 = AtomicU64::new(0);

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

/// Marks that a prompt is open (or closed); a signal during a prompt exits immediately.
pub fn set_in_prompt(open: bool) {
    IN_PROMPT.store(open, Ordering::SeqCst);
}

fn exit_now() -> ! {
    restore_terminal();
    std::process::exit(130);
}

/// Echo back on and the cursor shown: a hidden-input prompt interrupted mid-way leaves the
/// terminal with echo off otherwise.
fn restore_terminal() {
    let term = dialoguer::console::Term::stderr();
    let _ = term.show_cursor();
    let _ = term.write_line("");
    #[cfg(unix)]
    if term.is_term() {
        let _ = std::process::Command::new("stty").arg("echo").stdin(std::process::Stdio::inherit()).status();
    }
}

fn on_signal() {
    if CRITICAL.load(Ordering::SeqCst) {
        REQUESTED.store(true, Ordering::SeqCst);
        let _ = dialoguer::console::Term::stderr().write_line(
            "\nstopping after this step: the platform has been asked, so shopunlink finishes and writes the receipt",
        );
        return;
    }
    let again = REQUESTED.swap(true, Ordering::SeqCst);
    let grace = GRACE_SECS.load(Ordering::SeqCst);
    if IN_PROMPT.load(Ordering::SeqCst) || again || grace == 0 {
        exit_now();
    }
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(grace));
        if !CRITICAL.load(Ordering::SeqCst) {
            exit_now();
        }
    });
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
