//! The local checks: config, state directory, credentials, keyring, TOTP, audit log.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use super::Check;
use crate::credentials::keyring_store::Failure as KeyringFailure;
use crate::credentials::{Chain, Secret, Source, totp};
use crate::settings::Settings;
use crate::unlink::audit::{AuditLog, Event, Kind};

/// How many recent failures the report lists.
pub const RECENT_FAILURES: usize = 5;

/// A failed disconnect from the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Failure {
    /// When it failed.
    pub time: DateTime<Utc>,
    /// Platform.
    pub platform: String,
    /// Profile.
    pub profile: String,
    /// Shop id.
    pub shop_id: String,
    /// Link id.
    pub link_id: String,
    /// Link handle.
    pub handle: String,
    /// What went wrong.
    pub error: String,
    /// The platform's request ids, for support.
    pub request_ids: Vec<String>,
    /// True when a later run finished the disconnect.
    pub resolved: bool,
}

/// Which config file, profile and platform are in use.
pub fn config(settings: &Settings) -> Check {
    let path = settings.config_path.display();
    let file = if settings.config_path.exists() { format!("{path}") } else { format!("{path} (absent: defaults)") };
    Check::pass("config", format!("config {file}; profile {}; platform {}", settings.profile, settings.platform))
}

/// The state directory (sandbox world, receipts, audit log) exists and is writable, or can be
/// created.
pub fn state_dir(settings: &Settings) -> Check {
    let dir = &settings.state_dir;
    let existing = dir.ancestors().find(|d| d.exists());
    let writable = existing.is_some_and(|d| std::fs::metadata(d).is_ok_and(|m| !m.permissions().readonly()));
    if writable {
        Check::pass("state_dir", format!("{}", dir.display()))
    } else {
        Check::fail(
            "state_dir",
            format!("{} cannot be written", dir.display()),
            "set SHOPUNLINK_HOME to a writable directory",
        )
    }
}

/// Where the credentials come from and whether they are usable; also returns the secret values
/// found, so the support report can be scrubbed of them.
pub fn credentials(settings: &Settings, chain: &Chain, needed: bool) -> (Check, Vec<Secret>) {
    let login = format!("run `shopunlink auth login --platform {} --profile {}`", settings.platform, settings.profile);
    if !needed {
        return (Check::pass("credentials", format!("none needed by platform {}", settings.platform)), Vec::new());
    }
    let loaded = chain.locate().and_then(|l| Ok((l.found, l.store.load(chain.profile())?)));
    match loaded {
        Ok((source, Some(c))) => {
            let mut secrets = vec![c.app_secret.clone(), c.access_token.clone()];
            secrets.extend(c.refresh_token.clone());
            (credential_expiry(source, c.access_token_expires_at, c.refresh_token_expires_at, &login), secrets)
        }
        Ok((_, None)) => (Check::fail("credentials", "none found (env, keyring, file)", login), Vec::new()),
        Err(e) => (Check::fail("credentials", e.to_string(), e.hints().join("; ")), Vec::new()),
    }
}

fn credential_expiry(
    source: Source,
    access: Option<DateTime<Utc>>,
    refresh: Option<DateTime<Utc>>,
    login: &str,
) -> Check {
    let now = Utc::now();
    let from = format!("from {}", source.describe());
    match (access, refresh) {
        (_, Some(r)) if r <= now => {
            Check::fail("credentials", format!("{from}; the refresh token expired at {}", r.to_rfc3339()), login)
        }
        (Some(a), _) if a <= now => Check::pass(
            "credentials",
            format!("{from}; access token expired at {}, renewed on next use", a.to_rfc3339()),
        ),
        (Some(a), _) => Check::pass("credentials", format!("{from}; access token expires {}", a.to_rfc3339())),
        (None, _) => Check::pass("credentials", format!("{from}; expiry unknown")),
    }
}

/// Whether the OS keyring answers. An unreachable keyring is only a problem when the platform
/// needs credentials and the environment does not provide them.
pub fn keyring(chain: &Chain, needed: bool) -> Check {
    let store = chain.keyring();
    if store.is_disabled() {
        return Check::pass("keyring", "turned off (SHOPUNLINK_KEYRING=none): the 0600 file is used");
    }
    match store.probe(chain.profile()) {
        Ok(()) => Check::pass("keyring", "the OS keyring answers"),
        Err(KeyringFailure::Unavailable(why) | KeyringFailure::Corrupt(why)) if !needed || chain.env().is_set() => {
            Check::pass("keyring", format!("not reachable ({why}); not needed here"))
        }
        Err(KeyringFailure::Unavailable(why) | KeyringFailure::Corrupt(why)) => Check::fail(
            "keyring",
            format!("not reachable ({why}): secrets go to the 0600 file under the state directory"),
            "on a server or in CI, use SHOPUNLINK_<PLATFORM>_* variables; or accept the file with --insecure-storage",
        ),
    }
}

/// Whether the profile's TOTP is enrolled, where the platform needs it.
pub fn totp(settings: &Settings, chain: &Chain, needed: bool) -> Check {
    match totp::load(chain, settings.totp_secret.as_ref()) {
        Ok(Some(e)) => Check::pass("totp", format!("enrolled ({})", e.source.describe())),
        Ok(None) if !needed => {
            Check::pass("totp", format!("not enrolled; platform {} sends its own codes", settings.platform))
        }
        Ok(None) => Check::fail(
            "totp",
            "not enrolled: disconnects on this platform need it",
            format!("run `shopunlink auth totp enroll --profile {}`", settings.profile),
        ),
        Err(e) => Check::fail("totp", e.to_string(), e.hints().join("; ")),
    }
}

/// The recent failed disconnects, and whether any is still unfinished.
pub fn audit(settings: &Settings) -> (Check, Vec<Failure>) {
    let events = match AuditLog::new(&settings.state_dir).events() {
        Ok(e) => e,
        Err(e) => return (Check::fail("audit_log", e.to_string(), "check the state directory"), Vec::new()),
    };
    let failures = recent_failures(&events);
    let open: Vec<&Failure> = failures.iter().filter(|f| !f.resolved).collect();
    let check = match open.first() {
        None if failures.is_empty() => Check::pass("audit_log", "no failed disconnects"),
        None => Check::pass(
            "audit_log",
            format!(
                "{}, all finished since",
                crate::words::count(failures.len() as u64, "earlier failure", "earlier failures")
            ),
        ),
        Some(f) => Check::fail(
            "audit_log",
            format!("the disconnect of {} failed at {}: {}", f.handle, f.time.to_rfc3339(), f.error),
            format!("rerun `shopunlink disconnect {}`; it finishes the job, or see the support report", f.handle),
        ),
    };
    (check, failures)
}

fn recent_failures(events: &[Event]) -> Vec<Failure> {
    let failed = events.iter().enumerate().filter(|(_, e)| matches!(e.event, Kind::Failed | Kind::CodeReused));
    let mut out: Vec<Failure> = failed
        .map(|(i, e)| Failure {
            time: e.time,
            platform: e.platform.clone(),
            profile: e.profile.clone(),
            shop_id: e.shop_id.clone(),
            link_id: e.link_id.clone(),
            handle: e.handle.clone(),
            error: e.error.clone().unwrap_or_default(),
            request_ids: e.request_ids.clone(),
            resolved: events[i + 1..]
                .iter()
                .any(|later| later.link_id == e.link_id && later.shop_id == e.shop_id && later.event == Kind::Done),
        })
        .collect();
    let skip = out.len().saturating_sub(RECENT_FAILURES);
    out.drain(..skip);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: Kind, link: &str) -> Event {
        Event {
            time: Utc::now(),
            event: name,
            platform: "example".into(),
            profile: "default".into(),
            shop_id: "s1".into(),
            shop_name: None,
            link_id: link.into(),
            handle: format!("@{link}"),
            request_ids: vec![format!("req-{link}")],
            error: Some("boom".into()),
            receipt: None,
            outcome: None,
            details: None,
        }
    }

    #[test]
    fn failures_keep_request_ids_and_know_when_a_rerun_finished() {
        let events =
            vec![event(Kind::Failed, "a"), event(Kind::Failed, "b"), event(Kind::Attempt, "a"), event(Kind::Done, "a")];
        let f = recent_failures(&events);
        assert_eq!(f.len(), 2);
        assert!(f[0].resolved && !f[1].resolved);
        assert_eq!(f[1].request_ids, ["req-b"]);
    }

    #[test]
    fn only_the_most_recent_failures_are_listed() {
        let events: Vec<Event> = (0..9).map(|i| event(Kind::Failed, &i.to_string())).collect();
        let f = recent_failures(&events);
        assert_eq!(f.len(), RECENT_FAILURES);
        assert_eq!(f.last().unwrap().link_id, "8");
    }
}
