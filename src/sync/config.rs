//! How to reach the NATS servers: [`SyncConfig`], read from JSON (later: `sync.json` in the data
//! directory, or built from command-line flags).
//!
//! Pure: parsing and validation only, no IO. Example:
//!
//! ```json
//! {
//!   "servers": ["tls://nats1.example:4222", "tls://nats2.example:4222"],
//!   "creds": "/secure/sync.creds",
//!   "tls": { "ca": "/secure/ca.pem", "cert_and_key": ["/secure/client.pem", "/secure/client.key"] },
//!   "connect_timeout_ms": 5000,
//!   "name": "cim-keys sync",
//!   "replicas": 3
//! }
//! ```
//!
//! Only `servers` is required. Unknown fields are an error (a typo must not silently drop a
//! setting).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::SyncError;

/// The default connection name, shown by the server's monitoring.
pub const DEFAULT_NAME: &str = "cim-keys sync";
/// The default connection timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// TLS files: a CA to trust (beside the system roots) and a client certificate with its key.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// PEM file with the CA certificate(s) that signed the server's certificate.
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// PEM client certificate and its PEM private key.
    #[serde(default)]
    pub cert_and_key: Option<(PathBuf, PathBuf)>,
}

/// Where and how to connect, and how many replicas the stream and bucket get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// `nats://` or `tls://` URLs; at least one. The client picks among them and reconnects to
    /// another when one goes away.
    pub servers: Vec<String>,
    /// A creds file (user JWT and seed).
    #[serde(default)]
    pub creds: Option<PathBuf>,
    /// TLS files; when given, TLS is required.
    #[serde(default)]
    pub tls: Option<TlsFiles>,
    /// How long connecting may take (at least 1 s). In JSON: `connect_timeout_ms`.
    #[serde(rename = "connect_timeout_ms", with = "millis", default = "default_timeout")]
    pub connect_timeout: Duration,
    /// The connection's name.
    #[serde(default = "default_name")]
    pub name: String,
    /// Replicas of the stream and the bucket (1..=5); `None`: 3 when the server is part of a
    /// cluster, else 1 (decided once connected, by `app::sync`).
    #[serde(default)]
    pub replicas: Option<usize>,
}

fn default_timeout() -> Duration {
    DEFAULT_CONNECT_TIMEOUT
}

fn default_name() -> String {
    DEFAULT_NAME.to_owned()
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

impl SyncConfig {
    /// A configuration for `servers` with every default.
    pub fn new(servers: Vec<String>) -> SyncConfig {
        SyncConfig {
            servers,
            creds: None,
            tls: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            name: default_name(),
            replicas: None,
        }
    }

    /// Parses and validates a JSON configuration.
    pub fn from_json(text: &str) -> Result<SyncConfig, SyncError> {
        let config: SyncConfig = serde_json::from_str(text).map_err(|e| SyncError::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the rules serde cannot: at least one `nats://` or `tls://` server, replicas
    /// 1..=5, a timeout of at least 1 s, a non-empty name.
    pub fn validate(&self) -> Result<(), SyncError> {
        let bad = |message: String| Err(SyncError::Config(message));
        if self.servers.is_empty() {
            return bad("at least one server URL is needed in `servers`".into());
        }
        for server in &self.servers {
            let ok = ["nats://", "tls://"].iter().any(|scheme| {
                server.strip_prefix(scheme).is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
            });
            if !ok {
                return bad(format!("server {server:?} is not a nats://HOST:PORT or tls://HOST:PORT URL"));
            }
            // async-nats does not use them, and they would end up in error messages.
            if server.contains('@') {
                return bad("a server URL must not carry a user or password; use a creds file".into());
            }
        }
        if let Some(replicas) = self.replicas
            && !(1..=5).contains(&replicas)
        {
            return bad(format!("replicas must be 1 to 5, not {replicas}"));
        }
        if self.connect_timeout < Duration::from_secs(1) {
            return bad(format!("connect_timeout_ms must be at least 1000, not {}", self.connect_timeout.as_millis()));
        }
        if self.name.trim().is_empty() {
            return bad("the connection name must not be empty".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        SyncConfig::from_json(text).unwrap_err().to_string()
    }

    #[test]
    fn only_servers_is_required() {
        let config = SyncConfig::from_json(r#"{"servers": ["nats://127.0.0.1:4222"]}"#).unwrap();
        assert_eq!(config, SyncConfig::new(vec!["nats://127.0.0.1:4222".into()]));
        assert_eq!(config.replicas, None);
        assert_eq!(config.name, "cim-keys sync");
        assert_eq!(config.connect_timeout, Duration::from_secs(5));
    }

    #[test]
    fn a_full_configuration_round_trips() {
        let text = r#"{
            "servers": ["tls://a:4222", "tls://b:4222"],
            "creds": "/s/sync.creds",
            "tls": {"ca": "/s/ca.pem", "cert_and_key": ["/s/c.pem", "/s/c.key"]},
            "connect_timeout_ms": 2500, "name": "vault 7", "replicas": 3
        }"#;
        let config = SyncConfig::from_json(text).unwrap();
        assert_eq!(config.replicas, Some(3));
        assert_eq!(config.connect_timeout, Duration::from_millis(2500));
        let tls = config.tls.clone().unwrap();
        assert_eq!(tls.cert_and_key, Some(("/s/c.pem".into(), "/s/c.key".into())));
        let again = SyncConfig::from_json(&serde_json::to_string(&config).unwrap()).unwrap();
        assert_eq!(again, config);
    }

    #[test]
    fn bad_values_are_named() {
        assert!(error(r#"{"servers": [], "replicas": 1}"#).contains("at least one server"));
        assert!(error(r#"{"servers": ["http://a:80"]}"#).contains("not a nats://"));
        let e = error(r#"{"servers": ["nats://u:secret@a:4222"]}"#);
        assert!(e.contains("must not carry a user or password") && !e.contains("secret"), "{e}");
        assert!(error(r#"{"servers": ["nats://a"], "replicas": 0}"#).contains("replicas must be 1 to 5, not 0"));
        assert!(error(r#"{"servers": ["nats://a"], "replicas": 6}"#).contains("not 6"));
        assert!(error(r#"{"servers": ["nats://a"], "connect_timeout_ms": 999}"#).contains("at least 1000"));
        assert!(error(r#"{"servers": ["nats://a"], "name": " "}"#).contains("name"));
    }

    #[test]
    fn unknown_fields_and_a_cert_without_key_are_errors() {
        assert!(error(r#"{"servers": ["nats://a"], "replica": 3}"#).contains("unknown field `replica`"));
        assert!(error(r#"{"servers": ["nats://a"], "tls": {"cert": "/c.pem"}}"#).contains("unknown field `cert`"));
        let e = error(r#"{"servers": ["nats://a"], "tls": {"cert_and_key": ["/c.pem"]}}"#);
        assert!(e.contains("invalid length 1"), "{e}");
        assert!(error("{}").contains("missing field `servers`"));
    }
}
