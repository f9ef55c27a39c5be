//! Integration tests, one binary with a module per area (STYLE.md point 17). Every test works
//! on real SQLite files in temp dirs and, for the CLI, on the real `cim-keys` binary.

#![allow(clippy::new_without_default)]

mod architecture;
mod cli;
mod crash;
mod golden;
mod keys;
mod keystore;
mod nats_cli;
mod nats_jwt;
mod pki;
mod readme;
mod store;
mod support;
mod x509;
