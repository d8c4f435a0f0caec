//! The shops this app is authorized for, each with one `app_authorization` link, and the guided
//! disconnect of that link.
//!
//! TikTok has no API that revokes an authorization (reference, "Unlinking"). What the tool can do
//! it does: delete the shop's webhook subscriptions, then forget the stored tokens (after the
//! last call that needs them). The seller deauthorizes the app in Seller Center; from then on
//! every call fails with 105001. Because `--wait` polls [`shops`] after the stored tokens are
//! gone, the session keeps its in-memory copy, and once forgotten a 105001 (or no token at all)
//! reads as "no shops": the link is gone.

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::api::{self, AuthorizedShop, Webhook, scope};
use super::client::{Call, Client};
use crate::error::{Error, Result};
use crate::platform::{DisconnectMode, DisconnectOutcome, Link, LinkKind, LinkSource, LinkState, Shop};

/// The token was deauthorized (or is invalid).
const TOKEN_INVALID: i64 = 105001;
/// The app lacks a scope.
const MISSING_SCOPE: i64 = 105005;

fn has_code(e: &Error, code: i64) -> bool {
    e.detail("code").and_then(Value::as_i64) == Some(code)
}

/// Every authorized shop with its app-authorization link.
pub async fn shops(client: &Client) -> Result<Vec<Shop>> {
    listing(client, authorized_shops(client)).await
}

/// Every authorized shop with its app-authorization link alone: no webhooks, no creators (an
/// export needs the shop, and each of those is a round trip more before its first page).
pub async fn shop_list(client: &Client) -> Result<Vec<Shop>> {
    let bare = async {
        let session = client.session();
        let (app_key, scopes) = (session.app_key().await.unwrap_or_default(), session.scopes().await);
        Ok(listed(client).await?.into_iter().map(|s| shop(s, &app_key, &scopes, Value::Null)).collect())
    };
    listing(client, bare).await
}

/// The shops `list` finds, or none once this run's disconnect made the tokens invalid.
async fn listing(client: &Client, list: impl std::future::Future<Output = Result<Vec<Shop>>>) -> Result<Vec<Shop>> {
    let session = client.session();
    if !session.has_credentials().await {
        return if session.is_forgotten() { Ok(Vec::new()) } else { Err(session.missing()) };
    }
    match list.await {
        // Any call of the listing may be the first to see the deauthorization (the seller can act
        // between the shops call and a webhooks call).
        Err(e) if session.is_disconnected() && has_code(&e, TOKEN_INVALID) => {
            tracing::debug!("the forgotten token is now refused (105001): the app is deauthorized");
            Ok(Vec::new())
        }
        other => other,
    }
}

/// The shops the tokens are authorized for, as TikTok lists them.
async fn listed(client: &Client) -> Result<Vec<AuthorizedShop>> {
    let call = Call::get(api::SHOPS, api::SHOPS, scope::AUTHORIZATION);
    let reply = client.call(&call).await?;
    Ok(api::field(&call.endpoint(), &reply.data, "shops")?.unwrap_or_default())
}

/// The listed shops with their links, looked up for all shops side by side (each shop's
/// webhooks and collaborations are several round trips, and a seller may have many shops).
async fn authorized_shops(client: &Client) -> Result<Vec<Shop>> {
    let session = client.session();
    let listed = listed(client).await?;
    let app_key = session.app_key().await.unwrap_or_default();
    let scopes = session.scopes().await;
    let shops = listed.into_iter().map(|s| with_links(client, s, &app_key, &scopes));
    futures_util::future::try_join_all(shops).await
}

/// One shop with its app authorization (and its webhooks) and its affiliate creators.
async fn with_links(client: &Client, s: AuthorizedShop, app_key: &str, scopes: &[String]) -> Result<Shop> {
    let webhooks = async {
        match webhooks(client, &s.cipher).await {
            Ok((hooks, _)) => Ok(summary(&hooks)),
            Err(e) if has_code(&e, MISSING_SCOPE) => {
                tracing::warn!("cannot list the webhooks of shop {}: {e}", s.id);
                Ok(Value::Null)
            }
            Err(e) => Err(e),
        }
    };
    let (webhooks, creators) = tokio::try_join!(webhooks, super::affiliates::creators(client, &s.cipher))?;
    let mut shop = shop(s, app_key, scopes, webhooks);
    match creators {
        Ok(creators) => shop.links.extend(creators),
        Err(note) => shop.notes.push(note),
    }
    Ok(shop)
}

fn shop(s: AuthorizedShop, app_key: &str, scopes: &[String], webhooks: Value) -> Shop {
    let mut details = Map::new();
    details.insert("app_key".into(), app_key.into());
    // Scopes are known only from a login through the token endpoint; credentials from the
    // environment carry none, and an empty list would wrongly read as "nothing granted".
    details.insert("scopes".into(), if scopes.is_empty() { Value::Null } else { json!(scopes) });
    details.insert("webhooks".into(), webhooks);
    if let Some(code) = &s.code {
        details.insert("shop_code".into(), code.clone().into());
    }
    if let Some(t) = &s.seller_type {
        details.insert("seller_type".into(), t.clone().into());
    }
    let link = Link {
        id: format!("tiktok-app-{app_key}-{}", s.id),
        kind: LinkKind::APP_AUTHORIZATION,
        handle: format!("app-{app_key}"),
        display_name: format!("TikTok Shop app {app_key}"),
        state: LinkState::Linked,
        linked_since: None,
        disconnect: DisconnectMode::Guided,
        details,
        source: LinkSource::Platform,
    };
    Shop {
        id: s.id,
        name: s.name,
        region: s.region,
        links: vec![link],
        data_changed_at: None,
        handle: s.cipher,
        notes: Vec::new(),
    }
}

/// The shop's webhook subscriptions and the request id of the listing.
pub async fn webhooks(client: &Client, cipher: &str) -> Result<(Vec<Webhook>, String)> {
    let call = Call::get(api::WEBHOOKS, api::WEBHOOKS, scope::WEBHOOK).shop(cipher);
    let reply = client.call(&call).await?;
    let hooks = api::field(&call.endpoint(), &reply.data, "webhooks")?.unwrap_or_default();
    Ok((hooks, reply.request_id))
}

/// What status (and so the receipt, which copies the link) shows of the subscriptions.
fn summary(hooks: &[Webhook]) -> Value {
    hooks.iter().map(|h| json!({ "event_type": h.event_type, "address_host": host_of(&h.address) })).collect()
}

/// Only the host of a webhook address goes into receipts: the path or query may carry a secret.
fn host_of(address: &str) -> String {
    url::Url::parse(address).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_else(|| "?".into())
}

/// Deletes every webhook subscription, then forgets the tokens; safe to run again.
pub async fn disconnect(client: &Client, shop: &Shop, link: &Link) -> Result<DisconnectOutcome> {
    let mut performed = Vec::new();
    let mut request_ids = Vec::new();
    match webhooks(client, &shop.handle).await {
        Ok((hooks, listing_id)) => {
            request_ids.push(listing_id);
            if hooks.is_empty() {
                performed.push(format!("{} had no webhook subscriptions to delete", shop.name));
            }
            for hook in hooks {
                let body = json!({ "event_type": hook.event_type });
                let call = Call::with_body(Method::DELETE, api::WEBHOOKS, scope::WEBHOOK, &body).shop(&shop.handle);
                let reply = client.call(&call).await?;
                request_ids.push(reply.request_id);
                performed.push(format!(
                    "deleted the {} webhook subscription (to {})",
                    hook.event_type,
                    host_of(&hook.address)
                ));
            }
        }
        Err(e) if has_code(&e, TOKEN_INVALID) => {
            performed.push("TikTok already refuses the token (105001): the app is deauthorized".into());
        }
        Err(e) => return Err(e),
    }
    performed.push(forget_unless_shared(client, shop).await?);
    Ok(DisconnectOutcome { performed, manual_steps: manual_steps(shop, link), request_ids })
}

/// Forgets the stored tokens after the last call that needs them (SPEC §9), unless they are also
/// authorized for other shops of the seller: forgetting them then would cut those shops off,
/// exports included. Returns what was done, for the receipt.
async fn forget_unless_shared(client: &Client, shop: &Shop) -> Result<String> {
    let others: Vec<String> = match listed(client).await {
        Ok(shops) => shops.into_iter().filter(|s| s.id != shop.id).map(|s| format!("{} ({})", s.name, s.id)).collect(),
        Err(e) if has_code(&e, TOKEN_INVALID) => Vec::new(),
        Err(e) => return Err(e),
    };
    let session = client.session();
    if others.is_empty() {
        return Ok(session.forget());
    }
    session.mark_disconnected();
    Ok(format!(
        "kept the stored TikTok tokens: they are also authorized for {}; `shopunlink auth logout --platform tiktok` \
         removes them once those shops are done with",
        others.join(", ")
    ))
}

/// The Seller Center steps only the shop owner can take.
pub fn manual_steps(shop: &Shop, link: &Link) -> Vec<String> {
    let app_key = link.details.get("app_key").and_then(Value::as_str).unwrap_or("?");
    vec![
        format!(
            "Sign in to TikTok Shop Seller Center as the owner of {} (shop id {}, {}).",
            shop.name, shop.id, shop.region
        ),
        "Open App Store (Services) → My apps.".into(),
        format!("Open the app authorized with app key {app_key} ({}).", link.display_name),
        "Click Deauthorize (or Remove) and confirm.".into(),
        // Not "rerun shopunlink": by now the tool has forgotten the tokens it would check with.
        format!(
            "Once My apps no longer lists app key {app_key}, the authorization is gone \
             (with --wait, shopunlink watches for this and completes the receipt)."
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_host_of_a_webhook_address_is_kept() {
        assert_eq!(host_of("https://hooks.example.com/x?token=secret"), "hooks.example.com");
        assert_eq!(host_of("not a url"), "?");
    }

    #[test]
    fn links_are_guided_app_authorizations_with_scopes_and_webhooks() {
        let s = AuthorizedShop {
            id: "7001".into(),
            name: "Luna".into(),
            region: "GB".into(),
            seller_type: Some("LOCAL".into()),
            cipher: "GCP_x".into(),
            code: Some("GBLCX".into()),
        };
        let shop = shop(s, "k1", &["seller.order.info".into()], json!([{"event_type": "ORDER_STATUS_CHANGE"}]));
        assert_eq!(shop.handle, "GCP_x");
        let link = &shop.links[0];
        assert_eq!((link.kind, link.disconnect), (LinkKind::APP_AUTHORIZATION, DisconnectMode::Guided));
        assert!(link.matches("@app-k1") && link.matches(&link.id));
        assert_eq!(link.details["scopes"], json!(["seller.order.info"]));
        let steps = manual_steps(&shop, link);
        assert!(steps.iter().any(|s| s.contains("App Store (Services) → My apps")));
        assert!(steps.iter().any(|s| s.contains("Deauthorize (or Remove)")));
    }
}
