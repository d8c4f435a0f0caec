//! A seller at a real terminal, for the tests that need one: `script` gives the command a
//! pseudo-terminal, and the test waits for what the screen shows (polling, never a fixed sleep)
//! before it types, the way a person reads the question before answering.
#![cfg(unix)]

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::Home;

/// How long a screen may take to show what a test waits for: a safety net, not a measure.
const PATIENCE: Duration = Duration::from_secs(60);

/// A command running in a pseudo-terminal.
pub struct Terminal {
    child: Child,
    stdin: Option<ChildStdin>,
    screen: Arc<Mutex<Vec<u8>>>,
    /// How much of the screen earlier `expect`s have consumed.
    read_up_to: usize,
}

/// The shell line that runs `shopunlink ARGS` in the terminal, says its pid first (so a test can
/// signal it), then its exit code and the terminal's mode once it is done.
pub fn line(args: &str) -> String {
    let bin = assert_cmd::cargo::cargo_bin("shopunlink");
    format!("sh -c 'echo PID=$$; exec {} {args}'; echo EXIT=$?; stty -a", bin.display())
}

impl Terminal {
    /// Runs `line` (a shell command line) in a pseudo-terminal with `home` as SHOPUNLINK_HOME, no
    /// colour, prompts allowed, and `env` on top (an empty value removes the variable). `None`
    /// where `script` is not installed.
    pub fn start(home: &Home, line: &str, env: &[(&str, &str)]) -> Option<Terminal> {
        Command::new("script").arg("--version").output().ok()?;
        let mut cmd = Command::new("script");
        for (key, _) in std::env::vars() {
            if key.starts_with("SHOPUNLINK_") || key == "RUST_LOG" || key == "CLICOLOR_FORCE" || key == "CI" {
                cmd.env_remove(key);
            }
        }
        cmd.args(["-q", "-e", "-c", line, "/dev/null"])
            .env("SHOPUNLINK_HOME", home.path())
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .current_dir(home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (key, value) in env {
            if value.is_empty() {
                cmd.env_remove(key);
            } else {
                cmd.env(key, value);
            }
        }
        let mut child = cmd.spawn().expect("script starts");
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().expect("stdout");
        let screen = Arc::new(Mutex::new(Vec::new()));
        let sink = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Some(Terminal { child, stdin, screen, read_up_to: 0 })
    }

    /// Everything the terminal has shown so far, with carriage returns as line breaks.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).replace('\r', "\n")
    }

    /// Waits until the screen shows `needle` after what earlier calls consumed; returns the
    /// screen up to the end of it. Panics, showing the screen, if it never does.
    pub fn expect(&mut self, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if let Some(at) = screen.get(self.read_up_to..).and_then(|rest| rest.find(needle)) {
                self.read_up_to += at + needle.len();
                return screen[..self.read_up_to].to_owned();
            }
            assert!(started.elapsed() < PATIENCE, "the terminal never showed {needle:?}:\n{screen}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until the screen shows one of `needles` after what earlier calls consumed, and
    /// returns the index of the one that shows first, and the line it is on.
    pub fn expect_any(&mut self, needles: &[&str]) -> (usize, String) {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            let rest = screen.get(self.read_up_to..).unwrap_or("");
            let first = needles.iter().enumerate().filter_map(|(i, n)| Some((rest.find(n)?, i))).min();
            if let Some((at, i)) = first {
                let line_start = rest[..at].rfind('\n').map_or(0, |p| p + 1);
                let line_end = rest[at..].find('\n').map_or(rest.len(), |p| at + p);
                let line = rest[line_start..line_end].to_owned();
                self.read_up_to += at + needles[i].len();
                return (i, line);
            }
            assert!(started.elapsed() < PATIENCE, "the terminal never showed any of {needles:?}:\n{screen}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The pid `line` printed: the shopunlink process itself.
    pub fn pid(&mut self) -> String {
        self.expect("PID=");
        let started = Instant::now();
        loop {
            let screen = self.screen();
            let rest = &screen[self.read_up_to..];
            if let Some(end) = rest.find('\n') {
                let pid = rest[..end].trim().to_owned();
                self.read_up_to += end;
                return pid;
            }
            assert!(started.elapsed() < PATIENCE, "no pid on the screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Types `keys`. A prompt reads key by key once it has shown its question; the short pause
    /// lets it get there after the question appears.
    pub fn send(&mut self, keys: &str) {
        std::thread::sleep(Duration::from_millis(100));
        let stdin = self.stdin.as_mut().expect("still open");
        stdin.write_all(keys.as_bytes()).expect("typed");
        stdin.flush().expect("typed");
    }

    /// Waits for the command line to end (its `EXIT=` and `stty -a`), and returns the screen and
    /// the exit code of the command.
    pub fn finish(mut self) -> (i32, String) {
        // The last lines are the shell's own: look for them from the top, whatever was read.
        self.read_up_to = 0;
        self.expect("EXIT=");
        self.expect("speed");
        let started = Instant::now();
        drop(self.stdin.take());
        while self.child.try_wait().expect("wait").is_none() {
            if started.elapsed() > PATIENCE {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let screen = self.screen();
        let code = screen.rsplit("EXIT=").next().and_then(|t| t.split_whitespace().next()?.parse().ok());
        (code.unwrap_or(-1), screen)
    }
}

/// A test that fails half-way leaves no terminal session behind: without `script`, the
/// pseudo-terminal closes and the command gets its hang-up.
impl Drop for Terminal {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// True when the terminal's mode, as `stty -a` printed it at the end of `screen`, has echo and
/// line editing on: what a shell needs after the command exits.
pub fn usable(screen: &str) -> bool {
    let mode = screen.rsplit("EXIT=").next().unwrap_or("");
    let words: Vec<&str> = mode.split_whitespace().collect();
    words.contains(&"echo") && words.contains(&"icanon") && !words.contains(&"-echo") && !words.contains(&"-icanon")
}

/// Sends `signal` (`INT`, `TERM`) to `pid`.
pub fn signal(pid: &str, signal: &str) {
    let status = Command::new("kill").args([&format!("-{signal}"), pid]).status().expect("kill runs");
    assert!(status.success(), "kill -{signal} {pid}");
}
