//! JSON Schemas of the documents shopunlink prints under `--json` and writes to disk (an export's
//! manifest, the all-shops index, receipts, audit log lines), generated from the types that
//! produce them, so a schema cannot describe a shape the program does not print.
//!
//! `docs/schema/<name>.json` holds one file per document. `tests/it/schema.rs` fails when those
//! files drift from the types (`SHOPUNLINK_BLESS=1 cargo test --test it schema` rewrites them) and
//! validates what the real binary prints and writes against them.
//!
//! The schemas are open: an object may carry properties they do not list, because fields are only
//! ever added (SPEC §5) and a script written against this version must accept the next one's
//! documents. `schema_version` is pinned to 1: a change of shape that is not an addition would
//! raise it.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value, json};

use crate::commands::{all_shops, auth, disconnect, doctor, export, links, platforms, receipts, status, verify};

/// Where the schema files live, relative to the repository.
pub const DIR: &str = "docs/schema";

/// Where the published files can be fetched: their `$id` is `BASE_URL` + `<name>.json`.
pub const BASE_URL: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/raw/main/docs/schema/");

/// One published document: its name (the file `docs/schema/<name>.json`) and its schema.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file's stem: `status` is `docs/schema/status.json`.
    pub name: &'static str,
    /// What prints or writes it; the schema's title.
    pub title: &'static str,
    /// The JSON Schema (draft 2020-12).
    pub schema: Schema,
}

/// How a document reaches its reader, which decides what the program adds to the type's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Printed on stdout under `--json` by the UI, which adds `"tokens_rotated": true` when the run
    /// replaced tokens that came from the environment.
    Printed,
    /// A file, or the error document (printed as is).
    Written,
}

impl Document {
    /// The schema of `T` (how it serialises) as the document `name`.
    pub fn of<T: JsonSchema + ?Sized>(name: &'static str, title: &'static str, channel: Channel) -> Document {
        let mut generated = SchemaSettings::draft2020_12().for_serialize().into_generator().into_root_schema_for::<T>();
        let mut root = std::mem::take(generated.ensure_object());
        pin_schema_version(&mut root);
        if let Some(defs) = root.get_mut("$defs").and_then(Value::as_object_mut) {
            defs.values_mut().filter_map(Value::as_object_mut).for_each(pin_schema_version);
        }
        if channel == Channel::Printed {
            let properties = root.entry("properties").or_insert_with(|| json!({}));
            if let Some(properties) = properties.as_object_mut() {
                properties.insert(
                    "tokens_rotated".into(),
                    json!({
                        "description": "Present (true) when the run replaced the access and refresh tokens that came \
                            from the environment, which cannot be written back: update the CI secrets from \
                            state/credentials/<profile>.rotated-tokens.",
                        "type": "boolean",
                    }),
                );
            }
        }
        // schemars writes `$id`, `$schema` and `title` first whatever the order here.
        root.insert("$id".into(), format!("{BASE_URL}{name}.json").into());
        root.insert("title".into(), title.into());
        Document { name, title, schema: Schema::from(root) }
    }

    /// The file name inside [`DIR`].
    pub fn file_name(&self) -> String {
        format!("{}.json", self.name)
    }

    /// The file's text, exactly as committed: pretty JSON and a final newline.
    pub fn to_file_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.schema).expect("a schema always serialises");
        text.push('\n');
        text
    }
}

/// Every document carries `"schema_version": 1` (SPEC §5): the schema says exactly 1.
fn pin_schema_version(schema: &mut Map<String, Value>) {
    let version = schema.get_mut("properties").and_then(|p| p.get_mut("schema_version")).and_then(Value::as_object_mut);
    if let Some(version) = version {
        version.insert("const".into(), 1.into());
    }
}

/// Every published document, in the order `docs/schema/README.md` lists them.
pub fn documents() -> Vec<Document> {
    use Channel::{Printed, Written};
    let mut docs = vec![
        Document::of::<status::StatusDoc<'_>>("status", "shopunlink status --json", Printed),
        Document::of::<export::ExportDoc<'_>>("export", "shopunlink export --json", Printed),
        Document::of::<crate::export::manifest::Manifest>("manifest", "An export's manifest.json", Written),
        Document::of::<all_shops::AllShopsDoc<'_>>("export-all-shops", "shopunlink export --all-shops --json", Printed),
        Document::of::<all_shops::ShopsIndex>("index", "The index.json of an export --all-shops folder", Written),
        Document::of::<crate::export::verify::Report>("verify", "shopunlink verify --json", Printed),
        Document::of::<verify::AllShopsDoc<'_>>("verify-all-shops", "shopunlink verify --all-shops --json", Printed),
        Document::of::<disconnect::DisconnectDoc<'_>>("disconnect", "shopunlink disconnect --json", Printed),
        Document::of::<crate::unlink::receipt::Receipt>(
            "receipt",
            "A disconnect's receipt (state/receipts/*.json, shopunlink receipts show --json)",
            Printed,
        ),
        Document::of::<receipts::ListDoc>("receipts-list", "shopunlink receipts list --json", Printed),
        Document::of::<crate::unlink::audit::Event>("audit-event", "One line of state/audit.log", Written),
        Document::of::<links::AddDoc<'_>>("links-add", "shopunlink links add --json", Printed),
        Document::of::<links::ListDoc<'_>>("links-list", "shopunlink links list --json", Printed),
        Document::of::<links::RemoveDoc<'_>>("links-remove", "shopunlink links remove --json", Printed),
        Document::of::<doctor::DoctorDoc<'_>>("doctor", "shopunlink doctor --json", Printed),
        Document::of::<auth::StatusDoc>("auth-status", "shopunlink auth status --json", Printed),
        Document::of::<auth::LoginOutput>("auth-login", "shopunlink auth login --json", Printed),
        Document::of::<auth::RemovedDoc>("auth-logout", "shopunlink auth logout --json", Printed),
        Document::of::<auth::EnrollDoc<'_>>("auth-totp-enroll", "shopunlink auth totp enroll --json", Printed),
        Document::of::<auth::RemovedDoc>("auth-totp-remove", "shopunlink auth totp remove --json", Printed),
        Document::of::<platforms::ListDoc>("platform-list", "shopunlink platform list --json", Printed),
        Document::of::<platforms::CheckDoc<'_>>("platform-check", "shopunlink platform check --json", Printed),
    ];
    docs.extend(crate::platform::command_documents());
    docs.push(Document::of::<crate::error::ErrorDoc>("error", "The --json document of a failing command", Written));
    docs
}

/// `docs/schema/README.md`: what each file describes, and the promise the schemas make.
pub fn readme(docs: &[Document]) -> String {
    let mut out = String::from(
        "# JSON Schemas of shopunlink's documents\n\n\
         Generated from the Rust types that print and write these documents (`src/schema.rs`): do not\n\
         edit them by hand. After changing a document's type, regenerate them with\n\
         `SHOPUNLINK_BLESS=1 cargo test --test it schema`; `cargo test` fails while they differ from the\n\
         types, and checks what the real binary prints and writes against them.\n\n\
         Each file is a JSON Schema (draft 2020-12) whose `$id` is where it is published. Every document\n\
         has `\"schema_version\": 1` at the top. Fields are only ever added: a later shopunlink may print\n\
         properties a schema here does not list, so the schemas accept unknown properties, and a script\n\
         should ignore those it does not know. A change that is not an addition raises `schema_version`.\n\n\
         A failing command still prints one document on stdout under `--json`: when the exit code is\n\
         not 0, validate it against `error.json` (a command whose result says what failed, such as\n\
         `verify`, keeps its own fields beside `error`).\n\n\
         | file | document |\n|---|---|\n",
    );
    for doc in docs {
        out.push_str(&format!("| [{0}]({0}) | {1} |\n", doc.file_name(), doc.title));
    }
    out
}
