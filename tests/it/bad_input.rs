//! Every bad input gets a clear error, the documented exit code, and changes nothing.

use crate::common::Home;

#[test]
fn unknown_link_or_shop_is_exit_7_listing_the_known_ones() {
    let home = Home::new();
    let (code, _, err) = home.run(&["disconnect", "@nobody", "--yes"]);
    assert_eq!(code, 7);
    assert!(err.contains("no link \"@nobody\"") && err.contains("@democrafts"), "{err}");
    let doc = home.json(&["status", "--shop", "Nope Inc."], 7);
    assert_eq!(doc["error"]["kind"], "not_found");
    assert!(doc["error"]["hint"].as_str().unwrap().contains("Demo Crafts Co."));
    assert_eq!(home.run(&["export", "--shop", "12345"]).0, 7);
}

#[test]
fn bad_flags_and_dates_are_usage_errors() {
    let home = Home::new();
    for args in [
        &["export", "--since", "31/01/2026"][..],
        &["export", "--until", "2026-02-30"],
        &["export", "--since", "2026-03-01", "--until", "2026-02-01"],
        &["export", "--datasets", "orders,refunds"],
        &["export", "--format", "xml"],
        &["disconnect"],
        &["disconnect", "@democrafts", "--wait", "soon"],
        &["disconnect", "@democrafts", "--wait", "18446744073709551615h"],
        &["disconnect", "@democrafts", "--wait", "8d"],
        &["status", "--platform", "myspace"],
        &["frobnicate"],
    ] {
        let (code, out, err) = home.run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?} printed to stdout: {out}");
        assert!(!err.is_empty());
    }
    let doc = home.json(&["export", "--since", "yesterday"], 2);
    assert_eq!(doc["error"]["kind"], "usage");
    assert!(!home.join("state").exists(), "a usage error wrote state");
}

#[test]
fn a_corrupt_state_file_is_named_and_left_alone() {
    let home = Home::new();
    std::fs::create_dir_all(home.join("state/sandbox")).unwrap();
    let path = home.join("state/sandbox/world.json");
    std::fs::write(&path, "{\"version\": 1, \"params\": tru").unwrap();
    for args in [&["status"][..], &["export", "--out", "x"], &["disconnect", "@democrafts", "--yes"]] {
        let (code, _, err) = home.run(args);
        assert_eq!(code, 1, "{args:?}");
        assert!(err.contains("world.json") && err.contains("corrupt"), "{err}");
        assert!(err.contains("sandbox reset"), "{err}");
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"version\": 1, \"params\": tru");
    assert!(!home.join("x").exists());
    assert_eq!(home.run(&["sandbox", "reset"]).0, 0, "reset recovers");
    assert_eq!(home.run(&["status"]).0, 0);
}

#[test]
fn a_corrupt_export_index_is_named() {
    let home = Home::new();
    std::fs::create_dir_all(home.join("state")).unwrap();
    std::fs::write(home.join("state/exports.json"), "[oops").unwrap();
    let (code, _, err) = home.run(&["status"]);
    assert_eq!(code, 1);
    assert!(err.contains("exports.json"), "{err}");
    assert_eq!(std::fs::read_to_string(home.join("state/exports.json")).unwrap(), "[oops");
}

#[test]
fn a_broken_config_file_names_file_line_and_key() {
    let home = Home::new();
    std::fs::write(home.join("config.toml"), "[profiles.default]\nplatform = \"sandbox\"\nshopp = \"x\"\n").unwrap();
    let (code, _, err) = home.run(&["status"]);
    assert_eq!(code, 2);
    assert!(err.contains("config.toml:3") && err.contains("shopp"), "{err}");
    std::fs::write(home.join("config.toml"), "[profiles.default\n").unwrap();
    let doc = home.json(&["status"], 2);
    assert!(doc["error"]["message"].as_str().unwrap().contains("config.toml"));
}

#[test]
fn an_export_never_clobbers_a_directory_that_is_not_an_export() {
    let home = Home::new();
    let dir = home.join("photos");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("holiday.jpg"), "precious").unwrap();
    // A web app's manifest.json does not make the directory ours.
    let web_manifest = r#"{"name": "My shop site", "start_url": "/"}"#;
    std::fs::write(dir.join("manifest.json"), web_manifest).unwrap();
    for extra in [&[][..], &["--fresh"]] {
        let mut args = vec!["export", "--out", dir.to_str().unwrap()];
        args.extend(extra);
        let (code, _, err) = home.run(&args);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("not a shopunlink export"), "{err}");
    }
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["holiday.jpg", "manifest.json"]);
    assert_eq!(std::fs::read_to_string(dir.join("holiday.jpg")).unwrap(), "precious");
    assert_eq!(std::fs::read_to_string(dir.join("manifest.json")).unwrap(), web_manifest);
}

#[test]
fn verify_of_something_that_is_not_an_export_fails_with_8() {
    let home = Home::new();
    assert_eq!(home.run(&["verify", "does-not-exist"]).0, 8);
    std::fs::create_dir_all(home.join("empty")).unwrap();
    let (code, _, err) = home.run(&["verify", "empty"]);
    assert_eq!(code, 8);
    assert!(err.contains("manifest.json is missing"), "{err}");
}

#[test]
fn sandbox_code_without_a_pending_disconnect_is_not_found() {
    let home = Home::new();
    let (code, out, err) = home.run(&["sandbox", "code"]);
    assert_eq!(code, 7);
    assert!(out.is_empty());
    assert!(err.contains("start a disconnect"), "{err}");
}

#[test]
fn help_has_an_example_for_every_command() {
    let home = Home::new();
    for cmd in ["status", "export", "verify", "disconnect", "sandbox", "completions"] {
        let (code, out, _) = home.run(&[cmd, "--help"]);
        assert_eq!(code, 0);
        assert!(out.contains("Examples:") && out.contains(&format!("shopunlink {cmd}")), "{cmd}: {out}");
    }
}
