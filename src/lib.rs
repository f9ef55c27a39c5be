//! cim-keys: offline key management with a content-addressed event history.
//!
//! Layers (an arrow only points down; see `docs/ARCHITECTURE.md`):
//!
//! ```text
//! cli  ─┐
//! gui  ─┴─► app ─► store ─► projection ─► domain
//!           app ─► bundle ─► projection
//!           app ─► sync
//! ```
#![doc(html_no_source)]

pub mod app;
pub mod bundle;
pub mod cli;
pub mod crypto;
pub mod domain;
#[cfg(feature = "gui")]
pub mod gui;
pub mod projection;
pub mod store;
#[cfg(feature = "sync")]
pub mod sync;
