//! The Sync screen's jobs: what the screen shows when it opens (the saved settings, the
//! pending and uploaded counts, the last failed attempt), saving the settings, testing a
//! connection, and the upload itself.
//!
//! The quick ones are an ordinary [`Job`] ([`Request`]). Testing a connection
//! ([`test_connection`]) needs no vault: the root runs it on a blocking thread without taking
//! the vault's lock, so a slow or absent server never holds up the other screens.
//!
//! The upload is long, reports progress and can be cancelled, and it is a [`Subscription`]
//! ([`subscription`]): while the screen says an upload is running, the root's subscription
//! holds one keyed on the upload's id. Its stream ([`run`]) runs
//! [`Vault::sync_upload`](crate::app::Vault::sync_upload) on a blocking thread and gives each
//! [`SyncProgress`] as it comes, then the outcome with the vault's counts afterwards, and ends.
//! When the screen no longer says so (the outcome arrived, or the screen was left), the root
//! drops the subscription; leaving sets the cancel flag first, which the application checks
//! between windows — what the server acknowledged before is marked uploaded, the rest stays
//! pending.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use iced::Subscription;
use iced::futures::{Stream, StreamExt};

use crate::app::Vault;
use crate::app::sync::{SyncProgress, SyncReport};
use crate::gui::jobs::{ProgressJob, Streamed, streamed};
use crate::gui::{Ctx, GuiError, Job, Session};
use crate::sync::{Probe, SyncConfig};

/// A quick question or change.
#[derive(Debug, Clone)]
pub enum Request {
    /// The saved settings and where the vault stands.
    Load,
    /// Write these settings to the data directory's `sync.json`.
    Save(SyncConfig),
}

/// The last failed upload attempt still standing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastError {
    /// The first pending event it concerns.
    pub seq: u64,
    /// How many attempts that event has seen.
    pub attempts: u64,
    /// What went wrong.
    pub message: String,
}

/// Where the vault stands with the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// Graph events not yet uploaded.
    pub pending: u64,
    /// Graph events uploaded.
    pub uploaded: u64,
    /// The last failed attempt, if one stands.
    pub last_error: Option<LastError>,
}

impl Standing {
    fn of(vault: &Vault) -> Result<Self, GuiError> {
        let status = vault.status()?;
        let last_error = vault.last_sync_error()?.map(|(seq, attempts, message)| LastError { seq, attempts, message });
        Ok(Self { pending: status.pending, uploaded: status.uploaded, last_error })
    }
}

/// What the screen loads when it opens.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The saved settings: none if never saved; an error if the file is unreadable.
    pub config: Result<Option<SyncConfig>, GuiError>,
    /// Where the vault stands.
    pub standing: Standing,
}

/// What a [`Request`] gives back.
#[derive(Debug, Clone)]
pub enum Reply {
    /// [`Request::Load`]: the saved settings and the standing.
    Loaded(Box<Loaded>),
    /// [`Request::Save`]: the file written.
    Saved(PathBuf),
}

impl Job for Request {
    type Reply = Reply;

    fn run(self, ctx: Ctx<'_>) -> Result<Reply, GuiError> {
        match self {
            Self::Load => {
                let config = ctx.vault.sync_config().map_err(GuiError::from);
                Ok(Reply::Loaded(Box::new(Loaded { config, standing: Standing::of(ctx.vault)? })))
            }
            Self::Save(config) => Ok(Reply::Saved(ctx.vault.save_sync_config(&config)?)),
        }
    }
}

/// Connects as `config` says and looks at the server, changing nothing (the screen's "Test
/// connection"). Blocking; needs no vault.
pub fn test_connection(config: &SyncConfig) -> Result<Probe, GuiError> {
    Ok(crate::app::sync::test_connection(config)?)
}

/// An upload the screen starts: which one (`id`, so a late event of an earlier one is told
/// apart), with what settings, and the flag that cancels it.
#[derive(Debug, Clone)]
pub struct Upload {
    /// Tells this upload's events from an earlier one's; the subscription's identity.
    pub id: u64,
    /// Where to upload.
    pub config: SyncConfig,
    /// Set it to cancel.
    pub cancel: Arc<AtomicBool>,
}

/// How an upload ended: what it did (or why it failed), and where the vault stands afterwards.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The report, or the error.
    pub result: Result<Arc<SyncReport>, GuiError>,
    /// The counts and last error afterwards.
    pub standing: Result<Standing, GuiError>,
}

/// What a running upload reports: its progress, then how it ended.
pub type Event = Streamed<SyncProgress, Outcome>;

impl ProgressJob for Upload {
    type Progress = SyncProgress;
    type Reply = Outcome;

    fn run(self, ctx: Ctx<'_>, progress: &mut dyn FnMut(SyncProgress)) -> Result<Outcome, GuiError> {
        let result = ctx.vault.sync_upload(&self.config, progress, &self.cancel);
        Ok(Outcome { result: result.map(Arc::new).map_err(GuiError::from), standing: Standing::of(ctx.vault) })
    }
}

/// Runs an upload on a blocking thread; the stream gives each progress report as it comes,
/// then the outcome, and ends. Needs a Tokio runtime (the root's, or a test's).
pub fn run(session: Session, upload: Upload) -> impl Stream<Item = Event> + Send + 'static {
    streamed(session, upload, "the upload", |result| {
        result.unwrap_or_else(|error| Outcome { result: Err(error.clone()), standing: Err(error) })
    })
}

/// What the subscription is keyed on: the upload's id alone (the session and settings ride
/// along).
struct Keyed {
    session: Session,
    upload: Upload,
}

impl Hash for Keyed {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.upload.id.hash(state);
    }
}

/// The upload as a subscription, keyed on its id: it runs [`run`] while the root returns it,
/// and gives `(id, event)`.
pub fn subscription(session: Session, upload: Upload) -> Subscription<(u64, Event)> {
    Subscription::run_with(Keyed { session, upload }, |keyed| {
        let id = keyed.upload.id;
        run(keyed.session.clone(), keyed.upload.clone()).map(move |event| (id, event))
    })
}
