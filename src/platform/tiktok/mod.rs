//! The TikTok Shop Open API platform (`reference/tiktok-shop-open-api.md`).
//!
//! One concern per file: [`sign`] (HMAC signing), [`client`] (signed HTTP, envelope, errors),
//! [`retry`] and [`limiter`] (backoff and the client-side rate limit), [`session`] (tokens and
//! their one-time refresh), [`api`] (endpoints and their `data`), [`datasets`] (paged export),
//! [`readiness`] and [`links`] (status and the guided disconnect), [`token`]; base URLs and the HTTP client are [`crate::net`]'s.

pub mod affiliates;
pub mod api;
pub mod client;
pub mod datasets;
pub mod doctor;
pub mod kinds;
pub mod limiter;
pub mod links;
pub mod login;
pub mod readiness;
pub mod retry;
pub mod session;
pub mod settings;
pub mod sign;
pub mod tables;
pub mod token;

use std::sync::Arc;

use async_trait::async_trait;

use self::client::Client;
use self::retry::Backoff;
use self::session::Session;
use self::settings::TiktokSettings;
use super::{
    Census, CensusRequest, Challenge, ChallengeAnswer, DatasetSpec, DisconnectOutcome, Grant, HealthCheck, Interaction,
    KindSpec, Link, LoginOptions, Page, PageRequest, Platform, PlatformContext, Provider, Readiness, SettingInfo, Shop,
};
use crate::credentials::{Credentials, Secret};
use crate::error::{Error, Result};

/// What sellers call the platform (plans, support letters, login).
const DISPLAY_NAME: &str = "TikTok Shop";

/// The `tiktok` entry of the registry.
pub static PROVIDER: TiktokProvider = TiktokProvider;

/// TikTok Shop as a whole: its settings, login and doctor checks.
#[derive(Debug)]
pub struct TiktokProvider;

#[async_trait]
impl Provider for TiktokProvider {
    fn name(&self) -> &'static str {
        "tiktok"
    }

    fn display_name(&self) -> &'static str {
        DISPLAY_NAME
    }

    fn about(&self) -> &'static str {
        "TikTok Shop Open API (app key, secret and seller tokens)"
    }

    fn settings(&self) -> Vec<SettingInfo> {
        settings::all()
    }

    fn check_settings(&self, settings: &super::PlatformSettings) -> Result<()> {
        TiktokSettings::resolve(settings).map(|_| ())
    }

    fn needs_credentials(&self) -> bool {
        true
    }

    fn uses_profile_totp(&self) -> bool {
        true
    }

    fn open(&self, ctx: &PlatformContext) -> Result<Box<dyn Platform>> {
        Tiktok::open(ctx)
    }

    async fn login(
        &self,
        ctx: &PlatformContext,
        io: &dyn Interaction,
        options: &LoginOptions,
    ) -> Result<Option<Credentials>> {
        login::login(ctx, io, options).await.map(Some)
    }

    async fn doctor(&self, ctx: &PlatformContext) -> Vec<HealthCheck> {
        doctor::checks(ctx).await
    }
}

/// The `tiktok` platform: one shared client (limiter, tokens) for every concurrent task.
#[derive(Debug)]
pub struct Tiktok {
    client: Client,
}

impl Tiktok {
    /// Builds the platform from the resolved settings; base URLs are checked here (a plain
    /// `http://` to anything but loopback is a usage error before any request is made).
    pub fn open(ctx: &PlatformContext) -> Result<Box<dyn Platform>> {
        Ok(Box::new(Tiktok::new(ctx)?))
    }

    /// The concrete platform (for tests and benchmarks that drive it without the registry).
    pub fn new(ctx: &PlatformContext) -> Result<Tiktok> {
        let tiktok = TiktokSettings::resolve(&ctx.settings)?;
        let api = crate::net::checked(&ctx.settings.origin(&settings::API_BASE), &tiktok.api_base)?;
        crate::net::checked(&ctx.settings.origin(&settings::AUTH_BASE), &tiktok.auth_base)?;
        let credentials = ctx.credentials.load(&ctx.profile)?;
        let session = Session::new(&ctx.profile, tiktok.clone(), ctx.credentials.clone(), credentials);
        let session = Arc::new(session.with_state_dir(&ctx.state_dir));
        let backoff = Backoff::from_base_ms(tiktok.retry_base_ms);
        Ok(Tiktok { client: Client::new(api, session, tiktok.rate_limit, backoff)? })
    }
}

#[async_trait]
impl Platform for Tiktok {
    fn name(&self) -> &'static str {
        "tiktok"
    }

    async fn shops(&self) -> Result<Vec<Shop>> {
        links::shops(&self.client).await
    }

    async fn shop_list(&self) -> Result<Vec<Shop>> {
        links::shop_list(&self.client).await
    }

    async fn readiness(&self, shop: &Shop) -> Result<Readiness> {
        let mut readiness = readiness::read(&self.client, &shop.handle).await?;
        readiness.pending_commissions = affiliates::pending_commissions(&self.client, shop).await?;
        Ok(readiness)
    }

    fn display_name(&self) -> &'static str {
        DISPLAY_NAME
    }

    fn datasets(&self) -> Vec<DatasetSpec> {
        tables::specs()
    }

    fn link_kinds(&self) -> Vec<KindSpec> {
        kinds::specs()
    }

    async fn census(&self, shop: &Shop, request: CensusRequest<'_>) -> Result<Option<Census>> {
        datasets::census(&self.client, &shop.handle, request).await
    }

    fn rate_limit(&self) -> Option<u32> {
        Some(self.client.rate_limit())
    }

    async fn changed_since(&self, shop: &Shop, since: chrono::DateTime<chrono::Utc>) -> Result<Option<bool>> {
        datasets::changed_since(&self.client, &shop.handle, since).await.map(Some)
    }

    async fn page(&self, shop: &Shop, request: PageRequest<'_>) -> Result<Page> {
        datasets::page(&self.client, &shop.handle, request.dataset, request.range, request.cursor).await
    }

    /// TikTok has no challenge of its own: the profile's TOTP is the second factor.
    async fn start_challenge(&self, _shop: &Shop, _link: &Link) -> Result<Option<Challenge>> {
        Ok(None)
    }

    async fn answer_challenge(&self, _challenge: &Challenge, _code: &Secret) -> Result<ChallengeAnswer> {
        Err(Error::internal("TikTok issues no challenge of its own; the profile's TOTP is checked locally"))
    }

    async fn disconnect(&self, shop: &Shop, link: &Link, _grant: &Grant) -> Result<DisconnectOutcome> {
        if link.kind == super::LinkKind::AFFILIATE_CREATOR {
            return affiliates::disconnect(&self.client, shop, link).await;
        }
        links::disconnect(&self.client, shop, link).await
    }

    fn manual_steps(&self, shop: &Shop, link: &Link) -> Vec<String> {
        links::manual_steps(shop, link)
    }
}
