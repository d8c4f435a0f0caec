//! `shopunlink` with no arguments at a terminal: the shop's links, as `status` shows them, then
//! "which one?", then the same disconnect as `shopunlink disconnect LINK`. Scripts (no terminal,
//! `--no-input`, `--json`) get the usage instead and keep the plain commands.

use super::Ctx;
use super::disconnect::{self, DisconnectArgs};
use crate::error::{Error, Result};
use crate::platform::{Link, LinkState, Shop};
use crate::ui::Style;
use crate::words;

/// Answers that name no link before the question gives up.
const TRIES: u32 = 3;

/// A link that can be disconnected, and its shop.
struct Choice<'a> {
    shop: &'a Shop,
    link: &'a Link,
}

/// Runs the walk-through: show, ask, disconnect.
pub async fn run(ctx: &Ctx<'_>) -> Result<()> {
    let platform = ctx.platform()?;
    let shops = platform.shops().await?;
    super::status::show(ctx, platform.as_ref(), &shops).await?;
    let choices: Vec<Choice<'_>> = shops
        .iter()
        .flat_map(|shop| shop.links.iter().map(move |link| Choice { shop, link }))
        .filter(|c| c.link.state != LinkState::Unlinked)
        .collect();
    if choices.is_empty() {
        ctx.ui.print("\nNothing is linked, so there is nothing to disconnect.");
        return Ok(());
    }
    let ui = ctx.ui;
    ui.print(&format!("\n{}", ui.paint(Style::Bold, "Which link do you want to disconnect?")));
    let several_shops = shops.len() > 1;
    for (n, c) in choices.iter().enumerate() {
        let shop = if several_shops { format!("  on {}", c.shop.name) } else { String::new() };
        ui.print(&format!("  {:>2}. {:<22} {}{shop}", n + 1, c.link.handle, words::kind(c.link.kind)));
    }
    let chosen = ask(ctx, &choices)?;
    let (link, shop) = (chosen.link.handle.clone(), chosen.shop.id.clone());
    ui.note(
        &ui.paint_err(Style::Dim, &format!("(the same as: shopunlink disconnect {link}{})", shop_flag(&shops, chosen))),
    );
    drop(platform);
    disconnect::run(ctx, DisconnectArgs::for_link(&link, &shop)).await
}

/// ` --shop ID` when the profile has several shops, for the command the seller can type next time.
fn shop_flag(shops: &[Shop], chosen: &Choice<'_>) -> String {
    if shops.len() > 1 { format!(" --shop {}", chosen.shop.id) } else { String::new() }
}

/// Asks until the answer is a number from the list or a handle in it; empty (or Ctrl-D) cancels.
fn ask<'a, 'b>(ctx: &Ctx<'_>, choices: &'b [Choice<'a>]) -> Result<&'b Choice<'a>> {
    let question = "Its number or handle (empty to cancel)";
    for attempt in 1..=TRIES {
        // End of input is already a cancel (exit 3); a terminal that cannot be read stays an error.
        let answer = ctx.ui.prompt(question, "a subcommand, e.g. `shopunlink disconnect LINK`")?;
        let answer = answer.trim();
        if answer.is_empty() {
            return Err(cancelled());
        }
        if let Some(c) = pick(choices, answer) {
            return Ok(c);
        }
        if attempt < TRIES {
            ctx.ui.warn(&format!(
                "{answer:?} is not in the list; type its number (1 to {}) or its handle",
                choices.len()
            ));
        }
    }
    Err(Error::cancelled(format!("no link chosen after {TRIES} tries; nothing was changed"))
        .with_hint("`shopunlink status` lists the links; `shopunlink disconnect LINK` takes one directly"))
}

fn cancelled() -> Error {
    Error::cancelled("cancelled; nothing was changed")
}

/// The choice `answer` names: its number in the list, or its handle or id (any case, `@` optional).
fn pick<'a, 'b>(choices: &'b [Choice<'a>], answer: &str) -> Option<&'b Choice<'a>> {
    if let Ok(n) = answer.parse::<usize>() {
        return n.checked_sub(1).and_then(|i| choices.get(i));
    }
    let mut hits = choices.iter().filter(|c| c.link.matches(answer));
    let first = hits.next()?;
    // The same handle on two shops: only the number says which.
    hits.next().is_none().then_some(first)
}
