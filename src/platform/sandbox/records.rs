//! The sandbox's records, in the shapes TikTok Shop's 202309 APIs use (money as decimal strings,
//! times as Unix seconds), with the awkward text real shops have: unicode names, commas, quotes
//! and newlines. Each function turns one index into one line of compact JSON.

use serde::Serialize;

use super::economy::{DAY, Economy, OrderPhase, cents, stream};
use super::rng::Rng;

const CURRENCY: &str = "USD";

const FIRST: &[&str] = &[
    "Zoë",
    "José",
    "Siobhán",
    "李",
    "Amélie",
    "Søren",
    "Nguyễn",
    "Aiyana",
    "Olúwadámilọ́lá",
    "Mary-Kate",
    "Björn",
    "Priya",
];
const LAST: &[&str] = &[
    "Ångström",
    "Álvarez",
    "O'Brien",
    "小龍",
    "Dubois",
    "Kierkegaard",
    "Thị Hoa",
    "Begay",
    "Adébáyọ̀",
    "Olsen, Jr.",
    "Þórsson",
    "Raman",
];
const CITIES: &[(&str, &str, &str)] = &[
    ("Los Angeles", "CA", "900"),
    ("Brooklyn", "NY", "112"),
    ("Austin", "TX", "787"),
    ("Seattle", "WA", "981"),
    ("Coeur d'Alene", "ID", "838"),
    ("San José", "CA", "951"),
];
const STREETS: &[&str] =
    &["Main St", "Elm Street, Apt 4", "Calle de la Peña", "Rue \"Petite\" Lane", "Old Mill Rd\nUnit B"];
const MESSAGES: &[&str] = &[
    "",
    "",
    "",
    "Please gift-wrap, it's for my mom's birthday 🎂",
    "Leave at the door,\nthanks!",
    "Size \"M\" please — not \"L\"",
    "请尽快发货，谢谢",
    "Can you add a note: \"Happy anniversary, love\"?",
];
const ADJECTIVES: &[&str] =
    &["Hand-thrown", "Hand-dyed", "Linen", "Beeswax", "Walnut", "Ceramic", "Recycled", "Crochet"];
const NOUNS: &[&str] = &[
    "mug, \"Ocean\" glaze",
    "tote — natural",
    "candle, 8oz",
    "serving board",
    "vase (large)",
    "plant hanger",
    "scarf",
    "bowl set, 3 pcs",
];
const VARIANTS: &[&str] = &["Default", "Blue, 350ml", "Sand / Large", "Green, \"forest\"", "Set of 2"];
const CARRIERS: &[&str] = &["USPS", "UPS", "FedEx"];
const OPEN_STATUSES: &[&str] =
    &["AWAITING_SHIPMENT", "AWAITING_SHIPMENT", "AWAITING_COLLECTION", "PARTIALLY_SHIPPING", "ON_HOLD"];

fn to_line<T: Serialize>(record: &T) -> String {
    // Sized for a typical order, so serialising rarely reallocates.
    let mut buf = Vec::with_capacity(1536);
    serde_json::to_writer(&mut buf, record).expect("sandbox records always serialise");
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}

#[derive(Serialize)]
struct Payment<'a> {
    currency: &'a str,
    sub_total: String,
    shipping_fee: String,
    seller_discount: String,
    platform_discount: &'a str,
    tax: String,
    total_amount: String,
}

#[derive(Serialize)]
struct Address {
    name: String,
    phone_number: String,
    address_line1: String,
    city: &'static str,
    state: &'static str,
    postal_code: String,
    region_code: &'static str,
    full_address: String,
}

#[derive(Serialize)]
struct LineItem {
    id: String,
    product_id: String,
    product_name: String,
    sku_id: String,
    sku_name: &'static str,
    seller_sku: String,
    sale_price: String,
    original_price: String,
    currency: &'static str,
    display_status: &'static str,
}

#[derive(Serialize)]
struct Order<'a> {
    id: String,
    status: &'a str,
    create_time: i64,
    update_time: i64,
    paid_time: i64,
    user_id: String,
    buyer_email: String,
    buyer_message: &'a str,
    recipient_address: Address,
    payment: Payment<'a>,
    line_items: Vec<LineItem>,
    delivery_option_name: &'a str,
    shipping_provider: Option<&'a str>,
    tracking_number: Option<String>,
    fulfillment_type: &'a str,
    is_cod: bool,
}

/// Product `p`'s title: an adjective and a noun, some with commas and quotes.
pub fn product_title(e: &Economy, p: u64) -> String {
    let mut r = Rng::new(e.p.seed, stream::PRODUCT ^ 0x717e, p);
    format!("{} {}", r.pick(ADJECTIVES), r.pick(NOUNS))
}

fn person(e: &Economy, i: u64) -> (String, Address) {
    let mut r = Rng::new(e.p.seed, stream::PEOPLE, i);
    let name = format!("{} {}", r.pick(FIRST), r.pick(LAST));
    let (city, state, zip) = *r.pick(CITIES);
    let street = format!("{} {}", 1 + r.below(9_000), r.pick(STREETS));
    let postal_code = format!("{zip}{:02}", r.below(100));
    let full_address = format!("{street}, {city}, {state} {postal_code}, United States");
    let phone_number = format!("(+1)***-***-**{:02}", r.below(100));
    let address = Address {
        name: name.clone(),
        phone_number,
        address_line1: street,
        city,
        state,
        postal_code,
        region_code: "US",
        full_address,
    };
    (name, address)
}

/// Order `i` as TikTok's order search returns it.
pub fn order(e: &Economy, i: u64) -> String {
    let id = e.id(1, "57", i);
    let created = e.order_time(i);
    let phase = e.phase(i);
    let mut r = Rng::new(e.p.seed, stream::ORDER ^ 0x5747, i);
    let status = match phase {
        OrderPhase::Open => *r.pick(OPEN_STATUSES),
        OrderPhase::Unsettled => *r.pick(&["IN_TRANSIT", "DELIVERED"]),
        OrderPhase::Cancelled => "CANCELLED",
        OrderPhase::Settled => "COMPLETED",
    };
    let m = e.money(i);
    let (_, address) = person(e, i);
    let line_items = e
        .items(i)
        .enumerate()
        .map(|(k, it)| {
            let product_id = e.id(2, "17", it.product);
            LineItem {
                id: format!("{id}{k:02}"),
                sku_id: format!("{product_id}{}", it.product % 3),
                seller_sku: format!("SKU-{:05}-{}", it.product, it.product % 3),
                product_id,
                product_name: product_title(e, it.product),
                sku_name: VARIANTS[(it.product % VARIANTS.len() as u64) as usize],
                sale_price: cents(it.price),
                original_price: cents(it.price + if it.product % 4 == 0 { 500 } else { 0 }),
                currency: CURRENCY,
                display_status: status,
            }
        })
        .collect();
    let shipped = matches!(phase, OrderPhase::Unsettled | OrderPhase::Settled);
    let message: &str = r.pick::<&str>(MESSAGES);
    let record = Order {
        status,
        create_time: created,
        update_time: created + if shipped { 3 * DAY + r.below(DAY as u64) as i64 } else { 60 },
        paid_time: created + 20 + r.below(300) as i64,
        user_id: e.id(4, "70", i % 997 + r.below(3)),
        buyer_email: format!("v{:011}@scs.tiktokw.us", (i * 7_919) % 100_000_000_000),
        buyer_message: message,
        recipient_address: address,
        payment: Payment {
            currency: CURRENCY,
            sub_total: cents(m.sub_total),
            shipping_fee: cents(m.shipping_fee),
            seller_discount: cents(m.seller_discount),
            platform_discount: "0.00",
            tax: cents(m.tax),
            total_amount: cents(m.total),
        },
        line_items,
        delivery_option_name: "Standard shipping",
        shipping_provider: shipped.then(|| *r.pick(CARRIERS)),
        tracking_number: shipped.then(|| format!("9400{:018}", (i * 104_729) % 1_000_000_000_000_000_000)),
        fulfillment_type: "FULFILLMENT_BY_SELLER",
        is_cod: false,
        id,
    };
    to_line(&record)
}

#[derive(Serialize)]
struct Price {
    tax_exclusive_price: String,
    sale_price: String,
    currency: &'static str,
}

#[derive(Serialize)]
struct Inventory {
    warehouse_id: &'static str,
    quantity: u64,
}

#[derive(Serialize)]
struct Sku {
    id: String,
    seller_sku: String,
    price: Price,
    inventory: Vec<Inventory>,
}

#[derive(Serialize)]
struct Product {
    id: String,
    title: String,
    status: &'static str,
    create_time: i64,
    update_time: i64,
    description: String,
    skus: Vec<Sku>,
    audit: Audit,
    is_not_for_sale: bool,
}

#[derive(Serialize)]
struct Audit {
    status: &'static str,
}

/// Product `p` as TikTok's product search returns it.
pub fn product(e: &Economy, p: u64) -> String {
    let id = e.id(2, "17", p);
    let title = product_title(e, p);
    let price = e.product_price(p);
    let mut r = Rng::new(e.p.seed, stream::PRODUCT ^ 0xde5c, p);
    let skus = (0..3)
        .map(|k| Sku {
            id: format!("{id}{k}"),
            seller_sku: format!("SKU-{p:05}-{k}"),
            price: Price { tax_exclusive_price: cents(price), sale_price: cents(price), currency: CURRENCY },
            inventory: vec![Inventory { warehouse_id: "7068517275539719942", quantity: r.below(250) }],
        })
        .collect();
    let created = e.product_time(p);
    let status = e.product_status(p);
    let record = Product {
        description: format!(
            "<p>{title}.</p>\n<p>Made by hand in small batches; each piece is \"one of a kind\", so colours vary.</p>\nCare: hand-wash, 30°C."
        ),
        title,
        status,
        create_time: created,
        update_time: created + r.below(30 * DAY as u64) as i64,
        skus,
        audit: Audit { status: if status == "DRAFT" { "AUDITING" } else { "APPROVED" } },
        is_not_for_sale: status != "ACTIVATE",
        id,
    };
    to_line(&record)
}

#[derive(Serialize)]
struct Statement {
    id: String,
    statement_time: i64,
    currency: &'static str,
    revenue_amount: String,
    fee_amount: String,
    adjustment_amount: &'static str,
    shipping_cost_amount: &'static str,
    settlement_amount: String,
    payment_status: &'static str,
    payment_id: String,
}

/// Weekly statement `w`.
pub fn statement(e: &Economy, w: u64) -> String {
    let (revenue, fees, settlement) = e.statement_totals(w);
    to_line(&Statement {
        id: e.id(5, "73", w),
        statement_time: e.statement_time(w),
        currency: CURRENCY,
        revenue_amount: cents(revenue),
        fee_amount: cents(-fees),
        adjustment_amount: "0.00",
        shipping_cost_amount: "0.00",
        settlement_amount: cents(settlement),
        payment_status: "PAID",
        payment_id: e.id(6, "74", w),
    })
}

#[derive(Serialize)]
struct Transaction {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    statement_id: String,
    order_id: String,
    order_create_time: i64,
    currency: &'static str,
    revenue_amount: String,
    fee_amount: String,
    shipping_cost_amount: &'static str,
    adjustment_amount: &'static str,
    settlement_amount: String,
}

/// The statement transaction of settled order `i`, in statement `w`.
pub fn transaction(e: &Economy, i: u64, w: u64) -> String {
    let m = e.money(i);
    to_line(&Transaction {
        id: e.id(7, "75", i),
        kind: "ORDER",
        statement_id: e.id(5, "73", w),
        order_id: e.id(1, "57", i),
        order_create_time: e.order_time(i),
        currency: CURRENCY,
        revenue_amount: cents(m.settlement + m.fees),
        fee_amount: cents(-m.fees),
        shipping_cost_amount: "0.00",
        adjustment_amount: "0.00",
        settlement_amount: cents(m.settlement),
    })
}

#[derive(Serialize)]
struct Amount {
    value: String,
    currency: &'static str,
}

#[derive(Serialize)]
struct PaymentRecord {
    id: String,
    create_time: i64,
    paid_time: i64,
    status: &'static str,
    amount: Amount,
    settlement_amount: Amount,
    reserve_amount: Amount,
    exchange_rate: &'static str,
    bank_account: &'static str,
}

/// The payout of statement `w`.
pub fn payment(e: &Economy, w: u64) -> String {
    let settlement = e.statement_totals(w).2;
    let t = e.statement_time(w);
    to_line(&PaymentRecord {
        id: e.id(6, "74", w),
        create_time: t + DAY,
        paid_time: t + 2 * DAY,
        status: "PAID",
        amount: Amount { value: cents(settlement), currency: CURRENCY },
        settlement_amount: Amount { value: cents(settlement), currency: CURRENCY },
        reserve_amount: Amount { value: "0.00".into(), currency: CURRENCY },
        exchange_rate: "1",
        bank_account: "**** **** 4821",
    })
}

#[derive(Serialize)]
struct Withdrawal {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    amount: String,
    currency: &'static str,
    status: &'static str,
    create_time: i64,
}

/// Withdrawal `k`.
pub fn withdrawal(e: &Economy, k: u64) -> String {
    let (amount, created, processing) = e.withdrawal(k);
    to_line(&Withdrawal {
        id: e.id(8, "76", k),
        kind: "WITHDRAW",
        amount: cents(amount),
        currency: CURRENCY,
        status: if processing { "PROCESSING" } else { "SUCCESS" },
        create_time: created,
    })
}

#[cfg(test)]
mod tests {
    use super::super::economy::Params;
    use super::*;

    #[test]
    fn records_are_single_line_json_with_awkward_text() {
        let e = Economy::new(Params::default());
        let mut saw_newline_in_text = false;
        for i in 0..200 {
            let line = order(&e, i);
            assert!(!line.contains('\n'));
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            saw_newline_in_text |= v.to_string().contains("\\n");
            assert!(v["payment"]["total_amount"].is_string());
        }
        assert!(saw_newline_in_text);
        let p: serde_json::Value = serde_json::from_str(&product(&e, 3)).unwrap();
        assert!(p["description"].as_str().unwrap().contains('\n'));
    }
}
