//! Request signing (HMAC-SHA256), exactly as the reference documents it.
//!
//! The string to sign is `secret + path + sorted(key + value) + body + secret`, with values in their
//! *decoded* form: the wire carries percent-encoded page tokens (`/`, `+`, `=`), but the signature
//! covers what they decode to. The body is signed byte for byte as it is sent, which is why the
//! client serialises a body once and hands the very same bytes to both the signer and the wire.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Query parameters that are never part of the signature.
const UNSIGNED: [&str; 2] = ["sign", "access_token"];

/// The string the signature covers (without the HMAC); exposed for tests and debugging of
/// signature mismatches, never logged because it contains the app secret.
pub fn string_to_sign<K: AsRef<str>, V: AsRef<str>>(
    secret: &str,
    path: &str,
    params: &[(K, V)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut sorted: Vec<(&str, &str)> =
        params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).filter(|(k, _)| !UNSIGNED.contains(k)).collect();
    // Byte order of the keys; a stable sort keeps repeated keys in the order they were given.
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = Vec::with_capacity(secret.len() * 2 + path.len() + body.map_or(0, <[u8]>::len) + 64);
    out.extend_from_slice(secret.as_bytes());
    out.extend_from_slice(path.as_bytes());
    for (k, v) in sorted {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    if let Some(body) = body {
        out.extend_from_slice(body);
    }
    out.extend_from_slice(secret.as_bytes());
    out
}

/// The `sign` query value: lowercase hex HMAC-SHA256 of [`string_to_sign`], keyed with the secret.
pub fn sign<K: AsRef<str>, V: AsRef<str>>(secret: &str, path: &str, params: &[(K, V)], body: Option<&[u8]>) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(&string_to_sign(secret, path, params, body));
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CIPHER: &str = "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK";

    #[test]
    fn vector_1_authorized_shops() {
        let q = [("app_key", "29a39d"), ("timestamp", "1623812664")];
        assert_eq!(
            String::from_utf8(string_to_sign("e59af819cc", "/authorization/202309/shops", &q, None)).unwrap(),
            "e59af819cc/authorization/202309/shopsapp_key29a39dtimestamp1623812664e59af819cc"
        );
        assert_eq!(
            sign("e59af819cc", "/authorization/202309/shops", &q, None),
            "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"
        );
    }

    #[test]
    fn vector_2_webhooks_get_with_shop_cipher() {
        let q = [("timestamp", "1696909648"), ("shop_cipher", CIPHER), ("app_key", "68xu9ks5p4i8")];
        assert_eq!(
            sign("e59af819cc", "/event/202309/webhooks", &q, None),
            "ed58e1b5e59865c22a7b828c1cab65007441f43cc91a6cb2f2cdc638e0995a37"
        );
    }

    #[test]
    fn vector_3_webhooks_put_with_body() {
        let q = [("app_key", "68xu9ks5p4i8"), ("shop_cipher", CIPHER), ("timestamp", "1696909648")];
        let body = br#"{"event_type":"PACKAGE_UPDATE","address":"https://partner.tiktokshop.com"}"#;
        let expected_string = format!(
            "e59af819cc/event/202309/webhooksapp_key68xu9ks5p4i8shop_cipher{CIPHER}timestamp1696909648{}e59af819cc",
            std::str::from_utf8(body).unwrap()
        );
        assert_eq!(string_to_sign("e59af819cc", "/event/202309/webhooks", &q, Some(body)), expected_string.as_bytes());
        assert_eq!(
            sign("e59af819cc", "/event/202309/webhooks", &q, Some(body)),
            "701dd6deb2389fe4c469b89bd37fc56f96a6da6afeb4d01c9077a65169752fa7"
        );
    }

    #[test]
    fn vector_4_plain_hmac() {
        let q = [("foo", "bar")];
        assert_eq!(string_to_sign("app_secret", "/test-api", &q, None), b"app_secret/test-apifoobarapp_secret");
        assert_eq!(
            sign("app_secret", "/test-api", &q, None),
            "d3cb7fe11ecae942802ceeca67e7cf10120cc12f1517d45fbc1c8cfe5413c80f"
        );
    }

    #[test]
    fn sign_and_access_token_are_not_signed() {
        let plain = sign("s", "/p", &[("a", "1")], None);
        assert_eq!(sign("s", "/p", &[("a", "1"), ("sign", "x"), ("access_token", "t")], None), plain);
    }

    /// Builds a URL the way the client does (`url` percent-encodes query values) and reads the
    /// decoded pairs back, as a server does before checking the signature.
    fn through_the_wire(params: &[(String, String)]) -> Vec<(String, String)> {
        let mut url = url::Url::parse("http://127.0.0.1/x").unwrap();
        url.query_pairs_mut().extend_pairs(params);
        url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    }

    proptest! {
        #[test]
        fn parameter_order_does_not_matter(
            params in proptest::collection::btree_map("[a-z_]{1,12}", "[ -~]{0,20}", 0..8),
            seed in any::<u64>(),
        ) {
            let mut list: Vec<(String, String)> = params.into_iter().collect();
            let forward = sign("secret", "/order/202309/orders/search", &list, None);
            // A deterministic shuffle from the seed.
            let n = list.len();
            for i in 0..n {
                let j = (seed.rotate_left(i as u32) as usize) % n;
                list.swap(i, j);
            }
            prop_assert_eq!(sign("secret", "/order/202309/orders/search", &list, None), forward);
        }

        #[test]
        fn page_tokens_are_encoded_on_the_wire_and_signed_decoded(token in "[A-Za-z0-9/+=]{1,40}") {
            let params = vec![("page_size".to_owned(), "100".to_owned()), ("page_token".to_owned(), token.clone())];
            let mut url = url::Url::parse("http://127.0.0.1/x").unwrap();
            url.query_pairs_mut().extend_pairs(&params);
            let query = url.query().unwrap().to_owned();
            prop_assert!(!query.contains('/') && !query.contains('+'), "{}", query);
            prop_assert_eq!(query.matches('=').count(), 2, "only the two key=value separators: {}", query);
            let back = through_the_wire(&params);
            prop_assert_eq!(&back, &params);
            let signed = String::from_utf8(string_to_sign("k", "/p", &back, None)).unwrap();
            prop_assert!(signed.contains(&format!("page_token{token}")), "{}", signed);
        }

        #[test]
        fn the_body_is_signed_byte_for_byte(body in proptest::collection::vec(any::<u8>(), 0..200), flip in any::<prop::sample::Index>()) {
            let s = string_to_sign("k", "/p", &[("a", "b")], Some(&body));
            prop_assert_eq!(&s[b"k/pab".len()..s.len() - 1], &body[..]);
            if !body.is_empty() {
                let mut other = body.clone();
                let i = flip.index(other.len());
                other[i] ^= 1;
                prop_assert_ne!(sign("k", "/p", &[("a", "b")], Some(&body)), sign("k", "/p", &[("a", "b")], Some(&other)));
            }
        }
    }
}
