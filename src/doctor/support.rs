//! The support-ready report: what a seller sends the platform's support (or ours) when a link can
//! only be removed by support (`disconnect: support`) or a disconnect keeps failing.
//!
//! It is built only from facts that are not secret (versions, names, ids, check results, request
//! ids, receipt paths), and then scrubbed of every secret value the doctor saw, so a token that
//! ended up in an error message by some path still cannot reach the report.

use std::fmt::Write as _;

use chrono::Utc;

use super::Check;
use super::checks::Failure;
use crate::credentials::Secret;
use crate::platform::{DisconnectMode, Shop};
use crate::settings::Settings;
use crate::unlink::audit::AuditLog;

/// The report text.
pub fn report(
    settings: &Settings,
    checks: &[Check],
    failures: &[Failure],
    shops: &Result<Vec<Shop>, String>,
) -> String {
    let mut out = String::new();
    header(&mut out, settings);
    section_shops(&mut out, shops);
    section_checks(&mut out, checks);
    section_failures(&mut out, failures);
    section_requests(&mut out, settings);
    out.push_str(
        "\nWhat to send: this whole report, with the receipts listed above. It holds no token, app \
         secret, TOTP secret or code; never add one, support does not need it.\n",
    );
    out
}

fn header(out: &mut String, s: &Settings) {
    let _ = writeln!(out, "shopunlink support report");
    let _ = writeln!(out, "generated:  {}", Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let _ = writeln!(
        out,
        "tool:       shopunlink {} ({} {})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    let _ = writeln!(out, "platform:   {}", s.platform);
    let _ = writeln!(out, "profile:    {}", s.profile);
}

fn section_shops(out: &mut String, shops: &Result<Vec<Shop>, String>) {
    out.push_str("\nShops and links:\n");
    let shops = match shops {
        Ok(s) => s,
        Err(why) => {
            let _ = writeln!(out, "  (could not be listed: {why})");
            return;
        }
    };
    for shop in shops {
        let _ = writeln!(out, "  {} (shop id {}, region {})", shop.name, shop.id, shop.region);
        for l in &shop.links {
            let support = if l.disconnect == DisconnectMode::Support { "  <- only support can unlink" } else { "" };
            let _ = writeln!(
                out,
                "    {} {} (link id {}, {:?}, disconnect: {}){support}",
                l.handle,
                l.kind.as_str(),
                l.id,
                l.state,
                l.disconnect.as_str()
            );
        }
    }
}

fn section_checks(out: &mut String, checks: &[Check]) {
    out.push_str("\nChecks:\n");
    for c in checks {
        let mark = if c.ok { "ok  " } else { "FAIL" };
        let _ = writeln!(out, "  [{mark}] {}: {}", c.name, c.detail);
    }
}

fn section_failures(out: &mut String, failures: &[Failure]) {
    out.push_str("\nRecent failed disconnects (audit log):\n");
    if failures.is_empty() {
        out.push_str("  none\n");
    }
    for f in failures {
        let ids = if f.request_ids.is_empty() { "none".to_owned() } else { f.request_ids.join(", ") };
        let state = if f.resolved { "finished later" } else { "NOT finished" };
        let _ = writeln!(
            out,
            "  {} {} {} (link {}, shop {}, {state}): {}\n    request ids: {ids}",
            f.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            f.platform,
            f.handle,
            f.link_id,
            f.shop_id,
            f.error
        );
    }
}

fn section_requests(out: &mut String, settings: &Settings) {
    let events = AuditLog::new(&settings.state_dir).events().unwrap_or_default();
    let requests: Vec<_> = events.iter().filter(|e| e.event == crate::unlink::audit::Kind::SupportRequest).collect();
    out.push_str("\nSupport requests prepared by `shopunlink disconnect` (receipts):\n");
    if requests.is_empty() {
        out.push_str("  none\n");
    }
    for e in requests {
        let receipt = e.receipt.as_ref().map_or("(no receipt)".into(), |p| p.display().to_string());
        let _ =
            writeln!(out, "  {} {}: {receipt}", e.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), e.handle);
    }
}

/// Replaces every occurrence of a secret value with `(redacted)`. Values shorter than 4
/// characters are skipped: they would blank out ordinary words and cannot identify a secret.
pub fn scrub(text: &str, secrets: &[Secret]) -> String {
    let text = crate::net::redact_urls(text);
    secrets.iter().filter(|s| s.expose().len() >= 4).fold(text, |acc, s| acc.replace(s.expose(), "(redacted)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_every_secret_value() {
        let text = "error: token tok-123456 refused; again tok-123456; app s3cr3t-app";
        let out = scrub(text, &[Secret::new("tok-123456"), Secret::new("s3cr3t-app"), Secret::new("a")]);
        assert_eq!(out, "error: token (redacted) refused; again (redacted); app (redacted)");
    }
}
