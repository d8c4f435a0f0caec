//! Every example in every `--help`, and the README's sandbox walk-throughs, work when pasted.
//!
//! Each command's examples run in order, as written, in a fresh home (with `~` there too) where
//! the one thing they assume has been done first (an export before `disconnect`, a disconnect
//! before `receipts`). An example expects exit 0 unless its comment says `exits N`; one whose
//! comment starts with `asks` runs at a terminal and is answered as a seller would (the handle
//! it names, the code the sandbox sent). Examples for `--platform tiktok` need an account and the
//! network: every example, those included, must at least parse.

use std::path::PathBuf;

use clap::{CommandFactory, Parser};

use crate::common::{Home, exported};

/// An example: what to type, and the comment beside it.
#[derive(Debug, Clone)]
struct Example {
    line: String,
    comment: String,
}

impl Example {
    /// A help line (`shopunlink x   (comment)`) or a README line (`shopunlink x   # comment`).
    fn parse(text: &str) -> Example {
        let text = text.trim();
        let split =
            [text.find("  ("), text.find("  #"), text.starts_with('#').then_some(0)].into_iter().flatten().min();
        match split {
            Some(at) => Example {
                line: text[..at].trim().to_owned(),
                comment: text[at..].trim().trim_start_matches(['(', '#']).trim_end_matches(')').trim().to_owned(),
            },
            None => Example { line: text.to_owned(), comment: String::new() },
        }
    }

    fn expected_exit(&self) -> i32 {
        let stated = self.comment.split("exits ").nth(1).and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next());
        match stated.and_then(|n| n.parse().ok()) {
            Some(n) if !self.line.contains("|| true") => n,
            _ => 0,
        }
    }

    fn at_a_terminal(&self) -> bool {
        self.comment.starts_with("asks")
    }

    fn needs_an_account(&self) -> bool {
        self.line.contains("--platform tiktok")
    }
}

/// Every `shopunlink ...` invocation in `line`, as words (a `$(...)`, a pipe or a redirect ends one).
fn invocations(line: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for (at, _) in line.match_indices("shopunlink ") {
        if at > 0 && !line[..at].ends_with([' ', '(', '|']) {
            continue;
        }
        let rest = &line[at..];
        let end = [")", " | ", " > ", " && ", " || ", ";"].iter().filter_map(|d| rest.find(d)).min();
        found.push(words(&rest[..end.unwrap_or(rest.len())]));
    }
    found
}

/// Shell words, with single and double quotes.
fn words(text: &str) -> Vec<String> {
    let (mut out, mut word, mut quote, mut any) = (Vec::new(), String::new(), None, false);
    for c in text.chars() {
        match (quote, c) {
            (None, '"' | '\'') => (quote, any) = (Some(c), true),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if any {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            (_, c) => (word, any) = (word + &c.to_string(), true),
        }
    }
    if any {
        out.push(word);
    }
    out
}

/// Every command path (`["links", "add"]`), the top level first.
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(path.clone());
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut p = path.clone();
            p.push(sub.get_name().to_owned());
            walk(sub, p, out);
        }
    }
    let mut out = Vec::new();
    walk(&shopunlink::cli::Cli::command(), Vec::new(), &mut out);
    out
}

/// The examples of one command's `--help`, in order.
fn help_examples(home: &Home, path: &[String]) -> Vec<Example> {
    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
    args.push("--help");
    let (code, out, err) = home.run(&args);
    assert_eq!(code, 0, "{args:?}: {err}");
    let section = out.split("Examples:\n").nth(1).unwrap_or("");
    section.lines().take_while(|l| l.starts_with("  ")).map(Example::parse).collect()
}

/// A fresh home where examples run as pasted: `~` is the home, `shopunlink` is on PATH, the
/// repository's `examples/` sits in the working directory, and `export` lines carry over.
struct Session {
    home: Home,
    env: Vec<(String, String)>,
}

impl Session {
    fn new() -> Session {
        let home = Home::new();
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        #[cfg(unix)]
        std::os::unix::fs::symlink(repo.join("examples"), home.join("examples")).unwrap();
        let bin = assert_cmd::cargo::cargo_bin("shopunlink");
        let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
        let h = home.path().display().to_string();
        let env = vec![("HOME".into(), h.clone()), ("TMPDIR".into(), h), ("PATH".into(), path)];
        Session { home, env }
    }

    fn bash(&self, line: &str) -> (i32, String, String) {
        let mut cmd = std::process::Command::new("bash");
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("SHOPUNLINK_") || k == "CLICOLOR_FORCE") {
            cmd.env_remove(key);
        }
        cmd.args(["-c", line])
            .env("SHOPUNLINK_HOME", self.home.path())
            .env("NO_COLOR", "1")
            .env("CI", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.home.path());
        let out = cmd.output().expect("bash runs");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
    }

    /// `export A=... B=...`: what it sets is set for the lines after it.
    fn export(&mut self, line: &str) {
        let (code, out, err) = self.bash(&format!("{line}\nenv -0"));
        assert_eq!(code, 0, "{line}: {err}");
        for pair in out.split('\0').filter_map(|p| p.split_once('=')) {
            let exported = line.contains(&format!("{}=", pair.0));
            if exported {
                self.env.retain(|(k, _)| k != pair.0);
                self.env.push((pair.0.to_owned(), pair.1.to_owned()));
            }
        }
    }

    /// The code a disconnect waits for: the sandbox's, or the example plugin's file.
    fn code(&self, line: &str) -> String {
        let env = self.env.iter().find(|(k, _)| k == "SHOPUNLINK_HOME").map(|(_, v)| PathBuf::from(v));
        let home = env.unwrap_or_else(|| self.home.path().to_owned());
        if line.contains("--platform example") {
            return std::fs::read_to_string(home.join("state/plugins/example/default/code")).unwrap().trim().to_owned();
        }
        let (code, out, err) = self.bash("shopunlink sandbox code");
        assert_eq!(code, 0, "no sandbox code for {line}: {err}");
        out.trim().to_owned()
    }

    /// Runs `line` at a terminal, answering each question as a seller would.
    #[cfg(unix)]
    fn at_a_terminal(&self, line: &str) -> (i32, String) {
        use crate::terminal::Terminal;
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let shell = format!("{line}; echo EXIT=$?; stty -a");
        let Some(mut t) = Terminal::start(&self.home, &shell, &env) else { return (0, String::new()) };
        let questions = ["verify it now?", " to disconnect it", "Code: ", "Kind: ", "Handle (", "Done in", "EXIT="];
        loop {
            match t.expect_any(&questions) {
                (0, _) => t.send("y"),
                (1, shown) => {
                    let handle = shown.split("Type ").nth(1).and_then(|r| r.split(" to disconnect").next()).unwrap();
                    t.send(&format!("{handle}\r"));
                }
                (2, _) => t.send(&format!("{}\r", self.code(line))),
                (3, _) => t.send("marketing_account\r"),
                (4, _) => t.send("@democrafts.new\r"),
                (5, _) => t.send("y"),
                _ => break,
            }
        }
        t.finish()
    }

    #[cfg(not(unix))]
    fn at_a_terminal(&self, _line: &str) -> (i32, String) {
        (0, String::new())
    }

    /// Runs one example and checks it ends as it says.
    fn run(&mut self, example: &Example, context: &str) {
        if example.needs_an_account() {
            return;
        }
        if example.line.starts_with("export ") {
            return self.export(&example.line);
        }
        if example.line.contains("man -l") && std::process::Command::new("man").arg("-w").output().is_err() {
            return;
        }
        let (code, shown) = if example.at_a_terminal() {
            self.at_a_terminal(&example.line)
        } else {
            let (code, out, err) = self.bash(&example.line);
            (code, format!("{out}{err}"))
        };
        assert_eq!(code, example.expected_exit(), "{context}: `{}` ({}):\n{shown}", example.line, example.comment);
    }
}

#[test]
fn every_help_example_parses() {
    let home = Home::new();
    let mut checked = 0;
    for path in command_paths() {
        for example in help_examples(&home, &path) {
            let calls = invocations(&example.line);
            // Anything else is a line of its own a shell runs first (a cut-off help line is not).
            let shell = ["mkdir ", "export "].iter().any(|s| example.line.starts_with(s));
            assert!(!calls.is_empty() || shell, "{path:?}: no shopunlink in {:?}", example.line);
            for words in calls {
                shopunlink::cli::Cli::try_parse_from(&words)
                    .unwrap_or_else(|e| panic!("{path:?}: `{}` does not parse: {e}", words.join(" ")));
                checked += 1;
            }
        }
    }
    assert!(checked > 30, "only {checked} examples found");
}

#[test]
fn every_help_example_works_when_pasted_in_order() {
    let probe = Home::new();
    for path in command_paths() {
        let examples = help_examples(&probe, &path);
        if examples.is_empty() {
            continue;
        }
        let mut session = Session::new();
        match path.first().map(String::as_str) {
            Some("disconnect") => {
                exported(&session.home, "export");
            }
            Some("receipts") => {
                exported(&session.home, "export");
                session.run(&Example::parse("shopunlink disconnect @democrafts.deals --yes   (exits 2)"), "setup");
                let code = session.code("");
                let line = format!("shopunlink disconnect @democrafts.deals --yes --otp {code}");
                session.run(&Example::parse(&line), "setup");
            }
            Some("sandbox") => {
                let line = "shopunlink disconnect inventory-sync-pro --yes --allow-unexported   (exits 2)";
                session.run(&Example::parse(line), "setup: a disconnect waits for its code");
            }
            _ => {}
        }
        for example in &examples {
            session.run(example, &format!("shopunlink {} --help", path.join(" ")));
        }
    }
}

/// The sections of README.md whose `sh` blocks run against the sandbox (or the example plugin).
const README_SECTIONS: [&str; 3] =
    ["## A walk through the sandbox", "## Using shopunlink in scripts", "## Platforms and plugins"];

#[test]
fn the_readme_walk_throughs_work_when_pasted() {
    let readme = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for section in README_SECTIONS {
        let start = readme.find(section).unwrap_or_else(|| panic!("README.md has no {section:?}"));
        let block = readme[start..].split("```sh\n").nth(1).and_then(|b| b.split("```").next()).unwrap();
        let mut session = Session::new();
        for text in block.lines() {
            let example = Example::parse(text);
            if !example.line.is_empty() {
                session.run(&example, section);
            }
        }
    }
}

#[test]
fn examples_are_read_as_written() {
    let e = Example::parse("  shopunlink disconnect x --yes   (sends the code, exits 2 asking for it)");
    assert_eq!((e.line.as_str(), e.expected_exit(), e.at_a_terminal()), ("shopunlink disconnect x --yes", 2, false));
    let e = Example::parse("shopunlink disconnect x || true   # exits 2");
    assert_eq!(e.expected_exit(), 0);
    let e = Example::parse("shopunlink links add                      (asks what Seller Center shows)");
    assert!(e.at_a_terminal());
    let calls = invocations("SHOPUNLINK_OTP=$(shopunlink sandbox code) shopunlink disconnect \"a b\" --json > r.json");
    assert_eq!(calls, vec![vec!["shopunlink", "sandbox", "code"], vec!["shopunlink", "disconnect", "a b", "--json"]]);
}
