//! Affiliate creators, through the Affiliate Seller API (`reference/tiktok-shop-links.md`).
//!
//! Each creator in one of the shop's collaborations is an `affiliate_creator` link the tool can
//! cut itself (`disconnect: api`): removed from an open collaboration, or the target collaboration
//! ended. One link per creator and collaboration, so a disconnect cuts exactly that tie. The
//! commission still owed to each comes from the affiliate orders. The API is scope-gated: an app
//! without the Affiliate Seller scope still lists everything else, and says why creators are
//! missing.

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::api;
use super::client::{Call, Client};
use crate::error::{Error, Result};
use crate::platform::{
    Commission, Decimal, DisconnectMode, DisconnectOutcome, Link, LinkKind, LinkSource, LinkState, Money, Shop,
};

/// Open collaborations of the shop.
pub const OPEN_COLLABORATIONS: &str = "/affiliate_seller/202412/open_collaborations/search";
/// The creators promoting one product of an open collaboration.
pub const CREATOR_CONTENT: &str = "/affiliate_seller/202508/open_collaborations/creator_content_details";
/// Target (invitation) collaborations.
pub const TARGET_COLLABORATIONS: &str = "/affiliate_seller/202508/target_collaborations/search";
/// One target collaboration with its creators (the path carries the id).
pub const TARGET_COLLABORATION: &str = "/affiliate_seller/202508/target_collaborations/{id}";
/// Removes a creator from an open collaboration (the path carries the id).
pub const REMOVE_CREATOR: &str = "/affiliate_seller/202508/open_collaborations/{id}/remove_creator";
/// Ends a target collaboration (the path carries the id).
pub const END_TARGET: &str = "/affiliate_seller/202409/target_collaborations/{id}";
/// Affiliate orders, with each SKU's commission.
pub const ORDERS: &str = "/affiliate_seller/202410/orders/search";
/// The scope package, as Partner Center names it.
pub const SCOPE: &str = "Affiliate Seller (seller.affiliate_collaboration.read / .write)";
/// What a shop without the scope shows instead of its creators.
pub const NO_SCOPE: &str = "affiliate creators cannot be listed: the app lacks the Affiliate Seller scope \
                            (seller.affiliate_collaboration.read); add it in Partner Center and authorize again";

/// The most pages one listing may take: a guard against a server that never ends a list.
const MAX_PAGES: usize = 10_000;

fn escaped(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

/// Every record under `key` of a paged listing; `make` builds the call for a page token.
async fn all(client: &Client, key: &str, make: impl Fn(Option<&str>) -> Call) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let call = make(token.as_deref());
        let reply = client.call(&call).await?;
        let page = api::list_page(&call.endpoint(), &reply.data, key)?;
        for r in &page.records {
            out.push(
                serde_json::from_str(r.as_str()).map_err(|e| Error::platform("unreadable record").with_source(e))?,
            );
        }
        match page.next {
            Some(next) if !page.records.is_empty() && token.as_deref() != Some(next.as_str()) => token = Some(next),
            _ => return Ok(out),
        }
    }
    Err(Error::platform(format!("TikTok {key} listing did not end after {MAX_PAGES} pages")))
}

fn paged(call: Call, token: Option<&str>) -> Call {
    let call = call.query("page_size", api::PAGE_SIZE);
    match token {
        Some(t) => call.query("page_token", t),
        None => call,
    }
}

fn text(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn creator_link(id: String, username: &str, nickname: &str, what: String, details: Map<String, Value>) -> Link {
    Link {
        id,
        kind: LinkKind::AFFILIATE_CREATOR,
        handle: format!("@{}", username.trim_start_matches('@')),
        display_name: if nickname.is_empty() { what } else { format!("{nickname} — {what}") },
        state: LinkState::Linked,
        linked_since: None,
        disconnect: DisconnectMode::Api,
        details,
        source: LinkSource::Platform,
    }
}

/// The creators of every open collaboration (one link per creator and collaboration).
async fn open_creators(client: &Client, cipher: &str) -> Result<Vec<Link>> {
    let body = json!({});
    let collabs = all(client, "open_collaborations", |t| {
        paged(Call::with_body(Method::POST, OPEN_COLLABORATIONS, SCOPE, &body).shop(cipher), t)
    })
    .await?;
    let mut links = Vec::new();
    for c in collabs {
        let (collab, product) = (text(&c, "id"), text(&c["product"], "id"));
        let title = text(&c["product"], "title");
        let creators = all(client, "creator_content_details", |t| {
            let call = Call::get(CREATOR_CONTENT, CREATOR_CONTENT, SCOPE).shop(cipher).query("product_id", &product);
            paged(call, t)
        })
        .await?;
        for cc in creators {
            let p = &cc["creator_profile"];
            let open_id = text(p, "creator_open_id");
            let mut details = Map::new();
            details.insert("collaboration".into(), "open".into());
            details.insert("collaboration_id".into(), collab.clone().into());
            details.insert("product_id".into(), product.clone().into());
            details.insert("creator_open_id".into(), open_id.clone().into());
            let what = format!("open collaboration on {title}");
            links.push(creator_link(
                format!("aff-open-{collab}-{open_id}"),
                &text(p, "username"),
                &text(p, "nickname"),
                what,
                details,
            ));
        }
    }
    Ok(links)
}

/// The creators of every target collaboration.
async fn target_creators(client: &Client, cipher: &str) -> Result<Vec<Link>> {
    let body = json!({});
    let collabs = all(client, "target_collaborations", |t| {
        paged(Call::with_body(Method::POST, TARGET_COLLABORATIONS, SCOPE, &body).shop(cipher), t)
    })
    .await?;
    let mut links = Vec::new();
    for c in collabs {
        let id = text(&c, "id");
        let path = TARGET_COLLABORATION.replace("{id}", &escaped(&id));
        let call = Call::get(TARGET_COLLABORATION, path, SCOPE).shop(cipher);
        let reply = client.call(&call).await?;
        let detail: Value = api::field(&call.endpoint(), &reply.data, "target_collaboration")?.unwrap_or_default();
        let name = text(&detail, "name");
        for cr in detail["creators"].as_array().into_iter().flatten() {
            let username = text(cr, "username");
            let mut details = Map::new();
            details.insert("collaboration".into(), "target".into());
            details.insert("collaboration_id".into(), id.clone().into());
            details.insert("collaboration_status".into(), cr["collaboration_status"].clone());
            let what = format!("target collaboration {name}");
            let link_id = format!("aff-target-{id}-{}", username.to_lowercase());
            links.push(creator_link(link_id, &username, &text(cr, "nickname"), what, details));
        }
    }
    Ok(links)
}

/// The shop's affiliate creators, or why they cannot be listed (a missing scope is a note, not
/// an error: the rest of the shop still works).
pub async fn creators(client: &Client, cipher: &str) -> Result<std::result::Result<Vec<Link>, String>> {
    // Side by side: each is a chain of round trips, and `status` waits for both.
    let listed = async {
        let (open, target) = tokio::try_join!(open_creators(client, cipher), target_creators(client, cipher))?;
        Ok::<_, Error>([open, target].concat())
    };
    match listed.await {
        Ok(links) => Ok(Ok(links)),
        Err(e) if e.detail("code").and_then(Value::as_i64) == Some(105005) => {
            tracing::info!("{NO_SCOPE}");
            Ok(Err(NO_SCOPE.to_owned()))
        }
        Err(e) => Err(e),
    }
}

/// Commission not yet paid, per creator link: each affiliate order SKU whose commission has not
/// been paid counts its estimated commission toward the creator's link in that collaboration.
pub async fn pending_commissions(client: &Client, shop: &Shop) -> Result<Vec<Commission>> {
    let creators: Vec<&Link> = shop.links.iter().filter(|l| l.kind == LinkKind::AFFILIATE_CREATOR).collect();
    if creators.is_empty() {
        return Ok(Vec::new());
    }
    let body = json!({});
    let orders =
        all(client, "orders", |t| paged(Call::with_body(Method::POST, ORDERS, SCOPE, &body).shop(&shop.handle), t))
            .await?;
    let mut owed: Vec<Commission> = Vec::new();
    for sku in orders.iter().flat_map(|o| o["skus"].as_array().into_iter().flatten()) {
        if sku["actual_paid_commission"]["amount"].as_str().is_some_and(|a| !a.is_empty()) {
            continue;
        }
        let Some(link) = creators.iter().find(|l| owes(l, sku)) else { continue };
        let est = &sku["estimated_paid_commission"];
        let (Some(amount), Some(currency)) = (est["amount"].as_str(), est["currency"].as_str()) else { continue };
        let Ok(amount) = amount.parse::<Decimal>() else { continue };
        match owed.iter_mut().find(|c| c.link_id == link.id && c.amount.currency == currency) {
            Some(c) => c.amount = Money::new(c.amount.amount.plus(amount), currency),
            None => owed.push(Commission { link_id: link.id.clone(), amount: Money::new(amount, currency) }),
        }
    }
    Ok(owed)
}

/// True when `sku`'s commission goes to `link`'s creator in `link`'s collaboration.
fn owes(link: &Link, sku: &Value) -> bool {
    let same_creator = link.handle.trim_start_matches('@').eq_ignore_ascii_case(&text(sku, "creator_username"));
    let collab = link.details.get("collaboration_id").and_then(Value::as_str).unwrap_or_default();
    let key = match link.details.get("collaboration").and_then(Value::as_str) {
        Some("open") => "open_collaboration_id",
        _ => "target_collaboration_id",
    };
    same_creator && text(sku, key) == collab
}

/// Cuts one creator link: removes the creator from the open collaboration, or ends the target
/// collaboration. TikTok answers success for a creator already removed, so a rerun is safe.
pub async fn disconnect(client: &Client, shop: &Shop, link: &Link) -> Result<DisconnectOutcome> {
    let detail = |k: &str| link.details.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let collab = detail("collaboration_id");
    let (call, done) = match detail("collaboration").as_str() {
        "open" => {
            let path = REMOVE_CREATOR.replace("{id}", &escaped(&collab));
            let body = json!({"creator_user_open_id": detail("creator_open_id"), "product_id": detail("product_id")});
            let mut call = Call::with_body(Method::POST, REMOVE_CREATOR, SCOPE, &body).shop(&shop.handle);
            call.path = path;
            (call, format!("removed {} from open collaboration {collab}", link.handle))
        }
        _ => {
            let mut call =
                Call::get(END_TARGET, END_TARGET.replace("{id}", &escaped(&collab)), SCOPE).shop(&shop.handle);
            call.method = Method::DELETE;
            (call, format!("ended target collaboration {collab} with {}", link.handle))
        }
    };
    let reply = client.call(&call).await?;
    Ok(DisconnectOutcome { performed: vec![done], manual_steps: Vec::new(), request_ids: vec![reply.request_id] })
}
