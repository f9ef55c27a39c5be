//! Where a passphrase comes from: a file, an environment variable, or a prompt on the
//! terminal — never a command-line argument (it would show in `ps` and shell history).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::args::Cli;
use super::output::Printer;
use crate::app::AppError;
use crate::crypto::keystore::Passphrase;

/// Environment variable holding the passphrase.
pub const ENV: &str = "CIM_KEYS_PASSPHRASE";
/// Environment variable holding the new passphrase for `passwd`.
pub const ENV_NEW: &str = "CIM_KEYS_NEW_PASSPHRASE";
/// Environment variable holding the passphrase of an export bundle (`export`, `import`).
pub const ENV_BUNDLE: &str = "CIM_KEYS_BUNDLE_PASSPHRASE";
/// Environment variable holding the passphrase of a secrets backup (`backup`, `restore`).
pub const ENV_BACKUP: &str = "CIM_KEYS_BACKUP_PASSPHRASE";

/// Shorter passphrases get a warning (not a refusal).
const RECOMMENDED_CHARS: usize = 12;

/// The places to look, in order.
#[derive(Debug)]
pub struct Source {
    file: Option<PathBuf>,
    env: &'static str,
    /// The option that names a file instead.
    flag: &'static str,
    prompt: &'static str,
}

impl Source {
    /// The vault's current passphrase: `--passphrase-file`, then `CIM_KEYS_PASSPHRASE`.
    pub fn current(cli: &Cli) -> Self {
        Self { file: cli.passphrase_file.clone(), env: ENV, flag: "--passphrase-file", prompt: "Passphrase" }
    }

    /// A new passphrase for `passwd`: `--new-passphrase-file`, then `CIM_KEYS_NEW_PASSPHRASE`.
    pub fn new(file: Option<&Path>) -> Self {
        Self { file: file.map(Path::to_owned), env: ENV_NEW, flag: "--new-passphrase-file", prompt: "New passphrase" }
    }

    /// The passphrase of an export bundle: `--bundle-passphrase-file`, then
    /// `CIM_KEYS_BUNDLE_PASSPHRASE`. Deliberately not the vault's: the bundle is opened on
    /// another machine.
    pub fn bundle(file: Option<&Path>) -> Self {
        Self {
            file: file.map(Path::to_owned),
            env: ENV_BUNDLE,
            flag: "--bundle-passphrase-file",
            prompt: "Bundle passphrase",
        }
    }

    /// The passphrase of a secrets backup: `--backup-passphrase-file`, then
    /// `CIM_KEYS_BACKUP_PASSPHRASE`. Deliberately neither the vault's nor a bundle's: whoever
    /// opens bundles on the online machine must not be able to open the secrets.
    pub fn backup(file: Option<&Path>) -> Self {
        Self {
            file: file.map(Path::to_owned),
            env: ENV_BACKUP,
            flag: "--backup-passphrase-file",
            prompt: "Backup passphrase",
        }
    }
}

/// Reads a passphrase; `creating` asks twice on a terminal and warns about short ones.
pub fn read(source: &Source, creating: bool, out: &Printer) -> Result<Passphrase, AppError> {
    let text = if let Some(file) = &source.file {
        std::fs::read_to_string(file)
            .map_err(|e| AppError::Invalid(format!("cannot read the passphrase file {}: {e}", file.display())))?
    } else if let Ok(text) = std::env::var(source.env) {
        text
    } else if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("{}: ", source.prompt))
            .map_err(|e| AppError::Invalid(format!("cannot read the passphrase from the terminal: {e}")))?;
        if creating {
            let again = rpassword::prompt_password(format!("{} (again): ", source.prompt))
                .map_err(|e| AppError::Invalid(format!("cannot read the passphrase from the terminal: {e}")))?;
            if again != first {
                return Err(AppError::Invalid("the two passphrases differ; nothing was changed".into()));
            }
        }
        first
    } else {
        return Err(AppError::Invalid(format!(
            "no passphrase given: set {}, pass {} FILE, or run on a terminal",
            source.env, source.flag
        )));
    };
    let passphrase = Passphrase::new(text)?;
    let chars = passphrase.expose_secret().chars().count();
    if creating && chars < RECOMMENDED_CHARS {
        out.warn(&format!(
            "the passphrase has only {chars} characters; a long one (four or more random words) is much harder to guess"
        ));
    }
    Ok(passphrase)
}
