//! `shopunlink` alone: at a terminal, the shop's links and "which one?", then the same disconnect
//! as `shopunlink disconnect LINK`; in a script (no terminal, `--no-input`, `--json`), the usage
//! and exit 2, so scripts keep the plain commands.

use crate::common::{Home, exported, link_state};

const QUESTION: &str = "Its number or handle (empty to cancel)";

#[test]
fn without_a_terminal_shopunlink_alone_prints_the_usage_and_exits_2() {
    let home = Home::new();
    let (code, out, err) = home.run(&[]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("Usage: shopunlink [OPTIONS] [COMMAND]") && err.contains("a subcommand is required"), "{err}");
    let doc = home.json(&[], 2);
    assert_eq!(
        (&doc["error"]["kind"], &doc["error"]["message"]),
        (&"usage".into(), &"a subcommand is required".into())
    );
}

#[cfg(unix)]
mod at_a_terminal {
    use super::*;
    use crate::terminal::{self, Terminal, line};

    /// The number the list gives `handle`.
    fn number_of(screen: &str, handle: &str) -> String {
        let row = screen.lines().rev().find(|l| l.contains(". ") && l.contains(&format!(" {handle} "))).unwrap();
        row.trim().split('.').next().unwrap().trim().to_owned()
    }

    #[test]
    fn shopunlink_alone_shows_the_links_asks_which_and_walks_the_disconnect() {
        let home = Home::new();
        exported(&home, "export");
        let Some(mut t) = Terminal::start(&home, &line(""), &[]) else { return };
        let screen = t.expect(QUESTION);
        for shown in ["LINK", "official account", "Which link do you want to disconnect?", "@brightside.agency"] {
            assert!(screen.contains(shown), "{shown}:\n{screen}");
        }
        t.send(&format!("{}\r", number_of(&screen, "@democrafts.deals")));
        t.expect("(the same as: shopunlink disconnect @democrafts.deals)");
        t.expect("step 3 of 7: the plan");
        t.expect("Type @democrafts.deals to disconnect it");
        t.send("@democrafts.deals\r");
        t.expect("Code");
        let (_, code, _) = home.run(&["sandbox", "code"]);
        t.send(&format!("{}\r", code.trim()));
        let (exit, screen) = t.finish();
        assert_eq!(exit, 0, "{screen}");
        assert!(screen.contains("@democrafts.deals is disconnected from Demo Crafts Co."), "{screen}");
        assert_eq!(link_state(&home, "@democrafts.deals"), "unlinked");
    }

    #[test]
    fn a_handle_works_as_well_as_a_number_and_an_unknown_answer_asks_again() {
        let home = Home::new();
        let Some(mut t) = Terminal::start(&home, &line(""), &[]) else { return };
        t.expect(QUESTION);
        t.send("99\r");
        t.expect("\"99\" is not in the list");
        t.expect(QUESTION);
        t.send("Inventory-Sync-Pro\r");
        t.expect("(the same as: shopunlink disconnect inventory-sync-pro)");
        // No export yet: the disconnect offers one, as `disconnect inventory-sync-pro` does; declined,
        // the refusal stands (exit 5) and nothing changed.
        t.expect("verify it now?");
        t.send("n");
        let (exit, screen) = t.finish();
        assert_eq!(exit, 5, "{screen}");
        assert_eq!(link_state(&home, "inventory-sync-pro"), "linked");
    }

    #[test]
    fn an_empty_answer_or_ctrl_d_cancels_and_ctrl_c_exits_130_with_the_terminal_usable() {
        for (keys, expected) in [("\r", 3), ("\u{4}", 3), ("\u{3}", 130)] {
            let home = Home::new();
            let Some(mut t) = Terminal::start(&home, &line(""), &[]) else { return };
            t.expect(QUESTION);
            t.send(keys);
            let (exit, screen) = t.finish();
            assert_eq!(exit, expected, "{keys:?}:\n{screen}");
            assert!(terminal::usable(&screen), "{keys:?}:\n{screen}");
            assert!(!home.join("state/audit.log").exists(), "no link was chosen, so nothing is logged");
        }
    }

    /// Ctrl-D is "no answer" at every question of the disconnect, as at the link question: exit
    /// 3, nothing changed, the stop in the audit log. A code that is not six digits is refused at
    /// the question, which asks again.
    #[test]
    fn ctrl_d_at_the_handle_or_the_code_question_cancels() {
        for at_code in [false, true] {
            let home = Home::new();
            let args = "disconnect @democrafts.deals --allow-unexported --allow-pending-funds";
            let Some(mut t) = Terminal::start(&home, &line(args), &[]) else { return };
            t.expect("Type @democrafts.deals to disconnect it");
            if at_code {
                t.send("@democrafts.deals\r");
                t.expect("Code");
                t.send("12\r");
                t.expect("a code is 6 digits");
                t.expect("Code");
            }
            t.send("\u{4}");
            let (exit, screen) = t.finish();
            assert_eq!(exit, 3, "at the code: {at_code}\n{screen}");
            assert!(screen.contains("no answer (end of input); nothing was changed"), "{screen}");
            assert!(terminal::usable(&screen), "{screen}");
            assert_eq!(link_state(&home, "@democrafts.deals"), "linked");
            let audit = std::fs::read_to_string(home.join("state/audit.log")).unwrap();
            assert!(audit.contains("disconnect.cancelled"), "{audit}");
        }
    }

    /// Ctrl-D cancels at a yes/no question too (dialoguer's dropped it): exit 3, nothing changed.
    #[test]
    fn ctrl_d_at_a_yes_no_question_cancels() {
        let home = Home::new();
        let Some(mut t) = Terminal::start(&home, &line("disconnect @democrafts.deals"), &[]) else { return };
        t.expect("verify it now? [y/N]");
        t.send("x\u{4}");
        let (exit, screen) = t.finish();
        assert_eq!(exit, 3, "{screen}");
        assert!(screen.contains("no answer (end of input); nothing was changed"), "{screen}");
        assert!(terminal::usable(&screen), "{screen}");
        assert_eq!(link_state(&home, "@democrafts.deals"), "linked");
    }

    /// A secret is read without echo, not even a mask; Backspace still edits it, and Ctrl-D on an
    /// empty answer cancels (exit 3) before anything is sent anywhere.
    #[test]
    fn a_secret_is_never_drawn_and_ctrl_d_cancels_it() {
        let home = Home::new();
        let env = [("SHOPUNLINK_TIKTOK_APP_KEY", "app-key-1")];
        let Some(mut t) = Terminal::start(&home, &line("auth login --platform tiktok"), &env) else { return };
        t.expect("TikTok app secret:");
        t.send("hunter2\u{7f}\u{7f}\u{7f}\u{7f}\u{7f}\u{7f}\u{7f}\u{4}");
        let (exit, screen) = t.finish();
        assert_eq!(exit, 3, "{screen}");
        assert!(!screen.contains("hunter") && !screen.contains("*****"), "the secret was drawn: {screen}");
        assert!(screen.contains("no answer (end of input)"), "{screen}");
        assert!(terminal::usable(&screen), "{screen}");
    }

    #[test]
    fn with_no_input_or_json_at_a_terminal_shopunlink_alone_prints_the_usage() {
        for flag in ["--no-input", "--json"] {
            let home = Home::new();
            let Some(t) = Terminal::start(&home, &line(flag), &[]) else { return };
            let (exit, screen) = t.finish();
            assert_eq!(exit, 2, "{flag}:\n{screen}");
            assert!(!screen.contains(QUESTION), "{flag}:\n{screen}");
        }
        let home = Home::new();
        let Some(t) = Terminal::start(&home, &line(""), &[("CI", "true")]) else { return };
        let (exit, screen) = t.finish();
        assert_eq!(exit, 2, "CI:\n{screen}");
        assert!(screen.contains("Usage: shopunlink"), "{screen}");
    }

    /// `TERM=dumb` shows escape codes as text: no colour there, unless asked for.
    #[test]
    fn no_colour_on_a_dumb_terminal_unless_forced() {
        let red = "\u{1b}[31m";
        let screen = |term: &str, extra: &str, env: &[(&str, &str)]| {
            let home = Home::new();
            let mut all = vec![("NO_COLOR", ""), ("TERM", term)];
            all.extend_from_slice(env);
            let t = Terminal::start(&home, &line(&format!("status --shop nope {extra}")), &all)?;
            let (exit, screen) = t.finish();
            assert_eq!(exit, 7, "{screen}");
            Some(screen)
        };
        let Some(xterm) = screen("xterm", "", &[]) else { return };
        assert!(xterm.contains(red), "a colour terminal gets colour:\n{xterm:?}");
        let dumb = screen("dumb", "", &[]).unwrap();
        assert!(!dumb.contains('\u{1b}'), "TERM=dumb gets none:\n{dumb:?}");
        assert!(screen("dumb", "--color always", &[]).unwrap().contains(red), "--color always still forces it");
        assert!(screen("dumb", "", &[("CLICOLOR_FORCE", "1")]).unwrap().contains(red), "so does CLICOLOR_FORCE");
    }

    /// The lines the command printed (between the pid and the exit code the shell line adds).
    fn printed(screen: &str) -> Vec<&str> {
        let start = screen.find("PID=").map_or(0, |i| i + screen[i..].find('\n').unwrap_or(0));
        let end = screen.find("EXIT=").unwrap_or(screen.len());
        screen[start..end.max(start)].lines().filter(|l| !l.trim().is_empty()).collect()
    }

    /// `text` without its colour codes.
    fn strip_ansi(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                chars.by_ref().find(|c| c.is_ascii_alphabetic());
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn the_status_table_fits_an_80_column_terminal_and_a_pipe_gets_whole_rows() {
        let home = Home::new();
        let narrow = format!("stty cols 80 rows 40; {}", line("status"));
        let Some(t) = Terminal::start(&home, &narrow, &[]) else { return };
        let (exit, screen) = t.finish();
        assert_eq!(exit, 0, "{screen}");
        // Every line fits: the table's rows are cut, the prose under them (blockers, notes,
        // hints) is wrapped at word ends under a hanging indent.
        let lines = printed(&screen);
        assert!(lines.iter().any(|l| l.contains("@brightside.agency")), "{screen}");
        for line in &lines {
            let columns = strip_ansi(line).chars().count();
            assert!(columns <= 80, "{columns} columns: {line:?}");
        }
        assert!(lines.iter().any(|l| l.starts_with("        ") && !l.contains('✗')), "a blocker went on: {screen}");
        // Not a terminal: nothing is cut.
        let (code, out, _) = home.run(&["status"]);
        assert_eq!(code, 0);
        assert!(out.contains("Brightside Agency (partner business account)"), "{out}");
    }

    #[test]
    fn a_dumb_terminal_gets_no_progress_bars() {
        let home = Home::new();
        // Big enough that bars would be drawn (an export of the default shop is over too soon).
        assert_eq!(home.run(&["sandbox", "reset", "--orders", "200000"]).0, 0);
        let env = [("NO_COLOR", ""), ("TERM", "dumb")];
        let Some(t) = Terminal::start(&home, &line("export --out exp --no-media"), &env) else { return };
        let (exit, screen) = t.finish();
        assert_eq!(exit, 0, "{screen}");
        let output = printed(&screen).join("\n");
        assert!(!output.contains('\u{1b}'), "no escape codes: {output:?}");
        assert!(output.contains("Exported"), "{output}");
        // The control: the same export at a terminal that can draw shows its bars. Colour is off
        // there too, so an escape code can only be the bars' cursor moves and line clears.
        let env = [("NO_COLOR", "1"), ("TERM", "xterm")];
        let t = Terminal::start(&home, &line("export --out exp2 --no-media"), &env).expect("script runs");
        let (exit, screen) = t.finish();
        assert_eq!(exit, 0, "{screen}");
        assert!(printed(&screen).join("\n").contains('\u{1b}'), "bars at an xterm: {screen:?}");
    }
}
