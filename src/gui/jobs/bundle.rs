//! The Export / import screen's jobs: what the screen shows of this vault (its device key's
//! fingerprint and its counts), and the two long transfers across the air gap — writing a
//! bundle ([`Vault::export_bundle`](crate::app::Vault::export_bundle)) and importing one
//! ([`Vault::import_bundle`](crate::app::Vault::import_bundle)).
//!
//! A transfer reports progress while it runs and can be cancelled, so it is not an ordinary
//! [`Job`] with one reply but a [`ProgressJob`]: [`start`] runs it on a blocking thread (with
//! [`streamed`]) and returns a stream of [`Event`]s — each [`BundleProgress`] the application
//! reports, then the outcome — which the root turns into messages with `Task::run`; the stream
//! ends after the outcome. Cancelling is the [`AtomicBool`] the screen holds and the
//! application checks between batches: it then returns "cancelled; nothing was changed".
//! [`Transfer::run`] is the same work on the calling thread.
//!
//! Secrets: the bundle passphrase travels as [`SecretText`] (redacted, zeroized), an identity
//! file is read here into zeroized memory; the vault's own passphrase, which unlocks the device
//! key that signs an export, is the session's.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use iced::futures::Stream;
use zeroize::Zeroizing;

use crate::app::bundle::{BundleProgress, ExportReport, ImportReport};
use crate::app::{AppError, Vault};
use crate::bundle::{BundleError, Seal, Unseal};
use crate::gui::jobs::{ProgressJob, Streamed, streamed};
use crate::gui::{Ctx, GuiError, Job, SecretText, Session};

/// A quick question about this vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// The device key's fingerprint and the counts.
    Info,
}

/// What the screen shows of this vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// The device key's fingerprint (`SHA256:…`), which signs this vault's exports; none for
    /// a vault of an older cim-keys until its first export.
    pub fingerprint: Option<String>,
    /// Domain events held.
    pub domain_events: u64,
    /// Graph events held.
    pub graph_events: u64,
}

impl Info {
    fn of(vault: &Vault) -> Result<Self, GuiError> {
        let status = vault.status()?;
        Ok(Self {
            fingerprint: vault.device_fingerprint()?,
            domain_events: status.domain_events,
            graph_events: status.graph_events,
        })
    }
}

impl Job for Request {
    type Reply = Info;

    fn run(self, ctx: Ctx<'_>) -> Result<Info, GuiError> {
        match self {
            Self::Info => Info::of(ctx.vault),
        }
    }
}

/// Who can open an exported bundle. (`Debug` shows no secret: [`SecretText`] is redacted.)
#[derive(Debug, Clone)]
pub enum SealWith {
    /// Whoever knows this passphrase.
    Passphrase(SecretText),
    /// Whoever holds the identity of one of these X25519 recipients (`age1…`).
    Recipients(Vec<String>),
}

/// What opens a bundle to import.
#[derive(Debug, Clone)]
pub enum UnsealWith {
    /// The passphrase it was encrypted to.
    Passphrase(SecretText),
    /// An age identity file (`AGE-SECRET-KEY-1…` lines).
    IdentityFile(PathBuf),
}

/// An export or an import.
#[derive(Debug, Clone)]
pub enum Transfer {
    /// Write a bundle into a directory.
    Export {
        /// The directory (an SD card's, typically).
        out_dir: PathBuf,
        /// Who can open it.
        seal: SealWith,
        /// Only what is new since the last export.
        since_last: bool,
    },
    /// Import a bundle file.
    Import {
        /// The file.
        file: PathBuf,
        /// What opens it.
        unseal: UnsealWith,
        /// The device key fingerprint it must be signed by, if given.
        expect_signer: Option<String>,
    },
}

/// A transfer the screen starts: which one (`id`, so a late event of an earlier one is told
/// apart), what, and the flag that cancels it.
#[derive(Debug, Clone)]
pub struct Start {
    /// Tells this transfer's events from an earlier one's.
    pub id: u64,
    /// What to do.
    pub transfer: Transfer,
    /// Set it to cancel.
    pub cancel: Arc<AtomicBool>,
}

/// What a finished transfer did.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A bundle was written (or, since the last export, nothing was new).
    Exported(Arc<ExportReport>),
    /// A bundle was imported.
    Imported(Arc<ImportReport>),
}

/// What a running transfer reports: its progress, then how it ended — with a success, the
/// vault's counts and fingerprint afterwards.
pub type Event = Streamed<BundleProgress, Result<(Outcome, Info), GuiError>>;

/// The application's error in the screen's words: the bundle layer's messages name the CLI's
/// options where the GUI has a choice on the screen.
fn gui_error(error: AppError) -> GuiError {
    let screen = |message: &str| GuiError { message: message.to_owned(), invalid_input: true };
    match &error {
        AppError::Bundle(BundleError::NeedsIdentity) => screen(
            "this file is encrypted to age recipients, not to a passphrase: open it with an identity file; nothing \
             was changed",
        ),
        AppError::Bundle(BundleError::NeedsPassphrase) => screen(
            "this file is encrypted to a passphrase, not to recipients: open it with the passphrase; nothing was \
             changed",
        ),
        AppError::Bundle(BundleError::UnexpectedSigner { expected, found }) => GuiError {
            message: format!(
                "the bundle was signed by device key {found}, not by {expected} as expected; nothing was imported"
            ),
            invalid_input: false,
        },
        _ => error.into(),
    }
}

impl Transfer {
    /// Runs it on this thread: what [`start`] does off the UI thread.
    pub fn run(
        self,
        ctx: Ctx<'_>,
        progress: &mut dyn FnMut(BundleProgress),
        cancel: &AtomicBool,
    ) -> Result<(Outcome, Info), GuiError> {
        let outcome = match self {
            Self::Export { out_dir, seal, since_last } => {
                let seal = match seal {
                    SealWith::Passphrase(text) => Seal::passphrase(&text.to_passphrase().map_err(AppError::from)?),
                    SealWith::Recipients(recipients) => Seal::recipients(&recipients).map_err(AppError::from)?,
                };
                let report = ctx
                    .vault
                    .export_bundle(ctx.passphrase, &out_dir, &seal, since_last, progress, cancel)
                    .map_err(gui_error)?;
                Outcome::Exported(Arc::new(report))
            }
            Self::Import { file, unseal, expect_signer } => {
                let unseal = match unseal {
                    UnsealWith::Passphrase(text) => Unseal::passphrase(&text.to_passphrase().map_err(AppError::from)?),
                    UnsealWith::IdentityFile(path) => {
                        let bytes = Zeroizing::new(std::fs::read(&path).map_err(|e| {
                            GuiError::new(format!("cannot read the identity file {}: {e}", path.display()))
                        })?);
                        Unseal::identity_file(&bytes).map_err(AppError::from).map_err(gui_error)?
                    }
                };
                let expect = expect_signer.as_deref().map(str::trim).filter(|s| !s.is_empty());
                let report = ctx.vault.import_bundle(&file, &unseal, expect, progress, cancel).map_err(gui_error)?;
                Outcome::Imported(Arc::new(report))
            }
        };
        Ok((outcome, Info::of(ctx.vault)?))
    }
}

impl ProgressJob for Start {
    type Progress = BundleProgress;
    type Reply = (Outcome, Info);

    fn run(self, ctx: Ctx<'_>, progress: &mut dyn FnMut(BundleProgress)) -> Result<(Outcome, Info), GuiError> {
        self.transfer.run(ctx, progress, &self.cancel)
    }
}

/// Runs a transfer on a blocking thread; the stream gives each progress report as it comes,
/// then the outcome, and ends. Needs a Tokio runtime (the root's, or a test's).
pub fn start(session: Session, start: Start) -> impl Stream<Item = Event> + Send + 'static {
    streamed(session, start, "the transfer", |result| result)
}
