//! Ctrl-C and SIGTERM.
//!
//! The first signal asks running work to stop at the next safe point (an export finishes the page
//! in hand and checkpoints); a second one, or any signal while a prompt is open, exits at once with
//! code 130 after restoring the terminal cursor that a prompt may have hidden.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static IN_PROMPT: AtomicBool = AtomicBool::new(false);

/// True once the user has asked the program to stop.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Marks that a prompt is open (or closed); a signal during a prompt exits immediately.
pub fn set_in_prompt(open: bool) {
    IN_PROMPT.store(open, Ordering::SeqCst);
}

fn exit_now() -> ! {
    let term = dialoguer::console::Term::stderr();
    let _ = term.show_cursor();
    let _ = term.write_line("");
    std::process::exit(130);
}

fn on_signal() {
    if IN_PROMPT.load(Ordering::SeqCst) || REQUESTED.swap(true, Ordering::SeqCst) {
        exit_now();
    }
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
