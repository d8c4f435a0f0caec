//! The platform-neutral model every command works with (SPEC §5).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::money::Money;

/// What kind of account or app is linked to a shop: a name from SPEC §5 (`official_account`,
/// `affiliate_creator`, ...) or one a platform adds. Kinds are data, not a closed enum, so a new
/// platform (or a plugin) brings its own; what a kind means for a disconnect is in its
/// [`KindSpec`], which the platform describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkKind(&'static str);

impl LinkKind {
    /// The TikTok account that is the shop's face.
    pub const OFFICIAL_ACCOUNT: LinkKind = LinkKind("official_account");
    /// An extra account allowed to sell the shop's products.
    pub const MARKETING_ACCOUNT: LinkKind = LinkKind("marketing_account");
    /// A creator who sells the shop's products for commission.
    pub const AFFILIATE_CREATOR: LinkKind = LinkKind("affiliate_creator");
    /// An app authorised to call the API for the shop.
    pub const APP_AUTHORIZATION: LinkKind = LinkKind("app_authorization");
    /// A service partner (agency, TSP) authorised on the shop.
    pub const SERVICE_PARTNER: LinkKind = LinkKind("service_partner");
    /// A multi-channel network managing the shop's creators.
    pub const MCN: LinkKind = LinkKind("mcn");

    /// The kind called `name` (interned, so kinds stay `Copy` and compare cheaply).
    pub fn new(name: &str) -> LinkKind {
        LinkKind(intern(name))
    }

    /// The snake_case name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for LinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for LinkKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for LinkKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(d)?;
        check_name(&name).map_err(serde::de::Error::custom)?;
        Ok(LinkKind::new(&name))
    }
}

/// A kind is any name a platform defines (more may be added), so the schema says what a name looks
/// like and lists the kinds of SPEC §5 rather than closing the set.
impl JsonSchema for LinkKind {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "LinkKind".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": NAME_PATTERN,
            "description": "What is linked: official_account, marketing_account, affiliate_creator, \
                app_authorization, service_partner, mcn, or a kind a platform adds.",
            "examples": ["official_account", "affiliate_creator"],
        })
    }
}

/// Interns a kind or dataset name. Names come from platforms (a handful each) and from files the
/// tool wrote itself, so the set stays tiny; interning keeps [`LinkKind`] and [`Dataset`] `Copy`.
fn intern(name: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// What [`check_name`] accepts, as a JSON Schema pattern.
pub const NAME_PATTERN: &str = "^[a-z][a-z0-9_]{0,63}$";

/// A kind or dataset name: a short snake_case word, so it can name files and never a path.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.starts_with(|c: char| c.is_ascii_lowercase());
    if ok { Ok(()) } else { Err(format!("{name:?} is not a valid name (lowercase letters, digits and _)")) }
}

/// How the platform lets a link go (SPEC §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisconnectMode {
    /// The tool does it through the API.
    Api,
    /// Only the owner can, in the platform's own UI; the tool guides and waits.
    Guided,
    /// Only the platform's support can; the tool writes the request.
    Support,
}

impl DisconnectMode {
    /// The snake_case name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectMode::Api => "api",
            DisconnectMode::Guided => "guided",
            DisconnectMode::Support => "support",
        }
    }
}

/// Whether a link is currently in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Linked and working.
    Linked,
    /// The tool did its part; the owner still has to unlink it in the platform's own UI.
    AwaitingOwner,
    /// Gone.
    Unlinked,
}

impl LinkState {
    /// The snake_case name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Linked => "linked",
            LinkState::AwaitingOwner => "awaiting_owner",
            LinkState::Unlinked => "unlinked",
        }
    }
}

/// One account or app linked to a shop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Link {
    /// Stable id on the platform.
    pub id: String,
    /// What is linked.
    pub kind: LinkKind,
    /// The handle users know it by (`@democrafts`), or an app's slug.
    pub handle: String,
    /// A human name.
    pub display_name: String,
    /// Linked or not.
    pub state: LinkState,
    /// When the link was made, if the platform says.
    pub linked_since: Option<DateTime<Utc>>,
    /// How it can be undone.
    pub disconnect: DisconnectMode,
    /// Platform-specific facts shown in status (scopes, webhooks, pending commission...).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub details: serde_json::Map<String, serde_json::Value>,
    /// Who reported the link: the platform, or the seller (`shopunlink links add`).
    #[serde(default)]
    pub source: LinkSource,
}

/// Where a link's existence comes from (SPEC §5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkSource {
    /// The platform listed it.
    #[default]
    Platform,
    /// The seller declared it: no API exposes it.
    Declared,
}

impl Link {
    /// True when `query` names this link: its id, or its handle with or without `@`, any case.
    pub fn matches(&self, query: &str) -> bool {
        self.id == query || bare_handle(&self.handle) == bare_handle(query)
    }
}

/// A handle without surrounding space or `@`, lowercased: how handles are compared everywhere.
pub fn bare_handle(handle: &str) -> String {
    handle.trim().trim_start_matches('@').to_lowercase()
}

/// A shop and its links.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shop {
    /// Stable id on the platform.
    pub id: String,
    /// The shop's name.
    pub name: String,
    /// Two-letter market code.
    pub region: String,
    /// Everything linked to it.
    pub links: Vec<Link>,
    /// When the shop's exportable data last changed, as far as the platform knows. An export older
    /// than this no longer covers everything (SPEC §6 preflight).
    #[serde(skip)]
    pub data_changed_at: Option<DateTime<Utc>>,
    /// Opaque per-platform data the platform needs to address the shop (e.g. TikTok's cipher).
    #[serde(skip)]
    pub handle: String,
    /// What the platform could not tell about the shop (links it cannot list without a scope).
    #[serde(skip)]
    pub notes: Vec<String>,
}

impl Shop {
    /// True when `query` names this shop: its id or its name, any case.
    pub fn matches(&self, query: &str) -> bool {
        self.id == query || self.name.eq_ignore_ascii_case(query)
    }
}

/// What stands between a shop and a safe disconnect, as the platform reports it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Readiness {
    /// Money earned but not yet paid out (unsettled orders, reserves).
    pub pending_funds: Option<Money>,
    /// Withdrawals the platform is still processing.
    pub processing_withdrawals: u64,
    /// Orders that still need the seller (to ship, to hand over).
    pub open_orders: u64,
    /// Returns, refunds and cancellations still in progress (they count as open orders).
    #[serde(default)]
    pub open_returns: u64,
    /// Listings customers can buy now.
    pub active_listings: u64,
    /// Affiliate commission not yet paid, per affiliate link.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pending_commissions: Vec<Commission>,
}

/// Commission owed to (or through) one affiliate link.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Commission {
    /// The affiliate link.
    pub link_id: String,
    /// How much is not yet paid.
    pub amount: Money,
}

/// One exportable record type (SPEC §8): `orders`, `payments`, ... Like [`LinkKind`], a name the
/// platform defines ([`DatasetSpec`]); it names the dataset's files and its manifest entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dataset(&'static str);

impl Dataset {
    /// The dataset called `name`.
    pub fn new(name: &str) -> Dataset {
        Dataset(intern(name))
    }

    /// The name used on the command line, in file names and in the manifest.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl FromStr for Dataset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        check_name(s)?;
        Ok(Dataset::new(s))
    }
}

impl Serialize for Dataset {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Dataset {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// A half-open time window `[since, until)`; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TimeRange {
    /// Inclusive start.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive end.
    pub until: Option<DateTime<Utc>>,
}

impl TimeRange {
    /// True when `t` falls inside the window.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

/// One record exactly as the platform produced it: a single line of compact JSON text.
///
/// Records are carried as text, never as parsed values, so an export writes back the bytes the
/// platform sent: no field dropped, renamed, reordered or re-formatted (SPEC §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord(String);

impl RawRecord {
    /// Wraps JSON text the platform produced itself (already valid, compact JSON).
    pub fn from_trusted(json: String) -> Self {
        debug_assert!(!json.contains('\n'));
        // Kept as is: shrinking each record to fit would copy it once more for nothing, and a
        // record lives only until its page is written.
        RawRecord(json)
    }

    /// Wraps a record cut out of a response body. JSON allows newlines only as whitespace between
    /// tokens; those (and only those) are removed so that one record stays one NDJSON line.
    pub fn from_raw(raw: &serde_json::value::RawValue) -> Self {
        let text = raw.get();
        if !text.contains(['\n', '\r']) {
            return RawRecord(text.into());
        }
        let mut out = String::with_capacity(text.len());
        let mut in_string = false;
        let mut escaped = false;
        for c in text.chars() {
            if in_string {
                out.push(c);
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_string = false,
                    _ => {}
                }
            } else if c == '"' {
                in_string = true;
                out.push(c);
            } else if c != '\n' && c != '\r' {
                out.push(c);
            }
        }
        RawRecord(out)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One page of records and the cursor to the next page.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Page {
    /// Records in platform order.
    pub records: Vec<RawRecord>,
    /// Opaque cursor for the next page; `None` at the end.
    pub next: Option<String>,
    /// Total records in the dataset (for the given range), when the platform knows it.
    pub total: Option<u64>,
}

impl Page {
    /// True when no page follows: no cursor, or no records (an empty page ends a dataset, so a
    /// platform that keeps handing out cursors cannot loop forever).
    pub fn is_last(&self) -> bool {
        self.next.is_none() || self.records.is_empty()
    }
}

/// What one small request tells about a dataset's records in a time range: enough for the
/// export to cut the range into windows of about equal size and read them side by side (see
/// [`crate::platform::Platform::census`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Census {
    /// Records in the range. A platform that can only say "more than it counts" (a search capped
    /// at 10,000 results) gives a number above its cap: the range is then cut further.
    pub records: u64,
    /// Records one request reads (a full page). A dataset read per parent record (a statement's
    /// transactions) counts its parents and says 1: each costs at least one request.
    pub per_request: u32,
    /// When the range's first record is stamped, when the platform can tell (a listing sorted by
    /// time): it bounds the cutting of a range with an open start.
    pub first: Option<DateTime<Utc>>,
    /// When its last record is stamped, likewise; given when the caller wants the range's ends
    /// and the range is open-ended (a closed shop's last order may be months old, and cutting the
    /// months after it is waste).
    pub last: Option<DateTime<Utc>>,
    /// The range's first page, when it was asked for and the count came with it: exactly what
    /// [`crate::platform::Platform::page`] answers for the range without a cursor, so the reading
    /// of a window starts from it instead of asking again.
    pub page: Option<Page>,
}

/// A second-factor challenge the platform sent to the seller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// Platform id of the challenge.
    pub id: String,
    /// Where the code went, for the prompt ("the seller's phone ending 45").
    pub sent_to: String,
    /// When the code stops working.
    pub expires_at: DateTime<Utc>,
    /// Where the seller can read the code when it is not obvious (a simulated platform names the
    /// command that shows it); shown under the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Proof that the second factor was passed, handed to [`super::Platform::disconnect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// The platform accepted its challenge; the id binds the disconnect to it.
    Challenge(String),
    /// The profile's own TOTP was checked locally.
    LocalTotp,
}

/// What the platform did in [`super::Platform::disconnect`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DisconnectOutcome {
    /// Steps the platform performed, in order, in plain words.
    pub performed: Vec<String>,
    /// Steps only the owner can do in the platform's UI (guided mode).
    pub manual_steps: Vec<String>,
    /// The platform's request ids, for support.
    pub request_ids: Vec<String>,
}
