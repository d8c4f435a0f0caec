//! The Open API endpoints this platform uses, their scope packages, and the small parsers of
//! their `data` objects. Records are cut out of `data` as raw JSON text ([`RawValue`]) and never
//! re-serialised, so an export holds exactly the bytes the API sent (SPEC §8).

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::platform::RawRecord;

/// Authorized shops of the app.
pub const SHOPS: &str = "/authorization/202309/shops";
/// Webhook subscriptions of a shop (GET lists, DELETE removes one).
pub const WEBHOOKS: &str = "/event/202309/webhooks";
/// Order search.
pub const ORDERS: &str = "/order/202309/orders/search";
/// Product search (the 202502 version).
pub const PRODUCTS: &str = "/product/202502/products/search";
/// One product in full (the path carries the id).
pub const PRODUCT_DETAIL: &str = "/product/202309/products/{product_id}";
/// Settlement statements.
pub const STATEMENTS: &str = "/finance/202309/statements";
/// The transactions of one statement (the API name; the path carries the statement id).
pub const STATEMENT_TRANSACTIONS: &str = "/finance/202501/statements/{statement_id}/statement_transactions";
/// Payouts.
pub const PAYMENTS: &str = "/finance/202309/payments";
/// Withdrawals, settlements, transfers and reversals.
pub const WITHDRAWALS: &str = "/finance/202309/withdrawals";
/// Return and refund requests.
pub const RETURNS: &str = "/return_refund/202309/returns/search";
/// Cancellation requests.
pub const CANCELLATIONS: &str = "/return_refund/202309/cancellations/search";
/// Unsettled order transactions.
pub const UNSETTLED: &str = "/finance/202507/orders/unsettled";

/// Scope packages as Partner Center names them (the 105005 hint names the one missing).
pub mod scope {
    /// `/authorization/...`.
    pub const AUTHORIZATION: &str = "Shop Authorized Information";
    /// `/event/...`.
    pub const WEBHOOK: &str = "Webhook";
    /// `/order/...`.
    pub const ORDER: &str = "Order Information";
    /// `/product/...`.
    pub const PRODUCT: &str = "Product Basic";
    /// `/finance/...`.
    pub const FINANCE: &str = "Finance Information";
    /// `/return_refund/...`.
    pub const RETURN_REFUND: &str = "Return and Refund";
}

/// Records per page (the API's maximum).
pub const PAGE_SIZE: u32 = 100;

/// The path of one statement's transactions.
pub fn statement_transactions_path(statement_id: &str) -> String {
    let id: String = url::form_urlencoded::byte_serialize(statement_id.as_bytes()).collect();
    format!("/finance/202501/statements/{id}/statement_transactions")
}

/// One page of a list endpoint: the records under `key`, the next token and the total.
#[derive(Debug, Default)]
pub struct ListPage {
    /// Records as sent.
    pub records: Vec<RawRecord>,
    /// The next page token; `None` when empty or missing (end of the list).
    pub next: Option<String>,
    /// `total_count`, when the API sends it.
    pub total: Option<u64>,
}

fn unreadable(endpoint: &str, what: impl std::fmt::Display) -> Error {
    Error::platform(format!("TikTok {endpoint} answered data this tool cannot read"))
        .with_cause(what)
        .with_detail("endpoint", endpoint.to_owned())
}

/// The top-level fields of `data`, each still raw.
fn fields<'a>(endpoint: &str, data: &'a RawValue) -> Result<HashMap<String, &'a RawValue>> {
    if data.get() == "null" {
        return Ok(HashMap::new());
    }
    serde_json::from_str(data.get()).map_err(|e| unreadable(endpoint, e))
}

/// Parses a list page whose records sit under `key`.
///
/// A page without `key` at all (a renamed field, a proxy's page that happens to be JSON) is an
/// error naming the endpoint, never an empty list: taking it for the end would make a silently
/// empty export that verifies. An explicit `null` or `[]` is an empty page.
pub fn list_page(endpoint: &str, data: &RawValue, key: &str) -> Result<ListPage> {
    let fields = fields(endpoint, data)?;
    let records: Vec<&RawValue> = match fields.get(key) {
        Some(raw) if raw.get() != "null" => serde_json::from_str(raw.get()).map_err(|e| unreadable(endpoint, e))?,
        Some(_) => Vec::new(),
        None => {
            return Err(unreadable(endpoint, format!("its data has no \"{key}\" list"))
                .with_hint("the API changed, or something in between answered for it; nothing was taken as the end"));
        }
    };
    let next = match fields.get("next_page_token") {
        Some(raw) => serde_json::from_str::<Option<String>>(raw.get()).map_err(|e| unreadable(endpoint, e))?,
        None => None,
    };
    let total = match fields.get("total_count") {
        Some(raw) => serde_json::from_str::<Option<u64>>(raw.get()).map_err(|e| unreadable(endpoint, e))?,
        None => None,
    };
    Ok(ListPage {
        records: records.into_iter().map(RawRecord::from_raw).collect(),
        next: next.filter(|t| !t.is_empty()),
        total,
    })
}

/// Parses a field of `data` into `T` (for the small, typed answers: shops, webhooks, sums).
pub fn field<T: for<'de> Deserialize<'de>>(endpoint: &str, data: &RawValue, key: &str) -> Result<Option<T>> {
    let fields = fields(endpoint, data)?;
    match fields.get(key) {
        Some(raw) if raw.get() != "null" => {
            serde_json::from_str(raw.get()).map(Some).map_err(|e| unreadable(endpoint, e))
        }
        _ => Ok(None),
    }
}

/// An authorized shop, as `/authorization/202309/shops` lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthorizedShop {
    /// Shop id.
    pub id: String,
    /// Shop name.
    #[serde(default)]
    pub name: String,
    /// Market.
    #[serde(default)]
    pub region: String,
    /// `CROSS_BORDER` or `LOCAL`.
    #[serde(default)]
    pub seller_type: Option<String>,
    /// What shop-scoped calls pass as `shop_cipher`.
    pub cipher: String,
    /// The shop code sellers see.
    #[serde(default)]
    pub code: Option<String>,
}

/// One webhook subscription.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct Webhook {
    /// The event it delivers.
    pub event_type: String,
    /// Where it delivers to.
    #[serde(default)]
    pub address: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_pages_keep_records_byte_for_byte() {
        let data = RawValue::from_string(
            r#"{"orders":[{"id":"1", "amount":"1.10","x":1.0e2},{"id":"2","nested":{"a":[1, 2]}}],"next_page_token":"a+b/c=","total_count":7}"#.into(),
        )
        .unwrap();
        let page = list_page("POST /x", &data, "orders").unwrap();
        let texts: Vec<_> = page.records.iter().map(|r| r.as_str()).collect();
        assert_eq!(texts, [r#"{"id":"1", "amount":"1.10","x":1.0e2}"#, r#"{"id":"2","nested":{"a":[1, 2]}}"#]);
        assert_eq!(page.next.as_deref(), Some("a+b/c="));
        assert_eq!(page.total, Some(7));
    }

    #[test]
    fn an_empty_token_ends_the_list() {
        let data = RawValue::from_string(r#"{"orders":[],"next_page_token":""}"#.into()).unwrap();
        let page = list_page("POST /x", &data, "orders").unwrap();
        assert!(page.next.is_none() && page.records.is_empty() && page.total.is_none());
        let explicit_null = RawValue::from_string(r#"{"orders":null}"#.into()).unwrap();
        assert!(list_page("POST /x", &explicit_null, "orders").unwrap().records.is_empty());
    }

    #[test]
    fn a_page_without_its_records_key_is_an_error_naming_the_endpoint() {
        for data in [r#"{"total_count":5,"next_page_token":""}"#, "null", "{}"] {
            let data = RawValue::from_string(data.into()).unwrap();
            let e = list_page("POST /order/202309/orders/search", &data, "orders").unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Platform);
            assert!(e.to_string().contains("POST /order/202309/orders/search") && e.to_string().contains("orders"));
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_data_never_panics(text in ".{0,256}") {
            if let Ok(raw) = RawValue::from_string(text) {
                let _ = list_page("GET /x", &raw, "orders");
                let _ = field::<Vec<Webhook>>("GET /x", &raw, "webhooks");
            }
        }

        #[test]
        fn arbitrary_envelopes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = serde_json::from_slice::<super::super::client::Envelope>(&bytes);
        }
    }

    #[test]
    fn statement_ids_are_escaped_in_paths() {
        assert_eq!(statement_transactions_path("123"), "/finance/202501/statements/123/statement_transactions");
        assert_eq!(statement_transactions_path("a/b"), "/finance/202501/statements/a%2Fb/statement_transactions");
    }
}
