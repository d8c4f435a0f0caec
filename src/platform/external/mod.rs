//! External platforms: a `shopunlink-platform-NAME` executable behind the plugin protocol.

pub mod rpc;
