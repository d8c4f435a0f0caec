//! Declared links: the links a seller tells the tool about because no API lists them (an
//! official TikTok account, marketing accounts, other apps, an MCN).
//!
//! They are kept per profile under `state/declared/<profile>.json` (atomic, 0600) and merged into
//! every platform's shops by [`WithDeclared`], so each platform gets them for free. A declared
//! link is cut by its owner in the platform's own UI: the tool does every part it can, then
//! records the owner's confirmation.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::spec::kind_spec;
use super::{
    Challenge, ChallengeAnswer, DatasetSpec, DisconnectMode, DisconnectOutcome, Grant, KindSpec, Link, LinkKind,
    LinkSource, LinkState, Page, PageRequest, Platform, PlatformContext, Readiness, Shop, bare_handle,
};
use crate::credentials::Secret;
use crate::error::{Error, Result};
use crate::fsutil;

/// The most declared links one profile may keep: a guard against a runaway script.
pub const MAX_LINKS: usize = 1000;

/// One declared link as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Declared {
    /// The platform it belongs to.
    pub platform: String,
    /// The shop's id.
    pub shop_id: String,
    /// What kind of link.
    pub kind: LinkKind,
    /// The handle as the seller gave it (`@brand.us`).
    pub handle: String,
    /// A name to show.
    pub display_name: String,
    /// When it was linked, if the seller knows.
    pub linked_since: Option<DateTime<Utc>>,
    /// When it was declared.
    pub declared_at: DateTime<Utc>,
    /// Linked, waiting for the owner, or unlinked (the owner confirmed).
    pub state: LinkState,
    /// When the owner confirmed the unlink.
    #[serde(default)]
    pub unlinked_at: Option<DateTime<Utc>>,
}

impl Declared {
    /// The stable link id: `decl-` and the bare, lowercased handle.
    pub fn id(&self) -> String {
        format!("decl-{}", bare_handle(&self.handle))
    }

    fn to_link(&self, spec: &KindSpec) -> Link {
        Link {
            id: self.id(),
            kind: self.kind,
            handle: self.handle.clone(),
            display_name: self.display_name.clone(),
            state: self.state,
            linked_since: self.linked_since,
            disconnect: spec.declarable.unwrap_or(DisconnectMode::Guided),
            details: serde_json::Map::new(),
            source: LinkSource::Declared,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    schema_version: u32,
    links: Vec<Declared>,
}

/// The declared links of one profile.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

impl Store {
    /// The store of `profile` under `state_dir`.
    pub fn new(state_dir: &Path, profile: &str) -> Store {
        Store { path: state_dir.join("declared").join(format!("{profile}.json")) }
    }

    /// Every declared link.
    pub fn load(&self) -> Result<Vec<Declared>> {
        let Some(text) = fsutil::read_optional(&self.path)? else { return Ok(Vec::new()) };
        let file: File = serde_json::from_str(&text).map_err(|e| {
            Error::usage(format!("{} is not a declared-links file shopunlink can read", self.path.display()))
                .with_source(e)
                .with_hint("fix or remove the file; `shopunlink links list` shows what it holds once it parses")
                .with_detail("path", self.path.display().to_string())
        })?;
        if file.schema_version > 1 {
            return Err(Error::usage(format!("{} was written by a newer shopunlink", self.path.display()))
                .with_hint("upgrade shopunlink"));
        }
        Ok(file.links)
    }

    /// Replaces every declared link.
    pub fn save(&self, links: &[Declared]) -> Result<()> {
        let dir = self.path.parent().expect("a file in a folder");
        fsutil::create_private_dir(dir)?;
        let doc = serde_json::json!({ "schema_version": 1, "links": links });
        let text =
            serde_json::to_string_pretty(&doc).map_err(|e| Error::internal("cannot encode links").with_source(e))?;
        fsutil::write_atomic(&self.path, text.as_bytes())
    }

    /// Loads, applies `change` and saves.
    pub fn update<T>(&self, change: impl FnOnce(&mut Vec<Declared>) -> Result<T>) -> Result<T> {
        let mut links = self.load()?;
        let out = change(&mut links)?;
        self.save(&links)?;
        Ok(out)
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A platform with the seller's declared links merged into its shops.
pub struct WithDeclared {
    inner: Box<dyn Platform>,
    store: Store,
}

impl std::fmt::Debug for WithDeclared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithDeclared").field("platform", &self.inner.name()).finish()
    }
}

impl WithDeclared {
    /// Wraps `inner`.
    pub fn new(inner: Box<dyn Platform>, ctx: &PlatformContext) -> WithDeclared {
        WithDeclared { inner, store: Store::new(&ctx.state_dir, &ctx.profile) }
    }

    fn merge(&self, shops: &mut [Shop]) -> Result<()> {
        let declared = self.store.load()?;
        let kinds = self.inner.link_kinds();
        for shop in shops.iter_mut() {
            for d in declared.iter().filter(|d| d.platform == self.inner.name() && d.shop_id == shop.id) {
                // The platform's own report wins: a link it lists is shown once, as the platform's.
                let reported = shop.links.iter().any(|l| bare_handle(&l.handle) == bare_handle(&d.handle));
                if !reported {
                    shop.links.push(d.to_link(&kind_spec(&kinds, d.kind)));
                }
            }
        }
        Ok(())
    }

    fn set_state(&self, shop: &Shop, link: &Link, state: LinkState) -> Result<()> {
        let platform = self.inner.name();
        self.store.update(|links| {
            let found = links.iter_mut().find(|d| d.platform == platform && d.shop_id == shop.id && d.id() == link.id);
            let d = found.ok_or_else(|| Error::not_found(format!("{} is no longer declared", link.handle)))?;
            d.state = state;
            d.unlinked_at = (state == LinkState::Unlinked).then(Utc::now);
            Ok(())
        })
    }

    fn declared_steps(&self, shop: &Shop, link: &Link) -> Vec<String> {
        let spec = kind_spec(&self.inner.link_kinds(), link.kind);
        let place = spec.where_to_unlink.clone().unwrap_or_else(|| format!("{}'s own UI", self.inner.display_name()));
        let mut steps = vec![format!("as the shop owner of {}, open {place}", shop.name)];
        steps.push(format!("unlink {} ({}) there", link.handle, spec.label));
        steps.push(format!(
            "then confirm here: answer yes when asked, or rerun with --owner-done (`shopunlink disconnect {} --owner-done`)",
            link.handle
        ));
        steps
    }
}

#[async_trait]
impl Platform for WithDeclared {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn display_name(&self) -> &'static str {
        self.inner.display_name()
    }

    async fn shops(&self) -> Result<Vec<Shop>> {
        let mut shops = self.inner.shops().await?;
        self.merge(&mut shops)?;
        Ok(shops)
    }

    async fn readiness(&self, shop: &Shop) -> Result<Readiness> {
        self.inner.readiness(shop).await
    }

    fn datasets(&self) -> Vec<DatasetSpec> {
        self.inner.datasets()
    }

    fn link_kinds(&self) -> Vec<KindSpec> {
        self.inner.link_kinds()
    }

    async fn shop_list(&self) -> Result<Vec<Shop>> {
        self.inner.shop_list().await
    }

    async fn census(&self, shop: &Shop, request: super::CensusRequest<'_>) -> Result<Option<super::Census>> {
        self.inner.census(shop, request).await
    }

    fn rate_limit(&self) -> Option<u32> {
        self.inner.rate_limit()
    }

    async fn changed_since(&self, shop: &Shop, since: DateTime<Utc>) -> Result<Option<bool>> {
        self.inner.changed_since(shop, since).await
    }

    async fn page(&self, shop: &Shop, request: PageRequest<'_>) -> Result<Page> {
        self.inner.page(shop, request).await
    }

    async fn start_challenge(&self, shop: &Shop, link: &Link) -> Result<Option<Challenge>> {
        self.inner.start_challenge(shop, link).await
    }

    async fn answer_challenge(&self, challenge: &Challenge, code: &Secret) -> Result<ChallengeAnswer> {
        self.inner.answer_challenge(challenge, code).await
    }

    async fn disconnect(&self, shop: &Shop, link: &Link, grant: &Grant) -> Result<DisconnectOutcome> {
        if link.source != LinkSource::Declared {
            return self.inner.disconnect(shop, link, grant).await;
        }
        // Nothing on the platform can be asked: the owner does it. The store remembers that the
        // tool's part is done, so status shows the link as waiting for the owner.
        self.set_state(shop, link, LinkState::AwaitingOwner)?;
        Ok(DisconnectOutcome {
            performed: vec![format!("recorded that {} is waiting for the owner's unlink", link.handle)],
            manual_steps: self.declared_steps(shop, link),
            request_ids: Vec::new(),
        })
    }

    async fn owner_confirmed(&self, shop: &Shop, link: &Link) -> Result<()> {
        if link.source == LinkSource::Declared {
            self.set_state(shop, link, LinkState::Unlinked)
        } else {
            self.inner.owner_confirmed(shop, link).await
        }
    }

    async fn fetch_media(&self, url: &str, cap: u64) -> std::result::Result<crate::net::media::Media, String> {
        self.inner.fetch_media(url, cap).await
    }

    fn manual_steps(&self, shop: &Shop, link: &Link) -> Vec<String> {
        if link.source == LinkSource::Declared {
            self.declared_steps(shop, link)
        } else {
            self.inner.manual_steps(shop, link)
        }
    }
}
