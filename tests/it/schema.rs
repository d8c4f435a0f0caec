//! The JSON Schemas in `docs/schema/`: generated from the types (a test fails when the committed
//! files drift from them; `SHOPUNLINK_BLESS=1 cargo test --test it schema` rewrites them), valid
//! draft 2020-12 schemas, and satisfied by what the real binary prints and writes on the sandbox.
//!
//! The published schemas accept unknown properties (fields are only ever added, SPEC §5). Here
//! every output is also checked against a closed copy of its schema, so a field the binary prints
//! but no type declares (a hand-built document, a drifted one) fails the test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use shopunlink::schema;

use crate::common::{Home, run_cmd, run_with_stdin};

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(schema::DIR)
}

/// The files `docs/schema/` must hold, by name, with their exact text.
fn expected_files() -> BTreeMap<String, String> {
    let docs = schema::documents();
    let mut files: BTreeMap<String, String> = docs.iter().map(|d| (d.file_name(), d.to_file_text())).collect();
    assert_eq!(files.len(), docs.len(), "two documents share a name");
    files.insert("README.md".into(), schema::readme(&docs));
    files
}

#[test]
fn schema_files_match_the_types() {
    let dir = schema_dir();
    let expected = expected_files();
    if std::env::var_os("SHOPUNLINK_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !expected.contains_key(&name) {
                std::fs::remove_file(&path).unwrap();
            }
        }
        for (name, text) in &expected {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }
    let mut problems = Vec::new();
    for (name, text) in &expected {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(committed) if committed == *text => {}
            Ok(_) => problems.push(format!("{name} differs from what the types generate")),
            Err(_) => problems.push(format!("{name} is missing")),
        }
    }
    for entry in std::fs::read_dir(&dir).into_iter().flatten() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !expected.contains_key(&name) {
            problems.push(format!("{name} describes no document"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} is out of date:\n  {}\nrun `SHOPUNLINK_BLESS=1 cargo test --test it schema` and commit docs/schema/",
        schema::DIR,
        problems.join("\n  ")
    );
}

#[test]
fn every_schema_is_a_valid_draft_2020_12_schema() {
    for doc in schema::documents() {
        let value = doc.schema.as_value();
        assert_eq!(value["$schema"], "https://json-schema.org/draft/2020-12/schema", "{}", doc.name);
        assert_eq!(value["$id"], format!("{}{}.json", schema::BASE_URL, doc.name));
        if let Err(e) = jsonschema::meta::validate(value) {
            panic!("{}: not a valid JSON Schema: {e}", doc.name);
        }
    }
}

/// Closes every object schema that lists its properties: `unevaluatedProperties: false` (which,
/// unlike `additionalProperties`, sees the properties of `allOf`/`anyOf` branches and of `$ref`s).
/// Objects that are open by design (a link's platform `details`, an error's details) say
/// `additionalProperties` already and are left open.
fn closed(schema: &Value) -> Value {
    let mut out = schema.clone();
    close(&mut out);
    out
}

fn close(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else { return };
    if obj.contains_key("properties")
        && !obj.contains_key("additionalProperties")
        && !obj.contains_key("unevaluatedProperties")
    {
        obj.insert("unevaluatedProperties".into(), false.into());
    }
    for key in ["properties", "$defs"] {
        if let Some(map) = obj.get_mut(key).and_then(Value::as_object_mut) {
            map.values_mut().for_each(close);
        }
    }
    for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
        if let Some(list) = obj.get_mut(key).and_then(Value::as_array_mut) {
            list.iter_mut().for_each(close);
        }
    }
    for key in ["items", "additionalProperties", "not", "if", "then", "else"] {
        if let Some(sub) = obj.get_mut(key) {
            close(sub);
        }
    }
}

/// The schemas, as published and closed, and which documents a test has checked. They are built
/// from the types, which [`schema_files_match_the_types`] holds equal to the committed files, so
/// these tests do not depend on the order tests run in while `SHOPUNLINK_BLESS=1` rewrites them.
struct Schemas {
    published: BTreeMap<String, jsonschema::Validator>,
    closed: BTreeMap<String, jsonschema::Validator>,
    checked: BTreeSet<String>,
}

impl Schemas {
    fn load() -> Schemas {
        let (mut published, mut closed_ones) = (BTreeMap::new(), BTreeMap::new());
        for doc in schema::documents() {
            let value = doc.schema.as_value();
            let build = |v: &Value| {
                jsonschema::draft202012::options()
                    .should_validate_formats(true)
                    .build(v)
                    .unwrap_or_else(|e| panic!("{}: {e}", doc.name))
            };
            published.insert(doc.name.to_owned(), build(value));
            closed_ones.insert(doc.name.to_owned(), build(&closed(value)));
        }
        Schemas { published, closed: closed_ones, checked: BTreeSet::new() }
    }

    /// Fails unless `doc` satisfies the closed schema `name` (and so the published one).
    fn check(&mut self, name: &str, doc: &Value) {
        let validator = self.closed.get(name).unwrap_or_else(|| panic!("no schema {name}"));
        let errors: Vec<String> =
            validator.iter_errors(doc).map(|e| format!("at {}: {e}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{name} does not describe this document:\n  {}\n{doc:#}", errors.join("\n  "));
        assert!(self.published[name].is_valid(doc), "{name}: valid when closed but not as published");
        self.checked.insert(name.to_owned());
    }

    /// Runs `shopunlink ARGS --json` expecting exit `code` and checks stdout against `name`.
    fn run(&mut self, home: &Home, args: &[&str], code: i32, name: &str) -> Value {
        let doc = home.json(args, code);
        self.check(name, &doc);
        doc
    }

    /// Runs `shopunlink ARGS --json` expecting the failure `code`: stdout must be an error document,
    /// and what stands beside `error` must be the command's own document `name`.
    fn failing(&mut self, home: &Home, args: &[&str], code: i32, name: &str) -> Value {
        let doc = self.run(home, args, code, "error");
        let mut own = doc.clone();
        own.as_object_mut().unwrap().remove("error");
        self.check(name, &own);
        doc
    }

    /// Checks the JSON file at `path` against `name`.
    fn file(&mut self, path: &Path, name: &str) -> Value {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        self.check(name, &doc);
        doc
    }
}

fn sandbox_code(home: &Home) -> String {
    let (code, out, err) = home.run(&["sandbox", "code"]);
    assert_eq!(code, 0, "{err}");
    out.trim().to_owned()
}

/// `doctor --json` (with no keyring, so the result does not depend on the machine).
fn doctor(home: &Home, code: i32) -> Value {
    let mut cmd = home.cmd(&["doctor", "--json"]);
    cmd.env("SHOPUNLINK_KEYRING", "none");
    let (got, out, err) = run_cmd(cmd);
    assert_eq!(got, code, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// Status, export, verify (passing and failing) and their all-shops forms, with the files written.
fn exports(s: &mut Schemas, home: &Home) {
    s.run(home, &["status"], 0, "status");
    s.run(home, &["status", "--all-shops"], 0, "status");
    let doc = s.run(home, &["export", "--out", "exp", "--format", "both"], 0, "export");
    assert!(doc["datasets"][0]["csv"].is_object(), "the CSV fields are exercised: {doc}");
    s.file(&home.join("exp/manifest.json"), "manifest");
    s.run(home, &["verify", "exp"], 0, "verify");
    s.run(home, &["export", "--all-shops", "--out", "all", "--no-media"], 0, "export-all-shops");
    s.file(&home.join("all/index.json"), "index");
    s.run(home, &["verify", "--all-shops", "all"], 0, "verify-all-shops");

    // A damaged export: exit 8 with the error document, the verify report beside it.
    let orders = home.join("exp/orders.ndjson");
    let pristine = std::fs::read(&orders).unwrap();
    std::fs::write(&orders, &pristine[pristine.iter().position(|&b| b == b'\n').unwrap() + 1..]).unwrap();
    let doc = s.failing(home, &["verify", "exp"], 8, "verify");
    assert_eq!((&doc["ok"], &doc["error"]["kind"]), (&json!(false), &json!("verification")), "{doc}");
    std::fs::write(&orders, &pristine).unwrap();
    s.run(home, &["verify", "exp"], 0, "verify");
    let doc = s.run(home, &["status", "--shop", "Demo Crafts Co."], 0, "status");
    assert_eq!(doc["shops"][0]["readiness"]["last_export"]["verified"], true, "{doc}");
}

/// Every way a disconnect ends, the receipts and audit log it leaves, and the declared links.
fn disconnects(s: &mut Schemas, home: &Home) {
    let doc = s.run(home, &["disconnect", "@democrafts.deals", "--dry-run", "--allow-pending-funds"], 0, "disconnect");
    assert_eq!(doc["outcome"], "dry_run");
    let doc = s.failing(home, &["disconnect", "@democrafts", "--dry-run"], 5, "disconnect");
    assert_eq!(doc["outcome"], "dry_run", "a blocked dry run keeps its receipt beside the error: {doc}");
    // No code under --no-input: exit 2 naming --otp, once the sandbox has sent one.
    s.run(home, &["disconnect", "@democrafts.deals", "--yes", "--allow-pending-funds"], 2, "error");
    let doc = s.run(home, &["sandbox", "code"], 0, "sandbox-code");
    let otp = doc["code"].as_str().unwrap().to_owned();
    let args = ["disconnect", "@democrafts.deals", "--yes", "--allow-pending-funds", "--otp", &otp];
    let doc = s.run(home, &args, 0, "disconnect");
    assert_eq!(doc["outcome"], "disconnected");
    s.check("receipt", &doc);
    let doc = s.run(home, &["disconnect", "@democrafts.deals"], 0, "disconnect");
    assert_eq!(doc["outcome"], "already_disconnected");
    // A wrong code ends the command (exit 4) and the audit log records the stop.
    assert_eq!(home.run(&["disconnect", "inventory-sync-pro", "--yes"]).0, 2);
    let right: u32 = sandbox_code(home).parse().unwrap();
    let wrong = format!("{:06}", (right + 1) % 1_000_000);
    s.run(home, &["disconnect", "inventory-sync-pro", "--yes", "--otp", &wrong], 4, "error");
    // Only the platform's support can cut this one: the receipt holds the request to send.
    let doc = s.run(home, &["disconnect", "@brightside.agency", "--yes", "--allow-pending-funds"], 0, "disconnect");
    assert!(doc["support_request"].is_string(), "{doc}");

    // A declared link the owner cuts; once forgotten, a rerun has only the audit log's record.
    let add = ["links", "add", "service_partner", "GrowFast Agency", "--linked-since", "2025-02-01"];
    s.run(home, &add, 0, "links-add");
    s.run(home, &["links", "list"], 0, "links-list");
    assert_eq!(home.run(&["disconnect", "GrowFast Agency", "--yes"]).0, 2);
    let otp = sandbox_code(home);
    let doc = s.run(home, &["disconnect", "GrowFast Agency", "--yes", "--otp", &otp, "--owner-done"], 0, "disconnect");
    assert_eq!(doc["confirmed_by"], "owner", "{doc}");
    s.run(home, &["links", "remove", "GrowFast Agency"], 0, "links-remove");
    let doc = s.run(home, &["disconnect", "GrowFast Agency"], 0, "disconnect");
    assert!(doc["recorded_at"].is_string(), "the audit log's record, not a receipt: {doc}");

    let list = s.run(home, &["receipts", "list"], 0, "receipts-list");
    assert!(list["receipts"].as_array().unwrap().len() >= 3, "{list}");
    s.run(home, &["receipts", "show", "@democrafts.deals"], 0, "receipt");
    s.run(home, &["receipts", "show", "nothing-like-it"], 7, "error");
    let mut files = 0;
    for entry in std::fs::read_dir(home.join("state/receipts")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "json") {
            s.file(&path, "receipt");
            files += 1;
        }
    }
    assert!(files >= 3, "{files} receipts");
    let log = std::fs::read_to_string(home.join("state/audit.log")).unwrap();
    let events: BTreeSet<String> = log
        .lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line).unwrap();
            s.check("audit-event", &event);
            event["event"].as_str().unwrap().to_owned()
        })
        .collect();
    let kinds = ["attempt", "executed", "done", "failed", "support_request"];
    for kind in kinds.map(|k| format!("disconnect.{k}")) {
        assert!(events.contains(&kind), "{kind} not in {events:?}");
    }
}

/// Doctor, auth, platform and sandbox commands, and a usage error.
fn the_rest(s: &mut Schemas, home: &Home) {
    let doc = doctor(home, 1);
    let failures = doc["failures"].as_array().unwrap();
    assert!(!failures.is_empty(), "the wrong code is a recent failure: {doc}");
    s.check("error", &doc);
    let mut own = doc.clone();
    own.as_object_mut().unwrap().remove("error");
    s.check("doctor", &own);
    for (args, name) in [
        (&["auth", "status"][..], "auth-status"),
        (&["auth", "login"], "auth-login"),
        (&["auth", "totp", "enroll", "--insecure-storage"], "auth-totp-enroll"),
        (&["auth", "totp", "remove"], "auth-totp-remove"),
        (&["auth", "logout"], "auth-logout"),
        (&["platform", "check", "sandbox"], "platform-check"),
        (&["sandbox", "show"], "sandbox-show"),
        (&["sandbox", "reset", "--seed", "7"], "sandbox-show"),
    ] {
        s.run(home, args, 0, name);
    }
    // A plugin on PATH: its row has a path, not a description.
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/platforms");
    let path = std::env::join_paths(
        std::iter::once(plugins).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    let mut cmd = home.cmd(&["platform", "list", "--json"]);
    cmd.env("PATH", path);
    let (code, out, err) = run_cmd(cmd);
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert!(doc["platforms"].as_array().unwrap().iter().any(|p| p["builtin"] == false), "{doc}");
    s.check("platform-list", &doc);
    let doc = s.run(home, &["status", "--bogus"], 2, "error");
    assert_eq!(doc["error"]["exit_code"], 2);
}

/// `auth login` that stores tokens (against the local stand-in for TikTok's token endpoint).
async fn stored_login(s: &mut Schemas) {
    let server = crate::token_server::start().await;
    let home = Home::new();
    let args = ["auth", "login", "--with-token", "--insecure-storage", "--json"];
    let cmd = crate::token_server::tiktok_cmd(&home, &server, &args);
    let (code, out, err) = run_with_stdin(cmd, crate::token_server::AUTH_CODE);
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["source"], "file", "{doc}");
    s.check("auth-login", &doc);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_document_the_binary_prints_or_writes_matches_its_schema() {
    let mut s = Schemas::load();
    let home = Home::new();
    exports(&mut s, &home);
    s.check("doctor", &doctor(&home, 0));
    disconnects(&mut s, &home);
    the_rest(&mut s, &home);
    stored_login(&mut s).await;
    let all: BTreeSet<String> = schema::documents().iter().map(|d| d.name.to_owned()).collect();
    let unchecked: Vec<_> = all.difference(&s.checked).collect();
    assert!(unchecked.is_empty(), "no real output was checked against {unchecked:?}");
}

#[test]
fn a_document_of_the_wrong_shape_is_refused() {
    let mut s = Schemas::load();
    let home = Home::new();
    let good = s.run(&home, &["status"], 0, "status");
    let refused = |doc: &Value| !s.published["status"].is_valid(doc);

    let mut wrong_type = good.clone();
    wrong_type["shops"][0]["readiness"]["open_orders"] = json!("14");
    assert!(refused(&wrong_type), "a count as a string");
    let mut float_money = good.clone();
    float_money["shops"][0]["readiness"]["pending_funds"]["amount"] = json!(5317.52);
    assert!(refused(&float_money), "money as a float");
    let mut bad_state = good.clone();
    bad_state["shops"][0]["links"][0]["state"] = json!("half_linked");
    assert!(refused(&bad_state), "a link state that does not exist");
    let mut missing = good.clone();
    missing["shops"][0].as_object_mut().unwrap().remove("links");
    assert!(refused(&missing), "a required field left out");
    let mut next_version = good.clone();
    next_version["schema_version"] = json!(2);
    assert!(refused(&next_version), "another schema_version");

    // Fields are only ever added: the published schema accepts one it does not know; the closed
    // copy this suite checks the binary with does not.
    let mut added = good;
    added["shops"][0]["links"][0]["added_later"] = json!(true);
    assert!(s.published["status"].is_valid(&added));
    assert!(!s.closed["status"].is_valid(&added));
}
