//! What scripts rely on: completions, the man page, colour switches, JSON error documents, and
//! config errors that name file, line and key.

use crate::common::{Home, run_cmd};

#[test]
fn completions_for_each_shell() {
    let home = Home::new();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef shopunlink"),
        ("fish", "complete -c shopunlink"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let (code, out, err) = home.run(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.contains(marker), "{shell} script lacks {marker:?}");
        for sub in ["disconnect", "doctor", "auth", "totp"] {
            assert!(out.contains(sub), "{shell} script does not complete {sub}");
        }
    }
    assert_eq!(home.run(&["completions", "tcsh"]).0, 2);
}

#[test]
fn man_page_documents_commands_environment_and_exit_codes() {
    let home = Home::new();
    let (code, out, _) = home.run(&["man"]);
    assert_eq!(code, 0);
    assert!(out.contains(".TH shopunlink 1"), "{out}");
    for needle in [".SH SUBCOMMANDS", "doctor", ".SH ENVIRONMENT", "SHOPUNLINK_TIKTOK_ACCESS_TOKEN", "EXIT STATUS"] {
        assert!(out.contains(needle), "man page lacks {needle}");
    }
}

fn stderr_of_a_failure(home: &Home, env: &[(&str, &str)], args: &[&str]) -> String {
    let mut cmd = home.cmd(args);
    cmd.env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (code, _, err) = run_cmd(cmd);
    assert_eq!(code, 7, "{err}");
    err
}

#[test]
fn no_color_and_clicolor_force_are_honoured() {
    let home = Home::new();
    let args = ["status", "--shop", "nope"];
    assert!(!stderr_of_a_failure(&home, &[], &args).contains('\x1b'), "not a terminal: no colour");
    assert!(stderr_of_a_failure(&home, &[("CLICOLOR_FORCE", "1")], &args).contains("\x1b["));
    let both = [("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")];
    assert!(!stderr_of_a_failure(&home, &both, &args).contains('\x1b'), "NO_COLOR wins");
    let always = ["status", "--shop", "nope", "--color", "always"];
    assert!(stderr_of_a_failure(&home, &[("NO_COLOR", "1")], &always).contains("\x1b["), "the flag wins");
}

fn error_doc(home: &Home, args: &[&str], code: i32, kind: &str) -> serde_json::Value {
    let doc = home.json(args, code);
    let e = &doc["error"];
    assert_eq!(e["kind"], kind, "{doc}");
    assert_eq!(e["exit_code"], code, "{doc}");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{doc}");
    assert!(e.get("hint").is_some(), "{doc}");
    doc
}

#[test]
fn every_failure_under_json_prints_an_error_document() {
    let home = Home::new();
    error_doc(&home, &["frobnicate"], 2, "usage");
    error_doc(&home, &["auth"], 2, "usage");
    error_doc(&home, &["auth", "login", "--app-secret", "x"], 2, "usage");
    error_doc(&home, &["export", "--since", "yesterday"], 2, "usage");
    let doc = error_doc(
        &home,
        &["disconnect", "@democrafts.deals", "--allow-unexported", "--allow-pending-funds"],
        2,
        "usage",
    );
    assert_eq!(doc["error"]["flag"], "--yes");
    error_doc(&home, &["disconnect", "@democrafts.deals", "--yes"], 5, "refused");
    error_doc(&home, &["status", "--shop", "Nope Inc."], 7, "not_found");
    error_doc(&home, &["disconnect", "@nobody", "--yes"], 7, "not_found");
    error_doc(&home, &["verify", "no-such-dir"], 8, "verification");
    assert_eq!(home.run(&["sandbox", "reset", "--profile-totp"]).0, 0);
    let doc = error_doc(
        &home,
        &["disconnect", "@democrafts.deals", "--yes", "--allow-unexported", "--allow-pending-funds", "--otp", "1"],
        4,
        "auth",
    );
    assert!(doc["error"]["hint"].as_str().unwrap().contains("auth totp enroll"));
    std::fs::create_dir_all(home.join("state/credentials")).unwrap();
    std::fs::write(home.join("state/credentials/acme.json"), "garbage").unwrap();
    let mut cmd = home.cmd(&["auth", "status", "--profile", "acme", "--json"]);
    cmd.env("SHOPUNLINK_KEYRING", "none");
    let (code, out, _) = run_cmd(cmd);
    assert_eq!(code, 4);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["error"]["kind"], "auth");
    assert_eq!(doc["error"]["profile"], "acme");
}

#[test]
fn config_errors_name_file_line_and_key() {
    let home = Home::new();
    let config = home.join("config.toml");
    let cases = [
        (
            "[profiles.default]\nplatform = \"sandbox\"\n\n[profiles.acme]\nshop = \"x\"\nexport_dri = \"/tmp\"\n",
            "config.toml:6",
            "profiles.acme.export_dri",
        ),
        ("[profiles.default]\nrate_limit = \"fast\"\n", "config.toml:2", "profiles.default.rate_limit"),
        ("[profile.default]\nplatform = \"sandbox\"\n", "config.toml:1", "profile.default"),
        ("[profiles.default]\nplatform = \"sandbox\n", "config.toml:2", "profiles.default.platform"),
    ];
    for (text, at, key) in cases {
        std::fs::write(&config, text).unwrap();
        let (code, out, err) = home.run(&["status"]);
        assert_eq!(code, 2, "{text}: {err}");
        assert!(out.is_empty());
        assert!(err.contains(at) && err.contains(&format!("(key `{key}`)")), "{text}\n{err}");
        let doc = home.json(&["doctor"], 2);
        assert!(doc["error"]["path"].as_str().unwrap().ends_with("config.toml"), "{doc}");
        assert!(doc["error"]["line"].is_number(), "{doc}");
        assert_eq!(doc["error"]["key"], key, "{doc}");
    }
}

#[test]
fn profiles_select_platform_shop_and_settings() {
    let home = Home::new();
    std::fs::write(
        home.join("config.toml"),
        "[profiles.default]\nplatform = \"sandbox\"\n\n[profiles.acme]\nplatform = \"sandbox\"\nshop = \"Demo Crafts Co.\"\n",
    )
    .unwrap();
    let doc = home.json(&["status", "--profile", "acme"], 0);
    assert_eq!(doc["profile"], "acme");
    let mut cmd = home.cmd(&["auth", "status", "--json"]);
    cmd.env("SHOPUNLINK_PROFILE", "acme").env("SHOPUNLINK_KEYRING", "none");
    let (code, out, _) = run_cmd(cmd);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = doc["profiles"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["acme", "default"]);
    assert_eq!(doc["profiles"][0]["current"], true);
    let (code, _, err) = home.run(&["status", "--profile", "../etc"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--profile") || err.contains("profile name"), "{err}");
}
