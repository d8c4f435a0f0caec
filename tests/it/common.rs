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

/// Runs `cmd` with `stdin` piped in and returns (exit code, stdout, stderr).
pub fn run_with_stdin(mut cmd: Command, stdin: &str) -> (i32, String, String) {
    let out = cmd.write_stdin(stdin.to_owned()).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs a prepared command and returns (exit code, stdout, stderr).
pub fn run_cmd(mut cmd: Command) -> (i32, String, String) {
    let out = cmd.output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The current code of a base32 TOTP secret, as an authenticator app would show it.
pub fn totp_code(secret: &str) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret).expect("base32 secret");
    let totp = totp_rs::Builder::new().with_secret(bytes).with_account_name("test").build().expect("totp");
    totp.generate_current().to_string()
}

/// The mode bits of a file (Unix).
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

/// Every file an export holds but its manifest and `README.txt` (which carry times), pictures in
/// `media/` included, sorted by name: what two equal exports must agree on byte for byte.
pub fn export_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for (sub, prefix) in [(dir.to_owned(), ""), (dir.join("media"), "media/")] {
        let Ok(entries) = std::fs::read_dir(&sub) else { continue };
        for e in entries.map(|e| e.unwrap()).filter(|e| e.file_type().unwrap().is_file()) {
            let name = e.file_name().to_string_lossy().into_owned();
            if prefix.is_empty() && (name == "manifest.json" || name == "README.txt") {
                continue;
            }
            files.push((format!("{prefix}{name}"), std::fs::read(e.path()).unwrap()));
        }
    }
    files.sort();
    files
}

/// The ten datasets of a TikTok-shaped shop (TikTok and the sandbox), in export order (SPEC §8).
pub const DATASETS: [&str; 10] = [
    "orders",
    "products",
    "statements",
    "statement_transactions",
    "payments",
    "withdrawals",
    "returns",
    "cancellations",
    "product_details",
    "affiliate_orders",
];

/// Exports the default shop into `home/NAME` and verifies it, as the disconnect preflight needs.
pub fn exported(home: &Home, name: &str) -> PathBuf {
    let dir = home.join(name);
    let (code, _, err) = home.run(&["export", "--out", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = home.run(&["verify", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    dir
}

/// The state of the sandbox link `handle`, as `status --json` reports it.
pub fn link_state(home: &Home, handle: &str) -> String {
    let doc = home.json(&["status"], 0);
    let links = doc["shops"][0]["links"].as_array().unwrap().clone();
    links.iter().find(|l| l["handle"] == handle).unwrap()["state"].as_str().unwrap().to_owned()
}

/// Every line of the audit log, parsed.
pub fn audit_events(home: &Home) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(home.join("state/audit.log")).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).expect("an audit line is JSON")).collect()
}
