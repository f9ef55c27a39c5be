//! The sync screen's "Test" button: connect as a [`SyncConfig`] says and look, without
//! changing anything, at what an upload would find — JetStream for the account, the stream
//! [`STREAM`] with its message count, the bucket [`super::BUCKET`].

use async_nats::jetstream::{self, ErrorCode, context::GetStreamErrorKind};
use serde::Serialize;

use super::provision::BUCKET_STREAM;
use super::{STREAM, SyncConfig, SyncError, connect};

/// What [`probe`] saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    /// The configured servers.
    pub servers: Vec<String>,
    /// The name of the server the client connected to.
    pub server_name: String,
    /// The server's version.
    pub version: String,
    /// Whether JetStream answered for the account.
    pub jetstream: bool,
    /// Messages in the stream, if it exists.
    pub stream_messages: Option<u64>,
    /// Whether the bucket exists.
    pub bucket: bool,
}

/// Connects and looks (see the module documentation). A missing stream or bucket is not an
/// error (the upload creates them); JetStream not answering is reported in the result, not as
/// an error, so the screen can say what is missing.
pub async fn probe(config: &SyncConfig) -> Result<Probe, SyncError> {
    let client = connect(config).await?;
    let info = client.server_info();
    let js = jetstream::new(client.clone());
    let jetstream = tokio::time::timeout(config.connect_timeout, js.query_account()).await.is_ok_and(|r| r.is_ok());
    let mut stream_messages = None;
    let mut bucket = false;
    if jetstream {
        let exists = |name: &'static str| {
            let js = js.clone();
            async move {
                match js.get_stream(name).await {
                    Ok(mut stream) => match stream.info().await {
                        Ok(info) => Ok(Some(info.state.messages)),
                        Err(e) => Err(SyncError::JetStream {
                            what: format!("reading the stream {name}"),
                            reason: e.to_string(),
                        }),
                    },
                    Err(e) => match e.kind() {
                        GetStreamErrorKind::JetStream(error) if error.error_code() == ErrorCode::STREAM_NOT_FOUND => {
                            Ok(None)
                        }
                        _ => Err(SyncError::JetStream {
                            what: format!("looking for the stream {name}"),
                            reason: e.to_string(),
                        }),
                    },
                }
            }
        };
        stream_messages = exists(STREAM).await?;
        bucket = exists(BUCKET_STREAM).await?.is_some();
    }
    Ok(Probe {
        servers: config.servers.clone(),
        server_name: info.server_name,
        version: info.version,
        jetstream,
        stream_messages,
        bucket,
    })
}
