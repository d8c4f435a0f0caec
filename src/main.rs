//! The `shopunlink` binary: everything lives in the library; this only maps the result to an exit
//! code.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(shopunlink::main_entry(std::env::args_os()))
}
