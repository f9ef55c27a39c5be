//! `export` and `import`: the history on an SD card (see [`crate::app::bundle`]).
//!
//! Export needs the vault passphrase (the device key signs the manifest) and, unless
//! `--recipient` is given, a bundle passphrase (`--bundle-passphrase-file`, else
//! `CIM_KEYS_BUNDLE_PASSPHRASE`, else a prompt, asked twice). Import needs no vault
//! passphrase: it adds events, never secrets; it needs the bundle passphrase or, with
//! `--identity`, an age identity file. Cheap checks (a malformed recipient, an unreadable
//! identity file) come before any passphrase is asked.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use zeroize::Zeroizing;

use super::args::Cli;
use super::output::Printer;
use super::passphrase::{self, Source};
use crate::app::bundle::{BundleProgress, ExportReport, ImportReport};
use crate::app::{AppError, Vault};
use crate::bundle::{Seal, Unseal};

fn show(out: &Printer, p: BundleProgress) {
    let what = match p.phase {
        "writing" => "writing  ",
        "verifying" => "verifying",
        "importing" => "importing",
        _ => return,
    };
    out.progress(what, p.done as usize, p.total as usize);
}

/// `cim-keys export --out DIR [--recipient R]… [--since-last]`.
pub(super) fn export(
    cli: &Cli,
    out: &Printer,
    vault: &mut Vault,
    dir: &Path,
    recipients: &[String],
    since_last: bool,
    bundle_passphrase_file: Option<&Path>,
) -> Result<(), AppError> {
    let recipients = (!recipients.is_empty()).then(|| Seal::recipients(recipients)).transpose()?;
    let vault_passphrase = passphrase::read(&Source::current(cli), false, out)?;
    let seal = match recipients {
        Some(seal) => seal,
        None => Seal::passphrase(&passphrase::read(&Source::bundle(bundle_passphrase_file), true, out)?),
    };
    let report = vault.export_bundle(
        &vault_passphrase,
        dir,
        &seal,
        since_last,
        &mut |p| show(out, p),
        &AtomicBool::new(false),
    )?;
    out.report(&report, &export_text(&report));
    Ok(())
}

fn export_text(r: &ExportReport) -> String {
    let (Some(file), Some((g1, g2)), Some((d1, d2))) = (&r.file, r.graph, r.domain) else {
        return format!(
            "nothing new since the last export (head {}); no bundle written",
            r.head.map_or_else(|| "none".into(), |c| c.to_string())
        );
    };
    let mut text = format!(
        "wrote {} ({} bytes, sha256 {})\n  {} graph events #{g1}–#{g2}, domain events #{d1}–#{d2}, {} artifacts{}\n  head      {}\n  manifest  {}\n  signed by device key {}\n  encrypted to {}",
        file.display(),
        r.bytes,
        r.sha256.as_deref().unwrap_or(""),
        g2 + 1 - g1,
        r.artifacts,
        if r.incremental { " (continues the last export)" } else { "" },
        r.head.map_or_else(String::new, |c| c.to_string()),
        r.manifest.map_or_else(String::new, |c| c.to_string()),
        r.signer,
        r.encrypted_to.join(", "),
    );
    if let Some(dir) = &r.public_dir {
        text.push_str(&format!("\n  public artifacts ({} files) in {}", r.public_files.len(), dir.display()));
    }
    text
}

/// `cim-keys import FILE [--identity FILE] [--expect-signer FINGERPRINT]`.
pub(super) fn import(
    out: &Printer,
    vault: &mut Vault,
    file: &Path,
    identity: Option<&Path>,
    expect_signer: Option<&str>,
    bundle_passphrase_file: Option<&Path>,
) -> Result<(), AppError> {
    if let Some(expected) = expect_signer {
        expected.trim().parse::<crate::crypto::ssh::SshFingerprint>().map_err(|e| {
            AppError::Invalid(format!("--expect-signer is not a device key fingerprint (SHA256:…): {e}"))
        })?;
    }
    if !file.is_file() {
        return Err(AppError::Invalid(format!("{} is not a bundle file (no such file)", file.display())));
    }
    let unseal = match identity {
        Some(path) => identity_file(path)?,
        None => Unseal::passphrase(&passphrase::read(&Source::bundle(bundle_passphrase_file), false, out)?),
    };
    let report = vault.import_bundle(file, &unseal, expect_signer, &mut |p| show(out, p), &AtomicBool::new(false))?;
    out.report(&report, &import_text(&report));
    Ok(())
}

/// Reads an age identity file (`--identity`); its text is wiped from memory afterwards.
pub(super) fn identity_file(path: &Path) -> Result<Unseal, AppError> {
    let text = Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| AppError::Invalid(format!("cannot read the identity file {}: {e}", path.display())))?,
    );
    Ok(Unseal::identity_file(&text)?)
}

fn import_text(r: &ImportReport) -> String {
    let source = format!(
        "  signed by device key {} (vault {}, device {})\n  bundle graph events #{}–#{}, head {}",
        r.signer, r.vault, r.device, r.graph.0, r.graph.1, r.head
    );
    if r.domain_added == 0 {
        return format!("nothing new: this vault already holds the history of {}\n{source}", r.file.display());
    }
    format!(
        "imported {} domain events ({} graph events, {} artifacts) from {}\n{source}\n  vault head {}",
        r.domain_added,
        r.graph_added,
        r.artifacts_added,
        r.file.display(),
        r.vault_head.map_or_else(|| "none".into(), |c| c.to_string())
    )
}
