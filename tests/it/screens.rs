//! What a seller reads, kept as snapshots (`tests/it/snapshots/it__screens__*.snap`), so a change
//! of wording is reviewed as a diff: the status table, the plan of a dry run, the support request,
//! a receipt, the main error screens, and `--help` of every command.
//!
//! Each snapshot is the exit code, stdout and stderr of one run in a fresh home, with what
//! differs from run to run replaced: the temporary home, times, receipt stamps, checksums,
//! request ids and durations. Accept an intended change with `INSTA_UPDATE=always cargo test
//! --test it screens` (or `cargo insta review`) and commit the `.snap` diff with it.

use clap::CommandFactory;

use crate::common::{Home, exported, run_cmd};

/// `text` as a regex matching itself (temporary paths hold `.`, and on some systems `+`).
fn literal(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '-' { c.to_string() } else { format!("\\{c}") }
        })
        .collect()
}

/// The filters that make a screen the same on every run.
fn filters(home: &Home) -> Vec<(String, String)> {
    let mut homes = vec![home.path().display().to_string()];
    if let Ok(real) = std::fs::canonicalize(home.path()) {
        homes.push(real.display().to_string());
    }
    let mut filters: Vec<(String, String)> = homes.iter().map(|h| (literal(h), "[HOME]".to_owned())).collect();
    for (pattern, replacement) in [
        (r"\d{8}T\d{6}\.\d{3}Z", "[STAMP]"),
        (r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?( ?UTC|Z)?", "[TIME]"),
        (r"\b\d{2}:\d{2}:\d{2} UTC", "[TIME]"),
        (r"\b[0-9a-f]{64}\b", "[SHA256]"),
        (r"\b(sbx|chl)-[0-9a-f]+", "$1-[ID]"),
        (r"in \d+\.\d+s\b", "in [SECS]s"),
        (r"shopunlink-export-([a-z-]+)-\d{4}-\d{2}-\d{2}", "shopunlink-export-$1-[DATE]"),
    ] {
        filters.push((pattern.to_owned(), replacement.to_owned()));
    }
    filters
}

/// Exit code, stdout and stderr of `cmd`, as one text.
fn screen_of(cmd: assert_cmd::Command) -> String {
    let (code, out, err) = run_cmd(cmd);
    format!("exit: {code}\n--- stdout\n{out}--- stderr\n{err}")
}

/// Asserts the snapshot `name` of `shopunlink ARGS` in `home`.
fn assert_screen(home: &Home, name: &str, args: &[&str]) {
    assert_screen_of(home, name, home.cmd(args));
}

fn assert_screen_of(home: &Home, name: &str, cmd: assert_cmd::Command) {
    let text = screen_of(cmd);
    let mut settings = insta::Settings::clone_current();
    for (pattern, replacement) in filters(home) {
        settings.add_filter(&pattern, replacement);
    }
    settings.set_prepend_module_to_snapshot(true);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn the_status_table() {
    let home = Home::new();
    assert_screen(&home, "status", &["status"]);
    exported(&home, "export");
    assert_screen(&home, "status_after_an_export", &["status"]);
}

#[test]
fn the_plan_of_a_dry_run_and_the_support_request() {
    let home = Home::new();
    assert_screen(&home, "plan_dry_run", &["disconnect", "@democrafts.deals", "--dry-run", "--allow-unexported"]);
    assert_screen(
        &home,
        "plan_dry_run_with_yes",
        &["disconnect", "inventory-sync-pro", "--dry-run", "--yes", "--allow-unexported"],
    );
    assert_screen(&home, "support_request", &["disconnect", "@brightside.agency", "--allow-unexported"]);
}

#[test]
fn a_receipt_and_the_list_of_receipts() {
    let home = Home::new();
    exported(&home, "export");
    let args = ["disconnect", "@democrafts.deals", "--yes", "--allow-pending-funds"];
    assert_eq!(home.run(&args).0, 2, "the sandbox sends its code");
    let (_, code, _) = home.run(&["sandbox", "code"]);
    let mut with_code = args.to_vec();
    with_code.extend(["--otp", code.trim()]);
    assert_screen(&home, "disconnected", &with_code);
    assert_screen(&home, "receipt_text", &["receipts", "show", "@democrafts.deals"]);
    assert_screen(&home, "receipts_list", &["receipts", "list"]);
}

#[test]
fn the_main_error_screens() {
    let home = Home::new();
    assert_screen(&home, "error_no_subcommand", &[]);
    assert_screen(&home, "error_missing_link", &["disconnect"]);
    assert_screen(&home, "error_unknown_link", &["disconnect", "@nobody"]);
    assert_screen(&home, "error_one_blocker", &["disconnect", "@democrafts.deals", "--yes", "--allow-pending-funds"]);
    assert_screen(&home, "error_blockers", &["disconnect", "@democrafts", "--yes"]);
    assert_screen(
        &home,
        "error_yes_needed",
        &["disconnect", "@democrafts.deals", "--allow-unexported", "--allow-pending-funds", "--no-input"],
    );
    let args = ["disconnect", "inventory-sync-pro", "--yes", "--allow-unexported"];
    assert_screen(&home, "error_code_needed", &args);
    let (_, sent, _) = home.run(&["sandbox", "code"]);
    let wrong = format!("{:06}", (sent.trim().parse::<u32>().unwrap() + 1) % 1_000_000);
    let mut with_wrong = args.to_vec();
    with_wrong.extend(["--otp", &wrong]);
    assert_screen(&home, "error_wrong_code", &with_wrong);
    let five_digits = ["disconnect", "inventory-sync-pro", "--yes", "--allow-unexported", "--otp", "12345"];
    assert_screen(&home, "error_not_six_digits", &five_digits);
}

#[test]
fn a_reused_code() {
    const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let home = Home::new();
    assert_eq!(home.run(&["sandbox", "reset", "--profile-totp"]).0, 0);
    let code = crate::common::totp_code(SECRET);
    let run = |link: &str| {
        let mut cmd = home.cmd(&["disconnect", link, "--yes", "--allow-unexported", "--otp", &code]);
        cmd.env("SHOPUNLINK_TOTP_SECRET", SECRET).env("SHOPUNLINK_KEYRING", "none");
        cmd
    };
    assert_eq!(run_cmd(run("inventory-sync-pro")).0, 0);
    assert_screen_of(&home, "error_reused_code", run("@democrafts.deals"));
}

/// Every command's `--help`, top level included: the global options under their own heading.
#[test]
fn every_help_screen() {
    let home = Home::new();
    let mut paths = vec![Vec::new()];
    let cli = shopunlink::cli::Cli::command();
    let mut stack: Vec<(&clap::Command, Vec<String>)> = vec![(&cli, Vec::new())];
    while let Some((cmd, path)) = stack.pop() {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut p = path.clone();
            p.push(sub.get_name().to_owned());
            paths.push(p.clone());
            stack.push((sub, p));
        }
    }
    for path in paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let name = if path.is_empty() { "help".to_owned() } else { format!("help_{}", path.join("_")) };
        assert_screen(&home, &name, &args);
        if path.len() == 1 {
            let (_, out, _) = home.run(&args);
            let own = out.split("Global options:").next().unwrap();
            assert!(!own.contains("--profile <NAME>") && out.contains("Global options:"), "{path:?}: {out}");
        }
    }
}
