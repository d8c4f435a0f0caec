//! The six datasets, one page at a time, with cursors an interrupted export can resume from.
//!
//! Most datasets are one list endpoint, and their cursor is the API's own page token. Two are not:
//! - products: one search may return at most 10,000 results (error 12052180), so the time range
//!   is cut into windows small enough to search; the cursor carries the window and the token;
//! - statement transactions are listed per statement; the cursor carries the statements still to
//!   read (ids of the current statements page, and that listing's next token) plus the
//!   transactions token of the statement being read.
//!
//! `--since`/`--until` become each endpoint's own filters (`create_time_ge`/`_lt`,
//! `statement_time_ge`/`_lt`; products take an inclusive `_le`). A page handed to the pipeline is
//! never empty unless the dataset has ended, because the pipeline treats an empty page as the end.

use chrono::Utc;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::api::{self, ListPage, PAGE_SIZE, scope};
use super::client::{Call, Client};
use super::tables::Known;
use crate::error::{Error, Result};
use crate::platform::{Census, CensusRequest, Dataset, Page, RawRecord, TimeRange};

/// The most results one product search may return.
pub const SEARCH_LIMIT: u64 = 10_000;
/// The API's error for a search that would pass [`SEARCH_LIMIT`].
pub const SEARCH_TOO_LARGE: i64 = 12052180;
/// Withdrawal types exported (all four).
pub const WITHDRAWAL_TYPES: &str = "WITHDRAW,SETTLE,TRANSFER,REVERSE";

fn secs(t: Option<chrono::DateTime<Utc>>) -> Option<i64> {
    t.map(|t| t.timestamp())
}

fn bad_cursor(dataset: Dataset, cursor: &str) -> Error {
    Error::usage(format!("the saved {dataset} cursor {cursor:?} is not one this version wrote"))
        .with_hint("rerun the export with --fresh")
}

/// Reads one page of `dataset`.
pub async fn page(
    client: &Client,
    cipher: &str,
    dataset: Dataset,
    range: &TimeRange,
    cursor: Option<&str>,
) -> Result<Page> {
    match Known::of(dataset)? {
        Known::Orders => orders(client, cipher, range, cursor).await,
        Known::Products => products(client, cipher, range, cursor).await,
        Known::Statements => {
            let call = finance_get(api::STATEMENTS, cipher, STATEMENT_TIME, range);
            simple(client, call, "statements", cursor).await
        }
        Known::StatementTransactions => statement_transactions(client, cipher, range, cursor).await,
        Known::Payments => {
            let call = finance_get(api::PAYMENTS, cipher, CREATE_TIME, range);
            simple(client, call, "payments", cursor).await
        }
        Known::Withdrawals => simple(client, withdrawals(cipher, range), "withdrawals", cursor).await,
        Known::Returns => {
            simple(client, aftersales(api::RETURNS, scope::RETURN_REFUND, cipher, range), "return_orders", cursor).await
        }
        Known::Cancellations => {
            simple(client, aftersales(api::CANCELLATIONS, scope::RETURN_REFUND, cipher, range), "cancellations", cursor)
                .await
        }
        Known::AffiliateOrders => {
            let call = aftersales(super::affiliates::ORDERS, super::affiliates::SCOPE, cipher, range);
            simple(client, call, "orders", cursor).await
        }
        Known::ProductDetails => product_details(client, cipher, range, cursor).await,
    }
}

/// A search (returns, cancellations, affiliate orders) of `range` by creation time, oldest first.
fn aftersales(path: &'static str, scope: &'static str, cipher: &str, range: &TimeRange) -> Call {
    let body = search_body(&[
        ("create_time_ge", secs(range.since).map(Value::from)),
        ("create_time_lt", secs(range.until).map(Value::from)),
    ]);
    Call::with_body(Method::POST, path, scope, &body).shop(cipher).query("page_size", PAGE_SIZE)
}

/// Product detail calls in flight at once: enough to fill the API's rate limit at a real round
/// trip (50/s at 100-200 ms), few enough to stay polite; the client's limiter paces them.
const DETAIL_CONCURRENCY: usize = 8;

/// One page of full product records: a page of the product search (same windows and cursor as
/// `products`), then each listing's detail, several at once, in the search's order. A listing
/// that vanished between the search and its detail call is logged and left out, not fatal.
async fn product_details(client: &Client, cipher: &str, range: &TimeRange, cursor: Option<&str>) -> Result<Page> {
    use futures_util::StreamExt;
    let mut cursor = cursor.map(str::to_owned);
    loop {
        let listing = products(client, cipher, range, cursor.as_deref()).await?;
        let ids: Vec<String> = listing
            .records
            .iter()
            .filter_map(|r| serde_json::from_str::<Value>(r.as_str()).ok()?.get("id")?.as_str().map(str::to_owned))
            .collect();
        let details: Vec<Result<Option<RawRecord>>> = futures_util::stream::iter(ids)
            .map(|id| product_detail(client, cipher, id))
            .buffered(DETAIL_CONCURRENCY)
            .collect()
            .await;
        let records: Vec<RawRecord> = details.into_iter().filter_map(Result::transpose).collect::<Result<_>>()?;
        // A page whose every listing vanished must not read as the end of the dataset.
        if records.is_empty() && listing.next.is_some() {
            cursor = listing.next;
            continue;
        }
        // No total: a listing that vanished before its detail call makes the count differ from
        // the search's, and the export must not call that a short list.
        return Ok(Page { records, next: listing.next, total: None });
    }
}

/// The full record of one listing; `None` when the platform no longer has it.
async fn product_detail(client: &Client, cipher: &str, id: String) -> Result<Option<RawRecord>> {
    let path =
        format!("/product/202309/products/{}", url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>());
    let call = Call::get(api::PRODUCT_DETAIL, path, scope::PRODUCT).shop(cipher);
    match client.call(&call).await {
        Ok(reply) => Ok(Some(RawRecord::from_raw(&reply.data))),
        Err(e) if e.kind() == crate::error::ErrorKind::Platform && e.detail("code").is_some() => {
            tracing::warn!("product {id} vanished between the search and its detail call: {e}");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The withdrawals listing of `range`, all four types.
fn withdrawals(cipher: &str, range: &TimeRange) -> Call {
    finance_get(api::WITHDRAWALS, cipher, WITHDRAWAL_TIME, range).query("types", WITHDRAWAL_TYPES)
}

/// How a finance list is sorted and filtered by time (reference, "Endpoints").
struct TimeField {
    /// The required `sort_field`; withdrawals take none.
    sort: Option<&'static str>,
    /// The inclusive lower bound parameter.
    ge: &'static str,
    /// The exclusive upper bound parameter.
    lt: &'static str,
}

const STATEMENT_TIME: TimeField =
    TimeField { sort: Some("statement_time"), ge: "statement_time_ge", lt: "statement_time_lt" };
const CREATE_TIME: TimeField = TimeField { sort: Some("create_time"), ge: "create_time_ge", lt: "create_time_lt" };
const WITHDRAWAL_TIME: TimeField = TimeField { sort: None, ..CREATE_TIME };

/// A paged finance GET with its required sort field and its `_ge`/`_lt` time filters.
fn finance_get(path: &'static str, cipher: &str, time: TimeField, range: &TimeRange) -> Call {
    let mut call = Call::get(path, path, scope::FINANCE).shop(cipher).query("page_size", PAGE_SIZE);
    if let Some(sort) = time.sort {
        call = call.query("sort_field", sort).query("sort_order", "ASC");
    }
    if let Some(s) = secs(range.since) {
        call = call.query(time.ge, s);
    }
    if let Some(u) = secs(range.until) {
        call = call.query(time.lt, u);
    }
    call
}

/// Adds `page_token` when there is one.
fn with_token(call: &Call, token: Option<&str>) -> Call {
    match token {
        Some(t) => call.clone().query("page_token", t),
        None => call.clone(),
    }
}

async fn list(client: &Client, call: &Call, key: &str) -> Result<ListPage> {
    let reply = client.call(call).await?;
    api::list_page(&call.endpoint(), &reply.data, key)
}

/// Datasets whose cursor is the API's page token.
async fn simple(client: &Client, call: Call, key: &str, cursor: Option<&str>) -> Result<Page> {
    let page = list(client, &with_token(&call, cursor), key).await?;
    if let (Some(sent), Some(next)) = (cursor, page.next.as_deref())
        && sent == next
    {
        return Err(looped(&call, next));
    }
    Ok(Page { next: page.next.filter(|_| !page.records.is_empty()), total: page.total, records: page.records })
}

/// A listing that answered the page token it was sent as the next one would never end.
fn looped(call: &Call, token: &str) -> Error {
    Error::platform(format!(
        "TikTok {} answered the page token it was sent ({token:?}) as the next one: the listing would never end",
        call.endpoint()
    ))
    .with_hint("stopped instead of asking forever; rerun later, and report it if it persists")
    .with_detail("endpoint", call.endpoint())
}

/// What one request says about a dataset in a range (see `Platform::census`):
/// - orders: a page sorted by creation gives `total_count` and the first order's time; it is the
///   range's own first page when that is wanted, else a one-order page;
/// - products: a one-listing search gives `total_count` (a search past [`SEARCH_LIMIT`] is refused,
///   which reads as "more than that"); the search has no sort, so no first time;
/// - statement transactions are read statement by statement, so the statements in the range are
///   counted (their listing has no `total_count`: a few pages of ids are read).
///
/// The others are a few pages at most, or are read through another dataset's search (product
/// details): one cursor keeps up with the limit, and they are not counted.
pub async fn census(client: &Client, cipher: &str, request: CensusRequest<'_>) -> Result<Option<Census>> {
    let range = request.range;
    match Known::of(request.dataset)? {
        Known::Orders => {
            let oldest = async {
                if request.first_page {
                    orders(client, cipher, range, None).await
                } else {
                    let page = list(client, &orders_search(cipher, range, 1, "ASC"), "orders").await?;
                    Ok(Page { records: page.records, next: None, total: page.total })
                }
            };
            let newest = async {
                match range.until {
                    Some(_) => Ok(None),
                    None if !request.ends => Ok(None),
                    None => {
                        let call = orders_search(cipher, range, 1, "DESC");
                        list(client, &call, "orders").await.map(Some)
                    }
                }
            };
            let (oldest, newest) = tokio::try_join!(oldest, newest)?;
            let first = oldest.records.first().and_then(|r| record_time(r, "create_time"));
            let last = newest.as_ref().and_then(|p| p.records.first()).and_then(|r| record_time(r, "create_time"));
            let total = oldest.total;
            let page = request.first_page.then_some(oldest);
            Ok(total.map(|records| Census { records, per_request: PAGE_SIZE, first, last, page }))
        }
        Known::Products => {
            let call = product_search(cipher, &ProductCursor::whole(range), 1);
            let total = match list(client, &call, "products").await {
                Ok(page) => page.total,
                Err(e) if e.detail("code") == Some(&SEARCH_TOO_LARGE.into()) => Some(SEARCH_LIMIT + 1),
                Err(e) => return Err(e),
            };
            Ok(total.map(|records| Census { records, per_request: PAGE_SIZE, first: None, last: None, page: None }))
        }
        Known::StatementTransactions => statements_census(client, cipher, range).await,
        _ => Ok(None),
    }
}

/// Statement listing pages a census reads at most; past them the count is a lower bound, which
/// only makes the export cut the range further.
const CENSUS_STATEMENT_PAGES: usize = 4;

/// The statements in `range` (each read on its own) and the first one's time.
async fn statements_census(client: &Client, cipher: &str, range: &TimeRange) -> Result<Option<Census>> {
    let listing = finance_get(api::STATEMENTS, cipher, STATEMENT_TIME, range);
    let (mut records, mut first, mut token) = (0u64, None, None::<String>);
    for _ in 0..CENSUS_STATEMENT_PAGES {
        let page = list(client, &with_token(&listing, token.as_deref()), "statements").await?;
        if first.is_none() {
            first = page.records.first().and_then(|r| record_time(r, "statement_time"));
        }
        records += page.records.len() as u64;
        match page.next.filter(|_| !page.records.is_empty()) {
            Some(next) => token = Some(next),
            None => return Ok(Some(Census { records, per_request: 1, first, last: None, page: None })),
        }
    }
    Ok(Some(Census { records: records + 1, per_request: 1, first, last: None, page: None }))
}

/// A record's time field (Unix seconds), when it has one.
fn record_time(record: &RawRecord, field: &str) -> Option<chrono::DateTime<Utc>> {
    let value: serde_json::Map<String, Value> = serde_json::from_str(record.as_str()).ok()?;
    chrono::DateTime::from_timestamp(value.get(field)?.as_i64()?, 0)
}

/// Whether an order was created or updated, or a statement, payment or withdrawal appeared, at or
/// after `since`: one small request each, side by side. Products are left out: a changed listing
/// loses no sale or payout, and their search has no documented update-time sort to rely on.
pub async fn changed_since(client: &Client, cipher: &str, since: chrono::DateTime<Utc>) -> Result<bool> {
    let after = TimeRange { since: Some(since), until: None };
    let any =
        |call: Call, key: &'static str| async move { Ok(!simple(client, call, key, None).await?.records.is_empty()) };
    let (orders, statements, payments, withdrawals) = tokio::try_join!(
        search_total(client, api::ORDERS, scope::ORDER, cipher, json!({ "update_time_ge": since.timestamp() })),
        any(finance_get(api::STATEMENTS, cipher, STATEMENT_TIME, &after), "statements"),
        any(finance_get(api::PAYMENTS, cipher, CREATE_TIME, &after), "payments"),
        any(withdrawals(cipher, &after), "withdrawals"),
    )?;
    Ok(orders > 0 || statements || payments || withdrawals)
}

/// The body filter of a search, with its time filters; `None` fields are left out.
pub fn search_body(fields: &[(&str, Option<Value>)]) -> Value {
    let map: Map<String, Value> = fields.iter().filter_map(|(k, v)| v.clone().map(|v| ((*k).to_owned(), v))).collect();
    Value::Object(map)
}

/// The order search of `range` by creation time (`order`: `ASC` oldest first, or `DESC`),
/// `page_size` at a time.
fn orders_search(cipher: &str, range: &TimeRange, page_size: u32, order: &str) -> Call {
    let body = search_body(&[
        ("create_time_ge", secs(range.since).map(Value::from)),
        ("create_time_lt", secs(range.until).map(Value::from)),
    ]);
    Call::with_body(Method::POST, api::ORDERS, scope::ORDER, &body)
        .shop(cipher)
        .query("page_size", page_size)
        .query("sort_field", "create_time")
        .query("sort_order", order)
}

async fn orders(client: &Client, cipher: &str, range: &TimeRange, cursor: Option<&str>) -> Result<Page> {
    simple(client, orders_search(cipher, range, PAGE_SIZE, "ASC"), "orders", cursor).await
}

/// Where a product export stands: the window `[lo, hi]` being searched (inclusive seconds, as
/// the API's `_le` filter is), the end of the whole range, and the page token inside the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ProductCursor {
    lo: i64,
    hi: i64,
    end: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

impl ProductCursor {
    /// The start of `range`. `until` is exclusive, the API's `_le` inclusive; an open end is
    /// "now", fixed in the cursor so a resumed export searches the same windows.
    fn whole(range: &TimeRange) -> ProductCursor {
        let end = secs(range.until).map_or_else(|| Utc::now().timestamp(), |u| u - 1);
        ProductCursor { lo: secs(range.since).unwrap_or(0), hi: end, end, token: None }
    }
}

/// The search of one product window; the 202502 search documents no sort parameters, so none
/// are sent (its order is stable for a given filter, which is all paging needs).
fn product_search(cipher: &str, at: &ProductCursor, page_size: u32) -> Call {
    let body = search_body(&[("create_time_ge", Some(at.lo.into())), ("create_time_le", Some(at.hi.into()))]);
    Call::with_body(Method::POST, api::PRODUCTS, scope::PRODUCT, &body).shop(cipher).query("page_size", page_size)
}

async fn products(client: &Client, cipher: &str, range: &TimeRange, cursor: Option<&str>) -> Result<Page> {
    let mut at = match cursor {
        Some(c) => serde_json::from_str::<ProductCursor>(c).map_err(|_| bad_cursor(Known::Products.dataset(), c))?,
        None => ProductCursor::whole(range),
    };
    let whole_range = cursor.is_none();
    loop {
        if at.lo > at.end {
            return Ok(Page::default());
        }
        let call = product_search(cipher, &at, PAGE_SIZE);
        let first_of_window = at.token.is_none();
        let page = match list(client, &with_token(&call, at.token.as_deref()), "products").await {
            Err(e) if first_of_window && at.hi > at.lo && e.detail("code") == Some(&SEARCH_TOO_LARGE.into()) => None,
            Err(e) => return Err(e),
            Ok(p) if first_of_window && at.hi > at.lo && p.total.is_some_and(|t| t > SEARCH_LIMIT) => None,
            Ok(p) => Some(p),
        };
        let Some(page) = page else {
            // Too many results: search the first half of the window, the rest comes after.
            at.hi = at.lo + (at.hi - at.lo) / 2;
            tracing::debug!(lo = at.lo, hi = at.hi, "product search over {SEARCH_LIMIT} results: narrowing the window");
            continue;
        };
        let total = if whole_range && at.hi == at.end { page.total } else { None };
        at = match page.next.filter(|_| !page.records.is_empty()) {
            Some(token) => ProductCursor { token: Some(token), ..at },
            None => ProductCursor { lo: at.hi + 1, hi: at.end, end: at.end, token: None },
        };
        let more = at.lo <= at.end;
        if page.records.is_empty() && more {
            continue;
        }
        let next = more.then(|| serde_json::to_string(&at).expect("cursor serialises"));
        return Ok(Page { records: page.records, next, total });
    }
}

/// Where a statement-transactions export stands.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
struct TransactionsCursor {
    /// Statement ids still to read, the current one first.
    ids: Vec<String>,
    /// The statements listing's next page token; `None` once the listing is exhausted.
    statements: Option<String>,
    /// True once the statements listing has been read to its end.
    listed: bool,
    /// The transactions page token inside the current statement.
    token: Option<String>,
}

#[derive(Deserialize)]
struct StatementId {
    id: String,
}

async fn statement_transactions(
    client: &Client,
    cipher: &str,
    range: &TimeRange,
    cursor: Option<&str>,
) -> Result<Page> {
    let mut at = match cursor {
        Some(c) => serde_json::from_str::<TransactionsCursor>(c)
            .map_err(|_| bad_cursor(Known::StatementTransactions.dataset(), c))?,
        None => TransactionsCursor::default(),
    };
    let listing = finance_get(api::STATEMENTS, cipher, STATEMENT_TIME, range);
    loop {
        if at.ids.is_empty() {
            if at.listed {
                return Ok(Page::default());
            }
            let call = with_token(&listing, at.statements.as_deref());
            let reply = client.call(&call).await?;
            let endpoint = call.endpoint();
            let ids: Vec<StatementId> = api::field(&endpoint, &reply.data, "statements")?.unwrap_or_default();
            let next: Option<String> = api::field(&endpoint, &reply.data, "next_page_token")?;
            at.ids = ids.into_iter().map(|s| s.id).collect();
            at.statements = next.filter(|t| !t.is_empty() && !at.ids.is_empty());
            at.listed = at.statements.is_none();
            continue;
        }
        let path = api::statement_transactions_path(&at.ids[0]);
        let call = Call::get(api::STATEMENT_TRANSACTIONS, path, scope::FINANCE)
            .shop(cipher)
            .query("page_size", PAGE_SIZE)
            .query("sort_field", "order_create_time")
            .query("sort_order", "ASC");
        let page = list(client, &with_token(&call, at.token.as_deref()), "transactions").await?;
        match page.next.filter(|_| !page.records.is_empty()) {
            Some(token) => at.token = Some(token),
            None => {
                at.ids.remove(0);
                at.token = None;
            }
        }
        let more = !(at.ids.is_empty() && at.listed);
        if page.records.is_empty() && more {
            continue;
        }
        let next = more.then(|| serde_json::to_string(&at).expect("cursor serialises"));
        return Ok(Page { records: page.records, next, total: None });
    }
}

/// A total count from a one-record search (open orders of one status, active listings).
pub async fn search_total(
    client: &Client,
    path: &'static str,
    scope: &'static str,
    cipher: &str,
    body: Value,
) -> Result<u64> {
    let call = Call::with_body(Method::POST, path, scope, &body).shop(cipher).query("page_size", 1);
    let key = if path == api::ORDERS { "orders" } else { "products" };
    let page = list(client, &call, key).await?;
    Ok(page.total.unwrap_or(page.records.len() as u64))
}

/// A JSON value helper for search bodies.
pub fn one(key: &str, value: &str) -> Value {
    json!({ key: value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_bodies_leave_out_open_ends() {
        let body = search_body(&[("create_time_ge", Some(5.into())), ("create_time_lt", None)]);
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"create_time_ge":5}"#);
    }

    #[test]
    fn cursors_round_trip_and_bad_ones_are_refused() {
        let c = ProductCursor { lo: 1, hi: 2, end: 3, token: Some("a+b/=".into()) };
        assert_eq!(serde_json::from_str::<ProductCursor>(&serde_json::to_string(&c).unwrap()).unwrap(), c);
        let t =
            TransactionsCursor { ids: vec!["s1".into()], statements: Some("x/y=".into()), listed: false, token: None };
        assert_eq!(serde_json::from_str::<TransactionsCursor>(&serde_json::to_string(&t).unwrap()).unwrap(), t);
        assert_eq!(bad_cursor(Known::Products.dataset(), "zz").kind(), crate::error::ErrorKind::Usage);
    }
}
