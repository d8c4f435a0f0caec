//! [`External`]: a plugin process behind the [`Platform`] trait.
//!
//! Each trait method is one request (docs/plugin-protocol.md §4). The trait's synchronous parts
//! (`open`, `manual_steps`) wait for the plugin with `block_in_place`, which the program's
//! multi-threaded runtime allows; on any other runtime they fail with an error instead of
//! panicking.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::rpc::Connection;
use super::wire::{
    AnswerResult, Capabilities, ChangedResult, CodeResult, DisconnectResult, Hello, PROTOCOL_VERSIONS, ShopsResult,
    StepsResult, WirePage, WireReadiness,
};
use crate::credentials::Secret;
use crate::error::{Error, Result};
use crate::platform::{
    Challenge, ChallengeAnswer, DatasetSpec, DisconnectOutcome, Grant, KindSpec, Link, Page, PageRequest, Platform,
    Readiness, Shop,
};

/// How long a plugin may take to answer anything but `initialize`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a plugin may take to start and answer `initialize`.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `shutdown` may take before the plugin is killed.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// An external platform: a running `shopunlink-platform-NAME` after a successful handshake.
#[derive(Debug)]
pub struct External {
    conn: Connection,
    /// The registry name, leaked once per run: the trait hands out `&'static str`.
    name: &'static str,
    display_name: &'static str,
    hello: Hello,
    timeout: Duration,
}

/// What the host sends in `initialize` besides the versions.
#[derive(Debug)]
pub struct Introduction {
    /// The profile.
    pub profile: String,
    /// The plugin's own state directory.
    pub state_dir: std::path::PathBuf,
    /// `{"env": {...}, "config": {...}}`.
    pub settings: Value,
}

impl External {
    /// Runs the handshake on a started plugin. `timeout` replaces both default deadlines when set.
    pub async fn handshake(
        conn: Connection,
        name: &str,
        intro: Introduction,
        timeout: Option<Duration>,
    ) -> Result<External> {
        let params = json!({
            "protocol_versions": PROTOCOL_VERSIONS,
            "host": {"name": "shopunlink", "version": env!("CARGO_PKG_VERSION")},
            "profile": intro.profile,
            "state_dir": intro.state_dir,
            "settings": intro.settings,
        });
        let hello: Hello = conn
            .call("initialize", params, timeout.unwrap_or(HANDSHAKE_TIMEOUT))
            .await
            .map_err(|e| version_hint(e, conn.program()))?;
        check_hello(&hello, name, conn.program())?;
        tracing::info!("{}: protocol {}, {}", conn.program(), hello.protocol_version, hello.display_name);
        Ok(External {
            name: leak(name),
            display_name: leak(&hello.display_name),
            hello,
            conn,
            timeout: timeout.unwrap_or(REQUEST_TIMEOUT),
        })
    }

    /// The plugin's optional features.
    pub fn capabilities(&self) -> Capabilities {
        self.hello.capabilities
    }

    /// The handshake's result.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    /// True when the plugin declared credential fields it needs.
    pub fn needs_credentials(&self) -> bool {
        self.hello.credentials.as_ref().is_some_and(|c| !c.is_null())
    }

    /// Sends the stored credentials (`null` when none are stored).
    pub async fn send_credentials(&self, credentials: Value) -> Result<()> {
        self.call::<Value>("set_credentials", json!({ "credentials": credentials })).await.map(drop)
    }

    async fn call<T: serde::de::DeserializeOwned>(&self, method: &str, params: Value) -> Result<T> {
        self.conn.call(method, params, self.timeout).await
    }

    fn bad_answer(&self, method: &str, why: impl std::fmt::Display) -> Error {
        Error::platform(format!("the platform plugin {} gave an unusable {method} answer: {why}", self.conn.program()))
            .with_detail("plugin", self.conn.program().to_owned())
    }
}

/// The JSON-RPC code a plugin answers `initialize` with when it speaks none of the host's versions.
const NO_COMMON_VERSION: i64 = -32001;

/// Adds what to do when the plugin said it speaks none of our protocol versions.
fn version_hint(e: Error, program: &str) -> Error {
    if e.detail("rpc_code") == Some(&NO_COMMON_VERSION.into()) {
        return e.with_hint(format!(
            "shopunlink speaks plugin protocol {PROTOCOL_VERSIONS:?}; update {program} or shopunlink"
        ));
    }
    e
}

fn check_hello(hello: &Hello, name: &str, program: &str) -> Result<()> {
    let fail = |why: String| Error::platform(format!("the platform plugin {program} failed the handshake: {why}"));
    if !PROTOCOL_VERSIONS.contains(&hello.protocol_version) {
        return Err(fail(format!(
            "it speaks protocol {}, shopunlink speaks {PROTOCOL_VERSIONS:?}",
            hello.protocol_version
        ))
        .with_hint(format!("update {program} or shopunlink so that they share a protocol version")));
    }
    if hello.name != name {
        return Err(fail(format!("it calls itself {:?}, not {name:?}", hello.name)));
    }
    if hello.datasets.is_empty() {
        return Err(fail("it lists no datasets".into()));
    }
    Ok(())
}

/// A name the trait wants as `&'static str`. One plugin is opened per run (twice under
/// `platform check`), so the few bytes leaked are bounded.
fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

/// Waits for `f` from synchronous code running on the program's multi-threaded runtime.
pub fn block_on<F: Future>(f: F) -> Result<F::Output> {
    let handle = tokio::runtime::Handle::try_current()
        .map_err(|_| Error::internal("an external platform needs the async runtime"))?;
    if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        return Err(Error::internal("an external platform needs the multi-threaded runtime"));
    }
    Ok(tokio::task::block_in_place(|| handle.block_on(f)))
}

fn grant_json(grant: &Grant) -> Value {
    match grant {
        Grant::Challenge(id) => json!({"type": "challenge", "id": id}),
        Grant::LocalTotp => json!({"type": "local_totp"}),
    }
}

#[async_trait]
impl Platform for External {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn shops(&self) -> Result<Vec<Shop>> {
        let result: ShopsResult = self.call("shops", json!({})).await?;
        Ok(result.shops.into_iter().map(|s| s.into_shop()).collect())
    }

    async fn readiness(&self, shop: &Shop) -> Result<Readiness> {
        let wire: WireReadiness = self.call("readiness", json!({"shop_id": shop.id})).await?;
        wire.into_readiness().map_err(|e| self.bad_answer("readiness", e))
    }

    fn display_name(&self) -> &'static str {
        self.display_name
    }

    fn datasets(&self) -> Vec<DatasetSpec> {
        self.hello.datasets.clone()
    }

    fn link_kinds(&self) -> Vec<KindSpec> {
        self.hello.link_kinds.clone()
    }

    async fn changed_since(&self, shop: &Shop, since: DateTime<Utc>) -> Result<Option<bool>> {
        if !self.hello.capabilities.changed_since {
            return Ok(None);
        }
        let r: ChangedResult = self.call("changed_since", json!({"shop_id": shop.id, "since": since})).await?;
        Ok(r.changed)
    }

    async fn page(&self, shop: &Shop, request: PageRequest<'_>) -> Result<Page> {
        let params = json!({
            "shop_id": shop.id,
            "dataset": request.dataset,
            "range": request.range,
            "cursor": request.cursor,
        });
        let page = self
            .conn
            .call_with("page", params, self.timeout, |raw| {
                serde_json::from_str::<WirePage>(raw.get()).map(|p| p.into_page())
            })
            .await?;
        page.map_err(|e| self.bad_answer("page", e))
    }

    async fn start_challenge(&self, shop: &Shop, link: &Link) -> Result<Option<Challenge>> {
        if !self.hello.capabilities.challenge {
            return Ok(None);
        }
        self.call("start_challenge", json!({"shop_id": shop.id, "link_id": link.id})).await
    }

    async fn answer_challenge(&self, challenge: &Challenge, code: &Secret) -> Result<ChallengeAnswer> {
        let params = json!({"challenge": challenge, "code": code.expose()});
        let r: AnswerResult = self.call("answer_challenge", params).await?;
        match (r.accepted, r.grant, r.remaining) {
            (true, Some(grant), _) => Ok(ChallengeAnswer::Accepted(Grant::Challenge(grant))),
            (false, _, Some(remaining)) => Ok(ChallengeAnswer::Rejected { remaining }),
            _ => Err(self.bad_answer("answer_challenge", "it needs a grant when accepted, remaining when not")),
        }
    }

    async fn disconnect(&self, shop: &Shop, link: &Link, grant: &Grant) -> Result<DisconnectOutcome> {
        let params = json!({"shop_id": shop.id, "link_id": link.id, "grant": grant_json(grant)});
        let r: DisconnectResult = self.call("disconnect", params).await?;
        Ok(DisconnectOutcome { performed: r.performed, manual_steps: r.manual_steps, request_ids: r.request_ids })
    }

    async fn owner_confirmed(&self, shop: &Shop, link: &Link) -> Result<()> {
        if !self.hello.capabilities.owner_confirmed {
            return Ok(());
        }
        self.call::<Value>("owner_confirmed", json!({"shop_id": shop.id, "link_id": link.id})).await.map(drop)
    }

    fn manual_steps(&self, shop: &Shop, link: &Link) -> Vec<String> {
        let params = json!({"shop_id": shop.id, "link_id": link.id});
        match block_on(self.call::<StepsResult>("manual_steps", params)).and_then(|r| r) {
            Ok(r) => r.steps,
            Err(e) => vec![format!(
                "{} could not say how to unlink {} ({}); follow {}'s own help pages.",
                self.conn.program(),
                link.handle,
                e.message(),
                self.display_name
            )],
        }
    }

    fn is_simulated(&self) -> bool {
        self.hello.capabilities.simulated
    }

    async fn simulated_code(&self, challenge: &Challenge) -> Result<Option<String>> {
        if !self.hello.capabilities.simulated {
            return Ok(None);
        }
        let r: CodeResult = self.call("simulated_code", json!({ "challenge": challenge })).await?;
        Ok(Some(r.code))
    }
}

impl Drop for External {
    /// Says goodbye properly when possible (the plugin may want to flush its state); the child is
    /// killed regardless when the connection drops.
    fn drop(&mut self) {
        let _ = block_on(self.conn.shutdown(SHUTDOWN_TIMEOUT));
    }
}
