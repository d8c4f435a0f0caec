//! The sandbox's returns, cancellations, affiliate orders and full product records, in the shapes
//! TikTok Shop's Return and Refund, Affiliate Seller and Product APIs use.
//!
//! Which orders were returned, cancelled or sold through the affiliate is a pure function of the
//! order's index (and the world's phases), so a page is built from indices alone, as for orders,
//! and counts for `status` are arithmetic, never a scan of a million orders.

use serde_json::{Value, json};

use super::economy::{DAY, Economy, OrderPhase, cents};
use super::records::product_title;

const CURRENCY: &str = "USD";
/// One order in this many (at this offset) asks for a return once delivered.
const RETURN_EVERY: u64 = 41;
const RETURN_AT: u64 = 7;
/// One order in this many (at this offset) was sold through the affiliate @lunabeauty.
const AFFILIATE_EVERY: u64 = 9;
const AFFILIATE_AT: u64 = 4;
/// The affiliate's commission, in percent of the sub-total.
const COMMISSION_PERCENT: i64 = 15;
/// The affiliate's open collaboration.
pub const COLLABORATION: &str = "7401110000000000001";

/// True when order `i` asked for a return (a shipped order; cancelled and open ones cannot).
pub fn is_returned(e: &Economy, i: u64) -> bool {
    i % RETURN_EVERY == RETURN_AT && matches!(e.phase(i), OrderPhase::Unsettled | OrderPhase::Settled)
}

/// True when order `i` was cancelled.
pub fn is_cancelled(e: &Economy, i: u64) -> bool {
    e.phase(i) == OrderPhase::Cancelled
}

/// True when order `i` came through the affiliate.
pub fn is_affiliate(i: u64) -> bool {
    i % AFFILIATE_EVERY == AFFILIATE_AT
}

/// How many `k < n` satisfy `k % every == at`.
fn count_below(n: u64, every: u64, at: u64) -> u64 {
    n / every + u64::from(n % every > at)
}

/// Returns still in progress: those of orders not yet settled (the buyer may still ship back).
pub fn open_returns(e: &Economy) -> u64 {
    let open_from = e.p.orders - e.p.open_orders.min(e.p.orders);
    count_below(open_from, RETURN_EVERY, RETURN_AT) - count_below(e.unsettled_from, RETURN_EVERY, RETURN_AT)
}

fn to_line(v: &Value) -> String {
    v.to_string()
}

/// The return of order `i` (see [`is_returned`]).
pub fn return_record(e: &Economy, i: u64) -> String {
    let order_id = e.id(1, "57", i);
    let m = e.money(i);
    let settled = e.phase(i) == OrderPhase::Settled;
    let created = e.order_time(i) + 5 * DAY;
    to_line(&json!({
        "return_id": e.id(6, "41", i),
        "order_id": order_id,
        "return_type": "RETURN_AND_REFUND",
        "return_status": if settled { "RETURN_OR_REFUND_REQUEST_COMPLETE" } else { "AWAITING_BUYER_SHIP" },
        "return_reason_text": "Not as described",
        "arbitration_status": null,
        "role": "BUYER",
        "create_time": created,
        "update_time": created + if settled { 6 * DAY } else { 60 },
        "refund_amount": {"currency": CURRENCY, "refund_total": cents(m.total), "refund_subtotal": cents(m.sub_total),
            "refund_shipping_fee": cents(m.shipping_fee), "refund_tax": cents(m.tax)},
        "return_line_items": e.items(i).enumerate().map(|(k, it)| json!({
            "return_line_item_id": format!("{}{k:02}", e.id(6, "41", i)),
            "order_line_item_id": format!("{order_id}{k:02}"),
            "product_name": product_title(e, it.product),
            "sku_id": format!("{}{}", e.id(2, "17", it.product), it.product % 3),
            "refund_amount": {"currency": CURRENCY, "refund_total": cents(it.price)},
        })).collect::<Vec<_>>(),
    }))
}

/// The cancellation of order `i` (see [`is_cancelled`]).
pub fn cancellation(e: &Economy, i: u64) -> String {
    let created = e.order_time(i) + 3600;
    to_line(&json!({
        "cancel_id": e.id(7, "53", i),
        "order_id": e.id(1, "57", i),
        "cancel_type": "BUYER_CANCEL",
        "cancel_status": "CANCELLATION_REQUEST_COMPLETE",
        "cancel_reason_text": "No longer needed",
        "role": "BUYER",
        "create_time": created,
        "update_time": created + 600,
        "refund_amount": {"currency": CURRENCY, "refund_total": cents(e.money(i).total)},
    }))
}

/// The affiliate order of order `i` (see [`is_affiliate`]): @lunabeauty's commission, paid once
/// the order is settled.
pub fn affiliate_order(e: &Economy, i: u64) -> String {
    let m = e.money(i);
    let commission = cents(m.sub_total * COMMISSION_PERCENT / 100);
    let paid = e.phase(i) == OrderPhase::Settled;
    let status = match e.phase(i) {
        OrderPhase::Settled => "COMPLETED",
        OrderPhase::Cancelled => "CANCELLED",
        _ => "UNPAID_COMMISSION",
    };
    let skus: Vec<Value> = e
        .items(i)
        .map(|it| {
            let mut sku = json!({
                "product_id": e.id(2, "17", it.product),
                "creator_username": "lunabeauty",
                "open_collaboration_id": COLLABORATION,
                "commission_rate": COMMISSION_PERCENT * 100,
                "estimated_paid_commission": {"amount": commission, "currency": CURRENCY},
            });
            if paid {
                sku["actual_paid_commission"] = json!({"amount": commission, "currency": CURRENCY});
            }
            sku
        })
        .collect();
    to_line(&json!({"id": e.id(1, "57", i), "status": status, "create_time": e.order_time(i), "skus": skus}))
}

/// The image URL of product `p`'s picture `k` (`k == 3`: the main image; 0..3: its SKUs'). The
/// sandbox serves them itself ([`super::Sandbox`]'s media), generated from the seed.
pub fn image_url(e: &Economy, p: u64, k: u64) -> String {
    format!("sandbox://media/{}-{k}.png", e.id(2, "17", p))
}

/// Product `p` in full, as the product detail API returns it: the listing plus its images and
/// attributes.
pub fn product_detail(e: &Economy, p: u64) -> String {
    let mut v: Value = serde_json::from_str(&super::records::product(e, p)).expect("a product is JSON");
    v["main_images"] = json!([{"urls": [image_url(e, p, 3)], "width": 64, "height": 64}]);
    v["product_attributes"] = json!([
        {"id": "100392", "name": "Material", "values": [{"id": "1001", "name": if p.is_multiple_of(2) { "Cotton" } else { "Ceramic" }}]},
        {"id": "100347", "name": "Handmade", "values": [{"id": "1002", "name": "Yes"}]},
    ]);
    v["package_weight"] = json!({"unit": "KILOGRAM", "value": format!("0.{}", 2 + p % 7)});
    // The first SKU has a picture of its own; the others show the product's.
    if let Some(skus) = v["skus"].as_array_mut() {
        for (k, sku) in skus.iter_mut().enumerate() {
            let img = if k == 0 { image_url(e, p, 0) } else { image_url(e, p, 3) };
            sku["sales_attributes"] = json!([{"name": "Variant", "value_name": format!("Option {}", k + 1),
                "sku_img": {"urls": [img]}}]);
        }
    }
    to_line(&v)
}
