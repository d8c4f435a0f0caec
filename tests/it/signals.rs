//! Ctrl-C and SIGTERM at every step of a disconnect (SPEC §6, issue 16). Before the platform call
//! (steps 1 to 5) a signal cancels: exit 130, the link still linked, `disconnect.cancelled` in
//! the audit log, the terminal usable. From the call on (steps 6 and 7) the command finishes the
//! call and writes the receipt.
//!
//! Steps without a question are stopped with `SHOPUNLINK_TEST_PAUSE_AT_STEP` (the disconnect
//! waits there for the signal); the questions (export now?, the handle, the code) are natural
//! stopping points at a real terminal.
#![cfg(unix)]

use std::io::Read;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{Home, audit_events, exported, link_state};
use crate::terminal::{self, Terminal};

const LINK: &str = "@democrafts.deals";
const STEPS: [&str; 7] = [
    "find the link",
    "safety checks",
    "the plan",
    "confirm",
    "the one-time code",
    "disconnect",
    "check it is gone and write the receipt",
];

/// Runs `disconnect LINK ARGS` paused at `step`, sends `signal` once it says it is there, and
/// returns (exit code, stderr).
fn signalled_at(home: &Home, step: u8, signal: &str, extra: &[&str]) -> (i32, String) {
    let (code, err, _) = signalled(home, &step.to_string(), &[signal], extra);
    (code, err)
}

/// Runs `disconnect LINK ARGS` with `SHOPUNLINK_TEST_PAUSE_AT_STEP=pause`, sends `signals` once it
/// says it is paused, and returns (exit code, stderr, time from the first signal to the exit).
fn signalled(home: &Home, pause: &str, signals: &[&str], extra: &[&str]) -> (i32, String, Duration) {
    let step = pause.split(',').next().unwrap();
    let mut args = vec!["disconnect", LINK, "--yes", "--allow-pending-funds"];
    args.extend(extra);
    let mut child = home
        .std_cmd(&args)
        .env("SHOPUNLINK_TEST_PAUSE_AT_STEP", pause)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let err = Arc::new(Mutex::new(String::new()));
    let sink = err.clone();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let started = Instant::now();
    let paused = format!("paused at step {step} of 7");
    while !err.lock().unwrap().contains(&paused) {
        if let Some(status) = child.try_wait().unwrap() {
            reader.join().unwrap();
            panic!("ended ({status}) before step {step}:\n{}", err.lock().unwrap());
        }
        assert!(started.elapsed() < Duration::from_secs(60), "never reached step {step}");
        std::thread::sleep(Duration::from_millis(10));
    }
    let signalled = Instant::now();
    for signal in signals {
        terminal::signal(&child.id().to_string(), signal);
    }
    let status = child.wait().unwrap();
    let took = signalled.elapsed();
    reader.join().unwrap();
    let text = err.lock().unwrap().clone();
    (status.code().unwrap_or(-1), text, took)
}

/// The last audit line about `LINK`.
fn last_event(home: &Home) -> serde_json::Value {
    audit_events(home).into_iter().rfind(|e| e["handle"] == LINK).expect("an audit line for the link")
}

#[test]
fn a_signal_at_any_step_before_the_platform_call_cancels_and_is_recorded() {
    for step in 1..=5u8 {
        for signal in ["INT", "TERM"] {
            let home = Home::new();
            let (code, err) = signalled_at(&home, step, signal, &["--allow-unexported"]);
            let what = STEPS[usize::from(step) - 1];
            assert_eq!(code, 130, "SIG{signal} at step {step}:\n{err}");
            assert!(err.contains(&format!("cancelled at step {step} of 7 ({what})")), "SIG{signal} at {step}:\n{err}");
            assert!(err.contains("nothing changed"), "{err}");
            assert_eq!(link_state(&home, LINK), "linked", "SIG{signal} at step {step}");
            let event = last_event(&home);
            assert_eq!(event["event"], "disconnect.cancelled", "SIG{signal} at step {step}: {event}");
            assert!(!home.join("state/receipts").exists(), "no receipt for a cancelled disconnect");
        }
    }
}

/// A step that hangs (a request that never answers) cannot stop at its next safe point: a second
/// signal exits at once, and the grace ends it after one; either way the audit log records the
/// cancel (written by the exit itself) and nothing changed.
#[test]
fn a_hung_step_ends_on_a_second_signal_or_after_the_grace_and_is_recorded() {
    let home = Home::new();
    let (code, err, _) = signalled(&home, "2,hung", &["TERM", "INT"], &["--allow-unexported"]);
    assert_eq!(code, 130, "{err}");
    assert!(err.contains("a second signal: stopping now"), "the second signal ended it, not the grace: {err}");
    assert!(!err.contains("did not stop within"), "{err}");
    assert_eq!(last_event(&home)["event"], "disconnect.cancelled");
    assert_eq!(link_state(&home, LINK), "linked");

    let home = Home::new();
    let (code, err, took) = signalled(&home, "4,hung", &["TERM"], &["--allow-unexported"]);
    assert_eq!(code, 130, "{err}");
    assert!(err.contains("the step did not stop within 5 s: stopping now"), "the grace ended it: {err}");
    assert!(took < Duration::from_secs(60), "a generous timeout, not a speed check: {took:?}");
    assert_eq!(last_event(&home)["event"], "disconnect.cancelled");
    assert_eq!(link_state(&home, LINK), "linked");
}

#[test]
fn a_signal_from_the_platform_call_on_finishes_the_disconnect_and_its_receipt() {
    for step in 6..=7u8 {
        for signal in ["INT", "TERM"] {
            let home = Home::new();
            // The sandbox sends its code on a first try, then it is read as the seller would.
            let (code, _, err) =
                home.run(&["disconnect", LINK, "--yes", "--allow-pending-funds", "--allow-unexported"]);
            assert_eq!(code, 2, "{err}");
            let (_, sent, _) = home.run(&["sandbox", "code"]);
            let (code, err) = signalled_at(&home, step, signal, &["--allow-unexported", "--otp", sent.trim()]);
            assert_eq!(code, 0, "SIG{signal} at step {step}: the disconnect is finished, not cut short:\n{err}");
            assert!(err.contains("finishes and writes the receipt"), "says why it did not stop at once:\n{err}");
            assert_eq!(link_state(&home, LINK), "unlinked", "SIG{signal} at step {step}");
            let event = last_event(&home);
            assert_eq!((&event["event"], &event["outcome"]), (&"disconnect.done".into(), &"disconnected".into()));
            let receipt = event["receipt"].as_str().expect("a receipt file");
            assert!(std::path::Path::new(receipt).exists(), "{receipt}");
            let events: Vec<_> = audit_events(&home).into_iter().map(|e| e["event"].clone()).collect();
            assert!(!events.contains(&"disconnect.cancelled".into()), "{events:?}");
        }
    }
}

/// Runs the disconnect at a terminal up to the question `question` (answering the earlier ones
/// as a seller would), stops it there with `signal`, and checks nothing changed, the audit log
/// says so and the terminal is usable again.
fn signal_at_the_question(question: &str, signal: &str, exported_first: bool) {
    let home = Home::new();
    if exported_first {
        exported(&home, "export");
    }
    let Some(mut t) = Terminal::start(&home, &terminal::line(&format!("disconnect {LINK} --allow-pending-funds")), &[])
    else {
        return;
    };
    let pid = t.pid();
    let questions = ["verify it now?", "to disconnect it (empty to cancel)", "Code"];
    let asked = questions.iter().skip(usize::from(exported_first));
    for q in asked.take_while(|q| **q != question) {
        t.expect(q);
        match *q {
            "verify it now?" => t.send("y"),
            "to disconnect it (empty to cancel)" => t.send(&format!("{LINK}\r")),
            _ => unreachable!(),
        }
    }
    t.expect(question);
    match signal {
        "Ctrl-C" => t.send("\u{3}"),
        name => {
            std::thread::sleep(Duration::from_millis(100));
            terminal::signal(&pid, name);
        }
    }
    let (code, screen) = t.finish();
    assert_eq!(code, 130, "{signal} at {question:?}:\n{screen}");
    assert!(terminal::usable(&screen), "{signal} at {question:?}: echo and line editing are back on:\n{screen}");
    assert_eq!(link_state(&home, LINK), "linked");
    let event = last_event(&home);
    assert_eq!(event["event"], "disconnect.cancelled", "{signal} at {question:?}: {event}");
}

#[test]
fn ctrl_c_or_sigterm_at_the_export_question_cancels_and_restores_the_terminal() {
    signal_at_the_question("verify it now?", "Ctrl-C", false);
    signal_at_the_question("verify it now?", "TERM", false);
}

#[test]
fn ctrl_c_or_sigterm_at_the_handle_question_cancels_and_restores_the_terminal() {
    signal_at_the_question("to disconnect it (empty to cancel)", "Ctrl-C", true);
    signal_at_the_question("to disconnect it (empty to cancel)", "TERM", true);
}

#[test]
fn ctrl_c_or_sigterm_at_the_code_question_cancels_and_restores_the_terminal() {
    signal_at_the_question("Code", "Ctrl-C", true);
    signal_at_the_question("Code", "TERM", true);
}
