//! Step 4: the user confirms by typing the account handle; scripts pass `--yes`.

use crate::error::{Error, Result};
use crate::platform::{Link, bare_handle};
use crate::ui::Ui;

/// True when `typed` is the handle, ignoring case, surrounding space and a missing `@`.
pub fn matches_handle(typed: &str, handle: &str) -> bool {
    !typed.trim().is_empty() && bare_handle(typed) == bare_handle(handle)
}

/// Asks for confirmation, unless `yes`. Without a terminal, `--yes` is required (exit 2).
pub fn confirm(ui: &Ui, link: &Link, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    let typed = ui.prompt(&format!("Type {} to disconnect it", link.handle), "--yes")?;
    if matches_handle(&typed, &link.handle) {
        Ok(())
    } else {
        Err(Error::cancelled(format!("you typed {typed:?}, not {}; nothing was changed", link.handle)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_match_is_forgiving_only_about_case_and_at() {
        assert!(matches_handle("@DemoCrafts", "@democrafts"));
        assert!(matches_handle(" democrafts ", "@democrafts"));
        assert!(!matches_handle("@democraft", "@democrafts"));
        assert!(!matches_handle("", "@democrafts"));
    }
}
