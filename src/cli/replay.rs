//! `replay`: a vault rebuilt in the data directory from a NATS server alone (see
//! [`crate::app::replay`]). The connection flags are `sync`'s ([`super::sync::config`]); the
//! passphrase of the new vault is asked as `init` asks it, and only when a vault is created.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use super::args::{Cli, ServerArgs};
use super::output::Printer;
use super::passphrase::{self, Source};
use crate::app::replay::{ReplayProgress, ReplayReport};
use crate::app::{AppError, Vault};
use crate::projection::codec::DAG_CBOR;
use crate::projection::parse_cid;

fn show(out: &Printer, p: ReplayProgress) {
    let what = match p.phase {
        "reading" => "reading  ",
        "fetching" => "fetching ",
        "replaying" => "replaying",
        _ => return,
    };
    out.progress(what, p.done as usize, p.total as usize);
}

/// `cim-keys --data-dir NEW replay --server URL … [--head CID]`.
pub(super) fn replay(
    cli: &Cli,
    out: &Printer,
    dir: &Path,
    args: &ServerArgs,
    head: Option<&str>,
) -> Result<(), AppError> {
    let head = head
        .map(|text| {
            parse_cid(text).filter(|c| c.codec() == DAG_CBOR).ok_or_else(|| {
                AppError::Invalid(format!(
                    "--head {:?} is not the CID of a graph event (bafy…, as `events` prints)",
                    crate::domain::excerpt(text)
                ))
            })
        })
        .transpose()?;
    let config = super::sync::config(args, dir)?;
    let report = Vault::replay(
        dir,
        &config,
        head,
        &mut || passphrase::read(&Source::current(cli), true, out),
        &mut |p| show(out, p),
        &AtomicBool::new(false),
    )?;
    out.report(&report, &text(&report));
    Ok(())
}

fn text(r: &ReplayReport) -> String {
    format!(
        "replayed {} domain events ({} graph events, {} artifacts) from {} into {}{}\n  head      {}\n  recorded by \
         device {}\n  read {} stream messages ({}); every CID recomputed; all {} graph events marked uploaded",
        r.domain_events,
        r.graph_events,
        r.artifacts,
        r.server,
        r.data_dir.display(),
        if r.created { " (a new vault)" } else { "" },
        r.head,
        r.device,
        r.stream_messages,
        if r.histories == 1 { "1 history".to_owned() } else { format!("{} histories", r.histories) },
        r.graph_events,
    )
}
