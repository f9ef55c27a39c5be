//! The PKI screen's jobs: load an organization's CAs and certificates, create its CA
//! hierarchy, issue a leaf certificate, and write a certificate's PEM to a file the operator
//! chose. Jobs that change the hierarchy reload it before they reply.

use std::path::PathBuf;
use std::sync::Arc;

use crate::app::files::{PUBLIC_MODE, write_atomically};
use crate::app::pki::LeafSpec;
use crate::app::{AppError, Vault};
use crate::domain::{DomainError, OrgId};
use crate::gui::{Ctx, GuiError, Job};
use crate::store::PkiRow;

/// What the screen asks for.
#[derive(Debug)]
pub enum Request {
    /// Load the CAs and certificates of `org` (none: of the first organization).
    Load {
        /// The organization.
        org: Option<OrgId>,
    },
    /// Create the organization's root and intermediate CA.
    Init {
        /// The organization.
        org: OrgId,
    },
    /// Issue a server or client certificate from the intermediate CA.
    Issue {
        /// The organization.
        org: OrgId,
        /// What to issue.
        spec: LeafSpec,
    },
    /// Write a CA's or certificate's PEM.
    WritePem {
        /// The CA's or certificate's id.
        id: String,
        /// Where.
        path: PathBuf,
    },
}

/// What the screen shows of an organization.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The organization, or none if the vault has none yet.
    pub org: Option<OrgId>,
    /// Its name.
    pub org_name: String,
    /// Its CAs: the root first, then the intermediate.
    pub cas: Vec<PkiRow>,
    /// Its leaf certificates, oldest first.
    pub certificates: Vec<PkiRow>,
}

/// What comes back.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The organization's CAs and certificates.
    Loaded(Arc<Loaded>),
    /// The CA hierarchy was created.
    Initialized(Arc<Loaded>),
    /// A certificate was issued.
    Issued {
        /// Its id.
        id: String,
        /// The CAs and certificates now.
        loaded: Arc<Loaded>,
    },
    /// A PEM file was written.
    PemWritten(PathBuf),
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
            None => Ok(Loaded { org: None, org_name: String::new(), cas: Vec::new(), certificates: Vec::new() }),
        };
    };
    let org: OrgId = summary.id.parse().map_err(AppError::from)?;
    let (cas, certificates) = vault.pki_list(org)?;
    Ok(Loaded { org: Some(org), org_name: summary.name.clone(), cas, certificates })
}

impl Job for Request {
    type Reply = Reply;

    fn run(self, ctx: Ctx<'_>) -> Result<Reply, GuiError> {
        let vault = ctx.vault;
        match self {
            Self::Load { org } => Ok(Reply::Loaded(Arc::new(load(vault, org)?))),
            Self::Init { org } => {
                vault.pki_init(org, ctx.passphrase)?;
                Ok(Reply::Initialized(Arc::new(load(vault, Some(org))?)))
            }
            Self::Issue { org, spec } => {
                let (id, _) = vault.pki_issue(org, &spec, ctx.passphrase)?;
                Ok(Reply::Issued { id: id.to_string(), loaded: Arc::new(load(vault, Some(org))?) })
            }
            Self::WritePem { id, path } => {
                let pem = vault.pki_pem(&id)?;
                write_atomically(&path, pem.as_bytes(), PUBLIC_MODE)?;
                Ok(Reply::PemWritten(path))
            }
        }
    }
}
