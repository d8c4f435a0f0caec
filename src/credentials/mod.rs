//! Secrets and where they are kept (SPEC §7).

mod secret;

pub use secret::Secret;
