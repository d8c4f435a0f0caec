//! One integration-test binary (built once): every test drives the real `shopunlink` binary with a
//! private temporary `SHOPUNLINK_HOME`, no terminal and no network beyond loopback.

mod auth;
mod bad_input;
mod chaos;
mod common;
mod doctor;
mod examples;
mod fake_tiktok;
mod fuzz;
mod links;
mod plugins;
mod resume;
mod sandbox_flow;
mod schema;
mod screens;
mod scripting;
mod secrets;
mod signals;
mod terminal;
mod tiktok;
mod token_server;
mod walkthrough;
