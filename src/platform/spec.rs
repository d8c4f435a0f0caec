//! What a platform says about itself, as data: its link kinds and their rules, its datasets and
//! their CSV tables, its settings and credentials. Generic code (`unlink/`, `export/`, `doctor/`,
//! the commands) decides everything from these descriptions, so it never names a platform, and a
//! plugin can send the same descriptions over its protocol.

use chrono::{DateTime, Duration, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::{Dataset, DisconnectMode, Link, LinkKind, Shop};

/// What one kind of link means on a platform, and the platform's rules for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindSpec {
    /// The kind.
    pub kind: LinkKind,
    /// What sellers call it ("official TikTok account").
    pub label: String,
    /// Cutting it moves money (the shop's payouts, a creator's commission): pending funds,
    /// processing withdrawals and commission owed block it (`--allow-pending-funds` overrides).
    #[serde(default)]
    pub moves_money: bool,
    /// Cutting it moves buyers (the shop's storefront): open orders, returns and cancellations
    /// still in progress block it, with no override.
    #[serde(default)]
    pub moves_buyers: bool,
    /// A suspected breach may cut it at once: `--emergency` skips the export check (never the
    /// second factor).
    #[serde(default)]
    pub emergency: bool,
    /// How a declared link of this kind is cut; `None`: the seller cannot declare this kind
    /// (the platform lists it itself).
    #[serde(default)]
    pub declarable: Option<DisconnectMode>,
    /// The platform allows at most this many per shop (`links add` refuses one more).
    #[serde(default)]
    pub max_per_shop: Option<u32>,
    /// The platform refuses an unlink until this many hours after linking.
    #[serde(default)]
    pub min_link_age_hours: Option<u32>,
    /// Where the owner cuts it in the platform's own UI.
    #[serde(default)]
    pub where_to_unlink: Option<String>,
    /// The platform's limits, shown as warnings in the plan ("you cannot relink ... more than").
    #[serde(default)]
    pub limits: Vec<String>,
    /// What stops working afterwards; `{handle}`, `{name}` and `{shop}` are filled in.
    #[serde(default)]
    pub consequences: Vec<String>,
}

impl KindSpec {
    /// A kind with no rules: nothing but a label, for kinds a platform reports but does not
    /// describe (and for plugins that describe none).
    pub fn plain(kind: LinkKind) -> KindSpec {
        KindSpec {
            kind,
            label: kind.as_str().replace('_', " "),
            moves_money: false,
            moves_buyers: false,
            emergency: false,
            declarable: None,
            max_per_shop: None,
            min_link_age_hours: None,
            where_to_unlink: None,
            limits: Vec::new(),
            consequences: Vec::new(),
        }
    }

    /// The consequences of cutting `link` from `shop`, with the placeholders filled in.
    pub fn consequences_for(&self, shop: &Shop, link: &Link) -> Vec<String> {
        self.consequences.iter().map(|c| fill(c, shop, link)).collect()
    }

    /// When the platform first allows unlinking `link`, if that is still ahead of `now`.
    pub fn unlink_allowed_at(&self, link: &Link, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let hours = self.min_link_age_hours?;
        let at = link.linked_since? + Duration::hours(i64::from(hours));
        (at > now).then_some(at)
    }
}

/// Fills `{handle}`, `{name}` and `{shop}` in a platform's wording.
pub fn fill(template: &str, shop: &Shop, link: &Link) -> String {
    template.replace("{handle}", &link.handle).replace("{name}", &link.display_name).replace("{shop}", &shop.name)
}

/// The description of `kind` among `specs`, or a plain one.
pub fn kind_spec(specs: &[KindSpec], kind: LinkKind) -> KindSpec {
    specs.iter().find(|s| s.kind == kind).cloned().unwrap_or_else(|| KindSpec::plain(kind))
}

/// One dataset a platform exports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSpec {
    /// Its name (files, manifest, `--datasets`).
    pub name: Dataset,
    /// What it holds, in a few words.
    #[serde(default)]
    pub description: String,
    /// Its CSV tables, the main one first; none: no CSV for this dataset.
    #[serde(default)]
    pub csv: Vec<CsvTable>,
    /// Where its records name pictures to keep (`main_images.*.urls.*`: `*` is every element of
    /// an array); the export downloads each once into `media/`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<String>,
    /// The top-level field holding each record's time (Unix seconds), for the summary's first
    /// and last date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_field: Option<String>,
    /// The money the summary totals per currency.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub money: Vec<MoneyField>,
}

/// A money amount in a record and its currency, as dotted paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyField {
    /// What the sum is called ("paid by buyers").
    pub label: String,
    /// The amount's path (`payment.total_amount`), a decimal string.
    pub amount: String,
    /// The currency's path (`payment.currency`).
    pub currency: String,
}

impl MoneyField {
    /// A money field.
    pub fn new(label: &str, amount: &str, currency: &str) -> MoneyField {
        MoneyField { label: label.into(), amount: amount.into(), currency: currency.into() }
    }
}

/// One CSV file of a dataset: a documented flattening of its records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvTable {
    /// File name suffix: `orders.csv` for `""`, `orders.line_items.csv` for `"line_items"`.
    #[serde(default)]
    pub suffix: String,
    /// For child tables: the array in each record whose elements are the rows.
    #[serde(default)]
    pub rows_from: Option<String>,
    /// Column names, each also the dotted path of its value; `^id` is the parent record's id,
    /// headed [`CsvTable::parent_column`].
    pub columns: Vec<String>,
    /// The header of the `^id` column (`order_id`).
    #[serde(default = "default_parent_column")]
    pub parent_column: String,
}

fn default_parent_column() -> String {
    "parent_id".into()
}

impl CsvTable {
    /// The main table of a dataset, with these columns.
    pub fn main(columns: &[&str]) -> CsvTable {
        CsvTable {
            suffix: String::new(),
            rows_from: None,
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            parent_column: default_parent_column(),
        }
    }

    /// A child table: one row per element of the array `rows_from`, keyed by `parent_column`.
    pub fn child(rows_from: &str, parent_column: &str, columns: &[&str]) -> CsvTable {
        CsvTable {
            suffix: rows_from.to_owned(),
            rows_from: Some(rows_from.to_owned()),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            parent_column: parent_column.to_owned(),
        }
    }
}

/// A setting a platform reads: a `config.toml` key of the profile and the environment variable
/// that overrides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingInfo {
    /// The key in the profile's section of `config.toml`, if it can be set there.
    pub key: Option<&'static str>,
    /// The environment variable, if it can be set there.
    pub env: Option<&'static str>,
    /// What it does (README, man page, `--help`).
    pub help: &'static str,
}

/// One result of a platform's `doctor` checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HealthCheck {
    /// Short stable name (`api_base`, `clock`).
    pub name: String,
    /// Passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// What to do about a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl HealthCheck {
    /// A passed check.
    pub fn pass(name: &str, detail: impl Into<String>) -> HealthCheck {
        HealthCheck { name: name.into(), ok: true, detail: detail.into(), hint: None }
    }

    /// A failed check with what to do.
    pub fn fail(name: &str, detail: impl Into<String>, hint: impl Into<String>) -> HealthCheck {
        HealthCheck { name: name.into(), ok: false, detail: detail.into(), hint: Some(hint.into()) }
    }
}
