//! The one error type of the `sync` layer, and the one place that turns async-nats errors into
//! it.
//!
//! Every variant says what happened and what to do in one sentence, and is either *retryable*
//! (the network, a timeout: trying again later may work) or *permanent* (credentials, TLS,
//! permissions, a misconfigured stream: nothing changes until a person changes something). The
//! upload's outbox will use [`SyncError::is_retryable`] to decide between backing off and
//! stopping.

use async_nats::{ConnectError, ConnectErrorKind};

/// Why connecting, checking, provisioning or uploading failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The sync configuration is invalid (see [`crate::sync::SyncConfig::from_json`]).
    #[error("invalid sync configuration: {0}")]
    Config(String),
    /// The creds file could not be read or is malformed.
    #[error("cannot use the creds file {path}: {reason}")]
    Creds {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The server could not be reached: it is down, the address is wrong, or the network is.
    #[error("cannot connect to {server}: {reason}; check that the server is running and the address is right")]
    Connect {
        /// The server URL(s).
        server: String,
        /// Why (connection refused, DNS, IO…).
        reason: String,
    },
    /// The server refused the credentials (wrong, expired or revoked creds, or none given).
    #[error("{server} refused the credentials (authorization violation): the creds file is wrong, expired or revoked")]
    Authorization {
        /// The server URL(s).
        server: String,
    },
    /// The TLS handshake or setup failed (unknown CA, bad or mismatched certificate or key).
    #[error("TLS failure with {server}: {reason}; check the CA file and the client certificate and key")]
    Tls {
        /// The server URL(s).
        server: String,
        /// Why.
        reason: String,
    },
    /// No answer in time.
    #[error("{server} did not answer in time while {what}")]
    Timeout {
        /// The server URL(s).
        server: String,
        /// What was being done.
        what: String,
    },
    /// The user may not publish or subscribe where it needs to.
    #[error(
        "permission denied: {0}; the user needs publish and subscribe rights on the JetStream API and the sync subjects"
    )]
    PermissionDenied(String),
    /// JetStream is not enabled on the server or for this account.
    #[error("JetStream not enabled for the account on {server}: enable JetStream on the server and for the account")]
    JetStreamNotEnabled {
        /// The server URL(s).
        server: String,
    },
    /// An existing stream (or the object store's backing stream) has settings cim-keys cannot
    /// work with. It was left unchanged.
    #[error("the existing stream {stream} is misconfigured ({what}); it was NOT changed: fix or remove it by hand")]
    StreamMisconfigured {
        /// The stream.
        stream: String,
        /// Each difference, separated by `; `.
        what: String,
    },
    /// Connected, but publishing or subscribing failed.
    #[error("connected to {server}, but {what} failed: {reason}")]
    Messaging {
        /// The server URL.
        server: String,
        /// Which step.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A JetStream request failed for another reason.
    #[error("JetStream request failed while {what}: {reason}")]
    JetStream {
        /// What was being done.
        what: String,
        /// Why.
        reason: String,
    },
    /// A subject token is not usable (see [`crate::sync::subject`]).
    #[error(
        "invalid subject token {token:?} for the {part}: it must be non-empty, without '.', '*', '>' or whitespace"
    )]
    InvalidToken {
        /// Which part of the subject.
        part: &'static str,
        /// The token.
        token: String,
    },
    /// The async runtime could not start.
    #[error("cannot start the network runtime: {0}")]
    Runtime(String),
}

impl SyncError {
    /// The one mapping of an async-nats connection failure to a [`SyncError`]. `server` names
    /// the server or servers tried.
    pub fn from_connect(server: &str, error: &ConnectError) -> SyncError {
        let server = server.to_owned();
        match error.kind() {
            ConnectErrorKind::AuthorizationViolation => SyncError::Authorization { server },
            ConnectErrorKind::Authentication => SyncError::Connect {
                server,
                reason: format!("signing the server's nonce with the creds failed ({error})"),
            },
            ConnectErrorKind::Tls => SyncError::Tls { server, reason: error.to_string() },
            ConnectErrorKind::TimedOut => SyncError::Timeout { server, what: "connecting".into() },
            ConnectErrorKind::ServerParse => SyncError::Config(format!("bad server address {server}: {error}")),
            // async-nats reports a failed TLS handshake (unknown CA, a certificate the server
            // rejects) as an IO error carrying rustls's message.
            ConnectErrorKind::Io if is_tls_failure(&error.to_string()) => {
                SyncError::Tls { server, reason: error.to_string() }
            }
            ConnectErrorKind::Dns | ConnectErrorKind::Io | ConnectErrorKind::MaxReconnects => {
                SyncError::Connect { server, reason: error.to_string() }
            }
        }
    }

    /// Whether trying again later may succeed without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SyncError::Connect { .. }
                | SyncError::Timeout { .. }
                | SyncError::Messaging { .. }
                | SyncError::JetStream { .. }
        )
    }
}

/// An error and its sources, joined by `: ` (async-nats puts the server's reason in a source).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut reason = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        reason = format!("{reason}: {s}");
        source = s.source();
    }
    reason
}

/// A JetStream request's failure doing `what`: permission denied when the server said so,
/// else a JetStream error with the whole chain of reasons.
pub(crate) fn jetstream_error(what: impl Into<String>, e: &dyn std::error::Error) -> SyncError {
    let (what, reason) = (what.into(), error_chain(e));
    if reason.to_lowercase().contains("permission") {
        SyncError::PermissionDenied(format!("{what}: {reason}"))
    } else {
        SyncError::JetStream { what, reason }
    }
}

/// Whether an IO error's text is one of rustls's handshake failures: an invalid peer
/// certificate, a fatal alert from the server (it rejected our certificate), or a TLS or
/// handshake failure.
fn is_tls_failure(text: &str) -> bool {
    let text = text.to_lowercase();
    ["invalid peer certificate", "fatal alert", "certificate", "tls", "handshake"].iter().any(|m| text.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_handshake_failures_reported_as_io_are_recognized() {
        assert!(is_tls_failure("IO error: invalid peer certificate: UnknownIssuer"));
        assert!(is_tls_failure("IO error: received fatal alert: BadCertificate"));
        assert!(!is_tls_failure("IO error: Connection refused (os error 111)"));
    }
}
