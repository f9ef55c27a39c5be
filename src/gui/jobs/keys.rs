//! The Keys screen's jobs: load the keys of an organization's people, generate a key, revoke
//! one, and write a public key to a file.
//!
//! Generating and revoking reload the keys in the same job, so the screen shows what the vault
//! holds after the change.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use crate::app::files::{PUBLIC_MODE, write_atomically};
use crate::app::{AppError, Vault};
use crate::domain::{KeyId, OrgId, PersonId};
use crate::gui::{Ctx, GuiError, Job};
use crate::store::{KeyRow, PersonRow};

/// What the screen asks for.
#[derive(Debug)]
pub enum Request {
    /// The organization's people and their keys.
    Load {
        /// The organization.
        org: OrgId,
    },
    /// Generate an Ed25519 key for a person (needs the passphrase: the seed is sealed).
    Generate {
        /// The organization (to reload).
        org: OrgId,
        /// The owner.
        owner: PersonId,
    },
    /// Revoke a key.
    Revoke {
        /// The organization (to reload).
        org: OrgId,
        /// The key.
        key: KeyId,
        /// Why.
        reason: String,
    },
    /// Write a key's OpenSSH public key line to a file.
    Export {
        /// The key.
        key: KeyId,
        /// Where.
        path: PathBuf,
    },
}

/// An organization's people and their keys.
#[derive(Debug, Clone)]
pub struct Keys {
    /// The organization's name.
    pub org_name: String,
    /// Its people, by name.
    pub people: Arc<Vec<PersonRow>>,
    /// Their keys, by owner name and creation.
    pub keys: Arc<Vec<KeyRow>>,
}

/// What comes back.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Loaded.
    Loaded(Keys),
    /// A key was generated (its fingerprint); the keys after it.
    Generated(String, Keys),
    /// A key was revoked (its fingerprint); the keys after it.
    Revoked(String, Keys),
    /// A public key was written to this file.
    Exported(PathBuf),
}

fn load(vault: &Vault, org: OrgId) -> Result<Keys, AppError> {
    let tree = vault.organization_tree(org)?;
    let ids: HashSet<&str> = tree.people.iter().map(|p| p.id.as_str()).collect();
    let keys = vault.keys(None)?.into_iter().filter(|k| ids.contains(k.owner.as_str())).collect();
    Ok(Keys { org_name: tree.organization.name, people: Arc::new(tree.people), keys: Arc::new(keys) })
}

impl Job for Request {
    type Reply = Reply;

    fn run(self, ctx: Ctx<'_>) -> Result<Reply, GuiError> {
        let vault = ctx.vault;
        match self {
            Self::Load { org } => Ok(Reply::Loaded(load(vault, org)?)),
            Self::Generate { org, owner } => {
                let (key, _) = vault.generate_key(owner, ctx.passphrase)?;
                let fingerprint = vault.key(key)?.fingerprint;
                Ok(Reply::Generated(fingerprint, load(vault, org)?))
            }
            Self::Revoke { org, key, reason } => {
                vault.revoke_key(key, &reason)?;
                let fingerprint = vault.key(key)?.fingerprint;
                Ok(Reply::Revoked(fingerprint, load(vault, org)?))
            }
            Self::Export { key, path } => {
                let line = vault.export_public_key(key)?;
                write_atomically(&path, format!("{line}\n").as_bytes(), PUBLIC_MODE)?;
                Ok(Reply::Exported(path))
            }
        }
    }
}
