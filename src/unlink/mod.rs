//! The disconnect, one module per step of SPEC §6, in the order they run:
//! [`locate`] → [`preflight`] → [`plan`] → [`confirm`] → [`second_factor`] → [`execute`] →
//! [`verify`] → [`receipt`]. Each step proves its own precondition; nothing destructive happens
//! before [`execute`], and [`audit`] records what was attempted so a crash can be finished later.

pub mod audit;
pub mod confirm;
pub mod execute;
pub mod locate;
pub mod plan;
pub mod preflight;
pub mod receipt;
pub mod second_factor;
pub mod support;
pub mod verify;
