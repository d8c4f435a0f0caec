//! The ready-to-send support request for links only the platform's support can cut (SPEC §5,
//! `disconnect: support`): every detail support asks for, and nothing secret.

use crate::platform::{Link, Shop};

/// The request's text: what support needs and nothing else. The seller's own steps (where to
/// send it, what to check afterwards) are the plan's `manual_steps`, printed above the request,
/// not written into a letter addressed to someone else. `exported` says whether a verified export
/// was relied on, so the letter never claims one that was not made.
pub fn letter(platform: &str, shop: &Shop, link: &Link, exported: bool) -> String {
    let records = if exported {
        "we have exported and verified our records"
    } else {
        "we chose to go ahead without a verified export of our records"
    };
    let since = link.linked_since.map_or("an unknown date".into(), |t| t.format("%Y-%m-%d").to_string());
    format!(
        "Subject: Please remove {handle} from our shop {shop} ({id}) on {platform}\n\n\
         Hello,\n\nplease unlink the account {handle} ({kind}, \"{name}\", link id {link_id}) from our shop \
         {shop} (shop id {id}, region {region}). It was linked on {since}.\n\n\
         We are the shop owner; {records} and understand that {handle} will lose access to the shop \
         afterwards.\n\nPlease confirm when it is done.\n\nThank you.\n",
        handle = link.handle,
        shop = shop.name,
        id = shop.id,
        kind = crate::words::kind(link.kind),
        name = link.display_name,
        link_id = link.id,
        region = shop.region,
    )
}
