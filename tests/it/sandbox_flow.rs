//! The whole mission on the sandbox: status, export, verify, disconnect.

use crate::common::Home;

#[test]
fn status_shows_the_sandbox_shop_and_its_links() {
    let home = Home::new();
    let (code, out, _) = home.run(&["status"]);
    assert_eq!(code, 0);
    for needle in ["Demo Crafts Co.", "@democrafts", "@lunabeauty", "inventory-sync-pro", "support"] {
        assert!(out.contains(needle), "missing {needle} in:\n{out}");
    }
    let doc = home.json(&["status"], 0);
    assert_eq!(doc["schema_version"], 1);
    let links = doc["shops"][0]["links"].as_array().unwrap();
    let kinds: Vec<_> = links.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    for kind in ["official_account", "marketing_account", "affiliate_creator", "app_authorization"] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
    assert!(links.iter().any(|l| l["disconnect"] == "support"));
    let readiness = &doc["shops"][0]["readiness"];
    assert!(readiness["pending_funds"]["amount"].is_string());
    assert!(readiness["open_orders"].as_u64().unwrap() > 0);
    let blockers: Vec<_> =
        readiness["blockers"].as_array().unwrap().iter().map(|b| b["code"].as_str().unwrap()).collect();
    assert!(blockers.contains(&"no_export") && blockers.contains(&"pending_funds"), "{blockers:?}");
}

/// Exports the default shop into `home/export` and verifies it, as the preflight requires.
fn export_and_verify(home: &Home) -> std::path::PathBuf {
    export_and_verify_into(home, "export")
}

fn export_and_verify_into(home: &Home, name: &str) -> std::path::PathBuf {
    crate::common::exported(home, name)
}

fn link_state(home: &Home, handle: &str) -> String {
    crate::common::link_state(home, handle)
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { out.extend(files_under(&path)) } else { out.push(path) }
    }
    out
}

#[test]
fn export_then_verify_passes_and_files_are_private() {
    let home = Home::new();
    let dir = home.join("export");
    let doc = home.json(&["export", "--out", dir.to_str().unwrap()], 0);
    assert_eq!(doc["complete"], true);
    assert_eq!(doc["schema_version"], 1);
    let names: Vec<_> = doc["datasets"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, crate::common::DATASETS);
    assert_eq!(doc["datasets"][0]["records"], 3000);
    let report = home.json(&["verify", dir.to_str().unwrap()], 0);
    assert_eq!(report["ok"], true);
    // Product pictures, made by the sandbox, kept once each under their hash; a summary to read.
    let media = doc["media"].as_array().expect("pictures");
    assert!(media.len() >= 100, "{}", media.len());
    let readme = std::fs::read_to_string(dir.join("README.txt")).unwrap();
    assert!(readme.contains("paid by buyers") && readme.contains("shopunlink verify"), "{readme}");
    let picture = dir.join(media[0]["file"].as_str().unwrap());
    let mut bytes = std::fs::read(&picture).unwrap();
    bytes[20] ^= 0x40;
    std::fs::write(&picture, &bytes).unwrap();
    let (code, _, err) = home.run(&["verify", dir.to_str().unwrap()]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains(media[0]["file"].as_str().unwrap()), "names the picture: {err}");
    bytes[20] ^= 0x40;
    std::fs::write(&picture, &bytes).unwrap();
    // The failed verify withdrew the verified mark; the restored export earns it again.
    assert_eq!(home.json(&["verify", dir.to_str().unwrap()], 0)["ok"], true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        for f in files_under(&dir) {
            assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600, "{}", f.display());
        }
    }
    let status = home.json(&["status"], 0);
    assert_eq!(status["shops"][0]["readiness"]["last_export"]["verified"], true);
}

#[test]
fn verify_catches_a_flipped_byte_a_deleted_line_and_a_missing_manifest() {
    let home = Home::new();
    let dir = export_and_verify(&home);
    let d = dir.to_str().unwrap();

    let orders = dir.join("orders.ndjson");
    let pristine = std::fs::read(&orders).unwrap();
    let mut flipped = pristine.clone();
    flipped[1000] ^= 0x01;
    std::fs::write(&orders, &flipped).unwrap();
    let (code, _, err) = home.run(&["verify", d]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("orders") && err.contains("altered"), "{err}");

    let text = String::from_utf8(pristine.clone()).unwrap();
    let without_line: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    std::fs::write(&orders, without_line).unwrap();
    let doc = home.json(&["verify", d], 8);
    assert_eq!(doc["error"]["exit_code"], 8);
    let problems = doc["error"]["datasets"][0]["problems"].to_string();
    assert!(problems.contains("2999 records"), "{problems}");
    // The verify document's own shape (SPEC §5) stands beside the error.
    assert_eq!((doc["ok"].clone(), doc["datasets"][0]["ok"].clone()), (false.into(), false.into()), "{doc}");
    assert_eq!(doc["datasets"][0]["name"], "orders");

    std::fs::write(&orders, &pristine).unwrap();
    assert_eq!(home.run(&["verify", d]).0, 0);

    // A manifest with datasets cut out, or naming a file outside the export, does not verify.
    let manifest_path = dir.join("manifest.json");
    let original = std::fs::read_to_string(&manifest_path).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_str(&original).unwrap();
    manifest["datasets"].as_array_mut().unwrap().truncate(1);
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let (code, _, err) = home.run(&["verify", d]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("not in its manifest"), "{err}");
    let mut manifest: serde_json::Value = serde_json::from_str(&original).unwrap();
    manifest["datasets"][0]["file"] = "../orders.ndjson".into();
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let (code, out, err) = home.run(&["verify", d]);
    assert_eq!(code, 8, "{err}");
    assert!(out.contains("outside the export"), "{out}");
    std::fs::write(&manifest_path, &original).unwrap();
    assert_eq!(home.run(&["verify", d]).0, 0);

    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    let (code, _, err) = home.run(&["verify", d]);
    assert_eq!(code, 8);
    assert!(err.contains("manifest.json is missing"), "{err}");
}

#[test]
fn two_fresh_homes_export_byte_identical_files() {
    let (a, b) = (Home::new(), Home::new());
    for home in [&a, &b] {
        let (code, _, err) = home.run(&["sandbox", "reset", "--seed", "7", "--orders", "1500"]);
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = home.run(&["export", "--out", "x", "--format", "both"]);
        assert_eq!(code, 0, "{err}");
    }
    let (x, y) = (crate::common::export_files(&a.join("x")), crate::common::export_files(&b.join("x")));
    assert!(x.len() > 8 && x.iter().any(|(n, _)| n.starts_with("media/")), "{} files", x.len());
    assert_eq!(x.len(), y.len());
    for ((name, bytes), (other, other_bytes)) in x.iter().zip(&y) {
        assert!(name == other && bytes == other_bytes, "{name:?} differs between homes");
    }
    // SPEC §8: `csv` is the main table's {file, bytes, sha256}; nested lists' tables beside it.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join("x/manifest.json")).unwrap()).unwrap();
    let orders = &manifest["datasets"][0];
    assert_eq!(orders["csv"]["file"], "orders.csv", "{orders}");
    assert_eq!(orders["csv"]["bytes"], std::fs::metadata(a.join("x/orders.csv")).unwrap().len());
    assert_eq!(orders["csv_tables"][0]["file"], "orders.line_items.csv", "{orders}");
}

#[test]
fn a_time_window_selects_records_by_their_own_time() {
    let home = Home::new();
    let doc = home.json(
        &["export", "--out", "w", "--datasets", "orders,payments", "--since", "2026-03-01", "--until", "2026-03-31"],
        0,
    );
    let orders = std::fs::read_to_string(home.join("w/orders.ndjson")).unwrap();
    let (from, to) = (1_772_323_200, 1_775_001_600); // 2026-03-01 and 2026-04-01, UTC
    for line in orders.lines() {
        let t = serde_json::from_str::<serde_json::Value>(line).unwrap()["create_time"].as_i64().unwrap();
        assert!((from..to).contains(&t), "{t}");
    }
    let count = doc["datasets"][0]["records"].as_u64().unwrap();
    assert!(count > 100 && count < 400, "{count}");
    assert_eq!(doc["range"]["since"], "2026-03-01T00:00:00Z");
    assert_eq!(doc["datasets"].as_array().unwrap().len(), 2);
}

#[test]
fn disconnect_walks_every_safety_step() {
    let home = Home::new();
    // No export yet: refused.
    let (code, _, err) = home.run(&["disconnect", "@democrafts.deals", "--yes", "--allow-pending-funds"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("no export"), "{err}");
    let dir = export_and_verify(&home);

    // Pending funds block what moves money (the affiliate's commission, the official account's
    // payouts) without the override, and not a marketing account, whose unlink moves no money.
    let doc = home.json(&["disconnect", "@lunabeauty", "--yes"], 5);
    assert_eq!(doc["error"]["kind"], "refused");
    let plan = home.json(&["disconnect", "@democrafts.deals", "--dry-run"], 0);
    let funds = plan["preflight"].as_array().unwrap().iter().find(|c| c["code"] == "pending_funds").unwrap().clone();
    assert_eq!(
        (&funds["ok"], &funds["severity"]),
        (&serde_json::json!(false), &serde_json::json!("warning")),
        "{plan}"
    );

    // Dry run: a plan, nothing changed.
    let before = std::fs::read_to_string(home.join("state/sandbox/world.json")).ok();
    let plan = home.json(&["disconnect", "@democrafts.deals", "--dry-run", "--allow-pending-funds"], 0);
    assert_eq!(plan["dry_run"], true);
    assert!(plan["plan"]["consequences"].as_array().unwrap().len() >= 2);
    assert_eq!(std::fs::read_to_string(home.join("state/sandbox/world.json")).ok(), before);

    // No --yes under --no-input: exit 2 naming --yes.
    let (code, _, err) = home.run(&["disconnect", "@democrafts.deals", "--allow-pending-funds", "--no-input"]);
    assert_eq!(code, 2);
    assert!(err.contains("--yes"), "{err}");

    // Without a code: the sandbox sends one and the command asks for --otp.
    let (code, _, err) = home.run(&["disconnect", "@democrafts.deals", "--allow-pending-funds", "--yes"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--otp"), "{err}");
    let (code, sent, _) = home.run(&["sandbox", "code"]);
    assert_eq!(code, 0);
    let sent = sent.trim().to_owned();
    assert_eq!(sent.len(), 6);

    // A wrong code: exit 4, nothing changed.
    let wrong = format!("{:06}", (sent.parse::<u32>().unwrap() + 1) % 1_000_000);
    let (code, _, err) =
        home.run(&["disconnect", "@democrafts.deals", "--allow-pending-funds", "--yes", "--otp", &wrong]);
    assert_eq!(code, 4, "{err}");
    assert_eq!(link_state(&home, "@democrafts.deals"), "linked");

    // The right code (from the environment this time) disconnects and writes a receipt.
    let receipt = {
        let out = home
            .cmd(&["disconnect", "@DemoCrafts.Deals", "--allow-pending-funds", "--yes", "--json"])
            .env("SHOPUNLINK_OTP", &sent)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    assert_eq!(receipt["outcome"], "disconnected");
    assert_eq!(receipt["verified_gone"], true);
    assert_eq!(receipt["second_factor"]["method"], "platform_challenge");
    assert!(receipt["request_ids"][0].as_str().unwrap().starts_with("sbx-"));
    assert_eq!(receipt["export"]["dir"], std::fs::canonicalize(&dir).unwrap().to_str().unwrap());
    assert_eq!(link_state(&home, "@democrafts.deals"), "unlinked");
    let file = std::path::PathBuf::from(receipt["receipt_file"].as_str().unwrap());
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(!saved.contains(&sent) && !saved.contains(&wrong), "the receipt holds a code");
    let audit = std::fs::read_to_string(home.join("state/audit.log")).unwrap();
    assert!(audit.contains("disconnect.attempt") && audit.contains("disconnect.done"), "{audit}");
    assert!(!audit.contains(&sent));

    // Again: already gone, exit 0, nothing changed.
    let world = std::fs::read_to_string(home.join("state/sandbox/world.json")).unwrap();
    let again = home.json(&["disconnect", "@democrafts.deals", "--yes"], 0);
    assert_eq!(again["outcome"], "already_disconnected");
    assert_eq!(std::fs::read_to_string(home.join("state/sandbox/world.json")).unwrap(), world);

    // The log holds the receipt itself. A crash after the platform call, before the receipt: the
    // rerun writes one with the preflight, export and second factor the first run recorded.
    let done: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!((&done["event"], &done["details"]["outcome"]), (&"disconnect.done".into(), &"disconnected".into()));
    let crashed: String = audit.lines().filter(|l| !l.contains("disconnect.done")).map(|l| format!("{l}\n")).collect();
    std::fs::write(home.join("state/audit.log"), crashed).unwrap();
    std::fs::remove_file(&file).unwrap();
    let recovered = home.json(&["disconnect", "@democrafts.deals", "--yes"], 0);
    assert_eq!((&recovered["outcome"], &recovered["recovered"]), (&"disconnected".into(), &true.into()));
    assert_eq!(recovered["preflight"], receipt["preflight"], "{recovered}");
    assert_eq!(recovered["export"], receipt["export"]);
    assert_eq!(recovered["second_factor"]["method"], "platform_challenge");
    assert_eq!(recovered["request_ids"], receipt["request_ids"]);
}

#[test]
fn a_code_is_void_after_three_wrong_tries() {
    let home = Home::new();
    export_and_verify(&home);
    let args = ["disconnect", "@lunabeauty", "--allow-pending-funds", "--yes"];
    assert_eq!(home.run(&args).0, 2);
    let (_, sent, _) = home.run(&["sandbox", "code"]);
    let sent = sent.trim().to_owned();
    let wrong = format!("{:06}", (sent.parse::<u32>().unwrap() + 7) % 1_000_000);
    for _ in 0..3 {
        let mut a = args.to_vec();
        a.extend(["--otp", &wrong]);
        assert_eq!(home.run(&a).0, 4);
    }
    let mut a = args.to_vec();
    a.extend(["--otp", &sent]);
    let (code, _, err) = home.run(&a);
    assert_eq!(code, 4, "a used-up code must not work: {err}");
    assert_eq!(link_state(&home, "@lunabeauty"), "linked");
}

#[test]
fn the_official_account_waits_for_open_orders() {
    let home = Home::new();
    export_and_verify(&home);
    let (code, _, err) =
        home.run(&["disconnect", "@democrafts", "--yes", "--allow-pending-funds", "--allow-unexported"]);
    assert_eq!(code, 5);
    assert!(err.contains("open order"), "{err}");

    assert_eq!(home.run(&["sandbox", "reset", "--settled", "--open-orders", "0"]).0, 0);
    // The reset changed the shop's data: the earlier export no longer counts.
    let (code, _, err) = home.run(&["disconnect", "@democrafts", "--yes", "--dry-run"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("changed"), "{err}");
    // A blocked dry run's JSON still carries its plan and checks beside the refusal.
    let doc = home.json(&["disconnect", "@democrafts", "--yes", "--dry-run"], 5);
    assert_eq!((&doc["dry_run"], &doc["error"]["exit_code"]), (&true.into(), &5.into()), "{doc}");
    assert!(doc["plan"]["steps"].as_array().is_some_and(|s| !s.is_empty()), "{doc}");
    assert!(doc["preflight"].as_array().unwrap().iter().any(|c| c["ok"] == false), "{doc}");
    // Exporting into the old directory would mix old and new data: refused without --fresh.
    let (code, _, err) = home.run(&["export", "--out", "export"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--fresh"), "{err}");
    export_and_verify_into(&home, "export2");
    let plan = home.json(&["disconnect", "@democrafts", "--yes", "--dry-run"], 0);
    assert!(plan["preflight"].as_array().unwrap().iter().all(|c| c["ok"] == true), "{plan}");
}

#[test]
fn a_support_link_gets_a_ready_to_send_request() {
    let home = Home::new();
    export_and_verify(&home);
    let doc = home.json(&["disconnect", "@brightside.agency", "--allow-pending-funds"], 0);
    assert_eq!(doc["outcome"], "support_request");
    let text = doc["support_request"].as_str().unwrap();
    for needle in ["@brightside.agency", "Demo Crafts Co.", "shop id", "link id"] {
        assert!(text.contains(needle), "missing {needle}: {text}");
    }
    // Where to send it is the seller's step, not a line of the letter to support.
    assert!(!text.contains("request below"), "{text}");
    let steps = doc["plan"]["manual_steps"].to_string();
    assert!(steps.contains("partner-support@brightside.example"), "{steps}");
    assert!(text.contains("exported and verified our records"), "{text}");
    assert_eq!(link_state(&home, "@brightside.agency"), "linked");

    // Without an export (overridden), the request does not claim one.
    let home = Home::new();
    let doc = home.json(&["disconnect", "@brightside.agency", "--allow-pending-funds", "--allow-unexported"], 0);
    let text = doc["support_request"].as_str().unwrap();
    assert!(text.contains("without a verified export") && !text.contains("exported and verified"), "{text}");
}

/// The JSON of `status` is a contract (SPEC §5): any change to its shape shows up in review as a
/// snapshot diff. The sandbox world is deterministic, so nothing needs redacting.
#[test]
fn status_json_is_the_documented_shape() {
    let home = Home::new();
    let status = home.json(&["status"], 0);
    insta::assert_json_snapshot!("sandbox_status", status);
}

/// The preflight relies only on an export that covers the whole shop and is still intact: a
/// verified partial export, a file damaged after verify, or a failed re-verify all block.
#[test]
fn only_a_whole_intact_verified_export_lets_a_disconnect_through() {
    let home = Home::new();
    let attempt = ["disconnect", "@democrafts.deals", "--yes", "--allow-pending-funds", "--dry-run"];
    assert_eq!(home.run(&["export", "--out", "part", "--datasets", "orders"]).0, 0);
    assert_eq!(home.run(&["verify", "part"]).0, 0);
    let (code, _, err) = home.run(&attempt);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("lacks products"), "{err}");

    assert_eq!(home.run(&["export", "--out", "window", "--since", "2026-01-01"]).0, 0);
    assert_eq!(home.run(&["verify", "window"]).0, 0);
    let (code, _, err) = home.run(&attempt);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("time window"), "{err}");

    assert_eq!(home.run(&["export", "--out", "full"]).0, 0);
    assert_eq!(home.run(&["verify", "full"]).0, 0);
    assert_eq!(home.run(&attempt).0, 0, "a whole, verified export lets it through");

    // Damaged after verify: the preflight notices without a re-verify ...
    let orders = home.join("full/orders.ndjson");
    let text = std::fs::read_to_string(&orders).unwrap();
    std::fs::write(&orders, &text[..text.len() / 2]).unwrap();
    let (code, _, err) = home.run(&attempt);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("orders.ndjson") && err.contains("changed"), "{err}");
    // ... and a failed verify withdraws the mark even once the size is back.
    assert_eq!(home.run(&["verify", "full"]).0, 8);
    let mut damaged = text.clone().into_bytes();
    damaged[10] ^= 0x01;
    std::fs::write(&orders, damaged).unwrap();
    let (code, _, err) = home.run(&attempt);
    assert_eq!(code, 5, "{err}");
    // The preflight falls back to the newest export still marked verified: the partial one.
    assert!(err.contains("time window") && !err.contains("verified export in"), "{err}");
}

#[test]
fn a_seller_can_read_the_plan_the_refusal_and_what_went_wrong() {
    let home = Home::new();
    // The plan is the dry run's result: on stdout, so it can be saved.
    let (code, out, err) = home.run(&["disconnect", "@democrafts.deals", "--dry-run", "--allow-unexported"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Plan: disconnect @democrafts.deals") && out.contains("Safety checks"), "{out}");
    // Several blockers: listed one per line, each hint once.
    let (code, _, err) = home.run(&["disconnect", "@democrafts", "--yes"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("checks stand in the way:\n  - "), "{err}");
    let hints: Vec<&str> = err.lines().filter(|l| l.trim_start().starts_with("hint:")).collect();
    let mut unique = hints.clone();
    unique.dedup();
    assert_eq!(hints.len(), unique.len(), "{err}");
    // A code that is not six digits is refused before it can use up a try.
    export_and_verify(&home);
    let (code, _, err) = home.run(&["disconnect", "inventory-sync-pro", "--yes", "--otp", "abcdef"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("6 digits"), "{err}");
    // A wrong code is logged, so doctor reports the failed attempt.
    let (code, _, err) = home.run(&["disconnect", "inventory-sync-pro", "--yes", "--otp", "000000"]);
    assert_eq!(code, 4, "{err}");
    let audit = std::fs::read_to_string(home.join("state/audit.log")).unwrap();
    assert!(audit.contains("disconnect.failed") && audit.contains("wrong one-time code"), "{audit}");
    let doctor = home.json(&["doctor"], 1);
    assert!(doctor.to_string().contains("wrong one-time code"), "{doctor}");
}

/// At a real terminal: a typo in the handle asks again and an empty answer cancels (exit 3).
#[cfg(unix)]
#[test]
fn a_typo_at_the_handle_prompt_asks_again_and_empty_cancels() {
    use crate::terminal::{Terminal, line};
    let home = Home::new();
    let args = "disconnect @democrafts.deals --allow-unexported --allow-pending-funds";
    let Some(mut t) = Terminal::start(&home, &line(args), &[]) else { return };
    t.expect("Type @democrafts.deals to disconnect it");
    t.send("wrong\r");
    t.expect("not @democrafts.deals; try again");
    t.expect("Type @democrafts.deals to disconnect it");
    t.send("\r");
    let (code, text) = t.finish();
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("cancelled"), "{text}");
    assert_eq!(link_state(&home, "@democrafts.deals"), "linked");
}

/// The walk-through at a terminal: with no export yet it offers one, makes and verifies it, goes
/// on step by step, and Ctrl-C at the code prompt ends with exit 130, nothing changed, and the
/// terminal's echo back on.
#[cfg(unix)]
#[test]
fn the_walk_through_offers_the_export_and_ctrl_c_leaves_the_terminal_usable() {
    use crate::terminal::{Terminal, line, usable};
    let home = Home::new();
    let Some(mut t) = Terminal::start(&home, &line("disconnect @democrafts.deals"), &[]) else { return };
    t.expect("Export everything from Demo Crafts Co. and verify it now?");
    t.send("y");
    t.expect("exported and verified into");
    t.expect("Type @democrafts.deals to disconnect it");
    t.send("@democrafts.deals\r");
    t.expect("step 5 of 7: the one-time code");
    t.expect("Code");
    t.send("\u{3}");
    let (code, text) = t.finish();
    assert_eq!(code, 130, "{text}");
    assert!(usable(&text), "echo is back on: {text}");
    assert_eq!(link_state(&home, "@democrafts.deals"), "linked");
}

/// Counts read as a seller would write them: "1 open order still needs", "1 dataset".
#[test]
fn one_of_a_thing_is_said_in_the_singular() {
    let home = Home::new();
    assert_eq!(home.run(&["sandbox", "reset", "--open-orders", "1"]).0, 0);
    let (_, out, _) = home.run(&["status"]);
    assert!(out.contains("1 open order still needs fulfilment"), "{out}");
    assert_eq!(home.run(&["export", "--out", "one", "--datasets", "orders"]).0, 0);
    let (code, _, err) = home.run(&["verify", "one"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("in 1 dataset,"), "{err}");
}
