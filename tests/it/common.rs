//! Shared helpers: a temp home and a command builder with a clean, deterministic environment.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

/// A private `SHOPUNLINK_HOME` that disappears with the test.
pub struct Home {
    dir: TempDir,
}

impl Home {
    /// A fresh, empty home.
    pub fn new() -> Home {
        Home { dir: tempfile::tempdir().expect("temp dir") }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside it (for export directories).
    pub fn join(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// `shopunlink ARGS` with this home, no colour, no prompts and none of the user's settings.
    pub fn cmd(&self, args: &[&str]) -> Command {
        Command::from_std(self.std_cmd(args))
    }

    /// The same as a plain `std::process::Command`, for tests that spawn and signal it.
    pub fn std_cmd(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("shopunlink"));
        for (key, _) in std::env::vars() {
            if key.starts_with("SHOPUNLINK_") || key == "RUST_LOG" || key == "CLICOLOR_FORCE" {
                cmd.env_remove(key);
            }
        }
        cmd.env("SHOPUNLINK_HOME", self.path()).env("NO_COLOR", "1").env("CI", "1").current_dir(self.path()).args(args);
        cmd
    }

    /// Runs and returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd(args).output().expect("runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs with `--json` expecting `code`, and parses stdout.
    pub fn json(&self, args: &[&str], code: i32) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let (got, out, err) = self.run(&all);
        assert_eq!(got, code, "shopunlink {all:?}\nstdout: {out}\nstderr: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("stdout of {all:?} is not JSON ({e}): {out}"))
    }
}
