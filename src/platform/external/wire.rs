//! The protocol's JSON shapes (docs/plugin-protocol.md §3, §4) and their conversion to the model.
//!
//! Kept apart from the model on purpose: the model's types serve `status --json` and may grow
//! fields a plugin never sends, while these are the contract with programs written elsewhere,
//! read leniently (unknown fields ignored, optional ones defaulted) and checked on the way in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::platform::{
    Commission, DatasetSpec, Decimal, KindSpec, Link, LinkSource, Money, Page, RawRecord, Readiness, Shop,
};

/// The protocol versions this host speaks.
pub const PROTOCOL_VERSIONS: [u32; 1] = [1];

/// The `initialize` result.
#[derive(Debug, Clone, Deserialize)]
pub struct Hello {
    /// The version the plugin chose.
    pub protocol_version: u32,
    /// Its `NAME`; must match the executable's.
    pub name: String,
    /// The plugin's own version, for `platform check`.
    #[serde(default)]
    pub version: Option<String>,
    /// What sellers call the platform.
    pub display_name: String,
    /// One line about it.
    #[serde(default)]
    pub about: Option<String>,
    /// Optional features.
    #[serde(default)]
    pub capabilities: Capabilities,
    /// Its link kinds and their rules.
    #[serde(default)]
    pub link_kinds: Vec<KindSpec>,
    /// Its datasets, in export order.
    pub datasets: Vec<DatasetSpec>,
    /// The settings it reads.
    #[serde(default)]
    pub settings: Vec<PluginSetting>,
    /// The credential fields it needs; `None`: none.
    #[serde(default)]
    pub credentials: Option<serde_json::Value>,
}

/// Optional features a plugin announces in `initialize`; all off unless announced.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Capabilities {
    /// It issues its own second-factor codes.
    pub challenge: bool,
    /// It answers `changed_since`.
    pub changed_since: bool,
    /// It answers `owner_confirmed`.
    pub owner_confirmed: bool,
    /// It is a simulation and answers `simulated_code`.
    pub simulated: bool,
}

/// A setting a plugin declares.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PluginSetting {
    /// The config key.
    #[serde(default)]
    pub key: Option<String>,
    /// The environment variable.
    #[serde(default)]
    pub env: Option<String>,
    /// What it does.
    #[serde(default)]
    pub help: String,
}

/// A shop as a plugin sends it.
#[derive(Debug, Deserialize)]
pub struct WireShop {
    id: String,
    name: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    links: Vec<Link>,
    #[serde(default)]
    data_changed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    notes: Vec<String>,
}

/// The `shops` result.
#[derive(Debug, Deserialize)]
pub struct ShopsResult {
    /// The shops.
    pub shops: Vec<WireShop>,
}

impl WireShop {
    /// The model's shop; the plugin addresses shops by id, so the id is also the handle.
    pub fn into_shop(self) -> Shop {
        let links = self.links.into_iter().map(|l| Link { source: LinkSource::Platform, ..l }).collect();
        Shop {
            handle: self.id.clone(),
            id: self.id,
            name: self.name,
            region: self.region,
            links,
            data_changed_at: self.data_changed_at,
            notes: self.notes,
        }
    }
}

/// Money as the protocol sends it: a string decimal and a currency.
#[derive(Debug, Deserialize)]
pub struct WireMoney {
    amount: String,
    currency: String,
}

impl WireMoney {
    fn into_money(self) -> Result<Money, String> {
        let amount: Decimal = self.amount.parse()?;
        Ok(Money::new(amount, self.currency))
    }
}

/// The `readiness` result.
#[derive(Debug, Deserialize)]
pub struct WireReadiness {
    #[serde(default)]
    pending_funds: Option<WireMoney>,
    #[serde(default)]
    processing_withdrawals: u64,
    #[serde(default)]
    open_orders: u64,
    #[serde(default)]
    open_returns: u64,
    #[serde(default)]
    active_listings: u64,
    #[serde(default)]
    pending_commissions: Vec<WireCommission>,
}

#[derive(Debug, Deserialize)]
struct WireCommission {
    link_id: String,
    amount: WireMoney,
}

impl WireReadiness {
    /// The model's readiness; a malformed amount is an error, never a zero.
    pub fn into_readiness(self) -> Result<Readiness, String> {
        let pending_commissions = self
            .pending_commissions
            .into_iter()
            .map(|c| Ok(Commission { link_id: c.link_id, amount: c.amount.into_money()? }))
            .collect::<Result<_, String>>()?;
        Ok(Readiness {
            pending_funds: self.pending_funds.map(WireMoney::into_money).transpose()?,
            processing_withdrawals: self.processing_withdrawals,
            open_orders: self.open_orders,
            open_returns: self.open_returns,
            active_listings: self.active_listings,
            pending_commissions,
        })
    }
}

/// The `page` result, records still as the plugin's text.
#[derive(Debug, Deserialize)]
pub struct WirePage<'a> {
    #[serde(borrow)]
    records: Vec<&'a RawValue>,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    total: Option<u64>,
}

impl WirePage<'_> {
    /// The model's page. Each record keeps the bytes the plugin wrote (SPEC §8); only objects are
    /// records.
    pub fn into_page(self) -> Result<Page, String> {
        let mut records = Vec::with_capacity(self.records.len());
        for (i, raw) in self.records.into_iter().enumerate() {
            if !raw.get().starts_with('{') {
                return Err(format!("record {i} of the page is not a JSON object"));
            }
            records.push(RawRecord::from_raw(raw));
        }
        Ok(Page { records, next: self.next, total: self.total })
    }
}

/// The `answer_challenge` result.
#[derive(Debug, Deserialize)]
pub struct AnswerResult {
    /// The code was right.
    pub accepted: bool,
    /// The grant id when accepted.
    #[serde(default)]
    pub grant: Option<String>,
    /// Tries left when not.
    #[serde(default)]
    pub remaining: Option<u32>,
}

/// The `disconnect` result.
#[derive(Debug, Deserialize)]
pub struct DisconnectResult {
    /// Steps done.
    #[serde(default)]
    pub performed: Vec<String>,
    /// Steps left to the owner.
    #[serde(default)]
    pub manual_steps: Vec<String>,
    /// The platform's request ids.
    #[serde(default)]
    pub request_ids: Vec<String>,
}

/// The `manual_steps` result.
#[derive(Debug, Deserialize)]
pub struct StepsResult {
    /// The steps.
    pub steps: Vec<String>,
}

/// The `changed_since` result.
#[derive(Debug, Deserialize)]
pub struct ChangedResult {
    /// Whether anything changed; `None`: cannot tell.
    pub changed: Option<bool>,
}

/// The `simulated_code` result.
#[derive(Debug, Deserialize)]
pub struct CodeResult {
    /// The code.
    pub code: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_keeps_each_record_byte_for_byte() {
        let line = r#"{"records":[{"b": 1,"a":"Zoë"},{"x":[1, 2]}],"next":"c2","total":7}"#;
        let page = serde_json::from_str::<WirePage>(line).unwrap().into_page().unwrap();
        let texts: Vec<_> = page.records.iter().map(RawRecord::as_str).collect();
        assert_eq!(texts, [r#"{"b": 1,"a":"Zoë"}"#, r#"{"x":[1, 2]}"#]);
        assert_eq!((page.next.as_deref(), page.total), (Some("c2"), Some(7)));
    }

    #[test]
    fn a_record_that_is_not_an_object_is_refused() {
        let page = serde_json::from_str::<WirePage>(r#"{"records":[1],"next":null}"#).unwrap();
        assert!(page.into_page().is_err());
    }

    #[test]
    fn money_must_be_a_string_decimal() {
        let ok: WireReadiness =
            serde_json::from_str(r#"{"pending_funds":{"amount":"12.50","currency":"USD"},"open_orders":2}"#).unwrap();
        let r = ok.into_readiness().unwrap();
        assert_eq!(r.pending_funds.map(|m| m.to_string()), Some("12.50 USD".into()));
        let bad: WireReadiness =
            serde_json::from_str(r#"{"pending_funds":{"amount":"twelve","currency":"USD"}}"#).unwrap();
        assert!(bad.into_readiness().is_err());
        assert!(
            serde_json::from_str::<WireReadiness>(r#"{"pending_funds":{"amount":12.5,"currency":"USD"}}"#).is_err()
        );
    }
}
