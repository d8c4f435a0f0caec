//! Step 4: the user confirms by typing the account handle; scripts pass `--yes`.

use crate::error::{Error, Result};
use crate::platform::{Link, bare_handle};
use crate::ui::Ui;

/// True when `typed` is the handle, ignoring case, surrounding space and a missing `@`.
pub fn matches_handle(typed: &str, handle: &str) -> bool {
    !typed.trim().is_empty() && bare_handle(typed) == bare_handle(handle)
}

/// Asks for confirmation, unless `yes`. Without a terminal, `--yes` is required (exit 2).
/// A typo gets another chance (as `gh` does); an empty answer or Ctrl-D cancels (exit 3).
pub fn confirm(ui: &Ui, link: &Link, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    let question = format!("Type {} to disconnect it (empty to cancel)", link.handle);
    for attempt in 1..=TRIES {
        let typed = match ui.prompt(&question, "--yes") {
            Ok(t) => t,
            // End of input (Ctrl-D) at the prompt is a "no", not a failure.
            Err(e) if e.kind() == crate::error::ErrorKind::Internal => {
                return Err(Error::cancelled("no answer; nothing was changed"));
            }
            Err(e) => return Err(e),
        };
        if matches_handle(&typed, &link.handle) {
            return Ok(());
        }
        if typed.trim().is_empty() {
            return Err(Error::cancelled("cancelled; nothing was changed"));
        }
        if attempt < TRIES {
            ui.warn(&format!("you typed {:?}, not {}; try again", typed.trim(), link.handle));
        }
    }
    Err(Error::cancelled(format!("{} did not match after {TRIES} tries; nothing was changed", link.handle)))
}

/// Answers that may not match before the command gives up.
const TRIES: u32 = 3;

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
