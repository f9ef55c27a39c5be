//! Creating and unlocking the vault.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::app::Vault;
use crate::gui::{GuiError, SecretText, Session};

/// What the vault screen asks for.
#[derive(Clone)]
pub enum OpenRequest {
    /// Create a vault with this passphrase.
    Create(SecretText),
    /// Open the vault and check this passphrase.
    Unlock(SecretText),
}

impl fmt::Debug for OpenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Create(_) => "Create([redacted])",
            Self::Unlock(_) => "Unlock([redacted])",
        })
    }
}

/// Creates or opens the vault in `data_dir`. A wrong or unusable passphrase is an input error
/// (the screen shows it); a vault that cannot be opened is not.
pub fn open(data_dir: &Path, request: OpenRequest) -> Result<Session, GuiError> {
    let input = |e: crate::app::AppError| GuiError { message: e.to_string(), invalid_input: true };
    let (vault, passphrase) = match request {
        OpenRequest::Create(text) => {
            let passphrase = text.to_passphrase().map_err(|e| input(e.into()))?;
            (Vault::init(data_dir, &passphrase).map_err(GuiError::from)?, passphrase)
        }
        OpenRequest::Unlock(text) => {
            let passphrase = text.to_passphrase().map_err(|e| input(e.into()))?;
            let vault = Vault::open(data_dir).map_err(|e| GuiError { invalid_input: false, ..GuiError::from(e) })?;
            vault.unlock(&passphrase).map_err(input)?;
            (vault, passphrase)
        }
    };
    Ok(Session { vault: Arc::new(Mutex::new(vault)), passphrase: Arc::new(passphrase) })
}
