//! The sandbox shop's economy: when each order was placed, what it cost, whether it is open,
//! unsettled, cancelled or settled, and which statement, payment and withdrawal it ends up in.
//!
//! Everything is computed from [`Params`] and an index, never from the wall clock: the world's
//! "now" is the fixed [`EPOCH`], so the same seed gives the same records on every machine.

use serde::{Deserialize, Serialize};

use super::rng::{Rng, mix};

/// The world's "now": 2026-11-01T00:00:00Z. Fixed, so exports are reproducible.
pub const EPOCH: i64 = 1_793_491_200;
/// Seconds in a day.
pub const DAY: i64 = 86_400;
/// Seconds in a week; statements are weekly.
pub const WEEK: i64 = 7 * DAY;
/// Weeks of history.
pub const WEEKS: u64 = 52;
/// Weeks per withdrawal.
pub const WEEKS_PER_WITHDRAWAL: u64 = 4;
/// First second of order history.
pub const START: i64 = EPOCH - WEEKS as i64 * WEEK;

/// Random streams, one per record type, so adding a field to one never shifts another.
pub mod stream {
    /// Orders.
    pub const ORDER: u64 = 1;
    /// Products.
    pub const PRODUCT: u64 = 2;
    /// Ids.
    pub const IDS: u64 = 3;
    /// People and addresses.
    pub const PEOPLE: u64 = 4;
}

/// What `sandbox reset` chooses; everything else follows from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    /// The seed.
    pub seed: u64,
    /// Number of orders over the year.
    pub orders: u64,
    /// Number of product listings.
    pub products: u64,
    /// How many of the newest orders still await shipment.
    pub open_orders: u64,
    /// True when every past order has been paid out (no unsettled funds, no withdrawal in flight).
    pub settled: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params { seed: 42, orders: 3_000, products: 120, open_orders: 14, settled: false }
    }
}

/// The money of one order, in cents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderMoney {
    /// Sum of line items at sale price.
    pub sub_total: i64,
    /// Shipping charged to the buyer.
    pub shipping_fee: i64,
    /// Discount paid for by the seller.
    pub seller_discount: i64,
    /// Sales tax (remitted by the platform, not the seller's).
    pub tax: i64,
    /// What the buyer paid.
    pub total: i64,
    /// Platform commission and transaction fees.
    pub fees: i64,
    /// What the seller receives.
    pub settlement: i64,
}

/// An order's line item, before it is turned into JSON.
#[derive(Debug, Clone, Copy)]
pub struct Item {
    /// Product index.
    pub product: u64,
    /// Sale price in cents.
    pub price: i64,
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderPhase {
    /// Still needs the seller; the status is one of the open statuses.
    Open,
    /// Shipped or delivered, not yet in a statement.
    Unsettled,
    /// Cancelled before shipping; no money.
    Cancelled,
    /// Completed and paid out in a statement.
    Settled,
}

/// The world's derived facts, cheap to build.
#[derive(Debug, Clone)]
pub struct Economy {
    /// The parameters.
    pub p: Params,
    /// First index of the unsettled tail (open orders and, unless settled, the last week).
    pub unsettled_from: u64,
}

impl Economy {
    /// Derives the facts for `p`.
    pub fn new(p: Params) -> Economy {
        let mut e = Economy { p, unsettled_from: p.orders };
        let open_from = p.orders - p.open_orders.min(p.orders);
        e.unsettled_from = if p.settled { open_from } else { open_from.min(e.first_order_at(EPOCH - WEEK)) };
        e
    }

    /// Creation time of order `i`: evenly spread over the year with a little jitter, and never
    /// decreasing with `i`, so a time window maps to an index range by binary search.
    pub fn order_time(&self, i: u64) -> i64 {
        spread(self.p.seed, stream::ORDER, i, self.p.orders, START, EPOCH)
    }

    /// The first order index created at or after `t`.
    pub fn first_order_at(&self, t: i64) -> u64 {
        first_at(self.p.orders, t, |i| self.order_time(i))
    }

    /// Creation time of product `i` (spread over the year before order history, up to a month ago).
    pub fn product_time(&self, i: u64) -> i64 {
        spread(self.p.seed, stream::PRODUCT, i, self.p.products, START - 365 * DAY, EPOCH - 30 * DAY)
    }

    /// The first product index created at or after `t`.
    pub fn first_product_at(&self, t: i64) -> u64 {
        first_at(self.p.products, t, |i| self.product_time(i))
    }

    /// The price of product `p` in cents (5.00 to 120.00, ending in .00, .50 or .99).
    pub fn product_price(&self, p: u64) -> i64 {
        let mut r = Rng::new(self.p.seed, stream::PRODUCT, p);
        let dollars = 5 + r.below(116) as i64;
        dollars * 100 + *r.pick(&[0, 50, 99, 0])
    }

    /// The listing status of product `p`.
    pub fn product_status(&self, p: u64) -> &'static str {
        let mut r = Rng::new(self.p.seed, stream::PRODUCT, p);
        r.next_u64();
        r.next_u64();
        match r.below(100) {
            0..85 => "ACTIVATE",
            85..93 => "SELLER_DEACTIVATED",
            93..97 => "DRAFT",
            _ => "PLATFORM_DEACTIVATED",
        }
    }

    /// Listings customers can buy now.
    pub fn active_listings(&self) -> u64 {
        (0..self.p.products).filter(|&p| self.product_status(p) == "ACTIVATE").count() as u64
    }

    /// Where order `i` stands.
    pub fn phase(&self, i: u64) -> OrderPhase {
        if i >= self.p.orders - self.p.open_orders.min(self.p.orders) {
            OrderPhase::Open
        } else if i >= self.unsettled_from {
            OrderPhase::Unsettled
        } else if Rng::new(self.p.seed, stream::ORDER ^ 0xcafe, i).chance(2) {
            OrderPhase::Cancelled
        } else {
            OrderPhase::Settled
        }
    }

    /// The line items of order `i` (one to three).
    pub fn items(&self, i: u64) -> impl Iterator<Item = Item> + '_ {
        let mut r = Rng::new(self.p.seed, stream::ORDER, i);
        let count = if self.p.products == 0 { 0 } else { 1 + r.below(3) * r.below(2) };
        (0..count).map(move |_| {
            let product = r.below(self.p.products);
            Item { product, price: self.product_price(product) }
        })
    }

    /// The money of order `i`.
    pub fn money(&self, i: u64) -> OrderMoney {
        let sub_total: i64 = self.items(i).map(|it| it.price).sum();
        let mut r = Rng::new(self.p.seed, stream::ORDER ^ 0xbeef, i);
        let shipping_fee = if sub_total >= 5_000 || sub_total == 0 { 0 } else { 599 };
        let seller_discount = if r.chance(12) { (sub_total / 10).min(1_000) } else { 0 };
        let tax = (sub_total - seller_discount) * 825 / 10_000;
        let revenue = sub_total - seller_discount + shipping_fee;
        let fees = revenue * 6 / 100 + 30;
        let settlement = if self.phase(i) == OrderPhase::Cancelled { 0 } else { revenue - fees };
        OrderMoney {
            sub_total,
            shipping_fee,
            seller_discount,
            tax,
            total: revenue + tax,
            fees: if settlement == 0 { 0 } else { fees },
            settlement,
        }
    }

    /// Money earned but not yet paid out: every open or unsettled order.
    pub fn unsettled_sum(&self) -> i64 {
        (self.unsettled_from..self.p.orders).map(|i| self.money(i).settlement).sum()
    }

    /// Number of weekly statements (the current week has none until it settles).
    pub fn statements(&self) -> u64 {
        if self.p.settled { WEEKS } else { WEEKS - 1 }
    }

    /// End of week `w`: the statement time.
    pub fn statement_time(&self, w: u64) -> i64 {
        START + (w as i64 + 1) * WEEK
    }

    /// The settled orders of week `w`, as an index range (cancelled ones included, with zero money).
    pub fn statement_orders(&self, w: u64) -> std::ops::Range<u64> {
        let from = self.first_order_at(START + w as i64 * WEEK).min(self.unsettled_from);
        let to = self.first_order_at(START + (w as i64 + 1) * WEEK).min(self.unsettled_from);
        from..to
    }

    /// Totals of statement `w`: (revenue, fees, settlement), in cents.
    pub fn statement_totals(&self, w: u64) -> (i64, i64, i64) {
        self.statement_orders(w).fold((0, 0, 0), |(r, f, s), i| {
            let m = self.money(i);
            (r + m.settlement + m.fees, f + m.fees, s + m.settlement)
        })
    }

    /// Number of withdrawals (one per four weeks of statements).
    pub fn withdrawals(&self) -> u64 {
        WEEKS.div_ceil(WEEKS_PER_WITHDRAWAL)
    }

    /// Amount (cents), creation time and whether withdrawal `k` is still processing.
    pub fn withdrawal(&self, k: u64) -> (i64, i64, bool) {
        let weeks = k * WEEKS_PER_WITHDRAWAL..((k + 1) * WEEKS_PER_WITHDRAWAL).min(self.statements());
        let amount = weeks.map(|w| self.statement_totals(w).2).sum();
        let last = k + 1 == self.withdrawals();
        let end = (START + ((k + 1) * WEEKS_PER_WITHDRAWAL) as i64 * WEEK).min(EPOCH);
        (amount, end - 6 * 3600, last && !self.p.settled)
    }

    /// A stable id of `width` digits for record `i` of `kind`.
    pub fn id(&self, kind: u64, prefix: &str, i: u64) -> String {
        let base = mix(self.p.seed ^ kind.wrapping_mul(0x1000_0000_01b3)) % 1_000_000_000_000_000;
        format!("{prefix}{:016}", base + i)
    }
}

/// Time of item `i` of `n`, spread over `[from, to)`, non-decreasing in `i`.
fn spread(seed: u64, stream: u64, i: u64, n: u64, from: i64, to: i64) -> i64 {
    let span = (to - from) as i128;
    let n = n.max(1) as i128;
    let slot = (span / n) as i64;
    let jitter = if slot > 1 { Rng::new(seed, stream ^ 0x7157, i).below(slot as u64) as i64 } else { 0 };
    from + (i as i128 * span / n) as i64 + jitter
}

/// The first index in `0..n` whose time is at or after `t` (times are non-decreasing).
fn first_at(n: u64, t: i64, time: impl Fn(u64) -> i64) -> u64 {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if time(mid) < t { lo = mid + 1 } else { hi = mid }
    }
    lo
}

/// Cents as a decimal string: 1250 -> "12.50".
pub fn cents(c: i64) -> String {
    let sign = if c < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", c.abs() / 100, c.abs() % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_times_never_decrease_and_stay_in_the_year() {
        for orders in [1, 7, 3_000, 2_000_000] {
            let e = Economy::new(Params { orders, ..Params::default() });
            let step = (orders / 5_000).max(1);
            let mut last = START;
            for i in (0..orders).step_by(step as usize) {
                let t = e.order_time(i);
                assert!(t >= last && t < EPOCH, "orders={orders} i={i}");
                last = t;
            }
        }
    }

    #[test]
    fn first_order_at_finds_the_boundary() {
        let e = Economy::new(Params::default());
        let t = START + 100 * DAY;
        let i = e.first_order_at(t);
        assert!(e.order_time(i) >= t && e.order_time(i - 1) < t);
    }

    #[test]
    fn statements_add_up_to_the_settled_orders() {
        let e = Economy::new(Params::default());
        let by_statement: i64 = (0..e.statements()).map(|w| e.statement_totals(w).2).sum();
        let by_order: i64 = (0..e.unsettled_from).map(|i| e.money(i).settlement).sum();
        assert_eq!(by_statement, by_order);
        let withdrawn: i64 = (0..e.withdrawals()).map(|k| e.withdrawal(k).0).sum();
        assert_eq!(withdrawn, by_order);
        assert!(e.unsettled_sum() > 0);
        assert!(e.withdrawal(e.withdrawals() - 1).2, "the last withdrawal is processing");
    }

    #[test]
    fn a_settled_world_has_nothing_pending() {
        let e = Economy::new(Params { settled: true, open_orders: 0, ..Params::default() });
        assert_eq!(e.unsettled_sum(), 0);
        assert!(!e.withdrawal(e.withdrawals() - 1).2);
        assert_eq!(e.statements(), WEEKS);
    }

    #[test]
    fn cents_format() {
        assert_eq!(cents(1250), "12.50");
        assert_eq!(cents(5), "0.05");
        assert_eq!(cents(-199), "-1.99");
    }
}
