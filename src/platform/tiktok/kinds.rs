//! The links a TikTok Shop seller has, and TikTok's rules for each
//! (`reference/tiktok-shop-links.md`). The sandbox mirrors them.

use crate::platform::{DisconnectMode, KindSpec, LinkKind};

/// Where the owner manages linked TikTok accounts.
pub const LINKED_ACCOUNTS: &str = "Seller Center → My account → Linked TikTok accounts";
/// Where the owner revokes apps and service partners.
pub const MY_APPS: &str = "Seller Center → App & Service Store → My apps (Services) / Partner management";

fn kind(kind: LinkKind, label: &str) -> KindSpec {
    KindSpec { label: label.into(), ..KindSpec::plain(kind) }
}

fn texts(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| (*l).to_owned()).collect()
}

/// The official TikTok account: the shop's face, so it moves money and buyers.
fn official() -> KindSpec {
    KindSpec {
        moves_money: true,
        moves_buyers: true,
        declarable: Some(DisconnectMode::Guided),
        max_per_shop: Some(1),
        min_link_age_hours: Some(24),
        where_to_unlink: Some(LINKED_ACCOUNTS.into()),
        limits: texts(&[
            "TikTok lets a shop change its official account only a limited number of times (3 at the time of writing): \
             choose the next one with care",
            "the new official account's name and region must match the shop",
        ]),
        consequences: texts(&[
            "the Shop tab disappears from {handle}'s TikTok profile",
            "videos and LIVEs from {handle} can no longer tag {shop}'s products",
            "listings stay in Seller Center but are no longer shown on {handle}",
        ]),
        ..kind(LinkKind::OFFICIAL_ACCOUNT, "official TikTok account")
    }
}

fn marketing() -> KindSpec {
    KindSpec {
        emergency: true,
        declarable: Some(DisconnectMode::Guided),
        max_per_shop: Some(4),
        min_link_age_hours: Some(24),
        where_to_unlink: Some(LINKED_ACCOUNTS.into()),
        limits: texts(&[
            "TikTok lets one account be linked at most 10 times in 180 days: you cannot relink {handle} more often \
             than that",
            "an account cannot be the official and a marketing account at once",
        ]),
        consequences: texts(&[
            "{handle} can no longer tag the shop's products in videos or LIVE",
            "shoppable videos already posted by {handle} stop showing product links",
        ]),
        ..kind(LinkKind::MARKETING_ACCOUNT, "marketing TikTok account")
    }
}

fn affiliate() -> KindSpec {
    KindSpec {
        moves_money: true,
        limits: texts(&[
            "a creator removed from an open collaboration can join it again; end it or change who may join to keep \
             them out",
            "a commission change reaches creators already promoting only after a 30-day lock",
        ]),
        consequences: texts(&[
            "{handle} stops earning commission on new sales of the collaboration's products",
            "commission already earned settles on schedule",
        ]),
        ..kind(LinkKind::AFFILIATE_CREATOR, "affiliate creator")
    }
}

fn partner_rules() -> Vec<String> {
    texts(&[
        "a cancellation takes effect when the partner agrees, or automatically after 72 h",
        "a rejected cancellation can be sent again after 144 h",
        "after deauthorization the partner must delete your tokens and customer data",
    ])
}

fn app() -> KindSpec {
    KindSpec {
        emergency: true,
        declarable: Some(DisconnectMode::Guided),
        where_to_unlink: Some(MY_APPS.into()),
        limits: partner_rules(),
        consequences: texts(&[
            "{name} can no longer read or change {shop}'s data through the API",
            "its webhook subscriptions stop delivering events",
        ]),
        ..kind(LinkKind::APP_AUTHORIZATION, "authorized app")
    }
}

fn partner() -> KindSpec {
    KindSpec {
        emergency: true,
        declarable: Some(DisconnectMode::Guided),
        where_to_unlink: Some(MY_APPS.into()),
        limits: partner_rules(),
        consequences: texts(&["{name} loses access to {shop} and the services it ran for you stop"]),
        ..kind(LinkKind::SERVICE_PARTNER, "service partner")
    }
}

fn mcn() -> KindSpec {
    KindSpec {
        declarable: Some(DisconnectMode::Support),
        max_per_shop: Some(1),
        where_to_unlink: Some("your MCN or agency (they decide unlink requests)".into()),
        limits: texts(&["the MCN decides the unlink request; TikTok support can help when it does not answer"]),
        consequences: texts(&["{name} no longer manages the shop's creators"]),
        ..kind(LinkKind::MCN, "MCN or agency")
    }
}

/// Every kind, with TikTok's rules.
pub fn specs() -> Vec<KindSpec> {
    vec![official(), marketing(), affiliate(), app(), partner(), mcn()]
}
