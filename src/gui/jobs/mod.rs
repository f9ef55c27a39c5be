//! The jobs the screens ask for, one module per screen: each is a call into the application
//! service ([`crate::app::Vault`]), run by the root on a blocking thread (or by a test, directly).
//!
//! A long job that reports progress and can be cancelled (a bundle transfer, an upload) is a
//! [`ProgressJob`]; [`streamed`] runs it on a blocking thread and gives a stream of
//! [`Streamed`] events — each progress report as it comes, then how it ended — over an
//! unbounded channel between the thread and the stream (the application reports every few
//! hundred events, so it stays small).

pub mod bundle;
pub mod events;
pub mod keys;
pub mod nats;
pub mod organization;
pub mod pki;
#[cfg(feature = "sync")]
pub mod sync;
pub mod vault;

use iced::futures::channel::mpsc;
use iced::futures::{SinkExt, Stream, StreamExt};

use crate::gui::{Ctx, GuiError, Job, Session};

/// What a long job run by [`streamed`] gives: each progress report, then how it ended.
#[derive(Debug, Clone)]
pub enum Streamed<P, F> {
    /// How far it is.
    Progress(P),
    /// It ended.
    Finished(F),
}

/// A long job that reports progress while it runs; [`streamed`] runs it off the UI thread.
pub trait ProgressJob: Send + 'static {
    /// What it reports while it runs.
    type Progress: Send + 'static;
    /// What it gives back.
    type Reply: Send + 'static;
    /// Runs it on this thread, handing each progress report to `progress`.
    fn run(self, ctx: Ctx<'_>, progress: &mut dyn FnMut(Self::Progress)) -> Result<Self::Reply, GuiError>;
}

/// A [`ProgressJob`] with the channel its progress goes to: a [`Job`], so the session runs it.
struct Reporting<J: ProgressJob> {
    job: J,
    progress: mpsc::UnboundedSender<J::Progress>,
}

impl<J: ProgressJob> Job for Reporting<J> {
    type Reply = J::Reply;

    fn run(self, ctx: Ctx<'_>) -> Result<J::Reply, GuiError> {
        let Self { job, progress } = self;
        job.run(ctx, &mut |p| {
            // The stream stops listening only when the screen is gone; then progress is moot.
            let _ = progress.unbounded_send(p);
        })
    }
}

/// Runs `job` on a blocking thread; the stream gives each progress report as it comes, then
/// `finish` of its result (a job that panicked: an error saying `what` stopped unexpectedly),
/// and ends. Needs a Tokio runtime (the root's, or a test's).
pub fn streamed<J: ProgressJob, F: Send + 'static>(
    session: Session,
    job: J,
    what: &'static str,
    finish: fn(Result<J::Reply, GuiError>) -> F,
) -> impl Stream<Item = Streamed<J::Progress, F>> + Send + 'static {
    iced::stream::channel(16, async move |mut out: mpsc::Sender<Streamed<J::Progress, F>>| {
        let (progress, mut reports) = mpsc::unbounded();
        let job = tokio::task::spawn_blocking(move || session.run(Reporting { job, progress }));
        // The channel closes when the job ends (it owns the sender).
        while let Some(p) = reports.next().await {
            let _ = out.send(Streamed::Progress(p)).await;
        }
        let result = job.await.unwrap_or_else(|_| Err(GuiError::new(format!("{what} stopped unexpectedly"))));
        let _ = out.send(Streamed::Finished(finish(result))).await;
    })
}
