//! Step 1: find the link the user named.

use crate::error::{Error, Result};
use crate::platform::{Link, Shop};

/// The link in `shop` named by id or handle (`@democrafts`, any case, `@` optional).
pub fn find<'s>(shop: &'s Shop, query: &str) -> Result<&'s Link> {
    shop.links.iter().find(|l| l.matches(query)).ok_or_else(|| {
        let known: Vec<String> = shop.links.iter().map(|l| format!("{} ({})", l.handle, l.id)).collect();
        Error::not_found(format!("no link {query:?} on shop {}", shop.name))
            .with_hint(format!("known links: {}", known.join(", ")))
            .with_detail("link", query)
    })
}
