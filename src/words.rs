//! The words a seller reads for the program's codes: `official_account` is "official account" in
//! a table, `api` is "automatic". JSON keeps the codes (SPEC §5); only human text uses these.

use crate::platform::{DisconnectMode, LinkKind, LinkState};

/// A kind of link in plain words: `official_account` → "official account".
pub fn kind(kind: LinkKind) -> String {
    kind.as_str().replace('_', " ")
}

/// How a link is cut, in a seller's words.
pub fn unlink(mode: DisconnectMode) -> &'static str {
    match mode {
        DisconnectMode::Api => "automatic",
        DisconnectMode::Guided => "guided",
        DisconnectMode::Support => "by support",
    }
}

/// A link's state in plain words: `awaiting_owner` → "awaiting owner".
pub fn state(state: LinkState) -> &'static str {
    match state {
        LinkState::Linked => "linked",
        LinkState::AwaitingOwner => "awaiting owner",
        LinkState::Unlinked => "unlinked",
    }
}

/// `text` after "a" or "an": "an official account", "a marketing account".
pub fn with_article(text: &str) -> String {
    let vowel = text.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']);
    format!("{} {text}", if vowel { "an" } else { "a" })
}

/// `n` and the noun, singular for one: "1 dataset", "3 datasets".
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_become_words() {
        assert_eq!(kind(LinkKind::OFFICIAL_ACCOUNT), "official account");
        assert_eq!(unlink(DisconnectMode::Api), "automatic");
        assert_eq!(with_article("official account"), "an official account");
        assert_eq!(with_article("marketing account"), "a marketing account");
        assert_eq!(state(LinkState::AwaitingOwner), "awaiting owner");
        assert_eq!(
            (count(1u32, "dataset", "datasets"), count(0u32, "try", "tries")),
            ("1 dataset".into(), "0 tries".into())
        );
    }
}
