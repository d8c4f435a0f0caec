//! What stands between the shop and a safe disconnect: unsettled money, withdrawals still
//! processing, orders that still need the seller and listings customers can buy (SPEC §9).
//!
//! Amounts are summed as exact decimals ([`Decimal`]), never floats. The API sends money either as
//! a decimal string or as `{value|amount, currency}`; both are read.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use super::api::{self, PAGE_SIZE, scope};
use super::client::{Call, Client};
use super::datasets::{one, search_total};
use crate::error::{Error, Result};
use crate::platform::{Decimal, Money, Readiness};

/// Order statuses that still need the seller (reference, "Order statuses that still need the seller").
pub const OPEN_ORDER_STATUSES: [&str; 4] =
    ["AWAITING_SHIPMENT", "AWAITING_COLLECTION", "PARTIALLY_SHIPPING", "ON_HOLD"];
/// Return statuses still being worked out between buyer and seller.
pub const OPEN_RETURN_STATUSES: [&str; 4] =
    ["RETURN_OR_REFUND_REQUEST_PENDING", "AWAITING_BUYER_SHIP", "BUYER_SHIPPED_ITEM", "REJECT_RECEIVE_PACKAGE"];
/// Cancellation statuses still waiting for a decision.
pub const OPEN_CANCEL_STATUSES: [&str; 1] = ["CANCELLATION_REQUEST_PENDING"];
/// How far back to look for withdrawals still processing (they settle within days).
const WITHDRAWAL_LOOKBACK_DAYS: i64 = 90;
/// ISO 4217 "no currency", for an amount the API sent without one.
const NO_CURRENCY: &str = "XXX";

/// Reads the shop's readiness; the four parts are asked for concurrently.
pub async fn read(client: &Client, cipher: &str) -> Result<Readiness> {
    let (pending_funds, processing_withdrawals, open_orders, active_listings, open_returns) = tokio::try_join!(
        unsettled(client, cipher),
        processing_withdrawals(client, cipher),
        open_orders(client, cipher),
        search_total(client, api::PRODUCTS, scope::PRODUCT, cipher, one("status", "ACTIVATE")),
        open_returns(client, cipher),
    )?;
    Ok(Readiness {
        pending_funds,
        processing_withdrawals,
        open_orders,
        active_listings,
        open_returns,
        pending_commissions: Vec::new(),
    })
}

async fn open_orders(client: &Client, cipher: &str) -> Result<u64> {
    let mut total = 0;
    for status in OPEN_ORDER_STATUSES {
        total += search_total(client, api::ORDERS, scope::ORDER, cipher, one("order_status", status)).await?;
    }
    Ok(total)
}

/// Returns and cancellations still in progress (they count as open orders, SPEC §6). An app
/// without the Return and Refund scope cannot see them: that is logged and counted as none, so
/// the rest of the readiness still works.
async fn open_returns(client: &Client, cipher: &str) -> Result<u64> {
    let returns =
        in_progress(client, cipher, api::RETURNS, "return_orders", json!({ "return_status": OPEN_RETURN_STATUSES }));
    let cancels = in_progress(
        client,
        cipher,
        api::CANCELLATIONS,
        "cancellations",
        json!({ "cancel_status": OPEN_CANCEL_STATUSES }),
    );
    let (returns, cancels) = tokio::try_join!(returns, cancels)?;
    Ok(returns + cancels)
}

async fn in_progress(client: &Client, cipher: &str, path: &'static str, key: &str, body: Value) -> Result<u64> {
    let call = Call::with_body(Method::POST, path, scope::RETURN_REFUND, &body).shop(cipher).query("page_size", 1);
    match client.call(&call).await {
        Ok(reply) => {
            let page = api::list_page(&call.endpoint(), &reply.data, key)?;
            Ok(page.total.unwrap_or(page.records.len() as u64))
        }
        Err(e) if e.detail("code").and_then(Value::as_i64) == Some(105005) => {
            tracing::warn!("{path}: the app lacks the Return and Refund scope; open returns are not counted");
            Ok(0)
        }
        Err(e) => Err(e),
    }
}

/// A money value as the API sends it: `"12.50"`, `{"value": "12.50", "currency": "USD"}` or
/// `{"amount": ..., "currency": ...}`; the currency is `None` when not given.
pub fn money(v: &Value) -> Option<(Decimal, Option<String>)> {
    match v {
        Value::String(s) => s.trim().parse().ok().map(|d| (d, None)),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string().parse().ok().map(|d| (d, None)),
        Value::Object(o) => {
            let (amount, _) = money(o.get("value").or_else(|| o.get("amount"))?)?;
            Some((amount, o.get("currency").and_then(Value::as_str).map(str::to_owned)))
        }
        _ => None,
    }
}

fn bad_amount(endpoint: &str, v: &Value) -> Error {
    Error::platform(format!("TikTok {endpoint} sent an amount this tool cannot read exactly: {v}"))
        .with_detail("endpoint", endpoint.to_owned())
}

/// The unsettled sum: `sum_est_settlement_amount` when the API sends it, else the sum of the
/// transactions' `est_settlement_amount` over every page.
async fn unsettled(client: &Client, cipher: &str) -> Result<Option<Money>> {
    let base = Call::get(api::UNSETTLED, api::UNSETTLED, scope::FINANCE).shop(cipher).query("page_size", PAGE_SIZE);
    let endpoint = base.endpoint();
    let mut token: Option<String> = None;
    let mut sum = Decimal::ZERO;
    let mut currency: Option<String> = None;
    loop {
        let call = match &token {
            Some(t) => base.clone().query("page_token", t),
            None => base.clone(),
        };
        let reply = client.call(&call).await?;
        let data_currency: Option<String> = api::field(&endpoint, &reply.data, "currency")?;
        currency = currency.or(data_currency);
        let transactions: Vec<Value> = api::field(&endpoint, &reply.data, "transactions")?.unwrap_or_default();
        if token.is_none()
            && let Some(v) = api::field::<Value>(&endpoint, &reply.data, "sum_est_settlement_amount")?
        {
            let (amount, c) = money(&v).ok_or_else(|| bad_amount(&endpoint, &v))?;
            let c = c.or(currency).or_else(|| first_currency(&transactions));
            // Nothing unsettled is no pending funds, not "0 XXX".
            return Ok((!amount.is_zero()).then(|| Money::new(amount, c.unwrap_or_else(|| NO_CURRENCY.into()))));
        }
        for t in &transactions {
            let Some(v) = t.get("est_settlement_amount") else { continue };
            let (amount, c) = money(v).ok_or_else(|| bad_amount(&endpoint, v))?;
            sum = sum.plus(amount);
            currency = currency.or(c).or_else(|| t.get("currency").and_then(Value::as_str).map(str::to_owned));
        }
        let next: Option<String> = api::field(&endpoint, &reply.data, "next_page_token")?;
        match next.filter(|t| !t.is_empty() && !transactions.is_empty()) {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    Ok((!sum.is_zero()).then(|| Money::new(sum, currency.unwrap_or_else(|| NO_CURRENCY.into()))))
}

fn first_currency(transactions: &[Value]) -> Option<String> {
    transactions.iter().find_map(|t| {
        t.get("currency")
            .and_then(Value::as_str)
            .or_else(|| t.get("est_settlement_amount")?.get("currency")?.as_str())
            .map(str::to_owned)
    })
}

/// Withdrawals of the last [`WITHDRAWAL_LOOKBACK_DAYS`] whose status is still `PROCESSING`.
async fn processing_withdrawals(client: &Client, cipher: &str) -> Result<u64> {
    let since = (Utc::now() - Duration::days(WITHDRAWAL_LOOKBACK_DAYS)).timestamp();
    let base = Call::get(api::WITHDRAWALS, api::WITHDRAWALS, scope::FINANCE)
        .shop(cipher)
        .query("page_size", PAGE_SIZE)
        .query("types", "WITHDRAW")
        .query("create_time_ge", since);
    let endpoint = base.endpoint();
    let mut token: Option<String> = None;
    let mut count = 0;
    loop {
        let call = match &token {
            Some(t) => base.clone().query("page_token", t),
            None => base.clone(),
        };
        let reply = client.call(&call).await?;
        let rows: Vec<Value> = api::field(&endpoint, &reply.data, "withdrawals")?.unwrap_or_default();
        count += rows.iter().filter(|w| w.get("status").and_then(Value::as_str) == Some("PROCESSING")).count() as u64;
        let next: Option<String> = api::field(&endpoint, &reply.data, "next_page_token")?;
        match next.filter(|t| !t.is_empty() && !rows.is_empty()) {
            Some(t) => token = Some(t),
            None => return Ok(count),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn money_in_every_shape_the_api_uses() {
        let (d, c) = money(&json!("12.50")).unwrap();
        assert_eq!((d.to_string(), c), ("12.50".into(), None));
        let (d, c) = money(&json!({"value": "0.10", "currency": "GBP"})).unwrap();
        assert_eq!((d.to_string(), c.as_deref()), ("0.10".into(), Some("GBP")));
        let (d, _) = money(&json!({"amount": "-3.07", "currency": "USD"})).unwrap();
        assert_eq!(d.to_string(), "-3.07");
        assert!(money(&json!(1.5)).is_none(), "floats are refused");
        assert!(money(&json!(null)).is_none());
    }
}
