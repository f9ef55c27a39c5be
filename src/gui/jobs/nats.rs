//! The NATS screen's jobs: load an organization's operator → accounts → users hierarchy,
//! bootstrap it, decode a JWT, revoke a user, rotate a signing key, and write a user's creds
//! or the server configuration to a file the operator chose.
//!
//! Jobs that change the hierarchy reload it before they reply, so the screen never shows a
//! tree older than the change it just made. Creds are written by the application straight to
//! the file (mode 0600); no secret is ever part of a reply.

use std::path::PathBuf;
use std::sync::Arc;

use crate::app::files::{PUBLIC_MODE, write_atomically};
use crate::app::nats::{NatsTree, ReissuedJwt};
use crate::app::{AppError, Vault};
use crate::crypto::nats::JetStreamServerConfig;
use crate::domain::{DomainError, NatsUserId, OrgId};
use crate::gui::{Ctx, GuiError, Job};
use crate::store::{NatsAccountRow, NatsOperatorRow, NatsUserRow};

/// The JetStream store directory written into an exported server configuration.
pub const JETSTREAM_STORE_DIR: &str = "jetstream";

/// What the screen asks for.
#[derive(Debug)]
pub enum Request {
    /// Load the hierarchy of `org` (none: of the first organization).
    Load {
        /// The organization.
        org: Option<OrgId>,
    },
    /// Decode the current JWT of an operator, account or user.
    Claims {
        /// Its id.
        id: String,
    },
    /// Create the organization's NATS hierarchy.
    Bootstrap {
        /// The organization.
        org: OrgId,
    },
    /// Revoke a user.
    Revoke {
        /// The organization (reloaded afterwards).
        org: OrgId,
        /// The user.
        user: NatsUserId,
    },
    /// Rotate a signing key.
    Rotate {
        /// The organization (reloaded afterwards).
        org: OrgId,
        /// The key's public key.
        key: String,
    },
    /// Write a user's creds file (mode 0600).
    WriteCreds {
        /// The user.
        user: NatsUserId,
        /// Where.
        path: PathBuf,
    },
    /// Write the organization's nats-server configuration.
    WriteServerConfig {
        /// The organization.
        org: OrgId,
        /// Where.
        path: PathBuf,
    },
}

/// An account and its users.
#[derive(Debug, Clone)]
pub struct AccountNode {
    /// The account.
    pub account: NatsAccountRow,
    /// Its users, in the order the vault lists them.
    pub users: Vec<NatsUserRow>,
}

/// A bootstrapped organization's hierarchy, users grouped under their accounts.
#[derive(Debug, Clone)]
pub struct Hierarchy {
    /// The operator.
    pub operator: NatsOperatorRow,
    /// The accounts (system, organization, units) with their users.
    pub accounts: Vec<AccountNode>,
}

impl Hierarchy {
    fn from_tree(tree: NatsTree) -> Self {
        let mut accounts: Vec<AccountNode> =
            tree.accounts.into_iter().map(|account| AccountNode { account, users: Vec::new() }).collect();
        let index: std::collections::HashMap<String, usize> =
            accounts.iter().enumerate().map(|(i, a)| (a.account.id.clone(), i)).collect();
        for user in tree.users {
            if let Some(&i) = index.get(&user.account_id) {
                accounts[i].users.push(user);
            }
        }
        Self { operator: tree.operator, accounts }
    }

    /// How many users in all.
    pub fn user_count(&self) -> usize {
        self.accounts.iter().map(|a| a.users.len()).sum()
    }
}

/// What the screen shows of an organization.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The organization, or none if the vault has none yet.
    pub org: Option<OrgId>,
    /// Its name.
    pub org_name: String,
    /// Its hierarchy, or none if it is not bootstrapped.
    pub hierarchy: Option<Hierarchy>,
}

/// A decoded JWT.
#[derive(Debug, Clone)]
pub struct Claims {
    /// Whose: the id asked for.
    pub id: String,
    /// `operator`, `account` or `user`.
    pub kind: &'static str,
    /// The token's CID.
    pub cid: String,
    /// The claims as indented JSON.
    pub json: String,
}

/// What a rotation re-issued.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// The retired key.
    pub old_key: String,
    /// Its replacement.
    pub new_key: String,
    /// The JWTs re-issued, the owner's first.
    pub reissued: Vec<ReissuedJwt>,
    /// Revoked users (names) signed by the old key, left as they were.
    pub skipped_revoked: Vec<String>,
}

/// What comes back.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The organization's hierarchy.
    Loaded(Arc<Loaded>),
    /// A JWT, decoded.
    Claims(Arc<Claims>),
    /// Bootstrapped: accounts and users created, and the hierarchy now.
    Bootstrapped {
        /// Accounts created.
        accounts: usize,
        /// Users created.
        users: usize,
        /// The hierarchy.
        loaded: Arc<Loaded>,
    },
    /// A user was revoked; the hierarchy now.
    Revoked {
        /// The user.
        user: String,
        /// The hierarchy.
        loaded: Arc<Loaded>,
    },
    /// A key was rotated; what was re-issued, and the hierarchy now.
    Rotated {
        /// The report.
        rotation: Arc<Rotation>,
        /// The hierarchy.
        loaded: Arc<Loaded>,
    },
    /// A creds file was written.
    CredsWritten(PathBuf),
    /// The server configuration was written.
    ServerConfigWritten(PathBuf),
}

fn load(vault: &Vault, org: Option<OrgId>) -> Result<Loaded, GuiError> {
    let organizations = vault.organizations()?;
    let found = match org {
        Some(org) => organizations.iter().find(|o| o.id == org.to_string()),
        None => organizations.first(),
    };
    let Some(summary) = found else {
        return match org {
            Some(org) => Err(AppError::Rejected { index: None, error: DomainError::UnknownOrganization(org) }.into()),
            None => Ok(Loaded { org: None, org_name: String::new(), hierarchy: None }),
        };
    };
    let org: OrgId = summary.id.parse().map_err(AppError::from)?;
    let hierarchy = match vault.nats_list(org) {
        Ok(tree) => Some(Hierarchy::from_tree(tree)),
        Err(e) if matches!(e.domain(), Some(DomainError::NatsNotBootstrapped(_))) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(Loaded { org: Some(org), org_name: summary.name.clone(), hierarchy })
}

impl Job for Request {
    type Reply = Reply;

    fn run(self, ctx: Ctx<'_>) -> Result<Reply, GuiError> {
        let vault = ctx.vault;
        match self {
            Self::Load { org } => Ok(Reply::Loaded(Arc::new(load(vault, org)?))),
            Self::Claims { id } => {
                let view = vault.nats_jwt(&id)?;
                let json = serde_json::to_string_pretty(&view.claims)
                    .map_err(|e| GuiError::new(format!("the claims cannot be shown: {e}")))?;
                Ok(Reply::Claims(Arc::new(Claims { id, kind: view.kind, cid: view.cid, json })))
            }
            Self::Bootstrap { org } => {
                let report = vault.nats_bootstrap(org, ctx.passphrase)?;
                let loaded = Arc::new(load(vault, Some(org))?);
                Ok(Reply::Bootstrapped { accounts: report.accounts, users: report.users, loaded })
            }
            Self::Revoke { org, user } => {
                vault.nats_revoke_user(user, ctx.passphrase)?;
                Ok(Reply::Revoked { user: user.to_string(), loaded: Arc::new(load(vault, Some(org))?) })
            }
            Self::Rotate { org, key } => {
                let report = vault.nats_rotate_signing_key(&key, ctx.passphrase)?;
                let loaded = load(vault, Some(org))?;
                let names: std::collections::HashMap<&str, &str> = loaded
                    .hierarchy
                    .iter()
                    .flat_map(|h| h.accounts.iter().flat_map(|a| a.users.iter()))
                    .map(|u| (u.id.as_str(), u.name.as_str()))
                    .collect();
                let skipped_revoked = report
                    .skipped_revoked
                    .iter()
                    .map(|id| names.get(id.as_str()).map_or_else(|| id.clone(), |name| (*name).to_owned()))
                    .collect();
                let rotation = Rotation {
                    old_key: report.old_key,
                    new_key: report.new_key,
                    reissued: report.reissued,
                    skipped_revoked,
                };
                Ok(Reply::Rotated { rotation: Arc::new(rotation), loaded: Arc::new(loaded) })
            }
            Self::WriteCreds { user, path } => {
                vault.nats_write_creds(user, ctx.passphrase, &path)?;
                Ok(Reply::CredsWritten(path))
            }
            Self::WriteServerConfig { org, path } => {
                let jetstream = JetStreamServerConfig { store_dir: JETSTREAM_STORE_DIR.into(), ..Default::default() };
                let config = vault.nats_server_config(org, Some(&jetstream))?;
                write_atomically(&path, config.as_bytes(), PUBLIC_MODE)?;
                Ok(Reply::ServerConfigWritten(path))
            }
        }
    }
}
