//! `sync`: the history to NATS (see [`crate::app::sync`]), and the one reading of the
//! connection flags ([`ServerArgs`]) that `sync` and `replay` share.
//!
//! The settings are `sync.json` in the data directory, if there is one, with every flag given
//! overriding its field; `--server` given at least once replaces the file's servers. Neither a
//! flag nor the file naming a server is a usage error saying how to give one.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::args::ServerArgs;
use super::bundle::identity_file;
use super::output::Printer;
use super::passphrase::{self, Source};
use crate::app::sync::{self as app_sync, SYNC_CONFIG_FILE, SyncPhase, SyncProgress, SyncReport};
use crate::app::{AppError, Vault};
use crate::bundle::Unseal;
use crate::sync::{SyncConfig, TlsFiles};

/// The configuration the flags and `sync.json` in `data_dir` describe together (see the module
/// documentation), validated.
pub(super) fn config(args: &ServerArgs, data_dir: &Path) -> Result<SyncConfig, AppError> {
    let saved = app_sync::read_config(data_dir)?;
    let mut config = match (args.servers.is_empty(), saved) {
        (false, Some(mut saved)) => {
            saved.servers = args.servers.clone();
            saved
        }
        (false, None) => SyncConfig::new(args.servers.clone()),
        (true, Some(saved)) => saved,
        (true, None) => {
            return Err(AppError::Invalid(format!(
                "no NATS server given: pass --server URL, or save the settings in {} with `cim-keys sync --server URL \
                 … --save`",
                data_dir.join(SYNC_CONFIG_FILE).display()
            )));
        }
    };
    if let Some(creds) = &args.creds {
        config.creds = Some(creds.clone());
    }
    if args.tls_ca.is_some() || args.tls_cert.is_some() {
        let tls = config.tls.get_or_insert_with(TlsFiles::default);
        if let Some(ca) = &args.tls_ca {
            tls.ca = Some(ca.clone());
        }
        if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
            tls.cert_and_key = Some((cert.clone(), key.clone()));
        }
    }
    if let Some(replicas) = args.replicas {
        config.replicas = Some(replicas);
    }
    if let Some(seconds) = args.connect_timeout {
        config.connect_timeout = Duration::from_secs(seconds);
    }
    config.validate()?;
    // A file that is not there is a usage error now, not a network error later.
    let files = config.creds.iter().chain(
        config.tls.iter().flat_map(|t| t.ca.iter().chain(t.cert_and_key.iter().flat_map(|(cert, key)| [cert, key]))),
    );
    for file in files {
        if !file.is_file() {
            return Err(AppError::Invalid(format!("{} does not exist or is not a file", file.display())));
        }
    }
    Ok(config)
}

fn show(out: &Printer, p: SyncProgress) {
    if p.phase == SyncPhase::Uploading {
        out.progress("uploading", p.done as usize, p.total as usize);
    }
}

/// `cim-keys sync …` with a vault.
pub(super) fn sync(out: &Printer, vault: &mut Vault, args: &ServerArgs, save: bool) -> Result<(), AppError> {
    let config = config(args, vault.data_dir())?;
    if save {
        let path = vault.save_sync_config(&config)?;
        out.note(&format!("saved the settings in {}", path.display()));
    }
    let report = vault.sync_upload(&config, &mut |p| show(out, p), &AtomicBool::new(false))?;
    out.report(&report, &text(&report, None));
    Ok(())
}

/// `cim-keys sync --bundle FILE …`, with or without a vault.
pub(super) fn sync_bundle(
    out: &Printer,
    data_dir: &Path,
    args: &ServerArgs,
    save: bool,
    file: &Path,
    identity: Option<&Path>,
    bundle_passphrase_file: Option<&Path>,
) -> Result<(), AppError> {
    let config = config(args, data_dir)?;
    if !file.is_file() {
        return Err(AppError::Invalid(format!("{} is not a bundle file (no such file)", file.display())));
    }
    let unseal = match identity {
        Some(path) => identity_file(path)?,
        None => Unseal::passphrase(&passphrase::read(&Source::bundle(bundle_passphrase_file), false, out)?),
    };
    if save {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| AppError::Invalid(format!("cannot create {}: {e}", data_dir.display())))?;
        let path = app_sync::save_config(data_dir, &config)?;
        out.note(&format!("saved the settings in {}", path.display()));
    }
    let report = app_sync::upload_bundle(file, &unseal, &config, &mut |p| show(out, p), &AtomicBool::new(false))?;
    out.report(&report, &text(&report, Some(file)));
    Ok(())
}

/// The report in words; `bundle` is the file uploaded from, `None` for the vault.
fn text(r: &SyncReport, bundle: Option<&Path>) -> String {
    let source = bundle.map_or_else(|| "the vault".to_owned(), |file| file.display().to_string());
    let mut text = format!(
        "uploaded {} graph events from {source} to {} (server {}): {} stored now, {} already there\n  blocks: {} put, \
         {} already there",
        r.acknowledged,
        r.servers.join(", "),
        r.server_name,
        r.published,
        r.already_present,
        r.blocks_put,
        r.blocks_present,
    );
    if r.stream_created || r.bucket_created {
        let created: Vec<&str> =
            [(r.stream_created, "the stream CIM_GRAPH_EVENTS"), (r.bucket_created, "the bucket cim-graph-payloads")]
                .into_iter()
                .filter_map(|(created, what)| created.then_some(what))
                .collect();
        text.push_str(&format!("\n  created {} (replicas: {})", created.join(" and "), r.replicas));
    }
    if r.cancelled {
        text.push_str("\n  cancelled: what was acknowledged before is marked uploaded");
    }
    if r.retries > 0 {
        text.push_str(&format!("\n  {} retry rounds were needed", r.retries));
    }
    if bundle.is_none() {
        text.push_str(&format!("\n  pending {}, uploaded {}", r.pending, r.uploaded));
    }
    text
}
