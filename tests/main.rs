//! Integration tests, one binary with a module per area (STYLE.md point 17). Every test works
//! on real SQLite files in temp dirs and, for the CLI, on the real `cim-keys` binary.

#![allow(clippy::new_without_default)]

mod architecture;
mod backup;
mod bundle;
mod bundle_interop;
mod cli;
mod crash;
mod golden;
#[cfg(feature = "gui")]
mod gui_bundle;
#[cfg(feature = "gui")]
mod gui_driver;
#[cfg(feature = "gui")]
mod gui_events;
#[cfg(feature = "gui")]
mod gui_keys;
#[cfg(feature = "gui")]
mod gui_nats;
#[cfg(feature = "gui")]
mod gui_organization;
#[cfg(feature = "gui")]
mod gui_pki;
#[cfg(all(feature = "gui", feature = "sync"))]
mod gui_sync;
#[cfg(feature = "gui")]
mod gui_vault;
mod keys;
mod keystore;
mod nats_cli;
mod nats_jwt;
mod pki;
mod readme;
mod store;
mod support;
#[cfg(feature = "sync")]
mod sync_closed_loop;
#[cfg(feature = "sync")]
mod sync_cluster;
#[cfg(feature = "sync")]
mod sync_provision;
#[cfg(feature = "sync")]
mod sync_replay;
#[cfg(feature = "sync")]
mod sync_upload;
#[cfg(feature = "sync")]
mod sync_vault;
mod x509;
