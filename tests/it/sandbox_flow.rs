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
    let blockers: Vec<_> = readiness["blockers"].as_array().unwrap().iter().map(|b| b["code"].as_str().unwrap()).collect();
    assert!(blockers.contains(&"no_export") && blockers.contains(&"pending_funds"), "{blockers:?}");
}
