//! Provisioning: making sure the stream and the object store bucket the history goes to exist,
//! with settings cim-keys can rely on. Normative description: `docs/formats/subjects.md`.
//!
//! * Stream [`STREAM`] over [`SUBJECTS`]: file storage, the configured replicas, limits
//!   retention with no limits (no max age, bytes or messages: the history is kept forever),
//!   discard policy `new` (should a limit ever be set by hand, the server refuses new messages
//!   instead of silently deleting old history), a duplicate window of 2 minutes (the server's
//!   default; idempotency does not depend on it, see [`subject`]), and `allow_direct` so a
//!   consumer can fetch the last message of a subject directly.
//! * Object store bucket [`BUCKET`] (backing stream [`BUCKET_STREAM`]): file storage, the same
//!   replicas, no max age.
//!
//! A stream that already exists is compared, never updated: if it stores on file, has the same
//! replicas and covers our subjects it is used as it is; otherwise provisioning fails with
//! [`SyncError::StreamMisconfigured`] naming every difference, and the stream is left as it
//! was. Changing a stream that holds an organization's history is for a person to decide.

use std::time::Duration;

use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::context::{AccountErrorKind, CreateStreamErrorKind, GetStreamErrorKind};
use async_nats::jetstream::stream::{Config, DiscardPolicy, RetentionPolicy, StorageType};
use async_nats::jetstream::{self, object_store};

use super::SyncError;
use super::connect::server_of;
use super::error::jetstream_error;

/// The stream of graph events.
pub const STREAM: &str = "CIM_GRAPH_EVENTS";
/// The stream's subjects.
pub const SUBJECTS: &str = "cim.graph.*.events.>";
/// The object store bucket of blocks, by CID.
pub const BUCKET: &str = "cim-graph-payloads";
/// The stream behind [`BUCKET`].
pub const BUCKET_STREAM: &str = "OBJ_cim-graph-payloads";
/// The stream's duplicate window.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// The subject of one graph event: `cim.graph.{context}.events.{event_type}.{cid}`.
///
/// One subject per event, so that an upload can publish with
/// `Nats-Expected-Last-Subject-Sequence: 0` and have the server refuse a second copy forever,
/// not only within the duplicate window. Each token must be non-empty and contain no `.`, `*`,
/// `>` or whitespace (CIDs and UUIDs never do).
pub fn subject(context: &str, event_type: &str, cid: &str) -> Result<String, SyncError> {
    for (part, token) in [("context", context), ("event type", event_type), ("CID", cid)] {
        if token.is_empty() || token.contains(['.', '*', '>']) || token.contains(char::is_whitespace) {
            return Err(SyncError::InvalidToken { part, token: token.to_owned() });
        }
    }
    Ok(format!("cim.graph.{context}.events.{event_type}.{cid}"))
}

/// What [`provision`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provisioned {
    /// The stream did not exist and was created.
    pub stream_created: bool,
    /// The bucket did not exist and was created.
    pub bucket_created: bool,
}

/// The stream configuration cim-keys creates.
pub fn stream_config(replicas: usize) -> Config {
    Config {
        name: STREAM.to_owned(),
        description: Some("cim-keys graph events, one subject per event".to_owned()),
        subjects: vec![SUBJECTS.to_owned()],
        retention: RetentionPolicy::Limits,
        discard: DiscardPolicy::New,
        max_age: Duration::ZERO,
        storage: StorageType::File,
        num_replicas: replicas,
        duplicate_window: DUPLICATE_WINDOW,
        allow_direct: true,
        ..Default::default()
    }
}

/// Ensures the stream and the bucket exist with compatible settings (see the module docs).
/// `replicas` is 1..=5.
pub async fn provision(client: &async_nats::Client, replicas: usize) -> Result<Provisioned, SyncError> {
    let server = server_of(client);
    let js = jetstream::new(client.clone());
    // Is JetStream there at all? Without it every request below would only time out.
    if let Err(e) = js.query_account().await {
        return Err(match e.kind() {
            AccountErrorKind::JetStreamUnavailable => SyncError::JetStreamNotEnabled { server },
            AccountErrorKind::JetStream(error)
                if matches!(
                    error.error_code(),
                    ErrorCode::JETSTREAM_NOT_ENABLED | ErrorCode::JETSTREAM_NOT_ENABLED_FOR_ACCOUNT
                ) =>
            {
                SyncError::JetStreamNotEnabled { server }
            }
            // A user without publish permission on `$JS.API.>` looks the same: the server drops
            // the request (async-nats does not surface the permissions violation to it).
            AccountErrorKind::TimedOut => SyncError::Timeout {
                server,
                what: "reading the JetStream account (if it is up, check that the user may publish to $JS.API.>)"
                    .into(),
            },
            _ => jetstream_error("reading the JetStream account", &e),
        });
    }
    let stream_created = ensure(&js, &server, STREAM, &[SUBJECTS.to_owned()], replicas, || {
        let js = js.clone();
        async move { js.create_stream(stream_config(replicas)).await.map(drop).map_err(|e| create_error(STREAM, e)) }
    })
    .await?;
    let bucket_subjects = [format!("$O.{BUCKET}.C.>"), format!("$O.{BUCKET}.M.>")];
    let bucket_created = ensure(&js, &server, BUCKET_STREAM, &bucket_subjects, replicas, || {
        let js = js.clone();
        async move {
            let config = object_store::Config {
                bucket: BUCKET.to_owned(),
                description: Some("cim-keys blocks, by CID".to_owned()),
                storage: StorageType::File,
                num_replicas: replicas,
                ..Default::default()
            };
            js.create_object_store(config).await.map(drop).map_err(|e| jetstream_error("creating the object store", &e))
        }
    })
    .await?;
    Ok(Provisioned { stream_created, bucket_created })
}

/// Creates the stream `name` with `create` if it is missing (→ `true`), or checks the existing
/// one against `subjects` and `replicas` (→ `false`).
async fn ensure<F, Fut>(
    js: &jetstream::Context,
    server: &str,
    name: &str,
    subjects: &[String],
    replicas: usize,
    create: F,
) -> Result<bool, SyncError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), SyncError>>,
{
    match js.get_stream(name).await {
        Ok(stream) => {
            let differences = differences(&stream.cached_info().config, subjects, replicas);
            if differences.is_empty() {
                Ok(false)
            } else {
                Err(SyncError::StreamMisconfigured { stream: name.to_owned(), what: differences.join("; ") })
            }
        }
        Err(e) => match e.kind() {
            GetStreamErrorKind::JetStream(error) if error.error_code() == ErrorCode::STREAM_NOT_FOUND => {
                create().await?;
                Ok(true)
            }
            GetStreamErrorKind::JetStream(error)
                if error.error_code() == ErrorCode::JETSTREAM_NOT_ENABLED_FOR_ACCOUNT =>
            {
                Err(SyncError::JetStreamNotEnabled { server: server.to_owned() })
            }
            _ => Err(jetstream_error(format!("reading the stream {name}"), &e)),
        },
    }
}

/// Each way `config` differs from what cim-keys needs.
fn differences(config: &Config, subjects: &[String], replicas: usize) -> Vec<String> {
    let mut found = Vec::new();
    let missing: Vec<&str> = subjects.iter().filter(|s| !config.subjects.contains(s)).map(String::as_str).collect();
    if !missing.is_empty() {
        found.push(format!("subjects are [{}] but must include [{}]", config.subjects.join(", "), missing.join(", ")));
    }
    if config.storage != StorageType::File {
        found.push(format!("storage is {:?} but must be file", config.storage).to_lowercase());
    }
    if config.num_replicas != replicas {
        found.push(format!("replicas are {} but the configuration asks for {replicas}", config.num_replicas));
    }
    found
}

fn create_error(name: &str, e: async_nats::jetstream::context::CreateStreamError) -> SyncError {
    match e.kind() {
        CreateStreamErrorKind::JetStreamUnavailable => SyncError::JetStreamNotEnabled { server: "the server".into() },
        CreateStreamErrorKind::TimedOut => {
            SyncError::Timeout { server: "the server".into(), what: format!("creating the stream {name}") }
        }
        _ => jetstream_error(format!("creating the stream {name}"), &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_has_its_own_subject() {
        let cid = "bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
        assert_eq!(
            subject("organization", "OrganizationCreated", cid).unwrap(),
            format!("cim.graph.organization.events.OrganizationCreated.{cid}")
        );
        let uuid = "0190f3c4-7b1e-7c3a-9d2e-123456789abc";
        assert!(subject("keys", "key_generated", uuid).is_ok());
    }

    #[test]
    fn tokens_with_wildcards_dots_or_spaces_are_refused() {
        for bad in ["", "a.b", "a*", ">", "a b", "a\tb", "a\n"] {
            let e = subject(bad, "Created", "cid").unwrap_err();
            assert!(matches!(e, SyncError::InvalidToken { part: "context", .. }), "{bad:?}: {e}");
            assert!(matches!(subject("org", bad, "cid"), Err(SyncError::InvalidToken { part: "event type", .. })));
            assert!(matches!(subject("org", "Created", bad), Err(SyncError::InvalidToken { part: "CID", .. })));
        }
    }

    #[test]
    fn every_subject_matches_the_stream_filter() {
        let s = subject("org", "Created", "bafy").unwrap();
        let (prefix, _) = SUBJECTS.split_once('*').unwrap();
        assert!(s.starts_with(prefix) && s.split('.').nth(3) == Some("events"));
    }

    #[test]
    fn differences_name_each_problem() {
        let mut config = stream_config(1);
        assert!(differences(&config, &[SUBJECTS.to_owned()], 1).is_empty());
        config.subjects = vec!["other.>".into()];
        config.storage = StorageType::Memory;
        let found = differences(&config, &[SUBJECTS.to_owned()], 3);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("other.>") && found[0].contains(SUBJECTS), "{found:?}");
        assert_eq!(found[1], "storage is memory but must be file");
        assert!(found[2].contains("replicas are 1"), "{found:?}");
    }
}
