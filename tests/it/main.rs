//! One integration-test binary (built once): every test drives the real `shopunlink` binary with a
//! private temporary `SHOPUNLINK_HOME`, no terminal and no network beyond loopback.

mod bad_input;
mod common;
mod fake_tiktok;
mod resume;
mod sandbox_flow;
mod tiktok;
