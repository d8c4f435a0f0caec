//! Step 5: the second factor.
//!
//! If the platform issues its own challenge (the sandbox texts the seller a code), that code is
//! asked for and checked by the platform. Otherwise the profile's own TOTP is the factor. The code
//! comes from `--otp`, `SHOPUNLINK_OTP` or the prompt; a prompt allows three tries, a code given
//! up front one.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::credentials::Secret;
use crate::error::{Error, Result};
use crate::platform::{ChallengeAnswer, Grant, Link, Platform, Shop};
use crate::ui::Ui;

/// Wrong codes allowed at the prompt before the command ends.
pub const TRIES: u32 = 3;
/// Digits in a second-factor code (the platform's and the profile's TOTP alike).
pub const CODE_DIGITS: usize = 6;

/// How the second factor was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The code the platform sent for its own challenge.
    PlatformChallenge,
    /// The profile's own TOTP (RFC 6238).
    Totp,
}

/// What the receipt says about the second factor (never the code).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Passed {
    /// How it was given.
    pub method: Method,
    /// Where the platform sent its code, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_to: Option<String>,
    /// When the code was accepted.
    pub verified_at: DateTime<Utc>,
}

/// What the profile's own factor made of a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The right code, never used before: accepted (and now used).
    Accepted,
    /// Not a code of this moment.
    Wrong,
    /// A right code that was already accepted once (RFC 6238 §5.2: never twice). Said apart from
    /// a wrong code, because what to do differs: wait for the next code, not type it again.
    Reused,
}

/// The `reason` detail of the error for a code that was already used.
pub const CODE_REUSED: &str = "code_reused";

/// The profile's own TOTP check, supplied by the credentials layer when the platform has no
/// challenge of its own.
pub trait LocalFactor {
    /// Checks `code`. Must refuse a code already accepted once, as [`Verdict::Reused`].
    fn check(&self, code: &Secret) -> Result<Verdict>;
    /// False when the profile has no TOTP, so the user is told before being asked for a code.
    fn is_enrolled(&self) -> Result<bool> {
        Ok(true)
    }
}

fn wrong_code(remaining: u32) -> Error {
    let e = Error::auth("wrong one-time code; nothing was changed");
    if remaining == 0 { e.with_hint("the code is now void; run the command again for a new one") } else { e }
}

/// What a code reused within its window is told: the code was right once, so "wrong" would send
/// the seller looking for a typo.
const REUSED: &str = "that code was already used; wait for the next one (codes change every 30 s)";

fn reused_code() -> Error {
    Error::auth(format!("{REUSED}; nothing was changed"))
        .with_hint("run the command again with the next code your authenticator shows")
        .with_detail("reason", CODE_REUSED)
}

/// What checking one code found.
enum Answer {
    Accepted(Grant),
    Wrong { remaining: u32 },
    Reused,
}

/// Asks for codes until `check` accepts one: one try for a code given up front, [`TRIES`] at the
/// prompt (a reused code takes a try too, so the questions end).
async fn ask<F, Fut>(ui: &Ui, question: &str, given: Option<Secret>, mut check: F) -> Result<Grant>
where
    F: FnMut(Secret) -> Fut,
    Fut: std::future::Future<Output = Result<Answer>>,
{
    if let Some(code) = given {
        let plain = code.expose().trim().replace(' ', "");
        if plain.len() != CODE_DIGITS || !plain.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::usage(format!("the code must be {CODE_DIGITS} digits; nothing was checked or used up"))
                .with_hint("pass the 6-digit code with --otp CODE or SHOPUNLINK_OTP")
                .with_detail("flag", "--otp"));
        }
        return match check(Secret::new(plain)).await? {
            Answer::Accepted(grant) => Ok(grant),
            Answer::Wrong { remaining } => Err(wrong_code(remaining)),
            Answer::Reused => Err(reused_code()),
        };
    }
    for attempt in 1..=TRIES {
        let code = Secret::new(ui.prompt_code(question, CODE_DIGITS, "--otp CODE (or SHOPUNLINK_OTP)")?);
        let left = crate::words::count(TRIES - attempt, "try", "tries");
        match check(code).await? {
            Answer::Accepted(grant) => return Ok(grant),
            Answer::Wrong { remaining: 0 } => return Err(wrong_code(0)),
            Answer::Wrong { .. } if attempt < TRIES => ui.warn(&format!("wrong code; {left} left")),
            Answer::Wrong { remaining } => return Err(wrong_code(remaining)),
            Answer::Reused if attempt < TRIES => ui.warn(&format!("{REUSED}; {left} left")),
            Answer::Reused => return Err(reused_code()),
        }
    }
    Err(wrong_code(0))
}

/// Passes the second factor for disconnecting `link`.
pub async fn pass(
    ui: &Ui,
    platform: &dyn Platform,
    shop: &Shop,
    link: &Link,
    given: Option<Secret>,
    local: Option<&dyn LocalFactor>,
) -> Result<(Grant, Passed)> {
    if let Some(challenge) = platform.start_challenge(shop, link).await? {
        ui.note(&format!(
            "A 6-digit code was sent to {} (valid until {}).",
            challenge.sent_to,
            challenge.expires_at.format("%H:%M:%S UTC")
        ));
        if let Some(hint) = challenge.hint.as_deref().filter(|_| given.is_none()) {
            ui.note(hint);
        }
        let grant = ask(ui, "Code", given, |code| {
            let challenge = challenge.clone();
            async move {
                Ok(match platform.answer_challenge(&challenge, &code).await? {
                    ChallengeAnswer::Accepted(grant) => Answer::Accepted(grant),
                    ChallengeAnswer::Rejected { remaining } => Answer::Wrong { remaining },
                })
            }
        })
        .await?;
        let passed =
            Passed { method: Method::PlatformChallenge, sent_to: Some(challenge.sent_to), verified_at: Utc::now() };
        return Ok((grant, passed));
    }
    let Some(local) = (match local {
        Some(l) if l.is_enrolled()? => Some(l),
        _ => None,
    }) else {
        return Err(Error::auth("this disconnect needs your profile's TOTP second factor, and none is enrolled")
            .with_hint("enrol one with `shopunlink auth totp enroll`, then rerun"));
    };
    let grant = ask(ui, "Authenticator code", given, |code| async move {
        Ok(match local.check(&code)? {
            Verdict::Accepted => Answer::Accepted(Grant::LocalTotp),
            Verdict::Wrong => Answer::Wrong { remaining: TRIES },
            Verdict::Reused => Answer::Reused,
        })
    })
    .await?;
    Ok((grant, Passed { method: Method::Totp, sent_to: None, verified_at: Utc::now() }))
}
