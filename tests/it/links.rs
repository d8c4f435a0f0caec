//! Declared links on the sandbox: `links add|list|remove`, the platform's rules (limits, the 24 h
//! rule), and the owner-confirmed disconnect with its rerun.

use serde_json::json;

use crate::common::Home;

fn export_and_verify(home: &Home) {
    let (code, _, err) = home.run(&["export", "--out", "exp"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = home.run(&["verify", "exp"]);
    assert_eq!(code, 0, "{err}");
}

fn link(home: &Home, handle: &str) -> serde_json::Value {
    let doc = home.json(&["status"], 0);
    doc["shops"][0]["links"].as_array().unwrap().iter().find(|l| l["handle"] == handle).cloned().unwrap_or_default()
}

fn sandbox_code(home: &Home) -> String {
    let (code, out, err) = home.run(&["sandbox", "code"]);
    assert_eq!(code, 0, "{err}");
    out.trim().to_owned()
}

#[test]
fn declared_links_follow_the_platforms_limits() {
    let home = Home::new();
    let (code, _, err) = home.run(&["links", "add", "fan_club", "@x"]);
    assert_eq!(code, 2);
    assert!(err.contains("official_account") && err.contains("marketing_account"), "lists the kinds: {err}");
    let (code, _, err) = home.run(&["links", "add", "affiliate_creator", "@x"]);
    assert_eq!(code, 2, "the platform lists creators itself: {err}");
    let (code, _, err) = home.run(&["links", "add", "official_account", "@democrafts.two"]);
    assert_eq!(code, 2, "the sandbox shop already has its official account: {err}");
    assert!(err.contains("one official TikTok account per shop"), "{err}");
    // Two marketing accounts exist; two more fit, a fifth does not.
    for h in ["@m3", "@m4"] {
        assert_eq!(home.run(&["links", "add", "marketing_account", h]).0, 0);
    }
    let (code, _, err) = home.run(&["links", "add", "marketing_account", "@m5"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("at most 4"), "{err}");
    let (code, _, err) = home.run(&["links", "add", "marketing_account", "@democrafts.deals"]);
    assert_eq!(code, 2, "already listed by the platform: {err}");
    let (code, _, err) = home.run(&["links", "add", "marketing_account"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = home.run(&["links", "add"]);
    assert_eq!(code, 2, "no terminal: needs KIND HANDLE: {err}");
    assert!(err.contains("KIND"), "{err}");

    let list = home.json(&["links", "list"], 0);
    assert_eq!(list["links"].as_array().unwrap().len(), 2, "{list}");
    assert_eq!(home.run(&["links", "remove", "@nobody"]).0, 7);
    assert_eq!(home.run(&["links", "remove", "@m4"]).0, 0);
    assert_eq!(home.json(&["links", "list"], 0)["links"].as_array().unwrap().len(), 1);
    assert_eq!(link(&home, "@m3")["source"], "declared");
    assert_eq!(link(&home, "@democrafts.deals")["source"], "platform");
    #[cfg(unix)]
    assert_eq!(crate::common::mode(&home.join("state/declared/default.json")), 0o600);
}

#[test]
fn a_link_younger_than_24_hours_is_refused_naming_when_it_can_go() {
    let home = Home::new();
    export_and_verify(&home);
    let now = chrono::Utc::now().to_rfc3339();
    assert_eq!(home.run(&["links", "add", "marketing_account", "@fresh", "--linked-since", &now]).0, 0);
    let (code, _, err) = home.run(&["disconnect", "@fresh", "--yes", "--dry-run"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("24 h after linking") && err.contains("can be unlinked from"), "{err}");
    assert_eq!(link(&home, "@fresh")["state"], "linked");
}

#[test]
fn a_declared_partner_is_cut_by_the_owner_and_a_rerun_finishes_it() {
    let home = Home::new();
    export_and_verify(&home);
    let add = ["links", "add", "service_partner", "GrowFast Agency", "--linked-since", "2025-02-01"];
    assert_eq!(home.run(&add).0, 0);
    let l = link(&home, "GrowFast Agency");
    assert_eq!((&l["disconnect"], &l["state"]), (&json!("guided"), &json!("linked")));
    assert!(l["rules"].to_string().contains("72 h"), "{l}");
    // An app or partner moves no money: pending funds are a warning, not a blocker.
    assert!(l["blockers"].as_array().unwrap().is_empty(), "{l}");

    // The sandbox sends a code; the first run stops there (no --otp).
    let (code, _, err) = home.run(&["disconnect", "GrowFast Agency", "--yes"]);
    assert_eq!(code, 2, "{err}");
    let otp = sandbox_code(&home);
    // No --owner-done and no terminal: the tool's part is done, the link waits for the owner.
    let doc = home.json(&["disconnect", "GrowFast Agency", "--yes", "--otp", &otp], 0);
    assert_eq!(doc["outcome"], "awaiting_owner", "{doc}");
    assert_eq!(link(&home, "GrowFast Agency")["state"], "awaiting_owner");
    // The rerun picks up at the owner's step: no second factor again.
    let doc = home.json(&["disconnect", "GrowFast Agency", "--owner-done"], 0);
    assert_eq!(doc["outcome"], "disconnected", "{doc}");
    assert_eq!((&doc["verified"], &doc["confirmed_by"]), (&json!(false), &json!("owner")));
    assert_eq!(doc["second_factor"]["method"], "platform_challenge", "from the first run's record: {doc}");
    assert_eq!(link(&home, "GrowFast Agency")["state"], "unlinked");
    let doc = home.json(&["disconnect", "GrowFast Agency"], 0);
    assert_eq!(doc["outcome"], "already_disconnected");

    // Receipts a person can read, beside the JSON.
    let list = home.json(&["receipts", "list"], 0);
    let receipts = list["receipts"].as_array().unwrap();
    assert!(receipts.len() >= 2 && receipts.iter().all(|r| r["link"] == "GrowFast Agency"), "{list}");
    let (code, out, err) = home.run(&["receipts", "show", "growfast agency"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Outcome:  disconnected (the owner confirmed it)"), "{out}");
    assert!(out.contains("Second factor: the code the platform sent"), "{out}");
    assert_eq!(home.run(&["receipts", "show", "nothing-like-it"]).0, 7);
}

#[test]
fn emergency_skips_the_export_check_for_an_app_but_never_the_second_factor() {
    let home = Home::new();
    let (code, _, err) = home.run(&["disconnect", "inventory-sync-pro", "--yes", "--emergency"]);
    assert_eq!(code, 2, "no export needed, but the code is: {err}");
    assert!(err.contains("--otp"), "{err}");
    let otp = sandbox_code(&home);
    let doc = home.json(&["disconnect", "inventory-sync-pro", "--yes", "--emergency", "--otp", &otp], 0);
    assert_eq!((&doc["outcome"], &doc["emergency"]), (&json!("disconnected"), &json!(true)), "{doc}");
    // The official account is not revocable in an emergency: the export check stands.
    let (code, _, err) = home.run(&["disconnect", "@democrafts", "--yes", "--emergency", "--allow-pending-funds"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("no export"), "{err}");
}

#[test]
fn a_newer_narrower_export_never_hides_an_older_complete_one() {
    let home = Home::new();
    export_and_verify(&home);
    let (code, _, err) = home.run(&["export", "--out", "narrow", "--datasets", "orders"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(home.run(&["verify", "narrow"]).0, 0);
    let plan = home.json(&["disconnect", "inventory-sync-pro", "--dry-run"], 0);
    let check = plan["preflight"].as_array().unwrap().iter().find(|c| c["code"] == "no_export").unwrap().clone();
    assert_eq!(check["ok"], true, "{check}");
    assert!(plan["export"]["dir"].as_str().unwrap().ends_with("exp"), "relies on the complete export: {plan}");
}

#[test]
fn every_shop_at_once_with_an_index_and_a_verify_of_them_all() {
    let home = Home::new();
    let doc = home.json(&["export", "--all-shops", "--out", "all", "--no-media"], 0);
    let shops = doc["shops"].as_array().unwrap();
    assert_eq!(shops.len(), 1, "{doc}");
    let dir = home.join("all").join(shops[0]["dir"].as_str().unwrap());
    assert!(dir.join("manifest.json").exists() && home.join("all/index.json").exists());
    assert_eq!(home.json(&["verify", "--all-shops", "all"], 0)["ok"], true);
    std::fs::write(dir.join("orders.ndjson"), "{}\n").unwrap();
    let (code, _, err) = home.run(&["verify", "--all-shops", "all"]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("Demo Crafts Co."), "names the shop: {err}");
    assert_eq!(home.run(&["status", "--all-shops"]).0, 0);
    assert_eq!(home.run(&["export", "--all-shops", "--shop", "x"]).0, 2, "one or the other");
}
