//! `backup` and `restore`: the keystore's secrets in a separately encrypted file (see
//! [`crate::app::backup`]).
//!
//! Both need the vault passphrase. The backup's own key is a backup passphrase
//! (`--backup-passphrase-file`, else `CIM_KEYS_BACKUP_PASSPHRASE`, else a prompt) or, with
//! `--recipient` / `--identity`, an age X25519 key pair. Cheap checks (a malformed recipient,
//! an existing output file, an unreadable identity file) come before any passphrase is asked.

use std::path::Path;

use super::args::Cli;
use super::output::Printer;
use super::passphrase::{self, Source};
use crate::app::backup::{BackupReport, RestoreReport};
use crate::app::{AppError, Vault};
use crate::bundle::{Seal, Unseal};

/// `cim-keys backup --out FILE [--recipient R]… [--backup-passphrase-file FILE]`.
pub(super) fn backup(
    cli: &Cli,
    out: &Printer,
    vault: &Vault,
    file: &Path,
    recipients: &[String],
    backup_passphrase_file: Option<&Path>,
) -> Result<(), AppError> {
    let recipients = (!recipients.is_empty()).then(|| Seal::recipients(recipients)).transpose()?;
    crate::app::backup::refuse_existing(file)?;
    let vault_passphrase = passphrase::read(&Source::current(cli), false, out)?;
    let seal = match recipients {
        Some(seal) => seal,
        None => {
            let backup_passphrase = passphrase::read(&Source::backup(backup_passphrase_file), true, out)?;
            if backup_passphrase.expose_secret() == vault_passphrase.expose_secret() {
                out.warn(
                    "the backup passphrase is the vault's: whoever learns one can open both; a separate one keeps \
                     the backup safe where the vault's passphrase is known",
                );
            }
            Seal::passphrase(&backup_passphrase)
        }
    };
    let report = vault.backup_secrets(&vault_passphrase, &seal, file)?;
    out.report(&report, &backup_text(&report));
    Ok(())
}

/// `cim-keys restore FILE [--identity FILE] [--backup-passphrase-file FILE]`.
pub(super) fn restore(
    cli: &Cli,
    out: &Printer,
    vault: &mut Vault,
    file: &Path,
    identity: Option<&Path>,
    backup_passphrase_file: Option<&Path>,
) -> Result<(), AppError> {
    let unseal = identity.map(super::bundle::identity_file).transpose()?;
    let vault_passphrase = passphrase::read(&Source::current(cli), false, out)?;
    let unseal = match unseal {
        Some(unseal) => unseal,
        None => Unseal::passphrase(&passphrase::read(&Source::backup(backup_passphrase_file), false, out)?),
    };
    let report = vault.restore_secrets(file, &unseal, &vault_passphrase)?;
    out.report(&report, &restore_text(&report));
    Ok(())
}

/// "3 identity keys, 12 nats-user-seed" style counts.
fn kinds_text(kinds: &std::collections::BTreeMap<String, usize>) -> String {
    if kinds.is_empty() {
        return "none".into();
    }
    kinds.iter().map(|(kind, n)| format!("{n} {kind}")).collect::<Vec<_>>().join(", ")
}

fn backup_text(report: &BackupReport) -> String {
    format!(
        "wrote {} ({} secrets of vault {}, encrypted to {}: {})",
        report.file.display(),
        report.secrets,
        report.vault,
        report.encrypted_to,
        kinds_text(&report.kinds)
    )
}

fn restore_text(report: &RestoreReport) -> String {
    format!(
        "restored {} of {} secrets from {} (backup of vault {}, {}); {} already present; restored: {}",
        report.restored,
        report.secrets,
        report.file.display(),
        report.backup_vault,
        report.backup_created_at,
        report.already_present,
        kinds_text(&report.kinds)
    )
}
