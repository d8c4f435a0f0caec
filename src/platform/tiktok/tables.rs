//! The datasets of a TikTok Shop (and of the sandbox, which mirrors TikTok's records): their
//! names, what they hold and their CSV tables (README, "CSV columns").

use crate::error::{Error, Result};
use crate::platform::{CsvTable, Dataset, DatasetSpec};

/// The datasets a TikTok Shop has, in export order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// Sales orders with their line items.
    Orders,
    /// Product listings with their SKUs.
    Products,
    /// Settlement statements.
    Statements,
    /// The transactions inside each statement.
    StatementTransactions,
    /// Payouts to the seller's bank.
    Payments,
    /// Withdrawals, settlements, transfers and reversals.
    Withdrawals,
    /// Return and refund requests.
    Returns,
    /// Cancellation requests.
    Cancellations,
    /// Every listing in full (attributes, descriptions, images), one detail call each.
    ProductDetails,
    /// Orders sold through affiliate creators, with each SKU's commission.
    AffiliateOrders,
}

impl Known {
    /// Every dataset, in export order.
    pub const ALL: [Known; 10] = [
        Known::Orders,
        Known::Products,
        Known::Statements,
        Known::StatementTransactions,
        Known::Payments,
        Known::Withdrawals,
        Known::Returns,
        Known::Cancellations,
        Known::ProductDetails,
        Known::AffiliateOrders,
    ];

    /// The name on the command line, in file names and in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            Known::Orders => "orders",
            Known::Products => "products",
            Known::Statements => "statements",
            Known::StatementTransactions => "statement_transactions",
            Known::Payments => "payments",
            Known::Withdrawals => "withdrawals",
            Known::Returns => "returns",
            Known::Cancellations => "cancellations",
            Known::ProductDetails => "product_details",
            Known::AffiliateOrders => "affiliate_orders",
        }
    }

    /// The dataset.
    pub fn dataset(self) -> Dataset {
        Dataset::new(self.name())
    }

    /// Which of ours `dataset` is; an unknown name is a usage error listing ours.
    pub fn of(dataset: Dataset) -> Result<Known> {
        Known::ALL.into_iter().find(|k| k.name() == dataset.as_str()).ok_or_else(|| {
            let names: Vec<_> = Known::ALL.iter().map(|k| k.name()).collect();
            Error::usage(format!("unknown dataset {dataset:?}")).with_hint(format!("known: {}", names.join(", ")))
        })
    }

    fn description(self) -> &'static str {
        match self {
            Known::Orders => "sales orders with their line items",
            Known::Products => "product listings with their SKUs",
            Known::Statements => "settlement statements",
            Known::StatementTransactions => "the transactions inside each statement",
            Known::Payments => "payouts to the seller's bank",
            Known::Withdrawals => "withdrawals, settlements, transfers and reversals",
            Known::Returns => "return and refund requests with their line items",
            Known::Cancellations => "cancellation requests",
            Known::ProductDetails => "every listing in full: attributes, description, images",
            Known::AffiliateOrders => "orders sold through affiliate creators, with each SKU's commission",
        }
    }

    fn csv(self) -> Vec<CsvTable> {
        match self {
            Known::Orders => {
                vec![CsvTable::main(ORDER_COLUMNS), CsvTable::child("line_items", "order_id", LINE_ITEM_COLUMNS)]
            }
            Known::Products => {
                vec![CsvTable::main(PRODUCT_COLUMNS), CsvTable::child("skus", "product_id", SKU_COLUMNS)]
            }
            Known::Statements => vec![CsvTable::main(STATEMENT_COLUMNS)],
            Known::StatementTransactions => vec![CsvTable::main(TRANSACTION_COLUMNS)],
            Known::Payments => vec![CsvTable::main(PAYMENT_COLUMNS)],
            Known::Withdrawals => vec![CsvTable::main(WITHDRAWAL_COLUMNS)],
            Known::Returns => vec![
                CsvTable::main(RETURN_COLUMNS),
                CsvTable::child("return_line_items", "return_id", RETURN_LINE_COLUMNS),
            ],
            Known::Cancellations => vec![CsvTable::main(CANCELLATION_COLUMNS)],
            Known::ProductDetails => {
                vec![CsvTable::main(PRODUCT_DETAIL_COLUMNS), CsvTable::child("skus", "product_id", SKU_COLUMNS)]
            }
            Known::AffiliateOrders => {
                vec![
                    CsvTable::main(AFFILIATE_ORDER_COLUMNS),
                    CsvTable::child("skus", "order_id", AFFILIATE_SKU_COLUMNS),
                ]
            }
        }
    }

    /// The dataset's description for the export.
    pub fn spec(self) -> DatasetSpec {
        DatasetSpec { name: self.dataset(), description: self.description().into(), csv: self.csv() }
    }
}

/// Every dataset's description, in export order.
pub fn specs() -> Vec<DatasetSpec> {
    Known::ALL.into_iter().map(Known::spec).collect()
}

const ORDER_COLUMNS: &[&str] = &[
    "id",
    "status",
    "create_time",
    "update_time",
    "paid_time",
    "user_id",
    "buyer_email",
    "buyer_message",
    "recipient_address.name",
    "recipient_address.phone_number",
    "recipient_address.address_line1",
    "recipient_address.city",
    "recipient_address.state",
    "recipient_address.postal_code",
    "recipient_address.region_code",
    "payment.currency",
    "payment.sub_total",
    "payment.shipping_fee",
    "payment.seller_discount",
    "payment.platform_discount",
    "payment.tax",
    "payment.total_amount",
    "delivery_option_name",
    "shipping_provider",
    "tracking_number",
    "fulfillment_type",
    "is_cod",
];
const LINE_ITEM_COLUMNS: &[&str] = &[
    "^id",
    "id",
    "product_id",
    "product_name",
    "sku_id",
    "sku_name",
    "seller_sku",
    "sale_price",
    "original_price",
    "currency",
    "display_status",
];
const PRODUCT_COLUMNS: &[&str] =
    &["id", "title", "status", "create_time", "update_time", "audit.status", "is_not_for_sale", "description"];
const SKU_COLUMNS: &[&str] =
    &["^id", "id", "seller_sku", "price.tax_exclusive_price", "price.sale_price", "price.currency", "inventory"];
const STATEMENT_COLUMNS: &[&str] = &[
    "id",
    "statement_time",
    "currency",
    "revenue_amount",
    "fee_amount",
    "adjustment_amount",
    "shipping_cost_amount",
    "settlement_amount",
    "payment_status",
    "payment_id",
];
const TRANSACTION_COLUMNS: &[&str] = &[
    "id",
    "type",
    "statement_id",
    "order_id",
    "order_create_time",
    "currency",
    "revenue_amount",
    "fee_amount",
    "shipping_cost_amount",
    "adjustment_amount",
    "settlement_amount",
];
const PAYMENT_COLUMNS: &[&str] = &[
    "id",
    "create_time",
    "paid_time",
    "status",
    "amount.value",
    "amount.currency",
    "settlement_amount.value",
    "reserve_amount.value",
    "exchange_rate",
    "bank_account",
];
const WITHDRAWAL_COLUMNS: &[&str] = &["id", "type", "amount", "currency", "status", "create_time"];
const RETURN_COLUMNS: &[&str] = &[
    "return_id",
    "order_id",
    "return_type",
    "return_status",
    "return_reason_text",
    "arbitration_status",
    "role",
    "create_time",
    "update_time",
    "refund_amount.currency",
    "refund_amount.refund_total",
    "return_tracking_number",
];
const RETURN_LINE_COLUMNS: &[&str] =
    &["^id", "return_line_item_id", "order_line_item_id", "product_name", "sku_id", "refund_amount.refund_total"];
const CANCELLATION_COLUMNS: &[&str] = &[
    "cancel_id",
    "order_id",
    "cancel_type",
    "cancel_status",
    "cancel_reason_text",
    "role",
    "create_time",
    "update_time",
    "refund_amount.currency",
    "refund_amount.refund_total",
];
const PRODUCT_DETAIL_COLUMNS: &[&str] = &[
    "id",
    "title",
    "status",
    "create_time",
    "update_time",
    "category_chains",
    "brand.name",
    "main_images",
    "product_attributes",
    "package_weight.value",
    "package_weight.unit",
    "description",
];
const AFFILIATE_ORDER_COLUMNS: &[&str] = &["id", "status", "create_time"];
const AFFILIATE_SKU_COLUMNS: &[&str] = &[
    "^id",
    "product_id",
    "creator_username",
    "open_collaboration_id",
    "target_collaboration_id",
    "commission_rate",
    "estimated_paid_commission.amount",
    "estimated_paid_commission.currency",
    "actual_paid_commission.amount",
];
