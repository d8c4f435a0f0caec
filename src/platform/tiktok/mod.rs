//! The TikTok Shop Open API platform (`reference/tiktok-shop-open-api.md`).

pub mod base_url;
pub mod token;
